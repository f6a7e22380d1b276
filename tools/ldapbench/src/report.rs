//! The side-by-side report of a `bench/ldap/run.sh` run: it reads the JSON lines the other
//! subcommands recorded (workload runs, RSS samples, the argon2 timing, sides that could not
//! run) and prints one table per dataset size, the RSS lines and the targets with
//! PASS/FAIL. It measures nothing itself.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// The two servers, in table order.
pub const SIDES: [&str; 2] = ["slapd", "tessera"];

/// Appends one JSON object as a line to `path`.
pub fn record(path: &Path, v: &Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{v}").with_context(|| format!("writing {}", path.display()))
}

/// `VmRSS`, `VmHWM`, `RssAnon` and `RssFile` of a process, in KiB.
pub fn proc_rss(pid: u32) -> Result<[(&'static str, u64); 4]> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let kib = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok([
        ("vmrss_kib", kib("VmRSS:")),
        ("vmhwm_kib", kib("VmHWM:")),
        ("rss_anon_kib", kib("RssAnon:")),
        ("rss_file_kib", kib("RssFile:")),
    ])
}

/// The kernel's clock ticks per second for `/proc/<pid>/stat` times (`AT_CLKTCK` from this
/// process's auxiliary vector; 100 when it cannot be read, Linux's usual value).
fn clock_ticks_per_sec() -> u64 {
    const AT_CLKTCK: u64 = 17;
    let Ok(auxv) = std::fs::read("/proc/self/auxv") else {
        return 100;
    };
    let word = |c: &[u8]| -> u64 {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(c) {
            *d = *s;
        }
        u64::from_ne_bytes(b)
    };
    auxv.chunks_exact(16)
        .map(|pair| pair.split_at(8))
        .find(|(k, _)| word(k) == AT_CLKTCK)
        .map(|(_, v)| word(v))
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// CPU time (user + system, all threads) a process has used so far, in microseconds, from
/// `/proc/<pid>/stat` (clock-tick resolution, usually 10 ms).
pub fn proc_cpu_us(pid: u32) -> Result<u64> {
    stat_cpu_us(&format!("/proc/{pid}/stat"))
}

/// CPU time (user + system) the calling thread has used so far, in microseconds, from
/// `/proc/thread-self/stat` (clock-tick resolution: time many operations at once).
pub fn thread_cpu_us() -> Result<u64> {
    stat_cpu_us("/proc/thread-self/stat")
}

fn stat_cpu_us(path: &str) -> Result<u64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{path}: no field {}", i + 3))
    };
    let ticks = num(11)? + num(12)?;
    Ok(ticks * 1_000_000 / clock_ticks_per_sec())
}

/// A field of a record, `Null` when missing.
fn f<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.get(k).unwrap_or(&Value::Null)
}

struct Records(Vec<Value>);

impl Records {
    fn find(&self, kind: &str, users: u64, side: &str, extra: (&str, &str)) -> Option<&Value> {
        self.0.iter().rev().find(|v| {
            f(v, "kind") == kind
                && f(v, "users").as_u64() == Some(users)
                && f(v, "side") == side
                && f(v, extra.0) == extra.1
        })
    }

    /// The run of a case to report: with several rounds, the one with the median rate; a
    /// round with errors wins, so the table shows them.
    fn run(&self, users: u64, side: &str, case: &str) -> Option<&Value> {
        let mut rounds: Vec<&Value> = self
            .0
            .iter()
            .filter(|v| {
                f(v, "kind") == "run"
                    && f(v, "users").as_u64() == Some(users)
                    && f(v, "side") == side
                    && f(v, "case") == case
            })
            .collect();
        if let Some(bad) = rounds
            .iter()
            .find(|v| f(v, "errors").as_u64().unwrap_or(1) > 0)
        {
            return Some(bad);
        }
        let rate = |v: &&Value| f(v, "ops_per_sec").as_f64().unwrap_or(0.0);
        rounds.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        rounds.get(rounds.len() / 2).copied()
    }

