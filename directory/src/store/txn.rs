//! Optimistic transactions over a `Store`: every read a service makes is remembered as a
//! precondition (a key's version, its absence, or for scans the namespace's revision), writes are
//! buffered, and the commit applies them only if nothing read has changed — otherwise the whole
//! closure runs again on fresh data. This gives serialisable services on any backend that
//! implements `Store::commit`. It must not know about entities beyond `Record`.

use super::codec::{self, Record, Unit};
use super::{Batch, CommitError, Key, KeyRange, Namespace, Op, Precondition, Store, Version};
use crate::error::Error;
use std::collections::BTreeMap;
use tessera_policy::Timestamp;

/// How many times a transaction is tried before giving up with `Error::Conflict`.
const MAX_ATTEMPTS: usize = 32;

/// A transaction in progress.
pub(crate) struct Txn<'a> {
    store: &'a dyn Store,
    now: Timestamp,
    reads: BTreeMap<Key, Option<Version>>,
    revisions: BTreeMap<Namespace, u64>,
    writes: BTreeMap<Key, Option<Vec<u8>>>,
    appends: Vec<(Key, Vec<u8>)>,
}

impl<'a> Txn<'a> {
    fn new(store: &'a dyn Store, now: Timestamp) -> Self {
        Txn {
            store,
            now,
            reads: BTreeMap::new(),
            revisions: BTreeMap::new(),
            writes: BTreeMap::new(),
            appends: Vec::new(),
        }
    }

    /// The time of this attempt (one reading of the clock per attempt).
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    fn read_raw(&mut self, key: &Key) -> Result<Option<Vec<u8>>, Error> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        let e = self.store.get(key)?;
        self.reads
            .entry(key.clone())
            .or_insert(e.as_ref().map(|e| e.version));
        Ok(e.map(|e| e.value))
    }

    /// Reads and decodes a record; the commit will require it unchanged.
    pub(crate) fn get<T: Record>(&mut self, key: &Key) -> Result<Option<T>, Error> {
        self.read_raw(key)?.map(|v| codec::decode(&v)).transpose()
    }

    /// Whether a key exists; the commit will require the same answer.
    pub(crate) fn exists(&mut self, key: &Key) -> Result<bool, Error> {
        Ok(self.read_raw(key)?.is_some())
    }

    /// The stored version of a key (a marker), `0` when absent; the commit will require it
    /// unchanged.
    /// This is the version before this transaction, even if the transaction wrote the key.
    pub(crate) fn version(&mut self, key: &Key) -> Result<Version, Error> {
        if let Some(v) = self.reads.get(key) {
            return Ok(v.unwrap_or(0));
        }
        let v = self.store.get(key)?.map(|e| e.version);
        self.reads.insert(key.clone(), v);
        Ok(v.unwrap_or(0))
    }

    /// Reads a range, with this transaction's own writes applied; the commit will require that
    /// nothing in the range's namespace changed meanwhile.
    pub(crate) fn scan<T: Record>(
        &mut self,
        range: &KeyRange,
        limit: usize,
    ) -> Result<Vec<(Key, T)>, Error> {
        if let Some(ns) = range.namespace() {
            if !self.revisions.contains_key(&ns) {
                let rev = self.store.revision(&ns)?;
                self.revisions.insert(ns, rev);
            }
        }
        let own: Vec<(&Key, &Option<Vec<u8>>)> = self
            .writes
            .iter()
            .filter(|(k, _)| range.contains(k.as_bytes()))
            .collect();
        let rows = self
            .store
            .scan(range, limit.saturating_add(own.len()), false)?;
        let mut merged: BTreeMap<Key, Vec<u8>> =
            rows.into_iter().map(|(k, e)| (k, e.value)).collect();
        for (k, w) in own {
            match w {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        merged
            .into_iter()
            .take(limit)
            .map(|(k, v)| codec::decode(&v).map(|r| (k, r)))
            .collect()
    }

    /// Writes a record.
    pub(crate) fn put<T: Record>(&mut self, key: Key, value: &T) -> Result<(), Error> {
        let bytes = codec::encode(value)?;
        self.writes.insert(key, Some(bytes));
        Ok(())
    }

    /// Writes an empty marker or index entry (bumping its version).
    pub(crate) fn touch(&mut self, key: Key) -> Result<(), Error> {
        self.put(key, &Unit {})
    }

    /// Deletes a key.
    pub(crate) fn delete(&mut self, key: Key) {
        self.writes.insert(key, None);
    }

    /// Adds a log entry (audit).
    pub(crate) fn append<T: Record>(&mut self, key: Key, value: &T) -> Result<(), Error> {
        self.appends.push((key, codec::encode(value)?));
        Ok(())
    }

    fn is_read_only(&self) -> bool {
        self.writes.is_empty() && self.appends.is_empty()
    }

    fn into_batch(self) -> Batch {
        let mut preconditions: Vec<Precondition> = self
            .reads
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => Precondition::Version(k, v),
                None => Precondition::Absent(k),
            })
            .collect();
        preconditions.extend(
            self.revisions
                .into_iter()
                .map(|(ns, r)| Precondition::Revision(ns, r)),
        );
        let mut ops: Vec<Op> = self
            .writes
            .into_iter()
            .map(|(k, w)| match w {
                Some(v) => Op::Put(k, v),
                None => Op::Delete(k),
            })
            .collect();
        ops.extend(self.appends.into_iter().map(|(k, v)| Op::Append(k, v)));
        Batch { preconditions, ops }
    }
}

