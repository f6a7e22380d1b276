//! xmlsec1 as the judge of every signature the IdP emits: the Response's and the Assertion's
//! (RSA-SHA256, SHA-256 digests) verify with the certificate from the tenant's metadata, a
//! tampered copy does not, and neither verifies with another tenant's certificate.

use crate::harness::{xmlsec1, Idp};
use serde_json::json;

pub const RESPONSE_ID: &str = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
const ASSERTION_ID: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";

/// Whether xmlsec1 verifies the signature of the element `id_attr` in `xml` with `cert_pem`.
pub fn verify(idp: &Idp, name: &str, xml: &str, cert_pem: &str, id_attr: &str) -> (bool, String) {
    let dir = idp.files.path();
    let doc = dir.join(format!("{name}.xml"));
    let cert = dir.join(format!("{name}.idp.pem"));
    std::fs::write(&doc, xml).unwrap();
    std::fs::write(&cert, cert_pem).unwrap();
    xmlsec1(&[
        "--verify",
        "--pubkey-cert-pem",
        cert.to_str().unwrap(),
        "--id-attr:ID",
        id_attr,
        doc.to_str().unwrap(),
    ])
}

/// The signed Assertion alone, as a document of its own (it declares its namespaces).
fn assertion_of(response: &str) -> String {
    let start = response.find("<saml:Assertion").unwrap();
    let end = response.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    response[start..end].to_string()
}

#[test]
fn xmlsec1_accepts_every_signature_we_emit_and_rejects_tampered_copies() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect"}),
    );
    let xml = r["response_xml"].as_str().unwrap();
    assert_eq!(
        xml.matches("<ds:Signature xmlns").count(),
        2,
        "response and assertion"
    );
    let cert = idp.idp_cert_pem("contoso");
    let (ok, out) = verify(&idp, "response", xml, &cert, RESPONSE_ID);
    assert!(ok, "the Response signature: {out}");
    let assertion = assertion_of(xml);
    let (ok, out) = verify(&idp, "assertion", &assertion, &cert, ASSERTION_ID);
    assert!(ok, "the Assertion signature: {out}");

    let name_id = r["name_id"].as_str().unwrap();
    let tampered = xml.replace(name_id, "someone-else");
    assert_ne!(tampered, xml);
    assert!(!verify(&idp, "t1", &tampered, &cert, RESPONSE_ID).0);
    assert!(!verify(&idp, "t2", &assertion_of(&tampered), &cert, ASSERTION_ID).0);
    let tampered = xml.replace("alice@contoso.example", "admin@contoso.example");
    assert!(!verify(&idp, "t3", &tampered, &cert, RESPONSE_ID).0);

    // Another tenant's key does not vouch for contoso's response.
    let other = idp.idp_cert_pem("fabrikam");
    assert_ne!(other, cert);
    assert!(!verify(&idp, "other", xml, &other, RESPONSE_ID).0);
}

#[test]
fn a_refusal_is_signed_too() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "user": "bob"}),
    );
    let xml = r["response_xml"].as_str().unwrap();
    let (ok, out) = verify(
        &idp,
        "denied",
        xml,
        &idp.idp_cert_pem("contoso"),
        RESPONSE_ID,
    );
    assert!(ok, "{out}");
}
