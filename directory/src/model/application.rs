//! Applications: what a tenant's users can reach — the tenant's LDAP service, RADIUS clients
//! (NAS) and SAML service providers — each bound to the groups allowed to use it. It owns the
//! records and their field checks; protocol behaviour belongs to the frontends.

pub use super::group::ReplyAttribute;
use super::{validate, AppId, GroupId, TenantId};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use tessera_policy::Timestamp;
use zeroize::Zeroize;

/// A RADIUS shared secret. Printing it shows `[redacted]`; it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SharedSecret(String);

impl SharedSecret {
    /// The shortest secret accepted: shorter ones are brute-forced from one captured packet.
    pub const MIN_LEN: usize = 16;

    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        SharedSecret(s.into())
    }

    /// The text inside: the secret as given on input; in records read from the store, its
    /// sealed form (the RADIUS frontend gets the secret from
    /// [`crate::Applications::radius_secret`]).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The prefix of a secret as stored: sealed under the master key (see
    /// `service::applications`), never the secret itself.
    pub(crate) const SEALED: &'static str = "$sealed$v1$";

    /// Whether this is the stored, sealed form.
    pub(crate) fn is_sealed(&self) -> bool {
        self.0.starts_with(Self::SEALED)
    }

    fn validate(&self) -> Result<(), Error> {
        if self.is_sealed() {
            // The stored form, handed back unchanged (an update that keeps the secret).
            return Ok(());
        }
        if self.0.starts_with("$sealed$") {
            return Err(validate::invalid("secret", "must not start with $sealed$"));
        }
        if self.0.chars().count() < Self::MIN_LEN || self.0.len() > 128 {
            return Err(validate::invalid(
                "secret",
                format!("{} to 128 characters", Self::MIN_LEN),
            ));
        }
        if self.0.chars().any(char::is_control) {
            return Err(validate::invalid("secret", "no control characters"));
        }
        Ok(())
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The tenant's LDAP service: there is one per tenant, created with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LdapService {
    /// Show nested membership flattened into memberOf/member, for applications that cannot
    /// follow nesting.
    #[serde(default)]
    pub flatten_nested_groups: bool,
}

/// A RADIUS client (NAS): an access point, switch or VPN concentrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadiusClient {
    /// Source addresses or networks the client's packets come from.
    #[serde(with = "networks_as_text")]
    pub addresses: Vec<ipnet::IpNet>,
    /// The shared secret.
    pub secret: SharedSecret,
    /// Whether Access-Requests must carry Message-Authenticator (BlastRADIUS); on by default.
    #[serde(default = "yes")]
    pub require_message_authenticator: bool,
    /// Reply attributes sent to every user of this client.
    #[serde(default)]
    pub reply: Vec<ReplyAttribute>,
}

fn yes() -> bool {
    true
}

/// Networks are stored as CIDR text: ipnet's compact (non-human-readable) serde form does not
/// round-trip through MessagePack with named fields.
mod networks_as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[ipnet::IpNet], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(ToString::to_string))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<ipnet::IpNet>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

/// The SAML NameID format an SP receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NameIdFormat {
    /// The user's e-mail address.
    Email,
    /// Stable and opaque per SP.
    Persistent,
    /// A fresh value each login.
    Transient,
    /// The username.
    #[default]
    Unspecified,
}

/// An assertion consumer service URL of an SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcsUrl {
    /// Its index in the SP's metadata.
    pub index: u16,
    /// The URL (https, or http on loopback).
    pub url: String,
    /// Whether it is used when a request names none.
    #[serde(default)]
    pub default: bool,
}

/// A SAML service provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlServiceProvider {
    /// The SP's entity id, unique in the tenant.
    pub entity_id: String,
    /// Registered ACS URLs; responses go to these only.
    pub acs_urls: Vec<AcsUrl>,
    /// The NameID format.
    #[serde(default)]
    pub name_id_format: NameIdFormat,
    /// SAML attribute name → user field (`email`, `given_name`, `family_name`,
    /// `display_name`, `username`, `groups`).
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    /// Signing, encryption, single logout and the groups filter.
    #[serde(default)]
    pub options: super::saml::SpOptions,
}

