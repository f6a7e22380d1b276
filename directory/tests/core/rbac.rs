//! RBAC end to end on the store: effective rights over the tree (ancestors' assignments, groups
//! of groups, deny wins, undefined denies, expiry), no escalation, and role propagation with
//! locked copies, `~~N` names, edits flowing down, detaching and new descendants.

use crate::fixtures::{as_user, sys, Tree};
use tessera_directory::clock::Clock;
use tessera_directory::model::{Member, NewAssignment, NewRole, Role, RolePatch, Subject, User};
use tessera_directory::policy::{Area, Permission, Right, RightSet, TenantKind};
use tessera_directory::testkit::{new_group, new_tenant, new_user};
use tessera_directory::Error;

fn rs(entries: &[(Area, Right, Permission)]) -> RightSet {
    RightSet::from_entries(entries.iter().copied())
}

fn user_subject(u: &User) -> Subject {
    Subject::User {
        tenant: u.tenant,
        id: u.id,
    }
}

fn grant(
    tree: &Tree,
    scope: tessera_directory::model::TenantId,
    subject: Subject,
    rights: RightSet,
    roles: Vec<tessera_directory::model::RoleId>,
) {
    tree.dir()
        .rbac()
        .assign(
            &sys(),
            scope,
            NewAssignment {
                subject,
                rights,
                roles,
                expires_at: None,
            },
        )
        .unwrap();
}

fn role(tree: &Tree, tenant: tessera_directory::model::TenantId, name: &str) -> Role {
    tree.dir()
        .rbac()
        .role_by_name(&sys(), tenant, name)
        .unwrap()
}

#[test]
fn a_scoped_msp_role_reaches_its_customers_only() {
    let tree = Tree::new();
    let tech = tree.user_with_role(&tree.acme, "tech1", "Helpdesk Operator", &tree.acme);
    let d = tree.dir();
    let me = as_user(&tech);
    for t in [&tree.acme, &tree.contoso, &tree.fabrikam] {
        let r = d
            .rbac()
            .effective_rights(&me, tech.tenant, tech.id, t.id)
            .unwrap();
        assert!(r.grants(Area::Credentials, Right::Execute), "{}", t.slug);
        assert!(r.grants(Area::Users, Right::Read));
        assert!(!r.grants(Area::Users, Right::Write));
    }
    for t in [&tree.root, &tree.summit, &tree.globex] {
        assert_eq!(
            d.rbac().effective_rights(&me, tech.tenant, tech.id, t.id),
            Err(Error::NotFound),
            "{}",
            t.slug
        );
    }
}

#[test]
fn groups_of_groups_carry_assignments_and_deny_wins() {
    let tree = Tree::new();
    let d = tree.dir();
    let a = tree.acme.id;
    let tech = d.users().create(&sys(), a, new_user("tech")).unwrap();
    let outer = d
        .groups()
        .create(&sys(), a, new_group("technicians"))
        .unwrap();
    let inner = d.groups().create(&sys(), a, new_group("tier1")).unwrap();
    d.groups()
        .add_member(&sys(), a, outer.id, Member::Group(inner.id))
        .unwrap();
    d.groups()
        .add_member(&sys(), a, inner.id, Member::User(tech.id))
        .unwrap();
    // The outer group gets User Administrator at acme: tech holds it through tier1.
    grant(
        &tree,
        a,
        Subject::Group {
            tenant: a,
            id: outer.id,
        },
        RightSet::EMPTY,
        vec![role(&tree, a, "User Administrator").id],
    );
    let me = as_user(&tech);
    let on_contoso = |d: &tessera_directory::Directory| {
        d.rbac()
            .effective_rights(&me, a, tech.id, tree.contoso.id)
            .unwrap()
    };
    assert!(on_contoso(d).grants(Area::Users, Right::Write));
    // A deny at the customer scope, given to tech directly, wins over the allow from above.
    grant(
        &tree,
        tree.contoso.id,
        user_subject(&tech),
        rs(&[(Area::Users, Right::Write, Permission::Deny)]),
        vec![],
    );
    assert!(!on_contoso(d).grants(Area::Users, Right::Write));
    assert!(on_contoso(d).grants(Area::Users, Right::Read));
    let fab = d
        .rbac()
        .effective_rights(&me, a, tech.id, tree.fabrikam.id)
        .unwrap();
    assert!(fab.grants(Area::Users, Right::Write));
    // Undefined is denied: nothing gives Audit.
    assert!(!fab.grants(Area::Audit, Right::Read));
    // Leaving the group takes the rights away.
    d.groups()
        .remove_member(&sys(), a, inner.id, Member::User(tech.id))
        .unwrap();
    // With no right left on fabrikam, it is hidden again.
    assert_eq!(
        d.rbac().effective_rights(&me, a, tech.id, tree.fabrikam.id),
        Err(Error::NotFound)
    );
}

