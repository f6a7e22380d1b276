//! The load generator: N LDAP connections (the `ldap3` client) share a fixed number of
//! operations of one workload, each timed; every answer is checked against the dataset (one
//! entry, the asked user's, a group with exactly its members, a successful bind), so a fast
//! wrong answer counts as an error, not as throughput. Bounded in operations and in time.

use crate::clock::Stopwatch;
use crate::data::{mix, Dataset};
use anyhow::{bail, Context, Result};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What each operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Bound as the service account: a user by uid (random), subtree under `ou=Users`, with the
    /// attributes a login or provisioning client asks for.
    SearchUid,
    /// Bound as the service account: a group with its members (random ordinary group).
    SearchGroup,
    /// Simple binds as different users in turn, each with its password: one argon2id
    /// verification per bind (no user twice in a run).
    BindArgon2,
    /// Simple binds as the same user with the same password: the verified-credential path.
    BindRepeat,
}

impl Workload {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::SearchUid => "search-uid",
            Workload::SearchGroup => "search-group",
            Workload::BindArgon2 => "bind-argon2",
            Workload::BindRepeat => "bind-repeat",
        }
    }

    fn binds_as_service(self) -> bool {
        matches!(self, Workload::SearchUid | Workload::SearchGroup)
    }
}

/// The attributes the uid search asks for (an SSSD/PAM-style login lookup).
pub const USER_ATTRS: &[&str] = &[
    "uid",
    "cn",
    "sn",
    "givenName",
    "displayName",
    "mail",
    "uidNumber",
    "gidNumber",
    "homeDirectory",
    "loginShell",
    "objectClass",
];

/// One run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `ldap://host:port`.
    pub url: String,
    /// What to do.
    pub workload: Workload,
    /// Concurrent connections.
    pub connections: usize,
    /// Operations in all, shared by the connections.
    pub ops: usize,
    /// The dataset the server holds.
    pub data: Dataset,
    /// The searches' bind DN and password.
    pub bind_dn: String,
    /// The searches' bind password.
    pub bind_password: String,
    /// bind-argon2: the first user (runs that must not repeat users, e.g. a warm-up and the
    /// measured run, take disjoint ranges); bind-repeat: the user.
    pub first_user: usize,
    /// Seed of the random choices of users and groups.
    pub seed: u64,
    /// The uid search's filter; `{uid}` is replaced by the user's uid.
    pub uid_filter: String,
    /// One operation's time limit; a connection whose operation times out stops.
    pub op_timeout: Duration,
    /// The run's time limit: no new operation starts after it.
    pub max_time: Duration,
    /// The server's process id: its CPU time over each round is measured (per operation), a
    /// figure the machine's background load disturbs far less than the rate.
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The workload.
    pub workload: Workload,
    /// Connections used.
    pub connections: usize,
    /// Operations that succeeded with the expected answer.
    pub ok: usize,
    /// Operations that failed or answered wrongly.
    pub errors: usize,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// The run stopped at its time limit before all operations ran (not an error: bounded
    /// runs of slow workloads report the rate they reached).
    pub time_limited: bool,
    /// From the start signal to the last connection's end.
    pub seconds: f64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles of successful operations, in microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Slowest.
    pub max_us: u64,
    /// The server's CPU time (user + system, every thread) over the round, per successful
    /// operation, in microseconds (with `Plan::server_pid`).
    pub server_cpu_us_per_op: Option<f64>,
    /// The rate of every round, in order (this report is the median one).
    pub round_rates: Vec<f64>,
}

