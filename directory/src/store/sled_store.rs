//! The embedded backend on sled 0.34.7. It owns the on-disk layout: a `data` tree of
//! `key → version(8, BE) ‖ value`, a `revisions` tree of `namespace → seq`, a `changes` tree of
//! `seq → change record` and a `meta` tree with the last sequence number. Every commit is one
//! sled transaction over the four trees, then a group sync, so it is durable when `commit`
//! returns. It must not interpret values.
//!
//! Durability needs more than `sled::Db::flush`: on Linux that ends in `sync_file_range`, which
//! neither flushes the drive's cache nor the file's metadata, and sled writes large values
//! ("blobs") to files it never syncs. So after the flush we `fdatasync` the log file and fsync
//! any blob file not synced yet. Concurrent committers share one sync (group commit).

use super::hot::HotCache;
use super::keys;
use super::{
    Batch, ChangeKind, ChangeRecord, CommitError, Entry, Key, KeyRange, Namespace, Op,
    Precondition, Store,
};
use crate::error::Error;
use parking_lot::Mutex;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const SEQ: &[u8] = b"seq";
/// What the read cache holds: the records a busy directory reads (users, groups, their name
/// indexes) for some 100k users.
const READ_CACHE_BYTES: usize = 64 << 20;
/// How much of the `data` tree opening reads ahead (well inside sled's 1 GiB page cache).
const READ_AHEAD_BYTES: usize = 512 << 20;

/// The sled-backed store.
pub(crate) struct SledStore {
    db: sled::Db,
    data: sled::Tree,
    revisions: sled::Tree,
    changes: sled::Tree,
    meta: sled::Tree,
    path: PathBuf,
    /// sled's log file, for `fdatasync`.
    log: File,
    /// The highest sequence number known to be on stable storage, and the blob files synced.
    synced: Mutex<Synced>,
    /// Commits that wrote a marker key (see `Store::marker_epoch`): sled's files are locked
    /// by this process, so every write passes through `commit`.
    marker_epoch: AtomicU64,
    /// Recently read entries; for the same reason it cannot go stale.
    hot: HotCache,
}

#[derive(Default)]
struct Synced {
    seq: u64,
    blobs: HashSet<std::ffi::OsString>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish()
    }
}

fn storage(e: sled::Error) -> Error {
    Error::Storage(e.to_string())
}

fn be_u64(b: &[u8]) -> Result<u64, Error> {
    b.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt("bad sequence number".into()))
}

fn split_entry(raw: &[u8]) -> Result<Entry, Error> {
    let (v, value) = raw
        .split_at_checked(8)
        .ok_or_else(|| Error::Corrupt("stored entry shorter than its version".into()))?;
    Ok(Entry {
        version: be_u64(v)?,
        value: value.to_vec(),
    })
}

