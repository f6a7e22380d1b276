//! The server comes up over HTTPS with its generated certificate and answers the API; its SAML
//! IdPs are named by the configured public URL.

use crate::harness::Server;

#[test]
fn the_demo_server_answers_over_https() {
    let s = Server::start_demo();
    let c = s.client();
    let spec: serde_json::Value = c
        .get(format!("{}/openapi.json", s.api))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(spec["paths"].as_object().is_some_and(|p| p.len() > 20));
    let token = s.login("acme", "acme-admin", "Demo-2026:5.2!");
    let tenants: serde_json::Value = c
        .get(format!("{}/tenants", s.api))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let slugs: Vec<&str> = tenants["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "contoso", "fabrikam"]);
    // A client that does not trust the certificate cannot talk to it.
    let stranger = reqwest::blocking::Client::builder().build().unwrap();
    assert!(stranger
        .get(format!("{}/openapi.json", s.api))
        .send()
        .is_err());
}

#[test]
fn saml_idps_are_named_by_the_configured_public_url() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Server::config_in(tmp.path());
    config.saml.base_url = Some("https://sso.example.test".into());
    {
        let dir = tessera::keys::open(&config).unwrap();
        tessera::demo::seed(&dir).unwrap();
    }
    let s = Server::start_on(config, tmp);
    let base = s.api.trim_end_matches("/api/v1");
    let r = s
        .client()
        .get(format!("{base}/saml/contoso/metadata"))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let md = r.text().unwrap();
    assert!(
        md.contains(r#"entityID="https://sso.example.test/saml/contoso""#),
        "{md}"
    );
    assert!(
        md.contains(r#"Location="https://sso.example.test/saml/contoso/sso""#),
        "{md}"
    );
    assert!(!md.contains("127.0.0.1"), "{md}");
}
