//! Writes the seed corpus of `ldap_request` (`fuzz/corpus/ldap_request/seed-*`): each file is
//! what a client sends on one connection, encoded with ldap3_proto's codec, against the names of
//! `tessera_fuzz`'s directory. Seeds that write put back what they change, so running them in
//! any order leaves the directory as it was. Files not named `seed-*` (regression inputs) are
//! left alone.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --bin gen_corpus` (from the repository root).

#[path = "../../../ldap/src/filter_text.rs"]
mod filter_text;

use bytes::BytesMut;
use ldap3_proto::control::{LdapControl, ServerSortRequet};
use ldap3_proto::proto::*;
use ldap3_proto::LdapCodec;
use std::path::Path;
use tessera_fuzz::{group_dn, tenant_dn, user_dn, PW, SUFFIX};
use tokio_util::codec::Encoder;

const START_TLS: &str = "1.3.6.1.4.1.1466.20037";
const WHO_AM_I: &str = "1.3.6.1.4.1.4203.1.11.3";

fn encode(msgs: &[LdapMsg]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let mut codec = LdapCodec::default();
    for m in msgs {
        if let Err(e) = codec.encode(m.clone(), &mut buf) {
            eprintln!("cannot encode {m:?}: {e}");
            std::process::exit(1);
        }
    }
    buf.to_vec()
}

fn filter(s: &str) -> LdapFilter {
    match filter_text::parse(s) {
        Some(f) => f,
        None => {
            eprintln!("not a filter: {s}");
            std::process::exit(1);
        }
    }
}

fn msg(id: i32, op: LdapOp) -> LdapMsg {
    LdapMsg::new(id, op)
}

fn bind(id: i32, dn: &str, pw: &str) -> LdapMsg {
    msg(
        id,
        LdapOp::BindRequest(LdapBindRequest {
            version: 3,
            dn: dn.into(),
            cred: LdapBindCred::Simple(pw.into()),
        }),
    )
}

fn search(base: &str, scope: LdapSearchScope, f: &str, attrs: &[&str]) -> LdapSearchRequest {
    LdapSearchRequest {
        base: base.into(),
        scope,
        aliases: LdapDerefAliases::Never,
        sizelimit: 0,
        timelimit: 0,
        typesonly: false,
        filter: filter(f),
        attrs: attrs.iter().map(|a| a.to_string()).collect(),
    }
}

fn extended(id: i32, name: &str) -> LdapMsg {
    msg(
        id,
        LdapOp::ExtendedRequest(LdapExtendedRequest {
            name: name.into(),
            value: None,
        }),
    )
}

fn attr(a: &str, v: &[&str]) -> LdapPartialAttribute {
    LdapPartialAttribute {
        atype: a.into(),
        vals: v.iter().map(|x| x.as_bytes().to_vec()).collect(),
    }
}

fn modify(id: i32, dn: &str, operation: LdapModifyType, a: LdapPartialAttribute) -> LdapMsg {
    msg(
        id,
        LdapOp::ModifyRequest(LdapModifyRequest {
            dn: dn.into(),
            changes: vec![LdapModify {
                operation,
                modification: a,
            }],
        }),
    )
}

