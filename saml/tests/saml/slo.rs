//! Single logout with pysaml2 as the SP: SP-initiated over HTTP-Redirect (signed) and HTTP-POST,
//! the signed LogoutResponse it accepts, the session ended for every SP, and the session's other
//! SP told through a signed front-channel LogoutRequest that verifies with the IdP's certificate.

use crate::harness::{Idp, CRM_SLO, WIKI_SLO};
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde_json::json;
use std::io::Read;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

pub fn url_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn sp_initiated_logout_ends_the_session_and_tells_the_other_sp() {
    let idp = Idp::start();
    // alice signs in at wiki, then at crm through the session; crm signs her out (Redirect).
    let w = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect"}),
    );
    let r = idp.sp(
        "contoso",
        idp.crm(&idp.crm_key),
        json!({"action": "login-logout", "binding": "redirect", "slo_binding": "redirect",
               "cookies": w["cookies"]}),
    );
    assert_eq!(r["login_pages"], json!(["post"]));
    assert_eq!(r["logout_status"], SUCCESS);
    assert_eq!(r["logout_action"], CRM_SLO);
    assert!(r["cookies_after"]["tessera_saml_session"].is_null());

    // wiki is told, with a signed Redirect LogoutRequest naming alice as wiki knows her.
    let frames = r["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 1, "{frames:?}");
    let url = frames[0].as_str().unwrap();
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, WIKI_SLO);
    let (signed, sig) = query.split_once("&Signature=").unwrap();
    let cert = X509::from_pem(idp.idp_cert_pem("contoso").as_bytes()).unwrap();
    let key = cert.public_key().unwrap();
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(url_decode(sig))
        .unwrap();
    assert!(v.verify_oneshot(&sig, signed.as_bytes()).unwrap());
    assert!(
        signed.contains("SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256")
    );
    let req = url_decode(
        signed
            .split('&')
            .next()
            .unwrap()
            .strip_prefix("SAMLRequest=")
            .unwrap(),
    );
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(req)
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains(&format!(
        ">{}</saml:NameID>",
        w["name_id"].as_str().unwrap()
    )));
    let login_xml = w["response_xml"].as_str().unwrap();
    let index = login_xml
        .split("SessionIndex=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    assert!(xml.contains(&format!("<samlp:SessionIndex>{index}</samlp:SessionIndex>")));

    // The session is over for everyone: the old cookie gets a password prompt at wiki.
    let again = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "post", "cookies": r["cookies_before"], "max_pages": 1}),
    );
    assert_eq!(again["pages"], json!(["login"]));
}

#[test]
fn logout_over_post_and_hostile_logout_requests() {
    let idp = Idp::start();
    let r = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "login-logout", "binding": "post", "slo_binding": "post"}),
    );
    assert_eq!(r["logout_status"], SUCCESS);
    assert_eq!(r["logout_action"], WIKI_SLO);
    assert_eq!(r["frames"], json!([]));
    let (md, _) = idp.metadata("contoso");
    assert!(md.contains(&format!(r#"SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{}/saml/contoso/slo""#, idp.base)));

    // crm requires signatures: an unsigned LogoutRequest is refused, nothing is posted.
    let t = idp.dir().now();
    let secs = tessera_directory::policy::Timestamp::from_secs(t.as_secs()).to_rfc3339();
    let instant = format!("{}Z", secs.split('.').next().unwrap());
    let unsigned = format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lo1" Version="2.0" "#,
            r#"IssueInstant="{t}"><saml:Issuer>{crm}</saml:Issuer><saml:NameID>x</saml:NameID>"#,
            r#"</samlp:LogoutRequest>"#
        ),
        t = instant,
        crm = crate::harness::CRM,
    );
    let body = format!(
        "SAMLRequest={}",
        base64::engine::general_purpose::STANDARD
            .encode(unsigned.as_bytes())
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let resp = idp
        .http
        .post(format!("{}/saml/contoso/slo", idp.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().unwrap();
    assert!(
        text.contains("signature") && !text.contains("SAMLResponse"),
        "{text}"
    );
}
