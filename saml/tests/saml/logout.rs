//! IdP-initiated logout at `/saml/<tenant>/logout`: a confirmation page first, then the POST
//! ends the browser's SSO session and tells every SP of the session through signed
//! front-channel LogoutRequests (verified with the IdP's certificate here); a form posted from
//! another site is refused and ends nothing.

use crate::harness::{Idp, CRM_SLO, WIKI_SLO};
use crate::slo::url_decode;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde_json::json;

#[test]
fn the_idp_signs_the_browser_out_and_tells_every_sp_of_the_session() {
    let idp = Idp::start();
    let w = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect"}),
    );
    let c = idp.sp(
        "contoso",
        idp.crm(&idp.crm_key),
        json!({"action": "sp-initiated", "binding": "redirect", "cookies": w["cookies"]}),
    );
    assert_eq!(c["pages"], json!(["post"]), "crm through the session");
    let session = c["cookies"]["tessera_saml_session"].as_str().unwrap();
    let cookie = format!("tessera_saml_session={session}");
    let url = format!("{}/saml/contoso/logout", idp.base);

    // A link shows a confirmation; nothing ends yet.
    let r = idp.http.get(&url).header("Cookie", &cookie).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().unwrap();
    assert!(
        page.contains(r#"<form method="post" action="/saml/contoso/logout">"#),
        "{page}"
    );
    // Posted from another site: refused, the session lives on.
    let r = idp
        .http
        .post(&url)
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let again = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "cookies": c["cookies"]}),
    );
    assert_eq!(again["pages"], json!(["post"]), "still signed in");

    // From the IdP's own page: signed out, both SPs told, the cookie cleared.
    let r = idp
        .http
        .post(&url)
        .header("Cookie", &cookie)
        .header("Origin", idp.base.as_str())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cleared = r.headers().get_all("set-cookie").iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("tessera_saml_session=;") && v.contains("Max-Age=0")
    });
    assert!(cleared);
    let page = r.text().unwrap();
    let frames: Vec<String> = page
        .split("<iframe src=\"")
        .skip(1)
        .map(|f| f.split('"').next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(frames.len(), 2, "{page}");
    let cert = X509::from_pem(idp.idp_cert_pem("contoso").as_bytes()).unwrap();
    let key = cert.public_key().unwrap();
    let mut told = Vec::new();
    for f in &frames {
        let (base, query) = f.split_once('?').unwrap();
        told.push(base.to_string());
        let (signed, sig) = query.split_once("&Signature=").unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(url_decode(sig))
            .unwrap();
        let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
        assert!(v.verify_oneshot(&sig, signed.as_bytes()).unwrap(), "{f}");
    }
    told.sort();
    let mut expected = vec![CRM_SLO.to_string(), WIKI_SLO.to_string()];
    expected.sort();
    assert_eq!(told, expected);

    // The old cookie signs nobody in any more: the login page again.
    let after = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "redirect", "cookies": c["cookies"],
               "max_pages": 1}),
    );
    assert_eq!(after["status"], "stuck");
    assert_eq!(after["pages"], json!(["login"]));
    // Without a session there is nothing to sign out of.
    let r = idp.http.get(&url).send().unwrap();
    assert!(r.text().unwrap().contains("not signed in"));
    let r = idp.http.post(&url).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(!r.text().unwrap().contains("<iframe"));
}
