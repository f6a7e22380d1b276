//! The RADIUS server layer on a temporary directory: through its fuzzing entry (the listener's
//! own path without a socket) the fuzz corpus replayed and the TOTP challenge's rules (single
//! use, bound to client and user, expiring) packet by packet; and the listener itself over real
//! IPv4 and IPv6 sockets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

mod corpus;
mod listener;
mod packets;
