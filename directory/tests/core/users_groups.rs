//! Users and groups: unique case-insensitive names and e-mail, POSIX number allocation (at
//! creation and when an existing user becomes a POSIX account or is re-numbered), batch
//! creation as one transaction, pagination, nested groups with cycle refusal and transitive
//! closures, and cleanup of memberships on delete.

use crate::fixtures::{as_user, sys, Tree};
use tessera_directory::model::{
    AuditQuery, GroupAttributes, GroupPatch, ListQuery, Member, NewGroup, NewPosix, NewUser,
    RadiusAttributes, Status, UserPatch,
};
use tessera_directory::testkit::{new_group, new_user};
use tessera_directory::Error;

fn integrity_ok(tree: &Tree) {
    let r = tree.dir().check_integrity().unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn usernames_and_emails_are_unique_case_insensitively_per_tenant() {
    let tree = Tree::new();
    let u = tree.dir().users();
    let c = tree.contoso.id;
    u.create(
        &sys(),
        c,
        NewUser {
            email: Some("Alice@Contoso.com".into()),
            ..new_user("Alice")
        },
    )
    .unwrap();
    assert_eq!(
        u.create(&sys(), c, new_user("alice")),
        Err(Error::AlreadyExists { what: "username" })
    );
    assert_eq!(
        u.create(
            &sys(),
            c,
            NewUser {
                email: Some("alice@contoso.COM".into()),
                ..new_user("alice2")
            }
        ),
        Err(Error::AlreadyExists { what: "email" })
    );
    // Another tenant may use the same names.
    u.create(
        &sys(),
        tree.fabrikam.id,
        NewUser {
            email: Some("alice@contoso.com".into()),
            ..new_user("alice")
        },
    )
    .unwrap();
    assert_eq!(u.by_username(&sys(), c, "ALICE").unwrap().username, "Alice");
    assert_eq!(
        u.by_email(&sys(), c, "alice@contoso.com").unwrap().username,
        "Alice"
    );
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let tree = Tree::new();
    let u = tree.dir().users();
    let c = tree.contoso.id;
    let field = |r: Result<_, Error>| match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(field(u.create(&sys(), c, new_user("a b"))), "username");
    assert_eq!(
        field(u.create(
            &sys(),
            c,
            NewUser {
                email: Some("nope".into()),
                ..new_user("a")
            }
        )),
        "email"
    );
    assert_eq!(
        field(u.create(
            &sys(),
            c,
            NewUser {
                ssh_keys: vec!["ssh-rsa AAAA".into()],
                ..new_user("a")
            }
        )),
        "ssh_keys"
    );
    let root_uid = NewUser {
        posix: Some(NewPosix {
            uid_number: Some(0),
            ..NewPosix::default()
        }),
        ..new_user("a")
    };
    assert_eq!(field(u.create(&sys(), c, root_uid)), "uid_number");
    let mut custom = std::collections::BTreeMap::new();
    custom.insert("memberOf".to_string(), vec!["cn=admins".to_string()]);
    assert_eq!(
        field(u.create(
            &sys(),
            c,
            NewUser {
                custom,
                ..new_user("a")
            }
        )),
        "custom"
    );
    assert_eq!(
        tree.dir()
            .users()
            .list(&sys(), c, &ListQuery::default())
            .unwrap()
            .items
            .len(),
        0
    );
}

#[test]
fn posix_numbers_come_from_one_counter_per_tenant() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let posix = |name: &str| NewUser {
        posix: Some(NewPosix::default()),
        ..new_user(name)
    };
    let a = d
        .users()
        .create(&sys(), c, posix("a"))
        .unwrap()
        .posix
        .unwrap();
    assert_eq!(
        (
            a.uid_number,
            a.gid_number,
            a.home.as_str(),
            a.shell.as_str()
        ),
        (10000, 10000, "/home/a", "/bin/bash")
    );
    let g = d.groups().create(&sys(), c, new_group("staff")).unwrap();
    assert_eq!(g.gid_number, 10001);
    // An explicit number is taken as is, and the counter skips it later.
    let fixed = NewUser {
        posix: Some(NewPosix {
            uid_number: Some(10002),
            ..NewPosix::default()
        }),
        ..new_user("fixed")
    };
    d.users().create(&sys(), c, fixed).unwrap();
    assert_eq!(
        d.users()
            .create(&sys(), c, posix("b"))
            .unwrap()
            .posix
            .unwrap()
            .uid_number,
        10003
    );
    let dup = NewUser {
        posix: Some(NewPosix {
            uid_number: Some(10000),
            ..NewPosix::default()
        }),
        ..new_user("dup")
    };
    assert_eq!(
        d.users().create(&sys(), c, dup),
        Err(Error::AlreadyExists { what: "uid_number" })
    );
    // Each tenant counts on its own.
    assert_eq!(
        d.users()
            .create(&sys(), tree.fabrikam.id, posix("a"))
            .unwrap()
            .posix
            .unwrap()
            .uid_number,
        10000
    );
    // A user without POSIX attributes takes no number.
    assert!(d
        .users()
        .create(&sys(), c, new_user("plain"))
        .unwrap()
        .posix
        .is_none());
    integrity_ok(&tree);
}

