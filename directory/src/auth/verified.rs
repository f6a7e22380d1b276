//! The verified-credential cache: after a successful password check, remember only an HMAC of
//! the secret (under a random per-process key) for that user, so a repeat authentication with
//! the same secret within the TTL skips argon2. An entry is valid only while the user's
//! credential record and the installation's policies are at the versions it was made under;
//! lock, suspension and MFA are checked before the cache is consulted, and it is never consulted
//! when MFA requires a fresh code. Never persisted.

use crate::clock::IdSource;
use crate::model::{TenantId, UserId};
use crate::store::Version;
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use sha2::Sha256;
use std::collections::HashMap;
use subtle::ConstantTimeEq;
use tessera_policy::Timestamp;
use zeroize::Zeroize;

/// At most this many users are remembered; beyond it, expired entries are dropped first, then
/// the cache starts over (it is only an accelerator).
const MAX_ENTRIES: usize = 200_000;

/// What an entry was made under: it is valid only while these are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) credentials: Version,
    pub(crate) policies: Version,
}

struct Entry {
    mac: [u8; 32],
    stamp: Stamp,
    expires: Timestamp,
}

pub(crate) struct VerifiedCache {
    key: [u8; 32],
    entries: Mutex<HashMap<(TenantId, UserId), Entry>>,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("entries", &self.entries.lock().len())
            .finish()
    }
}

impl Drop for VerifiedCache {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl VerifiedCache {
    pub(crate) fn new(ids: &dyn IdSource) -> Self {
        let mut key = [0u8; 32];
        ids.fill(&mut key);
        VerifiedCache {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, tenant: TenantId, user: UserId, secret: &str) -> [u8; 32] {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let Ok(mut m) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        m.update(tenant.key_bytes());
        m.update(user.key_bytes());
        m.update(secret.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// Whether `secret` was verified for this user under `stamp` and has not expired.
    pub(crate) fn check(
        &self,
        tenant: TenantId,
        user: UserId,
        secret: &str,
        stamp: Stamp,
        now: Timestamp,
    ) -> bool {
        let mac = self.mac(tenant, user, secret);
        let entries = self.entries.lock();
        match entries.get(&(tenant, user)) {
            Some(e) if e.stamp == stamp && now < e.expires => e.mac.ct_eq(&mac).into(),
            _ => false,
        }
    }

    /// Remembers a verified secret until `expires`.
    pub(crate) fn remember(
        &self,
        tenant: TenantId,
        user: UserId,
        secret: &str,
        stamp: Stamp,
        now: Timestamp,
        expires: Timestamp,
    ) {
        let mac = self.mac(tenant, user, secret);
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now < e.expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            (tenant, user),
            Entry {
                mac,
                stamp,
                expires,
            },
        );
    }

    /// Forgets a user (lock, failed attempt, credential change).
    pub(crate) fn forget(&self, tenant: TenantId, user: UserId) {
        self.entries.lock().remove(&(tenant, user));
    }

    /// Forgets everyone (policy change).
    pub(crate) fn forget_all(&self) {
        self.entries.lock().clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ChaChaSource;

    #[test]
    fn only_the_same_secret_under_the_same_stamp_before_expiry() {
        let c = VerifiedCache::new(&ChaChaSource::seeded(3));
        let t = TenantId::from_uuid(uuid::Uuid::from_bytes([1; 16]));
        let u = UserId::from_uuid(uuid::Uuid::from_bytes([2; 16]));
        let stamp = Stamp {
            credentials: 5,
            policies: 1,
        };
        let now = Timestamp::from_secs(100);
        c.remember(t, u, "secret", stamp, now, now.plus_secs(60));
        assert!(c.check(t, u, "secret", stamp, now.plus_secs(59)));
        assert!(
            !c.check(t, u, "secret", stamp, now.plus_secs(60)),
            "expired"
        );
        assert!(!c.check(t, u, "Secret", stamp, now), "another secret");
        assert!(
            !c.check(
                t,
                u,
                "secret",
                Stamp {
                    credentials: 6,
                    ..stamp
                },
                now
            ),
            "password changed"
        );
        assert!(
            !c.check(
                t,
                u,
                "secret",
                Stamp {
                    policies: 2,
                    ..stamp
                },
                now
            ),
            "policy changed"
        );
        let other = UserId::from_uuid(uuid::Uuid::from_bytes([3; 16]));
        assert!(!c.check(t, other, "secret", stamp, now), "another user");
        c.forget(t, u);
        assert!(!c.check(t, u, "secret", stamp, now));
        c.remember(t, u, "secret", stamp, now, now.plus_secs(60));
        c.forget_all();
        assert_eq!(c.len(), 0);
    }
}
