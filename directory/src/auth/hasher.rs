//! The password-hashing pool: argon2id hashing and verification on a fixed set of worker
//! threads (one per core by default) with bounded, per-tenant fair queues. A flood of bad
//! passwords for one tenant fills only that tenant's queue — its callers get `Busy` at once —
//! while workers take jobs round-robin across tenants, so every other tenant keeps
//! authenticating. It owns the argon2 parameters and the PHC format; it must not decide whether
//! a login succeeds.

use crate::model::TenantId;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use parking_lot::{Condvar, Mutex};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// argon2id cost parameters (OWASP's minimum by default: m=19456 KiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl HashParams {
    /// The OWASP minimum for argon2id, and the floor this pool accepts.
    pub const OWASP: HashParams = HashParams {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams::OWASP
    }
}

/// How the pool is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads (default: the number of cores).
    pub workers: usize,
    /// Jobs one tenant may have waiting (beyond those running).
    pub queue_per_tenant: usize,
    /// Jobs all tenants together may have waiting.
    pub queue_total: usize,
    /// The argon2id parameters for new hashes.
    pub params: HashParams,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        PoolConfig {
            workers,
            queue_per_tenant: 4 * workers,
            queue_total: 64 * workers,
            params: HashParams::OWASP,
        }
    }
}

/// The pool is full for this tenant (or altogether): try again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

/// Why hashing failed.
#[derive(Debug)]
pub(crate) enum HashFailure {
    Busy,
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct Sched {
    queues: HashMap<TenantId, VecDeque<Job>>,
    /// Tenants with waiting jobs, in the order workers serve them.
    ring: VecDeque<TenantId>,
    waiting: usize,
    shutdown: bool,
}

struct Shared {
    sched: Mutex<Sched>,
    ready: Condvar,
    hashes: AtomicU64,
    verifications: AtomicU64,
}

/// The pool. Dropping it finishes the running jobs and stops the workers.
pub(crate) struct Hasher {
    shared: Arc<Shared>,
    config: PoolConfig,
    workers: Vec<JoinHandle<()>>,
    dummy: String,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("config", &self.config)
            .finish()
    }
}

fn argon_params(params: HashParams) -> Result<Params, String> {
    Params::new(params.m_kib, params.t, params.p, None).map_err(|e| e.to_string())
}

thread_local! {
    /// Each worker's argon2 memory, allocated once and reused: the pool holds exactly
    /// workers × m KiB, and no verification pays for fresh pages (allocating the blocks per call
    /// left glibc holding several times that, and faulting them in again at random).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn with_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> Option<R> {
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, Block::new());
        }
        blocks.get_mut(..count).map(f)
    })
}

/// An argon2id PHC string for `password` under `params` and `salt`.
fn hash_phc(params: HashParams, password: &[u8], salt: &[u8]) -> Result<String, String> {
    let p = argon_params(params)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_blocks(p.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password, salt, &mut out, blocks)
    })
    .ok_or("no memory for argon2")?
    .map_err(|e| e.to_string())?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&p).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches an argon2id PHC string (with the parameters it was made with).
fn verify_phc(password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    if hash.algorithm.as_str() != Algorithm::Argon2id.ident().as_str() {
        return false;
    }
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let version = hash
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let argon = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let done = with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password, salt.as_ref(), &mut out, blocks)
    });
    matches!(done, Some(Ok(()))) && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

fn worker(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut s = shared.sched.lock();
            loop {
                if let Some(t) = s.ring.pop_front() {
                    let (job, more) = match s.queues.get_mut(&t) {
                        Some(q) => (q.pop_front(), !q.is_empty()),
                        None => (None, false),
                    };
                    if more {
                        s.ring.push_back(t);
                    } else {
                        s.queues.remove(&t);
                    }
                    if let Some(j) = job {
                        s.waiting -= 1;
                        break j;
                    }
                } else if s.shutdown {
                    return;
                } else {
                    shared.ready.wait(&mut s);
                }
            }
        };
        job();
    }
}

impl Hasher {
    /// Starts the workers and prepares the dummy hash used for unknown users.
    pub(crate) fn start(config: PoolConfig, salt: [u8; 16]) -> Result<Self, String> {
        if config.params.m_kib < HashParams::OWASP.m_kib || config.params.t < HashParams::OWASP.t {
            return Err("argon2id parameters below the OWASP minimum (m=19456, t=2)".into());
        }
        argon_params(config.params)?;
        let shared = Arc::new(Shared {
            sched: Mutex::new(Sched::default()),
            ready: Condvar::new(),
            hashes: AtomicU64::new(0),
            verifications: AtomicU64::new(0),
        });
        let workers = (0..config.workers.max(1))
            .map(|i| {
                let s = shared.clone();
                std::thread::Builder::new()
                    .name(format!("tessera-argon2-{i}"))
                    .spawn(move || worker(s))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        let mut hasher = Hasher {
            shared,
            config,
            workers,
            dummy: String::new(),
        };
        // Made on a worker, so no other thread keeps argon2 memory.
        let params = config.params;
        let nobody = TenantId::from_uuid(uuid::Uuid::nil());
        hasher.dummy = hasher
            .run(nobody, move || {
                hash_phc(params, b"tessera dummy password", &salt)
            })
            .map_err(|Busy| "the hashing pool refused its first job".to_string())??;
        Ok(hasher)
    }

    /// How many hashes and verifications the pool has run (for tests and metrics).
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.shared.hashes.load(Ordering::Relaxed),
            self.shared.verifications.load(Ordering::Relaxed),
        )
    }

