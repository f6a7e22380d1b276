//! Roles and assignments as stored. The rules — evaluation, propagation, no escalation — live in
//! `tessera_policy`; this module owns only the records and their field checks.

use super::{AssignmentId, GroupId, RoleId, TenantId, UserId};
use crate::error::Error;
use crate::model::validate;
use serde::{Deserialize, Serialize};
use tessera_policy::{RightSet, Timestamp};

/// The role a locked copy was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleSource {
    /// The tenant that defines the source role.
    pub tenant: TenantId,
    /// The source role.
    pub role: RoleId,
}

/// A named set of rights defined in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Its id.
    pub id: RoleId,
    /// The tenant that holds it.
    pub tenant: TenantId,
    /// Its name (≤ 100 characters), unique in the tenant case-insensitively.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The rights it gives.
    pub rights: RightSet,
    /// Whether it is copied, locked, into every descendant tenant.
    #[serde(default)]
    pub propagate: bool,
    /// Set on a locked copy: the role it copies. A locked copy cannot be edited where it is.
    #[serde(default)]
    pub source: Option<RoleSource>,
    /// One of the ten predefined roles (at the root): it cannot be changed or deleted.
    #[serde(default)]
    pub builtin: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Role {
    /// Whether this is a locked copy of a role of an ancestor.
    pub fn is_locked(&self) -> bool {
        self.source.is_some()
    }
}

/// What it takes to define a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRole {
    /// The name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The rights.
    pub rights: RightSet,
    /// Copy it into every descendant.
    #[serde(default)]
    pub propagate: bool,
}

impl NewRole {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        check_name(&self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        Ok(())
    }
}

pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    tessera_policy::roles::validate_role_name(name)
        .map_err(|e| validate::invalid("name", e.to_string()))
}

/// A change to a role; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolePatch {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New rights.
    pub rights: Option<RightSet>,
    /// Switch propagation on or off.
    pub propagate: Option<bool>,
}

impl RolePatch {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(n) = &self.name {
            check_name(n)?;
        }
        if let Some(Some(d)) = &self.description {
            validate::text("description", d, 1024)?;
        }
        Ok(())
    }
}

/// Who an assignment is given to: a user or a group of the scope tenant or of an ancestor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Subject {
    /// A user.
    User {
        /// The user's tenant.
        tenant: TenantId,
        /// The user.
        id: UserId,
    },
    /// A group: the assignment reaches every member, transitively.
    Group {
        /// The group's tenant.
        tenant: TenantId,
        /// The group.
        id: GroupId,
    },
}

impl Subject {
    /// The subject's tenant.
    pub fn tenant(&self) -> TenantId {
        match self {
            Subject::User { tenant, .. } | Subject::Group { tenant, .. } => *tenant,
        }
    }
}

/// Rights and roles given to a subject at a scope tenant (covering its whole subtree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Its id.
    pub id: AssignmentId,
    /// The scope tenant.
    pub scope: TenantId,
    /// Who receives it.
    pub subject: Subject,
    /// Rights given directly.
    #[serde(default)]
    pub rights: RightSet,
    /// Roles of the scope tenant given.
    #[serde(default)]
    pub roles: Vec<RoleId>,
    /// When it stops counting, if ever.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// What it takes to make an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAssignment {
    /// Who receives it.
    pub subject: Subject,
    /// Rights given directly.
    #[serde(default)]
    pub rights: RightSet,
    /// Roles of the scope tenant given.
    #[serde(default)]
    pub roles: Vec<RoleId>,
    /// When it stops counting, if ever.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}
