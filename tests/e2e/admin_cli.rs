//! The admin CLI against a real server: the built `tessera` binary logs in and walks through an
//! MSP administrator's first five minutes (tenants, users, groups, passwords, roles, policy,
//! personal tokens, audit), the login steps (password change, TOTP enrolment and codes), JSON
//! output and readable errors — on one demo server.

use crate::harness::Server;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tessera_directory::policy::Timestamp;
use tessera_directory::testkit::totp_code;

pub(crate) const ADMIN_PASSWORD: &str = "Demo-2026:5.2!";
const DAVE_FIRST: &str = "Correct-Horse-Battery-9!";
const DAVE_SECOND: &str = "Staple-Lantern-Orbit-27?";

/// The binary, pointed at one server and one session file, with a clean environment.
pub(crate) struct Cli<'a> {
    server: &'a Server,
    root: String,
    dir: &'a Path,
    session: PathBuf,
}

impl<'a> Cli<'a> {
    pub(crate) fn new(server: &'a Server, dir: &'a Path, session: &str) -> Self {
        Cli {
            server,
            root: server.api.trim_end_matches("/api/v1").to_string(),
            dir,
            session: dir.join(session),
        }
    }

    /// A command with no server options (they come from the session).
    pub(crate) fn bare(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
        c.args(args)
            .current_dir(self.dir)
            .env("TESSERA_SESSION_FILE", &self.session)
            .env("HOME", self.dir)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null());
        for var in [
            "TESSERA_TOKEN",
            "TESSERA_URL",
            "TESSERA_CA",
            "TESSERA_CONFIG",
            "TESSERA_PASSWORD",
            "TESSERA_NEW_PASSWORD",
            "XDG_CONFIG_HOME",
        ] {
            c.env_remove(var);
        }
        c
    }

    /// A command naming the server and its certificate.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.bare(args);
        c.arg("--url")
            .arg(&self.root)
            .arg("--ca")
            .arg(&self.server.cert);
        c
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        succeeded(self.cmd(args).output().unwrap(), args)
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    pub(crate) fn fails(&self, args: &[&str]) -> String {
        failed(self.cmd(args).output().unwrap(), args)
    }

    pub(crate) fn with_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Output {
        let mut c = self.cmd(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        c.output().unwrap()
    }
}

pub(crate) fn succeeded(o: Output, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {stderr}");
    assert!(!stderr.contains("error:"), "{args:?}: {stderr}");
    String::from_utf8(o.stdout).unwrap()
}

fn failed(o: Output, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success(),
        "{args:?} succeeded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    assert!(!stderr.contains("backtrace"), "{args:?}: {stderr}");
    stderr
}

/// The first column of a table's rows (the header dropped).
pub(crate) fn first_column(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

pub(crate) fn row<'t>(table: &'t str, first: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in\n{table}"))
}

