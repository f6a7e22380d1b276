//! Typed identifiers of every entity. They are the only things store keys are built from, so a
//! user id can never stand where a group id belongs. Ids are random UUIDs from the injected
//! `IdSource`; this module must not generate them itself.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(u: Uuid) -> Self {
                $name(u)
            }

            /// The UUID inside.
            pub const fn uuid(&self) -> Uuid {
                self.0
            }

            /// The 16 bytes used in store keys.
            pub(crate) const fn key_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            #[allow(dead_code)] // not every id is read back from a key
            pub(crate) fn from_key_bytes(b: &[u8]) -> Option<Self> {
                Uuid::from_slice(b).ok().map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, ":{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

typed_id!(
    /// A tenant of the tree.
    TenantId,
    "tenant"
);
typed_id!(
    /// A user (person or service account), within its tenant.
    UserId,
    "user"
);
typed_id!(
    /// A security group, within its tenant.
    GroupId,
    "group"
);
typed_id!(
    /// An application (LDAP service, RADIUS client, SAML SP), within its tenant.
    AppId,
    "app"
);
typed_id!(
    /// A role, within the tenant that defines (or holds a copy of) it.
    RoleId,
    "role"
);
typed_id!(
    /// An assignment of rights and roles, within its scope tenant.
    AssignmentId,
    "assignment"
);
typed_id!(
    /// An audit event.
    EventId,
    "event"
);
typed_id!(
    /// An API token.
    TokenId,
    "token"
);
