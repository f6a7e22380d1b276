//! The admin commands of the `tessera` binary (`login`, `tenant`, `user`, `group`, `role`,
//! `assign`, `assignment`, `policy`, `app`, `saml`, `audit`, `token`): each parses its
//! arguments, calls the admin REST API of a running server over HTTPS with a bearer token, and
//! prints a table or, with `--json`, the API's JSON. It owns the command-line shapes and their
//! translation into requests; it must not open the store or decide anything the API decides,
//! and it must never print a password or a token other than the one `token create` issues.

pub mod apps;
pub mod audit;
pub mod auth;
pub mod client;
pub mod groups;
pub mod policy;
pub mod rbac;
pub mod saml;
pub mod session;
pub mod table;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::config::Config;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use client::{Api, Secret};
use serde_json::{Map, Value};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Where the server is and how to print: accepted by every admin command.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientArgs {
    /// The server [default: the saved session's, else https://<http.listen of the
    /// configuration>, i.e. https://127.0.0.1:8443].
    #[arg(
        long,
        global = true,
        env = "TESSERA_URL",
        value_name = "URL",
        help_heading = "Client options"
    )]
    pub url: Option<String>,
    /// The certificate (PEM) to trust [default: the saved session's, else the server's
    /// generated certificate beside the master key, as the configuration says].
    #[arg(
        long,
        global = true,
        env = "TESSERA_CA",
        value_name = "FILE",
        help_heading = "Client options"
    )]
    pub ca: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true, help_heading = "Client options")]
    pub json: bool,
}

/// The admin commands, flattened into the binary's command list.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a running server and save the session (for the admin commands below).
    #[command(display_order = 20)]
    Login(auth::LoginArgs),
    /// End the saved session (revoke its token) and forget it.
    #[command(display_order = 21)]
    Logout(auth::LogoutArgs),
    /// Show who the token speaks for.
    #[command(display_order = 22)]
    Whoami(auth::WhoamiArgs),
    /// Tenants: the tree, create, rename, suspend, resume, delete.
    #[command(display_order = 23)]
    Tenant(tenants::TenantCmd),
    /// Users of a tenant, their passwords, groups and rights.
    #[command(display_order = 24)]
    User(users::UserCmd),
    /// Groups of a tenant and their members.
    #[command(display_order = 25)]
    Group(groups::GroupCmd),
    /// Roles: named sets of rights.
    #[command(display_order = 26)]
    Role(rbac::RoleCmd),
    /// Give a user or group roles and rights at a tenant (and everything below it).
    #[command(display_order = 27)]
    Assign(rbac::AssignArgs),
    /// List, show and revoke the assignments made at a tenant.
    #[command(display_order = 28)]
    Assignment(rbac::AssignmentCmd),
    /// Password, lockout and MFA policy of a tenant.
    #[command(display_order = 29)]
    Policy(policy::PolicyCmd),
    /// Applications: the LDAP service, RADIUS clients, SAML service providers.
    #[command(display_order = 30)]
    App(apps::AppCmd),
    /// A tenant's SAML IdP: its signing keys and their rotation.
    #[command(display_order = 30)]
    Saml(saml::SamlCmd),
    /// Read a tenant's audit log over the API (`audit export` writes JSON lines).
    #[command(display_order = 31)]
    Audit(audit::AuditCmd),
    /// Your personal access tokens (for scripts: TESSERA_TOKEN).
    #[command(display_order = 32)]
    Token(tokens::TokenCmd),
}

/// Runs an admin command.
pub fn run(cmd: &Command, cfg: &Config) -> Result<()> {
    match cmd {
        Command::Login(a) => auth::login(a, cfg),
        Command::Logout(a) => auth::logout(a, cfg),
        Command::Whoami(a) => auth::whoami(a, cfg),
        Command::Tenant(c) => tenants::run(c, cfg),
        Command::User(c) => users::run(c, cfg),
        Command::Group(c) => groups::run(c, cfg),
        Command::Role(c) => rbac::run_role(c, cfg),
        Command::Assign(a) => rbac::assign(a, cfg),
        Command::Assignment(c) => rbac::run_assignment(c, cfg),
        Command::Policy(c) => policy::run(c, cfg),
        Command::App(c) => apps::run(c, cfg),
        Command::Saml(c) => saml::run(c, cfg),
        Command::Audit(c) => audit::run(c, cfg),
        Command::Token(c) => tokens::run(c, cfg),
    }
}

