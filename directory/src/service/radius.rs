//! The RADIUS service: what the RADIUS frontend reads as the installation — every tenant's NAS
//! clients with their secrets opened, and the groups whose reply attributes a user gets — and
//! the accounting sessions NASes report, kept in the store per tenant (keyed tenant, client,
//! Acct-Session-Id; bounded by a retention period and a per-tenant count, trimmed on write) and
//! readable under Reports:Read; each tenant's EAP-TTLS server certificate and key (generated
//! here on first use, or installed by an administrator under Applications:Write; the private
//! key sealed under the master key; `eap_cert` does the X.509); and the audit record of a client
//! served without Message-Authenticator. It decides nothing about packets and never sees the
//! wire.

mod eap_cert;

use super::{must, tenant_in};
use crate::actor::{Actor, Protocol};
use crate::audit::Change;
use crate::error::Error;
use crate::model::{
    AccountingReport, AccountingStatus, AppId, AppKind, Application, AuditEvent, AuditKind,
    EapCertificate, EapCertificateSource, EapKey, EapKeyFormat, EapPrivateKey, EventId, Group,
    GroupId, NasClient, NewEapCertificate, RadiusSession, SecretBytes, TenantId,
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

/// A tenant's EAP-TTLS certificate and key as stored (one record for the generated pair, one
/// for the installed): the private key sealed, the details read once when it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EapKeyRecord {
    sealed_private_key: Vec<u8>,
    key_format: EapKeyFormat,
    chain_der: Vec<Vec<u8>>,
    leaf: eap_cert::Leaf,
    created_at: Timestamp,
}

impl Record for EapKeyRecord {
    const WHAT: &'static str = "EAP-TTLS key";
}

fn slot(source: EapCertificateSource) -> u8 {
    match source {
        EapCertificateSource::Generated => 0,
        EapCertificateSource::Installed => 1,
    }
}

fn eap_key_key(t: TenantId, source: EapCertificateSource) -> Key {
    keys::in_table(t, table::RADIUS_EAP_KEY, &[&[slot(source)]])
}

/// What a tenant's sealed EAP-TTLS key is bound to: the tenant and which of its two keys.
fn eap_key_aad(t: TenantId, source: EapCertificateSource) -> Vec<u8> {
    let mut v = b"radius-eap-key:".to_vec();
    v.extend_from_slice(t.key_bytes());
    v.push(slot(source));
    v
}

fn eap_certificate(
    tenant: TenantId,
    source: EapCertificateSource,
    r: EapKeyRecord,
) -> EapCertificate {
    EapCertificate {
        tenant,
        source,
        chain_der: r.chain_der,
        subject: r.leaf.subject,
        issuer: r.leaf.issuer,
        not_before: r.leaf.not_before,
        not_after: r.leaf.not_after,
        sha256: r.leaf.sha256,
        created_at: r.created_at,
    }
}

