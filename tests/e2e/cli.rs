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
    assert!(first.contains("Seeded the demo tree"));
    let lines: Vec<&str> = first.lines().skip(1).collect();
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
        assert!(line.contains("groups   3"), "{line}");
    }
    // contoso: LDAP service, Wi-Fi RADIUS client, SAML SP.
    assert!(lines
        .iter()
        .any(|l| l.trim_start().starts_with("contoso") && l.contains("apps  3")));

    let again = stdout(&tessera(&data, &["demo"]));
    assert!(again.contains("already holds a tree"));
    assert_eq!(again.lines().skip(1).collect::<Vec<_>>(), lines);

    let check = stdout(&tessera(&data, &["check"]));
    assert!(
        check.contains("ok: every index matches its entity"),
        "{check}"
    );
    assert!(check.contains("users: 18"), "{check}");
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
