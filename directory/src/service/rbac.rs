//! Roles and assignments: defining, editing and deleting roles with propagation of locked
//! copies down the tree, making and revoking assignments, and reading effective rights. Every
//! grant passes the no-escalation rule of `tessera_policy::rbac::check_grant`; propagation is
//! planned by `tessera_policy::roles` and only applied here.

use super::{must, tenant_in};
use crate::actor::Actor;
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::{
    Assignment, AssignmentId, Group, NewAssignment, NewRole, Role, RoleId, RolePatch, RoleSource,
    Subject, TenantId, User, UserId,
};
use crate::store::keys::{self, Marker};
use crate::store::records::Ptr;
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use std::collections::HashMap;
use tessera_policy::rbac::check_grant;
use tessera_policy::roles::{plan_detach, plan_sync, Change as RoleChange, RoleView};
use tessera_policy::{Area, Right, RightSet};

/// Roles, assignments and effective rights. Obtain with [`Directory::rbac`].
#[derive(Debug, Clone, Copy)]
pub struct Rbac<'a> {
    dir: &'a Directory,
}

pub(crate) type View = RoleView<TenantId, RoleSource>;

/// How the propagation planner sees a stored role.
pub(crate) fn role_view(r: &Role) -> View {
    RoleView {
        id: RoleSource {
            tenant: r.tenant,
            role: r.id,
        },
        tenant: r.tenant,
        name: r.name.clone(),
        rights: r.rights,
        propagate: r.propagate,
        source: r.source,
    }
}

/// Applies the planner's changes to the store.
pub(crate) fn apply_role_changes(
    dir: &Directory,
    tx: &mut Txn<'_>,
    changes: Vec<RoleChange<TenantId, RoleSource>>,
) -> Result<(), Error> {
    for c in changes {
        match c {
            RoleChange::CreateCopy {
                tenant,
                source,
                name,
                rights,
            } => {
                let now = tx.now();
                let copy = Role {
                    id: RoleId::from_uuid(dir.ids().uuid()),
                    tenant,
                    name,
                    description: None,
                    rights,
                    propagate: false,
                    source: Some(source),
                    builtin: false,
                    created_at: now,
                    updated_at: now,
                };
                let name_key = keys::role_by_name(tenant, &copy.name);
                if tx.exists(&name_key)? {
                    return Err(Error::Conflict);
                }
                tx.put(name_key, &Ptr { id: copy.id })?;
                tx.touch(keys::role_copy(source.tenant, source.role, tenant, copy.id))?;
                tx.put(keys::role(tenant, copy.id), &copy)?;
                tx.touch(keys::marker(tenant, Marker::Rbac))?;
            }
            RoleChange::UpdateCopy {
                tenant,
                copy,
                name,
                rights,
            } => {
                let mut r: Role = must(tx, &keys::role(tenant, copy.role))?;
                if r.name != name {
                    tx.delete(keys::role_by_name(tenant, &r.name));
                    let name_key = keys::role_by_name(tenant, &name);
                    if tx.exists(&name_key)? {
                        return Err(Error::Conflict);
                    }
                    tx.put(name_key, &Ptr { id: r.id })?;
                    r.name = name;
                }
                r.rights = rights;
                r.updated_at = tx.now();
                tx.put(keys::role(tenant, r.id), &r)?;
                tx.touch(keys::marker(tenant, Marker::Rbac))?;
            }
            RoleChange::Detach { tenant, copy } => {
                let mut r: Role = must(tx, &keys::role(tenant, copy.role))?;
                if let Some(src) = r.source.take() {
                    tx.delete(keys::role_copy(src.tenant, src.role, tenant, r.id));
                }
                r.updated_at = tx.now();
                tx.put(keys::role(tenant, r.id), &r)?;
                tx.touch(keys::marker(tenant, Marker::Rbac))?;
            }
        }
    }
    Ok(())
}

