//! The admin API end to end, over HTTPS against the real server: the RBAC matrix (a helpdesk
//! technician's reach, no escalation, the Auditor, Deny over a group's Allow), token narrowing,
//! revocation and expiry, admin MFA enrolment and codes, problem documents for bad input with
//! nothing half-written, the completeness of the demo seed, and that seeding it twice changes
//! nothing. Every refusal is checked by status, problem `type`, and a full re-read of the store.

use crate::harness::Server;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use tessera_directory::clock::{ChaChaSource, ManualClock};
use tessera_directory::model::{AuditKind, AuditQuery, ListQuery, Page, Posix};
use tessera_directory::policy::Timestamp;
use tessera_directory::secrets::MasterKey;
use tessera_directory::testkit::totp_code;
use tessera_directory::{Actor, Directory};

// ---------------------------------------------------------------------------------------------
// An HTTPS client of the API.

const ADMIN_PW: &str = "Demo-2026:5.2!";
const TECH1_PW: &str = "Demo-2026:5.1!";

/// The API at one base URL, through a client that trusts only the server's certificate.
struct Api {
    base: String,
    http: Client,
}

/// An answer, read completely.
struct Reply {
    what: String,
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    bytes: Vec<u8>,
    json: Value,
}

impl Api {
    fn of(s: &Server) -> Api {
        Api {
            base: s.api.clone(),
            http: s.client(),
        }
    }

    fn send(&self, what: String, req: reqwest::blocking::RequestBuilder) -> Reply {
        let r = req.send().unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = r.status().as_u16();
        let header = |h: reqwest::header::HeaderName| {
            r.headers()
                .get(h)
                .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_string())
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let www_authenticate = header(WWW_AUTHENTICATE);
        let bytes = r.bytes().unwrap().to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            what,
            status,
            content_type,
            www_authenticate,
            bytes,
            json,
        }
    }

    fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let what = format!("{method} {path}");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(what, req)
    }

    fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None)
    }

    fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(&body))
    }

    fn put(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(&body))
    }

    fn patch(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(&body))
    }

    fn delete(&self, token: &str, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None)
    }

    /// A login's answer (a session, or the problem naming the next step).
    fn try_login(&self, tenant: &str, user: &str, password: &str, totp: Option<&str>) -> Reply {
        let mut body = json!({ "tenant": tenant, "username": user, "password": password });
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        self.call(Method::POST, "/auth/login", None, Some(&body))
    }

    /// Logs in; returns the session token.
    fn login(&self, tenant: &str, user: &str, password: &str) -> String {
        let session = self.try_login(tenant, user, password, None).ok(200);
        assert_eq!(session["user"]["username"], user);
        assert_eq!(session["tenant"]["slug"], tenant);
        session["token"].as_str().unwrap().to_string()
    }
}

impl Reply {
    /// Asserts the status; returns the JSON body.
    fn ok(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}: expected {status}, got {} {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.bytes)
        );
        self.json.clone()
    }

    /// Asserts an RFC 7807 problem document of this status and `urn:tessera:problem:<kind>`.
    fn problem(&self, status: u16, kind: &str) -> Value {
        let body = String::from_utf8_lossy(&self.bytes);
        assert_eq!(
            (self.status, self.json["type"].as_str()),
            (status, Some(format!("urn:tessera:problem:{kind}").as_str())),
            "{}: {body}",
            self.what
        );
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}: {body}",
            self.what
        );
        assert_eq!(self.json["status"], status, "{}: {body}", self.what);
        assert!(self.json["title"].is_string() && self.json["detail"].is_string());
        self.json.clone()
    }

    /// Asserts a refusal: `403 forbidden`, or `404 not-found` when the caller cannot even see.
    fn refused(&self, status: u16) {
        match status {
            403 => self.problem(403, "forbidden"),
            404 => self.problem(404, "not-found"),
            other => panic!("not a refusal status: {other}"),
        };
    }
}

/// The names (`username`, `name` or `slug`) of a page's items, in order.
fn names(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Everything the store holds, read through the directory as the system actor.

fn all<T>(mut page: impl FnMut(&ListQuery) -> Result<Page<T>, tessera_directory::Error>) -> Vec<T> {
    let mut q = ListQuery {
        limit: Some(ListQuery::MAX_LIMIT),
        ..ListQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let p = page(&q).unwrap();
        out.extend(p.items);
        match p.next {
            Some(n) => q.after = Some(n),
            None => return out,
        }
    }
}

/// Every tenant with its users (and their credential status), groups (and direct members),
/// applications, roles, assignments and own policy, every entity with its id and `updated_at`;
/// plus the integrity checker's counts (sessions aside: logging in opens them). Two equal
/// states mean nothing was created, changed or deleted in between.
fn state(dir: &Directory) -> Value {
    let sys = Actor::system();
    let mut out = serde_json::Map::new();
    for t in dir.tenants().list(&sys).unwrap() {
        let users = all(|q| dir.users().list(&sys, t.id, q));
        let credentials: Vec<Value> = users
            .iter()
            .map(|u| json!(dir.credentials().status(&sys, t.id, u.id).unwrap()))
            .collect();
        let groups = all(|q| dir.groups().list(&sys, t.id, q));
        let members: Vec<Value> = groups
            .iter()
            .map(|g| json!(dir.groups().members(&sys, t.id, g.id, false).unwrap()))
            .collect();
        out.insert(
            t.slug.clone(),
            json!({
                "tenant": t,
                "users": users,
                "credentials": credentials,
                "groups": groups,
                "members": members,
                "applications": dir.applications().list(&sys, t.id).unwrap(),
                "roles": dir.rbac().list_roles(&sys, t.id).unwrap(),
                "assignments": dir.rbac().list_assignments(&sys, t.id).unwrap(),
                "policy": dir.policies().get(&sys, t.id).unwrap().local,
            }),
        );
    }
    let report = dir.check_integrity().unwrap();
    assert!(report.is_ok(), "integrity problems: {:?}", report.problems);
    let counts: BTreeMap<&str, usize> = report
        .counts
        .into_iter()
        .filter(|(k, _)| *k != "tokens")
        .collect();
    out.insert("counts".into(), json!(counts));
    Value::Object(out)
}

/// Where two JSON values differ (at most a few places), for readable failures.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    if out.len() >= 5 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                differences(
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    &format!("{at}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{at}[{i}]"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let only = |p: &[Value], q: &[Value]| -> Vec<Value> {
                p.iter().filter(|v| !q.contains(v)).cloned().collect()
            };
            out.push(format!(
                "{at}: {} items → {}; gone {:?}, new {:?}",
                x.len(),
                y.len(),
                only(x, y),
                only(y, x)
            ));
        }
        _ => out.push(format!("{at}: {a} → {b}")),
    }
}

fn assert_unchanged(before: &Value, after: &Value, what: &str) {
    let mut d = Vec::new();
    differences(before, after, "", &mut d);
    assert!(d.is_empty(), "{what} changed the store: {d:#?}");
}

// ---------------------------------------------------------------------------------------------
// A server whose directory reads a manual clock, for expiry and TOTP without waiting.

/// The demo server as the harness starts it, but with the directory on a [`ManualClock`].
struct ClockedServer {
    api: Api,
    dir: Directory,
    clock: Arc<ManualClock>,
    running: Option<tessera::server::Running>,
    runtime: tokio::runtime::Runtime,
    _tmp: tempfile::TempDir,
}

