//! Hostile and broken input, and the connection limits: no panic on any input, a Notice of
//! Disconnection where the protocol breaks, caps per source, idle timeout, graceful shutdown.

use crate::client::{filter, search_req, Client};
use crate::harness::{group_dn, user_dn, Fixture, Running, PW, SUFFIX};
use bytes::BytesMut;
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::*;
use ldap3_proto::LdapCodec;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tessera_ldap::LdapConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Encoder;

/// Panics on the server's threads (runtime workers and blocking threads), counted by a hook
/// installed once for the whole test binary.
pub fn server_panics() -> &'static AtomicUsize {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                COUNT.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    &COUNT
}

fn encode(msgs: &[LdapMsg]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let mut codec = LdapCodec::default();
    for m in msgs {
        codec.encode(m.clone(), &mut buf).unwrap();
    }
    buf.to_vec()
}

/// Sends raw bytes, closes the writing half, and reads until the server closes: returns what
/// came back.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let _ = tcp.write_all(bytes).await;
    let _ = tcp.shutdown().await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tcp.read_to_end(&mut out),
    )
    .await
    .expect("the server neither answered nor closed");
    out
}

fn ber_len(n: usize) -> Vec<u8> {
    if n < 128 {
        vec![n as u8]
    } else {
        let b = n.to_be_bytes();
        let skip = b.iter().take_while(|x| **x == 0).count();
        let mut v = vec![0x80 | (b.len() - skip) as u8];
        v.extend_from_slice(&b[skip..]);
        v
    }
}

/// Valid requests of every kind, to mutate.
fn seeds() -> Vec<LdapMsg> {
    let t = format!("o=contoso,{SUFFIX}");
    let mut search = search_req(
        &t,
        LdapSearchScope::Subtree,
        &format!(
            "(&(|(uid=a*b*c)(cn~=x)(uidNumber>=10))(!(mail=*))(memberOf:1.2.840.113556.1.4.1941:={})(uid:dn:caseExactMatch:=y))",
            group_dn("contoso", "all")
        ),
        &["*", "+", "memberOf"],
    );
    search.sizelimit = 3;
    let attr = |a: &str, v: &[&str]| LdapPartialAttribute {
        atype: a.into(),
        vals: v.iter().map(|x| x.as_bytes().to_vec()).collect(),
    };
    vec![
        LdapMsg::new(
            2,
            LdapOp::BindRequest(LdapBindRequest {
                version: 3,
                dn: user_dn("contoso", "svc"),
                cred: LdapBindCred::Simple(PW.into()),
            }),
        ),
        LdapMsg::new_with_ctrls(
            3,
            LdapOp::SearchRequest(search),
            vec![
                LdapControl::SimplePagedResults {
                    size: 2,
                    cookie: vec![],
                },
                LdapControl::ManageDsaIT { criticality: false },
            ],
        ),
        LdapMsg::new(
            4,
            LdapOp::AddRequest(LdapAddRequest {
                dn: user_dn("contoso", "zed"),
                attributes: vec![
                    attr("objectClass", &["inetOrgPerson", "posixAccount"]),
                    attr("cn", &["Zed"]),
                    attr("sn", &["Zed"]),
                    attr("uidNumber", &["5001"]),
                ],
            }),
        ),
        LdapMsg::new(
            5,
            LdapOp::ModifyRequest(LdapModifyRequest {
                dn: group_dn("contoso", "staff"),
                changes: vec![LdapModify {
                    operation: LdapModifyType::Add,
                    modification: attr("member", &[&user_dn("contoso", "dave")]),
                }],
            }),
        ),
        LdapMsg::new(
            6,
            LdapOp::ModifyDNRequest(LdapModifyDNRequest {
                dn: user_dn("contoso", "dave"),
                newrdn: "uid=dave2".into(),
                deleteoldrdn: true,
                new_superior: Some(format!("ou=Users,{t}")),
            }),
        ),
        LdapMsg::new(
            7,
            LdapOp::ExtendedRequest(
                LdapPasswordModifyRequest {
                    user_identity: Some(format!("dn:{}", user_dn("contoso", "dave"))),
                    old_password: None,
                    new_password: Some("Fuzzed-Password-2026".into()),
                }
                .into(),
            ),
        ),
        LdapMsg::new(
            8,
            LdapOp::CompareRequest(LdapCompareRequest {
                dn: user_dn("contoso", "alice"),
                atype: "uid".into(),
                val: b"alice".to_vec(),
            }),
        ),
        LdapMsg::new(9, LdapOp::DelRequest(user_dn("contoso", "zed"))),
        LdapMsg::new(10, LdapOp::AbandonRequest(3)),
        LdapMsg::new(
            11,
            LdapOp::SearchRequest(search_req(
                "",
                LdapSearchScope::Base,
                "(objectClass=*)",
                &[],
            )),
        ),
    ]
}