/// Prints an error of an admin command to standard error: the message, then each cause.
pub fn report(e: &anyhow::Error) {
    let mut text = format!("error: {e}\n");
    for cause in e.chain().skip(1) {
        text.push_str(&format!("  caused by: {cause}\n"));
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// What a command works with: the API client and the output mode.
#[derive(Debug)]
pub struct Ctx {
    /// The client, with a token.
    pub api: Api,
    /// `--json`.
    pub json: bool,
}

impl Ctx {
    /// Connects with a token (from `TESSERA_TOKEN` or the session).
    pub fn new(args: &ClientArgs, cfg: &Config) -> Result<Ctx> {
        Ok(Ctx {
            api: Api::connect(args, cfg, true)?,
            json: args.json,
        })
    }

    /// Prints an answer: JSON as is, or through `human`.
    pub fn show(&self, v: &Value, human: impl FnOnce(&Value)) {
        if self.json {
            table::print_json(v);
        } else {
            human(v);
        }
    }

    /// Prints a listing: JSON as a page, or the table `human` builds; says when more is left.
    pub fn show_list(&self, l: &client::Listing, human: impl FnOnce(&[Value]) -> table::Table) {
        if self.json {
            table::print_json(&l.to_json());
        } else {
            let t = human(&l.items);
            if t.is_empty() {
                eprintln!("(none)");
            } else {
                t.print();
            }
        }
        if l.truncated {
            eprintln!(
                "note: stopped after {} pages; narrow the listing or page with --limit/--after",
                client::MAX_PAGES
            );
        } else if let Some(n) = &l.next {
            if !self.json {
                eprintln!("more: --after {n}");
            }
        }
    }

    /// Says what was done (human mode only; `--json` prints the answer instead, if any).
    pub fn done(&self, answer: Option<&Value>, message: &str) {
        match (self.json, answer) {
            (true, Some(v)) => table::print_json(v),
            (true, None) => {}
            (false, _) => table::print_text(&format!("{message}\n")),
        }
    }
}

/// A secret from an environment variable (for scripts), else asked for without echo.
pub fn secret_from(var: &str, prompt: &str) -> Result<Secret> {
    if let Some(v) = std::env::var_os(var) {
        let v = v
            .into_string()
            .map_err(|_| anyhow::anyhow!("{var} is not valid UTF-8"))?;
        if !v.is_empty() {
            return Ok(Secret::new(v));
        }
    }
    prompt_secret(prompt).map_err(|e| anyhow::anyhow!("{e:#} (for scripts: set {var})"))
}

/// A secret asked for on the terminal without echo.
pub fn prompt_secret(prompt: &str) -> Result<Secret> {
    let s = Secret::new(
        rpassword::prompt_password(prompt)
            .with_context(|| format!("reading the answer to {:?}", prompt.trim()))?,
    );
    if s.expose().is_empty() {
        bail!("nothing entered");
    }
    Ok(s)
}

/// A new secret from an environment variable, else asked for twice without echo.
pub fn new_secret_from(var: &str, what: &str) -> Result<Secret> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let v = v
            .into_string()
            .map_err(|_| anyhow::anyhow!("{var} is not valid UTF-8"))?;
        return Ok(Secret::new(v));
    }
    new_secret(what).map_err(|e| anyhow::anyhow!("{e:#} (for scripts: set {var})"))
}

/// A new secret asked for twice on the terminal without echo.
pub fn new_secret(what: &str) -> Result<Secret> {
    let first = prompt_secret(&format!("{what}: "))?;
    let again = prompt_secret(&format!("{what} (again): "))?;
    if first != again {
        bail!("the two entries differ; nothing was changed");
    }
    Ok(first)
}

