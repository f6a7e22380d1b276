//! Applications: the LDAP service every tenant has, RADIUS clients and SAML SPs with their field
//! rules, bindings to groups, and the "may this user use it" check (nested groups; nobody by
//! default).

use crate::fixtures::{sys, Tree};
use std::collections::{BTreeMap, BTreeSet};
use tessera_directory::model::{
    AcsUrl, AppKind, ApplicationPatch, Member, NameIdFormat, NewApplication, RadiusClient,
    SamlServiceProvider, SharedSecret,
};
use tessera_directory::testkit::{new_group, new_user};
use tessera_directory::Error;

fn radius(name: &str, secret: &str) -> NewApplication {
    NewApplication {
        name: name.into(),
        kind: AppKind::Radius(RadiusClient {
            addresses: vec!["127.0.0.1/32".parse().unwrap()],
            secret: SharedSecret::new(secret),
            require_message_authenticator: true,
            reply: vec![],
        }),
        bound_groups: BTreeSet::new(),
    }
}

fn saml(name: &str, entity: &str, acs: &str) -> NewApplication {
    NewApplication {
        name: name.into(),
        kind: AppKind::Saml(SamlServiceProvider {
            entity_id: entity.into(),
            acs_urls: vec![AcsUrl {
                index: 0,
                url: acs.into(),
                default: true,
            }],
            name_id_format: NameIdFormat::Email,
            attribute_mapping: BTreeMap::from([("mail".to_string(), "email".to_string())]),
            options: Default::default(),
        }),
        bound_groups: BTreeSet::new(),
    }
}

#[test]
fn every_tenant_has_one_ldap_service_that_stays() {
    let tree = Tree::new();
    let a = tree.dir().applications();
    let ldap = a.ldap_service(&sys(), tree.contoso.id).unwrap();
    assert!(matches!(ldap.kind, AppKind::Ldap(_)));
    assert_eq!(
        a.list(&sys(), tree.contoso.id).unwrap(),
        vec![(*ldap).clone()]
    );
    assert_eq!(
        a.delete(&sys(), tree.contoso.id, ldap.id),
        Err(Error::NotAllowed("the LDAP service cannot be deleted"))
    );
    let another = NewApplication {
        name: "ldap2".into(),
        kind: ldap.kind.clone(),
        bound_groups: BTreeSet::new(),
    };
    assert_eq!(
        a.create(&sys(), tree.contoso.id, another),
        Err(Error::AlreadyExists {
            what: "LDAP service"
        })
    );
}

