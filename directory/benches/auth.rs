//! Authentication benchmark (plain `main`, prints a table): the cost of one argon2id
//! verification at the default parameters (m=19456 KiB, t=2, p=1), `authenticate()` throughput
//! with the verified-credential cache off against the ideal of cores ÷ hash time, what the
//! per-tenant queue bound does to one hot tenant (`Busy`), cached re-authentication throughput,
//! and the memory the hashing pool holds under load.
//!
//! Every timed run ends with `flush_audit()` inside its timing: authentication events are written
//! by a background journal in batches, and writing them is part of what a login costs.
//!
//! The raw argon2 cost is measured last, on threads of its own, so its allocations do not show in
//! the memory figures. Minor page faults per login are reported beside throughput: whether the
//! allocator hands a worker back its last 19 MiB block or fresh pages it must fault in (4,865 of
//! them) moves a verification by several milliseconds, and varies from run to run.

// Benchmarks are test code: a failed fixture step should stop the run loudly.
#![allow(clippy::unwrap_used)]

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tessera_directory::clock::{ChaChaSource, SystemClock};
use tessera_directory::model::{NewTenant, Tenant, TenantId};
use tessera_directory::policy::settings::{AtMost, Setting};
use tessera_directory::policy::{Protocol, TenantKind};
use tessera_directory::testkit::{new_tenant, new_user, test_key};
use tessera_directory::{Actor, AuthRequest, Directory, Outcome, PoolConfig, TenantRef};

/// argon2id at the pool's default cost.
const M_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_LANES: u32 = 1;
/// Single verifications timed for the median.
const SINGLE_RUNS: usize = 20;
/// Verifications per thread when every core verifies at once.
const PARALLEL_RUNS: usize = 10;
const TENANTS: usize = 4;
const USERS_PER_TENANT: usize = 25;
/// Login attempts per throughput configuration (cache off: one argon2 verification each).
const ATTEMPTS: usize = 200;
/// The per-tenant queue of the second pool, larger than the hot tenant's client count.
const LARGE_QUEUE: usize = 32;
/// Cached re-authentications, and the threads that make them.
const CACHED: usize = 200_000;
const CACHED_THREADS: usize = 2;

/// Wall-clock timing for the report. Benchmarks measure real time, which the directory itself
/// only reads through its `Clock`.
#[derive(Debug, Clone, Copy)]
struct Stopwatch(std::time::Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)] // the benchmark's one reading of the monotonic clock
    fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }

    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A user who can log in.
#[derive(Debug, Clone)]
struct Login {
    tenant: TenantId,
    username: String,
    password: String,
}

impl Login {
    fn request(&self) -> AuthRequest<'_> {
        AuthRequest {
            tenant: TenantRef::Id(self.tenant),
            username: &self.username,
            secret: &self.password,
            second_factor: None,
            protocol: Protocol::Ldap,
            application: None,
            source: None,
        }
    }
}

/// What one throughput configuration did.
#[derive(Debug, Clone)]
struct Run {
    label: String,
    threads: usize,
    ok: usize,
    busy: usize,
    elapsed: Duration,
    /// Latency of successful logins.
    p50: Duration,
    p99: Duration,
    /// argon2 verifications the pool ran during the run.
    verifications: u64,
    /// Highest VmRSS seen by the clients between logins.
    rss_sampled: u64,
    /// Minor page faults of the process per successful login.
    faults: u64,
    /// VmHWM after the run.
    hwm: u64,
    /// Whether VmHWM was reset just before the run (else it is the peak since start).
    hwm_reset: bool,
}

fn sys() -> Actor {
    Actor::system()
}

fn open(path: &Path, pool: PoolConfig, seed: u64) -> Directory {
    Directory::options()
        .clock(Arc::new(SystemClock))
        .ids(Arc::new(ChaChaSource::seeded(seed)))
        .pool(pool)
        .open(path, test_key())
        .unwrap()
}

/// `VmHWM` (peak) and `VmRSS` (current) of this process, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (kib("VmHWM:") * 1024, kib("VmRSS:") * 1024)
}

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    stat.rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().nth(7))
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// Resets VmHWM to the current VmRSS (Linux ≥ 4.0); false when the kernel refuses.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn signed_mib(after: u64, before: u64) -> String {
    let d = after as f64 - before as f64;
    format!("{:+.1} MiB", d / (1024.0 * 1024.0))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn per_op(d: Duration, n: usize) -> String {
    let us = d.as_secs_f64() * 1e6 / n.max(1) as f64;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn row(what: &str, value: impl std::fmt::Display) {
    println!("  {what:<58} {value}");
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted
        .get(((sorted.len().max(1) - 1) as f64 * q) as usize)
        .copied()
        .unwrap_or_default()
}

fn argon() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(M_KIB, T_COST, P_LANES, None).unwrap(),
    )
}

