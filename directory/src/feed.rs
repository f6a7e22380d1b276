//! The change feed as the rest of Tessera sees it: which entities of which tenant changed in
//! each commit, in commit order. Followers (another node's caches, LDAP sync, SCIM push) read it
//! from a sequence number on. It translates store keys into entity kinds; it must not expose
//! keys or values.

use crate::error::Error;
use crate::model::TenantId;
use crate::store::keys::{table, Namespace};
use crate::store::ChangeKind;
use crate::Directory;
use serde::Serialize;

/// What kind of entity a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A tenant record.
    Tenant,
    /// A user.
    User,
    /// A group.
    Group,
    /// A membership edge.
    Membership,
    /// An application.
    Application,
    /// A role.
    Role,
    /// An assignment.
    Assignment,
    /// An audit event.
    Audit,
}

/// One entity changed by a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChangeEvent {
    /// The commit's sequence number (increasing).
    pub seq: u64,
    /// The tenant whose data changed.
    pub tenant: TenantId,
    /// What changed.
    pub entity: EntityKind,
    /// Whether it was removed.
    pub deleted: bool,
}

fn kind_of(table_byte: u8) -> Option<EntityKind> {
    Some(match table_byte {
        table::TENANT => EntityKind::Tenant,
        table::USER => EntityKind::User,
        table::GROUP => EntityKind::Group,
        table::MEMBER => EntityKind::Membership,
        table::APP => EntityKind::Application,
        table::ROLE => EntityKind::Role,
        table::ASSIGNMENT => EntityKind::Assignment,
        table::AUDIT => EntityKind::Audit,
        _ => return None, // indexes, counters and markers follow their entity
    })
}

impl Directory {
    /// Entity changes of the commits after `after`, oldest first, from at most `limit` commits.
    /// Internal consumers only (no actor): what changed, never the data itself.
    pub fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<ChangeEvent>, Error> {
        let mut out = Vec::new();
        for rec in self.store().changes_since(after, limit)? {
            for (k, kind) in rec.changes {
                let Some(Namespace::Tenant(tenant)) = k.namespace() else {
                    continue;
                };
                let Some(entity) = k.as_bytes().get(17).copied().and_then(kind_of) else {
                    continue;
                };
                out.push(ChangeEvent {
                    seq: rec.seq,
                    tenant,
                    entity,
                    deleted: kind == ChangeKind::Delete,
                });
            }
        }
        Ok(out)
    }

    /// The sequence number of the last commit.
    pub fn last_change(&self) -> Result<u64, Error> {
        self.store().last_seq()
    }

    /// Forgets change-feed records up to and including `upto` (followers past it are
    /// unaffected). Returns how many commits were forgotten.
    pub fn trim_changes(&self, upto: u64) -> Result<usize, Error> {
        self.store().trim_changes(upto)
    }
}
