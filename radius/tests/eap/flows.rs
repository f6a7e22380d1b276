//! Whole conversations over TLS 1.2 and 1.3: success with the right keys, a rejected password,
//! fragmentation both ways, a Nak, EAP-Start, inner methods other than PAP.

use rustls::version::{TLS12, TLS13};
use rustls::SupportedProtocolVersion;
use tessera_radius::eap::{
    mppe_decrypt, EapError, EapInput, EapLimits, EapSessions, EapStep, Verdict,
};

use crate::peer::{
    avp, client_config, drive, drive_from, identity_response, pap_avps, pki, ttls_response,
    InnerTiming, Peer, T0,
};

const PASSWORD: &str = "Demo-2026:contoso.alice1!";

fn success(version: &'static SupportedProtocolVersion, timing: InnerTiming) {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let mut peer = Peer::new(client_config(&pki, version), pap_avps("alice", PASSWORD));
    peer.timing = timing;
    let run = drive(&sessions, &pki.server, &mut peer, T0);
    let EapStep::InnerPap {
        username,
        password,
        outer_identity,
        state,
    } = run.step
    else {
        panic!("expected the inner credentials, got {:?}", run.step);
    };
    assert_eq!(username, "alice");
    assert_eq!(password.expose(), PASSWORD);
    assert_eq!(outer_identity, "anonymous@contoso");
    assert!(!format!("{password:?}").contains("Demo"));
    assert_eq!(state.len(), 16);
    assert_eq!(
        peer.tls.protocol_version(),
        Some(match version.version {
            rustls::ProtocolVersion::TLSv1_2 => rustls::ProtocolVersion::TLSv1_2,
            _ => rustls::ProtocolVersion::TLSv1_3,
        })
    );

    // A request while the verdict is pending is dropped, the conversation kept.
    let stray = ttls_response(9, &[0]);
    let busy = sessions.handle(EapInput {
        eap_message: &stray,
        state: Some(&state),
        client: crate::peer::client(),
        tls: &pki.server,
        now: T0,
        framed_mtu: None,
    });
    assert!(matches!(busy, Err(ref e) if e.keeps_session()), "{busy:?}");

    let verdict = sessions.verdict(&state, true, T0).unwrap();
    let Verdict::Accept {
        eap,
        keys,
        username,
    } = verdict
    else {
        panic!("expected Accept, got {verdict:?}");
    };
    assert_eq!(username, "alice");
    assert_eq!(eap.len(), 4);
    assert_eq!(eap[0], 3, "EAP-Success");
    assert_eq!(&eap[2..], &[0, 4]);
    let material = peer.key_material();
    assert_eq!(keys.msk(), &material[..64]);
    assert_eq!(keys.emsk(), &material[64..]);
    assert_ne!(keys.msk(), &[0u8; 64][..]);

    // The MPPE attributes decrypt to the two halves of the MSK's first 64 bytes.
    let authenticator = [0x5a; 16];
    let secret = b"a-shared-secret-of-some-length";
    let mppe = keys.mppe_attributes(secret, &authenticator);
    assert_eq!(
        mppe_decrypt(secret, &authenticator, &mppe.recv_key).unwrap(),
        &material[..32]
    );
    assert_eq!(
        mppe_decrypt(secret, &authenticator, &mppe.send_key).unwrap(),
        &material[32..64]
    );

    // The conversation is over.
    assert!(sessions.is_empty());
    assert!(matches!(
        sessions.verdict(&state, true, T0),
        Err(EapError::UnknownState)
    ));
}

#[test]
fn tls12_success_gives_the_inner_user_and_the_client_keys() {
    success(&TLS12, InnerTiming::NextRound);
}

#[test]
fn tls13_success_when_the_peer_waits_for_the_next_request() {
    success(&TLS13, InnerTiming::NextRound);
}

#[test]
fn tls13_success_when_the_peer_sends_the_avps_with_its_finished() {
    success(&TLS13, InnerTiming::Eager);
}

fn wrong_password(version: &'static SupportedProtocolVersion) {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let mut peer = Peer::new(
        client_config(&pki, version),
        pap_avps("alice", "not-the-password"),
    );
    let run = drive(&sessions, &pki.server, &mut peer, T0);
    let EapStep::InnerPap {
        password, state, ..
    } = run.step
    else {
        panic!("expected the inner credentials, got {:?}", run.step);
    };
    assert_eq!(password.expose(), "not-the-password");
    let verdict = sessions.verdict(&state, false, T0).unwrap();
    let Verdict::Reject { eap } = verdict else {
        panic!("expected Reject, got {verdict:?}");
    };
    assert_eq!(eap[0], 4, "EAP-Failure");
    assert_eq!(&eap[2..], &[0, 4]);
    assert!(sessions.is_empty());
}

