//! The maintenance commands: `demo` seeds the documented tree once, `tree` prints it, `check`
//! confirms integrity, `audit-export` writes JSON lines — against the built binary.

use std::path::Path;
use std::process::{Command, Output};

fn tessera(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data")
        .arg(data)
        .arg("--master-key-file")
        .arg(data.with_extension("key"))
        .args(args)
        .output()
        .expect("the tessera binary runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

#[test]
fn demo_seeds_the_documented_tree_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = stdout(&tessera(&data, &["demo"]));
    assert!(first.contains("Seeded the demo MSP tree"));
    // Every demo login is printed, with the documented password rule.
    for (login, password) in [
        ("contoso/alice", "Demo-2026:1.1!"),
        ("fabrikam/alice", "Demo-2026:2.1!"),
        ("initech/svc-ldap", "Demo-2026:4.4!"),
        ("acme/acme-admin", "Demo-2026:5.2!"),
        ("acme/svc-ldap", "Demo-2026:5.3!"),
    ] {
        assert!(
            first.contains(&format!("  {login:<22} {password}")),
            "{first}"
        );
    }
    let lines: Vec<&str> = first.lines().filter(|l| l.contains(" users ")).collect();
    let slugs: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        slugs,
        [
            "northwind",
            "acme",
            "contoso",
            "fabrikam",
            "summit",
            "globex",
            "harbor",
            "initech"
        ]
    );
    // Indentation shows the tree: initech sits under harbor under summit.
    let indent = |slug: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(slug))
            .map(|l| l.len() - l.trim_start().len())
    };
    assert_eq!(indent("northwind"), Some(0));
    assert_eq!(indent("harbor"), Some(4));
    assert_eq!(indent("initech"), Some(6));
    for customer in ["contoso", "fabrikam", "globex", "initech"] {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(customer))
            .unwrap();
        assert!(line.contains("users    4"), "{line}");
        assert!(line.contains("groups   4"), "{line}");
    }
    // contoso: LDAP service, Wi-Fi RADIUS client, SAML SP.
    assert!(lines
        .iter()
        .any(|l| l.trim_start().starts_with("contoso") && l.contains("apps  3")));

    let again = stdout(&tessera(&data, &["demo"]));
    assert!(again.contains("already holds data"));
    assert_eq!(
        again
            .lines()
            .filter(|l| l.contains(" users "))
            .collect::<Vec<_>>(),
        lines
    );

    let check = stdout(&tessera(&data, &["check"]));
    assert!(
        check.contains("ok: every index matches its entity"),
        "{check}"
    );
    assert!(check.contains("users: 19"), "{check}");
}

