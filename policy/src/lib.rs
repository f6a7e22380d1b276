//! Pure decisions of Tessera: data in, decision out. This crate owns the tenant-tree rules, the
//! RBAC model and its evaluation, role propagation planning, group-membership closure, password
//! rules (length, classes, names, common passwords, expiry), lockout arithmetic, when a second
//! factor is required (and how an appended code is split off), and the inheritance of policy
//! settings down the tenant tree with enforcement. It must not do I/O, read clocks or depend on
//! any other crate of the workspace.
#![warn(missing_docs)]

pub mod graph;
pub mod lockout;
pub mod mfa;
pub mod password;
pub mod protocol;
pub mod rbac;
pub mod rights;
pub mod roles;
pub mod settings;
pub mod tenant;
pub mod time;

pub use lockout::{LockState, LockoutPolicy};
pub use mfa::MfaPolicy;
pub use password::{PasswordPolicy, PasswordProblem};
pub use protocol::Protocol;
pub use rights::{Area, Permission, Right, RightSet};
pub use settings::{EffectivePolicy, PolicySettings, Setting, Strictness, Weakening};
pub use tenant::TenantKind;
pub use time::Timestamp;
