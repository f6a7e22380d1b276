//! The tenant tree: kinds, slugs, suspension over the subtree, deletion only when empty.

use crate::fixtures::{as_user, sys, Tree};
use tessera_directory::model::Status;
use tessera_directory::policy::TenantKind;
use tessera_directory::testkit::{new_group, new_tenant, new_user, TestDirectory};
use tessera_directory::{Actor, Error};

#[test]
fn bootstrap_happens_once_and_only_for_the_system() {
    let td = TestDirectory::new().unwrap();
    let t = td.dir.tenants();
    let user_actor = Actor::user(
        "00000000-0000-4000-8000-000000000001".parse().unwrap(),
        "00000000-0000-4000-8000-000000000002".parse().unwrap(),
        None,
        tessera_directory::Protocol::Admin,
    );
    assert_eq!(
        t.bootstrap(&user_actor, new_tenant("root", TenantKind::Distributor)),
        Err(Error::Forbidden)
    );
    let root = t
        .bootstrap(&sys(), new_tenant("root", TenantKind::Distributor))
        .unwrap();
    assert_eq!(root.parent, None);
    assert_eq!(
        t.bootstrap(&sys(), new_tenant("other", TenantKind::Distributor)),
        Err(Error::AlreadyInitialised)
    );
    assert_eq!(t.root(&sys()).unwrap(), root);
    // The ten predefined roles exist at the root.
    assert_eq!(td.dir.rbac().list_roles(&sys(), root.id).unwrap().len(), 10);
}

#[test]
fn kinds_follow_the_tree_rules() {
    let tree = Tree::new();
    let t = tree.dir().tenants();
    let err = t
        .create(
            &sys(),
            tree.contoso.id,
            new_tenant("sub", TenantKind::Customer),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::KindNotAllowed {
            parent: TenantKind::Customer,
            child: TenantKind::Customer
        }
    );
    assert!(matches!(
        t.create(&sys(), tree.acme.id, new_tenant("x", TenantKind::Msp)),
        Err(Error::KindNotAllowed { .. })
    ));
    t.create(
        &sys(),
        tree.summit.id,
        new_tenant("harbor", TenantKind::ManagedMsp),
    )
    .unwrap();
}

#[test]
fn slugs_are_validated_and_unique_in_the_installation() {
    let tree = Tree::new();
    let t = tree.dir().tenants();
    assert!(matches!(
        t.create(
            &sys(),
            tree.acme.id,
            new_tenant("Bad Slug", TenantKind::Customer)
        ),
        Err(Error::Invalid { field: "slug", .. })
    ));
    assert_eq!(
        t.create(
            &sys(),
            tree.summit.id,
            new_tenant("contoso", TenantKind::Customer)
        ),
        Err(Error::AlreadyExists { what: "slug" })
    );
    assert_eq!(t.by_slug(&sys(), "contoso").unwrap().id, tree.contoso.id);
    assert_eq!(t.by_slug(&sys(), "nope"), Err(Error::NotFound));
}

#[test]
fn listing_is_parents_first_and_children_by_slug() {
    let tree = Tree::new();
    let slugs: Vec<String> = tree
        .dir()
        .tenants()
        .list(&sys())
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(
        slugs,
        ["root", "acme", "contoso", "fabrikam", "summit", "globex"]
    );
    let kids: Vec<String> = tree
        .dir()
        .tenants()
        .children(&sys(), tree.acme.id)
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(kids, ["contoso", "fabrikam"]);
    let up: Vec<String> = tree
        .dir()
        .tenants()
        .ancestors(&sys(), tree.contoso.id)
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(up, ["contoso", "acme", "root"]);
}

#[test]
fn suspension_covers_the_subtree_and_resume_restores_it() {
    let tree = Tree::new();
    let t = tree.dir().tenants();
    assert!(t.is_active(&sys(), tree.contoso.id).unwrap());
    let s = t.suspend(&sys(), tree.acme.id).unwrap();
    assert_eq!(s.status, Status::Suspended);
    assert!(!t.is_active(&sys(), tree.acme.id).unwrap());
    assert!(!t.is_active(&sys(), tree.contoso.id).unwrap());
    assert!(!t.is_active(&sys(), tree.fabrikam.id).unwrap());
    assert!(t.is_active(&sys(), tree.globex.id).unwrap());
    // The customer's own record still says active: suspension is inherited, not copied.
    assert_eq!(
        t.get(&sys(), tree.contoso.id).unwrap().status,
        Status::Active
    );
    t.resume(&sys(), tree.acme.id).unwrap();
    assert!(t.is_active(&sys(), tree.contoso.id).unwrap());
    assert_eq!(
        t.suspend(&sys(), tree.root.id),
        Err(Error::NotAllowed("the root tenant cannot be suspended"))
    );
}

