//! The RADIUS service: what the RADIUS frontend reads as the installation — every tenant's NAS
//! clients with their secrets opened, and the groups whose reply attributes a user gets — and
//! the accounting sessions NASes report, kept per tenant in memory (bounded; a restart forgets
//! them, the audit log keeps every report) and readable under Reports:Read; and the audit
//! record of a client served without Message-Authenticator. It decides nothing
//! about packets and never sees the wire.

use super::must;
use crate::actor::{Actor, Protocol};
use crate::error::Error;
use crate::model::{
    AccountingReport, AccountingStatus, AppId, AppKind, Application, AuditEvent, AuditKind,
    EventId, Group, GroupId, NasClient, RadiusSession, TenantId,
};
use crate::store::keys;
use crate::store::KeyRange;
use crate::Directory;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use tessera_policy::{Area, Right};

/// Sessions kept per tenant; beyond it the stopped (then the oldest) are forgotten first.
pub const MAX_SESSIONS_PER_TENANT: usize = 10_000;

/// One tenant's sessions by client and Acct-Session-Id.
type Sessions = HashMap<(AppId, String), RadiusSession>;

/// The accounting sessions of every tenant, in memory.
#[derive(Debug, Default)]
pub(crate) struct SessionTable {
    tenants: Mutex<HashMap<TenantId, Sessions>>,
}

/// RADIUS clients and accounting. Obtain with [`Directory::radius`].
#[derive(Debug, Clone, Copy)]
pub struct Radius<'a> {
    dir: &'a Directory,
}

