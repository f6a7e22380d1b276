//! SP metadata XML from the first byte through `tessera_saml::parse_sp_metadata`, the pure
//! function behind "import metadata": the size bound, the DTD guard, the root check, samael's
//! metadata types and the extraction of endpoints, certificates and flags. Refusals are the
//! expected answer; a panic anywhere aborts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tessera_saml::parse_sp_metadata(text);
    }
});
