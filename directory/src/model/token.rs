//! API tokens: interactive sessions opened by a login, personal access tokens for automation
//! (at most their user's rights, optionally narrowed further, optionally expiring), and the
//! short single-purpose tokens of the login steps (TOTP enrolment, forced password change).
//! Only a SHA-256 of a token is stored; the token itself is shown once.

use super::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use tessera_policy::{RightSet, Timestamp};

use super::TokenId;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Opened by an interactive login; short-lived.
    Session,
    /// Created by a user for automation; revocable.
    Personal,
    /// Lets a user who gave the right password enrol TOTP and finish logging in.
    Enrolment,
    /// Lets a user who gave the right (expired) password set a new one.
    PasswordChange,
}

/// A token as its owner and administrators see it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Its id.
    pub id: TokenId,
    /// The owner's tenant.
    pub tenant: TenantId,
    /// The owner.
    pub user: UserId,
    /// What it is for.
    pub kind: TokenKind,
    /// A name its owner gave it (personal tokens).
    #[serde(default)]
    pub name: Option<String>,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// At most these rights apply through it (personal tokens).
    #[serde(default)]
    pub limit: Option<RightSet>,
}

/// The stored form: the view plus the hash its index is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub(crate) token: Token,
    /// Hex SHA-256 of the secret.
    pub(crate) hash: String,
}

/// A token's secret, shown once. Printing it shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(pub(crate) String);

impl TokenSecret {
    /// The secret, to hand to the client once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret([redacted])")
    }
}

/// A newly issued token: the secret (shown once) and its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The secret.
    pub secret: TokenSecret,
    /// What it is.
    pub token: Token,
}

/// What a personal access token is made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewToken {
    /// A name to recognise it by (1–100 characters).
    pub name: String,
    /// When it stops working, if ever.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// At most these rights apply through it; `None` = all of the user's.
    #[serde(default)]
    pub limit: Option<RightSet>,
}

/// The 32 bytes of a 64-digit hex string.
pub(crate) fn unhex32(h: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if h.len() != 64 {
        return None;
    }
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