#[test]
fn an_existing_user_becomes_a_posix_account_and_is_renumbered() {
    let tree = Tree::new();
    let d = tree.dir();
    let u = d.users();
    let c = tree.contoso.id;
    let admin = tree.user_with_role(&tree.contoso, "admin", "User Administrator", &tree.contoso);
    let reader = tree.user_with_role(&tree.contoso, "reader", "Directory Reader", &tree.contoso);
    let admin = as_user(&admin);
    let make_posix = UserPatch {
        make_posix: true,
        ..UserPatch::default()
    };
    let alice = u.create(&sys(), c, new_user("alice")).unwrap();
    let bob = u.create(&sys(), c, new_user("bob")).unwrap();
    let carol = u.create(&sys(), c, new_user("carol")).unwrap();
    // Authorised like any other change.
    assert!(matches!(
        u.update(&as_user(&reader), c, alice.id, make_posix.clone()),
        Err(Error::Forbidden | Error::NotFound)
    ));
    assert!(u.get(&sys(), c, alice.id).unwrap().posix.is_none());
    // Allocated from the tenant's counter, with the defaults of creation.
    let p = u
        .update(&admin, c, alice.id, make_posix.clone())
        .unwrap()
        .posix
        .unwrap();
    assert_eq!(
        (
            p.uid_number,
            p.gid_number,
            p.home.as_str(),
            p.shell.as_str()
        ),
        (10000, 10000, "/home/alice", "/bin/bash")
    );
    assert_eq!(u.by_uid_number(&sys(), c, 10000).unwrap().id, alice.id);
    // Making a POSIX user POSIX again changes nothing.
    let again = u.update(&admin, c, alice.id, make_posix.clone()).unwrap();
    assert_eq!(again.posix.unwrap().uid_number, 10000);
    // A fixed number (a uid_number alone is enough), with the other attributes given.
    let p = u
        .update(
            &admin,
            c,
            bob.id,
            UserPatch {
                uid_number: Some(20000),
                gid_number: Some(5000),
                home: Some("/srv/bob".into()),
                shell: Some("/bin/zsh".into()),
                ..UserPatch::default()
            },
        )
        .unwrap()
        .posix
        .unwrap();
    assert_eq!(
        (
            p.uid_number,
            p.gid_number,
            p.home.as_str(),
            p.shell.as_str()
        ),
        (20000, 5000, "/srv/bob", "/bin/zsh")
    );
    // A taken number is refused, and nothing changes.
    let dup = UserPatch {
        uid_number: Some(10000),
        ..make_posix.clone()
    };
    assert_eq!(
        u.update(&admin, c, carol.id, dup),
        Err(Error::AlreadyExists { what: "uid_number" })
    );
    assert!(u.get(&sys(), c, carol.id).unwrap().posix.is_none());
    assert!(matches!(
        u.update(
            &admin,
            c,
            carol.id,
            UserPatch {
                uid_number: Some(999),
                ..UserPatch::default()
            }
        ),
        Err(Error::Invalid { .. })
    ));
    // Re-numbering: the own-number gidNumber follows, the old number is free and unknown.
    let p = u
        .update(
            &admin,
            c,
            alice.id,
            UserPatch {
                uid_number: Some(10500),
                ..UserPatch::default()
            },
        )
        .unwrap()
        .posix
        .unwrap();
    assert_eq!((p.uid_number, p.gid_number), (10500, 10500));
    assert_eq!(u.by_uid_number(&sys(), c, 10500).unwrap().id, alice.id);
    assert_eq!(u.by_uid_number(&sys(), c, 10000), Err(Error::NotFound));
    assert_eq!(
        u.update(
            &admin,
            c,
            alice.id,
            UserPatch {
                uid_number: Some(20000),
                ..UserPatch::default()
            }
        ),
        Err(Error::AlreadyExists { what: "uid_number" })
    );
    // A gidNumber of its own choosing stays when bob is re-numbered.
    let p = u
        .update(
            &admin,
            c,
            bob.id,
            UserPatch {
                uid_number: Some(10000),
                ..UserPatch::default()
            },
        )
        .unwrap()
        .posix
        .unwrap();
    assert_eq!((p.uid_number, p.gid_number), (10000, 5000));
    assert_eq!(u.by_uid_number(&sys(), c, 10000).unwrap().id, bob.id);
    assert_eq!(u.by_uid_number(&sys(), c, 20000), Err(Error::NotFound));
    // The counter carries on past the numbers in use.
    let p = u
        .update(&admin, c, carol.id, make_posix)
        .unwrap()
        .posix
        .unwrap();
    assert_eq!(p.uid_number, 10001);
    // Each change is one audited update, with the POSIX attributes before and after.
    let q = AuditQuery {
        action_prefix: Some("user.update".into()),
        ..AuditQuery::tenant(c)
    };
    let events = d.audit().query(&sys(), &q).unwrap().events;
    let alice_events: Vec<_> = events
        .iter()
        .filter(|e| e.target == "user:alice" && e.actor == "contoso/admin")
        .collect();
    assert_eq!(alice_events.len(), 3);
    let first = alice_events.first().unwrap();
    assert_eq!(
        first.before.as_ref().unwrap()["posix"],
        serde_json::Value::Null
    );
    assert_eq!(first.after.as_ref().unwrap()["posix"]["uid_number"], 10000);
    integrity_ok(&tree);
    // The indexes survive a restart.
    let tree = tree.restart();
    let u = tree.dir().users();
    assert_eq!(u.by_uid_number(&sys(), c, 10500).unwrap().id, alice.id);
    assert_eq!(u.by_uid_number(&sys(), c, 10001).unwrap().id, carol.id);
    integrity_ok(&tree);
}

