//! The SAML service: what the SAML frontend needs from the core, as the installation (the
//! system actor): a tenant's IdP key (made by the frontend on first use, sealed under the master
//! key here), registered SPs by entity id, the seen-AuthnRequest-ID cache (in the store, so
//! several nodes share it; entries expire), and SSO sessions (only a hash of the cookie secret is
//! stored; idle and absolute timeouts; a session never leaves its tenant). For administrators
//! (Applications rights) it keeps the IdP key rotation: a next key published before it signs,
//! its activation (the old key retired, still published until removed), and removal. It never
//! parses XML, signs, or sees the wire; passwords go through [`Directory::authenticate`] alone.

use super::must;
use crate::actor::{Actor, Protocol};
use crate::audit::Change;
use crate::error::Error;
use crate::model::{
    AppId, AppKind, Application, AuditEvent, AuditKind, EventId, GroupId, IdpKey, IdpKeyInfo,
    IdpKeyState, NewIdpKey, SecretBytes, SessionLimits, SessionSecret, SsoSession, Status,
    TenantId, User, UserId,
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
use tessera_policy::{Area, Right, Timestamp};

/// The longest request id remembered (longer ones are refused by the frontend anyway).
pub const MAX_REQUEST_ID_LEN: usize = 256;
/// Expired seen-ids removed per new entry, so the cache shrinks as fast as it grows.
const PURGE_PER_INSERT: usize = 16;

/// Retired keys kept (published) at most: beyond, one must be removed before the next
/// activation.
pub const MAX_RETIRED_IDP_KEYS: usize = 4;

const NEXT_WAITING: &str = "a next IdP key is waiting: activate or remove it first";
const NO_NEXT: &str = "there is no next IdP key to activate: create one first";

/// The IdP keys as stored: the active key's private key and the pairwise secret sealed. The
/// fields after `created_at` came with key rotation; records written before read with none.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdpKeyRecord {
    sealed_private_key: Vec<u8>,
    certificate_der: Vec<u8>,
    sealed_pairwise: Vec<u8>,
    created_at: Timestamp,
    /// When the active key began to sign (`None`: the tenant's first key).
    #[serde(default)]
    activated_at: Option<Timestamp>,
    /// The next key: published, not signing yet.
    #[serde(default)]
    next: Option<NextKey>,
    /// Keys that signed before, newest first: published until removed; private keys dropped.
    #[serde(default)]
    retired: Vec<RetiredKey>,
}

/// The next key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NextKey {
    sealed_private_key: Vec<u8>,
    certificate_der: Vec<u8>,
    created_at: Timestamp,
}

/// A retired key as stored: its certificate only.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RetiredKey {
    certificate_der: Vec<u8>,
    created_at: Timestamp,
    activated_at: Option<Timestamp>,
    retired_at: Timestamp,
}