#[test]
fn an_administrators_first_five_minutes() {
    let s = Server::start_demo();
    let tmp = tempfile::tempdir().unwrap();
    let cli = Cli::new(&s, tmp.path(), "session.json");

    // Log in: the password comes from the environment, the session lands in the file, 0600.
    let o = cli.with_env(
        &[("TESSERA_PASSWORD", ADMIN_PASSWORD)],
        &["login", "--tenant", "acme", "--user", "acme-admin"],
    );
    let login_err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{login_err}");
    assert!(login_err.contains("as acme/acme-admin"), "{login_err}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&cli.session).unwrap()).unwrap();
    let token = saved["token"].as_str().unwrap().to_string();
    assert!(saved["url"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cli.session)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut printed = vec![login_err, String::from_utf8_lossy(&o.stdout).into_owned()];

    // The session carries the server and its certificate: no --url or --ca needed.
    let me = succeeded(cli.bare(&["whoami"]).output().unwrap(), &["whoami"]);
    assert!(me.contains("acme/acme-admin"), "{me}");
    assert!(me.contains("from the saved session"), "{me}");

    // The tenants acme's administrator sees: acme and its two customers, as a tree.
    let tenants = cli.ok(&["tenant", "list"]);
    assert_eq!(first_column(&tenants), ["acme", "contoso", "fabrikam"]);
    assert!(
        row(&tenants, "contoso").starts_with("  contoso"),
        "{tenants}"
    );
    let json = cli.json(&["tenant", "list"]);
    let slugs: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "contoso", "fabrikam"]);

    let users = cli.ok(&["user", "list", "contoso"]);
    assert_eq!(first_column(&users), ["alice", "bob", "carol", "svc-ldap"]);
    assert!(row(&users, "carol").contains("suspended"), "{users}");

    // A new user in contoso, in staff.
    let created = cli.ok(&[
        "user",
        "create",
        "contoso",
        "dave",
        "--given-name",
        "Dave",
        "--family-name",
        "Doe",
        "--email",
        "dave@contoso.example",
    ]);
    assert!(created.contains("Created user contoso/dave"), "{created}");
    cli.ok(&["group", "add", "contoso", "staff", "--user", "dave"]);
    let members = cli.ok(&["group", "members", "contoso", "staff"]);
    assert!(members.contains("dave"), "{members}");
    let groups = cli.ok(&["user", "groups", "contoso", "dave"]);
    assert_eq!(first_column(&groups), ["staff"]);
    // Dave becomes a POSIX account later, with a number of the admin's choosing.
    let posix = cli.ok(&[
        "user",
        "update",
        "contoso",
        "dave",
        "--posix",
        "--uid-number",
        "12345",
        "--shell",
        "/bin/zsh",
    ]);
    assert!(posix.contains("Updated user contoso/dave"), "{posix}");
    let shown = cli.ok(&["user", "show", "contoso", "dave"]);
    assert!(
        shown.contains("uid 12345 gid 12345 home /home/dave shell /bin/zsh"),
        "{shown}"
    );
    let taken = cli.fails(&[
        "user",
        "update",
        "contoso",
        "alice",
        "--uid-number",
        "12345",
    ]);
    assert!(taken.contains("uid_number"), "{taken}");

    // A policy enforced at acme binds contoso.
    let set = cli.ok(&["policy", "set", "acme", "--min-length", "16", "--enforce"]);
    assert!(
        row(&set, "password.min_length").contains("enforced below"),
        "{set}"
    );
    let shown = cli.ok(&["policy", "show", "contoso"]);
    let line = row(&shown, "password.min_length");
    assert!(line.contains("16") && line.contains("inherited"), "{shown}");
    assert!(line.contains("enforced from above"), "{shown}");
    let policy = cli.json(&["policy", "show", "contoso"]);
    assert_eq!(policy["effective"]["password"]["min_length"], 16);
    assert!(policy["enforced_from_above"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "password.min_length"));

    // Passwords come from the environment (or the terminal), never the command line; a weak
    // one is refused with every reason.
    let weak = failed(
        cli.with_env(
            &[("TESSERA_NEW_PASSWORD", "Short-Pass-1!")],
            &["user", "set-password", "contoso", "dave"],
        ),
        &["set-password weak"],
    );
    assert!(weak.contains("Weak password (422)"), "{weak}");
    assert!(weak.contains("too_short"), "{weak}");
    let o = cli.with_env(
        &[("TESSERA_NEW_PASSWORD", DAVE_FIRST)],
        &["user", "set-password", "contoso", "dave", "--must-change"],
    );
    let out = succeeded(o, &["set-password"]);
    assert!(!out.contains(DAVE_FIRST));
    printed.push(out);

    // Helpdesk Operator at contoso, and what dave may do there.
    let assigned = cli.ok(&[
        "assign",
        "contoso",
        "--user",
        "contoso/dave",
        "--role",
        "Helpdesk Operator",
    ]);
    assert!(assigned.contains("Helpdesk Operator"), "{assigned}");
    let listed = cli.ok(&["assignment", "list", "contoso", "--user", "dave"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("user contoso/dave"), "{listed}");
    let rights = cli.ok(&["user", "rights", "contoso", "dave"]);
    assert!(row(&rights, "users").contains("allow"), "{rights}");
    let rights = cli.json(&["user", "rights", "contoso", "dave", "--on", "contoso"]);
    assert_eq!(rights["users"]["read"], "allow");
    assert!(rights
        .get("tenants")
        .is_some_and(|t| t.get("write").is_none()));

    // A personal token narrowed to users:read lists users but cannot create one.
    let made = cli.json(&["token", "create", "ci", "--allow", "users:read"]);
    let secret = made["secret"].as_str().unwrap().to_string();
    let id = made["token"]["id"].as_str().unwrap().to_string();
    assert_eq!(made["token"]["rights"]["users"]["read"], "allow");
    let tokens = cli.ok(&["token", "list"]);
    assert!(tokens.contains(&id), "{tokens}");
    let with_token = cli.with_env(
        &[("TESSERA_TOKEN", &secret)],
        &["user", "list", "contoso", "--prefix", "d"],
    );
    let listed = succeeded(with_token, &["user list with the token"]);
    assert_eq!(first_column(&listed), ["dave"]);
    let forbidden = failed(
        cli.with_env(
            &[("TESSERA_TOKEN", &secret)],
            &["user", "create", "contoso", "eve"],
        ),
        &["user create with the token"],
    );
    assert!(forbidden.contains("Forbidden (403)"), "{forbidden}");
    assert!(
        forbidden.contains("POST /api/v1/tenants/contoso/users"),
        "{forbidden}"
    );
    printed.push(forbidden);
    cli.ok(&["token", "revoke", &id]);
    let revoked = failed(
        cli.with_env(&[("TESSERA_TOKEN", &secret)], &["user", "list", "contoso"]),
        &["user list with a revoked token"],
    );
    assert!(revoked.contains("Not authenticated (401)"), "{revoked}");
    assert!(revoked.contains("TESSERA_TOKEN"), "{revoked}");
    printed.push(revoked);

    // contoso's audit log shows the changes, by whom.
    let audit = cli.ok(&["audit", "contoso", "--action", "user."]);
    let dave_created = audit
        .lines()
        .find(|l| l.contains("user.create") && l.contains("user:dave"))
        .unwrap_or_else(|| panic!("{audit}"));
    assert!(dave_created.contains("acme/acme-admin"), "{audit}");
    let events = cli.json(&["audit", "contoso", "--kind", "change"]);
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().any(|a| a.starts_with("assignment.")),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a.starts_with("credentials.")),
        "{actions:?}"
    );
    let page = cli.json(&["audit", "contoso", "--limit", "2"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next"].is_string());
    let export = cli.ok(&["audit", "export", "contoso"]);
    let lines: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|e| e["action"] == "user.create" && e["target"] == "user:dave"));
    assert!(!export.contains(DAVE_FIRST));

    // Errors say what and where, on stderr, with a non-zero exit.
    let missing = cli.fails(&["user", "list", "nope"]);
    assert!(missing.contains("Not found (404)"), "{missing}");
    assert!(missing.contains("/tenants/nope/users"), "{missing}");
    let kind = cli.fails(&["tenant", "create", "contoso", "sub", "--kind", "customer"]);
    assert!(kind.contains("(422)"), "{kind}");
    let bad = cli.fails(&["role", "create", "acme", "x", "--allow", "userz:read"]);
    assert!(bad.contains("not an area"), "{bad}");

    // dave's first login: the password must change first (the new one from the environment).
    let dave = Cli::new(&s, tmp.path(), "dave.json");
    let o = dave.with_env(
        &[
            ("TESSERA_PASSWORD", DAVE_FIRST),
            ("TESSERA_NEW_PASSWORD", DAVE_SECOND),
        ],
        &["login", "--tenant", "contoso", "--user", "dave"],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("must be changed") && err.contains("as contoso/dave"),
        "{err}"
    );
    printed.push(err);
    assert!(dave.ok(&["whoami"]).contains("contoso/dave"));
    let mine = dave.json(&["whoami"]);
    assert_eq!(mine["token"]["kind"], "session");

    // Logging out revokes the session and forgets it.
    let dave_token: Value =
        serde_json::from_str(&std::fs::read_to_string(&dave.session).unwrap()).unwrap();
    let dave_token = dave_token["token"].as_str().unwrap().to_string();
    let o = dave.cmd(&["logout"]).output().unwrap();
    assert!(o.status.success());
    assert!(!dave.session.exists());
    let after = dave.fails(&["whoami"]);
    assert!(after.contains("not logged in"), "{after}");
    let r = s
        .client()
        .get(format!("{}/auth/me", s.api))
        .bearer_auth(&dave_token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    // No secret was ever printed.
    for text in &printed {
        for secret in [&token, ADMIN_PASSWORD, DAVE_FIRST, DAVE_SECOND] {
            assert!(!text.contains(secret), "a secret was printed: {text}");
        }
    }
}

