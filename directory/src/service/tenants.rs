//! The tenant tree service: bootstrap of the root, child creation under the kind rules, reads,
//! suspension and resumption (covering the subtree), and deletion of empty tenants. New tenants
//! receive locked copies of their ancestors' propagating roles and their LDAP service here.

use super::tenant_in;
use crate::actor::{Actor, Principal};
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::{
    AppId, AppKind, Application, LdapService, NewTenant, Role, RoleId, RoleSource, Status, Tenant,
    TenantId,
};
use crate::service::rbac::{apply_role_changes, role_view};
use crate::store::keys::{self, Counter, Marker};
use crate::store::records::Ptr;
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use tessera_policy::roles::{plan_new_tenant, predefined_roles};
use tessera_policy::{Area, Right, RightSet};

/// The tenant tree. Obtain with [`Directory::tenants`].
#[derive(Debug, Clone, Copy)]
pub struct Tenants<'a> {
    dir: &'a Directory,
}

/// The name of the LDAP service application every tenant has.
pub const LDAP_SERVICE_NAME: &str = "LDAP";

impl<'a> Tenants<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Tenants { dir }
    }

    /// Creates the root tenant of an empty installation, with the ten predefined roles
    /// (propagating) and its LDAP service. Only the system actor may do this, once.
    pub fn bootstrap(&self, actor: &Actor, root: NewTenant) -> Result<Tenant, Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        root.validate()?;
        let dir = self.dir;
        dir.txn(|tx| {
            if tx.exists(&keys::root())? {
                return Err(Error::AlreadyInitialised);
            }
            if tx.exists(&keys::slug(&root.slug))? {
                return Err(Error::AlreadyExists { what: "slug" });
            }
            let now = tx.now();
            let t = Tenant {
                id: TenantId::from_uuid(dir.ids().uuid()),
                parent: None,
                kind: root.kind,
                slug: root.slug.clone(),
                name: root.name.clone(),
                status: Status::Active,
                created_at: now,
                updated_at: now,
            };
            write_new_tenant(dir, tx, &t)?;
            tx.put(keys::root(), &Ptr { id: t.id })?;
            for p in predefined_roles() {
                let role = Role {
                    id: RoleId::from_uuid(dir.ids().uuid()),
                    tenant: t.id,
                    name: p.name.to_string(),
                    description: Some(p.description.to_string()),
                    rights: p.rights,
                    propagate: true,
                    source: None,
                    builtin: true,
                    created_at: now,
                    updated_at: now,
                };
                tx.put(keys::role_by_name(t.id, &role.name), &Ptr { id: role.id })?;
                tx.put(keys::role(t.id, role.id), &role)?;
            }
            tx.touch(keys::marker(t.id, Marker::Rbac))?;
            dir.record_change(
                tx,
                Change {
                    tenant: t.id,
                    action: "tenant.bootstrap",
                    target: format!("tenant:{}", t.slug),
                    before: None,
                    after: summary(&t),
                    actor,
                    actor_name: "system",
                },
            )?;
            Ok(t)
        })
    }

    /// Creates a child tenant under `parent` (Tenants:Write on the parent). The kind must be one
    /// the parent's kind may hold; the slug must be free in the whole installation.
    pub fn create(&self, actor: &Actor, parent: TenantId, new: NewTenant) -> Result<Tenant, Error> {
        let dir = self.dir;
        dir.require(actor, parent, Area::Tenants, Right::Write)?;
        new.validate()?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let p = tenant_in(tx, parent)?;
            if !p.kind.may_hold(new.kind) {
                return Err(Error::KindNotAllowed {
                    parent: p.kind,
                    child: new.kind,
                });
            }
            if tx.exists(&keys::slug(&new.slug))? {
                return Err(Error::AlreadyExists { what: "slug" });
            }
            let now = tx.now();
            let t = Tenant {
                id: TenantId::from_uuid(dir.ids().uuid()),
                parent: Some(parent),
                kind: new.kind,
                slug: new.slug.clone(),
                name: new.name.clone(),
                status: Status::Active,
                created_at: now,
                updated_at: now,
            };
            write_new_tenant(dir, tx, &t)?;
            tx.touch(keys::child(parent, t.id))?;
            // Locked copies of every propagating role of every ancestor, root first.
            let tree_v = tx.version(&keys::tree_marker())?;
            let tree = dir.cache().tree_at(dir.store(), tree_v)?;
            let mut chain = tree.chain(parent);
            chain.reverse();
            let mut sources = Vec::new();
            for a in chain {
                let roles: Vec<(_, Role)> =
                    tx.scan(&KeyRange::prefix(&keys::roles(a)), usize::MAX)?;
                sources.extend(
                    roles
                        .into_iter()
                        .map(|(_, r)| r)
                        .filter(|r| r.propagate && r.source.is_none()),
                );
            }
            let views: Vec<_> = sources.iter().map(role_view).collect();
            let changes = plan_new_tenant(&t.id, views.iter(), std::iter::empty());
            apply_role_changes(dir, tx, changes)?;
            dir.record_change(
                tx,
                Change {
                    tenant: parent,
                    action: "tenant.create",
                    target: format!("tenant:{}", t.slug),
                    before: None,
                    after: summary(&t),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(t)
        })
    }

    fn visible(&self, actor: &Actor, id: TenantId) -> Result<bool, Error> {
        if let Principal::User { tenant, .. } = actor.principal {
            if tenant == id && self.dir.cache().tree(self.dir.store())?.node(id).is_some() {
                return Ok(true); // everyone may see their own tenant
            }
        }
        Ok(self
            .dir
            .rights(actor, id)?
            .grants(Area::Tenants, Right::Read))
    }

    /// A tenant (Tenants:Read on it, or the actor's own tenant).
    pub fn get(&self, actor: &Actor, id: TenantId) -> Result<Tenant, Error> {
        if !self.visible(actor, id)? {
            return Err(Error::NotFound);
        }
        // From the cached tree: every write of a tenant record moves the tree marker.
        let tree = self.dir.cache().tree(self.dir.store())?;
        tree.node(id).cloned().ok_or(Error::NotFound)
    }

    /// The id of the tenant a slug names, for addressing it in other operations: answered when
    /// the actor holds any right there or belongs to it (a Directory Reader has no Tenants:Read
    /// yet must address its tenant); `NotFound` otherwise, as for a slug nobody uses.
    pub fn resolve(&self, actor: &Actor, slug: &str) -> Result<TenantId, Error> {
        let id = self.id_of(slug)?;
        if self.visible(actor, id)? || !self.dir.rights(actor, id)?.as_set().granted().is_empty() {
            Ok(id)
        } else {
            Err(Error::NotFound)
        }
    }

    /// A tenant by its slug.
    pub fn by_slug(&self, actor: &Actor, slug: &str) -> Result<Tenant, Error> {
        let id = self.id_of(slug)?;
        self.get(actor, id)
    }

    /// The tenant a slug names, from the cached tree (no read while the tree is unchanged).
    fn id_of(&self, slug: &str) -> Result<TenantId, Error> {
        self.dir
            .cache()
            .tree(self.dir.store())?
            .by_slug(slug)
            .ok_or(Error::NotFound)
    }

    /// The root tenant, if the actor may see it.
    pub fn root(&self, actor: &Actor) -> Result<Tenant, Error> {
        let root = self
            .dir
            .txn(|tx| tx.get::<Ptr<TenantId>>(&keys::root()))?
            .ok_or(Error::NotFound)?
            .id;
        self.get(actor, root)
    }

    /// The direct children of a tenant that the actor may see, by slug.
    pub fn children(&self, actor: &Actor, id: TenantId) -> Result<Vec<Tenant>, Error> {
        if !self.visible(actor, id)? {
            return Err(Error::NotFound);
        }
        let tree = self.dir.cache().tree(self.dir.store())?;
        let mut out = Vec::new();
        for c in tree.sorted_children(id) {
            if self.visible(actor, c)? {
                out.push(self.dir.txn(|tx| tenant_in(tx, c))?);
            }
        }
        Ok(out)
    }

    /// Every tenant the actor may see, parents before children (siblings by slug).
    pub fn list(&self, actor: &Actor) -> Result<Vec<Tenant>, Error> {
        let tree = self.dir.cache().tree(self.dir.store())?;
        let mut out = Vec::new();
        for t in tree.all() {
            if self.visible(actor, t)? {
                if let Some(rec) = self.dir.txn(|tx| tx.get::<Tenant>(&keys::tenant(t)))? {
                    out.push(rec);
                }
            }
        }
        Ok(out)
    }

    /// The tenant and its ancestors up to the root (visible ones only), starting with `id`.
    pub fn ancestors(&self, actor: &Actor, id: TenantId) -> Result<Vec<Tenant>, Error> {
        if !self.visible(actor, id)? {
            return Err(Error::NotFound);
        }
        let tree = self.dir.cache().tree(self.dir.store())?;
        let mut out = Vec::new();
        for t in tree.chain(id) {
            if self.visible(actor, t)? {
                out.push(self.dir.txn(|tx| tenant_in(tx, t))?);
            }
        }
        Ok(out)
    }

    /// Whether the tenant and all its ancestors are active: authentication through it is
    /// possible only then. Internal callers pass the system actor.
    pub fn is_active(&self, actor: &Actor, id: TenantId) -> Result<bool, Error> {
        if !self.visible(actor, id)? {
            return Err(Error::NotFound);
        }
        Ok(self.dir.cache().tree(self.dir.store())?.chain_active(id))
    }

    /// Changes a tenant's display name (Tenants:Write on it). The slug never changes.
    pub fn rename(&self, actor: &Actor, id: TenantId, name: &str) -> Result<Tenant, Error> {
        let dir = self.dir;
        dir.require(actor, id, Area::Tenants, Right::Write)?;
        crate::model::validate::display_name("name", name, 200)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before = tenant_in(tx, id)?;
            let mut t = before.clone();
            t.name = name.to_string();
            t.updated_at = tx.now();
            tx.put(keys::tenant(id), &t)?;
            tx.touch(keys::tree_marker())?;
            dir.record_change(
                tx,
                Change {
                    tenant: id,
                    action: "tenant.rename",
                    target: format!("tenant:{}", t.slug),
                    before: summary(&before),
                    after: summary(&t),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(t)
        })
    }

    /// Suspends a tenant (Tenants:Execute on it): every authentication in its whole subtree
    /// stops at once. The root, and the tenant an actor belongs to (or an ancestor of it),
    /// cannot be suspended.
    pub fn suspend(&self, actor: &Actor, id: TenantId) -> Result<Tenant, Error> {
        self.set_status(actor, id, Status::Suspended)
    }

    /// Resumes a suspended tenant (Tenants:Execute on it).
    pub fn resume(&self, actor: &Actor, id: TenantId) -> Result<Tenant, Error> {
        self.set_status(actor, id, Status::Active)
    }

    fn set_status(&self, actor: &Actor, id: TenantId, status: Status) -> Result<Tenant, Error> {
        let dir = self.dir;
        dir.require(actor, id, Area::Tenants, Right::Execute)?;
        if status == Status::Suspended {
            let tree = dir.cache().tree(dir.store())?;
            if tree.root() == Some(id) {
                return Err(Error::NotAllowed("the root tenant cannot be suspended"));
            }
            if let Principal::User { tenant, .. } = actor.principal {
                if tree.is_self_or_ancestor(id, tenant) {
                    return Err(Error::NotAllowed(
                        "you cannot suspend the tenant you belong to or one above it",
                    ));
                }
            }
        }
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before = tenant_in(tx, id)?;
            if before.status == status {
                return Ok(before);
            }
            let mut t = before.clone();
            t.status = status;
            t.updated_at = tx.now();
            tx.put(keys::tenant(id), &t)?;
            tx.touch(keys::tree_marker())?;
            dir.record_change(
                tx,
                Change {
                    tenant: id,
                    action: match status {
                        Status::Suspended => "tenant.suspend",
                        Status::Active => "tenant.resume",
                    },
                    target: format!("tenant:{}", t.slug),
                    before: summary(&before),
                    after: summary(&t),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(t)
        })
        // Verified credentials under a suspended tenant are forgotten, as for a suspended user.
        .inspect(|_| dir.verified().forget_all())
    }

    /// Deletes an empty tenant (Tenants:Write on its parent). Empty means no child tenants,
    /// users, groups, applications other than its LDAP service, roles of its own (locked copies
    /// go with it) and assignments. Its audit log is kept.
    pub fn delete(&self, actor: &Actor, id: TenantId) -> Result<(), Error> {
        let dir = self.dir;
        let tree = dir.cache().tree(dir.store())?;
        let Some(parent) = tree.node(id).map(|n| n.parent) else {
            return Err(Error::NotFound);
        };
        let Some(parent) = parent else {
            dir.require(actor, id, Area::Tenants, Right::Read)?;
            return Err(Error::NotAllowed("the root tenant cannot be deleted"));
        };
        if !dir.rights(actor, id)?.grants(Area::Tenants, Right::Read) {
            return Err(Error::NotFound);
        }
        if !dir
            .rights(actor, parent)?
            .grants(Area::Tenants, Right::Write)
        {
            return Err(Error::Forbidden);
        }
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let t = tenant_in(tx, id)?;
            let ldap = tx.get::<Ptr<AppId>>(&keys::ldap_service(id))?;
            let nonempty = |tx: &mut Txn<'_>, p: &keys::Prefix| -> Result<bool, Error> {
                Ok(!tx
                    .scan::<crate::store::codec::Unit>(&KeyRange::prefix(p), 1)?
                    .is_empty())
            };
            if nonempty(tx, &keys::children(id))? {
                return Err(Error::NotEmpty {
                    what: "child tenants",
                });
            }
            if nonempty(tx, &keys::users(id))? {
                return Err(Error::NotEmpty { what: "users" });
            }
            if nonempty(tx, &keys::groups(id))? {
                return Err(Error::NotEmpty { what: "groups" });
            }
            if nonempty(tx, &keys::assignments(id))? {
                return Err(Error::NotEmpty {
                    what: "assignments",
                });
            }
            let apps: Vec<(_, Application)> =
                tx.scan(&KeyRange::prefix(&keys::apps(id)), usize::MAX)?;
            if apps.iter().any(|(_, a)| Some(a.id) != ldap.map(|p| p.id)) {
                return Err(Error::NotEmpty {
                    what: "applications",
                });
            }
            let roles: Vec<(_, Role)> = tx.scan(&KeyRange::prefix(&keys::roles(id)), usize::MAX)?;
            if roles.iter().any(|(_, r)| r.source.is_none()) {
                return Err(Error::NotEmpty { what: "roles" });
            }
            for (k, r) in &roles {
                if let Some(RoleSource { tenant, role }) = r.source {
                    tx.delete(keys::role_copy(tenant, role, id, r.id));
                }
                tx.delete(keys::role_by_name(id, &r.name));
                tx.delete(k.clone());
            }
            for (k, a) in &apps {
                tx.delete(keys::app_by_name(id, &a.name));
                tx.delete(k.clone());
            }
            tx.delete(keys::ldap_service(id));
            super::saml::forget_tenant(tx, id)?;
            super::radius::forget_tenant(tx, id)?;
            if tx.exists(&keys::policy(id))? {
                tx.delete(keys::policy(id));
                tx.touch(keys::policy_marker())?;
            }
            tx.delete(keys::counter(id, Counter::PosixId));
            tx.delete(keys::marker(id, Marker::Membership));
            tx.delete(keys::marker(id, Marker::Rbac));
            tx.delete(keys::marker(id, Marker::Names));
            tx.delete(keys::marker(id, Marker::Status));
            tx.delete(keys::child(parent, id));
            tx.delete(keys::slug(&t.slug));
            tx.delete(keys::tenant(id));
            tx.touch(keys::tree_marker())?;
            dir.record_change(
                tx,
                Change {
                    tenant: parent,
                    action: "tenant.delete",
                    target: format!("tenant:{}", t.slug),
                    before: summary(&t),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(())
        })?;
        dir.cache().forget(id);
        Ok(())
    }

    /// The effective rights of the actor on a tenant (what the console shows as "my rights").
    pub fn my_rights(&self, actor: &Actor, id: TenantId) -> Result<RightSet, Error> {
        let granted = self.dir.rights(actor, id)?.as_set().granted();
        if granted.is_empty() && !self.visible(actor, id)? {
            return Err(Error::NotFound);
        }
        Ok(granted)
    }
}

/// Writes a new tenant's record, slug index, markers and LDAP service.
fn write_new_tenant(dir: &Directory, tx: &mut Txn<'_>, t: &Tenant) -> Result<(), Error> {
    tx.put(keys::tenant(t.id), t)?;
    tx.put(keys::slug(&t.slug), &Ptr { id: t.id })?;
    tx.touch(keys::tree_marker())?;
    tx.touch(keys::marker(t.id, Marker::Membership))?;
    tx.touch(keys::marker(t.id, Marker::Rbac))?;
    let app = Application {
        id: AppId::from_uuid(dir.ids().uuid()),
        tenant: t.id,
        name: LDAP_SERVICE_NAME.to_string(),
        kind: AppKind::Ldap(LdapService::default()),
        bound_groups: Default::default(),
        created_at: t.created_at,
        updated_at: t.created_at,
    };
    tx.put(keys::app(t.id, app.id), &app)?;
    tx.put(keys::app_by_name(t.id, &app.name), &Ptr { id: app.id })?;
    tx.put(keys::ldap_service(t.id), &Ptr { id: app.id })?;
    Ok(())
}
