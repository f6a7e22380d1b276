//! The entities of the directory and the rules every value must meet before it is stored. This
//! module owns shapes and validation; it must not touch the store or decide authorisation.

mod application;
mod audit;
pub(crate) mod credentials;
mod group;
mod ids;
mod radius;
mod rbac;
mod saml;
mod tenant;
pub(crate) mod token;
mod user;
pub(crate) mod validate;

pub use application::{
    AcsUrl, AppKind, Application, ApplicationPatch, LdapService, NameIdFormat, NewApplication,
    RadiusClient, ReplyAttribute, SamlServiceProvider, SharedSecret,
};
pub use audit::{AuditEvent, AuditKind, AuditPage, AuditQuery};
pub use credentials::{CredentialStatus, PolicyView, TenantPolicy, TotpStatus};
pub use group::{
    Group, GroupAttributes, GroupPatch, Member, NamedMember, NewGroup, RadiusAttributes,
};
pub use ids::{AppId, AssignmentId, EventId, GroupId, RoleId, TenantId, TokenId, UserId};
pub use radius::{
    AccountingReport, AccountingStatus, EapCertificate, EapCertificateSource, EapKey, EapKeyFormat,
    EapPrivateKey, NasClient, NewEapCertificate, RadiusSession,
};
pub use rbac::{Assignment, NewAssignment, NewRole, Role, RolePatch, RoleSource, Subject};
pub use saml::{
    IdpKey, IdpKeyInfo, IdpKeyState, NewIdpKey, SecretBytes, SessionLimits, SessionSecret,
    SpOptions, SsoSession,
};
pub use tenant::{NewTenant, Tenant};
pub use token::{IssuedToken, NewToken, Token, TokenKind, TokenSecret};
pub use user::{NewPosix, NewUser, Posix, User, UserKind, UserPatch};

use serde::{Deserialize, Serialize};

/// Whether an account or a tenant may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In use.
    #[default]
    Active,
    /// Kept, but every authentication through it is refused.
    Suspended,
}

/// One page of a listing and the cursor of the next, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Pass this back as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// How much of a listing to return.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    /// Continue after this cursor (from [`Page::next`]).
    pub after: Option<String>,
    /// At most this many items (default 100, at most 1000).
    pub limit: Option<usize>,
    /// Only names starting with this prefix (case-insensitive).
    pub prefix: Option<String>,
}

impl ListQuery {
    /// The default and the maximum page size.
    pub const DEFAULT_LIMIT: usize = 100;
    /// The largest page.
    pub const MAX_LIMIT: usize = 1000;

    pub(crate) fn limit(&self) -> usize {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }
}
