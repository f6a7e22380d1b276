//! Personal access tokens through the API: created from a session, narrowed to some rights,
//! expiring, listed without secrets and revoked.

use crate::support::Api;
use serde_json::json;
use tessera_directory::clock::Clock;

#[tokio::test(flavor = "multi_thread")]
async fn personal_tokens_are_narrowed_listed_and_revoked() {
    let api = Api::new();
    let admin = api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    let session = api.session(&admin);
    let expiry = api.td.clock.now().plus_secs(86_400).to_rfc3339();
    let created = api
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&session),
            Some(json!({
                "name": "backup script",
                "expires_at": expiry,
                "rights": {"users": {"read": "allow"}, "tenants": {"read": "allow"}},
            })),
        )
        .await
        .ok(201);
    let pat = created["secret"].as_str().unwrap().to_string();
    let id = created["token"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["token"]["kind"], "personal");
    assert_eq!(created["token"]["expires_at"], expiry);
    assert_eq!(created["token"]["rights"]["users"]["read"], "allow");

    // It reads users; it cannot write them or see groups, though its user can.
    api.get("/api/v1/tenants/contoso/users", &pat).await.ok(200);
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users",
        Some(&pat),
        Some(json!({"username": "x"})),
    )
    .await
    .problem(403, "forbidden");
    api.get("/api/v1/tenants/contoso/groups", &pat)
        .await
        .problem(404, "not-found");
    api.get("/api/v1/tenants/contoso/groups", &session)
        .await
        .ok(200);
    let rights = api
        .get("/api/v1/tenants/contoso/rights", &pat)
        .await
        .ok(200);
    assert_eq!(
        rights,
        json!({"tenants": {"read": "allow"}, "users": {"read": "allow"}})
    );
    let me = api.get("/api/v1/auth/me", &pat).await.ok(200);
    assert_eq!(me["token"]["kind"], "personal");
    assert_eq!(me["token"]["rights"]["users"]["read"], "allow");
    // Personal tokens are made from interactive sessions only.
    api.call(
        "POST",
        "/api/v1/tokens",
        Some(&pat),
        Some(json!({"name": "again"})),
    )
    .await
    .problem(409, "not-allowed");

    // Listed without secrets, filtered by kind; an administrator sees them too.
    let mine = api
        .get("/api/v1/tokens?kind=personal", &session)
        .await
        .ok(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["name"], "backup script");
    assert!(!mine.to_string().contains(&pat));
    let all = api.get("/api/v1/tokens", &session).await.ok(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, root) = api.root_admin();
    let theirs = api
        .get("/api/v1/tenants/contoso/users/admin/tokens", &root)
        .await
        .ok(200);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 2);

    api.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&session),
        None,
    )
    .await
    .ok(204);
    api.get("/api/v1/tenants/contoso/users", &pat)
        .await
        .problem(401, "unauthenticated");
    api.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&session),
        None,
    )
    .await
    .problem(404, "not-found");
    api.call(
        "DELETE",
        "/api/v1/tokens/not-a-token-id",
        Some(&session),
        None,
    )
    .await
    .problem(404, "not-found");

    // An administrator revokes a user's session.
    let sid = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "session")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.call(
        "DELETE",
        &format!("/api/v1/tenants/contoso/users/admin/tokens/{sid}"),
        Some(&root),
        None,
    )
    .await
    .ok(204);
    api.get("/api/v1/auth/me", &session)
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_expire() {
    let api = Api::new();
    let admin = api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    let session = api.session(&admin);
    let expiry = api.td.clock.now().plus_secs(60).to_rfc3339();
    let created = api
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&session),
            Some(json!({"name": "short", "expires_at": expiry})),
        )
        .await
        .ok(201);
    let pat = created["secret"].as_str().unwrap();
    api.get("/api/v1/auth/me", pat).await.ok(200);
    api.td.clock.advance_secs(61);
    api.get("/api/v1/auth/me", pat)
        .await
        .problem(401, "unauthenticated");
    let past = api.td.clock.now().to_rfc3339();
    api.call(
        "POST",
        "/api/v1/tokens",
        Some(&session),
        Some(json!({"name": "stale", "expires_at": past})),
    )
    .await
    .problem(422, "invalid");
}
