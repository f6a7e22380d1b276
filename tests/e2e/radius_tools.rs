//! End-to-end RADIUS with the real FreeRADIUS client `radclient` and wpa_supplicant's
//! `eapol_test` against the demo server: EAP-TTLS/PAP over TLS 1.2 and 1.3 with the MPPE keys,
//! each tenant's supplicants shown that tenant's certificate only (downloaded from the admin API,
//! pinned by file or SHA-256; pinned to another tenant's, the handshake fails) and a tenant's own
//! installed chain until it is removed, PAP accept and reject, the VLAN of the wifi group in the reply, Status-Server, the
//! BlastRADIUS rules (no Message-Authenticator or a wrong secret: no answer at all; Proxy-State
//! echoed), the TOTP Access-Challenge in two radclient runs, tenant isolation between the two
//! demo clients (contoso on 127.0.0.1, fabrikam on 127.0.0.2), a suspended tenant, and
//! accounting start/stop read back through the admin API. The retransmission test sends the
//! same datagram twice from one socket (radclient never repeats a request it got an answer to),
//! built here with the RFC 2865 and RFC 3579 arithmetic.

use crate::harness::Server;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tessera_directory::model::{
    AppKind, AuditEvent, AuditQuery, NewApplication, RadiusClient, SharedSecret, TenantId,
};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::{issued_chain, totp_code};
use tessera_directory::Actor;

const CONTOSO_SECRET: &str = "contoso-demo-radius-secret";
const FABRIKAM_SECRET: &str = "fabrikam-demo-radius-secret";
const CONTOSO_ALICE: &str = "Demo-2026:1.1!";
const FABRIKAM_ALICE: &str = "Demo-2026:2.1!";

/// What radclient printed and how it ended.
#[derive(Debug)]
struct Run {
    ok: bool,
    out: String,
}

impl Run {
    /// The code of the answer (`Access-Accept`, …), or `None` when nothing came back.
    fn answer(&self) -> Option<&str> {
        self.out
            .lines()
            .find_map(|l| l.strip_prefix("Received "))
            .and_then(|l| l.split_whitespace().next())
    }

    /// The value of an attribute in the answer (the first one), quotes removed.
    fn attr(&self, name: &str) -> Option<String> {
        let received = self.out.split("Received ").nth(1)?;
        received.lines().skip(1).find_map(|l| {
            let (n, v) = l.trim().split_once(" = ")?;
            let n = n.split(':').next()?; // a tag, as in Tunnel-Type:0
            (n == name).then(|| v.trim_matches('"').to_string())
        })
    }

    fn expect(self, answer: &str) -> Run {
        assert_eq!(
            self.answer(),
            Some(answer),
            "radclient printed:\n{}",
            self.out
        );
        self
    }

    fn unanswered(self) -> Run {
        assert_eq!(self.answer(), None, "radclient printed:\n{}", self.out);
        assert!(!self.ok);
        assert!(
            self.out.contains("No reply from server"),
            "radclient printed:\n{}",
            self.out
        );
        self
    }
}

/// Runs radclient with `input` as its request list, waiting up to 10 s for the answer (argon2
/// on a machine busy with the other tests).
fn radclient(to: SocketAddr, command: &str, secret: &str, input: &str) -> Run {
    radclient_waiting("10", "1", to, command, secret, input)
}

/// Runs radclient for a request that must stay unanswered: half a second is enough to tell.
fn unanswered(to: SocketAddr, command: &str, secret: &str, input: &str) -> Run {
    radclient_waiting("0.5", "1", to, command, secret, input).unanswered()
}

