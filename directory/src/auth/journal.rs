//! The authentication journal: authentication events are appended to the audit log by one
//! background writer in batches (one commit, one sync per batch), so an LDAP application
//! re-binding thousands of times a second does not pay a disk sync per bind. Administrative
//! changes are not journalled here: they commit with their change. Queued events are written
//! before the directory closes; `flush` waits for everything queued so far.

use crate::model::AuditEvent;
use crate::store::codec;
use crate::store::keys;
use crate::store::{Batch, CommitError, Op, Store};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Events waiting beyond this make `record` block: back-pressure instead of unbounded memory.
const QUEUE: usize = 65_536;
/// Events written in one commit at most.
const BATCH: usize = 2_048;

enum Msg {
    Event(Box<AuditEvent>),
    Flush(mpsc::SyncSender<()>),
}

pub(crate) struct Journal {
    tx: Option<SyncSender<Msg>>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

fn write(store: &dyn Store, events: &mut Vec<AuditEvent>) {
    if events.is_empty() {
        return;
    }
    let mut ops = Vec::with_capacity(events.len());
    for ev in events.iter() {
        match codec::encode(ev) {
            Ok(bytes) => ops.push(Op::Append(keys::audit(ev.tenant, ev.at, ev.id), bytes)),
            Err(e) => tracing::error!(error = %e, "cannot encode an authentication event"),
        }
    }
    match store.commit(Batch {
        preconditions: vec![],
        ops,
    }) {
        Ok(_) => {}
        Err(CommitError::Conflict) => {
            tracing::error!(
                count = events.len(),
                "authentication events collided with existing ones and were not written"
            )
        }
        Err(CommitError::Failed(e)) => {
            tracing::error!(error = %e, count = events.len(), "authentication events could not be written")
        }
    }
    events.clear();
}

fn run(store: Arc<dyn Store>, rx: Receiver<Msg>) {
    let mut pending: Vec<AuditEvent> = Vec::new();
    let mut waiters: Vec<SyncSender<()>> = Vec::new();
    loop {
        // Wait for work; once something is pending, take what else arrives at once.
        let msg = if pending.is_empty() && waiters.is_empty() {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(Duration::ZERO) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        };
        match msg {
            Some(Msg::Event(e)) => {
                pending.push(*e);
                if pending.len() < BATCH {
                    continue;
                }
            }
            Some(Msg::Flush(w)) => {
                waiters.push(w);
                continue;
            }
            None => {}
        }
        write(store.as_ref(), &mut pending);
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
    write(store.as_ref(), &mut pending);
    for w in waiters.drain(..) {
        let _ = w.send(());
    }
}

impl Journal {
    pub(crate) fn start(store: Arc<dyn Store>) -> Result<Self, String> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("tessera-auth-journal".into())
            .spawn(move || run(store, rx))
            .map_err(|e| e.to_string())?;
        Ok(Journal {
            tx: Some(tx),
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
                let _ = r.recv();
            }
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
