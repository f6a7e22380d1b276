//! AuthnRequest parsing from the first byte: the input's first byte picks the binding (a raw
//! Redirect query, XML over POST, XML deflated over Redirect, or a raw POST form value), the
//! rest is the message. It runs through the SSO endpoint's own checks — strict query parsing,
//! base64, bounded inflate, the DTD guard, samael's parser, signature verification with the
//! registered certificate, the field checks and the replay cache in the core — against the
//! fixture of `tessera_saml::fuzzing`, built once per process. A panic anywhere aborts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_saml::fuzzing::Target;

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| match Target::new() {
        Ok(t) => t,
        Err(e) => panic!("the SAML fuzzing fixture cannot be built: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    // Refusals are the expected answer to almost every input; only a panic is a finding.
    let _ = target().check(data);
});