impl ClockedServer {
    fn start_demo() -> ClockedServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tmp = tempfile::tempdir().unwrap();
        let config = tessera::config::Config {
            data_dir: tmp.path().join("data"),
            master_key_file: tmp.path().join("master.key"),
            http: tessera::config::HttpConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
            ..tessera::config::Config::default()
        };
        let clock = Arc::new(ManualClock::new(
            Timestamp::parse_rfc3339("2026-03-02T09:00:00Z").unwrap(),
        ));
        let dir = Directory::options()
            .clock(clock.clone())
            .pool(config.pool())
            .open(
                &config.data_dir,
                MasterKey::generate(&ChaChaSource::from_os()),
            )
            .unwrap();
        tessera::demo::seed(&dir).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = runtime
            .block_on(tessera::server::start(&config, dir.clone()))
            .unwrap();
        let (cert, _) = config.tls_paths();
        let pem = std::fs::read(cert).unwrap();
        let http = Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap();
        ClockedServer {
            api: Api {
                base: format!("https://{}/api/v1", running.addr),
                http,
            },
            dir,
            clock,
            running: Some(running),
            runtime,
            _tmp: tmp,
        }
    }
}

impl Drop for ClockedServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.runtime.block_on(r.stop());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RBAC.

#[test]
fn a_helpdesk_technician_resets_passwords_in_its_customers_only() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let tech1 = api.login("acme", "tech1", TECH1_PW);
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    let new_pw = json!({ "password": "Helpdesk-Reset:Quartz-7731" });

    // tech1 sees acme and the customers below it, nothing beside it.
    let tenants = api.get(&tech1, "/tenants").ok(200);
    assert_eq!(names(&tenants, "slug"), ["acme", "contoso", "fabrikam"]);

    // contoso: reset alice's password; the old one stops working, the new one works.
    let set_before = api
        .get(&admin, "/tenants/contoso/users/alice/credentials")
        .ok(200)["password_set_at"]
        .clone();
    api.put(
        &tech1,
        "/tenants/contoso/users/alice/password",
        new_pw.clone(),
    )
    .ok(204);
    let creds = api
        .get(&tech1, "/tenants/contoso/users/alice/credentials")
        .ok(200);
    assert!(creds["has_password"].as_bool().unwrap());
    assert_ne!(creds["password_set_at"], set_before);
    api.try_login("contoso", "alice", "Demo-2026:1.1!", None)
        .problem(401, "invalid-credentials");
    api.login("contoso", "alice", "Helpdesk-Reset:Quartz-7731");
    // fabrikam is under acme too.
    api.put(
        &tech1,
        "/tenants/fabrikam/users/alice/password",
        json!({ "password": "Helpdesk-Reset:Basalt-4410", "must_change": true }),
    )
    .ok(204);
    assert_eq!(
        api.get(&tech1, "/tenants/fabrikam/users/alice/credentials")
            .ok(200)["must_change"],
        true
    );
    // But no account with rights tech1 lacks: fabrikam's bob is a User Administrator (through
    // the admins group), and acme-admin a Main Administrator. Resetting their passwords would
    // hand tech1 their rights.
    let before = state(&s.dir);
    let refused = api
        .put(
            &tech1,
            "/tenants/fabrikam/users/bob/password",
            json!({ "password": "Helpdesk-Reset:Basalt-4411", "must_change": false }),
        )
        .problem(403, "escalation");
    assert!(refused["missing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "users:write"));
    api.put(
        &tech1,
        "/tenants/acme/users/acme-admin/password",
        json!({ "password": "Takeover-By-Helpdesk-77", "must_change": false }),
    )
    .problem(403, "escalation");
    api.post(&tech1, "/tenants/acme/users/acme-admin/unlock", json!({}))
        .problem(403, "escalation");
    assert_eq!(state(&s.dir), before, "nothing changed");
    api.try_login("acme", "acme-admin", "Takeover-By-Helpdesk-77", None)
        .problem(401, "invalid-credentials");

    // globex is not below acme: hidden, and hidden is byte for byte a missing tenant.
    let before = state(&s.dir);
    let hidden = api.put(
        &tech1,
        "/tenants/globex/users/alice/password",
        new_pw.clone(),
    );
    hidden.problem(404, "not-found");
    let missing = api.put(
        &tech1,
        "/tenants/no-such-tenant/users/alice/password",
        new_pw.clone(),
    );
    missing.problem(404, "not-found");
    assert_eq!(hidden.bytes, missing.bytes);
    let no_user = api.put(&tech1, "/tenants/contoso/users/nobody/password", new_pw);
    assert_eq!(no_user.bytes, missing.bytes);
    let (a, b) = (
        api.get(&tech1, "/tenants/globex"),
        api.get(&tech1, "/tenants/no-such-tenant"),
    );
    a.problem(404, "not-found");
    assert_eq!(a.bytes, b.bytes);
    // Helpdesk Operator reads users but does not change them.
    api.patch(
        &tech1,
        "/tenants/contoso/users/alice",
        json!({ "given_name": "Mallory" }),
    )
    .refused(403);
    api.post(
        &tech1,
        "/tenants/contoso/users",
        json!({ "username": "mallory" }),
    )
    .refused(403);
    assert_unchanged(&before, &state(&s.dir), "tech1's refused requests");
    // globex's alice still has her own password.
    api.login("globex", "alice", "Demo-2026:3.1!");

    // The audit log: tech1 holds no audit right at contoso, so it cannot even see it (404, as
    // the API documents for anything the caller may not see); acme-admin reads it, with tech1's
    // reset in it.
    api.get(&tech1, "/tenants/contoso/audit")
        .problem(404, "not-found");
    api.get(&tech1, "/tenants/contoso/audit/export")
        .problem(404, "not-found");
    let log = api
        .get(
            &admin,
            "/tenants/contoso/audit?action=credentials.set_password",
        )
        .ok(200);
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "acme/tech1"
                && e["target"] == "user:alice"
                && e["tenant"] == "contoso"),
        "{log}"
    );
}

