//! The SAML frontend over real HTTP with real judges: pysaml2 (Debian's python3-pysaml2) as the
//! SP for every login, xmlsec1 for every signature we emit, and hostile requests that must be
//! refused with nothing posted to an SP. One integration binary, a module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

mod admin;
mod corpus;
mod harness;
mod isolation;
mod login;
mod logout;
mod negative;
mod signatures;
mod slo;