#[test]
fn tls12_wrong_password_ends_in_eap_failure() {
    wrong_password(&TLS12);
}

#[test]
fn tls13_wrong_password_ends_in_eap_failure() {
    wrong_password(&TLS13);
}

fn fragmented(version: &'static SupportedProtocolVersion) {
    let pki = pki();
    let limits = EapLimits {
        mtu: 100,
        ..EapLimits::default()
    };
    let sessions = EapSessions::new(limits).unwrap();
    let mut peer = Peer::new(client_config(&pki, version), pap_avps("alice", PASSWORD));
    peer.fragment = 64;
    let run = drive(&sessions, &pki.server, &mut peer, T0);
    assert!(
        matches!(run.step, EapStep::InnerPap { .. }),
        "{:?}",
        run.step
    );
    assert!(
        run.largest_request <= 100,
        "largest request {}",
        run.largest_request
    );
    // Our certificate flight alone is several fragments; each first fragment carries L.
    assert!(peer.server_fragments_with_length >= 1);
    assert!(run.challenges > 10, "only {} challenges", run.challenges);
    // The server acknowledged the peer's fragments: the ClientHello alone is larger than 64.
    assert!(peer.requests_seen == run.challenges);
}

/// The NAS's Framed-MTU sets how our packets are cut instead of the configured size: below it,
/// smaller packets and more round trips; above it, fewer; out of range it is clamped to
/// 64..=4000.
#[test]
fn framed_mtu_sets_the_fragment_size() {
    let pki = pki();
    let limits = EapLimits {
        mtu: 300,
        ..EapLimits::default()
    };
    let run = |framed_mtu: Option<u32>| {
        let sessions = EapSessions::new(limits.clone()).unwrap();
        let mut peer = Peer::new(client_config(&pki, &TLS12), pap_avps("alice", PASSWORD));
        peer.framed_mtu = framed_mtu;
        let run = drive(&sessions, &pki.server, &mut peer, T0);
        assert!(
            matches!(run.step, EapStep::InnerPap { .. }),
            "{framed_mtu:?}: {:?}",
            run.step
        );
        run
    };
    let configured = run(None);
    assert!(configured.largest_request <= 300);
    assert!(configured.largest_request > 200);
    let small = run(Some(120));
    assert!(small.largest_request <= 120, "{}", small.largest_request);
    assert!(small.challenges > configured.challenges);
    let large = run(Some(4000));
    assert!(large.largest_request > 300, "{}", large.largest_request);
    assert!(large.challenges < configured.challenges);
    let tiny = run(Some(10));
    assert!(tiny.largest_request <= 64, "{}", tiny.largest_request);
    let huge = run(Some(u32::MAX));
    assert_eq!(huge.challenges, large.challenges);
}

#[test]
fn tls12_fragments_both_ways_with_a_small_mtu() {
    fragmented(&TLS12);
}

#[test]
fn tls13_fragments_both_ways_with_a_small_mtu() {
    fragmented(&TLS13);
}

#[test]
fn a_peer_refusing_ttls_gets_eap_failure() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let identity = identity_response(7, b"anonymous");
    let EapStep::Challenge { eap, state } = sessions
        .handle(EapInput {
            eap_message: &identity,
            state: None,
            client: crate::peer::client(),
            tls: &pki.server,
            now: T0,
            framed_mtu: None,
        })
        .unwrap()
    else {
        panic!("expected the TTLS start");
    };
    assert_eq!(eap, vec![1, 8, 0, 6, 21, 0x20], "TTLS Start, version 0");
    // Legacy Nak proposing EAP-TLS (13).
    let nak = vec![2, 8, 0, 6, 3, 13];
    let step = sessions
        .handle(EapInput {
            eap_message: &nak,
            state: Some(&state),
            client: crate::peer::client(),
            tls: &pki.server,
            now: T0,
            framed_mtu: None,
        })
        .unwrap();
    let EapStep::Reject { eap, reason } = step else {
        panic!("expected Reject, got {step:?}");
    };
    assert_eq!(eap, vec![4, 8, 0, 4]);
    assert!(matches!(reason, EapError::PeerNak));
    assert!(sessions.is_empty());
}

