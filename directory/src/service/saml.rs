//! The SAML service: what the SAML frontend needs from the core, as the installation (the
//! system actor): a tenant's IdP key (made by the frontend on first use, sealed under the master
//! key here), registered SPs by entity id, the seen-AuthnRequest-ID cache (in the store, so
//! several nodes share it; entries expire), and SSO sessions (only a hash of the cookie secret is
//! stored; idle and absolute timeouts; a session never leaves its tenant). It never parses XML,
//! signs, or sees the wire; passwords go through [`Directory::authenticate`] alone.

use super::must;
use crate::actor::{Actor, Protocol};
use crate::error::Error;
use crate::model::{
    AppId, AppKind, Application, AuditEvent, AuditKind, EventId, GroupId, IdpKey, NewIdpKey,
    SecretBytes, SessionLimits, SessionSecret, SsoSession, Status, TenantId, User, UserId,
};
use crate::store::codec::Record;
use crate::store::keys::{self, table, time_bytes, Key};
use crate::store::records::Ptr;
use crate::store::KeyRange;
use crate::Directory;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use tessera_policy::Timestamp;

/// The longest request id remembered (longer ones are refused by the frontend anyway).
pub const MAX_REQUEST_ID_LEN: usize = 256;
/// Expired seen-ids removed per new entry, so the cache shrinks as fast as it grows.
const PURGE_PER_INSERT: usize = 16;

/// The IdP key as stored: the private key and the pairwise secret sealed.
#[derive(Debug, Serialize, Deserialize)]
struct IdpKeyRecord {
    sealed_private_key: Vec<u8>,
    certificate_der: Vec<u8>,
    sealed_pairwise: Vec<u8>,
    created_at: Timestamp,
}

impl Record for IdpKeyRecord {
    const WHAT: &'static str = "SAML IdP key";
}

/// A request id already answered, until when it is remembered.
#[derive(Debug, Serialize, Deserialize)]
struct SeenId {
    until: Timestamp,
}

impl Record for SeenId {
    const WHAT: &'static str = "seen SAML request id";
}

impl Record for SsoSession {
    const WHAT: &'static str = "SSO session";
}

/// An SSO session was used for another login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionUse {
    /// The session's user may use the SP: the user, transitive groups and the session.
    Granted(Box<SessionLogin>),
    /// The session is live but its user is not in one of the SP's bound groups.
    NotAllowed,
}

/// What a login through a live session carries to the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLogin {
    /// The user.
    pub user: User,
    /// Every group the user is in, transitively.
    pub groups: Vec<GroupId>,
    /// The session, with the SP added to its participants.
    pub session: SsoSession,
}

/// SAML support for the SAML frontend. Obtain with [`Directory::saml`].
#[derive(Debug, Clone, Copy)]
pub struct Saml<'a> {
    dir: &'a Directory,
}

fn idp_key_key(t: TenantId) -> Key {
    keys::in_table(t, table::SAML_IDP_KEY, &[])
}

