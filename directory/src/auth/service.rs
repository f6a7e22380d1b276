//! The one authentication call every frontend makes. In order: tenant chain active → user found
//! (a dummy hash is verified when not, so timing does not reveal who exists) → active, not
//! locked → password (the verified-credential cache may stand in for argon2) → failure counting
//! and lockout → expiry → TOTP as the MFA policy requires → application group check → one audit
//! event. The outcome is typed; frontends decide only how to say it on their wire.

use super::hasher::Busy;
use super::totp;
use super::verified::Stamp;
use crate::actor::{Actor, Protocol};
use crate::error::Error;
use crate::model::credentials::Credentials as Stored;
use crate::model::{
    AppId, AuditEvent, AuditKind, EventId, GroupId, Status, TenantId, User, UserId,
};
use crate::service::credentials::open_seed;
use crate::service::policies::PolicySnapshot;
use crate::store::codec;
use crate::store::keys;
use crate::store::records::Ptr;
use crate::Directory;
use std::collections::BTreeSet;
use std::net::IpAddr;
use tessera_policy::lockout::LockState;
use tessera_policy::mfa::{requires_totp, split_appended};
use tessera_policy::password::is_expired;
use tessera_policy::Timestamp;

/// Which tenant a login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRef<'a> {
    /// By id (a RADIUS client's tenant, a session's).
    Id(TenantId),
    /// By slug (an LDAP DN's `o=`, a SAML URL).
    Slug(&'a str),
}

/// One authentication attempt.
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The tenant.
    pub tenant: TenantRef<'a>,
    /// The username as typed (compared case-insensitively).
    pub username: &'a str,
    /// The password — or, on LDAP and RADIUS when MFA is required and no separate code is given,
    /// the password with the TOTP code appended after the tenant's separator (see
    /// [`tessera_policy::mfa::split_appended`]).
    pub secret: &'a str,
    /// The TOTP code, when the protocol asks for it separately (challenge flows).
    pub second_factor: Option<&'a str>,
    /// Through which protocol.
    pub protocol: Protocol,
    /// Through which application, checked against its bound groups.
    pub application: Option<AppId>,
    /// Where the request came from.
    pub source: Option<IpAddr>,
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("tenant", &self.tenant)
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .field("second_factor", &self.second_factor.map(|_| "[redacted]"))
            .field("protocol", &self.protocol)
            .field("application", &self.application)
            .field("source", &self.source)
            .finish()
    }
}

/// What is still needed when the outcome is [`Outcome::MfaRequired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaNeed {
    /// A TOTP code (answer with a challenge, or ask for password + separator + code).
    Code,
    /// The user has no TOTP yet and must enrol before logging in here.
    Enrolment,
}

/// A successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The user.
    pub user: User,
    /// Every group the user is in, transitively.
    pub groups: Vec<GroupId>,
    /// Whether a TOTP code was verified.
    pub mfa: bool,
    /// The actor to carry the user's authority in later calls.
    pub actor: Actor,
}

/// How an authentication ended. Every outcome is recorded once in the tenant's audit log, with
/// the precise reason; frontends may say less on their wire (LDAP always says
/// invalidCredentials).
///
/// Not `#[non_exhaustive]`, for the same reason as [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Who the user is, their groups, and whether MFA was satisfied.
    Success(Box<Authenticated>),
    /// Unknown user, wrong password, or no password set.
    BadCredentials,
    /// Too many failures: locked until then.
    Locked {
        /// When the lock ends by itself.
        until: Timestamp,
    },
    /// The password is right but expired (or an administrator asked for a change): the user
    /// must change it (with [`crate::Credentials::change_password`]).
    Expired {
        /// The user, for the change-password path.
        user: UserId,
    },
    /// The user or the tenant (or a tenant above it) is suspended.
    Suspended,
    /// The password is right; a second factor is needed.
    MfaRequired(MfaNeed),
    /// The TOTP code was wrong or already used.
    MfaFailed,
    /// The user may not use this application (not in one of its bound groups).
    NotAllowed,
    /// The password service is saturated for this tenant: try again shortly.
    Busy,
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Success(_) => "success",
            Outcome::BadCredentials => "bad_credentials",
            Outcome::Locked { .. } => "locked",
            Outcome::Expired { .. } => "expired",
            Outcome::Suspended => "suspended",
            Outcome::MfaRequired(_) => "mfa_required",
            Outcome::MfaFailed => "mfa_failed",
            Outcome::NotAllowed => "not_allowed",
            Outcome::Busy => "busy",
        }
    }
}

