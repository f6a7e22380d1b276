//! Logging in through the API: sessions, the one refusal answer, the TOTP enrolment and
//! password-change steps, lockout, logout and bearer tokens.

use crate::support::{sys, Api, PW};
use axum::http::header;
use base64::Engine;
use serde_json::json;
use tessera_directory::clock::Clock;
use tessera_directory::policy::settings::{LockThreshold, Setting};
use tessera_directory::testkit::totp_code;

fn login_body(tenant: &str, username: &str, password: &str) -> serde_json::Value {
    json!({"tenant": tenant, "username": username, "password": password})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_opens_a_session_until_logout() {
    let api = Api::new();
    api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    let r = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "ADMIN", PW)),
        )
        .await;
    let s = r.ok(200);
    let token = s["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tsr_"));
    assert_eq!(s["user"]["username"], "admin");
    assert_eq!(s["user"]["tenant"], "contoso");
    assert_eq!(s["tenant"]["slug"], "contoso");
    assert!(s["expires_at"].as_str().unwrap().ends_with('Z'));

    let me = api.get("/api/v1/auth/me", &token).await.ok(200);
    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["token"]["kind"], "session");
    assert!(me["token"].get("rights").is_none());

    api.call("POST", "/api/v1/auth/logout", Some(&token), None)
        .await
        .ok(204);
    let r = api.get("/api/v1/auth/me", &token).await;
    r.problem(401, "unauthenticated");
    assert!(r.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_is_one_answer() {
    let api = Api::new();
    let u = api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    let wrong = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "admin", "nope")),
        )
        .await
        .problem(401, "invalid-credentials");
    let unknown_user = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "nobody", PW)),
        )
        .await
        .problem(401, "invalid-credentials");
    let unknown_tenant = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("nowhere", "admin", PW)),
        )
        .await
        .problem(401, "invalid-credentials");
    api.dir().users().suspend(&sys(), u.tenant, u.id).unwrap();
    let suspended = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "admin", PW)),
        )
        .await
        .problem(401, "invalid-credentials");
    assert_eq!(wrong, unknown_user);
    assert_eq!(wrong, unknown_tenant);
    assert_eq!(wrong, suspended);
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_lock_the_account_like_any_login() {
    let api = Api::new();
    let mut p = api
        .dir()
        .policies()
        .get(&sys(), api.contoso.id)
        .unwrap()
        .local;
    p.settings.lockout.threshold = Setting::set(LockThreshold(3));
    api.dir().policies().set(&sys(), api.contoso.id, p).unwrap();
    let u = api.user(&api.contoso, "alice");
    for _ in 0..3 {
        api.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "alice", "wrong")),
        )
        .await
        .problem(401, "invalid-credentials");
    }
    // Now even the right password is refused, with the same answer.
    api.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(login_body("contoso", "alice", PW)),
    )
    .await
    .problem(401, "invalid-credentials");
    let status = api
        .dir()
        .credentials()
        .status(&sys(), u.tenant, u.id)
        .unwrap();
    assert!(status.locked_until.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn first_login_enrols_totp_then_asks_for_codes() {
    let api = Api::with_default_policy();
    api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    let p = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "admin", PW)),
        )
        .await
        .problem(401, "mfa-enrolment-required");
    let step = p["step_token"].as_str().unwrap().to_string();
    let url = p["otpauth_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("otpauth://totp/"));
    let png = base64::engine::general_purpose::STANDARD
        .decode(p["qr_png"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    assert!(p["step_expires_at"].is_string());
    // The step token is not a session.
    api.get("/api/v1/auth/me", &step)
        .await
        .problem(401, "unauthenticated");
    api.call(
        "POST",
        "/api/v1/auth/enrol",
        None,
        Some(json!({"step_token": step, "code": "000000"})),
    )
    .await
    .problem(403, "wrong-credentials");
    let code = totp_code(&url, api.td.clock.now());
    let s = api
        .call(
            "POST",
            "/api/v1/auth/enrol",
            None,
            Some(json!({"step_token": step, "code": code})),
        )
        .await
        .ok(200);
    let token = s["token"].as_str().unwrap();
    api.get("/api/v1/auth/me", token).await.ok(200);
    // The step is spent.
    api.call(
        "POST",
        "/api/v1/auth/enrol",
        None,
        Some(json!({"step_token": step, "code": code})),
    )
    .await
    .problem(401, "unauthenticated");

    // From now on the password alone asks for a code.
    api.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(login_body("contoso", "admin", PW)),
    )
    .await
    .problem(401, "mfa-required");
    api.td.clock.advance_secs(30);
    let code = totp_code(&url, api.td.clock.now());
    let mut body = login_body("contoso", "admin", PW);
    body["totp"] = json!(code);
    api.call("POST", "/api/v1/auth/login", None, Some(body.clone()))
        .await
        .ok(200);
    // A code is good once.
    api.call("POST", "/api/v1/auth/login", None, Some(body))
        .await
        .problem(401, "invalid-credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_password_is_changed_through_the_step() {
    let api = Api::new();
    let u = api.admin(&api.contoso, "admin", "User Administrator", &api.contoso);
    api.dir()
        .credentials()
        .set_password(&sys(), u.tenant, u.id, "One-Time-Secret-55", true)
        .unwrap();
    let p = api
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login_body("contoso", "admin", "One-Time-Secret-55")),
        )
        .await
        .problem(401, "password-change-required");
    let step = p["step_token"].as_str().unwrap();
    let weak = api
        .call(
            "POST",
            "/api/v1/auth/password",
            None,
            Some(json!({"step_token": step, "new_password": "short"})),
        )
        .await
        .problem(422, "weak-password");
    let problems = weak["problems"].as_array().unwrap();
    assert!(problems
        .iter()
        .any(|p| p["kind"] == "too_short" && p["min"] == 12 && p["message"].is_string()));
    api.call(
        "POST",
        "/api/v1/auth/password",
        None,
        Some(json!({"step_token": step, "new_password": "My-Own-Secret-2026"})),
    )
    .await
    .ok(204);
    api.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(login_body("contoso", "admin", "My-Own-Secret-2026")),
    )
    .await
    .ok(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_change_their_own_password() {
    let api = Api::new();
    let u = api.user(&api.contoso, "alice");
    let token = api.session(&u);
    api.call(
        "POST",
        "/api/v1/auth/me/password",
        Some(&token),
        Some(json!({"current_password": "wrong", "new_password": "Brand-New-Secret-77"})),
    )
    .await
    .problem(403, "wrong-credentials");
    api.call(
        "POST",
        "/api/v1/auth/me/password",
        Some(&token),
        Some(json!({"current_password": PW, "new_password": "Brand-New-Secret-77"})),
    )
    .await
    .ok(204);
    // Anyone may read themselves, not others.
    api.get("/api/v1/tenants/contoso/users/alice", &token)
        .await
        .ok(200);
    api.get("/api/v1/tenants/contoso/users", &token)
        .await
        .problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_tokens_must_be_well_formed_and_live() {
    let api = Api::new();
    let (_, token) = api.root_admin();
    for auth in [
        None,
        Some("Basic Zm9vOmJhcg==".to_string()),
        Some("Bearer".to_string()),
        Some("Bearer tsr_forged".to_string()),
        Some(format!("Bearer  {token}x")),
    ] {
        let mut b = axum::http::Request::builder().uri("/api/v1/auth/me");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        api.send(b.body(axum::body::Body::empty()).unwrap())
            .await
            .problem(401, "unauthenticated");
    }
    // The scheme is case-insensitive.
    let r = api
        .send(
            axum::http::Request::builder()
                .uri("/api/v1/auth/me")
                .header(header::AUTHORIZATION, format!("bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    r.ok(200);
    // Sessions expire.
    api.td.clock.advance_secs(3601);
    api.get("/api/v1/auth/me", &token)
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_peer_address_reaches_the_audit_log() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let api = Api::new();
    let (_, token) = api.root_admin();
    let peer: SocketAddr = "203.0.113.9:50123".parse().unwrap();
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/tenants/contoso/users")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(r#"{"username": "alice"}"#))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    api.send(req).await.ok(201);
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(
            login_body("contoso", "alice", "nope").to_string(),
        ))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    api.send(req).await.problem(401, "invalid-credentials");
    let log = api
        .get("/api/v1/tenants/contoso/audit", &token)
        .await
        .ok(200);
    let events = log["items"].as_array().unwrap();
    let created = events
        .iter()
        .find(|e| e["action"] == "user.create")
        .unwrap();
    assert_eq!(created["source"], "203.0.113.9");
    let login = events
        .iter()
        .find(|e| e["kind"] == "authentication")
        .unwrap();
    assert_eq!(login["source"], "203.0.113.9");
    assert_eq!(login["outcome"], "failure");
    assert_eq!(login["protocol"], "admin");
}