    /// The rates of every round of a case, in the order they ran.
    fn rates(&self, users: u64, side: &str, case: &str) -> Vec<f64> {
        self.0
            .iter()
            .filter(|v| {
                f(v, "kind") == "run"
                    && f(v, "users").as_u64() == Some(users)
                    && f(v, "side") == side
                    && f(v, "case") == case
            })
            .filter_map(|v| f(v, "ops_per_sec").as_f64())
            .collect()
    }

    fn rss(&self, users: u64, side: &str, phase: &str) -> Option<&Value> {
        self.find("rss", users, side, ("phase", phase))
    }

    fn unavailable(&self, users: u64, side: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|v| {
                f(v, "kind") == "unavailable"
                    && f(v, "side") == side
                    && (f(v, "users").as_u64() == Some(users) || f(v, "users").is_null())
            })
            .map(|v| f(v, "reason").as_str().unwrap_or("unknown").to_string())
    }
}

/// A successful run's rate, or why there is none.
fn rate(v: Option<&Value>) -> Result<f64, &'static str> {
    match v {
        None => Err("n/a"),
        Some(v) if f(v, "errors").as_u64().unwrap_or(1) > 0 => Err("ERRORS"),
        Some(v) => f(v, "ops_per_sec").as_f64().ok_or("n/a"),
    }
}

/// Microseconds as a short duration (`97µs`, `9.3ms`, `1.20s`).
fn dur(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.1}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// One side's cells of a row: ops/s (`*` when the run stopped at its time limit), p50, p99 and
/// the server's CPU time per operation.
fn cell(v: Option<&Value>) -> String {
    match v {
        None => format!("{:>12} {:>8} {:>8} {:>7}", "n/a", "", "", ""),
        Some(r) => {
            let us = |k: &str| f(r, k).as_f64().map_or("".into(), dur);
            let errors = f(r, "errors").as_u64().unwrap_or(0);
            let ops = if errors > 0 {
                format!("{errors} ERR")
            } else {
                let mark = if f(r, "time_limited").as_bool() == Some(true) {
                    "*"
                } else {
                    ""
                };
                format!("{:.0}{mark}", f(r, "ops_per_sec").as_f64().unwrap_or(0.0))
            };
            format!(
                "{ops:>12} {:>8} {:>8} {:>7}",
                us("p50_us"),
                us("p99_us"),
                us("server_cpu_us_per_op")
            )
        }
    }
}

fn mib(v: &Value, k: &str) -> String {
    format!("{:.1}", f(v, k).as_f64().unwrap_or(0.0) / 1024.0)
}

fn rss_text(r: &Records, users: u64, side: &str) -> String {
    let phases = ["after-load", "after-warmup", "after-searches", "after-runs"];
    let parts: Vec<String> = phases
        .iter()
        .filter_map(|p| {
            r.rss(users, side, p)
                .map(|v| format!("{p} {}", mib(v, "vmrss_kib")))
        })
        .collect();
    match r.rss(users, side, "after-runs") {
        Some(end) => format!(
            "VmRSS MiB: {}; at end anon {} + file {}; peak VmHWM {}",
            parts.join(", "),
            mib(end, "rss_anon_kib"),
            mib(end, "rss_file_kib"),
            mib(end, "vmhwm_kib")
        ),
        None => "no sample".into(),
    }
}

