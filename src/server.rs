//! Wiring the listeners: the HTTPS server of the admin API on rustls (a certificate from the
//! configuration, or a self-signed one generated once for localhost), a cap on concurrent
//! connections, and graceful shutdown. Like mini-redis's listener, `serve` takes an already
//! bound socket and a shutdown signal, so tests bind port 0. It owns no API logic.

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

/// The TLS acceptor for a certificate chain and key in PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
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
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
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

/// A running admin server (for `tessera serve` and the end-to-end tests).
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Running {
    /// Stops accepting, lets open requests finish, and waits.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.context("the server task failed")?
    }
}

/// Binds `cfg.http.listen` (port 0 picks a free one) and serves the admin API of `dir` in the
/// background.
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
    let app = tessera_api::router(
        dir,
        tessera_api::ApiConfig {
            session_ttl_secs: cfg.api.session_ttl_secs,
            max_body_bytes: cfg.api.max_body_bytes,
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let max = cfg.http.max_connections;
    let task = tokio::spawn(serve(listener, tls, app, max, async {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}
