//! Crash safety of the embedded store: a child process creates users in a loop (each one
//! transaction: the user and its indexes, a uidNumber from the tenant's counter, membership edges
//! both ways) and is killed with SIGKILL at random points; after every kill the parent reopens the
//! store and checks that every index matches its entity, the counter handed out consecutive
//! numbers, and every write acknowledged before the kill is there.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: the helpers of the test functions fail the test by panicking"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::fixtures::sys;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tessera_directory::model::{
    Group, ListQuery, Member, NewPosix, NewTenant, NewUser, Tenant, TenantId, User,
};
use tessera_directory::policy::TenantKind;
use tessera_directory::testkit::{new_group, new_tenant};
use tessera_directory::{Directory, Error};

/// Where the child keeps its store; without it `crash_child` does nothing.
const CHILD_DIR_ENV: &str = "TESSERA_CRASH_CHILD_DIR";
/// Replays a kill schedule (the interleaving itself still depends on timing).
const SEED_ENV: &str = "TESSERA_CRASH_SEED";
/// Every line of the child's protocol starts with this, so libtest's own output is ignored.
const MARK: &str = "crash-child: ";
const ROUNDS: usize = 200;
/// The most ACKs the parent waits for before killing.
const MAX_ACKS_PER_ROUND: usize = 12;
/// The child stops by itself after this many users (a runaway guard; the parent kills it long
/// before).
const CHILD_CAP: u64 = 10_000;
/// How long the parent waits for one line before declaring the child stuck. Not a timing
/// assertion: a liveness guard so a hung child fails the test instead of hanging it.
const LINE_TIMEOUT: Duration = Duration::from_secs(120);
const TENANT: &str = "crashco";
const GROUP: &str = "everyone";

fn found<T>(r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::NotFound) => None,
        Err(e) => panic!("lookup failed: {e}"),
    }
}

fn lookup_tenant(dir: &Directory, slug: &str) -> Option<Tenant> {
    found(dir.tenants().by_slug(&sys(), slug))
}

fn lookup_group(dir: &Directory, tenant: TenantId) -> Option<Group> {
    found(dir.groups().by_name(&sys(), tenant, GROUP))
}

fn tenant_or_create(dir: &Directory, parent: &Tenant, slug: &str, kind: TenantKind) -> Tenant {
    lookup_tenant(dir, slug).unwrap_or_else(|| {
        let new = new_tenant(slug, kind);
        dir.tenants().create(&sys(), parent.id, new).unwrap()
    })
}

/// Brings the store to "root → acme → crashco with group everyone", whatever part of that an
/// earlier, killed run already committed. Each step is its own transaction.
fn setup(dir: &Directory) -> (Tenant, Group) {
    let root = found(dir.tenants().root(&sys())).unwrap_or_else(|| {
        let new = NewTenant {
            slug: "root".into(),
            name: "Root".into(),
            kind: TenantKind::Distributor,
        };
        dir.tenants().bootstrap(&sys(), new).unwrap()
    });
    let acme = tenant_or_create(dir, &root, "acme", TenantKind::Msp);
    let crashco = tenant_or_create(dir, &acme, TENANT, TenantKind::Customer);
    let everyone = lookup_group(dir, crashco.id).unwrap_or_else(|| {
        dir.groups()
            .create(&sys(), crashco.id, new_group(GROUP))
            .unwrap()
    });
    (crashco, everyone)
}

fn all_users(dir: &Directory, tenant: TenantId) -> Vec<User> {
    let mut out = Vec::new();
    let mut q = ListQuery {
        limit: Some(ListQuery::MAX_LIMIT),
        ..ListQuery::default()
    };
    loop {
        let page = dir.users().list(&sys(), tenant, &q).unwrap();
        out.extend(page.items);
        match page.next {
            Some(next) => q.after = Some(next),
            None => return out,
        }
    }
}

/// `n` of a username `u{n}`.
fn index_of(username: &str) -> u64 {
    let n = username.strip_prefix('u').and_then(|n| n.parse().ok());
    n.unwrap_or_else(|| panic!("unexpected user {username}"))
}

