//! The groups service: creating, reading, listing, changing and deleting the security groups of
//! a tenant, and their memberships (users and nested groups, cycles refused). Membership edges
//! are stored both ways in one transaction and every change bumps the tenant's membership marker,
//! which keeps the cached closures of `cache::TenantGraph` exact.

use super::{allocate_posix_id, must, page_by_name, tenant_in};
use crate::actor::Actor;
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::{
    Application, Group, GroupId, GroupPatch, ListQuery, Member, NamedMember, NewGroup, Page,
    Subject, TenantId, User,
};
use crate::store::codec::Unit;
use crate::store::keys::{self, fold, Marker};
use crate::store::records::{NameOf, Ptr};
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use std::sync::Arc;
use tessera_policy::{Area, Right};

/// Groups and memberships. Obtain with [`Directory::groups`].
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a> {
    dir: &'a Directory,
}

/// Adds the edge "`member` is a direct member of `group`" (both directions).
pub(crate) fn add_edge(
    tx: &mut Txn<'_>,
    tenant: TenantId,
    group: GroupId,
    member: &Member,
) -> Result<(), Error> {
    tx.touch(keys::member(tenant, group, member))?;
    tx.touch(keys::member_of(tenant, member, group))?;
    tx.touch(keys::marker(tenant, Marker::Membership))
}

/// Removes every edge that has `member` on either side.
pub(crate) fn remove_all_edges_of(
    tx: &mut Txn<'_>,
    tenant: TenantId,
    member: &Member,
) -> Result<(), Error> {
    let up = keys::memberships_of(tenant, member);
    let rows: Vec<(_, Unit)> = tx.scan(&KeyRange::prefix(&up), usize::MAX)?;
    let mut changed = !rows.is_empty();
    for (k, _) in rows {
        let g = k
            .tail(&up)
            .and_then(GroupId::from_key_bytes)
            .ok_or_else(|| Error::Corrupt("membership key".into()))?;
        tx.delete(keys::member(tenant, g, member));
        tx.delete(k);
    }
    if let Member::Group(g) = member {
        let down = keys::members(tenant, *g);
        let rows: Vec<(_, Unit)> = tx.scan(&KeyRange::prefix(&down), usize::MAX)?;
        changed |= !rows.is_empty();
        for (k, _) in rows {
            let m = k
                .tail(&down)
                .and_then(keys::decode_member)
                .ok_or_else(|| Error::Corrupt("membership key".into()))?;
            tx.delete(keys::member_of(tenant, &m, *g));
            tx.delete(k);
        }
    }
    if changed {
        tx.touch(keys::marker(tenant, Marker::Membership))?;
    }
    Ok(())
}

