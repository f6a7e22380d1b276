//! The UDP listeners: each socket is served by a pool of its own threads, every one of which
//! receives a datagram and answers it itself — parse, directory, reply — with no hand-over to
//! another thread or task (a cached re-authentication costs no context switch of ours). A few
//! threads receive while the load is quick to answer, so datagrams wait in the socket for a
//! thread that is already running instead of waking one each; when every thread is answering
//! and none has taken a datagram for a moment (they wait on argon2 or a store sync), the pool's
//! watcher starts another, so slow requests never hold up the next datagram for more than that
//! moment. A semaphore caps the requests being answered at once over all of a server's
//! listeners — a datagram beyond it is dropped and counted, the NAS retransmits — and bounds the
//! threads with it. On shutdown it stops receiving, waits for the requests in hand and for its
//! threads to end. Everything a packet means is `handler`'s.

use crate::client::Drop;
use crate::handler::{self, Ctx, Port};
use crate::{Error, RadiusConfig};
use parking_lot::{Condvar, Mutex};
use std::future::Future;
use std::io::ErrorKind;
use std::net::UdpSocket as StdSocket;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_directory::Directory;
use tokio::net::UdpSocket;
use tokio::sync::{Notify, Semaphore};

/// How long shutdown waits for requests in hand.
const DRAIN: Duration = Duration::from_secs(10);
/// The pause after a failed receive (the socket's own trouble).
const RECV_BACKOFF: Duration = Duration::from_millis(50);
/// A receiving thread looks at the shutdown flag at least this often.
const POLL: Duration = Duration::from_millis(200);
/// A thread beyond the idle ones a listener keeps ends after this many receives in a row found
/// nothing (about 10 s).
const IDLE_POLLS: u32 = 50;
/// Threads a listener keeps waiting for datagrams; one that finishes an answer while this many
/// others wait ends.
const KEEP_IDLE: usize = 2;
/// How long every thread may be answering with no datagram taken before the watcher starts
/// another receiver.
const STALL: Duration = Duration::from_millis(1);
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

/// What a listener's watcher waits on: shutdown, and the news that no thread is receiving.
#[derive(Debug, Default)]
struct Signals {
    stopped: bool,
    /// Set by the thread that takes the last idle receiver's place.
    none_receiving: bool,
}

#[derive(Debug, Default)]
struct Watch {
    signals: Mutex<Signals>,
    changed: Condvar,
}

impl Watch {
    fn stopped(&self) -> bool {
        self.signals.lock().stopped
    }

    fn stop(&self) {
        self.signals.lock().stopped = true;
        self.changed.notify_all();
    }

    /// Tells the watcher that no thread is receiving (a wake-up only when it was not told yet).
    fn none_receiving(&self) {
        let mut s = self.signals.lock();
        if !s.none_receiving && !s.stopped {
            s.none_receiving = true;
            self.changed.notify_all();
        }
    }

    /// The watcher saw a thread receiving again.
    fn receiving(&self) {
        self.signals.lock().none_receiving = false;
    }

    /// Waits up to `pause`, or less when the listener stops meanwhile; whether it stopped. (Only
    /// `stop` wakes it early: `none_receiving` notifies only while the watcher is not looking.)
    fn pause(&self, pause: Duration) -> bool {
        let mut s = self.signals.lock();
        if !s.stopped {
            let _ = self.changed.wait_for(&mut s, pause);
        }
        s.stopped
    }

    /// Waits until no thread is receiving (true) or the listener stops (false).
    fn until_none_receiving(&self) -> bool {
        let mut s = self.signals.lock();
        while !s.stopped && !s.none_receiving {
            self.changed.wait(&mut s);
        }
        !s.stopped
    }
}

/// One listener's threads and what they share.
#[derive(Debug)]
struct Pool {
    ctx: Arc<Ctx>,
    in_flight: Arc<Semaphore>,
    socket: StdSocket,
    port: Port,
    watch: Watch,
    /// Threads waiting in (or about to call) `recv_from`.
    idle: AtomicUsize,
    /// Datagrams taken so far (the watcher's measure of progress).
    taken: AtomicU64,
    /// Threads alive, the watcher included.
    alive: AtomicUsize,
    /// The most threads: one per request in flight, one more to receive (and drop) while they
    /// all are, and the watcher.
    max_threads: usize,
    /// Signalled as each thread ends.
    ended: Notify,
}