/// What a target check concluded.
fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Prints the report; returns whether every target that could be checked passed.
pub fn print(path: &Path) -> Result<bool> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let records = Records(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<Value>, _>>()
            .context("a results line is not JSON")?,
    );
    let r = &records;
    let sizes: BTreeSet<u64> = r.0.iter().filter_map(|v| f(v, "users").as_u64()).collect();
    let mut cases: Vec<(String, String)> = Vec::new();
    for v in r.0.iter().filter(|v| f(v, "kind") == "run") {
        let case = f(v, "case").as_str().unwrap_or("").to_string();
        if !cases.iter().any(|(c, _)| *c == case) {
            let title = format!(
                "{} ({} conns)",
                f(v, "workload").as_str().unwrap_or("?"),
                f(v, "connections")
            );
            cases.push((case, title));
        }
    }
    let hash = r.0.iter().rev().find(|v| f(v, "kind") == "hash-time");
    let mut all_pass = true;
    let mut targets: Vec<String> = Vec::new();

    for &users in &sizes {
        let pw =
            r.0.iter()
                .find(|v| f(v, "users").as_u64() == Some(users) && f(v, "password_users").is_u64())
                .map_or(String::new(), |v| {
                    format!(" ({} with passwords)", f(v, "password_users"))
                });
        println!();
        println!("== {users} users{pw} ==");
        println!(
            "  {:<26} | {:>12} {:>8} {:>8} {:>7} | {:>12} {:>8} {:>8} {:>7} | {:>9}",
            "workload",
            "slapd ops/s",
            "p50",
            "p99",
            "cpu/op",
            "tessera ops/s",
            "p50",
            "p99",
            "cpu/op",
            "T / slapd"
        );
        for (case, title) in &cases {
            let (s, t) = (r.run(users, "slapd", case), r.run(users, "tessera", case));
            let ratio = match (rate(s), rate(t)) {
                (Ok(a), Ok(b)) if a > 0.0 => format!("{:.2}×", b / a),
                _ => "n/a".into(),
            };
            println!("  {title:<26} | {} | {} | {ratio:>9}", cell(s), cell(t));
        }
        let limited = r.0.iter().any(|v| {
            f(v, "kind") == "run"
                && f(v, "users").as_u64() == Some(users)
                && f(v, "time_limited").as_bool() == Some(true)
        });
        if limited {
            println!(
                "  * stopped at its time limit before all its operations ran: the rate over the \
                 time it ran"
            );
        }
        println!(
            "  cpu/op: the server's CPU time (user + system, all threads) per successful \
             operation, from /proc/<pid>/stat"
        );
        for (case, _) in &cases {
            let spread: Vec<String> = SIDES
                .iter()
                .filter_map(|side| {
                    let rates = r.rates(users, side, case);
                    (rates.len() > 1).then(|| {
                        let each: Vec<String> = rates.iter().map(|x| format!("{x:.0}")).collect();
                        format!("{side} {}", each.join(" "))
                    })
                })
                .collect();
            if !spread.is_empty() {
                println!("  rounds of {case} (ops/s): {}", spread.join("; "));
            }
        }
        for (case, _) in &cases {
            for side in SIDES {
                if let Some(v) = r.run(users, side, case) {
                    if f(v, "errors").as_u64().unwrap_or(0) > 0 {
                        println!(
                            "  ! {side} {case}: {} errors; first: {}",
                            f(v, "errors"),
                            f(v, "first_error").as_str().unwrap_or("?")
                        );
                    }
                }
            }
        }
        for side in SIDES {
            match r.unavailable(users, side) {
                Some(why) => println!("  {side:<8} not available: {why}"),
                None => println!("  {side:<8} {}", rss_text(r, users, side)),
            }
        }
        // Search targets, per size.
        for (case, title) in cases
            .iter()
            .filter(|(c, _)| c.starts_with("uid") || c.starts_with("group"))
        {
            let line = match (
                rate(r.run(users, "slapd", case)),
                rate(r.run(users, "tessera", case)),
            ) {
                (Ok(a), Ok(b)) if a > 0.0 => {
                    let ok = b >= 1.5 * a;
                    all_pass &= ok;
                    format!("{} ({:.2}× slapd)", verdict(ok), b / a)
                }
                (_, Err("ERRORS")) => {
                    all_pass = false;
                    "FAIL (Tessera answered with errors)".into()
                }
                _ => "n/a (a side did not run)".into(),
            };
            targets.push(format!("{users:>6} users  {title} ≥ 1.5 × slapd: {line}"));
        }
    }

    // Bind targets: on the largest size Tessera ran.
    let largest_with = |case: &str| {
        sizes
            .iter()
            .rev()
            .find_map(|u| r.run(*u, "tessera", case).map(|v| (*u, v)))
    };
    if let Some(h) = hash {
        let target = f(h, "target_binds_per_sec").as_f64().unwrap_or(f64::MAX);
        let line = match largest_with("argon2") {
            Some((u, v)) => match rate(Some(v)) {
                Ok(got) => {
                    let ok = got >= target;
                    all_pass &= ok;
                    format!("{} ({got:.0}/s at {u} users)", verdict(ok))
                }
                Err(e) => {
                    all_pass = false;
                    format!("FAIL ({e})")
                }
            },
            None => "n/a (Tessera did not run)".into(),
        };
        targets.push(format!(
            "argon2 binds ≥ 0.95 × {} cores / {:.1} ms = {target:.0}/s: {line}   [this machine sustains {:.0} verifications/s with {} threads at once]",
            f(h, "cores"),
            f(h, "single_hash_ms").as_f64().unwrap_or(0.0),
            f(h, "parallel_verifications_per_sec").as_f64().unwrap_or(0.0),
            f(h, "cores"),
        ));
    }
    let line = match largest_with("repeat") {
        Some((u, v)) => match rate(Some(v)) {
            Ok(got) => {
                let ok = got >= 10_000.0;
                all_pass &= ok;
                format!("{} ({got:.0}/s at {u} users)", verdict(ok))
            }
            Err(e) => {
                all_pass = false;
                format!("FAIL ({e})")
            }
        },
        None => "n/a (Tessera did not run)".into(),
    };
    targets.push(format!("cached re-binds ≥ 10,000/s: {line}"));
    let kib = |side: &str, phase: &str, field: &str| {
        r.rss(100_000, side, phase)
            .and_then(|v| f(v, field).as_f64())
    };
    let mib2 =
        |phase: &str, field: &str| match (kib("tessera", phase, field), kib("slapd", phase, field))
        {
            (Some(t), Some(s)) => Some(format!(
                "tessera {:.1} MiB, slapd {:.1} MiB",
                t / 1024.0,
                s / 1024.0
            )),
            _ => None,
        };
    let line = match (
        kib("slapd", "after-runs", "vmrss_kib"),
        kib("tessera", "after-runs", "vmrss_kib"),
    ) {
        (Some(a), Some(b)) => {
            let ok = b <= a;
            all_pass &= ok;
            let mut s = format!(
                "{} (VmRSS after all runs: {}",
                verdict(ok),
                mib2("after-runs", "vmrss_kib").unwrap_or_default()
            );
            if let Some(peak) = mib2("after-runs", "vmhwm_kib") {
                s.push_str(&format!("; peak VmHWM: {peak}"));
            }
            if let Some(warm) = mib2("after-warmup", "vmrss_kib") {
                s.push_str(&format!(
                    "; VmRSS after the one-connection warm-up, before concurrent binds: {warm} \
                     — slapd grows after it mostly because glibc keeps each of its threads' 19 \
                     MiB argon2 buffers)"
                ));
            } else {
                s.push(')');
            }
            s
        }
        _ => "n/a (needs both servers at 100000 users)".into(),
    };
    targets.push(format!("RSS at 100k users ≤ slapd's: {line}"));

    println!();
    println!("== targets (Tessera) ==");
    for t in &targets {
        println!("  {t}");
    }
    Ok(all_pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_memory_and_cpu_time() {
        let pid = std::process::id();
        let rss = proc_rss(pid).unwrap();
        assert!(rss.iter().any(|(k, v)| *k == "vmrss_kib" && *v > 0));
        let before = proc_cpu_us(pid).unwrap();
        let thread_before = thread_cpu_us().unwrap();
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(proc_cpu_us(pid).unwrap() >= before, "{x}");
        assert!(thread_cpu_us().unwrap() >= thread_before);
        assert!((10..=10_000).contains(&clock_ticks_per_sec()));
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(dur(97.4), "97µs");
        assert_eq!(dur(9_300.0), "9.3ms");
        assert_eq!(dur(1_204_000.0), "1.20s");
    }
}