/// SHA-256 of a certificate, lower-case hex.
fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl IdpKeyRecord {
    /// Every key, active first, then the next one, then retired ones (newest first).
    fn infos(&self) -> Vec<IdpKeyInfo> {
        let mut out = vec![IdpKeyInfo {
            state: IdpKeyState::Active,
            fingerprint: fingerprint(&self.certificate_der),
            certificate_der: self.certificate_der.clone(),
            created_at: self.created_at,
            activated_at: self.activated_at,
            retired_at: None,
        }];
        if let Some(n) = &self.next {
            out.push(IdpKeyInfo {
                state: IdpKeyState::Next,
                fingerprint: fingerprint(&n.certificate_der),
                certificate_der: n.certificate_der.clone(),
                created_at: n.created_at,
                activated_at: None,
                retired_at: None,
            });
        }
        out.extend(self.retired.iter().map(|r| IdpKeyInfo {
            state: IdpKeyState::Retired,
            fingerprint: fingerprint(&r.certificate_der),
            certificate_der: r.certificate_der.clone(),
            created_at: r.created_at,
            activated_at: r.activated_at,
            retired_at: Some(r.retired_at),
        }));
        out
    }

    /// What the audit log keeps of the keys: states and fingerprints.
    fn summary(&self) -> Option<serde_json::Value> {
        let keys: Vec<serde_json::Value> = self
            .infos()
            .iter()
            .map(|k| serde_json::json!({"state": k.state, "fingerprint": k.fingerprint}))
            .collect();
        Some(serde_json::json!({ "keys": keys }))
    }
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
                let fresh = self.fresh_record(tenant, make)?;
                dir.txn(|tx| {
                    super::tenant_in(tx, tenant)?;
                    if let Some(winner) = tx.get::<IdpKeyRecord>(&k)? {
                        return Ok(winner);
                    }
                    tx.put(k.clone(), &fresh)?;
                    Ok(fresh.clone())
                })?
            }
        };
        let key = dir
            .master_key()
            .open(&aad(b"saml-idp-key:", tenant), &rec.sealed_private_key)?;
        let pairwise = dir
            .master_key()
            .open(&aad(b"saml-pairwise:", tenant), &rec.sealed_pairwise)?;
        let published = rec.infos().into_iter().map(|i| i.certificate_der).collect();
        Ok(IdpKey {
            tenant,
            private_key_der: SecretBytes::new(key.to_vec()),
            certificate_der: rec.certificate_der,
            published,
            pairwise_secret: SecretBytes::new(pairwise.to_vec()),
            created_at: rec.created_at,
        })
    }

    /// A new key record (a key from `make`, a new pairwise secret), sealed, not stored yet.
    fn fresh_record(
        &self,
        tenant: TenantId,
        make: &dyn Fn() -> Result<NewIdpKey, Error>,
    ) -> Result<IdpKeyRecord, Error> {
        let dir = self.dir;
        let new = self.sealed_key(tenant, make)?;
        let mut pairwise = [0u8; 32];
        dir.ids().fill(&mut pairwise);
        Ok(IdpKeyRecord {
            sealed_private_key: new.sealed_private_key,
            certificate_der: new.certificate_der,
            sealed_pairwise: dir.master_key().seal(
                dir.ids(),
                &aad(b"saml-pairwise:", tenant),
                &pairwise,
            )?,
            created_at: new.created_at,
            activated_at: None,
            next: None,
            retired: Vec::new(),
        })
    }

    /// A key from `make`, its private key sealed to the tenant.
    fn sealed_key(
        &self,
        tenant: TenantId,
        make: &dyn Fn() -> Result<NewIdpKey, Error>,
    ) -> Result<NextKey, Error> {
        let dir = self.dir;
        let new = make()?;
        Ok(NextKey {
            sealed_private_key: dir.master_key().seal(
                dir.ids(),
                &aad(b"saml-idp-key:", tenant),
                new.private_key_der.expose(),
            )?,
            certificate_der: new.certificate_der.clone(),
            created_at: dir.now(),
        })
    }

    /// The tenant's IdP signing keys: the active one, the next one and retired ones
    /// (Applications:Read). Empty while the tenant's IdP has not been used: its first key is made
    /// on first use (or by [`Saml::prepare_next_idp_key`]).
    pub fn idp_keys(&self, actor: &Actor, tenant: TenantId) -> Result<Vec<IdpKeyInfo>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Read)?;
        let rec: Option<IdpKeyRecord> = dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            tx.get(&idp_key_key(tenant))
        })?;
        Ok(rec.map(|r| r.infos()).unwrap_or_default())
    }

    /// Makes the tenant's next IdP key with `make` (Applications:Write): the metadata publishes
    /// its certificate beside the active one from now on, while the active key goes on signing.
    /// A tenant without a key yet gets its active key made too. `NotAllowed` while a next key is
    /// waiting (activate or remove it first). One audit event.
    pub fn prepare_next_idp_key(
        &self,
        actor: &Actor,
        tenant: TenantId,
        make: &dyn Fn() -> Result<NewIdpKey, Error>,
    ) -> Result<Vec<IdpKeyInfo>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        let k = idp_key_key(tenant);
        let stored: Option<IdpKeyRecord> = dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            tx.get(&k)
        })?;
        if stored.as_ref().is_some_and(|r| r.next.is_some()) {
            return Err(Error::NotAllowed(NEXT_WAITING));
        }
        let first = match stored {
            Some(_) => None,
            None => Some(self.fresh_record(tenant, make)?),
        };
        let next = self.sealed_key(tenant, make)?;
        let target = format!("saml-idp-key:{}", fingerprint(&next.certificate_der));
        self.change(
            actor,
            &actor_name,
            tenant,
            "saml.idp_key.next",
            target,
            |rec| {
                let mut rec = match rec {
                    Some(r) => r.clone(),
                    // Unless another node made the first key meanwhile: then that one stays.
                    None => first.clone().ok_or(Error::Conflict)?,
                };
                if rec.next.is_some() {
                    return Err(Error::NotAllowed(NEXT_WAITING));
                }
                rec.next = Some(next.clone());
                Ok(rec)
            },
        )
    }

    /// Activates the next IdP key (Applications:Write): it signs from now on; the key that
    /// signed until now is retired — its certificate stays published (for SPs that refresh
    /// metadata slowly) until removed, its private key is dropped. `NotAllowed` without a next
    /// key, or when [`MAX_RETIRED_IDP_KEYS`] retired keys are kept already. One audit event.
    pub fn activate_next_idp_key(
        &self,
        actor: &Actor,
        tenant: TenantId,
    ) -> Result<Vec<IdpKeyInfo>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        let now = dir.now();
        let target = |rec: &IdpKeyRecord| {
            rec.next
                .as_ref()
                .map(|n| format!("saml-idp-key:{}", fingerprint(&n.certificate_der)))
        };
        let current: Option<IdpKeyRecord> = dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            tx.get(&idp_key_key(tenant))
        })?;
        let named = current
            .as_ref()
            .and_then(target)
            .ok_or(Error::NotAllowed(NO_NEXT))?;
        self.change(
            actor,
            &actor_name,
            tenant,
            "saml.idp_key.activate",
            named,
            |rec| {
                let mut rec = rec.cloned().ok_or(Error::NotAllowed(NO_NEXT))?;
                let next = rec.next.take().ok_or(Error::NotAllowed(NO_NEXT))?;
                if rec.retired.len() >= MAX_RETIRED_IDP_KEYS {
                    return Err(Error::NotAllowed(
                        "at most 4 retired IdP keys are kept: remove one before activating",
                    ));
                }
                rec.retired.insert(
                    0,
                    RetiredKey {
                        certificate_der: rec.certificate_der.clone(),
                        created_at: rec.created_at,
                        activated_at: rec.activated_at,
                        retired_at: now,
                    },
                );
                rec.sealed_private_key = next.sealed_private_key;
                rec.certificate_der = next.certificate_der;
                rec.created_at = next.created_at;
                rec.activated_at = Some(now);
                Ok(rec)
            },
        )
    }

    /// Removes the next or a retired IdP key by its certificate's SHA-256 fingerprint
    /// (Applications:Write): the metadata stops publishing it. The active key cannot be
    /// removed (`NotAllowed`); an unknown fingerprint is `NotFound`. One audit event.
    pub fn remove_idp_key(
        &self,
        actor: &Actor,
        tenant: TenantId,
        fingerprint_hex: &str,
    ) -> Result<Vec<IdpKeyInfo>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Applications, Right::Write)?;
        let actor_name = dir.describe(actor)?;
        let wanted = fingerprint_hex.trim().to_ascii_lowercase().replace(':', "");
        let target = format!("saml-idp-key:{wanted}");
        self.change(
            actor,
            &actor_name,
            tenant,
            "saml.idp_key.remove",
            target,
            |rec| {
                let mut rec = rec.cloned().ok_or(Error::NotFound)?;
                if fingerprint(&rec.certificate_der) == wanted {
                    return Err(Error::NotAllowed(
                        "the active IdP key signs: activate another key before removing it",
                    ));
                }
                if rec
                    .next
                    .as_ref()
                    .is_some_and(|n| fingerprint(&n.certificate_der) == wanted)
                {
                    rec.next = None;
                    return Ok(rec);
                }
                let before = rec.retired.len();
                rec.retired
                    .retain(|r| fingerprint(&r.certificate_der) != wanted);
                if rec.retired.len() == before {
                    return Err(Error::NotFound);
                }
                Ok(rec)
            },
        )
    }

    /// One administrative change of the key record: `f` makes the new record from the stored
    /// one, which is written with its audit event in the same transaction.
    fn change(
        &self,
        actor: &Actor,
        actor_name: &str,
        tenant: TenantId,
        action: &'static str,
        target: String,
        f: impl Fn(Option<&IdpKeyRecord>) -> Result<IdpKeyRecord, Error>,
    ) -> Result<Vec<IdpKeyInfo>, Error> {
        let dir = self.dir;
        let k = idp_key_key(tenant);
        dir.txn(|tx| {
            super::tenant_in(tx, tenant)?;
            let before: Option<IdpKeyRecord> = tx.get(&k)?;
            let after = f(before.as_ref())?;
            tx.put(k.clone(), &after)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action,
                    target: target.clone(),
                    before: before.as_ref().and_then(IdpKeyRecord::summary),
                    after: after.summary(),
                    actor,
                    actor_name,
                },
            )?;
            Ok(after.infos())
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

    /// Ends every SSO session of a user (Credentials:Execute): their next SAML login asks for
    /// the password again. The SPs keep their own sessions — without the user's browser there is
    /// no front channel to tell them. Returns how many ended; one audit event.
    pub fn end_user_sessions(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> Result<usize, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Credentials, Right::Execute)?;
        dir.require_covers_user(actor, tenant, user)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, user))?;
            let all = KeyRange::prefix(&keys::table_of(tenant, table::SAML_SESSION));
            let rows: Vec<(Key, SsoSession)> = tx.scan(&all, usize::MAX)?;
            let mut ended = 0;
            for (k, s) in rows {
                if s.user == user {
                    tx.delete(k);
                    ended += 1;
                }
            }
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "saml.sessions.end",
                    target: format!("user:{}", u.username),
                    before: Some(serde_json::json!({ "sso_sessions": ended })),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(ended)
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec::{decode, encode};

    /// The key record as written before key rotation existed.
    #[derive(Serialize, Deserialize)]
    struct Before {
        sealed_private_key: Vec<u8>,
        certificate_der: Vec<u8>,
        sealed_pairwise: Vec<u8>,
        created_at: Timestamp,
    }

    impl Record for Before {
        const WHAT: &'static str = "SAML IdP key (before rotation)";
    }

    #[test]
    fn key_records_written_before_rotation_still_read() {
        let old = Before {
            sealed_private_key: vec![1; 8],
            certificate_der: vec![2; 8],
            sealed_pairwise: vec![3; 8],
            created_at: Timestamp::from_secs(1_767_225_600),
        };
        let rec: IdpKeyRecord = decode(&encode(&old).unwrap()).unwrap();
        assert_eq!(rec.certificate_der, old.certificate_der);
        assert_eq!(rec.sealed_private_key, old.sealed_private_key);
        assert!(rec.next.is_none() && rec.retired.is_empty() && rec.activated_at.is_none());
        let infos = rec.infos();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].state, IdpKeyState::Active);
        assert_eq!(infos[0].fingerprint, fingerprint(&[2; 8]));
        assert_eq!(infos[0].created_at, old.created_at);
    }
}
