//! The wire values of group member lists — `member` DNs and `memberUid`s — made once per member
//! list the directory hands out and shared by every search that shows that group until the
//! directory makes a new list (a membership change or a rename). It only formats: who may see a
//! group's members is decided before it is asked.

use crate::dn::Dit;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tessera_directory::model::{GroupId, Member, NamedMember};

/// How many groups' values are kept; past it the memo starts again (a bound, not a policy).
const MAX_GROUPS: usize = 4096;

/// One group's member values.
#[derive(Debug)]
pub(crate) struct MemberValues {
    /// `member`: the DNs of the member users and groups.
    pub(crate) dns: Arc<[String]>,
    /// `memberUid`: the usernames of the member users.
    pub(crate) uids: Arc<[String]>,
}

#[derive(Debug)]
struct Kept {
    /// The list the values were made from: the directory returns this same list until it
    /// changes, and holding it here keeps its address from being reused meanwhile.
    list: Arc<[NamedMember]>,
    slug: String,
    values: Arc<MemberValues>,
}

/// The memo, shared by a server's connections.
#[derive(Debug, Default)]
pub(crate) struct MemberMemo {
    kept: Mutex<HashMap<(GroupId, bool), Kept>>,
}

impl MemberMemo {
    fn lock(&self) -> MutexGuard<'_, HashMap<(GroupId, bool), Kept>> {
        // A panic elsewhere cannot leave a half-made entry: entries are inserted whole.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The values of `list`, the members (direct, or `transitive`) of `group` in the tenant
    /// `slug`.
    pub(crate) fn values(
        &self,
        dit: &Dit,
        slug: &str,
        group: GroupId,
        transitive: bool,
        list: &Arc<[NamedMember]>,
    ) -> Arc<MemberValues> {
        let key = (group, transitive);
        if let Some(k) = self.lock().get(&key) {
            if Arc::ptr_eq(&k.list, list) && k.slug == slug {
                return k.values.clone();
            }
        }
        let values = Arc::new(MemberValues {
            dns: list
                .iter()
                .map(|x| match x.member {
                    Member::User(_) => dit.user_dn(slug, &x.name),
                    Member::Group(_) => dit.group_dn(slug, &x.name),
                })
                .collect(),
            uids: list
                .iter()
                .filter(|x| matches!(x.member, Member::User(_)))
                .map(|x| x.name.clone())
                .collect(),
        });
        let mut kept = self.lock();
        if kept.len() >= MAX_GROUPS && !kept.contains_key(&key) {
            kept.clear();
        }
        kept.insert(
            key,
            Kept {
                list: list.clone(),
                slug: slug.to_owned(),
                values: values.clone(),
            },
        );
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::model::UserId;
    use uuid::Uuid;

    fn list(names: &[(&str, bool)]) -> Arc<[NamedMember]> {
        names
            .iter()
            .enumerate()
            .map(|(i, (n, user))| NamedMember {
                member: if *user {
                    Member::User(UserId::from_uuid(Uuid::from_u128(i as u128)))
                } else {
                    Member::Group(GroupId::from_uuid(Uuid::from_u128(i as u128)))
                },
                name: n.to_string(),
            })
            .collect()
    }

    #[test]
    fn values_follow_the_list_they_were_made_from() {
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        let memo = MemberMemo::default();
        let g = GroupId::from_uuid(Uuid::from_u128(7));
        let a = list(&[("alice", true), ("ops", false), ("bob", true)]);
        let v = memo.values(&dit, "contoso", g, false, &a);
        assert_eq!(
            &*v.dns,
            [
                "uid=alice,ou=Users,o=contoso,dc=tessera,dc=local",
                "cn=ops,ou=Groups,o=contoso,dc=tessera,dc=local",
                "uid=bob,ou=Users,o=contoso,dc=tessera,dc=local",
            ]
        );
        assert_eq!(&*v.uids, ["alice", "bob"]);
        // The same list: the same values, not made again.
        assert!(Arc::ptr_eq(&v, &memo.values(&dit, "contoso", g, false, &a)));
        // A new list (even with equal contents), another tenant slug, or the transitive list:
        // made from what is given.
        let b = list(&[("alice", true)]);
        assert_eq!(&*memo.values(&dit, "contoso", g, false, &b).uids, ["alice"]);
        let renamed = memo.values(&dit, "contoso-ltd", g, false, &b);
        assert_eq!(
            &*renamed.dns,
            ["uid=alice,ou=Users,o=contoso-ltd,dc=tessera,dc=local"]
        );
        assert_eq!(memo.values(&dit, "contoso-ltd", g, true, &a).uids.len(), 2);
    }

    #[test]
    fn the_memo_is_bounded() {
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        let memo = MemberMemo::default();
        let a = list(&[("alice", true)]);
        for i in 0..(MAX_GROUPS as u128 + 10) {
            memo.values(&dit, "t", GroupId::from_uuid(Uuid::from_u128(i)), false, &a);
        }
        assert!(memo.lock().len() <= MAX_GROUPS);
    }
}
