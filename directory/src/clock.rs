//! Time and randomness as parameters: the `Clock` and `IdSource` traits, the system
//! implementations and the deterministic ones tests use. This is the only module that may read
//! the system clock or the operating system's entropy.

use parking_lot::Mutex;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use tessera_policy::Timestamp;

/// Where the directory reads the time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(micros)
    }
}

/// A clock that only moves when told to: for deterministic tests of expiry and ordering.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock(AtomicI64::new(start.0))
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.0
            .fetch_add(secs.saturating_mul(1_000_000), Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        // Every reading moves one microsecond on, so events stay strictly ordered.
        Timestamp(self.0.fetch_add(1, Ordering::SeqCst))
    }
}

/// Where the directory gets random bytes (ids, and later salts and tokens).
pub trait IdSource: Send + Sync + fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// A fresh random (version 4) UUID.
    fn uuid(&self) -> uuid::Uuid {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid()
    }
}

/// A ChaCha20 stream: seeded from the operating system in production, from a fixed seed in
/// tests.
pub struct ChaChaSource(Mutex<ChaCha20Rng>);

impl ChaChaSource {
    /// Seeded from the operating system's entropy.
    pub fn from_os() -> Self {
        ChaChaSource(Mutex::new(ChaCha20Rng::from_entropy()))
    }

    /// Seeded with `seed`: the same seed gives the same ids.
    pub fn seeded(seed: u64) -> Self {
        ChaChaSource(Mutex::new(ChaCha20Rng::seed_from_u64(seed)))
    }
}

impl fmt::Debug for ChaChaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChaChaSource")
    }
}

impl IdSource for ChaChaSource {
    fn fill(&self, buf: &mut [u8]) {
        self.0.lock().fill_bytes(buf);
    }
}
