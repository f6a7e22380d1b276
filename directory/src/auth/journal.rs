//! The authentication journal: authentication events are appended to the audit log by one
//! background writer in batches (one commit, one sync per batch), so an LDAP application
//! re-binding thousands of times a second does not pay a disk sync per bind; within a batch, each
//! tenant's events go into as few stored records as their time span allows
//! ([`AuditRecords`]), so the store inserts one value per tenant and batch rather than one per
//! event. A commit waits for the events that follow within a millisecond (at most some 10 ms of
//! them), so a steady load of logins costs about one commit per 10 ms; the writer gathers them
//! in pauses of a millisecond that queued events do not interrupt (only a flush or closing), so
//! a login costs no wake-up of the writer. Administrative changes
//! are not journalled here: they commit with their change. Queued events are written before the
//! directory closes; `flush` waits for everything queued so far.

use crate::model::AuditEvent;
use crate::store::codec;
use crate::store::keys;
use crate::store::records::{AuditRecords, AUDIT_RECORD_SPAN_MICROS};
use crate::store::{Batch, CommitError, Op, Store};
use parking_lot::{Condvar, Mutex};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Events waiting beyond this make `record` block: back-pressure instead of unbounded memory.
const QUEUE: usize = 65_536;
/// Events written in one commit at most.
const BATCH: usize = 2_048;
/// Once an event is pending, the writer pauses this long at a time to gather more, and commits
/// after a pause that brought none.
const QUIET: Duration = Duration::from_millis(1);
/// ... and commits at the latest once the pending events are this far apart in time
/// (microseconds): under a steady load, about one commit per this much time.
const GATHER_MICROS: i64 = 10_000;
/// Events in one stored record at most: sled keeps a leaf of up to 17 records in one page and
/// writes a page over 128 KiB as a file of its own (synced, with its directory), so a record
/// stays some kilobytes (an authentication event is about 300 bytes).
const PER_RECORD: usize = 16;

enum Msg {
    Event(Box<AuditEvent>),
    Flush(mpsc::SyncSender<()>),
}

pub(crate) struct Journal {
    tx: Option<SyncSender<Msg>>,
    wake: Arc<Wake>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

/// The append of `events` (one tenant's, in order, non-empty): one event as itself, several as
/// one [`AuditRecords`], under the key of the first.
fn append(ops: &mut Vec<Op>, events: Vec<AuditEvent>) {
    let Some(first) = events.first() else { return };
    let key = keys::audit(first.tenant, first.at, first.id);
    let count = events.len();
    let bytes = match <[AuditEvent; 1]>::try_from(events) {
        Ok([one]) => codec::encode(&one),
        Err(events) => codec::encode(&AuditRecords { events }),
    };
    match bytes {
        Ok(bytes) => ops.push(Op::Append(key, bytes)),
        Err(e) => tracing::error!(error = %e, count, "cannot encode authentication events"),
    }
}

fn write(store: &dyn Store, events: &mut Vec<AuditEvent>) {
    if events.is_empty() {
        return;
    }
    let count = events.len();
    events.sort_by_key(|e| (e.tenant, e.at, e.id));
    let mut ops = Vec::new();
    let mut record: Vec<AuditEvent> = Vec::new();
    for ev in events.drain(..) {
        let starts_another = record.first().is_some_and(|first| {
            first.tenant != ev.tenant
                || ev.at.0.saturating_sub(first.at.0) > AUDIT_RECORD_SPAN_MICROS
                || record.len() >= PER_RECORD
        });
        if starts_another {
            append(&mut ops, std::mem::take(&mut record));
        }
        record.push(ev);
    }
    append(&mut ops, record);
    match store.commit(Batch {
        preconditions: vec![],
        ops,
    }) {
        Ok(_) => {}
        Err(CommitError::Conflict) => {
            tracing::error!(
                count,
                "authentication events collided with existing ones and were not written"
            )
        }
        Err(CommitError::Failed(e)) => {
            tracing::error!(error = %e, count, "authentication events could not be written")
        }
    }
}

/// What the writer has gathered and not written yet.
#[derive(Default)]
struct Pending {
    events: Vec<AuditEvent>,
    /// The earliest and latest event time among them (microseconds).
    span: Option<(i64, i64)>,
}

impl Pending {
    fn push(&mut self, ev: AuditEvent) {
        let at = ev.at.0;
        self.span = Some(
            self.span
                .map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))),
        );
        self.events.push(ev);
    }

    /// Enough for one commit: the most a batch holds, or events [`GATHER_MICROS`] apart.
    fn full(&self) -> bool {
        self.events.len() >= BATCH
            || self
                .span
                .is_some_and(|(lo, hi)| hi.saturating_sub(lo) >= GATHER_MICROS)
    }

    fn write(&mut self, store: &dyn Store) {
        write(store, &mut self.events);
        self.span = None;
    }
}

/// What wakes the writer from a gathering pause before its time: a flush, or the journal
/// closing. Queued events do not (a wake-up per login would cost more than the write).
#[derive(Default)]
struct Wake {
    rung: Mutex<bool>,
    bell: Condvar,
}

