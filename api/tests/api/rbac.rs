//! The RBAC answer shapes over HTTP (the full matrix is in the e2e tests): a tenant or object
//! the caller may not see answers exactly like a missing one; one it may see but not change
//! answers 403; granting what one does not hold is refused with the missing rights.

use crate::support::Api;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn hidden_answers_like_missing_and_visible_but_not_allowed_is_forbidden() {
    let api = Api::new();
    let admin = api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    let t = api.session(&admin);
    api.user(&api.fabrikam, "victim");

    for (hidden, missing) in [
        ("/api/v1/tenants/fabrikam", "/api/v1/tenants/nowhere"),
        (
            "/api/v1/tenants/fabrikam/users",
            "/api/v1/tenants/nowhere/users",
        ),
        (
            "/api/v1/tenants/fabrikam/users/victim",
            "/api/v1/tenants/contoso/users/nobody",
        ),
        (
            "/api/v1/tenants/fabrikam/policy",
            "/api/v1/tenants/nowhere/policy",
        ),
        ("/api/v1/tenants/acme", "/api/v1/tenants/nowhere"),
    ] {
        let h = api.get(hidden, &t).await.problem(404, "not-found");
        let m = api.get(missing, &t).await.problem(404, "not-found");
        assert_eq!(h, m, "{hidden} vs {missing}");
    }
    // Writes to what one cannot see answer the same way.
    let h = api
        .call(
            "DELETE",
            "/api/v1/tenants/fabrikam/users/victim",
            Some(&t),
            None,
        )
        .await
        .problem(404, "not-found");
    let m = api
        .call(
            "DELETE",
            "/api/v1/tenants/nowhere/users/victim",
            Some(&t),
            None,
        )
        .await
        .problem(404, "not-found");
    assert_eq!(h, m);
    // The tenant list shows only what one may see.
    let list = api.get("/api/v1/tenants", &t).await.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["slug"], "contoso");
    assert_eq!(list["items"][0]["depth"], 0);
    assert!(list["items"][0].get("parent").is_none());

    // Visible but not allowed: a user administrator may read the tenant and its policies
    // area is hidden, while suspending the tenant is forbidden.
    api.get("/api/v1/tenants/contoso", &t).await.ok(200);
    api.call("POST", "/api/v1/tenants/contoso/suspend", Some(&t), None)
        .await
        .problem(403, "forbidden");
    api.call(
        "PATCH",
        "/api/v1/tenants/contoso",
        Some(&t),
        Some(json!({"name": "Mine now"})),
    )
    .await
    .problem(403, "forbidden");
    let sup = api.admin(&api.contoso, "watcher", "Supervisor", &api.contoso);
    let st = api.session(&sup);
    api.get("/api/v1/tenants/contoso/users", &st).await.ok(200);
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users",
        Some(&st),
        Some(json!({"username": "mallory"})),
    )
    .await
    .problem(403, "forbidden");
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/users/admin",
        Some(&st),
        None,
    )
    .await
    .problem(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_grants_what_they_do_not_hold() {
    let api = Api::new();
    let officer = api.admin(&api.contoso, "officer", "Security Officer", &api.contoso);
    let t = api.session(&officer);
    let p = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/roles",
            Some(&t),
            Some(json!({"name": "Too much", "rights": {"users": {"read": "allow", "write": "allow"}}})),
        )
        .await
        .problem(403, "escalation");
    assert_eq!(p["missing"], json!(["users:write"]));
    api.call(
        "POST",
        "/api/v1/tenants/contoso/assignments",
        Some(&t),
        Some(json!({"subject": {"type": "user", "name": "officer"}, "roles": ["Main Administrator"]})),
    )
    .await
    .problem(403, "escalation");
    // What they hold, they may grant.
    api.call(
        "POST",
        "/api/v1/tenants/contoso/roles",
        Some(&t),
        Some(json!({"name": "Readers", "rights": {"users": {"read": "allow"}}})),
    )
    .await
    .ok(201);
}
