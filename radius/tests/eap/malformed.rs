//! Garbage, truncated and oversized input: errors, never a panic; a broken conversation is
//! gone afterwards.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rustls::version::TLS12;
use rustls::ServerConfig;
use tessera_radius::eap::{EapError, EapInput, EapLimits, EapSessions, EapStep};

use crate::peer::{client_config, identity_response, pap_avps, pki, ttls_response, Peer, T0};

fn send(
    sessions: &EapSessions,
    server: &Arc<ServerConfig>,
    eap: &[u8],
    state: Option<&[u8]>,
) -> Result<EapStep, EapError> {
    sessions.handle(EapInput {
        eap_message: eap,
        state,
        client: crate::peer::client(),
        tls: server,
        now: T0,
        framed_mtu: None,
    })
}

/// Opens a conversation up to the TTLS Start: (state, identifier to answer).
fn started(sessions: &EapSessions, server: &Arc<ServerConfig>) -> (Vec<u8>, u8) {
    let EapStep::Challenge { eap, state } =
        send(sessions, server, &identity_response(1, b"anon"), None).unwrap()
    else {
        panic!("expected the TTLS start");
    };
    (state, eap[1])
}

#[test]
fn garbage_without_state_is_an_error() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    for bad in [
        &[0xff][..],
        &[2, 1, 0],
        &[2, 1, 0, 200, 1],
        &[2, 1, 0, 2],
        &[1, 1, 0, 5, 1],
        &[3, 1, 0, 4],
        &[2, 1, 0, 6, 21, 0],
    ] {
        let r = send(&sessions, &pki.server, bad, None);
        assert!(r.is_err(), "{bad:?} gave {r:?}");
    }
    assert!(matches!(
        send(&sessions, &pki.server, &[2, 1, 0, 6, 21, 0], None),
        Err(EapError::MissingState)
    ));
    assert!(sessions.is_empty());
}

#[test]
fn truncated_packets_mid_conversation_end_it() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let (state, id) = started(&sessions, &pki.server);
    // Length says 50, 7 bytes present.
    let r = send(
        &sessions,
        &pki.server,
        &[2, id, 0, 50, 21, 0, 1],
        Some(&state),
    );
    assert!(matches!(r, Err(EapError::Malformed)), "{r:?}");
    assert!(!r.unwrap_err().keeps_session());
    let again = send(
        &sessions,
        &pki.server,
        &ttls_response(id, &[0]),
        Some(&state),
    );
    assert!(matches!(again, Err(EapError::UnknownState)), "{again:?}");

    // TTLS flags announce a length but the four octets are missing; the peer sets S; the
    // peer speaks another TTLS version.
    for type_data in [&[0x80, 0, 0][..], &[0x20], &[0x01, 22, 3, 1]] {
        let (state, id) = started(&sessions, &pki.server);
        let response = ttls_response(id, type_data);
        let r = send(&sessions, &pki.server, &response, Some(&state));
        assert!(
            matches!(r, Err(EapError::MalformedTtls)),
            "{type_data:?}: {r:?}"
        );
    }
    assert!(sessions.is_empty());
}

#[test]
fn oversized_tls_message_length_is_refused() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let (state, id) = started(&sessions, &pki.server);
    let mut huge = vec![0xc0];
    huge.extend_from_slice(&(1u32 << 20).to_be_bytes());
    huge.extend_from_slice(&[22; 100]);
    let r = send(
        &sessions,
        &pki.server,
        &ttls_response(id, &huge),
        Some(&state),
    );
    assert!(
        matches!(r, Err(EapError::TooLarge { limit: 65536 })),
        "{r:?}"
    );

    // Fragments without L that add up past the cap.
    let (state, mut id) = started(&sessions, &pki.server);
    let mut last = Ok(());
    for _ in 0..100 {
        let mut frag = vec![0x40];
        frag.extend_from_slice(&[22; 4000]);
        match send(
            &sessions,
            &pki.server,
            &ttls_response(id, &frag),
            Some(&state),
        ) {
            Ok(EapStep::Challenge { eap, .. }) => {
                assert_eq!(&eap[4..], &[21, 0], "an acknowledgement");
                id = eap[1];
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => {
                last = Err(e);
                break;
            }
        }
    }
    assert!(matches!(last, Err(EapError::TooLarge { .. })), "{last:?}");
    assert!(sessions.is_empty());
}

#[test]
fn a_garbage_client_hello_is_a_tls_failure_with_eap_failure() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let (state, id) = started(&sessions, &pki.server);
    let garbage = ttls_response(id, &[0, 22, 3, 1, 0, 4, 1, 2, 3, 4]);
    let r = send(&sessions, &pki.server, &garbage, Some(&state)).unwrap();
    let EapStep::Reject { eap, reason } = r else {
        panic!("expected Reject, got {r:?}");
    };
    assert_eq!(eap, vec![4, id, 0, 4]);
    assert!(matches!(reason, EapError::Tls(_)), "{reason:?}");
    assert!(sessions.is_empty());
}

#[test]
fn mutated_handshakes_never_panic() {
    let pki = pki();
    let mut rng = StdRng::seed_from_u64(0x7e55e4a);
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let mut kept = 0;
    for round in 0..200 {
        let mut peer = Peer::new(client_config(&pki, &TLS12), pap_avps("alice", "pw"));
        let (state, id) = started(&sessions, &pki.server);
        let start = vec![1, id, 0, 6, 21, 0x20];
        let mut response = peer.respond(&start);
        // Flip, cut or extend.
        match round % 3 {
            0 => {
                let i = rng.gen_range(0..response.len());
                response[i] ^= rng.gen_range(1..=255u8);
            }
            1 => response.truncate(rng.gen_range(0..response.len())),
            _ => response.extend((0..rng.gen_range(1..64)).map(|_| rng.r#gen::<u8>())),
        }
        match send(&sessions, &pki.server, &response, Some(&state)) {
            Ok(EapStep::Challenge { .. }) => kept += 1,
            Ok(EapStep::Reject { eap, .. }) => assert_eq!(eap[0], 4),
            Ok(other) => panic!("credentials out of a mutated ClientHello: {other:?}"),
            Err(e) if e.keeps_session() => kept += 1,
            Err(_) => {}
        }
    }
    // The table holds exactly the conversations that went on, none left half-stepped.
    assert_eq!(sessions.len(), kept);
}
