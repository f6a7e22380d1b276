//! `tessera user …`: the users of a tenant — listing, reading, creating, changing, suspending,
//! resuming, deleting — and their credentials (set a password, unlock, reset TOTP), groups,
//! assignments and effective rights. It only translates arguments into requests under
//! `/tenants/{slug}/users`; a new password comes from the terminal or `TESSERA_NEW_PASSWORD`,
//! never from the command line, and is never printed.

use super::auth::display_name;
use super::client::Paging;
use super::table::{print_record, print_text, rights_table, show, text, time, Table};
use super::{new_secret_from, opt_query, refs, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// `tessera user`.
#[derive(Debug, Args)]
pub struct UserCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: UserAction,
}

/// A user in a tenant.
#[derive(Debug, Args)]
struct UserRef {
    /// The tenant's slug.
    tenant: String,
    /// The username.
    username: String,
}

/// Attributes of a user, for `create` and `update` (an empty value clears one in `update`).
#[derive(Debug, Args, Default)]
struct Attributes {
    /// E-mail address.
    #[arg(long)]
    email: Option<String>,
    /// Given name.
    #[arg(long)]
    given_name: Option<String>,
    /// Family name.
    #[arg(long)]
    family_name: Option<String>,
    /// Display name.
    #[arg(long)]
    display_name: Option<String>,
    /// Telephone number.
    #[arg(long)]
    phone: Option<String>,
}

/// POSIX account attributes, for `create` and `update`.
#[derive(Debug, Args, Default)]
struct PosixArgs {
    /// Make the user a POSIX account: uidNumber allocated (unless --uid-number), gidNumber its
    /// own number (unless --gid-number), home /home/<username>, shell /bin/bash (unless given).
    #[arg(long)]
    posix: bool,
    /// A fixed uidNumber (at least 1000, unique in the tenant): makes the user a POSIX account
    /// with it, or re-numbers a POSIX user.
    #[arg(long, value_name = "N")]
    uid_number: Option<u32>,
    /// Primary gidNumber (POSIX users, or with --posix).
    #[arg(long, value_name = "N")]
    gid_number: Option<u32>,
    /// Home directory (POSIX users, or with --posix).
    #[arg(long)]
    home: Option<String>,
    /// Login shell (POSIX users, or with --posix).
    #[arg(long)]
    shell: Option<String>,
}

impl PosixArgs {
    /// The fields asked for, by their API names.
    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(n) = self.uid_number {
            m.insert("uid_number".into(), json!(n));
        }
        if let Some(n) = self.gid_number {
            m.insert("gid_number".into(), json!(n));
        }
        put(&mut m, "home", self.home.as_ref(), false);
        put(&mut m, "shell", self.shell.as_ref(), false);
        m
    }
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// The users of a tenant, by username.
    List {
        /// The tenant's slug.
        tenant: String,
        /// Only usernames starting with this.
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One user, with their credential status when you may read it.
    Show {
        #[command(flatten)]
        user: UserRef,
    },
    /// Create a user (set the password afterwards with `user set-password`).
    Create {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        attrs: Attributes,
        /// A service account rather than a person.
        #[arg(long)]
        service: bool,
        /// POSIX attributes (any of them makes the user a POSIX account).
        #[command(flatten)]
        posix: PosixArgs,
        /// Create the user suspended.
        #[arg(long)]
        suspended: bool,
        /// Put the user in this group of the tenant (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
    /// Change a user's attributes; an empty value clears one (--email ''). --posix or
    /// --uid-number make a user a POSIX account; --uid-number re-numbers a POSIX user.
    Update {
        #[command(flatten)]
        user: UserRef,
        /// A new username.
        #[arg(long)]
        rename: Option<String>,
        #[command(flatten)]
        attrs: Attributes,
        #[command(flatten)]
        posix: PosixArgs,
    },
    /// Delete a user with their memberships, tokens and assignments.
    Delete {
        #[command(flatten)]
        user: UserRef,
    },
    /// Suspend a user: every authentication is refused.
    Suspend {
        #[command(flatten)]
        user: UserRef,
    },
    /// Resume a suspended user.
    Resume {
        #[command(flatten)]
        user: UserRef,
    },
    /// Set a user's password (asked for twice, or read from TESSERA_NEW_PASSWORD).
    SetPassword {
        #[command(flatten)]
        user: UserRef,
        /// Make the user change it at the next login.
        #[arg(long)]
        must_change: bool,
    },
    /// Lift a lockout now.
    Unlock {
        #[command(flatten)]
        user: UserRef,
    },
    /// Remove a user's TOTP: they enrol again at their next login where MFA is required.
    TotpReset {
        #[command(flatten)]
        user: UserRef,
    },
    /// The groups a user is in.
    Groups {
        #[command(flatten)]
        user: UserRef,
        /// Also through nested groups.
        #[arg(long)]
        transitive: bool,
        #[command(flatten)]
        paging: Paging,
    },
    /// The assignments a user holds (where you may read them).
    Assignments {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        paging: Paging,
    },
    /// A user's effective rights on a tenant.
    Rights {
        #[command(flatten)]
        user: UserRef,
        /// The tenant the rights are on [default: the user's own].
        #[arg(long, value_name = "TENANT")]
        on: Option<String>,
    },
}

/// The table of a user listing.
pub fn users_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["USERNAME", "KIND", "STATUS", "NAME", "EMAIL"]);
    for u in items {
        t.row(vec![
            text(u, "username"),
            text(u, "kind"),
            text(u, "status"),
            display_name(u),
            text(u, "email"),
        ]);
    }
    t
}