#[test]
fn audit_export_writes_one_json_object_a_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    stdout(&tessera(&data, &["demo"]));
    let out = stdout(&tessera(&data, &["audit-export", "--tenant", "contoso"]));
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events
        .iter()
        .any(|e| e["action"] == "user.create" && e["target"] == "user:alice"));
    assert!(events
        .iter()
        .all(|e| e["time"].as_str().is_some_and(|t| t.ends_with('Z'))));
    // The RADIUS secret is in the store but never in the log.
    assert!(!out.contains("contoso-demo-radius-secret"));
    let subtree = stdout(&tessera(
        &data,
        &["audit-export", "--tenant", "acme", "--subtree"],
    ));
    assert!(subtree.lines().count() > out.lines().count());
    let missing = tessera(&data, &["audit-export", "--tenant", "nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}

#[test]
fn a_second_process_on_the_same_store_gets_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    stdout(&tessera(&data, &["demo"]));
    let key =
        tessera_directory::secrets::MasterKey::read_file(&data.with_extension("key")).unwrap();
    let held = tessera_directory::Directory::open(&data, key).unwrap();
    let o = tessera(&data, &["tree"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is another tessera process using it?"));
    drop(held);
    stdout(&tessera(&data, &["tree"]));
}

fn stderr_of(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected a failure, got: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_master_key_is_created_once_kept_apart_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let key_file = data.with_extension("key");
    let first = tessera(&data, &["demo"]);
    assert!(String::from_utf8_lossy(&first.stderr).contains("WARNING: created a new master key"));
    assert!(first.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The second start reads the same key quietly.
    let second = tessera(&data, &["tree"]);
    assert!(second.status.success());
    assert!(
        second.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // Another key does not open the store.
    let other = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["--data"])
        .arg(&data)
        .arg("tree")
        .env(
            "TESSERA_MASTER_KEY",
            "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
        )
        .output()
        .unwrap();
    assert!(stderr_of(&other).contains("does not open this store"));
    let garbage = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["--data"])
        .arg(&data)
        .arg("tree")
        .env("TESSERA_MASTER_KEY", "not a key")
        .output()
        .unwrap();
    assert!(stderr_of(&garbage).contains("32 bytes"));

    // A store whose key file went missing is not given a new key.
    let moved = tmp.path().join("elsewhere.key");
    std::fs::rename(&key_file, &moved).unwrap();
    assert!(stderr_of(&tessera(&data, &["tree"])).contains("is missing"));
    assert!(!key_file.exists(), "no new key was written");
    std::fs::rename(&moved, &key_file).unwrap();

    // A readable key file is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(stderr_of(&tessera(&data, &["tree"])).contains("chmod 600"));
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // The key never lives inside the data directory.
    let inside = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data")
        .arg(&data)
        .arg("--master-key-file")
        .arg(data.join("master.key"))
        .arg("tree")
        .output()
        .unwrap();
    assert!(stderr_of(&inside).contains("must not live inside the data directory"));
    assert!(tessera(&data, &["check"]).status.success());
}

#[test]
fn init_creates_the_root_and_an_administrator_who_changes_the_password_and_enrols_totp() {
    use crate::harness::Server;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Server::config_in(tmp.path());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--data")
            .arg(&cfg.data_dir)
            .arg("--master-key-file")
            .arg(&cfg.master_key_file)
            .args(args)
            .output()
            .unwrap()
    };
    let out = stdout(&run(&[
        "init",
        "--slug",
        "northwind",
        "--name",
        "Northwind",
    ]));
    let otp = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("One-time password (shown once; changed at the first login): ")
        })
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert_eq!(otp.len(), 24);
    // Once only.
    let again = run(&["init", "--slug", "other"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));

    let s = Server::start_on(cfg.clone(), tmp);
    let c = s.client();
    let login = |password: &str, totp: Option<&str>| {
        let mut body =
            serde_json::json!({ "tenant": "northwind", "username": "admin", "password": password });
        if let Some(t) = totp {
            body["totp"] = serde_json::json!(t);
        }
        let r = c
            .post(format!("{}/auth/login", s.api))
            .json(&body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<serde_json::Value>().unwrap())
    };
    // First the one-time password must be changed…
    let (status, p) = login(&otp, None);
    assert_eq!(
        (status, p["type"].as_str()),
        (401, Some("urn:tessera:problem:password-change-required")),
        "{p}"
    );
    let step = p["step_token"].as_str().unwrap();
    let r = c
        .post(format!("{}/auth/password", s.api))
        .json(&serde_json::json!({ "step_token": step, "new_password": "Granite-Compass-4821" }))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    // …then TOTP enrolled (required on the admin surfaces by default)…
    let (status, p) = login("Granite-Compass-4821", None);
    assert_eq!(
        (status, p["type"].as_str()),
        (401, Some("urn:tessera:problem:mfa-enrolment-required")),
        "{p}"
    );
    let url = p["otpauth_url"].as_str().unwrap();
    let code = tessera_directory::testkit::totp_code(url, s.dir.now());
    let r = c
        .post(format!("{}/auth/enrol", s.api))
        .json(&serde_json::json!({ "step_token": p["step_token"], "code": code }))
        .send()
        .unwrap();
    let session: serde_json::Value = r.json().unwrap();
    let token = session["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{session}"));
    // …and the administrator holds every right at the root.
    let rights: serde_json::Value = c
        .get(format!("{}/tenants/northwind/rights", s.api))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(rights["users"]["write"], "allow", "{rights}");
    assert_eq!(rights["rights"]["write"], "allow", "{rights}");
}
