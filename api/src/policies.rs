//! Tenant policies over HTTP: a tenant's own password, lockout, MFA and cache settings beside
//! what is in force there and what tenants above enforce, and replacing the own settings. The
//! inheritance and enforcement rules are `tessera_policy::settings`, applied by the core; this
//! module only translates shapes and resolves MFA group names.

use crate::auth::Caller;
use crate::dto::{referenced, ProtocolDto};
use crate::extract::{Json, Path};
use crate::problem::{Problem, Problems};
use crate::tenants::{address, TenantPath};
use crate::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use tessera_directory::model::{GroupId, PolicyView, TenantId, TenantPolicy};
use tessera_directory::policy::settings::{
    AtLeast, AtMost, CacheSettings, EffectivePolicy, LockThreshold, LockoutSettings, MaxAge,
    MfaSettings, PasswordSettings, PolicySettings, Setting,
};
use tessera_directory::{Actor, Directory, Error};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(get, set))
}

/// A whole-number setting: a value, or absent (`null`) to inherit; and whether tenants below
/// may only make it stricter.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NumberSetting {
    /// The tenant's own value; `null` inherits.
    value: Option<u32>,
    /// Enforce the value in force here on every tenant below.
    enforced: bool,
}

/// A yes/no setting.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FlagSetting {
    /// The tenant's own value; `null` inherits.
    value: Option<bool>,
    /// Enforce the value in force here on every tenant below.
    enforced: bool,
}

/// How long a password lives.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = MaxAge)]
pub(crate) enum MaxAgeDto {
    /// Passwords never expire.
    Never,
    /// Passwords expire this many days after they are set.
    Days(u32),
}

/// The maximum password age: `"never"` or `{"days": 90}`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MaxAgeSetting {
    /// The tenant's own value; `null` inherits.
    value: Option<MaxAgeDto>,
    /// Enforce the value in force here on every tenant below.
    enforced: bool,
}

/// The protocols on which TOTP is required.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ProtocolsSetting {
    /// The tenant's own value; `null` inherits.
    value: Option<BTreeSet<ProtocolDto>>,
    /// Enforce it on every tenant below (their group exemptions stop applying there).
    enforced: bool,
}

/// The separator of a TOTP code appended to a password (a convenience: never enforced).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SeparatorSetting {
    /// The tenant's own value; `null` inherits.
    value: Option<String>,
}

/// Password settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = PasswordSettings)]
pub(crate) struct PasswordSettingsDto {
    /// Minimum length in characters (8–256).
    min_length: NumberSetting,
    /// Require an upper-case letter.
    require_upper: FlagSetting,
    /// Require a lower-case letter.
    require_lower: FlagSetting,
    /// Require a digit.
    require_digit: FlagSetting,
    /// Require a character that is neither a letter nor a digit.
    require_special: FlagSetting,
    /// Maximum age.
    max_age: MaxAgeSetting,
    /// How many earlier passwords may not be reused (at most 24).
    history: NumberSetting,
    /// Refuse passwords containing the user's names.
    disallow_user_names: FlagSetting,
    /// Refuse commonly used passwords.
    refuse_common: FlagSetting,
}

/// Lockout settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = LockoutSettings)]
pub(crate) struct LockoutSettingsDto {
    /// Failures within the window that lock the account (0 turns lockout off).
    threshold: NumberSetting,
    /// The window failures are counted in, in seconds.
    window_secs: NumberSetting,
    /// How long a lock lasts, in seconds.
    duration_secs: NumberSetting,
}

/// MFA settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = MfaSettings)]
pub(crate) struct MfaSettingsDto {
    /// The protocols on which TOTP is required.
    protocols: ProtocolsSetting,
    /// The separator of appended codes.
    separator: SeparatorSetting,
    /// TOTP is required only for members of these groups of this tenant (names; empty:
    /// everyone). A group you may not see is shown, and may be given, by id.
    required_groups: Vec<String>,
    /// Members of these groups of this tenant are exempt, except on protocols enforced from
    /// above (names, or ids as above).
    exempt_groups: Vec<String>,
}

/// Verified-credential cache settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = CacheSettings)]
pub(crate) struct CacheSettingsDto {
    /// Whether a recently verified password may skip verification.
    enabled: FlagSetting,
    /// For how long, in seconds (at most 3600).
    ttl_secs: NumberSetting,
}

