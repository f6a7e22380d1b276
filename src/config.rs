//! The one typed configuration of the `tessera` binary, layered: built-in defaults → the TOML
//! file → `TESSERA_*` environment variables → command-line flags. Unknown keys are an error.
//! It owns the settings of the process (paths, listeners, pool sizes); per-tenant settings
//! (policies, applications, roles) are data in the store, never here.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything the process is configured with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The data directory of the embedded store.
    pub data_dir: PathBuf,
    /// The master key file (base64, mode 0600), outside the data directory.
    pub master_key_file: PathBuf,
    /// The HTTPS listener of the admin API (and, later, SAML and the console).
    pub http: HttpConfig,
    /// Admin API settings.
    pub api: ApiSettings,
    /// The LDAP frontend.
    pub ldap: LdapSettings,
    /// The RADIUS frontend.
    pub radius: RadiusSettings,
    /// The SAML identity providers.
    pub saml: SamlSettings,
    /// The password-hashing pool.
    pub hashing: HashingConfig,
    /// Logging.
    pub log: LogConfig,
}

/// The HTTPS listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS. Only for a TLS-terminating proxy on the same host.
    pub plain_http: bool,
    /// The certificate chain (PEM). When unset, a self-signed certificate for localhost is
    /// generated on first start and kept beside the master key file.
    pub cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

/// Admin API settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// How long a login session lasts, in seconds.
    pub session_ttl_secs: u32,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

/// When a simple bind may carry a password over a connection without TLS. Written
/// `"loopback"`, `"always"` or `"never"`; `true` and `false` are read as always and never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AllowPlainBinds {
    /// Only from loopback addresses.
    #[default]
    Loopback,
    /// From anywhere (a trusted network, or TLS terminated in front).
    Always,
    /// Never: LDAPS or StartTLS first.
    Never,
}

impl<'de> Deserialize<'de> for AllowPlainBinds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Name(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(true) => Ok(AllowPlainBinds::Always),
            Raw::Flag(false) => Ok(AllowPlainBinds::Never),
            Raw::Name(n) => match n.as_str() {
                "loopback" => Ok(AllowPlainBinds::Loopback),
                "always" => Ok(AllowPlainBinds::Always),
                "never" => Ok(AllowPlainBinds::Never),
                _ => Err(serde::de::Error::custom(format!(
                    "{n:?} is not one of \"loopback\", \"always\", \"never\" (or true / false)"
                ))),
            },
        }
    }
}

/// The LDAP frontend: a plain listener that offers StartTLS, an LDAPS listener, the DIT
/// suffix and the limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LdapSettings {
    /// Serve LDAP at all.
    pub enabled: bool,
    /// The plain LDAP listener (StartTLS offered).
    pub listen: SocketAddr,
    /// The LDAPS listener (TLS from the first byte).
    pub ldaps_listen: SocketAddr,
    /// The DIT suffix: tenants are `o=<slug>,<suffix>`.
    pub suffix: String,
    /// When simple binds may send a password without TLS.
    pub allow_plain_binds: AllowPlainBinds,
    /// The most entries a search returns (0: no limit).
    pub size_limit: u32,
    /// The longest a search may run, in seconds (0: no limit).
    pub time_limit_secs: u32,
    /// The largest request accepted, in bytes.
    pub max_message_bytes: usize,
    /// LDAP connections served at once, over both listeners.
    pub max_connections: usize,
    /// LDAP connections one source address may hold at once.
    pub max_connections_per_source: usize,
    /// Connections idle this long are closed, in seconds (0: never).
    pub idle_timeout_secs: u64,
    /// The certificate chain (PEM) for LDAPS and StartTLS; unset: the admin API's.
    pub cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// The RADIUS frontend: authentication and accounting listeners (each on any number of IPv4
