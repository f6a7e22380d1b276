//! The conversation table: unknown and expired State, a full table, identifiers, round trips,
//! verdicts out of place, limits out of range.

use std::time::Duration;

use tessera_directory::model::AppId;
use tessera_directory::policy::Timestamp;
use tessera_radius::eap::{EapError, EapInput, EapLimits, EapSessions, EapStep};

use crate::peer::{identity_response, pki, ttls_response, T0};

fn later(secs: i64) -> Timestamp {
    Timestamp(T0.0 + secs * 1_000_000)
}

fn open(
    sessions: &EapSessions,
    pki: &crate::peer::Pki,
    now: Timestamp,
) -> Result<(Vec<u8>, u8), EapError> {
    match sessions.handle(EapInput {
        eap_message: &identity_response(1, b"anon"),
        state: None,
        client: crate::peer::client(),
        tls: &pki.server,
        now,
        framed_mtu: None,
    })? {
        EapStep::Challenge { eap, state } => Ok((state, eap[1])),
        other => panic!("expected the TTLS start, got {other:?}"),
    }
}

#[test]
fn unknown_state_is_refused() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    for state in [&[0u8; 16][..], &[1, 2, 3], &[0; 40]] {
        let r = sessions.handle(EapInput {
            eap_message: &ttls_response(2, &[0]),
            state: Some(state),
            client: crate::peer::client(),
            tls: &pki.server,
            now: T0,
            framed_mtu: None,
        });
        assert!(matches!(r, Err(EapError::UnknownState)), "{r:?}");
        assert!(matches!(
            sessions.verdict(state, true, T0),
            Err(EapError::UnknownState)
        ));
    }
}

#[test]
fn an_idle_conversation_expires() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits {
        idle_timeout: Duration::from_secs(30),
        ..EapLimits::default()
    })
    .unwrap();
    let (state, id) = open(&sessions, &pki, T0).unwrap();
    let r = sessions.handle(EapInput {
        eap_message: &ttls_response(id, &[0]),
        state: Some(&state),
        client: crate::peer::client(),
        tls: &pki.server,
        now: later(31),
        framed_mtu: None,
    });
    assert!(matches!(r, Err(EapError::Expired)), "{r:?}");
    assert!(sessions.is_empty());

    // Purge drops what expired and keeps what did not.
    let _ = open(&sessions, &pki, T0).unwrap();
    let _ = open(&sessions, &pki, later(20)).unwrap();
    assert_eq!(sessions.purge(later(40)), 1);
    assert_eq!(sessions.len(), 1);
}

#[test]
fn a_full_table_refuses_new_conversations_until_some_expire() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits {
        max_sessions: 2,
        ..EapLimits::default()
    })
    .unwrap();
    open(&sessions, &pki, T0).unwrap();
    open(&sessions, &pki, T0).unwrap();
    assert!(matches!(
        open(&sessions, &pki, T0),
        Err(EapError::TableFull)
    ));
    assert!(matches!(
        open(&sessions, &pki, later(5)),
        Err(EapError::TableFull)
    ));
    assert!(open(&sessions, &pki, later(31)).is_ok());
    assert_eq!(sessions.len(), 1);
}

#[test]
fn a_mismatched_identifier_is_dropped_and_the_conversation_goes_on() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let (state, id) = open(&sessions, &pki, T0).unwrap();
    let r = sessions.handle(EapInput {
        eap_message: &[2, id.wrapping_sub(1), 0, 6, 3, 13],
        state: Some(&state),
        client: crate::peer::client(),
        tls: &pki.server,
        now: T0,
        framed_mtu: None,
    });
    let err = r.unwrap_err();
    assert!(
        matches!(err, EapError::UnexpectedIdentifier { expected, got } if expected == id && got == id.wrapping_sub(1))
    );
    assert!(err.keeps_session());
    // The right identifier still works (a Nak, so it ends in EAP-Failure).
    nak_ends_it(&sessions, &pki, &state, id);
}