/// The table of a group listing.
pub fn groups_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["GROUP", "GID", "VLAN", "DESCRIPTION"]);
    for g in items {
        t.row(vec![
            text(g, "name"),
            text(g, "gid_number"),
            g.pointer("/attributes/radius/vlan")
                .map(show)
                .unwrap_or_default(),
            text(g, "description"),
        ]);
    }
    t
}

fn show_user(u: &Value, creds: Option<&Value>) {
    let posix = u.get("posix").filter(|p| !p.is_null());
    let mut fields = vec![
        (
            "user",
            format!("{}/{}", text(u, "tenant"), text(u, "username")),
        ),
        ("kind", text(u, "kind")),
        ("status", text(u, "status")),
        ("name", display_name(u)),
        ("email", text(u, "email")),
        ("phone", text(u, "phone")),
        (
            "posix",
            posix
                .map(|p| {
                    format!(
                        "uid {} gid {} home {} shell {}",
                        text(p, "uid_number"),
                        text(p, "gid_number"),
                        text(p, "home"),
                        text(p, "shell")
                    )
                })
                .unwrap_or_default(),
        ),
        (
            "ssh keys",
            u.get("ssh_keys")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .map(|a| a.len().to_string())
                .unwrap_or_default(),
        ),
        ("id", text(u, "id")),
        ("created", time(u, "created_at")),
        ("updated", time(u, "updated_at")),
    ];
    if let Some(c) = creds {
        let password = if c.get("has_password") == Some(&Value::Bool(true)) {
            let mut s = format!("set {}", time(c, "password_set_at"));
            let exp = time(c, "password_expires_at");
            if !exp.is_empty() {
                s.push_str(&format!(", expires {exp}"));
            }
            if c.get("must_change") == Some(&Value::Bool(true)) {
                s.push_str(", must change at next login");
            }
            s
        } else {
            "none".into()
        };
        fields.push(("password", password));
        fields.push(("totp", text(c, "totp")));
        fields.push(("locked until", time(c, "locked_until")));
        let failures = text(c, "recent_failures");
        if failures != "0" {
            fields.push(("recent failures", failures));
        }
    }
    print_record(&fields);
}

/// Sets `key` in a body: a value, or `null` for an empty one when `clear` (a patch).
fn put(body: &mut Map<String, Value>, key: &str, v: Option<&String>, clear: bool) {
    match v {
        Some(s) if s.is_empty() && clear => {
            body.insert(key.into(), Value::Null);
        }
        Some(s) if !s.is_empty() => {
            body.insert(key.into(), Value::String(s.clone()));
        }
        _ => {}
    }
}

fn attributes(body: &mut Map<String, Value>, a: &Attributes, clear: bool) {
    put(body, "email", a.email.as_ref(), clear);
    put(body, "given_name", a.given_name.as_ref(), clear);
    put(body, "family_name", a.family_name.as_ref(), clear);
    put(body, "display_name", a.display_name.as_ref(), clear);
    put(body, "phone", a.phone.as_ref(), clear);
}