/// and IPv6 addresses), the duplicate cache and the TOTP challenge. NAS clients, their secrets
/// and reply attributes are applications in the store, not settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusSettings {
    /// Serve RADIUS at all.
    pub enabled: bool,
    /// Authentication listeners (Access-Request, Status-Server).
    pub auth_listen: Vec<SocketAddr>,
    /// Accounting listeners (Accounting-Request, Status-Server).
    pub acct_listen: Vec<SocketAddr>,
    /// How long a reply is replayed to retransmissions of its request, in seconds.
    pub duplicate_window_secs: u32,
    /// The most requests the duplicate cache remembers.
    pub max_duplicates: usize,
    /// How long a TOTP challenge waits for its code, in seconds.
    pub challenge_ttl_secs: u32,
    /// The most TOTP challenges waiting at once.
    pub max_challenges: usize,
    /// The Reply-Message of a TOTP challenge.
    pub challenge_prompt: String,
    /// How often the NAS client table is re-read from the store, in seconds.
    pub clients_refresh_secs: u32,
    /// Requests answered at once; beyond, datagrams are dropped (the NAS retransmits).
    pub max_in_flight: usize,
    /// Serve EAP-TTLS/PAP (WPA2/WPA3-Enterprise); off: EAP requests get Access-Reject. The
    /// tunnel presents the certificate of the tenant whose NAS client the request came through
    /// (generated per tenant, or installed through the API): it is data, not a setting.
    pub eap: bool,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        let lib = tessera_radius::RadiusConfig::default();
        RadiusSettings {
            enabled: true,
            auth_listen: vec![SocketAddr::from(([127, 0, 0, 1], 1812))],
            acct_listen: vec![SocketAddr::from(([127, 0, 0, 1], 1813))],
            duplicate_window_secs: lib.duplicate_window_secs,
            max_duplicates: lib.max_duplicates,
            challenge_ttl_secs: lib.challenge_ttl_secs,
            max_challenges: lib.max_challenges,
            challenge_prompt: lib.challenge_prompt,
            clients_refresh_secs: lib.clients_refresh_secs,
            max_in_flight: lib.max_in_flight,
            eap: true,
        }
    }
}

impl RadiusSettings {
    /// The frontend's configuration.
    pub fn frontend(&self) -> tessera_radius::RadiusConfig {
        tessera_radius::RadiusConfig {
            duplicate_window_secs: self.duplicate_window_secs,
            max_duplicates: self.max_duplicates,
            challenge_ttl_secs: self.challenge_ttl_secs,
            max_challenges: self.max_challenges,
            challenge_prompt: self.challenge_prompt.clone(),
            clients_refresh_secs: self.clients_refresh_secs,
            max_in_flight: self.max_in_flight,
        }
    }
}

/// The SAML identity providers (one per tenant, under `/saml/<tenant>/` of the HTTPS listener).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamlSettings {
    /// The URL browsers and service providers reach the HTTPS listener at, e.g.
    /// `https://sso.example.com` (scheme, host and optional port; no path). Entity ids,
    /// endpoints in the metadata and the Destination checked in requests are built from it.
    /// Unset: from the address the listener is bound to (right for loopback trials only).
    pub base_url: Option<String>,
    /// An SSO session ends after this many seconds without use.
    pub session_idle_secs: u32,
    /// An SSO session ends this many seconds after the login, used or not.
    pub session_absolute_secs: u32,
}

impl Default for SamlSettings {
    fn default() -> Self {
        let d = tessera_directory::model::SessionLimits::default();
        SamlSettings {
            base_url: None,
            session_idle_secs: u32::try_from(d.idle_secs).unwrap_or(u32::MAX),
            session_absolute_secs: u32::try_from(d.absolute_secs).unwrap_or(u32::MAX),
        }
    }
}

impl SamlSettings {
    /// The SSO session limits.
    pub fn session(&self) -> tessera_directory::model::SessionLimits {
        tessera_directory::model::SessionLimits {
            idle_secs: i64::from(self.session_idle_secs),
            absolute_secs: i64::from(self.session_absolute_secs),
        }
    }