/// A tenant's own policy settings; every setting absent or `null` is inherited.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = PolicySettings)]
pub(crate) struct PolicySettingsDto {
    /// Password settings.
    password: PasswordSettingsDto,
    /// Lockout settings.
    lockout: LockoutSettingsDto,
    /// MFA settings.
    mfa: MfaSettingsDto,
    /// Verified-credential cache settings.
    cache: CacheSettingsDto,
}

/// The password policy in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EffectivePassword {
    /// Minimum length in characters.
    min_length: u16,
    /// An upper-case letter is required.
    require_upper: bool,
    /// A lower-case letter is required.
    require_lower: bool,
    /// A digit is required.
    require_digit: bool,
    /// A character that is neither a letter nor a digit is required.
    require_special: bool,
    /// Days after which a password expires; `null`: never.
    max_age_days: Option<u32>,
    /// How many earlier passwords may not be reused.
    history: u8,
    /// Passwords containing the user's names are refused.
    disallow_user_names: bool,
    /// Common passwords are refused.
    refuse_common: bool,
}

/// The lockout policy in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EffectiveLockout {
    /// Failures within the window that lock the account (0: lockout off).
    threshold: u16,
    /// The window, in seconds.
    window_secs: u32,
    /// How long a lock lasts, in seconds.
    duration_secs: u32,
}

/// The policy in force at a tenant, inheritance and enforcement applied.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EffectivePolicy)]
pub(crate) struct EffectivePolicyDto {
    /// Passwords.
    password: EffectivePassword,
    /// Lockout.
    lockout: EffectiveLockout,
    /// The protocols on which TOTP is required.
    mfa_protocols: Vec<ProtocolDto>,
    /// The protocols on which a tenant above enforces TOTP (local exemptions do not apply).
    mfa_enforced_protocols: Vec<ProtocolDto>,
    /// The separator of appended TOTP codes.
    separator: String,
    /// Whether the verified-credential cache is used.
    cache_enabled: bool,
    /// How long a verification is reused, in seconds.
    cache_ttl_secs: u32,
}

/// A tenant's policies: its own settings, what is in force, and what is enforced from above.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Policy {
    /// What the tenant itself sets (and enforces on the tenants below it).
    local: PolicySettingsDto,
    /// What is in force at the tenant.
    effective: EffectivePolicyDto,
    /// The settings (e.g. `password.min_length`) a tenant above enforces: shown as locked,
    /// changeable here only towards stricter.
    enforced_from_above: Vec<String>,
}

fn number<T: Into<u32> + Copy>(v: Option<T>, enforced: bool) -> NumberSetting {
    NumberSetting {
        value: v.map(Into::into),
        enforced,
    }
}

fn flag_out<T>(s: &Setting<T>, get: impl Fn(&T) -> bool) -> FlagSetting {
    FlagSetting {
        value: s.value.as_ref().map(get),
        enforced: s.enforced,
    }
}

fn max_age_out(m: MaxAge) -> MaxAgeDto {
    match m {
        MaxAge::Never => MaxAgeDto::Never,
        MaxAge::Days(d) => MaxAgeDto::Days(d),
    }
}

