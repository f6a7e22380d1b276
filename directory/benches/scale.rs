//! Scale benchmark (plain `main`, prints a table): 100k users across 100 customer tenants loaded
//! in bulk — load time, peak RSS, on-disk size — the single-user `create` rate for comparison,
//! then, in a fresh process, reopening the store: open time, first-access and warm `by_username`
//! lookup costs, and RSS.
//!
//! `TESSERA_SCALE_USERS_PER_TENANT` (default 1000) shrinks the run for quick checks.

// Benchmarks are test code: a failed fixture step should stop the run loudly.
#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tessera_directory::clock::{ChaChaSource, SystemClock};
use tessera_directory::model::{
    GroupId, NewAssignment, NewPosix, NewTenant, NewUser, Subject, Tenant, TenantId, UserKind,
};
use tessera_directory::policy::{RightSet, TenantKind};
use tessera_directory::testkit::{new_group, new_tenant, new_user};
use tessera_directory::{Actor, Directory, Protocol};

const USERS_ENV: &str = "TESSERA_SCALE_USERS_PER_TENANT";
/// Set (to the store's path) for the child process that measures the reopened store.
const REOPEN_ENV: &str = "TESSERA_SCALE_REOPEN_STORE";
const MSPS: usize = 4;
const CUSTOMERS_PER_MSP: usize = 25;
const TENANTS: usize = MSPS * CUSTOMERS_PER_MSP;
const GROUPS_PER_TENANT: usize = 10;
const SINGLE_CREATES: usize = 200;
const LOOKUPS: usize = 10_000;
const MAX_BATCH: usize = tessera_directory::Users::MAX_BATCH;

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

/// Timings of a run of lookups.
#[derive(Debug, Clone, Copy)]
struct Latency {
    n: usize,
    total: Duration,
    p50: Duration,
    p99: Duration,
}

fn sys() -> Actor {
    Actor::system()
}

