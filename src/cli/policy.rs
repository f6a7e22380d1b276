//! `tessera policy show|set`: a tenant's password, lockout, MFA and cache policy — what it
//! sets itself beside what is in force and what tenants above enforce — and changing it, from a
//! file holding the API's PUT body or from a few common flags applied to the current settings.
//! It must not judge strictness or inheritance itself: the server refuses what is too weak.

use super::table::{print_text, show, Table};
use super::{ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::PathBuf;

/// `tessera policy`.
#[derive(Debug, Args)]
pub struct PolicyCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: PolicyAction,
}

#[derive(Debug, Subcommand)]
enum PolicyAction {
    /// A tenant's policy: in force, set here, and enforced from above.
    Show {
        /// The tenant's slug.
        tenant: String,
    },
    /// Change a tenant's own policy: from a file (the API's PUT body), and/or with flags applied
    /// to the current settings.
    #[command(
        after_help = "Examples:\n  tessera policy set acme --min-length 16 --enforce\n  \
        tessera policy set contoso --mfa admin,radius\n  tessera policy set contoso --inherit \
        password.min_length,mfa.protocols\n  tessera policy show acme --json | jq .local > \
        p.json; tessera policy set acme --file p.json"
    )]
    Set {
        /// The tenant's slug.
        tenant: String,
        /// Replace every local setting with this JSON document (the `local` member of `policy
        /// show --json`; `-` reads standard input); flags then apply on top.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Minimum password length (8-256).
        #[arg(long, value_name = "N")]
        min_length: Option<u32>,
        /// How many earlier passwords may not be reused (at most 24).
        #[arg(long, value_name = "N")]
        history: Option<u32>,
        /// Maximum password age: a number of days, or `never`.
        #[arg(long, value_name = "DAYS|never")]
        max_age: Option<String>,
        /// Require these character classes.
        #[arg(long, value_delimiter = ',', value_name = "CLASS,…",
              value_parser = ["upper", "lower", "digit", "special"])]
        require: Vec<String>,
        /// Failures within the window that lock an account (0 turns lockout off).
        #[arg(long, value_name = "N")]
        lockout_threshold: Option<u32>,
        /// The window failures are counted in, in seconds.
        #[arg(long, value_name = "SECS")]
        lockout_window: Option<u32>,
        /// How long a lock lasts, in seconds.
        #[arg(long, value_name = "SECS")]
        lockout_duration: Option<u32>,
        /// Require TOTP on these protocols (`none` for none).
        #[arg(long, value_delimiter = ',', value_name = "PROTOCOL,…",
              value_parser = ["ldap", "radius", "saml", "admin", "none"])]
        mfa: Vec<String>,
        /// Enforce the settings given by flags on every tenant below (they may only be
        /// stricter there).
        #[arg(long, conflicts_with = "no_enforce")]
        enforce: bool,
        /// Stop enforcing the settings given by flags.
        #[arg(long)]
        no_enforce: bool,
        /// Inherit these settings from above again (e.g. password.min_length).
        #[arg(long, value_delimiter = ',', value_name = "SETTING,…")]
        inherit: Vec<String>,
    },
}

/// How a setting's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Number,
    Seconds,
    Flag,
    MaxAge,
    Protocols,
    Text,
}

/// Every setting: its name (the path in the local settings) and where its value in force is.
const SETTINGS: [(&str, Shape, &str); 16] = [
    ("password.min_length", Shape::Number, "/password/min_length"),
    (
        "password.require_upper",
        Shape::Flag,
        "/password/require_upper",
    ),
    (
        "password.require_lower",
        Shape::Flag,
        "/password/require_lower",
    ),
    (
        "password.require_digit",
        Shape::Flag,
        "/password/require_digit",
    ),
    (
        "password.require_special",
        Shape::Flag,
        "/password/require_special",
    ),
    ("password.max_age", Shape::MaxAge, "/password/max_age_days"),
    ("password.history", Shape::Number, "/password/history"),
    (
        "password.disallow_user_names",
        Shape::Flag,
        "/password/disallow_user_names",
    ),
    (
        "password.refuse_common",
        Shape::Flag,
        "/password/refuse_common",
    ),
    ("lockout.threshold", Shape::Number, "/lockout/threshold"),
    (
        "lockout.window_secs",
        Shape::Seconds,
        "/lockout/window_secs",
    ),
    (
        "lockout.duration_secs",
        Shape::Seconds,
        "/lockout/duration_secs",
    ),
    ("mfa.protocols", Shape::Protocols, "/mfa_protocols"),
    ("mfa.separator", Shape::Text, "/separator"),
    ("cache.enabled", Shape::Flag, "/cache_enabled"),
    ("cache.ttl_secs", Shape::Seconds, "/cache_ttl_secs"),
];