fn aad(what: &[u8], t: TenantId) -> Vec<u8> {
    let mut v = what.to_vec();
    v.extend_from_slice(t.key_bytes());
    v
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn session_key(t: TenantId, secret: &SessionSecret) -> Key {
    keys::in_table(
        t,
        table::SAML_SESSION,
        &[&digest(&[secret.expose().as_bytes()])],
    )
}

fn refuse_non_system(actor: &Actor) -> Result<(), Error> {
    if actor.is_system() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

impl<'a> Saml<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Saml { dir }
    }

    /// The tenant's IdP key. On first use `make` produces one (RSA ≥ 2048 with a self-signed
    /// certificate: the frontend's crypto library makes it), which is sealed and kept; when two
    /// nodes race, both end up with the one stored first. The installation only.
    pub fn idp_key(
        &self,
        actor: &Actor,
        tenant: TenantId,
        make: &dyn Fn() -> Result<NewIdpKey, Error>,
    ) -> Result<IdpKey, Error> {
        refuse_non_system(actor)?;
        let dir = self.dir;
        let k = idp_key_key(tenant);
        let stored: Option<IdpKeyRecord> = dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            tx.get(&k)
        })?;
        let rec = match stored {
            Some(r) => r,
            None => {
                let new = make()?;
                let mut pairwise = [0u8; 32];
                dir.ids().fill(&mut pairwise);
                let fresh = IdpKeyRecord {
                    sealed_private_key: dir.master_key().seal(
                        dir.ids(),
                        &aad(b"saml-idp-key:", tenant),
                        new.private_key_der.expose(),
                    )?,
                    certificate_der: new.certificate_der.clone(),
                    sealed_pairwise: dir.master_key().seal(
                        dir.ids(),
                        &aad(b"saml-pairwise:", tenant),
                        &pairwise,
                    )?,
                    created_at: dir.now(),
                };
                dir.txn(|tx| {
                    super::tenant_in(tx, tenant)?;
                    if let Some(winner) = tx.get::<IdpKeyRecord>(&k)? {
                        return Ok(winner);
                    }
                    tx.put(k.clone(), &fresh)?;
                    Ok(IdpKeyRecord {
                        sealed_private_key: fresh.sealed_private_key.clone(),
                        certificate_der: fresh.certificate_der.clone(),
                        sealed_pairwise: fresh.sealed_pairwise.clone(),
                        created_at: fresh.created_at,
                    })
                })?
            }
        };
        let key = dir
            .master_key()
            .open(&aad(b"saml-idp-key:", tenant), &rec.sealed_private_key)?;
        let pairwise = dir
            .master_key()
            .open(&aad(b"saml-pairwise:", tenant), &rec.sealed_pairwise)?;
        Ok(IdpKey {
            tenant,
            private_key_der: SecretBytes::new(key.to_vec()),
            certificate_der: rec.certificate_der,
            pairwise_secret: SecretBytes::new(pairwise.to_vec()),
            created_at: rec.created_at,
        })
    }

    /// The SAML service provider of `tenant` registered with `entity_id`; `NotFound` for any
    /// other tenant's SP. The installation only.
    pub fn service_provider(
        &self,
        actor: &Actor,
        tenant: TenantId,
        entity_id: &str,
    ) -> Result<Application, Error> {
        refuse_non_system(actor)?;
        let app: Application = self.dir.txn(|tx| {
            let id = must::<Ptr<AppId>>(tx, &keys::app_by_entity_id(tenant, entity_id))?.id;
            must(tx, &keys::app(tenant, id))
        })?;
        match &app.kind {
            AppKind::Saml(_) if app.tenant == tenant => Ok(app),
            _ => Err(Error::NotFound),
        }
    }

    /// Remembers an AuthnRequest id of the SP `app` until `until`: `AlreadyExists` when it was
    /// seen before and is still remembered (a replay). Removes a few expired entries each time.
    /// The installation only.
    pub fn remember_request(
        &self,
        actor: &Actor,
        tenant: TenantId,
        app: AppId,
        request_id: &str,
        until: Timestamp,
    ) -> Result<(), Error> {
        refuse_non_system(actor)?;
        if request_id.is_empty() || request_id.len() > MAX_REQUEST_ID_LEN {
            return Err(crate::model::validate::invalid(
                "request_id",
                "1 to 256 bytes",
            ));
        }
        let h = digest(&[app.key_bytes(), request_id.as_bytes()]);
        let k = keys::in_table(tenant, table::SAML_SEEN_ID, &[&h]);
        self.dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            let now = tx.now();
            if let Some(seen) = tx.get::<SeenId>(&k)? {
                if now < seen.until {
                    return Err(Error::AlreadyExists { what: "request id" });
                }
            }
            // Expired entries go first, oldest first (the expiry index sorts by time).
            let expired = keys::table_of(tenant, table::SAML_SEEN_EXPIRY);
            let range = KeyRange::prefix_between(&expired, &[], Some(&time_bytes(now)));
            let old: Vec<(Key, Ptr<[u8; 32]>)> = tx.scan(&range, PURGE_PER_INSERT)?;
            for (ek, p) in old {
                tx.delete(keys::in_table(tenant, table::SAML_SEEN_ID, &[&p.id]));
                tx.delete(ek);
            }
            tx.put(k.clone(), &SeenId { until })?;
            tx.put(
                keys::in_table(tenant, table::SAML_SEEN_EXPIRY, &[&time_bytes(until), &h]),
                &Ptr { id: h },
            )
        })
    }

    /// Opens an SSO session for a user who just authenticated (through
    /// [`Directory::authenticate`]) for the SP `app`. The installation only.
    pub fn open_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        (user, app): (UserId, AppId),
        mfa: bool,
        limits: SessionLimits,
    ) -> Result<(SessionSecret, SsoSession), Error> {
        refuse_non_system(actor)?;
        let dir = self.dir;
        let mut raw = [0u8; 32];
        dir.ids().fill(&mut raw);
        let secret = SessionSecret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
        let mut idx = [0u8; 16];
        dir.ids().fill(&mut idx);
        let now = dir.now();
        let session = SsoSession {
            tenant,
            user,
            index: format!(
                "_s{}",
                idx.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            mfa,
            authn_instant: now,
            last_seen: now,
            limits,
            participants: [app].into(),
        };
        dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            must::<User>(tx, &keys::user(tenant, user))?;
            tx.put(session_key(tenant, &secret), &session)
        })?;
        Ok((secret, session))
    }

    /// Uses a live SSO session of `tenant` for a login at the SP `app` without a password: the
    /// user and the tenant must still be active, and the user in one of the SP's bound groups.
    /// `Unauthenticated` when there is no live session of this tenant under that secret. One
    /// audit event. The stored last use moves at most once a minute (and when the SP is new
    /// to the session). The installation only.
    pub fn resume_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        secret: &SessionSecret,
        app: AppId,
        source: Option<IpAddr>,
    ) -> Result<SessionUse, Error> {
        refuse_non_system(actor)?;
        let dir = self.dir;
        let k = session_key(tenant, secret);
        let now = dir.now();
        let found: Option<(SsoSession, User, Application)> = dir.txn(|tx| {
            let Some(s) = tx.get::<SsoSession>(&k)? else {
                return Ok(None);
            };
            if !s.live_at(tx.now()) || s.tenant != tenant {
                tx.delete(k.clone());
                return Ok(None);
            }
            let Some(u) = tx.get::<User>(&keys::user(tenant, s.user))? else {
                tx.delete(k.clone());
                return Ok(None);
            };
            let a: Application = must(tx, &keys::app(tenant, app))?;
            Ok(Some((s, u, a)))
        })?;
        let Some((mut session, user, application)) = found else {
            return Err(Error::Unauthenticated);
        };
        let tree = dir.cache().tree(dir.store())?;
        if user.status != Status::Active || !tree.chain_active(tenant) {
            self.end_session(actor, tenant, secret)?;
            return Err(Error::Unauthenticated);
        }
        let groups = dir
            .cache()
            .graph(dir.store(), tenant)?
            .groups_of_user(user.id);
        let allowed = application.bound_groups.iter().any(|g| groups.contains(g));
        let mut event = AuditEvent {
            id: EventId::from_uuid(dir.ids().uuid()),
            tenant,
            at: now,
            kind: AuditKind::Authentication,
            actor: format!("user:{}", user.username),
            source,
            protocol: Protocol::Saml,
            action: "saml.sso_session".into(),
            target: format!("user:{}", user.username),
            application: Some(application.name.clone()),
            outcome: "success".into(),
            reason: Some("an existing SSO session".into()),
            before: None,
            after: None,
        };
        if !allowed {
            event.outcome = "not_allowed".into();
            dir.journal().record(event);
            return Ok(SessionUse::NotAllowed);
        }
        // The last use is stored at most once a minute per session, and whenever an SP joins
        // (single logout needs the list): an SSO answer within the minute costs no durable
        // write, and the idle timeout ends a session at most a minute early, never late.
        const LAST_SEEN_STEP_SECS: i64 = 60;
        let stale = session.last_seen.plus_secs(LAST_SEEN_STEP_SECS) <= now;
        let joined = session.participants.insert(app);
        session.last_seen = now;
        if stale || joined {
            let stored = session.clone();
            dir.txn(|tx| {
                if tx.exists(&k)? {
                    tx.put(k.clone(), &stored)?;
                }
                Ok(())
            })?;
        }
        dir.journal().record(event);
        Ok(SessionUse::Granted(Box::new(SessionLogin {
            user,
            groups: groups.into_iter().collect(),
            session,
        })))
    }

    /// Ends an SSO session (logout, or a user who can no longer use it); returns it when it
    /// existed. The installation only.
    pub fn end_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        secret: &SessionSecret,
    ) -> Result<Option<SsoSession>, Error> {
        refuse_non_system(actor)?;
        let k = session_key(tenant, secret);
        self.dir.txn(|tx| {
            let s = tx.get::<SsoSession>(&k)?;
            tx.delete(k.clone());
            Ok(s)
        })
    }
}

/// Forgets a tenant's SAML state (its key, seen ids and sessions) when the tenant is deleted.
pub(crate) fn forget_tenant(tx: &mut crate::store::txn::Txn<'_>, t: TenantId) -> Result<(), Error> {
    for tbl in [
        table::SAML_IDP_KEY,
        table::SAML_SEEN_ID,
        table::SAML_SEEN_EXPIRY,
        table::SAML_SESSION,
    ] {
        let rows: Vec<(Key, crate::store::codec::Unit)> =
            tx.scan(&KeyRange::prefix(&keys::table_of(t, tbl)), usize::MAX)?;
        for (k, _) in rows {
            tx.delete(k);
        }
    }
    Ok(())
}
