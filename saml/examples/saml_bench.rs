//! `make bench-saml`: the SAML IdP over real HTTP on loopback, two figures — signed responses
//! per second (a browser with a live SSO session asking for an assertion: the session check,
//! NameID and attributes, two RSA-SHA256 signatures, the POST form), and full SP-initiated
//! logins per second (AuthnRequest over HTTP-POST with every check and the replay cache, the
//! login form, the password through the core's argon2id at OWASP cost, the session, the signed
//! response). Threads and seconds: `BENCH_THREADS` (default 4), `BENCH_SECS` (default 10).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool: a failed step is fatal

use base64::Engine;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tessera_directory::clock::{Clock, SystemClock};
use tessera_directory::model::{
    AcsUrl, AppKind, Member, NameIdFormat, NewApplication, NewUser, SamlServiceProvider, SpOptions,
};
use tessera_directory::policy::{TenantKind, Timestamp};
use tessera_directory::testkit::{new_group, new_tenant, TestDirectory};
use tessera_directory::Actor;
use tessera_saml::{SamlConfig, SamlState};

const PW: &str = "Bench-Saml-2026!";
const SP: &str = "https://wiki.bench.test/sp";
const ACS: &str = "https://wiki.bench.test/acs";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn esc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn field<'a>(page: &'a str, name: &str) -> &'a str {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no {name} in {page}"))
}

fn cookie(resp: &reqwest::blocking::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
}

struct Bench {
    base: String,
    http: reqwest::blocking::Client,
    ids: AtomicU64,
}

impl Bench {
    /// One SP-initiated login over HTTP-POST; the session secret.
    fn login(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let now = Timestamp::from_secs(SystemClock.now().as_secs()).to_rfc3339();
        let instant = format!("{}Z", now.split('.').next().unwrap());
        let xml = format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_bench{n}" "#,
                r#"Version="2.0" IssueInstant="{t}" Destination="{b}/saml/contoso/sso">"#,
                r#"<saml:Issuer>{sp}</saml:Issuer></samlp:AuthnRequest>"#
            ),
            n = n,
            t = instant,
            b = self.base,
            sp = SP,
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        let r = self
            .http
            .post(format!("{}/saml/contoso/sso", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("SAMLRequest={}", esc(&b64)))
            .send()
            .unwrap();
        let flow = cookie(&r, "tessera_saml_flow").expect("a login form");
        let page = r.text().unwrap();
        let csrf = field(&page, "csrf").to_string();
        let r = self
            .http
            .post(format!("{}/saml/contoso/login", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("tessera_saml_flow={flow}"))
            .body(format!(
                "csrf={}&username=alice&password={}",
                esc(&csrf),
                esc(PW)
            ))
            .send()
            .unwrap();
        let session = cookie(&r, "tessera_saml_session").expect("a session");
        let page = r.text().unwrap();
        assert!(!field(&page, "SAMLResponse").is_empty());
        session
    }

    /// One signed response through a live session (IdP-initiated).
    fn signed_response(&self, session: &str) {
        let r = self
            .http
            .get(format!("{}/saml/contoso/apps/wiki/start", self.base))
            .header("cookie", format!("tessera_saml_session={session}"))
            .send()
            .unwrap();
        let page = r.text().unwrap();
        assert!(!field(&page, "SAMLResponse").is_empty());
    }
}

/// Runs `f` on `threads` threads until `secs` have passed (by the core's clock); per second.
fn run(threads: u64, secs: u64, f: impl Fn() + Sync) -> f64 {
    let done = AtomicU64::new(0);
    let start = SystemClock.now();
    let deadline = start.plus_secs(i64::try_from(secs).unwrap_or(10));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while SystemClock.now() < deadline {
                    f();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let micros = (SystemClock.now().as_micros() - start.as_micros()).max(1);
    done.load(Ordering::Relaxed) as f64 * 1e6 / micros as f64
}

fn main() {
    let (threads, secs) = (env("BENCH_THREADS", 4), env("BENCH_SECS", 10));
    let td = TestDirectory::new().unwrap();
    td.clock.set(SystemClock.now());
    let d = td.dir.clone();
    let sys = Actor::system();
    let root = d
        .tenants()
        .bootstrap(&sys, new_tenant("root", TenantKind::Distributor))
        .unwrap();
    let msp = d
        .tenants()
        .create(&sys, root.id, new_tenant("acme", TenantKind::Msp))
        .unwrap();
    let t = d
        .tenants()
        .create(&sys, msp.id, new_tenant("contoso", TenantKind::Customer))
        .unwrap();
    let staff = d.groups().create(&sys, t.id, new_group("staff")).unwrap();
    let alice = d
        .users()
        .create(
            &sys,
            t.id,
            NewUser {
                username: "alice".into(),
                email: Some("alice@contoso.example".into()),
                ..NewUser::default()
            },
        )
        .unwrap();
    d.credentials()
        .set_password(&sys, t.id, alice.id, PW, false)
        .unwrap();
    d.groups()
        .add_member(&sys, t.id, staff.id, Member::User(alice.id))
        .unwrap();
    d.applications()
        .create(
            &sys,
            t.id,
            NewApplication {
                name: "wiki".into(),
                kind: AppKind::Saml(SamlServiceProvider {
                    entity_id: SP.into(),
                    acs_urls: vec![AcsUrl {
                        index: 0,
                        url: ACS.into(),
                        default: true,
                    }],
                    name_id_format: NameIdFormat::Persistent,
                    attribute_mapping: [("mail", "email"), ("groups", "groups")]
                        .into_iter()
                        .map(|(a, f)| (a.to_string(), f.to_string()))
                        .collect(),
                    options: SpOptions::default(),
                }),
                bound_groups: BTreeSet::from([staff.id]),
            },
        )
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = SamlState::new(
        d.clone(),
        SamlConfig {
            base_url: base.clone(),
            session: Default::default(),
        },
    );
    let app = tessera_saml::router(state).into_make_service_with_connect_info::<SocketAddr>();
    rt.spawn(async move { axum::serve(listener, app).await });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bench = Arc::new(Bench {
        base,
        http: reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        ids: AtomicU64::new(0),
    });
    let session = bench.login();
    bench.signed_response(&session);
    let responses = run(threads, secs, || bench.signed_response(&session));
    let logins = run(threads, secs, || {
        bench.login();
    });
    println!("SAML IdP, {threads} client threads, {secs} s each, loopback HTTP:");
    println!("| measure | per second | target |");
    println!("|---|---|---|");
    println!(
        "| signed responses (session, response + assertion signed) | {responses:.0} | >= 1000 |"
    );
    println!("| full SP-initiated logins (POST AuthnRequest, form, argon2id, response) | {logins:.1} | - |");
}