#[test]
fn eap_start_asks_for_the_identity_first() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let EapStep::Challenge { eap, state } = sessions
        .handle(EapInput {
            eap_message: &[],
            state: None,
            client: crate::peer::client(),
            tls: &pki.server,
            now: T0,
            framed_mtu: None,
        })
        .unwrap()
    else {
        panic!("expected Request/Identity");
    };
    assert_eq!(eap.len(), 5);
    assert_eq!((eap[0], eap[4]), (1, 1), "EAP-Request/Identity");
    let identity = identity_response(eap[1], b"anonymous@fabrikam");
    let step = sessions
        .handle(EapInput {
            eap_message: &identity,
            state: Some(&state),
            client: crate::peer::client(),
            tls: &pki.server,
            now: T0,
            framed_mtu: None,
        })
        .unwrap();
    let EapStep::Challenge {
        eap: ref start,
        state: ref same,
    } = step
    else {
        panic!("expected the TTLS start, got {step:?}");
    };
    assert_eq!(same, &state, "one State for the whole conversation");
    assert_eq!(start[1], eap[1].wrapping_add(1));
    assert_eq!(&start[4..], &[21, 0x20]);
    // The rest of the conversation, and the identity given after EAP-Start is the outer one.
    let mut peer = Peer::new(client_config(&pki, &TLS12), pap_avps("alice", PASSWORD));
    let run = drive_from(&sessions, &pki.server, &mut peer, T0, step);
    let EapStep::InnerPap {
        username,
        outer_identity,
        ..
    } = run.step
    else {
        panic!("expected the inner credentials, got {:?}", run.step);
    };
    assert_eq!(username, "alice");
    assert_eq!(outer_identity, "anonymous@fabrikam");
}

fn inner(avps: Vec<u8>) -> EapStep {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let mut peer = Peer::new(client_config(&pki, &TLS13), avps);
    let run = drive(&sessions, &pki.server, &mut peer, T0);
    assert!(sessions.is_empty());
    run.step
}

#[test]
fn inner_methods_other_than_pap_are_rejected() {
    let mut inner_eap = avp(1, true, b"alice");
    inner_eap.extend(avp(79, true, &identity_response(0, b"alice")));
    type Expect = fn(&EapError) -> bool;
    let cases: [(Vec<u8>, Expect); 3] = [
        // Only a User-Name.
        (avp(1, true, b"alice"), |e| {
            matches!(e, EapError::NoInnerPap)
        }),
        // Inner EAP (EAP-Message AVP, mandatory): unsupported.
        (inner_eap, |e| matches!(e, EapError::MalformedAvp)),
        // A truncated AVP.
        (vec![0, 0, 0, 1, 0x40, 0, 1, 0, b'a'], |e| {
            matches!(e, EapError::MalformedAvp)
        }),
    ];
    for (avps, expected) in cases {
        match inner(avps) {
            EapStep::Reject { eap, reason } => {
                assert_eq!(eap[0], 4, "EAP-Failure");
                assert!(expected(&reason), "{reason:?}");
            }
            other => panic!("expected Reject, got {other:?}"),
        }
    }
}

#[test]
fn a_configuration_with_tickets_still_runs_full_handshakes_and_inner_pap() {
    // rustls's defaults (a session cache, two TLS 1.3 tickets), as a caller might pass by
    // mistake: the tickets go out after the handshake, the peer still sends its AVPs.
    let pki = pki();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let defaults = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    assert!(defaults.send_tls13_tickets > 0);
    let server = std::sync::Arc::new(defaults);
    for version in [&TLS12, &TLS13] {
        let sessions = EapSessions::new(EapLimits::default()).unwrap();
        let mut peer = Peer::new(client_config(&pki, version), pap_avps("alice", PASSWORD));
        let run = drive(&sessions, &server, &mut peer, T0);
        let EapStep::InnerPap { state, .. } = run.step else {
            panic!("expected the inner credentials, got {:?}", run.step);
        };
        let Verdict::Accept { keys, .. } = sessions.verdict(&state, true, T0).unwrap() else {
            panic!("expected Accept");
        };
        assert_eq!(keys.msk(), &peer.key_material()[..64]);
    }
}