#[test]
fn nobody_grants_rights_they_do_not_hold() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let tech1 = api.login("acme", "tech1", TECH1_PW);
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    let overreach = json!({
        "name": "Overreach",
        "rights": { "credentials": { "execute": "allow" }, "users": { "write": "allow" } }
    });

    // As seeded, tech1 holds no right on roles at all: the area is hidden (404).
    let before = state(&s.dir);
    api.post(&tech1, "/tenants/contoso/roles", overreach.clone())
        .problem(404, "not-found");
    api.get(&tech1, "/tenants/contoso/roles")
        .problem(404, "not-found");
    assert_unchanged(&before, &state(&s.dir), "a role without Rights:Write");

    // Given Rights:Read+Write at contoso, tech1 may define roles — with its own rights only.
    api.post(
        &admin,
        "/tenants/contoso/assignments",
        json!({
            "subject": { "type": "user", "tenant": "acme", "name": "tech1" },
            "rights": { "rights": { "read": "allow", "write": "allow" } }
        }),
    )
    .ok(201);
    let before = state(&s.dir);
    let p = api
        .post(&tech1, "/tenants/contoso/roles", overreach)
        .problem(403, "escalation");
    assert_eq!(p["missing"], json!(["users:write"]));
    // A Deny is a grant too: nobody denies others what they cannot use.
    let p = api
        .post(
            &tech1,
            "/tenants/contoso/roles",
            json!({ "name": "Blocker", "rights": { "groups": { "write": "deny" } } }),
        )
        .problem(403, "escalation");
    assert_eq!(p["missing"], json!(["groups:write"]));
    // Nor through an assignment, of a role or of rights, to someone else or to itself.
    let p = api
        .post(
            &tech1,
            "/tenants/contoso/assignments",
            json!({ "subject": { "type": "user", "name": "bob" }, "roles": ["User Administrator"] }),
        )
        .problem(403, "escalation");
    assert_eq!(
        p["missing"],
        json!(["users:write", "groups:write", "applications:read"])
    );
    let p = api
        .post(
            &tech1,
            "/tenants/contoso/assignments",
            json!({
                "subject": { "type": "user", "tenant": "acme", "name": "tech1" },
                "rights": { "audit": { "read": "allow" } }
            }),
        )
        .problem(403, "escalation");
    assert_eq!(p["missing"], json!(["audit:read"]));
    // Not at acme either, where tech1 holds no Rights right.
    api.post(
        &tech1,
        "/tenants/acme/assignments",
        json!({
            "subject": { "type": "user", "name": "tech1" },
            "rights": { "credentials": { "execute": "allow" } }
        }),
    )
    .problem(404, "not-found");
    assert_unchanged(&before, &state(&s.dir), "the escalations");
    // The audit log stays out of reach.
    api.get(&tech1, "/tenants/contoso/audit")
        .problem(404, "not-found");

    // What tech1 does hold it may hand out.
    let role = api
        .post(
            &tech1,
            "/tenants/contoso/roles",
            json!({
                "name": "Password Resetter",
                "rights": { "credentials": { "read": "allow", "execute": "allow" } }
            }),
        )
        .ok(201);
    assert_eq!(role["tenant"], "contoso");
    assert_eq!(role["builtin"], false);
    let a = api
        .post(
            &tech1,
            "/tenants/contoso/assignments",
            json!({ "subject": { "type": "user", "name": "bob" }, "roles": ["Password Resetter"] }),
        )
        .ok(201);
    assert_eq!(a["subject"]["name"], "bob");
    assert_eq!(a["roles"][0]["name"], "Password Resetter");
}

#[test]
fn an_auditor_reads_everything_and_changes_nothing() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    api.post(
        &admin,
        "/tenants/contoso/users",
        json!({ "username": "auditor1", "given_name": "Ida", "family_name": "Inspector" }),
    )
    .ok(201);
    let grant = api
        .post(
            &admin,
            "/tenants/contoso/assignments",
            json!({ "subject": { "type": "user", "name": "auditor1" }, "roles": ["Auditor"] }),
        )
        .ok(201);
    api.put(
        &admin,
        "/tenants/contoso/users/auditor1/password",
        json!({ "password": "Ledger-Quartz-7731!" }),
    )
    .ok(204);
    // contoso's admin MFA is off: the demo turned it off at the root.
    let auditor = api.login("contoso", "auditor1", "Ledger-Quartz-7731!");

    // It reads every area of contoso...
    let t = api.get(&auditor, "/tenants/contoso").ok(200);
    assert_eq!(t["kind"], "customer");
    assert_eq!(
        names(&api.get(&auditor, "/tenants").ok(200), "slug"),
        ["contoso"]
    );
    assert_eq!(
        names(
            &api.get(&auditor, "/tenants/contoso/users").ok(200),
            "username"
        ),
        ["alice", "auditor1", "bob", "carol", "svc-ldap"]
    );
    assert_eq!(
        names(
            &api.get(&auditor, "/tenants/contoso/groups").ok(200),
            "name"
        ),
        ["admins", "service-accounts", "staff", "wifi"]
    );
    assert_eq!(
        names(
            &api.get(&auditor, "/tenants/contoso/groups/staff/members")
                .ok(200),
            "name"
        ),
        ["alice", "bob"]
    );
    assert!(
        names(&api.get(&auditor, "/tenants/contoso/roles").ok(200), "name")
            .contains(&"Auditor".to_string())
    );
    assert!(
        api.get(&auditor, "/tenants/contoso/assignments").ok(200)["items"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
    api.get(&auditor, "/tenants/contoso/policy").ok(200);
    assert_eq!(
        names(
            &api.get(&auditor, "/tenants/contoso/applications").ok(200),
            "name"
        )
        .len(),
        3
    );
    api.get(&auditor, "/tenants/contoso/users/alice/credentials")
        .ok(200);
    api.get(&auditor, "/tenants/contoso/users/bob/rights?on=contoso")
        .ok(200);
    let log = api.get(&auditor, "/tenants/contoso/audit").ok(200);
    assert!(!log["items"].as_array().unwrap().is_empty());
    let export = api.get(&auditor, "/tenants/contoso/audit/export");
    export.ok(200);
    assert_eq!(export.content_type, "application/x-ndjson");
    // ...and nothing outside its scope.
    api.get(&auditor, "/tenants/fabrikam/users").refused(404);
    api.get(&auditor, "/tenants/acme").refused(404);

    // Every write is refused; the store is untouched.
    let before = state(&s.dir);
    let c = "/tenants/contoso";
    let writes: Vec<(Method, String, Option<Value>, u16)> = vec![
        (
            Method::POST,
            format!("{c}/users"),
            Some(json!({ "username": "mallory" })),
            403,
        ),
        (
            Method::PATCH,
            format!("{c}/users/alice"),
            Some(json!({ "given_name": "Mallory" })),
            403,
        ),
        (Method::DELETE, format!("{c}/users/bob"), None, 403),
        (Method::POST, format!("{c}/users/bob/suspend"), None, 403),
        (Method::POST, format!("{c}/users/carol/resume"), None, 403),
        (
            Method::PUT,
            format!("{c}/users/alice/password"),
            Some(json!({ "password": "Auditor-Was-Here-2026!" })),
            403,
        ),
        (Method::POST, format!("{c}/users/alice/unlock"), None, 403),
        (Method::POST, format!("{c}/users/alice/totp"), None, 403),
        (
            Method::POST,
            format!("{c}/groups"),
            Some(json!({ "name": "shadow" })),
            403,
        ),
        (
            Method::PATCH,
            format!("{c}/groups/staff"),
            Some(json!({ "description": "x" })),
            403,
        ),
        (Method::DELETE, format!("{c}/groups/wifi"), None, 403),
        (
            Method::PUT,
            format!("{c}/groups/admins/members/users/auditor1"),
            None,
            403,
        ),
        (
            Method::DELETE,
            format!("{c}/groups/staff/members/users/alice"),
            None,
            403,
        ),
        (
            Method::POST,
            format!("{c}/roles"),
            Some(json!({ "name": "Shadow", "rights": { "users": { "read": "allow" } } })),
            403,
        ),
        (
            Method::POST,
            format!("{c}/assignments"),
            Some(json!({
                "subject": { "type": "user", "name": "auditor1" },
                "roles": ["Main Administrator"]
            })),
            403,
        ),
        (
            Method::DELETE,
            format!("{c}/assignments/{}", grant["id"].as_str().unwrap()),
            None,
            403,
        ),
        (
            Method::PUT,
            format!("{c}/policy"),
            Some(json!({ "password": { "min_length": { "value": 8 } } })),
            403,
        ),
        (
            Method::POST,
            format!("{c}/applications"),
            Some(json!({
                "name": "rogue",
                "settings": {
                    "type": "radius",
                    "addresses": ["10.0.0.0/8"],
                    "secret": "a-rogue-shared-secret-123"
                }
            })),
            403,
        ),
        (Method::DELETE, format!("{c}/applications/wiki"), None, 403),
        (
            Method::DELETE,
            format!("{c}/applications/office-wifi/groups/wifi"),
            None,
            403,
        ),
        (
            Method::PATCH,
            c.to_string(),
            Some(json!({ "name": "Pwned Ltd" })),
            403,
        ),
        (Method::POST, format!("{c}/suspend"), None, 403),
        (Method::DELETE, c.to_string(), None, 403),
        (
            Method::POST,
            format!("{c}/children"),
            Some(json!({ "slug": "sub", "name": "Sub", "kind": "customer" })),
            403,
        ),
    ];
    for (method, path, body, status) in writes {
        api.call(method, &path, Some(&auditor), body.as_ref())
            .refused(status);
    }
    assert_unchanged(&before, &state(&s.dir), "the Auditor's writes");
}

#[test]
fn a_deny_assignment_beats_an_allow_from_a_group() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    api.post(
        &admin,
        "/tenants/contoso/groups",
        json!({ "name": "editors", "description": "May edit users" }),
    )
    .ok(201);
    api.post(
        &admin,
        "/tenants/contoso/users",
        json!({ "username": "dana", "groups": ["editors"] }),
    )
    .ok(201);
    api.put(
        &admin,
        "/tenants/contoso/users/dana/password",
        json!({ "password": "Granite-Harbor-5520" }),
    )
    .ok(204);
    api.post(
        &admin,
        "/tenants/contoso/assignments",
        json!({
            "subject": { "type": "group", "name": "editors" },
            "rights": {
                "tenants": { "read": "allow" },
                "users": { "read": "allow", "write": "allow" }
            }
        }),
    )
    .ok(201);
    let deny = api
        .post(
            &admin,
            "/tenants/contoso/assignments",
            json!({
                "subject": { "type": "user", "name": "dana" },
                "rights": { "users": { "write": "deny" } }
            }),
        )
        .ok(201);
    assert_eq!(deny["rights"], json!({ "users": { "write": "deny" } }));

    // Effective rights: the group's Allow of users:write is gone, its reads remain.
    let expected = json!({ "tenants": { "read": "allow" }, "users": { "read": "allow" } });
    let seen = api
        .get(&admin, "/tenants/contoso/users/dana/rights?on=contoso")
        .ok(200);
    assert_eq!(seen, expected);
    let dana = api.login("contoso", "dana", "Granite-Harbor-5520");
    assert_eq!(api.get(&dana, "/tenants/contoso/rights").ok(200), expected);

    let before = state(&s.dir);
    assert!(names(
        &api.get(&dana, "/tenants/contoso/users").ok(200),
        "username"
    )
    .contains(&"alice".to_string()));
    api.post(
        &dana,
        "/tenants/contoso/users",
        json!({ "username": "erin" }),
    )
    .refused(403);
    api.patch(
        &dana,
        "/tenants/contoso/users/alice",
        json!({ "phone": "+1 555 0100" }),
    )
    .refused(403);
    api.delete(&dana, "/tenants/contoso/users/bob").refused(403);
    assert_unchanged(&before, &state(&s.dir), "dana's denied writes");

    // The Deny is what stopped her: revoked, the group's Allow applies.
    api.delete(
        &admin,
        &format!(
            "/tenants/contoso/assignments/{}",
            deny["id"].as_str().unwrap()
        ),
    )
    .ok(204);
    let erin = api
        .post(
            &dana,
            "/tenants/contoso/users",
            json!({ "username": "erin" }),
        )
        .ok(201);
    assert_eq!(erin["tenant"], "contoso");
}

