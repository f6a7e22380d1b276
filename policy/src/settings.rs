//! Per-tenant policy settings (password, lockout, MFA, credential cache) and their inheritance
//! down the tenant tree with enforcement: what a tenant's effective policy is, given the settings
//! of its chain of ancestors, and whether a tenant may store the settings it proposes. It owns
//! the strictness order of every setting. It must not load settings (the caller passes the
//! chain, root first) nor know about groups: MFA's required and exempt groups are tenant-local
//! and kept beside these settings by the directory.
//!
//! The rule: start from the defaults and walk from the root to the tenant. A level's value
//! replaces the one inherited; a level that marks a setting *enforced* makes the value in force
//! there a floor for every level below, which may only make it stricter. Stored data can never
//! weaken an enforced setting: under a floor the value used is the strictest of the stored value
//! and the floor, whatever was stored ([`effective`]); writes are checked against the floors
//! beforehand ([`check_local`]). A tenant's own enforcement binds its descendants, not itself.

use crate::lockout::LockoutPolicy;
use crate::mfa::{MfaPolicy, DEFAULT_SEPARATOR};
use crate::password::PasswordPolicy;
use crate::protocol::Protocol;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// An order of strictness on the values of one setting.
pub trait Strictness: Sized {
    /// Whether `self` is at least as strict as `floor` (so a tenant under that floor may use it).
    fn at_least_as_strict(&self, floor: &Self) -> bool;
    /// The stricter of the two values (for sets: their union, which is at least as strict as
    /// both).
    fn strictest(self, other: Self) -> Self;
}

/// A value of which more is stricter (a minimum length; `true` for a requirement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AtLeast<T>(pub T);

/// A value of which less is stricter (a cache lifetime; `false` for a convenience).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AtMost<T>(pub T);

impl<T: Ord> Strictness for AtLeast<T> {
    fn at_least_as_strict(&self, floor: &Self) -> bool {
        self.0 >= floor.0
    }
    fn strictest(self, other: Self) -> Self {
        AtLeast(self.0.max(other.0))
    }
}

impl<T: Ord> Strictness for AtMost<T> {
    fn at_least_as_strict(&self, floor: &Self) -> bool {
        self.0 <= floor.0
    }
    fn strictest(self, other: Self) -> Self {
        AtMost(self.0.min(other.0))
    }
}

impl<T: fmt::Display> fmt::Display for AtLeast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for AtMost<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The lockout threshold: fewer failures is stricter, but 0 (lockout disabled) is the least
/// strict of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LockThreshold(pub u16);

impl Strictness for LockThreshold {
    fn at_least_as_strict(&self, floor: &Self) -> bool {
        floor.0 == 0 || (self.0 != 0 && self.0 <= floor.0)
    }
    fn strictest(self, other: Self) -> Self {
        match (self.0, other.0) {
            (0, _) => other,
            (_, 0) => self,
            (a, b) => LockThreshold(a.min(b)),
        }
    }
}

impl fmt::Display for LockThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("0 (lockout disabled)"),
            n => write!(f, "{n}"),
        }
    }
}

/// The maximum age of a password: a shorter life is stricter, never expiring the least strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxAge {
    /// Passwords never expire.
    Never,
    /// Passwords expire this many days after they are set (0: as soon as set).
    Days(u32),
}

impl MaxAge {
    /// As [`PasswordPolicy::max_age_days`] has it.
    pub fn as_days(self) -> Option<u32> {
        match self {
            MaxAge::Never => None,
            MaxAge::Days(d) => Some(d),
        }
    }

    /// From [`PasswordPolicy::max_age_days`].
    pub fn from_days(days: Option<u32>) -> Self {
        days.map_or(MaxAge::Never, MaxAge::Days)
    }
}

impl Strictness for MaxAge {
    fn at_least_as_strict(&self, floor: &Self) -> bool {
        match (self, floor) {
            (_, MaxAge::Never) => true,
            (MaxAge::Never, MaxAge::Days(_)) => false,
            (MaxAge::Days(a), MaxAge::Days(b)) => a <= b,
        }
    }
    fn strictest(self, other: Self) -> Self {
        match (self, other) {
            (MaxAge::Never, x) | (x, MaxAge::Never) => x,
            (MaxAge::Days(a), MaxAge::Days(b)) => MaxAge::Days(a.min(b)),
        }
    }
}

impl fmt::Display for MaxAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxAge::Never => f.write_str("never"),
            MaxAge::Days(1) => f.write_str("1 day"),
            MaxAge::Days(d) => write!(f, "{d} days"),
        }
    }
}

/// A set of things required (protocols on which MFA is required): a superset is stricter.
impl<T: Ord> Strictness for BTreeSet<T> {
    fn at_least_as_strict(&self, floor: &Self) -> bool {
        self.is_superset(floor)
    }
    fn strictest(mut self, mut other: Self) -> Self {
        self.append(&mut other);
        self
    }
}

/// One setting of one tenant: a value, or `None` to inherit the parent's; and whether the value
/// in force here is enforced on every descendant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Setting<T> {
    /// The tenant's own value; `None` inherits.
    pub value: Option<T>,
    /// Whether descendants may only make the value in force here stricter.
    pub enforced: bool,
}

impl<T> Default for Setting<T> {
    /// Inherit, not enforced.
    fn default() -> Self {
        Setting::inherit()
    }
}

impl<T> Setting<T> {
    /// Inherit the parent's value, enforce nothing.
    pub const fn inherit() -> Self {
        Setting {
            value: None,
            enforced: false,
        }
    }

