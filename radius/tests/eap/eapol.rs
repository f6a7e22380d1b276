//! Interoperability with wpa_supplicant: `eapol_test` (Debian package eapoltest) against a
//! minimal RADIUS responder written here around `EapSessions` — just enough RADIUS (EAP-Message,
//! State, Message-Authenticator, Response Authenticator, MS-MPPE keys) to carry the EAP
//! conversation; the real server layer is tested end to end elsewhere. TLS 1.2 and 1.3, success
//! with `MPPE keys OK`, and a wrong password.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use rustls::ServerConfig;
use tessera_radius::eap::{split_eap_message, EapInput, EapLimits, EapSessions, EapStep, Verdict};

use crate::peer::{pki, T0};

const SECRET: &[u8] = b"eapol-test-shared-secret";
const USER: &str = "alice";
const PASSWORD: &str = "Demo-2026:contoso.alice1!";

/// wpa_supplicant's switches for one TLS version (TLS 1.3 is off by default in 2.10; turning
/// 1.2 off while 1.0/1.1 stay on would leave only those).
const TLS12: &str = "tls_disable_tlsv1_3=1";
const TLS13: &str =
    "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0";

const ACCESS_REQUEST: u8 = 1;
const ACCESS_ACCEPT: u8 = 2;
const ACCESS_REJECT: u8 = 3;
const ACCESS_CHALLENGE: u8 = 11;
const ATTR_USER_NAME: u8 = 1;
const ATTR_STATE: u8 = 24;
const ATTR_VENDOR: u8 = 26;
const ATTR_EAP_MESSAGE: u8 = 79;
const ATTR_MESSAGE_AUTHENTICATOR: u8 = 80;
const MICROSOFT: u32 = 311;
const MS_MPPE_SEND_KEY: u8 = 16;
const MS_MPPE_RECV_KEY: u8 = 17;

/// What the responder saw.
#[derive(Default)]
struct Seen {
    inner_users: Vec<String>,
    outer_identities: Vec<String>,
    accepts: usize,
    rejects: usize,
}

/// One reply: code and attributes (Message-Authenticator is added first when encoding).
fn reply(request: &[u8], code: u8, attrs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut body = vec![ATTR_MESSAGE_AUTHENTICATOR, 18];
    body.extend_from_slice(&[0; 16]);
    for (t, v) in attrs {
        assert!(v.len() <= 253);
        body.push(*t);
        body.push((v.len() + 2) as u8);
        body.extend_from_slice(v);
    }
    let len = 20 + body.len();
    let mut packet = vec![code, request[1], (len >> 8) as u8, len as u8];
    packet.extend_from_slice(&request[4..20]);
    packet.extend_from_slice(&body);
    // Message-Authenticator over the packet with the Request Authenticator in place (RFC 3579).
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(SECRET).unwrap();
    mac.update(&packet);
    let tag = mac.finalize().into_bytes();
    packet[22..38].copy_from_slice(&tag);
    let response_auth = Md5::new()
        .chain_update(&packet)
        .chain_update(SECRET)
        .finalize();
    packet[4..20].copy_from_slice(&response_auth);
    packet
}

fn vsa(vendor_type: u8, value: &[u8]) -> Vec<u8> {
    let mut v = MICROSOFT.to_be_bytes().to_vec();
    v.push(vendor_type);
    v.push((value.len() + 2) as u8);
    v.extend_from_slice(value);
    v
}

fn eap_attrs(eap: &[u8]) -> Vec<(u8, Vec<u8>)> {
    split_eap_message(eap)
        .into_iter()
        .map(|part| (ATTR_EAP_MESSAGE, part.to_vec()))
        .collect()
}

