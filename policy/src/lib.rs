//! Pure decisions of Tessera: data in, decision out. This crate owns the tenant-tree rules, the
//! RBAC model and its evaluation, role propagation planning and group-membership closure. It
//! must not do I/O, read clocks or depend on any other crate of the workspace.
#![warn(missing_docs)]

pub mod graph;
pub mod rbac;
pub mod rights;
pub mod roles;
pub mod tenant;
pub mod time;

pub use rights::{Area, Permission, Right, RightSet};
pub use tenant::TenantKind;
pub use time::Timestamp;