impl Report {
    /// One human line.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{:<12} conns {:>3}  ok {:>7}  errors {:>5}  {:>10.0} ops/s  p50 {}  p99 {}  p99.9 {}  max {}  ({:.2} s)",
            self.workload.name(),
            self.connections,
            self.ok,
            self.errors,
            self.ops_per_sec,
            ms(self.p50_us),
            ms(self.p99_us),
            ms(self.p999_us),
            ms(self.max_us),
            self.seconds
        );
        if let Some(c) = self.server_cpu_us_per_op {
            s.push_str(&format!("  server CPU {c:.1} µs/op"));
        }
        if self.round_rates.len() > 1 {
            let r: Vec<String> = self.round_rates.iter().map(|x| format!("{x:.0}")).collect();
            s.push_str(&format!("  [median of rounds: {} ops/s]", r.join(", ")));
        }
        if self.time_limited {
            s.push_str("  [stopped at the time limit]");
        }
        if let Some(e) = &self.first_error {
            s.push_str(&format!("\n  first error: {e}"));
        }
        s
    }

    /// One JSON object (a line for the script).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "workload": self.workload.name(),
            "connections": self.connections,
            "ok": self.ok,
            "errors": self.errors,
            "first_error": self.first_error,
            "time_limited": self.time_limited,
            "seconds": self.seconds,
            "ops_per_sec": self.ops_per_sec,
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "p999_us": self.p999_us,
            "max_us": self.max_us,
            "server_cpu_us_per_op": self.server_cpu_us_per_op,
            "round_rates": self.round_rates,
        })
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// Why one operation failed.
enum OpError {
    /// The server answered with a result code or a wrong answer: the connection goes on.
    Answer(String),
    /// The connection is unusable (I/O, protocol, time-out): it stops.
    Connection(String),
}

impl From<LdapError> for OpError {
    fn from(e: LdapError) -> Self {
        match e {
            LdapError::LdapResult { result } => OpError::Answer(result.to_string()),
            other => OpError::Connection(other.to_string()),
        }
    }
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: usize,
    first_error: Option<String>,
    time_limited: bool,
}

impl Tally {
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }
}

/// Opens an LDAP connection (plain or ldaps) with a connect timeout.
pub async fn connect(url: &str, timeout: Duration) -> Result<Ldap> {
    let settings = LdapConnSettings::new().set_conn_timeout(timeout);
    let (conn, ldap) = LdapConnAsync::with_settings(settings, url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// Checks the plan before any connection is made.
fn check(plan: &Plan) -> Result<()> {
    if plan.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let d = &plan.data;
    match plan.workload {
        Workload::SearchUid | Workload::SearchGroup if d.users == 0 => {
            bail!("--users must be at least 1")
        }
        Workload::BindArgon2 if plan.first_user + plan.ops > d.password_users => bail!(
            "bind-argon2 would repeat users: --first-user {} + --ops {} > --password-users {} \
             (a repeated user would hit the verified-credential cache, not argon2)",
            plan.first_user,
            plan.ops,
            d.password_users
        ),
        Workload::BindRepeat if plan.first_user >= d.password_users => bail!(
            "bind-repeat: user {} has no password (--password-users {})",
            plan.first_user,
            d.password_users
        ),
        _ => Ok(()),
    }
}

/// Runs `plan` `rounds` times on the same connections and reports the round with the median
/// rate (a noisy machine makes single short rounds wander). Every connection is connected (and
/// bound) before the first round; each round releases them together.
pub async fn run(plan: Plan, rounds: usize) -> Result<Report> {
    check(&plan)?;
    if rounds > 1 && plan.workload == Workload::BindArgon2 {
        bail!("bind-argon2 runs once: another round would bind the same users again (cached)");
    }
    let mut live: Vec<Ldap> = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let mut ldap = connect(&plan.url, plan.op_timeout).await?;
        if plan.workload.binds_as_service() {
            ldap.simple_bind(&plan.bind_dn, &plan.bind_password)
                .await
                .and_then(|r| r.success())
                .with_context(|| format!("binding as {}", plan.bind_dn))?;
        }
        live.push(ldap);
    }
    let mut reports = Vec::with_capacity(rounds.max(1));
    for r in 0..rounds.max(1) {
        let round = Plan {
            seed: plan.seed.wrapping_add(r as u64 * 0x1000),
            ..plan.clone()
        };
        let (report, still) = one_round(Arc::new(round), std::mem::take(&mut live)).await;
        live = still;
        reports.push(report);
    }
    for mut ldap in live {
        let _ = ldap.unbind().await;
    }
    let rates: Vec<f64> = reports.iter().map(|r| r.ops_per_sec).collect();
    reports.sort_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec));
    let mid = reports.len() / 2;
    let mut chosen = reports.into_iter().nth(mid).context("no round ran")?;
    chosen.round_rates = rates;
    Ok(chosen)
}

