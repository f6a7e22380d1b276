//! SP registration from SAML 2.0 metadata ("import metadata"): an SP's `EntityDescriptor`, as an
//! administrator pastes it, read into what Tessera registers — entity id, HTTP-POST assertion
//! consumer services, the HTTP-Redirect single logout URL, the SP's certificate, whether it signs
//! its requests and wants signed assertions, and its NameID format — with a note for everything
//! read but not used. A pure function of the text: bounded size, DTDs and entities refused before
//! any parser runs, parsed with samael's metadata schema types, never a panic. It must not touch
//! the directory: the caller registers the result through the core, which checks every field.

use crate::idp::{name_id, BINDING_POST, BINDING_REDIRECT};
use crate::xml;
use base64::Engine;
use openssl::x509::X509;
use samael::metadata::{EntityDescriptor, IndexedEndpoint, KeyDescriptor, SpSsoDescriptor};
use tessera_directory::model::{AcsUrl, NameIdFormat, SamlServiceProvider, SpOptions};

/// The largest metadata document accepted.
pub const MAX_METADATA: usize = 256 * 1024;
/// The most assertion consumer services taken (the core registers at most 32).
const MAX_ACS: usize = 32;

const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// Why a metadata document was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The document is larger than [`MAX_METADATA`].
    #[error("the metadata is larger than {MAX_METADATA} bytes")]
    TooLarge,
    /// The document declares a DTD or entities (or another `<!` construct but a comment).
    #[error("DTDs and entity declarations are refused in metadata")]
    Doctype,
    /// The root is not a SAML 2.0 metadata `EntityDescriptor` (named: what it is instead).
    #[error("not an SP's metadata: {0}")]
    NotEntityDescriptor(String),
    /// The XML does not read as SAML metadata (the parser's words).
    #[error("the metadata does not parse: {0}")]
    Malformed(String),
    /// The EntityDescriptor has no `entityID`.
    #[error("the EntityDescriptor has no entityID")]
    NoEntityId,
    /// There is no `SPSSODescriptor` for the SAML 2.0 protocol.
    #[error("there is no SPSSODescriptor supporting SAML 2.0 (is this an IdP's metadata?)")]
    NoSpDescriptor,
    /// No `AssertionConsumerService` uses the HTTP-POST binding, the only one Tessera answers on.
    #[error("no AssertionConsumerService uses the HTTP-POST binding (the only one supported){0}")]
    NoPostAcs(String),
    /// An `AssertionConsumerService` is unusable (named, with the reason).
    #[error("AssertionConsumerService {0}")]
    BadAcs(String),
    /// A `KeyDescriptor`'s certificate is not a readable X.509 certificate.
    #[error("the {0} certificate in a KeyDescriptor is not a readable X.509 certificate")]
    BadCertificate(&'static str),
}

/// What an SP's metadata says, ready to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpMetadata {
    /// The SP's entity id.
    pub entity_id: String,
    /// Its HTTP-POST assertion consumer services (index and isDefault as published).
    pub acs_urls: Vec<AcsUrl>,
    /// The first NameID format it lists that Tessera issues; `None` when it lists none of them.
    pub name_id_format: Option<NameIdFormat>,
    /// Its HTTP-Redirect single logout URL.
    pub slo_url: Option<String>,
    /// Its certificate as PEM: the signing one, else the encryption one.
    pub certificate: Option<String>,
    /// `AuthnRequestsSigned="true"`.
    pub authn_requests_signed: bool,
    /// `WantAssertionsSigned`, when given.
    pub want_assertions_signed: Option<bool>,
    /// What was read but not taken, in words an administrator can act on.
    pub notes: Vec<String>,
}

impl SpMetadata {
    /// The SP as this metadata alone registers it: attributes unmapped, NameID format
    /// unspecified unless listed, the rest of the options at their defaults.
    pub fn service_provider(&self) -> SamlServiceProvider {
        SamlServiceProvider {
            entity_id: self.entity_id.clone(),
            acs_urls: self.acs_urls.clone(),
            name_id_format: self.name_id_format.unwrap_or(NameIdFormat::Unspecified),
            attribute_mapping: Default::default(),
            options: self.apply(SpOptions::default()),
        }
    }

