//! The `tessera` package's library half: configuration, opening the store with its master key,
//! the demo tree, and the server wiring — shared by the `tessera` binary and the end-to-end
//! tests, which start the real server in-process. It owns no identity rules: those are
//! `tessera_directory`'s.

pub mod cli;
pub mod config;
pub mod demo;
pub mod keys;
pub mod server;
