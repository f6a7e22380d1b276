//! Who is asking: the `Actor` every public operation takes. It owns the identity of a caller and
//! nothing else; deciding what an actor may do is `authz`'s job.

use crate::model::{TenantId, TokenId, TokenKind, UserId};
use std::net::IpAddr;
pub use tessera_policy::Protocol;
use tessera_policy::RightSet;

/// Whose authority a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The installation itself: bootstrap and internal work. Never built from a frontend's
    /// input.
    System,
    /// A user of a tenant, with that user's effective rights.
    User {
        /// The user's tenant.
        tenant: TenantId,
        /// The user.
        user: UserId,
    },
}

/// The caller of a directory operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actor {
    /// Whose authority.
    pub principal: Principal,
    /// Where the request came from, when known.
    pub source: Option<IpAddr>,
    /// Through which surface.
    pub protocol: Protocol,
    /// When acting through a token narrowed to some rights: at most these apply.
    pub limit: Option<RightSet>,
    /// The token the request came with, if any.
    pub token: Option<(TokenKind, TokenId)>,
}

impl Actor {
    /// The installation itself, for bootstrap and internal work. Frontends never build this from
    /// a request: they get user actors from authentication.
    pub const fn system() -> Self {
        Actor {
            principal: Principal::System,
            source: None,
            protocol: Protocol::Internal,
            limit: None,
            token: None,
        }
    }

    /// A user acting through `protocol` from `source`.
    pub const fn user(
        tenant: TenantId,
        user: UserId,
        source: Option<IpAddr>,
        protocol: Protocol,
    ) -> Self {
        Actor {
            principal: Principal::User { tenant, user },
            source,
            protocol,
            limit: None,
            token: None,
        }
    }

    /// Whether this is the system actor.
    pub fn is_system(&self) -> bool {
        self.principal == Principal::System
    }
}