/// A value in force as text.
fn in_force(shape: Shape, v: &Value) -> String {
    match (shape, v) {
        (Shape::MaxAge, Value::Null) => "never".into(),
        (Shape::MaxAge, v) => format!("{} days", show(v)),
        (Shape::Seconds, v) => format!("{} s", show(v)),
        (Shape::Protocols, Value::Array(a)) if a.is_empty() => "none".into(),
        (Shape::Text, Value::String(s)) => format!("{s:?}"),
        (_, v) => show(v),
    }
}

/// A tenant's own value as text (`inherited` when it sets none).
fn set_here(shape: Shape, v: &Value) -> String {
    match (shape, v) {
        (_, Value::Null) => "inherited".into(),
        (Shape::MaxAge, Value::String(s)) => s.clone(),
        (Shape::MaxAge, v) => format!("{} days", show(v.get("days").unwrap_or(&Value::Null))),
        (Shape::Seconds, v) => format!("{} s", show(v)),
        (Shape::Protocols, Value::Array(a)) if a.is_empty() => "none".into(),
        (Shape::Text, Value::String(s)) => format!("{s:?}"),
        (_, v) => show(v),
    }
}

fn pointer_of(name: &str) -> String {
    format!("/{}", name.replace('.', "/"))
}

fn policy_table(p: &Value) -> String {
    let empty = Value::Null;
    let effective = p.get("effective").unwrap_or(&empty);
    let local = p.get("local").unwrap_or(&empty);
    let from_above: Vec<&str> = p
        .get("enforced_from_above")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut t = Table::new(&["SETTING", "IN FORCE", "SET HERE", "NOTES"]);
    for (name, shape, eff) in SETTINGS {
        let own = local.pointer(&pointer_of(name)).unwrap_or(&empty);
        let mut notes = Vec::new();
        if from_above.contains(&name) {
            notes.push("enforced from above".to_string());
        }
        if own.get("enforced") == Some(&Value::Bool(true)) {
            notes.push("enforced below".to_string());
        }
        if name == "mfa.protocols" {
            let enforced = effective
                .get("mfa_enforced_protocols")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty());
            if let Some(a) = enforced {
                if !from_above.contains(&name) {
                    notes.push(format!(
                        "enforced from above: {}",
                        show(&Value::Array(a.clone()))
                    ));
                }
            }
        }
        t.row(vec![
            name.to_string(),
            in_force(shape, effective.pointer(eff).unwrap_or(&empty)),
            set_here(shape, own.get("value").unwrap_or(&empty)),
            notes.join("; "),
        ]);
    }
    let mut out = t.render();
    for (key, label) in [
        ("required_groups", "TOTP required only for members of"),
        ("exempt_groups", "TOTP exempt (unless enforced from above)"),
    ] {
        let groups = local
            .pointer(&format!("/mfa/{key}"))
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty());
        if let Some(g) = groups {
            out.push_str(&format!("{label}: {}\n", show(&Value::Array(g.clone()))));
        }
    }
    out
}

/// The object at `/section/name` of a settings document, created when missing.
fn slot<'a>(doc: &'a mut Value, name: &str) -> Result<&'a mut Map<String, Value>> {
    let (section, key) = name
        .split_once('.')
        .ok_or_else(|| anyhow!("{name:?} is not a setting"))?;
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| anyhow!("the policy document must be a JSON object"))?;
    let sec = obj
        .entry(section)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("`{section}` must be an object"))?;
    sec.entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("`{name}` must be an object"))
}

/// Sets a setting's value, with its enforcement as asked (else as it was).
fn set(doc: &mut Value, name: &str, value: Value, enforce: Option<bool>) -> Result<()> {
    let s = slot(doc, name)?;
    s.insert("value".into(), value);
    if name != "mfa.separator" {
        if let Some(e) = enforce {
            s.insert("enforced".into(), Value::Bool(e));
        }
    }
    Ok(())
}

fn read_document(file: &PathBuf) -> Result<Value> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the policy from standard input")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    // `policy show --json` output is accepted as it is: its `local` member is the body.
    Ok(match v.get("local") {
        Some(local) if v.get("effective").is_some() => local.clone(),
        _ => v,
    })
}

