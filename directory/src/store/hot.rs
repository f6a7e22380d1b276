//! The embedded backend's read cache: recently read entries (and absences) by key, so a hot read
//! costs a hash lookup instead of a walk down sled's tree. It owns staleness: while a commit is
//! writing a key, that key is neither served nor filled, and a read that raced with any commit
//! does not fill the cache afterwards. Bounded in bytes, it forgets the entries not read for two generations. It is
//! only sound where every write passes through this process's commit (sled locks its files);
//! it must not be put in front of a store other processes write.

use super::{Entry, Key};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shards, so readers on different cores rarely meet on one lock.
const SHARDS: usize = 16;
/// Values larger than this are not kept: they would crowd out many small hot records.
const MAX_VALUE: usize = 16 * 1024;
/// What one cached key costs beyond its bytes (map slot, allocation headers), for the budget.
const OVERHEAD: usize = 64;

type Map = HashMap<Box<[u8]>, Option<Entry>>;

#[derive(Default)]
struct Shard {
    /// Entries read or filled in the current generation.
    young: Map,
    /// The previous generation: a hit moves the entry back to `young`.
    old: Map,
    young_bytes: usize,
    /// Keys a commit is writing, with how many commits: read from the store, never kept.
    in_flight: HashMap<Box<[u8]>, u32>,
}

/// The cache. `generation` counts commits: a read fills the cache only if no commit finished
/// between its start and its fill.
pub(crate) struct HotCache {
    shards: Vec<Mutex<Shard>>,
    /// Bytes one shard's young generation may hold before it becomes the old one.
    shard_budget: usize,
    generation: AtomicU64,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotCache")
            .field("shard_budget", &self.shard_budget)
            .finish()
    }
}

fn cost(key: &[u8], e: &Option<Entry>) -> usize {
    key.len() + e.as_ref().map_or(0, |e| e.value.len()) + OVERHEAD
}

impl HotCache {
    /// A cache holding about `budget` bytes (up to twice that while a generation turns over).
    pub(crate) fn new(budget: usize) -> Self {
        HotCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_budget: budget / SHARDS,
            generation: AtomicU64::new(0),
            hasher: Default::default(),
        }
    }

    fn shard(&self, key: &[u8]) -> Option<&Mutex<Shard>> {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one(key);
        self.shards.get((h as usize) % SHARDS)
    }

    /// The cached answer for `key`: `Some(None)` when it is known to be absent.
    pub(crate) fn get(&self, key: &Key) -> Option<Option<Entry>> {
        let k = key.as_bytes();
        let mut s = self.shard(k)?.lock();
        if !s.in_flight.is_empty() && s.in_flight.contains_key(k) {
            return None;
        }
        if let Some(e) = s.young.get(k) {
            return Some(e.clone());
        }
        let (k, e) = s.old.remove_entry(k)?;
        let out = e.clone();
        self.keep(&mut s, k, e);
        Some(out)
    }

    /// The generation to pass to [`HotCache::fill`], taken before reading the store.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers what a read that began at `generation` found, unless a commit finished since.
    pub(crate) fn fill(&self, generation: u64, key: &Key, e: &Option<Entry>) {
        if e.as_ref().is_some_and(|e| e.value.len() > MAX_VALUE) {
            return;
        }
        let k = key.as_bytes();
        let Some(shard) = self.shard(k) else { return };
        let mut s = shard.lock();
        // Checked under the shard's lock: a commit that bumps the generation after this point
        // drops the key afterwards, under the same lock.
        if self.generation.load(Ordering::SeqCst) != generation || s.in_flight.contains_key(k) {
            return;
        }
        s.old.remove(k);
        self.keep(&mut s, k.into(), e.clone());
    }

    fn keep(&self, s: &mut Shard, k: Box<[u8]>, e: Option<Entry>) {
        let c = cost(&k, &e);
        if s.young_bytes + c > self.shard_budget {
            s.old = std::mem::take(&mut s.young);
            s.young_bytes = 0;
        }
        s.young_bytes += c;
        let klen = k.len();
        if let Some(prev) = s.young.insert(k, e) {
            // Two fills of the same key: the replaced one no longer counts.
            let was = klen + prev.as_ref().map_or(0, |e| e.value.len()) + OVERHEAD;
            s.young_bytes = s.young_bytes.saturating_sub(was);
        }
    }

    /// Called before a commit writes `keys`: they are dropped, and until [`HotCache::written`]
    /// they are read from the store only.
    pub(crate) fn writing<'k>(&self, keys: impl IntoIterator<Item = &'k Key>) {
        for key in keys {
            let k = key.as_bytes();
            if let Some(shard) = self.shard(k) {
                let mut s = shard.lock();
                drop_key(&mut s, k);
                *s.in_flight.entry(k.into()).or_insert(0) += 1;
            }
        }
    }

    /// Called once the commit that announced `keys` with [`HotCache::writing`] ended (its data
    /// visible, or nothing written): reads that began before cannot fill any more, and the keys
    /// are served again.
    pub(crate) fn written<'k>(&self, keys: impl IntoIterator<Item = &'k Key>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for key in keys {
            let k = key.as_bytes();
            if let Some(shard) = self.shard(k) {
                let mut s = shard.lock();
                drop_key(&mut s, k);
                if let Some(n) = s.in_flight.get_mut(k) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        s.in_flight.remove(k);
                    }
                }
            }
        }
    }
}

