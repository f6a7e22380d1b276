//! Password, lockout, MFA and cache policies per tenant: reading a tenant's own settings beside
//! what is in force, and changing them under the enforcement of the tenants above (a child may
//! only make an enforced setting stricter). The inheritance rules are
//! `tessera_policy::settings`; this module stores and authorises.

use super::{must, tenant_in};
use crate::actor::Actor;
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::{Group, PolicyView, TenantId, TenantPolicy};
use crate::store::keys;
use crate::Directory;
use std::collections::BTreeSet;
use std::sync::Arc;
use tessera_policy::settings::{check_local, effective, EffectivePolicy, PolicySettings};
use tessera_policy::{Area, Right};

/// Tenant policies. Obtain with [`Directory::policies`].
#[derive(Debug, Clone, Copy)]
pub struct Policies<'a> {
    dir: &'a Directory,
}

/// The policy in force at a tenant, with its MFA group lists: what authentication uses.
#[derive(Debug)]
pub(crate) struct PolicySnapshot {
    pub(crate) effective: EffectivePolicy,
    pub(crate) required_groups: BTreeSet<crate::model::GroupId>,
    pub(crate) exempt_groups: BTreeSet<crate::model::GroupId>,
    /// The version of the installation's policy marker it was computed under.
    pub(crate) version: crate::store::Version,
}

impl Directory {
    /// The policy in force at `tenant` (no authorisation: internal).
    pub(crate) fn policy_of(&self, tenant: TenantId) -> Result<Arc<PolicySnapshot>, Error> {
        let store = self.store();
        let version = self.cache().marker_version(store, &keys::policy_marker())?;
        let tree = self.cache().tree(store)?;
        if let Some(p) = self.cache().policy(tenant, version, &tree) {
            return Ok(p);
        }
        let mut chain = tree.chain(tenant);
        chain.reverse();
        let mut levels = Vec::with_capacity(chain.len());
        for t in &chain {
            levels.push(self.local_policy(*t)?);
        }
        let settings: Vec<&PolicySettings> = levels.iter().map(|l| &l.settings).collect();
        let own = levels.last().cloned().unwrap_or_default();
        let snap = Arc::new(PolicySnapshot {
            effective: effective(&settings),
            required_groups: own.mfa_required_groups,
            exempt_groups: own.mfa_exempt_groups,
            version,
        });
        self.cache().remember_policy(tenant, snap.clone(), &tree);
        Ok(snap)
    }

    fn local_policy(&self, t: TenantId) -> Result<TenantPolicy, Error> {
        match self.store().get(&keys::policy(t))? {
            Some(e) => crate::store::codec::decode(&e.value),
            None => Ok(TenantPolicy::default()),
        }
    }
}

impl<'a> Policies<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Policies { dir }
    }

    /// A tenant's own settings and what is in force there (Policies:Read).
    pub fn get(&self, actor: &Actor, tenant: TenantId) -> Result<PolicyView, Error> {
        self.dir
            .require(actor, tenant, Area::Policies, Right::Read)?;
        self.dir.txn(|tx| tenant_in(tx, tenant).map(|_| ()))?;
        let local = self.dir.local_policy(tenant)?;
        let effective = self.dir.policy_of(tenant)?.effective.clone();
        Ok(PolicyView { local, effective })
    }

    /// Replaces a tenant's own settings (Policies:Write). Every value must be at least as
    /// strict as what tenants above enforce; MFA group lists name groups of this tenant.
    pub fn set(
        &self,
        actor: &Actor,
        tenant: TenantId,
        policy: TenantPolicy,
    ) -> Result<PolicyView, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Policies, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        check_ranges(&policy)?;
        if let Some(sep) = &policy.settings.mfa.separator.value {
            if sep.chars().count() > 4 || sep.chars().any(|c| c.is_alphanumeric() || c.is_control())
            {
                return Err(crate::model::validate::invalid(
                    "mfa.separator",
                    "at most 4 characters, no letters, digits or control characters",
                ));
            }
        }
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let tree_v = tx.version(&keys::tree_marker())?;
            let tree = dir.cache().tree_at(dir.store(), tree_v)?;
            let mut ancestors = tree.chain(tenant);
            ancestors.reverse();
            ancestors.pop(); // the tenant itself
            let mut levels = Vec::new();
            for a in &ancestors {
                levels.push(
                    tx.get::<TenantPolicy>(&keys::policy(*a))?
                        .unwrap_or_default(),
                );
            }
            let floors: Vec<&PolicySettings> = levels.iter().map(|l| &l.settings).collect();
            check_local(&floors, &policy.settings).map_err(|w| {
                crate::model::validate::invalid(
                    "policy",
                    w.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            for g in policy
                .mfa_required_groups
                .iter()
                .chain(&policy.mfa_exempt_groups)
            {
                must::<Group>(tx, &keys::group(tenant, *g))?;
            }
            let before = tx
                .get::<TenantPolicy>(&keys::policy(tenant))?
                .unwrap_or_default();
            tx.put(keys::policy(tenant), &policy)?;
            tx.touch(keys::policy_marker())?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "policy.update",
                    target: "policy".into(),
                    before: summary(&before),
                    after: summary(&policy),
                    actor,
                    actor_name: &actor_name,
                },
            )
        })?;
        dir.verified().forget_all();
        let effective = dir.policy_of(tenant)?.effective.clone();
        Ok(PolicyView {
            local: policy,
            effective,
        })
    }
}

/// Values no tenant may set, enforced or not: they would lock everyone out or make a setting
/// meaningless.
fn check_ranges(p: &TenantPolicy) -> Result<(), Error> {
    use tessera_policy::settings::MaxAge;
    let bad =
        |field: &'static str, reason: &str| Err(crate::model::validate::invalid(field, reason));
    let s = &p.settings;
    if let Some(v) = &s.password.min_length.value {
        if !(8..=256).contains(&v.0) {
            return bad("password.min_length", "from 8 to 256 characters");
        }
    }
    if let Some(MaxAge::Days(d)) = &s.password.max_age.value {
        if !(1..=3650).contains(d) {
            return bad("password.max_age", "from 1 to 3650 days, or never");
        }
    }
    if let Some(v) = &s.password.history.value {
        if v.0 > 24 {
            return bad("password.history", "at most 24 earlier passwords");
        }
    }
    if let Some(v) = &s.lockout.threshold.value {
        if v.0 > 1000 {
            return bad(
                "lockout.threshold",
                "at most 1000 failures (0 turns lockout off)",
            );
        }
    }
    if let Some(v) = &s.lockout.window_secs.value {
        if !(1..=86_400).contains(&v.0) {
            return bad("lockout.window_secs", "from 1 second to 1 day");
        }
    }
    if let Some(v) = &s.lockout.duration_secs.value {
        if !(1..=30 * 86_400).contains(&v.0) {
            return bad("lockout.duration_secs", "from 1 second to 30 days");
        }
    }
    if let Some(v) = &s.cache.ttl_secs.value {
        if v.0 > 3600 {
            return bad("cache.ttl_secs", "at most one hour");
        }
    }
    if let Some(v) = &s.mfa.protocols.value {
        if v.contains(&tessera_policy::Protocol::Internal) {
            return bad("mfa.protocols", "internal work is not an authentication");
        }
    }
    Ok(())
}
