//! The RBAC vocabulary: functional areas, the three rights, Allow/Deny, and `RightSet`, a compact
//! set of defined rights. It owns their encoding (two 30-bit masks) and their serde form; it must
//! not decide who holds what — that is `rbac`.

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// A functional area of the product, the unit rights are given on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// The tenant tree: create, suspend, delete tenants.
    Tenants,
    /// User accounts.
    Users,
    /// Security groups and their memberships.
    Groups,
    /// Credentials: reset a password or MFA, unlock an account.
    Credentials,
    /// Password, lockout and MFA policies.
    Policies,
    /// Applications: the LDAP service, RADIUS clients, SAML service providers.
    Applications,
    /// Roles and assignments.
    Rights,
    /// The audit log.
    Audit,
    /// Reports.
    Reports,
    /// LDAP-level read and write, for service accounts.
    Directory,
}

impl Area {
    /// Every area, in a fixed order (the bit order of [`RightSet`]).
    pub const ALL: [Area; 10] = [
        Area::Tenants,
        Area::Users,
        Area::Groups,
        Area::Credentials,
        Area::Policies,
        Area::Applications,
        Area::Rights,
        Area::Audit,
        Area::Reports,
        Area::Directory,
    ];

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Area::Tenants => "tenants",
            Area::Users => "users",
            Area::Groups => "groups",
            Area::Credentials => "credentials",
            Area::Policies => "policies",
            Area::Applications => "applications",
            Area::Rights => "rights",
            Area::Audit => "audit",
            Area::Reports => "reports",
            Area::Directory => "directory",
        }
    }

    /// Parses [`Area::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Area::ALL.into_iter().find(|a| a.as_str() == s)
    }

    const fn index(self) -> u32 {
        match self {
            Area::Tenants => 0,
            Area::Users => 1,
            Area::Groups => 2,
            Area::Credentials => 3,
            Area::Policies => 4,
            Area::Applications => 5,
            Area::Rights => 6,
            Area::Audit => 7,
            Area::Reports => 8,
            Area::Directory => 9,
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the three rights on an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// See objects of the area.
    Read,
    /// Create, change and delete objects of the area.
    Write,
    /// Run the area's actions (suspend a tenant, reset a credential, export the audit log…).
    Execute,
}

impl Right {
    /// Every right, in bit order.
    pub const ALL: [Right; 3] = [Right::Read, Right::Write, Right::Execute];

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Write => "write",
            Right::Execute => "execute",
        }
    }

    /// Parses [`Right::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Right::ALL.into_iter().find(|r| r.as_str() == s)
    }

    const fn index(self) -> u32 {
        match self {
            Right::Read => 0,
            Right::Write => 1,
            Right::Execute => 2,
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a right is defined in a grant: allowed or denied. Absent means undefined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// The right is allowed (unless some other grant denies it).
    Allow,
    /// The right is denied, whatever any other grant says.
    Deny,
}

const fn bit(area: Area, right: Right) -> u32 {
    1 << (area.index() * 3 + right.index())
}

const ALL_BITS: u32 = (1 << 30) - 1;

/// A set of defined rights: for each (area, right) either Allow, Deny or undefined.
///
/// Used both for what a role or assignment defines and, after [`RightSet::union`], for the
/// accumulated effect of many grants, where a right may be both allowed and denied (deny wins).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RightSet {
    allow: u32,
    deny: u32,
}

impl RightSet {
    /// Nothing defined.
    pub const EMPTY: RightSet = RightSet { allow: 0, deny: 0 };

    /// Every right of every area allowed.
    pub const ALL_ALLOWED: RightSet = RightSet {
        allow: ALL_BITS,
        deny: 0,
    };

    /// Builds a set from (area, right, permission) triples; a later triple for the same right
    /// replaces an earlier one.
    pub fn from_entries(entries: impl IntoIterator<Item = (Area, Right, Permission)>) -> Self {
        let mut s = RightSet::EMPTY;
        for (a, r, p) in entries {
            s.set(a, r, Some(p));
        }
        s
    }

    /// Allows every listed right on every listed area.
    pub fn allowing(areas: &[Area], rights: &[Right]) -> Self {
        let mut s = RightSet::EMPTY;
        for &a in areas {
            for &r in rights {
                s.set(a, r, Some(Permission::Allow));
            }
        }
        s
    }

    /// Defines (or, with `None`, undefines) one right. In a single grant a right is either
    /// allowed or denied, never both.
    pub fn set(&mut self, area: Area, right: Right, perm: Option<Permission>) {
        let b = bit(area, right);
        self.allow &= !b;
        self.deny &= !b;
        match perm {
            Some(Permission::Allow) => self.allow |= b,
            Some(Permission::Deny) => self.deny |= b,
            None => {}
        }
    }

