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
use tessera_directory::secrets::MasterKey;
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
    /// The master key file (base64, mode 0600), kept outside the data directory. Created on
    /// first start of a new store. `TESSERA_MASTER_KEY` (the base64 key itself) takes
    /// precedence.
    #[arg(
        long,
        global = true,
        env = "TESSERA_MASTER_KEY_FILE",
        default_value = "tessera-master.key"
    )]
    master_key_file: PathBuf,
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

/// The master key: from `TESSERA_MASTER_KEY`, else the key file; a new store gets a new key
/// file, an existing store without its key is an error (a new key would not open it).
fn master_key(cli: &Cli) -> Result<MasterKey> {
    if let Ok(text) = std::env::var("TESSERA_MASTER_KEY") {
        return MasterKey::from_base64(&text).context("TESSERA_MASTER_KEY");
    }
    let path = &cli.master_key_file;
    if let (Ok(k), Ok(d)) = (std::path::absolute(path), std::path::absolute(&cli.data)) {
        if k.starts_with(&d) {
            bail!(
                "the master key file {} must not live inside the data directory {}",
                path.display(),
                cli.data.display()
            );
        }
    }
    if path.exists() {
        return Ok(MasterKey::read_file(path)?);
    }
    let store_exists = std::fs::read_dir(&cli.data).is_ok_and(|mut d| d.next().is_some());
    if store_exists {
        bail!(
            "the store in {} exists but its master key file {} is missing: restore the key file \
             (or set TESSERA_MASTER_KEY); a new key cannot open the secrets already stored",
            cli.data.display(),
            path.display()
        );
    }
    let key = MasterKey::generate(&tessera_directory::clock::ChaChaSource::from_os());
    key.create_file(path)?;
    eprintln!(
        "WARNING: created a new master key in {} (mode 0600). Back it up and keep it apart from \
         the data directory: without it the secrets in the store cannot be read.",
        path.display()
    );
    Ok(key)
}

fn open(cli: &Cli) -> Result<Directory> {
    let key = master_key(cli)?;
    Directory::open(&cli.data, key).with_context(|| {
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
