//! Tenant isolation: a contoso SP cannot be used through fabrikam's endpoints, a contoso SSO
//! session logs nobody into fabrikam, each tenant has its own IdP key and metadata, and an
//! unknown tenant or application is simply not found.

use crate::harness::Idp;
use serde_json::json;

#[test]
fn a_contoso_sp_is_unknown_at_fabrikam() {
    let idp = Idp::start();
    // contoso's wiki asks fabrikam's IdP (Destination = fabrikam's endpoint): unknown issuer.
    let r = idp.sp(
        "fabrikam",
        idp.wiki(),
        json!({"action": "request", "binding": "redirect"}),
    );
    let url = r["url"].as_str().unwrap();
    assert!(url.starts_with(&idp.sso("fabrikam")));
    let resp = idp.http.get(url).send().unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body = resp.text().unwrap();
    assert!(body.contains("not a registered service provider"), "{body}");
    assert!(!body.contains("SAMLResponse"));
    // IdP-initiated by the name of an application fabrikam does not have.
    let resp = idp
        .http
        .get(format!("{}/saml/fabrikam/apps/crm/start", idp.base))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = idp
        .http
        .get(format!("{}/saml/nowhere/metadata", idp.base))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[test]
fn a_contoso_session_logs_nobody_into_fabrikam() {
    let idp = Idp::start();
    let c = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect"}),
    );
    let cookies = c["cookies"].clone();
    assert!(cookies["tessera_saml_session"].is_string());
    // The browser sends contoso's session cookie to fabrikam (sp.py ignores cookie paths):
    // fabrikam asks for a password all the same.
    let fwiki = json!({"entity_id": crate::harness::FWIKI, "acs": crate::harness::FWIKI_ACS});
    let f = idp.sp(
        "fabrikam",
        fwiki.clone(),
        json!({"action": "idp-initiated", "app": "wiki", "cookies": cookies, "max_pages": 1}),
    );
    assert_eq!(f["status"], "stuck");
    assert_eq!(f["pages"], json!(["login"]));
    // With fabrikam's own password, fabrikam's alice gets fabrikam's own opaque id.
    let f = idp.sp(
        "fabrikam",
        fwiki,
        json!({"action": "sp-initiated", "binding": "post", "cookies": cookies}),
    );
    assert_eq!(f["pages"], json!(["login", "post"]));
    assert_ne!(f["name_id"], c["name_id"]);
    assert_eq!(f["attributes"]["mail"], json!(["alice@fabrikam.example"]));
}

#[test]
fn metadata_and_keys_differ_per_tenant() {
    let idp = Idp::start();
    let (c, _) = idp.metadata("contoso");
    let (f, _) = idp.metadata("fabrikam");
    assert!(c.contains(&format!(r#"entityID="{}""#, idp.entity("contoso"))));
    assert!(c.contains(&format!(r#"Location="{}""#, idp.sso("contoso"))));
    assert!(f.contains(&format!(r#"entityID="{}""#, idp.entity("fabrikam"))));
    assert_ne!(idp.idp_cert_pem("contoso"), idp.idp_cert_pem("fabrikam"));
    // The key is made once: the metadata does not change between fetches.
    assert_eq!(idp.metadata("contoso").0, c);
    assert!(c.contains("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"));
    assert!(c.contains("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"));
    assert!(c.contains("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"));
}
