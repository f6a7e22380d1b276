//! The surfaces a request can come through. Policies (MFA) are set per protocol, so the
//! vocabulary lives here; it must not know how any protocol works.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The surface a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// LDAP.
    Ldap,
    /// RADIUS.
    Radius,
    /// SAML single sign-on.
    Saml,
    /// The admin API, CLI or console.
    Admin,
    /// Internal work (bootstrap, maintenance): never an authentication.
    Internal,
}

impl Protocol {
    /// The protocols people authenticate through (every one but `Internal`).
    pub const AUTHENTICATING: [Protocol; 4] = [
        Protocol::Ldap,
        Protocol::Radius,
        Protocol::Saml,
        Protocol::Admin,
    ];

    /// The stable lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Ldap => "ldap",
            Protocol::Radius => "radius",
            Protocol::Saml => "saml",
            Protocol::Admin => "admin",
            Protocol::Internal => "internal",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
