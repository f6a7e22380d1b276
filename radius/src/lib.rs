//! The RADIUS frontend: it owns the UDP listeners (authentication and accounting, Status-Server),
//! the NAS clients of every tenant as the core registers them and the choice of one by source
//! address and verifying secret, the BlastRADIUS rules (Message-Authenticator required on
//! Access-Requests, always first in replies), the duplicate cache, PAP and its TOTP challenge,
//! reply attributes from groups, accounting, EAP (`eap`, beside this layer, with each tenant's
//! own certificate from `tenant_tls`) and the one mapping
//! from the core's outcomes to Access-Accept / Reject / Challenge or silence. It must never open
//! the store or decide allow/deny itself: every login goes through `tessera_directory`'s one
//! authentication call, every client and session through its RADIUS service.
//!
//! The binary builds one [`RadiusServer`] and runs it on an authentication and an accounting
//! socket, each with [`RadiusServer::serve`].

mod accounting;
mod attrs;
mod challenge;
mod client;
mod dup;
pub mod eap;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod handler;
mod listener;
mod packet;
mod pap;
mod tenant_tls;

pub use client::Drop;
pub use error::Error;
pub use handler::Port;
pub use listener::RadiusServer;
pub use pap::encode as hide_user_password;

/// How the frontend behaves: its caches and limits. (Clients, secrets and reply attributes are
/// data in the directory, not configuration.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusConfig {
    /// How long a reply is kept for retransmissions of its request, in seconds (RFC 5080).
    pub duplicate_window_secs: u32,
    /// The most requests the duplicate cache remembers.
    pub max_duplicates: usize,
    /// How long a TOTP challenge waits for its code, in seconds.
    pub challenge_ttl_secs: u32,
    /// The most challenges waiting at once.
    pub max_challenges: usize,
    /// The Reply-Message of a TOTP challenge.
    pub challenge_prompt: String,
    /// How often the client table is re-read from the directory, in seconds (and at most once
    /// a second when a packet comes from an unknown address).
    pub clients_refresh_secs: u32,
    /// Requests answered at once over all listeners; beyond, datagrams are dropped.
    pub max_in_flight: usize,
}

impl Default for RadiusConfig {
    fn default() -> Self {
        RadiusConfig {
            duplicate_window_secs: 30,
            max_duplicates: 65_536,
            challenge_ttl_secs: 120,
            max_challenges: 10_000,
            challenge_prompt: "Enter the code from your authenticator app".into(),
            clients_refresh_secs: 5,
            max_in_flight: 256,
        }
    }
}

impl RadiusConfig {
    /// Checks the settings.
    pub fn check(&self) -> Result<(), Error> {
        let setting = |setting, ok: bool, reason| {
            if ok {
                Ok(())
            } else {
                Err(Error::Setting { setting, reason })
            }
        };
        setting(
            "duplicate_window_secs",
            (1..=300).contains(&self.duplicate_window_secs),
            "must be between 1 and 300",
        )?;
        setting(
            "max_duplicates",
            self.max_duplicates >= 1,
            "must be at least 1",
        )?;
        setting(
            "challenge_ttl_secs",
            (10..=300).contains(&self.challenge_ttl_secs),
            "must be between 10 and 300 (the core keeps a step 300 s at most)",
        )?;
        setting(
            "max_challenges",
            self.max_challenges >= 1,
            "must be at least 1",
        )?;
        setting(
            "challenge_prompt",
            !self.challenge_prompt.is_empty() && self.challenge_prompt.len() <= 253,
            "must be 1 to 253 bytes",
        )?;
        setting(
            "clients_refresh_secs",
            (1..=3600).contains(&self.clients_refresh_secs),
            "must be between 1 and 3600",
        )?;
        setting(
            "max_in_flight",
            (1..=65_536).contains(&self.max_in_flight),
            "must be between 1 and 65536",
        )
    }
}
