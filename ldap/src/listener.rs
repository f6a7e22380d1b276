//! The listeners: an accept loop over an already-bound socket until a shutdown signal (as
//! mini-redis's does), a semaphore capping connections over all of a server's listeners, a cap
//! per source address, the idle timeout, and the connection itself — LDAPS from the first byte,
//! or plain with StartTLS, whose upgrade refuses a request followed by more bytes in the same
//! read (the command-injection guard). On shutdown it stops accepting, lets each connection
//! finish the operation it is in, tells it so with a Notice of Disconnection and waits for it.
//! Everything an operation means is `handler`'s.

use crate::codec::Codec;
use crate::entry::oid;
use crate::error::result;
use crate::handler::{self, Flow};
use crate::session::{Session, Transport};
use crate::{Ctx, Error, LdapConfig};
use futures_util::{SinkExt, StreamExt};
use ldap3_proto::proto::{LdapExtendedResponse, LdapMsg, LdapOp, LdapResultCode};
use ldap3_proto::simple::DisconnectionNotice;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_directory::Directory;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for connections to finish their operation.
const DRAIN: Duration = Duration::from_secs(10);
/// The pause after a failed accept (out of descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long a refused connection gets to read why.
const REFUSAL_WRITE: Duration = Duration::from_secs(2);
/// BER nesting allowed beyond the filter's own (message, operation, sequences).
const BER_OVERHEAD: usize = 16;

/// What a listener speaks.
#[derive(Clone)]
pub enum Security {
    /// Plain LDAP, no StartTLS (only behind something that provides confidentiality).
    Plain,
    /// Plain LDAP that offers StartTLS with this acceptor.
    StartTls(TlsAcceptor),
    /// LDAPS: TLS from the first byte.
    Ldaps(TlsAcceptor),
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Security::Plain => "Plain",
            Security::StartTls(_) => "StartTls",
            Security::Ldaps(_) => "Ldaps",
        })
    }
}

/// An LDAP server: the directory, the configuration and the connection caps its listeners
/// share. Cheap to clone.
#[derive(Clone)]
pub struct LdapServer {
    ctx: Arc<Ctx>,
    connections: Arc<Semaphore>,
    sources: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl std::fmt::Debug for LdapServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapServer")
            .field("suffix", &self.ctx.config.suffix)
            .field("available", &self.connections.available_permits())
            .finish()
    }
}

