//! Logins pysaml2 completes as the SP: SP-initiated over HTTP-Redirect and HTTP-POST, with and
//! without signed requests, IdP-initiated, RelayState carried through, the TOTP step, a second SP
//! logging in through the SSO session without a password, and a user outside the bound groups
//! getting RequestDenied and no assertion.

use crate::harness::{Idp, CRM_ACS, WIKI_ACS};
use serde_json::{json, Value};

fn attr(r: &Value, name: &str) -> Vec<String> {
    r["attributes"][name]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn sp_initiated_redirect_and_post_unsigned_with_relay_state() {
    let idp = Idp::start();
    let mut ids = Vec::new();
    for binding in ["redirect", "post"] {
        let r = idp.sp(
            "contoso",
            idp.wiki(),
            json!({"action": "sp-initiated", "binding": binding, "relay_state": "/page?x=1&y=<2>"}),
        );
        assert_eq!(r["pages"], json!(["login", "post"]), "{binding}");
        assert_eq!(r["relay_state"], "/page?x=1&y=<2>");
        assert_eq!(
            r["name_id_format"],
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        );
        assert_eq!(attr(&r, "mail"), ["alice@contoso.example"]);
        assert_eq!(attr(&r, "givenName"), ["Alice"]);
        assert_eq!(attr(&r, "groups"), ["staff"]);
        assert_eq!(
            r["authn_class"],
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        );
        let xml = r["response_xml"].as_str().unwrap();
        assert!(xml.contains(&format!(r#"Recipient="{WIKI_ACS}""#)));
        assert!(xml.contains("rsa-sha256") && !xml.contains("rsa-sha1"));
        assert!(xml.contains("xmlenc#sha256") && !xml.contains("xmldsig#sha1"));
        ids.push(r["name_id"].as_str().unwrap().to_string());
    }
    // Persistent: the same opaque value at each login, not the username or e-mail.
    assert_eq!(ids[0], ids[1]);
    assert!(!ids[0].contains("alice"));
}

#[test]
fn signed_requests_over_both_bindings_and_a_second_sp_through_the_session() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.crm(&idp.crm_key),
        json!({"action": "sp-initiated", "binding": "redirect"}),
    );
    assert_eq!(r["pages"], json!(["login", "post"]));
    // crm's groups filter lets staff through; the persistent id differs per SP.
    assert_eq!(attr(&r, "groups"), ["staff"]);
    let crm_id = r["name_id"].as_str().unwrap().to_string();
    let cookies = r["cookies"].clone();
    assert!(cookies["tessera_saml_session"].is_string());

    let r = idp.sp(
        "contoso",
        idp.crm(&idp.crm_key),
        json!({"action": "sp-initiated", "binding": "post", "cookies": cookies}),
    );
    assert_eq!(
        r["pages"],
        json!(["post"]),
        "the session answers without a password"
    );
    assert_eq!(r["name_id"], crm_id.as_str());

    let w = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "cookies": cookies}),
    );
    assert_eq!(
        w["pages"],
        json!(["post"]),
        "a second SP, no password prompt"
    );
    assert_ne!(w["name_id"], crm_id.as_str(), "opaque per SP");
    assert!(r["session_index"].as_str().unwrap().starts_with("_s"));
    assert_eq!(w["session_index"], r["session_index"], "one SSO session");
    assert!(r["response_xml"].as_str().unwrap().contains(CRM_ACS));
}

#[test]
fn idp_initiated_with_relay_state_then_through_the_session() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "idp-initiated", "app": "wiki", "relay_state": "/welcome"}),
    );
    assert_eq!(r["pages"], json!(["login", "post"]));
    assert_eq!(r["relay_state"], "/welcome");
    assert!(r["in_response_to"].is_null());
    assert!(!r["response_xml"].as_str().unwrap().contains("InResponseTo"));
    let again = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "idp-initiated", "app": "wiki", "cookies": r["cookies"]}),
    );
    assert_eq!(again["pages"], json!(["post"]));
    assert_eq!(again["name_id"], r["name_id"]);
}

#[test]
fn the_totp_step_when_the_policy_requires_mfa_for_saml() {
    let idp = Idp::start();
    let sp = json!({"entity_id": crate::harness::IWIKI, "acs": crate::harness::IWIKI_ACS});
    let r = idp.sp(
        "initech",
        sp,
        json!({
            "action": "sp-initiated", "binding": "redirect",
            "user": "carol", "code": idp.carol_code(),
        }),
    );
    assert_eq!(r["pages"], json!(["login", "code", "post"]));
    assert_eq!(r["authn_class"], "https://refeds.org/profile/mfa");
}

#[test]
fn a_user_outside_the_bound_groups_gets_request_denied_and_no_assertion() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "post", "user": "bob"}),
    );
    assert_eq!(r["status"], "error");
    assert_eq!(r["error"], "StatusRequestDenied");
    let xml = r["response_xml"].as_str().unwrap();
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:RequestDenied"));
    assert!(!xml.contains("Assertion"));
    assert!(r["cookies"]["tessera_saml_session"].is_null());
}

#[test]
fn a_wrong_password_shows_the_form_again_with_one_generic_text() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "password": "wrong", "max_pages": 2}),
    );
    assert_eq!(r["status"], "stuck");
    assert_eq!(r["pages"], json!(["login", "login"]));
    assert!(r["last_page"]
        .as_str()
        .unwrap()
        .contains("Sign-in failed. Check your username, password or code and try again."));
    let nobody = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "user": "nobody", "password": "wrong", "max_pages": 2}),
    );
    assert_eq!(
        nobody["last_page"], r["last_page"],
        "unknown user and wrong password alike"
    );
}

#[test]
fn an_encrypted_assertion_pysaml2_decrypts() {
    let idp = Idp::start();
    let sp = json!({
        "entity_id": crate::harness::VAULT, "acs": crate::harness::VAULT_ACS,
        "key_file": idp.crm_key.key_file, "cert_file": idp.crm_key.cert_file,
    });
    let r = idp.sp(
        "contoso",
        sp,
        json!({"action": "sp-initiated", "binding": "post"}),
    );
    assert_eq!(r["status"], "success", "{r}");
    let xml = r["response_xml"].as_str().unwrap();
    assert!(xml.contains("<saml:EncryptedAssertion"));
    assert!(xml.contains("xmlenc11#aes256-gcm") && xml.contains("rsa-oaep-mgf1p"));
    assert!(!xml.contains("<saml:Assertion") && !xml.contains("alice@contoso.example"));
    assert_eq!(attr(&r, "mail"), ["alice@contoso.example"]);
    assert_eq!(
        r["name_id_format"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    );
}

#[test]
fn an_expired_password_is_changed_on_the_way_in() {
    let idp = Idp::start();
    let new = "Tessera-New-Pass-2026!x";
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "user": "dave",
               "new_passwords": ["short", new]}),
    );
    // The policy refuses the first new password; the second is taken and the login goes on.
    assert_eq!(r["pages"], json!(["login", "change", "change", "post"]));
    assert_eq!(r["status"], "success");
    assert_eq!(attr(&r, "mail"), ["dave@contoso.example"]);
    // The new password is the password now; the old one is not.
    let again = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "idp-initiated", "app": "wiki", "user": "dave", "password": new}),
    );
    assert_eq!(again["pages"], json!(["login", "post"]));
    let old = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "idp-initiated", "app": "wiki", "user": "dave", "max_pages": 2}),
    );
    assert_eq!(old["status"], "stuck");
}