#[test]
fn expired_assignments_stop_counting() {
    let tree = Tree::new();
    let d = tree.dir();
    let u = d
        .users()
        .create(&sys(), tree.contoso.id, new_user("temp"))
        .unwrap();
    let until = tree.td.clock.now().plus_secs(3600);
    d.rbac()
        .assign(
            &sys(),
            tree.contoso.id,
            NewAssignment {
                subject: user_subject(&u),
                rights: rs(&[(Area::Users, Right::Read, Permission::Allow)]),
                roles: vec![],
                expires_at: Some(until),
            },
        )
        .unwrap();
    let me = as_user(&u);
    assert!(d
        .rbac()
        .effective_rights(&me, u.tenant, u.id, u.tenant)
        .unwrap()
        .grants(Area::Users, Right::Read));
    d.users().list(&me, u.tenant, &Default::default()).unwrap();
    tree.td.clock.advance_secs(3601);
    assert!(d
        .rbac()
        .effective_rights(&me, u.tenant, u.id, u.tenant)
        .unwrap()
        .is_empty());
    assert_eq!(
        d.users().list(&me, u.tenant, &Default::default()),
        Err(Error::NotFound)
    );
    let past = NewAssignment {
        subject: user_subject(&u),
        rights: rs(&[(Area::Users, Right::Read, Permission::Allow)]),
        roles: vec![],
        expires_at: Some(tree.td.clock.now()),
    };
    assert!(matches!(
        d.rbac().assign(&sys(), u.tenant, past),
        Err(Error::Invalid {
            field: "expires_at",
            ..
        })
    ));
}

#[test]
fn rights_follow_suspension_and_membership_at_once() {
    // Effective rights are remembered between calls; every change they depend on must show
    // on the very next call.
    let tree = Tree::new();
    let d = tree.dir();
    let t = tree.contoso.id;
    let u = d.users().create(&sys(), t, new_user("ops")).unwrap();
    let g = d.groups().create(&sys(), t, new_group("readers")).unwrap();
    d.rbac()
        .assign(
            &sys(),
            t,
            NewAssignment {
                subject: Subject::Group {
                    tenant: t,
                    id: g.id,
                },
                rights: rs(&[(Area::Users, Right::Read, Permission::Allow)]),
                roles: vec![],
                expires_at: None,
            },
        )
        .unwrap();
    let me = as_user(&u);
    let reads = || d.users().list(&me, t, &Default::default()).is_ok();
    assert!(!reads());
    d.groups()
        .add_member(&sys(), t, g.id, Member::User(u.id))
        .unwrap();
    assert!(reads() && reads());
    d.users().suspend(&sys(), t, u.id).unwrap();
    assert!(!reads());
    d.users().resume(&sys(), t, u.id).unwrap();
    assert!(reads());
    d.groups()
        .remove_member(&sys(), t, g.id, Member::User(u.id))
        .unwrap();
    assert!(!reads());
    d.groups()
        .add_member(&sys(), t, g.id, Member::User(u.id))
        .unwrap();
    assert!(reads());
    d.tenants().suspend(&sys(), t).unwrap();
    assert!(!reads());
    d.tenants().resume(&sys(), t).unwrap();
    assert!(reads());
    d.users().delete(&sys(), t, u.id).unwrap();
    assert!(!reads());
}

