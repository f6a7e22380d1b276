//! A small LDAP client over ldap3_proto's codec: each call sends one request and reads what the
//! server answers, with a timeout so a missing answer fails the test instead of hanging it.

use crate::filter_text;
use futures_util::{SinkExt, StreamExt};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::*;
use ldap3_proto::LdapCodec;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::codec::Framed;

const WAIT: Duration = Duration::from_secs(20);

pub struct Client<S> {
    pub f: Framed<S, LdapCodec>,
    next: i32,
}

/// What a search returned.
#[derive(Debug)]
pub struct Found {
    pub entries: Vec<LdapSearchResultEntry>,
    pub done: LdapResult,
    pub ctrl: Vec<LdapControl>,
}

impl Found {
    pub fn dns(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.dn.clone()).collect()
    }

    pub fn code(&self) -> LdapResultCode {
        self.done.code.clone()
    }

    pub fn only(&self) -> &LdapSearchResultEntry {
        assert_eq!(self.entries.len(), 1, "{:#?}", self.dns());
        &self.entries[0]
    }

    pub fn cookie(&self) -> Option<Vec<u8>> {
        self.ctrl.iter().find_map(|c| match c {
            LdapControl::SimplePagedResults { cookie, .. } => Some(cookie.clone()),
            _ => None,
        })
    }
}

