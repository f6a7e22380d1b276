//! `tessera tenant …`: the tenant tree as the caller may see it (indented), one tenant, a new
//! child, renaming, suspending, resuming, deleting, and the caller's own rights there. It only
//! translates arguments into `/tenants` requests; kind rules and visibility are the server's.

use super::client::Paging;
use super::table::{print_record, print_text, rights_table, text, time, Table};
use super::{opt_query, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::Result;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

/// `tessera tenant`.
#[derive(Debug, Args)]
pub struct TenantCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: TenantAction,
}

#[derive(Debug, Subcommand)]
enum TenantAction {
    /// The tenants you may see, as a tree.
    List {
        /// Only slugs starting with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Only tenants of this kind.
        #[arg(long, value_parser = kind)]
        kind: Option<String>,
        /// Only active or only suspended tenants.
        #[arg(long, value_parser = ["active", "suspended"])]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One tenant.
    Show {
        /// The tenant's slug.
        slug: String,
    },
    /// Create a child tenant.
    Create {
        /// The parent's slug.
        parent: String,
        /// The new tenant's slug: a-z, 0-9 and -, unique, never changes.
        slug: String,
        /// Its kind: distributor, msp_manager, msp, managed_msp or customer (one the parent may
        /// hold).
        #[arg(long, value_parser = kind)]
        kind: String,
        /// Its display name [default: the slug].
        #[arg(long)]
        name: Option<String>,
    },
    /// Change a tenant's display name.
    Rename {
        /// The tenant's slug.
        slug: String,
        /// The new display name.
        name: String,
    },
    /// Suspend a tenant: every authentication in its whole subtree stops.
    Suspend {
        /// The tenant's slug.
        slug: String,
    },
    /// Resume a suspended tenant.
    Resume {
        /// The tenant's slug.
        slug: String,
    },
    /// Delete an empty tenant (its audit log is kept).
    Delete {
        /// The tenant's slug.
        slug: String,
    },
    /// The rights you hold on a tenant.
    Rights {
        /// The tenant's slug.
        slug: String,
    },
}

fn kind(s: &str) -> Result<String, String> {
    let s = s.replace('-', "_");
    tessera_policy::TenantKind::parse(&s)
        .map(|k| k.as_str().to_string())
        .ok_or_else(|| {
            format!("{s:?} is not one of distributor, msp_manager, msp, managed_msp, customer")
        })
}

/// A tenant's rows of the tree table.
fn tree(items: &[Value]) -> Table {
    let mut t = Table::new(&["TENANT", "KIND", "STATUS", "NAME"]);
    for x in items {
        let depth = x.get("depth").and_then(Value::as_u64).unwrap_or(0);
        let indent = "  ".repeat(usize::try_from(depth).unwrap_or(0));
        t.row(vec![
            format!("{indent}{}", text(x, "slug")),
            text(x, "kind"),
            text(x, "status"),
            text(x, "name"),
        ]);
    }
    t
}

fn show_tenant(t: &Value) {
    print_record(&[
        ("slug", text(t, "slug")),
        ("name", text(t, "name")),
        ("kind", text(t, "kind")),
        ("status", text(t, "status")),
        ("parent", text(t, "parent")),
        ("id", text(t, "id")),
        ("created", time(t, "created_at")),
        ("updated", time(t, "updated_at")),
    ]);
}

/// Runs `tessera tenant …`.
pub fn run(cmd: &TenantCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    match &cmd.action {
        TenantAction::List {
            prefix,
            kind,
            status,
            paging,
        } => {
            let mut q = Vec::new();
            opt_query(&mut q, "prefix", prefix.as_deref());
            opt_query(&mut q, "kind", kind.as_deref());
            opt_query(&mut q, "status", status.as_deref());
            let l = api.list(&["tenants"], &q, paging)?;
            ctx.show_list(&l, tree);
        }
        TenantAction::Show { slug } => {
            let t = api.get(&["tenants", slug], &[])?;
            ctx.show(&t, show_tenant);
        }
        TenantAction::Create {
            parent,
            slug,
            kind,
            name,
        } => {
            let body = json!({
                "slug": slug,
                "name": name.as_deref().unwrap_or(slug),
                "kind": kind,
            });
            let t = api.send(Method::POST, &["tenants", parent, "children"], &body)?;
            ctx.done(
                Some(&t),
                &format!("Created tenant {slug} ({kind}) under {parent}."),
            );
        }
        TenantAction::Rename { slug, name } => {
            let t = api.send(Method::PATCH, &["tenants", slug], &json!({ "name": name }))?;
            ctx.done(Some(&t), &format!("Renamed {slug} to {name:?}."));
        }
        TenantAction::Suspend { slug } => {
            let t = api.act(Method::POST, &["tenants", slug, "suspend"])?;
            ctx.done(
                t.as_ref(),
                &format!("Suspended {slug}: no authentication in its subtree until resumed."),
            );
        }
        TenantAction::Resume { slug } => {
            let t = api.act(Method::POST, &["tenants", slug, "resume"])?;
            ctx.done(t.as_ref(), &format!("Resumed {slug}."));
        }
        TenantAction::Delete { slug } => {
            api.act(Method::DELETE, &["tenants", slug])?;
            ctx.done(None, &format!("Deleted tenant {slug}."));
        }
        TenantAction::Rights { slug } => {
            let r = api.get(&["tenants", slug, "rights"], &[])?;
            ctx.show(&r, |r| {
                let t = rights_table(r);
                if t.is_empty() {
                    print_text(&format!("You hold no rights on {slug}.\n"));
                } else {
                    t.print();
                }
            });
        }
    }
    Ok(())
}