/// xorshift64: deterministic, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, mut b: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(3) {
        let i = rng.below(b.len());
        match rng.below(7) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = [0x00, 0xff, 0x80, 0x7f, 0x30, 0x04, 0x84][rng.below(7)],
            2 => b.truncate(i),
            3 => {
                let extra: Vec<u8> = (0..rng.below(8)).map(|_| rng.next() as u8).collect();
                b.splice(i..i, extra);
            }
            4 => {
                let end = (i + rng.below(16)).min(b.len());
                let dup = b[i..end].to_vec();
                b.splice(i..i, dup);
            }
            5 => {
                if i < b.len() {
                    b.remove(i);
                }
            }
            _ => b[i] = b[i].wrapping_add(1),
        }
        if b.is_empty() {
            b.push(0x30);
        }
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_input_makes_the_server_panic() {
    let panics = server_panics();
    let fx = Fixture::new();
    // Mutated binds fail: keep them from locking the account the cases bind with.
    let mut policy = tessera_directory::model::TenantPolicy::default();
    policy.settings.lockout.threshold = tessera_directory::policy::settings::Setting::set(
        tessera_directory::policy::settings::LockThreshold(0),
    );
    fx.dir()
        .policies()
        .set(&crate::harness::sys(), fx.tenant("contoso").id, policy)
        .unwrap();
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let before = panics.load(Ordering::SeqCst);

    // Plain garbage, a message id 0, a response sent as a request: a notice, then closed.
    for bytes in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0xff; 64],
        encode(&[LdapMsg::new(0, LdapOp::UnbindRequest)]),
        encode(&[LdapMsg::new(
            1,
            LdapOp::DelResponse(LdapResult {
                code: LdapResultCode::Success,
                matcheddn: String::new(),
                message: String::new(),
                referral: vec![],
            }),
        )]),
    ] {
        let back = raw(srv.plain, &bytes).await;
        let mut codec = LdapCodec::default();
        let mut buf = BytesMut::from(&back[..]);
        let notice = tokio_util::codec::Decoder::decode(&mut codec, &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(notice.msgid, 0, "{notice:?}");
        let LdapOp::ExtendedResponse(r) = notice.op else {
            panic!()
        };
        assert_eq!(r.name.as_deref(), Some("1.3.6.1.4.1.1466.20036"));
        assert_eq!(r.res.code, LdapResultCode::ProtocolError);
    }
    // Nesting beyond any depth and a message beyond the size cap.
    let mut deep = vec![0x04, 0x00];
    for _ in 0..5000 {
        deep = [vec![0x30], ber_len(deep.len()), deep].concat();
    }
    raw(srv.plain, &deep).await;
    let mut huge = search_req(SUFFIX, LdapSearchScope::Subtree, "(objectClass=*)", &[]);
    huge.attrs = vec!["x".repeat(1024); 1024];
    raw(
        srv.plain,
        &encode(&[LdapMsg::new(1, LdapOp::SearchRequest(huge))]),
    )
    .await;

    // Mutations of valid requests of every kind, after a valid bind.
    let seeds = seeds();
    let bind = encode(&seeds[..1]);
    let mut rng = Rng(0x5eed_1da9);
    let mut cases = Vec::new();
    for _ in 0..1200 {
        let s = &seeds[rng.below(seeds.len())];
        let mut bytes = bind.clone();
        bytes.extend(mutate(&mut rng, encode(std::slice::from_ref(s))));
        cases.push(bytes);
    }
    for chunk in cases.chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for c in chunk {
            let (addr, c) = (srv.plain, c.clone());
            set.spawn(async move { raw(addr, &c).await });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    }
    // Well-formed requests with absurd contents.
    let mut c = Client::connect(srv.plain).await;
    c.bind_ok(&user_dn("contoso", "svc"), PW).await;
    for base in [
        "",
        ",",
        "=",
        "o=",
        "uid=\\",
        &"o=x,".repeat(2000),
        "cn=subschema,dc=tessera,dc=local",
    ] {
        c.search(base, LdapSearchScope::Subtree, "(objectClass=*)", &["*"])
            .await;
    }
    let mut req = search_req(SUFFIX, LdapSearchScope::Subtree, "(objectClass=*)", &[]);
    for f in [
        "(uidNumber>=99999999999999999999999)",
        "(entryUUID=not-a-uuid)",
        "(createTimestamp<=x)",
        "(member=not a dn)",
        "(memberOf:1.2.840.113556.1.4.1941:=garbage)",
        "(:1.2.840.113556.1.4.803:=3)",
        "(cn=*)",
    ] {
        req.filter = filter(f);
        req.sizelimit = -5;
        req.timelimit = -5;
        let r = c
            .search_with(
                req.clone(),
                vec![LdapControl::SimplePagedResults {
                    size: -1,
                    cookie: vec![1; 300],
                }],
            )
            .await;
        assert_ne!(r.code(), LdapResultCode::Other, "{f}");
    }
    // The server still serves.
    let mut ok = Client::connect(srv.plain).await;
    ok.bind_ok(&user_dn("contoso", "svc"), PW).await;
    let r = ok
        .search(
            &user_dn("contoso", "alice"),
            LdapSearchScope::Base,
            "(objectClass=*)",
            &["uid"],
        )
        .await;
    assert_eq!(r.entries.len(), 1);
    srv.stop().await;
    assert_eq!(panics.load(Ordering::SeqCst), before, "the server panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_caps_idle_timeout_and_graceful_shutdown() {
    let fx = Fixture::shared();
    let cfg = LdapConfig {
        max_connections_per_source: 2,
        idle_timeout_secs: 1,
        ..LdapConfig::default()
    };
    let srv = Running::start(fx.dir(), cfg).await;
    let mut a = Client::connect(srv.plain).await;
    let mut b = Client::connect(srv.plain).await;
    assert_eq!(a.bind("", "").await.code, LdapResultCode::Success);
    assert_eq!(b.bind("", "").await.code, LdapResultCode::Success);
    // A third from the same address is told why and closed.
    let mut c = Client::connect(srv.plain).await;
    let m = c.recv().await.expect("a notice");
    assert_eq!(m.msgid, 0);
    let LdapOp::ExtendedResponse(r) = m.op else {
        panic!()
    };
    assert_eq!(r.res.code, LdapResultCode::Busy);
    assert!(c.closed().await);
    // Idle connections are closed with a notice.
    let m = a.recv().await.expect("a notice");
    let LdapOp::ExtendedResponse(r) = m.op else {
        panic!()
    };
    assert_eq!(r.res.message, "idle timeout");
    assert!(a.closed().await);
    assert!(b.closed().await);
    // Their slots are free again.
    let mut d = Client::connect(srv.plain).await;
    assert_eq!(d.bind("", "").await.code, LdapResultCode::Success);
    srv.stop().await;

    // Shutdown: open connections are told, then closed, and serve() returns.
    let srv = Running::start(fx.dir(), LdapConfig::default()).await;
    let mut e = Client::connect(srv.plain).await;
    e.bind_ok(&user_dn("contoso", "svc"), PW).await;
    let mut s = Client::ldaps(srv.ldaps, &srv.connector).await;
    s.bind_ok(&user_dn("contoso", "svc"), PW).await;
    let addr = srv.plain;
    let stopping = tokio::spawn(srv.stop());
    let m = e.recv().await.expect("a notice");
    let LdapOp::ExtendedResponse(r) = m.op else {
        panic!()
    };
    assert_eq!(r.res.code, LdapResultCode::Unavailable);
    assert!(e.closed().await);
    assert!(s.closed().await);
    stopping.await.unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
