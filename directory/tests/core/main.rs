//! Tests of the directory core through its public services, on temporary stores: the tenant
//! tree, users and groups, applications, RBAC and propagation, audit, tenant isolation and
//! crash safety. One binary with a module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failed step is a failed test

mod fixtures;

mod applications;
mod audit;
mod auth;
mod crash;
mod isolation;
mod radius;
mod rbac;
mod saml;
mod tenants;
mod tokens;
mod users_groups;
