//! The LDAP request path from the first byte: the input is what a client sends on a plain
//! connection that offers StartTLS (then it closes its writing half). It runs through the
//! listener's own connection code — ldap3_proto's codec with the server's size and depth caps,
//! the handler on one session, the directory, the StartTLS guard and upgrade — against the small
//! directory of `tessera_fuzz`, built once per process. A panic anywhere (the runtime or a
//! blocking thread) aborts; so does a connection that neither ends nor closes in time.
//!
//! The directory is shared by every run of a process, so writes persist between inputs (lockout
//! is off): a crash found late may need the inputs before it to reproduce.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::Duration;
use tessera_fuzz::Target;

/// Far above what any input needs (a few hundred binds, each an argon2 hash): longer is a hang.
const LIMIT: Duration = Duration::from_secs(60);

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(Target::new)
}

fuzz_target!(|data: &[u8]| {
    let t = target();
    let served =
        t.rt.block_on(async { tokio::time::timeout(LIMIT, t.serve(data)).await });
    if served.is_err() {
        panic!("the connection neither ended nor closed within {LIMIT:?}");
    }
});
