//! Credentials and policies as stored and as shown. The stored credential record (password
//! hash and history, sealed TOTP seed) never leaves the crate; callers see `CredentialStatus`.
//! The rules live in `tessera_policy`; this module owns only the shapes.

use super::{GroupId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tessera_policy::settings::{EffectivePolicy, PolicySettings};
use tessera_policy::Timestamp;

/// A user's password: an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordCredential {
    pub(crate) phc: String,
    pub(crate) set_at: Timestamp,
    /// Earlier hashes, newest first, as many as the history policy asks for.
    #[serde(default)]
    pub(crate) history: Vec<String>,
    /// Set by an administrator's reset: the user must change it at next login.
    #[serde(default)]
    pub(crate) must_change: bool,
}

/// A user's TOTP seed, sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TotpCredential {
    /// base64 of the sealed seed.
    pub(crate) sealed_seed: String,
    /// Whether the user proved possession with a first code.
    pub(crate) confirmed: bool,
    /// The last time step accepted: each step is accepted at most once.
    #[serde(default)]
    pub(crate) last_step: Option<u64>,
    pub(crate) enrolled_at: Timestamp,
}

/// Everything a user authenticates with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    pub(crate) password: Option<PasswordCredential>,
    #[serde(default)]
    pub(crate) totp: Option<TotpCredential>,
}

/// Where a user stands with TOTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TotpStatus {
    /// No seed.
    None,
    /// Enrolled, waiting for the first code.
    Pending,
    /// In use.
    Active,
}

/// What an administrator (or the user) may know about a user's credentials: never the secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialStatus {
    /// The user.
    pub user: UserId,
    /// Whether a password is set.
    pub has_password: bool,
    /// When it was set.
    pub password_set_at: Option<Timestamp>,
    /// When it expires under the tenant's policy, if it does.
    pub password_expires_at: Option<Timestamp>,
    /// Whether the user must change it at next login.
    pub must_change: bool,
    /// Until when the account is locked, if it is.
    pub locked_until: Option<Timestamp>,
    /// Recent failed attempts counted towards the lockout.
    pub recent_failures: usize,
    /// TOTP state.
    pub totp: TotpStatus,
}

/// A tenant's own policy settings, with its MFA group lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPolicy {
    /// Password, lockout, MFA and cache settings (each inherited unless set).
    #[serde(default)]
    pub settings: PolicySettings,
    /// TOTP is required only for members of these groups (empty: everyone).
    #[serde(default)]
    pub mfa_required_groups: BTreeSet<GroupId>,
    /// Members of these groups are exempt (not on protocols enforced from above).
    #[serde(default)]
    pub mfa_exempt_groups: BTreeSet<GroupId>,
}

/// A tenant's policies as the console shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyView {
    /// What the tenant itself sets.
    pub local: TenantPolicy,
    /// What is in force, inheritance and enforcement applied; `effective.enforced` names the
    /// settings enforced from above.
    pub effective: EffectivePolicy,
}