fn radclient_waiting(
    wait: &str,
    tries: &str,
    to: SocketAddr,
    command: &str,
    secret: &str,
    input: &str,
) -> Run {
    let mut child = Command::new("radclient")
        .args(["-x", "-t", wait, "-r", tries])
        .arg(to.to_string())
        .arg(command)
        .arg(secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient is installed (make deps: freeradius-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Run {
        ok: o.status.success(),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// A PAP Access-Request as radclient's input, with Message-Authenticator.
fn pap(user: &str, password: &str) -> String {
    format!(
        "User-Name = \"{user}\", User-Password = \"{password}\", Message-Authenticator = 0x00\n"
    )
}

fn tenant_id(s: &Server, slug: &str) -> TenantId {
    s.dir.tenants().by_slug(&Actor::system(), slug).unwrap().id
}

/// The tenant's authentication events for `user` over RADIUS.
fn radius_logins(s: &Server, t: TenantId, user: &str) -> Vec<AuditEvent> {
    let q = AuditQuery {
        limit: Some(1000),
        ..AuditQuery::tenant(t)
    };
    s.dir
        .audit()
        .query(&Actor::system(), &q)
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.action == "auth.radius" && e.target == format!("user:{user}"))
        .collect()
}

#[test]
fn radclient_pap_accepts_with_the_vlan_and_rejects_the_rest() {
    let s = Server::start_demo();
    let a = s.radius_auth;
    let ok =
        radclient(a, "auth", CONTOSO_SECRET, &pap("alice", CONTOSO_ALICE)).expect("Access-Accept");
    // The wifi group's VLAN 42 (RFC 3580), and Message-Authenticator in the reply.
    assert_eq!(ok.attr("Tunnel-Type").as_deref(), Some("VLAN"));
    assert_eq!(ok.attr("Tunnel-Medium-Type").as_deref(), Some("IEEE-802"));
    assert_eq!(ok.attr("Tunnel-Private-Group-Id").as_deref(), Some("42"));
    assert!(ok.attr("Message-Authenticator").is_some(), "{}", ok.out);
    // Usernames are case-insensitive.
    radclient(a, "auth", CONTOSO_SECRET, &pap("ALICE", CONTOSO_ALICE)).expect("Access-Accept");
    // Wrong password, unknown user, bob (not in wifi), carol (suspended): rejected alike.
    for (user, pw) in [
        ("alice", "Demo-2026:1.2!"),
        ("nobody", CONTOSO_ALICE),
        ("bob", "Demo-2026:1.2!"),
        ("carol", "Demo-2026:1.3!"),
    ] {
        let r = radclient(a, "auth", CONTOSO_SECRET, &pap(user, pw)).expect("Access-Reject");
        assert_eq!(r.attr("Tunnel-Private-Group-Id"), None);
    }
    // A long password (several 16-octet blocks) goes through the RFC 2865 chaining.
    radclient(a, "auth", CONTOSO_SECRET, &pap("alice", &"x".repeat(100))).expect("Access-Reject");
    // Status-Server (RFC 5997) on both ports.
    let status = "Message-Authenticator = 0x00\n";
    radclient(a, "status", CONTOSO_SECRET, status).expect("Access-Accept");
    radclient(s.radius_acct, "status", CONTOSO_SECRET, status).expect("Accounting-Response");
    // The audit log has the reasons the wire does not give.
    let t = tenant_id(&s, "contoso");
    let reasons: BTreeSet<String> = radius_logins(&s, t, "bob")
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("not_allowed")),
        "{reasons:?}"
    );
}

#[test]
fn blastradius_no_message_authenticator_or_a_wrong_secret_gets_no_answer() {
    let s = Server::start_demo();
    let a = s.radius_auth;
    let before = s
        .radius
        .dropped(tessera_radius::Drop::NoMessageAuthenticator);
    let bare = format!("User-Name = \"alice\", User-Password = \"{CONTOSO_ALICE}\"\n");
    unanswered(a, "auth", CONTOSO_SECRET, &bare);
    assert!(
        s.radius
            .dropped(tessera_radius::Drop::NoMessageAuthenticator)
            > before
    );
    let bad = s.radius.dropped(tessera_radius::Drop::BadAuthenticator);
    unanswered(
        a,
        "auth",
        "not-the-contoso-secret",
        &pap("alice", CONTOSO_ALICE),
    );
    unanswered(
        s.radius_acct,
        "acct",
        "not-the-contoso-secret",
        "Acct-Status-Type = Start, Acct-Session-Id = \"x\"\n",
    );
    assert!(s.radius.dropped(tessera_radius::Drop::BadAuthenticator) >= bad + 2);
    // Proxy-State comes back as it was sent, after the Message-Authenticator.
    let proxied = format!(
        "User-Name = \"alice\", User-Password = \"{CONTOSO_ALICE}\", Proxy-State = 0x7465737431, Message-Authenticator = 0x00\n"
    );
    let r = radclient(a, "auth", CONTOSO_SECRET, &proxied).expect("Access-Accept");
    assert_eq!(r.attr("Proxy-State").as_deref(), Some("0x7465737431"));
    // Nothing was authenticated for the unanswered requests: one success only.
    let t = tenant_id(&s, "contoso");
    assert_eq!(radius_logins(&s, t, "alice").len(), 1);
}

/// An Access-Request as a NAS builds it: User-Name, User-Password hidden per RFC 2865,
/// Message-Authenticator per RFC 3579.
fn signed_request(id: u8, auth: [u8; 16], user: &str, password: &str, secret: &str) -> Vec<u8> {
    let hidden = tessera_radius::hide_user_password(password.as_bytes(), secret.as_bytes(), &auth);
    let mut p = vec![1, id, 0, 0];
    p.extend_from_slice(&auth);
    p.push(1);
    p.push(u8::try_from(user.len() + 2).unwrap());
    p.extend_from_slice(user.as_bytes());
    p.push(2);
    p.push(u8::try_from(hidden.len() + 2).unwrap());
    p.extend_from_slice(&hidden);
    let ma = p.len() + 2;
    p.extend_from_slice(&[80, 18]);
    p.extend_from_slice(&[0; 16]);
    let len = u16::try_from(p.len()).unwrap().to_be_bytes();
    p[2..4].copy_from_slice(&len);
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&p);
    let sig: [u8; 16] = mac.finalize().into_bytes().into();
    p[ma..ma + 16].copy_from_slice(&sig);
    p
}