#[test]
fn nobody_grants_what_they_do_not_hold() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    // A security officer (rights and policies) who cannot touch credentials.
    let officer = tree.user_with_role(&tree.contoso, "officer", "Security Officer", &tree.contoso);
    let me = as_user(&officer);
    let victim = d.users().create(&sys(), c, new_user("victim")).unwrap();
    let held = rs(&[(Area::Users, Right::Read, Permission::Allow)]);
    d.rbac()
        .assign(
            &me,
            c,
            NewAssignment {
                subject: user_subject(&victim),
                rights: held,
                roles: vec![],
                expires_at: None,
            },
        )
        .unwrap();
    let more = rs(&[(Area::Credentials, Right::Execute, Permission::Allow)]);
    match d.rbac().assign(
        &me,
        c,
        NewAssignment {
            subject: user_subject(&victim),
            rights: more,
            roles: vec![],
            expires_at: None,
        },
    ) {
        Err(Error::Escalation(e)) => {
            assert_eq!(e.missing, vec![(Area::Credentials, Right::Execute)])
        }
        other => panic!("expected an escalation refusal, got {other:?}"),
    }
    // Nor through a role, nor by denying what they lack, nor in a role definition.
    let main = role(&tree, c, "Main Administrator");
    assert!(matches!(
        d.rbac().assign(
            &me,
            c,
            NewAssignment {
                subject: user_subject(&victim),
                rights: RightSet::EMPTY,
                roles: vec![main.id],
                expires_at: None
            }
        ),
        Err(Error::Escalation(_))
    ));
    let deny = rs(&[(Area::Credentials, Right::Execute, Permission::Deny)]);
    assert!(matches!(
        d.rbac().assign(
            &me,
            c,
            NewAssignment {
                subject: user_subject(&victim),
                rights: deny,
                roles: vec![],
                expires_at: None
            }
        ),
        Err(Error::Escalation(_))
    ));
    assert!(matches!(
        d.rbac().create_role(
            &me,
            c,
            NewRole {
                name: "x".into(),
                description: None,
                rights: more,
                propagate: false
            }
        ),
        Err(Error::Escalation(_))
    ));
    let ok = d
        .rbac()
        .create_role(
            &me,
            c,
            NewRole {
                name: "readers".into(),
                description: None,
                rights: held,
                propagate: false,
            },
        )
        .unwrap();
    assert!(matches!(
        d.rbac().update_role(
            &me,
            c,
            ok.id,
            RolePatch {
                rights: Some(held.union(more)),
                ..RolePatch::default()
            }
        ),
        Err(Error::Escalation(_))
    ));
    // An assignment with a right the officer lacks cannot be revoked by them either.
    let strong = d
        .rbac()
        .assign(
            &sys(),
            c,
            NewAssignment {
                subject: user_subject(&victim),
                rights: deny,
                roles: vec![],
                expires_at: None,
            },
        )
        .unwrap();
    assert!(matches!(
        d.rbac().revoke(&me, c, strong.id),
        Err(Error::Escalation(_))
    ));
    d.rbac().revoke(&sys(), c, strong.id).unwrap();
    // And an officer of contoso has no say at acme.
    assert_eq!(
        d.rbac().create_role(
            &me,
            tree.acme.id,
            NewRole {
                name: "y".into(),
                description: None,
                rights: held,
                propagate: false
            }
        ),
        Err(Error::NotFound)
    );
}