    /// `options` with what the metadata says laid over them: SLO URL, certificate, signed
    /// requests and signed assertions (only what the metadata states).
    pub fn apply(&self, mut options: SpOptions) -> SpOptions {
        if let Some(u) = &self.slo_url {
            options.slo_url = Some(u.clone());
        }
        if let Some(c) = &self.certificate {
            options.certificate = Some(c.clone());
        }
        options.require_signed_requests = self.authn_requests_signed;
        if let Some(w) = self.want_assertions_signed {
            options.sign_assertion = w;
        }
        options
    }
}

/// Reads an SP's metadata (a single `EntityDescriptor` with an `SPSSODescriptor`).
pub fn parse_sp_metadata(text: &str) -> Result<SpMetadata, MetadataError> {
    if text.len() > MAX_METADATA {
        return Err(MetadataError::TooLarge);
    }
    xml::refuse_dtd(text).map_err(|_| MetadataError::Doctype)?;
    match xml::root_name(text) {
        Some((local, ns)) if local == "EntityDescriptor" && ns == METADATA_NS => {}
        Some((local, ns)) if local == "EntitiesDescriptor" && ns == METADATA_NS => {
            return Err(MetadataError::NotEntityDescriptor(
                "an EntitiesDescriptor (a federation's aggregate); post the one SP's \
                 EntityDescriptor"
                    .into(),
            ))
        }
        Some((local, ns)) => {
            return Err(MetadataError::NotEntityDescriptor(format!(
                "the root element is {local} in namespace {ns}, not a SAML 2.0 metadata \
                 EntityDescriptor"
            )))
        }
        None => {
            return Err(MetadataError::NotEntityDescriptor(
                "no root element with its namespace declared on it".into(),
            ))
        }
    }
    let entity: EntityDescriptor = samael::metadata::de::from_str(text)
        .map_err(|e| MetadataError::Malformed(short(&e.to_string())))?;
    let entity_id = entity
        .entity_id
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or(MetadataError::NoEntityId)?
        .to_string();
    let mut notes = Vec::new();
    let descriptors = entity.sp_sso_descriptors.unwrap_or_default();
    let mut saml2 = descriptors.into_iter().filter(|d| {
        d.protocol_support_enumeration
            .as_deref()
            .is_some_and(|p| p.split_whitespace().any(|p| p == PROTOCOL_NS))
    });
    let sp = saml2.next().ok_or(MetadataError::NoSpDescriptor)?;
    if saml2.next().is_some() {
        notes.push("several SPSSODescriptors for SAML 2.0: the first is used".into());
    }
    let acs_urls = acs(&sp.assertion_consumer_services, &mut notes)?;
    let slo_url = slo(&sp, &mut notes);
    let certificate = certificate(sp.key_descriptors.as_deref().unwrap_or(&[]), &mut notes)?;
    let name_id_format = name_id_format(sp.name_id_formats.as_deref().unwrap_or(&[]), &mut notes);
    Ok(SpMetadata {
        entity_id,
        acs_urls,
        name_id_format,
        slo_url,
        certificate,
        authn_requests_signed: sp.authn_requests_signed == Some(true),
        want_assertions_signed: sp.want_assertions_signed,
        notes,
    })
}

/// A parser message, cut to a length that fits an error answer.
fn short(s: &str) -> String {
    const MAX: usize = 300;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or(s)),
        None => s.to_string(),
    }
}