/// The user fields an attribute mapping may name.
pub const MAPPABLE_FIELDS: [&str; 6] = [
    "email",
    "given_name",
    "family_name",
    "display_name",
    "username",
    "groups",
];

/// What kind of application, with its protocol settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AppKind {
    /// The tenant's LDAP service.
    Ldap(LdapService),
    /// A RADIUS client.
    Radius(RadiusClient),
    /// A SAML service provider.
    Saml(SamlServiceProvider),
}

impl AppKind {
    /// The kind's stable name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AppKind::Ldap(_) => "ldap",
            AppKind::Radius(_) => "radius",
            AppKind::Saml(_) => "saml",
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self {
            AppKind::Ldap(_) => Ok(()),
            AppKind::Radius(c) => {
                if c.addresses.is_empty() || c.addresses.len() > 64 {
                    return Err(validate::invalid(
                        "addresses",
                        "1 to 64 addresses or networks",
                    ));
                }
                c.secret.validate()?;
                if c.reply.len() > 32 {
                    return Err(validate::invalid("reply", "at most 32 reply attributes"));
                }
                c.reply.iter().try_for_each(ReplyAttribute::validate)
            }
            AppKind::Saml(sp) => {
                validate::display_name("entity_id", &sp.entity_id, 1024)?;
                if sp.acs_urls.is_empty() || sp.acs_urls.len() > 32 {
                    return Err(validate::invalid("acs_urls", "1 to 32 ACS URLs"));
                }
                let mut indexes = BTreeSet::new();
                for a in &sp.acs_urls {
                    acs_url(&a.url)?;
                    if !indexes.insert(a.index) {
                        return Err(validate::invalid("acs_urls", "indexes must be unique"));
                    }
                }
                if sp.acs_urls.iter().filter(|a| a.default).count() > 1 {
                    return Err(validate::invalid("acs_urls", "at most one default"));
                }
                for (attr, field) in &sp.attribute_mapping {
                    validate::display_name("attribute_mapping", attr, 256)?;
                    if !MAPPABLE_FIELDS.contains(&field.as_str()) {
                        return Err(validate::invalid(
                            "attribute_mapping",
                            format!("{field:?} is not one of {}", MAPPABLE_FIELDS.join(", ")),
                        ));
                    }
                }
                sp.options.validate()
            }
        }
    }
}

/// An ACS URL: https, or http only towards loopback (for local testing).
fn acs_url(u: &str) -> Result<(), Error> {
    https_or_loopback("acs_urls", u)
}

/// A URL the IdP sends users to: https, or http only towards loopback.
pub(super) fn https_or_loopback(field: &'static str, u: &str) -> Result<(), Error> {
    let bad = || validate::invalid(field, format!("{u:?} is not an https URL"));
    validate::text(field, u, 2048)?;
    let rest = if let Some(r) = u.strip_prefix("https://") {
        r
    } else if let Some(r) = u.strip_prefix("http://") {
        let host = match r.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => r.split(['/', ':', '?', '#']).next().unwrap_or(""),
        };
        if !matches!(host, "localhost" | "127.0.0.1" | "::1") {
            return Err(validate::invalid(
                field,
                "plain http is allowed only towards localhost",
            ));
        }
        r
    } else {
        return Err(bad());
    };
    if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok(())
}

/// An application of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Its id.
    pub id: AppId,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// Its name, unique in the tenant case-insensitively.
    pub name: String,
    /// Kind and protocol settings.
    pub kind: AppKind,
    /// The groups whose members (transitively) may use it. Empty: nobody.
    #[serde(default)]
    pub bound_groups: BTreeSet<GroupId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What it takes to register an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApplication {
    /// Its name.
    pub name: String,
    /// Kind and settings.
    pub kind: AppKind,
    /// Groups bound from the start.
    #[serde(default)]
    pub bound_groups: BTreeSet<GroupId>,
}

impl NewApplication {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        validate::group_name(&self.name).map_err(|_| {
            validate::invalid(
                "name",
                "1 to 64 letters, digits, spaces and . _ -, starting with a letter or digit",
            )
        })?;
        self.kind.validate()
    }
}

/// A change to an application; `None` leaves a field as it is. The kind cannot change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationPatch {
    /// New name.
    pub name: Option<String>,
    /// New settings (must be of the same kind).
    pub kind: Option<AppKind>,
}
