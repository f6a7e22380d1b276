//! The LDAP v3 frontend ("cloud LDAP"): it owns the wire (ldap3_proto's codec over tokio and
//! rustls), the listeners and their limits, sessions, the DIT mapping and schema, filter
//! evaluation and planning, paged results, and the one mapping from `directory` errors to LDAP
//! result codes. Every read, write and bind goes through `tessera_directory`'s services and its
//! one authentication call with the bound user's actor: this crate never opens the store and
//! never decides allow/deny itself.
//!
//! The binary builds one [`LdapServer`] and runs it on a plain listener (StartTLS offered) and
//! an LDAPS listener, each with [`LdapServer::serve`].

mod codec;
mod dn;
mod entry;
mod error;
mod filter;
#[cfg(test)]
mod filter_text;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod handler;
mod listener;
mod members;
mod paging;
mod schema;
mod search;
mod session;
mod write;

pub use error::Error;
pub use listener::{LdapServer, Security};

use std::time::Duration;
use tessera_directory::clock::ChaChaSource;
use tessera_directory::Directory;

/// When a simple bind may carry a password over a connection without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlainBinds {
    /// Only from loopback addresses (a local application or a test).
    #[default]
    Loopback,
    /// From anywhere (a trusted network, or TLS terminated in front of Tessera).
    Always,
    /// Never: binds need LDAPS or StartTLS.
    Never,
}

impl PlainBinds {
    /// The setting's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            PlainBinds::Loopback => "loopback",
            PlainBinds::Always => "always",
            PlainBinds::Never => "never",
        }
    }

    /// The setting a configuration name stands for.
    pub fn parse(s: &str) -> Option<PlainBinds> {
        match s {
            "loopback" => Some(PlainBinds::Loopback),
            "always" => Some(PlainBinds::Always),
            "never" => Some(PlainBinds::Never),
            _ => None,
        }
    }
}

/// How the frontend behaves: its DIT suffix, bind rule and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    /// The DIT's suffix (`dc=tessera,dc=local`): tenants are `o=<slug>,<suffix>`.
    pub suffix: String,
    /// When simple binds are accepted without TLS.
    pub plain_binds: PlainBinds,
    /// The most entries a search returns (0: no limit). A client may ask for fewer.
    pub size_limit: u32,
    /// The longest a search may run, in seconds (0: no limit). A client may ask for less.
    pub time_limit_secs: u32,
    /// The largest request accepted, in bytes; a larger one closes the connection.
    pub max_message_bytes: usize,
    /// Connections served at once over all listeners of the server.
    pub max_connections: usize,
    /// Connections one source address may hold at once.
    pub max_connections_per_source: usize,
    /// A connection with no request for this long is closed, in seconds (0: never).
    pub idle_timeout_secs: u64,
    /// The deepest filter accepted (nesting of and/or/not).
    pub max_filter_depth: usize,
    /// The most elements a filter may have.
    pub max_filter_elements: usize,
    /// Paged searches one connection may keep open.
    pub max_paged_searches: usize,
    /// How long a TLS handshake may take, in seconds.
    pub handshake_timeout_secs: u64,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            suffix: "dc=tessera,dc=local".into(),
            plain_binds: PlainBinds::Loopback,
            size_limit: 500,
            time_limit_secs: 3600,
            max_message_bytes: 256 * 1024,
            max_connections: 1024,
            max_connections_per_source: 256,
            idle_timeout_secs: 600,
            max_filter_depth: 32,
            max_filter_elements: 512,
            max_paged_searches: 8,
            handshake_timeout_secs: 10,
        }
    }
}

impl LdapConfig {
    /// Checks the settings: the suffix must be a DN, the limits usable.
    pub fn check(&self) -> Result<(), Error> {
        dn::Dit::new(&self.suffix).map_err(|e| Error::Suffix {
            suffix: self.suffix.clone(),
            reason: e.0,
        })?;
        let setting = |setting, ok: bool, reason| {
            if ok {
                Ok(())
            } else {
                Err(Error::Setting { setting, reason })
            }
        };
        setting(
            "max_message_bytes",
            (1024..=64 * 1024 * 1024).contains(&self.max_message_bytes),
            "must be between 1 KiB and 64 MiB",
        )?;
        setting(
            "max_connections",
            self.max_connections >= 1,
            "must be at least 1",
        )?;
        setting(
            "max_connections_per_source",
            self.max_connections_per_source >= 1,
            "must be at least 1",
        )?;
        setting(
            "max_filter_depth",
            (1..=100).contains(&self.max_filter_depth),
            "must be between 1 and 100",
        )?;
        setting(
            "max_filter_elements",
            self.max_filter_elements >= 1,
            "must be at least 1",
        )?;
        setting(
            "max_paged_searches",
            self.max_paged_searches >= 1,
            "must be at least 1",
        )?;
        setting(
            "handshake_timeout_secs",
            self.handshake_timeout_secs >= 1,
            "must be at least 1",
        )
    }

    fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }
}

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) dir: Directory,
    pub(crate) dit: dn::Dit,
    pub(crate) config: LdapConfig,
    pub(crate) caps: filter::Caps,
    /// Paged-results cookies and generated passwords.
    pub(crate) rng: ChaChaSource,
    /// Group member values, made once per member list.
    pub(crate) members: members::MemberMemo,
}

impl Ctx {
    pub(crate) fn new(dir: Directory, config: LdapConfig) -> Result<Ctx, Error> {
        config.check()?;
        let dit = dn::Dit::new(&config.suffix).map_err(|e| Error::Suffix {
            suffix: config.suffix.clone(),
            reason: e.0,
        })?;
        Ok(Ctx {
            dir,
            dit,
            caps: filter::Caps {
                depth: config.max_filter_depth,
                elements: config.max_filter_elements,
            },
            config,
            rng: ChaChaSource::from_os(),
            members: members::MemberMemo::default(),
        })
    }
}
