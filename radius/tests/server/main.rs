//! The RADIUS server layer driven through its fuzzing entry (the listener's own path without a
//! socket) on a temporary directory: the fuzz corpus replayed, and the TOTP challenge's rules
//! (single use, bound to client and user, expiring) packet by packet.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

mod corpus;
mod packets;