/// What the audit log keeps of a certificate: never the key.
fn eap_summary(source: EapCertificateSource, r: &EapKeyRecord) -> Option<serde_json::Value> {
    let hex: String = r.leaf.sha256.iter().map(|b| format!("{b:02x}")).collect();
    Some(serde_json::json!({
        "source": source.as_str(),
        "subject": r.leaf.subject,
        "issuer": r.leaf.issuer,
        "not_after": r.leaf.not_after.to_rfc3339(),
        "fingerprint_sha256": hex,
    }))
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
        table::RADIUS_EAP_KEY,
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
        let a = self
            .dir
            .cache()
            .application(self.dir.store(), tenant, app)?
            .ok_or(Error::NotFound)?;
        let mut out: Vec<Group> = Vec::new();
        for g in groups.iter().filter(|g| a.bound_groups.contains(g)) {
            let key = keys::group(tenant, *g);
            if let Some(group) = self.dir.cache().record::<Group>(self.dir.store(), &key)? {
                out.push(Group::clone(&group));
            }
        }
        out.sort_by(|a, b| {
            keys::fold(&a.name)
                .cmp(&keys::fold(&b.name))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The tenant's EAP-TTLS certificate and private key, as the tunnel presents them: the
    /// installed pair if an administrator gave one, else the generated pair — made here on first
    /// use (ECDSA P-256, self-signed, `CN=radius.<slug>.tessera`) and made anew once it has
    /// expired; when two nodes race, both end up with the one stored first. The installation
    /// only (the RADIUS frontend).
    pub fn eap_key(&self, actor: &Actor, tenant: TenantId) -> Result<EapKey, Error> {
        if !actor.is_system() {
            return Err(Error::Forbidden);
        }
        let (source, rec) = self.served_eap_key(tenant)?;
        let key = self
            .dir
            .master_key()
            .open(&eap_key_aad(tenant, source), &rec.sealed_private_key)?;
        let format = rec.key_format;
        Ok(EapKey {
            certificate: eap_certificate(tenant, source, rec),
            private_key: EapPrivateKey {
                format,
                der: SecretBytes::new(key.to_vec()),
            },
        })
    }

    /// The tenant's EAP-TTLS certificate as supplicants are shown it, to give them as their CA
    /// certificate or to pin (Applications:Read). Never the key. A tenant without one gets its
    /// generated certificate made now, as [`Radius::eap_key`] would.
    pub fn eap_certificate(
        &self,
        actor: &Actor,
        tenant: TenantId,
    ) -> Result<EapCertificate, Error> {
        self.dir
            .require(actor, tenant, Area::Applications, Right::Read)?;
        let (source, rec) = self.served_eap_key(tenant)?;
        Ok(eap_certificate(tenant, source, rec))
    }

    /// Installs the tenant's own EAP-TTLS certificate chain and private key (Applications:Write),
    /// e.g. from a CA its devices already trust, in place of the generated one (or of an earlier
    /// installed one). Checked first, with a reason a person can act on (`Invalid` on
    /// `certificate` or `private_key`): PEM that parses, the server certificate first and then
    /// each certificate that issued the one before, all inside their validity period, the server
    /// certificate fit for a TLS server, and an unencrypted RSA, ECDSA or Ed25519 key that is
    /// the server certificate's. The next
    /// conversation presents it; audited without the key.
    pub fn install_eap_certificate(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewEapCertificate,
    ) -> Result<EapCertificate, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let now = dir.now();
        let material = eap_cert::check_pem(&new, now)?;
        let source = EapCertificateSource::Installed;
        let rec = self.seal_eap_key(tenant, source, material, now)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let k = eap_key_key(tenant, source);
            let before: Option<EapKeyRecord> = tx.get(&k)?;
            tx.put(k, &rec)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "radius.eap_certificate.install",
                    target: "eap-certificate".into(),
                    before: before.as_ref().and_then(|b| eap_summary(source, b)),
                    after: eap_summary(source, &rec),
                    actor,
                    actor_name: &actor_name,
                },
            )
        })?;
        Ok(eap_certificate(tenant, source, rec))
    }

    /// Removes the tenant's installed EAP-TTLS certificate, if any (Applications:Write): the
    /// tunnel goes back to the generated one (the same as before the installation, or made now
    /// if the tenant never had one), which is returned.
    pub fn remove_eap_certificate(
        &self,
        actor: &Actor,
        tenant: TenantId,
    ) -> Result<EapCertificate, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        let source = EapCertificateSource::Installed;
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let k = eap_key_key(tenant, source);
            let Some(before) = tx.get::<EapKeyRecord>(&k)? else {
                return Ok(());
            };
            tx.delete(k);
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "radius.eap_certificate.remove",
                    target: "eap-certificate".into(),
                    before: eap_summary(source, &before),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )
        })?;
        let (source, rec) = self.served_eap_key(tenant)?;
        Ok(eap_certificate(tenant, source, rec))
    }

    /// Seals a checked pair for storing.
    fn seal_eap_key(
        &self,
        tenant: TenantId,
        source: EapCertificateSource,
        m: eap_cert::Material,
        now: Timestamp,
    ) -> Result<EapKeyRecord, Error> {
        let dir = self.dir;
        Ok(EapKeyRecord {
            sealed_private_key: dir.master_key().seal(
                dir.ids(),
                &eap_key_aad(tenant, source),
                &m.key_der,
            )?,
            key_format: m.key_format,
            chain_der: m.chain_der,
            leaf: m.leaf,
            created_at: now,
        })
    }

    /// The pair the tunnel presents: the installed one, else the generated one, made (or made
    /// anew, when expired) outside any transaction and stored unless another node stored one
    /// first.
    fn served_eap_key(
        &self,
        tenant: TenantId,
    ) -> Result<(EapCertificateSource, EapKeyRecord), Error> {
        use EapCertificateSource::{Generated, Installed};
        let dir = self.dir;
        let now = dir.now();
        let (ik, gk) = (
            eap_key_key(tenant, Installed),
            eap_key_key(tenant, Generated),
        );
        let live = |r: &EapKeyRecord| r.leaf.not_after > now;
        let (slug, installed, generated) = dir.txn(|tx| {
            let t = tenant_in(tx, tenant)?;
            Ok((
                t.slug,
                tx.get::<EapKeyRecord>(&ik)?,
                tx.get::<EapKeyRecord>(&gk)?,
            ))
        })?;
        if let Some(r) = installed {
            return Ok((Installed, r));
        }
        let expired = match generated {
            Some(r) if live(&r) => return Ok((Generated, r)),
            Some(r) => Some(r),
            None => None,
        };
        let mut serial = [0u8; 16];
        dir.ids().fill(&mut serial);
        let material = eap_cert::generate(&slug, now, serial)?;
        let fresh = self.seal_eap_key(tenant, Generated, material, now)?;
        let (source, rec, renewed) = dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            if let Some(r) = tx.get::<EapKeyRecord>(&ik)? {
                return Ok((Installed, r, false));
            }
            if let Some(r) = tx.get::<EapKeyRecord>(&gk)?.filter(live) {
                return Ok((Generated, r, false));
            }
            tx.put(gk.clone(), &fresh)?;
            if let Some(old) = &expired {
                // Devices that pinned the old certificate must be given the new one.
                dir.record_change(
                    tx,
                    Change {
                        tenant,
                        action: "radius.eap_certificate.renew",
                        target: "eap-certificate".into(),
                        before: eap_summary(Generated, old),
                        after: eap_summary(Generated, &fresh),
                        actor: &Actor::system(),
                        actor_name: "system",
                    },
                )?;
            }
            Ok((Generated, fresh.clone(), expired.is_some()))
        })?;
        if renewed {
            tracing::warn!(
                tenant = %slug,
                "the generated EAP-TTLS certificate had expired: made a new one (supplicants that \
                 pinned the old one must be given it)"
            );
        }
        Ok((source, rec))
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
        // Deleting the tenant forgets its sessions and their index entries, and its EAP keys.
        r.eap_key(&Actor::system(), t.id).unwrap();
        d.applications()
            .delete(&Actor::system(), t.id, app.id)
            .unwrap();
        d.tenants().delete(&Actor::system(), t.id).unwrap();
        d.txn(|tx| {
            for tbl in [
                table::RADIUS_SESSION,
                table::RADIUS_SESSION_AGE,
                table::RADIUS_SESSION_COUNT,
                table::RADIUS_EAP_KEY,
            ] {
                let rows: Vec<(Key, Unit)> =
                    tx.scan(&KeyRange::prefix(&keys::table_of(t.id, tbl)), 10)?;
                assert!(rows.is_empty());
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn eap_private_keys_are_sealed_to_their_tenant_and_slot() {
        let (td, root) = TestDirectory::with_root().unwrap();
        let d = &td.dir;
        let sys = Actor::system();
        let key = d.radius().eap_key(&sys, root.id).unwrap();
        let der = key.private_key.der.expose();
        let gk = eap_key_key(root.id, EapCertificateSource::Generated);
        let rec: EapKeyRecord = d.txn(|tx| must(tx, &gk)).unwrap();
        assert!(
            !rec.sealed_private_key.windows(der.len()).any(|w| w == der),
            "the key is not stored in the clear"
        );
        let mk = d.master_key();
        let opened = mk
            .open(
                &eap_key_aad(root.id, EapCertificateSource::Generated),
                &rec.sealed_private_key,
            )
            .unwrap();
        assert_eq!(&opened[..], der);
        // Not under the installed slot's binding, nor another tenant's.
        let other = TenantId::from_uuid(d.ids().uuid());
        for aad in [
            eap_key_aad(root.id, EapCertificateSource::Installed),
            eap_key_aad(other, EapCertificateSource::Generated),
        ] {
            assert!(mk.open(&aad, &rec.sealed_private_key).is_err());
        }
    }
}