/// Brings every descendant's copy of `source` in line (source must propagate).
fn sync_copies(dir: &Directory, tx: &mut Txn<'_>, source: &Role) -> Result<(), Error> {
    let tree_v = tx.version(&keys::tree_marker())?;
    let tree = dir.cache().tree_at(dir.store(), tree_v)?;
    let descendants = tree.descendants(source.tenant);
    let mut views: HashMap<TenantId, Vec<View>> = HashMap::new();
    for d in &descendants {
        let roles: Vec<(_, Role)> = tx.scan(&KeyRange::prefix(&keys::roles(*d)), usize::MAX)?;
        views.insert(*d, roles.iter().map(|(_, r)| role_view(r)).collect());
    }
    let empty = Vec::new();
    let changes = plan_sync(&role_view(source), &descendants, |d| {
        views.get(d).unwrap_or(&empty).iter()
    });
    apply_role_changes(dir, tx, changes)
}

/// Turns every copy of `source` into an independent role.
fn detach_copies(dir: &Directory, tx: &mut Txn<'_>, source: &Role) -> Result<(), Error> {
    let prefix = keys::role_copies(source.tenant, source.id);
    let entries: Vec<(_, crate::store::codec::Unit)> =
        tx.scan(&KeyRange::prefix(&prefix), usize::MAX)?;
    let mut copies = Vec::new();
    for (k, _) in entries {
        let Some(tail) = k.tail(&prefix) else {
            continue;
        };
        let (t, r) = tail
            .split_at_checked(16)
            .ok_or_else(|| Error::Corrupt("role copy key".into()))?;
        let (Some(t), Some(r)) = (TenantId::from_key_bytes(t), RoleId::from_key_bytes(r)) else {
            return Err(Error::Corrupt("role copy key".into()));
        };
        if let Some(role) = tx.get::<Role>(&keys::role(t, r))? {
            copies.push(role_view(&role));
        }
    }
    let me = RoleSource {
        tenant: source.tenant,
        role: source.id,
    };
    apply_role_changes(dir, tx, plan_detach(&me, copies.iter()))
}

fn subject_target(s: &Subject) -> String {
    match s {
        Subject::User { id, .. } => format!("user:{id}"),
        Subject::Group { id, .. } => format!("group:{id}"),
    }
}

