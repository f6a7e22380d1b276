//! The one error type of the directory's public API. Every frontend maps it, exhaustively, to its
//! wire codes. Storage and codec errors are converted where they arise into opaque variants; no
//! third-party error type leaks through.

use tessera_policy::rbac::Escalation;
use tessera_policy::TenantKind;

/// What went wrong in a directory operation.
///
/// Deliberately not `#[non_exhaustive]`: every frontend keeps one exhaustive mapping of these
/// variants to its wire codes, and a new variant must fail their build until it is mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The object does not exist, or the actor may not see it: the two are deliberately
    /// indistinguishable.
    #[error("not found")]
    NotFound,
    /// The actor may see the object but lacks the right to do this.
    #[error("permission denied")]
    Forbidden,
    /// The change would give away rights the actor does not hold.
    #[error(transparent)]
    Escalation(#[from] Escalation),
    /// A field's value is not acceptable.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why, in words a user can act on.
        reason: String,
    },
    /// Something unique is already taken (a username, a slug, a name).
    #[error("{what} is already taken")]
    AlreadyExists {
        /// What is taken, e.g. `username`.
        what: &'static str,
    },
    /// The parent's kind may not hold a child of this kind.
    #[error("a {parent} tenant cannot hold a {child} tenant")]
    KindNotAllowed {
        /// The parent's kind.
        parent: TenantKind,
        /// The requested kind.
        child: TenantKind,
    },
    /// The tenant still holds something and cannot be deleted.
    #[error("the tenant still has {what}")]
    NotEmpty {
        /// What is left, e.g. `users`.
        what: &'static str,
    },
    /// The membership would put a group inside itself.
    #[error("a group cannot contain itself, directly or through other groups")]
    Cycle,
    /// The role is a locked copy or a predefined role and cannot be changed here.
    #[error("the role is locked: change it where it is defined")]
    Locked,
    /// The operation is not allowed in the current state (e.g. suspending the root).
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// The installation already has a root tenant (bootstrap ran before).
    #[error("the directory is already initialised")]
    AlreadyInitialised,
    /// The same data kept changing under the operation; it was not applied. Retry.
    #[error("concurrent changes: try again")]
    Conflict,
    /// A stored record could not be read; nothing was changed.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The new password breaks the tenant's password policy; every problem is listed.
    #[error("the password does not meet the policy: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    WeakPassword(Vec<tessera_policy::password::PasswordProblem>),
    /// The token is unknown, expired, revoked, or its user can no longer act.
    #[error("not authenticated")]
    Unauthenticated,
    /// A password or code given to prove who the caller is was wrong.
    #[error("the current password or code is wrong")]
    WrongCredentials,
    /// The password-hashing pool is saturated for this tenant; nothing was changed. Retry.
    #[error("busy: try again shortly")]
    Busy,
    /// The master key is missing, malformed, or not the one this store was created with.
    #[error("master key: {0}")]
    MasterKey(String),
    /// Writing an export to the caller's output failed (the directory itself is fine).
    #[error("writing the export failed: {0}")]
    Output(String),
    /// The storage backend failed; nothing was acknowledged.
    #[error("storage failure: {0}")]
    Storage(String),
}
