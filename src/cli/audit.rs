//! `tessera audit <tenant>` (a table of events) and `tessera audit export <tenant>` (JSON lines
//! to standard output, streamed): a tenant's audit log read over the API, with the API's
//! filters. It only reads; what may be read is the server's decision. (`tessera audit-export`
//! is the other thing: it reads a stopped store directly.)

use super::client::{Listing, Paging};
use super::table::{text, time, Table};
use super::{opt_query, parse_time, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::Write;

/// `tessera audit`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  tessera audit contoso --since 2026-01-01 --action user.\n  \
        tessera audit acme --subtree --kind authentication --limit 50\n  \
        tessera audit export acme --subtree > acme-audit.jsonl"
)]
pub struct AuditCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    export: Option<AuditAction>,
    /// The tenant whose log to read.
    #[arg(required = true)]
    tenant: Option<String>,
    #[command(flatten)]
    filter: Filter,
    #[command(flatten)]
    paging: Paging,
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Write every matching event as JSON lines to standard output (oldest first).
    Export {
        /// The tenant whose log to export.
        tenant: String,
        #[command(flatten)]
        filter: Filter,
    },
}

/// Which events.
#[derive(Debug, Args)]
struct Filter {
    /// Also every tenant below (those whose log you may read).
    #[arg(long)]
    subtree: bool,
    /// From this time on (RFC 3339, or a date: midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<String>,
    /// Before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<String>,
    /// Only changes or only authentications.
    #[arg(long, value_parser = ["change", "authentication"])]
    kind: Option<String>,
    /// Only actions starting with this, e.g. `user.` or `user.create`.
    #[arg(long, value_name = "PREFIX")]
    action: Option<String>,
}

impl Filter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if self.subtree {
            q.push(("subtree", "true".to_string()));
        }
        opt_query(&mut q, "from", self.since.as_deref());
        opt_query(&mut q, "to", self.until.as_deref());
        opt_query(&mut q, "kind", self.kind.as_deref());
        opt_query(&mut q, "action", self.action.as_deref());
        q
    }
}

fn events_table(items: &[Value], subtree: bool) -> Table {
    let mut header = vec!["TIME"];
    if subtree {
        header.push("TENANT");
    }
    header.extend(["ACTOR", "ACTION", "TARGET", "OUTCOME"]);
    let mut t = Table::new(&header);
    for e in items {
        let mut row = vec![time(e, "at")];
        if subtree {
            row.push(match text(e, "tenant") {
                s if s.is_empty() => text(e, "tenant_id"),
                s => s,
            });
        }
        let mut outcome = text(e, "outcome");
        let reason = text(e, "reason");
        if !reason.is_empty() {
            outcome.push_str(&format!(" ({reason})"));
        }
        let mut target = text(e, "target");
        let app = text(e, "application");
        if !app.is_empty() {
            target.push_str(&format!(" via {app}"));
        }
        row.extend([text(e, "actor"), text(e, "action"), target, outcome]);
        t.row(row);
    }
    t
}

/// Standard output that remembers when its reader went away (`| head`), which is no error.
struct Stdout {
    inner: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }
}

/// Runs `tessera audit …`.
pub fn run(cmd: &AuditCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    match &cmd.export {
        Some(AuditAction::Export { tenant, filter }) => {
            let mut out = Stdout {
                inner: std::io::stdout().lock(),
                closed: false,
            };
            let done = ctx
                .api
                .download(
                    &["tenants", tenant, "audit", "export"],
                    &filter.query(),
                    &mut out,
                )
                .and_then(|_| out.flush().map_err(Into::into));
            match done {
                Err(_) if out.closed => Ok(()),
                other => other,
            }
        }
        None => {
            let tenant = cmd
                .tenant
                .as_deref()
                .ok_or_else(|| anyhow!("name the tenant whose audit log to read"))?;
            let l: Listing = ctx.api.list(
                &["tenants", tenant, "audit"],
                &cmd.filter.query(),
                &cmd.paging,
            )?;
            ctx.show_list(&l, |items| events_table(items, cmd.filter.subtree));
            Ok(())
        }
    }
}
