//! Managing API tokens: users create personal access tokens (from an interactive session only)
//! carrying at most their rights, optionally narrowed and expiring; users and administrators
//! list and revoke them. Logging in and resolving tokens is `auth::login`.

use super::must;
use crate::actor::{Actor, Principal};
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::token::TokenRecord;
use crate::model::{IssuedToken, NewToken, TenantId, Token, TokenId, TokenKind, User, UserId};
use crate::store::keys;
use crate::store::txn::Txn;
use crate::store::KeyRange;
use crate::Directory;
use tessera_policy::{Area, Right};

/// The most personal tokens one user may hold.
pub const MAX_PERSONAL_TOKENS: usize = 50;

pub(crate) fn drop_token(tx: &mut Txn<'_>, key: &crate::store::Key, rec: &TokenRecord) {
    if let Some(hash) = crate::model::token::unhex32(&rec.hash) {
        tx.delete(keys::token_hash(&hash));
    }
    tx.delete(key.clone());
}

/// Personal access tokens and sessions. Obtain with [`Directory::tokens`].
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'a> {
    dir: &'a Directory,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        Tokens { dir }
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

    /// Creates a personal access token for the actor (only from an interactive session): it
    /// carries at most the user's rights, narrowed to `limit` when given, until `expires_at`.
    pub fn create(&self, actor: &Actor, new: NewToken) -> Result<IssuedToken, Error> {
        let Principal::User { tenant, user } = actor.principal else {
            return Err(Error::Forbidden);
        };
        if !matches!(actor.token, Some((TokenKind::Session, _))) {
            return Err(Error::NotAllowed(
                "personal tokens are created from an interactive session",
            ));
        }
        crate::model::validate::display_name("name", &new.name, 100)?;
        let dir = self.dir;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            if let Some(t) = new.expires_at {
                if t <= tx.now() {
                    return Err(crate::model::validate::invalid(
                        "expires_at",
                        "must be in the future",
                    ));
                }
            }
            let u: User = must(tx, &keys::user(tenant, user))?;
            let held = tx
                .scan::<TokenRecord>(&KeyRange::prefix(&keys::tokens(tenant)), usize::MAX)?
                .into_iter()
                .filter(|(_, r)| r.token.user == user && r.token.kind == TokenKind::Personal)
                .count();
            if held >= MAX_PERSONAL_TOKENS {
                return Err(Error::NotAllowed("a user holds at most 50 personal tokens"));
            }
            let issued = dir.issue_token(
                tx,
                (tenant, user),
                TokenKind::Personal,
                Some(new.name.clone()),
                new.expires_at,
                new.limit,
            )?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "token.create",
                    target: format!("user:{}", u.username),
                    before: None,
                    after: summary(&issued.token),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(issued)
        })
    }

    /// A user's live sessions and personal tokens (the user, or Credentials:Read).
    pub fn list(&self, actor: &Actor, tenant: TenantId, user: UserId) -> Result<Vec<Token>, Error> {
        self.require_self_or(actor, tenant, user, Right::Read)?;
        let now = self.dir.now();
        let mut out: Vec<Token> = self.dir.txn(|tx| {
            must::<User>(tx, &keys::user(tenant, user))?;
            Ok(tx
                .scan::<TokenRecord>(&KeyRange::prefix(&keys::tokens(tenant)), usize::MAX)?
                .into_iter()
                .map(|(_, r)| r.token)
                .filter(|t| {
                    t.user == user && matches!(t.kind, TokenKind::Session | TokenKind::Personal)
                })
                .filter(|t| t.expires_at.is_none_or(|x| now < x))
                .collect())
        })?;
        out.sort_by_key(|t| (t.created_at, t.id));
        Ok(out)
    }

    /// Revokes a session or personal token (the user, or Credentials:Execute).
    pub fn revoke(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        id: TokenId,
    ) -> Result<(), Error> {
        self.require_self_or(actor, tenant, user, Right::Execute)?;
        let dir = self.dir;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let k = keys::token(tenant, id);
            let rec: TokenRecord = must(tx, &k)?;
            if rec.token.user != user {
                return Err(Error::NotFound);
            }
            let u: User = must(tx, &keys::user(tenant, user))?;
            drop_token(tx, &k, &rec);
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "token.revoke",
                    target: format!("user:{}", u.username),
                    before: summary(&rec.token),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )
        })
    }
}