fn open(path: &Path) -> Directory {
    Directory::options()
        .clock(Arc::new(SystemClock))
        .ids(Arc::new(ChaChaSource::seeded(42)))
        .open(path, tessera_directory::testkit::test_key())
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

/// Apparent bytes and allocated bytes (st_blocks × 512) of every file under `p`.
fn du(p: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    for entry in std::fs::read_dir(p).unwrap() {
        let path = entry.unwrap().path();
        let m = std::fs::metadata(&path).unwrap();
        let (len, alloc) = if m.is_dir() {
            du(&path)
        } else {
            (m.len(), m.blocks() * 512)
        };
        total.0 += len;
        total.1 += alloc;
    }
    total
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
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
    println!("  {what:<52} {value}");
}

fn users_per_tenant() -> usize {
    std::env::var(USERS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// A realistic user: names, e-mail, POSIX attributes, and 1–2 of the tenant's groups.
fn user(tenant: &str, i: usize, groups: &[GroupId]) -> NewUser {
    let n = groups.len();
    let mut member_of = Vec::new();
    if let Some(g) = groups.get(i % n) {
        member_of.push(*g);
    }
    // Every third user is in a second group.
    if i.is_multiple_of(3) {
        if let Some(g) = groups
            .get((i / 3 + 1 + i) % n)
            .filter(|g| !member_of.contains(g))
        {
            member_of.push(*g);
        }
    }
    NewUser {
        email: Some(format!("user-{i:04}@{tenant}.example")),
        given_name: Some(format!("Given{i}")),
        family_name: Some(format!("Family{i}")),
        posix: Some(NewPosix::default()),
        groups: member_of,
        ..new_user(&format!("user-{i:04}"))
    }
}

fn main() {
    match std::env::var_os(REOPEN_ENV) {
        Some(store) => reopen(Path::new(&store)),
        None => load(),
    }
}

/// Builds the store, reports load time, memory and size, then measures the reopened store in a
/// child process (so its memory figures are those of a process that only opened the store).
fn load() {
    let run = Stopwatch::start();
    let per_tenant = users_per_tenant();
    let users_total = TENANTS * per_tenant;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    println!(
        "tessera scale: {TENANTS} customers (root → {MSPS} MSPs → {CUSTOMERS_PER_MSP} each), \
         {per_tenant} users and {GROUPS_PER_TENANT} groups each = {users_total} users; \
         create_many batches of ≤ {MAX_BATCH}; store in {}",
        path.display()
    );

    let dir = open(&path);
    let load = Stopwatch::start();
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
    let mut customers: Vec<Tenant> = Vec::with_capacity(TENANTS);
    for m in 0..MSPS {
        let msp = dir
            .tenants()
            .create(
                &sys(),
                root.id,
                new_tenant(&format!("msp-{m}"), TenantKind::Msp),
            )
            .unwrap();
        for c in 0..CUSTOMERS_PER_MSP {
            let slug = format!("cust-{m}-{c:02}");
            customers.push(
                dir.tenants()
                    .create(&sys(), msp.id, new_tenant(&slug, TenantKind::Customer))
                    .unwrap(),
            );
        }
    }
    let tenants_time = load.elapsed();
    let groups_sw = Stopwatch::start();
    let mut groups_of_tenant: Vec<Vec<GroupId>> = Vec::with_capacity(customers.len());
    for t in &customers {
        groups_of_tenant.push(
            (0..GROUPS_PER_TENANT)
                .map(|g| {
                    dir.groups()
                        .create(&sys(), t.id, new_group(&format!("group-{g}")))
                        .unwrap()
                        .id
                })
                .collect(),
        );
    }
    let groups_time = groups_sw.elapsed();
    let users_sw = Stopwatch::start();
    let mut batches = 0;
    for (t, groups) in customers.iter().zip(&groups_of_tenant) {
        let all: Vec<NewUser> = (0..per_tenant).map(|i| user(&t.slug, i, groups)).collect();
        let mut rest = all.into_iter().peekable();
        while rest.peek().is_some() {
            let batch: Vec<NewUser> = rest.by_ref().take(MAX_BATCH).collect();
            dir.users().create_many(&sys(), t.id, batch).unwrap();
            batches += 1;
        }
    }
    let users_time = users_sw.elapsed();
    let load_time = load.elapsed();
    let (hwm_load, rss_load) = rss();
    let disk_reported = dir.disk_size().unwrap();
    let (disk_apparent, disk_allocated) = du(&path);

    // One transaction, and so one commit and log sync, per user.
    let first = customers.first().unwrap();
    let first_groups = groups_of_tenant.first().unwrap();
    let single_sw = Stopwatch::start();
    for i in 0..SINGLE_CREATES {
        let u = user(&first.slug, per_tenant + i, first_groups);
        dir.users().create(&sys(), first.id, u).unwrap();
    }
    let single_time = single_sw.elapsed();

    // A distributor-wide LDAP service account, so lookups can also run with authorisation.
    let svc = dir
        .users()
        .create(
            &sys(),
            root.id,
            NewUser {
                kind: UserKind::Service,
                ..new_user("svc-ldap")
            },
        )
        .unwrap();
    let roles = ["Directory Reader", "User Administrator"]
        .map(|r| dir.rbac().role_by_name(&sys(), root.id, r).unwrap().id);
    dir.rbac()
        .assign(
            &sys(),
            root.id,
            NewAssignment {
                subject: Subject::User {
                    tenant: root.id,
                    id: svc.id,
                },
                rights: RightSet::EMPTY,
                roles: roles.to_vec(),
                expires_at: None,
            },
        )
        .unwrap();
    drop(dir);

    let loaded = users_total as f64;
    println!();
    println!("load ({users_total} users in {batches} create_many calls)");
    row(
        &format!("tenants (1 root + {MSPS} MSPs + {TENANTS} customers)"),
        secs(tenants_time),
    );
    row(
        &format!("groups ({} single creates)", TENANTS * GROUPS_PER_TENANT),
        secs(groups_time),
    );
    row(
        "users (create_many)",
        format!(
            "{}  = {:.0} users/s, {} per user",
            secs(users_time),
            loaded / users_time.as_secs_f64(),
            per_op(users_time, users_total)
        ),
    );
    row(
        "total load",
        format!(
            "{}  = {:.0} users/s overall",
            secs(load_time),
            loaded / load_time.as_secs_f64()
        ),
    );
    row(
        &format!("single create × {SINGLE_CREATES} (one commit each)"),
        format!(
            "{}  = {:.0} users/s, {} per user",
            secs(single_time),
            SINGLE_CREATES as f64 / single_time.as_secs_f64(),
            per_op(single_time, SINGLE_CREATES)
        ),
    );
    println!("memory of the loading process");
    row("VmHWM after load", mib(hwm_load));
    row("VmRSS after load", mib(rss_load));
    println!("disk after load");
    row("Directory::disk_size()", mib(disk_reported));
    row("files under the store: apparent size", mib(disk_apparent));
    row(
        "files under the store: allocated blocks",
        mib(disk_allocated),
    );
    row(
        "allocated bytes per user",
        format!("{:.0} B", disk_allocated as f64 / loaded),
    );

    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .env(REOPEN_ENV, &path)
        .env(USERS_ENV, per_tenant.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "the reopen phase failed: {status}");
    println!("bench runtime {:.1} s", run.elapsed().as_secs_f64());
}

/// Opens an existing store (built by `load`) and measures lookups.
fn reopen(path: &Path) {
    let per_tenant = users_per_tenant();
    let (_, rss_start) = rss();
    let sw = Stopwatch::start();
    let dir = open(path);
    let open_time = sw.elapsed();
    let (_, rss_open) = rss();
    let root = dir.tenants().root(&sys()).unwrap();
    let customers: Vec<TenantId> = dir
        .tenants()
        .list(&sys())
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == TenantKind::Customer)
        .map(|t| t.id)
        .collect();
    assert_eq!(customers.len(), TENANTS);
    let svc = dir
        .users()
        .by_username(&sys(), root.id, "svc-ldap")
        .unwrap();
    let svc = Actor::user(root.id, svc.id, None, Protocol::Ldap);

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pick = |rng: &mut ChaCha8Rng| -> (TenantId, String) {
        let t = customers
            .get(rng.gen_range(0..customers.len()))
            .copied()
            .unwrap();
        (t, format!("user-{:04}", rng.gen_range(0..per_tenant)))
    };
    let (t, name) = pick(&mut rng);
    let sw = Stopwatch::start();
    dir.users().by_username(&sys(), t, &name).unwrap();
    let first_sys = sw.elapsed();
    let (t, name) = pick(&mut rng);
    let sw = Stopwatch::start();
    dir.users().by_username(&svc, t, &name).unwrap();
    let first_svc = sw.elapsed();
    // The first lookup in each tenant: the service account's rights on each tenant's chain.
    let sw = Stopwatch::start();
    for t in &customers {
        let name = format!("user-{:04}", rng.gen_range(0..per_tenant));
        dir.users().by_username(&svc, *t, &name).unwrap();
    }
    let first_per_tenant = sw.elapsed();

    let timed = |actor: &Actor, queries: &[(TenantId, String)]| {
        let mut each = Vec::with_capacity(queries.len());
        let sw = Stopwatch::start();
        for (t, name) in queries {
            let one = Stopwatch::start();
            let u = dir.users().by_username(actor, *t, name).unwrap();
            each.push(one.elapsed());
            std::hint::black_box(u);
        }
        let total = sw.elapsed();
        each.sort();
        let at = |q: f64| {
            each.get(((each.len() as f64 - 1.0) * q) as usize)
                .copied()
                .unwrap_or_default()
        };
        Latency {
            n: queries.len(),
            total,
            p50: at(0.5),
            p99: at(0.99),
        }
    };
    let random = |rng: &mut ChaCha8Rng| -> Vec<(TenantId, String)> {
        (0..LOOKUPS).map(|_| pick(rng)).collect()
    };
    // Right after opening, most of the store's pages have not been read back yet.
    let cold = timed(&sys(), &random(&mut rng));
    let (_, rss_cold) = rss();
    // Every user once, tenant by tenant in username order: pages all of them in.
    let everyone: Vec<(TenantId, String)> = customers
        .iter()
        .flat_map(|t| (0..per_tenant).map(move |i| (*t, format!("user-{i:04}"))))
        .collect();
    let sweep = timed(&sys(), &everyone);
    let (_, rss_sweep) = rss();
    let warm_sys = timed(&sys(), &random(&mut rng));
    let warm_svc = timed(&svc, &random(&mut rng));
    let (hwm_end, rss_end) = rss();

    println!("reopen (fresh process) and by_username lookups (random tenant and user)");
    row("Directory::open", per_op(open_time, 1));
    row("first lookup, system actor", per_op(first_sys, 1));
    row("first lookup, service account", per_op(first_svc, 1));
    row(
        &format!("first lookup in each of {TENANTS} tenants, svc (avg)"),
        per_op(first_per_tenant, TENANTS),
    );
    for (what, l) in [
        ("random, cold, system actor", cold),
        ("every user once, system actor", sweep),
        ("random, warm, system actor", warm_sys),
        ("random, warm, service account", warm_svc),
    ] {
        row(
            &format!("{what} ×{}: avg/p50/p99", l.n),
            format!(
                "{} / {} / {}",
                per_op(l.total, l.n),
                per_op(l.p50, 1),
                per_op(l.p99, 1)
            ),
        );
    }
    println!("memory of the reopening process");
    row("VmRSS before open", mib(rss_start));
    row("VmRSS after open", mib(rss_open));
    row("VmRSS after 10k cold lookups", mib(rss_cold));
    row("VmRSS after reading every user", mib(rss_sweep));
    row("VmRSS at end", mib(rss_end));
    row("VmHWM at end", mib(hwm_end));
}
