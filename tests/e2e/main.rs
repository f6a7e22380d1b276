//! End-to-end tests of the `tessera` binary: the real executable, on a real data directory,
//! driven the way an operator drives it. One integration binary with a module per area; the
//! protocol frontends add their modules (real `ldapsearch`, `radclient`, pysaml2) as they land.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

mod admin_cli;
mod api;
mod cli;
mod harness;
mod ldap_apps;
mod ldap_tools;
mod radius_tools;
mod saml_admin;
mod smoke;