/// The values of an attribute (any case) of an entry, as text.
pub fn vals(e: &LdapSearchResultEntry, attr: &str) -> Vec<String> {
    e.attributes
        .iter()
        .filter(|a| a.atype.eq_ignore_ascii_case(attr))
        .flat_map(|a| {
            a.vals
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .collect()
}

/// The attribute names of an entry.
pub fn names(e: &LdapSearchResultEntry) -> Vec<String> {
    e.attributes.iter().map(|a| a.atype.clone()).collect()
}

pub fn filter(s: &str) -> LdapFilter {
    filter_text::parse(s).unwrap_or_else(|| panic!("not a filter: {s}"))
}

pub fn search_req(
    base: &str,
    scope: LdapSearchScope,
    f: &str,
    attrs: &[&str],
) -> LdapSearchRequest {
    LdapSearchRequest {
        base: base.to_string(),
        scope,
        aliases: LdapDerefAliases::Never,
        sizelimit: 0,
        timelimit: 0,
        typesonly: false,
        filter: filter(f),
        attrs: attrs.iter().map(|a| a.to_string()).collect(),
    }
}

impl Client<TcpStream> {
    pub async fn connect(addr: SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr).await.unwrap();
        Client::over(tcp)
    }

    /// StartTLS, then the handshake: the same session over TLS.
    pub async fn starttls(mut self, connector: &TlsConnector) -> Client<TlsStream<TcpStream>> {
        let r = self
            .extended(LdapExtendedRequest {
                name: "1.3.6.1.4.1.1466.20037".into(),
                value: None,
            })
            .await;
        assert_eq!(r.res.code, LdapResultCode::Success, "{:?}", r.res);
        assert_eq!(r.name.as_deref(), Some("1.3.6.1.4.1.1466.20037"));
        let next = self.next;
        let tcp = self.f.into_inner();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        Client {
            f: Framed::new(tls, LdapCodec::default()),
            next,
        }
    }
}

impl Client<TlsStream<TcpStream>> {
    pub async fn ldaps(addr: SocketAddr, connector: &TlsConnector) -> Self {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        Client::over(connector.connect(name, tcp).await.unwrap())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn over(s: S) -> Self {
        Client {
            f: Framed::new(s, LdapCodec::new(Some(16 * 1024 * 1024), None)),
            next: 1,
        }
    }

    pub async fn send(&mut self, op: LdapOp, ctrl: Vec<LdapControl>) -> i32 {
        let id = self.next;
        self.next += 1;
        self.f
            .send(LdapMsg::new_with_ctrls(id, op, ctrl))
            .await
            .unwrap();
        id
    }

    /// The next message, or `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<LdapMsg> {
        match tokio::time::timeout(WAIT, self.f.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            Ok(Some(Err(_))) | Ok(None) => None,
            Err(_) => panic!("no answer from the server"),
        }
    }

    /// Whether the server closes the connection (after any notice it sends first).
    pub async fn closed(&mut self) -> bool {
        loop {
            match self.recv().await {
                None => return true,
                Some(m) if m.msgid == 0 => continue,
                Some(m) => panic!("expected the connection to close, got {m:?}"),
            }
        }
    }

    async fn answer(&mut self, id: i32) -> LdapMsg {
        let m = self.recv().await.expect("the server closed the connection");
        assert_eq!(m.msgid, id, "unexpected message {m:?}");
        m
    }

    pub async fn bind(&mut self, dn: &str, pw: &str) -> LdapResult {
        let id = self
            .send(
                LdapOp::BindRequest(LdapBindRequest {
                    version: 3,
                    dn: dn.into(),
                    cred: LdapBindCred::Simple(pw.into()),
                }),
                vec![],
            )
            .await;
        match self.answer(id).await.op {
            LdapOp::BindResponse(r) => r.res,
            other => panic!("{other:?}"),
        }
    }

    pub async fn bind_ok(&mut self, dn: &str, pw: &str) {
        let r = self.bind(dn, pw).await;
        assert_eq!(r.code, LdapResultCode::Success, "bind {dn}: {r:?}");
    }

    pub async fn search_with(&mut self, req: LdapSearchRequest, ctrl: Vec<LdapControl>) -> Found {
        let id = self.send(LdapOp::SearchRequest(req), ctrl).await;
        let mut entries = Vec::new();
        loop {
            let m = self.answer(id).await;
            match m.op {
                LdapOp::SearchResultEntry(e) => entries.push(e),
                LdapOp::SearchResultDone(done) => {
                    return Found {
                        entries,
                        done,
                        ctrl: m.ctrl,
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    }

    pub async fn search(
        &mut self,
        base: &str,
        scope: LdapSearchScope,
        f: &str,
        attrs: &[&str],
    ) -> Found {
        self.search_with(search_req(base, scope, f, attrs), vec![])
            .await
    }

    pub async fn extended(&mut self, req: LdapExtendedRequest) -> LdapExtendedResponse {
        let id = self.send(LdapOp::ExtendedRequest(req), vec![]).await;
        match self.answer(id).await.op {
            LdapOp::ExtendedResponse(r) => r,
            other => panic!("{other:?}"),
        }
    }

    pub async fn whoami(&mut self) -> String {
        let r = self
            .extended(LdapExtendedRequest {
                name: "1.3.6.1.4.1.4203.1.11.3".into(),
                value: None,
            })
            .await;
        assert_eq!(r.res.code, LdapResultCode::Success);
        String::from_utf8(r.value.unwrap_or_default()).unwrap()
    }

    /// Sends a request whose answer is a plain LdapResult and returns it.
    pub async fn op(&mut self, op: LdapOp) -> LdapResult {
        let id = self.send(op, vec![]).await;
        match self.answer(id).await.op {
            LdapOp::AddResponse(r)
            | LdapOp::DelResponse(r)
            | LdapOp::ModifyResponse(r)
            | LdapOp::ModifyDNResponse(r)
            | LdapOp::CompareResult(r) => r,
            other => panic!("{other:?}"),
        }
    }

    pub async fn add(&mut self, dn: &str, attrs: &[(&str, &[&str])]) -> LdapResult {
        self.op(LdapOp::AddRequest(LdapAddRequest {
            dn: dn.into(),
            attributes: attrs
                .iter()
                .map(|(a, v)| LdapPartialAttribute {
                    atype: a.to_string(),
                    vals: v.iter().map(|x| x.as_bytes().to_vec()).collect(),
                })
                .collect(),
        }))
        .await
    }

    pub async fn modify(
        &mut self,
        dn: &str,
        changes: &[(LdapModifyType, &str, &[&str])],
    ) -> LdapResult {
        self.op(LdapOp::ModifyRequest(LdapModifyRequest {
            dn: dn.into(),
            changes: changes
                .iter()
                .map(|(op, a, v)| LdapModify {
                    operation: op.clone(),
                    modification: LdapPartialAttribute {
                        atype: a.to_string(),
                        vals: v.iter().map(|x| x.as_bytes().to_vec()).collect(),
                    },
                })
                .collect(),
        }))
        .await
    }

    pub async fn compare(&mut self, dn: &str, attr: &str, val: &str) -> LdapResult {
        self.op(LdapOp::CompareRequest(LdapCompareRequest {
            dn: dn.into(),
            atype: attr.into(),
            val: val.as_bytes().to_vec(),
        }))
        .await
    }
}