/// The child: sets up (idempotently), says `ready`, then creates `u{n}`, `u{n+1}`, … and
/// acknowledges each after `create` returned, which means committed and flushed.
#[test]
#[ignore = "the child process of survives_200_sigkills; does nothing when run by hand"]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let dir = Directory::open(Path::new(&path), tessera_directory::testkit::test_key()).unwrap();
    let (tenant, everyone) = setup(&dir);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}ready").unwrap();
    out.flush().unwrap();
    let users = all_users(&dir, tenant.id);
    let first = users
        .iter()
        .map(|u| index_of(&u.username) + 1)
        .max()
        .unwrap_or(0);
    for n in first..first + CHILD_CAP {
        let new = NewUser {
            username: format!("u{n}"),
            posix: Some(NewPosix::default()),
            groups: vec![everyone.id],
            ..NewUser::default()
        };
        let u = dir.users().create(&sys(), tenant.id, new).unwrap();
        let uid = u.posix.map(|p| p.uid_number).unwrap();
        writeln!(out, "{MARK}ack u{n} {uid}").unwrap();
        out.flush().unwrap();
    }
}

/// A running child and the lines of its protocol, read on a thread so a stuck child is noticed.
struct Running {
    child: Child,
    lines: Receiver<String>,
    reader: std::thread::JoinHandle<()>,
}

fn spawn_child(path: &Path) -> Running {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut buf = Vec::new();
        // Only whole lines count: a tail without its newline was cut off by the kill.
        while stdout
            .read_until(b'\n', &mut buf)
            .is_ok_and(|_| buf.ends_with(b"\n"))
        {
            let line = String::from_utf8_lossy(&buf);
            // libtest may print "test crash::crash_child ... " on the same line.
            if let Some(at) = line.find(MARK) {
                if tx
                    .send(line[at + MARK.len()..].trim_end().to_string())
                    .is_err()
                {
                    break;
                }
            }
            buf.clear();
        }
    });
    Running {
        child,
        lines,
        reader,
    }
}

fn killed_by_sigkill(status: ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(9)
    }
    #[cfg(not(unix))]
    {
        !status.success()
    }
}

/// What one round of the child acknowledged, in order.
#[derive(Default)]
struct Round {
    ready: bool,
    acks: Vec<(String, u32)>,
    /// How many of `acks` were read before the kill (the rest were in the pipe).
    acks_before_kill: usize,
}

impl Round {
    fn take(&mut self, line: &str) {
        if line == "ready" {
            self.ready = true;
            return;
        }
        let ack = line.strip_prefix("ack ").and_then(|rest| {
            let (name, uid) = rest.split_once(' ')?;
            Some((name.to_string(), uid.parse().ok()?))
        });
        self.acks
            .push(ack.unwrap_or_else(|| panic!("unexpected line from the child: {line:?}")));
    }
}

/// Lets the child run until it has printed `lines` protocol lines, kills it, reaps it and
/// collects everything it printed before dying.
fn run_and_kill(path: &Path, lines: usize) -> Round {
    let Running {
        mut child,
        lines: rx,
        reader,
    } = spawn_child(path);
    let mut round = Round::default();
    let mut seen = 0;
    while seen < lines {
        match rx.recv_timeout(LINE_TIMEOUT) {
            Ok(line) => {
                round.take(&line);
                seen += 1;
            }
            Err(e) => {
                if e == RecvTimeoutError::Timeout {
                    child.kill().unwrap();
                }
                let status = child.wait().unwrap();
                let mut err = String::new();
                if let Some(mut s) = child.stderr.take() {
                    s.read_to_string(&mut err).unwrap();
                }
                panic!(
                    "child stopped talking after {seen} lines ({e:?}, {status}); stderr:\n{err}"
                );
            }
        }
    }
    child.kill().unwrap();
    round.acks_before_kill = round.acks.len();
    let status = child.wait().unwrap();
    // Whatever the child printed before the signal arrived was acknowledged too.
    for line in rx.iter() {
        round.take(&line);
    }
    reader.join().unwrap();
    if !killed_by_sigkill(status) {
        let mut err = String::new();
        if let Some(mut s) = child.stderr.take() {
            s.read_to_string(&mut err).unwrap();
        }
        panic!("child was not killed by SIGKILL but ended with {status}; stderr:\n{err}");
    }
    round
}

