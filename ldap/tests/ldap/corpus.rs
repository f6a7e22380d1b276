//! The fuzz corpus (`fuzz/corpus/ldap_request`: the seeds and every input a fuzzing run found
//! to crash or hang the server) replayed on stable through the fuzz target's own entry: each
//! file is served as one connection's bytes, and the server must neither panic nor hang, and
//! must answer a valid request after it.

use crate::garbage::server_panics;
use crate::harness::{sys, tls, user_dn, Fixture, PW};
use bytes::BytesMut;
use ldap3_proto::proto::*;
use ldap3_proto::LdapCodec;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tessera_directory::policy::settings::{LockThreshold, Setting};
use tessera_ldap::fuzzing::serve_bytes;
use tessera_ldap::{LdapConfig, LdapServer, Security};
use tokio_util::codec::{Decoder, Encoder};

/// Far above what any corpus input needs (the fuzz target allows as much).
const LIMIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fuzz_corpus_leaves_the_server_serving() {
    let panics = server_panics();
    let before = panics.load(Ordering::SeqCst);
    let fx = Fixture::new();
    // As in the fuzz target's directory: failed binds never lock an account.
    let mut policy = tessera_directory::model::TenantPolicy::default();
    policy.settings.lockout.threshold = Setting::set(LockThreshold(0));
    fx.dir()
        .policies()
        .set(&sys(), fx.tenant("contoso").id, policy)
        .unwrap();
    let server = LdapServer::new(fx.dir().clone(), LdapConfig::default()).unwrap();
    let security = Security::StartTls(tls().acceptor);

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ldap_request");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the seed corpus is missing");

    let mut check = BytesMut::new();
    for m in [
        LdapMsg::new(
            1,
            LdapOp::BindRequest(LdapBindRequest {
                version: 3,
                dn: user_dn("contoso", "svc"),
                cred: LdapBindCred::Simple(PW.into()),
            }),
        ),
        LdapMsg::new(
            2,
            LdapOp::SearchRequest(LdapSearchRequest {
                base: user_dn("contoso", "alice"),
                scope: LdapSearchScope::Base,
                aliases: LdapDerefAliases::Never,
                sizelimit: 0,
                timelimit: 0,
                typesonly: false,
                filter: LdapFilter::Present("objectClass".into()),
                attrs: vec!["uid".into()],
            }),
        ),
        LdapMsg::new(3, LdapOp::UnbindRequest),
    ] {
        LdapCodec::default().encode(m, &mut check).unwrap();
    }

    for file in &files {
        let name = file.display();
        let input = std::fs::read(file).unwrap();
        tokio::time::timeout(LIMIT, serve_bytes(&server, security.clone(), &input))
            .await
            .unwrap_or_else(|_| panic!("{name}: the connection neither ended nor closed"));
        let back = tokio::time::timeout(LIMIT, serve_bytes(&server, security.clone(), &check))
            .await
            .unwrap_or_else(|_| panic!("after {name}: no answer"));
        let mut buf = BytesMut::from(&back[..]);
        let mut codec = LdapCodec::default();
        let mut ops = Vec::new();
        while let Some(m) = codec.decode(&mut buf).unwrap() {
            ops.push(m.op);
        }
        match &ops[..] {
            [LdapOp::BindResponse(b), LdapOp::SearchResultEntry(e), LdapOp::SearchResultDone(d)] => {
                assert_eq!(b.res.code, LdapResultCode::Success, "after {name}: {b:?}");
                assert_eq!(e.dn, user_dn("contoso", "alice"), "after {name}");
                assert_eq!(d.code, LdapResultCode::Success, "after {name}: {d:?}");
            }
            other => panic!("after {name}: {other:?}"),
        }
        assert_eq!(
            panics.load(Ordering::SeqCst),
            before,
            "{name}: the server panicked"
        );
    }
}