fn drop_key(s: &mut Shard, k: &[u8]) {
    if let Some(e) = s.young.remove(k) {
        s.young_bytes = s.young_bytes.saturating_sub(cost(k, &e));
    }
    s.old.remove(k);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TenantId;
    use crate::store::keys;

    fn key(n: u16) -> Key {
        keys::user_by_name(
            TenantId::from_uuid(uuid::Uuid::from_bytes([1; 16])),
            &n.to_string(),
        )
    }

    fn entry(v: u64, len: usize) -> Option<Entry> {
        Some(Entry {
            version: v,
            value: vec![7; len],
        })
    }

    #[test]
    fn a_fill_is_served_until_its_key_is_written() {
        let c = HotCache::new(1 << 20);
        let g = c.generation();
        c.fill(g, &key(1), &entry(3, 10));
        c.fill(g, &key(2), &None);
        assert_eq!(c.get(&key(1)), Some(entry(3, 10)));
        assert_eq!(c.get(&key(2)), Some(None));
        assert_eq!(c.get(&key(3)), None);
        c.writing([&key(1)]);
        assert_eq!(c.get(&key(1)), None);
        // While the commit is under way the key is not kept, even by a read that began after it.
        let g = c.generation();
        c.fill(g, &key(1), &entry(4, 10));
        assert_eq!(c.get(&key(1)), None);
        c.written([&key(1)]);
        assert_eq!(c.get(&key(1)), None);
        assert_eq!(c.get(&key(2)), Some(None));
        let g = c.generation();
        c.fill(g, &key(1), &entry(4, 10));
        assert_eq!(c.get(&key(1)), Some(entry(4, 10)));
    }

    #[test]
    fn a_read_that_raced_with_a_commit_does_not_fill() {
        let c = HotCache::new(1 << 20);
        let g = c.generation();
        // A commit of another key finishes while the read is under way.
        c.writing([&key(9)]);
        c.written([&key(9)]);
        c.fill(g, &key(1), &entry(3, 10));
        assert_eq!(c.get(&key(1)), None);
        let g = c.generation();
        c.fill(g, &key(1), &entry(4, 10));
        assert_eq!(c.get(&key(1)), Some(entry(4, 10)));
    }

    #[test]
    fn it_stays_within_its_budget_and_keeps_what_is_read() {
        // 16 shards of 4 KiB: an entry costs 64 + 20 + 100 bytes, some 22 per generation.
        let c = HotCache::new(16 * 4096);
        let g = c.generation();
        c.fill(g, &key(0), &entry(1, 100));
        for n in 1..=2000u16 {
            c.fill(g, &key(n), &entry(1, 100));
            // Read every ten fills (fewer than a generation, whatever the shard): it survives.
            if n % 10 == 0 {
                assert_eq!(c.get(&key(0)), Some(entry(1, 100)), "after {n} fills");
            }
        }
        let held: usize = c
            .shards
            .iter()
            .map(|s| {
                let s = s.lock();
                s.young.len() + s.old.len()
            })
            .sum();
        // At most two generations of 22 per shard.
        assert!((300..=16 * 2 * 23).contains(&held), "{held} entries held");
        // Large values are not kept.
        c.fill(g, &key(2001), &entry(1, MAX_VALUE + 1));
        assert_eq!(c.get(&key(2001)), None);
    }
}