impl<'a> Radius<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Radius { dir }
    }

    /// Every RADIUS client of every tenant, secrets opened: for the RADIUS frontend, which acts
    /// as the installation (the system actor); anybody else is refused.
    pub fn clients(&self, actor: &Actor) -> Result<Vec<NasClient>, Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        let dir = self.dir;
        let tree = dir.cache().tree(dir.store())?;
        let tenants = tree.all();
        let apps: Vec<Application> = dir.txn(|tx| {
            let mut apps = Vec::new();
            for t in &tenants {
                let rows: Vec<(_, Application)> =
                    tx.scan(&KeyRange::prefix(&keys::apps(*t)), usize::MAX)?;
                apps.extend(rows.into_iter().map(|(_, a)| a));
            }
            Ok(apps)
        })?;
        let mut out = Vec::new();
        for app in apps {
            let AppKind::Radius(c) = &app.kind else {
                continue;
            };
            let t = app.tenant;
            let secret = dir.applications().radius_secret(actor, t, app.id)?;
            out.push(NasClient {
                tenant: t,
                tenant_slug: tree.node(t).map(|n| n.slug.clone()).unwrap_or_default(),
                app: app.id,
                name: app.name.clone(),
                addresses: c.addresses.clone(),
                secret,
                require_message_authenticator: c.require_message_authenticator,
                reply: c.reply.clone(),
                bound_groups: app.bound_groups.clone(),
            });
        }
        Ok(out)
    }

    /// The groups among `groups` (a user's, from an authentication) bound to the RADIUS client
    /// `app`, by name case-insensitively: whose reply attributes the user gets, in the order the
    /// frontend applies them. The installation only.
    pub fn reply_groups(
        &self,
        actor: &Actor,
        tenant: TenantId,
        app: AppId,
        groups: &[GroupId],
    ) -> Result<Vec<Group>, Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        let mut out: Vec<Group> = self.dir.txn(|tx| {
            let a: Application = must(tx, &keys::app(tenant, app))?;
            let mut found = Vec::new();
            for g in groups.iter().filter(|g| a.bound_groups.contains(g)) {
                if let Some(group) = tx.get::<Group>(&keys::group(tenant, *g))? {
                    found.push(group);
                }
            }
            Ok(found)
        })?;
        out.sort_by(|a, b| {
            keys::fold(&a.name)
                .cmp(&keys::fold(&b.name))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// Records an Accounting-Request the frontend verified as coming from the client `app` of
    /// `tenant`: starts, updates or stops a session (Accounting-On/Off stop every open session
    /// of that client) and writes one audit event. The installation only.
    pub fn record_accounting(
        &self,
        actor: &Actor,
        tenant: TenantId,
        app: AppId,
        source: IpAddr,
        status: AccountingStatus,
        report: AccountingReport,
    ) -> Result<(), Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        let dir = self.dir;
        let client: Application = dir.txn(|tx| must(tx, &keys::app(tenant, app)))?;
        let report = report.bounded();
        let now = dir.now();
        let audit = self.event(
            &client,
            Some(source),
            format!("radius.accounting.{}", status.as_str()),
            match &report.username {
                Some(u) => format!("user:{u}"),
                None => format!("application:{}", client.name),
            },
            (!report.session_id.is_empty()).then(|| format!("session {}", report.session_id)),
        );
        {
            let mut all = dir.radius_sessions().tenants.lock();
            let sessions = all.entry(tenant).or_default();
            match status {
                AccountingStatus::AccountingOn | AccountingStatus::AccountingOff => {
                    for s in sessions.values_mut() {
                        if s.application == app && s.stopped_at.is_none() {
                            s.stopped_at = Some(now);
                            s.updated_at = now;
                        }
                    }
                }
                AccountingStatus::Start | AccountingStatus::Interim | AccountingStatus::Stop => {
                    let key = (app, report.session_id.clone());
                    if !sessions.contains_key(&key) && sessions.len() >= MAX_SESSIONS_PER_TENANT {
                        evict_one(sessions);
                    }
                    let s = sessions.entry(key).or_insert_with(|| RadiusSession {
                        application: app,
                        client: client.name.clone(),
                        source,
                        started_at: now,
                        updated_at: now,
                        stopped_at: None,
                        details: AccountingReport::default(),
                    });
                    s.source = source;
                    s.updated_at = now;
                    s.details.merge(report);
                    if status == AccountingStatus::Stop {
                        s.stopped_at = Some(now);
                    } else if status == AccountingStatus::Start {
                        // A session id reused after a stop starts over.
                        if s.stopped_at.take().is_some() {
                            s.started_at = now;
                        }
                    }
                }
            }
        }
        dir.journal().record(audit);
        Ok(())
    }

    /// Records in the client's tenant that a RADIUS client is served without requiring
    /// Message-Authenticator on its Access-Requests (`require_message_authenticator = false`):
    /// the frontend calls it once per client when it starts serving it, so the opt-out shows
    /// in the audit log as well as in the server's log. The installation only.
    pub fn record_legacy_client(
        &self,
        actor: &Actor,
        tenant: TenantId,
        app: AppId,
    ) -> Result<(), Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        let client: Application = self.dir.txn(|tx| must(tx, &keys::app(tenant, app)))?;
        let event = self.event(
            &client,
            None,
            "radius.client.message_authenticator_not_required".into(),
            format!("application:{}", client.name),
            Some(
                "served without requiring Message-Authenticator: open to BlastRADIUS \
                 (CVE-2024-3596) forgeries"
                    .into(),
            ),
        );
        self.dir.journal().record(event);
        Ok(())
    }

    /// An event of the RADIUS frontend in the client's tenant, acted by the client.
    fn event(
        &self,
        client: &Application,
        source: Option<IpAddr>,
        action: String,
        target: String,
        reason: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            id: EventId::from_uuid(self.dir.ids().uuid()),
            tenant: client.tenant,
            at: self.dir.now(),
            kind: AuditKind::Authentication,
            actor: format!("radius:{}", client.name),
            source,
            protocol: Protocol::Radius,
            action,
            target,
            application: Some(client.name.clone()),
            outcome: "success".into(),
            reason,
            before: None,
            after: None,
        }
    }

    /// The accounting sessions of a tenant, newest first (Reports:Read).
    pub fn sessions(&self, actor: &Actor, tenant: TenantId) -> Result<Vec<RadiusSession>, Error> {
        self.dir
            .require(actor, tenant, Area::Reports, Right::Read)?;
        let mut out: Vec<RadiusSession> = self
            .dir
            .radius_sessions()
            .tenants
            .lock()
            .get(&tenant)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        out.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| a.details.session_id.cmp(&b.details.session_id))
        });
        Ok(out)
    }
}

/// Forgets the stopped session updated longest ago, else the active one.
fn evict_one(sessions: &mut Sessions) {
    let victim = sessions
        .iter()
        .min_by_key(|(_, s)| (s.is_active(), s.updated_at))
        .map(|(k, _)| k.clone());
    if let Some(k) = victim {
        sessions.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, stopped: bool, at: i64) -> ((AppId, String), RadiusSession) {
        let app = AppId::from_uuid(uuid::Uuid::nil());
        let at = tessera_policy::Timestamp(at);
        let s = RadiusSession {
            application: app,
            client: "ap".into(),
            source: IpAddr::from([127, 0, 0, 1]),
            started_at: at,
            updated_at: at,
            stopped_at: stopped.then_some(at),
            details: AccountingReport {
                session_id: id.into(),
                ..Default::default()
            },
        };
        ((app, id.to_string()), s)
    }

    #[test]
    fn eviction_forgets_stopped_sessions_first_then_the_oldest() {
        let mut m: HashMap<_, _> = [
            session("old-active", false, 1),
            session("stopped", true, 5),
            session("new-active", false, 9),
        ]
        .into_iter()
        .collect();
        evict_one(&mut m);
        let mut left: Vec<&str> = m.values().map(|s| s.details.session_id.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["new-active", "old-active"]);
        evict_one(&mut m);
        let left: Vec<&str> = m.values().map(|s| s.details.session_id.as_str()).collect();
        assert_eq!(left, ["new-active"]);
    }
}
