//! Becoming an actor on the admin surfaces: a login through the one authentication path opens
//! a short session, or hands out a single-purpose step token when the password has expired or
//! TOTP must first be enrolled; a session or personal token resolves to the actor it speaks
//! for. Only SHA-256 hashes of tokens are stored. Managing tokens (create, list, revoke) is
//! `service::tokens`.

use super::{AuthRequest, Enrolment, MfaNeed, Outcome};
use crate::actor::{Actor, Principal, Protocol};
use crate::error::Error;
use crate::model::token::TokenRecord;
use crate::model::{
    IssuedToken, Status, TenantId, Token, TokenId, TokenKind, TokenSecret, User, UserId,
};
use crate::service::tokens::drop_token;
use crate::store::keys;
use crate::store::records::TokenRef;
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use tessera_policy::Timestamp;

/// How long a login step (enrolment, password change) may take.
pub const STEP_TTL_SECS: i64 = 600;
/// The most personal tokens one user may hold.
const PREFIX: &str = "tsr_";

/// How an admin login went.
/// Not `#[non_exhaustive]`, for the same reason as [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A session token.
    Session(IssuedToken),
    /// The password is right; send it again with the TOTP code.
    NeedCode,
    /// The password is right but TOTP must be enrolled first: show the enrolment, then call
    /// [`Directory::finish_enrolment`] with the step token and a first code.
    NeedEnrolment {
        /// The single-purpose token for the next step.
        step: IssuedToken,
        /// The new seed as an `otpauth://` URL and QR code.
        enrolment: Enrolment,
    },
    /// The password is right but expired (or must be changed): call
    /// [`Directory::finish_password_change`] with the step token, then log in again.
    MustChangePassword {
        /// The single-purpose token for the next step.
        step: IssuedToken,
    },
    /// Refused; the outcome says why (frontends decide how much to tell).
    Refused(Outcome),
}

