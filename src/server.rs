//! Wiring the listeners: the HTTPS server of the admin API on rustls (a certificate from the
//! configuration, or a self-signed one generated once for localhost), a cap on concurrent
//! connections, and graceful shutdown; beside it the LDAP frontend's two listeners (plain with
//! StartTLS, and LDAPS) on the same certificate unless LDAP has its own, stopped by the same
//! signal; and the RADIUS frontend's UDP authentication and accounting sockets (EAP-TTLS shows
//! each tenant's own certificate, kept in the directory — never this one). Like
//! mini-redis's listener, `serve` takes an already bound socket and a shutdown signal, so tests
//! bind port 0. It owns no API, LDAP or RADIUS logic.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Makes sure a certificate and key exist where the configuration says: configured files must
/// exist; the generated pair is created on first use (key mode 0600). Returns the paths.
pub fn ensure_certificate(cfg: &Config) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = cfg.tls_paths();
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    if cfg.http.cert_file.is_some() {
        bail!(
            "the configured certificate {} or key {} does not exist",
            cert.display(),
            key.display()
        );
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let generated = rcgen::generate_simple_self_signed(names)
        .context("generating a self-signed certificate")?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, generated.cert.pem())
        .with_context(|| format!("writing {}", cert.display()))?;
    eprintln!(
        "Generated a self-signed certificate for localhost in {} (clients trust it with that file).",
        cert.display()
    );
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// The rustls server configuration for a certificate chain and key in PEM files.
fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("opening {}", cert.display()))?,
    ))
    .collect::<Result<_, _>>()
    .with_context(|| format!("reading {}", cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).with_context(|| format!("opening {}", key.display()))?,
    ))
    .with_context(|| format!("reading {}", key.display()))?
    .with_context(|| format!("{} holds no private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")
}

/// The TLS acceptor of the admin API (HTTP/2 and HTTP/1.1 by ALPN) for a certificate chain
/// and key in PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let mut config = server_config(cert, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The TLS acceptor of the LDAP listeners (no ALPN: LDAP clients offer none, and one that
/// offered an unknown protocol must not be refused for it).
pub fn ldap_tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    Ok(TlsAcceptor::from(Arc::new(server_config(cert, key)?)))
}

/// Serves `app` on `listener` until `shutdown` completes, over TLS when `tls` is given, with at
/// most `max_connections` at once; then lets open connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let limit = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => p.context("the connection limit closed")?,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: keep serving the others.
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let service = TowerToHyperService::new(app.map_request(
                |r: hyper::Request<hyper::body::Incoming>| r.map(axum::body::Body::new),
            ));
            let builder = Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let conn = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), service);
                            watcher.watch(conn.into_owned()).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("connections still open after 10 s; closing"),
    }
    Ok(())
}

/// A running server (for `tessera serve` and the end-to-end tests).
#[derive(Debug)]
pub struct Running {
    /// Where the admin API listens.
    pub addr: SocketAddr,
    /// Where plain LDAP (with StartTLS) listens, when LDAP is enabled.
    pub ldap: Option<SocketAddr>,
    /// Where LDAPS listens, when LDAP is enabled.
    pub ldaps: Option<SocketAddr>,
    /// Where RADIUS authentication listens (empty when RADIUS is disabled).
    pub radius_auth: Vec<SocketAddr>,
    /// Where RADIUS accounting listens.
    pub radius_acct: Vec<SocketAddr>,
    /// The RADIUS server, when enabled (its drop counters).
    pub radius: Option<tessera_radius::RadiusServer>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<()>>,
    ldap_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets open requests finish, and waits.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        for t in self.ldap_tasks {
            t.await.context("an LDAP or RADIUS listener failed")?;
        }
        self.task.await.context("the server task failed")?
    }
}

/// Completes when `stop` says so (or its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The LDAP listeners, bound, with what they serve.
struct LdapListeners {
    server: tessera_ldap::LdapServer,
    tls: TlsAcceptor,
    plain: TcpListener,
    ldaps: TcpListener,
}

async fn bind_ldap(cfg: &Config, dir: &tessera_directory::Directory) -> Result<LdapListeners> {
    let (cert, key) = match (&cfg.ldap.cert_file, &cfg.ldap.key_file) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => ensure_certificate(cfg)?,
    };
    let tls = ldap_tls_acceptor(&cert, &key)?;
    let server = tessera_ldap::LdapServer::new(dir.clone(), cfg.ldap.frontend())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (plain_addr, ldaps_addr) = cfg.ldap_addresses();
    let plain = TcpListener::bind(plain_addr)
        .await
        .with_context(|| format!("listening for LDAP on {plain_addr}"))?;
    let ldaps = TcpListener::bind(ldaps_addr)
        .await
        .with_context(|| format!("listening for LDAPS on {ldaps_addr}"))?;
    Ok(LdapListeners {
        server,
        tls,
        plain,
        ldaps,
    })
}