fn acs(
    services: &[IndexedEndpoint],
    notes: &mut Vec<String>,
) -> Result<Vec<AcsUrl>, MetadataError> {
    let mut out: Vec<AcsUrl> = Vec::new();
    let mut ignored = Vec::new();
    for s in services {
        if s.binding.trim() != BINDING_POST {
            ignored.push(format!("index {} ({})", s.index, s.binding.trim()));
            continue;
        }
        let index = u16::try_from(s.index).map_err(|_| {
            MetadataError::BadAcs(format!("index {} is larger than 65535", s.index))
        })?;
        if out.iter().any(|a| a.index == index) {
            return Err(MetadataError::BadAcs(format!(
                "index {index} appears twice"
            )));
        }
        if out.len() == MAX_ACS {
            return Err(MetadataError::BadAcs(format!(
                "list is longer than {MAX_ACS} HTTP-POST endpoints"
            )));
        }
        out.push(AcsUrl {
            index,
            url: s.location.trim().to_string(),
            default: s.is_default == Some(true),
        });
    }
    if !ignored.is_empty() {
        let what = format!(
            "AssertionConsumerService {} ignored: only HTTP-POST is supported",
            ignored.join(", ")
        );
        if out.is_empty() {
            return Err(MetadataError::NoPostAcs(format!(" ({what})")));
        }
        notes.push(what);
    }
    if out.is_empty() {
        return Err(MetadataError::NoPostAcs(String::new()));
    }
    if out.iter().filter(|a| a.default).count() > 1 {
        return Err(MetadataError::BadAcs(
            "isDefault=\"true\" is set on more than one HTTP-POST endpoint".into(),
        ));
    }
    Ok(out)
}

fn slo(sp: &SpSsoDescriptor, notes: &mut Vec<String>) -> Option<String> {
    let services = sp.single_logout_services.as_deref().unwrap_or(&[]);
    let redirect = services
        .iter()
        .find(|s| s.binding.trim() == BINDING_REDIRECT)
        .map(|s| s.location.trim().to_string());
    if redirect.is_none() && !services.is_empty() {
        notes.push(
            "SingleLogoutService ignored: only the HTTP-Redirect binding is used to reach SPs"
                .into(),
        );
    }
    redirect
}

/// The certificates of the descriptors of one use (`None`: unspecified, so both).
fn certs_for<'a>(keys: &'a [KeyDescriptor], usage: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    keys.iter()
        .filter(move |k| k.key_use.as_deref().is_none_or(|u| u.trim() == usage))
        .filter_map(|k| k.key_info.x509_data.as_ref())
        .flat_map(|d| d.certificates.iter().map(String::as_str))
}

/// A base64 certificate from metadata as PEM, checked to be X.509.
fn pem(b64: &str, usage: &'static str) -> Result<String, MetadataError> {
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| MetadataError::BadCertificate(usage))?;
    let cert = X509::from_der(&der).map_err(|_| MetadataError::BadCertificate(usage))?;
    let pem = cert
        .to_pem()
        .map_err(|_| MetadataError::BadCertificate(usage))?;
    String::from_utf8(pem).map_err(|_| MetadataError::BadCertificate(usage))
}

fn certificate(
    keys: &[KeyDescriptor],
    notes: &mut Vec<String>,
) -> Result<Option<String>, MetadataError> {
    let signing: Vec<String> = certs_for(keys, "signing")
        .map(|c| pem(c, "signing"))
        .collect::<Result<_, _>>()?;
    let encryption: Vec<String> = certs_for(keys, "encryption")
        .map(|c| pem(c, "encryption"))
        .collect::<Result<_, _>>()?;
    if signing.len() > 1 {
        notes.push(format!(
            "{} signing certificates: the first is registered (one per SP)",
            signing.len()
        ));
    }
    let chosen = signing.first().or(encryption.first()).cloned();
    if let (Some(c), Some(e)) = (&chosen, encryption.first()) {
        if c != e {
            notes.push(
                "the encryption certificate differs from the signing one: only the signing \
                 certificate is registered, so assertions can only be encrypted to it"
                    .into(),
            );
        }
    }
    Ok(chosen)
}

fn name_id_format(formats: &[String], notes: &mut Vec<String>) -> Option<NameIdFormat> {
    let known = |f: &str| match f.trim() {
        name_id::EMAIL => Some(NameIdFormat::Email),
        name_id::PERSISTENT => Some(NameIdFormat::Persistent),
        name_id::TRANSIENT => Some(NameIdFormat::Transient),
        name_id::UNSPECIFIED => Some(NameIdFormat::Unspecified),
        _ => None,
    };
    let found = formats.iter().find_map(|f| known(f));
    if found.is_none() && !formats.is_empty() {
        notes.push(format!(
            "NameIDFormat {} not supported: the username (unspecified) is sent",
            formats
                .iter()
                .map(|f| f.trim())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    found
}

#[cfg(test)]
mod tests;
