//! The LDAP frontend against a real directory over real sockets: binds (every RFC 4513 case and
//! what the core's authentication decides), search (scopes, filters, attributes, limits, paged
//! results, controls), tenant isolation, TLS (StartTLS with its injection guard, LDAPS),
//! extended operations, writes, and hostile input (the fuzz corpus replayed too). One integration
//! binary, a module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

#[path = "../../src/filter_text.rs"]
mod filter_text;

mod binds;
mod client;
mod corpus;
mod extended;
mod garbage;
mod harness;
mod isolation;
mod search;
mod tls;
mod writes;