/// Answers one Access-Request through the EAP sessions and a stand-in for the core that
/// knows one user.
fn answer(
    sessions: &EapSessions,
    tls: &Arc<ServerConfig>,
    request: &[u8],
    seen: &mut Seen,
) -> Vec<u8> {
    assert_eq!(request[0], ACCESS_REQUEST);
    let len = u16::from_be_bytes([request[2], request[3]]) as usize;
    let mut eap = Vec::new();
    let mut state = None;
    let mut attrs = &request[20..len];
    let mut has_message_authenticator = false;
    while attrs.len() >= 2 {
        let (t, l) = (attrs[0], attrs[1] as usize);
        let value = &attrs[2..l];
        match t {
            ATTR_EAP_MESSAGE => eap.extend_from_slice(value),
            ATTR_STATE => state = Some(value.to_vec()),
            ATTR_MESSAGE_AUTHENTICATOR => has_message_authenticator = true,
            _ => {}
        }
        attrs = &attrs[l..];
    }
    assert!(has_message_authenticator, "eapol_test signs its requests");
    let authenticator: [u8; 16] = request[4..20].try_into().unwrap();
    let step = sessions.handle(EapInput {
        eap_message: &eap,
        state: state.as_deref(),
        client: crate::peer::client(),
        tls,
        now: T0,
        framed_mtu: None,
    });
    match step {
        Ok(EapStep::Challenge { eap, state }) => {
            let mut attrs = eap_attrs(&eap);
            attrs.push((ATTR_STATE, state));
            reply(request, ACCESS_CHALLENGE, &attrs)
        }
        Ok(EapStep::InnerPap {
            username,
            password,
            outer_identity,
            state,
        }) => {
            seen.inner_users.push(username.clone());
            seen.outer_identities.push(outer_identity);
            let ok = username == USER && password.expose() == PASSWORD;
            match sessions.verdict(&state, ok, T0).unwrap() {
                Verdict::Accept {
                    eap,
                    keys,
                    username,
                } => {
                    seen.accepts += 1;
                    let mppe = keys.mppe_attributes(SECRET, &authenticator);
                    let mut attrs = eap_attrs(&eap);
                    attrs.push((ATTR_USER_NAME, username.into_bytes()));
                    attrs.push((ATTR_VENDOR, vsa(MS_MPPE_RECV_KEY, &mppe.recv_key)));
                    attrs.push((ATTR_VENDOR, vsa(MS_MPPE_SEND_KEY, &mppe.send_key)));
                    reply(request, ACCESS_ACCEPT, &attrs)
                }
                Verdict::Reject { eap } => {
                    seen.rejects += 1;
                    reply(request, ACCESS_REJECT, &eap_attrs(&eap))
                }
            }
        }
        Ok(EapStep::Reject { eap, reason }) => {
            seen.rejects += 1;
            eprintln!("EAP reject: {reason}");
            reply(request, ACCESS_REJECT, &eap_attrs(&eap))
        }
        Err(e) => {
            seen.rejects += 1;
            eprintln!("EAP error: {e}");
            reply(request, ACCESS_REJECT, &[])
        }
    }
}

struct Outcome {
    success: bool,
    output: String,
    seen: Seen,
}

/// Runs eapol_test with `phase1` (TLS version switches) and `password` against a responder
/// on an ephemeral port, until eapol_test exits.
fn eapol_test(phase1: &str, password: &str, mtu: usize) -> Outcome {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits {
        mtu,
        ..EapLimits::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let conf = dir.path().join("eapol.conf");
    std::fs::write(
        &conf,
        format!(
            "network={{\n  key_mgmt=WPA-EAP\n  eap=TTLS\n  identity=\"{USER}\"\n  \
             anonymous_identity=\"anonymous@contoso\"\n  password=\"{password}\"\n  \
             ca_cert=\"{}\"\n  domain_match=\"{}\"\n  phase1=\"{phase1}\"\n  phase2=\"auth=PAP\"\n  \
             fragment_size={mtu}\n}}\n",
            ca.display(),
            crate::peer::SERVER_NAME,
        ),
    )
    .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let mut child: Child = Command::new("eapol_test")
        .arg("-c")
        .arg(&conf)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-r",
            "0",
            "-t",
            "20",
        ])
        .arg("-s")
        .arg(std::str::from_utf8(SECRET).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eapol_test must be installed (Debian package eapoltest)");
    let mut seen = Seen::default();
    let mut buf = [0u8; 4096];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let out = answer(&sessions, &pki.server, &buf[..n], &mut seen);
                socket.send_to(&out, from).unwrap();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    let out = child.wait_with_output().unwrap();
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Outcome {
        success: out.status.success(),
        output,
        seen,
    }
}