/// What the parent has established so far, across rounds.
#[derive(Default)]
struct History {
    /// How far setup got (root, acme, crashco, everyone present): never goes back.
    setup_steps: usize,
    /// Every user ever seen after a restart, acknowledged or not: never lost later.
    users: BTreeMap<String, u32>,
    acks: usize,
    /// Acknowledgements the child printed after the parent decided to kill it.
    late_acks: usize,
    unacknowledged: usize,
    /// Rounds killed before the child finished setting up (starting, recovering, bootstrapping).
    killed_in_startup: usize,
}

/// Reopens the store after a kill and checks it against everything acknowledged so far.
fn verify(path: &Path, round: &Round, h: &mut History, n: usize) {
    let dir = Directory::open(path, tessera_directory::testkit::test_key()).unwrap();
    let report = dir.check_integrity().unwrap();
    assert!(
        report.is_ok(),
        "round {n}: integrity problems after the kill: {:#?}",
        report.problems
    );

    let root = found(dir.tenants().root(&sys()));
    let acme = lookup_tenant(&dir, "acme");
    let crashco = lookup_tenant(&dir, TENANT);
    let everyone = crashco.as_ref().and_then(|t| lookup_group(&dir, t.id));
    let steps = [
        root.is_some(),
        acme.is_some(),
        crashco.is_some(),
        everyone.is_some(),
    ];
    let done = steps.iter().take_while(|s| **s).count();
    assert!(
        steps.iter().skip(done).all(|s| !s),
        "round {n}: setup steps out of order: {steps:?}"
    );
    assert!(
        done >= h.setup_steps,
        "round {n}: setup went back from {} to {done} steps",
        h.setup_steps
    );
    // The child says `ready` only after setup returned.
    assert!(
        !round.ready || done == 4,
        "round {n}: child was ready but setup is lost ({steps:?})"
    );
    h.setup_steps = done;
    if !round.ready {
        h.killed_in_startup += 1;
    }
    let (Some(crashco), Some(everyone)) = (crashco, everyone) else {
        assert!(
            round.acks.is_empty() && h.users.is_empty(),
            "round {n}: users without setup"
        );
        if let Some(t) = lookup_tenant(&dir, TENANT) {
            assert!(
                all_users(&dir, t.id).is_empty(),
                "round {n}: users created before the group"
            );
        }
        return;
    };

    let users = all_users(&dir, crashco.id);
    let mut now: BTreeMap<String, &User> = BTreeMap::new();
    for u in &users {
        assert!(
            now.insert(u.username.clone(), u).is_none(),
            "round {n}: {} listed twice",
            u.username
        );
    }
    let uid = |u: &User| u.posix.as_ref().map(|p| p.uid_number);

    // Every acknowledged write is there, as acknowledged.
    for (name, acked_uid) in &round.acks {
        let got = now.get(name).map(|u| uid(u));
        assert_eq!(
            got,
            Some(Some(*acked_uid)),
            "round {n}: acknowledged {name} (uid {acked_uid}) lost"
        );
    }
    // Nothing seen after an earlier restart went missing or changed.
    for (name, old_uid) in &h.users {
        let got = now.get(name).map(|u| uid(u));
        assert_eq!(
            got,
            Some(Some(*old_uid)),
            "round {n}: {name} (uid {old_uid}) seen before, now lost"
        );
    }

    // Names are u0..u{count-1} and the counter handed out consecutive numbers: the group took the
    // first one, each user the next, in creation order.
    let mut by_index: Vec<(u64, &User)> =
        users.iter().map(|u| (index_of(&u.username), u)).collect();
    by_index.sort_by_key(|(i, _)| *i);
    assert!(
        everyone.gid_number >= 10_000,
        "round {n}: group gid {} below the first POSIX id",
        everyone.gid_number
    );
    for (pos, (i, u)) in by_index.iter().enumerate() {
        assert_eq!(
            *i, pos as u64,
            "round {n}: user names have a gap before {}",
            u.username
        );
        let expected = everyone.gid_number + 1 + pos as u32;
        assert_eq!(
            uid(u),
            Some(expected),
            "round {n}: {} has uid {:?}, not {expected}",
            u.username,
            uid(u)
        );
    }

    // Membership: exactly the tenant's users are direct members, and each sees the group.
    let members = dir
        .groups()
        .members(&sys(), crashco.id, everyone.id, false)
        .unwrap();
    let mut expected: Vec<Member> = users.iter().map(|u| Member::User(u.id)).collect();
    expected.sort();
    assert_eq!(
        members.len(),
        users.len(),
        "round {n}: {GROUP} has {} members for {} users",
        members.len(),
        users.len()
    );
    assert_eq!(
        members, expected,
        "round {n}: {GROUP}'s members are not the tenant's users"
    );

    // New since the last round: what was acknowledged, plus at most the one transaction that
    // committed while the kill was on its way (it comes right after the last acknowledged one).
    let acked: BTreeMap<&str, u32> = round.acks.iter().map(|(n, u)| (n.as_str(), *u)).collect();
    let new: Vec<&User> = users
        .iter()
        .filter(|u| !h.users.contains_key(&u.username))
        .collect();
    let extra: Vec<&str> = new
        .iter()
        .map(|u| u.username.as_str())
        .filter(|u| !acked.contains_key(u))
        .collect();
    assert!(
        extra.len() <= 1,
        "round {n}: more than one unacknowledged user committed: {extra:?}"
    );
    if let Some(x) = extra.first() {
        assert_eq!(
            index_of(x) as usize + 1,
            users.len(),
            "round {n}: unacknowledged {x} is not the last user"
        );
    }
    for u in &new {
        let groups = dir
            .users()
            .groups_of(&sys(), crashco.id, u.id, false)
            .unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, [GROUP], "round {n}: {} is in {names:?}", u.username);
    }

    h.acks += round.acks.len();
    h.late_acks += round.acks.len() - round.acks_before_kill;
    h.unacknowledged += extra.len();
    h.users.extend(
        users
            .iter()
            .filter_map(|u| Some((u.username.clone(), uid(u)?))),
    );
}