// ---------------------------------------------------------------------------------------------
// Tokens.

#[test]
fn tokens_are_narrowed_revocable_and_never_exceed_their_user() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let admin = api.login("acme", "acme-admin", ADMIN_PW);

    // A personal token narrowed to users:read.
    let created = api
        .post(
            &admin,
            "/tokens",
            json!({ "name": "read-only", "rights": { "users": { "read": "allow" } } }),
        )
        .ok(201);
    assert_eq!(created["token"]["kind"], "personal");
    assert_eq!(
        created["token"]["rights"],
        json!({ "users": { "read": "allow" } })
    );
    let narrow = created["secret"].as_str().unwrap().to_string();
    let me = api.get(&narrow, "/auth/me").ok(200);
    assert_eq!(me["user"]["username"], "acme-admin");
    assert_eq!(me["token"]["kind"], "personal");
    assert_eq!(
        me["token"]["rights"],
        json!({ "users": { "read": "allow" } })
    );

    let before = state(&s.dir);
    assert!(names(
        &api.get(&narrow, "/tenants/contoso/users").ok(200),
        "username"
    )
    .contains(&"alice".to_string()));
    api.post(
        &narrow,
        "/tenants/contoso/users",
        json!({ "username": "via-token" }),
    )
    .refused(403);
    api.get(&narrow, "/tenants/contoso/groups").refused(404);
    api.put(
        &narrow,
        "/tenants/contoso/users/alice/password",
        json!({ "password": "Narrowed-Token-9912" }),
    )
    .refused(404);
    // A personal token does not mint more tokens.
    api.post(&narrow, "/tokens", json!({ "name": "more" }))
        .problem(409, "not-allowed");
    assert_unchanged(&before, &state(&s.dir), "the narrowed token's writes");

    // Expiry is checked at creation: the past and non-times are refused, and nothing is made.
    let personal = |tok: &str| {
        api.get(tok, "/tokens?kind=personal").ok(200)["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(personal(&admin), 1);
    let p = api
        .post(
            &admin,
            "/tokens",
            json!({ "name": "stale", "expires_at": "2020-01-01T00:00:00Z" }),
        )
        .problem(422, "invalid");
    assert_eq!(p["field"], "expires_at");
    let p = api
        .post(
            &admin,
            "/tokens",
            json!({ "name": "vague", "expires_at": "tomorrow" }),
        )
        .problem(422, "invalid");
    assert_eq!(p["field"], "expires_at");
    assert_eq!(personal(&admin), 1);
    let soon = s.dir.now().plus_secs(3600).to_rfc3339();
    let hour = api
        .post(
            &admin,
            "/tokens",
            json!({ "name": "one hour", "expires_at": soon }),
        )
        .ok(201);
    assert_eq!(hour["token"]["expires_at"], soon);
    let listed = api.get(&admin, "/tokens?kind=personal").ok(200);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "one hour" && t["expires_at"] == soon),
        "{listed}"
    );

    // Revoked, a token is refused at once.
    api.delete(
        &admin,
        &format!("/tokens/{}", created["token"]["id"].as_str().unwrap()),
    )
    .ok(204);
    let gone = api.get(&narrow, "/tenants/contoso/users");
    gone.problem(401, "unauthenticated");
    assert!(gone
        .www_authenticate
        .is_some_and(|h| h.starts_with("Bearer")));

    // A token asking for every right carries at most its user's: tech1 still cannot write users.
    let tech1 = api.login("acme", "tech1", TECH1_PW);
    let every: serde_json::Map<String, Value> = [
        "tenants",
        "users",
        "groups",
        "credentials",
        "policies",
        "applications",
        "rights",
        "audit",
        "reports",
        "directory",
    ]
    .iter()
    .map(|a| {
        (
            a.to_string(),
            json!({ "read": "allow", "write": "allow", "execute": "allow" }),
        )
    })
    .collect();
    let wide = api
        .post(
            &tech1,
            "/tokens",
            json!({ "name": "everything", "rights": every }),
        )
        .ok(201)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.get(&wide, "/tenants/contoso/rights").ok(200),
        api.get(&tech1, "/tenants/contoso/rights").ok(200)
    );
    let before = state(&s.dir);
    api.post(
        &wide,
        "/tenants/contoso/users",
        json!({ "username": "via-wide" }),
    )
    .refused(403);
    api.get(&wide, "/tenants/contoso/audit").refused(404);
    api.get(&wide, "/tenants/globex/users").refused(404);
    assert_unchanged(&before, &state(&s.dir), "the wide token's writes");
    // What its user may do, it may.
    api.post(&wide, "/tenants/contoso/users/alice/unlock", json!({}))
        .ok(204);

    // Logging out revokes that session only.
    api.call(Method::POST, "/auth/logout", Some(&admin), None)
        .ok(204);
    api.get(&admin, "/auth/me").problem(401, "unauthenticated");
    let hour_secret = hour["secret"].as_str().unwrap();
    assert_eq!(
        api.get(hour_secret, "/auth/me").ok(200)["token"]["kind"],
        "personal"
    );
    // No token, or a malformed header: 401 too.
    api.call(Method::GET, "/tenants", None, None)
        .problem(401, "unauthenticated");
    api.get("", "/tenants").problem(401, "unauthenticated");
}

