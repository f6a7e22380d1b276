//! The one choke point for authorisation: an actor's effective rights on a tenant, computed from
//! the RBAC snapshots of the tenant chain and the actor's group closure, and the mapping of a
//! refusal to `NotFound` (cannot even see) or `Forbidden` (sees, may not act). Services call
//! `require` before touching data; they must not evaluate rights any other way.

use crate::actor::{Actor, Principal};
use crate::error::Error;
use crate::model::{Status, Subject, TenantId, User, UserId};
use crate::store::{codec, keys};
use crate::Directory;
use std::collections::HashSet;
use tessera_policy::{rbac, Area, Right, RightSet};

/// What an actor may do on a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rights {
    /// The system actor: everything.
    All,
    /// A user's effective rights.
    Set(RightSet),
}

impl Rights {
    pub(crate) fn grants(&self, area: Area, right: Right) -> bool {
        match self {
            Rights::All => true,
            Rights::Set(s) => s.grants(area, right),
        }
    }

    /// The rights as a set (all allowed for the system actor).
    pub(crate) fn as_set(&self) -> RightSet {
        match self {
            Rights::All => RightSet::ALL_ALLOWED,
            Rights::Set(s) => *s,
        }
    }
}

impl Directory {
    /// The effective rights of a user on tenant `on`: nothing when the user is missing or
    /// suspended, when its tenant (or an ancestor) is suspended, or when `on` does not exist.
    pub(crate) fn user_rights(
        &self,
        user_tenant: TenantId,
        user: UserId,
        on: TenantId,
    ) -> Result<RightSet, Error> {
        let store = self.store();
        let now = self.now();
        // Read before anything the rights come from: what is remembered under it is as new.
        let epoch = store.marker_epoch();
        let key = (user_tenant, user, on);
        if let Some(r) = epoch.and_then(|e| self.cache().rights(e, key, now)) {
            return Ok(r);
        }
        let tree = self.cache().tree(store)?;
        if !tree.chain_active(user_tenant) {
            return Ok(RightSet::EMPTY);
        }
        let chain = tree.chain(on);
        if chain.is_empty() {
            return Ok(RightSet::EMPTY);
        }
        let Some(e) = store.get(&keys::user(user_tenant, user))? else {
            return Ok(RightSet::EMPTY);
        };
        let u: User = codec::decode(&e.value)?;
        if u.status != Status::Active {
            return Ok(RightSet::EMPTY);
        }
        let graph = self.cache().graph(store, user_tenant)?;
        let mut subjects: HashSet<Subject> = graph
            .groups_of_user(user)
            .into_iter()
            .map(|id| Subject::Group {
                tenant: user_tenant,
                id,
            })
            .collect();
        subjects.insert(Subject::User {
            tenant: user_tenant,
            id: user,
        });
        let mut acc = RightSet::EMPTY;
        let mut until: Option<tessera_policy::Timestamp> = None;
        for scope in chain {
            let s = self.cache().scope_rbac(store, scope)?;
            acc = acc.union(rbac::effective_rights(
                &s.assignments,
                &subjects,
                |r| s.roles.get(r).copied(),
                now,
            ));
            if let Some(x) = rbac::next_expiry(&s.assignments, &subjects, now) {
                until = Some(until.map_or(x, |u| u.min(x)));
            }
        }
        if let Some(e) = epoch {
            self.cache().remember_rights(e, key, until, acc);
        }
        Ok(acc)
    }

    /// What `actor` may do on tenant `on`.
    pub(crate) fn rights(&self, actor: &Actor, on: TenantId) -> Result<Rights, Error> {
        match actor.principal {
            Principal::System => Ok(Rights::All),
            Principal::User { tenant, user } => {
                let mut rights = self.user_rights(tenant, user, on)?;
                if actor.protocol == crate::actor::Protocol::Ldap {
                    // Over LDAP, tenants, users and groups are the directory: what a bound
                    // identity may read or write there is its Directory right, nothing else.
                    rights = rights.with_areas_as(
                        Area::Directory,
                        &[Area::Tenants, Area::Users, Area::Groups],
                    );
                }
                Ok(Rights::Set(match actor.limit {
                    Some(limit) => rights.narrowed_to(limit),
                    None => rights,
                }))
            }
        }
    }

    /// Succeeds when `actor` holds `right` on `area` at `on`. Otherwise `NotFound` when the
    /// actor cannot even read that area there (so a hidden object and a missing one look the
    /// same), else `Forbidden`.
    pub(crate) fn require(
        &self,
        actor: &Actor,
        on: TenantId,
        area: Area,
        right: Right,
    ) -> Result<Rights, Error> {
        let r = self.rights(actor, on)?;
        if r.grants(area, right) {
            Ok(r)
        } else if right != Right::Read && r.grants(area, Right::Read) {
            Err(Error::Forbidden)
        } else {
            Err(Error::NotFound)
        }
    }

    /// Whether `actor` is the user `id` of `tenant` (self-service reads).
    pub(crate) fn is_self(actor: &Actor, tenant: TenantId, id: UserId) -> bool {
        actor.principal == Principal::User { tenant, user: id }
    }

    /// How the audit log names an actor: `system` or `<tenant slug>/<username>`.
    pub(crate) fn describe(&self, actor: &Actor) -> Result<String, Error> {
        match actor.principal {
            Principal::System => Ok("system".into()),
            Principal::User { tenant, user } => {
                let tree = self.cache().tree(self.store())?;
                let slug = tree
                    .node(tenant)
                    .map_or_else(|| tenant.to_string(), |n| n.slug.clone());
                let name = match self.store().get(&keys::user(tenant, user))? {
                    Some(e) => codec::decode::<User>(&e.value)?.username,
                    None => user.to_string(),
                };
                Ok(format!("{slug}/{name}"))
            }
        }
    }
}
