//! RBAC evaluation as Kaspersky Security Center does it: effective rights are the union of every
//! unexpired assignment that reaches the subject (the user or any of its groups) at the tenant or
//! an ancestor, with each assignment's direct rights and its roles' rights; any Deny wins and
//! undefined is denied. Also the no-escalation rule. It must not gather the data itself: callers
//! pass the assignments of the tenant chain and the subject's closure in.

use crate::rights::{Area, Right, RightSet};
use crate::time::Timestamp;
use std::collections::HashSet;
use std::hash::Hash;

/// One assignment, as evaluation sees it: to `subject`, direct `rights` plus `roles`, until
/// `expires_at` (exclusive) when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<S, R> {
    /// A user or a group.
    pub subject: S,
    /// Rights given directly.
    pub rights: RightSet,
    /// Roles given; their rights are looked up at evaluation time.
    pub roles: Vec<R>,
    /// When the assignment stops counting, if ever.
    pub expires_at: Option<Timestamp>,
}

impl<S, R> Assignment<S, R> {
    /// Whether the assignment still counts at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// The effective rights of a subject closure.
///
/// - `assignments`: every assignment at the target tenant and at each of its ancestors;
/// - `subjects`: the user and every group it belongs to, transitively;
/// - `role_rights`: the rights of a role, `None` for a role that no longer exists (ignored);
/// - `now`: assignments expiring at or before `now` are ignored.
pub fn effective_rights<'a, S, R>(
    assignments: impl IntoIterator<Item = &'a Assignment<S, R>>,
    subjects: &HashSet<S>,
    role_rights: impl Fn(&R) -> Option<RightSet>,
    now: Timestamp,
) -> RightSet
where
    S: Eq + Hash + 'a,
    R: 'a,
{
    let mut acc = RightSet::EMPTY;
    for a in assignments {
        if !a.is_live(now) || !subjects.contains(&a.subject) {
            continue;
        }
        acc = acc.union(a.rights);
        for r in &a.roles {
            if let Some(rs) = role_rights(r) {
                acc = acc.union(rs);
            }
        }
    }
    acc
}

/// The earliest expiry among the live assignments that reach `subjects`: the moment a cached
/// result of [`effective_rights`] stops being true.
pub fn next_expiry<'a, S, R>(
    assignments: impl IntoIterator<Item = &'a Assignment<S, R>>,
    subjects: &HashSet<S>,
    now: Timestamp,
) -> Option<Timestamp>
where
    S: Eq + Hash + 'a,
    R: 'a,
{
    assignments
        .into_iter()
        .filter(|a| a.is_live(now) && subjects.contains(&a.subject))
        .filter_map(|a| a.expires_at)
        .min()
}

/// A grant refused because it would hand out rights the granter does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot grant rights you do not hold: {}", list(.missing))]
pub struct Escalation {
    /// The (area, right) pairs the grant defines that the granter lacks.
    pub missing: Vec<(Area, Right)>,
}

