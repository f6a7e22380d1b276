//! Search: scopes, every filter type, attribute selection, membership (direct, in-chain,
//! flattened), limits, paged results, controls, noSuchObject with matchedDN, compare.

use crate::client::{names, search_req, vals, Client};
use crate::harness::{group_dn, tenant_dn, user_dn, Fixture, Running, PW, SUFFIX};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{LdapResultCode, LdapSearchScope as S};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tessera_directory::clock::{ChaChaSource, Clock};
use tessera_directory::policy::Timestamp;
use tessera_directory::testkit::{new_tenant, new_user, test_key};
use tessera_directory::{Actor, Directory, PoolConfig};
use tessera_ldap::LdapConfig;
use tokio::net::TcpStream;

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

fn dns(v: &[String]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_ascii_lowercase()).collect()
}

async fn svc(srv: &Running) -> Client<TcpStream> {
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("contoso", "svc"), PW).await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = svc(&srv).await;
    let t = tenant_dn("contoso");
    let users = format!("ou=Users,{t}");
    let any = "(objectClass=*)";
    let base = c.search(&t, S::Base, any, &[]).await;
    assert_eq!(base.dns(), std::slice::from_ref(&t));
    assert_eq!(vals(base.only(), "objectClass"), ["top", "organization"]);
    assert_eq!(vals(base.only(), "o"), ["contoso"]);
    let one = c.search(&t, S::OneLevel, any, &[]).await;
    assert_eq!(one.dns(), [users.clone(), format!("ou=Groups,{t}")]);
    let people = c.search(&users, S::OneLevel, any, &["1.1"]).await;
    let want: Vec<String> = ["alice", "bob", "carol", "dave", "svc", "writer"]
        .iter()
        .map(|n| user_dn("contoso", n))
        .collect();
    assert_eq!(people.dns(), want);
    assert!(people.entries.iter().all(|e| e.attributes.is_empty()));
    let sub = c.search(&t, S::Subtree, any, &["1.1"]).await;
    // The tenant, two containers, six users, four groups.
    assert_eq!(sub.entries.len(), 1 + 2 + 6 + 4);
    let children = c.search(&t, S::Children, any, &["1.1"]).await;
    assert_eq!(children.entries.len(), sub.entries.len() - 1);
    let me = c
        .search(&user_dn("contoso", "alice"), S::Base, any, &[])
        .await;
    assert_eq!(me.dns(), [user_dn("contoso", "alice")]);
    assert!(c
        .search(&user_dn("contoso", "alice"), S::OneLevel, any, &[])
        .await
        .entries
        .is_empty());
    // The suffix: one level down are the tenants this account may see.
    let tenants = c.search(SUFFIX, S::OneLevel, any, &["o"]).await;
    assert_eq!(tenants.dns(), std::slice::from_ref(&t));
    let suffix = c.search(SUFFIX, S::Base, any, &[]).await;
    assert_eq!(vals(suffix.only(), "dc"), ["tessera"]);
    // DNs compare case- and space-insensitively.
    let odd = c
        .search(
            "UID=ALICE, ou=USERS ,O=Contoso,dc=TESSERA,dc=local",
            S::Base,
            any,
            &["uid"],
        )
        .await;
    assert_eq!(vals(odd.only(), "uid"), ["alice"]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_attributes_and_membership() {
    let fx = Fixture::new();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = svc(&srv).await;
    let t = tenant_dn("contoso");
    let uids = |f: &crate::client::Found| -> Vec<String> {
        f.entries.iter().flat_map(|e| vals(e, "uid")).collect()
    };
    for (f, want) in [
        ("(uid=alice)", vec!["alice"]),
        ("(UID=ALICE)", vec!["alice"]),
        ("(mail=bob@contoso.example)", vec!["bob"]),
        ("(cn=Alice Archer)", vec!["alice"]),
        ("(&(objectClass=inetOrgPerson)(sn=B*))", vec!["bob"]),
        (
            "(&(objectClass=person)(|(uid=alice)(uid=dave)))",
            vec!["alice", "dave"],
        ),
        (
            "(&(objectClass=posixAccount)(uidNumber>=1000))",
            vec!["alice"],
        ),
        ("(&(uid=*)(uidNumber<=1))", vec![]),
        (
            "(&(objectClass=inetOrgPerson)(!(mail=*)))",
            vec!["svc", "writer"],
        ),
        ("(givenName~=ALICE)", vec!["alice"]),
        ("(cn=*arch*)", vec!["alice"]),
        ("(telephoneNumber=+15550100)", vec!["alice"]),
        ("(sshPublicKey=*)", vec!["alice"]),
        ("(uid:caseExactMatch:=Alice)", vec![]),
        ("(uid:=ALICE)", vec!["alice"]),
        ("(&(uid=bob)(ou:dn:=Users))", vec!["bob"]),
        (
            &format!("(memberOf={})", group_dn("contoso", "staff")),
            vec!["alice", "bob"],
        ),
        (
            &format!("(memberOf={})", group_dn("contoso", "all")),
            vec![],
        ),
        (
            &format!(
                "(memberOf:1.2.840.113556.1.4.1941:={})",
                group_dn("contoso", "all")
            ),
            vec!["alice", "bob"],
        ),
        (
            &format!(
                "(&(objectClass=person)(!(memberOf:1.2.840.113556.1.4.1941:={})))",
                group_dn("contoso", "all")
            ),
            vec!["carol", "dave", "svc", "writer"],
        ),
    ] {
        let got = c.search(&t, S::Subtree, f, &["uid"]).await;
        assert_eq!(got.code(), LdapResultCode::Success, "{f}");
        assert_eq!(uids(&got), want, "{f}");
    }
    // Groups: member/memberUid/memberOf, the posix lookups SSSD makes, in-chain upwards.
    let cns = |f: &crate::client::Found| -> Vec<String> {
        f.entries.iter().flat_map(|e| vals(e, "cn")).collect()
    };
    let alice = user_dn("contoso", "alice");
    for (f, want) in [
        (
            format!("(&(objectClass=groupOfNames)(member={alice}))"),
            vec!["staff", "wifi"],
        ),
        (
            "(&(objectClass=posixGroup)(memberUid=bob))".to_string(),
            vec!["staff"],
        ),
        (
            format!("(member:1.2.840.113556.1.4.1941:={alice})"),
            vec!["all", "staff", "wifi"],
        ),
        (
            format!("(member={})", group_dn("contoso", "staff")),
            vec!["all"],
        ),
        (
            format!("(memberOf={})", group_dn("contoso", "all")),
            vec!["staff"],
        ),
        (
            "(&(objectClass=posixGroup)(cn=staff))".to_string(),
            vec!["staff"],
        ),
    ] {
        let got = c.search(&t, S::Subtree, &f, &["cn"]).await;
        let mut got = cns(&got);
        got.sort();
        assert_eq!(got, want, "{f}");
    }
    let gid = vals(
        c.search(&t, S::Subtree, "(cn=wifi)", &["gidNumber"])
            .await
            .only(),
        "gidNumber",
    );
    let by_gid = c
        .search(
            &t,
            S::Subtree,
            &format!("(&(objectClass=posixGroup)(gidNumber={}))", gid[0]),
            &["cn"],
        )
        .await;
    assert_eq!(vals(by_gid.only(), "cn"), ["wifi"]);

    // Attributes: the user attributes by default, operational with "+", by name, types only.
    let a = c.search(&alice, S::Base, "(objectClass=*)", &[]).await;
    let e = a.only();
    assert_eq!(
        set(names(e)),
        set([
            "objectClass",
            "uid",
            "cn",
            "sn",
            "givenName",
            "displayName",
            "mail",
            "telephoneNumber",
            "uidNumber",
            "gidNumber",
            "homeDirectory",
            "loginShell",
            "sshPublicKey",
            "memberOf",
        ]
        .map(String::from)
        .to_vec())
    );
    assert_eq!(
        set(vals(e, "objectClass")),
        set([
            "top",
            "person",
            "organizationalPerson",
            "inetOrgPerson",
            "posixAccount",
            "ldapPublicKey"
        ]
        .map(String::from)
        .to_vec())
    );
    assert_eq!(
        dns(&vals(e, "memberOf")),
        dns(&[group_dn("contoso", "staff"), group_dn("contoso", "wifi")])
    );
    assert_eq!(vals(e, "homeDirectory"), ["/home/alice"]);
    let op = c.search(&alice, S::Base, "(objectClass=*)", &["+"]).await;
    let o = op.only();
    assert_eq!(
        vals(o, "entryUUID"),
        [fx.user("contoso", "alice").id.to_string()]
    );
    assert_eq!(vals(o, "createTimestamp"), ["20260101000000Z"]);
    assert!(vals(o, "uid").is_empty());
    let named = c
        .search(
            &alice,
            S::Base,
            "(objectClass=*)",
            &["MAIL", "entryuuid", "userPassword"],
        )
        .await;
    assert_eq!(names(named.only()), ["mail", "entryUUID"]);
    let mut req = search_req(&alice, S::Base, "(objectClass=*)", &["uid", "mail"]);
    req.typesonly = true;
    let types = c.search_with(req, vec![]).await;
    assert_eq!(names(types.only()), ["uid", "mail"]);
    assert!(types.only().attributes.iter().all(|a| a.vals.is_empty()));
    let staff = c
        .search(
            &group_dn("contoso", "staff"),
            S::Base,
            "(objectClass=*)",
            &[],
        )
        .await;
    let g = staff.only();
    assert_eq!(
        set(vals(g, "objectClass")),
        set(["top", "groupOfNames", "posixGroup"]
            .map(String::from)
            .to_vec())
    );
    assert_eq!(
        dns(&vals(g, "member")),
        dns(&[alice.clone(), user_dn("contoso", "bob")])
    );
    assert_eq!(
        set(vals(g, "memberUid")),
        set(vec!["alice".into(), "bob".into()])
    );
    assert_eq!(
        dns(&vals(g, "memberOf")),
        dns(&[group_dn("contoso", "all")])
    );
    assert_eq!(vals(g, "description"), ["Everyone on staff"]);
    let all = c
        .search(
            &group_dn("contoso", "all"),
            S::Base,
            "(objectClass=*)",
            &["member"],
        )
        .await;
    assert_eq!(vals(all.only(), "member"), [group_dn("contoso", "staff")]);

    // Flattening, for applications that cannot follow nesting.
    fx.set_flatten("contoso", true);
    let a = c
        .search(&alice, S::Base, "(objectClass=*)", &["memberOf"])
        .await;
    assert_eq!(
        dns(&vals(a.only(), "memberOf")),
        dns(&[
            group_dn("contoso", "all"),
            group_dn("contoso", "staff"),
            group_dn("contoso", "wifi")
        ])
    );
    let all = c
        .search(
            &group_dn("contoso", "all"),
            S::Base,
            "(objectClass=*)",
            &["member"],
        )
        .await;
    assert_eq!(
        dns(&vals(all.only(), "member")),
        dns(&[
            alice.clone(),
            user_dn("contoso", "bob"),
            group_dn("contoso", "staff")
        ])
    );
    let members = c
        .search(
            &t,
            S::Subtree,
            &format!("(memberOf={})", group_dn("contoso", "all")),
            &["uid"],
        )
        .await;
    assert_eq!(members.entries.len(), 3, "{:?}", members.dns());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bases_controls_compare_and_caps() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = svc(&srv).await;
    let t = tenant_dn("contoso");
    for (base, matched) in [
        (user_dn("contoso", "nobody"), format!("ou=Users,{t}")),
        (format!("cn=x,ou=Users,{t}"), format!("ou=Users,{t}")),
        (format!("ou=Computers,{t}"), t.clone()),
        (tenant_dn("nowhere"), SUFFIX.to_string()),
        (
            format!("cn=x,{}", user_dn("contoso", "alice")),
            user_dn("contoso", "alice"),
        ),
        ("dc=example,dc=com".to_string(), String::new()),
    ] {
        let r = c.search(&base, S::Base, "(objectClass=*)", &[]).await;
        assert_eq!(r.code(), LdapResultCode::NoSuchObject, "{base}");
        assert_eq!(
            r.done.matcheddn.to_ascii_lowercase(),
            matched.to_ascii_lowercase(),
            "{base}"
        );
    }
    let bad = c.search("uid=a,,", S::Base, "(objectClass=*)", &[]).await;
    assert_eq!(bad.code(), LdapResultCode::InvalidDNSyntax);
    // An unknown critical control is refused; a non-critical one is ignored.
    let ctrl = |critical| LdapControl::Unknown {
        oid: "1.2.3.4.5".into(),
        criticality: critical,
        value: None,
    };
    let r = c
        .search_with(
            search_req(&t, S::Base, "(objectClass=*)", &[]),
            vec![ctrl(true)],
        )
        .await;
    assert_eq!(r.code(), LdapResultCode::UnavailableCriticalExtension);
    assert!(r.entries.is_empty());
    let r = c
        .search_with(
            search_req(&t, S::Base, "(objectClass=*)", &[]),
            vec![ctrl(false)],
        )
        .await;
    assert_eq!(r.code(), LdapResultCode::Success);
    assert_eq!(r.entries.len(), 1);
    // Filters beyond the caps.
    let deep = format!("{}(uid=a){}", "(!".repeat(40), ")".repeat(40));
    let r = c.search(&t, S::Subtree, &deep, &[]).await;
    assert_eq!(r.code(), LdapResultCode::AdminLimitExceeded);
    let wide = format!("(|{})", "(uid=a)".repeat(600));
    let r = c.search(&t, S::Subtree, &wide, &[]).await;
    assert_eq!(r.code(), LdapResultCode::AdminLimitExceeded);
    // Compare.
    let alice = user_dn("contoso", "alice");
    assert_eq!(
        c.compare(&alice, "mail", "ALICE@contoso.example")
            .await
            .code,
        LdapResultCode::CompareTrue
    );
    assert_eq!(
        c.compare(&alice, "sn", "Baker").await.code,
        LdapResultCode::CompareFalse
    );
    assert_eq!(
        c.compare(&alice, "description", "x").await.code,
        LdapResultCode::NoSuchAttribute
    );
    assert_eq!(
        c.compare(&alice, "userPassword", PW).await.code,
        LdapResultCode::UnwillingToPerform
    );
    assert_eq!(
        c.compare(&group_dn("contoso", "staff"), "member", &alice)
            .await
            .code,
        LdapResultCode::CompareTrue
    );
    let r = c.compare(&user_dn("contoso", "nobody"), "uid", "x").await;
    assert_eq!(r.code, LdapResultCode::NoSuchObject);
    assert_eq!(r.matcheddn.to_ascii_lowercase(), format!("ou=users,{t}"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_and_paged_results() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = svc(&srv).await;
    let users = format!("ou=Users,{}", tenant_dn("contoso"));
    let any = "(objectClass=inetOrgPerson)";
    let mut req = search_req(&users, S::OneLevel, any, &["uid"]);
    req.sizelimit = 2;
    let r = c.search_with(req.clone(), vec![]).await;
    assert_eq!(r.code(), LdapResultCode::SizeLimitExceeded);
    assert_eq!(r.entries.len(), 2);
    req.sizelimit = 6;
    let r = c.search_with(req.clone(), vec![]).await;
    assert_eq!(
        r.code(),
        LdapResultCode::Success,
        "exactly at the limit is not over it"
    );
    assert_eq!(r.entries.len(), 6);

    // Paged: pages of two, real cookies, the last with an empty cookie.
    let req = search_req(&users, S::OneLevel, any, &["uid"]);
    let page = |cookie: Vec<u8>| vec![LdapControl::SimplePagedResults { size: 2, cookie }];
    let mut cookie = Vec::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = c.search_with(req.clone(), page(cookie.clone())).await;
        assert_eq!(r.code(), LdapResultCode::Success, "{:?}", r.done);
        assert!(r.entries.len() <= 2);
        seen.extend(r.entries.iter().flat_map(|e| vals(e, "uid")));
        pages += 1;
        cookie = r.cookie().expect("a paged response carries the control");
        if cookie.is_empty() {
            break;
        }
        assert_eq!(cookie.len(), 16);
        assert!(pages < 10);
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave", "svc", "writer"]);
    // A cookie is tied to its search: another filter, a made-up cookie, or a cookie used
    // twice are refused.
    let first = c.search_with(req.clone(), page(Vec::new())).await;
    let cookie = first.cookie().unwrap();
    let other = search_req(&users, S::OneLevel, "(uid=*)", &["uid"]);
    let r = c.search_with(other, page(cookie.clone())).await;
    assert_eq!(r.code(), LdapResultCode::UnwillingToPerform);
    let r = c.search_with(req.clone(), page(cookie)).await;
    assert_eq!(
        r.code(),
        LdapResultCode::UnwillingToPerform,
        "a refused cookie is gone"
    );
    let r = c.search_with(req.clone(), page(vec![7; 16])).await;
    assert_eq!(r.code(), LdapResultCode::UnwillingToPerform);
    // Page size 0 abandons a paged search.
    let first = c.search_with(req.clone(), page(Vec::new())).await;
    let cookie = first.cookie().unwrap();
    let r = c
        .search_with(
            req.clone(),
            vec![LdapControl::SimplePagedResults {
                size: 0,
                cookie: cookie.clone(),
            }],
        )
        .await;
    assert_eq!(r.code(), LdapResultCode::Success);
    assert!(r.entries.is_empty());
    let r = c.search_with(req.clone(), page(cookie)).await;
    assert_eq!(r.code(), LdapResultCode::UnwillingToPerform);
    // Another identity cannot continue someone's paged search.
    let first = c.search_with(req.clone(), page(Vec::new())).await;
    let cookie = first.cookie().unwrap();
    c.bind_ok(&user_dn("contoso", "writer"), PW).await;
    let r = c.search_with(req.clone(), page(cookie)).await;
    assert_eq!(r.code(), LdapResultCode::UnwillingToPerform);
    srv.stop().await;

    // The server's size limit holds whatever the client asks.
    let srv = Running::start(
        fx.dir(),
        LdapConfig {
            size_limit: 3,
            ..LdapConfig::default()
        },
    )
    .await;
    let mut c = svc(&srv).await;
    let r = c.search(&users, S::OneLevel, any, &["uid"]).await;
    assert_eq!(r.code(), LdapResultCode::SizeLimitExceeded);
    assert_eq!(r.entries.len(), 3);
    // Paged searches page through everything, the limit bounding each page.
    let r = c
        .search_with(
            search_req(&users, S::OneLevel, any, &["uid"]),
            vec![LdapControl::SimplePagedResults {
                size: 100,
                cookie: vec![],
            }],
        )
        .await;
    assert_eq!(r.code(), LdapResultCode::Success);
    assert_eq!(r.entries.len(), 3);
    assert!(!r.cookie().unwrap().is_empty());
    srv.stop().await;
}

/// A clock that jumps a second at every reading once told to: a search that reads it is over
/// any time limit at once.
#[derive(Debug)]
struct Jumping {
    now: AtomicI64,
    step: AtomicI64,
}

impl Clock for Jumping {
    fn now(&self) -> Timestamp {
        Timestamp(
            self.now
                .fetch_add(self.step.load(Ordering::SeqCst), Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limits() {
    let tmp = tempfile_dir();
    let clock = Arc::new(Jumping {
        now: AtomicI64::new(tessera_directory::testkit::START.0),
        step: AtomicI64::new(1),
    });
    let dir = Directory::options()
        .clock(clock.clone())
        .ids(Arc::new(ChaChaSource::seeded(3)))
        .pool(PoolConfig {
            workers: 1,
            ..PoolConfig::default()
        })
        .open(tmp.path(), test_key())
        .unwrap();
    let sys = Actor::system();
    let root = dir
        .tenants()
        .bootstrap(
            &sys,
            new_tenant("root", tessera_directory::policy::TenantKind::Customer),
        )
        .unwrap();
    let u = dir
        .users()
        .create(&sys, root.id, new_user("reader"))
        .unwrap();
    dir.credentials()
        .set_password(&sys, root.id, u.id, PW, false)
        .unwrap();
    for i in 0..5 {
        dir.users()
            .create(&sys, root.id, new_user(&format!("u{i}")))
            .unwrap();
    }
    let role = dir
        .rbac()
        .role_by_name(&sys, root.id, "Directory Reader")
        .unwrap();
    dir.rbac()
        .assign(
            &sys,
            root.id,
            tessera_directory::model::NewAssignment {
                subject: tessera_directory::model::Subject::User {
                    tenant: root.id,
                    id: u.id,
                },
                rights: Default::default(),
                roles: vec![role.id],
                expires_at: None,
            },
        )
        .unwrap();
    let g = dir
        .groups()
        .create(&sys, root.id, tessera_directory::testkit::new_group("ldap"))
        .unwrap();
    dir.groups()
        .add_member(
            &sys,
            root.id,
            g.id,
            tessera_directory::model::Member::User(u.id),
        )
        .unwrap();
    let app = dir.applications().ldap_service(&sys, root.id).unwrap();
    dir.applications()
        .bind_group(&sys, root.id, app.id, g.id)
        .unwrap();
    let srv = Running::start(
        &dir,
        LdapConfig {
            time_limit_secs: 0,
            ..LdapConfig::default()
        },
    )
    .await;
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("root", "reader"), PW).await;
    let mut req = search_req(&tenant_dn("root"), S::Subtree, "(objectClass=*)", &["1.1"]);
    let all = c.search_with(req.clone(), vec![]).await;
    assert_eq!(all.code(), LdapResultCode::Success);
    clock.step.store(1_000_000, Ordering::SeqCst);
    req.timelimit = 2;
    let r = c.search_with(req, vec![]).await;
    assert_eq!(r.code(), LdapResultCode::TimeLimitExceeded);
    assert!(r.entries.len() < all.entries.len());
    srv.stop().await;
    // The server's own limit applies to clients that set none.
    clock.step.store(1, Ordering::SeqCst);
    let srv = Running::start(
        &dir,
        LdapConfig {
            time_limit_secs: 1,
            ..LdapConfig::default()
        },
    )
    .await;
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("root", "reader"), PW).await;
    clock.step.store(1_000_000, Ordering::SeqCst);
    let r = c
        .search(&tenant_dn("root"), S::Subtree, "(objectClass=*)", &["1.1"])
        .await;
    assert_eq!(r.code(), LdapResultCode::TimeLimitExceeded);
    srv.stop().await;
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
