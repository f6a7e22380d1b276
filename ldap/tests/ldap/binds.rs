//! Binds (RFC 4513) and what the core's one authentication call decides: every failure says
//! invalidCredentials on the wire, with the reason in the audit log.

use crate::client::{vals, Client};
use crate::harness::{sys, user_dn, Fixture, Running, PW, SUFFIX};
use ldap3_proto::proto::{LdapBindCred, LdapBindRequest, LdapOp, LdapResultCode, LdapSearchScope};
use std::collections::BTreeSet;
use tessera_directory::model::{AuditKind, AuditQuery, TenantPolicy};
use tessera_directory::policy::settings::{LockThreshold, Setting};
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::totp_code;
use tessera_ldap::{LdapConfig, PlainBinds};

/// The reasons of the LDAP authentication events of a tenant, oldest first.
fn reasons(fx: &Fixture, slug: &str) -> Vec<String> {
    let q = AuditQuery {
        kind: Some(AuditKind::Authentication),
        limit: Some(1000),
        ..AuditQuery::tenant(fx.tenant(slug).id)
    };
    let mut events = fx.dir().audit().query(&sys(), &q).unwrap().events;
    events.sort_by_key(|e| e.at);
    events
        .into_iter()
        .filter(|e| e.protocol == Protocol::Ldap)
        .map(|e| format!("{} {}", e.target, e.reason.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_unauthenticated_binds() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = Client::connect(srv.plain).await;
    // Anonymous: the root DSE and the schema, nothing else.
    assert_eq!(c.bind("", "").await.code, LdapResultCode::Success);
    assert_eq!(c.whoami().await, "");
    let dse = c
        .search("", LdapSearchScope::Base, "(objectClass=*)", &[])
        .await;
    let e = dse.only();
    assert_eq!(vals(e, "namingContexts"), [SUFFIX]);
    assert_eq!(vals(e, "supportedLDAPVersion"), ["3"]);
    let ext = vals(e, "supportedExtension");
    for oid in [
        "1.3.6.1.4.1.1466.20037",
        "1.3.6.1.4.1.4203.1.11.3",
        "1.3.6.1.4.1.4203.1.11.1",
    ] {
        assert!(ext.contains(&oid.to_string()), "{ext:?}");
    }
    assert!(vals(e, "supportedControl").contains(&"1.2.840.113556.1.4.319".to_string()));
    assert_eq!(vals(e, "subschemaSubentry"), ["cn=Subschema"]);
    assert_eq!(vals(e, "vendorName"), ["Tessera"]);
    let schema = c
        .search(
            "cn=Subschema",
            LdapSearchScope::Base,
            "(objectClass=subschema)",
            &["objectClasses", "attributeTypes"],
        )
        .await;
    let s = schema.only();
    assert!(vals(s, "objectClasses")
        .iter()
        .any(|d| d.contains("'inetOrgPerson'")));
    assert!(vals(s, "attributeTypes")
        .iter()
        .any(|d| d.contains("'memberOf'")));
    let denied = c
        .search(SUFFIX, LdapSearchScope::Subtree, "(objectClass=*)", &[])
        .await;
    assert_eq!(denied.code(), LdapResultCode::InsufficentAccessRights);
    assert!(denied.entries.is_empty());
    // A DN without a password is an unauthenticated bind: refused.
    let r = c.bind(&user_dn("contoso", "alice"), "").await;
    assert_eq!(r.code, LdapResultCode::UnwillingToPerform);
    // A password without a DN is no bind at all.
    assert_eq!(
        c.bind("", PW).await.code,
        LdapResultCode::InvalidCredentials
    );
    // Only simple binds, only LDAPv3.
    let id = c
        .send(
            LdapOp::BindRequest(LdapBindRequest {
                version: 2,
                dn: user_dn("contoso", "alice"),
                cred: LdapBindCred::Simple(PW.into()),
            }),
            vec![],
        )
        .await;
    let m = c.recv().await.unwrap();
    assert_eq!(m.msgid, id);
    let LdapOp::BindResponse(r) = m.op else {
        panic!()
    };
    assert_eq!(r.res.code, LdapResultCode::ProtocolError);
    let id = c
        .send(
            LdapOp::BindRequest(LdapBindRequest {
                version: 3,
                dn: String::new(),
                cred: LdapBindCred::SASL(ldap3_proto::proto::SaslCredentials {
                    mechanism: "EXTERNAL".into(),
                    credentials: vec![],
                }),
            }),
            vec![],
        )
        .await;
    let m = c.recv().await.unwrap();
    assert_eq!(m.msgid, id);
    let LdapOp::BindResponse(r) = m.op else {
        panic!()
    };
    assert_eq!(r.res.code, LdapResultCode::AuthMethodNotSupported);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_is_invalid_credentials_with_the_reason_in_the_audit_log() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("contoso", "alice"), PW).await;
    assert_eq!(
        c.whoami().await,
        format!("dn:{}", user_dn("contoso", "alice"))
    );
    // The DN compares case- and space-insensitively.
    c.bind_ok("UID=Alice , OU=users,O=Contoso,DC=Tessera,DC=Local", PW)
        .await;
    for (dn, pw) in [
        (user_dn("contoso", "alice"), "wrong-password"),
        (user_dn("contoso", "nobody"), PW),
        (user_dn("nowhere", "alice"), PW),
        (user_dn("contoso", "carol"), PW), // suspended
        (user_dn("contoso", "dave"), PW),  // in no group the LDAP service allows
        (format!("cn=admin,{SUFFIX}"), PW),
        ("cn=admin,dc=example,dc=com".to_string(), PW),
        ("not a dn".to_string(), PW),
    ] {
        let r = c.bind(&dn, pw).await;
        assert_eq!(r.code, LdapResultCode::InvalidCredentials, "{dn}");
        assert_eq!(r.message, "invalid credentials", "{dn}");
        // A failed bind leaves the connection anonymous.
        assert_eq!(c.whoami().await, "");
    }
    let log = reasons(fx, "contoso");
    for want in [
        "user:alice success",
        "user:alice bad_credentials: wrong password",
        "user:nobody bad_credentials: unknown user",
        "user:carol suspended: user suspended",
        "user:dave not_allowed: not in a group bound to the application",
    ] {
        assert!(log.iter().any(|l| l == want), "{want} not in {log:#?}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_rebinds_skip_the_hash_and_lockout_and_mfa_come_from_the_core() {
    let fx = Fixture::new();
    let t = fx.tenant("contoso").id;
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut c = Client::connect(srv.plain).await;
    let bob = user_dn("contoso", "bob");
    c.bind_ok(&bob, PW).await;
    let (_, verified) = fx.dir().hashing_counts();
    for _ in 0..5 {
        c.bind_ok(&bob, PW).await;
    }
    assert_eq!(
        fx.dir().hashing_counts().1,
        verified,
        "re-binds went to argon2"
    );

    // MFA for LDAP: the password alone is not enough; password + "," + code is.
    let mut policy = TenantPolicy::default();
    policy.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Ldap]));
    policy.settings.lockout.threshold = Setting::set(LockThreshold(3));
    fx.dir().policies().set(&sys(), t, policy).unwrap();
    let alice = fx.user("contoso", "alice");
    let e = fx
        .dir()
        .credentials()
        .enroll_totp(&sys(), t, alice.id)
        .unwrap();
    let now = fx.dir().now();
    fx.dir()
        .credentials()
        .confirm_totp(&sys(), t, alice.id, &totp_code(&e.url, now))
        .unwrap();
    let alice_dn = user_dn("contoso", "alice");
    assert_eq!(
        c.bind(&alice_dn, PW).await.code,
        LdapResultCode::InvalidCredentials
    );
    fx.clock.advance_secs(30);
    let code = totp_code(&e.url, fx.dir().now());
    c.bind_ok(&alice_dn, &format!("{PW},{code}")).await;
    // Lockout: three failures, then even the right password fails.
    for _ in 0..3 {
        assert_eq!(
            c.bind(&bob, "wrong").await.code,
            LdapResultCode::InvalidCredentials
        );
    }
    assert_eq!(
        c.bind(&bob, PW).await.code,
        LdapResultCode::InvalidCredentials
    );
    let log = reasons(&fx, "contoso");
    assert!(
        log.iter()
            .any(|l| l == "user:alice mfa_required: TOTP code required"),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l == "user:bob locked: account locked"),
        "{log:#?}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_binds_in_the_clear_only_where_allowed() {
    let fx = Fixture::shared();
    let dn = user_dn("fabrikam", "alice");
    let never = LdapConfig {
        plain_binds: PlainBinds::Never,
        ..LdapConfig::default()
    };
    let srv = Running::start(fx.dir(), never).await;
    let mut c = Client::connect(srv.plain).await;
    let r = c.bind(&dn, PW).await;
    assert_eq!(r.code, LdapResultCode::ConfidentialityRequired);
    // Anonymous binds carry no password: fine in the clear.
    assert_eq!(c.bind("", "").await.code, LdapResultCode::Success);
    let mut c = c.starttls(&srv.connector).await;
    c.bind_ok(&dn, PW).await;
    let mut s = Client::ldaps(srv.ldaps, &srv.connector).await;
    s.bind_ok(&dn, PW).await;
    srv.stop().await;
    // The default: loopback may bind in the clear (these tests connect from 127.0.0.1).
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    Client::connect(srv.plain).await.bind_ok(&dn, PW).await;
    srv.stop().await;
}