#[test]
fn survives_200_sigkills() {
    let seed = match std::env::var(SEED_ENV) {
        Ok(s) => s.parse().unwrap(),
        Err(_) => rand::random(),
    };
    println!("crash test seed: {seed} (replay the kill schedule with {SEED_ENV}={seed})");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    let mut h = History::default();
    let mut kills = 0;
    for n in 0..ROUNDS {
        // 0 lines: killed while starting or recovering; 1: after setup, in the first
        // transaction; 1 + k: after k acknowledged users.
        let lines = match rng.gen_range(0..10) {
            0 => 0,
            1 => 1,
            _ => 1 + rng.gen_range(1..=MAX_ACKS_PER_ROUND),
        };
        let round = run_and_kill(&path, lines);
        kills += 1;
        verify(&path, &round, &mut h, n);
    }
    println!(
        "crash test: {kills} SIGKILLs ({} before setup was done), {} users, {} acknowledged \
         ({} of them printed after the kill was decided), {} committed but unacknowledged",
        h.killed_in_startup,
        h.users.len(),
        h.acks,
        h.late_acks,
        h.unacknowledged
    );
    assert_eq!(kills, ROUNDS);
    assert_eq!(h.setup_steps, 4, "setup never completed");
    assert_eq!(h.users.len(), h.acks + h.unacknowledged);
}
