//! The `tessera` command: parses the command line and dispatches. `serve` runs the server,
//! `init` and `demo` prepare a store, `tree`, `check` and `audit-export` are local maintenance
//! on a stopped store (like `slapcat`). It owns no rules: everything goes through
//! `tessera_directory`'s services.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use tessera::config::Config;
use tessera::{demo, keys, server};
use tessera_directory::model::{
    AuditQuery, ListQuery, NewAssignment, NewTenant, NewUser, Subject, Tenant,
};
use tessera_directory::policy::TenantKind;
use tessera_directory::{Actor, Directory};

// A server's requests allocate and free many small buffers on every core (LDAP messages,
// entries, DNs): mimalloc's per-thread free lists cost a fraction of glibc's locked arenas.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Multi-tenant identity directory for MSPs",
    after_help = "serve, init, demo, tree, check and audit-export work on this machine's store \
        (all but serve with the server stopped). The commands from login on are the admin \
        client: they call a running server's REST API over HTTPS with a token from \
        TESSERA_TOKEN or from `tessera login`, and print tables (or the API's JSON with \
        --json). Server and certificate: --url/TESSERA_URL and --ca/TESSERA_CA, by default \
        those of the configuration. `tessera <command> --help` tells more."
)]
struct Cli {
    /// The configuration file (default: ./tessera.toml when present).
    #[arg(
        long,
        global = true,
        env = "TESSERA_CONFIG",
        help_heading = "Global options"
    )]
    config: Option<PathBuf>,
    /// The data directory of the embedded store (overrides the configuration).
    #[arg(long, global = true, help_heading = "Global options")]
    data: Option<PathBuf>,
    /// The master key file (overrides the configuration).
    #[arg(long, global = true, help_heading = "Global options")]
    master_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: the admin API over HTTPS, and LDAP (StartTLS) and LDAPS.
    Serve {
        /// Seed the demo MSP tree first when the store is empty (an existing store is served
        /// as it is).
        #[arg(long)]
        demo: bool,
        /// The admin API listens here instead of the configured address (with port 0, LDAP
        /// left at its default addresses takes free ports too).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Create the root tenant and its first administrator in an empty store; the
    /// administrator's one-time password is printed once.
    Init {
        /// The root tenant's slug.
        #[arg(long)]
        slug: String,
        /// Its display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        /// Its kind.
        #[arg(long, default_value = "distributor", value_parser = parse_kind)]
        kind: TenantKind,
        /// The first administrator's username.
        #[arg(long, default_value = "admin")]
        admin: String,
    },
    /// Seed the demo MSP tree into an empty store and print its logins (does nothing to a store
    /// that holds data).
    Demo,
    /// Print the tenant tree with user, group and application counts.
    Tree,
    /// Check that every index matches its entity; exit status 1 when something is wrong.
    Check,
    /// Write a tenant's audit log (and its subtree's, with --subtree) as JSON lines, from a
    /// stopped store (over the API: `tessera audit export`).
    AuditExport {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Include every tenant below it.
        #[arg(long)]
        subtree: bool,
    },
    #[command(flatten)]
    Admin(Box<tessera::cli::Command>),
}

fn parse_kind(s: &str) -> Result<TenantKind, String> {
    TenantKind::parse(s).ok_or_else(|| {
        format!("{s:?} is not one of distributor, msp_manager, msp, managed_msp, customer")
    })
}

fn config(cli: &Cli) -> Result<Config> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data {
        cfg.data_dir = d.clone();
    }
    if let Some(k) = &cli.master_key_file {
        cfg.master_key_file = k.clone();
    }
    Ok(cfg)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut cfg = config(&cli)?;
    match &cli.command {
        Command::Serve { demo, listen } => {
            if let Some(l) = listen {
                cfg.http.listen = *l;
            }
            init_logging(&cfg);
            serve(cfg, *demo)
        }
        Command::Init {
            slug,
            name,
            kind,
            admin,
        } => init(&cfg, slug, name.as_deref(), *kind, admin),
        Command::Demo => {
            let dir = keys::open(&cfg)?;
            seed_demo(&dir, &cfg)?;
            print_tree(&dir)
        }
        Command::Tree => print_tree(&keys::open(&cfg)?),
        Command::Check => {
            let report = keys::open(&cfg)?.check_integrity()?;
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
        Command::Admin(c) => {
            // The admin client reports its own errors: a refusal is the server's answer, not a
            // failure of this program, so no backtrace.
            if let Err(e) = tessera::cli::run(c, &cfg) {
                tessera::cli::report(&e);
                std::process::exit(1);
            }
            Ok(())
        }
        Command::AuditExport { tenant, subtree } => {
            let dir = keys::open(&cfg)?;
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
                other => other.map(|_| ()).map_err(Into::into),
            }
        }
    }
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Seeds the demo tree when the store is empty and prints its logins; says so otherwise.
fn seed_demo(dir: &Directory, cfg: &Config) -> Result<()> {
    if demo::is_seeded(dir)? {
        println!(
            "The store in {} already holds data: nothing seeded, serving what is there.",
            cfg.data_dir.display()
        );
        return Ok(());
    }
    let logins = demo::seed(dir)?;
    println!(
        "Seeded the demo MSP tree into {}. Demo logins (demo only; see README \"Demo\"):",
        cfg.data_dir.display()
    );
    for l in &logins {
        println!(
            "  {:<22} {}",
            format!("{}/{}", l.tenant, l.username),
            l.password
        );
    }
    Ok(())
}