    fn check(&self) -> Result<()> {
        if let Some(u) = &self.base_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"))
                .unwrap_or_default();
            if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
                bail!(
                    "saml.base_url must be an http(s) URL with a host and no path, \
                     e.g. https://sso.example.com (got {u:?})"
                );
            }
        }
        if !(60..=86_400).contains(&self.session_idle_secs) {
            bail!("saml.session_idle_secs must be between 60 seconds and one day");
        }
        if !(60..=30 * 86_400).contains(&self.session_absolute_secs)
            || self.session_absolute_secs < self.session_idle_secs
        {
            bail!(
                "saml.session_absolute_secs must be between 60 seconds and 30 days, and not \
                 below saml.session_idle_secs"
            );
        }
        Ok(())
    }
}

/// The password-hashing pool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HashingConfig {
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Verifications one tenant may have waiting; 0 means 4 per worker.
    pub queue_per_tenant: usize,
    /// Verifications all tenants may have waiting; 0 means 64 per worker.
    pub queue_total: usize,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `tessera=debug,info`.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            master_key_file: PathBuf::from("tessera-master.key"),
            http: HttpConfig::default(),
            api: ApiSettings::default(),
            ldap: LdapSettings::default(),
            radius: RadiusSettings::default(),
            saml: SamlSettings::default(),
            hashing: HashingConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            plain_http: false,
            cert_file: None,
            key_file: None,
            max_connections: 1024,
        }
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            session_ttl_secs: 8 * 3600,
            max_body_bytes: 64 * 1024,
        }
    }
}

impl Default for LdapSettings {
    fn default() -> Self {
        let lib = tessera_ldap::LdapConfig::default();
        LdapSettings {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 3389)),
            ldaps_listen: SocketAddr::from(([127, 0, 0, 1], 3636)),
            suffix: lib.suffix,
            allow_plain_binds: AllowPlainBinds::Loopback,
            size_limit: lib.size_limit,
            time_limit_secs: lib.time_limit_secs,
            max_message_bytes: lib.max_message_bytes,
            max_connections: lib.max_connections,
            max_connections_per_source: lib.max_connections_per_source,
            idle_timeout_secs: lib.idle_timeout_secs,
            cert_file: None,
            key_file: None,
        }
    }
}