#[test]
fn assignments_are_checked() {
    let tree = Tree::new();
    let d = tree.dir();
    let fab_user = d
        .users()
        .create(&sys(), tree.fabrikam.id, new_user("f"))
        .unwrap();
    let acme_user = d
        .users()
        .create(&sys(), tree.acme.id, new_user("a"))
        .unwrap();
    let read = rs(&[(Area::Users, Right::Read, Permission::Allow)]);
    // A subject from a sibling (not the scope or above) is refused; one from above is fine.
    assert!(matches!(
        d.rbac().assign(
            &sys(),
            tree.contoso.id,
            NewAssignment {
                subject: user_subject(&fab_user),
                rights: read,
                roles: vec![],
                expires_at: None
            }
        ),
        Err(Error::Invalid {
            field: "subject",
            ..
        })
    ));
    d.rbac()
        .assign(
            &sys(),
            tree.contoso.id,
            NewAssignment {
                subject: user_subject(&acme_user),
                rights: read,
                roles: vec![],
                expires_at: None,
            },
        )
        .unwrap();
    // A role must be one the scope holds.
    let local = d
        .rbac()
        .create_role(
            &sys(),
            tree.fabrikam.id,
            NewRole {
                name: "local".into(),
                description: None,
                rights: read,
                propagate: false,
            },
        )
        .unwrap();
    assert_eq!(
        d.rbac().assign(
            &sys(),
            tree.contoso.id,
            NewAssignment {
                subject: user_subject(&acme_user),
                rights: RightSet::EMPTY,
                roles: vec![local.id],
                expires_at: None
            }
        ),
        Err(Error::NotFound)
    );
    assert!(matches!(
        d.rbac().assign(
            &sys(),
            tree.contoso.id,
            NewAssignment {
                subject: user_subject(&acme_user),
                rights: RightSet::EMPTY,
                roles: vec![],
                expires_at: None
            }
        ),
        Err(Error::Invalid { .. })
    ));
    // Deleting the user drops its assignments.
    d.users()
        .delete(&sys(), tree.acme.id, acme_user.id)
        .unwrap();
    assert!(d
        .rbac()
        .list_assignments(&sys(), tree.contoso.id)
        .unwrap()
        .is_empty());
    let r = d.check_integrity().unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn predefined_roles_are_everywhere_and_locked() {
    let tree = Tree::new();
    let d = tree.dir();
    for t in [&tree.root, &tree.acme, &tree.contoso, &tree.globex] {
        let roles = d.rbac().list_roles(&sys(), t.id).unwrap();
        assert_eq!(roles.len(), 10, "{}", t.slug);
    }
    let main_root = role(&tree, tree.root.id, "Main Administrator");
    assert!(main_root.builtin && main_root.source.is_none());
    assert_eq!(
        d.rbac().update_role(
            &sys(),
            tree.root.id,
            main_root.id,
            RolePatch {
                name: Some("Boss".into()),
                ..RolePatch::default()
            }
        ),
        Err(Error::Locked)
    );
    assert_eq!(
        d.rbac().delete_role(&sys(), tree.root.id, main_root.id),
        Err(Error::Locked)
    );
    let copy = role(&tree, tree.contoso.id, "Main Administrator");
    assert_eq!(copy.source.map(|s| s.role), Some(main_root.id));
    assert_eq!(
        d.rbac().update_role(
            &sys(),
            tree.contoso.id,
            copy.id,
            RolePatch {
                rights: Some(RightSet::EMPTY),
                ..RolePatch::default()
            }
        ),
        Err(Error::Locked)
    );
    assert_eq!(
        d.rbac().delete_role(&sys(), tree.contoso.id, copy.id),
        Err(Error::Locked)
    );
}

#[test]
fn propagation_copies_renames_on_clash_flows_edits_and_detaches() {
    let tree = Tree::new();
    let d = tree.dir();
    let read = rs(&[(Area::Users, Right::Read, Permission::Allow)]);
    let write = read.union(rs(&[(Area::Users, Right::Write, Permission::Allow)]));
    // fabrikam already has a local "Ops".
    d.rbac()
        .create_role(
            &sys(),
            tree.fabrikam.id,
            NewRole {
                name: "ops".into(),
                description: None,
                rights: read,
                propagate: false,
            },
        )
        .unwrap();
    let src = d
        .rbac()
        .create_role(
            &sys(),
            tree.acme.id,
            NewRole {
                name: "Ops".into(),
                description: None,
                rights: read,
                propagate: true,
            },
        )
        .unwrap();
    let c_copy = role(&tree, tree.contoso.id, "Ops");
    assert_eq!(c_copy.source.map(|s| s.role), Some(src.id));
    let f_copy = role(&tree, tree.fabrikam.id, "Ops~~1");
    assert!(f_copy.is_locked());
    assert_eq!(
        d.rbac().role_by_name(&sys(), tree.globex.id, "Ops"),
        Err(Error::NotFound)
    );
    // Edits flow down (rights and name).
    d.rbac()
        .update_role(
            &sys(),
            tree.acme.id,
            src.id,
            RolePatch {
                rights: Some(write),
                name: Some("Operators".into()),
                ..RolePatch::default()
            },
        )
        .unwrap();
    let c_copy = d
        .rbac()
        .get_role(&sys(), tree.contoso.id, c_copy.id)
        .unwrap();
    assert_eq!((c_copy.name.as_str(), c_copy.rights), ("Operators", write));
    assert_eq!(
        d.rbac()
            .get_role(&sys(), tree.fabrikam.id, f_copy.id)
            .unwrap()
            .name,
        "Operators"
    );
    // A customer admin uses the copy in an assignment and it gives the new rights.
    let u = d
        .users()
        .create(&sys(), tree.contoso.id, new_user("op"))
        .unwrap();
    grant(
        &tree,
        tree.contoso.id,
        user_subject(&u),
        RightSet::EMPTY,
        vec![c_copy.id],
    );
    assert!(d
        .rbac()
        .effective_rights(&as_user(&u), u.tenant, u.id, u.tenant)
        .unwrap()
        .grants(Area::Users, Right::Write));
    // New tenants receive it.
    let newco = d
        .tenants()
        .create(
            &sys(),
            tree.acme.id,
            new_tenant("newco", TenantKind::Customer),
        )
        .unwrap();
    assert!(role(&tree, newco.id, "Operators").is_locked());
    // Switching propagation off leaves unlocked, independent copies in place.
    d.rbac()
        .update_role(
            &sys(),
            tree.acme.id,
            src.id,
            RolePatch {
                propagate: Some(false),
                ..RolePatch::default()
            },
        )
        .unwrap();
    let c_copy = d
        .rbac()
        .get_role(&sys(), tree.contoso.id, c_copy.id)
        .unwrap();
    assert!(!c_copy.is_locked());
    assert_eq!(c_copy.rights, write);
    d.rbac()
        .update_role(
            &sys(),
            tree.contoso.id,
            c_copy.id,
            RolePatch {
                rights: Some(read),
                ..RolePatch::default()
            },
        )
        .unwrap();
    // Switching it on again makes fresh copies beside the now independent ones.
    d.rbac()
        .update_role(
            &sys(),
            tree.acme.id,
            src.id,
            RolePatch {
                propagate: Some(true),
                ..RolePatch::default()
            },
        )
        .unwrap();
    assert_eq!(
        role(&tree, tree.contoso.id, "Operators~~1")
            .source
            .map(|s| s.role),
        Some(src.id)
    );
    // Deleting the source detaches its copies; the assignment keeps working.
    d.rbac().delete_role(&sys(), tree.acme.id, src.id).unwrap();
    assert!(!role(&tree, tree.contoso.id, "Operators~~1").is_locked());
    assert!(d
        .rbac()
        .effective_rights(&as_user(&u), u.tenant, u.id, u.tenant)
        .unwrap()
        .grants(Area::Users, Right::Read));
    let r = d.check_integrity().unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn deleting_a_role_removes_it_from_assignments() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let read = rs(&[(Area::Groups, Right::Read, Permission::Allow)]);
    let r = d
        .rbac()
        .create_role(
            &sys(),
            c,
            NewRole {
                name: "g-readers".into(),
                description: None,
                rights: read,
                propagate: false,
            },
        )
        .unwrap();
    let u = d.users().create(&sys(), c, new_user("u")).unwrap();
    grant(
        &tree,
        c,
        user_subject(&u),
        rs(&[(Area::Users, Right::Read, Permission::Allow)]),
        vec![r.id],
    );
    assert!(d
        .rbac()
        .effective_rights(&sys(), c, u.id, c)
        .unwrap()
        .grants(Area::Groups, Right::Read));
    d.rbac().delete_role(&sys(), c, r.id).unwrap();
    let a = d.rbac().list_assignments(&sys(), c).unwrap();
    assert_eq!(a.len(), 1);
    assert!(a[0].roles.is_empty());
    assert!(!d
        .rbac()
        .effective_rights(&sys(), c, u.id, c)
        .unwrap()
        .grants(Area::Groups, Right::Read));
    assert_eq!(
        d.rbac()
            .assignments_of(&sys(), user_subject(&u))
            .unwrap()
            .len(),
        1
    );
}

mod model {
    //! Effective rights on the real store against a brute-force model: random group nesting,
    //! random assignments at the tenant and its ancestors (users and groups, allow and deny,
    //! live and expired), evaluated on every tenant of the tree.

    use crate::fixtures::{sys, Tree};
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use tessera_directory::clock::Clock;
    use tessera_directory::model::{Member, NewAssignment, Subject};
    use tessera_directory::policy::{Area, Permission, Right, RightSet};
    use tessera_directory::testkit::{new_group, new_user};

    #[derive(Debug, Clone)]
    struct Grant {
        to_group: Option<usize>, // None: the user
        at_customer: bool,       // contoso, else acme
        area: usize,
        right: usize,
        deny: bool,
        expired: bool,
    }

    fn grant() -> impl Strategy<Value = Grant> {
        (
            proptest::option::of(0usize..4),
            any::<bool>(),
            0usize..3,
            0usize..3,
            proptest::bool::weighted(0.25),
            proptest::bool::weighted(0.2),
        )
            .prop_map(
                |(to_group, at_customer, area, right, deny, expired)| Grant {
                    to_group,
                    at_customer,
                    area,
                    right,
                    deny,
                    expired,
                },
            )
    }

    const AREAS: [Area; 3] = [Area::Users, Area::Groups, Area::Audit];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn store_evaluation_matches_the_definition(
            // group i may contain group j only for j > i: acyclic by construction
            nesting in proptest::collection::vec((0usize..4, 0usize..4), 0..6),
            direct in proptest::collection::btree_set(0usize..4, 0..3),
            grants in proptest::collection::vec(grant(), 1..8),
        ) {
            let tree = Tree::new();
            let d = tree.dir();
            let a = tree.acme.id;
            let user = d.users().create(&sys(), a, new_user("u")).unwrap();
            let groups: Vec<_> = (0..4).map(|i| d.groups().create(&sys(), a, new_group(&format!("g{i}"))).unwrap()).collect();
            let mut edges = BTreeSet::new();
            for (i, j) in nesting {
                if i < j && edges.insert((i, j)) {
                    d.groups().add_member(&sys(), a, groups[i].id, Member::Group(groups[j].id)).unwrap();
                }
            }
            for &g in &direct {
                d.groups().add_member(&sys(), a, groups[g].id, Member::User(user.id)).unwrap();
            }
            let now = tree.td.clock.now();
            for g in &grants {
                let subject = match g.to_group {
                    Some(i) => Subject::Group { tenant: a, id: groups[i].id },
                    None => Subject::User { tenant: a, id: user.id },
                };
                let perm = if g.deny { Permission::Deny } else { Permission::Allow };
                let scope = if g.at_customer { tree.contoso.id } else { a };
                d.rbac().assign(&sys(), scope, NewAssignment {
                    subject,
                    rights: RightSet::from_entries([(AREAS[g.area], Right::ALL[g.right], perm)]),
                    roles: vec![],
                    expires_at: Some(now.plus_secs(if g.expired { 60 } else { 7200 })),
                }).unwrap();
            }
            tree.td.clock.advance_secs(120);
            // Brute force: the user's groups are those from which a direct group is reachable
            // downwards (container -> member edges).
            let mut mine: BTreeSet<usize> = direct.clone();
            loop {
                let more: BTreeSet<usize> = edges.iter().filter(|(_, j)| mine.contains(j)).map(|(i, _)| *i).collect();
                if more.is_subset(&mine) { break; }
                mine.extend(more);
            }
            let reaches = |g: &Grant| g.to_group.is_none_or(|i| mine.contains(&i)) && !g.expired;
            // acme-scope grants cover acme and both its customers; contoso-scope ones contoso.
            let cases = [
                (tree.acme.id, [false].as_slice()),
                (tree.contoso.id, [false, true].as_slice()),
                (tree.fabrikam.id, [false].as_slice()),
            ];
            for (tenant, scopes_in_chain) in cases {
                let eff = d.rbac().effective_rights(&sys(), a, user.id, tenant).unwrap();
                for (ai, area) in AREAS.iter().enumerate() {
                    for (ri, right) in Right::ALL.iter().enumerate() {
                        let relevant: Vec<&Grant> = grants.iter()
                            .filter(|g| g.area == ai && g.right == ri && reaches(g) && scopes_in_chain.contains(&g.at_customer))
                            .collect();
                        let expected = relevant.iter().any(|g| !g.deny) && !relevant.iter().any(|g| g.deny);
                        prop_assert_eq!(eff.grants(*area, *right), expected, "{}:{} on {}", area, right, tenant);
                    }
                }
            }
            // Nothing reaches above acme or beside it.
            for t in [tree.root.id, tree.summit.id, tree.globex.id] {
                let eff = d.rbac().effective_rights(&sys(), a, user.id, t).unwrap();
                prop_assert!(eff.is_empty());
            }
        }
    }
}