/// Whether the store holds the demo tree (its MSP `acme` with `acme-admin`).
fn dir_has_demo(dir: &Directory) -> bool {
    let sys = Actor::system();
    dir.tenants()
        .by_slug(&sys, "acme")
        .and_then(|t| dir.users().by_username(&sys, t.id, "acme-admin"))
        .is_ok()
}

fn serve(cfg: Config, demo: bool) -> Result<()> {
    let dir = keys::open(&cfg)?;
    if demo {
        seed_demo(&dir, &cfg)?;
    }
    let running_dir = dir.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = server::start(&cfg, dir).await?;
        let scheme = if cfg.http.plain_http { "http" } else { "https" };
        let (cert, _) = cfg.tls_paths();
        println!("Tessera is serving:");
        println!(
            "  admin API  {scheme}://{}/api/v1   (OpenAPI: /api/v1/openapi.json)",
            running.addr
        );
        if !cfg.http.plain_http {
            println!(
                "  certificate {} (trust it: curl --cacert {0} ...)",
                cert.display()
            );
        }
        if let (Some(ldap), Some(ldaps)) = (running.ldap, running.ldaps) {
            let (ldap_cert, _) = cfg.ldap_tls_paths();
            println!(
                "  LDAP       ldap://{ldap}   (StartTLS; simple binds in the clear: {})",
                match cfg.ldap.allow_plain_binds {
                    tessera::config::AllowPlainBinds::Loopback => "loopback only",
                    tessera::config::AllowPlainBinds::Always => "allowed",
                    tessera::config::AllowPlainBinds::Never => "refused",
                }
            );
            println!("  LDAPS      ldaps://{ldaps}");
            println!(
                "  LDAP base  {}   (certificate {})",
                cfg.ldap.suffix,
                ldap_cert.display()
            );
        }
        let eap = if cfg.radius.eap {
            ", EAP-TTLS with each tenant's own certificate"
        } else {
            ""
        };
        for a in &running.radius_auth {
            println!("  RADIUS     {a} (authentication: PAP, TOTP challenge{eap}; Status-Server)");
        }
        for a in &running.radius_acct {
            println!("  RADIUS     {a} (accounting)");
        }
        println!(
            "Try: curl --cacert {} {scheme}://{}/api/v1/openapi.json | head -c 300",
            cert.display(),
            running.addr
        );
        // The walk-through hint only where the demo tree is (a store seeded earlier by --demo).
        let demo_tree = demo && dir_has_demo(&running_dir);
        if demo_tree {
            println!(
                "Or the CLI: tessera login --tenant acme --user acme-admin   (password Demo-2026:5.2!; README \"Five minutes with the CLI\")"
            );
            if let Some(ldap) = running.ldap {
                let suffix = &cfg.ldap.suffix;
                println!(
                    "Or LDAP: ldapsearch -x -H ldap://{ldap} -D uid=svc-ldap,ou=Users,o=contoso,{suffix} -w 'Demo-2026:1.4!' -b o=contoso,{suffix} '(uid=alice)'"
                );
            }
            if let Some(auth) = running.radius_auth.first() {
                println!(
                    "Or RADIUS: echo 'User-Name=alice,User-Password=\"Demo-2026:1.1!\",Message-Authenticator=0x00' | radclient -x {auth} auth contoso-demo-radius-secret"
                );
            }
            println!(
                "Or SAML: contoso's IdP metadata at {scheme}://{}/saml/contoso/metadata (README \"SAML in a minute\")",
                running.addr
            );
        }
        println!("Stop with Ctrl-C.");
        shutdown_signal().await;
        println!("Stopping…");
        running.stop().await
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init(cfg: &Config, slug: &str, name: Option<&str>, kind: TenantKind, admin: &str) -> Result<()> {
    let dir = keys::open(cfg)?;
    let sys = Actor::system();
    let root = dir.tenants().bootstrap(
        &sys,
        NewTenant {
            slug: slug.into(),
            name: name.unwrap_or(slug).into(),
            kind,
        },
    )?;
    let user = dir.users().create(
        &sys,
        root.id,
        NewUser {
            username: admin.into(),
            display_name: Some("Administrator".into()),
            ..NewUser::default()
        },
    )?;
    let role = dir
        .rbac()
        .role_by_name(&sys, root.id, "Main Administrator")?;
    dir.rbac().assign(
        &sys,
        root.id,
        NewAssignment {
            subject: Subject::User {
                tenant: root.id,
                id: user.id,
            },
            rights: Default::default(),
            roles: vec![role.id],
            expires_at: None,
        },
    )?;
    // A one-time password: 24 characters from a 62-letter alphabet (~143 bits), to be changed at
    // the first login.
    let mut raw = [0u8; 24];
    tessera_directory::clock::IdSource::fill(
        &tessera_directory::clock::ChaChaSource::from_os(),
        &mut raw,
    );
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let otp: String = raw
        .iter()
        .map(|b| {
            char::from(
                ALPHABET
                    .get(usize::from(*b) % ALPHABET.len())
                    .copied()
                    .unwrap_or(b'x'),
            )
        })
        .collect();
    dir.credentials()
        .set_password(&sys, root.id, user.id, &otp, true)?;
    println!(
        "Created the root tenant {} ({}) and its administrator {admin}.",
        root.slug, root.kind
    );
    println!("One-time password (shown once; changed at the first login): {otp}");
    println!("The first login also enrols TOTP (required on the admin surfaces by default).");
    Ok(())
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
    let depth = |t: &Tenant| -> Result<usize> {
        Ok(dir.tenants().ancestors(&sys, t.id)?.len().saturating_sub(1))
    };
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
