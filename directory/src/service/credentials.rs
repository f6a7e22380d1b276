//! Credentials of users: setting a password (administrators, Credentials:Execute) or changing
//! one's own (old password required), unlocking, enrolling, confirming and resetting TOTP, and
//! the status an administrator may see. Password rules come from the tenant's effective policy
//! (`tessera_policy::password`); hashing runs on the bounded pool; seeds are sealed under the
//! master key. Secrets never reach the audit log.

use super::{must, tenant_in};
use crate::actor::Actor;
use crate::audit::Change;
use crate::auth::hasher::HashFailure;
use crate::auth::totp::{self, Enrolment};
use crate::error::Error;
use crate::model::credentials::{Credentials as Stored, PasswordCredential, TotpCredential};
use crate::model::{CredentialStatus, Tenant, TenantId, TotpStatus, User, UserId};
use crate::store::keys;
use crate::Directory;
use base64::Engine;
use tessera_policy::lockout::LockState;
use tessera_policy::password::{check_password, expires_at, PasswordProblem};
use tessera_policy::{Area, Right};
use zeroize::Zeroizing;

/// Users' credentials. Obtain with [`Directory::credentials`].
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    dir: &'a Directory,
}

/// What a sealed TOTP seed is bound to: its tenant and user.
pub(crate) fn seed_aad(tenant: TenantId, user: UserId) -> Vec<u8> {
    let mut v = b"totp-seed:".to_vec();
    v.extend_from_slice(tenant.key_bytes());
    v.extend_from_slice(user.key_bytes());
    v
}

/// The names a password may not contain: username, display, given and family names, the local
/// part of the e-mail address.
pub(crate) fn names_of(u: &User) -> Vec<String> {
    let mut v = vec![u.username.clone()];
    v.extend(u.display_name.clone());
    v.extend(u.given_name.clone());
    v.extend(u.family_name.clone());
    if let Some(e) = &u.email {
        v.extend(e.split('@').next().map(str::to_string));
    }
    v
}