impl Wake {
    fn ring(&self) {
        *self.rung.lock() = true;
        self.bell.notify_one();
    }

    /// Waits up to `pause`, or less when rung (since the last pause).
    fn pause(&self, pause: Duration) {
        let mut rung = self.rung.lock();
        if !*rung {
            let _ = self.bell.wait_for(&mut rung, pause);
        }
        *rung = false;
    }
}

/// Takes one message; whether the writer must write now (a flush waits).
fn take(msg: Msg, pending: &mut Pending, waiters: &mut Vec<SyncSender<()>>) -> bool {
    match msg {
        Msg::Event(e) => {
            pending.push(*e);
            false
        }
        Msg::Flush(w) => {
            waiters.push(w);
            true
        }
    }
}

/// Takes what is queued now, without waiting, up to a batch or a flush (everything queued
/// before a flush is ahead of it). Returns how many messages and whether the queue closed.
fn drain(
    rx: &Receiver<Msg>,
    pending: &mut Pending,
    waiters: &mut Vec<SyncSender<()>>,
) -> (usize, bool) {
    let mut n = 0;
    while pending.events.len() < BATCH {
        match rx.try_recv() {
            Ok(m) => {
                n += 1;
                if take(m, pending, waiters) {
                    break;
                }
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return (n, true),
        }
    }
    (n, false)
}

fn run(store: Arc<dyn Store>, rx: Receiver<Msg>, wake: Arc<Wake>) {
    let mut pending = Pending::default();
    let mut waiters: Vec<SyncSender<()>> = Vec::new();
    let mut closed = false;
    while !closed {
        // Idle: wait for the first message.
        match rx.recv() {
            Ok(m) => {
                take(m, &mut pending, &mut waiters);
            }
            Err(_) => break,
        }
        // Gather: pause QUIET at a time, taking what came meanwhile, until a pause brings
        // nothing, the batch is full or spans GATHER_MICROS, a flush waits or the queue closes.
        // One commit (and one sync) for all of it.
        let mut paused = false;
        loop {
            let (n, now_closed) = drain(&rx, &mut pending, &mut waiters);
            closed = now_closed;
            if closed || !waiters.is_empty() || pending.full() || (paused && n == 0) {
                break;
            }
            wake.pause(QUIET);
            paused = true;
        }
        pending.write(store.as_ref());
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
    pending.write(store.as_ref());
    for w in waiters.drain(..) {
        let _ = w.send(());
    }
}

impl Journal {
    pub(crate) fn start(store: Arc<dyn Store>) -> Result<Self, String> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let wake = Arc::new(Wake::default());
        let writer_wake = Arc::clone(&wake);
        let handle = std::thread::Builder::new()
            .name("tessera-auth-journal".into())
            .spawn(move || run(store, rx, writer_wake))
            .map_err(|e| e.to_string())?;
        Ok(Journal {
            tx: Some(tx),
            wake,
            handle: Some(handle),
        })
    }

    /// Queues an event.
    pub(crate) fn record(&self, ev: AuditEvent) {
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Event(Box::new(ev))).is_err() {
                tracing::error!("the authentication journal has stopped; an event was lost");
            }
        }
    }

    /// Waits until every event queued before this call is written.
    pub(crate) fn flush(&self) {
        let (w, r) = mpsc::sync_channel(1);
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Flush(w)).is_ok() {
                self.wake.ring();
                let _ = r.recv();
            }
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.tx.take();
        self.wake.ring();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantId;
    use crate::store::records::{audit_events, sample_login as login};
    use crate::store::sled_store::SledStore;
    use crate::store::KeyRange;

    #[test]
    fn a_batch_is_stored_as_few_records_per_tenant_in_order_within_the_span() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b) = (
            TenantId::from_uuid(uuid::Uuid::from_bytes([1; 16])),
            TenantId::from_uuid(uuid::Uuid::from_bytes([2; 16])),
        );
        let t = 1_000_000_000;
        // Out of order, two tenants, one event more than the span after the others.
        let mut events = vec![
            login(a, t + 5, 3),
            login(b, t, 9),
            login(a, t, 1),
            login(a, t + AUDIT_RECORD_SPAN_MICROS + 6, 4),
            login(a, t + 2, 2),
        ];
        write(&store, &mut events);
        assert!(events.is_empty());
        let records = |tenant| {
            store
                .scan(&KeyRange::prefix(&keys::audit_log(tenant)), 100, false)
                .unwrap()
                .into_iter()
                .map(|(_, e)| {
                    audit_events(&e.value)
                        .unwrap()
                        .iter()
                        .map(|ev| ev.id.key_bytes()[0])
                        .collect::<Vec<u8>>()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(records(a), vec![vec![1, 2, 3], vec![4]]);
        assert_eq!(records(b), vec![vec![9]]);
        // Every event is there once, and one append per record was committed.
        assert_eq!(store.last_seq().unwrap(), 1);
        let feed = store.changes_since(0, 10).unwrap();
        assert_eq!(feed.first().map(|r| r.changes.len()), Some(3));
    }
}