/// The raw cost of argon2 outside the directory.
#[derive(Debug, Clone, Copy)]
struct HashCost {
    /// The first verification on a fresh thread (its allocator arena still growing).
    cold: Duration,
    /// Median of `SINGLE_RUNS` after warm-up, one thread, the rest of the machine idle.
    median: Duration,
    min: Duration,
    /// Minor page faults per timed single-thread verification.
    faults: u64,
    /// Time per verification when every core verifies at once (shared memory bandwidth).
    parallel: Duration,
}

/// Verifications made, untimed, before timing: the first few on a thread pay page faults for
/// a 19 MiB allocation the allocator has not yet learned to reuse (see the report).
const WARM_UP: usize = 10;

/// Measured last, on threads of its own, so its allocations do not show in the pool's memory.
fn single_hash_cost(cores: usize) -> HashCost {
    let a = argon();
    let pw = b"Zebra-Lantern-Quartz-17";
    let phc = a
        .hash_password_with_salt(pw, b"tessera-bench-sa")
        .unwrap()
        .to_string();
    let hash = PasswordHash::new(&phc).unwrap();
    let time = |a: &Argon2<'_>| {
        let sw = Stopwatch::start();
        a.verify_password(pw, &hash).unwrap();
        sw.elapsed()
    };
    let (cold, mut each, faults) = std::thread::scope(|s| {
        s.spawn(|| {
            let a = argon();
            let cold = time(&a);
            for _ in 1..WARM_UP {
                time(&a);
            }
            let faults = minor_faults();
            let each: Vec<Duration> = (0..SINGLE_RUNS).map(|_| time(&a)).collect();
            (cold, each, (minor_faults() - faults) / SINGLE_RUNS as u64)
        })
        .join()
        .unwrap()
    });
    each.sort();
    let barrier = std::sync::Barrier::new(cores);
    let parallel = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let a = argon();
                    for _ in 0..WARM_UP {
                        time(&a);
                    }
                    barrier.wait();
                    let sw = Stopwatch::start();
                    for _ in 0..PARALLEL_RUNS {
                        time(&a);
                    }
                    sw.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap_or_default()
    });
    HashCost {
        cold,
        median: percentile(&each, 0.5),
        min: each.first().copied().unwrap_or_default(),
        faults,
        parallel: parallel / PARALLEL_RUNS as u32,
    }
}