/// One connection's claim on its source address's quota.
struct SourceClaim {
    sources: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for SourceClaim {
    fn drop(&mut self) {
        let mut m = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl LdapServer {
    /// A server for `dir` with `config` (checked here).
    pub fn new(dir: Directory, config: LdapConfig) -> Result<LdapServer, Error> {
        let ctx = Ctx::new(dir, config)?;
        Ok(LdapServer {
            connections: Arc::new(Semaphore::new(ctx.config.max_connections)),
            sources: Arc::new(Mutex::new(HashMap::new())),
            ctx: Arc::new(ctx),
        })
    }

    fn claim(&self, ip: IpAddr) -> Option<SourceClaim> {
        let mut m = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= self.ctx.config.max_connections_per_source {
            return None;
        }
        *n += 1;
        Some(SourceClaim {
            sources: self.sources.clone(),
            ip,
        })
    }

    /// Serves `listener` until `shutdown` completes, then closes its connections gracefully.
    pub async fn serve(
        &self,
        listener: TcpListener,
        security: Security,
        shutdown: impl Future<Output = ()>,
    ) {
        let stop = CancellationToken::new();
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = self.connections.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (tcp, peer) = tokio::select! {
                a = listener.accept() => match a {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "LDAP accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let Some(claim) = self.claim(peer.ip()) else {
                tracing::debug!(%peer, "too many LDAP connections from one source");
                let plain = !matches!(security, Security::Ldaps(_));
                tokio::spawn(refuse(tcp, plain));
                continue;
            };
            let conn = Connection {
                ctx: self.ctx.clone(),
                peer,
                stop: stop.child_token(),
                _permit: permit,
                _claim: claim,
                _done: done_tx.clone(),
            };
            tokio::spawn(conn.run(tcp, security.clone()));
        }
        drop(listener);
        stop.cancel();
        drop(done_tx);
        if tokio::time::timeout(DRAIN, done_rx.recv()).await.is_err() {
            tracing::warn!("LDAP connections still open after {DRAIN:?}; closing");
        }
    }
}

#[cfg(feature = "fuzzing")]
impl LdapServer {
    /// Serves one connection over `stream` as if accepted from `peer`: the same path as a
    /// connection of [`LdapServer::serve`], under the same caps, with no shutdown signal.
    pub(crate) async fn serve_stream<S>(&self, stream: S, peer: SocketAddr, security: Security)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let Ok(permit) = self.connections.clone().acquire_owned().await else {
            return;
        };
        let Some(claim) = self.claim(peer.ip()) else {
            return;
        };
        let (done, _) = mpsc::channel(1);
        let conn = Connection {
            ctx: self.ctx.clone(),
            peer,
            stop: CancellationToken::new(),
            _permit: permit,
            _claim: claim,
            _done: done,
        };
        conn.run(stream, security).await;
    }
}

/// Tells a connection over its source's quota why it is closed (in plain LDAP only: an LDAPS
/// client could not read it before a handshake).
async fn refuse(tcp: TcpStream, plain: bool) {
    if plain {
        let mut f = Framed::new(tcp, Codec::default());
        let notice = DisconnectionNotice::gen_response(
            LdapResultCode::Busy,
            "too many connections from this address",
        );
        let _ = tokio::time::timeout(REFUSAL_WRITE, async {
            let _ = f.send(notice).await;
            let _ = SinkExt::<LdapMsg>::close(&mut f).await;
        })
        .await;
    }
}

/// One accepted connection and what it holds until it ends.
struct Connection {
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    stop: CancellationToken,
    _permit: OwnedSemaphorePermit,
    _claim: SourceClaim,
    _done: mpsc::Sender<()>,
}

/// How a session ended.
enum Exit {
    Closed,
    StartTls(i32),
}

fn codec(cfg: &LdapConfig) -> Codec {
    Codec::new(cfg.max_message_bytes, cfg.max_filter_depth + BER_OVERHEAD)
}

fn start_tls_response(msgid: i32, code: LdapResultCode, why: &str) -> LdapMsg {
    LdapMsg::new(
        msgid,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: result(code, why),
            name: Some(oid::START_TLS.to_string()),
            value: None,
        }),
    )
}

