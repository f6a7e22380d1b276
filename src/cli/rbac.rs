//! `tessera role …`, `tessera assign` and `tessera assignment …`: roles (named sets of rights)
//! of a tenant, assignments of roles and rights to users and groups at a scope tenant, and
//! their listing and revocation. It only translates arguments into requests under
//! `/tenants/{slug}/roles` and `/assignments`; the no-escalation rule, propagation and
//! evaluation of rights are the server's.

use super::client::Paging;
use super::table::{print_record, print_text, rights_compact, rights_table, text, time, Table};
use super::{opt_query, parse_rights, parse_time, split_qualified, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{bail, Result};
use clap::{ArgGroup, Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// Rights given as `AREA:RIGHT` lists.
#[derive(Debug, Args, Default)]
struct RightsArgs {
    /// Allow these rights: AREA:RIGHT, comma-separated or repeated (RIGHT is read, write,
    /// execute, all, or letters of rwx; e.g. users:rw,credentials:x).
    #[arg(long, value_name = "AREA:RIGHT,…", value_delimiter = ',')]
    allow: Vec<String>,
    /// Deny these rights (a deny wins over every allow).
    #[arg(long, value_name = "AREA:RIGHT,…", value_delimiter = ',')]
    deny: Vec<String>,
}

impl RightsArgs {
    fn given(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    fn json(&self) -> Result<Value> {
        parse_rights(&self.allow, &self.deny)
    }
}

/// `tessera role`.
#[derive(Debug, Args)]
pub struct RoleCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: RoleAction,
}

/// A role in a tenant.
#[derive(Debug, Args)]
struct RoleRef {
    /// The tenant's slug.
    tenant: String,
    /// The role's name (quote names with spaces: "Helpdesk Operator").
    name: String,
}

#[derive(Debug, Subcommand)]
enum RoleAction {
    /// The roles a tenant holds (its own and locked copies from above).
    List {
        /// The tenant's slug.
        tenant: String,
        /// Only names starting with this.
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One role with its rights.
    Show {
        #[command(flatten)]
        role: RoleRef,
    },
    /// Define a role (only with rights you hold there).
    Create {
        #[command(flatten)]
        role: RoleRef,
        #[command(flatten)]
        rights: RightsArgs,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
        /// Copy it, locked, into every tenant below.
        #[arg(long)]
        propagate: bool,
    },
    /// Change a role where it is defined; --allow/--deny replace its rights.
    Update {
        #[command(flatten)]
        role: RoleRef,
        #[command(flatten)]
        rights: RightsArgs,
        /// A new name.
        #[arg(long)]
        rename: Option<String>,
        /// A new description (empty clears it).
        #[arg(long)]
        description: Option<String>,
        /// Switch propagation on (true) or off (false; the copies stay, unlocked).
        #[arg(long, value_name = "BOOL")]
        propagate: Option<bool>,
    },
    /// Delete a role where it is defined (its copies stay, independent).
    Delete {
        #[command(flatten)]
        role: RoleRef,
    },
}

/// `tessera assign`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["user", "group"])))]
#[command(
    after_help = "Examples:\n  tessera assign contoso --user contoso/dave --role \
    \"Helpdesk Operator\"\n  tessera assign acme --group acme/night-shift --allow \
    users:read,credentials:x --expires 2026-12-31"
)]
pub struct AssignArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The scope tenant: the assignment covers it and everything below it.
    scope: String,
    /// The user receiving it: TENANT/USERNAME (the scope or a tenant above), or USERNAME of
    /// the scope.
    #[arg(long, value_name = "TENANT/USERNAME")]
    user: Option<String>,
    /// The group receiving it (every member, transitively): TENANT/GROUP or GROUP.
    #[arg(long, value_name = "TENANT/GROUP")]
    group: Option<String>,
    /// A role of the scope tenant to give (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    #[command(flatten)]
    rights: RightsArgs,
    /// When it stops counting (RFC 3339, or a date: midnight UTC) [default: never].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    expires: Option<String>,
}

/// `tessera assignment`.
#[derive(Debug, Args)]
pub struct AssignmentCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: AssignmentAction,
}

