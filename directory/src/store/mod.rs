//! The storage abstraction of the core, private to this crate: ordered keys, prefix and range
//! scans, atomic multi-key commits with preconditions, a per-namespace revision and a change
//! feed. It is shaped so a PostgreSQL backend can implement it without changing any caller
//! (versions are commit sequence numbers, like PostgreSQL's `xmin`-based optimistic locking).
//! Nothing outside `directory` sees it; services reach it only through `txn::run`.

pub(crate) mod codec;
pub(crate) mod hot;
pub(crate) mod keys;
pub(crate) mod records;
pub(crate) mod sled_store;
pub(crate) mod txn;

use crate::error::Error;
pub(crate) use keys::{Key, Namespace, Prefix};

/// The sequence number of the commit that last wrote a key. Sequence numbers start at 1 and
/// grow with every commit, so a version never repeats.
pub(crate) type Version = u64;

/// A stored value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) version: Version,
    pub(crate) value: Vec<u8>,
}

/// A condition a commit checks, atomically with applying its writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// The key does not exist.
    Absent(Key),
    /// The key exists with exactly this version.
    Version(Key, Version),
    /// The namespace's revision is exactly this (nothing in it changed since it was read).
    Revision(Namespace, u64),
}

/// One write of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Write (create or replace) a value.
    Put(Key, Vec<u8>),
    /// Remove a key (no error when absent).
    Delete(Key),
    /// Add a log entry: fails the commit if the key exists, and does not bump the namespace's
    /// revision (log entries never invalidate reads of the data).
    Append(Key, Vec<u8>),
}

/// An atomic unit of writes with its preconditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) preconditions: Vec<Precondition>,
    pub(crate) ops: Vec<Op>,
}

/// What kind of change a change-feed record lists for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Put,
    Delete,
}

/// One committed batch, as the change feed reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeRecord {
    pub(crate) seq: u64,
    pub(crate) changes: Vec<(Key, ChangeKind)>,
}

/// Why a commit did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommitError {
    /// A precondition failed: someone else changed what was read. Nothing was written.
    Conflict,
    /// The backend failed. Nothing was acknowledged.
    Failed(Error),
}

/// A half-open key range `[start, end)`; `end: None` is unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub(crate) start: Vec<u8>,
    pub(crate) end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key starting with `p`.
    pub(crate) fn prefix(p: &Prefix) -> Self {
        KeyRange {
            start: p.as_bytes().to_vec(),
            end: successor(p.as_bytes()),
        }
    }

    /// Keys starting with `p` that sort after `p` + `tail` (for cursors).
    pub(crate) fn prefix_after(p: &Prefix, tail: &[u8]) -> Self {
        let mut start = p.with_tail(tail).as_bytes().to_vec();
        start.push(0);
        KeyRange {
            start,
            end: successor(p.as_bytes()),
        }
    }

    /// Keys starting with `p` whose tail lies in `[from, to)`.
    pub(crate) fn prefix_between(p: &Prefix, from: &[u8], to: Option<&[u8]>) -> Self {
        KeyRange {
            start: p.with_tail(from).as_bytes().to_vec(),
            end: match to {
                Some(t) => Some(p.with_tail(t).as_bytes().to_vec()),
                None => successor(p.as_bytes()),
            },
        }
    }

    pub(crate) fn namespace(&self) -> Option<Namespace> {
        Namespace::of(&self.start)
    }

    pub(crate) fn contains(&self, k: &[u8]) -> bool {
        k >= self.start.as_slice() && self.end.as_deref().is_none_or(|e| k < e)
    }
}

/// The smallest byte string greater than every string starting with `p`.
fn successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut v = p.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

/// A storage backend.
pub(crate) trait Store: Send + Sync + std::fmt::Debug {
    /// The value of a key.
    fn get(&self, key: &Key) -> Result<Option<Entry>, Error>;

    /// Up to `limit` entries of a range, in key order (or reverse order).
    fn scan(
        &self,
        range: &KeyRange,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Key, Entry)>, Error>;

    /// The sequence number of the last commit that changed data of `ns` (0: never).
    fn revision(&self, ns: &Namespace) -> Result<u64, Error>;

    /// Checks every precondition and applies every op, atomically; durable on return.
    /// Returns the commit's sequence number.
    fn commit(&self, batch: Batch) -> Result<u64, CommitError>;

    /// Commits after `after`, oldest first, at most `limit`.
    fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, Error>;

    /// Forgets change-feed records up to and including `upto`; returns how many.
    fn trim_changes(&self, upto: u64) -> Result<usize, Error>;

    /// The sequence number of the last commit (0: none).
    fn last_seq(&self) -> Result<u64, Error>;

    /// Bytes the store occupies on disk.
    fn disk_size(&self) -> Result<u64, Error>;

    /// A counter this process bumps after every commit that writes a marker key — when this
    /// process is the store's only writer (the embedded store holds its files exclusively), so
    /// an unchanged count proves every marker unchanged without reading one. `None` when other
    /// processes may write: then markers are read each time.
    fn marker_epoch(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors() {
        assert_eq!(successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(successor(&[0xff, 0xff]), None);
    }
}
