//! The applications service: a tenant's LDAP service, RADIUS clients and SAML service providers
//! as records bound to groups, and the one "may this user use this application" check
//! (transitive membership in a bound group; nobody by default). Protocol behaviour belongs to
//! the frontends.

use super::{must, tenant_in};
use crate::actor::Actor;
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::SharedSecret;
use crate::model::{
    AppId, AppKind, Application, ApplicationPatch, Group, GroupId, NewApplication, TenantId, User,
    UserId,
};
use crate::store::keys::{self, fold};
use crate::store::records::Ptr;
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use base64::Engine;
use std::sync::Arc;
use tessera_policy::{Area, Right};

/// Applications. Obtain with [`Directory::applications`].
#[derive(Debug, Clone, Copy)]
pub struct Applications<'a> {
    dir: &'a Directory,
}

/// What a sealed RADIUS secret is bound to: its tenant and application.
fn secret_aad(tenant: TenantId, app: AppId) -> Vec<u8> {
    let mut v = b"radius-secret:".to_vec();
    v.extend_from_slice(tenant.key_bytes());
    v.extend_from_slice(app.key_bytes());
    v
}

/// The settings as stored: a RADIUS secret given in the clear is sealed under the master key;
/// one already sealed (an update that keeps it) stays as it is.
fn sealed(
    dir: &Directory,
    tenant: TenantId,
    app: AppId,
    kind: &AppKind,
    stored: Option<&AppKind>,
) -> Result<AppKind, Error> {
    let mut kind = kind.clone();
    if let AppKind::Radius(c) = &mut kind {
        if c.secret.is_sealed() {
            // Only this application's own stored secret may come back sealed.
            let same = matches!(stored, Some(AppKind::Radius(old)) if old.secret == c.secret);
            if !same {
                return Err(crate::model::validate::invalid(
                    "secret",
                    "give the secret itself, or leave the stored one unchanged",
                ));
            }
        } else {
            let s = dir.master_key().seal(
                dir.ids(),
                &secret_aad(tenant, app),
                c.secret.expose().as_bytes(),
            )?;
            c.secret = SharedSecret::new(format!(
                "{}{}",
                SharedSecret::SEALED,
                base64::engine::general_purpose::STANDARD.encode(s)
            ));
        }
    }
    Ok(kind)
}

fn entity_id(a: &AppKind) -> Option<&str> {
    match a {
        AppKind::Saml(sp) => Some(&sp.entity_id),
        AppKind::Ldap(_) | AppKind::Radius(_) => None,
    }
}

