//! The UDP listeners: a receive loop over an already-bound socket until a shutdown signal (as
//! mini-redis's accept loop), a semaphore capping the requests being answered at once over all
//! of a server's listeners — a datagram beyond it is dropped and counted, the NAS retransmits —
//! and each request answered on a blocking thread (store reads, argon2 on the core's pool).
//! On shutdown it stops receiving and waits for the requests in hand. Everything a packet means
//! is `handler`'s.

use crate::client::Drop;
use crate::handler::{self, Ctx, Port};
use crate::{Error, RadiusConfig};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tessera_directory::Directory;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

/// How long shutdown waits for requests in hand.
const DRAIN: Duration = Duration::from_secs(10);
/// The pause after a failed receive (the socket's own trouble).
const RECV_BACKOFF: Duration = Duration::from_millis(50);
/// A datagram buffer: larger than any RADIUS packet, so an overlong one is seen as such.
const BUFFER: usize = 65_536;

/// A RADIUS server: the directory, the client table, the duplicate cache and the challenges its
/// listeners share. Cheap to clone.
#[derive(Clone)]
pub struct RadiusServer {
    ctx: Arc<Ctx>,
    in_flight: Arc<Semaphore>,
}

impl std::fmt::Debug for RadiusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadiusServer")
            .field("available", &self.in_flight.available_permits())
            .finish()
    }
}

impl RadiusServer {
    /// A server for `dir` with `config` (checked here); reads the clients once, so a broken
    /// master key or store shows at start. It refuses EAP with Access-Reject.
    pub fn new(dir: Directory, config: RadiusConfig) -> Result<RadiusServer, Error> {
        Self::build(dir, config, false)
    }

    /// [`RadiusServer::new`] with EAP-TTLS: each conversation's tunnel presents the
    /// certificate of the tenant whose client it comes through, as the directory keeps it
    /// (generated on first use, or the tenant's own installed one).
    pub fn with_eap(dir: Directory, config: RadiusConfig) -> Result<RadiusServer, Error> {
        Self::build(dir, config, true)
    }

    fn build(dir: Directory, config: RadiusConfig, eap: bool) -> Result<RadiusServer, Error> {
        config.check()?;
        let ctx = Ctx::new(dir, config, eap)?;
        ctx.clients
            .load(ctx.dir.now())
            .map_err(|e| Error::Directory(e.to_string()))?;
        Ok(RadiusServer {
            in_flight: Arc::new(Semaphore::new(ctx.config.max_in_flight)),
            ctx: Arc::new(ctx),
        })
    }

    /// Packets dropped so far for `why` (for tests and metrics).
    pub fn dropped(&self, why: Drop) -> u64 {
        self.ctx.drops.count(why)
    }

    /// Every drop count.
    pub fn drops(&self) -> Vec<(Drop, u64)> {
        self.ctx.drops.all()
    }

    /// Serves `socket` as the `port` listener until `shutdown` completes.
    pub async fn serve(&self, socket: UdpSocket, port: Port, shutdown: impl Future<Output = ()>) {
        let socket = Arc::new(socket);
        let mut buf = vec![0u8; BUFFER];
        tokio::pin!(shutdown);
        loop {
            let (n, src) = tokio::select! {
                r = socket.recv_from(&mut buf) => match r {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "RADIUS receive failed");
                        tokio::time::sleep(RECV_BACKOFF).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
                self.ctx
                    .drops
                    .record(Drop::Busy, src.ip(), self.ctx.dir.now());
                continue;
            };
            let datagram = buf.get(..n).unwrap_or_default().to_vec();
            let ctx = self.ctx.clone();
            let socket = socket.clone();
            tokio::spawn(async move {
                let answered = tokio::task::spawn_blocking(move || {
                    handler::handle(&ctx, port, src, &datagram)
                })
                .await;
                match answered {
                    Ok(Some(reply)) => {
                        if let Err(e) = socket.send_to(&reply, src).await {
                            tracing::debug!(%src, error = %e, "RADIUS reply not sent");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(%src, error = %e, "RADIUS request handler failed"),
                }
                drop(permit);
            });
        }
        let all = u32::try_from(self.ctx.config.max_in_flight).unwrap_or(u32::MAX);
        if tokio::time::timeout(DRAIN, self.in_flight.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("RADIUS requests still being answered after {DRAIN:?}");
        }
    }

    /// Answers one datagram as if received on `port` from `src`, synchronously: the listener's
    /// own path without a socket (for the fuzz target and tests).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn answer(
        &self,
        port: Port,
        src: std::net::SocketAddr,
        datagram: &[u8],
    ) -> Option<Vec<u8>> {
        handler::handle(&self.ctx, port, src, datagram)
    }
}