mod escalation_through_accounts {
    //! Rights move not only through roles and assignments: joining or leaving a group that
    //! holds assignments moves them, and so does taking over another account. Both need the
    //! actor to hold every right that would move.

    use crate::fixtures::{as_user, sys, Tree};
    use tessera_directory::model::{Member, NewAssignment, NewUser, Subject, UserPatch};
    use tessera_directory::policy::{Area, Permission, Right, RightSet};
    use tessera_directory::testkit::{new_group, new_user};
    use tessera_directory::Error;

    fn escalation(r: Result<impl std::fmt::Debug, Error>) {
        assert!(
            matches!(r, Err(Error::Escalation(_))),
            "expected an escalation refusal, got {r:?}"
        );
    }

    #[test]
    fn joining_a_powerful_group_needs_its_rights() {
        let tree = Tree::new();
        let d = tree.dir();
        let c = tree.contoso.id;
        let bob = tree.user_with_role(&tree.contoso, "bob", "User Administrator", &tree.contoso);
        let supers = d
            .groups()
            .create(&sys(), c, new_group("superusers"))
            .unwrap();
        let main = d
            .rbac()
            .role_by_name(&sys(), c, "Main Administrator")
            .unwrap();
        d.rbac()
            .assign(
                &sys(),
                c,
                NewAssignment {
                    subject: Subject::Group {
                        tenant: c,
                        id: supers.id,
                    },
                    rights: RightSet::EMPTY,
                    roles: vec![main.id],
                    expires_at: None,
                },
            )
            .unwrap();
        // bob manages users and groups, yet cannot put himself (or anyone) into superusers…
        escalation(
            d.groups()
                .add_member(&as_user(&bob), c, supers.id, Member::User(bob.id)),
        );
        escalation(d.users().create(
            &as_user(&bob),
            c,
            NewUser {
                groups: vec![supers.id],
                ..new_user("x1")
            },
        ));
        // …nor through a group nested inside it.
        let inner = d
            .groups()
            .create(&as_user(&bob), c, new_group("inner"))
            .unwrap();
        escalation(
            d.groups()
                .add_member(&as_user(&bob), c, supers.id, Member::Group(inner.id)),
        );
        d.groups()
            .add_member(&sys(), c, supers.id, Member::Group(inner.id))
            .unwrap();
        escalation(
            d.groups()
                .add_member(&as_user(&bob), c, inner.id, Member::User(bob.id)),
        );
        // A group without assignments is his to manage.
        let plain = d
            .groups()
            .create(&as_user(&bob), c, new_group("plain"))
            .unwrap();
        d.groups()
            .add_member(&as_user(&bob), c, plain.id, Member::User(bob.id))
            .unwrap();
        assert!(!d
            .rbac()
            .effective_rights(&as_user(&bob), c, bob.id, c)
            .unwrap()
            .grants(Area::Audit, Right::Read));
    }