#[test]
fn tokens_and_sessions_expire_by_the_directory_clock() {
    let s = ClockedServer::start_demo();
    let api = &s.api;
    let session = api.login("acme", "acme-admin", ADMIN_PW);
    let at = s.dir.now().plus_secs(60).to_rfc3339();
    let t = api
        .post(
            &session,
            "/tokens",
            json!({ "name": "one minute", "expires_at": at }),
        )
        .ok(201);
    let token = t["secret"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&token, "/auth/me").ok(200)["token"]["expires_at"],
        at
    );
    api.get(&token, "/tenants/contoso/users").ok(200);

    s.clock.advance_secs(61);
    api.get(&token, "/tenants/contoso/users")
        .problem(401, "unauthenticated");
    let live = api.get(&session, "/tokens").ok(200);
    assert!(
        !live["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == t["token"]["id"]),
        "an expired token is listed as live: {live}"
    );

    // A session lasts the configured 8 hours.
    let me = api.get(&session, "/auth/me").ok(200);
    let ends = Timestamp::parse_rfc3339(me["token"]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        ends.as_secs() - Timestamp::parse_rfc3339(&at).unwrap().as_secs(),
        8 * 3600 - 60
    );
    s.clock.set(ends.plus_secs(1));
    api.get(&session, "/auth/me")
        .problem(401, "unauthenticated");
    // Logging in again opens a new one.
    let again = api.login("acme", "acme-admin", ADMIN_PW);
    api.get(&again, "/tenants/contoso").ok(200);
}

// ---------------------------------------------------------------------------------------------
// Admin MFA.