    /// Set a value for this tenant (and, unless enforced, its descendants to override).
    pub const fn set(value: T) -> Self {
        Setting {
            value: Some(value),
            enforced: false,
        }
    }

    /// Set a value and enforce it as a floor on every descendant.
    pub const fn enforce(value: T) -> Self {
        Setting {
            value: Some(value),
            enforced: true,
        }
    }
}

/// Password settings of a tenant, one per field of [`PasswordPolicy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordSettings {
    /// [`PasswordPolicy::min_length`]: longer is stricter.
    pub min_length: Setting<AtLeast<u16>>,
    /// [`PasswordPolicy::require_upper`]: `true` is stricter.
    pub require_upper: Setting<AtLeast<bool>>,
    /// [`PasswordPolicy::require_lower`]: `true` is stricter.
    pub require_lower: Setting<AtLeast<bool>>,
    /// [`PasswordPolicy::require_digit`]: `true` is stricter.
    pub require_digit: Setting<AtLeast<bool>>,
    /// [`PasswordPolicy::require_special`]: `true` is stricter.
    pub require_special: Setting<AtLeast<bool>>,
    /// [`PasswordPolicy::max_age_days`]: shorter is stricter, never the least strict.
    pub max_age: Setting<MaxAge>,
    /// [`PasswordPolicy::history`]: more is stricter.
    pub history: Setting<AtLeast<u8>>,
    /// [`PasswordPolicy::disallow_user_names`]: `true` is stricter.
    pub disallow_user_names: Setting<AtLeast<bool>>,
    /// [`PasswordPolicy::refuse_common`]: `true` is stricter.
    pub refuse_common: Setting<AtLeast<bool>>,
}

/// Lockout settings of a tenant, one per field of [`LockoutPolicy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockoutSettings {
    /// [`LockoutPolicy::threshold`]: fewer is stricter, 0 (disabled) the least strict.
    pub threshold: Setting<LockThreshold>,
    /// [`LockoutPolicy::window_secs`]: longer is stricter.
    pub window_secs: Setting<AtLeast<u32>>,
    /// [`LockoutPolicy::duration_secs`]: longer is stricter.
    pub duration_secs: Setting<AtLeast<u32>>,
}

/// MFA settings of a tenant. Required and exempt groups are not here: they name the tenant's own
/// groups, and the directory keeps them beside these settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MfaSettings {
    /// The protocols on which TOTP is required: a superset is stricter. Enforcing it also stops
    /// descendants' group exemptions from applying on those protocols.
    pub protocols: Setting<BTreeSet<Protocol>>,
    /// The separator of appended codes (see [`crate::mfa::split_appended`]). A convenience, not a
    /// security setting: it cannot be enforced, and its `enforced` flag is ignored. The deepest
    /// value set wins.
    pub separator: Setting<String>,
}

/// Settings of the verified-credential cache (a recently verified password is not verified
/// again within the lifetime, which spares argon2id work for chatty LDAP clients).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// Whether the cache is used: `false` is stricter.
    pub enabled: Setting<AtMost<bool>>,
    /// How long a verification is reused, in seconds: shorter is stricter.
    pub ttl_secs: Setting<AtMost<u32>>,
}

/// Everything one tenant says about its policies. The default inherits everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicySettings {
    /// Password settings.
    pub password: PasswordSettings,
    /// Lockout settings.
    pub lockout: LockoutSettings,
    /// MFA settings.
    pub mfa: MfaSettings,
    /// Verified-credential cache settings.
    pub cache: CacheSettings,
}

/// The default of [`EffectivePolicy::cache_enabled`].
pub const DEFAULT_CACHE_ENABLED: bool = true;
/// The default of [`EffectivePolicy::cache_ttl_secs`].
pub const DEFAULT_CACHE_TTL_SECS: u32 = 60;

/// The names of the settings that can be enforced, as [`EffectivePolicy::enforced`] and
/// [`Weakening::field`] spell them (the serde path of the setting in [`PolicySettings`]).
pub const ENFORCEABLE: [&str; 15] = [
    "password.min_length",
    "password.require_upper",
    "password.require_lower",
    "password.require_digit",
    "password.require_special",
    "password.max_age",
    "password.history",
    "password.disallow_user_names",
    "password.refuse_common",
    "lockout.threshold",
    "lockout.window_secs",
    "lockout.duration_secs",
    "mfa.protocols",
    "cache.enabled",
    "cache.ttl_secs",
];

/// The policy in force at one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    /// The password policy.
    pub password: PasswordPolicy,
    /// The lockout policy.
    pub lockout: LockoutPolicy,
    /// The protocols on which TOTP is required.
    pub mfa_protocols: BTreeSet<Protocol>,
    /// The protocols on which an ancestor enforces TOTP: local exemptions do not apply there.
    pub mfa_enforced_protocols: BTreeSet<Protocol>,
    /// The separator of appended TOTP codes.
    pub separator: String,
    /// Whether the verified-credential cache is used.
    pub cache_enabled: bool,
    /// How long a verification is reused, in seconds.
    pub cache_ttl_secs: u32,
    /// The settings (names from [`ENFORCEABLE`]) enforced by a tenant above this one: shown as
    /// locked, changeable here only towards stricter.
    pub enforced: BTreeSet<&'static str>,
}

impl Default for EffectivePolicy {
    /// The policy of a tenant whose chain sets nothing.
    fn default() -> Self {
        EffectivePolicy {
            password: PasswordPolicy::default(),
            lockout: LockoutPolicy::default(),
            mfa_protocols: MfaPolicy::<()>::default().protocols,
            mfa_enforced_protocols: BTreeSet::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            cache_enabled: DEFAULT_CACHE_ENABLED,
            cache_ttl_secs: DEFAULT_CACHE_TTL_SECS,
            enforced: BTreeSet::new(),
        }
    }
}