#[test]
fn a_batch_is_created_whole_or_not_at_all() {
    let tree = Tree::new();
    let u = tree.dir().users();
    let c = tree.contoso.id;
    let batch = vec![new_user("one"), new_user("two"), new_user("ONE")];
    assert_eq!(
        u.create_many(&sys(), c, batch),
        Err(Error::AlreadyExists { what: "username" })
    );
    assert_eq!(u.by_username(&sys(), c, "one"), Err(Error::NotFound));
    let made = u
        .create_many(
            &sys(),
            c,
            (0..50).map(|i| new_user(&format!("user{i:02}"))).collect(),
        )
        .unwrap();
    assert_eq!(made.len(), 50);
    integrity_ok(&tree);
}

#[test]
fn listing_pages_in_username_order_with_a_prefix() {
    let tree = Tree::new();
    let u = tree.dir().users();
    let c = tree.contoso.id;
    u.create_many(
        &sys(),
        c,
        ["carol", "alice", "Bob", "bert", "dave"]
            .iter()
            .map(|n| new_user(n))
            .collect(),
    )
    .unwrap();
    let mut names = Vec::new();
    let mut q = ListQuery {
        limit: Some(2),
        ..ListQuery::default()
    };
    loop {
        let page = u.list(&sys(), c, &q).unwrap();
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|u| u.username));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(names, ["alice", "bert", "Bob", "carol", "dave"]);
    let b = u
        .list(
            &sys(),
            c,
            &ListQuery {
                prefix: Some("B".into()),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(
        b.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bert", "Bob"]
    );
    assert!(matches!(
        u.list(
            &sys(),
            c,
            &ListQuery {
                after: Some("zz-not-hex".into()),
                ..ListQuery::default()
            }
        ),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn updates_move_the_indexes() {
    let tree = Tree::new();
    let u = tree.dir().users();
    let c = tree.contoso.id;
    let alice = u
        .create(
            &sys(),
            c,
            NewUser {
                email: Some("a@x.org".into()),
                ..new_user("alice")
            },
        )
        .unwrap();
    u.create(&sys(), c, new_user("bob")).unwrap();
    assert_eq!(
        u.update(
            &sys(),
            c,
            alice.id,
            UserPatch {
                username: Some("BOB".into()),
                ..UserPatch::default()
            }
        ),
        Err(Error::AlreadyExists { what: "username" })
    );
    let renamed = u
        .update(
            &sys(),
            c,
            alice.id,
            UserPatch {
                username: Some("alicia".into()),
                email: Some(None),
                display_name: Some(Some("Alicia K".into())),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(renamed.shown_name(), "Alicia K");
    assert_eq!(u.by_username(&sys(), c, "alice"), Err(Error::NotFound));
    assert_eq!(u.by_username(&sys(), c, "alicia").unwrap().id, alice.id);
    assert_eq!(u.by_email(&sys(), c, "a@x.org"), Err(Error::NotFound));
    // The freed address is available again.
    u.create(
        &sys(),
        c,
        NewUser {
            email: Some("a@x.org".into()),
            ..new_user("other")
        },
    )
    .unwrap();
    // POSIX fields need POSIX attributes.
    assert!(matches!(
        u.update(
            &sys(),
            c,
            alice.id,
            UserPatch {
                shell: Some("/bin/zsh".into()),
                ..UserPatch::default()
            }
        ),
        Err(Error::Invalid { .. })
    ));
    integrity_ok(&tree);
}

#[test]
fn suspend_resume_and_delete() {
    let tree = Tree::new();
    let (alice, _bob) = tree.populate(&tree.contoso);
    let d = tree.dir();
    let c = tree.contoso.id;
    assert_eq!(
        d.users().suspend(&sys(), c, alice.id).unwrap().status,
        Status::Suspended
    );
    assert_eq!(
        d.users().resume(&sys(), c, alice.id).unwrap().status,
        Status::Active
    );
    d.users().delete(&sys(), c, alice.id).unwrap();
    assert_eq!(d.users().get(&sys(), c, alice.id), Err(Error::NotFound));
    let staff = d.groups().by_name(&sys(), c, "staff").unwrap();
    assert_eq!(
        d.groups().members(&sys(), c, staff.id, true).unwrap().len(),
        1
    );
    assert_eq!(d.users().delete(&sys(), c, alice.id), Err(Error::NotFound));
    integrity_ok(&tree);
}

#[test]
fn nested_groups_resolve_transitively_and_cycles_are_refused() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let g: Vec<_> = ["all", "it", "ops", "oncall"]
        .iter()
        .map(|n| d.groups().create(&sys(), c, new_group(n)).unwrap())
        .collect();
    // oncall ⊂ ops ⊂ it ⊂ all
    for w in g.windows(2) {
        d.groups()
            .add_member(&sys(), c, w[0].id, Member::Group(w[1].id))
            .unwrap();
    }
    let alice = d
        .users()
        .create(
            &sys(),
            c,
            NewUser {
                groups: vec![g[3].id],
                ..new_user("alice")
            },
        )
        .unwrap();
    let names =
        |v: Vec<tessera_directory::model::Group>| v.into_iter().map(|g| g.name).collect::<Vec<_>>();
    assert_eq!(
        names(d.users().groups_of(&sys(), c, alice.id, true).unwrap()),
        ["all", "it", "oncall", "ops"]
    );
    assert_eq!(
        names(d.users().groups_of(&sys(), c, alice.id, false).unwrap()),
        ["oncall"]
    );
    assert_eq!(
        names(d.groups().groups_of(&sys(), c, g[2].id, true).unwrap()),
        ["all", "it"]
    );
    let everyone = d.groups().members(&sys(), c, g[0].id, true).unwrap();
    assert!(everyone.contains(&Member::User(alice.id)));
    assert_eq!(everyone.len(), 4); // alice + it, ops, oncall
    assert_eq!(
        d.groups().members(&sys(), c, g[0].id, false).unwrap(),
        vec![Member::Group(g[1].id)]
    );
    // Cycles: itself, two steps, four steps.
    assert_eq!(
        d.groups()
            .add_member(&sys(), c, g[0].id, Member::Group(g[0].id)),
        Err(Error::Cycle)
    );
    assert_eq!(
        d.groups()
            .add_member(&sys(), c, g[2].id, Member::Group(g[1].id)),
        Err(Error::Cycle)
    );
    assert_eq!(
        d.groups()
            .add_member(&sys(), c, g[3].id, Member::Group(g[0].id)),
        Err(Error::Cycle)
    );
    // A shortcut is fine; a duplicate is reported.
    d.groups()
        .add_member(&sys(), c, g[0].id, Member::Group(g[3].id))
        .unwrap();
    assert_eq!(
        d.groups()
            .add_member(&sys(), c, g[0].id, Member::Group(g[3].id)),
        Err(Error::AlreadyExists { what: "membership" })
    );
    // Removing the middle link cuts the chain except through the shortcut.
    d.groups()
        .remove_member(&sys(), c, g[1].id, Member::Group(g[2].id))
        .unwrap();
    assert_eq!(
        names(d.users().groups_of(&sys(), c, alice.id, true).unwrap()),
        ["all", "oncall", "ops"]
    );
    assert_eq!(
        d.groups()
            .remove_member(&sys(), c, g[1].id, Member::Group(g[2].id)),
        Err(Error::NotFound)
    );
    // Members from another tenant do not exist here.
    let stranger = d
        .users()
        .create(&sys(), tree.fabrikam.id, new_user("stranger"))
        .unwrap();
    assert_eq!(
        d.groups()
            .add_member(&sys(), c, g[0].id, Member::User(stranger.id)),
        Err(Error::NotFound)
    );
    integrity_ok(&tree);
}

#[test]
fn member_names_match_the_members_and_follow_renames() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let outer = d.groups().create(&sys(), c, new_group("outer")).unwrap();
    let inner = d.groups().create(&sys(), c, new_group("inner")).unwrap();
    d.groups()
        .add_member(&sys(), c, outer.id, Member::Group(inner.id))
        .unwrap();
    let mut users = Vec::new();
    for (n, g) in [("ann", outer.id), ("ben", inner.id), ("cid", outer.id)] {
        let u = d
            .users()
            .create(
                &sys(),
                c,
                NewUser {
                    groups: vec![g],
                    ..new_user(n)
                },
            )
            .unwrap();
        users.push(u);
    }
    let named = |transitive: bool| {
        d.groups()
            .member_names(&sys(), c, outer.id, transitive)
            .unwrap()
            .iter()
            .map(|m| (m.member, m.name.to_string()))
            .collect::<Vec<_>>()
    };
    // Same members, same order as `members`, each with its name — twice (the second answer
    // comes from the name cache).
    for _ in 0..2 {
        for transitive in [false, true] {
            let members = d.groups().members(&sys(), c, outer.id, transitive).unwrap();
            let got = named(transitive);
            assert_eq!(got.iter().map(|(m, _)| *m).collect::<Vec<_>>(), members);
            for (m, n) in &got {
                let want = match m {
                    Member::User(u) => d.users().get(&sys(), c, *u).unwrap().username,
                    Member::Group(g) => d.groups().get(&sys(), c, *g).unwrap().name,
                };
                assert_eq!(*n, want);
            }
        }
    }
    assert!(named(true).iter().any(|(_, n)| n == "ben"));
    assert!(!named(false).iter().any(|(_, n)| n == "ben"));
    // Renames show at once, even for names the cache already holds; a case-only rename too.
    d.users()
        .update(
            &sys(),
            c,
            users[0].id,
            UserPatch {
                username: Some("anna".into()),
                ..UserPatch::default()
            },
        )
        .unwrap();
    d.groups()
        .update(
            &sys(),
            c,
            inner.id,
            GroupPatch {
                name: Some("Inner".into()),
                ..GroupPatch::default()
            },
        )
        .unwrap();
    let now: Vec<String> = named(true).into_iter().map(|(_, n)| n).collect();
    assert!(now.contains(&"anna".to_string()) && !now.contains(&"ann".to_string()));
    assert!(now.contains(&"Inner".to_string()) && !now.contains(&"inner".to_string()));
    // A deleted member is gone from the list.
    d.users().delete(&sys(), c, users[2].id).unwrap();
    assert!(!named(false).iter().any(|(_, n)| n == "cid"));
    // A member removed or added shows at once, though the list was just made.
    d.groups()
        .remove_member(&sys(), c, outer.id, Member::User(users[0].id))
        .unwrap();
    assert!(!named(false).iter().any(|(_, n)| n == "anna"));
    assert!(!named(true).iter().any(|(_, n)| n == "anna"));
    d.groups()
        .add_member(&sys(), c, inner.id, Member::User(users[0].id))
        .unwrap();
    assert!(!named(false).iter().any(|(_, n)| n == "anna"));
    assert!(named(true).iter().any(|(_, n)| n == "anna"));
    // Another tenant's group is missing there.
    assert_eq!(
        d.groups()
            .member_names(&sys(), tree.fabrikam.id, outer.id, false)
            .map(|_| ()),
        Err(Error::NotFound)
    );
}

#[test]
fn group_attributes_and_delete() {
    let tree = Tree::new();
    let (alice, _) = tree.populate(&tree.contoso);
    let d = tree.dir();
    let c = tree.contoso.id;
    let wifi = d.groups().by_name(&sys(), c, "WIFI").unwrap();
    let attrs = GroupAttributes {
        radius: RadiusAttributes {
            vlan: Some(42),
            reply: vec![],
        },
    };
    let up = d
        .groups()
        .update(
            &sys(),
            c,
            wifi.id,
            GroupPatch {
                attributes: Some(attrs.clone()),
                ..GroupPatch::default()
            },
        )
        .unwrap();
    assert_eq!(up.attributes.radius.vlan, Some(42));
    let bad = GroupAttributes {
        radius: RadiusAttributes {
            vlan: Some(4095),
            reply: vec![],
        },
    };
    assert!(matches!(
        d.groups().update(
            &sys(),
            c,
            wifi.id,
            GroupPatch {
                attributes: Some(bad),
                ..GroupPatch::default()
            }
        ),
        Err(Error::Invalid { field: "vlan", .. })
    ));
    assert_eq!(
        d.groups().create(
            &sys(),
            c,
            NewGroup {
                name: "Staff".into(),
                ..NewGroup::default()
            }
        ),
        Err(Error::AlreadyExists { what: "group name" })
    );
    d.groups().delete(&sys(), c, wifi.id).unwrap();
    let names: Vec<_> = d
        .users()
        .groups_of(&sys(), c, alice.id, true)
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["staff"]);
    integrity_ok(&tree);
}

#[test]
fn lookups_by_common_name_and_posix_numbers() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let u = d
        .users()
        .create(
            &sys(),
            c,
            NewUser {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                posix: Some(NewPosix::default()),
                ..new_user("ada")
            },
        )
        .unwrap();
    d.users()
        .create(
            &sys(),
            c,
            NewUser {
                display_name: Some("Ada Lovelace".into()),
                ..new_user("ada2")
            },
        )
        .unwrap();
    let names = |cn: &str| {
        let mut v: Vec<String> = d
            .users()
            .by_cn(&sys(), c, cn)
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("ADA LOVELACE"), ["ada", "ada2"]);
    d.users()
        .update(
            &sys(),
            c,
            u.id,
            UserPatch {
                display_name: Some(Some("Countess".into())),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(names("ada lovelace"), ["ada2"]);
    assert_eq!(names("countess"), ["ada"]);
    let uid = u.posix.unwrap().uid_number;
    assert_eq!(d.users().by_uid_number(&sys(), c, uid).unwrap().id, u.id);
    assert_eq!(
        d.users().by_uid_number(&sys(), c, 4242),
        Err(Error::NotFound)
    );
    let g = d.groups().create(&sys(), c, new_group("staff")).unwrap();
    assert_eq!(d.groups().by_gid(&sys(), c, g.gid_number).unwrap().id, g.id);
    d.users().delete(&sys(), c, u.id).unwrap();
    assert!(names("countess").is_empty());
    integrity_ok(&tree);
}

#[test]
fn over_ldap_the_directory_right_decides() {
    use tessera_directory::{Actor, Protocol};
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let svc = tree.user_with_role(&tree.contoso, "svc-ldap", "Directory Reader", &tree.contoso);
    let admin_surface = Actor::user(c, svc.id, None, Protocol::Admin);
    let ldap = Actor::user(c, svc.id, None, Protocol::Ldap);
    // Directory Reader gives nothing on the admin surfaces…
    assert_eq!(
        d.users().list(&admin_surface, c, &ListQuery::default()),
        Err(Error::NotFound)
    );
    // …and reads tenants, users and groups over LDAP, without writing.
    assert!(d.users().list(&ldap, c, &ListQuery::default()).is_ok());
    assert!(d.groups().list(&ldap, c, &ListQuery::default()).is_ok());
    assert_eq!(d.tenants().get(&ldap, c).unwrap().id, c);
    assert_eq!(
        d.users().create(&ldap, c, new_user("x")),
        Err(Error::Forbidden)
    );
    // A User Administrator manages users on the admin surfaces, but over LDAP only the
    // Directory area counts: reading there needs Directory:Read.
    let uadmin = tree.user_with_role(&tree.contoso, "uadmin", "User Administrator", &tree.contoso);
    assert!(d
        .users()
        .list(
            &Actor::user(c, uadmin.id, None, Protocol::Admin),
            c,
            &ListQuery::default()
        )
        .is_ok());
    assert_eq!(
        d.users().list(
            &Actor::user(c, uadmin.id, None, Protocol::Ldap),
            c,
            &ListQuery::default()
        ),
        Err(Error::NotFound)
    );
    // Directory Writer writes over LDAP.
    let writer = tree.user_with_role(
        &tree.contoso,
        "svc-writer",
        "Directory Writer",
        &tree.contoso,
    );
    d.users()
        .create(
            &Actor::user(c, writer.id, None, Protocol::Ldap),
            c,
            new_user("made-over-ldap"),
        )
        .unwrap();
    // Nothing of fabrikam, whatever the protocol.
    assert_eq!(
        d.users()
            .list(&ldap, tree.fabrikam.id, &ListQuery::default()),
        Err(Error::NotFound)
    );
}