impl<'a> Groups<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Groups { dir }
    }

    /// Creates a group (Groups:Write). It gets a gidNumber from the tenant's counter unless one
    /// is given.
    pub fn create(&self, actor: &Actor, tenant: TenantId, new: NewGroup) -> Result<Group, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Write)?;
        new.validate()?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let name_key = keys::group_by_name(tenant, &new.name);
            if tx.exists(&name_key)? {
                return Err(Error::AlreadyExists { what: "group name" });
            }
            let gid = match new.gid_number {
                Some(g) => {
                    if tx.exists(&keys::group_by_gid(tenant, g))? {
                        return Err(Error::AlreadyExists { what: "gid_number" });
                    }
                    g
                }
                None => allocate_posix_id(tx, tenant)?,
            };
            let now = tx.now();
            let g = Group {
                id: GroupId::from_uuid(dir.ids().uuid()),
                tenant,
                name: new.name.clone(),
                description: new.description.clone(),
                gid_number: gid,
                attributes: new.attributes.clone(),
                created_at: now,
                updated_at: now,
            };
            tx.put(name_key, &Ptr { id: g.id })?;
            tx.put(keys::group_by_gid(tenant, gid), &Ptr { id: g.id })?;
            tx.put(keys::group(tenant, g.id), &g)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "group.create",
                    target: format!("group:{}", g.name),
                    before: None,
                    after: summary(&g),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(g)
        })
    }

    /// A group (Groups:Read).
    pub fn get(&self, actor: &Actor, tenant: TenantId, id: GroupId) -> Result<Group, Error> {
        self.dir.require(actor, tenant, Area::Groups, Right::Read)?;
        self.dir.txn(|tx| must(tx, &keys::group(tenant, id)))
    }

    /// A group by name, case-insensitively (Groups:Read).
    pub fn by_name(&self, actor: &Actor, tenant: TenantId, name: &str) -> Result<Group, Error> {
        self.dir.require(actor, tenant, Area::Groups, Right::Read)?;
        self.dir.txn(|tx| {
            let id = must::<Ptr<GroupId>>(tx, &keys::group_by_name(tenant, name))?.id;
            must(tx, &keys::group(tenant, id))
        })
    }

    /// The group with POSIX gidNumber `n` (Groups:Read).
    pub fn by_gid(&self, actor: &Actor, tenant: TenantId, n: u32) -> Result<Group, Error> {
        self.dir.require(actor, tenant, Area::Groups, Right::Read)?;
        self.dir.txn(|tx| {
            let id = must::<Ptr<GroupId>>(tx, &keys::group_by_gid(tenant, n))?.id;
            must(tx, &keys::group(tenant, id))
        })
    }

    /// A page of a tenant's groups in name order (Groups:Read).
    pub fn list(
        &self,
        actor: &Actor,
        tenant: TenantId,
        q: &ListQuery,
    ) -> Result<Page<Group>, Error> {
        self.dir.require(actor, tenant, Area::Groups, Right::Read)?;
        self.dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            page_by_name(tx, &keys::group_names(tenant), q, |tx, id: GroupId| {
                must(tx, &keys::group(tenant, id))
            })
        })
    }

    /// Changes a group (Groups:Write).
    pub fn update(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: GroupId,
        patch: GroupPatch,
    ) -> Result<Group, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Write)?;
        patch.validate()?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before: Group = must(tx, &keys::group(tenant, id))?;
            let mut g = before.clone();
            if let Some(n) = &patch.name {
                if fold(n) != fold(&before.name) {
                    let k = keys::group_by_name(tenant, n);
                    if tx.exists(&k)? {
                        return Err(Error::AlreadyExists { what: "group name" });
                    }
                    tx.delete(keys::group_by_name(tenant, &before.name));
                    tx.put(k, &Ptr { id })?;
                }
                if *n != before.name {
                    tx.touch(keys::marker(tenant, Marker::Names))?;
                }
                g.name = n.clone();
            }
            if let Some(d) = &patch.description {
                g.description = d.clone();
            }
            if let Some(a) = &patch.attributes {
                g.attributes = a.clone();
            }
            g.updated_at = tx.now();
            tx.put(keys::group(tenant, id), &g)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "group.update",
                    target: format!("group:{}", g.name),
                    before: summary(&before),
                    after: summary(&g),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(g)
        })
    }

    /// Deletes a group (Groups:Write): its memberships both ways, its application bindings and
    /// the assignments given to it go with it; its members stay.
    pub fn delete(&self, actor: &Actor, tenant: TenantId, id: GroupId) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Write)?;
        dir.require_membership_change(actor, tenant, id)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let g: Group = must(tx, &keys::group(tenant, id))?;
            remove_all_edges_of(tx, tenant, &Member::Group(id))?;
            let apps: Vec<(_, Application)> =
                tx.scan(&KeyRange::prefix(&keys::apps(tenant)), usize::MAX)?;
            for (k, mut a) in apps {
                if a.bound_groups.remove(&id) {
                    a.updated_at = tx.now();
                    tx.put(k, &a)?;
                }
            }
            crate::service::rbac::drop_assignments_of(tx, &Subject::Group { tenant, id })?;
            tx.delete(keys::group_by_name(tenant, &g.name));
            tx.delete(keys::group_by_gid(tenant, g.gid_number));
            tx.delete(keys::group(tenant, id));
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "group.delete",
                    target: format!("group:{}", g.name),
                    before: summary(&g),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(())
        })
    }

    /// Makes a user or group of the same tenant a direct member (Groups:Write). A group that
    /// would end up inside itself is refused with [`Error::Cycle`].
    pub fn add_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        member: Member,
    ) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Write)?;
        dir.require_membership_change(actor, tenant, group)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let g: Group = must(tx, &keys::group(tenant, group))?;
            let target = member_target(tx, tenant, &member)?;
            if tx.exists(&keys::member(tenant, group, &member))? {
                return Err(Error::AlreadyExists { what: "membership" });
            }
            if let Member::Group(m) = member {
                let v = tx.version(&keys::marker(tenant, Marker::Membership))?;
                let graph = dir.cache().graph_at(dir.store(), tenant, v)?;
                if graph.would_cycle(m, group) {
                    return Err(Error::Cycle);
                }
            }
            add_edge(tx, tenant, group, &member)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "group.add_member",
                    target: format!("group:{}", g.name),
                    before: None,
                    after: Some(serde_json::json!({ "member": target })),
                    actor,
                    actor_name: &actor_name,
                },
            )
        })
    }

    /// Removes a direct member (Groups:Write); `NotFound` when it is not one.
    pub fn remove_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        member: Member,
    ) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Write)?;
        dir.require_membership_change(actor, tenant, group)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let g: Group = must(tx, &keys::group(tenant, group))?;
            let edge = keys::member(tenant, group, &member);
            if !tx.exists(&edge)? {
                return Err(Error::NotFound);
            }
            let target = member_target(tx, tenant, &member)?;
            tx.delete(edge);
            tx.delete(keys::member_of(tenant, &member, group));
            tx.touch(keys::marker(tenant, Marker::Membership))?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "group.remove_member",
                    target: format!("group:{}", g.name),
                    before: Some(serde_json::json!({ "member": target })),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )
        })
    }

    /// The members of a group — direct ones, or everything inside it through nesting
    /// (Groups:Read). Users first, then groups, each in id order.
    pub fn members(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        transitive: bool,
    ) -> Result<Vec<Member>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Read)?;
        dir.txn(|tx| must::<Group>(tx, &keys::group(tenant, group)))?;
        Ok(dir
            .cache()
            .graph(dir.store(), tenant)?
            .members(group, transitive))
    }

    /// The members of a group with their names — directly, or also through nesting — in
    /// [`Member`] order (Groups:Read and Users:Read: the names of users are shown). Names come
    /// from a cache that every rename invalidates, so a big group costs no record read per
    /// member once its names were seen, and the finished list is shared until a rename or a
    /// membership change.
    pub fn member_names(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        transitive: bool,
    ) -> Result<Arc<[NamedMember]>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Read)?;
        dir.require(actor, tenant, Area::Users, Right::Read)?;
        // The names label is read before any record, so what the table learns is at least as
        // new as its label.
        let names = dir.cache().names(dir.store(), tenant)?;
        let graph = dir.cache().graph(dir.store(), tenant)?;
        // The group itself: another tenant's, or a deleted one, is missing (its presence is
        // enough: no need to decode it).
        if !dir.txn(|tx| tx.exists(&keys::group(tenant, group)))? {
            return Err(Error::NotFound);
        }
        if let Some(list) = names.list(group, transitive, graph.version()) {
            return Ok(list);
        }
        let members = graph.members(group, transitive);
        let mut missing = Vec::new();
        let mut out = names.lookup(members, &mut missing);
        let read = dir.txn(|tx| {
            let mut read = Vec::with_capacity(missing.len());
            for m in &missing {
                let key = match m {
                    Member::User(u) => keys::user(tenant, *u),
                    Member::Group(g) => keys::group(tenant, *g),
                };
                let name = tx.get::<NameOf>(&key)?.map(|x| x.name);
                if let Some(n) = name {
                    read.push((*m, n));
                }
            }
            Ok(read)
        })?;
        if !read.is_empty() {
            names.remember(&read);
            out.extend(read);
            out.sort_by_key(|a| a.0);
        }
        let list: Arc<[NamedMember]> = out
            .into_iter()
            .map(|(member, name)| NamedMember { member, name })
            .collect();
        names.keep_list(group, transitive, graph.version(), list.clone());
        Ok(list)
    }

    /// The groups a group is in — directly, or also through nesting — by name (Groups:Read).
    pub fn groups_of(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        transitive: bool,
    ) -> Result<Vec<Group>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Groups, Right::Read)?;
        let ids: Vec<GroupId> = if transitive {
            dir.cache()
                .graph(dir.store(), tenant)?
                .groups_of_group(group)
                .into_iter()
                .collect()
        } else {
            let p = keys::memberships_of(tenant, &Member::Group(group));
            let rows: Vec<(_, Unit)> = dir.txn(|tx| tx.scan(&KeyRange::prefix(&p), usize::MAX))?;
            rows.iter()
                .filter_map(|(k, _)| k.tail(&p).and_then(GroupId::from_key_bytes))
                .collect()
        };
        let mut out: Vec<Group> = dir.txn(|tx| {
            must::<Group>(tx, &keys::group(tenant, group))?;
            ids.iter()
                .map(|g| must(tx, &keys::group(tenant, *g)))
                .collect()
        })?;
        out.sort_by_key(|g| fold(&g.name));
        Ok(out)
    }
}

/// Checks that a member exists in the tenant and names it for the audit log.
fn member_target(tx: &mut Txn<'_>, tenant: TenantId, member: &Member) -> Result<String, Error> {
    Ok(match member {
        Member::User(u) => format!(
            "user:{}",
            must::<User>(tx, &keys::user(tenant, *u))?.username
        ),
        Member::Group(g) => format!(
            "group:{}",
            must::<Group>(tx, &keys::group(tenant, *g))?.name
        ),
    })
}
