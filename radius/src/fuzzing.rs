//! The fuzzing entry, compiled only with the `fuzzing` feature: one datagram answered through
//! the listener's own path (framing, client choice and authenticators, the duplicate cache, the
//! handler, the directory) without a socket. It adds no behaviour of its own; the binary never
//! enables it.

use crate::{Port, RadiusServer};
use std::net::SocketAddr;

/// Answers `datagram` as the `port` listener would from `src`: the reply, if any.
pub fn answer(
    server: &RadiusServer,
    port: Port,
    src: SocketAddr,
    datagram: &[u8],
) -> Option<Vec<u8>> {
    server.answer(port, src, datagram)
}
