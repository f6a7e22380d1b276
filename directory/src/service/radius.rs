//! The RADIUS service: what the RADIUS frontend reads as the installation — every tenant's NAS
//! clients with their secrets opened, and the groups whose reply attributes a user gets — and
//! the accounting sessions NASes report, kept in the store per tenant (keyed tenant, client,
//! Acct-Session-Id; bounded by a retention period and a per-tenant count, trimmed on write) and
//! readable under Reports:Read; and the audit record of a client served without
//! Message-Authenticator. It decides nothing about packets and never sees the wire.

use super::must;
use crate::actor::{Actor, Protocol};
use crate::error::Error;
use crate::model::{
    AccountingReport, AccountingStatus, AppId, AppKind, Application, AuditEvent, AuditKind,
    EventId, Group, GroupId, NasClient, RadiusSession, TenantId,
};
use crate::store::codec::{Record, Unit};
use crate::store::keys::{self, table, time_bytes, Key};
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use tessera_policy::{Area, Right, Timestamp};

/// Sessions kept per tenant; a new session beyond it forgets the one reported longest ago.
pub const MAX_SESSIONS_PER_TENANT: u64 = 10_000;
/// How long a session is kept after its last report (its Stop, for a stopped one), seconds:
/// a session no NAS has reported on for this long is forgotten (the audit log keeps every
/// report).
pub const SESSION_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// Sessions past retention removed per Accounting-Request, so the table shrinks as fast as it
/// grows without one request paying for a large clean-up.
const TRIM_PER_WRITE: usize = 16;

/// A session as stored (the API's shape flattens `details`; the store keeps it nested).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSession {
    application: AppId,
    client: String,
    source: IpAddr,
    started_at: Timestamp,
    updated_at: Timestamp,
    stopped_at: Option<Timestamp>,
    details: AccountingReport,
}

impl Record for StoredSession {
    const WHAT: &'static str = "RADIUS accounting session";
}

impl From<StoredSession> for RadiusSession {
    fn from(s: StoredSession) -> Self {
        RadiusSession {
            application: s.application,
            client: s.client,
            source: s.source,
            started_at: s.started_at,
            updated_at: s.updated_at,
            stopped_at: s.stopped_at,
            details: s.details,
        }
    }
}

/// How many sessions a tenant keeps.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct SessionCount {
    n: u64,
}

impl Record for SessionCount {
    const WHAT: &'static str = "RADIUS session count";
}

/// `client ‖ Acct-Session-Id`: the session's identity inside its tenant (the id, variable
/// length, comes last).
fn session_tail(app: AppId, session_id: &str) -> Vec<u8> {
    let mut v = app.key_bytes().to_vec();
    v.extend_from_slice(session_id.as_bytes());
    v
}

fn session_key(tenant: TenantId, tail: &[u8]) -> Key {
    keys::in_table(tenant, table::RADIUS_SESSION, &[tail])
}

/// The age index: `last report ‖ client ‖ Acct-Session-Id`, oldest first.
fn age_key(tenant: TenantId, at: Timestamp, tail: &[u8]) -> Key {
    keys::in_table(tenant, table::RADIUS_SESSION_AGE, &[&time_bytes(at), tail])
}

fn count_key(tenant: TenantId) -> Key {
    keys::in_table(tenant, table::RADIUS_SESSION_COUNT, &[])
}

/// Writes a session and moves its age-index entry from `was` (its previous last report).
fn save(
    tx: &mut Txn<'_>,
    tenant: TenantId,
    tail: &[u8],
    was: Option<Timestamp>,
    s: &StoredSession,
) -> Result<(), Error> {
    if let Some(was) = was {
        tx.delete(age_key(tenant, was, tail));
    }
    tx.put(age_key(tenant, s.updated_at, tail), &Unit {})?;
    tx.put(session_key(tenant, tail), s)
}