impl SledStore {
    /// Walks the `data` tree's hot tables once ([`keys::read_ahead_skip`] says which), up to
    /// [`READ_AHEAD_BYTES`], and says how many entries and bytes it read. sled reads a page from
    /// its log the first time it is asked for it after opening (and has its background writer
    /// rewrite it): at 100k users a uid search over LDAP took half as many instructions again
    /// until every user had been read once. Done before the store is served, it costs a
    /// fraction of a second at that size.
    fn read_ahead(&self) -> Result<(usize, usize), Error> {
        let (mut entries, mut bytes) = (0usize, 0usize);
        let mut from: Vec<u8> = Vec::new();
        'tables: loop {
            for item in self.data.range(from.as_slice()..) {
                let (k, v) = item.map_err(storage)?;
                if let Some(next) = keys::read_ahead_skip(&k) {
                    from = next;
                    continue 'tables;
                }
                entries += 1;
                bytes += k.len() + v.len();
                if bytes > READ_AHEAD_BYTES {
                    break 'tables;
                }
            }
            break;
        }
        Ok((entries, bytes))
    }

    /// Opens (or creates) the store in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(storage)?;
        let open = |name: &str| db.open_tree(name).map_err(storage);
        let io = |e: std::io::Error| Error::Storage(format!("{}: {e}", dir.display()));
        let log = File::open(dir.join("db")).map_err(io)?;
        // Make the files' directory entries durable once.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        let store = SledStore {
            data: open("data")?,
            revisions: open("revisions")?,
            changes: open("changes")?,
            meta: open("meta")?,
            path: dir.to_path_buf(),
            log,
            synced: Mutex::new(Synced::default()),
            marker_epoch: AtomicU64::new(0),
            hot: HotCache::new(READ_CACHE_BYTES),
            db,
        };
        let last = store.last_seq()?;
        store.synced.lock().seq = last;
        let (entries, bytes) = store.read_ahead()?;
        tracing::debug!(entries, bytes, "store pages read ahead");
        Ok(store)
    }

    /// Makes every commit up to `seq` durable: flush sled's buffers, fdatasync the log, fsync
    /// new blob files. One caller syncs for everyone waiting (group commit).
    fn sync_through(&self, seq: u64) -> Result<(), Error> {
        let mut synced = self.synced.lock();
        if synced.seq >= seq {
            return Ok(());
        }
        let target = self.last_seq()?;
        self.db.flush().map_err(storage)?;
        let io = |e: std::io::Error| Error::Storage(format!("syncing the store: {e}"));
        self.log.sync_data().map_err(io)?;
        let blobs = self.path.join("blobs");
        let mut new_blob = false;
        match std::fs::read_dir(&blobs) {
            Ok(entries) => {
                let mut present = HashSet::new();
                for e in entries {
                    let name = e.map_err(io)?.file_name();
                    if !synced.blobs.contains(&name) {
                        // A blob sled removed meanwhile needs no sync.
                        if let Ok(f) = File::open(blobs.join(&name)) {
                            f.sync_all().map_err(io)?;
                            new_blob = true;
                        }
                    }
                    present.insert(name);
                }
                synced.blobs = present;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        if new_blob {
            File::open(&blobs).and_then(|d| d.sync_all()).map_err(io)?;
        }
        synced.seq = target;
        Ok(())
    }
}

/// Change records: `count(4) ‖ (kind(1) ‖ len(4) ‖ key)*`.
fn encode_changes(changes: &[(Vec<u8>, ChangeKind)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + changes.len() * 40);
    out.extend_from_slice(&(changes.len() as u32).to_be_bytes());
    for (k, kind) in changes {
        out.push(match kind {
            ChangeKind::Put => 1,
            ChangeKind::Delete => 2,
        });
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
    }
    out
}

fn decode_changes(mut b: &[u8]) -> Result<Vec<(Key, ChangeKind)>, Error> {
    let bad = || Error::Corrupt("bad change record".into());
    let take = |n: usize, b: &mut &[u8]| -> Result<Vec<u8>, Error> {
        let (h, t) = b.split_at_checked(n).ok_or_else(bad)?;
        *b = t;
        Ok(h.to_vec())
    };
    let count = u32::from_be_bytes(take(4, &mut b)?.try_into().map_err(|_| bad())?);
    let mut out = Vec::new();
    for _ in 0..count {
        let kind = match take(1, &mut b)?.first() {
            Some(1) => ChangeKind::Put,
            Some(2) => ChangeKind::Delete,
            _ => return Err(bad()),
        };
        let len = u32::from_be_bytes(take(4, &mut b)?.try_into().map_err(|_| bad())?) as usize;
        out.push((Key::from_stored(take(len, &mut b)?), kind));
    }
    Ok(out)
}

impl Store for SledStore {
    fn get(&self, key: &Key) -> Result<Option<Entry>, Error> {
        if let Some(e) = self.hot.get(key) {
            return Ok(e);
        }
        let generation = self.hot.generation();
        let e = self
            .data
            .get(key.as_bytes())
            .map_err(storage)?
            .map(|raw| split_entry(&raw))
            .transpose()?;
        self.hot.fill(generation, key, &e);
        Ok(e)
    }

    fn scan(
        &self,
        range: &KeyRange,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Key, Entry)>, Error> {
        let iter = match &range.end {
            Some(end) => self.data.range(range.start.clone()..end.clone()),
            None => self.data.range(range.start.clone()..),
        };
        let mut out = Vec::new();
        let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool, Error> {
            let (k, v) = item.map_err(storage)?;
            out.push((Key::from_stored(k.to_vec()), split_entry(&v)?));
            Ok(out.len() < limit)
        };
        if reverse {
            for item in iter.rev() {
                if !push(item)? {
                    break;
                }
            }
        } else {
            for item in iter {
                if !push(item)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn revision(&self, ns: &Namespace) -> Result<u64, Error> {
        self.revisions
            .get(ns.encode())
            .map_err(storage)?
            .map_or(Ok(0), |v| be_u64(&v))
    }

    fn commit(&self, batch: Batch) -> Result<u64, CommitError> {
        type TxError = ConflictableTransactionError<CommitError>;
        let abort = |e: CommitError| TxError::Abort(e);
        let corrupt = |e: Error| TxError::Abort(CommitError::Failed(e));
        let markers = batch.ops.iter().any(|op| {
            let (Op::Put(k, _) | Op::Delete(k) | Op::Append(k, _)) = op;
            k.is_marker()
        });
        let written = || {
            batch.ops.iter().map(|op| {
                let (Op::Put(k, _) | Op::Delete(k) | Op::Append(k, _)) = op;
                k
            })
        };
        self.hot.writing(written());
        let result = (&self.data, &self.revisions, &self.changes, &self.meta).transaction(
            |(data, revs, changes, meta)| {
                for p in &batch.preconditions {
                    let ok = match p {
                        Precondition::Absent(k) => data.get(k.as_bytes())?.is_none(),
                        Precondition::Version(k, v) => match data.get(k.as_bytes())? {
                            Some(raw) => split_entry(&raw).map_err(corrupt)?.version == *v,
                            None => false,
                        },
                        Precondition::Revision(ns, r) => {
                            let cur = match revs.get(ns.encode())? {
                                Some(raw) => be_u64(&raw).map_err(corrupt)?,
                                None => 0,
                            };
                            cur == *r
                        }
                    };
                    if !ok {
                        return Err(abort(CommitError::Conflict));
                    }
                }
                let seq = match meta.get(SEQ)? {
                    Some(raw) => be_u64(&raw).map_err(corrupt)?,
                    None => 0,
                } + 1;
                let stamp = seq.to_be_bytes();
                let mut touched: BTreeSet<Vec<u8>> = BTreeSet::new();
                let mut record = Vec::with_capacity(batch.ops.len());
                for op in &batch.ops {
                    match op {
                        Op::Put(k, v) | Op::Append(k, v) => {
                            if matches!(op, Op::Append(..)) && data.get(k.as_bytes())?.is_some() {
                                return Err(abort(CommitError::Conflict));
                            }
                            let mut raw = Vec::with_capacity(8 + v.len());
                            raw.extend_from_slice(&stamp);
                            raw.extend_from_slice(v);
                            data.insert(k.as_bytes(), raw)?;
                            record.push((k.as_bytes().to_vec(), ChangeKind::Put));
                        }
                        Op::Delete(k) => {
                            data.remove(k.as_bytes())?;
                            record.push((k.as_bytes().to_vec(), ChangeKind::Delete));
                        }
                    }
                    if !matches!(op, Op::Append(..)) {
                        let (Op::Put(k, _) | Op::Delete(k) | Op::Append(k, _)) = op;
                        if let Some(ns) = k.namespace() {
                            touched.insert(ns.encode());
                        }
                    }
                }
                for ns in touched {
                    revs.insert(ns, &stamp)?;
                }
                changes.insert(&stamp, encode_changes(&record))?;
                meta.insert(SEQ, &stamp)?;
                Ok(seq)
            },
        );
        self.hot.written(written());
        let seq = match result {
            Ok(seq) => seq,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(CommitError::Failed(storage(e))),
        };
        if markers {
            // After the data is visible: a reader that still sees the old count read markers
            // no older than before this commit, as if it had run just before it.
            self.marker_epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.sync_through(seq).map_err(CommitError::Failed)?;
        Ok(seq)
    }

    fn marker_epoch(&self) -> Option<u64> {
        Some(self.marker_epoch.load(Ordering::SeqCst))
    }

    fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, Error> {
        let start = after.saturating_add(1).to_be_bytes();
        let mut out = Vec::new();
        for item in self.changes.range(start..).take(limit) {
            let (k, v) = item.map_err(storage)?;
            out.push(ChangeRecord {
                seq: be_u64(&k)?,
                changes: decode_changes(&v)?,
            });
        }
        Ok(out)
    }

    fn trim_changes(&self, upto: u64) -> Result<usize, Error> {
        let end = upto.saturating_add(1).to_be_bytes();
        let keys: Vec<sled::IVec> = self
            .changes
            .range(..end)
            .keys()
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        let mut batch = sled::Batch::default();
        for k in &keys {
            batch.remove(k);
        }
        self.changes.apply_batch(batch).map_err(storage)?;
        self.db.flush().map_err(storage)?;
        self.log
            .sync_data()
            .map_err(|e| Error::Storage(format!("syncing the store: {e}")))?;
        Ok(keys.len())
    }

    fn last_seq(&self) -> Result<u64, Error> {
        self.meta
            .get(SEQ)
            .map_err(storage)?
            .map_or(Ok(0), |v| be_u64(&v))
    }

    fn disk_size(&self) -> Result<u64, Error> {
        self.db.size_on_disk().map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantId;
    use crate::store::keys;

    fn open() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        (dir, s)
    }

    fn tenant(n: u8) -> TenantId {
        TenantId::from_uuid(uuid::Uuid::from_bytes([n; 16]))
    }

    fn put(k: &Key, v: &[u8]) -> Batch {
        Batch {
            preconditions: vec![],
            ops: vec![Op::Put(k.clone(), v.to_vec())],
        }
    }

    #[test]
    fn cached_reads_never_go_back_while_commits_run() {
        let (_d, s) = open();
        let keys: Vec<Key> = (0..4)
            .map(|n| keys::user_by_name(tenant(1), &n.to_string()))
            .collect();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    let mut seen = vec![0u64; keys.len()];
                    while !done.load(Ordering::SeqCst) {
                        for (k, last) in keys.iter().zip(seen.iter_mut()) {
                            let v = s.get(k).unwrap().map_or(0, |e| e.version);
                            assert!(v >= *last, "read version {v} after {last}");
                            *last = v;
                        }
                    }
                });
            }
            for round in 0..200u32 {
                let k = &keys[(round % 4) as usize];
                s.commit(put(k, &round.to_be_bytes())).unwrap();
                // A read after the commit returned sees it, from the cache or the tree.
                assert_eq!(s.get(k).unwrap().unwrap().value, round.to_be_bytes());
            }
            done.store(true, Ordering::SeqCst);
        });
        for (n, k) in keys.iter().enumerate() {
            let last = (196 + n as u32).to_be_bytes();
            assert_eq!(s.get(k).unwrap().unwrap().value, last);
        }
    }

    #[test]
    fn versions_revisions_and_preconditions() {
        let (_d, s) = open();
        let a = tenant(1);
        let k = keys::tenant(a);
        assert_eq!(s.get(&k).unwrap(), None);
        assert_eq!(s.revision(&Namespace::Tenant(a)).unwrap(), 0);
        let seq1 = s
            .commit(Batch {
                preconditions: vec![Precondition::Absent(k.clone())],
                ops: vec![Op::Put(k.clone(), b"one".to_vec())],
            })
            .unwrap();
        assert_eq!(seq1, 1);
        assert_eq!(
            s.get(&k).unwrap().unwrap(),
            Entry {
                version: 1,
                value: b"one".to_vec()
            }
        );
        assert_eq!(s.revision(&Namespace::Tenant(a)).unwrap(), 1);
        // Insert-if-absent fails now; the store is unchanged.
        let again = s.commit(Batch {
            preconditions: vec![Precondition::Absent(k.clone())],
            ops: vec![Op::Put(k.clone(), b"two".to_vec())],
        });
        assert_eq!(again, Err(CommitError::Conflict));
        // Expected version.
        assert_eq!(
            s.commit(Batch {
                preconditions: vec![Precondition::Version(k.clone(), 7)],
                ops: vec![Op::Delete(k.clone())],
            }),
            Err(CommitError::Conflict)
        );
        let seq2 = s
            .commit(Batch {
                preconditions: vec![
                    Precondition::Version(k.clone(), 1),
                    Precondition::Revision(Namespace::Tenant(a), 1),
                ],
                ops: vec![Op::Put(k.clone(), b"two".to_vec())],
            })
            .unwrap();
        assert_eq!(s.get(&k).unwrap().unwrap().version, seq2);
        // Another tenant's revision is untouched.
        assert_eq!(s.revision(&Namespace::Tenant(tenant(2))).unwrap(), 0);
        assert_eq!(s.last_seq().unwrap(), seq2);
    }

    #[test]
    fn appends_do_not_bump_revisions_and_are_insert_only() {
        let (_d, s) = open();
        let a = tenant(1);
        let ev = keys::audit(
            a,
            tessera_policy::Timestamp(5),
            crate::model::EventId::from_uuid(uuid::Uuid::from_bytes([4; 16])),
        );
        s.commit(Batch {
            preconditions: vec![],
            ops: vec![Op::Append(ev.clone(), b"e".to_vec())],
        })
        .unwrap();
        assert_eq!(s.revision(&Namespace::Tenant(a)).unwrap(), 0);
        assert_eq!(
            s.commit(Batch {
                preconditions: vec![],
                ops: vec![Op::Append(ev, b"x".to_vec())]
            }),
            Err(CommitError::Conflict)
        );
    }

    #[test]
    fn scans_are_ordered_bounded_and_reversible() {
        let (_d, s) = open();
        let a = tenant(1);
        for name in ["carol", "alice", "bob"] {
            s.commit(put(&keys::user_by_name(a, name), name.as_bytes()))
                .unwrap();
        }
        s.commit(put(&keys::user_by_name(tenant(2), "zed"), b"zed"))
            .unwrap();
        let p = keys::user_names(a);
        let all = s.scan(&KeyRange::prefix(&p), 10, false).unwrap();
        let names: Vec<_> = all.iter().map(|(_, e)| e.value.clone()).collect();
        assert_eq!(
            names,
            vec![b"alice".to_vec(), b"bob".to_vec(), b"carol".to_vec()]
        );
        let after = s
            .scan(&KeyRange::prefix_after(&p, b"alice"), 1, false)
            .unwrap();
        assert_eq!(after[0].1.value, b"bob");
        let rev = s.scan(&KeyRange::prefix(&p), 1, true).unwrap();
        assert_eq!(rev[0].1.value, b"carol");
    }

    #[test]
    fn change_feed_lists_commits_and_trims() {
        let (_d, s) = open();
        let k1 = keys::tenant(tenant(1));
        let k2 = keys::tenant(tenant(2));
        s.commit(put(&k1, b"a")).unwrap();
        s.commit(Batch {
            preconditions: vec![],
            ops: vec![Op::Put(k2.clone(), b"b".to_vec()), Op::Delete(k1.clone())],
        })
        .unwrap();
        let feed = s.changes_since(0, 10).unwrap();
        assert_eq!(feed.len(), 2);
        assert_eq!(feed[1].seq, 2);
        assert_eq!(
            feed[1].changes,
            vec![(k2, ChangeKind::Put), (k1, ChangeKind::Delete)]
        );
        assert_eq!(s.changes_since(1, 10).unwrap().len(), 1);
        assert_eq!(s.trim_changes(1).unwrap(), 1);
        assert_eq!(s.changes_since(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn committed_data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let k = keys::tenant(tenant(1));
        {
            let s = SledStore::open(dir.path()).unwrap();
            s.commit(put(&k, b"kept")).unwrap();
        }
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(s.get(&k).unwrap().unwrap().value, b"kept");
        assert_eq!(s.last_seq().unwrap(), 1);
    }
}