/// A Status-Server with its Message-Authenticator.
fn status_server(id: u8, secret: &str) -> Vec<u8> {
    let mut p = vec![12, id, 0, 38];
    p.extend_from_slice(&[id; 16]);
    p.extend_from_slice(&[80, 18]);
    p.extend_from_slice(&[0; 16]);
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&p);
    let sig: [u8; 16] = mac.finalize().into_bytes().into();
    p[22..38].copy_from_slice(&sig);
    p
}

#[test]
fn a_retransmission_gets_the_same_answer_and_is_authenticated_once() {
    let s = Server::start_demo();
    let t = tenant_id(&s, "contoso");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let req = signed_request(42, [9; 16], "alice", CONTOSO_ALICE, CONTOSO_SECRET);
    let verifications = s.dir.hashing_counts().1;
    let mut answers = Vec::new();
    for _ in 0..3 {
        sock.send_to(&req, s.radius_auth).unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).unwrap();
        answers.push(buf[..n].to_vec());
    }
    assert_eq!(answers[0][0], 2, "Access-Accept");
    assert_eq!(answers[0][20], 80, "Message-Authenticator first");
    assert!(answers.iter().all(|a| *a == answers[0]), "the cached reply");
    assert_eq!(radius_logins(&s, t, "alice").len(), 1, "authenticated once");
    assert_eq!(
        s.dir.hashing_counts().1,
        verifications + 1,
        "one argon2 run"
    );
    // A new request (another authenticator) is authenticated again.
    let again = signed_request(42, [10; 16], "alice", CONTOSO_ALICE, CONTOSO_SECRET);
    sock.send_to(&again, s.radius_auth).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(buf[0], 2);
    assert_ne!(buf[..n], answers[0][..]);
    assert_eq!(radius_logins(&s, t, "alice").len(), 2);
    // Malformed datagrams are dropped, and the server keeps answering.
    let dropped = s.radius.dropped(tessera_radius::Drop::Malformed);
    for junk in [&b""[..], &[1u8; 10], &req[..25], &[1, 1, 0xff, 0xff, 0, 0]] {
        sock.send_to(junk, s.radius_auth).unwrap();
    }
    let mut bad_attr = req.clone();
    bad_attr[21] = 0;
    sock.send_to(&bad_attr, s.radius_auth).unwrap();
    let fresh = signed_request(7, [11; 16], "alice", CONTOSO_ALICE, CONTOSO_SECRET);
    sock.send_to(&fresh, s.radius_auth).unwrap();
    let (_, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(buf[0], 2);
    assert_eq!(buf[1], 7, "the answer is to the well-formed request");
    // Datagrams are answered in parallel: a Status-Server round trip at a time until the junk
    // is counted (bounded).
    for id in 0..50u8 {
        if s.radius.dropped(tessera_radius::Drop::Malformed) >= dropped + 5 {
            break;
        }
        sock.send_to(&status_server(id, CONTOSO_SECRET), s.radius_auth)
            .unwrap();
        let (_, _) = sock.recv_from(&mut buf).unwrap();
        assert_eq!(buf[0], 2, "Status-Server answered with Access-Accept");
    }
    assert_eq!(
        s.radius.dropped(tessera_radius::Drop::Malformed),
        dropped + 5,
        "{:?}",
        s.radius.drops()
    );
}

