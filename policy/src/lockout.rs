//! Lockout arithmetic: which failed authentications count, when an account locks and when the
//! lock runs out. It owns [`LockState`], the small record the caller persists per account. It
//! must not store that record, read a clock (`now` is a parameter) or decide whether a password
//! was right.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// When repeated failures lock an account: `threshold` failures within `window_secs` lock it for
/// `duration_secs`. A `threshold` of 0 disables lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockoutPolicy {
    /// Failures within the window that lock the account; 0 disables lockout.
    pub threshold: u16,
    /// How long a failure counts, in seconds: a failure counts while it is at most this old.
    pub window_secs: u32,
    /// How long a lock lasts, in seconds (0 makes a lock run out at once).
    pub duration_secs: u32,
}

impl Default for LockoutPolicy {
    /// 10 failures within 15 minutes lock the account for 15 minutes.
    fn default() -> Self {
        LockoutPolicy {
            threshold: 10,
            window_secs: 900,
            duration_secs: 900,
        }
    }
}

impl LockoutPolicy {
    /// Whether lockout is on (`threshold` above 0).
    pub fn is_enabled(&self) -> bool {
        self.threshold > 0
    }
}

/// The lockout record of one account: recent failure times and the current lock, if any.
/// Transitions consume the state and return the next one; the caller persists the result
/// (nothing, when [`LockState::is_clean`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockState {
    /// Times of the recent failures that still count, oldest first; never more than the
    /// threshold.
    pub failures: Vec<Timestamp>,
    /// The end of the current lock (exclusive), if one was set. A time in the past means the
    /// lock has run out.
    pub locked_until: Option<Timestamp>,
}

impl LockState {
    /// Whether the account is locked at `now`: until `locked_until` (exclusive), after which it
    /// unlocks by itself.
    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// The state after a failed authentication at `now`.
    ///
    /// Failures more than `window_secs` before `now` stop counting; the new one is added; when
    /// the failures that count reach the threshold, the account is locked until
    /// `now + duration_secs` and the failures are cleared (the lock has consumed them). With
    /// lockout disabled nothing is counted. While the account is locked a failure changes
    /// nothing: the caller does not verify a locked account, and extending the lock would let
    /// anyone keep it locked for ever. A lock that has run out is forgotten.
    #[must_use]
    pub fn record_failure(self, policy: &LockoutPolicy, now: Timestamp) -> LockState {
        if self.is_locked(now) {
            return self;
        }
        if !policy.is_enabled() {
            return LockState::default();
        }
        let oldest_counted = now.plus_secs(-i64::from(policy.window_secs));
        let mut failures: Vec<Timestamp> = self
            .failures
            .into_iter()
            .filter(|&t| t >= oldest_counted)
            .collect();
        failures.push(now);
        if failures.len() >= usize::from(policy.threshold) {
            return LockState {
                failures: Vec::new(),
                locked_until: Some(now.plus_secs(i64::from(policy.duration_secs))),
            };
        }
        LockState {
            failures,
            locked_until: None,
        }
    }

    /// The state after a successful authentication: the failures are forgiven. A lock stays —
    /// the caller never verifies a locked account, so there is no active lock to lift here; use
    /// [`LockState::forget_expired_lock`] to drop one that has run out.
    #[must_use]
    pub fn record_success(self) -> LockState {
        LockState {
            failures: Vec::new(),
            locked_until: self.locked_until,
        }
    }

    /// The state after an administrator unlocks the account: no lock, no failures.
    #[must_use]
    pub fn unlock(self) -> LockState {
        LockState::default()
    }

    /// The same state without a lock that has run out at `now` (an active lock stays).
    #[must_use]
    pub fn forget_expired_lock(self, now: Timestamp) -> LockState {
        let locked_until = self.locked_until.filter(|_| self.is_locked(now));
        LockState {
            failures: self.failures,
            locked_until,
        }
    }