#[test]
fn field_rules() {
    let tree = Tree::new();
    let a = tree.dir().applications();
    let c = tree.contoso.id;
    assert!(matches!(
        a.create(&sys(), c, radius("ap", "short")),
        Err(Error::Invalid {
            field: "secret",
            ..
        })
    ));
    assert!(matches!(
        a.create(
            &sys(),
            c,
            saml("sp", "https://sp", "http://evil.example/acs")
        ),
        Err(Error::Invalid {
            field: "acs_urls",
            ..
        })
    ));
    assert!(matches!(
        a.create(&sys(), c, saml("sp", "https://sp", "javascript:alert(1)")),
        Err(Error::Invalid {
            field: "acs_urls",
            ..
        })
    ));
    a.create(
        &sys(),
        c,
        saml("local", "https://local", "http://localhost:8080/acs"),
    )
    .unwrap();
    let ap = a
        .create(&sys(), c, radius("ap", "0123456789abcdef"))
        .unwrap();
    // The secret never shows in Debug output or in the audit log.
    assert!(!format!("{ap:?}").contains("0123456789abcdef"));
    let log = tree
        .dir()
        .audit()
        .query(&sys(), &tessera_directory::model::AuditQuery::tenant(c))
        .unwrap();
    let json = serde_json::to_string(&log.events).unwrap();
    assert!(json.contains("application.create"));
    assert!(!json.contains("0123456789abcdef"));
    assert_eq!(
        a.create(&sys(), c, radius("AP", "0123456789abcdef")),
        Err(Error::AlreadyExists {
            what: "application name"
        })
    );
    assert_eq!(
        a.create(
            &sys(),
            c,
            saml("other", "https://local", "https://x.example/acs")
        ),
        Err(Error::AlreadyExists { what: "entity id" })
    );
    // The kind cannot change.
    let patch = ApplicationPatch {
        kind: Some(saml("x", "https://x", "https://x.example/acs").kind),
        ..ApplicationPatch::default()
    };
    assert!(matches!(
        a.update(&sys(), c, ap.id, patch),
        Err(Error::Invalid { field: "kind", .. })
    ));
    let renamed = a
        .update(
            &sys(),
            c,
            ap.id,
            ApplicationPatch {
                name: Some("ap-lobby".into()),
                ..ApplicationPatch::default()
            },
        )
        .unwrap();
    assert_eq!(a.by_name(&sys(), c, "AP-LOBBY").unwrap().id, renamed.id);
    a.delete(&sys(), c, ap.id).unwrap();
    assert_eq!(a.get(&sys(), c, ap.id), Err(Error::NotFound));
    let r = tree.dir().check_integrity().unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn only_members_of_bound_groups_may_use_an_application() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let (alice, bob) = tree.populate(&tree.contoso);
    let wifi = d.groups().by_name(&sys(), c, "wifi").unwrap();
    let ap = d
        .applications()
        .create(&sys(), c, radius("ap", "0123456789abcdef"))
        .unwrap();
    // Default: nobody.
    assert!(!d
        .applications()
        .may_use(&sys(), c, ap.id, alice.id)
        .unwrap());
    d.applications()
        .bind_group(&sys(), c, ap.id, wifi.id)
        .unwrap();
    assert!(d
        .applications()
        .may_use(&sys(), c, ap.id, alice.id)
        .unwrap());
    assert!(!d.applications().may_use(&sys(), c, ap.id, bob.id).unwrap());
    // Through a nested group.
    let guests = d.groups().create(&sys(), c, new_group("guests")).unwrap();
    d.groups()
        .add_member(&sys(), c, wifi.id, Member::Group(guests.id))
        .unwrap();
    let carol = d
        .users()
        .create(
            &sys(),
            c,
            tessera_directory::model::NewUser {
                groups: vec![guests.id],
                ..new_user("carol")
            },
        )
        .unwrap();
    assert!(d
        .applications()
        .may_use(&sys(), c, ap.id, carol.id)
        .unwrap());
    assert_eq!(
        d.applications().bind_group(&sys(), c, ap.id, wifi.id),
        Err(Error::AlreadyExists { what: "binding" })
    );
    d.applications()
        .unbind_group(&sys(), c, ap.id, wifi.id)
        .unwrap();
    assert!(!d
        .applications()
        .may_use(&sys(), c, ap.id, alice.id)
        .unwrap());
    // A group of another tenant cannot be bound.
    let other = d
        .groups()
        .create(&sys(), tree.fabrikam.id, new_group("wifi"))
        .unwrap();
    assert_eq!(
        d.applications().bind_group(&sys(), c, ap.id, other.id),
        Err(Error::NotFound)
    );
    // Deleting a bound group unbinds it.
    d.applications()
        .bind_group(&sys(), c, ap.id, guests.id)
        .unwrap();
    d.groups().delete(&sys(), c, guests.id).unwrap();
    assert!(d
        .applications()
        .get(&sys(), c, ap.id)
        .unwrap()
        .bound_groups
        .is_empty());
}

#[test]
fn radius_secrets_are_sealed_at_rest_and_read_back_by_the_installation_only() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let ap = d
        .applications()
        .create(&sys(), c, radius("ap", "0123456789abcdef"))
        .unwrap();
    let AppKind::Radius(stored) = &ap.kind else {
        panic!("{ap:?}")
    };
    assert!(stored.secret.expose().starts_with("$sealed$v1$"));
    assert!(!stored.secret.expose().contains("0123456789abcdef"));
    assert_eq!(
        d.applications()
            .radius_secret(&sys(), c, ap.id)
            .unwrap()
            .expose(),
        "0123456789abcdef"
    );
    let admin = tree.user_with_role(
        &tree.contoso,
        "admin",
        "Application Administrator",
        &tree.contoso,
    );
    assert_eq!(
        d.applications()
            .radius_secret(&crate::fixtures::as_user(&admin), c, ap.id)
            .map(|_| ()),
        Err(Error::Forbidden)
    );
    // An update that hands the stored form back keeps the secret; a new one is sealed anew.
    let renamed = d
        .applications()
        .update(
            &sys(),
            c,
            ap.id,
            ApplicationPatch {
                kind: Some(ap.kind.clone()),
                name: Some("ap2".into()),
            },
        )
        .unwrap();
    assert_eq!(
        d.applications()
            .radius_secret(&sys(), c, renamed.id)
            .unwrap()
            .expose(),
        "0123456789abcdef"
    );
    let mut fresh = ap.kind.clone();
    if let AppKind::Radius(r) = &mut fresh {
        r.secret = SharedSecret::new("fedcba9876543210-new");
    }
    d.applications()
        .update(
            &sys(),
            c,
            ap.id,
            ApplicationPatch {
                kind: Some(fresh),
                name: None,
            },
        )
        .unwrap();
    assert_eq!(
        d.applications()
            .radius_secret(&sys(), c, ap.id)
            .unwrap()
            .expose(),
        "fedcba9876543210-new"
    );
    // Input that looks sealed is refused.
    assert!(matches!(
        d.applications()
            .create(&sys(), c, radius("fake", "$sealed$v1$AAAA")),
        Err(Error::Invalid {
            field: "secret",
            ..
        })
    ));
}