#[test]
fn totp_by_access_challenge_in_two_radclient_runs() {
    let s = Server::start_demo();
    let sys = Actor::system();
    let t = tenant_id(&s, "contoso");
    let alice = s.dir.users().by_username(&sys, t, "alice").unwrap();
    let mut policy = s.dir.policies().get(&sys, t).unwrap().local;
    policy.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Radius]));
    s.dir.policies().set(&sys, t, policy).unwrap();
    // Required but not enrolled: refused (enrolment happens on the admin surfaces).
    radclient(
        s.radius_auth,
        "auth",
        CONTOSO_SECRET,
        &pap("alice", CONTOSO_ALICE),
    )
    .expect("Access-Reject");
    let enrolment = s.dir.credentials().enroll_totp(&sys, t, alice.id).unwrap();
    let previous = totp_code(&enrolment.url, s.dir.now().plus_secs(-30));
    s.dir
        .credentials()
        .confirm_totp(&sys, t, alice.id, &previous)
        .unwrap();

    let challenge = radclient(
        s.radius_auth,
        "auth",
        CONTOSO_SECRET,
        &pap("alice", CONTOSO_ALICE),
    )
    .expect("Access-Challenge");
    let state = challenge.attr("State").expect("a State");
    assert!(state.starts_with("0x"), "{state}");
    assert!(challenge
        .attr("Reply-Message")
        .is_some_and(|m| m.contains("code")));
    // A wrong password gets no challenge.
    radclient(
        s.radius_auth,
        "auth",
        CONTOSO_SECRET,
        &pap("alice", "Demo-2026:1.2!"),
    )
    .expect("Access-Reject");
    // The follow-up: the State and the code as the password.
    let code = totp_code(&enrolment.url, s.dir.now());
    let follow = format!(
        "User-Name = \"alice\", User-Password = \"{code}\", State = {state}, Message-Authenticator = 0x00\n"
    );
    let ok = radclient(s.radius_auth, "auth", CONTOSO_SECRET, &follow).expect("Access-Accept");
    assert_eq!(ok.attr("Tunnel-Private-Group-Id").as_deref(), Some("42"));
    // The State is spent: the same follow-up again is refused.
    radclient(s.radius_auth, "auth", CONTOSO_SECRET, &follow).expect("Access-Reject");
    // A State is bound to its user: bob cannot finish alice's challenge.
    let c2 = radclient(
        s.radius_auth,
        "auth",
        CONTOSO_SECRET,
        &pap("alice", CONTOSO_ALICE),
    )
    .expect("Access-Challenge");
    let s2 = c2.attr("State").unwrap();
    let next = totp_code(&enrolment.url, s.dir.now().plus_secs(30));
    let as_bob = format!(
        "User-Name = \"bob\", User-Password = \"{next}\", State = {s2}, Message-Authenticator = 0x00\n"
    );
    radclient(s.radius_auth, "auth", CONTOSO_SECRET, &as_bob).expect("Access-Reject");
    // The code appended to the password works in one request too.
    let appended = pap("alice", &format!("{CONTOSO_ALICE},{next}"));
    radclient(s.radius_auth, "auth", CONTOSO_SECRET, &appended).expect("Access-Accept");
}

#[test]
fn each_tenants_client_authenticates_its_own_users_only() {
    let s = Server::start_demo();
    let a = s.radius_auth;
    // contoso's client (127.0.0.1) does not know fabrikam's alice and her password.
    radclient(a, "auth", CONTOSO_SECRET, &pap("alice", FABRIKAM_ALICE)).expect("Access-Reject");
    // fabrikam's client, from 127.0.0.2 with its own secret, does.
    let from_fabrikam = |pw: &str| {
        format!(
            "User-Name = \"alice\", User-Password = \"{pw}\", Message-Authenticator = 0x00, Packet-Src-IP-Address = 127.0.0.2\n"
        )
    };
    radclient(a, "auth", FABRIKAM_SECRET, &from_fabrikam(FABRIKAM_ALICE)).expect("Access-Accept");
    radclient(a, "auth", FABRIKAM_SECRET, &from_fabrikam(CONTOSO_ALICE)).expect("Access-Reject");
    // contoso's secret from fabrikam's address, fabrikam's from contoso's: no answer.
    unanswered(a, "auth", CONTOSO_SECRET, &from_fabrikam(CONTOSO_ALICE));
    unanswered(a, "auth", FABRIKAM_SECRET, &pap("alice", FABRIKAM_ALICE));
    // An address with no client at all: no answer either.
    let unknown = format!(
        "User-Name = \"alice\", User-Password = \"{CONTOSO_ALICE}\", Message-Authenticator = 0x00, Packet-Src-IP-Address = 127.0.0.3\n"
    );
    unanswered(a, "auth", CONTOSO_SECRET, &unknown);
    assert!(s.radius.dropped(tessera_radius::Drop::UnknownClient) >= 1);
    // Each success is in its own tenant's log.
    assert_eq!(
        radius_logins(&s, tenant_id(&s, "fabrikam"), "alice")
            .iter()
            .filter(|e| e.outcome == "success")
            .count(),
        1
    );
    assert_eq!(
        radius_logins(&s, tenant_id(&s, "contoso"), "alice")
            .iter()
            .filter(|e| e.outcome == "success")
            .count(),
        0
    );
}