impl<'a> Credentials<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Credentials { dir }
    }

    fn require_self_or(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        right: Right,
    ) -> Result<(), Error> {
        if Directory::is_self(actor, tenant, user) {
            return Ok(());
        }
        self.dir
            .require(actor, tenant, Area::Credentials, right)
            .map(|_| ())
    }

    /// Checks `password` against the tenant's policy and the user's history, and hashes it.
    pub(crate) fn new_hash(
        &self,
        tenant: TenantId,
        user: &User,
        current: Option<&PasswordCredential>,
        password: &str,
    ) -> Result<String, Error> {
        let policy = self.dir.policy_of(tenant)?;
        let names = names_of(user);
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut problems = check_password(&policy.effective.password, password, &name_refs)
            .err()
            .unwrap_or_default();
        let keep = usize::from(policy.effective.password.history);
        if keep > 0 {
            if let Some(c) = current {
                for old in std::iter::once(&c.phc).chain(c.history.iter()).take(keep) {
                    if self
                        .dir
                        .hasher()
                        .verify(tenant, password, Some(old))
                        .map_err(|_| Error::Busy)?
                    {
                        problems.push(PasswordProblem::Reused);
                        break;
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::WeakPassword(problems));
        }
        let mut salt = [0u8; 16];
        self.dir.ids().fill(&mut salt);
        self.dir
            .hasher()
            .hash(tenant, password, salt)
            .map_err(|e| match e {
                HashFailure::Busy => Error::Busy,
                HashFailure::Failed(e) => Error::Corrupt(format!("hashing failed: {e}")),
            })
    }

    pub(crate) fn store_password(
        &self,
        actor: &Actor,
        (tenant, user): (TenantId, UserId),
        phc: String,
        must_change: bool,
        action: &'static str,
        also: &mut dyn FnMut(&mut crate::store::txn::Txn<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let dir = self.dir;
        let keep = usize::from(dir.policy_of(tenant)?.effective.password.history);
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            also(tx)?;
            let u: User = must(tx, &keys::user(tenant, user))?;
            let mut c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            let mut history = Vec::new();
            if let Some(old) = c.password.take() {
                history.push(old.phc);
                history.extend(old.history);
            }
            history.truncate(keep);
            c.password = Some(PasswordCredential {
                phc: phc.clone(),
                set_at: tx.now(),
                history,
                must_change,
            });
            tx.put(keys::credentials(tenant, user), &c)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action,
                    target: format!("user:{}", u.username),
                    before: None,
                    after: Some(serde_json::json!({ "must_change": must_change })),
                    actor,
                    actor_name: &actor_name,
                },
            )
        })?;
        dir.verified().forget(tenant, user);
        Ok(())
    }

    /// Sets a user's password (Credentials:Execute). With `must_change` the user has to change
    /// it at next login (authentication answers "expired").
    pub fn set_password(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        password: &str,
        must_change: bool,
    ) -> Result<(), Error> {
        self.dir
            .require(actor, tenant, Area::Credentials, Right::Execute)?;
        self.dir.require_covers_user(actor, tenant, user)?;
        let (u, current) = self.load(tenant, user)?;
        let phc = self.new_hash(tenant, &u, current.password.as_ref(), password)?;
        self.store_password(
            actor,
            (tenant, user),
            phc,
            must_change,
            "credentials.set_password",
            &mut |_| Ok(()),
        )
    }

    /// Changes one's own password: the old one is required (a wrong one counts towards the
    /// lockout, like any failed login).
    pub fn change_password(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        old: &str,
        new: &str,
    ) -> Result<(), Error> {
        if !Directory::is_self(actor, tenant, user) {
            return Err(Error::NotFound);
        }
        let (u, current) = self.load(tenant, user)?;
        let Some(pw) = current.password.as_ref() else {
            return Err(Error::WrongCredentials);
        };
        let ok = self
            .dir
            .hasher()
            .verify(tenant, old, Some(&pw.phc))
            .map_err(|_| Error::Busy)?;
        if !ok {
            let policy = self.dir.policy_of(tenant)?;
            self.dir.txn(|tx| {
                let lock: LockState = tx.get(&keys::lock(tenant, user))?.unwrap_or_default();
                tx.put(
                    keys::lock(tenant, user),
                    &lock.record_failure(&policy.effective.lockout, tx.now()),
                )
            })?;
            return Err(Error::WrongCredentials);
        }
        let phc = self.new_hash(tenant, &u, Some(pw), new)?;
        self.store_password(
            actor,
            (tenant, user),
            phc,
            false,
            "credentials.change_password",
            &mut |_| Ok(()),
        )
    }

    pub(crate) fn load(&self, tenant: TenantId, user: UserId) -> Result<(User, Stored), Error> {
        self.dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, user))?;
            let c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            Ok((u, c))
        })
    }

    /// Lifts a lockout now (Credentials:Execute).
    pub fn unlock(&self, actor: &Actor, tenant: TenantId, user: UserId) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Credentials, Right::Execute)?;
        dir.require_covers_user(actor, tenant, user)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, user))?;
            let lock: LockState = tx.get(&keys::lock(tenant, user))?.unwrap_or_default();
            tx.put(keys::lock(tenant, user), &lock.unlock())?;
            record(dir, tx, actor, &actor_name, "credentials.unlock", &u)
        })
    }

    /// Starts TOTP enrolment (the user, or Credentials:Execute): a new seed, shown once as an
    /// `otpauth://` URL and a QR code. It counts only after [`Credentials::confirm_totp`]. An
    /// active seed must be reset first.
    pub fn enroll_totp(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Enrolment, Error> {
        self.require_self_or(actor, tenant, user, Right::Execute)?;
        self.dir.require_covers_user(actor, tenant, user)?;
        let dir = self.dir;
        let actor_name = dir.describe(actor)?;
        let mut seed = Zeroizing::new([0u8; totp::SEED_LEN]);
        dir.ids().fill(seed.as_mut());
        let sealed = dir
            .master_key()
            .seal(dir.ids(), &seed_aad(tenant, user), seed.as_ref())?;
        let sealed = base64::engine::general_purpose::STANDARD.encode(sealed);
        let (u, t): (User, Tenant) = dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, user))?;
            let t = tenant_in(tx, tenant)?;
            let mut c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            if c.totp.as_ref().is_some_and(|t| t.confirmed) {
                return Err(Error::AlreadyExists {
                    what: "TOTP enrolment",
                });
            }
            c.totp = Some(TotpCredential {
                sealed_seed: sealed.clone(),
                confirmed: false,
                last_step: None,
                enrolled_at: tx.now(),
            });
            tx.put(keys::credentials(tenant, user), &c)?;
            record(dir, tx, actor, &actor_name, "credentials.enroll_totp", &u)?;
            Ok((u, t))
        })?;
        dir.verified().forget(tenant, user);
        totp::enrolment(
            seed.as_ref(),
            &format!("Tessera {}", t.name),
            &format!("{}@{}", u.username, t.slug),
        )
    }

    /// Confirms a pending enrolment with a first code (the user, or Credentials:Execute).
    pub fn confirm_totp(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        code: &str,
    ) -> Result<(), Error> {
        self.require_self_or(actor, tenant, user, Right::Execute)?;
        self.dir.require_covers_user(actor, tenant, user)?;
        let dir = self.dir;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, user))?;
            let mut c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            let Some(t) = c.totp.as_mut().filter(|t| !t.confirmed) else {
                return Err(Error::NotFound);
            };
            let seed = open_seed(dir, tenant, user, &t.sealed_seed)?;
            let Some(step) = totp::verify(&seed, code, tx.now(), t.last_step)? else {
                return Err(Error::WrongCredentials);
            };
            t.confirmed = true;
            t.last_step = Some(step);
            tx.put(keys::credentials(tenant, user), &c)?;
            record(dir, tx, actor, &actor_name, "credentials.confirm_totp", &u)
        })
    }

    /// Removes a user's TOTP (Credentials:Execute): they enrol again at their next login where
    /// MFA is required.
    pub fn reset_totp(&self, actor: &Actor, tenant: TenantId, user: UserId) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Credentials, Right::Execute)?;
        dir.require_covers_user(actor, tenant, user)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, user))?;
            let mut c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            if c.totp.take().is_none() {
                return Err(Error::NotFound);
            }
            tx.put(keys::credentials(tenant, user), &c)?;
            record(dir, tx, actor, &actor_name, "credentials.reset_totp", &u)
        })?;
        dir.verified().forget(tenant, user);
        Ok(())
    }

    /// A user's credential status (the user, or Credentials:Read): never the secrets.
    pub fn status(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> Result<CredentialStatus, Error> {
        self.require_self_or(actor, tenant, user, Right::Read)?;
        let policy = self.dir.policy_of(tenant)?;
        let now = self.dir.now();
        let (c, lock) = self.dir.txn(|tx| {
            must::<User>(tx, &keys::user(tenant, user))?;
            let c: Stored = tx
                .get(&keys::credentials(tenant, user))?
                .unwrap_or_default();
            let l: LockState = tx.get(&keys::lock(tenant, user))?.unwrap_or_default();
            Ok((c, l))
        })?;
        let pw = c.password.as_ref();
        Ok(CredentialStatus {
            user,
            has_password: pw.is_some(),
            password_set_at: pw.map(|p| p.set_at),
            password_expires_at: pw.and_then(|p| expires_at(&policy.effective.password, p.set_at)),
            must_change: pw.is_some_and(|p| p.must_change),
            locked_until: lock.locked_until.filter(|_| lock.is_locked(now)),
            recent_failures: lock.failures.len(),
            totp: match &c.totp {
                None => TotpStatus::None,
                Some(t) if t.confirmed => TotpStatus::Active,
                Some(_) => TotpStatus::Pending,
            },
        })
    }
}

/// Opens a user's sealed seed.
pub(crate) fn open_seed(
    dir: &Directory,
    tenant: TenantId,
    user: UserId,
    sealed_b64: &str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(sealed_b64)
        .map_err(|_| Error::Corrupt("a sealed TOTP seed is not base64".into()))?;
    dir.master_key().open(&seed_aad(tenant, user), &sealed)
}

/// Records a credential change of `u` (never the secret itself).
fn record(
    dir: &Directory,
    tx: &mut crate::store::txn::Txn<'_>,
    actor: &Actor,
    actor_name: &str,
    action: &'static str,
    u: &User,
) -> Result<(), Error> {
    dir.record_change(
        tx,
        Change {
            tenant: u.tenant,
            action,
            target: format!("user:{}", u.username),
            before: None,
            after: None,
            actor,
            actor_name,
        },
    )
}