impl Pool {
    fn name(&self) -> &'static str {
        match self.port {
            Port::Auth => "tessera-radius-auth",
            Port::Acct => "tessera-radius-acct",
        }
    }

    /// Starts a thread running `f`, unless the pool has its most already. The count is taken
    /// before the thread runs, so two callers never both start the last one.
    fn spawn(self: &Arc<Self>, receiver: bool, f: fn(Arc<Pool>)) {
        if self.alive.fetch_add(1, Ordering::SeqCst) >= self.max_threads {
            self.alive.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        if receiver {
            self.idle.fetch_add(1, Ordering::SeqCst);
        }
        let pool = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name(self.name().into())
            .spawn(move || f(pool));
        if let Err(e) = started {
            if receiver {
                self.idle.fetch_sub(1, Ordering::SeqCst);
            }
            self.end();
            tracing::error!(error = %e, "cannot start a RADIUS listener thread");
        }
    }

    /// The watcher: when no thread is receiving, it waits [`STALL`]; if still none is and no
    /// datagram was taken meanwhile, every thread is held up, and it starts another receiver.
    fn watch(self: Arc<Self>) {
        while self.watch.until_none_receiving() {
            loop {
                let taken = self.taken.load(Ordering::SeqCst);
                if self.watch.pause(STALL) {
                    break;
                }
                if self.idle.load(Ordering::SeqCst) > 0 {
                    self.watch.receiving();
                    // Looked at again after the flag is down: a thread that stopped receiving
                    // before that would not have told.
                    if self.idle.load(Ordering::SeqCst) > 0 {
                        break;
                    }
                    self.watch.none_receiving();
                } else if self.taken.load(Ordering::SeqCst) == taken {
                    self.spawn(true, Pool::receive);
                }
            }
        }
        self.end();
    }

    /// A receiving thread: receive, answer, again, until shutdown, or until it is one more than
    /// the pool keeps.
    fn receive(self: Arc<Self>) {
        let mut buf = vec![0u8; BUFFER];
        let mut empty_polls = 0u32;
        while !self.watch.stopped() {
            let (n, src) = match self.socket.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    empty_polls += 1;
                    if empty_polls >= IDLE_POLLS && self.leave_if_surplus() {
                        return;
                    }
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "RADIUS receive failed");
                    self.watch.pause(RECV_BACKOFF);
                    continue;
                }
            };
            empty_polls = 0;
            self.taken.fetch_add(1, Ordering::SeqCst);
            if self.idle.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.watch.none_receiving();
            }
            self.answer(buf.get(..n).unwrap_or_default(), src);
            if self.idle.load(Ordering::SeqCst) >= KEEP_IDLE {
                self.end();
                return;
            }
            self.idle.fetch_add(1, Ordering::SeqCst);
        }
        self.idle.fetch_sub(1, Ordering::SeqCst);
        self.end();
    }

    /// Answers one datagram on this thread (or drops it when the server is at its limit).
    fn answer(&self, datagram: &[u8], src: std::net::SocketAddr) {
        let Ok(permit) = self.in_flight.try_acquire() else {
            self.ctx
                .drops
                .record(Drop::Busy, src.ip(), self.ctx.dir.now());
            return;
        };
        if let Some(reply) = handler::handle(&self.ctx, self.port, src, datagram) {
            if let Err(e) = self.socket.send_to(&reply, src) {
                tracing::debug!(%src, error = %e, "RADIUS reply not sent");
            }
        }
        drop(permit);
    }

    /// Ends this idle thread when the pool has more idle threads than it keeps.
    fn leave_if_surplus(&self) -> bool {
        let left = self
            .idle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |idle| {
                (idle > KEEP_IDLE).then(|| idle - 1)
            })
            .is_ok();
        if left {
            self.end();
        }
        left
    }

    fn end(&self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
        self.ended.notify_one();
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

    /// Serves `socket` as the `port` listener until `shutdown` completes, on threads of its own
    /// (see the module's documentation); returns once they have ended.
    pub async fn serve(&self, socket: UdpSocket, port: Port, shutdown: impl Future<Output = ()>) {
        let socket = match blocking(socket) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot serve the RADIUS socket");
                return;
            }
        };
        let pool = Arc::new(Pool {
            ctx: Arc::clone(&self.ctx),
            in_flight: Arc::clone(&self.in_flight),
            socket,
            port,
            watch: Watch::default(),
            idle: AtomicUsize::new(0),
            taken: AtomicU64::new(0),
            alive: AtomicUsize::new(0),
            max_threads: self.ctx.config.max_in_flight.saturating_add(2),
            ended: Notify::new(),
        });
        pool.spawn(false, Pool::watch);
        for _ in 0..KEEP_IDLE {
            pool.spawn(true, Pool::receive);
        }
        shutdown.await;
        pool.watch.stop();
        let drained = async {
            let all = u32::try_from(self.ctx.config.max_in_flight).unwrap_or(u32::MAX);
            // Every permit at once: no request of any listener is being answered (given back
            // at once, so the server's other listeners go on).
            drop(self.in_flight.acquire_many(all).await);
            while pool.alive.load(Ordering::SeqCst) > 0 {
                pool.ended.notified().await;
            }
        };
        if tokio::time::timeout(DRAIN, drained).await.is_err() {
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

/// The socket for the listener's threads: blocking receives that give up after [`POLL`], so a
/// thread sees shutdown.
fn blocking(socket: UdpSocket) -> std::io::Result<StdSocket> {
    let socket = socket.into_std()?;
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}