/// Forgets up to `limit` sessions, those reported longest ago first, among those last
/// reported before `before` (any, when `None`), sparing the session `keep`; returns how many.
fn forget_oldest(
    tx: &mut Txn<'_>,
    tenant: TenantId,
    before: Option<Timestamp>,
    limit: usize,
    keep: &[u8],
) -> Result<u64, Error> {
    let prefix = keys::table_of(tenant, table::RADIUS_SESSION_AGE);
    let cut = before.map(time_bytes);
    let range = KeyRange::prefix_between(&prefix, &[], cut.as_ref().map(|c| c.as_slice()));
    let rows: Vec<(Key, Unit)> = tx.scan(&range, limit.saturating_add(1))?;
    let mut gone = 0u64;
    for (k, _) in rows {
        let Some(tail) = k.tail(&prefix).and_then(|t| t.get(8..)) else {
            continue;
        };
        if tail == keep || gone >= limit as u64 {
            continue;
        }
        tx.delete(session_key(tenant, tail));
        tx.delete(k.clone());
        gone += 1;
    }
    Ok(gone)
}

/// Forgets a tenant's accounting sessions when the tenant is deleted.
pub(crate) fn forget_tenant(tx: &mut Txn<'_>, t: TenantId) -> Result<(), Error> {
    for tbl in [
        table::RADIUS_SESSION,
        table::RADIUS_SESSION_AGE,
        table::RADIUS_SESSION_COUNT,
    ] {
        let rows: Vec<(Key, Unit)> =
            tx.scan(&KeyRange::prefix(&keys::table_of(t, tbl)), usize::MAX)?;
        for (k, _) in rows {
            tx.delete(k);
        }
    }
    Ok(())
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
        self.account(
            (tenant, app, source),
            status,
            report,
            MAX_SESSIONS_PER_TENANT,
        )
    }

    /// [`Radius::record_accounting`] for the installation, keeping at most `cap` sessions.
    fn account(
        &self,
        (tenant, app, source): (TenantId, AppId, IpAddr),
        status: AccountingStatus,
        report: AccountingReport,
        cap: u64,
    ) -> Result<(), Error> {
        let dir = self.dir;
        let report = report.bounded();
        // One transaction: the client, the session, its index entry, trimming and the count.
        let client: Application = dir.txn(|tx| {
            let now = tx.now();
            let client: Application = must(tx, &keys::app(tenant, app))?;
            let client_name = client.name.clone();
            match status {
                AccountingStatus::AccountingOn | AccountingStatus::AccountingOff => {
                    let prefix = keys::table_of(tenant, table::RADIUS_SESSION);
                    let mine =
                        keys::in_table_prefix(tenant, table::RADIUS_SESSION, &[app.key_bytes()]);
                    let rows: Vec<(Key, StoredSession)> =
                        tx.scan(&KeyRange::prefix(&mine), usize::MAX)?;
                    for (k, mut s) in rows {
                        let Some(tail) = k.tail(&prefix).map(<[u8]>::to_vec) else {
                            continue;
                        };
                        if s.application != app || s.stopped_at.is_some() {
                            continue;
                        }
                        let was = s.updated_at;
                        s.stopped_at = Some(now);
                        s.updated_at = now;
                        save(tx, tenant, &tail, Some(was), &s)?;
                    }
                }
                AccountingStatus::Start | AccountingStatus::Interim | AccountingStatus::Stop => {
                    let tail = session_tail(app, &report.session_id);
                    let stored: Option<StoredSession> = tx.get(&session_key(tenant, &tail))?;
                    let mut count: SessionCount = tx.get(&count_key(tenant))?.unwrap_or_default();
                    let retention =
                        Timestamp::from_secs(now.as_secs().saturating_sub(SESSION_RETENTION_SECS));
                    let trimmed =
                        forget_oldest(tx, tenant, Some(retention), TRIM_PER_WRITE, &tail)?;
                    count.n = count.n.saturating_sub(trimmed);
                    let was = stored.as_ref().map(|s| s.updated_at);
                    let mut s = match stored {
                        Some(s) => s,
                        None => {
                            if count.n >= cap {
                                let over = count.n - cap + 1;
                                let gone = forget_oldest(
                                    tx,
                                    tenant,
                                    None,
                                    usize::try_from(over).unwrap_or(usize::MAX),
                                    &tail,
                                )?;
                                count.n = count.n.saturating_sub(gone);
                            }
                            count.n += 1;
                            StoredSession {
                                application: app,
                                client: client_name.clone(),
                                source,
                                started_at: now,
                                updated_at: now,
                                stopped_at: None,
                                details: AccountingReport::default(),
                            }
                        }
                    };
                    s.client = client_name.clone();
                    s.source = source;
                    s.updated_at = now;
                    s.details.merge(report.clone());
                    if status == AccountingStatus::Stop {
                        s.stopped_at = Some(now);
                    } else if status == AccountingStatus::Start {
                        // A session id reused after a stop starts over.
                        if s.stopped_at.take().is_some() {
                            s.started_at = now;
                        }
                    }
                    save(tx, tenant, &tail, was, &s)?;
                    if was.is_none() || trimmed > 0 {
                        tx.put(count_key(tenant), &count)?;
                    }
                }
            }
            Ok(client)
        })?;
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
        let rows: Vec<(Key, StoredSession)> = self.dir.txn(|tx| {
            tx.scan(
                &KeyRange::prefix(&keys::table_of(tenant, table::RADIUS_SESSION)),
                usize::MAX,
            )
        })?;
        let mut out: Vec<RadiusSession> = rows.into_iter().map(|(_, s)| s.into()).collect();
        out.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| a.details.session_id.cmp(&b.details.session_id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppKind, NewApplication, RadiusClient, SharedSecret};
    use crate::testkit::{new_tenant, TestDirectory};
    use std::collections::BTreeSet;
    use tessera_policy::TenantKind;

    #[test]
    fn beyond_the_cap_the_session_reported_longest_ago_is_forgotten() {
        let (td, root) = TestDirectory::with_root().unwrap();
        let d = &td.dir;
        let t = d
            .tenants()
            .create(
                &Actor::system(),
                root.id,
                new_tenant("contoso", TenantKind::Msp),
            )
            .unwrap();
        let app = d
            .applications()
            .create(
                &Actor::system(),
                t.id,
                NewApplication {
                    name: "ap".into(),
                    kind: AppKind::Radius(RadiusClient {
                        addresses: vec!["10.0.0.0/24".parse().unwrap()],
                        secret: SharedSecret::new("a-long-enough-secret"),
                        require_message_authenticator: true,
                        reply: vec![],
                    }),
                    bound_groups: BTreeSet::new(),
                },
            )
            .unwrap();
        let src = IpAddr::from([10, 0, 0, 5]);
        let r = d.radius();
        // "a" reports again after "c": "b" is then the one reported longest ago.
        for (status, id) in [
            (AccountingStatus::Start, "a"),
            (AccountingStatus::Start, "b"),
            (AccountingStatus::Start, "c"),
            (AccountingStatus::Interim, "a"),
            (AccountingStatus::Start, "d"),
        ] {
            let report = AccountingReport {
                session_id: id.into(),
                ..Default::default()
            };
            r.account((t.id, app.id, src), status, report, 3).unwrap();
            td.clock.advance_secs(1);
        }
        let mut ids: Vec<String> = r
            .sessions(&Actor::system(), t.id)
            .unwrap()
            .into_iter()
            .map(|s| s.details.session_id)
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "c", "d"]);
        // Deleting the tenant forgets its sessions and their index entries.
        d.applications()
            .delete(&Actor::system(), t.id, app.id)
            .unwrap();
        d.tenants().delete(&Actor::system(), t.id).unwrap();
        d.txn(|tx| {
            for tbl in [
                table::RADIUS_SESSION,
                table::RADIUS_SESSION_AGE,
                table::RADIUS_SESSION_COUNT,
            ] {
                let rows: Vec<(Key, Unit)> =
                    tx.scan(&KeyRange::prefix(&keys::table_of(t.id, tbl)), 10)?;
                assert!(rows.is_empty());
            }
            Ok(())
        })
        .unwrap();
    }
}
