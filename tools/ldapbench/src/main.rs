//! `ldapbench`: the load tool behind `make bench-ldap` (bench/ldap/run.sh). It generates the one
//! dataset both servers get (slapd's LDIF, Tessera's store), runs timed LDAP workloads against
//! either server, and times a single argon2id verification for the bind target. It talks to
//! servers only over LDAP and never starts or stops them: the script does that. `make
//! bench-radius` (bench/radius/run.sh) reuses its seed (with a RADIUS client), its passwords and
//! its argon2id timing.

mod clock;
mod data;
mod hash;
mod ldif;
mod load;
mod report;
mod seed;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use data::Dataset;
use std::path::PathBuf;
use std::time::Duration;

// The load tool decodes every answer into many small buffers on the same cores as the server.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "ldapbench",
    about = "LDAP load tool: one dataset for slapd and Tessera, timed workloads, argon2 timing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The dataset's size, shared by every subcommand that needs it.
#[derive(Args, Debug, Clone)]
struct DataArgs {
    /// Users in the tenant (`user-00000` …).
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// How many of them (from `user-00000`) have a password and may bind.
    #[arg(long, default_value_t = 2_000)]
    password_users: usize,
    /// The tenant's slug (`o=<slug>,dc=tessera,dc=local`).
    #[arg(long, default_value = "bench")]
    tenant: String,
}