#[test]
fn a_legacy_client_may_omit_message_authenticator_and_is_on_record() {
    let s = Server::start_demo();
    let sys = Actor::system();
    let t = tenant_id(&s, "contoso");
    let wifi = s.dir.groups().by_name(&sys, t, "wifi").unwrap();
    let secret = "legacy-switch-secret-2026";
    s.dir
        .applications()
        .create(
            &sys,
            t,
            NewApplication {
                name: "old-switch".into(),
                kind: AppKind::Radius(RadiusClient {
                    addresses: vec!["127.0.0.3/32".parse().unwrap()],
                    secret: SharedSecret::new(secret),
                    require_message_authenticator: false,
                    reply: vec![],
                }),
                bound_groups: BTreeSet::from([wifi.id]),
            },
        )
        .unwrap();
    let bare = format!(
        "User-Name = \"alice\", User-Password = \"{CONTOSO_ALICE}\", Packet-Src-IP-Address = 127.0.0.3\n"
    );
    // The server re-reads its clients when a packet comes from an unknown address (at most once
    // a second): radclient's retransmission finds the new one.
    radclient_waiting("1.5", "4", s.radius_auth, "auth", secret, &bare).expect("Access-Accept");
    // Message-Authenticator still goes first in the reply, and a wrong secret is still silent.
    unanswered(s.radius_auth, "auth", "not-the-legacy-secret", &bare);
    // contoso's own access point still needs it.
    let bare_contoso = format!("User-Name = \"alice\", User-Password = \"{CONTOSO_ALICE}\"\n");
    unanswered(s.radius_auth, "auth", CONTOSO_SECRET, &bare_contoso);
    // The opt-out is in contoso's audit log, once.
    let q = AuditQuery {
        limit: Some(1000),
        ..AuditQuery::tenant(t)
    };
    let legacy = s
        .dir
        .audit()
        .query(&sys, &q)
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.action == "radius.client.message_authenticator_not_required")
        .count();
    assert_eq!(legacy, 1);
}

#[test]
fn a_suspended_tenant_is_rejected() {
    let s = Server::start_demo();
    let t = tenant_id(&s, "contoso");
    let alice = || {
        radclient(
            s.radius_auth,
            "auth",
            CONTOSO_SECRET,
            &pap("alice", CONTOSO_ALICE),
        )
    };
    alice().expect("Access-Accept");
    s.dir.tenants().suspend(&Actor::system(), t).unwrap();
    alice().expect("Access-Reject");
    s.dir.tenants().resume(&Actor::system(), t).unwrap();
    alice().expect("Access-Accept");
}

#[test]
fn accounting_start_and_stop_are_read_back_through_the_api() {
    let s = Server::start_demo();
    let start = "Acct-Status-Type = Start, Acct-Session-Id = \"ap1-0001\", User-Name = \"alice\", \
                 NAS-IP-Address = 127.0.0.1, Calling-Station-Id = \"02-00-00-00-00-01\"\n";
    radclient(s.radius_acct, "acct", CONTOSO_SECRET, start).expect("Accounting-Response");
    let token = s.login("acme", "acme-admin", "Demo-2026:5.2!");
    let read = |slug: &str| -> serde_json::Value {
        let r = s
            .client()
            .get(format!("{}/tenants/{slug}/radius/sessions", s.api))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.json().unwrap()
    };
    let open = read("contoso");
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["session_id"], "ap1-0001");
    assert_eq!(open[0]["username"], "alice");
    assert_eq!(open[0]["state"], "active");
    assert_eq!(open[0]["client"], "office-wifi");
    let stop = "Acct-Status-Type = Stop, Acct-Session-Id = \"ap1-0001\", User-Name = \"alice\", \
                Acct-Session-Time = 120, Acct-Input-Octets = 1000, Acct-Input-Gigawords = 1, \
                Acct-Terminate-Cause = User-Request\n";
    radclient(s.radius_acct, "acct", CONTOSO_SECRET, stop).expect("Accounting-Response");
    let closed = read("contoso");
    assert_eq!(closed[0]["state"], "stopped");
    assert_eq!(closed[0]["session_time"], 120);
    assert_eq!(closed[0]["input_octets"], (1u64 << 32) + 1000);
    assert_eq!(closed[0]["terminate_cause"], 1);
    // fabrikam's sessions are fabrikam's; globex is not acme's to read.
    assert_eq!(read("fabrikam").as_array().unwrap().len(), 0);
    let r = s
        .client()
        .get(format!("{}/tenants/globex/radius/sessions", s.api))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    // And the audit log has both reports.
    let q = AuditQuery {
        limit: Some(1000),
        ..AuditQuery::tenant(tenant_id(&s, "contoso"))
    };
    let actions: Vec<String> = s
        .dir
        .audit()
        .query(&Actor::system(), &q)
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("radius.accounting."))
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
}

