//! Extended operations: WhoAmI and Password Modify (RFC 3062).

use crate::client::Client;
use crate::harness::{user_dn, Fixture, Running, PW};
use ldap3_proto::proto::{
    LdapExtendedRequest, LdapPasswordModifyRequest, LdapPasswordModifyResponse, LdapResultCode,
};
use tessera_ldap::{LdapConfig, PlainBinds};
use tokio::io::{AsyncRead, AsyncWrite};

async fn passwd<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Client<S>,
    who: Option<&str>,
    old: Option<&str>,
    new: Option<&str>,
) -> LdapPasswordModifyResponse {
    let r = c
        .extended(
            LdapPasswordModifyRequest {
                user_identity: who.map(str::to_string),
                old_password: old.map(str::to_string),
                new_password: new.map(str::to_string),
            }
            .into(),
        )
        .await;
    if r.res.code == LdapResultCode::Success {
        LdapPasswordModifyResponse::try_from(&r).unwrap()
    } else {
        LdapPasswordModifyResponse {
            res: r.res,
            gen_password: None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_modify_self_service_reset_and_generated() {
    let fx = Fixture::new();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let alice = user_dn("contoso", "alice");
    let bob = user_dn("contoso", "bob");
    let mut c = Client::connect(srv.plain).await;
    // Anonymous: no.
    let r = passwd(&mut c, Some(&alice), None, Some("x")).await;
    assert_eq!(r.res.code, LdapResultCode::UnwillingToPerform);
    // Self-service with the old password; the policy applies; a wrong old one is refused.
    c.bind_ok(&alice, PW).await;
    let r = passwd(&mut c, None, Some(PW), Some("short")).await;
    assert_eq!(r.res.code, LdapResultCode::ConstraintViolation);
    assert!(r.res.message.contains("password"), "{}", r.res.message);
    let r = passwd(
        &mut c,
        None,
        Some("not-the-old-one"),
        Some("Another-Good-Pass-77"),
    )
    .await;
    assert_eq!(r.res.code, LdapResultCode::InvalidCredentials);
    let r = passwd(
        &mut c,
        Some(&format!("dn:{alice}")),
        Some(PW),
        Some("Another-Good-Pass-77"),
    )
    .await;
    assert_eq!(r.res.code, LdapResultCode::Success, "{:?}", r.res);
    assert!(r.gen_password.is_none());
    c.bind_ok(&alice, "Another-Good-Pass-77").await;
    // Without the old password, one's own change is an administrator's reset: refused here.
    let r = passwd(&mut c, None, None, Some("Yet-Another-Pass-88")).await;
    assert_eq!(r.res.code, LdapResultCode::InsufficentAccessRights);
    // bob is not there for alice.
    let r = passwd(&mut c, Some(&bob), None, Some("Yet-Another-Pass-88")).await;
    assert_eq!(r.res.code, LdapResultCode::NoSuchObject);

    // An administrator (Credentials:Execute) resets, and gets a generated password when
    // giving none.
    let mut w = Client::connect(srv.plain).await;
    w.bind_ok(&user_dn("contoso", "writer"), PW).await;
    let r = passwd(&mut w, Some(&bob), None, None).await;
    assert_eq!(r.res.code, LdapResultCode::Success, "{:?}", r.res);
    let generated = r.gen_password.expect("a generated password");
    assert!(generated.len() >= 20);
    let mut b = Client::connect(srv.plain).await;
    assert_eq!(
        b.bind(&bob, PW).await.code,
        LdapResultCode::InvalidCredentials
    );
    b.bind_ok(&bob, &generated).await;
    let r = passwd(&mut w, Some("u:bob"), None, Some("Chosen-By-Admin-99")).await;
    assert_eq!(r.res.code, LdapResultCode::Success);
    b.bind_ok(&bob, "Chosen-By-Admin-99").await;
    // Users of other tenants are not there for contoso's administrator.
    let r = passwd(&mut w, Some(&user_dn("fabrikam", "bob")), None, None).await;
    assert_eq!(r.res.code, LdapResultCode::NoSuchObject);
    // An unknown extended operation.
    let r = w
        .extended(LdapExtendedRequest {
            name: "1.2.3.4".into(),
            value: None,
        })
        .await;
    assert_eq!(r.res.code, LdapResultCode::ProtocolError);
    srv.stop().await;

    // Passwords do not travel in the clear where binds may not.
    let srv = Running::start(
        fx.dir(),
        LdapConfig {
            plain_binds: PlainBinds::Never,
            ..LdapConfig::default()
        },
    )
    .await;
    let c = Client::connect(srv.plain).await;
    let mut c = c.starttls(&srv.connector).await;
    c.bind_ok(&alice, "Another-Good-Pass-77").await;
    let mut plain = Client::connect(srv.plain).await;
    let r = passwd(&mut plain, Some(&alice), Some("a"), Some("b")).await;
    assert_eq!(
        r.res.code,
        LdapResultCode::UnwillingToPerform,
        "anonymous first"
    );
    let r = passwd(
        &mut c,
        None,
        Some("Another-Good-Pass-77"),
        Some("Over-Tls-Pass-2026"),
    )
    .await;
    assert_eq!(r.res.code, LdapResultCode::Success);
    srv.stop().await;
}
