//! The tenant entity of the MSP tree. It owns the record's shape and field checks; the tree
//! rules themselves (which kind holds which, slug syntax) live in `tessera_policy::tenant`.

use super::{validate, Status, TenantId};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use tessera_policy::{TenantKind, Timestamp};

/// A tenant: a distributor, MSP manager, MSP, managed MSP or customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// The tenant above it; `None` for the root.
    pub parent: Option<TenantId>,
    /// Its kind, fixed at creation.
    pub kind: TenantKind,
    /// Immutable, installation-wide unique short name (`[a-z0-9-]{1,63}`).
    pub slug: String,
    /// Human name.
    pub name: String,
    /// Its own status; a tenant is also unusable when an ancestor is suspended.
    pub status: Status,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What it takes to create a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    /// The slug (`[a-z0-9-]{1,63}`, unique in the installation).
    pub slug: String,
    /// The display name.
    pub name: String,
    /// The kind; it must be one the parent may hold.
    pub kind: TenantKind,
}

impl NewTenant {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        tessera_policy::tenant::validate_slug(&self.slug)
            .map_err(|e| validate::invalid("slug", e.to_string()))?;
        validate::display_name("name", &self.name, 200)
    }
}