/// wpa_supplicant's switches for one TLS version (TLS 1.3 is off by default in 2.10).
const TLS12: &str = "tls_disable_tlsv1_3=1";
const TLS13: &str =
    "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0";

/// A tenant's EAP-TTLS certificate as the admin API shows it (acme's administrator reads
/// contoso's and fabrikam's).
fn eap_certificate(s: &Server, slug: &str) -> serde_json::Value {
    let token = s.login("acme", "acme-admin", "Demo-2026:5.2!");
    let r = s
        .client()
        .get(format!("{}/tenants/{slug}/radius/eap-certificate", s.api))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// The PEM of a tenant's EAP-TTLS certificate downloaded from the admin API, in a file, as an
/// administrator would hand it to supplicants.
fn downloaded_ca(s: &Server, slug: &str) -> PathBuf {
    let path = s.tmp.path().join(format!("{slug}-eap-ca.pem"));
    std::fs::write(&path, eap_certificate(s, slug)["pem"].as_str().unwrap()).unwrap();
    path
}

/// Who a supplicant talks through, and what it trusts.
struct Supplicant<'a> {
    /// wpa_supplicant's `phase1` (the TLS versions).
    phase1: &'a str,
    /// `ca_cert`: a PEM file, or `hash://server/sha256/<hex>`.
    ca_cert: String,
    /// The access point's address and shared secret (contoso's on 127.0.0.1 or fabrikam's on
    /// 127.0.0.2), and the tenant named in the anonymous outer identity.
    nas: (&'a str, &'a str, &'a str),
}

impl<'a> Supplicant<'a> {
    /// contoso's laptop behind contoso's access point, trusting `ca_cert`.
    fn contoso(phase1: &'a str, ca_cert: impl Into<String>) -> Self {
        Supplicant {
            phase1,
            ca_cert: ca_cert.into(),
            nas: ("127.0.0.1", CONTOSO_SECRET, "contoso"),
        }
    }
}

fn ca(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// What one eapol_test run showed.
struct Eapol {
    ok: bool,
    out: String,
    /// The certificate chain the server presented, as eapol_test saved it (`-o`), if any.
    shown: Option<Vec<u8>>,
}

impl Eapol {
    /// The run ended in EAP-Success with MPPE keys that match on both sides.
    fn assert_success(&self, what: &str) {
        assert!(self.ok, "{what}: eapol_test failed:\n{}", tail(&self.out));
        assert!(
            self.out.contains("MPPE keys OK: 1  mismatch: 0"),
            "{what}: {}",
            tail(&self.out)
        );
    }
}

/// Runs eapol_test (EAP-TTLS/PAP, the anonymous outer identity `anonymous@<tenant>`) against
/// the server's authentication port as the supplicant's access point.
fn eapol_run(s: &Server, who: &Supplicant<'_>, user: &str, password: &str) -> Eapol {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (from, secret, tenant) = who.nas;
    let conf = s.tmp.path().join(format!("eapol-{n}.conf"));
    let shown = s.tmp.path().join(format!("eapol-{n}-server-chain.pem"));
    std::fs::write(
        &conf,
        format!(
            "network={{\n  key_mgmt=WPA-EAP\n  eap=TTLS\n  identity=\"{user}\"\n  \
             anonymous_identity=\"anonymous@{tenant}\"\n  password=\"{password}\"\n  \
             ca_cert=\"{}\"\n  phase1=\"{}\"\n  phase2=\"auth=PAP\"\n}}\n",
            who.ca_cert, who.phase1
        ),
    )
    .unwrap();
    let o = Command::new("eapol_test")
        .arg("-c")
        .arg(&conf)
        .args(["-a", "127.0.0.1", "-A", from, "-p"])
        .arg(s.radius_auth.port().to_string())
        .args(["-s", secret, "-r", "0", "-t", "30"])
        .arg(format!("-o{}", shown.display()))
        .output()
        .expect("eapol_test is installed (make deps: eapoltest)");
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    Eapol {
        ok: o.status.success(),
        out,
        shown: std::fs::read(&shown).ok(),
    }
}

/// eapol_test as contoso's laptop trusting contoso's certificate as downloaded from the API;
/// whether it succeeded and its output.
fn eapol_test(s: &Server, phase1: &str, user: &str, password: &str) -> (bool, String) {
    let who = Supplicant::contoso(phase1, ca(&downloaded_ca(s, "contoso")));
    let r = eapol_run(s, &who, user, password);
    (r.ok, r.out)
}

/// wpa_supplicant's word that the tunnel carries the inner PAP request (the password).
const PHASE2_PAP: &str = "EAP-TTLS: Phase 2 PAP Request";

/// The DER certificates in a PEM text, in a stable order (eapol_test saves a chain root first).
fn pem_ders(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    let mut ders: Vec<Vec<u8>> = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap().to_vec())
        .collect();
    ders.sort();
    ders
}

/// The chain eapol_test was shown.
fn chain_of(shown: Option<Vec<u8>>) -> Vec<Vec<u8>> {
    pem_ders(&shown.expect("eapol_test saved the server's chain"))
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn eapol_test_ttls_pap_over_tls12_and_tls13_with_mppe_keys() {
    let s = Server::start_demo();
    let t = tenant_id(&s, "contoso");
    let contoso = downloaded_ca(&s, "contoso");
    for (phase1, version) in [(TLS12, "TLSv1.2"), (TLS13, "TLSv1.3")] {
        let r = eapol_run(
            &s,
            &Supplicant::contoso(phase1, ca(&contoso)),
            "alice",
            CONTOSO_ALICE,
        );
        r.assert_success(version);
        let out = &r.out;
        assert!(
            out.contains(&format!("SSL: Using TLS version {version}")),
            "{}",
            tail(out)
        );
        assert!(out.contains("EAP-TTLS: Phase2 type: PAP"));
        // The tunnel showed contoso's certificate, exactly as the API gave it.
        assert!(out.contains(PHASE2_PAP), "{}", tail(out));
        assert_eq!(
            chain_of(r.shown),
            pem_ders(&std::fs::read(&contoso).unwrap())
        );
    }
    // The inner user authenticated through the core, once per conversation, as alice (the
    // anonymous outer identity is for logs only).
    let logins = radius_logins(&s, t, "alice");
    assert_eq!(logins.iter().filter(|e| e.outcome == "success").count(), 2);
    assert!(radius_logins(&s, t, "anonymous@contoso").is_empty());
}

#[test]
fn eapol_test_fails_for_a_wrong_password_or_a_user_outside_wifi() {
    let s = Server::start_demo();
    for (user, password) in [("alice", "Demo-2026:1.2!"), ("bob", "Demo-2026:1.2!")] {
        let (ok, out) = eapol_test(&s, TLS12, user, password);
        assert!(!ok, "{user}: eapol_test succeeded:\n{}", tail(&out));
        assert!(out.contains("EAP-TTLS: Phase2 type: PAP"), "{}", tail(&out));
        assert!(!out.contains("MPPE keys OK: 1"));
    }
    // fabrikam's alice is not contoso's.
    let (ok, _) = eapol_test(&s, TLS13, "alice", FABRIKAM_ALICE);
    assert!(!ok);
}

#[test]
fn each_tenants_supplicants_are_shown_their_tenants_certificate_only() {
    let s = Server::start_demo();
    let (contoso, fabrikam) = (
        eap_certificate(&s, "contoso"),
        eap_certificate(&s, "fabrikam"),
    );
    assert_eq!(contoso["source"], "generated");
    assert_eq!(contoso["subject"], "CN=radius.contoso.tessera");
    assert_eq!(fabrikam["subject"], "CN=radius.fabrikam.tessera");
    assert_ne!(
        contoso["fingerprint_sha256"],
        fabrikam["fingerprint_sha256"]
    );
    let (contoso_pem, fabrikam_pem) = (downloaded_ca(&s, "contoso"), downloaded_ca(&s, "fabrikam"));
    let ders = |p: &PathBuf| pem_ders(&std::fs::read(p).unwrap());

    // contoso's laptop pinned to fabrikam's certificate, against contoso's access point: the
    // TLS handshake fails on the certificate — it was shown contoso's, never fabrikam's — and
    // no password ever leaves the laptop.
    let t = tenant_id(&s, "contoso");
    let r = eapol_run(
        &s,
        &Supplicant::contoso(TLS13, ca(&fabrikam_pem)),
        "alice",
        CONTOSO_ALICE,
    );
    assert!(!r.ok, "eapol_test succeeded:\n{}", tail(&r.out));
    for sign in [
        "CTRL-EVENT-EAP-TLS-CERT-ERROR reason=1 depth=0 subject='/CN=radius.contoso.tessera'",
        "EAP-TTLS: TLS processing failed",
    ] {
        assert!(r.out.contains(sign), "{sign}:\n{}", r.out);
    }
    assert!(!r.out.contains(PHASE2_PAP), "{}", tail(&r.out));
    assert!(!r.out.contains("MPPE keys OK: 1"));
    assert_eq!(chain_of(r.shown), ders(&contoso_pem));
    assert!(radius_logins(&s, t, "alice").is_empty());

    // The same laptop trusting contoso's certificate, by file or by its SHA-256, succeeds.
    for trust in [
        ca(&contoso_pem),
        format!(
            "hash://server/sha256/{}",
            contoso["fingerprint_sha256"].as_str().unwrap()
        ),
    ] {
        let r = eapol_run(
            &s,
            &Supplicant::contoso(TLS12, trust.clone()),
            "alice",
            CONTOSO_ALICE,
        );
        r.assert_success(&trust);
    }

    // Pinned to fabrikam's SHA-256 instead, it refuses contoso's certificate.
    let pin = format!(
        "hash://server/sha256/{}",
        fabrikam["fingerprint_sha256"].as_str().unwrap()
    );
    let r = eapol_run(&s, &Supplicant::contoso(TLS12, pin), "alice", CONTOSO_ALICE);
    assert!(!r.ok && !r.out.contains(PHASE2_PAP), "{}", tail(&r.out));

    // fabrikam's laptop behind fabrikam's access point (127.0.0.2) is shown fabrikam's.
    let fabrikam_laptop = Supplicant {
        phase1: TLS13,
        ca_cert: ca(&fabrikam_pem),
        nas: ("127.0.0.2", FABRIKAM_SECRET, "fabrikam"),
    };
    let r = eapol_run(&s, &fabrikam_laptop, "alice", FABRIKAM_ALICE);
    r.assert_success("alice");
    assert_eq!(chain_of(r.shown), ders(&fabrikam_pem));
}

#[test]
fn a_tenants_own_installed_certificate_is_presented_until_it_is_removed() {
    let s = Server::start_demo();
    let generated = downloaded_ca(&s, "contoso");
    let token = s.login("acme", "acme-admin", "Demo-2026:5.2!");
    let url = format!("{}/tenants/contoso/radius/eap-certificate", s.api);
    let issued = issued_chain("radius.contoso.com", (2025, 1, 1), (2035, 1, 1)).unwrap();
    let (chain, key, root) = (issued.chain(), issued.key, issued.ca);
    let r = s
        .client()
        .put(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"certificate": chain, "private_key": key}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let installed: serde_json::Value = r.json().unwrap();
    assert_eq!(installed["source"], "installed");
    let root_file = s.tmp.path().join("contoso-root-ca.pem");
    std::fs::write(&root_file, &root).unwrap();

    // Devices that trust contoso's own CA connect; the chain shown is the installed one.
    let r = eapol_run(
        &s,
        &Supplicant::contoso(TLS13, ca(&root_file)),
        "alice",
        CONTOSO_ALICE,
    );
    r.assert_success("alice");
    assert_eq!(chain_of(r.shown), pem_ders(chain.as_bytes()));
    // fabrikam keeps its generated certificate.
    assert_eq!(eap_certificate(&s, "fabrikam")["source"], "generated");

    // Removed: back to the generated one, which devices pinned before trust again, from the
    // next conversation on.
    let r = s.client().delete(&url).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status(), 200);
    let back: serde_json::Value = r.json().unwrap();
    let generated_ders = pem_ders(&std::fs::read(&generated).unwrap());
    assert_eq!(
        pem_ders(back["pem"].as_str().unwrap().as_bytes()),
        generated_ders
    );
    let r = eapol_run(
        &s,
        &Supplicant::contoso(TLS12, ca(&generated)),
        "alice",
        CONTOSO_ALICE,
    );
    r.assert_success("alice");
    assert_eq!(chain_of(r.shown), generated_ders);
}
