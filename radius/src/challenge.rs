//! The TOTP Access-Challenge: after the core verified the password and asks for a code, the
//! pending step waits here under a random State sent to the NAS, bound to the client, the user
//! and that one attempt. The follow-up Access-Request must come from the same client, name the
//! same user and carry that State; the State is used once (taken out on the first follow-up,
//! whatever its result) and expires. Bounded: when full, the oldest pending steps go first. It
//! owns the table; the core completes the login ([`Directory::complete_mfa`]).
//!
//! [`Directory::complete_mfa`]: tessera_directory::Directory::complete_mfa

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use tessera_directory::model::AppId;
use tessera_directory::policy::Timestamp;
use tessera_directory::MfaPending;

/// A State value: a marker and 16 random octets.
pub(crate) const STATE_LEN: usize = 20;
const MARKER: &[u8; 4] = b"tsc1";

/// A login waiting for its code.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The client the challenge was sent to.
    pub(crate) app: AppId,
    /// The username as the NAS sent it (compared case-insensitively).
    pub(crate) username: String,
    /// What the core needs to finish.
    pub(crate) step: MfaPending,
    /// When the State stops being accepted.
    pub(crate) expires: Timestamp,
}

/// Why a follow-up does not continue a challenge (it is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No pending step under this State (never issued, used, expired, or evicted).
    Unknown,
    /// Another client, or another user, than the challenge was for.
    Mismatch,
}

#[derive(Debug, Default)]
struct Inner {
    pending: HashMap<[u8; 16], Pending>,
    order: VecDeque<[u8; 16]>,
}

/// The pending challenges of a server.
#[derive(Debug)]
pub(crate) struct Challenges {
    inner: Mutex<Inner>,
    ttl_secs: i64,
    max: usize,
}

impl Challenges {
    /// A table of at most `max` steps, each valid for `ttl_secs`.
    pub(crate) fn new(ttl_secs: u32, max: usize) -> Challenges {
        Challenges {
            inner: Mutex::new(Inner::default()),
            ttl_secs: i64::from(ttl_secs),
            max: max.max(1),
        }
    }

    /// Keeps a step under a fresh State (`nonce`: 16 random octets) and returns the State.
    pub(crate) fn issue(
        &self,
        nonce: [u8; 16],
        app: AppId,
        username: &str,
        step: MfaPending,
        now: Timestamp,
    ) -> [u8; STATE_LEN] {
        let expires = now.plus_secs(self.ttl_secs).min(step.expires());
        let mut g = self.inner.lock();
        Self::expire(&mut g, now);
        while g.pending.len() >= self.max {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            g.pending.remove(&old);
        }
        g.pending.insert(
            nonce,
            Pending {
                app,
                username: username.to_string(),
                step,
                expires,
            },
        );
        g.order.push_back(nonce);
        let mut state = [0u8; STATE_LEN];
        let (m, n) = state.split_at_mut(MARKER.len());
        m.copy_from_slice(MARKER);
        n.copy_from_slice(&nonce);
        state
    }

    /// Whether a State attribute is one of ours (a follow-up), whatever its validity.
    pub(crate) fn is_ours(state: &[u8]) -> bool {
        state.len() == STATE_LEN && state.starts_with(MARKER)
    }

    /// Takes the step a follow-up continues: the State is spent whatever the outcome.
    pub(crate) fn take(
        &self,
        state: &[u8],
        app: AppId,
        username: &str,
        now: Timestamp,
    ) -> Result<Pending, Refused> {
        let nonce: [u8; 16] = state
            .strip_prefix(MARKER.as_slice())
            .and_then(|n| n.try_into().ok())
            .ok_or(Refused::Unknown)?;
        let mut g = self.inner.lock();
        Self::expire(&mut g, now);
        let p = g.pending.remove(&nonce).ok_or(Refused::Unknown)?;
        g.order.retain(|n| *n != nonce);
        if p.app != app || !p.username.eq_ignore_ascii_case(username) {
            return Err(Refused::Mismatch);
        }
        Ok(p)
    }

    fn expire(g: &mut Inner, now: Timestamp) {
        while let Some(n) = g.order.front().copied() {
            match g.pending.get(&n) {
                Some(p) if p.expires > now => break,
                _ => {
                    g.order.pop_front();
                    g.pending.remove(&n);
                }
            }
        }
    }
}