fn list(missing: &[(Area, Right)]) -> String {
    missing
        .iter()
        .map(|(a, r)| format!("{a}:{r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The no-escalation rule: whoever holds `granter` (their effective rights at the scope) may put
/// `rights` and roles with `role_rights` into a role or an assignment only if they hold every
/// right those define — Allow or Deny alike, so nobody can deny others what they cannot use.
pub fn check_grant<'a>(
    granter: &RightSet,
    rights: &RightSet,
    role_rights: impl IntoIterator<Item = &'a RightSet>,
) -> Result<(), Escalation> {
    let mut all = *rights;
    for r in role_rights {
        all = all.union(*r);
    }
    let missing = all.not_covered_by(granter);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Escalation { missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::Permission;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn allow(a: Area, r: Right) -> RightSet {
        RightSet::from_entries([(a, r, Permission::Allow)])
    }
    fn deny(a: Area, r: Right) -> RightSet {
        RightSet::from_entries([(a, r, Permission::Deny)])
    }

    fn asg(subject: u32, rights: RightSet, roles: Vec<u32>) -> Assignment<u32, u32> {
        Assignment {
            subject,
            rights,
            roles,
            expires_at: None,
        }
    }

    #[test]
    fn user_group_and_role_rights_add_up_and_deny_wins() {
        let roles: HashMap<u32, RightSet> = [
            (100, allow(Area::Users, Right::Write)),
            (101, deny(Area::Users, Right::Read)),
        ]
        .into();
        let user = 1;
        let group = 2;
        let subjects: HashSet<u32> = [user, group].into();
        let a = [
            asg(user, allow(Area::Users, Right::Read), vec![]),
            asg(group, RightSet::EMPTY, vec![100]),
        ];
        let eff = effective_rights(&a, &subjects, |r| roles.get(r).copied(), Timestamp(0));
        assert!(eff.grants(Area::Users, Right::Read));
        assert!(eff.grants(Area::Users, Right::Write));
        assert!(!eff.grants(Area::Users, Right::Execute));

        let with_deny_role = [
            a[0].clone(),
            a[1].clone(),
            asg(group, RightSet::EMPTY, vec![101]),
        ];
        let eff = effective_rights(
            &with_deny_role,
            &subjects,
            |r| roles.get(r).copied(),
            Timestamp(0),
        );
        assert!(!eff.grants(Area::Users, Right::Read));
        assert!(eff.grants(Area::Users, Right::Write));
    }

    #[test]
    fn assignments_to_others_and_expired_ones_do_not_count() {
        let subjects: HashSet<u32> = [1].into();
        let mut expired = asg(1, allow(Area::Audit, Right::Read), vec![]);
        expired.expires_at = Some(Timestamp(10));
        let other = asg(2, allow(Area::Users, Right::Read), vec![]);
        let a = [expired.clone(), other];
        let eff = effective_rights(&a, &subjects, |_: &u32| None, Timestamp(10));
        assert!(eff.is_empty());
        let eff = effective_rights(&a, &subjects, |_: &u32| None, Timestamp(9));
        assert!(eff.grants(Area::Audit, Right::Read));
        assert_eq!(
            next_expiry(&a, &subjects, Timestamp(9)),
            Some(Timestamp(10))
        );
        assert_eq!(next_expiry(&a, &subjects, Timestamp(10)), None);
    }

    #[test]
    fn an_expired_deny_no_longer_denies() {
        let subjects: HashSet<u32> = [1].into();
        let mut d = asg(1, deny(Area::Users, Right::Read), vec![]);
        d.expires_at = Some(Timestamp(5));
        let a = [asg(1, allow(Area::Users, Right::Read), vec![]), d];
        assert!(
            !effective_rights(&a, &subjects, |_: &u32| None, Timestamp(4))
                .grants(Area::Users, Right::Read)
        );
        assert!(
            effective_rights(&a, &subjects, |_: &u32| None, Timestamp(5))
                .grants(Area::Users, Right::Read)
        );
    }

    #[test]
    fn a_deleted_role_gives_nothing() {
        let subjects: HashSet<u32> = [1].into();
        let a = [asg(1, RightSet::EMPTY, vec![7])];
        assert!(effective_rights(&a, &subjects, |_| None, Timestamp(0)).is_empty());
    }

    #[test]
    fn no_escalation() {
        let held = RightSet::allowing(&[Area::Users], &[Right::Read, Right::Write]);
        assert!(check_grant(&held, &allow(Area::Users, Right::Read), []).is_ok());
        assert!(check_grant(&held, &deny(Area::Users, Right::Write), []).is_ok());
        let err = check_grant(&held, &allow(Area::Users, Right::Execute), []).unwrap_err();
        assert_eq!(err.missing, vec![(Area::Users, Right::Execute)]);
        let role = deny(Area::Audit, Right::Read);
        let err = check_grant(&held, &RightSet::EMPTY, [&role]).unwrap_err();
        assert_eq!(err.missing, vec![(Area::Audit, Right::Read)]);
        // A right the granter holds but is also denied is not held.
        let denied_too = held.union(deny(Area::Users, Right::Read));
        assert!(check_grant(&denied_too, &allow(Area::Users, Right::Read), []).is_err());
    }

    fn arb_rs() -> impl Strategy<Value = RightSet> {
        proptest::collection::vec(
            (
                proptest::sample::select(Area::ALL.to_vec()),
                proptest::sample::select(Right::ALL.to_vec()),
                prop_oneof![3 => Just(Permission::Allow), 1 => Just(Permission::Deny)],
            ),
            0..8,
        )
        .prop_map(RightSet::from_entries)
    }

    proptest! {
        /// The evaluation equals the definition, right by right: granted iff some live
        /// assignment reaching a subject allows it (directly or through a role) and none denies it.
        #[test]
        fn evaluation_matches_definition(
            assignments in proptest::collection::vec(
                (0u32..6, arb_rs(), proptest::collection::vec(0u32..4, 0..3), proptest::option::of(0i64..20)),
                0..12),
            role_defs in proptest::collection::vec(arb_rs(), 4),
            subjects in proptest::collection::hash_set(0u32..6, 0..6),
            now in 0i64..20,
        ) {
            let a: Vec<Assignment<u32, u32>> = assignments.into_iter().map(|(s, rights, roles, exp)| Assignment {
                subject: s, rights, roles, expires_at: exp.map(Timestamp),
            }).collect();
            let role_rights = |r: &u32| role_defs.get(*r as usize).copied();
            let eff = effective_rights(&a, &subjects, role_rights, Timestamp(now));
            for area in Area::ALL {
                for right in Right::ALL {
                    let mut allowed = false;
                    let mut denied = false;
                    for x in &a {
                        if !subjects.contains(&x.subject) || x.expires_at.is_some_and(|t| t.0 <= now) { continue; }
                        let mut sets = vec![x.rights];
                        sets.extend(x.roles.iter().filter_map(role_rights));
                        for s in sets {
                            match s.get(area, right) {
                                Some(Permission::Allow) => allowed = true,
                                Some(Permission::Deny) => denied = true,
                                None => {}
                            }
                        }
                    }
                    prop_assert_eq!(eff.grants(area, right), allowed && !denied, "{}:{}", area, right);
                }
            }
        }

        /// Whatever passes the no-escalation check gives its holder nothing the granter lacks.
        #[test]
        fn granted_sets_stay_within_the_granter(held in arb_rs(), wanted in arb_rs(), role in arb_rs()) {
            if check_grant(&held, &wanted, [&role]).is_ok() {
                let given = wanted.union(role);
                for area in Area::ALL {
                    for right in Right::ALL {
                        if given.get(area, right).is_some() {
                            prop_assert!(held.grants(area, right));
                        }
                    }
                }
            }
        }
    }
}
