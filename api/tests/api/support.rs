//! The harness: a small MSP tree on a test directory, users with passwords and roles, session
//! tokens straight from the core, and one call helper that drives the router.
//!
//! root (distributor) → acme (msp) → contoso, fabrikam (customers).

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeSet;
use tessera_api::{router, ApiConfig};
use tessera_directory::model::{NewAssignment, Subject, Tenant, TenantPolicy, User};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::{Protocol, TenantKind};
use tessera_directory::testkit::{new_tenant, new_user, TestDirectory};
use tessera_directory::{Actor, AuthRequest, Directory, Login, TenantRef};
use tower::ServiceExt;

pub const PW: &str = "Correct-Horse-Battery-42";

pub fn sys() -> Actor {
    Actor::system()
}

pub struct Api {
    pub td: TestDirectory,
    pub app: axum::Router,
    pub root: Tenant,
    #[allow(dead_code)] // part of the tree; tests address it by slug
    pub acme: Tenant,
    pub contoso: Tenant,
    pub fabrikam: Tenant,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a problem document of this status and type; returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let p = self.json();
        assert_eq!(p["type"], format!("urn:tessera:problem:{kind}"), "{p}");
        assert_eq!(p["status"], status);
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
        p
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

impl Api {
    /// The tree with admin MFA turned off at the root (so sessions need no TOTP).
    pub fn new() -> Api {
        let api = Api::with_default_policy();
        let mut p = TenantPolicy::default();
        p.settings.mfa.protocols = Setting::set(BTreeSet::new());
        api.dir().policies().set(&sys(), api.root.id, p).unwrap();
        api
    }

    /// The tree with the default policies: TOTP required on the admin surface.
    pub fn with_default_policy() -> Api {
        Api::with_config(ApiConfig::default())
    }

    pub fn with_config(config: ApiConfig) -> Api {
        let (td, root) = TestDirectory::with_root().unwrap();
        let t = td.dir.tenants();
        let acme = t
            .create(&sys(), root.id, new_tenant("acme", TenantKind::Msp))
            .unwrap();
        let contoso = t
            .create(&sys(), acme.id, new_tenant("contoso", TenantKind::Customer))
            .unwrap();
        let fabrikam = t
            .create(
                &sys(),
                acme.id,
                new_tenant("fabrikam", TenantKind::Customer),
            )
            .unwrap();
        let app = router(td.dir.clone(), config);
        Api {
            td,
            app,
            root,
            acme,
            contoso,
            fabrikam,
        }
    }

    pub fn dir(&self) -> &Directory {
        &self.td.dir
    }

    /// A user of `tenant` with the password [`PW`].
    pub fn user(&self, tenant: &Tenant, username: &str) -> User {
        let d = self.dir();
        let u = d
            .users()
            .create(&sys(), tenant.id, new_user(username))
            .unwrap();
        d.credentials()
            .set_password(&sys(), tenant.id, u.id, PW, false)
            .unwrap();
        u
    }

    /// A user of `tenant` holding a predefined role at `scope`.
    pub fn admin(&self, tenant: &Tenant, username: &str, role: &str, scope: &Tenant) -> User {
        let u = self.user(tenant, username);
        let d = self.dir();
        let r = d.rbac().role_by_name(&sys(), scope.id, role).unwrap();
        d.rbac()
            .assign(
                &sys(),
                scope.id,
                NewAssignment {
                    subject: Subject::User {
                        tenant: tenant.id,
                        id: u.id,
                    },
                    rights: Default::default(),
                    roles: vec![r.id],
                    expires_at: None,
                },
            )
            .unwrap();
        u
    }

    /// A session token for a user (through the core, not the API).
    pub fn session(&self, u: &User) -> String {
        let req = AuthRequest {
            tenant: TenantRef::Id(u.tenant),
            username: &u.username,
            secret: PW,
            second_factor: None,
            protocol: Protocol::Admin,
            application: None,
            source: None,
        };
        match self.dir().login(&req, 3600).unwrap() {
            Login::Session(s) => s.secret.expose().to_string(),
            other => panic!("no session for {}: {other:?}", u.username),
        }
    }

    /// The root's Main Administrator and a session of theirs.
    pub fn root_admin(&self) -> (User, String) {
        let u = self.admin(&self.root, "boss", "Main Administrator", &self.root);
        let t = self.session(&u);
        (u, t)
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A JSON call.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&v).unwrap()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call("GET", uri, Some(token), None).await
    }
}
