//! The fuzz corpus (`fuzz/corpus/radius_packet`: the seeds and every input a fuzzing run found
//! to crash the server) replayed on stable through the fuzz target's own entry against the same
//! directory: no input panics, every answer is well-formed and authenticated, and a valid
//! request is still accepted after all of them. Then the TOTP challenge packet by packet.

use crate::packets::{attr, attributes, check_reply, pap};
use std::collections::BTreeSet;
use std::path::Path;
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::{totp_code, TestDirectory};
use tessera_directory::Actor;
use tessera_radius::fuzzing::{answer, answer_input, fixture, NAS, PW};
use tessera_radius::Port;

#[test]
fn the_fuzz_corpus_is_answered_or_dropped_without_a_panic() {
    let td = TestDirectory::new().unwrap();
    let server = fixture(&td.dir).unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/radius_packet");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the seed corpus is missing");
    let mut answered = BTreeSet::new();
    for file in &files {
        let input = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if let Some(reply) = answer_input(&server, &input) {
            // Whatever is answered is answered properly, to the request it was.
            assert_eq!(reply[1], input[2], "{name}: the identifier");
            assert_eq!(
                usize::from(u16::from_be_bytes([reply[2], reply[3]])),
                reply.len()
            );
            if input[1] != 4 {
                check_reply(&reply, &input[1..]);
            }
            answered.insert((name, reply[0]));
        }
    }
    let codes: BTreeSet<(&str, u8)> = answered.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    for expected in [
        ("seed-pap-accept", 2),
        ("seed-pap-reject", 3),
        ("seed-pap-unknown-user", 3),
        ("seed-pap-long-password", 3),
        ("seed-chap", 3),
        ("seed-eap-identity", 3),
        ("seed-status-server-auth", 2),
        ("seed-status-server-acct", 5),
        ("seed-acct-start", 5),
        ("seed-acct-stop-gigawords", 5),
    ] {
        assert!(codes.contains(&expected), "{expected:?} in {codes:?}");
    }
    for silent in [
        "seed-pap-no-message-authenticator",
        "seed-short",
        "seed-length-over-4096",
        "seed-attribute-past-end",
        "seed-acct-on-auth-port",
        "seed-access-accept-as-request",
        "seed-two-message-authenticators",
        "seed-garbage",
    ] {
        assert!(
            !answered.iter().any(|(n, _)| n == silent),
            "{silent} must go unanswered"
        );
    }
    // Still serving: a fresh request is accepted with the group's VLAN and Filter-Id.
    let req = pap(200, [0xaa; 16], "alice", PW, &[]);
    let reply = answer(&server, Port::Auth, NAS, &req).unwrap();
    assert_eq!(reply[0], 2);
    check_reply(&reply, &req);
    let attrs = attributes(&reply);
    assert!(attrs.contains(&(81, b"42".to_vec())), "{attrs:?}");
    assert!(attrs.contains(&(64, vec![0, 0, 0, 13])));
    assert!(attrs.contains(&(11, b"wifi".to_vec())));
    // The accounting seeds made a session.
    let t = td
        .dir
        .tenants()
        .by_slug(&Actor::system(), "contoso")
        .unwrap()
        .id;
    let sessions = td.dir.radius().sessions(&Actor::system(), t).unwrap();
    assert!(sessions.iter().any(|s| s.details.session_id == "s-1"));
}

#[test]
fn a_challenge_state_is_single_use_bound_and_expiring() {
    let td = TestDirectory::new().unwrap();
    let server = fixture(&td.dir).unwrap();
    let sys = Actor::system();
    let d = &td.dir;
    let t = d.tenants().by_slug(&sys, "contoso").unwrap().id;
    let alice = d.users().by_username(&sys, t, "alice").unwrap();
    let mut policy = d.policies().get(&sys, t).unwrap().local;
    policy.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Radius]));
    d.policies().set(&sys, t, policy).unwrap();
    let e = d.credentials().enroll_totp(&sys, t, alice.id).unwrap();
    let prev = totp_code(&e.url, d.now().plus_secs(-30));
    d.credentials()
        .confirm_totp(&sys, t, alice.id, &prev)
        .unwrap();

    let mut id = 0u8;
    let mut challenge = || {
        id += 1;
        let req = pap(id, [id; 16], "alice", PW, &[]);
        let reply = answer(&server, Port::Auth, NAS, &req).unwrap();
        assert_eq!(reply[0], 11, "Access-Challenge");
        check_reply(&reply, &req);
        let attrs = attributes(&reply);
        let state = attrs.iter().find(|(t, _)| *t == 24).unwrap().1.clone();
        assert!(attrs.iter().any(|(t, _)| *t == 18), "a Reply-Message");
        state
    };
    let follow = |id: u8, user: &str, code: &str, state: &[u8]| {
        let req = pap(id, [id; 16], user, code, &[attr(24, state)]);
        answer(&server, Port::Auth, NAS, &req).map(|r| r[0])
    };

    let s1 = challenge();
    let code = totp_code(&e.url, d.now());
    assert_eq!(follow(100, "alice", &code, &s1), Some(2), "accepted");
    assert_eq!(follow(101, "alice", &code, &s1), Some(3), "spent");
    // Bound to the user.
    let s2 = challenge();
    let next = totp_code(&e.url, d.now().plus_secs(30));
    assert_eq!(follow(102, "bob", &next, &s2), Some(3));
    assert_eq!(
        follow(103, "alice", &next, &s2),
        Some(3),
        "spent by the try"
    );
    // Expiring: the default 120 s.
    let s3 = challenge();
    td.clock.advance_secs(121);
    let later = totp_code(&e.url, d.now());
    assert_eq!(follow(104, "alice", &later, &s3), Some(3));
    // A retransmitted follow-up gets the same answer (the duplicate cache), not "reused code".
    let s4 = challenge();
    let now_code = totp_code(&e.url, d.now().plus_secs(30));
    let req = pap(105, [105; 16], "alice", &now_code, &[attr(24, &s4)]);
    let first = answer(&server, Port::Auth, NAS, &req).unwrap();
    let again = answer(&server, Port::Auth, NAS, &req).unwrap();
    assert_eq!(first[0], 2);
    assert_eq!(first, again);
}
