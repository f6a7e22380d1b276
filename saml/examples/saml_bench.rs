//! `make bench-saml`: the SAML IdP over real HTTP on loopback, three figures — signed responses
//! per second (a browser with a live SSO session asking for an assertion: the session check,
//! NameID and attributes, the Response and the Assertion each signed RSA-SHA256, the POST form),
//! once as repeat visits within a minute (the session's last use is not stored again) and once
//! with the session stored on every response (the clock moved a minute between them), and full
//! SP-initiated logins per second (AuthnRequest over HTTP-POST with every check and the
//! replay cache, the login form, the password through the core, the session, the signed
//! response). Each client thread holds one keep-alive HTTP/1.1 connection, as a browser does;
//! plain HTTP, so TLS is not in the figures. Besides the rate it prints the CPU time of the whole
//! process per operation (server, client and the core's background threads, from /proc), which
//! stays meaningful when other work shares the cores. `BENCH_THREADS` (default 4) client
//! threads, `BENCH_SECS` (default 10) per measure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool: a failed step is fatal
#![allow(clippy::indexing_slicing)] // a tool: parsing its own server's replies

use base64::Engine;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use tessera_directory::clock::{Clock, SystemClock};
use tessera_directory::model::{
    AcsUrl, AppKind, Member, NameIdFormat, NewApplication, NewUser, SamlServiceProvider,
    SessionLimits, SpOptions,
};
use tessera_directory::policy::{TenantKind, Timestamp};
use tessera_directory::testkit::{new_group, new_tenant, TestDirectory};
use tessera_directory::Actor;
use tessera_saml::{SamlConfig, SamlState};

const PW: &str = "Bench-Saml-2026!";
const SP: &str = "https://wiki.bench.test/sp";
const ACS: &str = "https://wiki.bench.test/acs";
/// Linux reports thread and process CPU in USER_HZ ticks, 100 per second on every architecture
/// Tessera targets.
const TICKS_PER_SEC: u64 = 100;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime, in ticks, from a /proc `stat` file.
fn cpu_ticks(path: &str) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap();
    // The command name may hold spaces; the fields after it are fixed: utime and stime are
    // fields 14 and 15, the 12th and 13th after the `)`.
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    f[10] + f[11]
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

struct Reply {
    status: u16,
    cookies: Vec<String>,
    body: String,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap_or(""))
    }
}