impl DataArgs {
    fn dataset(&self) -> Dataset {
        Dataset {
            slug: self.tenant.clone(),
            users: self.users,
            password_users: self.password_users.min(self.users),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write slapd's LDIF (for slapadd) with `{ARGON2}` argon2id password hashes.
    GenLdif {
        #[command(flatten)]
        data: DataArgs,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// Hashing threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// A file of hashes to reuse between runs (written when missing or too short).
        #[arg(long)]
        hash_cache: Option<PathBuf>,
    },
    /// Build a new Tessera store with the same dataset, and its master key file.
    SeedTessera {
        #[command(flatten)]
        data: DataArgs,
        /// The store's directory (new or empty).
        #[arg(long)]
        data_dir: PathBuf,
        /// The master key file to create (outside the data directory).
        #[arg(long)]
        master_key_file: PathBuf,
        /// Also register a RADIUS client (NAS 127.0.0.1/32, this shared secret, 16 characters
        /// or more) bound to the group of the users with passwords (`make bench-radius`).
        #[arg(long)]
        radius_secret: Option<String>,
        /// Install this certificate chain (PEM) and `--eap-key` as the bench tenant's EAP-TTLS
        /// certificate, so both servers of `make bench-radius` present the same one.
        #[arg(long, requires = "eap_key")]
        eap_cert: Option<PathBuf>,
        /// The private key (PEM) of `--eap-cert`.
        #[arg(long, requires = "eap_cert")]
        eap_key: Option<PathBuf>,
    },
    /// Print `username password` lines of the dataset's users `first` .. `first + count`
    /// (for a server seeded from outside this tool: `make bench-radius` gives them to
    /// FreeRADIUS).
    Passwords {
        /// The first user.
        #[arg(long, default_value_t = 0)]
        first: usize,
        /// How many.
        #[arg(long)]
        count: usize,
    },
    /// Run one workload against a server and report ops/s and latency percentiles.
    Run(Box<RunArgs>),
    /// Time one argon2id verification (m=19456, t=2, p=1) on one thread.
    HashTime {
        /// Verifications timed (after one warm-up).
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        /// Append the result as a JSON line to this file (for `report`).
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Record a server process's memory (VmRSS, VmHWM, RssAnon, RssFile from /proc).
    Rss {
        /// The server's process id.
        #[arg(long)]
        pid: u32,
        /// The dataset's size.
        #[arg(long)]
        users: usize,
        /// `slapd` or `tessera`.
        #[arg(long)]
        side: String,
        /// When: after-load, after-warmup, after-runs.
        #[arg(long)]
        phase: String,
        /// The results file.
        #[arg(long)]
        record: PathBuf,
    },
    /// Record that a side could not run, and why (the report says so instead of a number).
    Unavailable {
        /// `slapd` or `tessera`.
        #[arg(long)]
        side: String,
        /// The dataset's size (omit: every size).
        #[arg(long)]
        users: Option<usize>,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The results file.
        #[arg(long)]
        record: PathBuf,
    },
    /// Print the side-by-side table and the targets from a results file. With --strict, exit
    /// status 3 when a target that could be checked failed.
    Report {
        /// The results file.
        results: PathBuf,
        /// Fail when a target fails.
        #[arg(long)]
        strict: bool,
    },
    /// Wait until an LDAP server answers at the URL.
    Wait {
        /// `ldap://host:port`.
        #[arg(long)]
        url: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
        /// Give up at once when this process exits (the server being started).
        #[arg(long)]
        pid: Option<u32>,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// `ldap://127.0.0.1:PORT`.
    #[arg(long)]
    url: String,
    /// The workload.
    #[arg(long, value_enum)]
    workload: load::Workload,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Operations in all.
    #[arg(long, default_value_t = 10_000)]
    ops: usize,
    #[command(flatten)]
    data: DataArgs,
    /// The searches' bind DN (default: the dataset's service account).
    #[arg(long)]
    bind_dn: Option<String>,
    /// The searches' bind password (default: the service account's).
    #[arg(long)]
    bind_password: Option<String>,
    /// bind-argon2: first user of the run (users first_user .. first_user+ops); bind-repeat:
    /// the user.
    #[arg(long, default_value_t = 0)]
    first_user: usize,
    /// Seed of the random users and groups.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The uid search's filter; `{uid}` stands for the uid.
    #[arg(long, default_value = "(&(objectClass=inetOrgPerson)(uid={uid}))")]
    uid_filter: String,
    /// Rounds on the same connections; the report is the round with the median rate.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Client runtime threads (the client shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// One operation's time limit, in seconds.
    #[arg(long, default_value_t = 30)]
    op_timeout_secs: u64,
    /// The run's time limit, in seconds: no operation starts after it (a time-limited run
    /// reports the rate it reached; it is not an error).
    #[arg(long, default_value_t = 300)]
    max_secs: u64,
    /// The server's process id: its CPU time per operation is measured and reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Append the result as a JSON line to this file (for `report`).
    #[arg(long)]
    record: Option<PathBuf>,
    /// The server, for the record: `slapd` or `tessera`.
    #[arg(long, default_value = "server")]
    side: String,
    /// The table row, for the record (e.g. `uid-16`).
    #[arg(long)]
    case: Option<String>,
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    Ok(rt)
}

/// A run's record: its JSON and what the report groups it by.
fn with_context(mut v: serde_json::Value, args: &RunArgs) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), "run".into());
        o.insert("side".into(), args.side.clone().into());
        let case = args
            .case
            .clone()
            .unwrap_or_else(|| args.workload.name().into());
        o.insert("case".into(), case.into());
        o.insert("users".into(), args.data.users.into());
        o.insert("password_users".into(), args.data.password_users.into());
    }
    v
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::GenLdif {
            data,
            out,
            threads,
            hash_cache,
        } => {
            let d = data.dataset();
            let sw = clock::Stopwatch::start();
            ldif::write(
                &d,
                &out,
                threads.unwrap_or_else(cores),
                hash_cache.as_deref(),
            )?;
            println!(
                "wrote {} ({} users, {} with argon2id passwords, {} groups) in {:.1} s",
                out.display(),
                d.users,
                d.password_users,
                d.group_count() + data::BIG_GROUPS + 1,
                sw.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::SeedTessera {
            data,
            data_dir,
            master_key_file,
            radius_secret,
            eap_cert,
            eap_key,
        } => seed::seed(
            &data.dataset(),
            &data_dir,
            &master_key_file,
            radius_secret.as_deref(),
            eap_cert.as_deref().zip(eap_key.as_deref()),
        ),
        Command::Passwords { first, count } => {
            use std::io::Write;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for i in first..first.saturating_add(count) {
                writeln!(out, "{} {}", Dataset::username(i), Dataset::password(i))?;
            }
            out.flush()?;
            Ok(())
        }
        Command::Run(args) => {
            let d = args.data.dataset();
            let plan = load::Plan {
                url: args.url.clone(),
                workload: args.workload,
                connections: args.connections,
                ops: args.ops,
                bind_dn: args.bind_dn.clone().unwrap_or_else(|| d.service_dn()),
                bind_password: args
                    .bind_password
                    .clone()
                    .unwrap_or_else(|| data::SERVICE_PASSWORD.to_string()),
                data: d,
                first_user: args.first_user,
                seed: args.seed,
                uid_filter: args.uid_filter.clone(),
                op_timeout: Duration::from_secs(args.op_timeout_secs.max(1)),
                max_time: Duration::from_secs(args.max_secs.max(1)),
                server_pid: args.server_pid,
            };
            let ops = plan.ops;
            let report = match runtime(args.threads)?.block_on(load::run(plan, args.rounds)) {
                Ok(r) => r,
                Err(e) => {
                    // Recorded as a run where nothing succeeded, so the table says so.
                    if let Some(path) = &args.record {
                        let v = serde_json::json!({
                            "ok": 0, "errors": ops.max(1), "first_error": format!("{e:#}"),
                            "ops_per_sec": 0.0, "connections": args.connections,
                            "workload": args.workload.name(),
                        });
                        report::record(path, &with_context(v, &args))?;
                    }
                    return Err(e);
                }
            };
            println!("{}", report.line());
            if let Some(path) = &args.record {
                report::record(path, &with_context(report.json(), &args))?;
            }
            Ok(())
        }
        Command::HashTime { rounds, record } => {
            let t = hash::time_verify(rounds)?;
            let ms = t.median.as_secs_f64() * 1000.0;
            let n = cores();
            let target = 0.95 * n as f64 / t.median.as_secs_f64().max(1e-9);
            let parallel = hash::parallel_rate(n, rounds.div_ceil(2))?;
            println!(
                "argon2id m={} t={} p={}: one verification {ms:.1} ms (median of {}, fastest {:.1} ms, \
                 {:.1} ms of CPU); {n} cores → bind target 0.95 × {n} / {ms:.1} ms = {target:.0} binds/s; \
                 {n} threads at once sustain {parallel:.0} verifications/s here",
                hash::M_KIB,
                hash::T,
                hash::P,
                t.rounds,
                t.min.as_secs_f64() * 1000.0,
                t.cpu.unwrap_or_default().as_secs_f64() * 1000.0
            );
            if let Some(path) = &record {
                report::record(
                    path,
                    &serde_json::json!({
                        "kind": "hash-time",
                        "single_hash_ms": ms,
                        "fastest_hash_ms": t.min.as_secs_f64() * 1000.0,
                        "single_hash_cpu_ms": t.cpu.map(|c| c.as_secs_f64() * 1000.0),
                        "cores": n,
                        "target_binds_per_sec": target,
                        "parallel_verifications_per_sec": parallel,
                    }),
                )?;
            }
            Ok(())
        }
        Command::Wait {
            url,
            timeout_secs,
            pid,
        } => runtime(1)?
            .block_on(load::wait_ready(
                &url,
                Duration::from_secs(timeout_secs),
                pid,
            ))
            .context("waiting for the server"),
        Command::Rss {
            pid,
            users,
            side,
            phase,
            record,
        } => {
            let mut v = serde_json::json!({
                "kind": "rss", "users": users, "side": side, "phase": phase,
            });
            let fields = report::proc_rss(pid)?;
            let kib = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map_or(0, |(_, n)| *n)
            };
            println!(
                "{side} {phase}: VmRSS {} KiB, VmHWM {} KiB",
                kib("vmrss_kib"),
                kib("vmhwm_kib")
            );
            if let Some(o) = v.as_object_mut() {
                for (k, n) in fields {
                    o.insert(k.into(), n.into());
                }
            }
            report::record(&record, &v)
        }
        Command::Unavailable {
            side,
            users,
            reason,
            record,
        } => report::record(
            &record,
            &serde_json::json!({
                "kind": "unavailable", "side": side, "users": users, "reason": reason,
            }),
        ),
        Command::Report { results, strict } => {
            let passed = report::print(&results)?;
            if strict && !passed {
                std::process::exit(3);
            }
            Ok(())
        }
    }
}