fn hash_of(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Directory {
    /// Writes a new token in `tx` and returns it with its secret.
    pub(crate) fn issue_token(
        &self,
        tx: &mut Txn<'_>,
        (tenant, user): (TenantId, UserId),
        kind: TokenKind,
        name: Option<String>,
        expires_at: Option<Timestamp>,
        limit: Option<tessera_policy::RightSet>,
    ) -> Result<IssuedToken, Error> {
        let mut raw = [0u8; 32];
        self.ids().fill(&mut raw);
        let secret = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        );
        let hash = hash_of(&secret);
        let token = Token {
            id: TokenId::from_uuid(self.ids().uuid()),
            tenant,
            user,
            kind,
            name,
            created_at: tx.now(),
            expires_at,
            limit,
        };
        tx.put(
            keys::token_hash(&hash),
            &TokenRef {
                tenant,
                id: token.id,
            },
        )?;
        tx.put(
            keys::token(tenant, token.id),
            &TokenRecord {
                token: token.clone(),
                hash: hex(&hash),
            },
        )?;
        Ok(IssuedToken {
            secret: TokenSecret(secret),
            token,
        })
    }

    /// The live token a secret names, of one of `kinds`.
    fn find_token(&self, secret: &str, kinds: &[TokenKind]) -> Result<Token, Error> {
        if !secret.starts_with(PREFIX) || secret.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let store = self.store();
        let Some(e) = store.get(&keys::token_hash(&hash_of(secret)))? else {
            return Err(Error::Unauthenticated);
        };
        let r: TokenRef = crate::store::codec::decode(&e.value)?;
        let Some(e) = store.get(&keys::token(r.tenant, r.id))? else {
            return Err(Error::Unauthenticated);
        };
        let rec: TokenRecord = crate::store::codec::decode(&e.value)?;
        let t = rec.token;
        let live = t.expires_at.is_none_or(|x| self.now() < x);
        if !live || !kinds.contains(&t.kind) {
            return Err(Error::Unauthenticated);
        }
        // The user must still be able to act: present, active, in an active tenant chain.
        let tree = self.cache().tree(store)?;
        let user_ok = match store.get(&keys::user(t.tenant, t.user))? {
            Some(u) => crate::store::codec::decode::<User>(&u.value)?.status == Status::Active,
            None => false,
        };
        if !user_ok || !tree.chain_active(t.tenant) {
            return Err(Error::Unauthenticated);
        }
        Ok(t)
    }

    /// The actor a session or personal access token speaks for; [`Error::Unauthenticated`] for
    /// anything else (unknown, expired, revoked, a step token, a suspended user or tenant).
    pub fn resolve_token(&self, secret: &str, source: Option<IpAddr>) -> Result<Actor, Error> {
        let t = self.find_token(secret, &[TokenKind::Session, TokenKind::Personal])?;
        Ok(Actor {
            principal: Principal::User {
                tenant: t.tenant,
                user: t.user,
            },
            source,
            protocol: Protocol::Admin,
            limit: t.limit,
            token: Some((t.kind, t.id)),
        })
    }

    fn open_session(
        &self,
        tenant: TenantId,
        user: UserId,
        ttl_secs: u32,
    ) -> Result<IssuedToken, Error> {
        self.txn(|tx| {
            let expires = tx.now().plus_secs(i64::from(ttl_secs));
            self.issue_token(
                tx,
                (tenant, user),
                TokenKind::Session,
                None,
                Some(expires),
                None,
            )
        })
    }

    fn step_token(
        &self,
        tenant: TenantId,
        user: UserId,
        kind: TokenKind,
    ) -> Result<IssuedToken, Error> {
        self.txn(|tx| {
            // One pending step of a kind per user: a new login replaces the old step.
            for (k, rec) in
                tx.scan::<TokenRecord>(&KeyRange::prefix(&keys::tokens(tenant)), usize::MAX)?
            {
                if rec.token.user == user && rec.token.kind == kind {
                    drop_token(tx, &k, &rec);
                }
            }
            let expires = tx.now().plus_secs(STEP_TTL_SECS);
            self.issue_token(tx, (tenant, user), kind, None, Some(expires), None)
        })
    }

    /// An administrator's login (protocol Admin) through the one authentication path: a
    /// session of `session_ttl_secs`, or the next step to take.
    pub fn login(&self, req: &AuthRequest<'_>, session_ttl_secs: u32) -> Result<Login, Error> {
        if req.protocol != Protocol::Admin {
            return Err(crate::model::validate::invalid(
                "protocol",
                "logins are for the admin surfaces",
            ));
        }
        let (outcome, subject) = self.authenticate_with_subject(req)?;
        let Some((tenant, user)) = subject else {
            return Ok(Login::Refused(outcome));
        };
        match outcome {
            Outcome::Success(_) => Ok(Login::Session(self.open_session(
                tenant,
                user,
                session_ttl_secs,
            )?)),
            Outcome::MfaRequired(MfaNeed::Code) => Ok(Login::NeedCode),
            Outcome::MfaRequired(MfaNeed::Enrolment) => {
                let me = Actor::user(tenant, user, req.source, Protocol::Admin);
                // A seed left pending by an earlier, unfinished login is replaced.
                let enrolment = self.credentials().enroll_totp(&me, tenant, user)?;
                let step = self.step_token(tenant, user, TokenKind::Enrolment)?;
                Ok(Login::NeedEnrolment { step, enrolment })
            }
            Outcome::Expired { .. } => Ok(Login::MustChangePassword {
                step: self.step_token(tenant, user, TokenKind::PasswordChange)?,
            }),
            other => Ok(Login::Refused(other)),
        }
    }

    /// Confirms the TOTP enrolment a login started, with a first code, and opens the session.
    /// A wrong code counts towards the lockout.
    pub fn finish_enrolment(
        &self,
        step: &str,
        code: &str,
        source: Option<IpAddr>,
        session_ttl_secs: u32,
    ) -> Result<IssuedToken, Error> {
        let t = self.find_token(step, &[TokenKind::Enrolment])?;
        let me = Actor::user(t.tenant, t.user, source, Protocol::Admin);
        match self.credentials().confirm_totp(&me, t.tenant, t.user, code) {
            Ok(()) => {}
            Err(Error::WrongCredentials) => {
                let policy = self.policy_of(t.tenant)?;
                self.txn(|tx| {
                    let lock: tessera_policy::lockout::LockState =
                        tx.get(&keys::lock(t.tenant, t.user))?.unwrap_or_default();
                    tx.put(
                        keys::lock(t.tenant, t.user),
                        &lock.record_failure(&policy.effective.lockout, tx.now()),
                    )
                })?;
                return Err(Error::WrongCredentials);
            }
            Err(e) => return Err(e),
        }
        self.txn(|tx| {
            if let Some(rec) = tx.get::<TokenRecord>(&keys::token(t.tenant, t.id))? {
                drop_token(tx, &keys::token(t.tenant, t.id), &rec);
            }
            let expires = tx.now().plus_secs(i64::from(session_ttl_secs));
            self.issue_token(
                tx,
                (t.tenant, t.user),
                TokenKind::Session,
                None,
                Some(expires),
                None,
            )
        })
    }

    /// Sets a new password for a user whose login found the old one expired (the step token
    /// proves the old one). The user then logs in again.
    pub fn finish_password_change(
        &self,
        step: &str,
        new_password: &str,
        source: Option<IpAddr>,
    ) -> Result<(), Error> {
        let t = self.find_token(step, &[TokenKind::PasswordChange])?;
        let me = Actor::user(t.tenant, t.user, source, Protocol::Admin);
        let creds = self.credentials();
        let (u, current) = creds.load(t.tenant, t.user)?;
        let phc = creds.new_hash(t.tenant, &u, current.password.as_ref(), new_password)?;
        // The new password and the spent step commit together: a step token sets a password
        // once.
        creds.store_password(
            &me,
            (t.tenant, t.user),
            phc,
            false,
            "credentials.change_password",
            &mut |tx| {
                let k = keys::token(t.tenant, t.id);
                match tx.get::<TokenRecord>(&k)? {
                    Some(rec) => {
                        drop_token(tx, &k, &rec);
                        Ok(())
                    }
                    None => Err(Error::Unauthenticated),
                }
            },
        )
    }

    /// Forgets every token of a user (the user is being deleted).
    pub(crate) fn drop_tokens_of(
        &self,
        tx: &mut Txn<'_>,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(), Error> {
        for (k, rec) in
            tx.scan::<TokenRecord>(&KeyRange::prefix(&keys::tokens(tenant)), usize::MAX)?
        {
            if rec.token.user == user {
                drop_token(tx, &k, &rec);
            }
        }
        Ok(())
    }
}
