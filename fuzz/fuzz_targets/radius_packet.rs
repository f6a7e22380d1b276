//! The RADIUS packet path from the first byte: the input's first byte picks the listener
//! (authentication or accounting), the rest is one datagram from the fixture NAS. It runs
//! through the listener's own path — framing, the client's choice by address and verifying
//! secret, Message-Authenticator and authenticators, the duplicate cache, PAP and its
//! challenge, accounting, the core's authentication call — against the small directory of
//! `tessera_radius::fuzzing`, built once per process. A panic anywhere aborts.
//!
//! Inputs that do not verify under the fixture's secret are dropped early; the seeds in
//! `fuzz/corpus/radius_packet` are signed, so mutations of their attributes reach the handler
//! until they break the signature (libFuzzer's comparison tracing helps it past that).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_fuzz::RadiusTarget;

fn target() -> &'static RadiusTarget {
    static TARGET: OnceLock<RadiusTarget> = OnceLock::new();
    TARGET.get_or_init(RadiusTarget::new)
}

fuzz_target!(|data: &[u8]| {
    let t = target();
    if let Some(reply) = t.answer(data) {
        // Whatever goes out is one well-formed packet with Message-Authenticator first.
        assert!(reply.len() >= 38 && reply.len() <= 4096);
        assert_eq!(
            usize::from(u16::from_be_bytes([reply[2], reply[3]])),
            reply.len()
        );
        assert_eq!(&reply[20..22], &[80, 18]);
    }
});
