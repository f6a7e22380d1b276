//! A token-authenticated round trip for each resource family: tenants, users and credentials,
//! groups and memberships, roles and assignments, policies, applications, audit.

use crate::support::{sys, Api, PW};
use axum::http::header;
use serde_json::{json, Value};
use tessera_directory::clock::Clock;
use tessera_directory::model::AppKind;
use tessera_directory::testkit::totp_code;

fn names(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_round_trip() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let r = api
        .call(
            "POST",
            "/api/v1/tenants/acme/children",
            Some(&t),
            Some(json!({"slug": "initech", "name": "Initech", "kind": "customer"})),
        )
        .await;
    let created = r.ok(201);
    assert_eq!(r.headers[header::LOCATION], "/api/v1/tenants/initech");
    assert_eq!(created["parent"], "acme");
    assert_eq!(created["depth"], 2);
    assert_eq!(created["kind"], "customer");
    assert_eq!(created["status"], "active");

    let got = api.get("/api/v1/tenants/initech", &t).await.ok(200);
    assert_eq!(got, created);

    // Tree order: parents before children, siblings by slug; paged.
    let all = api.get("/api/v1/tenants", &t).await.ok(200);
    assert_eq!(
        names(&all, "slug"),
        ["root", "acme", "contoso", "fabrikam", "initech"]
    );
    let depths: Vec<u64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["depth"].as_u64().unwrap())
        .collect();
    assert_eq!(depths, [0, 1, 2, 2, 2]);
    let p1 = api.get("/api/v1/tenants?limit=2", &t).await.ok(200);
    assert_eq!(names(&p1, "slug"), ["root", "acme"]);
    let next = p1["next"].as_str().unwrap();
    let p2 = api
        .get(&format!("/api/v1/tenants?limit=2&after={next}"), &t)
        .await
        .ok(200);
    assert_eq!(names(&p2, "slug"), ["contoso", "fabrikam"]);
    let customers = api
        .get("/api/v1/tenants?kind=customer&prefix=f", &t)
        .await
        .ok(200);
    assert_eq!(names(&customers, "slug"), ["fabrikam"]);

    let renamed = api
        .call(
            "PATCH",
            "/api/v1/tenants/initech",
            Some(&t),
            Some(json!({"name": "Initech Corp"})),
        )
        .await
        .ok(200);
    assert_eq!(renamed["name"], "Initech Corp");
    let s = api
        .call("POST", "/api/v1/tenants/initech/suspend", Some(&t), None)
        .await
        .ok(200);
    assert_eq!(s["status"], "suspended");
    let s = api
        .call("POST", "/api/v1/tenants/initech/resume", Some(&t), None)
        .await
        .ok(200);
    assert_eq!(s["status"], "active");
    api.call("POST", "/api/v1/tenants/root/suspend", Some(&t), None)
        .await
        .problem(409, "not-allowed");

    let rights = api.get("/api/v1/tenants/initech/rights", &t).await.ok(200);
    assert_eq!(rights["users"]["write"], "allow");

    // A tenant that still holds something is not deleted; an empty one is.
    api.call("DELETE", "/api/v1/tenants/acme", Some(&t), None)
        .await
        .problem(409, "not-empty");
    api.call(
        "POST",
        "/api/v1/tenants/initech/children",
        Some(&t),
        Some(json!({"slug": "sub", "name": "Sub", "kind": "customer"})),
    )
    .await
    .problem(422, "kind-not-allowed");
    api.call("DELETE", "/api/v1/tenants/initech", Some(&t), None)
        .await
        .ok(204);
    api.get("/api/v1/tenants/initech", &t)
        .await
        .problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_and_credentials_round_trip() {
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
    let r = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/users",
            Some(&t),
            Some(json!({
                "username": "Alice",
                "email": "alice@contoso.example",
                "given_name": "Alice",
                "posix": {},
                "custom": {"employeeNumber": ["42"]},
                "groups": ["STAFF"],
            })),
        )
        .await;
    let alice = r.ok(201);
    assert_eq!(
        r.headers[header::LOCATION],
        "/api/v1/tenants/contoso/users/Alice"
    );
    assert_eq!(alice["tenant"], "contoso");
    assert_eq!(alice["posix"]["home"], "/home/Alice");
    assert_eq!(alice["custom"]["employeeNumber"][0], "42");
    for name in ["bob", "carol"] {
        api.call(
            "POST",
            "/api/v1/tenants/contoso/users",
            Some(&t),
            Some(json!({"username": name})),
        )
        .await
        .ok(201);
    }
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users",
        Some(&t),
        Some(json!({"username": "alice"})),
    )
    .await
    .problem(409, "already-exists");

    // Usernames are case-insensitive in paths; listings page and filter.
    api.get("/api/v1/tenants/contoso/users/ALICE", &t)
        .await
        .ok(200);
    let p1 = api
        .get("/api/v1/tenants/contoso/users?limit=2", &t)
        .await
        .ok(200);
    assert_eq!(names(&p1, "username"), ["Alice", "bob"]);
    let p2 = api
        .get(
            &format!(
                "/api/v1/tenants/contoso/users?limit=2&after={}",
                p1["next"].as_str().unwrap()
            ),
            &t,
        )
        .await
        .ok(200);
    assert_eq!(names(&p2, "username"), ["carol"]);
    assert!(p2.get("next").is_none());
    let c = api
        .get("/api/v1/tenants/contoso/users?prefix=CA", &t)
        .await
        .ok(200);
    assert_eq!(names(&c, "username"), ["carol"]);

    let groups = api
        .get("/api/v1/tenants/contoso/users/alice/groups", &t)
        .await
        .ok(200);
    assert_eq!(names(&groups, "name"), ["staff"]);

    // Patch: absent stays, null clears.
    let patched = api
        .call(
            "PATCH",
            "/api/v1/tenants/contoso/users/alice",
            Some(&t),
            Some(json!({"email": null, "display_name": "Alice A.", "shell": "/bin/zsh"})),
        )
        .await
        .ok(200);
    assert_eq!(patched["email"], Value::Null);
    assert_eq!(patched["given_name"], "Alice");
    assert_eq!(patched["display_name"], "Alice A.");
    assert_eq!(patched["posix"]["shell"], "/bin/zsh");

    let s = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/users/bob/suspend",
            Some(&t),
            None,
        )
        .await
        .ok(200);
    assert_eq!(s["status"], "suspended");
    let s = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/users/bob/resume",
            Some(&t),
            None,
        )
        .await
        .ok(200);
    assert_eq!(s["status"], "active");

    // Credentials: status only, never a secret.
    let weak = api
        .call(
            "PUT",
            "/api/v1/tenants/contoso/users/alice/password",
            Some(&t),
            Some(json!({"password": "alice"})),
        )
        .await
        .problem(422, "weak-password");
    assert!(weak["problems"].as_array().unwrap().len() >= 2);
    api.call(
        "PUT",
        "/api/v1/tenants/contoso/users/alice/password",
        Some(&t),
        Some(json!({"password": PW, "must_change": true})),
    )
    .await
    .ok(204);
    let c = api
        .get("/api/v1/tenants/contoso/users/alice/credentials", &t)
        .await
        .ok(200);
    assert_eq!(c["has_password"], true);
    assert_eq!(c["must_change"], true);
    assert_eq!(c["totp"], "none");
    assert!(!c.to_string().contains("argon2"));

    let e = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/users/alice/totp",
            Some(&t),
            None,
        )
        .await
        .ok(201);
    let url = e["otpauth_url"].as_str().unwrap();
    assert!(e["qr_png"].is_string());
    let c = api
        .get("/api/v1/tenants/contoso/users/alice/credentials", &t)
        .await
        .ok(200);
    assert_eq!(c["totp"], "pending");
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users/alice/totp/confirm",
        Some(&t),
        Some(json!({"code": "000000"})),
    )
    .await
    .problem(403, "wrong-credentials");
    let code = totp_code(url, api.td.clock.now());
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users/alice/totp/confirm",
        Some(&t),
        Some(json!({"code": code})),
    )
    .await
    .ok(204);
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users/alice/totp",
        Some(&t),
        None,
    )
    .await
    .problem(409, "already-exists");
    let c = api
        .get("/api/v1/tenants/contoso/users/alice/credentials", &t)
        .await
        .ok(200);
    assert_eq!(c["totp"], "active");
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/users/alice/totp",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/users/alice/totp",
        Some(&t),
        None,
    )
    .await
    .problem(404, "not-found");
    api.call(
        "POST",
        "/api/v1/tenants/contoso/users/alice/unlock",
        Some(&t),
        None,
    )
    .await
    .ok(204);

    // Rights of another user, on their tenant or another.
    let r = api
        .get("/api/v1/tenants/contoso/users/alice/rights?on=acme", &t)
        .await
        .ok(200);
    assert_eq!(r, json!({}));

    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/users/carol",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.get("/api/v1/tenants/contoso/users/carol", &t)
        .await
        .problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_becomes_a_posix_account_by_patch() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let users = "/api/v1/tenants/contoso/users";
    for name in ["dana", "eli", "fay"] {
        api.call("POST", users, Some(&t), Some(json!({"username": name})))
            .await
            .ok(201);
    }
    let patch = |name: &str, body: Value| {
        let uri = format!("{users}/{name}");
        let t = t.clone();
        let api = &api;
        async move { api.call("PATCH", &uri, Some(&t), Some(body)).await }
    };
    // POSIX fields alone still need a POSIX account.
    patch("dana", json!({"shell": "/bin/zsh"}))
        .await
        .problem(422, "invalid");
    // Allocated, with the defaults of creation (and the shell asked for).
    let dana = patch("dana", json!({"posix": true, "shell": "/bin/zsh"}))
        .await
        .ok(200);
    let uid = dana["posix"]["uid_number"].as_u64().unwrap();
    assert!(uid >= 10000, "{dana}");
    assert_eq!(dana["posix"]["gid_number"], uid);
    assert_eq!(dana["posix"]["home"], "/home/dana");
    assert_eq!(dana["posix"]["shell"], "/bin/zsh");
    // A fixed number, which makes a user POSIX on its own.
    let eli = patch("eli", json!({"uid_number": 20000, "gid_number": 5000}))
        .await
        .ok(200);
    assert_eq!(eli["posix"]["uid_number"], 20000);
    assert_eq!(eli["posix"]["gid_number"], 5000);
    assert_eq!(eli["posix"]["shell"], "/bin/bash");
    // A taken number is refused; fay stays as she was.
    patch("fay", json!({"posix": true, "uid_number": 20000}))
        .await
        .problem(409, "already-exists");
    patch("fay", json!({"uid_number": 999}))
        .await
        .problem(422, "invalid");
    let fay = api.get(&format!("{users}/fay"), &t).await.ok(200);
    assert_eq!(fay["posix"], Value::Null);
    // Re-numbering: the own-number gid follows.
    let dana = patch("dana", json!({"uid_number": 20001})).await.ok(200);
    assert_eq!(dana["posix"]["uid_number"], 20001);
    assert_eq!(dana["posix"]["gid_number"], 20001);
    // Unknown fields are still refused.
    let p = patch("fay", json!({"posix": true, "uidNumber": 3}))
        .await
        .problem(422, "invalid-body");
    assert!(p["detail"].as_str().unwrap().contains("uidNumber"), "{p}");
    // The description says so.
    let doc = serde_json::to_value(tessera_api::openapi()).unwrap();
    let props = &doc["components"]["schemas"]["UserPatch"]["properties"];
    assert_eq!(props["posix"]["type"], "boolean", "{props}");
    assert!(props.get("uid_number").is_some(), "{props}");
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_and_memberships_round_trip() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    api.user(&api.contoso, "alice");
    let g = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/groups",
            Some(&t),
            Some(json!({"name": "wifi", "attributes": {"radius": {"vlan": 42}}})),
        )
        .await
        .ok(201);
    assert_eq!(g["attributes"]["radius"]["vlan"], 42);
    assert!(g["gid_number"].as_u64().unwrap() >= 1000);
    api.call(
        "POST",
        "/api/v1/tenants/contoso/groups",
        Some(&t),
        Some(json!({"name": "staff", "description": "Everyone"})),
    )
    .await
    .ok(201);

    // Memberships: PUT is idempotent, nesting is transitive, cycles are refused.
    for _ in 0..2 {
        api.call(
            "PUT",
            "/api/v1/tenants/contoso/groups/wifi/members/users/alice",
            Some(&t),
            None,
        )
        .await
        .ok(204);
    }
    api.call(
        "PUT",
        "/api/v1/tenants/contoso/groups/staff/members/groups/wifi",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.call(
        "PUT",
        "/api/v1/tenants/contoso/groups/wifi/members/groups/staff",
        Some(&t),
        None,
    )
    .await
    .problem(409, "cycle");
    let direct = api
        .get("/api/v1/tenants/contoso/groups/staff/members", &t)
        .await
        .ok(200);
    assert_eq!(
        direct["items"],
        json!([{"type": "group", "id": g["id"], "name": "wifi"}])
    );
    let all = api
        .get(
            "/api/v1/tenants/contoso/groups/staff/members?transitive",
            &t,
        )
        .await
        .ok(200);
    let kinds: Vec<(String, String)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap().to_string(),
                m["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("user".to_string(), "alice".to_string()),
            ("group".to_string(), "wifi".to_string())
        ]
    );
    let of_alice = api
        .get(
            "/api/v1/tenants/contoso/users/alice/groups?transitive=true",
            &t,
        )
        .await
        .ok(200);
    assert_eq!(names(&of_alice, "name"), ["staff", "wifi"]);
    let of_wifi = api
        .get("/api/v1/tenants/contoso/groups/wifi/groups", &t)
        .await
        .ok(200);
    assert_eq!(names(&of_wifi, "name"), ["staff"]);

    let patched = api
        .call(
            "PATCH",
            "/api/v1/tenants/contoso/groups/staff",
            Some(&t),
            Some(json!({"description": null, "name": "Staff"})),
        )
        .await
        .ok(200);
    assert_eq!(patched["name"], "Staff");
    assert_eq!(patched["description"], Value::Null);
    let list = api.get("/api/v1/tenants/contoso/groups", &t).await.ok(200);
    assert_eq!(names(&list, "name"), ["Staff", "wifi"]);

    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/groups/wifi/members/users/alice",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/groups/wifi/members/users/alice",
        Some(&t),
        None,
    )
    .await
    .problem(404, "not-found");
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/groups/staff/members/groups/wifi",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/groups/wifi",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.get("/api/v1/tenants/contoso/groups/wifi", &t)
        .await
        .problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_and_assignments_round_trip() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    api.user(&api.contoso, "alice");
    api.call(
        "POST",
        "/api/v1/tenants/contoso/groups",
        Some(&t),
        Some(json!({"name": "helpdesk"})),
    )
    .await
    .ok(201);
    let role = api
        .call(
            "POST",
            "/api/v1/tenants/acme/roles",
            Some(&t),
            Some(json!({
                "name": "Tier 1",
                "description": "First line",
                "rights": {"users": {"read": "allow"}, "credentials": {"execute": "allow", "read": "allow"}},
                "propagate": true,
            })),
        )
        .await
        .ok(201);
    assert_eq!(role["rights"]["credentials"]["execute"], "allow");
    assert_eq!(role["locked"], false);
    // It propagated, locked, into contoso.
    let copy = api
        .get("/api/v1/tenants/contoso/roles/tier%201", &t)
        .await
        .ok(200);
    assert_eq!(copy["locked"], true);
    assert_eq!(copy["source"]["tenant"], "acme");
    api.call(
        "PATCH",
        "/api/v1/tenants/contoso/roles/Tier%201",
        Some(&t),
        Some(json!({"description": "mine"})),
    )
    .await
    .problem(409, "locked");
    api.call(
        "PATCH",
        "/api/v1/tenants/root/roles/Auditor",
        Some(&t),
        Some(json!({"description": "mine"})),
    )
    .await
    .problem(409, "locked");
    let patched = api
        .call(
            "PATCH",
            "/api/v1/tenants/acme/roles/Tier%201",
            Some(&t),
            Some(json!({"rights": {"users": {"read": "allow", "write": "deny"}}})),
        )
        .await
        .ok(200);
    assert_eq!(patched["rights"]["users"]["write"], "deny");
    assert!(patched["rights"].get("credentials").is_none());
    let roles = api
        .get("/api/v1/tenants/contoso/roles?prefix=tier", &t)
        .await
        .ok(200);
    assert_eq!(names(&roles, "name"), ["Tier 1"]);
    let all = api.get("/api/v1/tenants/contoso/roles", &t).await.ok(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 11);

    // Assignments: by subject name and role name, with an expiry.
    let expiry = api.td.clock.now().plus_secs(86_400).to_rfc3339();
    let r = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/assignments",
            Some(&t),
            Some(json!({
                "subject": {"type": "user", "name": "ALICE"},
                "roles": ["tier 1"],
                "rights": {"audit": {"read": "allow"}},
                "expires_at": expiry,
            })),
        )
        .await;
    let a = r.ok(201);
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/api/v1/tenants/contoso/assignments/{id}")
    );
    assert_eq!(a["scope"], "contoso");
    assert_eq!(a["subject"]["name"], "alice");
    assert_eq!(a["subject"]["tenant"], "contoso");
    assert_eq!(a["roles"][0]["name"], "Tier 1");
    assert_eq!(a["expires_at"], expiry);
    let group = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/assignments",
            Some(&t),
            Some(json!({
                "subject": {"type": "group", "tenant": "contoso", "name": "helpdesk"},
                "rights": {"users": {"read": "allow"}},
            })),
        )
        .await
        .ok(201);
    assert_eq!(group["subject"]["type"], "group");

    let got = api
        .get(&format!("/api/v1/tenants/contoso/assignments/{id}"), &t)
        .await
        .ok(200);
    assert_eq!(got, a);
    let list = api
        .get("/api/v1/tenants/contoso/assignments", &t)
        .await
        .ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let filtered = api
        .get(
            "/api/v1/tenants/contoso/assignments?subject_type=user&subject_name=alice&role=TIER%201",
            &t,
        )
        .await
        .ok(200);
    assert_eq!(filtered["items"], json!([a]));
    let of_alice = api
        .get("/api/v1/tenants/contoso/users/alice/assignments", &t)
        .await
        .ok(200);
    assert_eq!(of_alice["items"], json!([a]));
    let of_group = api
        .get("/api/v1/tenants/contoso/groups/helpdesk/assignments", &t)
        .await
        .ok(200);
    assert_eq!(of_group["items"].as_array().unwrap().len(), 1);
    let rights = api
        .get("/api/v1/tenants/contoso/users/alice/rights", &t)
        .await
        .ok(200);
    assert_eq!(rights["users"]["read"], "allow");
    assert_eq!(rights["audit"]["read"], "allow");
    assert!(rights["users"].get("write").is_none());

    // A subject or role that names nothing is an invalid field, not a 404.
    let p = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/assignments",
            Some(&t),
            Some(json!({"subject": {"type": "user", "name": "nobody"}, "roles": ["Auditor"]})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "subject");
    let p = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/assignments",
            Some(&t),
            Some(json!({"subject": {"type": "user", "name": "alice"}, "roles": ["No Such Role"]})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "roles");

    api.call(
        "DELETE",
        &format!("/api/v1/tenants/contoso/assignments/{id}"),
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.get(&format!("/api/v1/tenants/contoso/assignments/{id}"), &t)
        .await
        .problem(404, "not-found");
    api.get("/api/v1/tenants/contoso/assignments/not-an-id", &t)
        .await
        .problem(404, "not-found");
    api.call(
        "DELETE",
        "/api/v1/tenants/acme/roles/Tier%201",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    // The copy stays, unlocked.
    let copy = api
        .get("/api/v1/tenants/contoso/roles/Tier%201", &t)
        .await
        .ok(200);
    assert_eq!(copy["locked"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_show_local_effective_and_enforced() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let p = api.get("/api/v1/tenants/contoso/policy", &t).await.ok(200);
    assert_eq!(p["effective"]["password"]["min_length"], 12);
    assert_eq!(p["local"]["password"]["min_length"]["value"], Value::Null);
    // The root turned admin MFA off (the fixture); contoso inherits that.
    assert_eq!(p["effective"]["mfa_protocols"], json!([]));
    assert_eq!(p["enforced_from_above"], json!([]));

    api.call(
        "POST",
        "/api/v1/tenants/contoso/groups",
        Some(&t),
        Some(json!({"name": "admins"})),
    )
    .await
    .ok(201);
    let set = api
        .call(
            "PUT",
            "/api/v1/tenants/acme/policy",
            Some(&t),
            Some(json!({
                "password": {"min_length": {"value": 14, "enforced": true}, "max_age": {"value": {"days": 90}}},
                "lockout": {"threshold": {"value": 5}},
            })),
        )
        .await
        .ok(200);
    assert_eq!(set["local"]["password"]["min_length"]["value"], 14);
    assert_eq!(set["local"]["password"]["min_length"]["enforced"], true);
    assert_eq!(set["effective"]["password"]["max_age_days"], 90);
    assert_eq!(set["effective"]["lockout"]["threshold"], 5);

    let c = api.get("/api/v1/tenants/contoso/policy", &t).await.ok(200);
    assert_eq!(c["effective"]["password"]["min_length"], 14);
    assert_eq!(c["enforced_from_above"], json!(["password.min_length"]));
    let weaker = api
        .call(
            "PUT",
            "/api/v1/tenants/contoso/policy",
            Some(&t),
            Some(json!({"password": {"min_length": {"value": 10}}})),
        )
        .await
        .problem(422, "invalid");
    assert!(weaker["detail"]
        .as_str()
        .unwrap()
        .contains("password.min_length"));
    let set = api
        .call(
            "PUT",
            "/api/v1/tenants/contoso/policy",
            Some(&t),
            Some(json!({
                "password": {"min_length": {"value": 16}, "max_age": {"value": "never"}},
                "mfa": {"protocols": {"value": ["admin", "radius"]}, "required_groups": ["ADMINS"]},
            })),
        )
        .await
        .ok(200);
    assert_eq!(set["local"]["mfa"]["required_groups"], json!(["ADMINS"]));
    assert_eq!(
        set["effective"]["mfa_protocols"],
        json!(["radius", "admin"])
    );
    let c = api.get("/api/v1/tenants/contoso/policy", &t).await.ok(200);
    assert_eq!(c["local"]["mfa"]["required_groups"], json!(["admins"]));
    assert_eq!(c["local"]["password"]["max_age"]["value"], "never");
    let p = api
        .call(
            "PUT",
            "/api/v1/tenants/contoso/policy",
            Some(&t),
            Some(json!({"mfa": {"exempt_groups": ["nobody"]}})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "mfa.exempt_groups");
    let p = api
        .call(
            "PUT",
            "/api/v1/tenants/contoso/policy",
            Some(&t),
            Some(json!({"password": {"history": {"value": 300}}})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(p["field"], "password.history");
}

#[tokio::test(flavor = "multi_thread")]
async fn applications_round_trip_without_showing_secrets() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    for g in ["wifi", "staff"] {
        api.call(
            "POST",
            "/api/v1/tenants/contoso/groups",
            Some(&t),
            Some(json!({"name": g})),
        )
        .await
        .ok(201);
    }
    let list = api
        .get("/api/v1/tenants/contoso/applications", &t)
        .await
        .ok(200);
    assert_eq!(names(&list, "name"), ["LDAP"]);
    const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t";
    let r = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/applications",
            Some(&t),
            Some(json!({
                "name": "office-ap",
                "settings": {"type": "radius", "addresses": ["192.0.2.0/24", "198.51.100.7"], "secret": SECRET},
                "bound_groups": ["wifi"],
            })),
        )
        .await;
    let ap = r.ok(201);
    assert!(!r.text().contains(SECRET));
    assert_eq!(ap["settings"]["type"], "radius");
    assert_eq!(ap["settings"]["secret_set"], true);
    assert_eq!(
        ap["settings"]["addresses"],
        json!(["192.0.2.0/24", "198.51.100.7/32"])
    );
    assert_eq!(ap["settings"]["require_message_authenticator"], true);
    assert_eq!(ap["bound_groups"][0]["name"], "wifi");

    // A patch without the secret keeps it.
    let r = api
        .call(
            "PATCH",
            "/api/v1/tenants/contoso/applications/OFFICE-AP",
            Some(&t),
            Some(json!({"settings": {"type": "radius", "addresses": ["203.0.113.0/24"]}})),
        )
        .await;
    let patched = r.ok(200);
    assert!(!r.text().contains(SECRET));
    assert_eq!(patched["settings"]["addresses"], json!(["203.0.113.0/24"]));
    // The secret survived the patch (sealed at rest, opened only by the installation).
    let stored = api
        .dir()
        .applications()
        .by_name(&sys(), api.contoso.id, "office-ap")
        .unwrap();
    match &stored.kind {
        AppKind::Radius(c) => assert!(!c.secret.expose().contains(SECRET)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        api.dir()
            .applications()
            .radius_secret(&sys(), api.contoso.id, stored.id)
            .unwrap()
            .expose(),
        SECRET
    );
    api.call(
        "PATCH",
        "/api/v1/tenants/contoso/applications/office-ap",
        Some(&t),
        Some(json!({"settings": {"type": "saml", "entity_id": "x", "acs_urls": []}})),
    )
    .await
    .problem(422, "invalid");

    // Bindings: PUT is idempotent.
    for _ in 0..2 {
        let a = api
            .call(
                "PUT",
                "/api/v1/tenants/contoso/applications/office-ap/groups/staff",
                Some(&t),
                None,
            )
            .await
            .ok(200);
        assert_eq!(a["bound_groups"].as_array().unwrap().len(), 2);
    }
    let a = api
        .call(
            "DELETE",
            "/api/v1/tenants/contoso/applications/office-ap/groups/wifi",
            Some(&t),
            None,
        )
        .await
        .ok(200);
    assert_eq!(a["bound_groups"][0]["name"], "staff");
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/applications/office-ap/groups/wifi",
        Some(&t),
        None,
    )
    .await
    .problem(404, "not-found");

    let sp = api
        .call(
            "POST",
            "/api/v1/tenants/contoso/applications",
            Some(&t),
            Some(json!({
                "name": "crm",
                "settings": {
                    "type": "saml",
                    "entity_id": "https://crm.example/sp",
                    "acs_urls": [{"index": 0, "url": "https://crm.example/acs", "default": true}],
                    "name_id_format": "email",
                    "attribute_mapping": {"mail": "email"},
                },
            })),
        )
        .await
        .ok(201);
    assert_eq!(sp["settings"]["name_id_format"], "email");
    let radius = api
        .get("/api/v1/tenants/contoso/applications?type=radius", &t)
        .await
        .ok(200);
    assert_eq!(names(&radius, "name"), ["office-ap"]);
    let ldap = api
        .call(
            "PATCH",
            "/api/v1/tenants/contoso/applications/ldap",
            Some(&t),
            Some(json!({"settings": {"type": "ldap", "flatten_nested_groups": true}})),
        )
        .await
        .ok(200);
    assert_eq!(ldap["settings"]["flatten_nested_groups"], true);
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/applications/LDAP",
        Some(&t),
        None,
    )
    .await
    .problem(409, "not-allowed");
    api.call(
        "DELETE",
        "/api/v1/tenants/contoso/applications/crm",
        Some(&t),
        None,
    )
    .await
    .ok(204);
    api.get("/api/v1/tenants/contoso/applications/crm", &t)
        .await
        .problem(404, "not-found");
    // Nothing the API said about the RADIUS client carried its secret.
    let all = api.get("/api/v1/tenants/contoso/applications", &t).await;
    assert!(!all.text().contains(SECRET));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_is_queried_and_exported() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let start = api.td.clock.now().to_rfc3339();
    for name in ["alice", "bob", "carol"] {
        api.call(
            "POST",
            "/api/v1/tenants/contoso/users",
            Some(&t),
            Some(json!({"username": name})),
        )
        .await
        .ok(201);
    }
    api.call(
        "POST",
        "/api/v1/tenants/contoso/groups",
        Some(&t),
        Some(json!({"name": "g"})),
    )
    .await
    .ok(201);
    let page = api
        .get(
            &format!("/api/v1/tenants/contoso/audit?action=user.&from={start}&limit=2"),
            &t,
        )
        .await
        .ok(200);
    let targets: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["user:alice", "user:bob"]);
    let first = &page["items"][0];
    assert_eq!(first["actor"], "root/boss");
    assert_eq!(first["tenant"], "contoso");
    assert_eq!(first["protocol"], "admin");
    assert_eq!(first["kind"], "change");
    let next = page["next"].as_str().unwrap();
    let page2 = api
        .get(
            &format!("/api/v1/tenants/contoso/audit?action=user.&from={start}&after={next}"),
            &t,
        )
        .await
        .ok(200);
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    let sub = api
        .get(
            "/api/v1/tenants/acme/audit?subtree&kind=change&action=group.",
            &t,
        )
        .await
        .ok(200);
    assert_eq!(sub["items"].as_array().unwrap().len(), 1);

    let r = api
        .get("/api/v1/tenants/contoso/audit/export?kind=change", &t)
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/x-ndjson");
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 4, "{}", r.text());
    assert!(lines.iter().all(|l| l["time"].is_string()));
    assert!(lines.iter().any(|l| l["action"] == "group.create"));
    // Export takes Audit:Execute; the query alone takes Audit:Read.
    let sup = api.admin(&api.contoso, "watcher", "Security Officer", &api.contoso);
    let st = api.session(&sup);
    api.get("/api/v1/tenants/contoso/audit", &st).await.ok(200);
    api.get("/api/v1/tenants/contoso/audit/export", &st)
        .await
        .problem(403, "forbidden");
    api.get("/api/v1/tenants/contoso/audit?from=yesterday", &t)
        .await
        .problem(422, "invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn large_exports_stream_in_chunks() {
    let api = Api::new();
    let (_, t) = api.root_admin();
    let users: Vec<_> = (0..400)
        .map(|i| tessera_directory::testkit::new_user(&format!("user{i:04}")))
        .collect();
    api.dir()
        .users()
        .create_many(&sys(), api.contoso.id, users)
        .unwrap();
    let r = api.get("/api/v1/tenants/contoso/audit/export", &t).await;
    assert_eq!(r.status.as_u16(), 200);
    let n = r.text().lines().count();
    assert!(r.body.len() > 64 * 1024, "{} bytes", r.body.len());
    assert!(n >= 400, "{n}");
}