/// What the audit event of an attempt says besides the outcome.
struct Attempt<'r, 'a> {
    req: &'r AuthRequest<'a>,
    tenant: Option<(TenantId, String)>,
    user: Option<UserId>,
    application: Option<String>,
    /// Set when the password was right and only a TOTP code is missing.
    pending: Option<MfaPending>,
}

/// How long a verified password waits for its second factor ([`Directory::complete_mfa`]).
pub const MFA_STEP_TTL_SECS: i64 = 300;

/// A login whose password the core has verified and which now waits for a TOTP code: what a
/// challenge flow (RADIUS Access-Challenge) keeps between its two requests. Only the core makes
/// one ([`Directory::authenticate_for_challenge`]); [`Directory::complete_mfa`] consumes it, so it
/// is used once. It holds no secret.
#[derive(Debug, PartialEq, Eq)]
pub struct MfaPending {
    tenant: TenantId,
    user: UserId,
    username: String,
    application: Option<AppId>,
    protocol: Protocol,
    /// The credentials as verified: a password or TOTP change meanwhile voids the step.
    credentials: crate::store::Version,
    expires: Timestamp,
}

impl MfaPending {
    /// The tenant of the login.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The user whose password was verified.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The application it was for.
    pub fn application(&self) -> Option<AppId> {
        self.application
    }

    /// When the step expires.
    pub fn expires(&self) -> Timestamp {
        self.expires
    }
}

impl Directory {
    /// Authenticates a user: the one path for every frontend. `Err` only for storage failures;
    /// every refusal is an [`Outcome`].
    pub fn authenticate(&self, req: &AuthRequest<'_>) -> Result<Outcome, Error> {
        self.authenticate_with_subject(req).map(|(o, _)| o)
    }