#[derive(Debug, Subcommand)]
enum AssignmentAction {
    /// The assignments made at a scope tenant, oldest first.
    List {
        /// The scope tenant's slug.
        scope: String,
        /// Only those of this user: TENANT/USERNAME or USERNAME.
        #[arg(long, value_name = "TENANT/USERNAME", conflicts_with = "group")]
        user: Option<String>,
        /// Only those of this group: TENANT/GROUP or GROUP.
        #[arg(long, value_name = "TENANT/GROUP")]
        group: Option<String>,
        /// Only those giving this role.
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One assignment.
    Show {
        /// The scope tenant's slug.
        scope: String,
        /// The assignment's id.
        id: String,
    },
    /// Revoke an assignment.
    Revoke {
        /// The scope tenant's slug.
        scope: String,
        /// The assignment's id.
        id: String,
    },
}

fn roles_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["ROLE", "FLAGS", "RIGHTS"]);
    for r in items {
        let mut flags = Vec::new();
        for (k, label) in [
            ("builtin", "builtin"),
            ("locked", "locked"),
            ("propagate", "propagated"),
        ] {
            if r.get(k) == Some(&Value::Bool(true)) {
                flags.push(label);
            }
        }
        t.row(vec![
            text(r, "name"),
            flags.join(","),
            r.get("rights").map(rights_compact).unwrap_or_default(),
        ]);
    }
    t
}

fn show_role(r: &Value) {
    let source = r
        .get("source")
        .filter(|s| !s.is_null())
        .map(|s| {
            let t = text(s, "tenant");
            format!(
                "copy of a role of {}",
                if t.is_empty() {
                    text(s, "tenant_id")
                } else {
                    t
                }
            )
        })
        .unwrap_or_default();
    print_record(&[
        ("role", format!("{}/{}", text(r, "tenant"), text(r, "name"))),
        ("description", text(r, "description")),
        ("builtin", text(r, "builtin")),
        ("propagate", text(r, "propagate")),
        ("locked", text(r, "locked")),
        ("source", source),
        ("id", text(r, "id")),
        ("updated", time(r, "updated_at")),
    ]);
    if let Some(rights) = r.get("rights") {
        let t = rights_table(rights);
        if t.is_empty() {
            print_text("No rights.\n");
        } else {
            print_text("\n");
            t.print();
        }
    }
}

/// A subject as `user acme/tech1`.
fn subject(a: &Value) -> String {
    let s = a.get("subject").cloned().unwrap_or_default();
    let tenant = match text(&s, "tenant") {
        t if t.is_empty() => text(&s, "tenant_id"),
        t => t,
    };
    let name = match text(&s, "name") {
        n if n.is_empty() => text(&s, "id"),
        n => n,
    };
    format!("{} {tenant}/{name}", text(&s, "type"))
}

fn role_names(a: &Value) -> String {
    a.get("roles")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| match text(r, "name") {
                    n if n.is_empty() => text(r, "id"),
                    n => n,
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The table of an assignment listing.
pub fn assignments_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["ID", "SCOPE", "SUBJECT", "ROLES", "RIGHTS", "EXPIRES"]);
    for a in items {
        let rights = a.get("rights").map(rights_compact).unwrap_or_default();
        t.row(vec![
            text(a, "id"),
            match text(a, "scope") {
                s if s.is_empty() => text(a, "scope_id"),
                s => s,
            },
            subject(a),
            role_names(a),
            if rights == "-" { String::new() } else { rights },
            time(a, "expires_at"),
        ]);
    }
    t
}

fn show_assignment(a: &Value) {
    print_record(&[
        ("id", text(a, "id")),
        ("scope", text(a, "scope")),
        ("subject", subject(a)),
        ("roles", role_names(a)),
        (
            "rights",
            a.get("rights").map(rights_compact).unwrap_or_default(),
        ),
        ("expires", time(a, "expires_at")),
        ("created", time(a, "created_at")),
    ]);
}

