//! The end-to-end harness: a real Tessera server started in-process on a free loopback port,
//! over HTTPS with its generated certificate (LDAP and RADIUS beside it, on free ports too), on
//! a temporary store (seeded with the demo tree when asked), and a real HTTPS client that
//! trusts exactly that certificate.
#![allow(dead_code)] // shared by the test modules; not every module uses every part

use std::path::PathBuf;
use tessera::config::Config;
use tessera::server::Running;
use tessera_directory::Directory;

/// A running server and what a client needs to reach it.
pub struct Server {
    /// `https://127.0.0.1:<port>/api/v1`.
    pub api: String,
    /// The server's certificate (PEM), which clients trust.
    pub cert: PathBuf,
    /// Plain LDAP (StartTLS offered) on loopback.
    pub ldap: std::net::SocketAddr,
    /// LDAPS on loopback.
    pub ldaps: std::net::SocketAddr,
    /// RADIUS authentication on loopback.
    pub radius_auth: std::net::SocketAddr,
    /// RADIUS accounting on loopback.
    pub radius_acct: std::net::SocketAddr,
    /// The RADIUS server (its drop counters).
    pub radius: tessera_radius::RadiusServer,
    /// The configuration it runs with.
    pub config: Config,
    /// The directory behind it (for checks the API does not offer).
    pub dir: Directory,
    running: Option<Running>,
    runtime: tokio::runtime::Runtime,
    /// Where the store, key and certificate live.
    pub tmp: tempfile::TempDir,
}

impl Server {
    /// A server on an empty store.
    pub fn start() -> Server {
        Self::start_with(false)
    }

    /// A server on a store seeded with the demo tree (as `tessera serve --demo`).
    pub fn start_demo() -> Server {
        Self::start_with(true)
    }

    /// A server on the store of `config`, inside `tmp` (e.g. one `tessera init` prepared).
    pub fn start_on(config: Config, tmp: tempfile::TempDir) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tessera::keys::open(&config).unwrap();
        Self::serve(config, dir, tmp)
    }

    /// The configuration of a store in `tmp`, listening on a free loopback port.
    pub fn config_in(tmp: &std::path::Path) -> Config {
        Config {
            data_dir: tmp.join("data"),
            master_key_file: tmp.join("master.key"),
            http: tessera::config::HttpConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
            ..Config::default()
        }
    }

    fn start_with(demo: bool) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tmp = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: tmp.path().join("data"),
            master_key_file: tmp.path().join("master.key"),
            http: tessera::config::HttpConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
            ..Config::default()
        };
        let dir = tessera::keys::open(&config).unwrap();
        if demo {
            tessera::demo::seed(&dir).unwrap();
        }
        Self::serve(config, dir, tmp)
    }

    fn serve(config: Config, dir: Directory, tmp: tempfile::TempDir) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = runtime
            .block_on(tessera::server::start(&config, dir.clone()))
            .unwrap();
        let (cert, _) = config.tls_paths();
        Server {
            api: format!("https://{}/api/v1", running.addr),
            ldap: running.ldap.expect("LDAP is enabled by default"),
            ldaps: running.ldaps.expect("LDAPS is enabled by default"),
            radius_auth: running.radius_auth[0],
            radius_acct: running.radius_acct[0],
            radius: running
                .radius
                .clone()
                .expect("RADIUS is enabled by default"),
            cert,
            config,
            dir,
            running: Some(running),
            runtime,
            tmp,
        }
    }

    /// An HTTPS client that trusts this server's certificate only.
    pub fn client(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(&self.cert).unwrap();
        reqwest::blocking::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap()
    }

    /// Logs in (admin MFA off in the demo) and returns the session token.
    pub fn login(&self, tenant: &str, username: &str, password: &str) -> String {
        let r = self
            .client()
            .post(format!("{}/auth/login", self.api))
            .json(&serde_json::json!({ "tenant": tenant, "username": username, "password": password }))
            .send()
            .unwrap();
        let status = r.status();
        let body: serde_json::Value = r.json().unwrap();
        assert!(
            status.is_success(),
            "login of {tenant}/{username} failed: {status} {body}"
        );
        body["token"].as_str().unwrap().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.runtime.block_on(r.stop());
        }
    }
}
