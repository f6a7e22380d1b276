//! Tests of the admin API through its router (`tower::ServiceExt::oneshot`) on a temporary
//! directory: logins and their steps, a round trip per resource family, the RBAC answer shapes,
//! problem documents for bad input, and the OpenAPI description covering every route. The
//! full RBAC matrix and HTTPS end to end live in the root package's e2e tests. One binary with
//! a module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

mod support;

mod auth;
mod openapi;
mod problems;
mod radius;
mod rbac;
mod resources;
mod saml;
mod tokens;
