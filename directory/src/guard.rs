//! The no-escalation rule beyond roles and assignments: rights also move when someone joins or
//! leaves a group that holds assignments, and when someone takes over another account (resets
//! its password or TOTP, edits its keys, suspends or deletes it). Both are allowed only to an
//! actor who holds every right that would move. It decides with `tessera_policy::rbac`; it must
//! not write.

use crate::actor::{Actor, Principal};
use crate::error::Error;
use crate::model::{Assignment, GroupId, Role, Subject, TenantId, UserId};
use crate::store::keys;
use crate::store::{codec, KeyRange};
use crate::Directory;
use std::collections::BTreeSet;
use tessera_policy::rbac::{check_grant, Escalation};
use tessera_policy::RightSet;

impl Directory {
    /// The assignments held by any of `subjects`, with the scope each is at.
    fn assignments_held(&self, subjects: &[Subject]) -> Result<Vec<Assignment>, Error> {
        let store = self.store();
        let mut out = Vec::new();
        for s in subjects {
            let prefix = keys::assignments_of(s);
            for (k, _) in store.scan(&KeyRange::prefix(&prefix), usize::MAX, false)? {
                let (scope, id) = crate::service::rbac::assignment_index_entry(&prefix, &k)?;
                if let Some(e) = store.get(&keys::assignment(scope, id))? {
                    out.push(codec::decode::<Assignment>(&e.value)?);
                }
            }
        }
        Ok(out)
    }

    /// Whether `actor` may change who is in `group`: joining or leaving it moves the rights of
    /// every assignment held by the group and by every group above it, so the actor must hold
    /// all of them at their scopes.
    pub(crate) fn require_membership_change(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
    ) -> Result<(), Error> {
        if actor.is_system() {
            return Ok(());
        }
        let graph = self.cache().graph(self.store(), tenant)?;
        let mut groups: BTreeSet<GroupId> = graph.groups_of_group(group);
        groups.insert(group);
        let subjects: Vec<Subject> = groups
            .into_iter()
            .map(|id| Subject::Group { tenant, id })
            .collect();
        for a in self.assignments_held(&subjects)? {
            let mut role_rights = Vec::new();
            for r in &a.roles {
                if let Some(e) = self.store().get(&keys::role(a.scope, *r))? {
                    role_rights.push(codec::decode::<Role>(&e.value)?.rights);
                }
            }
            let held = self.rights(actor, a.scope)?.as_set();
            check_grant(&held, &a.rights, role_rights.iter())?;
        }
        Ok(())
    }

    /// Whether `actor` may act on the account of `user` (credentials, keys, status): only when
    /// it holds, wherever the user has rights, every right the user has there — a helpdesk
    /// operator must not take over a main administrator by resetting a password. Acting on
    /// one's own account is always allowed.
    pub(crate) fn require_covers_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(), Error> {
        if actor.is_system() || actor.principal == (Principal::User { tenant, user }) {
            return Ok(());
        }
        let graph = self.cache().graph(self.store(), tenant)?;
        let mut subjects = vec![Subject::User { tenant, id: user }];
        subjects.extend(
            graph
                .groups_of_user(user)
                .into_iter()
                .map(|id| Subject::Group { tenant, id }),
        );
        let scopes: BTreeSet<TenantId> = self
            .assignments_held(&subjects)?
            .into_iter()
            .map(|a| a.scope)
            .collect();
        for scope in scopes {
            let theirs: RightSet = self.user_rights(tenant, user, scope)?.granted();
            let mine = self.rights(actor, scope)?.as_set();
            let missing = theirs.not_covered_by(&mine);
            if !missing.is_empty() {
                return Err(Error::Escalation(Escalation { missing }));
            }
        }
        Ok(())
    }
}
