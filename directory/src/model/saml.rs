//! SAML entities the core keeps for the SAML frontend: the security options of a registered
//! service provider, a tenant's IdP signing keys (the private key only ever sealed at rest; the
//! active one, the next one published before it signs, retired ones still published), and SSO
//! sessions with their idle and absolute timeouts. It owns shapes and field checks; it must
//! not parse XML, sign anything or touch the store.

use super::{validate, AppId, TenantId, UserId};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use tessera_policy::Timestamp;
use zeroize::Zeroize;

/// How a service provider is held to account and what it receives, beyond its entity id, ACS
/// URLs, NameID format and attribute mapping. Every field has a default so records written
/// before these options existed still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpOptions {
    /// Where LogoutRequests and LogoutResponses for this SP go (HTTP-Redirect).
    pub slo_url: Option<String>,
    /// The SP's certificate (PEM, or base64 DER as in metadata): the only key its signed
    /// requests are verified with, and the key assertions are encrypted to.
    pub certificate: Option<String>,
    /// Refuse AuthnRequests that are not signed with [`SpOptions::certificate`].
    pub require_signed_requests: bool,
    /// Sign the whole Response.
    pub sign_response: bool,
    /// Sign the Assertion inside it.
    pub sign_assertion: bool,
    /// Send the assertion encrypted to the SP's certificate.
    pub encrypt_assertion: bool,
    /// Which group names the `groups` attribute carries: exact names, or prefixes ending in
    /// `*`, compared case-insensitively. Empty: every group of the user.
    pub groups_filter: Vec<String>,
}

impl Default for SpOptions {
    fn default() -> Self {
        SpOptions {
            slo_url: None,
            certificate: None,
            require_signed_requests: false,
            sign_response: true,
            sign_assertion: true,
            encrypt_assertion: false,
            groups_filter: Vec::new(),
        }
    }
}

impl SpOptions {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(u) = &self.slo_url {
            super::application::https_or_loopback("slo_url", u)?;
        }
        if let Some(c) = &self.certificate {
            // PEM (with its line breaks) or bare base64: ASCII only.
            let ok = c.len() <= 16_384
                && !c.trim().is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_graphic() || matches!(ch, ' ' | '\n' | '\r'));
            if !ok {
                return Err(validate::invalid(
                    "certificate",
                    "a PEM or base64 certificate of at most 16 KiB",
                ));
            }
        }
        if (self.require_signed_requests || self.encrypt_assertion) && self.certificate.is_none() {
            return Err(validate::invalid(
                "certificate",
                "signed requests and encrypted assertions need the SP's certificate",
            ));
        }
        if !self.sign_response && !self.sign_assertion {
            return Err(validate::invalid(
                "sign_response",
                "sign the response, the assertion or both",
            ));
        }
        if self.groups_filter.len() > 64 {
            return Err(validate::invalid("groups_filter", "at most 64 entries"));
        }
        for g in &self.groups_filter {
            validate::display_name("groups_filter", g, 128)?;
        }
        Ok(())
    }

    /// Whether the `groups` attribute carries the group `name`.
    pub fn group_passes(&self, name: &str) -> bool {
        if self.groups_filter.is_empty() {
            return true;
        }
        let name = name.to_lowercase();
        self.groups_filter.iter().any(|f| {
            let f = f.to_lowercase();
            match f.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == f,
            }
        })
    }
}

/// Bytes that must not be printed or left in memory: a private key, a session secret. Printing
/// shows `[redacted]`; they are wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps bytes.
    pub fn new(b: Vec<u8>) -> Self {
        SecretBytes(b)
    }

    /// The bytes inside.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A freshly made IdP key pair, handed to the core to keep ([`crate::Saml::idp_key`]). The core
/// does not generate RSA keys itself: the frontend's crypto library does.
#[derive(Debug, Clone)]
pub struct NewIdpKey {
    /// The RSA private key, PKCS#8 DER.
    pub private_key_der: SecretBytes,
    /// The self-signed X.509 certificate, DER.
    pub certificate_der: Vec<u8>,
}

/// A tenant's IdP key as the SAML frontend uses it: the active key, which signs.
#[derive(Debug, Clone)]
pub struct IdpKey {
    /// The tenant.
    pub tenant: TenantId,
    /// The RSA private key, PKCS#8 DER.
    pub private_key_der: SecretBytes,
    /// The self-signed X.509 certificate, DER (published in the metadata).
    pub certificate_der: Vec<u8>,
    /// Every signing certificate the metadata publishes, DER: this key's first, then the next
    /// key's (published before it signs), then retired keys' (until they are removed).
    pub published: Vec<Vec<u8>>,
    /// The tenant's secret for pairwise (persistent) NameIDs: stable across key changes.
    pub pairwise_secret: SecretBytes,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Where an IdP signing key stands in its rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdpKeyState {
    /// It signs responses and logout messages.
    Active,
    /// Published in the metadata, not signing yet: SPs that refresh metadata learn it before
    /// it is activated.
    Next,
    /// Signed before; still published so SPs that refresh metadata slowly keep verifying, until
    /// an administrator removes it. Its private key is gone.
    Retired,
}

/// An IdP signing key as administrators see it (never its private key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdpKeyInfo {
    /// Its place in the rotation.
    pub state: IdpKeyState,
    /// SHA-256 of the certificate (DER), lower-case hex: how the key is named.
    pub fingerprint: String,
    /// The self-signed certificate, DER.
    #[serde(skip)]
    pub certificate_der: Vec<u8>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it began to sign; `None` for the next key, and for a tenant's first key made
    /// before rotation existed.
    pub activated_at: Option<Timestamp>,
    /// When it stopped signing (retired keys).
    pub retired_at: Option<Timestamp>,
}

/// The secret naming an SSO session (the cookie's value). Only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(pub(crate) String);

impl SessionSecret {
    /// Wraps a value read from a cookie.
    pub fn new(s: impl Into<String>) -> Self {
        SessionSecret(s.into())
    }

    /// The text, for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SessionSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// How long an SSO session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLimits {
    /// Ends after this many seconds without use.
    pub idle_secs: i64,
    /// Ends this many seconds after the login, used or not.
    pub absolute_secs: i64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle_secs: 30 * 60,
            absolute_secs: 8 * 3600,
        }
    }
}

/// An SSO session: one login at the IdP of a tenant, reused by the tenant's SPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSession {
    /// The tenant (a session never crosses tenants).
    pub tenant: TenantId,
    /// Who logged in.
    pub user: UserId,
    /// The SessionIndex the SPs receive (not the cookie secret).
    pub index: String,
    /// Whether a TOTP code was verified at the login.
    pub mfa: bool,
    /// When the user authenticated.
    pub authn_instant: Timestamp,
    /// When it was last used.
    pub last_seen: Timestamp,
    /// Its timeouts.
    pub limits: SessionLimits,
    /// The SPs that received an assertion in it (for single logout).
    pub participants: BTreeSet<AppId>,
}

impl SsoSession {
    /// Whether it is still usable at `now`.
    pub fn live_at(&self, now: Timestamp) -> bool {
        now < self.authn_instant.plus_secs(self.limits.absolute_secs)
            && now < self.last_seen.plus_secs(self.limits.idle_secs)
    }
}
