//! The fuzzing entry, compiled only with the `fuzzing` feature: an AuthnRequest from raw bytes
//! through the SSO endpoint's own checks (query parsing, base64, bounded inflate, the DTD guard,
//! samael's parser, signature verification with a registered certificate, every field check and
//! the replay cache) against a small directory of its own. It adds no behaviour and opens no
//! socket; the binary never enables it.
//!
//! The fixture: tenant `contoso` (root → acme → contoso) with SPs `https://wiki.test/sp` (unsigned requests, ACS
//! `https://wiki.test/acs`) and `https://crm.test/sp` (requests must be signed with the fixed
//! certificate [`Target::crm_cert_der`]), on a manual clock at the testkit's start.

use crate::error::Error;
use crate::idp::Idp;
use crate::request::{self, Incoming};
use std::collections::{BTreeMap, BTreeSet};
use tessera_directory::model::{
    AcsUrl, AppKind, NameIdFormat, NewApplication, SamlServiceProvider, SpOptions,
};
use tessera_directory::policy::TenantKind;
use tessera_directory::testkit::{new_tenant, TestDirectory};
use tessera_directory::Actor;

/// The IdP's base URL in the fixture.
pub const BASE: &str = "https://idp.test";

/// A directory with one tenant and two SPs, and the tenant's IdP.
#[derive(Debug)]
pub struct Target {
    td: TestDirectory,
    idp: Idp,
    crm_cert_der: Vec<u8>,
}

fn sp(entity: &str, acs: &str, options: SpOptions) -> AppKind {
    AppKind::Saml(SamlServiceProvider {
        entity_id: entity.into(),
        acs_urls: vec![AcsUrl {
            index: 0,
            url: acs.into(),
            default: true,
        }],
        name_id_format: NameIdFormat::Persistent,
        attribute_mapping: BTreeMap::new(),
        options,
    })
}

impl Target {
    /// Builds the fixture; a failure here is a broken build, not a finding.
    pub fn new() -> Result<Target, String> {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let td = TestDirectory::new().map_err(|x| e(&x))?;
        let sys = Actor::system();
        let d = td.dir.clone();
        let root = d
            .tenants()
            .bootstrap(&sys, new_tenant("root", TenantKind::Distributor))
            .map_err(|x| e(&x))?;
        let msp = d
            .tenants()
            .create(&sys, root.id, new_tenant("acme", TenantKind::Msp))
            .map_err(|x| e(&x))?;
        let contoso = d
            .tenants()
            .create(&sys, msp.id, new_tenant("contoso", TenantKind::Customer))
            .map_err(|x| e(&x))?;
        let crm_cert_der = self_signed().map_err(|x| e(&x))?;
        let pem = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&crm_cert_der)
        };
        for (name, kind) in [
            (
                "wiki",
                sp(
                    "https://wiki.test/sp",
                    "https://wiki.test/acs",
                    SpOptions::default(),
                ),
            ),
            (
                "crm",
                sp(
                    "https://crm.test/sp",
                    "https://crm.test/acs",
                    SpOptions {
                        certificate: Some(pem),
                        require_signed_requests: true,
                        ..SpOptions::default()
                    },
                ),
            ),
        ] {
            d.applications()
                .create(
                    &sys,
                    contoso.id,
                    NewApplication {
                        name: name.into(),
                        kind,
                        bound_groups: BTreeSet::new(),
                    },
                )
                .map_err(|x| e(&x))?;
        }
        let idp = Idp::new(BASE, contoso.id, "contoso");
        Ok(Target {
            td,
            idp,
            crm_cert_der,
        })
    }

    /// The certificate crm's requests must be signed with (DER).
    pub fn crm_cert_der(&self) -> &[u8] {
        &self.crm_cert_der
    }

    /// Checks one request: the first byte picks the binding — 0: the rest is a Redirect query
    /// string; 1: the rest is XML sent over POST (base64-encoded here); 2: the rest is XML sent
    /// over Redirect (deflated and encoded here, unsigned); anything else: the rest is a POST
    /// form value as given.
    pub fn check(&self, input: &[u8]) -> Result<(), Error> {
        let Some((&kind, rest)) = input.split_first() else {
            return Err(Error::Malformed("empty"));
        };
        let dir = &self.td.dir;
        let now = dir.now();
        let text = String::from_utf8_lossy(rest);
        let b64 = |b: &[u8]| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(b)
        };
        let r = match kind {
            0 => request::validate(dir, &self.idp, Incoming::Redirect(&text), now),
            1 => request::validate(
                dir,
                &self.idp,
                Incoming::Post {
                    saml_request: &b64(rest),
                    relay_state: None,
                },
                now,
            ),
            2 => {
                use std::io::Write;
                let mut enc =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(rest)
                    .map_err(|_| Error::Malformed("deflate"))?;
                let deflated = enc.finish().map_err(|_| Error::Malformed("deflate"))?;
                let q: String = b64(&deflated)
                    .bytes()
                    .map(|c| match c {
                        b'+' => "%2B".to_string(),
                        b'/' => "%2F".to_string(),
                        b'=' => "%3D".to_string(),
                        c => char::from(c).to_string(),
                    })
                    .collect();
                let q = format!("SAMLRequest={q}");
                request::validate(dir, &self.idp, Incoming::Redirect(&q), now)
            }
            _ => request::validate(
                dir,
                &self.idp,
                Incoming::Post {
                    saml_request: &text,
                    relay_state: Some("fuzz"),
                },
                now,
            ),
        };
        r.map(|_| ())
    }
}

fn self_signed() -> Result<Vec<u8>, openssl::error::ErrorStack> {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let pkey = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut n = X509NameBuilder::new()?;
    n.append_entry_by_text("CN", "crm.test")?;
    let n = n.build();
    let mut b = X509Builder::new()?;
    b.set_subject_name(&n)?;
    b.set_issuer_name(&n)?;
    b.set_pubkey(&pkey)?;
    let (from, to) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(1)?);
    b.set_not_before(&from)?;
    b.set_not_after(&to)?;
    b.sign(&pkey, MessageDigest::sha256())?;
    b.build().to_der()
}
