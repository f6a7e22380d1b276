//! The `tessera` binary: command-line parsing and the wiring of the directory for each command.
//! It owns no rules; everything it does goes through `tessera_directory`'s services. Until the
//! network frontends land, its commands work on a local data directory (like `slapcat`): seed
//! the demo tree, print the tree, check integrity, export the audit log.

mod demo;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use tessera_directory::model::{AuditQuery, ListQuery, Tenant};
use tessera_directory::{Actor, Directory};

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Multi-tenant identity directory for MSPs"
)]
struct Cli {
    /// The data directory of the embedded store.
    #[arg(
        long,
        global = true,
        env = "TESSERA_DATA_DIR",
        default_value = "tessera-data"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Seed the demo MSP tree into an empty store (does nothing if the store holds a tree),
    /// then print the tree.
    Demo,
    /// Print the tenant tree with user, group and application counts.
    Tree,
    /// Check that every index matches its entity; exit status 1 when something is wrong.
    Check,
    /// Write a tenant's audit log (and its subtree's, with --subtree) as JSON lines.
    AuditExport {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Include every tenant below it.
        #[arg(long)]
        subtree: bool,
    },
}

fn open(cli: &Cli) -> Result<Directory> {
    Directory::open(&cli.data).with_context(|| {
        format!(
            "opening the store in {} (is another tessera process using it?)",
            cli.data.display()
        )
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Demo => {
            let dir = open(&cli)?;
            if demo::is_seeded(&dir)? {
                println!(
                    "The store in {} already holds a tree; leaving it as it is.",
                    cli.data.display()
                );
            } else {
                demo::seed(&dir)?;
                println!("Seeded the demo tree into {}.", cli.data.display());
            }
            print_tree(&dir)
        }
        Command::Tree => print_tree(&open(&cli)?),
        Command::Check => {
            let report = open(&cli)?.check_integrity()?;
            for (what, n) in &report.counts {
                println!("{what:>13}: {n}");
            }
            if report.is_ok() {
                println!("ok: every index matches its entity");
                Ok(())
            } else {
                for p in &report.problems {
                    eprintln!("problem: {p}");
                }
                bail!("{} problems found", report.problems.len())
            }
        }
        Command::AuditExport { tenant, subtree } => {
            let dir = open(&cli)?;
            let sys = Actor::system();
            let t = dir
                .tenants()
                .by_slug(&sys, tenant)
                .with_context(|| format!("tenant {tenant:?}"))?;
            let q = AuditQuery {
                subtree: *subtree,
                ..AuditQuery::tenant(t.id)
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let done = dir.audit().export_jsonl(&sys, &q, &mut out).and_then(|_| {
                out.flush()
                    .map_err(|e| tessera_directory::Error::Output(e.to_string()))
            });
            match done {
                // The reader went away (`| head`): not an error of ours.
                Err(tessera_directory::Error::Output(e)) if e.contains("Broken pipe") => Ok(()),
                other => other.map_err(Into::into),
            }
        }
    }
}

fn count_all<T>(
    mut page: impl FnMut(
        &ListQuery,
    ) -> Result<tessera_directory::model::Page<T>, tessera_directory::Error>,
) -> Result<usize> {
    let mut q = ListQuery {
        limit: Some(ListQuery::MAX_LIMIT),
        ..ListQuery::default()
    };
    let mut n = 0;
    loop {
        let p = page(&q)?;
        n += p.items.len();
        match p.next {
            Some(c) => q.after = Some(c),
            None => return Ok(n),
        }
    }
}

fn print_tree(dir: &Directory) -> Result<()> {
    let sys = Actor::system();
    let tenants = dir.tenants().list(&sys)?;
    let depth =
        |t: &Tenant| -> Result<usize> { Ok(dir.tenants().ancestors(&sys, t.id)?.len() - 1) };
    for t in &tenants {
        let users = count_all(|q| dir.users().list(&sys, t.id, q))?;
        let groups = count_all(|q| dir.groups().list(&sys, t.id, q))?;
        let apps = dir.applications().list(&sys, t.id)?.len();
        let status = if dir.tenants().is_active(&sys, t.id)? {
            ""
        } else {
            "  [suspended]"
        };
        println!(
            "{indent}{slug:<w$} {kind:<12} users {users:>4}  groups {groups:>3}  apps {apps:>2}  {name}{status}",
            indent = "  ".repeat(depth(t)?),
            slug = t.slug,
            w = 14usize.saturating_sub(2 * depth(t)?),
            kind = t.kind.as_str(),
            name = t.name,
        );
    }
    Ok(())
}
