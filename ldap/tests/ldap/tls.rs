//! StartTLS (and its command-injection guard) and LDAPS.

use crate::client::{vals, Client};
use crate::harness::{user_dn, Fixture, Running, PW};
use bytes::BytesMut;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapExtendedRequest, LdapMsg, LdapOp, LdapResultCode,
    LdapSearchScope,
};
use ldap3_proto::LdapCodec;
use tessera_ldap::{LdapConfig, PlainBinds};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::Encoder;

fn starttls(id: i32) -> LdapMsg {
    LdapMsg::new(
        id,
        LdapOp::ExtendedRequest(LdapExtendedRequest {
            name: "1.3.6.1.4.1.1466.20037".into(),
            value: None,
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_upgrades_and_ldaps_serves() {
    let fx = Fixture::shared();
    let cfg = LdapConfig {
        plain_binds: PlainBinds::Never,
        ..LdapConfig::default()
    };
    let srv = Running::start(fx.dir(), cfg).await;
    let dn = user_dn("contoso", "svc");
    let c = Client::connect(srv.plain).await;
    let mut c = c.starttls(&srv.connector).await;
    c.bind_ok(&dn, PW).await;
    assert_eq!(c.whoami().await, format!("dn:{dn}"));
    // Over TLS, StartTLS is no longer offered, and asking again is an error.
    let dse = c
        .search(
            "",
            LdapSearchScope::Base,
            "(objectClass=*)",
            &["supportedExtension"],
        )
        .await;
    assert!(!vals(dse.only(), "supportedExtension").contains(&"1.3.6.1.4.1.1466.20037".to_string()));
    let r = c
        .extended(LdapExtendedRequest {
            name: "1.3.6.1.4.1.1466.20037".into(),
            value: None,
        })
        .await;
    assert_eq!(r.res.code, LdapResultCode::OperationsError);
    let mut s = Client::ldaps(srv.ldaps, &srv.connector).await;
    s.bind_ok(&dn, PW).await;
    let found = s
        .search(
            &user_dn("contoso", "alice"),
            LdapSearchScope::Base,
            "(objectClass=*)",
            &["uid"],
        )
        .await;
    assert_eq!(vals(found.only(), "uid"), ["alice"]);
    let r = s
        .extended(LdapExtendedRequest {
            name: "1.3.6.1.4.1.1466.20037".into(),
            value: None,
        })
        .await;
    assert_eq!(r.res.code, LdapResultCode::OperationsError);
    srv.stop().await;

    // A listener without StartTLS says so.
    let srv = Running::start_with(fx.dir(), LdapConfig::default(), false).await;
    let mut c = Client::connect(srv.plain).await;
    let r = c
        .extended(LdapExtendedRequest {
            name: "1.3.6.1.4.1.1466.20037".into(),
            value: None,
        })
        .await;
    assert_eq!(r.res.code, LdapResultCode::Unavailable);
    let dse = c
        .search(
            "",
            LdapSearchScope::Base,
            "(objectClass=*)",
            &["supportedExtension"],
        )
        .await;
    assert!(!vals(dse.only(), "supportedExtension").contains(&"1.3.6.1.4.1.1466.20037".to_string()));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_after_starttls_in_the_same_read_are_refused() {
    let fx = Fixture::shared();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    // StartTLS and a bind in one write: the bind would otherwise be read as if it came over
    // TLS.
    let mut buf = BytesMut::new();
    let mut codec = LdapCodec::default();
    codec.encode(starttls(1), &mut buf).unwrap();
    codec
        .encode(
            LdapMsg::new(
                2,
                LdapOp::BindRequest(LdapBindRequest {
                    version: 3,
                    dn: user_dn("contoso", "svc"),
                    cred: LdapBindCred::Simple(PW.into()),
                }),
            ),
            &mut buf,
        )
        .unwrap();
    let mut tcp = TcpStream::connect(srv.plain).await.unwrap();
    tcp.write_all(&buf).await.unwrap();
    let mut c = Client::over(tcp);
    let m = c.recv().await.unwrap();
    assert_eq!(m.msgid, 1);
    let LdapOp::ExtendedResponse(r) = m.op else {
        panic!("{m:?}")
    };
    assert_eq!(r.res.code, LdapResultCode::OperationsError);
    assert!(c.closed().await, "the connection must close");
    // The server is fine.
    let mut ok = Client::connect(srv.plain).await;
    ok.bind_ok(&user_dn("contoso", "svc"), PW).await;
    srv.stop().await;
}