/// One round on the given connections; returns the ones still usable.
async fn one_round(plan: Arc<Plan>, connections: Vec<Ldap>) -> (Report, Vec<Ldap>) {
    let start = Arc::new(tokio::sync::Barrier::new(connections.len() + 1));
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|ldap| {
            let (plan, start, next) = (plan.clone(), start.clone(), next.clone());
            tokio::spawn(async move { connection(ldap, &plan, &start, &next).await })
        })
        .collect();
    let cpu_before = plan
        .server_pid
        .and_then(|p| crate::report::proc_cpu_us(p).ok());
    start.wait().await;
    let wall = Stopwatch::start();
    let mut all = Vec::with_capacity(plan.ops);
    let mut still = Vec::with_capacity(tasks.len());
    let (mut errors, mut first_error, mut time_limited) = (0, None, false);
    for t in tasks {
        match t.await {
            Ok((ldap, tally)) => {
                still.extend(ldap);
                all.extend(tally.latencies_us);
                errors += tally.errors;
                time_limited |= tally.time_limited;
                if first_error.is_none() {
                    first_error = tally.first_error;
                }
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(format!("a connection task failed: {e}"));
            }
        }
    }
    let seconds = wall.elapsed().as_secs_f64();
    let cpu_after = plan
        .server_pid
        .and_then(|p| crate::report::proc_cpu_us(p).ok());
    let server_cpu_us_per_op = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if !all.is_empty() => {
            Some(b.saturating_sub(a) as f64 / all.len() as f64)
        }
        _ => None,
    };
    // Operations never run because every connection stopped are failures too.
    let missing = plan.ops.saturating_sub(all.len() + errors);
    if missing > 0 && !time_limited {
        errors += missing;
        first_error.get_or_insert(format!(
            "{missing} operations not run (every connection stopped)"
        ));
    }
    all.sort_unstable();
    let at = |q: f64| -> u64 {
        let i = ((all.len().saturating_sub(1)) as f64 * q).round() as usize;
        all.get(i).copied().map_or(0, u64::from)
    };
    let report = Report {
        workload: plan.workload,
        connections: plan.connections,
        ok: all.len(),
        errors,
        first_error,
        time_limited,
        seconds,
        ops_per_sec: all.len() as f64 / seconds.max(1e-9),
        p50_us: at(0.50),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: all.last().copied().map_or(0, u64::from),
        server_cpu_us_per_op,
        round_rates: Vec::new(),
    };
    (report, still)
}

/// One connection's loop: takes operation numbers until they run out or time is up.
async fn connection(
    mut ldap: Ldap,
    plan: &Plan,
    start: &tokio::sync::Barrier,
    next: &AtomicUsize,
) -> (Option<Ldap>, Tally) {
    let mut tally = Tally::default();
    let mut usable = true;
    start.wait().await;
    let clock = Stopwatch::start();
    loop {
        if clock.elapsed() > plan.max_time {
            tally.time_limited = true;
            break;
        }
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= plan.ops {
            break;
        }
        let sw = Stopwatch::start();
        let done = tokio::time::timeout(plan.op_timeout, one(&mut ldap, plan, k)).await;
        let took = sw.elapsed();
        match done {
            Ok(Ok(())) => tally
                .latencies_us
                .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX)),
            Ok(Err(OpError::Answer(e))) => tally.error(e),
            Ok(Err(OpError::Connection(e))) => {
                tally.error(e);
                usable = false;
                break;
            }
            Err(_) => {
                tally.error(format!("no answer within {:?}", plan.op_timeout));
                usable = false;
                break;
            }
        }
    }
    (usable.then_some(ldap), tally)
}

/// Finds `name`'s values in an entry, case-insensitively (servers may spell it differently).
fn values<'a>(e: &'a SearchEntry, name: &str) -> &'a [String] {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map_or(&[], |(_, v)| v.as_slice())
}

/// A DN as compared here: lower case, no spaces after the commas (both servers write the
/// dataset's DNs in this simple form; no escapes occur in it).
fn dn_key(dn: &str) -> String {
    dn.split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase()
}