/// A line typed on the terminal (for TOTP codes, which are not kept secret from the screen).
pub fn read_line(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading from the terminal")?;
    // A terminal echoes the Enter that ends the answer; a pipe does not.
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!();
    }
    if n == 0 {
        bail!("no answer (end of input)");
    }
    Ok(line.trim().to_string())
}

/// Rights from `area:right` items: `right` is `read`, `write`, `execute`, `all`, or letters
/// of `rwx`. Denied rights win over allowed ones.
pub fn parse_rights(allow: &[String], deny: &[String]) -> Result<Value> {
    let mut out = Map::new();
    for (items, perm) in [(allow, "allow"), (deny, "deny")] {
        for item in items.iter().flat_map(|s| s.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((area, rights)) = item.split_once(':') else {
                bail!("{item:?}: write rights as AREA:RIGHT, e.g. users:read or users:rw");
            };
            let area = tessera_policy::Area::parse(area.trim()).ok_or_else(|| {
                anyhow::anyhow!(
                    "{area:?} is not an area; the areas are {}",
                    table::AREAS.join(", ")
                )
            })?;
            let rights: Vec<&str> = match rights.trim() {
                "all" | "*" => vec!["read", "write", "execute"],
                r => match tessera_policy::Right::parse(r) {
                    Some(r) => vec![r.as_str()],
                    None if !r.is_empty() && r.chars().all(|c| "rwx".contains(c)) => r
                        .chars()
                        .map(|c| match c {
                            'r' => "read",
                            'w' => "write",
                            _ => "execute",
                        })
                        .collect(),
                    None => bail!(
                        "{item:?}: the right must be read, write, execute, all, or letters of rwx"
                    ),
                },
            };
            let slot = out
                .entry(area.as_str())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                for r in rights {
                    if perm == "allow" && m.get(r).and_then(Value::as_str) == Some("deny") {
                        continue;
                    }
                    m.insert(r.to_string(), Value::String(perm.to_string()));
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// A time for the API: RFC 3339, or a date (midnight UTC).
pub fn parse_time(s: &str) -> Result<String, String> {
    let t = if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    match tessera_policy::Timestamp::parse_rfc3339(&t) {
        Some(_) => Ok(t),
        None => Err(format!(
            "{s:?} is not a time such as 2026-01-31T18:00:00Z or a date such as 2026-01-31"
        )),
    }
}

/// `tenant/name`, or `name` alone (then `None` for the tenant).
pub fn split_qualified(s: &str) -> (Option<&str>, &str) {
    match s.split_once('/') {
        Some((t, n)) if !t.is_empty() => (Some(t), n),
        _ => (None, s),
    }
}

/// Path segments as `&str`s.
pub fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Adds `key=value` to a query when there is a value.
pub fn opt_query(q: &mut Vec<(&'static str, String)>, key: &'static str, v: Option<&str>) {
    if let Some(v) = v {
        q.push((key, v.to_string()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn rights_parse_from_short_forms() {
        let r = parse_rights(
            &["users:read,groups:rw".into(), "audit:all".into()],
            &["groups:write".into()],
        )
        .unwrap();
        assert_eq!(
            r,
            serde_json::json!({
                "users": {"read": "allow"},
                "groups": {"read": "allow", "write": "deny"},
                "audit": {"read": "allow", "write": "allow", "execute": "allow"}
            })
        );
        assert!(parse_rights(&["userz:read".into()], &[]).is_err());
        assert!(parse_rights(&["users:delete".into()], &[]).is_err());
        assert!(parse_rights(&["users".into()], &[]).is_err());
    }

    #[test]
    fn times_and_names() {
        assert_eq!(parse_time("2026-01-31").unwrap(), "2026-01-31T00:00:00Z");
        assert!(parse_time("2026-01-31T18:00:00Z").is_ok());
        assert!(parse_time("tomorrow").is_err());
        assert_eq!(split_qualified("acme/tech1"), (Some("acme"), "tech1"));
        assert_eq!(split_qualified("tech1"), (None, "tech1"));
    }
}