impl<'a> Applications<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Applications { dir }
    }

    /// Registers a RADIUS client or SAML SP (Applications:Write). Every tenant already has its
    /// one LDAP service. Bound groups must be groups of the tenant.
    pub fn create(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewApplication,
    ) -> Result<Application, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        new.validate()?;
        if matches!(new.kind, AppKind::Ldap(_)) {
            return Err(Error::AlreadyExists {
                what: "LDAP service",
            });
        }
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let name_key = keys::app_by_name(tenant, &new.name);
            if tx.exists(&name_key)? {
                return Err(Error::AlreadyExists {
                    what: "application name",
                });
            }
            let id = AppId::from_uuid(dir.ids().uuid());
            if let Some(e) = entity_id(&new.kind) {
                let k = keys::app_by_entity_id(tenant, e);
                if tx.exists(&k)? {
                    return Err(Error::AlreadyExists { what: "entity id" });
                }
                tx.put(k, &Ptr { id })?;
            }
            for g in &new.bound_groups {
                must::<Group>(tx, &keys::group(tenant, *g))?;
            }
            let now = tx.now();
            let app = Application {
                id,
                tenant,
                name: new.name.clone(),
                kind: sealed(dir, tenant, id, &new.kind, None)?,
                bound_groups: new.bound_groups.clone(),
                created_at: now,
                updated_at: now,
            };
            tx.put(name_key, &Ptr { id })?;
            tx.put(keys::app(tenant, id), &app)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "application.create",
                    target: format!("application:{}", app.name),
                    before: None,
                    after: summary(&app),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(app)
        })
    }

    /// An application (Applications:Read).
    pub fn get(&self, actor: &Actor, tenant: TenantId, id: AppId) -> Result<Application, Error> {
        self.dir
            .require(actor, tenant, Area::Applications, Right::Read)?;
        self.dir.txn(|tx| must(tx, &keys::app(tenant, id)))
    }

    /// An application by name, case-insensitively (Applications:Read).
    pub fn by_name(
        &self,
        actor: &Actor,
        tenant: TenantId,
        name: &str,
    ) -> Result<Application, Error> {
        self.dir
            .require(actor, tenant, Area::Applications, Right::Read)?;
        self.dir.txn(|tx| {
            let id = must::<Ptr<AppId>>(tx, &keys::app_by_name(tenant, name))?.id;
            must(tx, &keys::app(tenant, id))
        })
    }

    /// The tenant's LDAP service (Applications:Read).
    pub fn ldap_service(&self, actor: &Actor, tenant: TenantId) -> Result<Arc<Application>, Error> {
        self.dir
            .require(actor, tenant, Area::Applications, Right::Read)?;
        // Every LDAP search that shows members reads its settings: the decoded record is
        // shared until the record changes.
        let id = self
            .dir
            .txn(|tx| must::<Ptr<AppId>>(tx, &keys::ldap_service(tenant)))?
            .id;
        self.dir
            .cache()
            .application(self.dir.store(), tenant, id)?
            .ok_or(Error::NotFound)
    }

    /// Every application of a tenant, by name (Applications:Read).
    pub fn list(&self, actor: &Actor, tenant: TenantId) -> Result<Vec<Application>, Error> {
        self.dir
            .require(actor, tenant, Area::Applications, Right::Read)?;
        let mut apps: Vec<Application> = self.dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let rows: Vec<(_, Application)> =
                tx.scan(&KeyRange::prefix(&keys::apps(tenant)), usize::MAX)?;
            Ok(rows.into_iter().map(|(_, a)| a).collect())
        })?;
        apps.sort_by_key(|a| fold(&a.name));
        Ok(apps)
    }

    /// Changes an application's name or settings (Applications:Write); its kind stays.
    pub fn update(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: AppId,
        patch: ApplicationPatch,
    ) -> Result<Application, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before: Application = must(tx, &keys::app(tenant, id))?;
            let mut app = before.clone();
            if let Some(n) = &patch.name {
                if matches!(before.kind, AppKind::Ldap(_)) && n != &before.name {
                    return Err(Error::NotAllowed("the LDAP service keeps its name"));
                }
                app.name = n.clone();
            }
            if let Some(k) = &patch.kind {
                if k.as_str() != before.kind.as_str() {
                    return Err(crate::model::validate::invalid(
                        "kind",
                        "an application's kind cannot change",
                    ));
                }
                app.kind = sealed(dir, tenant, id, k, Some(&before.kind))?;
            }
            NewApplication {
                name: app.name.clone(),
                kind: app.kind.clone(),
                bound_groups: Default::default(),
            }
            .validate()?;
            if fold(&app.name) != fold(&before.name) {
                let k = keys::app_by_name(tenant, &app.name);
                if tx.exists(&k)? {
                    return Err(Error::AlreadyExists {
                        what: "application name",
                    });
                }
                tx.delete(keys::app_by_name(tenant, &before.name));
                tx.put(k, &Ptr { id })?;
            }
            if entity_id(&app.kind) != entity_id(&before.kind) {
                if let Some(e) = entity_id(&app.kind) {
                    let k = keys::app_by_entity_id(tenant, e);
                    if tx.exists(&k)? {
                        return Err(Error::AlreadyExists { what: "entity id" });
                    }
                    tx.put(k, &Ptr { id })?;
                }
                if let Some(e) = entity_id(&before.kind) {
                    tx.delete(keys::app_by_entity_id(tenant, e));
                }
            }
            app.updated_at = tx.now();
            tx.put(keys::app(tenant, id), &app)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "application.update",
                    target: format!("application:{}", app.name),
                    before: summary(&before),
                    after: summary(&app),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(app)
        })
    }

    /// Deletes a RADIUS client or SAML SP (Applications:Write). The LDAP service stays.
    pub fn delete(&self, actor: &Actor, tenant: TenantId, id: AppId) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let app: Application = must(tx, &keys::app(tenant, id))?;
            if matches!(app.kind, AppKind::Ldap(_)) {
                return Err(Error::NotAllowed("the LDAP service cannot be deleted"));
            }
            if let Some(e) = entity_id(&app.kind) {
                tx.delete(keys::app_by_entity_id(tenant, e));
            }
            tx.delete(keys::app_by_name(tenant, &app.name));
            tx.delete(keys::app(tenant, id));
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "application.delete",
                    target: format!("application:{}", app.name),
                    before: summary(&app),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )
        })
    }

    /// Lets the members of a group (transitively) use an application (Applications:Write).
    pub fn bind_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: AppId,
        group: GroupId,
    ) -> Result<Application, Error> {
        self.set_binding(actor, tenant, id, group, true)
    }

    /// Stops a group's members from using an application through that group.
    pub fn unbind_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: AppId,
        group: GroupId,
    ) -> Result<Application, Error> {
        self.set_binding(actor, tenant, id, group, false)
    }

    fn set_binding(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: AppId,
        group: GroupId,
        bind: bool,
    ) -> Result<Application, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before: Application = must(tx, &keys::app(tenant, id))?;
            let g: Group = must(tx, &keys::group(tenant, group))?;
            let mut app = before.clone();
            let changed = if bind {
                app.bound_groups.insert(group)
            } else {
                app.bound_groups.remove(&group)
            };
            if !changed {
                return if bind {
                    Err(Error::AlreadyExists { what: "binding" })
                } else {
                    Err(Error::NotFound)
                };
            }
            app.updated_at = tx.now();
            tx.put(keys::app(tenant, id), &app)?;
            record_binding(dir, tx, actor, &actor_name, &app, &g, bind)?;
            Ok(app)
        })
    }

    /// The shared secret of a RADIUS client, opened: for the RADIUS frontend, which acts as the
    /// installation (the system actor) — nobody else reads a secret back.
    pub fn radius_secret(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: AppId,
    ) -> Result<SharedSecret, Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        let dir = self.dir;
        let app: Application = dir.txn(|tx| must(tx, &keys::app(tenant, id)))?;
        let AppKind::Radius(c) = &app.kind else {
            return Err(Error::NotFound);
        };
        let sealed = c
            .secret
            .expose()
            .strip_prefix(SharedSecret::SEALED)
            .ok_or_else(|| Error::Corrupt("a RADIUS secret stored unsealed".into()))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| Error::Corrupt("a sealed RADIUS secret is not base64".into()))?;
        let plain = dir.master_key().open(&secret_aad(tenant, id), &bytes)?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| Error::Corrupt("a RADIUS secret is not text".into()))?;
        Ok(SharedSecret::new(text))
    }

    /// Whether a user may use an application: a member, directly or through nested groups, of
    /// one of its bound groups. Nobody may use an application without bound groups.
    /// Applications:Read and Users:Read on the tenant (the system actor for authentication).
    pub fn may_use(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: AppId,
        user: UserId,
    ) -> Result<bool, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Read)?;
        dir.require(actor, tenant, Area::Users, Right::Read)?;
        let app: Application = dir.txn(|tx| {
            must::<User>(tx, &keys::user(tenant, user))?;
            must(tx, &keys::app(tenant, id))
        })?;
        if app.bound_groups.is_empty() {
            return Ok(false);
        }
        let groups = dir.cache().graph(dir.store(), tenant)?.groups_of_user(user);
        Ok(app.bound_groups.iter().any(|g| groups.contains(g)))
    }
}

fn record_binding(
    dir: &Directory,
    tx: &mut Txn<'_>,
    actor: &Actor,
    actor_name: &str,
    app: &Application,
    g: &Group,
    bind: bool,
) -> Result<(), Error> {
    let detail = Some(serde_json::json!({ "group": g.name }));
    dir.record_change(
        tx,
        Change {
            tenant: app.tenant,
            action: if bind {
                "application.bind_group"
            } else {
                "application.unbind_group"
            },
            target: format!("application:{}", app.name),
            before: if bind { None } else { detail.clone() },
            after: if bind { detail } else { None },
            actor,
            actor_name,
        },
    )
}