#[test]
fn a_first_login_enrols_totp_and_later_logins_ask_for_a_code() {
    let s = Server::start_demo();
    let tmp = tempfile::tempdir().unwrap();
    let admin = Cli::new(&s, tmp.path(), "admin.json");
    succeeded(
        admin.with_env(
            &[("TESSERA_PASSWORD", ADMIN_PASSWORD)],
            &["login", "--tenant", "acme", "--user", "acme-admin"],
        ),
        &["login"],
    );
    let set = admin.ok(&["policy", "set", "fabrikam", "--mfa", "admin"]);
    assert!(row(&set, "mfa.protocols").contains("admin"), "{set}");

    // alice has no TOTP yet: the login shows the seed, writes the QR code and asks for a code.
    let alice = Cli::new(&s, tmp.path(), "alice.json");
    let qr = tmp.path().join("alice-qr.png");
    let qr_arg = qr.to_str().unwrap();
    let mut child = alice
        .cmd(&[
            "login",
            "--tenant",
            "fabrikam",
            "--user",
            "alice",
            "--qr-file",
            qr_arg,
        ])
        .env("TESSERA_PASSWORD", "Demo-2026:2.1!")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("otpauth://") {
            break format!("otpauth://{u}");
        }
    };
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains(&qr.display().to_string()), "{line}");
    let png = std::fs::read(&qr).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let now = s.dir.now().as_secs();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", totp_code(&url, Timestamp::from_secs(now))).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(o.status.success(), "{seen}{rest}");
    assert!(rest.contains("as fabrikam/alice"), "{rest}");
    assert!(
        !qr.exists(),
        "the QR code (a secret) is removed once enrolled"
    );
    assert!(alice.ok(&["whoami"]).contains("fabrikam/alice"));

    // The next login needs a code: --totp, or typed when asked. Each time step counts once, so
    // the next step's code (within the ±1 window) is used.
    let code = totp_code(&url, Timestamp::from_secs(now + 30));
    let o = alice.with_env(
        &[("TESSERA_PASSWORD", "Demo-2026:2.1!")],
        &[
            "login", "--tenant", "fabrikam", "--user", "alice", "--totp", &code,
        ],
    );
    let err = succeeded(o, &["login --totp"]);
    assert!(!err.contains(&code));
    // Without --totp the code is asked for; a wrong one is refused like any bad login.
    let mut asked = alice
        .cmd(&["login", "--tenant", "fabrikam", "--user", "alice"])
        .env("TESSERA_PASSWORD", "Demo-2026:2.1!")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(asked.stdin.take().unwrap(), "000000").unwrap();
    let wrong = asked.wait_with_output().unwrap();
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.starts_with("TOTP code: \nerror: Invalid credentials (401)"),
        "{stderr}"
    );
}