/// Runs `tessera policy …`.
pub fn run(cmd: &PolicyCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    match &cmd.action {
        PolicyAction::Show { tenant } => {
            let p = api.get(&["tenants", tenant, "policy"], &[])?;
            ctx.show(&p, |p| {
                print_text(&format!("Policy of {tenant}:\n{}", policy_table(p)));
            });
        }
        PolicyAction::Set {
            tenant,
            file,
            min_length,
            history,
            max_age,
            require,
            lockout_threshold,
            lockout_window,
            lockout_duration,
            mfa,
            enforce,
            no_enforce,
            inherit,
        } => {
            let mut doc = match file {
                Some(f) => read_document(f)?,
                None => api
                    .get(&["tenants", tenant, "policy"], &[])?
                    .get("local")
                    .cloned()
                    .ok_or_else(|| anyhow!("the policy answer holds no `local` settings"))?,
            };
            let enforcement = match (enforce, no_enforce) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let mut changed = 0;
            let mut apply = |doc: &mut Value, name: &str, v: Value| -> Result<()> {
                changed += 1;
                set(doc, name, v, enforcement)
            };
            if let Some(n) = min_length {
                apply(&mut doc, "password.min_length", json!(n))?;
            }
            if let Some(n) = history {
                apply(&mut doc, "password.history", json!(n))?;
            }
            if let Some(m) = max_age {
                let v = match m.as_str() {
                    "never" => json!("never"),
                    d => json!({ "days": d.parse::<u32>().map_err(|_| anyhow!(
                        "--max-age takes a number of days or `never`, not {d:?}"
                    ))? }),
                };
                apply(&mut doc, "password.max_age", v)?;
            }
            for class in require {
                apply(&mut doc, &format!("password.require_{class}"), json!(true))?;
            }
            if let Some(n) = lockout_threshold {
                apply(&mut doc, "lockout.threshold", json!(n))?;
            }
            if let Some(n) = lockout_window {
                apply(&mut doc, "lockout.window_secs", json!(n))?;
            }
            if let Some(n) = lockout_duration {
                apply(&mut doc, "lockout.duration_secs", json!(n))?;
            }
            if !mfa.is_empty() {
                let protocols: Vec<&String> = mfa.iter().filter(|p| *p != "none").collect();
                apply(&mut doc, "mfa.protocols", json!(protocols))?;
            }
            if changed == 0 && enforcement.is_some() {
                bail!("--enforce and --no-enforce apply to the settings given by flags; name some");
            }
            for name in inherit {
                if !SETTINGS.iter().any(|(n, _, _)| n == name) {
                    bail!(
                        "{name:?} is not a setting; the settings are {}",
                        SETTINGS.map(|(n, _, _)| n).join(", ")
                    );
                }
                let s = slot(&mut doc, name)?;
                s.insert("value".into(), Value::Null);
                if name != "mfa.separator" {
                    s.insert("enforced".into(), Value::Bool(false));
                }
                changed += 1;
            }
            if changed == 0 && file.is_none() {
                bail!("nothing to change: give --file or a setting flag (see --help)");
            }
            let p = api.send(Method::PUT, &["tenants", tenant, "policy"], &doc)?;
            ctx.show(&p, |p| {
                print_text(&format!(
                    "Updated the policy of {tenant}:\n{}",
                    policy_table(p)
                ));
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_policy_reads_as_a_table() {
        let p = json!({
            "local": {"password": {"min_length": {"value": null, "enforced": false}},
                      "mfa": {"protocols": {"value": ["admin"], "enforced": true},
                              "required_groups": ["admins"], "exempt_groups": []}},
            "effective": {"password": {"min_length": 16, "max_age_days": null},
                          "lockout": {"threshold": 5, "window_secs": 300, "duration_secs": 900},
                          "mfa_protocols": ["admin"], "mfa_enforced_protocols": [],
                          "separator": ",", "cache_enabled": true, "cache_ttl_secs": 60},
            "enforced_from_above": ["password.min_length"]
        });
        let t = policy_table(&p);
        let line = |n: &str| t.lines().find(|l| l.starts_with(n)).unwrap().to_string();
        let min = line("password.min_length");
        assert!(
            min.contains("16") && min.contains("inherited") && min.contains("enforced from above"),
            "{t}"
        );
        assert!(line("password.max_age").contains("never"), "{t}");
        assert!(line("mfa.protocols").contains("enforced below"), "{t}");
        assert!(
            t.contains("TOTP required only for members of: admins"),
            "{t}"
        );
    }

    #[test]
    fn flags_edit_the_document() {
        let mut doc = json!({"password": {"min_length": {"value": 12, "enforced": true}}});
        set(&mut doc, "password.min_length", json!(16), None).unwrap();
        assert_eq!(
            doc["password"]["min_length"],
            json!({"value": 16, "enforced": true})
        );
        set(&mut doc, "mfa.separator", json!(","), Some(true)).unwrap();
        assert_eq!(doc["mfa"]["separator"], json!({"value": ","}));
        assert!(set(&mut json!([]), "password.history", json!(1), None).is_err());
    }
}