    /// How this set defines a right. Deny wins when a union holds both.
    pub fn get(&self, area: Area, right: Right) -> Option<Permission> {
        let b = bit(area, right);
        if self.deny & b != 0 {
            Some(Permission::Deny)
        } else if self.allow & b != 0 {
            Some(Permission::Allow)
        } else {
            None
        }
    }

    /// Whether the right is granted: allowed and not denied. Undefined is denied.
    pub fn grants(&self, area: Area, right: Right) -> bool {
        let b = bit(area, right);
        self.allow & b != 0 && self.deny & b == 0
    }

    /// The union of two sets: a right is allowed if either allows it, denied if either denies it.
    #[must_use]
    pub fn union(self, other: RightSet) -> RightSet {
        RightSet {
            allow: self.allow | other.allow,
            deny: self.deny | other.deny,
        }
    }

    /// What both sets grant: the rights of a holder of `self` narrowed to `limit` (a token
    /// that carries at most some of its user's rights). A set of Allows.
    #[must_use]
    pub fn narrowed_to(self, limit: RightSet) -> RightSet {
        RightSet {
            allow: self.granted().allow & limit.granted().allow,
            deny: 0,
        }
    }

    /// This set with each area of `to` defined exactly as `from` is (its Read, Write and
    /// Execute, allowed, denied or undefined). LDAP judges users, groups and tenants by the
    /// Directory area this way.
    #[must_use]
    pub fn with_areas_as(self, from: Area, to: &[Area]) -> RightSet {
        let mut out = self;
        for &a in to {
            for r in Right::ALL {
                out.set(a, r, self.get(from, r));
            }
        }
        out
    }

    /// The rights this set actually grants (allowed and not denied), as a set of Allows.
    #[must_use]
    pub fn granted(self) -> RightSet {
        RightSet {
            allow: self.allow & !self.deny,
            deny: 0,
        }
    }

    /// Whether nothing is defined.
    pub fn is_empty(&self) -> bool {
        self.allow == 0 && self.deny == 0
    }

    /// Every (area, right) this set defines, with how it defines it, in a fixed order.
    pub fn entries(&self) -> impl Iterator<Item = (Area, Right, Permission)> + '_ {
        Area::ALL.into_iter().flat_map(move |a| {
            Right::ALL
                .into_iter()
                .filter_map(move |r| self.get(a, r).map(|p| (a, r, p)))
        })
    }

    /// The (area, right) pairs this set defines differently from `other`: what changes when a
    /// role's rights go from `other` to `self`.
    pub fn changed_from(&self, other: &RightSet) -> RightSet {
        let changed = (self.allow ^ other.allow) | (self.deny ^ other.deny);
        // Report the change as "defined" so `not_covered_by` checks the granter holds it.
        RightSet {
            allow: changed,
            deny: 0,
        }
    }

    /// The (area, right) pairs defined here (allowed or denied) that `holder` does not grant.
    /// Empty when a holder of `holder` may hand out this set: the no-escalation rule.
    pub fn not_covered_by(&self, holder: &RightSet) -> Vec<(Area, Right)> {
        let defined = self.allow | self.deny;
        let missing = defined & !holder.granted().allow;
        Area::ALL
            .into_iter()
            .flat_map(|a| Right::ALL.into_iter().map(move |r| (a, r)))
            .filter(|&(a, r)| missing & bit(a, r) != 0)
            .collect()
    }
}

impl fmt::Debug for RightSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (a, r, p) in self.entries() {
            m.entry(&format_args!("{a}:{r}"), &p);
        }
        m.finish()
    }
}