    /// [`Directory::authenticate`], also naming the tenant and user once they were found (for the
    /// login steps that continue an attempt).
    pub(crate) fn authenticate_with_subject(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<(Outcome, Option<(TenantId, UserId)>), Error> {
        self.authenticate_attempt(req).map(|(o, s, _)| (o, s))
    }

    /// [`Directory::authenticate`] for a protocol that asks for the TOTP code in a second round
    /// trip (a RADIUS Access-Challenge): when the password is right and only the code is
    /// missing, the outcome is [`Outcome::MfaRequired`] with [`MfaNeed::Code`] and comes with
    /// the pending step to hand to [`Directory::complete_mfa`] with the code.
    pub fn authenticate_for_challenge(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<(Outcome, Option<MfaPending>), Error> {
        self.authenticate_attempt(req).map(|(o, _, p)| (o, p))
    }

    #[allow(clippy::type_complexity)]
    fn authenticate_attempt(
        &self,
        req: &AuthRequest<'_>,
    ) -> Result<(Outcome, Option<(TenantId, UserId)>, Option<MfaPending>), Error> {
        let mut attempt = Attempt {
            req,
            tenant: None,
            user: None,
            application: None,
            pending: None,
        };
        let (outcome, reason) = self.decide(req, &mut attempt)?;
        self.journal_attempt(&attempt, &outcome, reason)?;
        let subject = attempt.tenant.as_ref().map(|(t, _)| *t).zip(attempt.user);
        Ok((outcome, subject, attempt.pending))
    }

    /// Completes a login that waits for its TOTP code, without verifying the password again:
    /// the tenant chain must still be active, the user active and not locked, the credentials
    /// unchanged since the password was verified and the step not expired; then the code is
    /// consumed (each time step once; a wrong code counts as a failure towards lockout) and the
    /// application's bound groups are checked. One audit event, as for
    /// [`Directory::authenticate`].
    pub fn complete_mfa(
        &self,
        pending: MfaPending,
        code: &str,
        source: Option<IpAddr>,
    ) -> Result<Outcome, Error> {
        let req = AuthRequest {
            tenant: TenantRef::Id(pending.tenant),
            username: &pending.username,
            secret: "",
            second_factor: Some(code),
            protocol: pending.protocol,
            application: pending.application,
            source,
        };
        let mut attempt = Attempt {
            req: &req,
            tenant: None,
            user: Some(pending.user),
            application: None,
            pending: None,
        };
        let (outcome, reason) = self.decide_second_factor(&pending, code, &mut attempt)?;
        self.journal_attempt(&attempt, &outcome, reason)?;
        Ok(outcome)
    }

    fn decide_second_factor(
        &self,
        p: &MfaPending,
        code: &str,
        attempt: &mut Attempt<'_, '_>,
    ) -> Result<(Outcome, &'static str), Error> {
        let store = self.store();
        let tree = self.cache().tree(store)?;
        let now = self.now();
        let Some(node) = tree.node(p.tenant) else {
            return Ok((Outcome::BadCredentials, "unknown tenant"));
        };
        attempt.tenant = Some((p.tenant, node.slug.clone()));
        attempt.application = self.application_name(p.tenant, p.application)?;
        if now >= p.expires {
            return Ok((Outcome::MfaFailed, "the TOTP step expired"));
        }
        if !tree.chain_active(p.tenant) {
            return Ok((Outcome::Suspended, "tenant suspended"));
        }
        let Some(user) = store
            .get(&keys::user(p.tenant, p.user))?
            .map(|e| codec::decode::<User>(&e.value))
            .transpose()?
        else {
            return Ok((Outcome::BadCredentials, "unknown user"));
        };
        if user.status != Status::Active {
            return Ok((Outcome::Suspended, "user suspended"));
        }
        let lock: LockState = match store.get(&keys::lock(p.tenant, user.id))? {
            Some(e) => codec::decode(&e.value)?,
            None => LockState::default(),
        };
        if let Some(until) = lock.locked_until.filter(|_| lock.is_locked(now)) {
            return Ok((Outcome::Locked { until }, "account locked"));
        }
        let cred_entry = store.get(&keys::credentials(p.tenant, user.id))?;
        if cred_entry.as_ref().map_or(0, |e| e.version) != p.credentials {
            return Ok((
                Outcome::BadCredentials,
                "credentials changed during the TOTP step",
            ));
        }
        let creds: Stored = match &cred_entry {
            Some(e) => codec::decode(&e.value)?,
            None => Stored::default(),
        };
        let policy = self.policy_of(p.tenant)?;
        let Some(t) = creds.totp.as_ref().filter(|t| t.confirmed) else {
            return Ok((
                Outcome::MfaRequired(MfaNeed::Enrolment),
                "TOTP enrolment required",
            ));
        };
        if let Some(refusal) =
            self.second_factor(p.tenant, user.id, &t.sealed_seed, code, &policy)?
        {
            return Ok(refusal);
        }
        let groups: BTreeSet<GroupId> =
            self.cache().graph(store, p.tenant)?.groups_of_user(user.id);
        if !self.application_allows(p.tenant, p.application, &groups)? {
            return Ok((
                Outcome::NotAllowed,
                "not in a group bound to the application",
            ));
        }
        self.clear_failures(p.tenant, user.id, &lock)?;
        let actor = Actor::user(p.tenant, user.id, attempt.req.source, p.protocol);
        Ok((
            Outcome::Success(Box::new(Authenticated {
                user,
                groups: groups.into_iter().collect(),
                mfa: true,
                actor,
            })),
            "",
        ))
    }

    /// The name the audit log gives an application (its id when it is gone).
    fn application_name(
        &self,
        tenant: TenantId,
        app: Option<AppId>,
    ) -> Result<Option<String>, Error> {
        let Some(app) = app else { return Ok(None) };
        Ok(Some(
            match self.cache().application(self.store(), tenant, app)? {
                Some(a) => a.name.clone(),
                None => app.to_string(),
            },
        ))
    }

    /// Whether `groups` include one bound to `app` (no application: yes).
    fn application_allows(
        &self,
        tenant: TenantId,
        app: Option<AppId>,
        groups: &BTreeSet<GroupId>,
    ) -> Result<bool, Error> {
        let Some(app) = app else { return Ok(true) };
        Ok(self
            .cache()
            .application(self.store(), tenant, app)?
            .is_some_and(|a| a.bound_groups.iter().any(|g| groups.contains(g))))
    }

    /// After a success: forgets counted failures and a lock that has run out.
    fn clear_failures(
        &self,
        tenant: TenantId,
        user: UserId,
        seen: &LockState,
    ) -> Result<(), Error> {
        if seen.is_clean() {
            return Ok(());
        }
        self.txn(|tx| {
            let l: LockState = tx.get(&keys::lock(tenant, user))?.unwrap_or_default();
            tx.put(
                keys::lock(tenant, user),
                &l.record_success().forget_expired_lock(tx.now()),
            )
        })
    }

    fn dummy_verify(&self, tenant: TenantId, secret: &str) -> Result<(), Busy> {
        self.hasher().verify(tenant, secret, None).map(|_| ())
    }

    fn decide(
        &self,
        req: &AuthRequest<'_>,
        attempt: &mut Attempt<'_, '_>,
    ) -> Result<(Outcome, &'static str), Error> {
        let store = self.store();
        let tree = self.cache().tree(store)?;
        let now = self.now();
        let tenant = match req.tenant {
            TenantRef::Id(t) => tree.node(t).map(|_| t),
            TenantRef::Slug(s) => match store.get(&keys::slug(s))? {
                Some(e) => Some(codec::decode::<Ptr<TenantId>>(&e.value)?.id),
                None => None,
            },
        };
        // An unknown tenant is a frontend's routing mistake; it still costs a verification.
        let queue = tenant.or_else(|| tree.root());
        let Some(tenant) = tenant.filter(|t| tree.node(*t).is_some()) else {
            if let Some(q) = queue {
                if self.dummy_verify(q, req.secret).is_err() {
                    return Ok((Outcome::Busy, "password service busy"));
                }
            }
            return Ok((Outcome::BadCredentials, "unknown tenant"));
        };
        attempt.tenant = Some((
            tenant,
            tree.node(tenant)
                .map(|n| n.slug.clone())
                .unwrap_or_default(),
        ));
        attempt.application = self.application_name(tenant, req.application)?;
        if !tree.chain_active(tenant) {
            return Ok((Outcome::Suspended, "tenant suspended"));
        }
        let user = match store.get(&keys::user_by_name(tenant, req.username))? {
            Some(e) => {
                let id = codec::decode::<Ptr<UserId>>(&e.value)?.id;
                match store.get(&keys::user(tenant, id))? {
                    Some(u) => Some(codec::decode::<User>(&u.value)?),
                    None => None,
                }
            }
            None => None,
        };
        let Some(user) = user else {
            if self.dummy_verify(tenant, req.secret).is_err() {
                return Ok((Outcome::Busy, "password service busy"));
            }
            return Ok((Outcome::BadCredentials, "unknown user"));
        };
        attempt.user = Some(user.id);
        let cred_entry = store.get(&keys::credentials(tenant, user.id))?;
        let cred_version = cred_entry.as_ref().map_or(0, |e| e.version);
        let creds: Stored = match &cred_entry {
            Some(e) => codec::decode(&e.value)?,
            None => Stored::default(),
        };
        let lock: LockState = match store.get(&keys::lock(tenant, user.id))? {
            Some(e) => codec::decode(&e.value)?,
            None => LockState::default(),
        };
        if user.status != Status::Active {
            if self.dummy_verify(tenant, req.secret).is_err() {
                return Ok((Outcome::Busy, "password service busy"));
            }
            return Ok((Outcome::Suspended, "user suspended"));
        }
        if let Some(until) = lock.locked_until.filter(|_| lock.is_locked(now)) {
            if self.dummy_verify(tenant, req.secret).is_err() {
                return Ok((Outcome::Busy, "password service busy"));
            }
            return Ok((Outcome::Locked { until }, "account locked"));
        }
        let policy = self.policy_of(tenant)?;
        let groups: BTreeSet<GroupId> = self.cache().graph(store, tenant)?.groups_of_user(user.id);
        let mfa_policy = policy
            .effective
            .mfa(policy.required_groups.clone(), policy.exempt_groups.clone());
        let mfa = requires_totp(&mfa_policy, req.protocol, &groups);
        // Appended codes only where the protocol has no field of its own for the code (an LDAP
        // bind, RADIUS PAP); the admin API and the SAML login page ask for it separately, so a
        // password that happens to end in `,123456` is never cut there.
        let appended_allowed = matches!(req.protocol, Protocol::Ldap | Protocol::Radius);
        let (password, code) = match (mfa && appended_allowed, req.second_factor) {
            (true, None) => match split_appended(req.secret, &mfa_policy.separator) {
                Some((p, c)) => (p, Some(c)),
                None => (req.secret, None),
            },
            (_, second) => (req.secret, second),
        };

        // The password.
        let Some(pw) = creds.password.as_ref() else {
            if self.dummy_verify(tenant, password).is_err() {
                return Ok((Outcome::Busy, "password service busy"));
            }
            let locked = self.record_failure(tenant, user.id, &policy)?;
            return Ok((
                Outcome::BadCredentials,
                if locked {
                    "no password set; account now locked"
                } else {
                    "no password set"
                },
            ));
        };
        let stamp = Stamp {
            credentials: cred_version,
            policies: policy.version,
        };
        let use_cache = policy.effective.cache_enabled && !mfa;
        let cached = use_cache && self.verified().check(tenant, user.id, password, stamp, now);
        let verified = cached
            || match self.hasher().verify(tenant, password, Some(&pw.phc)) {
                Ok(ok) => ok,
                Err(Busy) => return Ok((Outcome::Busy, "password service busy")),
            };
        if !verified {
            let locked = self.record_failure(tenant, user.id, &policy)?;
            return Ok((
                Outcome::BadCredentials,
                if locked {
                    "wrong password; account now locked"
                } else {
                    "wrong password"
                },
            ));
        }

        // Expiry.
        if pw.must_change {
            return Ok((
                Outcome::Expired { user: user.id },
                "password must be changed",
            ));
        }
        if is_expired(&policy.effective.password, pw.set_at, now) {
            return Ok((Outcome::Expired { user: user.id }, "password expired"));
        }

        // The second factor.
        if mfa {
            let Some(t) = creds.totp.as_ref().filter(|t| t.confirmed) else {
                return Ok((
                    Outcome::MfaRequired(MfaNeed::Enrolment),
                    "TOTP enrolment required",
                ));
            };
            let Some(code) = code else {
                attempt.pending = Some(MfaPending {
                    tenant,
                    user: user.id,
                    username: user.username.clone(),
                    application: req.application,
                    protocol: req.protocol,
                    credentials: cred_version,
                    expires: now.plus_secs(MFA_STEP_TTL_SECS),
                });
                return Ok((Outcome::MfaRequired(MfaNeed::Code), "TOTP code required"));
            };
            if let Some(refusal) =
                self.second_factor(tenant, user.id, &t.sealed_seed, code, &policy)?
            {
                return Ok(refusal);
            }
        }

        // The application.
        if !self.application_allows(tenant, req.application, &groups)? {
            return Ok((
                Outcome::NotAllowed,
                "not in a group bound to the application",
            ));
        }

        // Success: clear counted failures, upgrade the hash, remember the verification.
        self.clear_failures(tenant, user.id, &lock)?;
        let mut stamp = stamp;
        if !cached && self.hasher().needs_rehash(&pw.phc) {
            if let Some(v) = self.rehash(tenant, user.id, password, cred_version)? {
                stamp.credentials = v;
            }
        }
        if use_cache && !cached {
            let ttl = i64::from(policy.effective.cache_ttl_secs);
            self.verified()
                .remember(tenant, user.id, password, stamp, now, now.plus_secs(ttl));
        }
        let actor = Actor::user(tenant, user.id, req.source, req.protocol);
        Ok((
            Outcome::Success(Box::new(Authenticated {
                user,
                groups: groups.into_iter().collect(),
                mfa,
                actor,
            })),
            "",
        ))
    }

    /// Consumes a TOTP code; a wrong or reused one counts as a failure and is the refusal
    /// returned.
    fn second_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        sealed: &str,
        code: &str,
        policy: &PolicySnapshot,
    ) -> Result<Option<(Outcome, &'static str)>, Error> {
        if self.consume_totp(tenant, user, sealed, code)? {
            return Ok(None);
        }
        let locked = self.record_failure(tenant, user, policy)?;
        Ok(Some((
            Outcome::MfaFailed,
            if locked {
                "wrong or reused TOTP code; account now locked"
            } else {
                "wrong or reused TOTP code"
            },
        )))
    }

    /// Counts a failure; returns whether the account is now locked.
    fn record_failure(
        &self,
        tenant: TenantId,
        user: UserId,
        policy: &PolicySnapshot,
    ) -> Result<bool, Error> {
        self.verified().forget(tenant, user);
        if !policy.effective.lockout.is_enabled() {
            return Ok(false);
        }
        self.txn(|tx| {
            let now = tx.now();
            let l: LockState = tx.get(&keys::lock(tenant, user))?.unwrap_or_default();
            let l = l.record_failure(&policy.effective.lockout, now);
            let locked = l.is_locked(now);
            tx.put(keys::lock(tenant, user), &l)?;
            Ok(locked)
        })
    }

    /// Accepts a TOTP code once: the step is stored in the same transaction that checks it, so
    /// two concurrent uses of one code cannot both pass, before or after a restart.
    fn consume_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        sealed: &str,
        code: &str,
    ) -> Result<bool, Error> {
        let seed = open_seed(self, tenant, user, sealed)?;
        self.txn(|tx| {
            let mut c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            let Some(t) = c.totp.as_mut().filter(|t| t.confirmed) else {
                return Ok(false);
            };
            match totp::verify(&seed, code, tx.now(), t.last_step)? {
                Some(step) => {
                    t.last_step = Some(step);
                    tx.put(keys::credentials(tenant, user), &c)?;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
    }

    /// Replaces a hash made under older parameters; returns the new credentials version. Skipped
    /// (not an error) when the pool is busy or the credentials changed meanwhile.
    fn rehash(
        &self,
        tenant: TenantId,
        user: UserId,
        password: &str,
        seen: crate::store::Version,
    ) -> Result<Option<crate::store::Version>, Error> {
        let mut salt = [0u8; 16];
        self.ids().fill(&mut salt);
        let Ok(phc) = self.hasher().hash(tenant, password, salt) else {
            return Ok(None);
        };
        let done = self.txn(|tx| {
            if tx.version(&keys::credentials(tenant, user))? != seen {
                return Ok(false);
            }
            let mut c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            if let Some(p) = c.password.as_mut() {
                p.phc = phc.clone();
            }
            tx.put(keys::credentials(tenant, user), &c)?;
            Ok(true)
        })?;
        Ok(if done {
            self.store()
                .get(&keys::credentials(tenant, user))?
                .map(|e| e.version)
        } else {
            None
        })
    }

    fn journal_attempt(
        &self,
        a: &Attempt<'_, '_>,
        outcome: &Outcome,
        reason: &'static str,
    ) -> Result<(), Error> {
        let tree = self.cache().tree(self.store())?;
        let Some((tenant, slug)) = a.tenant.clone().or_else(|| {
            tree.root()
                .map(|r| (r, tree.node(r).map(|n| n.slug.clone()).unwrap_or_default()))
        }) else {
            return Ok(()); // an empty installation has no log to write to
        };
        let who = match a.req.tenant {
            TenantRef::Slug(s) if a.tenant.is_none() => format!("{s}/{}", a.req.username),
            _ => format!("{slug}/{}", a.req.username),
        };
        let at = self.now();
        self.journal().record(AuditEvent {
            id: EventId::from_uuid(self.ids().uuid()),
            tenant,
            at,
            kind: AuditKind::Authentication,
            actor: who,
            source: a.req.source,
            protocol: a.req.protocol,
            action: format!("auth.{}", a.req.protocol),
            target: format!("user:{}", a.req.username),
            application: a.application.clone(),
            outcome: if matches!(outcome, Outcome::Success(_)) {
                "success".into()
            } else {
                "failure".into()
            },
            reason: Some(if reason.is_empty() {
                outcome.label().to_string()
            } else {
                format!("{}: {reason}", outcome.label())
            }),
            before: None,
            after: None,
        });
        Ok(())
    }

    /// Waits until every authentication event recorded so far is in the audit log.
    pub fn flush_audit(&self) {
        self.journal().flush();
    }

    /// Password hashes and verifications run so far by this process (for tests and metrics:
    /// counting work instead of timing it).
    pub fn hashing_counts(&self) -> (u64, u64) {
        self.hasher().counts()
    }
}