/// Runs `tessera user …`.
pub fn run(cmd: &UserCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    let with = |u: &UserRef, more: &[&str]| -> Vec<String> {
        let mut v = vec![
            "tenants".to_string(),
            u.tenant.clone(),
            "users".to_string(),
            u.username.clone(),
        ];
        v.extend(more.iter().map(|s| s.to_string()));
        v
    };
    match &cmd.action {
        UserAction::List {
            tenant,
            prefix,
            paging,
        } => {
            let mut q = Vec::new();
            opt_query(&mut q, "prefix", prefix.as_deref());
            let l = api.list(&["tenants", tenant, "users"], &q, paging)?;
            ctx.show_list(&l, users_table);
        }
        UserAction::Show { user } => {
            let p = with(user, &[]);
            let u = api.get(&refs(&p), &[])?;
            if ctx.json {
                super::table::print_json(&u);
            } else {
                // The credential status needs Credentials:Read; without it the user is shown
                // alone.
                let c = api.get(&refs(&with(user, &["credentials"])), &[]).ok();
                show_user(&u, c.as_ref());
            }
        }
        UserAction::Create {
            user,
            attrs,
            service,
            posix,
            suspended,
            groups,
        } => {
            let mut body = Map::new();
            body.insert("username".into(), json!(user.username));
            if *service {
                body.insert("kind".into(), json!("service"));
            }
            if *suspended {
                body.insert("status".into(), json!("suspended"));
            }
            attributes(&mut body, attrs, false);
            let fields = posix.fields();
            if posix.posix || !fields.is_empty() {
                body.insert("posix".into(), Value::Object(fields));
            }
            if !groups.is_empty() {
                body.insert("groups".into(), json!(groups));
            }
            let u = api.send(
                Method::POST,
                &["tenants", &user.tenant, "users"],
                &Value::Object(body),
            )?;
            ctx.done(
                Some(&u),
                &format!(
                    "Created user {}/{}. Set a password with: tessera user set-password {} {}",
                    user.tenant, user.username, user.tenant, user.username
                ),
            );
        }
        UserAction::Update {
            user,
            rename,
            attrs,
            posix,
        } => {
            let mut body = Map::new();
            put(&mut body, "username", rename.as_ref(), false);
            attributes(&mut body, attrs, true);
            body.extend(posix.fields());
            if posix.posix {
                body.insert("posix".into(), json!(true));
            }
            if body.is_empty() {
                bail!("nothing to change: give at least one of the options (see --help)");
            }
            let u = api.send(Method::PATCH, &refs(&with(user, &[])), &Value::Object(body))?;
            ctx.done(
                Some(&u),
                &format!("Updated user {}/{}.", user.tenant, text(&u, "username")),
            );
        }
        UserAction::Delete { user } => {
            api.act(Method::DELETE, &refs(&with(user, &[])))?;
            ctx.done(
                None,
                &format!("Deleted user {}/{}.", user.tenant, user.username),
            );
        }
        UserAction::Suspend { user } => {
            let u = api.act(Method::POST, &refs(&with(user, &["suspend"])))?;
            ctx.done(
                u.as_ref(),
                &format!("Suspended {}/{}.", user.tenant, user.username),
            );
        }
        UserAction::Resume { user } => {
            let u = api.act(Method::POST, &refs(&with(user, &["resume"])))?;
            ctx.done(
                u.as_ref(),
                &format!("Resumed {}/{}.", user.tenant, user.username),
            );
        }
        UserAction::SetPassword { user, must_change } => {
            let pw = new_secret_from(
                "TESSERA_NEW_PASSWORD",
                &format!("New password for {}/{}", user.tenant, user.username),
            )?;
            let body = json!({ "password": pw.expose(), "must_change": must_change });
            api.call(
                Method::PUT,
                &refs(&with(user, &["password"])),
                &[],
                Some(&body),
            )?;
            drop(body);
            ctx.done(
                None,
                &format!(
                    "Set the password of {}/{}{}.",
                    user.tenant,
                    user.username,
                    if *must_change {
                        " (to be changed at the next login)"
                    } else {
                        ""
                    }
                ),
            );
        }
        UserAction::Unlock { user } => {
            api.act(Method::POST, &refs(&with(user, &["unlock"])))?;
            ctx.done(
                None,
                &format!("Unlocked {}/{}.", user.tenant, user.username),
            );
        }
        UserAction::TotpReset { user } => {
            api.act(Method::DELETE, &refs(&with(user, &["totp"])))?;
            ctx.done(
                None,
                &format!(
                    "Removed the TOTP of {}/{}; they enrol again at their next login.",
                    user.tenant, user.username
                ),
            );
        }
        UserAction::Groups {
            user,
            transitive,
            paging,
        } => {
            let mut q = Vec::new();
            if *transitive {
                q.push(("transitive", "true".to_string()));
            }
            let l = api.list(&refs(&with(user, &["groups"])), &q, paging)?;
            ctx.show_list(&l, groups_table);
        }
        UserAction::Assignments { user, paging } => {
            let l = api.list(&refs(&with(user, &["assignments"])), &[], paging)?;
            ctx.show_list(&l, super::rbac::assignments_table);
        }
        UserAction::Rights { user, on } => {
            let mut q = Vec::new();
            opt_query(&mut q, "on", on.as_deref());
            let r = api.get(&refs(&with(user, &["rights"])), &q)?;
            ctx.show(&r, |r| {
                let on = on.as_deref().unwrap_or(&user.tenant);
                let t = rights_table(r);
                if t.is_empty() {
                    print_text(&format!(
                        "{}/{} holds no rights on {on}.\n",
                        user.tenant, user.username
                    ));
                } else {
                    print_text(&format!(
                        "Rights of {}/{} on {on} (blank: not granted, which means denied):\n",
                        user.tenant, user.username
                    ));
                    t.print();
                }
            });
        }
    }
    Ok(())
}