#[test]
fn a_suspended_tenant_takes_its_admins_rights_away() {
    let tree = Tree::new();
    let admin = tree.user_with_role(&tree.contoso, "admin", "Main Administrator", &tree.contoso);
    let d = tree.dir();
    d.users()
        .create(&as_user(&admin), tree.contoso.id, new_user("x"))
        .unwrap();
    d.tenants().suspend(&sys(), tree.acme.id).unwrap();
    assert_eq!(
        d.users()
            .create(&as_user(&admin), tree.contoso.id, new_user("y")),
        Err(Error::NotFound)
    );
    d.tenants().resume(&sys(), tree.acme.id).unwrap();
    d.users()
        .create(&as_user(&admin), tree.contoso.id, new_user("y"))
        .unwrap();
}

#[test]
fn nobody_suspends_their_own_tenant_or_one_above_it() {
    let tree = Tree::new();
    let admin = tree.user_with_role(&tree.acme, "boss", "Main Administrator", &tree.acme);
    let t = tree.dir().tenants();
    assert!(matches!(
        t.suspend(&as_user(&admin), tree.acme.id),
        Err(Error::NotAllowed(_))
    ));
    t.suspend(&as_user(&admin), tree.contoso.id).unwrap();
    // summit is outside acme's subtree: invisible.
    assert_eq!(
        t.suspend(&as_user(&admin), tree.summit.id),
        Err(Error::NotFound)
    );
    let root_admin = tree.user_with_role(&tree.root, "owner", "Main Administrator", &tree.root);
    t.suspend(&as_user(&root_admin), tree.acme.id).unwrap();
}

#[test]
fn only_empty_tenants_are_deleted() {
    let tree = Tree::new();
    let d = tree.dir();
    let t = d.tenants();
    assert_eq!(
        t.delete(&sys(), tree.acme.id),
        Err(Error::NotEmpty {
            what: "child tenants"
        })
    );
    let u = d
        .users()
        .create(&sys(), tree.globex.id, new_user("alice"))
        .unwrap();
    assert_eq!(
        t.delete(&sys(), tree.globex.id),
        Err(Error::NotEmpty { what: "users" })
    );
    d.users().delete(&sys(), tree.globex.id, u.id).unwrap();
    let g = d
        .groups()
        .create(&sys(), tree.globex.id, new_group("g"))
        .unwrap();
    assert_eq!(
        t.delete(&sys(), tree.globex.id),
        Err(Error::NotEmpty { what: "groups" })
    );
    d.groups().delete(&sys(), tree.globex.id, g.id).unwrap();
    t.delete(&sys(), tree.globex.id).unwrap();
    assert_eq!(t.get(&sys(), tree.globex.id), Err(Error::NotFound));
    assert_eq!(t.by_slug(&sys(), "globex"), Err(Error::NotFound));
    // The slug is free again, and the store is consistent.
    t.create(
        &sys(),
        tree.summit.id,
        new_tenant("globex", TenantKind::Customer),
    )
    .unwrap();
    let report = d.check_integrity().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(
        t.delete(&sys(), tree.root.id),
        Err(Error::NotAllowed("the root tenant cannot be deleted"))
    );
}

#[test]
fn deleting_needs_write_on_the_parent() {
    let tree = Tree::new();
    let local = tree.user_with_role(&tree.globex, "admin", "Main Administrator", &tree.globex);
    let d = tree.dir();
    let sub_admin = as_user(&local);
    // Main Administrator of globex itself cannot delete globex (it would need Write on summit).
    let empty = d
        .tenants()
        .create(
            &sys(),
            tree.acme.id,
            new_tenant("empty", TenantKind::Customer),
        )
        .unwrap();
    assert_eq!(
        d.tenants().delete(&sub_admin, empty.id),
        Err(Error::NotFound)
    );
    assert!(matches!(
        d.tenants().delete(&sub_admin, tree.globex.id),
        Err(Error::Forbidden)
    ));
}
