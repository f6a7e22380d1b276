//! What a bound identity sees comes from the RBAC engine: a Directory Reader sees its tenant,
//! an MSP account with a scoped role sees its customers and nothing else, a user without
//! Directory:Read sees itself and its groups — and whatever one may not see answers exactly
//! like something that does not exist.

use crate::client::{vals, Client};
use crate::harness::{group_dn, tenant_dn, user_dn, Fixture, Running, PW, SUFFIX};
use ldap3_proto::proto::{LdapResultCode, LdapSearchScope as S};
use tessera_ldap::LdapConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_their_tenant_msps_their_customers() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;

    // contoso's service account: contoso only, though alice lives in three tenants.
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("contoso", "svc"), PW).await;
    let alices = c.search(SUFFIX, S::Subtree, "(uid=alice)", &["uid"]).await;
    assert_eq!(alices.dns(), [user_dn("contoso", "alice")]);
    let tenants = c
        .search(SUFFIX, S::Subtree, "(objectClass=organization)", &["o"])
        .await;
    let mut seen: Vec<String> = tenants.entries.iter().flat_map(|e| vals(e, "o")).collect();
    seen.sort();
    assert_eq!(seen, ["contoso", "tessera"]);
    // Another tenant is not "forbidden": it is not there, exactly like a missing one.
    for base in [tenant_dn("fabrikam"), tenant_dn("no-such-tenant")] {
        let r = c.search(&base, S::Base, "(objectClass=*)", &[]).await;
        assert_eq!(r.code(), LdapResultCode::NoSuchObject, "{base}");
        assert_eq!(r.done.matcheddn, SUFFIX, "{base}");
        assert_eq!(r.done.message, "no such object");
    }
    let hidden = c
        .search(
            &user_dn("fabrikam", "alice"),
            S::Base,
            "(objectClass=*)",
            &[],
        )
        .await;
    let missing = c
        .search(
            &user_dn("nowhere", "alice"),
            S::Base,
            "(objectClass=*)",
            &[],
        )
        .await;
    assert_eq!(
        (hidden.code(), &hidden.done.matcheddn, &hidden.done.message),
        (
            missing.code(),
            &missing.done.matcheddn,
            &missing.done.message
        )
    );
    let r = c
        .compare(&user_dn("fabrikam", "alice"), "uid", "alice")
        .await;
    assert_eq!(r.code, LdapResultCode::NoSuchObject);

    // acme's MSP account with Directory Reader at acme: acme, contoso and fabrikam.
    let mut m = Client::connect(srv.plain).await;
    m.bind_ok(&user_dn("acme", "msp"), PW).await;
    let alices = m.search(SUFFIX, S::Subtree, "(uid=alice)", &["uid"]).await;
    let mut got = alices.dns();
    got.sort();
    assert_eq!(
        got,
        [user_dn("contoso", "alice"), user_dn("fabrikam", "alice")]
    );
    let tenants = m
        .search(SUFFIX, S::OneLevel, "(objectClass=*)", &["o"])
        .await;
    let mut seen: Vec<String> = tenants.entries.iter().flat_map(|e| vals(e, "o")).collect();
    seen.sort();
    assert_eq!(seen, ["acme", "contoso", "fabrikam"]);
    let g = m
        .search(&tenant_dn("globex"), S::Subtree, "(objectClass=*)", &[])
        .await;
    assert_eq!(g.code(), LdapResultCode::NoSuchObject);
    assert!(g.entries.is_empty());
    let everything = m
        .search(SUFFIX, S::Subtree, "(objectClass=*)", &["1.1"])
        .await;
    assert!(everything
        .dns()
        .iter()
        .all(|d| !d.contains("globex") && !d.contains("summit") && !d.contains("o=root")));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_directory_read_sees_itself_and_its_groups() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("contoso", "alice"), PW).await;
    let t = tenant_dn("contoso");
    let everything = c.search(&t, S::Subtree, "(objectClass=*)", &["1.1"]).await;
    assert_eq!(everything.code(), LdapResultCode::Success);
    let mut got = everything.dns();
    got.sort();
    let mut want = vec![
        t.clone(),
        format!("ou=Users,{t}"),
        format!("ou=Groups,{t}"),
        user_dn("contoso", "alice"),
        group_dn("contoso", "all"),
        group_dn("contoso", "staff"),
        group_dn("contoso", "wifi"),
    ];
    want.sort();
    assert_eq!(got, want);
    // Of a group, alice sees that she is in it, not who else is.
    let staff = c
        .search(
            &group_dn("contoso", "staff"),
            S::Base,
            "(objectClass=*)",
            &["member", "memberUid"],
        )
        .await;
    assert_eq!(vals(staff.only(), "member"), [user_dn("contoso", "alice")]);
    assert_eq!(vals(staff.only(), "memberUid"), ["alice"]);
    let me = c
        .search(
            &user_dn("contoso", "alice"),
            S::Base,
            "(objectClass=*)",
            &["memberOf"],
        )
        .await;
    assert_eq!(vals(me.only(), "memberOf").len(), 2);
    // bob is as absent as someone who does not exist.
    for who in ["bob", "nobody"] {
        let r = c
            .search(&user_dn("contoso", who), S::Base, "(objectClass=*)", &[])
            .await;
        assert_eq!(r.code(), LdapResultCode::NoSuchObject, "{who}");
        assert_eq!(r.done.matcheddn, format!("ou=Users,{t}"), "{who}");
    }
    let r = c.search(&t, S::Subtree, "(uid=bob)", &[]).await;
    assert!(r.entries.is_empty());
    let r = c
        .search(
            &t,
            S::Subtree,
            &format!(
                "(memberOf:1.2.840.113556.1.4.1941:={})",
                group_dn("contoso", "all")
            ),
            &["uid"],
        )
        .await;
    assert_eq!(r.dns(), [user_dn("contoso", "alice")]);
    // Nothing outside its tenant either.
    let r = c
        .search(SUFFIX, S::OneLevel, "(objectClass=*)", &["o"])
        .await;
    assert_eq!(r.dns(), std::slice::from_ref(&t));
    srv.stop().await;
}