    #[test]
    fn leaving_a_group_that_denies_needs_the_denied_rights() {
        let tree = Tree::new();
        let d = tree.dir();
        let c = tree.contoso.id;
        let bob = tree.user_with_role(&tree.contoso, "bob", "User Administrator", &tree.contoso);
        let muted = d.groups().create(&sys(), c, new_group("no-audit")).unwrap();
        let deny = RightSet::from_entries([(Area::Audit, Right::Read, Permission::Deny)]);
        d.rbac()
            .assign(
                &sys(),
                c,
                NewAssignment {
                    subject: Subject::Group {
                        tenant: c,
                        id: muted.id,
                    },
                    rights: deny,
                    roles: vec![],
                    expires_at: None,
                },
            )
            .unwrap();
        let carl = d
            .users()
            .create(
                &sys(),
                c,
                NewUser {
                    groups: vec![muted.id],
                    ..new_user("carl")
                },
            )
            .unwrap();
        escalation(
            d.groups()
                .remove_member(&as_user(&bob), c, muted.id, Member::User(carl.id)),
        );
        escalation(d.groups().delete(&as_user(&bob), c, muted.id));
    }

    #[test]
    fn nobody_takes_over_an_account_with_more_rights() {
        let tree = Tree::new();
        let d = tree.dir();
        let a = tree.acme.id;
        let tech = tree.user_with_role(&tree.acme, "tech1", "Helpdesk Operator", &tree.acme);
        let boss = tree.user_with_role(&tree.acme, "acme-admin", "Main Administrator", &tree.acme);
        let me = as_user(&tech);
        escalation(
            d.credentials()
                .set_password(&me, a, boss.id, "Takeover-By-Helpdesk-77", false),
        );
        escalation(d.credentials().unlock(&me, a, boss.id));
        escalation(d.credentials().enroll_totp(&me, a, boss.id));
        // A User Administrator may not suspend, edit, or delete the boss either.
        let uadmin = tree.user_with_role(&tree.acme, "uadmin", "User Administrator", &tree.acme);
        escalation(d.users().suspend(&as_user(&uadmin), a, boss.id));
        escalation(d.users().update(
            &as_user(&uadmin),
            a,
            boss.id,
            UserPatch {
                ssh_keys: Some(vec![]),
                ..UserPatch::default()
            },
        ));
        escalation(d.users().delete(&as_user(&uadmin), a, boss.id));
        // The helpdesk still resets the password of users without rights in its customers, and
        // the boss resets the helpdesk's.
        let alice = d
            .users()
            .create(&sys(), tree.contoso.id, new_user("alice"))
            .unwrap();
        d.credentials()
            .set_password(&me, tree.contoso.id, alice.id, "Helpdesk-Reset-2026", true)
            .unwrap();
        d.credentials()
            .set_password(&as_user(&boss), a, tech.id, "Boss-Reset-2026!!", true)
            .unwrap();
    }
}