/// Serialised as `{"users": {"read": "allow", "write": "deny"}, ...}`: readable in the API and
/// stable in storage whatever the bit layout.
impl Serialize for RightSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut by_area: BTreeMap<&'static str, BTreeMap<&'static str, Permission>> =
            BTreeMap::new();
        for (a, r, p) in self.entries() {
            by_area.entry(a.as_str()).or_default().insert(r.as_str(), p);
        }
        let mut map = serializer.serialize_map(Some(by_area.len()))?;
        for (a, rights) in &by_area {
            map.serialize_entry(a, rights)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for RightSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RightSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of area to a map of right to allow/deny")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RightSet, M::Error> {
                let mut set = RightSet::EMPTY;
                while let Some(area) = map.next_key::<String>()? {
                    let a = Area::parse(&area)
                        .ok_or_else(|| de::Error::custom(format!("unknown area {area:?}")))?;
                    let rights: BTreeMap<String, Permission> = map.next_value()?;
                    for (right, p) in rights {
                        let r = Right::parse(&right)
                            .ok_or_else(|| de::Error::custom(format!("unknown right {right:?}")))?;
                        set.set(a, r, Some(p));
                    }
                }
                Ok(set)
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_rightset() -> impl Strategy<Value = RightSet> {
        proptest::collection::vec(
            (
                proptest::sample::select(Area::ALL.to_vec()),
                proptest::sample::select(Right::ALL.to_vec()),
                prop_oneof![Just(Permission::Allow), Just(Permission::Deny)],
            ),
            0..12,
        )
        .prop_map(RightSet::from_entries)
    }

    #[test]
    fn undefined_is_denied() {
        let s = RightSet::EMPTY;
        for a in Area::ALL {
            for r in Right::ALL {
                assert!(!s.grants(a, r));
                assert_eq!(s.get(a, r), None);
            }
        }
    }

    #[test]
    fn deny_wins_in_a_union() {
        let allow = RightSet::from_entries([(Area::Users, Right::Read, Permission::Allow)]);
        let deny = RightSet::from_entries([(Area::Users, Right::Read, Permission::Deny)]);
        assert!(allow.grants(Area::Users, Right::Read));
        assert!(!allow.union(deny).grants(Area::Users, Right::Read));
        assert!(!deny.union(allow).grants(Area::Users, Right::Read));
    }

    #[test]
    fn serde_form_is_readable() {
        let s = RightSet::from_entries([
            (Area::Users, Right::Read, Permission::Allow),
            (Area::Users, Right::Write, Permission::Deny),
        ]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"users":{"read":"allow","write":"deny"}}"#);
        assert_eq!(serde_json::from_str::<RightSet>(&json).unwrap(), s);
        assert!(serde_json::from_str::<RightSet>(r#"{"nope":{"read":"allow"}}"#).is_err());
        assert!(serde_json::from_str::<RightSet>(r#"{"users":{"fly":"allow"}}"#).is_err());
    }

    proptest! {
        #[test]
        fn serde_round_trip(s in arb_rightset()) {
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<RightSet>(&json).unwrap(), s);
        }

        #[test]
        fn union_is_commutative_associative_idempotent(a in arb_rightset(), b in arb_rightset(), c in arb_rightset()) {
            prop_assert_eq!(a.union(b), b.union(a));
            prop_assert_eq!(a.union(b).union(c), a.union(b.union(c)));
            prop_assert_eq!(a.union(a), a);
        }

        #[test]
        fn a_deny_anywhere_denies(a in arb_rightset(), b in arb_rightset(),
                                  area in proptest::sample::select(Area::ALL.to_vec()),
                                  right in proptest::sample::select(Right::ALL.to_vec())) {
            let u = a.union(b);
            let denied = a.get(area, right) == Some(Permission::Deny) || b.get(area, right) == Some(Permission::Deny);
            let allowed = a.get(area, right) == Some(Permission::Allow) || b.get(area, right) == Some(Permission::Allow);
            prop_assert_eq!(u.grants(area, right), allowed && !denied);
        }

        #[test]
        fn remapped_areas_follow_their_source(a in arb_rightset(),
                                              right in proptest::sample::select(Right::ALL.to_vec())) {
            let m = a.with_areas_as(Area::Directory, &[Area::Users, Area::Groups]);
            prop_assert_eq!(m.grants(Area::Users, right), a.grants(Area::Directory, right));
            prop_assert_eq!(m.grants(Area::Groups, right), a.grants(Area::Directory, right));
            prop_assert_eq!(m.grants(Area::Audit, right), a.grants(Area::Audit, right));
        }

        #[test]
        fn narrowing_never_adds_a_right(a in arb_rightset(), b in arb_rightset(),
                                        area in proptest::sample::select(Area::ALL.to_vec()),
                                        right in proptest::sample::select(Right::ALL.to_vec())) {
            let n = a.narrowed_to(b);
            prop_assert_eq!(n.grants(area, right), a.grants(area, right) && b.grants(area, right));
        }

        #[test]
        fn a_set_never_holds_more_than_its_granter(held in arb_rightset(), wanted in arb_rightset()) {
            let missing = wanted.not_covered_by(&held);
            for (a, r, _) in wanted.entries() {
                prop_assert_eq!(missing.contains(&(a, r)), !held.grants(a, r));
            }
        }
    }
}