/// The dataset index of the user a member DN names (`uid=user-NNNNN,<users base>` compared as
/// [`dn_key`] compares, `base` being the base's components in that form), or `None`. It
/// allocates nothing: it runs for every member value of every group answer.
fn member_index(dn: &str, base: &[String]) -> Option<usize> {
    let mut parts = dn.split(',').map(str::trim);
    let rdn = parts.next()?;
    let (head, digits) = (rdn.get(..9)?, rdn.get(9..)?);
    if !head.eq_ignore_ascii_case("uid=user-") {
        return None;
    }
    // `user-{i:05}`: five digits, or more without a leading zero.
    let canonical = digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 5 || (digits.len() > 5 && !digits.starts_with('0')));
    let i: usize = digits.parse().ok()?;
    for want in base {
        if !parts.next()?.eq_ignore_ascii_case(want) {
            return None;
        }
    }
    (canonical && parts.next().is_none()).then_some(i)
}

/// Member DNs of the dataset's users checked in one pass where they are in the form the
/// dataset writes (`uid=user-NNNNN,<users base>`, any case), [`member_index`] otherwise.
struct MemberDns {
    base: Vec<String>,
    /// `,<users base>` as the dataset writes it.
    tail: String,
}

impl MemberDns {
    fn new(users_base: &str) -> MemberDns {
        MemberDns {
            base: components(users_base),
            tail: format!(",{users_base}"),
        }
    }

    /// What [`member_index`] says of `dn`.
    fn index(&self, dn: &str) -> Option<usize> {
        let fast = dn
            .get(..9)
            .filter(|head| head.eq_ignore_ascii_case("uid=user-"))
            .and_then(|_| {
                let cut = dn.len().checked_sub(self.tail.len())?;
                let (digits, tail) = (dn.get(9..cut)?, dn.get(cut..)?);
                let canonical = digits.len() >= 5
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits.len() == 5 || !digits.starts_with('0'));
                (canonical && tail.eq_ignore_ascii_case(&self.tail)).then_some(digits)
            })
            .and_then(|digits| digits.parse().ok());
        fast.or_else(|| member_index(dn, &self.base))
    }
}

/// A DN's components as [`member_index`] compares them.
fn components(dn: &str) -> Vec<String> {
    dn.split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect()
}

/// Operation number `k` of the plan, with its answer checked.
async fn one(ldap: &mut Ldap, plan: &Plan, k: usize) -> Result<(), OpError> {
    let d = &plan.data;
    let pick = mix(plan.seed ^ (k as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    match plan.workload {
        Workload::SearchUid => {
            let i = (pick % d.users as u64) as usize;
            let uid = Dataset::username(i);
            let filter = plan.uid_filter.replace("{uid}", &uid);
            let (entries, _) = ldap
                .search(&d.users_base(), Scope::Subtree, &filter, USER_ATTRS)
                .await?
                .success()?;
            let [entry] = <[_; 1]>::try_from(entries).map_err(|v: Vec<_>| {
                OpError::Answer(format!("{filter}: {} entries, expected 1", v.len()))
            })?;
            let e = SearchEntry::construct(entry);
            let want_number = d.user(i).uid_number.to_string();
            if dn_key(&e.dn) != dn_key(&d.dn_of(&uid))
                || !values(&e, "uid")
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&uid))
                || values(&e, "uidNumber") != [want_number]
            {
                return Err(OpError::Answer(format!(
                    "{filter}: the entry {} is not {uid}'s (DN, uid or uidNumber differ)",
                    e.dn
                )));
            }
            Ok(())
        }
        Workload::SearchGroup => {
            let g = (pick % d.group_count() as u64) as usize;
            let name = Dataset::group_name(g);
            let filter = format!("(&(objectClass=groupOfNames)(cn={name}))");
            let (entries, _) = ldap
                .search(&d.groups_base(), Scope::Subtree, &filter, ["cn", "member"])
                .await?
                .success()?;
            let [entry] = <[_; 1]>::try_from(entries).map_err(|v: Vec<_>| {
                OpError::Answer(format!("{filter}: {} entries, expected 1", v.len()))
            })?;
            let e = SearchEntry::construct(entry);
            // Exactly the group's members: as many values, each one of them, none twice. The
            // members are a range of users, so each value is checked by the index it names —
            // the check costs the load tool little, whichever server answers.
            let want = d.group_members(g);
            let got = values(&e, "member");
            let dns = MemberDns::new(&d.users_base());
            let mut seen = vec![false; want.len()];
            let all_distinct_members = got.iter().all(|v| {
                dns.index(v)
                    .and_then(|i| i.checked_sub(want.start))
                    .and_then(|k| seen.get_mut(k))
                    .is_some_and(|s| !std::mem::replace(s, true))
            });
            if dn_key(&e.dn) != dn_key(&d.group_dn(&name))
                || got.len() != want.len()
                || !all_distinct_members
            {
                return Err(OpError::Answer(format!(
                    "{filter}: {} with {} member values, expected {} with the {} members of {name}",
                    e.dn,
                    got.len(),
                    d.group_dn(&name),
                    want.len()
                )));
            }
            Ok(())
        }
        Workload::BindArgon2 => {
            let i = plan.first_user + k;
            ldap.simple_bind(&d.user_dn(i), &Dataset::password(i))
                .await?
                .success()?;
            Ok(())
        }
        Workload::BindRepeat => {
            let i = plan.first_user;
            ldap.simple_bind(&d.user_dn(i), &Dataset::password(i))
                .await?
                .success()?;
            Ok(())
        }
    }
}