    /// Runs `f` on a worker, on `tenant`'s queue; `Busy` at once when the queue is full.
    fn run<R: Send + 'static>(
        &self,
        tenant: TenantId,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Busy> {
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut s = self.shared.sched.lock();
            let queued = s.queues.get(&tenant).map_or(0, VecDeque::len);
            if s.shutdown
                || queued >= self.config.queue_per_tenant
                || s.waiting >= self.config.queue_total
            {
                return Err(Busy);
            }
            let job: Job = Box::new(move || {
                // The caller may have gone; nothing to do then.
                let _ = tx.send(f());
            });
            if queued == 0 {
                s.ring.push_back(tenant);
            }
            s.queues.entry(tenant).or_default().push_back(job);
            s.waiting += 1;
        }
        self.shared.ready.notify_one();
        rx.recv().map_err(|_| Busy)
    }

    /// Hashes a password into a PHC string with a fresh salt.
    pub(crate) fn hash(
        &self,
        tenant: TenantId,
        password: &str,
        salt: [u8; 16],
    ) -> Result<String, HashFailure> {
        let params = self.config.params;
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let shared = self.shared.clone();
        self.run(tenant, move || {
            shared.hashes.fetch_add(1, Ordering::Relaxed);
            hash_phc(params, &pw, &salt)
        })
        .map_err(|Busy| HashFailure::Busy)?
        .map_err(HashFailure::Failed)
    }

    /// Verifies a password against a PHC string (the dummy hash when `phc` is `None`, so an
    /// unknown user costs the same work as a wrong password). Unreadable hashes never verify.
    pub(crate) fn verify(
        &self,
        tenant: TenantId,
        password: &str,
        phc: Option<&str>,
    ) -> Result<bool, Busy> {
        let phc = phc.unwrap_or(&self.dummy).to_string();
        let real = phc != self.dummy;
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let shared = self.shared.clone();
        self.run(tenant, move || {
            shared.verifications.fetch_add(1, Ordering::Relaxed);
            verify_phc(&pw, &phc) && real
        })
    }

    /// Whether a stored hash was made with weaker or other parameters than the current ones
    /// (so it should be rehashed after the next successful login).
    pub(crate) fn needs_rehash(&self, phc: &str) -> bool {
        parse_params(phc) != Some(self.config.params)
    }
}

/// The (m, t, p) of an `$argon2id$v=19$m=…,t=…,p=…$…` string.
fn parse_params(phc: &str) -> Option<HashParams> {
    let mut parts = phc.split('$');
    let (_, alg, _version, params) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if alg != "argon2id" {
        return None;
    }
    let mut out = HashParams {
        m_kib: 0,
        t: 0,
        p: 0,
    };
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => out.m_kib = v,
            "t" => out.t = v,
            "p" => out.p = v,
            _ => {}
        }
    }
    Some(out)
}

impl Drop for Hasher {
    fn drop(&mut self) {
        self.shared.sched.lock().shutdown = true;
        self.shared.ready.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: u8) -> TenantId {
        TenantId::from_uuid(uuid::Uuid::from_bytes([n; 16]))
    }

    #[test]
    fn hash_verify_and_rehash_detection() {
        let h = Hasher::start(PoolConfig::default(), [7; 16]).unwrap();
        let phc = h.hash(tenant(1), "correct horse battery", [1; 16]).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            h.verify(tenant(1), "correct horse battery", Some(&phc)),
            Ok(true)
        );
        assert_eq!(h.verify(tenant(1), "wrong", Some(&phc)), Ok(false));
        assert_eq!(
            h.verify(tenant(1), "tessera dummy password", None),
            Ok(false)
        );
        assert_eq!(h.verify(tenant(1), "x", Some("garbage")), Ok(false));
        assert!(!h.needs_rehash(&phc));
        let stronger = PoolConfig {
            params: HashParams {
                m_kib: 19_456,
                t: 3,
                p: 1,
            },
            ..PoolConfig::default()
        };
        let h2 = Hasher::start(stronger, [7; 16]).unwrap();
        assert!(h2.needs_rehash(&phc));
        // Old hashes still verify under new parameters.
        assert_eq!(
            h2.verify(tenant(1), "correct horse battery", Some(&phc)),
            Ok(true)
        );
        assert_eq!(h.counts(), (1, 4));
    }

    #[test]
    fn our_phc_strings_match_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_phc(HashParams::OWASP, b"pw", &[5; 16]).unwrap();
        let p = argon_params(HashParams::OWASP).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
            .hash_password_with_salt(b"pw", &[5; 16])
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs);
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        assert!(verify_phc(b"pw", &theirs));
        assert!(!verify_phc(b"pW", &theirs));
        // A hash made with other parameters (more memory) still verifies.
        let bigger = HashParams {
            m_kib: 32_768,
            t: 2,
            p: 1,
        };
        assert!(verify_phc(
            b"pw",
            &hash_phc(bigger, b"pw", &[6; 16]).unwrap()
        ));
    }

    #[test]
    fn weak_parameters_are_refused() {
        let weak = PoolConfig {
            params: HashParams {
                m_kib: 4096,
                t: 1,
                p: 1,
            },
            ..PoolConfig::default()
        };
        assert!(Hasher::start(weak, [0; 16]).is_err());
    }

    #[test]
    fn parse() {
        assert_eq!(
            parse_params("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
            Some(HashParams::OWASP)
        );
        assert_eq!(parse_params("$argon2i$v=19$m=1,t=1,p=1$x$y"), None);
        assert_eq!(parse_params("nonsense"), None);
    }
}
