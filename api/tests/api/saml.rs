//! SAML service providers through the API: the security options in create, patch (absent keeps,
//! `null` clears) and output, registration from the SP's metadata XML (fields given beside it
//! win; hostile or unusable metadata is a 422 naming `metadata`), and the core's field checks
//! coming back as problems naming the field; the IdP key rotation (next, activate, remove) under
//! Applications rights, a hidden tenant answering like a missing one.

use crate::support::Api;
use serde_json::{json, Value};

/// pysaml2's metadata for an SP with signed requests (see the SAML crate's corpus).
const PYSAML2: &str = include_str!("../../../saml/tests/metadata/pysaml2-sp.xml");
const APPS: &str = "/api/v1/tenants/contoso/applications";

fn cert_pem() -> String {
    let start = PYSAML2.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let end = start + PYSAML2[start..].find('<').unwrap();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}-----END CERTIFICATE-----\n",
        &PYSAML2[start..end]
    )
}

async fn create(api: &Api, t: &str, body: Value) -> crate::support::Resp {
    api.call("POST", APPS, Some(t), Some(body)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn sp_options_are_set_patched_and_shown() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let a = create(
        &api,
        &t,
        json!({"name": "crm", "settings": {
            "type": "saml",
            "entity_id": "https://crm.example/sp",
            "acs_urls": [{"index": 0, "url": "https://crm.example/acs"}],
            "slo_url": "https://crm.example/slo",
            "certificate": cert_pem(),
            "require_signed_requests": true,
            "encrypt_assertion": true,
            "groups_filter": ["staff", "crm-*"],
        }}),
    )
    .await
    .ok(201);
    let s = &a["settings"];
    assert_eq!(s["type"], "saml");
    assert_eq!(s["slo_url"], "https://crm.example/slo");
    assert_eq!(s["certificate"], cert_pem());
    assert_eq!(s["require_signed_requests"], true);
    assert_eq!(s["sign_response"], true, "the default");
    assert_eq!(s["sign_assertion"], true, "the default");
    assert_eq!(s["encrypt_assertion"], true);
    assert_eq!(s["groups_filter"], json!(["staff", "crm-*"]));
    assert_eq!(s["name_id_format"], "unspecified");
    assert!(a.get("notes").is_none(), "no metadata, no notes: {a}");

    // A patch changes what it names and keeps the rest.
    let p = api
        .call(
            "PATCH",
            &format!("{APPS}/crm"),
            Some(&t),
            Some(
                json!({"settings": {"type": "saml", "sign_response": false, "groups_filter": []}}),
            ),
        )
        .await
        .ok(200);
    let s = &p["settings"];
    assert_eq!(s["sign_response"], false);
    assert_eq!(s["groups_filter"], json!([]));
    assert_eq!(s["entity_id"], "https://crm.example/sp");
    assert_eq!(s["slo_url"], "https://crm.example/slo");
    assert_eq!(s["require_signed_requests"], true);
    assert_eq!(s["encrypt_assertion"], true);
    // `null` removes the SLO URL.
    let p = api
        .call(
            "PATCH",
            &format!("{APPS}/crm"),
            Some(&t),
            Some(json!({"settings": {"type": "saml", "slo_url": null}})),
        )
        .await
        .ok(200);
    assert_eq!(p["settings"]["slo_url"], Value::Null);
    assert_eq!(p["settings"]["certificate"], cert_pem());
    let got = api.get(&format!("{APPS}/crm"), &t).await.ok(200);
    assert_eq!(got["settings"], p["settings"]);

    // The core's checks come back naming the field, and change nothing.
    for (settings, field) in [
        (json!({"sign_assertion": false}), "sign_response"),
        (json!({"certificate": null}), "certificate"),
        (json!({"slo_url": "http://crm.example/slo"}), "slo_url"),
        (json!({"groups_filter": ["x\u{7}"]}), "groups_filter"),
        (json!({"certificate": "é".repeat(10)}), "certificate"),
    ] {
        let mut body = settings.clone();
        body["type"] = json!("saml");
        let p = api
            .call(
                "PATCH",
                &format!("{APPS}/crm"),
                Some(&t),
                Some(json!({ "settings": body })),
            )
            .await
            .problem(422, "invalid");
        assert_eq!(p["field"], field, "{settings}: {p}");
    }
    let after = api.get(&format!("{APPS}/crm"), &t).await.ok(200);
    assert_eq!(after["settings"], p["settings"]);
    // An unknown option is refused by name.
    let p = api
        .call(
            "PATCH",
            &format!("{APPS}/crm"),
            Some(&t),
            Some(json!({"settings": {"type": "saml", "sign_everything": true}})),
        )
        .await;
    assert_eq!(p.status.as_u16(), 422, "{}", p.text());
    assert!(p.text().contains("sign_everything"), "{}", p.text());
    // A SAML patch on another kind is refused.
    let p = api
        .call(
            "PATCH",
            "/api/v1/tenants/contoso/applications/ldap",
            Some(&t),
            Some(json!({"settings": {"type": "saml", "sign_response": true}})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "kind");

    // Creation without an entity id or ACS URLs (and no metadata) names what is missing.
    let p = create(
        &api,
        &t,
        json!({"name": "x", "settings": {"type": "saml", "acs_urls": []}}),
    )
    .await
    .problem(422, "invalid");
    assert_eq!(p["field"], "entity_id");
    let p = create(
        &api,
        &t,
        json!({"name": "x", "settings": {"type": "saml", "entity_id": "https://x"}}),
    )
    .await
    .problem(422, "invalid");
    assert_eq!(p["field"], "acs_urls");
    let p = create(
        &api,
        &t,
        json!({"name": "x", "settings": {
            "type": "saml", "entity_id": "https://x",
            "acs_urls": [{"index": 0, "url": "https://x/acs"}],
            "encrypt_assertion": true,
        }}),
    )
    .await
    .problem(422, "invalid");
    assert_eq!(p["field"], "certificate");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sp_is_registered_from_its_metadata_and_given_fields_win() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    api.call(
        "POST",
        "/api/v1/tenants/contoso/groups",
        Some(&t),
        Some(json!({"name": "staff"})),
    )
    .await
    .ok(201);
    let a = create(
        &api,
        &t,
        json!({
            "name": "portal",
            "bound_groups": ["staff"],
            "settings": {
                "type": "saml",
                "metadata": PYSAML2,
                "name_id_format": "email",
                "attribute_mapping": {"mail": "email"},
                "sign_assertion": false,
            },
        }),
    )
    .await
    .ok(201);
    let s = &a["settings"];
    assert_eq!(s["entity_id"], "https://sp.example.org/saml2/metadata");
    assert_eq!(
        s["acs_urls"],
        json!([
            {"index": 1, "url": "https://sp.example.org/acs/post", "default": false},
            {"index": 3, "url": "https://sp.example.org/acs/post2", "default": false},
        ])
    );
    assert_eq!(s["slo_url"], "https://sp.example.org/slo/redirect");
    assert_eq!(s["require_signed_requests"], true, "AuthnRequestsSigned");
    assert!(s["certificate"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    // Given fields win over the metadata (persistent, WantAssertionsSigned).
    assert_eq!(s["name_id_format"], "email");
    assert_eq!(s["sign_assertion"], false);
    assert_eq!(s["attribute_mapping"], json!({"mail": "email"}));
    assert_eq!(a["bound_groups"][0]["name"], "staff");
    let notes = a["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].as_str().unwrap().contains("HTTP-Artifact"));

    // Without overrides the metadata's own choices stand.
    let b = create(
        &api,
        &t,
        json!({"name": "portal2", "settings": {
            "type": "saml",
            "metadata": PYSAML2.replace("https://sp.example.org/saml2/metadata", "https://sp2.example.org/md"),
        }}),
    )
    .await
    .ok(201);
    assert_eq!(b["settings"]["name_id_format"], "persistent");
    assert_eq!(b["settings"]["sign_assertion"], true);
    // The same entity id twice is refused by the core.
    create(
        &api,
        &t,
        json!({"name": "portal3", "settings": {"type": "saml", "metadata": PYSAML2}}),
    )
    .await
    .problem(409, "already-exists");

    // Re-importing in a patch takes the metadata's new values; fields given beside it win.
    let moved = PYSAML2.replace(
        "https://sp.example.org/acs/post\"",
        "https://sp.example.org/acs/new\"",
    );
    let p = api
        .call(
            "PATCH",
            "/api/v1/tenants/contoso/applications/portal",
            Some(&t),
            Some(json!({"settings": {"type": "saml", "metadata": moved, "slo_url": null}})),
        )
        .await
        .ok(200);
    assert_eq!(
        p["settings"]["acs_urls"][0]["url"],
        "https://sp.example.org/acs/new"
    );
    assert_eq!(p["settings"]["slo_url"], Value::Null);
    assert_eq!(p["settings"]["name_id_format"], "persistent");
    assert_eq!(p["settings"]["attribute_mapping"], json!({"mail": "email"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_metadata_is_a_problem_naming_it_and_registers_nothing() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let xxe = format!(
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
        PYSAML2.replace("https://sp.example.org/acs/post\"", "&e;\"")
    );
    let idp = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#;
    for (xml, words) in [
        (xxe.as_str(), "DTD"),
        (idp, "SPSSODescriptor"),
        ("<not-metadata/>", "not an SP's metadata"),
        (&PYSAML2[..2000], "does not parse"),
        (
            &PYSAML2.replace(
                "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sp.example.org/acs",
                "urn:oasis:names:tc:SAML:2.0:bindings:PAOS\" Location=\"https://sp.example.org/acs",
            ),
            "HTTP-POST",
        ),
    ] {
        let p = create(
            &api,
            &t,
            json!({"name": "evil", "settings": {"type": "saml", "metadata": xml}}),
        )
        .await
        .problem(422, "invalid");
        assert_eq!(p["field"], "metadata", "{p}");
        assert!(
            p["detail"].as_str().unwrap().contains(words),
            "{words}: {p}"
        );
        assert!(!p.to_string().contains("root:"), "no file content: {p}");
    }
    // Larger than the API accepts at all: the body limit answers first.
    let huge = "x".repeat(70 * 1024);
    let r = create(
        &api,
        &t,
        json!({"name": "evil", "settings": {"type": "saml", "metadata": huge}}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.text());
    let list = api.get(&format!("{APPS}?type=saml"), &t).await.ok(200);
    assert_eq!(list["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn idp_keys_rotate_through_the_api_with_application_rights() {
    let api = Api::new();
    let (_, root) = api.root_admin();
    let keys = "/api/v1/tenants/contoso/saml/keys";
    let states = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|k| k["state"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(api.get(keys, &root).await.ok(200), json!([]));
    let made = api
        .call("POST", &format!("{keys}/next"), Some(&root), None)
        .await
        .ok(201);
    assert_eq!(states(&made), ["active", "next"]);
    let next = made[1].clone();
    let fp = next["fingerprint_sha256"].as_str().unwrap().to_string();
    assert_eq!(fp.len(), 64);
    assert!(next["certificate"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----\nMII"));
    assert_eq!(next["activated_at"], Value::Null);
    api.call("POST", &format!("{keys}/next"), Some(&root), None)
        .await
        .problem(409, "not-allowed");

    // An Application Administrator of contoso rotates; an Auditor only looks.
    let apps = api.admin(
        &api.contoso,
        "apps",
        "Application Administrator",
        &api.contoso,
    );
    let apps = api.session(&apps);
    let auditor = api.admin(&api.contoso, "aud", "Auditor", &api.contoso);
    let auditor = api.session(&auditor);
    assert_eq!(
        states(&api.get(keys, &auditor).await.ok(200)),
        ["active", "next"]
    );
    api.call(
        "POST",
        &format!("{keys}/next/activate"),
        Some(&auditor),
        None,
    )
    .await
    .problem(403, "forbidden");
    let active = api
        .call("POST", &format!("{keys}/next/activate"), Some(&apps), None)
        .await
        .ok(200);
    assert_eq!(states(&active), ["active", "retired"]);
    assert_eq!(active[0]["fingerprint_sha256"], fp.as_str());
    assert!(active[0]["activated_at"].is_string());
    assert!(active[1]["retired_at"].is_string());
    api.call("POST", &format!("{keys}/next/activate"), Some(&apps), None)
        .await
        .problem(409, "not-allowed");
    api.call("DELETE", &format!("{keys}/{fp}"), Some(&apps), None)
        .await
        .problem(409, "not-allowed");
    api.call(
        "DELETE",
        &format!("{keys}/{}", "0".repeat(64)),
        Some(&apps),
        None,
    )
    .await
    .problem(404, "not-found");
    let retired = active[1]["fingerprint_sha256"].as_str().unwrap();
    api.call("DELETE", &format!("{keys}/{retired}"), Some(&auditor), None)
        .await
        .problem(403, "forbidden");
    api.call(
        "DELETE",
        &format!("{keys}/{}", retired.to_uppercase()),
        Some(&apps),
        None,
    )
    .await
    .ok(204);
    assert_eq!(states(&api.get(keys, &root).await.ok(200)), ["active"]);

    // Another tenant's administrator gets what a missing tenant gets.
    let other = api.admin(&api.fabrikam, "fadmin", "Main Administrator", &api.fabrikam);
    let other = api.session(&other);
    for (method, uri) in [
        ("GET", keys.to_string()),
        ("POST", format!("{keys}/next")),
        ("POST", format!("{keys}/next/activate")),
        ("DELETE", format!("{keys}/{fp}")),
    ] {
        let hidden = api.call(method, &uri, Some(&other), None).await;
        let missing = api
            .call(
                method,
                &uri.replace("contoso", "nowhere"),
                Some(&other),
                None,
            )
            .await;
        hidden.problem(404, "not-found");
        assert_eq!(hidden.json(), missing.json(), "{method} {uri}");
    }
    assert_eq!(states(&api.get(keys, &root).await.ok(200)), ["active"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_sso_sessions_are_ended_by_an_administrator() {
    use tessera_directory::model::{AcsUrl, AppKind, NewApplication, SessionLimits};
    let api = Api::new();
    let (_, root) = api.root_admin();
    let alice = api.user(&api.contoso, "alice");
    let d = api.dir();
    let sp = tessera_saml::parse_sp_metadata(PYSAML2)
        .unwrap()
        .service_provider();
    let app = d
        .applications()
        .create(
            &crate::support::sys(),
            api.contoso.id,
            NewApplication {
                name: "portal".into(),
                kind: AppKind::Saml(tessera_directory::model::SamlServiceProvider {
                    acs_urls: vec![AcsUrl {
                        index: 0,
                        url: "https://sp.example.org/acs/post".into(),
                        default: true,
                    }],
                    ..sp
                }),
                bound_groups: Default::default(),
            },
        )
        .unwrap();
    for _ in 0..2 {
        d.saml()
            .open_session(
                &crate::support::sys(),
                api.contoso.id,
                (alice.id, app.id),
                false,
                SessionLimits::default(),
            )
            .unwrap();
    }
    let uri = "/api/v1/tenants/contoso/users/ALICE/saml-sessions";
    let auditor = api.admin(&api.contoso, "aud", "Auditor", &api.contoso);
    let auditor = api.session(&auditor);
    api.call("DELETE", uri, Some(&auditor), None)
        .await
        .problem(403, "forbidden");
    let r = api.call("DELETE", uri, Some(&root), None).await.ok(200);
    assert_eq!(r, json!({"ended": 2}));
    let r = api.call("DELETE", uri, Some(&root), None).await.ok(200);
    assert_eq!(r, json!({"ended": 0}));
    // Hidden and missing alike.
    let other = api.admin(&api.fabrikam, "fadmin", "Main Administrator", &api.fabrikam);
    let other = api.session(&other);
    let hidden = api.call("DELETE", uri, Some(&other), None).await;
    hidden.problem(404, "not-found");
    let missing = api
        .call(
            "DELETE",
            "/api/v1/tenants/contoso/users/nobody/saml-sessions",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(hidden.json(), missing.json());
}

#[test]
fn the_saml_settings_schemas_allow_the_type_tag_beside_their_fields() {
    let doc = serde_json::to_value(tessera_api::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    for name in ["NewSamlSettings", "SamlSettingsPatch"] {
        let s = &schemas[name];
        assert!(s["properties"]["metadata"].is_object(), "{name}: {s}");
        assert!(s.get("additionalProperties").is_none(), "{name}: {s}");
    }
    // The union names the arm by its tag.
    let new = schemas["NewAppSettings"].to_string();
    assert!(
        new.contains("#/components/schemas/NewSamlSettings"),
        "{new}"
    );
    assert!(new.contains(r#""enum":["saml"]"#), "{new}");
}