impl EffectivePolicy {
    /// The MFA policy of this tenant, with its (tenant-local) required and exempt groups.
    pub fn mfa<G>(&self, required_groups: BTreeSet<G>, exempt_groups: BTreeSet<G>) -> MfaPolicy<G> {
        MfaPolicy {
            protocols: self.mfa_protocols.clone(),
            enforced_protocols: self.mfa_enforced_protocols.clone(),
            required_groups,
            exempt_groups,
            separator: self.separator.clone(),
        }
    }
}

/// A proposed setting weaker than what a tenant above enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field} is enforced at {floor} or stricter by a parent tenant")]
#[non_exhaustive]
pub struct Weakening {
    /// The setting, as named in [`ENFORCEABLE`].
    pub field: &'static str,
    /// The enforced floor, human readable.
    pub floor: String,
}

/// The effective policy of the last tenant of `chain_root_first` (the root first, the tenant
/// itself last); the defaults for an empty chain. See the module documentation for the rule.
pub fn effective(chain_root_first: &[&PolicySettings]) -> EffectivePolicy {
    struct Effective<'c> {
        chain: &'c [&'c PolicySettings],
        out: EffectivePolicy,
    }
    impl Visit for Effective<'_> {
        fn field<T: Floor>(&mut self, field: Field<T>) {
            let resolved = resolve(self.chain, &field, (field.get)(&self.out));
            if resolved.floor_above.is_some() {
                self.out.enforced.insert(field.name);
            }
            (field.put)(&mut self.out, resolved.value);
        }
    }

    let mut visitor = Effective {
        chain: chain_root_first,
        out: EffectivePolicy::default(),
    };
    for_each_field(&mut visitor);
    let mut out = visitor.out;
    out.mfa_enforced_protocols = resolve(
        chain_root_first,
        &MFA_PROTOCOLS,
        EffectivePolicy::default().mfa_protocols,
    )
    .floor_above
    .unwrap_or_default();
    if let Some(separator) = chain_root_first
        .iter()
        .rev()
        .find_map(|s| s.mfa.separator.value.as_ref())
    {
        out.separator.clone_from(separator);
    }
    out
}

/// The write-time rule: whether a tenant under `ancestors_root_first` may store `proposed`.
/// Every value it sets must be at least as strict as the floor enforced above it (inheriting is
/// always allowed); every offending setting is reported.
pub fn check_local(
    ancestors_root_first: &[&PolicySettings],
    proposed: &PolicySettings,
) -> Result<(), Vec<Weakening>> {
    struct Check<'c> {
        ancestors: &'c [&'c PolicySettings],
        proposed: &'c PolicySettings,
        defaults: EffectivePolicy,
        out: Vec<Weakening>,
    }
    impl Visit for Check<'_> {
        fn field<T: Floor>(&mut self, field: Field<T>) {
            let mut fold = Fold::new((field.get)(&self.defaults));
            for level in self.ancestors {
                fold.apply((field.setting)(level));
            }
            if let (Some(floor), Some(value)) = (fold.floor, &(field.setting)(self.proposed).value)
            {
                if !value.at_least_as_strict(&floor) {
                    self.out.push(Weakening {
                        field: field.name,
                        floor: floor.describe(),
                    });
                }
            }
        }
    }

    let mut visitor = Check {
        ancestors: ancestors_root_first,
        proposed,
        defaults: EffectivePolicy::default(),
        out: Vec::new(),
    };
    for_each_field(&mut visitor);
    if visitor.out.is_empty() {
        Ok(())
    } else {
        Err(visitor.out)
    }
}

/// What the resolution needs of a setting's values: an order, and words for a floor.
trait Floor: Strictness + Clone + PartialEq + fmt::Debug {
    fn describe(&self) -> String;
}