/// Runs `tessera role …`.
pub fn run_role(cmd: &RoleCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    match &cmd.action {
        RoleAction::List {
            tenant,
            prefix,
            paging,
        } => {
            let mut q = Vec::new();
            opt_query(&mut q, "prefix", prefix.as_deref());
            let l = api.list(&["tenants", tenant, "roles"], &q, paging)?;
            ctx.show_list(&l, roles_table);
        }
        RoleAction::Show { role } => {
            let r = api.get(&["tenants", &role.tenant, "roles", &role.name], &[])?;
            ctx.show(&r, show_role);
        }
        RoleAction::Create {
            role,
            rights,
            description,
            propagate,
        } => {
            if !rights.given() {
                bail!("a role needs rights: give --allow (and --deny) AREA:RIGHT lists");
            }
            let mut body = Map::new();
            body.insert("name".into(), json!(role.name));
            body.insert("rights".into(), rights.json()?);
            body.insert("propagate".into(), json!(propagate));
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            let r = api.send(
                Method::POST,
                &["tenants", &role.tenant, "roles"],
                &Value::Object(body),
            )?;
            ctx.done(
                Some(&r),
                &format!(
                    "Created role {:?} at {}: {}.",
                    role.name,
                    role.tenant,
                    r.get("rights").map(rights_compact).unwrap_or_default()
                ),
            );
        }
        RoleAction::Update {
            role,
            rights,
            rename,
            description,
            propagate,
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
            if rights.given() {
                body.insert("rights".into(), rights.json()?);
            }
            if let Some(p) = propagate {
                body.insert("propagate".into(), json!(p));
            }
            if body.is_empty() {
                bail!("nothing to change: give --rename, --description, --allow/--deny or --propagate");
            }
            let r = api.send(
                Method::PATCH,
                &["tenants", &role.tenant, "roles", &role.name],
                &Value::Object(body),
            )?;
            ctx.done(
                Some(&r),
                &format!("Updated role {:?} at {}.", text(&r, "name"), role.tenant),
            );
        }
        RoleAction::Delete { role } => {
            api.act(
                Method::DELETE,
                &["tenants", &role.tenant, "roles", &role.name],
            )?;
            ctx.done(
                None,
                &format!("Deleted role {:?} at {}.", role.name, role.tenant),
            );
        }
    }
    Ok(())
}

/// Runs `tessera assign`.
pub fn assign(a: &AssignArgs, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&a.client, cfg)?;
    let (kind, who) = match (&a.user, &a.group) {
        (Some(u), None) => ("user", u),
        (None, Some(g)) => ("group", g),
        _ => bail!("give exactly one of --user or --group"),
    };
    if a.roles.is_empty() && !a.rights.given() {
        bail!("nothing to give: name --role ROLE and/or --allow/--deny AREA:RIGHT");
    }
    let (tenant, name) = split_qualified(who);
    let mut who = Map::new();
    who.insert("type".into(), json!(kind));
    who.insert("name".into(), json!(name));
    if let Some(t) = tenant {
        who.insert("tenant".into(), json!(t));
    }
    let mut body = Map::new();
    body.insert("subject".into(), Value::Object(who));
    body.insert("roles".into(), json!(a.roles));
    if a.rights.given() {
        body.insert("rights".into(), a.rights.json()?);
    }
    if let Some(e) = &a.expires {
        body.insert("expires_at".into(), json!(e));
    }
    let made = ctx.api.send(
        Method::POST,
        &["tenants", &a.scope, "assignments"],
        &Value::Object(body),
    )?;
    if ctx.json {
        super::table::print_json(&made);
        return Ok(());
    }
    let mut given = Vec::new();
    let roles = role_names(&made);
    if !roles.is_empty() {
        given.push(format!("role {roles}"));
    }
    let rights = made.get("rights").map(rights_compact).unwrap_or_default();
    if rights != "-" {
        given.push(format!("rights {rights}"));
    }
    let id = text(&made, "id");
    print_text(&format!(
        "Assigned {} to {} at {} and below.
Assignment {id} (revoke: tessera assignment revoke {} {id}).
",
        given.join("; "),
        subject(&made),
        a.scope,
        a.scope,
    ));
    Ok(())
}

/// Runs `tessera assignment …`.
pub fn run_assignment(cmd: &AssignmentCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    match &cmd.action {
        AssignmentAction::List {
            scope,
            user,
            group,
            role,
            paging,
        } => {
            let mut q = Vec::new();
            let who = match (user, group) {
                (Some(u), _) => Some(("user", u)),
                (None, Some(g)) => Some(("group", g)),
                (None, None) => None,
            };
            if let Some((kind, who)) = who {
                let (tenant, name) = split_qualified(who);
                q.push(("subject_type", kind.to_string()));
                q.push(("subject_name", name.to_string()));
                opt_query(&mut q, "subject_tenant", Some(tenant.unwrap_or(scope)));
            }
            opt_query(&mut q, "role", role.as_deref());
            let l = api.list(&["tenants", scope, "assignments"], &q, paging)?;
            ctx.show_list(&l, assignments_table);
        }
        AssignmentAction::Show { scope, id } => {
            let a = api.get(&["tenants", scope, "assignments", id], &[])?;
            ctx.show(&a, show_assignment);
        }
        AssignmentAction::Revoke { scope, id } => {
            api.act(Method::DELETE, &["tenants", scope, "assignments", id])?;
            ctx.done(None, &format!("Revoked assignment {id} at {scope}."));
        }
    }
    Ok(())
}