/// The RADIUS sockets, bound, with what they serve.
struct RadiusListeners {
    server: tessera_radius::RadiusServer,
    sockets: Vec<(tokio::net::UdpSocket, tessera_radius::Port)>,
}

async fn bind_radius(cfg: &Config, dir: &tessera_directory::Directory) -> Result<RadiusListeners> {
    let server = if cfg.radius.eap {
        tessera_radius::RadiusServer::with_eap(dir.clone(), cfg.radius.frontend())
    } else {
        tessera_radius::RadiusServer::new(dir.clone(), cfg.radius.frontend())
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (auth, acct) = cfg.radius_addresses();
    let mut sockets = Vec::new();
    for (addrs, port, what) in [
        (auth, tessera_radius::Port::Auth, "RADIUS authentication"),
        (acct, tessera_radius::Port::Acct, "RADIUS accounting"),
    ] {
        for a in addrs {
            let s = tokio::net::UdpSocket::bind(a)
                .await
                .with_context(|| format!("listening for {what} on {a}"))?;
            sockets.push((s, port));
        }
    }
    Ok(RadiusListeners { server, sockets })
}

/// Binds `cfg.http.listen` (port 0 picks a free one) and, when LDAP and RADIUS are enabled,
/// their listeners, and serves `dir` on them in the background.
pub async fn start(cfg: &Config, dir: tessera_directory::Directory) -> Result<Running> {
    let tls = if cfg.http.plain_http {
        None
    } else {
        let (cert, key) = ensure_certificate(cfg)?;
        Some(tls_acceptor(&cert, &key)?)
    };
    let listener = TcpListener::bind(cfg.http.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.http.listen))?;
    let addr = listener.local_addr()?;
    let ldap = if cfg.ldap.enabled {
        Some(bind_ldap(cfg, &dir).await?)
    } else {
        None
    };
    let radius = if cfg.radius.enabled {
        Some(bind_radius(cfg, &dir).await?)
    } else {
        None
    };
    // Every tenant's SAML IdP under /saml/<tenant>/ on the same listener, named by the
    // configured public URL, else by the address actually bound.
    let base_url = cfg.saml.base_url.clone().unwrap_or_else(|| {
        format!(
            "{}://{addr}",
            if cfg.http.plain_http { "http" } else { "https" }
        )
    });
    let saml = tessera_saml::router(tessera_saml::SamlState::new(
        dir.clone(),
        tessera_saml::SamlConfig {
            base_url,
            session: cfg.saml.session(),
        },
    ));
    let app = tessera_api::router(
        dir,
        tessera_api::ApiConfig {
            session_ttl_secs: cfg.api.session_ttl_secs,
            max_body_bytes: cfg.api.max_body_bytes,
        },
    )
    .merge(saml);
    let (stop, watch) = tokio::sync::watch::channel(false);
    let max = cfg.http.max_connections;
    let task = tokio::spawn(serve(listener, tls, app, max, stopped(watch.clone())));
    let (mut ldap_addr, mut ldaps_addr, mut ldap_tasks) = (None, None, Vec::new());
    if let Some(l) = ldap {
        ldap_addr = Some(l.plain.local_addr()?);
        ldaps_addr = Some(l.ldaps.local_addr()?);
        for (listener, security) in [
            (l.plain, tessera_ldap::Security::StartTls(l.tls.clone())),
            (l.ldaps, tessera_ldap::Security::Ldaps(l.tls.clone())),
        ] {
            let server = l.server.clone();
            let watch = watch.clone();
            ldap_tasks.push(tokio::spawn(async move {
                server.serve(listener, security, stopped(watch)).await
            }));
        }
    }
    let (mut radius_auth, mut radius_acct, mut radius_server) = (Vec::new(), Vec::new(), None);
    if let Some(r) = radius {
        for (socket, port) in r.sockets {
            let a = socket.local_addr()?;
            match port {
                tessera_radius::Port::Auth => radius_auth.push(a),
                tessera_radius::Port::Acct => radius_acct.push(a),
            }
            let server = r.server.clone();
            let watch = watch.clone();
            ldap_tasks.push(tokio::spawn(async move {
                server.serve(socket, port, stopped(watch)).await
            }));
        }
        radius_server = Some(r.server);
    }
    Ok(Running {
        addr,
        ldap: ldap_addr,
        ldaps: ldaps_addr,
        radius_auth,
        radius_acct,
        radius: radius_server,
        stop,
        task,
        ldap_tasks,
    })
}