fn local_out(p: &TenantPolicy, names: &HashMap<GroupId, String>) -> PolicySettingsDto {
    let s = &p.settings;
    let name = |g: &GroupId| names.get(g).cloned().unwrap_or_else(|| g.to_string());
    PolicySettingsDto {
        password: PasswordSettingsDto {
            min_length: number(
                s.password.min_length.value.map(|v| v.0),
                s.password.min_length.enforced,
            ),
            require_upper: flag_out(&s.password.require_upper, |v| v.0),
            require_lower: flag_out(&s.password.require_lower, |v| v.0),
            require_digit: flag_out(&s.password.require_digit, |v| v.0),
            require_special: flag_out(&s.password.require_special, |v| v.0),
            max_age: MaxAgeSetting {
                value: s.password.max_age.value.map(max_age_out),
                enforced: s.password.max_age.enforced,
            },
            history: number(
                s.password.history.value.map(|v| v.0),
                s.password.history.enforced,
            ),
            disallow_user_names: flag_out(&s.password.disallow_user_names, |v| v.0),
            refuse_common: flag_out(&s.password.refuse_common, |v| v.0),
        },
        lockout: LockoutSettingsDto {
            threshold: number(
                s.lockout.threshold.value.map(|v| v.0),
                s.lockout.threshold.enforced,
            ),
            window_secs: number(
                s.lockout.window_secs.value.map(|v| v.0),
                s.lockout.window_secs.enforced,
            ),
            duration_secs: number(
                s.lockout.duration_secs.value.map(|v| v.0),
                s.lockout.duration_secs.enforced,
            ),
        },
        mfa: MfaSettingsDto {
            protocols: ProtocolsSetting {
                value: s
                    .mfa
                    .protocols
                    .value
                    .as_ref()
                    .map(|ps| ps.iter().map(|p| ProtocolDto::from(*p)).collect()),
                enforced: s.mfa.protocols.enforced,
            },
            separator: SeparatorSetting {
                value: s.mfa.separator.value.clone(),
            },
            required_groups: p.mfa_required_groups.iter().map(name).collect(),
            exempt_groups: p.mfa_exempt_groups.iter().map(name).collect(),
        },
        cache: CacheSettingsDto {
            enabled: flag_out(&s.cache.enabled, |v| v.0),
            ttl_secs: number(
                s.cache.ttl_secs.value.map(|v| v.0),
                s.cache.ttl_secs.enforced,
            ),
        },
    }
}

fn effective_out(e: &EffectivePolicy) -> EffectivePolicyDto {
    EffectivePolicyDto {
        password: EffectivePassword {
            min_length: e.password.min_length,
            require_upper: e.password.require_upper,
            require_lower: e.password.require_lower,
            require_digit: e.password.require_digit,
            require_special: e.password.require_special,
            max_age_days: e.password.max_age_days,
            history: e.password.history,
            disallow_user_names: e.password.disallow_user_names,
            refuse_common: e.password.refuse_common,
        },
        lockout: EffectiveLockout {
            threshold: e.lockout.threshold,
            window_secs: e.lockout.window_secs,
            duration_secs: e.lockout.duration_secs,
        },
        mfa_protocols: e.mfa_protocols.iter().map(|p| (*p).into()).collect(),
        mfa_enforced_protocols: e
            .mfa_enforced_protocols
            .iter()
            .map(|p| (*p).into())
            .collect(),
        separator: e.separator.clone(),
        cache_enabled: e.cache_enabled,
        cache_ttl_secs: e.cache_ttl_secs,
    }
}

fn view_out(v: &PolicyView, names: &HashMap<GroupId, String>) -> Policy {
    Policy {
        local: local_out(&v.local, names),
        effective: effective_out(&v.effective),
        enforced_from_above: v
            .effective
            .enforced
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
    }
}

