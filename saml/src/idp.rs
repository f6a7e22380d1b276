//! A tenant's IdP: its entity id and endpoints under the configured base URL, its signing keys
//! (RSA 2048 and a self-signed certificate, made here with OpenSSL — on first use, or when an
//! administrator prepares the next key — and kept sealed by the core), and its metadata, which
//! publishes every signing certificate the core lists (active, next, retired). It must not keep
//! keys anywhere but through the core.

use crate::error::{from_directory, Error};
use crate::xml::{cert_b64, esc};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use tessera_directory::model::{IdpKey, NewIdpKey, SecretBytes, TenantId};
use tessera_directory::policy::Timestamp;
use tessera_directory::{Actor, Directory, Error as DirError};

/// RSA modulus size of IdP keys.
pub const KEY_BITS: u32 = 2048;
/// How long an IdP certificate is valid.
const CERT_YEARS: i64 = 10;

/// The NameID format URIs.
pub(crate) mod name_id {
    pub(crate) const EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
    pub(crate) const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    pub(crate) const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
    pub(crate) const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
}

pub(crate) const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub(crate) const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// One tenant's IdP as addressed from outside.
#[derive(Debug, Clone)]
pub(crate) struct Idp {
    pub(crate) tenant: TenantId,
    pub(crate) slug: String,
    /// `<base>/saml/<slug>`: the entity id and the prefix of every endpoint.
    pub(crate) entity_id: String,
}

impl Idp {
    pub(crate) fn new(base_url: &str, tenant: TenantId, slug: &str) -> Self {
        Idp {
            tenant,
            slug: slug.to_string(),
            entity_id: format!("{}/saml/{slug}", base_url.trim_end_matches('/')),
        }
    }

    pub(crate) fn sso_url(&self) -> String {
        format!("{}/sso", self.entity_id)
    }

    pub(crate) fn slo_url(&self) -> String {
        format!("{}/slo", self.entity_id)
    }

    /// The cookie path: cookies of one tenant's IdP never reach another's.
    pub(crate) fn cookie_path(&self) -> String {
        format!("/saml/{}/", self.slug)
    }

    /// The tenant's key, made on first use.
    pub(crate) fn key(&self, dir: &Directory) -> Result<IdpKey, Error> {
        let (slug, now) = (self.slug.clone(), dir.now());
        dir.saml()
            .idp_key(&Actor::system(), self.tenant, &|| make_idp_key(&slug, now))
            .map_err(from_directory)
    }

    /// The IdP's metadata (SAML 2.0 metadata, unsigned; fetch it over HTTPS).
    pub(crate) fn metadata(&self, key: &IdpKey) -> String {
        // Every published certificate (the active one first); the active one even if the list
        // were empty.
        let certs: Vec<&[u8]> = if key.published.is_empty() {
            vec![key.certificate_der.as_slice()]
        } else {
            key.published.iter().map(Vec::as_slice).collect()
        };
        let keys: String = certs
            .iter()
            .map(|der| {
                format!(
                    concat!(
                        r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>"#,
                        r#"<ds:X509Certificate>{}</ds:X509Certificate>"#,
                        r#"</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                    ),
                    cert_b64(der)
                )
            })
            .collect();
        let sso = esc(&self.sso_url());
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                "\n",
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" "#,
                r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">"#,
                r#"<md:IDPSSODescriptor WantAuthnRequestsSigned="false" "#,
                r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
                "{keys}",
                r#"<md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>"#,
                r#"<md:SingleLogoutService Binding="{post}" Location="{slo}"/>"#,
                r#"<md:NameIDFormat>{email}</md:NameIDFormat>"#,
                r#"<md:NameIDFormat>{persistent}</md:NameIDFormat>"#,
                r#"<md:NameIDFormat>{transient}</md:NameIDFormat>"#,
                r#"<md:NameIDFormat>{unspecified}</md:NameIDFormat>"#,
                r#"<md:SingleSignOnService Binding="{redirect}" Location="{sso}"/>"#,
                r#"<md:SingleSignOnService Binding="{post}" Location="{sso}"/>"#,
                r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#,
                "\n"
            ),
            entity = esc(&self.entity_id),
            keys = keys,
            email = name_id::EMAIL,
            persistent = name_id::PERSISTENT,
            transient = name_id::TRANSIENT,
            unspecified = name_id::UNSPECIFIED,
            redirect = BINDING_REDIRECT,
            post = BINDING_POST,
            sso = sso,
            slo = esc(&self.slo_url()),
        )
    }
}

