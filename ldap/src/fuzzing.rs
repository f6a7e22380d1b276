//! The fuzzing entry, compiled only with the `fuzzing` feature: one connection served from the
//! raw bytes a client sends, over an in-memory pipe, through the listener's own connection code
//! (framing and its size and depth caps, the StartTLS guard and upgrade, the handler, the
//! directory). It adds no behaviour of its own and opens no socket; the binary never enables it.

use crate::{LdapServer, Security};
use std::net::{Ipv4Addr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pipe's buffer in each direction (a socket's, roughly).
const PIPE: usize = 64 * 1024;

/// Serves one connection from a loopback peer (so plain simple binds are allowed under the
/// default configuration) that writes `input`, closes its writing half and reads until the
/// server closes: returns what the server wrote. Reading and writing run together, so a server
/// that answers before it has read everything never blocks on a full pipe. No timeout: the
/// caller bounds it (a hang is a finding).
pub async fn serve_bytes(server: &LdapServer, security: Security, input: &[u8]) -> Vec<u8> {
    let (client, conn) = tokio::io::duplex(PIPE);
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 40389));
    let (mut rd, mut wr) = tokio::io::split(client);
    let write = async {
        // The server may close before it has read everything: the rest is not sent.
        let _ = wr.write_all(input).await;
        let _ = wr.shutdown().await;
    };
    let read = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let ((), (), out) = tokio::join!(server.serve_stream(conn, peer, security), write, read);
    out
}