/// Names of the MFA groups, for those the caller may see.
fn mfa_group_names(
    d: &Directory,
    actor: &Actor,
    tenant: TenantId,
    p: &TenantPolicy,
) -> Result<HashMap<GroupId, String>, Problem> {
    let mut out = HashMap::new();
    for g in p.mfa_required_groups.iter().chain(&p.mfa_exempt_groups) {
        match d.groups().get(actor, tenant, *g) {
            Ok(group) => {
                out.insert(*g, group.name);
            }
            Err(Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn narrow<T: TryFrom<u32>>(field: &'static str, v: NumberSetting) -> Result<Setting<T>, Problem> {
    let value = v
        .value
        .map(|n| {
            T::try_from(n).map_err(|_| Problem::invalid(field, format!("{n} is out of range")))
        })
        .transpose()?;
    Ok(Setting {
        value,
        enforced: v.enforced,
    })
}

fn flag_in<T>(v: FlagSetting, wrap: impl Fn(bool) -> T) -> Setting<T> {
    Setting {
        value: v.value.map(wrap),
        enforced: v.enforced,
    }
}

/// The core's settings from the wire's; group names are resolved by the caller.
fn settings_in(s: PolicySettingsDto) -> Result<PolicySettings, Problem> {
    let p = s.password;
    let l = s.lockout;
    let min_length: Setting<u16> = narrow("password.min_length", p.min_length)?;
    let history: Setting<u8> = narrow("password.history", p.history)?;
    let threshold: Setting<u16> = narrow("lockout.threshold", l.threshold)?;
    let map = |s: Setting<u16>, f: fn(u16) -> LockThreshold| Setting {
        value: s.value.map(f),
        enforced: s.enforced,
    };
    Ok(PolicySettings {
        password: PasswordSettings {
            min_length: Setting {
                value: min_length.value.map(AtLeast),
                enforced: min_length.enforced,
            },
            require_upper: flag_in(p.require_upper, AtLeast),
            require_lower: flag_in(p.require_lower, AtLeast),
            require_digit: flag_in(p.require_digit, AtLeast),
            require_special: flag_in(p.require_special, AtLeast),
            max_age: Setting {
                value: p.max_age.value.map(|m| match m {
                    MaxAgeDto::Never => MaxAge::Never,
                    MaxAgeDto::Days(d) => MaxAge::Days(d),
                }),
                enforced: p.max_age.enforced,
            },
            history: Setting {
                value: history.value.map(AtLeast),
                enforced: history.enforced,
            },
            disallow_user_names: flag_in(p.disallow_user_names, AtLeast),
            refuse_common: flag_in(p.refuse_common, AtLeast),
        },
        lockout: LockoutSettings {
            threshold: map(threshold, LockThreshold),
            window_secs: Setting {
                value: l.window_secs.value.map(AtLeast),
                enforced: l.window_secs.enforced,
            },
            duration_secs: Setting {
                value: l.duration_secs.value.map(AtLeast),
                enforced: l.duration_secs.enforced,
            },
        },
        mfa: MfaSettings {
            protocols: Setting {
                value: s
                    .mfa
                    .protocols
                    .value
                    .map(|ps| ps.into_iter().map(Into::into).collect()),
                enforced: s.mfa.protocols.enforced,
            },
            separator: Setting {
                value: s.mfa.separator.value,
                enforced: false,
            },
        },
        cache: CacheSettings {
            enabled: flag_in(s.cache.enabled, AtMost),
            ttl_secs: Setting {
                value: s.cache.ttl_secs.value.map(AtMost),
                enforced: s.cache.ttl_secs.enforced,
            },
        },
    })
}

/// A group of the policy by name, or by id when the caller may not see it by name.
fn mfa_group(
    d: &Directory,
    actor: &Actor,
    tenant: TenantId,
    field: &'static str,
    s: &str,
) -> Result<GroupId, Problem> {
    match d.groups().by_name(actor, tenant, s) {
        Ok(g) => Ok(g.id),
        Err(Error::NotFound) => match s.parse::<GroupId>() {
            // The core checks the id names a group of the tenant.
            Ok(id) => Ok(id),
            Err(_) => Err(referenced(field, "such group")(Error::NotFound)),
        },
        Err(e) => Err(e.into()),
    }
}

/// A tenant's own settings beside what is in force and what is enforced from above
/// (Policies:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/policy",
    operation_id = "policies_get",
    tag = "policies",
    params(TenantPath),
    responses((status = 200, body = Policy), Problems)
)]
pub(crate) async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<Policy>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let v = d.policies().get(&actor, t.id)?;
        let names = mfa_group_names(d, &actor, t.id, &v.local)?;
        Ok(axum::Json(view_out(&v, &names)))
    })
    .await
}

/// Replaces a tenant's own settings (Policies:Write). Every value must be at least as strict
/// as what tenants above enforce (else `422 invalid` naming each setting).
#[utoipa::path(
    put,
    path = "/tenants/{slug}/policy",
    operation_id = "policies_set",
    tag = "policies",
    params(TenantPath),
    request_body = PolicySettingsDto,
    responses((status = 200, body = Policy), Problems)
)]
pub(crate) async fn set(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(body): Json<PolicySettingsDto>,
) -> Result<axum::Json<Policy>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let mut names = HashMap::new();
        let mut required = BTreeSet::new();
        for g in &body.mfa.required_groups {
            let id = mfa_group(d, &actor, t.id, "mfa.required_groups", g)?;
            names.insert(id, g.clone());
            required.insert(id);
        }
        let mut exempt = BTreeSet::new();
        for g in &body.mfa.exempt_groups {
            let id = mfa_group(d, &actor, t.id, "mfa.exempt_groups", g)?;
            names.insert(id, g.clone());
            exempt.insert(id);
        }
        let policy = TenantPolicy {
            settings: settings_in(body)?,
            mfa_required_groups: required,
            mfa_exempt_groups: exempt,
        };
        let v = d.policies().set(&actor, t.id, policy)?;
        Ok(axum::Json(view_out(&v, &names)))
    })
    .await
}
