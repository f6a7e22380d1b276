//! Writes under Directory:Write through the core's services: add, modify (membership,
//! userPassword through policy), modrdn, delete, and the schema's refusals.

use crate::client::{vals, Client};
use crate::harness::{group_dn, sys, tenant_dn, user_dn, Fixture, Running, PW};
use ldap3_proto::proto::{
    LdapModifyDNRequest, LdapModifyType as M, LdapOp, LdapResultCode as R, LdapSearchScope as S,
};
use tessera_directory::model::{AuditKind, AuditQuery};
use tessera_ldap::LdapConfig;
use tokio::net::TcpStream;

async fn as_(srv: &Running, name: &str) -> Client<TcpStream> {
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("contoso", name), PW).await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_modify_rename_delete_users() {
    let fx = Fixture::new();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut w = as_(&srv, "writer").await;
    let erin = user_dn("contoso", "erin");
    let person: &[(&str, &[&str])] = &[
        (
            "objectClass",
            &["top", "inetOrgPerson", "posixAccount", "ldapPublicKey"],
        ),
        ("uid", &["erin"]),
        ("cn", &["Erin Evans"]),
        ("sn", &["Evans"]),
        ("givenName", &["Erin"]),
        ("mail", &["erin@contoso.example"]),
        ("homeDirectory", &["/home/erin"]),
        ("loginShell", &["/bin/zsh"]),
        ("userPassword", &["Starts-Here-2026-x"]),
        ("roomNumber", &["12"]),
    ];
    let r = w.add(&erin, person).await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let e = w
        .search(&erin, S::Base, "(objectClass=*)", &["*", "+"])
        .await;
    let e = e.only();
    assert_eq!(vals(e, "cn"), ["Erin Evans"]);
    assert_eq!(vals(e, "loginShell"), ["/bin/zsh"]);
    assert_eq!(vals(e, "roomNumber"), ["12"]);
    assert!(!vals(e, "uidNumber").is_empty(), "a uidNumber is allocated");
    assert!(vals(e, "userPassword").is_empty());
    assert_eq!(w.add(&erin, person).await.code, R::EntryAlreadyExists);
    // Erin may bind once in a bound group (and with a password the policy took).
    let staff = group_dn("contoso", "staff");
    let r = w.modify(&staff, &[(M::Add, "member", &[&erin])]).await;
    assert_eq!(r.code, R::Success, "{r:?}");
    Client::connect(srv.plain)
        .await
        .bind_ok(&erin, "Starts-Here-2026-x")
        .await;

    // Schema refusals, with readable messages.
    let frank = user_dn("contoso", "frank");
    for (attrs, code) in [
        (
            vec![("objectClass", vec!["inetOrgPerson"]), ("cn", vec!["F"])],
            R::ObjectClassViolation,
        ),
        (
            vec![("objectClass", vec!["inetOrgPerson"]), ("sn", vec!["F"])],
            R::ObjectClassViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson", "msPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
            ],
            R::ObjectClassViolation,
        ),
        (
            vec![("objectClass", vec!["groupOfNames"]), ("cn", vec!["F"])],
            R::ObjectClassViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
                ("uidNumber", vec!["5000"]),
            ],
            R::ObjectClassViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
                ("member", vec!["x"]),
            ],
            R::ObjectClassViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
                ("memberOf", vec![&staff]),
            ],
            R::ConstraintViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
                ("mail", vec!["not an address"]),
            ],
            R::ConstraintViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
                ("userPassword", vec!["short"]),
            ],
            R::ConstraintViolation,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
                ("userPassword", vec!["{SSHA}abcdefgh"]),
            ],
            R::UnwillingToPerform,
        ),
        (
            vec![
                ("objectClass", vec!["inetOrgPerson"]),
                ("uid", vec!["other"]),
                ("cn", vec!["F"]),
                ("sn", vec!["F"]),
            ],
            R::NamingViolation,
        ),
    ] {
        let a: Vec<(&str, &[&str])> = attrs.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let r = w.add(&frank, &a).await;
        assert_eq!(r.code, code, "{attrs:?}: {}", r.message);
        assert!(!r.message.is_empty());
    }
    // A refused password leaves no user behind.
    let gone = w.search(&frank, S::Base, "(objectClass=*)", &[]).await;
    assert_eq!(gone.code(), R::NoSuchObject);
    assert_eq!(
        w.add(&format!("uid=x,ou=Users,{}", tenant_dn("fabrikam")), person)
            .await
            .code,
        R::NoSuchObject
    );
    assert_eq!(
        w.add(&tenant_dn("newco"), &[("objectClass", &["organization"])])
            .await
            .code,
        R::UnwillingToPerform
    );
    assert_eq!(
        w.add(&tenant_dn("contoso"), &[("objectClass", &["organization"])])
            .await
            .code,
        R::EntryAlreadyExists
    );

    // Modify: attributes, with the usual add/delete/replace semantics.
    let r = w
        .modify(
            &erin,
            &[
                (M::Replace, "mail", &["erin.evans@contoso.example"]),
                (M::Add, "telephoneNumber", &["+1 555 0199"]),
                (M::Delete, "givenName", &[]),
                (M::Replace, "displayName", &["Erin Smith"]),
                (M::Delete, "roomNumber", &["12"]),
            ],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let e = w.search(&erin, S::Base, "(objectClass=*)", &[]).await;
    let e = e.only();
    assert_eq!(vals(e, "mail"), ["erin.evans@contoso.example"]);
    assert_eq!(vals(e, "telephoneNumber"), ["+1 555 0199"]);
    assert!(vals(e, "givenName").is_empty());
    assert_eq!(vals(e, "cn"), ["Erin Smith"]);
    assert!(vals(e, "roomNumber").is_empty());
    for (changes, code) in [
        (
            vec![(M::Add, "mail", vec!["second@contoso.example"])],
            R::ConstraintViolation,
        ),
        (vec![(M::Delete, "givenName", vec![])], R::NoSuchAttribute),
        (
            vec![(M::Add, "telephoneNumber", vec!["+1 555 0199"])],
            R::AttributeOrValueExists,
        ),
        (vec![(M::Replace, "uid", vec!["erin2"])], R::NotALlowedOnRDN),
        (
            vec![(M::Replace, "entryUUID", vec!["x"])],
            R::ConstraintViolation,
        ),
        (
            vec![(M::Replace, "memberOf", vec![staff.as_str()])],
            R::ConstraintViolation,
        ),
        (
            vec![(M::Replace, "uidNumber", vec!["999"])],
            R::ConstraintViolation,
        ),
        (
            vec![(M::Delete, "uidNumber", vec![])],
            R::ObjectClassViolation,
        ),
        (
            vec![(M::Add, "objectClass", vec!["groupOfNames"])],
            R::ObjectClassModsProhibited,
        ),
        (
            vec![(M::Replace, "description", vec!["x"])],
            R::ObjectClassViolation,
        ),
        (
            vec![(M::Replace, "userPassword", vec!["weak"])],
            R::ConstraintViolation,
        ),
    ] {
        let c: Vec<(M, &str, &[&str])> = changes
            .iter()
            .map(|(m, a, v)| (m.clone(), *a, v.as_slice()))
            .collect();
        let r = w.modify(&erin, &c).await;
        assert_eq!(r.code, code, "{changes:?}: {}", r.message);
    }
    // userPassword: an administrator replaces it (through policy), the user changes its own
    // with delete-old/add-new.
    let r = w
        .modify(
            &erin,
            &[(M::Replace, "userPassword", &["Reset-By-Writer-2"])],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let mut me = Client::connect(srv.plain).await;
    me.bind_ok(&erin, "Reset-By-Writer-2").await;
    let r = me
        .modify(
            &erin,
            &[
                (M::Delete, "userPassword", &["Reset-By-Writer-2"]),
                (M::Add, "userPassword", &["Changed-By-Self-3"]),
            ],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    me.bind_ok(&erin, "Changed-By-Self-3").await;
    // Renaming keeps the user; the old name is gone.
    let r = w
        .op(LdapOp::ModifyDNRequest(LdapModifyDNRequest {
            dn: erin.clone(),
            newrdn: "uid=erin.evans".into(),
            deleteoldrdn: true,
            new_superior: None,
        }))
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let renamed = user_dn("contoso", "erin.evans");
    assert_eq!(
        w.search(&renamed, S::Base, "(objectClass=*)", &["uid"])
            .await
            .entries
            .len(),
        1
    );
    assert_eq!(
        w.search(&erin, S::Base, "(objectClass=*)", &[])
            .await
            .code(),
        R::NoSuchObject
    );
    let r = w
        .op(LdapOp::ModifyDNRequest(LdapModifyDNRequest {
            dn: renamed.clone(),
            newrdn: "uid=x".into(),
            deleteoldrdn: true,
            new_superior: Some(format!("ou=Users,{}", tenant_dn("fabrikam"))),
        }))
        .await;
    assert_eq!(r.code, R::UnwillingToPerform);
    let r = w
        .op(LdapOp::ModifyDNRequest(LdapModifyDNRequest {
            dn: renamed.clone(),
            newrdn: "cn=x".into(),
            deleteoldrdn: true,
            new_superior: None,
        }))
        .await;
    assert_eq!(r.code, R::NamingViolation);
    // Delete.
    assert_eq!(
        w.op(LdapOp::DelRequest(renamed.clone())).await.code,
        R::Success
    );
    assert_eq!(
        w.op(LdapOp::DelRequest(renamed.clone())).await.code,
        R::NoSuchObject
    );
    assert_eq!(
        w.op(LdapOp::DelRequest(tenant_dn("contoso"))).await.code,
        R::UnwillingToPerform
    );
    // Every change is in the audit log, by the writer, through LDAP.
    let q = AuditQuery {
        kind: Some(AuditKind::Change),
        limit: Some(1000),
        ..AuditQuery::tenant(fx.tenant("contoso").id)
    };
    let events = fx.dir().audit().query(&sys(), &q).unwrap().events;
    let by_writer: Vec<String> = events
        .iter()
        .filter(|e| e.actor == "contoso/writer")
        .map(|e| e.action.clone())
        .collect();
    for a in [
        "user.create",
        "user.update",
        "user.delete",
        "group.add_member",
        "credentials.set_password",
    ] {
        assert!(by_writer.iter().any(|x| x == a), "{a} not in {by_writer:?}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_becomes_a_posix_account_by_modify() {
    let fx = Fixture::new();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut w = as_(&srv, "writer").await;
    let users = format!("ou=Users,{}", tenant_dn("contoso"));
    let (bob, dave, alice) = (
        user_dn("contoso", "bob"),
        user_dn("contoso", "dave"),
        user_dn("contoso", "alice"),
    );
    let by_uid = |n: &str| format!("(&(objectClass=posixAccount)(uidNumber={n}))");
    // posixAccount needs its uidNumber; a readable refusal otherwise, and bob stays as he was.
    for changes in [
        vec![(M::Add, "objectClass", vec!["posixAccount"])],
        vec![
            (M::Add, "objectClass", vec!["posixAccount"]),
            (M::Add, "homeDirectory", vec!["/home/bob"]),
        ],
        vec![(M::Add, "gidNumber", vec!["20000"])],
    ] {
        let c: Vec<(M, &str, &[&str])> = changes
            .iter()
            .map(|(m, a, v)| (m.clone(), *a, v.as_slice()))
            .collect();
        let r = w.modify(&bob, &c).await;
        assert_eq!(r.code, R::ObjectClassViolation, "{changes:?}: {r:?}");
        assert!(r.message.contains("uidNumber"), "{}", r.message);
    }
    let e = w.search(&bob, S::Base, "(objectClass=*)", &[]).await;
    assert!(vals(e.only(), "uidNumber").is_empty());
    // With uidNumber, as OpenLDAP takes it; the rest defaults.
    let r = w
        .modify(
            &bob,
            &[
                (M::Add, "objectClass", &["posixAccount"]),
                (M::Add, "uidNumber", &["20000"]),
                (M::Add, "loginShell", &["/bin/zsh"]),
            ],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let e = w.search(&bob, S::Base, "(objectClass=*)", &[]).await;
    let e = e.only();
    assert!(vals(e, "objectClass").iter().any(|c| c == "posixAccount"));
    assert_eq!(vals(e, "uidNumber"), ["20000"]);
    assert_eq!(vals(e, "gidNumber"), ["20000"]);
    assert_eq!(vals(e, "homeDirectory"), ["/home/bob"]);
    assert_eq!(vals(e, "loginShell"), ["/bin/zsh"]);
    let found = w
        .search(&users, S::OneLevel, &by_uid("20000"), &["uid"])
        .await;
    assert_eq!(found.dns(), [bob.as_str()]);
    // A uidNumber alone is enough; a taken or out-of-range one is refused.
    for (n, code) in [
        ("20000", R::ConstraintViolation),
        ("999", R::ConstraintViolation),
        ("x", R::InvalidAttributeSyntax),
    ] {
        let r = w.modify(&dave, &[(M::Add, "uidNumber", &[n])]).await;
        assert_eq!(r.code, code, "{n}: {r:?}");
    }
    let r = w
        .modify(
            &dave,
            &[
                (M::Add, "uidNumber", &["20001"]),
                (M::Add, "gidNumber", &["5000"]),
            ],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let e = w.search(&dave, S::Base, "(objectClass=*)", &[]).await;
    let e = e.only();
    assert!(vals(e, "objectClass").iter().any(|c| c == "posixAccount"));
    assert_eq!(vals(e, "gidNumber"), ["5000"]);
    assert_eq!(vals(e, "homeDirectory"), ["/home/dave"]);
    // Replacing uidNumber re-numbers: the old number finds nobody, the own-number gid follows.
    let r = w
        .modify(&bob, &[(M::Replace, "uidNumber", &["20002"])])
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let gone = w
        .search(&users, S::OneLevel, &by_uid("20000"), &["uid"])
        .await;
    assert!(gone.entries.is_empty(), "{:?}", gone.dns());
    let found = w
        .search(&users, S::OneLevel, &by_uid("20002"), &["gidNumber"])
        .await;
    assert_eq!(found.dns(), [bob.as_str()]);
    assert_eq!(vals(found.only(), "gidNumber"), ["20002"]);
    for (who, changes, code) in [
        (
            &alice,
            (M::Replace, "uidNumber", vec!["20001"]),
            R::ConstraintViolation,
        ),
        (
            &bob,
            (M::Delete, "uidNumber", vec![]),
            R::ObjectClassViolation,
        ),
        (
            &bob,
            (M::Delete, "objectClass", vec!["posixAccount"]),
            R::ObjectClassModsProhibited,
        ),
    ] {
        let (m, a, v) = &changes;
        let r = w.modify(who, &[(m.clone(), *a, v.as_slice())]).await;
        assert_eq!(r.code, code, "{who} {changes:?}: {}", r.message);
    }
    // Audited as updates by the writer.
    let q = AuditQuery {
        kind: Some(AuditKind::Change),
        limit: Some(1000),
        ..AuditQuery::tenant(fx.tenant("contoso").id)
    };
    let events = fx.dir().audit().query(&sys(), &q).unwrap().events;
    let updates = events
        .iter()
        .filter(|e| e.actor == "contoso/writer" && e.action == "user.update")
        .count();
    assert_eq!(updates, 3);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_who_may_write() {
    let fx = Fixture::new();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut w = as_(&srv, "writer").await;
    let alice = user_dn("contoso", "alice");
    let bob = user_dn("contoso", "bob");
    let devs = group_dn("contoso", "devs");
    let r = w
        .add(
            &devs,
            &[
                ("objectClass", &["groupOfNames", "posixGroup"]),
                ("cn", &["devs"]),
                ("description", &["Developers"]),
                ("gidNumber", &["5555"]),
                ("member", &[&alice, &group_dn("contoso", "wifi")]),
            ],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let g = w.search(&devs, S::Base, "(objectClass=*)", &[]).await;
    let g = g.only();
    assert_eq!(vals(g, "gidNumber"), ["5555"]);
    assert_eq!(vals(g, "memberUid"), ["alice"]);
    assert_eq!(vals(g, "member").len(), 2);
    let r = w
        .modify(
            &devs,
            &[
                (M::Add, "memberUid", &["bob"]),
                (M::Replace, "description", &["Dev team"]),
            ],
        )
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let r = w.modify(&devs, &[(M::Delete, "member", &[&alice])]).await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let g = w
        .search(
            &devs,
            S::Base,
            "(objectClass=*)",
            &["memberUid", "description"],
        )
        .await;
    assert_eq!(vals(g.only(), "memberUid"), ["bob"]);
    assert_eq!(vals(g.only(), "description"), ["Dev team"]);
    for (changes, code) in [
        (
            vec![(M::Add, "member", vec![user_dn("fabrikam", "alice")])],
            R::ConstraintViolation,
        ),
        (
            vec![(M::Add, "member", vec![user_dn("contoso", "nobody")])],
            R::ConstraintViolation,
        ),
        (
            vec![(M::Add, "member", vec![bob.clone()])],
            R::AttributeOrValueExists,
        ),
        (
            vec![(M::Delete, "member", vec![alice.clone()])],
            R::NoSuchAttribute,
        ),
        (
            vec![(M::Add, "member", vec![group_dn("contoso", "devs")])],
            R::ConstraintViolation,
        ),
        (
            vec![(M::Replace, "gidNumber", vec!["1234".to_string()])],
            R::UnwillingToPerform,
        ),
        (
            vec![(M::Replace, "cn", vec!["x".to_string()])],
            R::NotALlowedOnRDN,
        ),
        (
            vec![(M::Replace, "foo", vec!["x".to_string()])],
            R::UndefinedAttributeType,
        ),
    ] {
        let c: Vec<(M, &str, Vec<&str>)> = changes
            .iter()
            .map(|(m, a, v)| (m.clone(), *a, v.iter().map(String::as_str).collect()))
            .collect();
        let c: Vec<(M, &str, &[&str])> = c
            .iter()
            .map(|(m, a, v)| (m.clone(), *a, v.as_slice()))
            .collect();
        let r = w.modify(&devs, &c).await;
        assert_eq!(r.code, code, "{changes:?}: {}", r.message);
    }
    let r = w
        .op(LdapOp::ModifyDNRequest(LdapModifyDNRequest {
            dn: devs.clone(),
            newrdn: "cn=developers".into(),
            deleteoldrdn: true,
            new_superior: Some(format!("ou=Groups,{}", tenant_dn("contoso"))),
        }))
        .await;
    assert_eq!(r.code, R::Success, "{r:?}");
    let developers = group_dn("contoso", "developers");
    assert_eq!(
        w.op(LdapOp::DelRequest(developers.clone())).await.code,
        R::Success
    );

    // A Directory Reader may not write; a user without Directory rights cannot even see.
    let mut reader = as_(&srv, "svc").await;
    let r = reader
        .modify(&alice, &[(M::Replace, "mail", &["x@contoso.example"])])
        .await;
    assert_eq!(r.code, R::InsufficentAccessRights);
    let r = reader.op(LdapOp::DelRequest(bob.clone())).await;
    assert_eq!(r.code, R::InsufficentAccessRights);
    let mut user = as_(&srv, "bob").await;
    let r = user
        .modify(&alice, &[(M::Replace, "mail", &["x@contoso.example"])])
        .await;
    assert_eq!(r.code, R::NoSuchObject);
    let r = user
        .modify(&bob, &[(M::Replace, "mail", &["bob2@contoso.example"])])
        .await;
    assert_eq!(r.code, R::InsufficentAccessRights, "{r:?}");
    let mut anon = Client::connect(srv.plain).await;
    let r = anon.add(&devs, &[("objectClass", &["groupOfNames"])]).await;
    assert_eq!(r.code, R::InsufficentAccessRights);
    srv.stop().await;
}