impl<T: Ord + Clone + fmt::Display + fmt::Debug> Floor for AtLeast<T> {
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl<T: Ord + Clone + fmt::Display + fmt::Debug> Floor for AtMost<T> {
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl Floor for LockThreshold {
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl Floor for MaxAge {
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl Floor for BTreeSet<Protocol> {
    fn describe(&self) -> String {
        let names: Vec<&str> = self.iter().map(|p| p.as_str()).collect();
        format!("{{{}}}", names.join(", "))
    }
}

/// One enforceable setting: its name, where it is in [`PolicySettings`] and in
/// [`EffectivePolicy`]. The one table of settings is [`for_each_field`].
struct Field<T> {
    name: &'static str,
    setting: fn(&PolicySettings) -> &Setting<T>,
    get: fn(&EffectivePolicy) -> T,
    put: fn(&mut EffectivePolicy, T),
}

trait Visit {
    fn field<T: Floor>(&mut self, field: Field<T>);
}

const MFA_PROTOCOLS: Field<BTreeSet<Protocol>> = Field {
    name: "mfa.protocols",
    setting: |s| &s.mfa.protocols,
    get: |e| e.mfa_protocols.clone(),
    put: |e, v| e.mfa_protocols = v,
};

/// Visits every enforceable setting, in the order of [`ENFORCEABLE`].
fn for_each_field(v: &mut impl Visit) {
    v.field(Field {
        name: "password.min_length",
        setting: |s| &s.password.min_length,
        get: |e| AtLeast(e.password.min_length),
        put: |e, v| e.password.min_length = v.0,
    });
    v.field(Field {
        name: "password.require_upper",
        setting: |s| &s.password.require_upper,
        get: |e| AtLeast(e.password.require_upper),
        put: |e, v| e.password.require_upper = v.0,
    });
    v.field(Field {
        name: "password.require_lower",
        setting: |s| &s.password.require_lower,
        get: |e| AtLeast(e.password.require_lower),
        put: |e, v| e.password.require_lower = v.0,
    });
    v.field(Field {
        name: "password.require_digit",
        setting: |s| &s.password.require_digit,
        get: |e| AtLeast(e.password.require_digit),
        put: |e, v| e.password.require_digit = v.0,
    });
    v.field(Field {
        name: "password.require_special",
        setting: |s| &s.password.require_special,
        get: |e| AtLeast(e.password.require_special),
        put: |e, v| e.password.require_special = v.0,
    });
    v.field(Field {
        name: "password.max_age",
        setting: |s| &s.password.max_age,
        get: |e| MaxAge::from_days(e.password.max_age_days),
        put: |e, v| e.password.max_age_days = v.as_days(),
    });
    v.field(Field {
        name: "password.history",
        setting: |s| &s.password.history,
        get: |e| AtLeast(e.password.history),
        put: |e, v| e.password.history = v.0,
    });
    v.field(Field {
        name: "password.disallow_user_names",
        setting: |s| &s.password.disallow_user_names,
        get: |e| AtLeast(e.password.disallow_user_names),
        put: |e, v| e.password.disallow_user_names = v.0,
    });
    v.field(Field {
        name: "password.refuse_common",
        setting: |s| &s.password.refuse_common,
        get: |e| AtLeast(e.password.refuse_common),
        put: |e, v| e.password.refuse_common = v.0,
    });
    v.field(Field {
        name: "lockout.threshold",
        setting: |s| &s.lockout.threshold,
        get: |e| LockThreshold(e.lockout.threshold),
        put: |e, v| e.lockout.threshold = v.0,
    });
    v.field(Field {
        name: "lockout.window_secs",
        setting: |s| &s.lockout.window_secs,
        get: |e| AtLeast(e.lockout.window_secs),
        put: |e, v| e.lockout.window_secs = v.0,
    });
    v.field(Field {
        name: "lockout.duration_secs",
        setting: |s| &s.lockout.duration_secs,
        get: |e| AtLeast(e.lockout.duration_secs),
        put: |e, v| e.lockout.duration_secs = v.0,
    });
    v.field(MFA_PROTOCOLS);
    v.field(Field {
        name: "cache.enabled",
        setting: |s| &s.cache.enabled,
        get: |e| AtMost(e.cache_enabled),
        put: |e, v| e.cache_enabled = v.0,
    });
    v.field(Field {
        name: "cache.ttl_secs",
        setting: |s| &s.cache.ttl_secs,
        get: |e| AtMost(e.cache_ttl_secs),
        put: |e, v| e.cache_ttl_secs = v.0,
    });
}

/// The walk down a chain for one setting: the value in force and the floor enforced so far.
struct Fold<T> {
    value: T,
    floor: Option<T>,
}

impl<T: Floor> Fold<T> {
    fn new(default: T) -> Self {
        Fold {
            value: default,
            floor: None,
        }
    }

    /// One level down: its value replaces the inherited one, clamped to the floor; its
    /// enforcement makes the value in force the floor below (no weaker than the earlier floor).
    fn apply(&mut self, level: &Setting<T>) {
        if let Some(v) = &level.value {
            self.value = match &self.floor {
                Some(floor) => v.clone().strictest(floor.clone()),
                None => v.clone(),
            };
        }
        if level.enforced {
            self.floor = Some(match self.floor.take() {
                Some(floor) => floor.strictest(self.value.clone()),
                None => self.value.clone(),
            });
        }
    }
}

/// A setting resolved for the last tenant of a chain.
struct Resolved<T> {
    value: T,
    /// The floor enforced by the tenants above the last one, if any.
    floor_above: Option<T>,
}

fn resolve<T: Floor>(chain: &[&PolicySettings], field: &Field<T>, default: T) -> Resolved<T> {
    let mut fold = Fold::new(default);
    let Some((last, above)) = chain.split_last() else {
        return Resolved {
            value: fold.value,
            floor_above: None,
        };
    };
    for level in above {
        fold.apply((field.setting)(level));
    }
    let floor_above = fold.floor.clone();
    fold.apply((field.setting)(last));
    Resolved {
        value: fold.value,
        floor_above,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- the strictness orders ----

    fn laws<T: Strictness + Clone + PartialEq + fmt::Debug>(a: T, b: T) {
        assert!(a.at_least_as_strict(&a), "reflexive: {a:?}");
        let s = a.clone().strictest(b.clone());
        assert!(s.at_least_as_strict(&a), "{s:?} ≥ {a:?}");
        assert!(s.at_least_as_strict(&b), "{s:?} ≥ {b:?}");
        assert_eq!(s, b.clone().strictest(a.clone()), "commutative");
        if a.at_least_as_strict(&b) {
            assert_eq!(a.clone().strictest(b.clone()), a, "the stricter one wins");
        }
    }

    #[test]
    fn orders() {
        assert!(AtLeast(16u16).at_least_as_strict(&AtLeast(12)));
        assert!(!AtLeast(8u16).at_least_as_strict(&AtLeast(12)));
        assert!(AtLeast(true).at_least_as_strict(&AtLeast(false)));
        assert!(!AtLeast(false).at_least_as_strict(&AtLeast(true)));
        assert!(AtMost(false).at_least_as_strict(&AtMost(true)));
        assert!(AtMost(30u32).at_least_as_strict(&AtMost(60)));
        assert!(!AtMost(90u32).at_least_as_strict(&AtMost(60)));

        assert!(LockThreshold(5).at_least_as_strict(&LockThreshold(10)));
        assert!(!LockThreshold(20).at_least_as_strict(&LockThreshold(10)));
        assert!(!LockThreshold(0).at_least_as_strict(&LockThreshold(10)));
        assert!(LockThreshold(65_535).at_least_as_strict(&LockThreshold(0)));
        assert_eq!(
            LockThreshold(0).strictest(LockThreshold(7)),
            LockThreshold(7)
        );
        assert_eq!(
            LockThreshold(3).strictest(LockThreshold(7)),
            LockThreshold(3)
        );

        assert!(MaxAge::Days(30).at_least_as_strict(&MaxAge::Days(90)));
        assert!(MaxAge::Days(90).at_least_as_strict(&MaxAge::Never));
        assert!(!MaxAge::Never.at_least_as_strict(&MaxAge::Days(90)));
        assert_eq!(MaxAge::Never.strictest(MaxAge::Days(9)), MaxAge::Days(9));

        let la = BTreeSet::from([Protocol::Ldap, Protocol::Admin]);
        let a = BTreeSet::from([Protocol::Admin]);
        assert!(la.at_least_as_strict(&a));
        assert!(!a.at_least_as_strict(&la));
        assert_eq!(
            a.clone().strictest(BTreeSet::from([Protocol::Saml])),
            BTreeSet::from([Protocol::Admin, Protocol::Saml])
        );
    }

    fn arb_max_age() -> impl Strategy<Value = MaxAge> {
        prop_oneof![Just(MaxAge::Never), (0u32..400).prop_map(MaxAge::Days)]
    }

    fn arb_protocols() -> impl Strategy<Value = BTreeSet<Protocol>> {
        proptest::collection::btree_set(
            proptest::sample::select(Protocol::AUTHENTICATING.to_vec()),
            0..=4,
        )
    }

    proptest! {
        #[test]
        fn every_order_obeys_the_laws(
            (a, b) in (0u16..40, 0u16..40),
            (c, d) in (any::<bool>(), any::<bool>()),
            (e, f) in (arb_max_age(), arb_max_age()),
            (g, h) in (arb_protocols(), arb_protocols()),
        ) {
            laws(AtLeast(a), AtLeast(b));
            laws(AtMost(a), AtMost(b));
            laws(AtLeast(c), AtLeast(d));
            laws(AtMost(c), AtMost(d));
            laws(LockThreshold(a), LockThreshold(b));
            laws(e, f);
            laws(g, h);
        }
    }

    // ---- serde ----

    #[test]
    fn settings_serde_is_plain_and_partial() {
        let s = PolicySettings {
            password: PasswordSettings {
                min_length: Setting::enforce(AtLeast(16)),
                max_age: Setting::set(MaxAge::Days(90)),
                ..PasswordSettings::default()
            },
            mfa: MfaSettings {
                protocols: Setting::set(BTreeSet::from([Protocol::Radius])),
                ..MfaSettings::default()
            },
            ..PolicySettings::default()
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["password"]["min_length"],
            serde_json::json!({"value": 16, "enforced": true})
        );
        assert_eq!(
            json["password"]["max_age"]["value"],
            serde_json::json!({"days": 90})
        );
        assert_eq!(
            json["mfa"]["protocols"]["value"],
            serde_json::json!(["radius"])
        );
        assert_eq!(serde_json::from_value::<PolicySettings>(json).unwrap(), s);

        let partial: PolicySettings = serde_json::from_str(
            r#"{"password":{"min_length":{"value":14},"max_age":{"value":"never","enforced":true}}}"#,
        )
        .unwrap();
        assert_eq!(partial.password.min_length, Setting::set(AtLeast(14)));
        assert_eq!(partial.password.max_age, Setting::enforce(MaxAge::Never));
        assert_eq!(partial.lockout, LockoutSettings::default());
    }

    // ---- effective and check_local, by example ----

    #[test]
    fn defaults() {
        let e = effective(&[]);
        assert_eq!(e, EffectivePolicy::default());
        assert_eq!(e.password, PasswordPolicy::default());
        assert_eq!(e.lockout, LockoutPolicy::default());
        assert_eq!(e.mfa_protocols, BTreeSet::from([Protocol::Admin]));
        assert!(e.mfa_enforced_protocols.is_empty());
        assert_eq!(e.separator, ",");
        assert!(e.cache_enabled);
        assert_eq!(e.cache_ttl_secs, 60);
        assert!(e.enforced.is_empty());
        assert_eq!(effective(&[&PolicySettings::default()]), e);
    }

    fn with_min_length(s: Setting<AtLeast<u16>>) -> PolicySettings {
        let mut p = PolicySettings::default();
        p.password.min_length = s;
        p
    }

    /// The issue's example: a parent enforcing a minimum length of 12.
    #[test]
    fn a_customer_may_raise_an_enforced_minimum_but_not_lower_it() {
        let msp = with_min_length(Setting::enforce(AtLeast(12)));

        let raise = with_min_length(Setting::set(AtLeast(16)));
        assert_eq!(check_local(&[&msp], &raise), Ok(()));
        assert_eq!(effective(&[&msp, &raise]).password.min_length, 16);

        let lower = with_min_length(Setting::set(AtLeast(8)));
        let refused = check_local(&[&msp], &lower).unwrap_err();
        assert_eq!(
            refused,
            vec![Weakening {
                field: "password.min_length",
                floor: "12".into(),
            }]
        );
        assert_eq!(
            refused[0].to_string(),
            "password.min_length is enforced at 12 or stricter by a parent tenant"
        );
        // Stored anyway (old data, a bug elsewhere): the floor still holds.
        let e = effective(&[&msp, &lower]);
        assert_eq!(e.password.min_length, 12);
        assert!(e.enforced.contains("password.min_length"));

        // Without the enforcement the customer may lower it.
        let msp_free = with_min_length(Setting::set(AtLeast(12)));
        assert_eq!(check_local(&[&msp_free], &lower), Ok(()));
        assert_eq!(effective(&[&msp_free, &lower]).password.min_length, 8);
    }

    #[test]
    fn own_enforcement_binds_descendants_not_itself() {
        let root = PolicySettings::default();
        let msp = with_min_length(Setting::enforce(AtLeast(14)));
        let at_msp = effective(&[&root, &msp]);
        assert_eq!(at_msp.password.min_length, 14);
        assert!(at_msp.enforced.is_empty());
        let customer = PolicySettings::default();
        let at_customer = effective(&[&root, &msp, &customer]);
        assert_eq!(at_customer.password.min_length, 14);
        assert_eq!(
            at_customer.enforced,
            BTreeSet::from(["password.min_length"])
        );
    }

    #[test]
    fn enforcing_without_a_value_enforces_what_is_inherited() {
        let mut dist = PolicySettings::default();
        dist.lockout.threshold = Setting::set(LockThreshold(5));
        let mut msp = PolicySettings::default();
        msp.lockout.threshold.enforced = true;
        let mut customer = PolicySettings::default();
        customer.lockout.threshold = Setting::set(LockThreshold(0));
        assert_eq!(
            check_local(&[&dist, &msp], &customer),
            Err(vec![Weakening {
                field: "lockout.threshold",
                floor: "5".into(),
            }])
        );
        assert_eq!(effective(&[&dist, &msp, &customer]).lockout.threshold, 5);
        customer.lockout.threshold = Setting::set(LockThreshold(3));
        assert_eq!(check_local(&[&dist, &msp], &customer), Ok(()));
        assert_eq!(effective(&[&dist, &msp, &customer]).lockout.threshold, 3);
    }

    #[test]
    fn floors_accumulate_down_the_chain() {
        let mut dist = PolicySettings::default();
        dist.mfa.protocols = Setting::enforce(BTreeSet::from([Protocol::Saml]));
        let mut msp = PolicySettings::default();
        msp.mfa.protocols = Setting::enforce(BTreeSet::from([Protocol::Radius]));
        let mut customer = PolicySettings::default();
        customer.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Ldap]));

        // The MSP's own value is clamped to the distributor's floor.
        let at_msp = effective(&[&dist, &msp]);
        assert_eq!(
            at_msp.mfa_protocols,
            BTreeSet::from([Protocol::Radius, Protocol::Saml])
        );
        assert_eq!(
            at_msp.mfa_enforced_protocols,
            BTreeSet::from([Protocol::Saml])
        );

        let e = effective(&[&dist, &msp, &customer]);
        assert_eq!(
            e.mfa_protocols,
            BTreeSet::from([Protocol::Ldap, Protocol::Radius, Protocol::Saml])
        );
        assert_eq!(
            e.mfa_enforced_protocols,
            BTreeSet::from([Protocol::Radius, Protocol::Saml])
        );
        let err = check_local(&[&dist, &msp], &customer).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "mfa.protocols");
        assert_eq!(err[0].floor, "{radius, saml}");

        // The MFA policy built from it keeps exemptions off the enforced protocols.
        let mfa = e.mfa(BTreeSet::<u32>::new(), BTreeSet::from([7]));
        let exempt_user = BTreeSet::from([7]);
        assert!(!crate::mfa::requires_totp(
            &mfa,
            Protocol::Ldap,
            &exempt_user
        ));
        assert!(crate::mfa::requires_totp(
            &mfa,
            Protocol::Saml,
            &exempt_user
        ));
    }

    #[test]
    fn the_separator_is_inherited_but_never_enforced() {
        let mut root = PolicySettings::default();
        root.mfa.separator = Setting::enforce("|".to_string());
        let mut customer = PolicySettings::default();
        assert_eq!(effective(&[&root, &customer]).separator, "|");
        customer.mfa.separator = Setting::set(String::new());
        assert_eq!(check_local(&[&root], &customer), Ok(()));
        let e = effective(&[&root, &customer]);
        assert_eq!(e.separator, "");
        assert!(e.enforced.is_empty());
    }

    #[test]
    fn every_weakening_is_reported_at_once() {
        let mut root = PolicySettings::default();
        root.password.max_age = Setting::enforce(MaxAge::Days(90));
        root.password.refuse_common = Setting::enforce(AtLeast(true));
        root.cache.enabled = Setting::enforce(AtMost(false));
        root.cache.ttl_secs = Setting::enforce(AtMost(30));
        root.lockout.window_secs = Setting::enforce(AtLeast(600));
        let mut weak = PolicySettings::default();
        weak.password.max_age = Setting::set(MaxAge::Never);
        weak.password.refuse_common = Setting::set(AtLeast(false));
        weak.cache.enabled = Setting::set(AtMost(true));
        weak.cache.ttl_secs = Setting::set(AtMost(300));
        weak.lockout.window_secs = Setting::set(AtLeast(60));
        let err = check_local(&[&root], &weak).unwrap_err();
        let got: Vec<(&str, &str)> = err.iter().map(|w| (w.field, w.floor.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("password.max_age", "90 days"),
                ("password.refuse_common", "true"),
                ("lockout.window_secs", "600"),
                ("cache.enabled", "false"),
                ("cache.ttl_secs", "30"),
            ]
        );
        let e = effective(&[&root, &weak]);
        assert_eq!(e.password.max_age_days, Some(90));
        assert!(e.password.refuse_common);
        assert!(!e.cache_enabled);
        assert_eq!(e.cache_ttl_secs, 30);
        assert_eq!(e.lockout.window_secs, 600);
    }

    /// Every enforceable setting enforced, none given a value.
    fn enforce_all() -> PolicySettings {
        let mut s = PolicySettings::default();
        s.password.min_length.enforced = true;
        s.password.require_upper.enforced = true;
        s.password.require_lower.enforced = true;
        s.password.require_digit.enforced = true;
        s.password.require_special.enforced = true;
        s.password.max_age.enforced = true;
        s.password.history.enforced = true;
        s.password.disallow_user_names.enforced = true;
        s.password.refuse_common.enforced = true;
        s.lockout.threshold.enforced = true;
        s.lockout.window_secs.enforced = true;
        s.lockout.duration_secs.enforced = true;
        s.mfa.protocols.enforced = true;
        s.mfa.separator.enforced = true;
        s.cache.enabled.enforced = true;
        s.cache.ttl_secs.enforced = true;
        s
    }

    #[test]
    fn the_field_table_matches_the_list_of_names() {
        struct Names(Vec<&'static str>);
        impl Visit for Names {
            fn field<T: Floor>(&mut self, field: Field<T>) {
                self.0.push(field.name);
            }
        }
        let mut names = Names(Vec::new());
        for_each_field(&mut names);
        assert_eq!(names.0, ENFORCEABLE.to_vec());

        let root = enforce_all();
        let child = PolicySettings::default();
        assert!(effective(&[&root]).enforced.is_empty());
        let e = effective(&[&root, &child]);
        assert_eq!(e.enforced, ENFORCEABLE.into_iter().collect());
        assert_eq!(e.mfa_enforced_protocols, BTreeSet::from([Protocol::Admin]));
        // Enforcing the defaults changes no value.
        assert_eq!(
            EffectivePolicy {
                enforced: BTreeSet::new(),
                mfa_enforced_protocols: BTreeSet::new(),
                ..e
            },
            EffectivePolicy::default()
        );
    }

    // ---- effective and check_local, over random chains ----

    fn arb_setting<T: fmt::Debug>(
        values: impl Strategy<Value = T>,
        may_enforce: bool,
    ) -> impl Strategy<Value = Setting<T>> {
        (proptest::option::of(values), any::<bool>()).prop_map(move |(value, enforced)| Setting {
            value,
            enforced: enforced && may_enforce,
        })
    }

    fn arb_settings(may_enforce: bool) -> impl Strategy<Value = PolicySettings> {
        let e = may_enforce;
        let bool_at_least = || arb_setting(any::<bool>().prop_map(AtLeast), e);
        let password = (
            arb_setting((0u16..30).prop_map(AtLeast), e),
            bool_at_least(),
            bool_at_least(),
            bool_at_least(),
            bool_at_least(),
            arb_setting(arb_max_age(), e),
            arb_setting((0u8..10).prop_map(AtLeast), e),
            bool_at_least(),
            bool_at_least(),
        )
            .prop_map(
                |(
                    min_length,
                    require_upper,
                    require_lower,
                    require_digit,
                    require_special,
                    max_age,
                    history,
                    disallow_user_names,
                    refuse_common,
                )| PasswordSettings {
                    min_length,
                    require_upper,
                    require_lower,
                    require_digit,
                    require_special,
                    max_age,
                    history,
                    disallow_user_names,
                    refuse_common,
                },
            );
        let lockout = (
            arb_setting((0u16..12).prop_map(LockThreshold), e),
            arb_setting((0u32..2000).prop_map(AtLeast), e),
            arb_setting((0u32..2000).prop_map(AtLeast), e),
        )
            .prop_map(|(threshold, window_secs, duration_secs)| LockoutSettings {
                threshold,
                window_secs,
                duration_secs,
            });
        let mfa = (
            arb_setting(arb_protocols(), e),
            arb_setting(
                proptest::sample::select(vec![",", "|", "", "::"]).prop_map(String::from),
                e,
            ),
        )
            .prop_map(|(protocols, separator)| MfaSettings {
                protocols,
                separator,
            });
        let cache = (
            arb_setting(any::<bool>().prop_map(AtMost), e),
            arb_setting((0u32..120).prop_map(AtMost), e),
        )
            .prop_map(|(enabled, ttl_secs)| CacheSettings { enabled, ttl_secs });
        (password, lockout, mfa, cache).prop_map(|(password, lockout, mfa, cache)| PolicySettings {
            password,
            lockout,
            mfa,
            cache,
        })
    }

    fn refs(chain: &[PolicySettings]) -> Vec<&PolicySettings> {
        chain.iter().collect()
    }

    /// The floors the definition gives for one setting at the last tenant of `chain`: the value
    /// in force at every tenant above it that enforces the setting.
    fn floors_above<T: Floor>(chain: &[&PolicySettings], field: &Field<T>) -> Vec<T> {
        let above = chain.len().saturating_sub(1);
        (0..above)
            .filter(|&k| (field.setting)(chain[k]).enforced)
            .map(|k| (field.get)(&effective(&chain[..=k])))
            .collect()
    }

    /// (a) every effective value is at least as strict as every floor enforced above, and
    /// `enforced` names exactly the settings with such a floor.
    struct FloorsHold<'c> {
        chain: &'c [&'c PolicySettings],
        effective: EffectivePolicy,
    }
    impl Visit for FloorsHold<'_> {
        fn field<T: Floor>(&mut self, field: Field<T>) {
            let value = (field.get)(&self.effective);
            let floors = floors_above(self.chain, &field);
            for floor in &floors {
                assert!(
                    value.at_least_as_strict(floor),
                    "{}: {value:?} weaker than {floor:?}",
                    field.name
                );
            }
            assert_eq!(
                self.effective.enforced.contains(field.name),
                !floors.is_empty(),
                "{}",
                field.name
            );
        }
    }

    /// (b) with nothing enforced, the deepest value set wins (else the default).
    struct DeepestWins<'c> {
        chain: &'c [&'c PolicySettings],
        effective: EffectivePolicy,
    }
    impl Visit for DeepestWins<'_> {
        fn field<T: Floor>(&mut self, field: Field<T>) {
            let expected = self
                .chain
                .iter()
                .rev()
                .find_map(|s| (field.setting)(s).value.clone())
                .unwrap_or_else(|| (field.get)(&EffectivePolicy::default()));
            assert_eq!((field.get)(&self.effective), expected, "{}", field.name);
        }
    }

    /// (c) the settings whose proposed value is weaker than some floor above, by the definition.
    struct Offending<'c> {
        ancestors: &'c [&'c PolicySettings],
        proposed: &'c PolicySettings,
        out: Vec<&'static str>,
    }
    impl Visit for Offending<'_> {
        fn field<T: Floor>(&mut self, field: Field<T>) {
            let mut chain = self.ancestors.to_vec();
            chain.push(self.proposed);
            if let Some(value) = &(field.setting)(self.proposed).value {
                if floors_above(&chain, &field)
                    .iter()
                    .any(|floor| !value.at_least_as_strict(floor))
                {
                    self.out.push(field.name);
                }
            }
        }
    }

    /// An accepted proposal is used as proposed: no clamp was needed.
    struct UsedAsProposed<'c> {
        proposed: &'c PolicySettings,
        effective: EffectivePolicy,
    }
    impl Visit for UsedAsProposed<'_> {
        fn field<T: Floor>(&mut self, field: Field<T>) {
            if let Some(value) = &(field.setting)(self.proposed).value {
                assert_eq!(&(field.get)(&self.effective), value, "{}", field.name);
            }
        }
    }

    proptest! {
        #[test]
        fn enforced_floors_always_hold(chain in proptest::collection::vec(arb_settings(true), 1..=5)) {
            let chain = refs(&chain);
            let e = effective(&chain);
            for_each_field(&mut FloorsHold { chain: &chain, effective: e.clone() });
            let enforced_above: BTreeSet<Protocol> = floors_above(&chain, &MFA_PROTOCOLS)
                .into_iter()
                .flatten()
                .collect();
            prop_assert_eq!(&e.mfa_enforced_protocols, &enforced_above);
            prop_assert!(e.mfa_protocols.is_superset(&e.mfa_enforced_protocols));
        }

        #[test]
        fn with_nothing_enforced_the_deepest_value_wins(chain in proptest::collection::vec(arb_settings(false), 1..=5)) {
            let chain = refs(&chain);
            let e = effective(&chain);
            prop_assert!(e.enforced.is_empty());
            prop_assert!(e.mfa_enforced_protocols.is_empty());
            let separator = chain
                .iter()
                .rev()
                .find_map(|s| s.mfa.separator.value.clone())
                .unwrap_or_else(|| ",".to_string());
            prop_assert_eq!(&e.separator, &separator);
            for_each_field(&mut DeepestWins { chain: &chain, effective: e });
        }

        #[test]
        fn check_local_accepts_exactly_what_respects_the_floors(
            ancestors in proptest::collection::vec(arb_settings(true), 0..=4),
            proposed in arb_settings(true),
        ) {
            let ancestors = refs(&ancestors);
            let mut offending = Offending { ancestors: &ancestors, proposed: &proposed, out: Vec::new() };
            for_each_field(&mut offending);
            match check_local(&ancestors, &proposed) {
                Ok(()) => {
                    prop_assert!(offending.out.is_empty(), "accepted, yet {:?} weaken", offending.out);
                    let mut chain = ancestors.clone();
                    chain.push(&proposed);
                    for_each_field(&mut UsedAsProposed { proposed: &proposed, effective: effective(&chain) });
                }
                Err(weakenings) => {
                    let fields: Vec<&str> = weakenings.iter().map(|w| w.field).collect();
                    prop_assert_eq!(fields, offending.out);
                }
            }
        }

        #[test]
        fn effective_is_what_a_descendant_inherits(chain in proptest::collection::vec(arb_settings(true), 1..=5)) {
            // A child that sets nothing has its parent's values (but sees more enforced).
            let chain_refs = refs(&chain);
            let parent = effective(&chain_refs);
            let child = PolicySettings::default();
            let mut longer = chain_refs.clone();
            longer.push(&child);
            let e = effective(&longer);
            prop_assert_eq!(
                EffectivePolicy { enforced: BTreeSet::new(), mfa_enforced_protocols: BTreeSet::new(), ..e.clone() },
                EffectivePolicy { enforced: BTreeSet::new(), mfa_enforced_protocols: BTreeSet::new(), ..parent.clone() }
            );
            prop_assert!(e.enforced.is_superset(&parent.enforced));
        }

        #[test]
        fn serde_round_trip(s in arb_settings(true)) {
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<PolicySettings>(&json).unwrap(), s);
        }
    }
}