/// One keep-alive HTTP/1.1 connection to the IdP, as a browser holds it: reopened only when the
/// server closes it, and every opening counted.
struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    opened: u64,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            stream: None,
            buf: Vec::new(),
            opened: 0,
        }
    }

    fn request(&mut self, method: &str, path: &str, cookie: Option<&str>, form: &str) -> Reply {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).unwrap();
            s.set_nodelay(true).unwrap();
            self.stream = Some(s);
            self.buf.clear();
            self.opened += 1;
        }
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(c) = cookie {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        if method == "POST" {
            req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            req.push_str(&format!("Content-Length: {}\r\n", form.len()));
        }
        req.push_str("\r\n");
        req.push_str(form);
        let stream = self.stream.as_mut().unwrap();
        stream.write_all(req.as_bytes()).unwrap();
        let mut chunk = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the server closed the connection mid-reply");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let (mut length, mut cookies, mut close) = (None, Vec::new(), false);
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = Some(v.parse::<usize>().unwrap()),
                "set-cookie" => cookies.push(v.to_string()),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                "transfer-encoding" => panic!("a chunked reply: {head}"),
                _ => {}
            }
        }
        let length = length.unwrap_or_else(|| panic!("no Content-Length: {head}"));
        while self.buf.len() < head_end + length {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the server closed the connection mid-body");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8(self.buf[head_end..head_end + length].to_vec()).unwrap();
        self.buf.drain(..head_end + length);
        if close {
            self.stream = None;
        }
        Reply {
            status,
            cookies,
            body,
        }
    }

    /// One SP-initiated login over HTTP-POST; the session cookie and the posted SAMLResponse.
    fn login(&mut self, n: u64, base: &str) -> (String, String) {
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
            b = base,
            sp = SP,
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        let r = self.request(
            "POST",
            "/saml/contoso/sso",
            None,
            &format!("SAMLRequest={}", esc(&b64)),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let flow = r
            .cookie("tessera_saml_flow")
            .expect("a login form")
            .to_string();
        let csrf = field(&r.body, "csrf").to_string();
        let r = self.request(
            "POST",
            "/saml/contoso/login",
            Some(&format!("tessera_saml_flow={flow}")),
            &format!("csrf={}&username=alice&password={}", esc(&csrf), esc(PW)),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let session = r
            .cookie("tessera_saml_session")
            .expect("a session")
            .to_string();
        let response = field(&r.body, "SAMLResponse").to_string();
        (session, response)
    }

    /// One signed response through a live session (IdP-initiated); the posted SAMLResponse.
    fn signed_response(&mut self, session: &str) -> String {
        let r = self.request(
            "GET",
            "/saml/contoso/apps/wiki/start",
            Some(&format!("tessera_saml_session={session}")),
            "",
        );
        assert_eq!(r.status, 200, "{}", r.body);
        field(&r.body, "SAMLResponse").to_string()
    }
}

/// What one measure did.
struct Figures {
    per_sec: f64,
    /// CPU of the whole process per operation, µs.
    cpu_us: f64,
    /// Of which the client threads', µs.
    client_us: f64,
    connections: u64,
}

/// Runs `f` on `threads` client threads, each with its own connection, until `secs` have passed
/// (by the real clock); `f` gets the connection, the thread's number and the operation's.
fn run(
    threads: u64,
    secs: u64,
    addr: SocketAddr,
    f: impl Fn(&mut Conn, usize, u64) + Sync,
) -> Figures {
    let (done, client_ticks, connections) =
        (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let cpu_before = cpu_ticks("/proc/self/stat");
    let start = SystemClock.now();
    let deadline = start.plus_secs(i64::try_from(secs).unwrap_or(10));
    std::thread::scope(|s| {
        for i in 0..usize::try_from(threads).unwrap() {
            let (f, done, client_ticks, connections) = (&f, &done, &client_ticks, &connections);
            std::thread::Builder::new()
                .name("bench-client".into())
                .spawn_scoped(s, move || {
                    let mine = cpu_ticks("/proc/thread-self/stat");
                    let mut conn = Conn::new(addr);
                    while SystemClock.now() < deadline {
                        f(&mut conn, i, done.fetch_add(1, Ordering::Relaxed));
                    }
                    connections.fetch_add(conn.opened, Ordering::Relaxed);
                    client_ticks.fetch_add(
                        cpu_ticks("/proc/thread-self/stat") - mine,
                        Ordering::Relaxed,
                    );
                })
                .unwrap();
        }
    });
    let micros = (SystemClock.now().as_micros() - start.as_micros()).max(1);
    let cpu = cpu_ticks("/proc/self/stat") - cpu_before;
    let ops = done.load(Ordering::Relaxed).max(1) as f64;
    let us_per_tick = 1e6 / TICKS_PER_SEC as f64;
    Figures {
        per_sec: ops * 1e6 / micros as f64,
        cpu_us: cpu as f64 * us_per_tick / ops,
        client_us: client_ticks.load(Ordering::Relaxed) as f64 * us_per_tick / ops,
        connections: connections.load(Ordering::Relaxed),
    }
}

/// The decoded Response carries both signatures: what the bench says it measures.
fn check_signed_twice(saml_response: &str) {
    let xml = base64::engine::general_purpose::STANDARD
        .decode(saml_response)
        .unwrap();
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(xml.matches("<ds:Signature ").count(), 2, "{xml}");
    assert!(xml.contains("xmldsig-more#rsa-sha256") && xml.contains("xmlenc#sha256"));
}

fn main() {
    let (threads, secs) = (env("BENCH_THREADS", 4), env("BENCH_SECS", 10));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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
        .thread_name("saml-server")
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let state = SamlState::new(
        d.clone(),
        SamlConfig {
            base_url: base.clone(),
            // The writing measure moves the clock a minute per response: no absolute limit
            // to run into.
            session: SessionLimits {
                absolute_secs: 10 * 365 * 86_400,
                ..SessionLimits::default()
            },
        },
    );
    let app = tessera_saml::router(state).into_make_service_with_connect_info::<SocketAddr>();
    rt.spawn(async move { axum::serve(listener, app).await });

    // Warm-up: the key is made, the first password goes through argon2id.
    let mut conn = Conn::new(addr);
    let (session, first) = conn.login(u64::MAX, &base);
    check_signed_twice(&first);
    check_signed_twice(&conn.signed_response(&session));
    drop(conn);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split(' ').next().unwrap_or("?").to_string();
    let responses = run(threads, secs, addr, |c, _, _| {
        c.signed_response(&session);
    });
    // One session per client thread, each used a minute (of the core's clock) after its last
    // use: every response also stores the session durably.
    let mut conn = Conn::new(addr);
    let sessions: Vec<String> = (0..threads).map(|i| conn.login(i, &base).0).collect();
    drop(conn);
    let writing = run(threads, secs, addr, |c, i, _| {
        td.clock.advance_secs(61);
        c.signed_response(&sessions[i]);
    });
    td.clock.set(SystemClock.now());
    let logins = run(threads, secs, addr, |c, _, n| {
        c.login(threads + n, &base);
    });

    println!(
        "SAML IdP on {cores} cores, load average {load} before the run. Server: the tessera-saml \
         router on axum, tokio with {cores} worker threads and its blocking pool. Client: \
         {threads} threads in the same process, one keep-alive HTTP/1.1 connection each, plain \
         HTTP over loopback (no TLS). {secs} s per measure."
    );
    println!();
    println!(
        "| measure | per second | CPU per op (process) | of which client | connections | target |"
    );
    println!("|---|---|---|---|---|---|");
    let row = |what: &str, f: &Figures, target: &str| {
        println!(
            "| {what} | {:.0} | {:.0} µs | {:.0} µs | {} | {target} |",
            f.per_sec, f.cpu_us, f.client_us, f.connections
        );
    };
    row(
        "signed responses: live SSO session, Response and Assertion each signed (RSA-2048, \
         RSA-SHA256, SHA-256 digests), IdP-initiated; repeat visits within a minute, so the \
         session is not stored again",
        &responses,
        ">= 1000",
    );
    row(
        "the same, the session's last use stored on every response (a durable store write)",
        &writing,
        "-",
    );
    row(
        "full SP-initiated logins: POSTed AuthnRequest, form, password, session, signed response \
         (one user: after the first login the core's verified-credential cache stands in for \
         argon2id)",
        &logins,
        "-",
    );
    println!();
    println!(
        "CPU per op: utime + stime of the whole process (server, client threads, the core's \
         background threads) over the measure, divided by the operations; it does not depend on \
         what else runs. At that cost {cores} cores give at most {:.0} signed responses/s.",
        cores as f64 * 1e6 / responses.cpu_us.max(1.0)
    );
}