impl<'a> Rbac<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Rbac { dir }
    }

    /// Defines a role in a tenant (Rights:Write there; only rights the actor holds there). A
    /// propagating role appears at once, locked, in every descendant.
    pub fn create_role(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewRole,
    ) -> Result<Role, Error> {
        let dir = self.dir;
        let held = dir.require(actor, tenant, Area::Rights, Right::Write)?;
        new.validate()?;
        check_grant(&held.as_set(), &new.rights, [])?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let name_key = keys::role_by_name(tenant, &new.name);
            if tx.exists(&name_key)? {
                return Err(Error::AlreadyExists { what: "role name" });
            }
            let now = tx.now();
            let role = Role {
                id: RoleId::from_uuid(dir.ids().uuid()),
                tenant,
                name: new.name.clone(),
                description: new.description.clone(),
                rights: new.rights,
                propagate: new.propagate,
                source: None,
                builtin: false,
                created_at: now,
                updated_at: now,
            };
            tx.put(name_key, &Ptr { id: role.id })?;
            tx.put(keys::role(tenant, role.id), &role)?;
            tx.touch(keys::marker(tenant, Marker::Rbac))?;
            if role.propagate {
                sync_copies(dir, tx, &role)?;
            }
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "role.create",
                    target: format!("role:{}", role.name),
                    before: None,
                    after: summary(&role),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(role)
        })
    }

    /// A role (Rights:Read on its tenant).
    pub fn get_role(&self, actor: &Actor, tenant: TenantId, id: RoleId) -> Result<Role, Error> {
        self.dir.require(actor, tenant, Area::Rights, Right::Read)?;
        self.dir.txn(|tx| must(tx, &keys::role(tenant, id)))
    }

    /// A role by name (case-insensitive).
    pub fn role_by_name(&self, actor: &Actor, tenant: TenantId, name: &str) -> Result<Role, Error> {
        self.dir.require(actor, tenant, Area::Rights, Right::Read)?;
        self.dir.txn(|tx| {
            let id = must::<Ptr<RoleId>>(tx, &keys::role_by_name(tenant, name))?.id;
            must(tx, &keys::role(tenant, id))
        })
    }

    /// Every role a tenant holds (its own and locked copies), by name.
    pub fn list_roles(&self, actor: &Actor, tenant: TenantId) -> Result<Vec<Role>, Error> {
        self.dir.require(actor, tenant, Area::Rights, Right::Read)?;
        let mut roles: Vec<Role> = self.dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let rows: Vec<(_, Role)> =
                tx.scan(&KeyRange::prefix(&keys::roles(tenant)), usize::MAX)?;
            Ok(rows.into_iter().map(|(_, r)| r).collect())
        })?;
        roles.sort_by_key(|r| tessera_policy::roles::name_key(&r.name));
        Ok(roles)
    }

    /// Changes a role where it is defined (Rights:Write; the actor must hold every right it
    /// adds or removes). Edits flow down to the locked copies; switching propagation off leaves
    /// them as independent roles.
    pub fn update_role(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: RoleId,
        patch: RolePatch,
    ) -> Result<Role, Error> {
        let dir = self.dir;
        let held = dir.require(actor, tenant, Area::Rights, Right::Write)?;
        patch.validate()?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before: Role = must(tx, &keys::role(tenant, id))?;
            if before.builtin || before.is_locked() {
                return Err(Error::Locked);
            }
            let mut role = before.clone();
            if let Some(r) = patch.rights {
                role.rights = r;
            }
            check_grant(
                &held.as_set(),
                &role.rights.changed_from(&before.rights),
                [],
            )?;
            if let Some(p) = patch.propagate {
                if p != before.propagate {
                    check_grant(&held.as_set(), &role.rights, [])?;
                }
                role.propagate = p;
            }
            if let Some(d) = &patch.description {
                role.description = d.clone();
            }
            if let Some(n) = &patch.name {
                if tessera_policy::roles::name_key(n)
                    != tessera_policy::roles::name_key(&before.name)
                {
                    let nk = keys::role_by_name(tenant, n);
                    if tx.exists(&nk)? {
                        return Err(Error::AlreadyExists { what: "role name" });
                    }
                    tx.delete(keys::role_by_name(tenant, &before.name));
                    tx.put(nk, &Ptr { id })?;
                }
                role.name = n.clone();
            }
            role.updated_at = tx.now();
            tx.put(keys::role(tenant, id), &role)?;
            tx.touch(keys::marker(tenant, Marker::Rbac))?;
            if before.propagate && !role.propagate {
                detach_copies(dir, tx, &role)?;
            }
            if role.propagate {
                sync_copies(dir, tx, &role)?;
            }
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "role.update",
                    target: format!("role:{}", role.name),
                    before: summary(&before),
                    after: summary(&role),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(role)
        })
    }

    /// Deletes a role where it is defined (Rights:Write; the actor must hold its rights). Its
    /// copies stay as independent roles; assignments at the tenant stop giving it.
    pub fn delete_role(&self, actor: &Actor, tenant: TenantId, id: RoleId) -> Result<(), Error> {
        let dir = self.dir;
        let held = dir.require(actor, tenant, Area::Rights, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let role: Role = must(tx, &keys::role(tenant, id))?;
            if role.builtin || role.is_locked() {
                return Err(Error::Locked);
            }
            check_grant(&held.as_set(), &role.rights, [])?;
            detach_copies(dir, tx, &role)?;
            let assignments: Vec<(_, Assignment)> =
                tx.scan(&KeyRange::prefix(&keys::assignments(tenant)), usize::MAX)?;
            for (k, mut a) in assignments {
                if a.roles.contains(&id) {
                    a.roles.retain(|r| *r != id);
                    tx.put(k, &a)?;
                }
            }
            tx.delete(keys::role_by_name(tenant, &role.name));
            tx.delete(keys::role(tenant, id));
            tx.touch(keys::marker(tenant, Marker::Rbac))?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "role.delete",
                    target: format!("role:{}", role.name),
                    before: summary(&role),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(())
        })
    }

    fn require_subject_visible(&self, actor: &Actor, s: &Subject) -> Result<(), Error> {
        let area = match s {
            Subject::User { .. } => Area::Users,
            Subject::Group { .. } => Area::Groups,
        };
        if self
            .dir
            .rights(actor, s.tenant())?
            .grants(area, Right::Read)
        {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Gives a user or group (of the scope tenant or an ancestor, and visible to the actor)
    /// rights and roles of the scope tenant, over its whole subtree, optionally until a time.
    /// Rights:Write at the scope; only rights the actor holds there.
    pub fn assign(
        &self,
        actor: &Actor,
        scope: TenantId,
        new: NewAssignment,
    ) -> Result<Assignment, Error> {
        let dir = self.dir;
        let held = dir.require(actor, scope, Area::Rights, Right::Write)?;
        self.require_subject_visible(actor, &new.subject)?;
        let tree = dir.cache().tree(dir.store())?;
        if !tree.is_self_or_ancestor(new.subject.tenant(), scope) {
            return Err(crate::model::validate::invalid(
                "subject",
                "must belong to the scope tenant or a tenant above it",
            ));
        }
        if new.rights.is_empty() && new.roles.is_empty() {
            return Err(crate::model::validate::invalid(
                "rights",
                "an assignment gives at least one right or role",
            ));
        }
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            tenant_in(tx, scope)?;
            if let Some(t) = new.expires_at {
                if t <= tx.now() {
                    return Err(crate::model::validate::invalid(
                        "expires_at",
                        "must be in the future",
                    ));
                }
            }
            match new.subject {
                Subject::User { tenant, id } => {
                    must::<User>(tx, &keys::user(tenant, id))?;
                }
                Subject::Group { tenant, id } => {
                    must::<Group>(tx, &keys::group(tenant, id))?;
                }
            }
            let mut roles = Vec::new();
            let mut role_rights = Vec::new();
            for r in &new.roles {
                if roles.contains(r) {
                    continue;
                }
                let role: Role = must(tx, &keys::role(scope, *r))?;
                role_rights.push(role.rights);
                roles.push(*r);
            }
            check_grant(&held.as_set(), &new.rights, role_rights.iter())?;
            let a = Assignment {
                id: AssignmentId::from_uuid(dir.ids().uuid()),
                scope,
                subject: new.subject,
                rights: new.rights,
                roles,
                expires_at: new.expires_at,
                created_at: tx.now(),
            };
            tx.put(keys::assignment(scope, a.id), &a)?;
            tx.touch(keys::assignment_of(&a.subject, scope, a.id))?;
            tx.touch(keys::marker(scope, Marker::Rbac))?;
            dir.record_change(
                tx,
                Change {
                    tenant: scope,
                    action: "assignment.create",
                    target: subject_target(&a.subject),
                    before: None,
                    after: summary(&a),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(a)
        })
    }

    /// An assignment at a scope (Rights:Read there).
    pub fn get_assignment(
        &self,
        actor: &Actor,
        scope: TenantId,
        id: AssignmentId,
    ) -> Result<Assignment, Error> {
        self.dir.require(actor, scope, Area::Rights, Right::Read)?;
        self.dir.txn(|tx| must(tx, &keys::assignment(scope, id)))
    }

    /// Every assignment made at a scope (Rights:Read there), oldest first.
    pub fn list_assignments(
        &self,
        actor: &Actor,
        scope: TenantId,
    ) -> Result<Vec<Assignment>, Error> {
        self.dir.require(actor, scope, Area::Rights, Right::Read)?;
        let mut out: Vec<Assignment> = self.dir.txn(|tx| {
            tenant_in(tx, scope)?;
            let rows: Vec<(_, Assignment)> =
                tx.scan(&KeyRange::prefix(&keys::assignments(scope)), usize::MAX)?;
            Ok(rows.into_iter().map(|(_, a)| a).collect())
        })?;
        out.sort_by_key(|a| (a.created_at, a.id));
        Ok(out)
    }

    /// Every assignment a subject holds, at the scopes where the actor has Rights:Read.
    pub fn assignments_of(
        &self,
        actor: &Actor,
        subject: Subject,
    ) -> Result<Vec<Assignment>, Error> {
        self.require_subject_visible(actor, &subject)?;
        self.dir.txn(|tx| match subject {
            Subject::User { tenant, id } => must::<User>(tx, &keys::user(tenant, id)).map(|_| ()),
            Subject::Group { tenant, id } => {
                must::<Group>(tx, &keys::group(tenant, id)).map(|_| ())
            }
        })?;
        let prefix = keys::assignments_of(&subject);
        let entries: Vec<(_, crate::store::codec::Unit)> = self
            .dir
            .txn(|tx| tx.scan(&KeyRange::prefix(&prefix), usize::MAX))?;
        let mut out = Vec::new();
        for (k, _) in entries {
            let (scope, id) = assignment_index_entry(&prefix, &k)?;
            if !self
                .dir
                .rights(actor, scope)?
                .grants(Area::Rights, Right::Read)
            {
                continue;
            }
            if let Some(a) = self
                .dir
                .txn(|tx| tx.get::<Assignment>(&keys::assignment(scope, id)))?
            {
                out.push(a);
            }
        }
        out.sort_by_key(|a| (a.created_at, a.id));
        Ok(out)
    }

    /// Revokes an assignment (Rights:Write at its scope; the actor must hold every right it
    /// defines, so nobody lifts a Deny they could not have given).
    pub fn revoke(&self, actor: &Actor, scope: TenantId, id: AssignmentId) -> Result<(), Error> {
        let dir = self.dir;
        let held = dir.require(actor, scope, Area::Rights, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let a: Assignment = must(tx, &keys::assignment(scope, id))?;
            let mut role_rights = Vec::new();
            for r in &a.roles {
                if let Some(role) = tx.get::<Role>(&keys::role(scope, *r))? {
                    role_rights.push(role.rights);
                }
            }
            check_grant(&held.as_set(), &a.rights, role_rights.iter())?;
            tx.delete(keys::assignment(scope, id));
            tx.delete(keys::assignment_of(&a.subject, scope, id));
            tx.touch(keys::marker(scope, Marker::Rbac))?;
            dir.record_change(
                tx,
                Change {
                    tenant: scope,
                    action: "assignment.revoke",
                    target: subject_target(&a.subject),
                    before: summary(&a),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(())
        })
    }

    /// The effective rights of a user on a tenant, as granted rights. Anyone may read their own
    /// (as [`Tenants::my_rights`](crate::Tenants::my_rights)); reading someone else's takes
    /// Rights:Read on the tenant and Users:Read on the user's.
    pub fn effective_rights(
        &self,
        actor: &Actor,
        user_tenant: TenantId,
        user: UserId,
        on: TenantId,
    ) -> Result<RightSet, Error> {
        if Directory::is_self(actor, user_tenant, user) {
            return self.dir.tenants().my_rights(actor, on);
        }
        self.dir.require(actor, on, Area::Rights, Right::Read)?;
        self.dir
            .require(actor, user_tenant, Area::Users, Right::Read)?;
        self.dir
            .txn(|tx| must::<User>(tx, &keys::user(user_tenant, user)))?;
        Ok(self.dir.user_rights(user_tenant, user, on)?.granted())
    }
}

/// Removes every assignment whose subject is `subject` (the subject is being deleted).
pub(crate) fn drop_assignments_of(tx: &mut Txn<'_>, subject: &Subject) -> Result<(), Error> {
    let prefix = keys::assignments_of(subject);
    let entries: Vec<(_, crate::store::codec::Unit)> =
        tx.scan(&KeyRange::prefix(&prefix), usize::MAX)?;
    for (k, _) in entries {
        let (scope, id) = assignment_index_entry(&prefix, &k)?;
        tx.delete(keys::assignment(scope, id));
        tx.touch(keys::marker(scope, Marker::Rbac))?;
        tx.delete(k);
    }
    Ok(())
}

/// The (scope, assignment) an entry of a subject's assignment index names.
pub(crate) fn assignment_index_entry(
    prefix: &keys::Prefix,
    k: &crate::store::Key,
) -> Result<(TenantId, AssignmentId), Error> {
    let corrupt = || Error::Corrupt("assignment index key".into());
    let (s, a) = k
        .tail(prefix)
        .and_then(|t| t.split_at_checked(16))
        .ok_or_else(corrupt)?;
    Ok((
        TenantId::from_key_bytes(s).ok_or_else(corrupt)?,
        AssignmentId::from_key_bytes(a).ok_or_else(corrupt)?,
    ))
}
