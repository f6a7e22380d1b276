//! `tessera group …`: the groups of a tenant — listing, reading, creating, changing, deleting —
//! and their members (users and nested groups). It only translates arguments into requests
//! under `/tenants/{slug}/groups`; cycles and visibility are the server's to refuse.

use super::client::Paging;
use super::table::{print_record, show, text, time, Table};
use super::users::groups_table;
use super::{opt_query, refs, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{bail, Result};
use clap::{ArgGroup, Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// `tessera group`.
#[derive(Debug, Args)]
pub struct GroupCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: GroupAction,
}

/// A group in a tenant.
#[derive(Debug, Args)]
struct GroupRef {
    /// The tenant's slug.
    tenant: String,
    /// The group's name.
    group: String,
}

/// A member: a user or a nested group.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("member").required(true).args(["user", "member_group"])))]
struct MemberRef {
    /// A user of the tenant.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// A group of the tenant (nested inside this one).
    #[arg(long = "group", value_name = "NAME")]
    member_group: Option<String>,
}

impl MemberRef {
    fn segments(&self) -> Result<(&'static str, &str)> {
        match (&self.user, &self.member_group) {
            (Some(u), None) => Ok(("users", u)),
            (None, Some(g)) => Ok(("groups", g)),
            _ => bail!("give exactly one of --user or --group"),
        }
    }
}

#[derive(Debug, Subcommand)]
enum GroupAction {
    /// The groups of a tenant, by name.
    List {
        /// The tenant's slug.
        tenant: String,
        /// Only names starting with this.
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One group.
    Show {
        #[command(flatten)]
        group: GroupRef,
    },
    /// Create a group.
    Create {
        #[command(flatten)]
        group: GroupRef,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
        /// The VLAN (1-4094) RADIUS puts members on.
        #[arg(long)]
        vlan: Option<u16>,
        /// A fixed gidNumber [default: allocated].
        #[arg(long)]
        gid: Option<u32>,
    },
    /// Change a group's name, description or VLAN (an empty description clears it; --vlan 0
    /// removes the VLAN).
    Update {
        #[command(flatten)]
        group: GroupRef,
        /// A new name.
        #[arg(long)]
        rename: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// A new VLAN; 0 removes it.
        #[arg(long)]
        vlan: Option<u16>,
    },
    /// Delete a group (its members stay).
    Delete {
        #[command(flatten)]
        group: GroupRef,
    },
    /// The members of a group.
    Members {
        #[command(flatten)]
        group: GroupRef,
        /// Everything inside it through nesting, not only direct members.
        #[arg(long)]
        transitive: bool,
        #[command(flatten)]
        paging: Paging,
    },
    /// Add a user (--user) or a nested group (--group) to a group.
    Add {
        #[command(flatten)]
        group: GroupRef,
        #[command(flatten)]
        member: MemberRef,
    },
    /// Remove a direct member from a group.
    Remove {
        #[command(flatten)]
        group: GroupRef,
        #[command(flatten)]
        member: MemberRef,
    },
}

fn show_group(g: &Value) {
    print_record(&[
        ("group", text(g, "name")),
        ("description", text(g, "description")),
        ("gid", text(g, "gid_number")),
        (
            "vlan",
            g.pointer("/attributes/radius/vlan")
                .map(show)
                .unwrap_or_default(),
        ),
        (
            "reply",
            g.pointer("/attributes/radius/reply")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|r| format!("{}={}", text(r, "name"), text(r, "value")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        ),
        ("id", text(g, "id")),
        ("created", time(g, "created_at")),
        ("updated", time(g, "updated_at")),
    ]);
}

fn members_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["TYPE", "NAME", "ID"]);
    for m in items {
        let name = text(m, "name");
        t.row(vec![
            text(m, "type"),
            if name.is_empty() {
                "(hidden)".into()
            } else {
                name
            },
            text(m, "id"),
        ]);
    }
    t
}

/// Runs `tessera group …`.
pub fn run(cmd: &GroupCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    let at = |g: &GroupRef, more: &[&str]| -> Vec<String> {
        let mut v = vec![
            "tenants".to_string(),
            g.tenant.clone(),
            "groups".to_string(),
            g.group.clone(),
        ];
        v.extend(more.iter().map(|s| s.to_string()));
        v
    };
    match &cmd.action {
        GroupAction::List {
            tenant,
            prefix,
            paging,
        } => {
            let mut q = Vec::new();
            opt_query(&mut q, "prefix", prefix.as_deref());
            let l = api.list(&["tenants", tenant, "groups"], &q, paging)?;
            ctx.show_list(&l, groups_table);
        }
        GroupAction::Show { group } => {
            let g = api.get(&refs(&at(group, &[])), &[])?;
            ctx.show(&g, show_group);
        }
        GroupAction::Create {
            group,
            description,
            vlan,
            gid,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(group.group));
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            if let Some(g) = gid {
                body.insert("gid_number".into(), json!(g));
            }
            if let Some(v) = vlan {
                body.insert("attributes".into(), json!({ "radius": { "vlan": v } }));
            }
            let g = api.send(
                Method::POST,
                &["tenants", &group.tenant, "groups"],
                &Value::Object(body),
            )?;
            ctx.done(
                Some(&g),
                &format!(
                    "Created group {}/{} (gid {}).",
                    group.tenant,
                    group.group,
                    text(&g, "gid_number")
                ),
            );
        }
        GroupAction::Update {
            group,
            rename,
            description,
            vlan,
        } => {
            let mut body = Map::new();
            if let Some(n) = rename {
                body.insert("name".into(), json!(n));
            }
            if let Some(d) = description {
                body.insert(
                    "description".into(),
                    if d.is_empty() { Value::Null } else { json!(d) },
                );
            }
            if let Some(v) = vlan {
                // Attributes are replaced as a whole: keep the reply attributes as they are.
                let current = api.get(&refs(&at(group, &[])), &[])?;
                let mut attrs = current
                    .get("attributes")
                    .cloned()
                    .unwrap_or_else(|| json!({ "radius": {} }));
                if let Some(radius) = attrs.get_mut("radius").and_then(Value::as_object_mut) {
                    radius.insert("vlan".into(), if *v == 0 { Value::Null } else { json!(v) });
                }
                body.insert("attributes".into(), attrs);
            }
            if body.is_empty() {
                bail!("nothing to change: give --rename, --description or --vlan");
            }
            let g = api.send(Method::PATCH, &refs(&at(group, &[])), &Value::Object(body))?;
            ctx.done(
                Some(&g),
                &format!("Updated group {}/{}.", group.tenant, text(&g, "name")),
            );
        }
        GroupAction::Delete { group } => {
            api.act(Method::DELETE, &refs(&at(group, &[])))?;
            ctx.done(
                None,
                &format!("Deleted group {}/{}.", group.tenant, group.group),
            );
        }
        GroupAction::Members {
            group,
            transitive,
            paging,
        } => {
            let mut q = Vec::new();
            if *transitive {
                q.push(("transitive", "true".to_string()));
            }
            let l = api.list(&refs(&at(group, &["members"])), &q, paging)?;
            ctx.show_list(&l, members_table);
        }
        GroupAction::Add { group, member } => {
            let (kind, name) = member.segments()?;
            api.act(Method::PUT, &refs(&at(group, &["members", kind, name])))?;
            ctx.done(
                None,
                &format!(
                    "{} {name} is a member of {}/{}.",
                    if kind == "users" { "User" } else { "Group" },
                    group.tenant,
                    group.group
                ),
            );
        }
        GroupAction::Remove { group, member } => {
            let (kind, name) = member.segments()?;
            api.act(Method::DELETE, &refs(&at(group, &["members", kind, name])))?;
            ctx.done(
                None,
                &format!(
                    "Removed {} {name} from {}/{}.",
                    if kind == "users" { "user" } else { "group" },
                    group.tenant,
                    group.group
                ),
            );
        }
    }
    Ok(())
}