impl Connection {
    /// Serves one connection over `tcp` (a TCP stream; an in-memory pipe under the `fuzzing`
    /// feature) until it ends.
    async fn run<S>(self, tcp: S, security: Security)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let cfg = &self.ctx.config;
        let peer = Some(self.peer.ip());
        match security {
            Security::Ldaps(acceptor) => {
                let Some(tls) = self.handshake(&acceptor, tcp).await else {
                    return;
                };
                let mut s = Session::new(peer, Transport::Tls, cfg.max_paged_searches);
                let mut f = Framed::new(tls, codec(cfg));
                self.session(&mut f, &mut s).await;
                let _ = SinkExt::<LdapMsg>::close(&mut f).await;
            }
            Security::Plain | Security::StartTls(_) => {
                let acceptor = match &security {
                    Security::StartTls(a) => Some(a.clone()),
                    Security::Plain | Security::Ldaps(_) => None,
                };
                let transport = Transport::Plain {
                    starttls: acceptor.is_some(),
                };
                let mut s = Session::new(peer, transport, cfg.max_paged_searches);
                let mut f = Framed::new(tcp, codec(cfg));
                let msgid = match self.session(&mut f, &mut s).await {
                    Exit::Closed => {
                        let _ = SinkExt::<LdapMsg>::close(&mut f).await;
                        return;
                    }
                    Exit::StartTls(msgid) => msgid,
                };
                let Some(acceptor) = acceptor else {
                    return;
                };
                if !f.read_buffer().is_empty() {
                    // Bytes after StartTLS in the same read would be taken, after the
                    // handshake, as if they had come over TLS: refuse, and close.
                    tracing::info!(peer = %self.peer, "refused StartTLS followed by more data");
                    let _ = f
                        .send(start_tls_response(
                            msgid,
                            LdapResultCode::OperationsError,
                            "StartTLS must be the last request before the handshake",
                        ))
                        .await;
                    let _ = f
                        .send(DisconnectionNotice::gen_response(
                            LdapResultCode::ProtocolError,
                            "data followed the StartTLS request",
                        ))
                        .await;
                    let _ = SinkExt::<LdapMsg>::close(&mut f).await;
                    return;
                }
                if f.send(start_tls_response(msgid, LdapResultCode::Success, ""))
                    .await
                    .is_err()
                {
                    return;
                }
                let tcp = f.into_inner();
                let Some(tls) = self.handshake(&acceptor, tcp).await else {
                    return;
                };
                s.transport = Transport::Tls;
                let mut f = Framed::new(tls, codec(cfg));
                self.session(&mut f, &mut s).await;
                let _ = SinkExt::<LdapMsg>::close(&mut f).await;
            }
        }
    }

    async fn handshake<S>(
        &self,
        acceptor: &TlsAcceptor,
        tcp: S,
    ) -> Option<tokio_rustls::server::TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let limit = Duration::from_secs(self.ctx.config.handshake_timeout_secs);
        match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = %e, "LDAP TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(peer = %self.peer, "LDAP TLS handshake timed out");
                None
            }
        }
    }

    /// Reads and handles requests until the client leaves, breaks the protocol, idles out,
    /// asks for StartTLS, or the server stops.
    async fn session<S>(&self, f: &mut Framed<S, Codec>, s: &mut Session) -> Exit
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let idle = self.ctx.config.idle_timeout();
        loop {
            let next = async {
                match idle {
                    Some(t) => tokio::time::timeout(t, f.next()).await.ok(),
                    None => Some(f.next().await),
                }
            };
            let next = tokio::select! {
                biased;
                () = self.stop.cancelled() => {
                    notice(f, LdapResultCode::Unavailable, "the server is shutting down").await;
                    return Exit::Closed;
                }
                n = next => n,
            };
            let msg = match next {
                None => {
                    notice(f, LdapResultCode::Unavailable, "idle timeout").await;
                    return Exit::Closed;
                }
                Some(None) => return Exit::Closed,
                Some(Some(Err(e))) => {
                    tracing::debug!(peer = %self.peer, error = %e, "undecodable LDAP request");
                    let why = if e.kind() == std::io::ErrorKind::OutOfMemory {
                        "the request is too large"
                    } else {
                        "the request could not be decoded"
                    };
                    notice(f, LdapResultCode::ProtocolError, why).await;
                    return Exit::Closed;
                }
                Some(Some(Ok(m))) => m,
            };
            match handler::handle(msg, s, &self.ctx, f).await {
                Ok(Flow::Continue) => {}
                Ok(Flow::Close) | Err(_) => return Exit::Closed,
                Ok(Flow::StartTls(msgid)) => return Exit::StartTls(msgid),
                Ok(Flow::Disconnect(why)) => {
                    notice(f, LdapResultCode::ProtocolError, why).await;
                    return Exit::Closed;
                }
            }
        }
    }
}

/// Sends a Notice of Disconnection, best effort.
async fn notice<S>(f: &mut Framed<S, Codec>, code: LdapResultCode, why: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(
        REFUSAL_WRITE,
        f.send(DisconnectionNotice::gen_response(code, why)),
    )
    .await;
}