    /// Whether there is nothing to persist: no failures and no lock recorded.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty() && self.locked_until.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn fail_at(policy: &LockoutPolicy, times: &[Timestamp]) -> LockState {
        times.iter().fold(LockState::default(), |s, &now| {
            s.record_failure(policy, now)
        })
    }

    #[test]
    fn default_policy() {
        let p = LockoutPolicy::default();
        assert_eq!(
            (p.threshold, p.window_secs, p.duration_secs),
            (10, 900, 900)
        );
        assert!(p.is_enabled());
    }

    #[test]
    fn tenth_failure_locks_for_the_duration() {
        let p = LockoutPolicy::default();
        let nine: Vec<_> = (0..9).map(t).collect();
        let s = fail_at(&p, &nine);
        assert!(!s.is_locked(t(9)));
        assert_eq!(s.failures.len(), 9);
        let s = s.record_failure(&p, t(9));
        assert_eq!(s.locked_until, Some(t(909)));
        assert!(s.failures.is_empty());
        assert!(s.is_locked(t(9)));
        assert!(s.is_locked(Timestamp(t(909).0 - 1)));
        assert!(!s.is_locked(t(909)));
    }

    #[test]
    fn window_is_inclusive_of_its_oldest_second() {
        let p = LockoutPolicy {
            threshold: 2,
            window_secs: 60,
            duration_secs: 300,
        };
        assert!(fail_at(&p, &[t(0), t(60)]).is_locked(t(60)));
        let s = fail_at(&p, &[t(0), Timestamp(t(60).0 + 1)]);
        assert!(!s.is_locked(t(61)));
        assert_eq!(s.failures, vec![Timestamp(t(60).0 + 1)]);
    }

    #[test]
    fn failures_while_locked_change_nothing() {
        let p = LockoutPolicy {
            threshold: 1,
            window_secs: 60,
            duration_secs: 300,
        };
        let s = fail_at(&p, &[t(0)]);
        assert_eq!(s.locked_until, Some(t(300)));
        assert_eq!(s.clone().record_failure(&p, t(299)), s);
        // Once it runs out, the next failure locks afresh.
        assert_eq!(s.record_failure(&p, t(300)).locked_until, Some(t(600)));
    }

    #[test]
    fn disabled_lockout_counts_nothing() {
        let p = LockoutPolicy {
            threshold: 0,
            ..LockoutPolicy::default()
        };
        let s = fail_at(&p, &vec![t(0); 100]);
        assert!(s.is_clean());
        assert!(!s.is_locked(t(0)));
    }

    #[test]
    fn lowering_the_threshold_counts_earlier_failures() {
        let ten = LockoutPolicy::default();
        let s = fail_at(&ten, &[t(0), t(1), t(2), t(3), t(4), t(5)]);
        let three = LockoutPolicy {
            threshold: 3,
            ..ten
        };
        assert!(s.record_failure(&three, t(6)).is_locked(t(6)));
    }

    #[test]
    fn success_forgives_failures_but_keeps_a_lock() {
        let p = LockoutPolicy {
            threshold: 3,
            ..LockoutPolicy::default()
        };
        let s = fail_at(&p, &[t(0), t(1)]).record_success();
        assert!(s.is_clean());
        assert!(!fail_at(&p, &[t(2), t(3)]).is_locked(t(3)));

        let locked = fail_at(&p, &[t(0), t(1), t(2)]);
        let after = locked.clone().record_success();
        assert_eq!(after.locked_until, locked.locked_until);
        assert!(after.is_locked(t(3)));
    }

    #[test]
    fn unlock_and_forgetting_an_expired_lock() {
        let p = LockoutPolicy {
            threshold: 1,
            window_secs: 60,
            duration_secs: 300,
        };
        let locked = fail_at(&p, &[t(0)]);
        assert!(!locked.is_clean());
        assert!(locked.clone().unlock().is_clean());
        assert_eq!(locked.clone().forget_expired_lock(t(299)), locked);
        assert!(locked.forget_expired_lock(t(300)).is_clean());
    }

    #[test]
    fn serde_round_trip() {
        let s = LockState {
            failures: vec![t(1), t(2)],
            locked_until: Some(t(3)),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"failures":[1000000,2000000],"locked_until":3000000}"#
        );
        assert_eq!(serde_json::from_str::<LockState>(&json).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<LockState>("{}").unwrap(),
            LockState::default()
        );
    }

    fn arb_policy() -> impl Strategy<Value = LockoutPolicy> {
        (1u16..12, 1u32..3600, 0u32..3600).prop_map(|(threshold, window_secs, duration_secs)| {
            LockoutPolicy {
                threshold,
                window_secs,
                duration_secs,
            }
        })
    }

    /// Increasing failure times from a start and gaps in microseconds.
    fn times(start: i64, gaps: &[i64]) -> Vec<Timestamp> {
        gaps.iter()
            .scan(start, |now, gap| {
                *now += gap;
                Some(Timestamp(*now))
            })
            .collect()
    }

    proptest! {
        #[test]
        fn never_locked_below_threshold_within_one_window(
            p in arb_policy(),
            start in -1_000_000_000_000i64..1_000_000_000_000,
            raw in proptest::collection::vec(0i64..1_000_000_000, 0..12),
        ) {
            let n = raw.len().min(usize::from(p.threshold) - 1);
            let window = i64::from(p.window_secs) * 1_000_000;
            // Squeeze the gaps so that all n failures fit in one window.
            let gaps: Vec<i64> = raw.iter().take(n).map(|g| g % (window / 12 + 1)).collect();
            let ts = times(start, &gaps);
            let s = fail_at(&p, &ts);
            let last = ts.last().copied().unwrap_or(Timestamp(start));
            prop_assert!(!s.is_locked(last));
            prop_assert_eq!(s.locked_until, None);
            prop_assert!(s.failures.len() < usize::from(p.threshold));
        }

        #[test]
        fn threshold_failures_within_the_window_lock(
            p in arb_policy(),
            start in -1_000_000_000_000i64..1_000_000_000_000,
            raw in proptest::collection::vec(0i64..1_000_000_000, 12),
        ) {
            let window = i64::from(p.window_secs) * 1_000_000;
            let n = usize::from(p.threshold);
            let mut gaps: Vec<i64> = raw.iter().take(n).map(|g| g % (window / 12 + 1)).collect();
            gaps[0] = 0;
            let ts = times(start, &gaps);
            prop_assert!(ts[n - 1].0 - ts[0].0 <= window);
            let s = fail_at(&p, &ts);
            let last = ts[n - 1];
            prop_assert_eq!(s.locked_until, Some(last.plus_secs(i64::from(p.duration_secs))));
            prop_assert_eq!(s.is_locked(last), p.duration_secs > 0);
        }

        #[test]
        fn failures_further_apart_than_the_window_never_lock(
            p in arb_policy().prop_filter("a lock needs two failures", |p| p.threshold >= 2),
            start in -1_000_000_000_000i64..1_000_000_000_000,
            extra in proptest::collection::vec(1i64..10_000_000_000, 1..40),
        ) {
            let window = i64::from(p.window_secs) * 1_000_000;
            let gaps: Vec<i64> = extra.iter().map(|e| window + e).collect();
            let mut s = LockState::default();
            for now in times(start, &gaps) {
                s = s.record_failure(&p, now);
                prop_assert!(!s.is_locked(now));
                prop_assert_eq!(s.failures.clone(), vec![now]);
            }
        }

        #[test]
        fn a_lock_expires_exactly_at_locked_until(
            p in arb_policy(),
            now in -1_000_000_000_000i64..1_000_000_000_000,
            probe in -10_000_000_000i64..10_000_000_000,
        ) {
            let s = fail_at(&p, &vec![Timestamp(now); usize::from(p.threshold)]);
            let until = s.locked_until.unwrap();
            prop_assert_eq!(until, Timestamp(now).plus_secs(i64::from(p.duration_secs)));
            let at = Timestamp(until.0 + probe);
            prop_assert_eq!(s.is_locked(at), at < until);
            prop_assert!(!s.is_locked(until));
        }

        #[test]
        fn never_more_failures_kept_than_the_threshold(
            p in arb_policy(),
            gaps in proptest::collection::vec(0i64..2_000_000_000, 0..40),
        ) {
            let mut s = LockState::default();
            for now in times(0, &gaps) {
                s = s.record_failure(&p, now);
                prop_assert!(s.failures.len() < usize::from(p.threshold));
            }
        }
    }
}