impl LdapSettings {
    /// The frontend's configuration.
    pub fn frontend(&self) -> tessera_ldap::LdapConfig {
        tessera_ldap::LdapConfig {
            suffix: self.suffix.clone(),
            plain_binds: match self.allow_plain_binds {
                AllowPlainBinds::Loopback => tessera_ldap::PlainBinds::Loopback,
                AllowPlainBinds::Always => tessera_ldap::PlainBinds::Always,
                AllowPlainBinds::Never => tessera_ldap::PlainBinds::Never,
            },
            size_limit: self.size_limit,
            time_limit_secs: self.time_limit_secs,
            max_message_bytes: self.max_message_bytes,
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            idle_timeout_secs: self.idle_timeout_secs,
            ..tessera_ldap::LdapConfig::default()
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

/// The environment variables read on top of the file, and what they set.
pub const ENVIRONMENT: [(&str, &str); 9] = [
    ("TESSERA_DATA_DIR", "data_dir"),
    ("TESSERA_MASTER_KEY_FILE", "master_key_file"),
    ("TESSERA_HTTP_LISTEN", "http.listen"),
    ("TESSERA_HTTP_CERT_FILE", "http.cert_file"),
    ("TESSERA_HTTP_KEY_FILE", "http.key_file"),
    ("TESSERA_LDAP_LISTEN", "ldap.listen"),
    ("TESSERA_LDAPS_LISTEN", "ldap.ldaps_listen"),
    ("TESSERA_SAML_BASE_URL", "saml.base_url"),
    ("TESSERA_LOG", "log.level"),
];

impl Config {
    /// Parses a TOML document.
    pub fn from_toml(text: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let removed = ["`eap_cert_file`", "`eap_key_file`"];
            let hint = removed.iter().any(|k| e.message().contains(k));
            let e = anyhow::Error::from(e);
            if hint {
                e.context(
                    "radius.eap_cert_file and radius.eap_key_file are gone: each tenant's \
                     EAP-TTLS certificate is generated for it, or installed with \
                     PUT /api/v1/tenants/{slug}/radius/eap-certificate",
                )
            } else {
                e
            }
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Reads `path` when given (it must exist), else `tessera.toml` in the working directory
    /// when there is one, else the defaults; then applies the environment.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading the configuration {}", p.display()))?;
                Config::from_toml(&text).with_context(|| format!("in {}", p.display()))?
            }
            None if Path::new("tessera.toml").exists() => {
                let text =
                    std::fs::read_to_string("tessera.toml").context("reading tessera.toml")?;
                Config::from_toml(&text).context("in tessera.toml")?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Applies the `TESSERA_*` variables `get` returns.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = get("TESSERA_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("TESSERA_MASTER_KEY_FILE") {
            self.master_key_file = v.into();
        }
        if let Some(v) = get("TESSERA_HTTP_LISTEN") {
            self.http.listen = v
                .parse()
                .with_context(|| format!("TESSERA_HTTP_LISTEN={v}"))?;
        }
        if let Some(v) = get("TESSERA_HTTP_CERT_FILE") {
            self.http.cert_file = Some(v.into());
        }
        if let Some(v) = get("TESSERA_HTTP_KEY_FILE") {
            self.http.key_file = Some(v.into());
        }
        if let Some(v) = get("TESSERA_LDAP_LISTEN") {
            self.ldap.listen = v
                .parse()
                .with_context(|| format!("TESSERA_LDAP_LISTEN={v}"))?;
        }
        if let Some(v) = get("TESSERA_LDAPS_LISTEN") {
            self.ldap.ldaps_listen = v
                .parse()
                .with_context(|| format!("TESSERA_LDAPS_LISTEN={v}"))?;
        }
        if let Some(v) = get("TESSERA_SAML_BASE_URL") {
            self.saml.base_url = Some(v);
        }
        if let Some(v) = get("TESSERA_LOG") {
            self.log.level = v;
        }
        Ok(())
    }

    /// Rejects combinations that cannot work.
    pub fn check(&self) -> Result<()> {
        if self.http.cert_file.is_some() != self.http.key_file.is_some() {
            bail!("http.cert_file and http.key_file go together");
        }
        if self.http.max_connections == 0 {
            bail!("http.max_connections must be at least 1");
        }
        if !(60..=7 * 86_400).contains(&self.api.session_ttl_secs) {
            bail!("api.session_ttl_secs must be between 60 seconds and 7 days");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.api.max_body_bytes) {
            bail!("api.max_body_bytes must be between 1 KiB and 16 MiB");
        }
        if self.ldap.cert_file.is_some() != self.ldap.key_file.is_some() {
            bail!("ldap.cert_file and ldap.key_file go together");
        }
        if self.ldap.enabled && self.ldap.listen == self.ldap.ldaps_listen {
            bail!("ldap.listen and ldap.ldaps_listen must differ");
        }
        self.ldap
            .frontend()
            .check()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if self.radius.enabled
            && (self.radius.auth_listen.is_empty() || self.radius.acct_listen.is_empty())
        {
            bail!("radius.auth_listen and radius.acct_listen need at least one address each");
        }
        if self
            .radius
            .auth_listen
            .iter()
            .any(|a| self.radius.acct_listen.contains(a))
        {
            bail!("radius.auth_listen and radius.acct_listen must differ");
        }
        self.radius
            .frontend()
            .check()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.saml.check()?;
        Ok(())
    }

    /// Where the generated certificate and key live when none is configured: beside the master
    /// key file.
    pub fn generated_tls_paths(&self) -> (PathBuf, PathBuf) {
        let dir = self
            .master_key_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        (dir.join("tessera-tls.crt"), dir.join("tessera-tls.key"))
    }

    /// The certificate and key files in use.
    pub fn tls_paths(&self) -> (PathBuf, PathBuf) {
        match (&self.http.cert_file, &self.http.key_file) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => self.generated_tls_paths(),
        }
    }

    /// The certificate and key of the LDAP listeners: their own when configured, else the admin
    /// API's.
    pub fn ldap_tls_paths(&self) -> (PathBuf, PathBuf) {
        match (&self.ldap.cert_file, &self.ldap.key_file) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => self.tls_paths(),
        }
    }

    /// Where the LDAP listeners bind. Left at their defaults while the admin API listens on
    /// port 0 (tests, `serve --listen 127.0.0.1:0`), they take free ports too, so several
    /// servers can run side by side; configured addresses are used as they are.
    pub fn ldap_addresses(&self) -> (SocketAddr, SocketAddr) {
        let defaults = LdapSettings::default();
        let follow = |configured: SocketAddr, default: SocketAddr| {
            if self.http.listen.port() == 0 && configured == default {
                SocketAddr::new(configured.ip(), 0)
            } else {
                configured
            }
        };
        (
            follow(self.ldap.listen, defaults.listen),
            follow(self.ldap.ldaps_listen, defaults.ldaps_listen),
        )
    }

    /// Where the RADIUS listeners bind (authentication, accounting), by the same rule as
    /// [`Config::ldap_addresses`]: left at their defaults while the admin API listens on port 0,
    /// they take free ports.
    pub fn radius_addresses(&self) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
        let defaults = RadiusSettings::default();
        let follow = |configured: &[SocketAddr], default: &[SocketAddr]| -> Vec<SocketAddr> {
            if self.http.listen.port() == 0 && configured == default {
                configured
                    .iter()
                    .map(|a| SocketAddr::new(a.ip(), 0))
                    .collect()
            } else {
                configured.to_vec()
            }
        };
        (
            follow(&self.radius.auth_listen, &defaults.auth_listen),
            follow(&self.radius.acct_listen, &defaults.acct_listen),
        )
    }

