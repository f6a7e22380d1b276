//! Problem documents for bad input — wrong types, unknown fields, syntax, content type,
//! oversized bodies, bad slugs and names, bad query strings, unknown routes — and nothing
//! half-written behind them.

use crate::support::Api;
use axum::body::Body;
use axum::http::{header, Request};
use serde_json::json;
use tessera_api::ApiConfig;

fn raw(uri: &str, token: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_of_the_wrong_shape_are_problems_and_change_nothing() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let users = "/api/v1/tenants/contoso/users";

    let p = api
        .call("POST", users, Some(&t), Some(json!({"username": 5})))
        .await
        .problem(422, "invalid-body");
    assert!(p["detail"].as_str().unwrap().contains("username"), "{p}");
    let p = api
        .call(
            "POST",
            users,
            Some(&t),
            Some(json!({"username": "eve", "admin": true})),
        )
        .await
        .problem(422, "invalid-body");
    assert!(p["detail"].as_str().unwrap().contains("admin"), "{p}");
    let p = api
        .call(
            "POST",
            users,
            Some(&t),
            Some(json!({"email": "eve@example.org"})),
        )
        .await
        .problem(422, "invalid-body");
    assert!(p["detail"].as_str().unwrap().contains("username"), "{p}");
    api.send(raw(users, &t, Some("application/json"), "{\"username\": "))
        .await
        .problem(400, "invalid-body");
    api.send(raw(users, &t, None, "{\"username\": \"eve\"}"))
        .await
        .problem(400, "invalid-body");
    api.send(raw(
        users,
        &t,
        Some("text/plain"),
        "{\"username\": \"eve\"}",
    ))
    .await
    .problem(400, "invalid-body");
    // Nested unknown fields too.
    api.call(
        "POST",
        "/api/v1/tenants/contoso/groups",
        Some(&t),
        Some(json!({"name": "g", "attributes": {"radius": {"vlan": 4, "vlam": 5}}})),
    )
    .await
    .problem(422, "invalid-body");
    // A value the core refuses.
    let p = api
        .call("POST", users, Some(&t), Some(json!({"username": "-eve"})))
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "username");
    // A group that names nothing: nothing is created.
    let p = api
        .call(
            "POST",
            users,
            Some(&t),
            Some(json!({"username": "eve", "groups": ["nope"]})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "groups");
    api.get("/api/v1/tenants/contoso/users/eve", &t)
        .await
        .problem(404, "not-found");
    let page = api.get(users, &t).await.ok(200);
    assert_eq!(page["items"], json!([]));
    let p = api
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&t),
            Some(json!({"name": "x", "expires_at": "tomorrow"})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "expires_at");
    let p = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/applications",
            Some(&t),
            Some(json!({"name": "ap", "settings": {"type": "radius", "addresses": ["not-an-ip"], "secret": "0123456789abcdefgh"}})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "addresses");
    api.call(
        "POST",
        "/api/v1/tenants/contoso/applications",
        Some(&t),
        Some(json!({"name": "ap", "settings": {"type": "ldap"}})),
    )
    .await
    .problem(422, "invalid-body");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_are_refused() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let big = json!({"username": "eve", "display_name": "x".repeat(70 * 1024)}).to_string();
    let p = api
        .send(raw(
            "/api/v1/tenants/contoso/users",
            &t,
            Some("application/json"),
            big.clone(),
        ))
        .await
        .problem(413, "body-too-large");
    assert!(p["detail"].as_str().unwrap().contains("65536"));
    api.get("/api/v1/tenants/contoso/users/eve", &t)
        .await
        .problem(404, "not-found");
    // The limit is the configuration's.
    let small = Api::with_config(ApiConfig {
        max_body_bytes: 64,
        ..ApiConfig::default()
    });
    let u = small.admin(&small.root, "boss", "Main Administrator", &small.root);
    let mut p = small
        .dir()
        .policies()
        .get(&crate::support::sys(), small.root.id)
        .unwrap()
        .local;
    p.settings.mfa.protocols =
        tessera_directory::policy::settings::Setting::set(Default::default());
    small
        .dir()
        .policies()
        .set(&crate::support::sys(), small.root.id, p)
        .unwrap();
    let st = small.session(&u);
    small
        .send(raw(
            "/api/v1/tenants/contoso/groups",
            &st,
            Some("application/json"),
            json!({"name": "staff", "description": "y".repeat(100)}).to_string(),
        ))
        .await
        .problem(413, "body-too-large");
    small
        .send(raw(
            "/api/v1/tenants/contoso/groups",
            &st,
            Some("application/json"),
            json!({"name": "staff"}).to_string(),
        ))
        .await
        .ok(201);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_paths_and_queries_are_problems() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    // Slugs and names that cannot exist name nothing.
    for uri in [
        "/api/v1/tenants/Not%20A%20Slug",
        "/api/v1/tenants/%F0%9F%98%80/users",
        "/api/v1/tenants/contoso/users/-bad-",
        "/api/v1/tenants/contoso/groups/%2E%2E",
        "/api/v1/tenants/contoso/roles/x%00y",
    ] {
        api.get(uri, &t).await.problem(404, "not-found");
    }
    // A child with a bad slug is invalid, and nothing is created.
    let p = api
        .call(
            "POST",
            "/api/v1/tenants/acme/children",
            Some(&t),
            Some(json!({"slug": "Bad Slug", "name": "x", "kind": "customer"})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "slug");
    let list = api.get("/api/v1/tenants", &t).await.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    api.call(
        "POST",
        "/api/v1/tenants/acme/children",
        Some(&t),
        Some(json!({"slug": "ok", "name": "x", "kind": "galaxy"})),
    )
    .await
    .problem(422, "invalid-body");

    // Query strings.
    api.get("/api/v1/tenants/contoso/users?limit=lots", &t)
        .await
        .problem(400, "invalid-query");
    api.get("/api/v1/tenants/contoso/users?limt=5", &t)
        .await
        .problem(400, "invalid-query");
    api.get(
        "/api/v1/tenants/contoso/groups/x/members?transitive=maybe",
        &t,
    )
    .await
    .problem(400, "invalid-query");
    let p = api
        .get("/api/v1/tenants/contoso/users?after=zz", &t)
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "after");

    // Routes and methods.
    api.get("/api/v1/nothing-here", &t)
        .await
        .problem(404, "no-such-route");
    api.get("/elsewhere", &t)
        .await
        .problem(404, "no-such-route");
    api.call("PATCH", "/api/v1/tokens", Some(&t), None)
        .await
        .problem(405, "method-not-allowed");
}