#[test]
fn admin_mfa_enrols_at_the_first_login_then_asks_for_a_code() {
    let s = ClockedServer::start_demo();
    let api = &s.api;
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    let policy = api
        .put(
            &admin,
            "/tenants/contoso/policy",
            json!({ "mfa": { "protocols": { "value": ["admin"] } } }),
        )
        .ok(200);
    assert_eq!(policy["effective"]["mfa_protocols"], json!(["admin"]));
    api.post(
        &admin,
        "/tenants/contoso/users",
        json!({ "username": "omar", "email": "omar@contoso.example" }),
    )
    .ok(201);
    api.post(
        &admin,
        "/tenants/contoso/assignments",
        json!({ "subject": { "type": "user", "name": "omar" }, "roles": ["User Administrator"] }),
    )
    .ok(201);
    api.put(
        &admin,
        "/tenants/contoso/users/omar/password",
        json!({ "password": "Copper-Lantern-8841" }),
    )
    .ok(204);

    // The first login enrols: a step token and a new seed, no session.
    let p = api
        .try_login("contoso", "omar", "Copper-Lantern-8841", None)
        .problem(401, "mfa-enrolment-required");
    let step = p["step_token"].as_str().unwrap().to_string();
    let url = p["otpauth_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(!p["qr_png"].as_str().unwrap().is_empty());
    assert!(p["step_expires_at"].is_string());
    assert!(p.get("token").is_none());
    // A step token is no session.
    api.get(&step, "/auth/me").problem(401, "unauthenticated");
    assert_eq!(
        api.get(&admin, "/tenants/contoso/users/omar/credentials")
            .ok(200)["totp"],
        "pending"
    );

    let code = totp_code(&url, s.dir.now());
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    api.call(
        Method::POST,
        "/auth/enrol",
        None,
        Some(&json!({ "step_token": step, "code": wrong })),
    )
    .problem(403, "wrong-credentials");
    let session = api
        .call(
            Method::POST,
            "/auth/enrol",
            None,
            Some(&json!({ "step_token": step, "code": code })),
        )
        .ok(200);
    assert_eq!(session["user"]["username"], "omar");
    let omar = session["token"].as_str().unwrap().to_string();
    assert_eq!(
        names(&api.get(&omar, "/tenants/contoso/groups").ok(200), "name"),
        ["admins", "service-accounts", "staff", "wifi"]
    );
    assert_eq!(
        api.get(&admin, "/tenants/contoso/users/omar/credentials")
            .ok(200)["totp"],
        "active"
    );
    // The step token was spent.
    api.call(
        Method::POST,
        "/auth/enrol",
        None,
        Some(&json!({ "step_token": step, "code": code })),
    )
    .problem(401, "unauthenticated");

    // From now on the password alone is not enough...
    api.try_login("contoso", "omar", "Copper-Lantern-8841", None)
        .problem(401, "mfa-required");
    // ...a code's time step is used once...
    api.try_login("contoso", "omar", "Copper-Lantern-8841", Some(&code))
        .problem(401, "invalid-credentials");
    // ...and the next step's code opens a session.
    s.clock.advance_secs(30);
    let next = totp_code(&url, s.dir.now());
    let session = api
        .try_login("contoso", "omar", "Copper-Lantern-8841", Some(&next))
        .ok(200);
    assert_eq!(session["tenant"]["slug"], "contoso");

    // The policy is contoso's: acme's administrator still logs in with a password.
    api.login("acme", "acme-admin", ADMIN_PW);
}

// ---------------------------------------------------------------------------------------------
// Bad input.

#[test]
fn bad_input_is_a_problem_document_and_writes_nothing() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    // dana may create users but not change groups.
    api.post(
        &admin,
        "/tenants/contoso/users",
        json!({ "username": "dana" }),
    )
    .ok(201);
    api.put(
        &admin,
        "/tenants/contoso/users/dana/password",
        json!({ "password": "Granite-Harbor-5520" }),
    )
    .ok(204);
    api.post(
        &admin,
        "/tenants/contoso/assignments",
        json!({
            "subject": { "type": "user", "name": "dana" },
            "rights": { "users": { "read": "allow", "write": "allow" }, "groups": { "read": "allow" } }
        }),
    )
    .ok(201);
    let dana = api.login("contoso", "dana", "Granite-Harbor-5520");
    let before = state(&s.dir);
    let users = "/tenants/contoso/users";

    // Wrong JSON types.
    for body in [
        json!({ "username": 42 }),
        json!({ "username": "zed", "ssh_keys": "ssh-ed25519 AAAA" }),
        json!({ "username": "zed", "kind": "robot" }),
        json!({ "username": "zed", "posix": { "uid_number": -1 } }),
        json!({ "username": "zed", "custom": { "roomNumber": "12" } }),
        // An array is not an object, even when its items would fill the fields in order.
        json!(["zed"]),
        json!("zed"),
    ] {
        api.post(&admin, users, body).problem(422, "invalid-body");
    }
    api.call(
        Method::POST,
        "/auth/login",
        None,
        Some(&json!(["acme", "acme-admin", ADMIN_PW])),
    )
    .problem(422, "invalid-body");
    // Unknown fields, at the top and nested.
    for (path, body) in [
        (
            users,
            json!({ "username": "zed", "favourite_colour": "blue" }),
        ),
        (
            users,
            json!({ "username": "zed", "posix": { "uid_number": 2000, "uid": 2000 } }),
        ),
        (
            "/tenants/contoso/roles",
            json!({ "name": "Odd", "rights": { "users": { "delete": "allow" } } }),
        ),
        (
            "/tenants/contoso/roles",
            json!({ "name": "Odd", "rights": { "userz": { "read": "allow" } } }),
        ),
        (
            "/tenants/contoso/assignments",
            json!({ "subject": { "type": "user", "name": "bob", "id": "x" }, "roles": ["Auditor"] }),
        ),
        (
            "/tenants/acme/children",
            json!({ "slug": "newco", "name": "NewCo", "kind": "customer", "parent": "acme" }),
        ),
    ] {
        api.post(&admin, path, body).problem(422, "invalid-body");
    }
    api.put(
        &admin,
        "/tenants/contoso/policy",
        json!({ "password": { "min_length": { "value": 14, "locked": true } } }),
    )
    .problem(422, "invalid-body");
    // Missing required fields.
    api.post(&admin, users, json!({ "email": "zed@contoso.example" }))
        .problem(422, "invalid-body");

    // Malformed JSON, and bodies that do not say they are JSON.
    let raw = |body: &'static str, content_type: Option<&str>| {
        let mut req = api
            .http
            .post(format!("{}{users}", api.base))
            .bearer_auth(&admin)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        api.send(format!("POST {users} ({content_type:?}) {body}"), req)
    };
    raw("{\"username\": ", Some("application/json")).problem(400, "invalid-body");
    raw("{\"username\": \"zed\",}", Some("application/json")).problem(400, "invalid-body");
    raw("{\"username\": \"zed\"}", None).problem(400, "invalid-body");
    raw("{\"username\": \"zed\"}", Some("text/plain")).problem(400, "invalid-body");
    raw("username=zed", Some("application/x-www-form-urlencoded")).problem(400, "invalid-body");

    // An oversized body (the limit is 64 KiB), well-formed or not. Each on a connection of its
    // own: the server stops reading at the limit and closes that connection.
    let big = json!({ "username": "zed", "display_name": "x".repeat(70 * 1024) });
    let p = Api::of(&s)
        .post(&admin, users, big)
        .problem(413, "body-too-large");
    assert!(p["detail"].as_str().unwrap().contains("65536"), "{p}");
    let fresh = Api::of(&s);
    fresh
        .send(
            "PUT policy (70 KiB of '[')".into(),
            fresh
                .http
                .put(format!("{}/tenants/contoso/policy", fresh.base))
                .bearer_auth(&admin)
                .header(CONTENT_TYPE, "application/json")
                .body(vec![b'['; 70 * 1024]),
        )
        .problem(413, "body-too-large");

    // Bad slugs for a new tenant, and kinds the parent may not hold.
    for slug in [
        "Bad Slug",
        "UPPER",
        "under_score",
        "",
        "ünïcode",
        &"a".repeat(64),
    ] {
        let p = api
            .post(
                &admin,
                "/tenants/acme/children",
                json!({ "slug": slug, "name": "NewCo", "kind": "customer" }),
            )
            .problem(422, "invalid");
        assert_eq!(p["field"], "slug", "{slug:?}: {p}");
    }
    api.post(
        &admin,
        "/tenants/acme/children",
        json!({ "slug": "newco", "name": "NewCo", "kind": "galaxy" }),
    )
    .problem(422, "invalid-body");
    let p = api
        .post(
            &admin,
            "/tenants/acme/children",
            json!({ "slug": "newco", "name": "NewCo", "kind": "msp" }),
        )
        .problem(422, "kind-not-allowed");
    assert_eq!(
        (&p["parent_kind"], &p["child_kind"]),
        (&json!("msp"), &json!("msp"))
    );
    api.post(
        &admin,
        "/tenants/acme/children",
        json!({ "slug": "contoso", "name": "Again", "kind": "customer" }),
    )
    .problem(409, "already-exists");

    // Names in a body that name nothing are refused before anything is written: the user is
    // not created without its groups, nor the assignment without its role.
    let p = api
        .post(
            &admin,
            users,
            json!({ "username": "zed", "groups": ["staff", "no-such-group"] }),
        )
        .problem(422, "invalid");
    assert_eq!(p["field"], "groups");
    let p = api
        .post(
            &admin,
            "/tenants/contoso/assignments",
            json!({ "subject": { "type": "user", "name": "bob" }, "roles": ["Auditor", "Nope"] }),
        )
        .problem(422, "invalid");
    assert_eq!(p["field"], "roles");
    let p = api
        .post(
            &admin,
            "/tenants/contoso/applications",
            json!({
                "name": "half",
                "settings": { "type": "radius", "addresses": ["10.0.0.1/32"], "secret": "long-enough-radius-secret" },
                "bound_groups": ["wifi", "ghosts"]
            }),
        )
        .problem(422, "invalid");
    assert_eq!(p["field"], "bound_groups");
    api.post(&admin, users, json!({ "username": "alice" }))
        .problem(409, "already-exists");
    // A user created into a group by someone without Groups:Write: neither half is written.
    api.post(
        &dana,
        users,
        json!({ "username": "zed", "groups": ["staff"] }),
    )
    .refused(403);
    api.put(
        &admin,
        "/tenants/contoso/users/alice/password",
        json!({ "password": "short" }),
    )
    .problem(422, "weak-password");

    // Paths that name nothing, routes that do not exist, methods a route lacks, bad queries.
    for path in [
        "/tenants/no-such-tenant/users",
        "/tenants/no-such-tenant",
        "/tenants/contoso/users/nobody",
        "/tenants/contoso/groups/nothing/members",
        "/tenants/contoso/assignments/not-an-id",
        "/tenants/Bad%20Slug/users",
    ] {
        api.get(&admin, path).problem(404, "not-found");
    }
    api.post(
        &admin,
        "/tenants/no-such-tenant/users",
        json!({ "username": "zed" }),
    )
    .problem(404, "not-found");
    api.get(&admin, "/no/such/route")
        .problem(404, "no-such-route");
    api.delete(&admin, "/tenants")
        .problem(405, "method-not-allowed");
    api.get(&admin, "/tenants/contoso/users?limit=many")
        .problem(400, "invalid-query");
    api.get(&admin, "/tenants/contoso/users?colour=blue")
        .problem(400, "invalid-query");

    assert_unchanged(&before, &state(&s.dir), "the refused requests");
}

// ---------------------------------------------------------------------------------------------
// The demo seed.