    /// The hashing pool configuration for the directory.
    pub fn pool(&self) -> tessera_directory::PoolConfig {
        let base = tessera_directory::PoolConfig::default();
        let workers = if self.hashing.workers == 0 {
            base.workers
        } else {
            self.hashing.workers
        };
        tessera_directory::PoolConfig {
            workers,
            queue_per_tenant: if self.hashing.queue_per_tenant == 0 {
                4 * workers
            } else {
                self.hashing.queue_per_tenant
            },
            queue_total: if self.hashing.queue_total == 0 {
                64 * workers
            } else {
                self.hashing.queue_total
            },
            params: base.params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_config_in_the_repository_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = 0;
        for dir in [root.to_path_buf(), root.join("examples")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "toml")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("tessera"))
                {
                    let text = std::fs::read_to_string(&p).unwrap();
                    Config::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                    found += 1;
                }
            }
        }
        assert!(found >= 1, "the example tessera.toml is missing");
    }

    #[test]
    fn the_example_documents_every_setting_with_its_default() {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tessera.toml"))
                .unwrap();
        // Every key, commented out, parses back to exactly the defaults.
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = "))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let all = Config::from_toml(&uncommented).unwrap();
        let documented: toml::Table = toml::from_str(&uncommented).unwrap();
        let defaults: toml::Table =
            toml::from_str(&toml::to_string(&Config::default()).unwrap()).unwrap();
        fn keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
            for (k, v) in t {
                match v {
                    toml::Value::Table(inner) => keys(inner, &format!("{prefix}{k}."), out),
                    _ => out.push(format!("{prefix}{k}")),
                }
            }
        }
        let (mut want, mut have) = (Vec::new(), Vec::new());
        keys(&defaults, "", &mut want);
        keys(&documented, "", &mut have);
        for k in want {
            assert!(have.contains(&k), "tessera.toml does not document {k}");
        }
        let defaults = Config {
            data_dir: all.data_dir.clone(),
            master_key_file: all.master_key_file.clone(),
            ..Config::default()
        };
        assert_eq!(all.http.listen, defaults.http.listen);
        assert_eq!(all.api, defaults.api);
        let ldap = LdapSettings {
            cert_file: None,
            key_file: None,
            ..all.ldap.clone()
        };
        assert_eq!(ldap, defaults.ldap);
        assert_eq!(all.radius, defaults.radius);
        let saml = SamlSettings {
            base_url: None,
            ..all.saml.clone()
        };
        assert_eq!(saml, defaults.saml);
        assert_eq!(all.hashing, defaults.hashing);
        assert_eq!(all.log, defaults.log);
    }

    #[test]
    fn layers_and_refusals() {
        let mut c = Config::from_toml(
            "data_dir = \"/var/lib/tessera\"\n[http]\nlisten = \"127.0.0.1:9443\"\n",
        )
        .unwrap();
        assert_eq!(c.http.listen.port(), 9443);
        c.apply_env(|k| (k == "TESSERA_HTTP_LISTEN").then(|| "127.0.0.1:7443".to_string()))
            .unwrap();
        assert_eq!(c.http.listen.port(), 7443);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/tessera"));
        assert!(
            Config::from_toml("nonsense = 1").is_err(),
            "unknown keys are refused"
        );
        assert!(Config::from_toml("[http]\nlisten = \"not an address\"").is_err());
        assert!(
            Config::from_toml("[http]\ncert_file = \"a.pem\"").is_err(),
            "cert without key"
        );
        assert!(Config::from_toml("[api]\nsession_ttl_secs = 5").is_err());
        assert!(Config::from_toml("[ldap]\nsuffix = \"dc=a,,\"").is_err());
        assert!(Config::from_toml("[ldap]\nallow_plain_binds = \"sometimes\"").is_err());
        assert!(Config::from_toml("[ldap]\ncert_file = \"a.pem\"").is_err());
        for bad in [
            "base_url = \"https://sso.example.com/idp\"",
            "base_url = \"sso.example.com\"",
            "base_url = \"https://\"",
            "session_idle_secs = 5",
            "session_idle_secs = 3600\nsession_absolute_secs = 600",
        ] {
            assert!(
                Config::from_toml(&format!("[saml]\n{bad}")).is_err(),
                "{bad} is refused"
            );
        }
        let c = Config::from_toml("[saml]\nbase_url = \"https://sso.example.com:8443\"").unwrap();
        assert_eq!(
            c.saml.base_url.as_deref(),
            Some("https://sso.example.com:8443")
        );
        let flag = Config::from_toml("[ldap]\nallow_plain_binds = true").unwrap();
        assert_eq!(flag.ldap.allow_plain_binds, AllowPlainBinds::Always);
        let c =
            Config::from_toml("[ldap]\nallow_plain_binds = \"never\"\nsize_limit = 10").unwrap();
        assert_eq!(
            c.ldap.frontend().plain_binds,
            tessera_ldap::PlainBinds::Never
        );
        assert_eq!(c.ldap.frontend().size_limit, 10);
        // LDAP follows the admin API onto free ports only from its defaults.
        let mut t = Config::default();
        assert_eq!(t.ldap_addresses().0.port(), 3389);
        t.http.listen = "127.0.0.1:0".parse().unwrap();
        assert_eq!(t.ldap_addresses().0.port(), 0);
        assert_eq!(t.ldap_addresses().1.port(), 0);
        t.ldap.listen = "127.0.0.1:1389".parse().unwrap();
        assert_eq!(t.ldap_addresses().0.port(), 1389);
        // RADIUS too, and its two ports must differ.
        assert_eq!(t.radius_addresses().0[0].port(), 0);
        assert_eq!(Config::default().radius_addresses().1[0].port(), 1813);
        assert!(Config::from_toml("[radius]\nacct_listen = [\"127.0.0.1:1812\"]").is_err());
        assert!(Config::from_toml("[radius]\nduplicate_window_secs = 0").is_err());
        // The installation-wide EAP certificate is gone (per tenant now), with a pointer.
        let gone = Config::from_toml("[radius]\neap_cert_file = \"a.pem\"").unwrap_err();
        assert!(format!("{gone:#}").contains("PUT /api/v1/tenants/{slug}/radius/eap-certificate"));
        let v6 = Config::from_toml("[radius]\nauth_listen = [\"127.0.0.1:1812\", \"[::1]:1812\"]")
            .unwrap();
        assert_eq!(v6.radius.auth_listen.len(), 2);
        let mut bad = Config::default();
        assert!(bad
            .apply_env(|k| (k == "TESSERA_HTTP_LISTEN").then(|| "x".into()))
            .is_err());
    }
}
