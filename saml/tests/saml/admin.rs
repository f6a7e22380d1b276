//! What administrators do to the IdP, judged by the real SP and xmlsec1: an SP registered from
//! the metadata pysaml2 writes for itself signs in (its signed requests required), and the IdP
//! signing key rotates — the next certificate is published beside the active one before it
//! signs, responses after activation verify with the new certificate only, and the old one
//! stays published until removed.

use crate::harness::Idp;
use crate::signatures::{verify, RESPONSE_ID};
use serde_json::json;
use std::collections::BTreeSet;
use tessera_directory::model::{AppKind, NameIdFormat, NewApplication, SamlServiceProvider};
use tessera_directory::Actor;

const PORTAL: &str = "https://portal.contoso.test/sp";
const PORTAL_ACS: &str = "http://localhost/portal/acs";

/// Every signing certificate a metadata document publishes, as PEM, in order.
fn certs_pem(md: &str) -> Vec<String> {
    md.split("<ds:X509Certificate>")
        .skip(1)
        .map(|r| {
            let b64 = r.split("</ds:X509Certificate>").next().unwrap();
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                lines.join("\n")
            )
        })
        .collect()
}

#[test]
fn an_sp_registered_from_its_own_pysaml2_metadata_signs_in() {
    let idp = Idp::start();
    let key = crate::harness::key_pair(idp.files.path(), "portal");
    let portal = json!({
        "entity_id": PORTAL, "acs": PORTAL_ACS, "slo": "http://localhost/portal/slo",
        "sign": true, "key_file": key.key_file, "cert_file": key.cert_file,
    });
    let xml = idp.sp("contoso", portal.clone(), json!({"action": "metadata"}))["xml"]
        .as_str()
        .unwrap()
        .to_string();
    let m = tessera_saml::parse_sp_metadata(&xml).unwrap();
    assert_eq!(m.entity_id, PORTAL);
    assert_eq!(m.acs_urls.len(), 1);
    assert_eq!(m.acs_urls[0].url, PORTAL_ACS);
    assert_eq!(m.slo_url.as_deref(), Some("http://localhost/portal/slo"));
    assert!(m.authn_requests_signed);
    assert_eq!(m.name_id_format, Some(NameIdFormat::Persistent));
    let registered = openssl::x509::X509::from_pem(m.certificate.as_deref().unwrap().as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let given = openssl::x509::X509::from_pem(key.cert_pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    assert_eq!(registered, given);

    let d = idp.dir();
    let sys = Actor::system();
    let contoso = d.tenants().resolve(&sys, "contoso").unwrap();
    let staff = d.groups().by_name(&sys, contoso, "staff").unwrap();
    let sp = SamlServiceProvider {
        attribute_mapping: [("mail".to_string(), "email".to_string())].into(),
        ..m.service_provider()
    };
    d.applications()
        .create(
            &sys,
            contoso,
            NewApplication {
                name: "portal".into(),
                kind: AppKind::Saml(sp),
                bound_groups: BTreeSet::from([staff.id]),
            },
        )
        .unwrap();

    let r = idp.sp(
        "contoso",
        portal.clone(),
        json!({"action": "sp-initiated", "binding": "redirect"}),
    );
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(
        r["name_id_format"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    );
    assert_eq!(
        r["attributes"]["mail"],
        json!(["alice@contoso.example"]),
        "{r}"
    );
    // The metadata said AuthnRequestsSigned: an unsigned request from that SP is refused.
    let mut unsigned = portal;
    unsigned["sign"] = json!(false);
    let q = idp.sp(
        "contoso",
        unsigned,
        json!({"action": "request", "binding": "redirect"}),
    );
    let resp = idp.http.get(q["url"].as_str().unwrap()).send().unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().unwrap().contains("signature"));
}

#[test]
fn the_next_key_is_published_first_then_signs_and_the_old_one_stays_until_removed() {
    let idp = Idp::start();
    let d = idp.dir();
    let sys = Actor::system();
    let contoso = d.tenants().resolve(&sys, "contoso").unwrap();
    let login = || {
        let r = idp.sp(
            "contoso",
            idp.wiki(),
            json!({"action": "sp-initiated", "binding": "redirect"}),
        );
        assert_eq!(r["status"], "success", "pysaml2 refused: {r}");
        r["response_xml"].as_str().unwrap().to_string()
    };
    let (md, _) = idp.metadata("contoso");
    let old = certs_pem(&md);
    assert_eq!(old.len(), 1);
    let old = old[0].clone();

    // Next: both certificates published, the old key still signs.
    let now = d.now();
    d.saml()
        .prepare_next_idp_key(&sys, contoso, &|| {
            tessera_saml::make_idp_key("contoso", now)
        })
        .unwrap();
    let (md, _) = idp.metadata("contoso");
    let both = certs_pem(&md);
    assert_eq!(both.len(), 2, "{md}");
    assert_eq!(both[0], old, "the active certificate comes first");
    let new = both[1].clone();
    assert_ne!(new, old);
    assert_eq!(md.matches(r#"<md:KeyDescriptor use="signing">"#).count(), 2);
    let before = login();
    assert!(verify(&idp, "before-old", &before, &old, RESPONSE_ID).0);
    assert!(!verify(&idp, "before-new", &before, &new, RESPONSE_ID).0);

    // Activated: responses are signed with the new key; pysaml2 (reading both certificates
    // from the metadata) accepts them and xmlsec1 verifies them with the new certificate only.
    d.saml().activate_next_idp_key(&sys, contoso).unwrap();
    let (md, _) = idp.metadata("contoso");
    assert_eq!(certs_pem(&md), [new.clone(), old.clone()]);
    let after = login();
    let (ok, out) = verify(&idp, "after-new", &after, &new, RESPONSE_ID);
    assert!(ok, "{out}");
    assert!(!verify(&idp, "after-old", &after, &old, RESPONSE_ID).0);

    // The old certificate goes when removed; logins go on.
    let keys = d.saml().idp_keys(&sys, contoso).unwrap();
    d.saml()
        .remove_idp_key(&sys, contoso, &keys[1].fingerprint)
        .unwrap();
    let (md, _) = idp.metadata("contoso");
    assert_eq!(certs_pem(&md), std::slice::from_ref(&new));
    let last = login();
    assert!(verify(&idp, "last", &last, &new, RESPONSE_ID).0);
    // fabrikam's IdP never saw any of it.
    assert_eq!(certs_pem(&idp.metadata("fabrikam").0).len(), 1);
}