/// Runs a successful authentication and checks it; returns eapol_test's output.
fn succeeds_with_mppe_keys(phase1: &str, version: &str, mtu: usize) -> String {
    let outcome = eapol_test(phase1, PASSWORD, mtu);
    let tail: String = outcome
        .output
        .lines()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(outcome.success, "eapol_test failed:\n{tail}");
    assert!(
        outcome.output.contains("MPPE keys OK: 1  mismatch: 0"),
        "MPPE keys:\n{tail}"
    );
    assert!(outcome.output.contains("EAP-TTLS: Phase2 type: PAP"));
    assert!(
        outcome
            .output
            .contains(&format!("SSL: Using TLS version {version}")),
        "not {version}:\n{tail}"
    );
    assert_eq!(outcome.seen.inner_users, vec![USER.to_string()]);
    assert_eq!(
        outcome.seen.outer_identities,
        vec!["anonymous@contoso".to_string()]
    );
    assert_eq!((outcome.seen.accepts, outcome.seen.rejects), (1, 0));
    outcome.output
}

#[test]
fn eapol_test_tls12_success_with_mppe_keys() {
    let output = succeeds_with_mppe_keys(TLS12, "TLSv1.2", 1024);
    assert!(output.contains("EAP-TTLS: Phase2 type: PAP"));
}

#[test]
fn eapol_test_tls13_success_with_mppe_keys() {
    let output = succeeds_with_mppe_keys(TLS13, "TLSv1.3", 1024);
    assert!(output.contains("EAP-TTLS: Phase2 type: PAP"));
}

#[test]
fn eapol_test_wrong_password_fails() {
    for phase1 in [TLS12, TLS13] {
        let outcome = eapol_test(phase1, "not-the-password", 1024);
        assert!(!outcome.success, "{phase1}: eapol_test succeeded");
        assert!(
            outcome.output.contains("CTRL-EVENT-EAP-FAILURE"),
            "{phase1}"
        );
        assert_eq!(outcome.seen.inner_users, vec![USER.to_string()]);
        assert_eq!((outcome.seen.accepts, outcome.seen.rejects), (0, 1));
    }
}

#[test]
fn eapol_test_small_fragments_both_ways() {
    // wpa_supplicant fragments its flights to 150 bytes and reassembles our 150-byte packets.
    for (phase1, version) in [(TLS12, "TLSv1.2"), (TLS13, "TLSv1.3")] {
        let output = succeeds_with_mppe_keys(phase1, version, 150);
        // Our first fragment carries L and M, the next ones M.
        assert!(
            output.contains("SSL: Received packet(len=150) - Flags 0xc0"),
            "{version}"
        );
        assert!(
            output.contains("SSL: Received packet(len=146) - Flags 0x40"),
            "{version}"
        );
        // The peer fragmented its own flight, which we acknowledged and reassembled.
        assert!(
            output.contains("SSL: sending 150 bytes, more fragments will follow"),
            "{version}"
        );
    }
}

#[test]
fn eapol_test_offering_only_old_tls_is_rejected_at_once() {
    // TLS 1.3 is off by default in wpa_supplicant 2.10; with 1.2 off too it offers 1.0/1.1,
    // which rustls refuses: Access-Reject with EAP-Failure right away, no inner credentials.
    let outcome = eapol_test("tls_disable_tlsv1_2=1", PASSWORD, 1024);
    assert!(!outcome.success);
    assert!(outcome.output.contains("CTRL-EVENT-EAP-FAILURE"));
    assert!(outcome.output.contains("Access-Reject"));
    assert!(outcome.seen.inner_users.is_empty());
    assert_eq!((outcome.seen.accepts, outcome.seen.rejects), (0, 1));
}
