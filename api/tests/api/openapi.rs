//! The OpenAPI description: served as generated, and covering every route — each documented
//! operation reaches a handler of the router (the crate's unit test makes sure no route is
//! registered except through the documenting macro).

use crate::support::{Api, Resp};
use axum::body::Body;
use axum::http::{header, Request};
use std::collections::BTreeSet;

fn operations() -> Vec<(String, String)> {
    let doc = serde_json::to_value(tessera_api::openapi()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// Whether the router answered from its fallbacks (no handler matched).
fn unrouted(r: &Resp) -> bool {
    r.headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|c| c == "application/problem+json")
        && [
            "urn:tessera:problem:no-such-route",
            "urn:tessera:problem:method-not-allowed",
        ]
        .contains(&r.json()["type"].as_str().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_description_is_served() {
    let api = Api::new();
    let r = api
        .send(
            Request::builder()
                .uri("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let served = r.ok(200);
    assert_eq!(
        served,
        serde_json::to_value(tessera_api::openapi()).unwrap()
    );
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(served["components"]["schemas"]["Problem"].is_object());
    // Operation ids are unique.
    let mut ids = BTreeSet::new();
    for item in served["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_is_routed() {
    let api = Api::new();
    let ops = operations();
    assert!(ops.len() >= 60, "{}", ops.len());
    for (method, path) in &ops {
        assert!(path.starts_with("/api/v1/"), "{path}");
        // Fill the parameters with something that names nothing.
        let uri: String = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "00000000-0000-4000-8000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let r = api
            .send(
                Request::builder()
                    .method(method.as_str())
                    .uri(&uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(
            !unrouted(&r),
            "{method} {path} is documented but not routed: {} {}",
            r.status,
            r.text()
        );
    }
    // And what is not documented is not routed.
    for (method, uri) in [
        ("GET", "/api/v1/users"),
        ("PUT", "/api/v1/tenants/x"),
        ("GET", "/api/v1/tenants/x/users/y/password"),
    ] {
        let r = api
            .send(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(unrouted(&r), "{method} {uri}: {}", r.text());
    }
}
