//! SAML administration through the real binary against a demo server: an SP registered with
//! `tessera app create-saml --metadata` from the metadata pysaml2 writes (what it could not use
//! printed as notes), its options changed with `update-saml`, hostile metadata refused, and the
//! IdP signing key rotated with `tessera saml` while the served metadata is watched over HTTPS,
//! and a user's SSO sessions ended.

use crate::admin_cli::{Cli, ADMIN_PASSWORD};
use crate::harness::Server;
use serde_json::Value;

const PYSAML2: &str = include_str!("../../saml/tests/metadata/pysaml2-sp.xml");

fn served_certs(s: &Server, slug: &str) -> Vec<String> {
    let root = s.api.trim_end_matches("/api/v1");
    let md = s
        .client()
        .get(format!("{root}/saml/{slug}/metadata"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    md.split("<ds:X509Certificate>")
        .skip(1)
        .filter_map(|r| r.split('<').next())
        .map(str::to_string)
        .collect()
}

fn states(keys: &Value) -> Vec<&str> {
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect()
}

#[test]
fn saml_sps_and_idp_keys_are_managed_from_the_cli() {
    let s = Server::start_demo();
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(&s, tmp.path(), "session.json");
    let o = cli.with_env(
        &[("TESSERA_PASSWORD", ADMIN_PASSWORD)],
        &["login", "--tenant", "acme", "--user", "acme-admin"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Registered from pysaml2's metadata; given fields beside it win.
    let md = tmp.path().join("portal-sp.xml");
    std::fs::write(&md, PYSAML2).unwrap();
    let md = md.to_str().unwrap();
    let o = cli
        .cmd(&[
            "app",
            "create-saml",
            "contoso",
            "portal",
            "--metadata",
            md,
            "--attribute",
            "mail=email",
            "--group",
            "staff",
            "--name-id-format",
            "email",
        ])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("Registered saml contoso/portal for members of staff"),
        "{out}"
    );
    assert!(
        err.contains("note:") && err.contains("HTTP-Artifact"),
        "{err}"
    );
    let a = cli.json(&["app", "show", "contoso", "portal"]);
    let st = &a["settings"];
    assert_eq!(st["entity_id"], "https://sp.example.org/saml2/metadata");
    assert_eq!(st["require_signed_requests"], true);
    assert_eq!(st["slo_url"], "https://sp.example.org/slo/redirect");
    assert_eq!(st["name_id_format"], "email");
    assert_eq!(st["acs_urls"].as_array().unwrap().len(), 2);
    let shown = cli.ok(&["app", "show", "contoso", "portal"]);
    assert!(
        shown.contains("signed requests") && shown.contains("registered"),
        "{shown}"
    );

    let a = cli.json(&[
        "app",
        "update-saml",
        "contoso",
        "portal",
        "--sign-assertion",
        "false",
        "--no-slo-url",
        "--groups-filter",
        "staff",
    ]);
    let st = &a["settings"];
    assert_eq!(st["sign_assertion"], false);
    assert_eq!(st["sign_response"], true);
    assert_eq!(st["slo_url"], Value::Null);
    assert_eq!(st["groups_filter"], serde_json::json!(["staff"]));
    assert_eq!(st["require_signed_requests"], true, "kept");
    // Both signatures off: refused by the server, naming the option.
    let err = cli.fails(&[
        "app",
        "update-saml",
        "contoso",
        "portal",
        "--sign-response",
        "false",
    ]);
    assert!(err.contains("sign_response"), "{err}");

    // Hostile metadata is refused and registers nothing.
    let evil = tmp.path().join("evil.xml");
    std::fs::write(
        &evil,
        format!("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{PYSAML2}"),
    )
    .unwrap();
    let err = cli.fails(&[
        "app",
        "create-saml",
        "contoso",
        "evil",
        "--metadata",
        evil.to_str().unwrap(),
    ]);
    assert!(err.contains("metadata") && err.contains("DTD"), "{err}");
    let err = cli.fails(&["app", "show", "contoso", "evil"]);
    assert!(err.contains("Not found (404)"), "{err}");

    // Key rotation: the next certificate is served before it signs, then leads, then the old
    // one goes when removed.
    let first = served_certs(&s, "contoso");
    assert_eq!(first.len(), 1);
    let keys = cli.json(&["saml", "keys", "contoso"]);
    assert_eq!(states(&keys), ["active"]);
    let table = cli.ok(&["saml", "next-key", "contoso"]);
    assert!(
        table.contains("next") && table.contains("active"),
        "{table}"
    );
    let both = served_certs(&s, "contoso");
    assert_eq!(both.len(), 2);
    assert_eq!(both[0], first[0]);
    let err = cli.fails(&["saml", "next-key", "contoso"]);
    assert!(err.contains("a next IdP key is waiting"), "{err}");
    let keys = cli.json(&["saml", "activate-key", "contoso"]);
    assert_eq!(states(&keys), ["active", "retired"]);
    assert_eq!(
        served_certs(&s, "contoso"),
        [both[1].clone(), both[0].clone()]
    );
    let old = keys[1]["fingerprint_sha256"].as_str().unwrap();
    let err = cli.fails(&[
        "saml",
        "remove-key",
        "contoso",
        keys[0]["fingerprint_sha256"].as_str().unwrap(),
    ]);
    assert!(err.contains("active"), "{err}");
    let out = cli.ok(&["saml", "remove-key", "contoso", old]);
    assert!(out.contains("Removed"), "{out}");
    assert_eq!(served_certs(&s, "contoso"), [both[1].clone()]);
    // A user's SSO sessions end on request (none are open here: the count says so).
    let out = cli.ok(&["saml", "end-sessions", "contoso", "alice"]);
    assert!(
        out.contains("Ended 0 SSO session(s) of contoso/alice"),
        "{out}"
    );
    let err = cli.fails(&["saml", "end-sessions", "contoso", "nobody"]);
    assert!(err.contains("Not found (404)"), "{err}");
    // Other tenants' IdPs are untouched.
    assert_eq!(served_certs(&s, "fabrikam").len(), 1);
    assert_ne!(served_certs(&s, "fabrikam")[0], both[1]);
}