/// The conversation is alive: a Nak through its own client ends it in EAP-Failure.
fn nak_ends_it(sessions: &EapSessions, pki: &crate::peer::Pki, state: &[u8], id: u8) {
    let r = sessions
        .handle(EapInput {
            eap_message: &[2, id, 0, 6, 3, 13],
            state: Some(state),
            client: crate::peer::client(),
            tls: &pki.server,
            now: T0,
            framed_mtu: None,
        })
        .unwrap();
    assert!(
        matches!(
            r,
            EapStep::Reject {
                reason: EapError::PeerNak,
                ..
            }
        ),
        "{r:?}"
    );
    assert!(sessions.is_empty());
}

#[test]
fn round_trips_are_capped() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits {
        max_rounds: 4,
        ..EapLimits::default()
    })
    .unwrap();
    let (state, mut id) = open(&sessions, &pki, T0).unwrap();
    let mut rejected = None;
    for _ in 0..10 {
        // Endless fragments of a ClientHello: each gets an acknowledgement.
        let step = sessions
            .handle(EapInput {
                eap_message: &ttls_response(id, &[0x40, 22, 3, 1]),
                state: Some(&state),
                client: crate::peer::client(),
                tls: &pki.server,
                now: T0,
                framed_mtu: None,
            })
            .unwrap();
        match step {
            EapStep::Challenge { eap, .. } => id = eap[1],
            EapStep::Reject { eap, reason } => {
                assert_eq!(eap[0], 4);
                rejected = Some(reason);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        matches!(rejected, Some(EapError::TooManyRounds { limit: 4 })),
        "{rejected:?}"
    );
    assert!(sessions.is_empty());
}

#[test]
fn a_verdict_needs_a_conversation_waiting_for_one() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let (state, _) = open(&sessions, &pki, T0).unwrap();
    assert!(matches!(
        sessions.verdict(&state, true, T0),
        Err(EapError::NoVerdictPending)
    ));
    // Still there: a verdict out of place does not end it.
    assert_eq!(sessions.len(), 1);
}

#[test]
fn limits_out_of_range_are_refused() {
    for limits in [
        EapLimits {
            mtu: 10,
            ..EapLimits::default()
        },
        EapLimits {
            mtu: 5000,
            ..EapLimits::default()
        },
        EapLimits {
            max_sessions: 0,
            ..EapLimits::default()
        },
        EapLimits {
            max_rounds: 0,
            ..EapLimits::default()
        },
        EapLimits {
            idle_timeout: Duration::ZERO,
            ..EapLimits::default()
        },
        EapLimits {
            max_message: 100,
            ..EapLimits::default()
        },
    ] {
        assert!(matches!(EapSessions::new(limits), Err(EapError::Config(_))));
    }
}

#[test]
fn the_tls_helper_turns_resumption_off() {
    let pki = pki();
    assert_eq!(pki.server.send_tls13_tickets, 0);
    assert!(!pki.server.session_storage.can_cache());
    assert!(!pki.server.ticketer.enabled());
    // DER works as well as PEM.
    let der = tessera_radius::eap::tls::server_config(pki.chain.clone(), pki.key.clone_key());
    assert!(der.is_ok());
    assert!(matches!(
        tessera_radius::eap::tls::server_config(Vec::new(), pki.key.clone_key()),
        Err(EapError::Config(_))
    ));
}

#[test]
fn the_tls_helper_refuses_bad_pem() {
    let r = tessera_radius::eap::tls::server_config_from_pem(b"not pem", b"nor this");
    assert!(matches!(r, Err(EapError::Config(_))));
}

#[test]
fn the_table_is_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<EapSessions>();
    // Conversations opened from several threads get distinct States.
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let states: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| open(&sessions, &pki, T0).unwrap().0))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = states.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4);
    assert_eq!(sessions.len(), 4);
}

#[test]
fn another_client_cannot_continue_a_conversation() {
    let pki = pki();
    let sessions = EapSessions::new(EapLimits::default()).unwrap();
    let (state, id) = open(&sessions, &pki, T0).unwrap();
    let nak = [2, id, 0, 6, 3, 13];
    let other: AppId = "00000000-0000-4000-8000-00000000c002".parse().unwrap();
    let r = sessions.handle(EapInput {
        eap_message: &nak,
        state: Some(&state),
        client: other,
        tls: &pki.server,
        now: T0,
        framed_mtu: None,
    });
    assert!(matches!(r, Err(EapError::UnknownState)), "{r:?}");
    // The conversation is untouched and goes on through its own client.
    nak_ends_it(&sessions, &pki, &state, id);
}