/// `threads` clients share `ATTEMPTS` logins; client `c`'s `k`-th login is `pick(c, k)`.
/// Timing ends after `flush_audit`.
fn hammer(
    dir: &Directory,
    label: &str,
    threads: usize,
    pick: &(dyn Fn(usize, usize) -> Login + Sync),
) -> Run {
    let (_, before) = dir.hashing_counts();
    let hwm_reset = reset_peak();
    let faults = minor_faults();
    let per_thread = ATTEMPTS.div_ceil(threads);
    let sw = Stopwatch::start();
    let results: Vec<(Vec<Duration>, usize, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|c| {
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(per_thread);
                    let (mut busy, mut peak) = (0, 0);
                    for k in 0..per_thread {
                        let login = pick(c, k);
                        let one = Stopwatch::start();
                        let outcome = dir.authenticate(&login.request()).unwrap();
                        let took = one.elapsed();
                        assert!(
                            matches!(outcome, Outcome::Success(_) | Outcome::Busy),
                            "{} did not log in: {outcome:?}",
                            login.username
                        );
                        if outcome == Outcome::Busy {
                            busy += 1;
                        } else {
                            lat.push(took);
                        }
                        peak = peak.max(rss().1);
                    }
                    (lat, busy, peak)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    dir.flush_audit();
    let elapsed = sw.elapsed();
    let (hwm, _) = rss();
    let faults = minor_faults() - faults;
    let (_, after) = dir.hashing_counts();
    let mut lat: Vec<Duration> = results.iter().flat_map(|r| r.0.clone()).collect();
    lat.sort();
    let run = Run {
        label: label.to_string(),
        threads,
        ok: lat.len(),
        busy: results.iter().map(|r| r.1).sum(),
        elapsed,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        verifications: after - before,
        faults: faults / lat.len().max(1) as u64,
        rss_sampled: results.iter().map(|r| r.2).max().unwrap_or(0),
        hwm,
        hwm_reset,
    };
    assert_eq!(run.ok + run.busy, per_thread * threads);
    // With the cache off, every successful login ran argon2 once; a `Busy` one never did.
    assert_eq!(run.verifications, run.ok as u64, "{label}: cache not off?");
    run
}

fn print_run(r: &Run, ideal: f64, ideal_parallel: f64) {
    let ops = r.ok as f64 / r.elapsed.as_secs_f64();
    row(
        &format!("{} ({} clients)", r.label, r.threads),
        format!(
            "{ops:.1} ops/s  ratio {:.2} ({:.2} vs parallel argon2)  ok {} busy {}  \
             p50 {} p99 {}  {} faults/login",
            ops / ideal,
            ops / ideal_parallel,
            r.ok,
            r.busy,
            ms(r.p50),
            ms(r.p99),
            r.faults,
        ),
    );
}

fn main() {
    let run = Stopwatch::start();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let pool = PoolConfig::default();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    println!(
        "tessera auth: argon2id m={M_KIB} KiB t={T_COST} p={P_LANES}; {cores} cores; default \
         pool: {} workers, queue {} per tenant / {} total; {TENANTS} tenants × \
         {USERS_PER_TENANT} users; store in {}",
        pool.workers,
        pool.queue_per_tenant,
        pool.queue_total,
        path.display()
    );
    println!(
        "every timed run includes flush_audit(): the journal's writes of its authentication \
         events are part of the cost"
    );

    // Memory before the directory exists, then with an idle pool.
    let (_, rss_start) = rss();
    let dir = open(&path, pool, 42);
    let (_, rss_open) = rss();

    // root → msp → 4 customers of 25 users (cache off), and one customer with the default
    // policy (cache on) for the cached run.
    let root = dir
        .tenants()
        .bootstrap(
            &sys(),
            NewTenant {
                slug: "root".into(),
                name: "Root".into(),
                kind: TenantKind::Distributor,
            },
        )
        .unwrap();
    let msp = dir
        .tenants()
        .create(&sys(), root.id, new_tenant("msp", TenantKind::Msp))
        .unwrap();
    let customer = |slug: &str| -> Tenant {
        dir.tenants()
            .create(&sys(), msp.id, new_tenant(slug, TenantKind::Customer))
            .unwrap()
    };
    let tenants: Vec<Tenant> = (0..TENANTS)
        .map(|t| customer(&format!("cust-{t}")))
        .collect();
    let cached_tenant = customer("cached");
    for t in &tenants {
        let mut policy = dir.policies().get(&sys(), t.id).unwrap().local;
        policy.settings.cache.enabled = Setting::set(AtMost(false));
        let view = dir.policies().set(&sys(), t.id, policy).unwrap();
        assert!(!view.effective.cache_enabled);
    }
    let setup = Stopwatch::start();
    // One thread per tenant, so no tenant queues more than one hash.
    let users: Vec<Vec<Login>> = std::thread::scope(|s| {
        let handles: Vec<_> = tenants
            .iter()
            .enumerate()
            .map(|(ti, t)| {
                let dir = &dir;
                s.spawn(move || {
                    (0..USERS_PER_TENANT)
                        .map(|i| {
                            let username = format!("user-{i:02}");
                            let u = dir
                                .users()
                                .create(&sys(), t.id, new_user(&username))
                                .unwrap();
                            let password = format!("Zebra-Lantern-{ti}{i:02}-Quartz");
                            dir.credentials()
                                .set_password(&sys(), t.id, u.id, &password, false)
                                .unwrap();
                            Login {
                                tenant: t.id,
                                username,
                                password,
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let setup_time = setup.elapsed();
    let (_, rss_setup) = rss();
    let user = |t: usize, i: usize| -> Login {
        users
            .get(t % TENANTS)
            .and_then(|us| us.get(i % USERS_PER_TENANT))
            .cloned()
            .unwrap()
    };

    // Cache off. Clients spread over the tenants: client c logs in to tenant c % 4.
    let spread = |c: usize, k: usize| user(c, c / TENANTS + k);
    let hot = |c: usize, k: usize| user(0, c + k);
    let w = pool.workers;
    let mut runs = vec![
        hammer(&dir, "1 client, 4 tenants", 1, &spread),
        hammer(&dir, "2×workers, 4 tenants", 2 * w, &spread),
        hammer(&dir, "8×workers, 4 tenants", 8 * w, &spread),
        hammer(&dir, "8×workers, 1 hot tenant", 8 * w, &hot),
    ];
    let (_, rss_after_load) = rss();
    drop(dir);

    // The same store behind a pool whose per-tenant queue holds every hot client.
    let large = PoolConfig {
        queue_per_tenant: LARGE_QUEUE,
        ..pool
    };
    let dir = open(&path, large, 43);
    runs.push(hammer(
        &dir,
        &format!("8×workers, 1 hot tenant, queue {LARGE_QUEUE}/tenant"),
        8 * w,
        &hot,
    ));

    // Cache on: one user, one password, over and over.
    let alice_id = dir
        .users()
        .create(&sys(), cached_tenant.id, new_user("alice"))
        .unwrap()
        .id;
    let alice = Login {
        tenant: cached_tenant.id,
        username: "alice".into(),
        password: "Correct-Horse-Battery-42".into(),
    };
    dir.credentials()
        .set_password(&sys(), cached_tenant.id, alice_id, &alice.password, false)
        .unwrap();
    let counts_before_warm = dir.hashing_counts();
    assert!(matches!(
        dir.authenticate(&alice.request()).unwrap(),
        Outcome::Success(_)
    ));
    dir.flush_audit();
    let counts_warm = dir.hashing_counts();
    let sw = Stopwatch::start();
    std::thread::scope(|s| {
        for _ in 0..CACHED_THREADS {
            s.spawn(|| {
                for _ in 0..CACHED / CACHED_THREADS {
                    let o = dir.authenticate(&alice.request()).unwrap();
                    assert!(matches!(o, Outcome::Success(_)), "{o:?}");
                }
            });
        }
    });
    dir.flush_audit();
    let cached_time = sw.elapsed();
    let counts_cached = dir.hashing_counts();
    drop(dir);

    let cost = single_hash_cost(cores);
    let ideal = cores as f64 / cost.median.as_secs_f64();
    let ideal_parallel = cores as f64 / cost.parallel.as_secs_f64();

    println!();
    println!("single argon2id verification (argon2 crate directly, measured last)");
    row("first on a fresh thread (cold)", ms(cost.cold));
    row(
        &format!("median of {SINGLE_RUNS} after {WARM_UP} warm-up, one thread"),
        format!(
            "{}  (min {}; {} page faults per verification)",
            ms(cost.median),
            ms(cost.min),
            cost.faults
        ),
    );
    row(
        &format!("{cores} threads at once, per verification"),
        format!(
            "{}  = {ideal_parallel:.1} verifications/s in all",
            ms(cost.parallel),
        ),
    );
    row(
        "ideal authenticate() throughput = cores / hash time",
        format!("{ideal:.1} ops/s"),
    );
    println!(
        "authenticate(), cache off, ≥ {ATTEMPTS} attempts per configuration (ratio = ops/s ÷ \
         ideal; in brackets ÷ the {cores}-thread argon2 rate)"
    );
    for r in &runs {
        print_run(r, ideal, ideal_parallel);
    }
    println!("cached re-authentication (same user and password, default policy: cache on)");
    let cached_ops = CACHED as f64 / cached_time.as_secs_f64();
    row(
        &format!("{CACHED} logins over {CACHED_THREADS} threads"),
        format!(
            "{cached_ops:.0} ops/s, {} per login ({:.0}× the cache-off ideal)",
            per_op(cached_time, CACHED),
            cached_ops / ideal
        ),
    );
    row(
        "argon2 verifications: warm-up login / cached run",
        format!(
            "{} / {}",
            counts_warm.1 - counts_before_warm.1,
            counts_cached.1 - counts_warm.1
        ),
    );
    row(
        "argon2 hashes: warm-up login / cached run",
        format!(
            "{} / {}",
            counts_warm.0 - counts_before_warm.0,
            counts_cached.0 - counts_warm.0
        ),
    );
    let blocks = w as u64 * u64::from(M_KIB) * 1024;
    println!(
        "memory of the default pool (VmRSS; {w} workers × 19 MiB = {} of argon2 blocks)",
        mib(blocks)
    );
    row("before opening", mib(rss_start));
    row(
        "after opening, pool idle",
        format!("{}  ({})", mib(rss_open), signed_mib(rss_open, rss_start)),
    );
    row(
        &format!("after setup ({} set_password)", TENANTS * USERS_PER_TENANT),
        format!("{}  ({})", mib(rss_setup), signed_mib(rss_setup, rss_open)),
    );
    for r in runs.iter().take(4) {
        let peak = r.hwm.max(r.rss_sampled);
        row(
            &format!(
                "{}: peak ({})",
                r.label,
                if r.hwm_reset {
                    "VmHWM of the run"
                } else {
                    "VmHWM since start"
                }
            ),
            format!(
                "{}  ({} over idle pool, {:.1}× the blocks)",
                mib(peak),
                signed_mib(peak, rss_open),
                peak.saturating_sub(rss_open) as f64 / blocks as f64
            ),
        );
    }
    row(
        "after the cache-off runs, idle",
        format!(
            "{}  ({} over idle pool)",
            mib(rss_after_load),
            signed_mib(rss_after_load, rss_open)
        ),
    );
    println!(
        "setup: {} for {} users with passwords; bench runtime {:.1} s",
        per_op(setup_time, 1),
        TENANTS * USERS_PER_TENANT,
        run.elapsed().as_secs_f64()
    );
}