/// Waits until an LDAP server answers at `url` (an anonymous bind gets any LDAP answer). With
/// `pid`, gives up as soon as that process has exited.
pub async fn wait_ready(url: &str, limit: Duration, pid: Option<u32>) -> Result<()> {
    let clock = Stopwatch::start();
    loop {
        if let Some(p) = pid {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // Gone, or a zombie (exited, not yet reaped by the script).
            if stat.is_empty()
                || stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            {
                bail!("the server process {p} exited before answering at {url}");
            }
        }
        let attempt = async {
            let mut ldap = connect(url, Duration::from_secs(2)).await?;
            match ldap.simple_bind("", "").await {
                Ok(_) | Err(LdapError::LdapResult { .. }) => Ok(()),
                Err(e) => Err(anyhow::Error::from(e)),
            }
        };
        match tokio::time::timeout(Duration::from_secs(3), attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if clock.elapsed() > limit => {
                return Err(e.context(format!("{url} not answering after {limit:?}")))
            }
            Err(_) if clock.elapsed() > limit => bail!("{url} not answering after {limit:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            dn_key("uid=User-00001, ou=Users,O=bench,dc=tessera,dc=local"),
            dn_key("uid=user-00001,ou=users,o=bench,dc=tessera,dc=local")
        );
        assert_ne!(
            dn_key("uid=user-00001,ou=Users"),
            dn_key("uid=user-00002,ou=Users")
        );
    }

    #[test]
    fn member_dns_name_their_user_or_nothing() {
        let base = components("ou=Users,o=bench,dc=tessera,dc=local");
        let dns = MemberDns::new("ou=Users,o=bench,dc=tessera,dc=local");
        // Both checks, the one-pass one and the component one, say the same.
        let at = |dn: &str| {
            let i = member_index(dn, &base);
            assert_eq!(dns.index(dn), i, "{dn}");
            i
        };
        assert_eq!(
            at("uid=user-00042,ou=Users,o=bench,dc=tessera,dc=local"),
            Some(42)
        );
        assert_eq!(
            at("UID=User-00042, ou=users,o=BENCH,dc=tessera,dc=local"),
            Some(42)
        );
        assert_eq!(
            at("uid=user-123456,ou=Users,o=bench,dc=tessera,dc=local"),
            Some(123456)
        );
        for bad in [
            "uid=user-0042,ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user-012345,ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user-00042,ou=Users,o=other,dc=tessera,dc=local",
            "cn=user-00042,ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user-0004x,ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user-+0042,ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user-00042,ou=Users,o=bench,dc=tessera",
            "uid=user-00042,ou=Users,o=bench,dc=tessera,dc=local,dc=x",
            "uid=user-é0042,ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user",
            "uid=user-00042,ou=Users,o=bench,dc=tessera,dc=localx",
            "uid=user-00042ou=Users,o=bench,dc=tessera,dc=local",
            "uid=user-,ou=Users,o=bench,dc=tessera,dc=local",
            "",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}
