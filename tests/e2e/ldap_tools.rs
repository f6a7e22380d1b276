//! End-to-end LDAP with the real ldap-utils clients (ldapsearch, ldapwhoami, ldappasswd,
//! ldapmodify, ldapadd, ldapdelete, ldapmodrdn, ldapcompare) against the demo server: plain,
//! StartTLS (-ZZ) and LDAPS, the RFC 4513 bind cases, MFA-appended binds, writes through RBAC
//! and the password policy, and tenant isolation. Every answer is checked by the tool's exit
//! status (the LDAP result code) and by the entries it printed (`-LLL`), parsed here.
//!
//! The tools run with `LDAPCONF=/dev/null` and an `LDAPRC` name that matches no file, so no
//! ldap.conf or ldaprc of the machine gets in; `LDAPNOINIT` cannot be used for that, because it
//! also makes libldap ignore the `LDAPTLS_*` variables that make it trust the server's
//! certificate (and only that certificate).

use crate::harness::Server;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use tessera_directory::model::{
    Member, NewAssignment, NewGroup, NewUser, Subject, TenantId, UserId,
};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::totp_code;
use tessera_directory::Actor;

const SUFFIX: &str = "dc=tessera,dc=local";
const OID_START_TLS: &str = "1.3.6.1.4.1.1466.20037";
const OID_WHO_AM_I: &str = "1.3.6.1.4.1.4203.1.11.3";
const OID_PASSWORD_MODIFY: &str = "1.3.6.1.4.1.4203.1.11.1";
const OID_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

// LDAP result codes, as the tools return them for their exit status.
const SUCCESS: i32 = 0;
const CONFIDENTIALITY_REQUIRED: i32 = 13;
const CONSTRAINT_VIOLATION: i32 = 19;
const NO_SUCH_OBJECT: i32 = 32;
const INVALID_CREDENTIALS: i32 = 49;
const INSUFFICIENT_ACCESS: i32 = 50;
const UNWILLING_TO_PERFORM: i32 = 53;
const ENTRY_ALREADY_EXISTS: i32 = 68;
/// ldapcompare's exit status for compareFalse / compareTrue.
const COMPARE_FALSE: i32 = 5;
const COMPARE_TRUE: i32 = 6;

fn user_dn(tenant: &str, name: &str) -> String {
    format!("uid={name},ou=Users,o={tenant},{SUFFIX}")
}

fn group_dn(tenant: &str, name: &str) -> String {
    format!("cn={name},ou=Groups,o={tenant},{SUFFIX}")
}

fn tenant_dn(tenant: &str) -> String {
    format!("o={tenant},{SUFFIX}")
}

/// A demo login: its DN and password (README "Demo").
#[derive(Debug, Clone)]
struct Who {
    dn: String,
    password: String,
}

fn who(tenant: &str, name: &str, password: &str) -> Who {
    Who {
        dn: user_dn(tenant, name),
        password: password.to_string(),
    }
}

fn contoso_svc() -> Who {
    who("contoso", "svc-ldap", "Demo-2026:1.4!")
}

fn contoso_alice() -> Who {
    who("contoso", "alice", "Demo-2026:1.1!")
}

fn acme_svc() -> Who {
    who("acme", "svc-ldap", "Demo-2026:5.3!")
}

// ---------------------------------------------------------------------------------------------
// Running the tools.

/// How a tool reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Plain,
    StartTls,
    Ldaps,
}

const EVERY_TRANSPORT: [Via; 3] = [Via::Plain, Via::StartTls, Via::Ldaps];