/// A fresh IdP key for the tenant `slug` (RSA 2048, a self-signed certificate valid from an
/// hour before `now` for ten years), for the core's `idp_key` and `prepare_next_idp_key`.
pub fn make_idp_key(slug: &str, now: Timestamp) -> Result<NewIdpKey, DirError> {
    generate(slug, now.as_secs()).map_err(|e| DirError::Corrupt(format!("IdP key generation: {e}")))
}

/// A fresh RSA key and a self-signed certificate naming the tenant.
fn generate(slug: &str, now_secs: i64) -> Result<NewIdpKey, openssl::error::ErrorStack> {
    let rsa = Rsa::generate(KEY_BITS)?;
    let pkey = PKey::from_rsa(rsa)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, &format!("Tessera SAML IdP {slug}"))?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&pkey)?;
    // An hour of slack for SPs whose clocks run behind.
    let not_before = Asn1Time::from_unix(now_secs - 3600)?;
    let not_after = Asn1Time::from_unix(now_secs + CERT_YEARS * 365 * 86_400)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.sign(&pkey, MessageDigest::sha256())?;
    Ok(NewIdpKey {
        private_key_der: SecretBytes::new(pkey.rsa()?.private_key_to_der()?),
        certificate_der: b.build().to_der()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::X509;

    #[test]
    fn a_generated_key_is_rsa_2048_with_a_matching_self_signed_certificate() {
        let k = generate("contoso", 1_767_225_600).unwrap();
        let cert = X509::from_der(&k.certificate_der).unwrap();
        let key = PKey::private_key_from_der(k.private_key_der.expose()).unwrap();
        assert_eq!(key.bits(), 2048);
        assert!(cert.public_key().unwrap().public_eq(&key));
        assert!(cert.verify(&cert.public_key().unwrap()).unwrap());
        let cn = cert
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .unwrap()
            .data()
            .to_string();
        assert_eq!(cn.unwrap(), "Tessera SAML IdP contoso");
    }

    #[test]
    fn the_metadata_publishes_every_listed_certificate_active_first() {
        let t = TenantId::from_uuid(Default::default());
        let idp = Idp::new("https://idp.example", t, "contoso");
        let key = |published: Vec<Vec<u8>>| IdpKey {
            tenant: t,
            private_key_der: SecretBytes::new(vec![1]),
            certificate_der: vec![1, 2, 3],
            published,
            pairwise_secret: SecretBytes::new(vec![2]),
            created_at: Timestamp::from_secs(0),
        };
        let md = idp.metadata(&key(vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]]));
        let certs: Vec<&str> = md
            .split("<ds:X509Certificate>")
            .skip(1)
            .filter_map(|r| r.split('<').next())
            .collect();
        assert_eq!(
            certs,
            [
                cert_b64(&[1, 2, 3]),
                cert_b64(&[4, 5, 6]),
                cert_b64(&[7, 8, 9])
            ]
        );
        assert_eq!(md.matches(r#"<md:KeyDescriptor use="signing">"#).count(), 3);
        // A key without a list still publishes itself.
        let md = idp.metadata(&key(Vec::new()));
        assert_eq!(md.matches("<ds:X509Certificate>").count(), 1);
        assert!(md.contains(&cert_b64(&[1, 2, 3])));
    }

    #[test]
    fn endpoints_hang_off_the_entity_id() {
        let t = TenantId::from_uuid(Default::default());
        let idp = Idp::new("https://idp.example:8443/", t, "contoso");
        assert_eq!(idp.entity_id, "https://idp.example:8443/saml/contoso");
        assert_eq!(idp.sso_url(), "https://idp.example:8443/saml/contoso/sso");
        assert_eq!(idp.cookie_path(), "/saml/contoso/");
    }
}