/// Runs `f` as a serialisable transaction: retried on conflict, durable when it returns `Ok`.
/// An `Err` from `f` aborts without writing anything.
pub(crate) fn run<R>(
    store: &dyn Store,
    now: impl Fn() -> Timestamp,
    mut f: impl FnMut(&mut Txn<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    for _ in 0..MAX_ATTEMPTS {
        let mut tx = Txn::new(store, now());
        let out = f(&mut tx)?;
        if tx.is_read_only() {
            return Ok(out);
        }
        match store.commit(tx.into_batch()) {
            Ok(_) => return Ok(out),
            Err(CommitError::Conflict) => continue,
            Err(CommitError::Failed(e)) => return Err(e),
        }
    }
    Err(Error::Conflict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantId;
    use crate::store::keys;
    use crate::store::sled_store::SledStore;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Count {
        n: u64,
    }
    impl Record for Count {
        const WHAT: &'static str = "count";
    }

    #[test]
    fn concurrent_increments_are_serialised() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let k = keys::counter(
            TenantId::from_uuid(uuid::Uuid::from_bytes([1; 16])),
            keys::Counter::PosixId,
        );
        let attempts = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..25 {
                        run(
                            &store,
                            || Timestamp(0),
                            |tx| {
                                attempts.fetch_add(1, Ordering::Relaxed);
                                let c = tx.get::<Count>(&k)?.unwrap_or(Count { n: 0 });
                                tx.put(k.clone(), &Count { n: c.n + 1 })
                            },
                        )
                        .unwrap();
                    }
                });
            }
        });
        let c: Count = codec::decode(&store.get(&k).unwrap().unwrap().value).unwrap();
        assert_eq!(c.n, 100);
        assert!(attempts.load(Ordering::Relaxed) >= 100);
    }

    #[test]
    fn an_error_writes_nothing_and_scans_see_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let t = TenantId::from_uuid(uuid::Uuid::from_bytes([1; 16]));
        let r: Result<(), Error> = run(
            &store,
            || Timestamp(0),
            |tx| {
                tx.touch(keys::user_by_name(t, "a"))?;
                Err(Error::NotFound)
            },
        );
        assert_eq!(r, Err(Error::NotFound));
        assert_eq!(store.last_seq().unwrap(), 0);
        run(
            &store,
            || Timestamp(0),
            |tx| {
                tx.touch(keys::user_by_name(t, "a"))?;
                tx.touch(keys::user_by_name(t, "b"))?;
                tx.delete(keys::user_by_name(t, "a"));
                let seen: Vec<(Key, Unit)> =
                    tx.scan(&KeyRange::prefix(&keys::user_names(t)), 10)?;
                assert_eq!(seen.len(), 1);
                Ok(())
            },
        )
        .unwrap();
    }
}
