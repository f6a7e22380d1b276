//! The duplicate-request cache (RFC 5080 §2.2.2): a request is the same as one seen before when
//! its source address and port, identifier and Request Authenticator match. Within the window a
//! retransmission gets the reply already sent — it is never authenticated again, so a
//! retransmitted TOTP code is not refused as reused — and one that arrives while the first is
//! still being answered is dropped (the answer is on its way). Bounded: the oldest entries go
//! first. It owns no packet logic and no clock: time comes in as a parameter.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use tessera_directory::policy::Timestamp;

/// What identifies a request.
pub(crate) type DupKey = (SocketAddr, u8, [u8; 16]);

#[derive(Debug)]
enum Entry {
    /// Being answered.
    InProgress,
    /// Answered with these bytes.
    Done(Vec<u8>),
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// New: answer it, then [`DupCache::finish`].
    New,
    /// A retransmission of an answered request: send this again.
    Replay(Vec<u8>),
    /// A retransmission of a request still being answered: drop it.
    InProgress,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<DupKey, (Entry, Timestamp)>,
    /// Keys by insertion, with the time they were inserted (stale pairs are skipped).
    order: VecDeque<(DupKey, Timestamp)>,
}

/// The cache. Shared by a server's listeners.
#[derive(Debug)]
pub(crate) struct DupCache {
    inner: Mutex<Inner>,
    window_micros: i64,
    max: usize,
}

impl DupCache {
    /// A cache remembering replies for `window_secs`, at most `max` requests.
    pub(crate) fn new(window_secs: u32, max: usize) -> DupCache {
        DupCache {
            inner: Mutex::new(Inner::default()),
            window_micros: i64::from(window_secs) * 1_000_000,
            max: max.max(1),
        }
    }

    /// Looks a request up and, when it is new, marks it as being answered.
    pub(crate) fn begin(&self, key: DupKey, now: Timestamp) -> Seen {
        let mut g = self.inner.lock();
        Self::expire(&mut g, now, self.window_micros);
        if let Some((e, _)) = g.entries.get(&key) {
            return match e {
                Entry::InProgress => Seen::InProgress,
                Entry::Done(b) => Seen::Replay(b.clone()),
            };
        }
        while g.entries.len() >= self.max {
            let Some((k, at)) = g.order.pop_front() else {
                break;
            };
            if g.entries.get(&k).is_some_and(|(_, t)| *t == at) {
                g.entries.remove(&k);
            }
        }
        g.entries.insert(key, (Entry::InProgress, now));
        g.order.push_back((key, now));
        Seen::New
    }

    /// Records the reply to a request begun with [`DupCache::begin`]; `None` (the request was
    /// dropped) forgets it, so a retransmission is answered afresh.
    pub(crate) fn finish(&self, key: DupKey, reply: Option<&[u8]>) {
        let mut g = self.inner.lock();
        match reply {
            Some(b) => {
                if let Some((e, _)) = g.entries.get_mut(&key) {
                    *e = Entry::Done(b.to_vec());
                }
            }
            None => {
                g.entries.remove(&key);
            }
        }
    }

    /// Requests remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    fn expire(g: &mut Inner, now: Timestamp, window: i64) {
        while let Some((k, at)) = g.order.front().copied() {
            if now.0.saturating_sub(at.0) < window {
                break;
            }
            g.order.pop_front();
            if g.entries.get(&k).is_some_and(|(_, t)| *t == at) {
                g.entries.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16, id: u8) -> DupKey {
        (SocketAddr::from(([127, 0, 0, 1], port)), id, [id; 16])
    }

    #[test]
    fn a_retransmission_is_replayed_within_the_window_only() {
        let c = DupCache::new(30, 100);
        let t0 = Timestamp(1_000_000);
        assert_eq!(c.begin(key(1000, 1), t0), Seen::New);
        assert_eq!(c.begin(key(1000, 1), t0), Seen::InProgress);
        c.finish(key(1000, 1), Some(b"reply"));
        assert_eq!(
            c.begin(key(1000, 1), t0.plus_secs(29)),
            Seen::Replay(b"reply".to_vec())
        );
        // Another port, identifier or authenticator is another request.
        assert_eq!(c.begin(key(1001, 1), t0), Seen::New);
        assert_eq!(c.begin(key(1000, 2), t0), Seen::New);
        let (a, i, _) = key(1000, 1);
        assert_eq!(c.begin((a, i, [9; 16]), t0), Seen::New);
        // After the window it is new again.
        assert_eq!(c.begin(key(1000, 1), t0.plus_secs(31)), Seen::New);
    }

    #[test]
    fn a_dropped_request_is_forgotten() {
        let c = DupCache::new(30, 100);
        let t0 = Timestamp(0);
        assert_eq!(c.begin(key(1, 1), t0), Seen::New);
        c.finish(key(1, 1), None);
        assert_eq!(c.begin(key(1, 1), t0), Seen::New);
    }

    #[test]
    fn bounded_oldest_first() {
        let c = DupCache::new(30, 3);
        let t0 = Timestamp(0);
        for id in 0..5u8 {
            assert_eq!(c.begin(key(1, id), t0), Seen::New);
            c.finish(key(1, id), Some(&[id]));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.begin(key(1, 4), t0), Seen::Replay(vec![4]));
        assert_eq!(c.begin(key(1, 0), t0), Seen::New, "the oldest went first");
    }
}
