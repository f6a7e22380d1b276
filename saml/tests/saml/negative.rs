//! Hostile and broken AuthnRequests: signature-wrapping variants of a signed request, a request
//! signed with a certificate the SP did not register, a tampered Redirect signature, an
//! unregistered ACS URL, a wrong Destination, a replayed ID, a stale or future IssueInstant,
//! DOCTYPE/entity payloads, an inflate bomb and oversized messages, garbage. Each is refused
//! with an error page: no login form, nothing posted to any SP.

use crate::harness::{Idp, CRM, CRM_ACS, WIKI, WIKI_ACS};
use base64::Engine;
use flate2::write::DeflateEncoder;
use serde_json::json;
use std::io::Write;
use tessera_directory::policy::Timestamp;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn xml_time(t: Timestamp) -> String {
    let s = Timestamp::from_secs(t.as_secs()).to_rfc3339();
    format!("{}Z", s.split('.').next().unwrap())
}

struct Req<'a> {
    issuer: &'a str,
    id: &'a str,
    instant: Timestamp,
    destination: Option<String>,
    acs: Option<&'a str>,
}

fn authn_request(r: &Req<'_>) -> String {
    let dest = r
        .destination
        .as_ref()
        .map(|d| format!(r#" Destination="{d}""#))
        .unwrap_or_default();
    let acs = r
        .acs
        .map(|a| format!(r#" AssertionConsumerServiceURL="{a}""#))
        .unwrap_or_default();
    format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{t}"{dest}{acs}><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"</samlp:AuthnRequest>"#
        ),
        id = r.id,
        t = xml_time(r.instant),
        dest = dest,
        acs = acs,
        issuer = r.issuer,
    )
}

fn deflate(s: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(s).unwrap();
    e.finish().unwrap()
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

impl Idp {
    fn post_request(&self, slug: &str, xml: &str) -> (u16, String) {
        self.post_form(slug, &[("SAMLRequest", b64(xml.as_bytes()))])
    }

    fn post_form(&self, slug: &str, form: &[(&str, String)]) -> (u16, String) {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", query_escape(v)))
            .collect();
        let r = self
            .http
            .post(self.sso(slug))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn redirect_request(&self, slug: &str, xml: &[u8]) -> (u16, String) {
        let q = format!("SAMLRequest={}", query_escape(&b64(&deflate(xml))));
        self.get(&format!("{}?{q}", self.sso(slug)))
    }

    fn get(&self, url: &str) -> (u16, String) {
        let r = self.http.get(url).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn req<'a>(&self, issuer: &'a str, id: &'a str) -> Req<'a> {
        Req {
            issuer,
            id,
            instant: self.dir().now(),
            destination: Some(self.sso("contoso")),
            acs: None,
        }
    }
}

#[track_caller]
fn refused((status, body): (u16, String), why: &str) {
    assert!(
        (400..500).contains(&status),
        "{why}: status {status}: {body}"
    );
    assert!(!body.contains("SAMLResponse"), "{why}: something is posted");
    assert!(!body.contains("name=\"password\""), "{why}: a login form");
}

/// Refused, and the page says why (`text`).
#[track_caller]
fn refused_with(r: (u16, String), why: &str, text: &str) {
    assert!(r.1.contains(text), "{why}: expected {text:?} in {}", r.1);
    refused(r, why);
}

#[track_caller]
fn accepted((status, body): (u16, String), why: &str) {
    assert_eq!(status, 200, "{why}: {body}");
    assert!(body.contains("name=\"password\""), "{why}: no login form");
}

#[test]
fn request_checks_refuse_before_anything_is_posted() {
    let idp = Idp::start();
    let now = idp.dir().now();
    // A good request first, so the refusals below are about what they change.
    accepted(
        idp.post_request("contoso", &authn_request(&idp.req(WIKI, "_good1"))),
        "good POST",
    );
    accepted(
        idp.redirect_request(
            "contoso",
            authn_request(&idp.req(WIKI, "_good2")).as_bytes(),
        ),
        "good Redirect",
    );
    refused_with(
        idp.post_request("contoso", &authn_request(&idp.req(WIKI, "_good1"))),
        "replayed ID",
        "already answered",
    );
    refused(
        idp.redirect_request(
            "contoso",
            authn_request(&idp.req(WIKI, "_good1")).as_bytes(),
        ),
        "replayed over the other binding",
    );
    refused(
        idp.post_request(
            "contoso",
            &authn_request(&idp.req("https://unknown.test/sp", "_u")),
        ),
        "unknown issuer",
    );
    let mut r = idp.req(WIKI, "_acs");
    r.acs = Some("https://evil.example/acs");
    refused_with(
        idp.post_request("contoso", &authn_request(&r)),
        "unregistered ACS URL",
        "not registered",
    );
    let mut r = idp.req(WIKI, "_acs_ok");
    r.acs = Some(WIKI_ACS);
    accepted(
        idp.post_request("contoso", &authn_request(&r)),
        "registered ACS URL",
    );
    let bad_index = authn_request(&idp.req(WIKI, "_idx")).replace(
        r#"Version="2.0""#,
        r#"Version="2.0" AssertionConsumerServiceIndex="7""#,
    );
    refused(
        idp.post_request("contoso", &bad_index),
        "unregistered ACS index",
    );
    let artifact = authn_request(&idp.req(WIKI, "_bind")).replace(
        r#"Version="2.0""#,
        r#"Version="2.0" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact""#,
    );
    refused(
        idp.post_request("contoso", &artifact),
        "a binding other than POST",
    );
    let mut r = idp.req(WIKI, "_dest");
    r.destination = Some("https://elsewhere.example/sso".into());
    refused_with(
        idp.post_request("contoso", &authn_request(&r)),
        "wrong Destination",
        "destination",
    );
    let mut r = idp.req(WIKI, "_dest2");
    r.destination = Some(idp.sso("fabrikam"));
    refused(
        idp.post_request("contoso", &authn_request(&r)),
        "another tenant's Destination",
    );
    let mut r = idp.req(WIKI, "_old");
    r.instant = now.plus_secs(-3600);
    refused_with(
        idp.post_request("contoso", &authn_request(&r)),
        "stale IssueInstant",
        "too old",
    );
    let mut r = idp.req(WIKI, "_future");
    r.instant = now.plus_secs(3600);
    refused(
        idp.post_request("contoso", &authn_request(&r)),
        "future IssueInstant",
    );
    let v1 = authn_request(&idp.req(WIKI, "_v1")).replace(r#"Version="2.0""#, r#"Version="1.1""#);
    refused(idp.post_request("contoso", &v1), "not SAML 2.0");
    let logout = authn_request(&idp.req(WIKI, "_lo")).replace("AuthnRequest", "LogoutRequest");
    refused(idp.post_request("contoso", &logout), "not an AuthnRequest");
}

#[test]
fn dtds_entities_bombs_and_garbage_are_refused() {
    let idp = Idp::start();
    let good = authn_request(&idp.req(WIKI, "_dtd"));
    for payload in [
        format!("<!DOCTYPE samlp:AuthnRequest [<!ENTITY x \"{WIKI}\">]>{good}"),
        format!(
            "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
            good.replace(WIKI, "&x;")
        ),
        format!(
            "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
            good.replace("</saml:Issuer>", "&b;</saml:Issuer>")
        ),
    ] {
        refused_with(
            idp.post_request("contoso", &payload),
            "DTD over POST",
            "DTDs and entities are refused",
        );
        refused(
            idp.redirect_request("contoso", payload.as_bytes()),
            "DTD over Redirect",
        );
    }
    // An inflate bomb: 20 MB of comment deflates to a few KiB.
    let mut bomb = good.replace("</samlp:AuthnRequest>", "<!--").into_bytes();
    bomb.extend(std::iter::repeat_n(b'a', 20 * 1024 * 1024));
    bomb.extend_from_slice(b"--></samlp:AuthnRequest>");
    let (status, body) = idp.redirect_request("contoso", &bomb);
    assert_eq!(status, 413, "{body}");
    refused((400, body), "inflate bomb");
    let big = "A".repeat(200 * 1024);
    let (status, body) = idp.post_form("contoso", &[("SAMLRequest", big)]);
    assert!(status == 413 || status == 400, "{status}");
    refused((400, body), "oversized POST");
    for q in [
        "",
        "SAMLRequest=",
        "SAMLRequest=%zz",
        "SAMLRequest=bm90IGRlZmxhdGU%3D",
        "SAMLRequest=a&SAMLRequest=b",
        "SAMLRequest=%%%%",
        "RelayState=x",
    ] {
        refused(idp.get(&format!("{}?{q}", idp.sso("contoso"))), q);
    }
    refused(
        idp.post_form("contoso", &[("SAMLRequest", "!!!".into())]),
        "bad base64",
    );
    refused(
        idp.post_form("contoso", &[("Other", "x".into())]),
        "no SAMLRequest",
    );
    refused(
        idp.post_request("contoso", "<samlp:AuthnRequest"),
        "truncated XML",
    );
    // Still serving.
    accepted(idp.post_request("contoso", &good), "after all that");
}

/// A signed POST request from pysaml2, signed with `key` as the crm SP.
fn signed_post(idp: &Idp, key: &crate::harness::KeyPair) -> (String, String) {
    let r = idp.sp(
        "contoso",
        idp.crm(key),
        json!({"action": "request", "binding": "post"}),
    );
    (
        r["xml"].as_str().unwrap().to_string(),
        r["id"].as_str().unwrap().to_string(),
    )
}

fn without_declaration(xml: &str) -> &str {
    match xml.strip_prefix("<?xml") {
        Some(r) => r.split_once("?>").map_or(xml, |(_, b)| b.trim_start()),
        None => xml,
    }
}

#[test]
fn signature_wrapping_and_foreign_certificates_are_refused() {
    let idp = Idp::start();
    let now = idp.dir().now();
    let (signed, id) = signed_post(&idp, &idp.crm_key);
    let inner = without_declaration(&signed);

    // XSW 1: an unsigned request of the same SP wraps the signed one.
    let wrapper = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil1" Version="2.0" "#,
            r#"IssueInstant="{t}" Destination="{d}" AssertionConsumerServiceURL="{acs}">"#,
            r#"<saml:Issuer>{crm}</saml:Issuer><samlp:Extensions>{inner}</samlp:Extensions>"#,
            r#"</samlp:AuthnRequest>"#
        ),
        t = xml_time(now),
        d = idp.sso("contoso"),
        acs = CRM_ACS,
        crm = CRM,
        inner = inner,
    );
    refused_with(
        idp.post_request("contoso", &wrapper),
        "XSW: signed request wrapped",
        "signature",
    );
    // XSW 2: the signed request with its ACS URL changed.
    let changed = signed.replace(CRM_ACS, "https://evil.example/acs");
    assert_ne!(changed, signed);
    refused_with(
        idp.post_request("contoso", &changed),
        "XSW: signed content changed",
        "signature",
    );
    // XSW 3: the root renamed to a new ID, the original moved inside it.
    let renamed = inner.replacen(&format!("ID=\"{id}\""), "ID=\"_evil3\"", 1);
    let close = renamed.rfind("</").unwrap();
    let moved = format!(
        "{}<samlp:Extensions xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{inner}</samlp:Extensions>{}",
        &renamed[..close],
        &renamed[close..]
    );
    refused_with(
        idp.post_request("contoso", &moved),
        "XSW: original moved inside",
        "signature",
    );
    // Not signed at all: crm requires signed requests.
    let unsigned = authn_request(&idp.req(CRM, "_nosig"));
    refused(idp.post_request("contoso", &unsigned), "unsigned");
    // Signed, but with a certificate crm never registered (the request carries it in KeyInfo).
    let (rogue, _) = signed_post(&idp, &idp.rogue_key);
    refused_with(
        idp.post_request("contoso", &rogue),
        "unregistered certificate",
        "does not verify",
    );
    // The untouched original still passes: the refusals were about the changes.
    accepted(idp.post_request("contoso", &signed), "the signed original");
    refused(
        idp.post_request("contoso", &signed),
        "the signed original, replayed",
    );
}

#[test]
fn redirect_signatures_are_checked_strictly() {
    let idp = Idp::start();
    let url = |key| {
        let r = idp.sp(
            "contoso",
            idp.crm(key),
            json!({"action": "request", "binding": "redirect", "relay_state": "rs"}),
        );
        r["url"].as_str().unwrap().to_string()
    };
    let rogue = url(&idp.rogue_key);
    refused_with(
        idp.get(&rogue),
        "signed with an unregistered key",
        "does not verify",
    );
    let good = url(&idp.crm_key);
    assert!(good.contains("&Signature=") && good.contains("SigAlg="));
    refused(
        idp.get(&good.replace("RelayState=rs", "RelayState=rt")),
        "RelayState changed",
    );
    refused(
        idp.get(&format!("{good}&Signature=AAAA")),
        "Signature twice",
    );
    let (head, _) = good.split_once("&Signature=").unwrap();
    refused(idp.get(head), "signature dropped");
    let sha1 = good.replace(
        "2001%2F04%2Fxmldsig-more%23rsa-sha256",
        "2000%2F09%2Fxmldsig%23rsa-sha1",
    );
    assert_ne!(sha1, good);
    refused(idp.get(&sha1), "SHA-1");
    accepted(idp.get(&good), "the untouched request");
    refused(idp.get(&good), "replayed");
}

/// The SAMLResponse a page posts, decoded.
fn posted_response(body: &str) -> String {
    let v = body
        .split("name=\"SAMLResponse\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no SAMLResponse in {body}"));
    let raw = base64::engine::general_purpose::STANDARD.decode(v).unwrap();
    String::from_utf8(raw).unwrap()
}

#[test]
fn is_passive_and_force_authn_are_honoured() {
    let idp = Idp::start();
    let with = |id: &str, attr: &str| {
        authn_request(&idp.req(WIKI, id)).replace(
            r#"Version="2.0""#,
            &format!(r#"Version="2.0" {attr}="true""#),
        )
    };
    // IsPassive without a session: NoPassive, posted to the registered ACS, no assertion.
    let (status, body) = idp.post_request("contoso", &with("_p1", "IsPassive"));
    assert_eq!(status, 200);
    let xml = posted_response(&body);
    assert!(
        xml.contains("urn:oasis:names:tc:SAML:2.0:status:NoPassive"),
        "{xml}"
    );
    assert!(xml.contains(r#"InResponseTo="_p1""#) && !xml.contains("Assertion"));
    assert!(body.contains(&format!(r#"action="{WIKI_ACS}""#)));

    let login = idp.sp(
        "contoso",
        idp.wiki(),
        json!({"action": "sp-initiated", "binding": "post"}),
    );
    let secret = login["cookies"]["tessera_saml_session"].as_str().unwrap();
    let send = |xml: &str| {
        let r = idp
            .http
            .post(idp.sso("contoso"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("tessera_saml_session={secret}"))
            .body(format!(
                "SAMLRequest={}",
                query_escape(&b64(xml.as_bytes()))
            ))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    // IsPassive with a session: answered at once with an assertion.
    let (status, body) = send(&with("_p2", "IsPassive"));
    assert_eq!(status, 200);
    let xml = posted_response(&body);
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:Success"));
    assert!(xml.contains(r#"InResponseTo="_p2""#) && xml.contains("<saml:Assertion"));
    // ForceAuthn: the password is asked again despite the session.
    accepted(
        send(&with("_f1", "ForceAuthn")),
        "ForceAuthn with a session",
    );
    // And a made-up session is no session.
    let (status, body) = {
        let r = idp
            .http
            .post(idp.sso("contoso"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", "tessera_saml_session=made-up")
            .body(format!(
                "SAMLRequest={}",
                query_escape(&b64(authn_request(&idp.req(WIKI, "_m1")).as_bytes()))
            ))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    accepted((status, body), "a made-up session cookie");
}
