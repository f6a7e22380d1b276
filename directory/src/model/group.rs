//! The security-group entity: nested groups of a tenant with per-protocol attributes (such as the
//! RADIUS VLAN a member is put on). It owns the record's shape and field checks; membership
//! edges and their closure are kept by the groups service and `tessera_policy::graph`.

use super::{validate, GroupId, TenantId, UserId};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use tessera_policy::Timestamp;

/// A RADIUS reply attribute by dictionary name, e.g. `Filter-Id` = `staff`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplyAttribute {
    /// The attribute's dictionary name.
    pub name: String,
    /// Its value, as text.
    pub value: String,
}

impl ReplyAttribute {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let ok_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':');
        if !ok_name {
            return Err(validate::invalid(
                "reply",
                format!("{:?} is not a RADIUS attribute name", self.name),
            ));
        }
        validate::text("reply", &self.value, 253)
    }
}

/// What RADIUS sends back for members of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RadiusAttributes {
    /// The VLAN (1–4094) members are put on: Tunnel-Type=VLAN, Tunnel-Medium-Type=IEEE-802,
    /// Tunnel-Private-Group-Id.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Further reply attributes.
    #[serde(default)]
    pub reply: Vec<ReplyAttribute>,
}

/// Per-protocol attributes of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GroupAttributes {
    /// For RADIUS replies.
    #[serde(default)]
    pub radius: RadiusAttributes,
}

impl GroupAttributes {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(v) = self.radius.vlan {
            if !(1..=4094).contains(&v) {
                return Err(validate::invalid("vlan", "a VLAN id from 1 to 4094"));
            }
        }
        if self.radius.reply.len() > 32 {
            return Err(validate::invalid("reply", "at most 32 reply attributes"));
        }
        self.radius
            .reply
            .iter()
            .try_for_each(ReplyAttribute::validate)
    }
}

/// A security group of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// Its name, unique in the tenant case-insensitively.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// gidNumber, unique in the tenant, allocated from the tenant's counter.
    pub gid_number: u32,
    /// Per-protocol attributes.
    #[serde(default)]
    pub attributes: GroupAttributes,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What it takes to create a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewGroup {
    /// The name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// A fixed gidNumber, or `None` to allocate one.
    #[serde(default)]
    pub gid_number: Option<u32>,
    /// Per-protocol attributes.
    #[serde(default)]
    pub attributes: GroupAttributes,
}

impl NewGroup {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        validate::group_name(&self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, 1024)?;
        }
        if let Some(g) = self.gid_number {
            super::user::check_posix_id("gid_number", g)?;
        }
        self.attributes.validate()
    }
}

/// A change to a group; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupPatch {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New per-protocol attributes.
    pub attributes: Option<GroupAttributes>,
}

impl GroupPatch {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(n) = &self.name {
            validate::group_name(n)?;
        }
        if let Some(Some(d)) = &self.description {
            validate::text("description", d, 1024)?;
        }
        if let Some(a) = &self.attributes {
            a.validate()?;
        }
        Ok(())
    }
}

/// A member of a group with its name (username or group name), as member lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedMember {
    /// The member.
    pub member: Member,
    /// Its username or group name.
    pub name: String,
}

/// A direct member of a group: a user or another group of the same tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Member {
    /// A user.
    User(UserId),
    /// A nested group.
    Group(GroupId),
}