#[test]
fn the_demo_seed_is_complete() {
    let s = Server::start_demo();
    let api = Api::of(&s);
    let sys = Actor::system();
    assert!(tessera::demo::is_seeded(&s.dir).unwrap());

    // The tree: slugs, kinds and parents.
    let tenants = s.dir.tenants().list(&sys).unwrap();
    let by_id: BTreeMap<_, _> = tenants.iter().map(|t| (t.id, t.slug.as_str())).collect();
    let mut tree: Vec<(String, String, Option<String>)> = tenants
        .iter()
        .map(|t| {
            (
                t.slug.clone(),
                t.kind.as_str().to_string(),
                t.parent.map(|p| by_id[&p].to_string()),
            )
        })
        .collect();
    tree.sort();
    let expected: Vec<(String, String, Option<String>)> = [
        ("acme", "msp", Some("northwind")),
        ("contoso", "customer", Some("acme")),
        ("fabrikam", "customer", Some("acme")),
        ("globex", "customer", Some("summit")),
        ("harbor", "managed_msp", Some("summit")),
        ("initech", "customer", Some("harbor")),
        ("northwind", "distributor", None),
        ("summit", "msp_manager", Some("northwind")),
    ]
    .iter()
    .map(|(s, k, p)| (s.to_string(), k.to_string(), p.map(str::to_string)))
    .collect();
    assert_eq!(tree, expected);
    assert!(tenants
        .iter()
        .all(|t| s.dir.tenants().is_active(&sys, t.id).unwrap()));
    let counts = s.dir.check_integrity().unwrap().counts;
    assert_eq!(counts["tenants"], 8);
    assert_eq!(counts["users"], 19);
    assert_eq!(counts["groups"], 17);

    // Admin MFA is off at the root (the demo's one policy), nothing else is set anywhere.
    for t in &tenants {
        let local = s.dir.policies().get(&sys, t.id).unwrap().local;
        let mfa = &local.settings.mfa.protocols;
        if t.slug == "northwind" {
            assert!(mfa.value.as_ref().is_some_and(|v| v.is_empty()) && !mfa.enforced);
        } else {
            assert_eq!(local, Default::default(), "{}", t.slug);
        }
    }
    // Tenants without demo logins hold no users.
    for slug in ["northwind", "summit", "harbor"] {
        let t = s.dir.tenants().by_slug(&sys, slug).unwrap();
        assert!(
            all(|q| s.dir.users().list(&sys, t.id, q)).is_empty(),
            "{slug}"
        );
    }

    // acme's staff, as acme-admin sees them through the API.
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    let acme_users = api.get(&admin, "/tenants/acme/users").ok(200);
    assert_eq!(
        names(&acme_users, "username"),
        ["acme-admin", "svc-ldap", "tech1"]
    );
    for (user, role) in [
        ("tech1", "Helpdesk Operator"),
        ("acme-admin", "Main Administrator"),
        ("svc-ldap", "Directory Reader"),
    ] {
        let a = api
            .get(&admin, &format!("/tenants/acme/users/{user}/assignments"))
            .ok(200);
        let items = a["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{a}");
        assert_eq!(items[0]["scope"], "acme");
        assert_eq!(items[0]["roles"][0]["name"], role);
    }

    for (n, customer) in ["contoso", "fabrikam", "globex", "initech"]
        .iter()
        .enumerate()
    {
        let t = s.dir.tenants().by_slug(&sys, customer).unwrap();
        // Users: who, what kind, which status, and every demo password works (carol's is set
        // but she is suspended).
        let users = all(|q| s.dir.users().list(&sys, t.id, q));
        let shape: Vec<(String, String, String)> = users
            .iter()
            .map(|u| {
                let v = json!(u);
                (
                    u.username.clone(),
                    v["kind"].as_str().unwrap().to_string(),
                    v["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected_users: Vec<(String, String, String)> = [
            ("alice", "person", "active"),
            ("bob", "person", "active"),
            ("carol", "person", "suspended"),
            ("svc-ldap", "service", "active"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
        assert_eq!(shape, expected_users, "{customer}");
        // alice and bob are POSIX accounts (the same numbers in every customer) whose primary
        // group is staff; carol and svc-ldap are not.
        let staff_gid = s
            .dir
            .groups()
            .by_name(&sys, t.id, "staff")
            .unwrap()
            .gid_number;
        assert_eq!(staff_gid, 10000, "{customer}");
        let posix: Vec<(&str, Option<&Posix>)> = users
            .iter()
            .map(|u| (u.username.as_str(), u.posix.as_ref()))
            .collect();
        let p = |uid: u32, name: &str| Posix {
            uid_number: uid,
            gid_number: staff_gid,
            home: format!("/home/{name}"),
            shell: "/bin/bash".to_string(),
        };
        let (alice, bob) = (p(10001, "alice"), p(10002, "bob"));
        assert_eq!(
            posix,
            [
                ("alice", Some(&alice)),
                ("bob", Some(&bob)),
                ("carol", None),
                ("svc-ldap", None),
            ],
            "{customer}"
        );
        for (i, u) in users.iter().enumerate() {
            let pw = format!("Demo-2026:{}.{}!", n + 1, i + 1);
            assert_eq!(tessera::demo::password(customer, i + 1), pw);
            let st = s.dir.credentials().status(&sys, t.id, u.id).unwrap();
            assert!(
                st.has_password && !st.must_change,
                "{customer}/{}",
                u.username
            );
            let login = api.try_login(customer, &u.username, &pw, None);
            if u.username == "carol" {
                login.problem(401, "invalid-credentials");
            } else {
                login.ok(200);
            }
        }
        // Groups, members, VLAN.
        let groups = all(|q| s.dir.groups().list(&sys, t.id, q));
        let username = |id| users.iter().find(|u| u.id == id).unwrap().username.clone();
        let mut shape: Vec<(String, Vec<String>, Option<u16>)> = groups
            .iter()
            .map(|g| {
                let members = s
                    .dir
                    .groups()
                    .members(&sys, t.id, g.id, false)
                    .unwrap()
                    .into_iter()
                    .map(|m| match m {
                        tessera_directory::model::Member::User(u) => username(u),
                        tessera_directory::model::Member::Group(g) => format!("group {g}"),
                    })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                (g.name.clone(), members, g.attributes.radius.vlan)
            })
            .collect();
        shape.sort();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shape,
            [
                ("admins".to_string(), v(&["bob"]), None),
                ("service-accounts".to_string(), v(&["svc-ldap"]), None),
                ("staff".to_string(), v(&["alice", "bob"]), None),
                ("wifi".to_string(), v(&["alice"]), Some(42)),
            ],
            "{customer}"
        );
        // The LDAP service lets staff and the bind account in.
        let ldap = s.dir.applications().ldap_service(&sys, t.id).unwrap();
        let mut bound: Vec<String> = ldap
            .bound_groups
            .iter()
            .map(|id| groups.iter().find(|g| g.id == *id).unwrap().name.clone())
            .collect();
        bound.sort();
        assert_eq!(bound, ["service-accounts", "staff"], "{customer}");
        // Roles given at the customer: Directory Reader to svc-ldap, User Administrator to
        // admins — and nothing else.
        let roles: BTreeMap<_, _> = s
            .dir
            .rbac()
            .list_roles(&sys, t.id)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
        let mut given: Vec<(String, Vec<String>)> = s
            .dir
            .rbac()
            .list_assignments(&sys, t.id)
            .unwrap()
            .into_iter()
            .map(|a| {
                assert!(a.rights.is_empty() && a.expires_at.is_none());
                let who = match a.subject {
                    tessera_directory::model::Subject::User { id, .. } => username(id),
                    tessera_directory::model::Subject::Group { id, .. } => {
                        groups.iter().find(|g| g.id == id).unwrap().name.clone()
                    }
                };
                (who, a.roles.iter().map(|r| roles[r].clone()).collect())
            })
            .collect();
        given.sort();
        assert_eq!(
            given,
            [
                ("admins".to_string(), v(&["User Administrator"])),
                ("svc-ldap".to_string(), v(&["Directory Reader"])),
            ],
            "{customer}"
        );
        // Every predefined role is there, as a locked copy.
        for name in [
            "Main Administrator",
            "Main Operator",
            "Auditor",
            "Supervisor",
            "Security Officer",
            "User Administrator",
            "Helpdesk Operator",
            "Application Administrator",
            "Directory Reader",
            "Directory Writer",
        ] {
            let r = s.dir.rbac().role_by_name(&sys, t.id, name).unwrap();
            assert!(r.is_locked(), "{customer}: {name}");
        }
        // Applications: the LDAP service everywhere; RADIUS at contoso and fabrikam; SAML at
        // contoso.
        let mut apps: Vec<String> = s
            .dir
            .applications()
            .list(&sys, t.id)
            .unwrap()
            .into_iter()
            .map(|a| format!("{}:{}", a.kind.as_str(), a.name))
            .collect();
        apps.sort();
        let expected_apps: &[&str] = match *customer {
            "contoso" => &["ldap:LDAP", "radius:office-wifi", "saml:wiki"],
            "fabrikam" => &["ldap:LDAP", "radius:office-wifi"],
            _ => &["ldap:LDAP"],
        };
        assert_eq!(apps, expected_apps, "{customer}");
    }

    // The applications as the API shows them: addresses, bindings, no secrets.
    for (customer, addr) in [("contoso", "127.0.0.1/32"), ("fabrikam", "127.0.0.2/32")] {
        let wifi = api
            .get(
                &admin,
                &format!("/tenants/{customer}/applications/office-wifi"),
            )
            .ok(200);
        assert_eq!(wifi["settings"]["type"], "radius");
        assert_eq!(wifi["settings"]["addresses"], json!([addr]));
        assert_eq!(wifi["settings"]["secret_set"], true);
        assert_eq!(wifi["settings"]["require_message_authenticator"], true);
        assert_eq!(
            names(&json!({ "items": wifi["bound_groups"] }), "name"),
            ["wifi"]
        );
        assert!(!wifi.to_string().contains("demo-radius-secret"));
    }
    let wiki = api
        .get(&admin, "/tenants/contoso/applications/wiki")
        .ok(200);
    assert_eq!(wiki["settings"]["type"], "saml");
    assert_eq!(
        wiki["settings"]["entity_id"],
        "https://wiki.contoso.example/saml/metadata"
    );
    assert_eq!(
        wiki["settings"]["acs_urls"],
        json!([{ "index": 0, "url": "https://wiki.contoso.example/saml/acs", "default": true }])
    );
    assert_eq!(wiki["settings"]["name_id_format"], "email");
    assert_eq!(
        wiki["settings"]["attribute_mapping"],
        json!({ "mail": "email", "givenName": "given_name", "sn": "family_name", "groups": "groups" })
    );
    assert_eq!(
        names(&json!({ "items": wiki["bound_groups"] }), "name"),
        ["staff"]
    );
    // What acme-admin sees of the tree: acme and below.
    let seen = api.get(&admin, "/tenants").ok(200);
    let placed: Vec<(String, Value)> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["slug"].as_str().unwrap().to_string(), t["parent"].clone()))
        .collect();
    assert_eq!(
        placed,
        [
            ("acme".to_string(), Value::Null),
            ("contoso".to_string(), json!("acme")),
            ("fabrikam".to_string(), json!("acme")),
        ]
    );
}

/// Runs `tessera serve --demo` on a store until it answers, then stops it with SIGTERM;
/// returns what it printed.
fn serve_demo_once(tmp: &Path, data: &Path, key: &Path) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(tmp)
        .arg("--data")
        .arg(data)
        .arg("--master-key-file")
        .arg(key)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Readiness: the server prints its address once it listens.
    for line in lines.by_ref() {
        let line = line.unwrap();
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("Stop with Ctrl-C") {
            break;
        }
    }
    assert!(
        out.contains("Stop with Ctrl-C"),
        "the server did not start: {out}"
    );
    let base = out
        .split_whitespace()
        .find(|w| w.starts_with("https://") && w.ends_with("/api/v1"))
        .unwrap()
        .to_string();
    // It serves that store: acme-admin logs in and sees acme's customers.
    let pem = std::fs::read(key.with_file_name("tessera-tls.crt")).unwrap();
    let api = Api {
        base,
        http: Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap(),
    };
    let admin = api.login("acme", "acme-admin", ADMIN_PW);
    assert_eq!(
        names(&api.get(&admin, "/tenants").ok(200), "slug"),
        ["acme", "contoso", "fabrikam"]
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    for line in lines {
        out.push_str(&line.unwrap());
        out.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "tessera serve exited with {status}: {out}"
    );
    out
}

/// The ids of every change event in the store's audit log.
fn change_events(dir: &Directory) -> Vec<String> {
    let sys = Actor::system();
    let root = dir.tenants().root(&sys).unwrap();
    let mut q = AuditQuery {
        subtree: true,
        kind: Some(AuditKind::Change),
        limit: Some(1000),
        ..AuditQuery::tenant(root.id)
    };
    let mut ids = Vec::new();
    loop {
        let page = dir.audit().query(&sys, &q).unwrap();
        ids.extend(page.events.iter().map(|e| e.id.to_string()));
        match page.next {
            Some(n) => q.after = Some(n),
            None => return ids,
        }
    }
}

#[test]
fn starting_with_demo_twice_neither_duplicates_nor_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let key = tmp.path().join("master.key");
    let open = || Directory::open(&data, MasterKey::read_file(&key).unwrap()).unwrap();

    let first = serve_demo_once(tmp.path(), &data, &key);
    assert!(first.contains("Seeded the demo MSP tree"), "{first}");
    assert!(first.contains("acme/acme-admin"), "{first}");
    let (seeded, changes) = {
        let dir = open();
        assert!(tessera::demo::is_seeded(&dir).unwrap());
        (state(&dir), change_events(&dir))
    };
    assert_eq!(seeded["counts"]["users"], 19);

    let second = serve_demo_once(tmp.path(), &data, &key);
    assert!(
        second.contains("already holds data: nothing seeded"),
        "{second}"
    );
    // The logins are listed only when they were just seeded.
    assert!(
        !second.contains("Demo logins") && !second.contains("contoso/alice"),
        "{second}"
    );
    {
        let dir = open();
        assert_unchanged(&seeded, &state(&dir), "a second `serve --demo`");
        assert_eq!(change_events(&dir), changes);
    }

    // `tessera demo` seeds through the same path: it leaves the store alone too.
    let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(tmp.path())
        .arg("--data")
        .arg(&data)
        .arg("--master-key-file")
        .arg(&key)
        .arg("demo")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("already holds data"));
    let dir = open();
    assert_unchanged(&seeded, &state(&dir), "`tessera demo` on a seeded store");
    assert_eq!(change_events(&dir), changes);

    // An empty store is not seeded.
    let empty = tempfile::tempdir().unwrap();
    let fresh = Directory::open(
        &empty.path().join("data"),
        MasterKey::generate(&ChaChaSource::from_os()),
    )
    .unwrap();
    assert!(!tessera::demo::is_seeded(&fresh).unwrap());
}