/// What a tool did.
#[derive(Debug)]
struct Run {
    what: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts the exit status (the LDAP result code) and returns the run.
    fn code(self, want: i32) -> Run {
        assert_eq!(
            self.code, want,
            "{}: exit status {} (want {want})\nstdout:\n{}\nstderr:\n{}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    fn ok(self) -> Run {
        self.code(SUCCESS)
    }

    /// For ldappasswd, which exits 1 on any refusal and prints the result code instead
    /// (`Result: Invalid credentials (49)`): asserts that code.
    fn refused_with(self, want: i32) -> Run {
        let printed = self.stdout.lines().find_map(|l| {
            let (_, code) = l.strip_prefix("Result: ")?.rsplit_once('(')?;
            code.strip_suffix(')')?.parse::<i32>().ok()
        });
        assert!(
            self.code == 1 && printed == Some(want),
            "{}: exit status {}, result {printed:?} (want 1 and {want})\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The entries printed (`-LLL`).
    fn entries(&self) -> Vec<Entry> {
        parse_ldif(&self.stdout)
    }

    fn dns(&self) -> BTreeSet<String> {
        self.entries().into_iter().map(|e| e.dn).collect()
    }
}

/// Runs one ldap-utils tool with `args` (and `stdin`), trusting exactly the server's
/// certificate. A missing tool fails the test: these tests are never skipped.
fn tool(s: &Server, bin: &str, args: &[String], stdin: Option<&str>) -> Run {
    tool_trusting(&s.cert, bin, args, stdin)
}

/// [`tool`], trusting exactly the certificate (PEM) at `ca`.
fn tool_trusting(ca: &std::path::Path, bin: &str, args: &[String], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("LDAP") {
            cmd.env_remove(&k);
        }
    }
    cmd.args(args)
        .env("LDAPCONF", "/dev/null")
        .env("LDAPRC", "tessera-e2e-no-such-ldaprc")
        .env("LDAPTLS_CACERT", ca)
        .env("LDAPTLS_REQCERT", "demand")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{bin} {}", args.join(" "));
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{bin}` is not installed: these tests need the ldap-utils package \
             (`make test` installs it; or apt-get install ldap-utils)"
        ),
        Err(e) => panic!("{what}: cannot start: {e}"),
    };
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let Some(code) = out.status.code() else {
        panic!("{what}: killed by a signal");
    };
    Run {
        what,
        code,
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A client: a transport and a login (none: anonymous).
#[derive(Clone, Copy)]
struct Client<'a> {
    s: &'a Server,
    via: Via,
    login: Option<&'a Who>,
}

fn client<'a>(s: &'a Server, via: Via, login: &'a Who) -> Client<'a> {
    Client {
        s,
        via,
        login: Some(login),
    }
}

fn anonymous(s: &Server, via: Via) -> Client<'_> {
    Client {
        s,
        via,
        login: None,
    }
}

impl Client<'_> {
    /// Connection and bind options, as every tool takes them.
    fn common(&self) -> Vec<String> {
        let uri = match self.via {
            Via::Plain | Via::StartTls => format!("ldap://{}", self.s.ldap),
            Via::Ldaps => format!("ldaps://{}", self.s.ldaps),
        };
        let mut a = vec!["-x".to_string(), "-H".to_string(), uri];
        if self.via == Via::StartTls {
            // -ZZ: StartTLS, and give up if it fails.
            a.push("-ZZ".into());
        }
        if let Some(w) = self.login {
            a.extend(["-D".into(), w.dn.clone(), "-w".into(), w.password.clone()]);
        }
        a
    }

    fn run(&self, bin: &str, extra: &[&str], stdin: Option<&str>) -> Run {
        let mut args = self.common();
        args.extend(extra.iter().map(|x| x.to_string()));
        tool(self.s, bin, &args, stdin)
    }

    /// ldapsearch -LLL with unwrapped lines.
    fn search(&self, base: &str, scope: &str, filter: &str, attrs: &[&str]) -> Run {
        let mut extra = vec![
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-b",
            base,
            "-s",
            scope,
            filter,
        ];
        extra.extend_from_slice(attrs);
        self.run("ldapsearch", &extra, None)
    }

    fn whoami(&self) -> Run {
        self.run("ldapwhoami", &[], None)
    }

    fn modify(&self, ldif: &str) -> Run {
        self.run("ldapmodify", &[], Some(ldif))
    }
}

// ---------------------------------------------------------------------------------------------
// LDIF, minimally: `-LLL -o ldif-wrap=no` output (base64 values decoded, folded lines joined).

/// One entry: its DN and its attributes by lower-case name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    dn: String,
    attrs: BTreeMap<String, Vec<String>>,
}

impl Entry {
    fn get(&self, attr: &str) -> Vec<String> {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    fn set(&self, attr: &str) -> BTreeSet<String> {
        self.get(attr).into_iter().collect()
    }

    fn has(&self, attr: &str) -> bool {
        self.attrs.contains_key(&attr.to_ascii_lowercase())
    }
}

fn base64_decode(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("not base64: {s:?}"));
        bits = (bits << 6) | u32::try_from(v).unwrap();
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(u8::try_from((bits >> n) & 0xff).unwrap());
        }
    }
    String::from_utf8(out).unwrap()
}

fn parse_ldif(text: &str) -> Vec<Entry> {
    // Join folded lines (a continuation starts with one space); drop comments.
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix(' ') {
            Some(rest) if !lines.is_empty() => lines.last_mut().unwrap().push_str(rest),
            _ => lines.push(line.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut current: Option<Entry> = None;
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            out.extend(current.take());
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("not an LDIF line: {line:?}"));
        let value = match value.strip_prefix(':') {
            Some(b64) => base64_decode(b64.trim()),
            None => value.strip_prefix(' ').unwrap_or(value).to_string(),
        };
        if name.eq_ignore_ascii_case("dn") {
            out.extend(current.take());
            current = Some(Entry {
                dn: value,
                attrs: BTreeMap::new(),
            });
        } else {
            let e = current
                .as_mut()
                .unwrap_or_else(|| panic!("an attribute before any dn: {line:?}"));
            e.attrs
                .entry(name.to_ascii_lowercase())
                .or_default()
                .push(value);
        }
    }
    out.extend(current);
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn strings(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// Directory helpers for the setup (as the system).

fn tenant_id(s: &Server, slug: &str) -> TenantId {
    s.dir.tenants().by_slug(&Actor::system(), slug).unwrap().id
}

fn user_id(s: &Server, t: TenantId, name: &str) -> UserId {
    s.dir
        .users()
        .by_username(&Actor::system(), t, name)
        .unwrap()
        .id
}

fn give_role(s: &Server, t: TenantId, user: UserId, role: &str) {
    let sys = Actor::system();
    let r = s.dir.rbac().role_by_name(&sys, t, role).unwrap();
    s.dir
        .rbac()
        .assign(
            &sys,
            t,
            NewAssignment {
                subject: Subject::User {
                    tenant: t,
                    id: user,
                },
                rights: Default::default(),
                roles: vec![r.id],
                expires_at: None,
            },
        )
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Item 1, 2, 3 and 6 of the issue: contoso's bind account reads alice over each transport
/// (and never a password), asks who it is, pages through the users, resolves nested groups
/// with the in-chain rule, and compares values.
#[test]
fn the_bind_account_reads_pages_compares_and_follows_nesting_over_every_transport() {
    let s = Server::start_demo();
    let svc = contoso_svc();
    let alice = user_dn("contoso", "alice");
    for via in EVERY_TRANSPORT {
        let c = client(&s, via, &svc);
        assert_eq!(
            c.whoami().ok().stdout.trim(),
            format!("dn:{}", svc.dn),
            "{via:?}"
        );
        for attrs in [&[][..], &["*", "+", "userPassword"][..]] {
            let r = c
                .search(&tenant_dn("contoso"), "sub", "(uid=alice)", attrs)
                .ok();
            let entries = r.entries();
            assert_eq!(entries.len(), 1, "{via:?} {attrs:?}: {}", r.stdout);
            let e = &entries[0];
            assert_eq!(e.dn, alice);
            assert_eq!(e.get("uid"), ["alice"]);
            assert_eq!(e.get("cn"), ["Alice Archer"]);
            assert_eq!(e.get("sn"), ["Archer"]);
            assert_eq!(e.get("givenName"), ["Alice"]);
            assert_eq!(e.get("mail"), ["alice@contoso.example"]);
            assert_eq!(
                e.set("objectClass"),
                set(&[
                    "top",
                    "person",
                    "organizationalPerson",
                    "inetOrgPerson",
                    "posixAccount"
                ])
            );
            assert_eq!(e.get("uidNumber"), ["10001"]);
            assert_eq!(
                e.set("memberOf"),
                strings(&[group_dn("contoso", "staff"), group_dn("contoso", "wifi")])
            );
            assert!(
                !e.has("userPassword") && !r.stdout.to_ascii_lowercase().contains("userpassword"),
                "{via:?}: a password attribute was served:\n{}",
                r.stdout
            );
            if attrs.is_empty() {
                // The user attributes, exactly.
                assert_eq!(
                    e.attrs.keys().cloned().collect::<BTreeSet<_>>(),
                    set(&[
                        "objectclass",
                        "uid",
                        "cn",
                        "sn",
                        "givenname",
                        "displayname",
                        "mail",
                        "memberof",
                        "uidnumber",
                        "gidnumber",
                        "homedirectory",
                        "loginshell"
                    ]),
                    "{via:?}"
                );
            } else {
                // Operational attributes come with `+`.
                assert_eq!(e.get("entryDN"), [alice.as_str()], "{via:?}");
                assert_eq!(e.get("hasSubordinates"), ["FALSE"], "{via:?}");
            }
        }
        // Nor may a filter probe it.
        assert!(c
            .search(&tenant_dn("contoso"), "sub", "(userPassword=*)", &["dn"])
            .ok()
            .entries()
            .is_empty());
    }

    // The certificate is really checked: a client that trusts another one does not connect.
    let other = tempfile::tempdir().unwrap();
    let other_ca = other.path().join("other.crt");
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(&other_ca, generated.cert.pem()).unwrap();
    for (via, status) in [(Via::StartTls, 1), (Via::Ldaps, 255)] {
        let r = tool_trusting(
            &other_ca,
            "ldapwhoami",
            &client(&s, via, &svc).common(),
            None,
        );
        assert_eq!(r.code, status, "{via:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{via:?}: {r:?}");
    }

    // Paged results, two entries a page: every user of contoso, each once, over two pages.
    let c = client(&s, Via::Plain, &svc);
    let r = c
        .run(
            "ldapsearch",
            &[
                "-LLL",
                "-E",
                "pr=2/noprompt",
                "-b",
                &format!("ou=Users,{}", tenant_dn("contoso")),
                "(objectClass=inetOrgPerson)",
                "uid",
            ],
            None,
        )
        .ok();
    let entries = r.entries();
    let users = ["alice", "bob", "carol", "svc-ldap"];
    assert_eq!(entries.len(), users.len(), "{}", r.stdout);
    assert_eq!(
        entries
            .iter()
            .map(|e| e.dn.clone())
            .collect::<BTreeSet<_>>(),
        users.iter().map(|u| user_dn("contoso", u)).collect()
    );
    let cookies: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("# pagedresults: cookie="))
        .collect();
    assert_eq!(cookies.len(), 2, "two pages:\n{}", r.stdout);
    assert!(
        !cookies[0].is_empty() && cookies[1].is_empty(),
        "{cookies:?}"
    );

    // In-chain: a group `all` holding the group staff. alice and bob are in `all` only through
    // staff: the in-chain rule finds them, plain memberOf does not (and `all` itself has no
    // direct user members).
    let sys = Actor::system();
    let t = tenant_id(&s, "contoso");
    let g = s.dir.groups();
    let all = g
        .create(
            &sys,
            t,
            NewGroup {
                name: "all".into(),
                ..NewGroup::default()
            },
        )
        .unwrap();
    let staff = g.by_name(&sys, t, "staff").unwrap();
    g.add_member(&sys, t, all.id, Member::Group(staff.id))
        .unwrap();
    let users_ou = format!("ou=Users,{}", tenant_dn("contoso"));
    let all_dn = group_dn("contoso", "all");
    let nested = c
        .search(
            &users_ou,
            "sub",
            &format!("(memberOf:{OID_IN_CHAIN}:={all_dn})"),
            &["dn"],
        )
        .ok();
    assert_eq!(
        nested.dns(),
        strings(&[user_dn("contoso", "alice"), user_dn("contoso", "bob")])
    );
    let direct = c
        .search(&users_ou, "sub", &format!("(memberOf={all_dn})"), &["dn"])
        .ok();
    assert_eq!(direct.dns(), BTreeSet::new(), "{}", direct.stdout);
    // The rule combines with others: only alice of the two is in wifi.
    let both = c
        .search(
            &users_ou,
            "sub",
            &format!(
                "(&(memberOf:{OID_IN_CHAIN}:={all_dn})(memberOf={}))",
                group_dn("contoso", "wifi")
            ),
            &["dn"],
        )
        .ok();
    assert_eq!(both.dns(), strings(&[user_dn("contoso", "alice")]));
    // Groups match too: staff is (directly) in `all`.
    let groups = c
        .search(
            &format!("ou=Groups,{}", tenant_dn("contoso")),
            "one",
            &format!("(memberOf:{OID_IN_CHAIN}:={all_dn})"),
            &["dn"],
        )
        .ok();
    assert_eq!(groups.dns(), strings(&[group_dn("contoso", "staff")]));

    // ldapcompare: TRUE exits 6, FALSE exits 5.
    for via in EVERY_TRANSPORT {
        let c = client(&s, via, &svc);
        let yes = c
            .run("ldapcompare", &[&alice, "mail:alice@contoso.example"], None)
            .code(COMPARE_TRUE);
        assert_eq!(yes.stdout.trim(), "TRUE");
        let no = c
            .run(
                "ldapcompare",
                &[&alice, "mail:alice@fabrikam.example"],
                None,
            )
            .code(COMPARE_FALSE);
        assert_eq!(no.stdout.trim(), "FALSE");
    }
    // A password is never compared, and another tenant's entry does not exist for contoso.
    c.run(
        "ldapcompare",
        &[&alice, "userPassword:Demo-2026:1.1!"],
        None,
    )
    .code(UNWILLING_TO_PERFORM);
    c.run(
        "ldapcompare",
        &[&user_dn("fabrikam", "alice"), "mail:alice@fabrikam.example"],
        None,
    )
    .code(NO_SUCH_OBJECT);
}

/// Item 4: writes with ldapadd / ldapmodify / ldapmodrdn / ldapdelete by a Directory Writer,
/// userPassword through the password policy, and a read-only account refused.
#[test]
fn a_directory_writer_adds_modifies_renames_and_deletes_and_a_reader_may_not() {
    let s = Server::start_demo();
    let t = tenant_id(&s, "contoso");
    // bob (staff, so admitted by contoso's LDAP service; User Administrator through admins,
    // which gives Credentials:Execute) becomes Directory Writer: over LDAP, users and groups
    // are written with the Directory right only.
    give_role(&s, t, user_id(&s, t, "bob"), "Directory Writer");
    let bob = who("contoso", "bob", "Demo-2026:1.2!");
    let w = client(&s, Via::StartTls, &bob);
    let svc = contoso_svc();
    let reader = client(&s, Via::StartTls, &svc);
    let dave = user_dn("contoso", "dave");
    let dave_pw = "Tidy-Lantern-48!";

    // ldapadd: a user with a password.
    w.run(
        "ldapadd",
        &[],
        Some(&format!(
            "dn: {dave}\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave Diaz\nsn: Diaz\n\
             givenName: Dave\nmail: dave@contoso.example\nuserPassword: {dave_pw}\n"
        )),
    )
    .ok();
    let e = reader
        .search(&dave, "base", "(objectClass=*)", &[])
        .ok()
        .entries();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].get("cn"), ["Dave Diaz"]);
    assert_eq!(e[0].get("mail"), ["dave@contoso.example"]);
    assert!(!e[0].has("userPassword"));
    assert!(!e[0].has("memberOf"));
    // The same DN again: entryAlreadyExists (68).
    w.run(
        "ldapadd",
        &[],
        Some(&format!(
            "dn: {dave}\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave Diaz\nsn: Diaz\n"
        )),
    )
    .code(ENTRY_ALREADY_EXISTS);
    // dave has a password but is in no group the LDAP service admits: invalidCredentials.
    let dave_login = who("contoso", "dave", dave_pw);
    client(&s, Via::Ldaps, &dave_login)
        .whoami()
        .code(INVALID_CREDENTIALS);

    // ldapmodify: mail replaced.
    w.modify(&format!(
        "dn: {dave}\nchangetype: modify\nreplace: mail\nmail: dave.diaz@contoso.example\n"
    ))
    .ok();
    let e = reader
        .search(&dave, "base", "(objectClass=*)", &["mail"])
        .ok()
        .entries();
    assert_eq!(e[0].get("mail"), ["dave.diaz@contoso.example"]);

    // ldapmodify on a group: dave joins staff, which admits him to LDAP.
    let staff = group_dn("contoso", "staff");
    w.modify(&format!(
        "dn: {staff}\nchangetype: modify\nadd: member\nmember: {dave}\n"
    ))
    .ok();
    let g = reader
        .search(&staff, "base", "(objectClass=*)", &["member", "memberUid"])
        .ok()
        .entries();
    assert_eq!(
        g[0].set("member"),
        strings(&[
            user_dn("contoso", "alice"),
            user_dn("contoso", "bob"),
            dave.clone()
        ])
    );
    assert_eq!(g[0].set("memberUid"), set(&["alice", "bob", "dave"]));
    let e = reader
        .search(&dave, "base", "(objectClass=*)", &["memberOf"])
        .ok()
        .entries();
    assert_eq!(e[0].get("memberOf"), [staff.as_str()]);
    assert_eq!(
        client(&s, Via::Ldaps, &dave_login)
            .whoami()
            .ok()
            .stdout
            .trim(),
        format!("dn:{dave}")
    );

    // userPassword replaced through the policy: a weak one is refused with constraintViolation
    // and the old password still works; a good one is taken.
    let weak = w
        .modify(&format!(
            "dn: {dave}\nchangetype: modify\nreplace: userPassword\nuserPassword: password\n"
        ))
        .code(CONSTRAINT_VIOLATION);
    assert!(
        weak.stderr.contains("Constraint violation"),
        "{}",
        weak.stderr
    );
    client(&s, Via::Ldaps, &dave_login).whoami().ok();
    let new_pw = "Brisk-Meadow-73?";
    w.modify(&format!(
        "dn: {dave}\nchangetype: modify\nreplace: userPassword\nuserPassword: {new_pw}\n"
    ))
    .ok();
    client(&s, Via::Ldaps, &dave_login)
        .whoami()
        .code(INVALID_CREDENTIALS);
    let dave_login = who("contoso", "dave", new_pw);
    client(&s, Via::Ldaps, &dave_login).whoami().ok();

    // ldapmodrdn: dave becomes david; the group follows, the old DN is gone.
    let david = user_dn("contoso", "david");
    w.run("ldapmodrdn", &["-r", &dave, "uid=david"], None).ok();
    reader
        .search(&dave, "base", "(objectClass=*)", &["dn"])
        .code(NO_SUCH_OBJECT);
    let e = reader
        .search(&david, "base", "(objectClass=*)", &[])
        .ok()
        .entries();
    assert_eq!(e[0].get("uid"), ["david"]);
    assert_eq!(e[0].get("mail"), ["dave.diaz@contoso.example"]);
    let g = reader
        .search(&staff, "base", "(objectClass=*)", &["member"])
        .ok()
        .entries();
    assert!(g[0].get("member").contains(&david), "{:?}", g[0]);
    assert!(!g[0].get("member").contains(&dave), "{:?}", g[0]);
    assert_eq!(
        client(&s, Via::Ldaps, &who("contoso", "david", new_pw))
            .whoami()
            .ok()
            .stdout
            .trim(),
        format!("dn:{david}")
    );

    // The read-only bind account may write nothing: insufficientAccessRights, nothing changed.
    let alice = user_dn("contoso", "alice");
    reader
        .modify(&format!(
            "dn: {alice}\nchangetype: modify\nreplace: mail\nmail: mallory@contoso.example\n"
        ))
        .code(INSUFFICIENT_ACCESS);
    reader
        .modify(&format!(
            "dn: {staff}\nchangetype: modify\ndelete: member\nmember: {alice}\n"
        ))
        .code(INSUFFICIENT_ACCESS);
    reader
        .run(
            "ldapadd",
            &[],
            Some(&format!(
                "dn: {}\nobjectClass: inetOrgPerson\nuid: eve\ncn: Eve\nsn: Eve\n",
                user_dn("contoso", "eve")
            )),
        )
        .code(INSUFFICIENT_ACCESS);
    reader
        .run("ldapmodrdn", &["-r", &alice, "uid=alicia"], None)
        .code(INSUFFICIENT_ACCESS);
    reader
        .run("ldapdelete", &[&david], None)
        .code(INSUFFICIENT_ACCESS);
    let e = reader
        .search(&alice, "base", "(objectClass=*)", &[])
        .ok()
        .entries();
    assert_eq!(e[0].get("mail"), ["alice@contoso.example"]);
    reader
        .search(
            &user_dn("contoso", "eve"),
            "base",
            "(objectClass=*)",
            &["dn"],
        )
        .code(NO_SUCH_OBJECT);
    let g = reader
        .search(&staff, "base", "(objectClass=*)", &["member"])
        .ok()
        .entries();
    assert!(g[0].get("member").contains(&alice));

    // ldapdelete by the writer: gone, and out of staff.
    w.run("ldapdelete", &[&david], None).ok();
    reader
        .search(&david, "base", "(objectClass=*)", &["dn"])
        .code(NO_SUCH_OBJECT);
    let g = reader
        .search(&staff, "base", "(objectClass=*)", &["member"])
        .ok()
        .entries();
    assert_eq!(
        g[0].set("member"),
        strings(&[user_dn("contoso", "alice"), user_dn("contoso", "bob")])
    );
    w.run("ldapdelete", &[&david], None).code(NO_SUCH_OBJECT);
}

/// Item 5: ldappasswd — alice changes her own password (with the old one), then lets the
/// server generate one.
#[test]
fn ldappasswd_changes_ones_own_password_or_generates_one() {
    let s = Server::start_demo();
    let alice = contoso_alice();
    let new_pw = "Quiet-Harbor-2031!";
    let r = client(&s, Via::Ldaps, &alice)
        .run("ldappasswd", &["-a", &alice.password, "-s", new_pw], None)
        .ok();
    assert!(!r.stdout.contains("New password"), "{}", r.stdout);
    // The old password no longer binds; the new one does.
    for via in EVERY_TRANSPORT {
        client(&s, via, &alice).whoami().code(INVALID_CREDENTIALS);
    }
    let alice = who("contoso", "alice", new_pw);
    assert_eq!(
        client(&s, Via::StartTls, &alice)
            .whoami()
            .ok()
            .stdout
            .trim(),
        format!("dn:{}", alice.dn)
    );
    // A wrong old password changes nothing.
    client(&s, Via::Ldaps, &alice)
        .run(
            "ldappasswd",
            &["-a", "Not-The-Password-1!", "-s", "Other-Harbor-2032!"],
            None,
        )
        .refused_with(INVALID_CREDENTIALS);
    // A weak new password is refused by the policy.
    client(&s, Via::Ldaps, &alice)
        .run("ldappasswd", &["-a", new_pw, "-s", "password"], None)
        .refused_with(CONSTRAINT_VIOLATION);

    // Without -s the server generates the new password and ldappasswd prints it.
    let r = client(&s, Via::Ldaps, &alice)
        .run("ldappasswd", &["-a", new_pw], None)
        .ok();
    let generated = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("New password: "))
        .unwrap_or_else(|| panic!("no generated password printed:\n{}", r.stdout))
        .to_string();
    assert!(generated.len() >= 24, "{generated:?}");
    client(&s, Via::Ldaps, &alice)
        .whoami()
        .code(INVALID_CREDENTIALS);
    let alice = who("contoso", "alice", &generated);
    assert_eq!(
        client(&s, Via::Ldaps, &alice).whoami().ok().stdout.trim(),
        format!("dn:{}", alice.dn)
    );

    // Anonymous clients change nothing.
    anonymous(&s, Via::Ldaps)
        .run("ldappasswd", &["-s", "Some-Other-Pass-9!", &alice.dn], None)
        .refused_with(UNWILLING_TO_PERFORM);
}

/// Item 7: the RFC 4513 bind cases, and a server that refuses passwords without TLS.
#[test]
fn binds_follow_rfc_4513() {
    let s = Server::start_demo();
    // Anonymous: the root DSE, nothing of the tenants.
    for via in EVERY_TRANSPORT {
        let anon = anonymous(&s, via);
        assert_eq!(anon.whoami().ok().stdout.trim(), "anonymous");
        let r = anon.search("", "base", "(objectClass=*)", &["+"]).ok();
        let dse = r.entries();
        assert_eq!(dse.len(), 1, "{}", r.stdout);
        assert_eq!(dse[0].dn, "");
        assert_eq!(dse[0].get("namingContexts"), [SUFFIX]);
        assert_eq!(dse[0].get("supportedLDAPVersion"), ["3"]);
        let ext = dse[0].set("supportedExtension");
        assert!(
            ext.contains(OID_WHO_AM_I) && ext.contains(OID_PASSWORD_MODIFY),
            "{ext:?}"
        );
        // StartTLS is offered only where it can be started.
        assert_eq!(
            ext.contains(OID_START_TLS),
            via == Via::Plain,
            "{via:?}: {ext:?}"
        );
        let r = anon
            .search("", "base", "(objectClass=*)", &["namingContexts"])
            .ok();
        let dse = r.entries();
        assert_eq!(dse.len(), 1);
        assert_eq!(
            dse[0].attrs.keys().cloned().collect::<Vec<_>>(),
            ["namingcontexts"]
        );
        assert_eq!(dse[0].get("namingContexts"), [SUFFIX]);
        let r = anon
            .search(&tenant_dn("contoso"), "sub", "(uid=alice)", &[])
            .code(INSUFFICIENT_ACCESS);
        assert!(r.entries().is_empty());
        anon.search(SUFFIX, "sub", "(objectClass=*)", &[])
            .code(INSUFFICIENT_ACCESS);
    }

    let alice = contoso_alice();
    let bind = |w: &Who, via: Via| client(&s, via, w).whoami();
    for via in EVERY_TRANSPORT {
        assert_eq!(
            bind(&alice, via).ok().stdout.trim(),
            format!("dn:{}", alice.dn)
        );
        // A DN with an empty password is an unauthenticated bind: refused, not anonymous.
        let r = bind(&who("contoso", "alice", ""), via).code(UNWILLING_TO_PERFORM);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        bind(&who("contoso", "alice", "Demo-2026:1.2!"), via).code(INVALID_CREDENTIALS);
        // Unknown user, unknown tenant, a DN outside the tree: the same answer.
        bind(&who("contoso", "zoe", "Demo-2026:1.1!"), via).code(INVALID_CREDENTIALS);
        bind(&who("nowhere", "alice", "Demo-2026:1.1!"), via).code(INVALID_CREDENTIALS);
        bind(
            &Who {
                dn: "cn=admin,dc=example,dc=com".into(),
                password: "Demo-2026:1.1!".into(),
            },
            via,
        )
        .code(INVALID_CREDENTIALS);
        // carol is suspended: her right password is refused.
        bind(&who("contoso", "carol", "Demo-2026:1.3!"), via).code(INVALID_CREDENTIALS);
    }

    // A user in no group the tenant's LDAP service admits.
    let sys = Actor::system();
    let t = tenant_id(&s, "contoso");
    let frank = s
        .dir
        .users()
        .create(
            &sys,
            t,
            NewUser {
                username: "frank".into(),
                family_name: Some("Fisher".into()),
                ..NewUser::default()
            },
        )
        .unwrap();
    let frank_pw = "Velvet-Orchard-55!";
    s.dir
        .credentials()
        .set_password(&sys, t, frank.id, frank_pw, false)
        .unwrap();
    let frank_login = who("contoso", "frank", frank_pw);
    bind(&frank_login, Via::Ldaps).code(INVALID_CREDENTIALS);
    // ... admitted once he joins staff: it was the group, not the password.
    let staff = s.dir.groups().by_name(&sys, t, "staff").unwrap();
    s.dir
        .groups()
        .add_member(&sys, t, staff.id, Member::User(frank.id))
        .unwrap();
    bind(&frank_login, Via::Ldaps).ok();
    drop(s);

    // allow_plain_binds = never: a password over plain LDAP is confidentialityRequired;
    // StartTLS and LDAPS take it; anonymous reads of the root DSE stay open.
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Server::config_in(tmp.path());
    config.ldap.allow_plain_binds = tessera::config::AllowPlainBinds::Never;
    {
        let dir = tessera::keys::open(&config).unwrap();
        tessera::demo::seed(&dir).unwrap();
    }
    let s = Server::start_on(config, tmp);
    let r = client(&s, Via::Plain, &alice)
        .whoami()
        .code(CONFIDENTIALITY_REQUIRED);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    // Even a wrong password gets that answer first: nothing is checked in the clear.
    client(&s, Via::Plain, &who("contoso", "alice", "wrong"))
        .whoami()
        .code(CONFIDENTIALITY_REQUIRED);
    for via in [Via::StartTls, Via::Ldaps] {
        assert_eq!(
            client(&s, via, &alice).whoami().ok().stdout.trim(),
            format!("dn:{}", alice.dn)
        );
    }
    let r = anonymous(&s, Via::Plain)
        .search("", "base", "(objectClass=*)", &["namingContexts"])
        .ok();
    assert_eq!(r.entries()[0].get("namingContexts"), [SUFFIX]);
}

/// Item 8: TOTP required on LDAP for contoso's wifi group: alice binds with her password and
/// the code appended after the tenant's separator; the password alone, a wrong code or a
/// reused code are refused; bob (not in wifi) binds with his password.
#[test]
fn mfa_on_ldap_takes_the_code_appended_to_the_password() {
    let s = Server::start_demo();
    let sys = Actor::system();
    let t = tenant_id(&s, "contoso");
    let alice_id = user_id(&s, t, "alice");
    let wifi = s.dir.groups().by_name(&sys, t, "wifi").unwrap();
    let mut policy = s.dir.policies().get(&sys, t).unwrap().local;
    policy.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Ldap]));
    policy.mfa_required_groups = BTreeSet::from([wifi.id]);
    let view = s.dir.policies().set(&sys, t, policy).unwrap();
    assert!(view.effective.mfa_protocols.contains(&Protocol::Ldap));
    let sep = view.effective.separator.clone();
    assert_eq!(sep, ",", "the documented default separator");

    let alice = contoso_alice();
    // Required but not enrolled: no bind at all.
    client(&s, Via::Ldaps, &alice)
        .whoami()
        .code(INVALID_CREDENTIALS);
    let enrolment = s.dir.credentials().enroll_totp(&sys, t, alice_id).unwrap();
    // Confirmed with the previous step's code, so the current one is still unused.
    let previous = totp_code(&enrolment.url, s.dir.now().plus_secs(-30));
    s.dir
        .credentials()
        .confirm_totp(&sys, t, alice_id, &previous)
        .unwrap();

    client(&s, Via::Ldaps, &alice)
        .whoami()
        .code(INVALID_CREDENTIALS);
    let wrong_code = {
        let c = totp_code(&enrolment.url, s.dir.now().plus_secs(600));
        let n: u32 = c.parse().unwrap();
        format!("{:06}", (n + 1) % 1_000_000)
    };
    client(
        &s,
        Via::Ldaps,
        &who(
            "contoso",
            "alice",
            &format!("{}{sep}{wrong_code}", alice.password),
        ),
    )
    .whoami()
    .code(INVALID_CREDENTIALS);
    let code = totp_code(&enrolment.url, s.dir.now());
    let with_code = who(
        "contoso",
        "alice",
        &format!("{}{sep}{code}", alice.password),
    );
    assert_eq!(
        client(&s, Via::Ldaps, &with_code)
            .whoami()
            .ok()
            .stdout
            .trim(),
        format!("dn:{}", alice.dn)
    );
    // Each code binds once.
    client(&s, Via::Ldaps, &with_code)
        .whoami()
        .code(INVALID_CREDENTIALS);
    // A right code after a wrong password is no better.
    let next = totp_code(&enrolment.url, s.dir.now().plus_secs(30));
    client(
        &s,
        Via::Ldaps,
        &who("contoso", "alice", &format!("Demo-2026:1.2!{sep}{next}")),
    )
    .whoami()
    .code(INVALID_CREDENTIALS);

    // Outside the required group the password alone is enough.
    let bob = who("contoso", "bob", "Demo-2026:1.2!");
    client(&s, Via::Ldaps, &bob).whoami().ok();
    client(&s, Via::Ldaps, &contoso_svc()).whoami().ok();
}

/// Item 9: tenant isolation — same usernames, different passwords; each bind account sees its
/// tenants only; acme's account sees its two customers and nothing of globex.
#[test]
fn tenants_are_isolated_and_the_msp_account_reads_its_customers_only() {
    let s = Server::start_demo();
    // alice exists in contoso and fabrikam, each with her own password.
    let contoso_alice = contoso_alice();
    let fabrikam_alice = who("fabrikam", "alice", "Demo-2026:2.1!");
    client(&s, Via::Ldaps, &contoso_alice).whoami().ok();
    assert_eq!(
        client(&s, Via::Ldaps, &fabrikam_alice)
            .whoami()
            .ok()
            .stdout
            .trim(),
        format!("dn:{}", fabrikam_alice.dn)
    );
    client(
        &s,
        Via::Ldaps,
        &who("fabrikam", "alice", &contoso_alice.password),
    )
    .whoami()
    .code(INVALID_CREDENTIALS);
    client(
        &s,
        Via::Ldaps,
        &who("contoso", "alice", &fabrikam_alice.password),
    )
    .whoami()
    .code(INVALID_CREDENTIALS);

    // contoso's account: fabrikam does not exist for it (noSuchObject, matched the suffix);
    // the whole suffix shows the suffix entry and contoso, nothing of anyone else.
    let svc = contoso_svc();
    let c = client(&s, Via::Plain, &svc);
    for base in [
        tenant_dn("fabrikam"),
        format!("ou=Users,{}", tenant_dn("fabrikam")),
        user_dn("fabrikam", "alice"),
        tenant_dn("acme"),
        tenant_dn("globex"),
    ] {
        let r = c
            .search(&base, "sub", "(objectClass=*)", &["dn"])
            .code(NO_SUCH_OBJECT);
        assert!(r.entries().is_empty(), "{base}: {}", r.stdout);
        assert!(
            r.stderr.contains(&format!("Matched DN: {SUFFIX}")),
            "{base}: {}",
            r.stderr
        );
    }
    let everything = c
        .search(SUFFIX, "sub", "(objectClass=*)", &["dn"])
        .ok()
        .dns();
    let outside: Vec<&String> = everything
        .iter()
        .filter(|d| d.as_str() != SUFFIX && !d.ends_with(&tenant_dn("contoso")))
        .collect();
    assert!(outside.is_empty(), "contoso's account sees {outside:?}");
    assert!(everything.contains(&user_dn("contoso", "bob")));
    assert_eq!(
        c.search(SUFFIX, "sub", "(uid=alice)", &["dn"]).ok().dns(),
        strings(&[user_dn("contoso", "alice")])
    );
    assert_eq!(
        c.search(SUFFIX, "one", "(objectClass=*)", &["dn"])
            .ok()
            .dns(),
        strings(&[tenant_dn("contoso")])
    );

    // acme's account (Directory Reader at acme): alice of contoso and of fabrikam; globex and
    // initech do not exist for it.
    let acme = acme_svc();
    let a = client(&s, Via::Ldaps, &acme);
    assert_eq!(a.whoami().ok().stdout.trim(), format!("dn:{}", acme.dn));
    assert_eq!(
        a.search(SUFFIX, "sub", "(uid=alice)", &["dn"]).ok().dns(),
        strings(&[user_dn("contoso", "alice"), user_dn("fabrikam", "alice")])
    );
    let fab = a
        .search(&tenant_dn("fabrikam"), "sub", "(uid=alice)", &["mail"])
        .ok()
        .entries();
    assert_eq!(fab.len(), 1);
    assert_eq!(fab[0].get("mail"), ["alice@fabrikam.example"]);
    assert_eq!(
        a.search(SUFFIX, "one", "(objectClass=*)", &["dn"])
            .ok()
            .dns(),
        strings(&[
            tenant_dn("acme"),
            tenant_dn("contoso"),
            tenant_dn("fabrikam")
        ])
    );
    for t in ["globex", "initech"] {
        let r = a
            .search(&tenant_dn(t), "sub", "(uid=alice)", &["dn"])
            .code(NO_SUCH_OBJECT);
        assert!(r.entries().is_empty());
        a.search(&user_dn(t, "alice"), "base", "(objectClass=*)", &["dn"])
            .code(NO_SUCH_OBJECT);
        a.run("ldapcompare", &[&user_dn(t, "alice"), "uid:alice"], None)
            .code(NO_SUCH_OBJECT);
    }
    let all = a
        .search(SUFFIX, "sub", "(objectClass=*)", &["dn"])
        .ok()
        .dns();
    for d in &all {
        assert!(
            !d.contains("o=globex") && !d.contains("o=initech") && !d.contains("o=northwind"),
            "acme's account sees {d}"
        );
    }
}