fn rename(id: i32, dn: &str, newrdn: &str) -> LdapMsg {
    msg(
        id,
        LdapOp::ModifyDNRequest(LdapModifyDNRequest {
            dn: dn.into(),
            newrdn: newrdn.into(),
            deleteoldrdn: true,
            new_superior: None,
        }),
    )
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let contoso = tenant_dn("contoso");
    let svc = user_dn("contoso", "svc");
    let writer = user_dn("contoso", "writer");
    let dave = user_dn("contoso", "dave");
    let unbind = |id| msg(id, LdapOp::UnbindRequest);
    let mut s = Vec::new();

    // Binds: a user, anonymous, and each refusal.
    s.push((
        "seed-binds",
        encode(&[
            bind(1, &user_dn("contoso", "alice"), PW),
            bind(2, "", ""),
            bind(3, &svc, "wrong"),
            bind(4, &svc, ""),
            bind(5, "", "password"),
            bind(6, &user_dn("contoso", "carol"), PW),
            bind(7, &user_dn("contoso", "nobody"), PW),
            bind(8, "cn=admin,dc=example,dc=com", PW),
            msg(
                9,
                LdapOp::BindRequest(LdapBindRequest {
                    version: 2,
                    dn: svc.clone(),
                    cred: LdapBindCred::Simple(PW.into()),
                }),
            ),
            msg(
                10,
                LdapOp::BindRequest(LdapBindRequest {
                    version: 3,
                    dn: String::new(),
                    cred: LdapBindCred::SASL(SaslCredentials {
                        mechanism: "EXTERNAL".into(),
                        credentials: vec![],
                    }),
                }),
            ),
            bind(11, &svc, PW),
            unbind(12),
        ]),
    ));

    // Searches with filters of every kind, scopes, attribute selections and limits.
    let mut reqs = Vec::new();
    for (base, scope, f, attrs) in [
        ("", LdapSearchScope::Base, "(objectClass=*)", vec!["+", "*"]),
        (
            "cn=subschema",
            LdapSearchScope::Base,
            "(objectClass=subschema)",
            vec!["objectClasses", "attributeTypes"],
        ),
        (SUFFIX, LdapSearchScope::OneLevel, "(objectClass=*)", vec![]),
        (
            contoso.as_str(),
            LdapSearchScope::Subtree,
            "(&(objectClass=inetOrgPerson)(|(uid=a*e)(cn~=bob)(uidNumber>=10))(!(mail=*)))",
            vec!["uid", "cn", "memberOf"],
        ),
        (
            contoso.as_str(),
            LdapSearchScope::Subtree,
            &format!(
                "(memberOf:1.2.840.113556.1.4.1941:={})",
                group_dn("contoso", "all")
            ),
            vec!["dn"],
        ),
        (
            contoso.as_str(),
            LdapSearchScope::Subtree,
            "(&(uid:dn:caseExactMatch:=alice)(createTimestamp<=20300101000000Z)(entryUUID=*))",
            vec!["*", "+"],
        ),
        (
            contoso.as_str(),
            LdapSearchScope::Subtree,
            "(|(objectClass=groupOfNames)(objectClass=posixGroup)(member=uid=bob,ou=Users,o=contoso,dc=tessera,dc=local))",
            vec!["member", "gidNumber", "description"],
        ),
        (
            &user_dn("contoso", "alice"),
            LdapSearchScope::Base,
            "(sshPublicKey=*)",
            vec!["sshPublicKey", "loginShell", "homeDirectory", "telephoneNumber"],
        ),
        (
            &format!("ou=Users,{contoso}"),
            LdapSearchScope::Children,
            "(:1.2.840.113556.1.4.803:=2)",
            vec!["1.1"],
        ),
    ] {
        reqs.push(search(base, scope, f, &attrs));
    }
    let mut msgs = vec![bind(1, &svc, PW)];
    for (i, mut r) in reqs.into_iter().enumerate() {
        r.sizelimit = (i % 3) as i32;
        r.typesonly = i == 2;
        msgs.push(msg(i as i32 + 2, LdapOp::SearchRequest(r)));
    }
    msgs.push(unbind(50));
    s.push(("seed-search-filters", encode(&msgs)));

    // Paged results, sorting and other controls, critical and not.
    let all = search(&contoso, LdapSearchScope::Subtree, "(objectClass=*)", &[]);
    let with = |id, ctrl| LdapMsg::new_with_ctrls(id, LdapOp::SearchRequest(all.clone()), ctrl);
    s.push((
        "seed-search-controls",
        encode(&[
            bind(1, &svc, PW),
            with(
                2,
                vec![
                    LdapControl::SimplePagedResults {
                        size: 2,
                        cookie: vec![],
                    },
                    LdapControl::ManageDsaIT { criticality: false },
                ],
            ),
            with(
                3,
                vec![LdapControl::SimplePagedResults {
                    size: 2,
                    cookie: b"not-a-cookie".to_vec(),
                }],
            ),
            with(
                4,
                vec![LdapControl::ServerSort {
                    sort_requests: vec![ServerSortRequet {
                        attribute_name: "uid".into(),
                        ordering_rule: None,
                        reverse_order: true,
                    }],
                }],
            ),
            with(
                5,
                vec![LdapControl::Unknown {
                    oid: "1.2.3.4".into(),
                    criticality: true,
                    value: Some(vec![1, 2, 3]),
                }],
            ),
            with(
                6,
                vec![LdapControl::PasswordPolicyRequest { criticality: true }],
            ),
            msg(7, LdapOp::AbandonRequest(2)),
            unbind(8),
        ]),
    ));

    // Extended operations: WhoAmI before and after a bind, an unknown one, Password Modify.
    s.push((
        "seed-extended",
        encode(&[
            extended(1, WHO_AM_I),
            bind(2, &writer, PW),
            extended(3, WHO_AM_I),
            msg(
                4,
                LdapOp::ExtendedRequest(
                    LdapPasswordModifyRequest {
                        user_identity: Some(format!("dn:{dave}")),
                        old_password: None,
                        new_password: Some("Fuzzed-Password-2026".into()),
                    }
                    .into(),
                ),
            ),
            msg(
                5,
                LdapOp::ExtendedRequest(
                    LdapPasswordModifyRequest {
                        user_identity: Some("u:dave".into()),
                        old_password: None,
                        new_password: None,
                    }
                    .into(),
                ),
            ),
            extended(6, "1.3.6.1.4.1.1466.20036"),
            unbind(7),
        ]),
    ));

    // StartTLS as the last request (the handshake then meets the end of input), and followed
    // by more bytes in the same read (the injection guard).
    s.push((
        "seed-starttls",
        encode(&[extended(1, WHO_AM_I), extended(2, START_TLS)]),
    ));
    s.push((
        "seed-starttls-injection",
        encode(&[
            extended(1, START_TLS),
            bind(2, &svc, PW),
            extended(3, WHO_AM_I),
        ]),
    ));

    // Writes, each undone: add and delete, modify, rename and back, compare.
    s.push((
        "seed-writes",
        encode(&[
            bind(1, &writer, PW),
            msg(
                2,
                LdapOp::AddRequest(LdapAddRequest {
                    dn: user_dn("contoso", "zed"),
                    attributes: vec![
                        attr("objectClass", &["inetOrgPerson", "posixAccount"]),
                        attr("cn", &["Zed"]),
                        attr("sn", &["Zed"]),
                        attr("mail", &["zed@contoso.example"]),
                        attr("uidNumber", &["5001"]),
                    ],
                }),
            ),
            modify(
                3,
                &group_dn("contoso", "staff"),
                LdapModifyType::Add,
                attr("member", &[&user_dn("contoso", "zed")]),
            ),
            modify(
                4,
                &user_dn("contoso", "zed"),
                LdapModifyType::Replace,
                attr("telephoneNumber", &["+1 555 0199"]),
            ),
            msg(
                5,
                LdapOp::CompareRequest(LdapCompareRequest {
                    dn: user_dn("contoso", "zed"),
                    atype: "uid".into(),
                    val: b"zed".to_vec(),
                }),
            ),
            rename(6, &user_dn("contoso", "zed"), "uid=zed2"),
            msg(7, LdapOp::DelRequest(user_dn("contoso", "zed2"))),
            msg(
                8,
                LdapOp::AddRequest(LdapAddRequest {
                    dn: group_dn("contoso", "tmp"),
                    attributes: vec![
                        attr("objectClass", &["groupOfNames"]),
                        attr("member", &[&dave]),
                    ],
                }),
            ),
            modify(
                9,
                &group_dn("contoso", "tmp"),
                LdapModifyType::Delete,
                attr("member", &[&dave]),
            ),
            msg(10, LdapOp::DelRequest(group_dn("contoso", "tmp"))),
            unbind(11),
        ]),
    ));

    // Garbage and protocol breaks: each ends the connection with a notice.
    s.push((
        "seed-garbage-http",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ));
    s.push(("seed-garbage-ff", vec![0xff; 64]));
    s.push(("seed-msgid-zero", encode(&[msg(0, LdapOp::UnbindRequest)])));
    s.push((
        "seed-response-as-request",
        encode(&[msg(
            1,
            LdapOp::DelResponse(LdapResult {
                code: LdapResultCode::Success,
                matcheddn: String::new(),
                message: String::new(),
                referral: vec![],
            }),
        )]),
    ));
    // An operation tag ldap3_proto does not know (application 27): its decoder prints a line
    // to stdout before failing, which panics when stdout cannot be written.
    s.push((
        "seed-unknown-op",
        vec![0x30, 0x05, 0x02, 0x01, 0x01, 0x7b, 0x00],
    ));
    let mut deep = vec![0x04, 0x00];
    for _ in 0..200 {
        let len = deep.len();
        let mut next = vec![0x30];
        if len < 128 {
            next.push(len as u8);
        } else {
            next.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        next.extend(deep);
        deep = next;
    }
    s.push(("seed-deep-nesting", deep));
    // A valid bind, then a request cut short.
    let mut cut = encode(&[bind(1, &svc, PW), msg(2, LdapOp::SearchRequest(all))]);
    cut.truncate(cut.len() - 7);
    s.push(("seed-truncated", cut));
    s
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/ldap_request");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        std::process::exit(1);
    }
    for (name, bytes) in seeds() {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, &bytes) {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}
