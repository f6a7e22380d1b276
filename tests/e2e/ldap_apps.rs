//! Replays of the exact LDAP searches real applications send (SSSD rfc2307bis, Nextcloud
//! user_ldap, Gitea, Grafana) through the ldap3 client crate against the demo server: each logs
//! a user in the way the application does (bind as the tenant's service account, find the
//! user, bind as the user's DN with their password, map groups) and checks that it gets exactly
//! what the application needs — and nothing of another tenant, and no password material.
//! The transports (plain, StartTLS, LDAPS trusting exactly the server's certificate) are
//! checked first. Setup goes through the directory's services only.

use crate::harness::Server;
use ldap3::adapters::PagedResults as PagedAdapter;
use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::exop::{WhoAmI, WhoAmIResp};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tessera_directory::model::{Member, NewGroup, UserPatch};
use tessera_directory::Actor;

const SUFFIX: &str = "dc=tessera,dc=local";
/// The uidNumbers the demo gives alice and bob (README "Demo"; the same in every customer).
const ALICE_UID: u32 = 10001;
const BOB_UID: u32 = 10002;
/// A valid OpenSSH key (the directory checks the blob).
const ALICE_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";
const PAGED_OID: &str = "1.2.840.113556.1.4.319";

fn user_dn(tenant: &str, user: &str) -> String {
    format!("uid={user},ou=Users,o={tenant},{SUFFIX}")
}

fn group_dn(tenant: &str, group: &str) -> String {
    format!("cn={group},ou=Groups,o={tenant},{SUFFIX}")
}

fn users_base(tenant: &str) -> String {
    format!("ou=Users,o={tenant},{SUFFIX}")
}

fn groups_base(tenant: &str) -> String {
    format!("ou=Groups,o={tenant},{SUFFIX}")
}

/// The demo password rule (README "Demo").
fn password(tenant: &str, user: &str) -> String {
    let t = match tenant {
        "contoso" => 1,
        "fabrikam" => 2,
        "globex" => 3,
        "initech" => 4,
        "acme" => 5,
        other => panic!("no demo tenant {other}"),
    };
    let u = match (tenant, user) {
        ("acme", "svc-ldap") => 3,
        (_, "alice") => 1,
        (_, "bob") => 2,
        (_, "carol") => 3,
        (_, "svc-ldap") => 4,
        other => panic!("no demo user {other:?}"),
    };
    format!("Demo-2026:{t}.{u}!")
}

fn set<I, S>(it: I) -> BTreeSet<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    it.into_iter().map(Into::into).collect()
}

// ---- the server with POSIX users --------------------------------------------------------

/// The demo server, whose alice and bob are POSIX accounts in every customer (primary group
/// staff), as an SSSD or Gitea deployment needs; contoso's alice also gets an SSH key, through
/// the directory's services.
struct Posix {
    s: Server,
    staff_gid: u32,
    wifi_gid: u32,
    admins_gid: u32,
    accounts_gid: u32,
}

fn posix_demo() -> Posix {
    let s = Server::start_demo();
    let sys = Actor::system();
    let dir = &s.dir;
    let t = |slug: &str| dir.tenants().by_slug(&sys, slug).unwrap().id;
    let (contoso, fabrikam) = (t("contoso"), t("fabrikam"));
    let g = |name: &str| {
        dir.groups()
            .by_name(&sys, contoso, name)
            .unwrap()
            .gid_number
    };
    let d = Posix {
        staff_gid: g("staff"),
        wifi_gid: g("wifi"),
        admins_gid: g("admins"),
        accounts_gid: g("service-accounts"),
        s,
    };
    let user = |t, name: &str| d.s.dir.users().by_username(&sys, t, name).unwrap();
    // The numbers the demo gives: the same in every customer, so a leak across tenants would
    // show in a getpwuid.
    for (t, name, uid) in [
        (contoso, "alice", ALICE_UID),
        (contoso, "bob", BOB_UID),
        (fabrikam, "alice", ALICE_UID),
    ] {
        let p = user(t, name).posix.unwrap();
        assert_eq!((p.uid_number, p.gid_number), (uid, d.staff_gid), "{name}");
    }
    let alice = user(contoso, "alice");
    d.s.dir
        .users()
        .update(
            &sys,
            contoso,
            alice.id,
            UserPatch {
                ssh_keys: Some(vec![ALICE_KEY.to_string()]),
                ..UserPatch::default()
            },
        )
        .unwrap();
    d
}

// ---- the client -------------------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A rustls client configuration (ring) whose only root is the server's certificate.
fn trusting(cert: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(cert).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(c.unwrap()).unwrap();
    }
    assert_eq!(
        roots.len(),
        1,
        "the server's certificate is one certificate"
    );
    client_config(roots)
}

fn client_config(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Plain,
    StartTls,
    Ldaps,
}

/// Opens a connection; TLS names the host `localhost` for StartTLS and `127.0.0.1` for LDAPS,
/// so both kinds of subject alternative name are checked.
async fn open(
    s: &Server,
    t: Transport,
    tls: Arc<rustls::ClientConfig>,
) -> ldap3::result::Result<Ldap> {
    let settings = LdapConnSettings::new().set_conn_timeout(Duration::from_secs(5));
    let (url, settings) = match t {
        Transport::Plain => (format!("ldap://{}", s.ldap), settings),
        Transport::StartTls => (
            format!("ldap://localhost:{}", s.ldap.port()),
            settings.set_config(tls).set_starttls(true),
        ),
        Transport::Ldaps => (
            format!("ldaps://127.0.0.1:{}", s.ldaps.port()),
            settings.set_config(tls),
        ),
    };
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &url).await?;
    ldap3::drive!(conn);
    Ok(ldap)
}

async fn connect(s: &Server, t: Transport) -> Ldap {
    open(s, t, trusting(&s.cert)).await.unwrap()
}

/// A simple bind that must succeed.
async fn bind(l: &mut Ldap, dn: &str, pw: &str) {
    let r = l.simple_bind(dn, pw).await.unwrap();
    assert_eq!(r.rc, 0, "bind as {dn}: {r:?}");
}

/// A simple bind's result code.
async fn bind_rc(l: &mut Ldap, dn: &str, pw: &str) -> u32 {
    l.simple_bind(dn, pw).await.unwrap().rc
}

async fn bind_service(l: &mut Ldap, tenant: &str) {
    bind(
        l,
        &user_dn(tenant, "svc-ldap"),
        &password(tenant, "svc-ldap"),
    )
    .await;
}

async fn whoami(l: &mut Ldap) -> String {
    let (exop, _) = l.extended(WhoAmI).await.unwrap().success().unwrap();
    exop.parse::<WhoAmIResp>().authzid
}

/// A search that must succeed; its entries.
async fn search(
    l: &mut Ldap,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
) -> Vec<SearchEntry> {
    let (entries, _) = l
        .search(base, scope, filter, attrs.to_vec())
        .await
        .unwrap()
        .success()
        .unwrap_or_else(|e| panic!("search {filter} under {base}: {e}"));
    entries.into_iter().map(SearchEntry::construct).collect()
}

/// The search's one entry.
async fn one(l: &mut Ldap, base: &str, scope: Scope, filter: &str, attrs: &[&str]) -> SearchEntry {
    let mut v = search(l, base, scope, filter, attrs).await;
    assert_eq!(
        v.len(),
        1,
        "{filter} under {base}: {:?}",
        v.iter().map(|e| &e.dn).collect::<Vec<_>>()
    );
    v.pop().unwrap()
}

fn dns(v: &[SearchEntry]) -> BTreeSet<String> {
    v.iter().map(|e| e.dn.clone()).collect()
}

/// An attribute's values, its name compared case-insensitively (as the applications do).
fn vals(e: &SearchEntry, name: &str) -> Vec<String> {
    e.attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.clone())
        .collect()
}

fn val(e: &SearchEntry, name: &str) -> String {
    let v = vals(e, name);
    assert_eq!(v.len(), 1, "{} has {name} = {v:?}", e.dn);
    v.into_iter().next().unwrap()
}

/// No attribute of the entry is password material, whatever was asked.
fn no_password(e: &SearchEntry) {
    for k in e.attrs.keys().chain(e.bin_attrs.keys()) {
        assert!(
            !k.to_ascii_lowercase().contains("password"),
            "{} came back with {k}",
            e.dn
        );
    }
}

/// A UUID in its hyphenated lower-case form (RFC 4530's entryUUID string).
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn is_generalized_time(s: &str) -> bool {
    s.len() == 15 && s.ends_with('Z') && s[..14].bytes().all(|b| b.is_ascii_digit())
}

fn paged_cookie(ctrls: &[Control]) -> Option<Vec<u8>> {
    ctrls.iter().find_map(|c| match c {
        Control(Some(ControlType::PagedResults), raw) => Some(raw.parse::<PagedResults>().cookie),
        _ => None,
    })
}

/// A search through ldap3's paged-results adapter (what a client that pages everything does);
/// the entries of every page.
async fn paged_adapter(
    l: &mut Ldap,
    size: i32,
    base: &str,
    filter: &str,
    attrs: &[&str],
) -> Vec<SearchEntry> {
    let mut stream = l
        .streaming_search_with(
            PagedAdapter::new(size),
            base,
            Scope::Subtree,
            filter,
            attrs.to_vec(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(e) = stream.next().await.unwrap() {
        out.push(SearchEntry::construct(e));
    }
    stream.finish().await.success().unwrap();
    out
}

// ---- transports ---------------------------------------------------------------------------

#[test]
fn ldap3_binds_searches_and_asks_who_am_i_over_plain_starttls_and_ldaps() {
    let s = Server::start_demo();
    runtime().block_on(async {
        let me = user_dn("contoso", "svc-ldap");
        let alice = user_dn("contoso", "alice");
        for t in [Transport::Plain, Transport::StartTls, Transport::Ldaps] {
            let mut l = connect(&s, t).await;
            assert_eq!(whoami(&mut l).await, "", "{t:?}: anonymous at first");
            bind(&mut l, &me, &password("contoso", "svc-ldap")).await;
            assert_eq!(whoami(&mut l).await, format!("dn:{me}"), "{t:?}");
            let e = one(
                &mut l,
                &alice,
                Scope::Base,
                "(objectClass=*)",
                &["uid", "mail"],
            )
            .await;
            assert_eq!(e.dn, alice, "{t:?}");
            assert_eq!(vals(&e, "uid"), ["alice"], "{t:?}");
            assert_eq!(vals(&e, "mail"), ["alice@contoso.example"], "{t:?}");
            assert_eq!(
                e.attrs.len(),
                2,
                "{t:?}: only what was asked: {:?}",
                e.attrs
            );
            l.unbind().await.unwrap();
        }
        // The certificate check is real: a client trusting other roots gets no connection.
        for t in [Transport::StartTls, Transport::Ldaps] {
            let stranger = open(&s, t, client_config(rustls::RootCertStore::empty())).await;
            assert!(stranger.is_err(), "{t:?} without trusting the certificate");
        }
    });
}

// ---- SSSD -----------------------------------------------------------------------------------

/// The user attributes SSSD's LDAP provider asks for: the map of sssd-ldap(5) with its
/// `ldap_schema = rfc2307bis` defaults (ldap_user_name uid, ldap_user_pwd userPassword,
/// ldap_user_uid_number uidNumber, ldap_user_gid_number gidNumber, ldap_user_gecos gecos,
/// ldap_user_home_directory homeDirectory, ldap_user_shell loginShell, ldap_user_fullname cn,
/// ldap_user_member_of memberOf, ldap_user_modify_timestamp modifyTimestamp, the shadow and
/// Kerberos attributes, ldap_user_ssh_public_key sshPublicKey, ldap_user_email mail, …), with
/// ldap_user_uuid set to entryUUID. SSSD sends modifyTimestamp twice (it maps two options to it).
const SSSD_USER_ATTRS: &[&str] = &[
    "objectClass",
    "uid",
    "userPassword",
    "uidNumber",
    "gidNumber",
    "gecos",
    "homeDirectory",
    "loginShell",
    "krbPrincipalName",
    "cn",
    "memberOf",
    "modifyTimestamp",
    "modifyTimestamp",
    "shadowLastChange",
    "shadowMin",
    "shadowMax",
    "shadowWarning",
    "shadowInactive",
    "shadowExpire",
    "shadowFlag",
    "krbLastPwdChange",
    "krbPasswordExpiration",
    "pwdAttribute",
    "authorizedService",
    "accountExpires",
    "userAccountControl",
    "nsAccountLock",
    "host",
    "rhost",
    "loginDisabled",
    "loginExpirationTime",
    "loginAllowedTimeMap",
    "sshPublicKey",
    "userCertificate;binary",
    "mail",
    "entryUUID",
];

/// The group attributes SSSD asks for (sssd-ldap(5) group map: ldap_group_object_class,
/// ldap_group_name cn, ldap_group_pwd userPassword, ldap_group_gid_number gidNumber,
/// ldap_group_member member, ldap_group_modify_timestamp modifyTimestamp, ldap_group_entry_usn).
const SSSD_GROUP_ATTRS: &[&str] = &[
    "objectClass",
    "cn",
    "userPassword",
    "gidNumber",
    "member",
    "modifyTimestamp",
    "entryUSN",
];

/// SSSD (`id_provider = ldap`, `ldap_schema = rfc2307bis`, `ldap_group_object_class =
/// groupOfNames`, no ldap_search_base: it reads namingContexts) over StartTLS, as
/// `ldap_id_use_start_tls = true` (SSSD refuses to authenticate over a plain channel).
#[test]
fn sssd_rfc2307bis_resolves_alice_authenticates_her_and_lists_her_groups() {
    let d = posix_demo();
    let s = &d.s;
    runtime().block_on(async {
        let mut l = connect(s, Transport::StartTls).await;
        // The root DSE, read before binding: the search base and whether paging is offered
        // (SSSD pages only when supportedControl lists it).
        let dse = one(
            &mut l,
            "",
            Scope::Base,
            "(objectclass=*)",
            &[
                "*",
                "altServer",
                "namingContexts",
                "supportedControl",
                "supportedExtension",
                "supportedFeatures",
                "supportedLDAPVersion",
                "supportedSASLMechanisms",
                "domainControllerFunctionality",
                "defaultNamingContext",
                "lastUSN",
                "highestCommittedUSN",
            ],
        )
        .await;
        assert_eq!(vals(&dse, "namingContexts"), [SUFFIX]);
        assert!(vals(&dse, "supportedControl").contains(&PAGED_OID.to_string()));
        assert_eq!(vals(&dse, "supportedLDAPVersion"), ["3"]);
        let base = val(&dse, "namingContexts");

        bind_service(&mut l, "contoso").await;
        let alice = user_dn("contoso", "alice");
        // getpwnam("alice"): SSSD 1.x and 2.x user-by-name filters
        // (ldap_user_object_class = posixAccount, ldap_user_name = uid, and uidNumber 0
        // excluded so no directory can hand out root).
        for filter in [
            "(&(uid=alice)(objectclass=posixAccount)(&(uidNumber=*)(!(uidNumber=0))))",
            "(&(uid=alice)(objectclass=posixAccount)(uid=*)(&(uidNumber=*)(!(uidNumber=0))))",
        ] {
            let e = one(&mut l, &base, Scope::Subtree, filter, SSSD_USER_ATTRS).await;
            assert_eq!(e.dn, alice);
            no_password(&e);
            assert_eq!(vals(&e, "uid"), ["alice"]);
            assert_eq!(vals(&e, "uidNumber"), [ALICE_UID.to_string()]);
            assert_eq!(vals(&e, "gidNumber"), [d.staff_gid.to_string()]);
            assert_eq!(vals(&e, "homeDirectory"), ["/home/alice"]);
            assert_eq!(vals(&e, "loginShell"), ["/bin/bash"]);
            // No gecos: SSSD falls back to cn (ldap_user_fullname) for the GECOS field.
            assert!(vals(&e, "gecos").is_empty());
            assert_eq!(vals(&e, "cn"), ["Alice Archer"]);
            assert_eq!(vals(&e, "mail"), ["alice@contoso.example"]);
            assert_eq!(vals(&e, "sshPublicKey"), [ALICE_KEY]);
            assert!(vals(&e, "objectClass").contains(&"posixAccount".to_string()));
            assert_eq!(
                set(vals(&e, "memberOf")),
                set([group_dn("contoso", "staff"), group_dn("contoso", "wifi")])
            );
            assert!(is_generalized_time(&val(&e, "modifyTimestamp")));
            assert!(is_uuid(&val(&e, "entryUUID")));
        }
        // Not POSIX accounts: unknown to NSS.
        for who in ["svc-ldap", "carol", "nobody"] {
            let f =
                format!("(&(uid={who})(objectclass=posixAccount)(&(uidNumber=*)(!(uidNumber=0))))");
            assert!(search(&mut l, &base, Scope::Subtree, &f, SSSD_USER_ATTRS)
                .await
                .is_empty());
        }
        // getpwuid(20001): fabrikam's alice has the same number and stays invisible.
        let f = format!(
            "(&(uidNumber={ALICE_UID})(objectclass=posixAccount)(&(uidNumber=*)(!(uidNumber=0))))"
        );
        let e = one(&mut l, &base, Scope::Subtree, &f, SSSD_USER_ATTRS).await;
        assert_eq!(e.dn, alice);
        let f = "(&(uidNumber=0)(objectclass=posixAccount)(&(uidNumber=*)(!(uidNumber=0))))";
        assert!(search(&mut l, &base, Scope::Subtree, f, SSSD_USER_ATTRS)
            .await
            .is_empty());

        // Authentication: SSSD binds as the entry's DN on a connection of its own.
        let mut auth = connect(s, Transport::StartTls).await;
        bind(&mut auth, &alice, &password("contoso", "alice")).await;
        assert_eq!(whoami(&mut auth).await, format!("dn:{alice}"));
        assert_eq!(bind_rc(&mut auth, &alice, "Demo-2026:1.2!").await, 49);
        assert_eq!(
            bind_rc(&mut auth, &alice, &password("fabrikam", "alice")).await,
            49,
            "fabrikam's alice's password is not contoso's alice's"
        );
        // carol is suspended: invalidCredentials, like a wrong password.
        assert_eq!(
            bind_rc(
                &mut auth,
                &user_dn("contoso", "carol"),
                &password("contoso", "carol")
            )
            .await,
            49
        );

        // initgroups (rfc2307bis): the groups whose member is the user's DN, with the
        // configured group class (groupOfNames) and with the default one (posixGroup).
        let want = set([group_dn("contoso", "staff"), group_dn("contoso", "wifi")]);
        for class in ["groupOfNames", "posixGroup"] {
            let f = format!(
                "(&(member={alice})(objectClass={class})(cn=*)(&(gidNumber=*)(!(gidNumber=0))))"
            );
            let groups = search(&mut l, &base, Scope::Subtree, &f, SSSD_GROUP_ATTRS).await;
            assert_eq!(dns(&groups), want, "{class}");
            for g in &groups {
                no_password(g);
                let gid = match val(g, "cn").as_str() {
                    "staff" => d.staff_gid,
                    "wifi" => d.wifi_gid,
                    other => panic!("unexpected group {other}"),
                };
                assert_eq!(vals(g, "gidNumber"), [gid.to_string()]);
                assert!(vals(g, "member").contains(&alice));
                let classes = vals(g, "objectClass");
                assert!(classes.contains(&"groupOfNames".to_string()));
                assert!(classes.contains(&"posixGroup".to_string()));
                assert!(is_generalized_time(&val(g, "modifyTimestamp")));
            }
        }
        // rfc2307 initgroups (memberUid) finds the same groups.
        let f =
            "(&(memberuid=alice)(objectclass=posixGroup)(cn=*)(&(gidNumber=*)(!(gidNumber=0))))";
        let groups = search(&mut l, &base, Scope::Subtree, f, SSSD_GROUP_ATTRS).await;
        assert_eq!(dns(&groups), want);
        // getgrgid(primary group): staff, with both its members.
        let f = format!(
            "(&(gidNumber={})(objectclass=groupOfNames)(cn=*)(&(gidNumber=*)(!(gidNumber=0))))",
            d.staff_gid
        );
        let staff = one(&mut l, &base, Scope::Subtree, &f, SSSD_GROUP_ATTRS).await;
        assert_eq!(staff.dn, group_dn("contoso", "staff"));
        assert_eq!(
            set(vals(&staff, "member")),
            set([alice.clone(), user_dn("contoso", "bob")])
        );

        // Enumeration (enumerate = true), paged as SSSD does; a page of one entry makes every
        // entry its own page.
        let users = paged_adapter(
            &mut l,
            1,
            &base,
            "(&(objectclass=posixAccount)(uid=*)(&(uidNumber=*)(!(uidNumber=0))))",
            SSSD_USER_ATTRS,
        )
        .await;
        assert_eq!(dns(&users), set([alice.clone(), user_dn("contoso", "bob")]));
        assert_eq!(users.len(), 2);
        users.iter().for_each(no_password);
        let groups = paged_adapter(
            &mut l,
            1,
            &base,
            "(&(objectclass=groupOfNames)(cn=*)(&(gidNumber=*)(!(gidNumber=0))))",
            SSSD_GROUP_ATTRS,
        )
        .await;
        assert_eq!(
            dns(&groups),
            set(["admins", "service-accounts", "staff", "wifi"].map(|g| group_dn("contoso", g)))
        );
        assert_eq!(groups.len(), 4);
        let gids: BTreeSet<String> = groups.iter().map(|g| val(g, "gidNumber")).collect();
        assert_eq!(
            gids,
            set([d.staff_gid, d.wifi_gid, d.admins_gid, d.accounts_gid].map(|n| n.to_string()))
        );
    });
}

// ---- Nextcloud ------------------------------------------------------------------------------

/// What Nextcloud's user_ldap reads of a user (its attribute names, lower-cased as it writes
/// them): the DN, the internal username attribute, the UUID attribute it detected, group
/// membership, display name and e-mail.
const NEXTCLOUD_USER_ATTRS: &[&str] =
    &["dn", "uid", "entryuuid", "memberof", "displayname", "mail"];

/// The login filter Nextcloud's LDAP wizard generates for object class inetOrgPerson with
/// "LDAP/AD Username" and "LDAP/AD Email Address" allowed as login names (`%uid` replaced by
/// what the user typed).
fn nextcloud_login_filter(login: &str) -> String {
    format!(
        "(&(&(|(objectclass=inetOrgPerson)))(|(uid={login})(|(mailPrimaryAddress={login})(mail={login}))))"
    )
}

/// Nextcloud user_ldap over LDAPS with the agent DN contoso's svc-ldap and base DN the suffix.
#[test]
fn nextcloud_user_ldap_logs_alice_in_lists_users_page_by_page_and_reads_groups() {
    let s = Server::start_demo();
    let sys = Actor::system();
    let contoso = s.dir.tenants().by_slug(&sys, "contoso").unwrap();
    let alice_id = s
        .dir
        .users()
        .by_username(&sys, contoso.id, "alice")
        .unwrap()
        .id
        .uuid()
        .hyphenated()
        .to_string();
    runtime().block_on(async {
        let mut l = connect(&s, Transport::Ldaps).await;
        bind_service(&mut l, "contoso").await;
        let alice = user_dn("contoso", "alice");
        let bob = user_dn("contoso", "bob");

        // Login by username, then by e-mail address, as people type them (uid and mail match
        // case-insensitively): the same entry, the same entryUUID.
        let mut uuids = Vec::new();
        for login in [
            "alice",
            "alice@contoso.example",
            "Alice",
            "ALICE@Contoso.Example",
        ] {
            let e = one(
                &mut l,
                SUFFIX,
                Scope::Subtree,
                &nextcloud_login_filter(login),
                NEXTCLOUD_USER_ATTRS,
            )
            .await;
            assert_eq!(e.dn, alice, "login {login}");
            assert_eq!(vals(&e, "uid"), ["alice"]);
            assert_eq!(vals(&e, "displayname"), ["Alice Archer"]);
            assert_eq!(vals(&e, "mail"), ["alice@contoso.example"]);
            assert_eq!(
                set(vals(&e, "memberof")),
                set([group_dn("contoso", "staff"), group_dn("contoso", "wifi")])
            );
            // `dn` is not an attribute: Nextcloud takes the entry's DN.
            assert!(vals(&e, "dn").is_empty());
            uuids.push(val(&e, "entryuuid"));
        }
        // Nextcloud keys its users by this: a UUID, the same every time, the record's id.
        assert!(is_uuid(&uuids[0]), "{}", uuids[0]);
        assert!(uuids.iter().all(|u| *u == uuids[0]), "{uuids:?}");
        assert_eq!(uuids[0], alice_id);
        // fabrikam's alice cannot log in through contoso's Nextcloud.
        assert!(search(
            &mut l,
            SUFFIX,
            Scope::Subtree,
            &nextcloud_login_filter("alice@fabrikam.example"),
            NEXTCLOUD_USER_ATTRS
        )
        .await
        .is_empty());

        // The password check: a bind as the found DN, on its own connection.
        let mut user = connect(&s, Transport::Ldaps).await;
        bind(&mut user, &alice, &password("contoso", "alice")).await;
        assert_eq!(bind_rc(&mut user, &alice, "wrong").await, 49);

        // The user list, paged (Nextcloud pages with ldap_control_paged_result; its page is
        // 500, two here so the four users take several pages with real cookies).
        let filter = "(&(|(objectclass=inetOrgPerson)))";
        let mut listed = Vec::new();
        let mut cookies = Vec::new();
        let mut cookie = Vec::new();
        loop {
            let r = l
                .with_controls(PagedResults { size: 2, cookie })
                .search(
                    SUFFIX,
                    Scope::Subtree,
                    filter,
                    NEXTCLOUD_USER_ATTRS.to_vec(),
                )
                .await
                .unwrap();
            let (entries, res) = r.success().unwrap();
            assert!(entries.len() <= 2, "a page holds at most two entries");
            listed.extend(entries.into_iter().map(SearchEntry::construct));
            cookie = paged_cookie(&res.ctrls).expect("the page carries the control");
            if cookie.is_empty() {
                break;
            }
            cookies.push(cookie.clone());
            assert!(cookies.len() < 10, "paging does not end");
        }
        assert!(
            !cookies.is_empty(),
            "four users in pages of two: at least two pages, so at least one cookie"
        );
        assert_eq!(
            cookies.iter().collect::<BTreeSet<_>>().len(),
            cookies.len(),
            "every page has its own cookie"
        );
        assert_eq!(listed.len(), 4, "{:?}", dns(&listed));
        assert_eq!(
            dns(&listed),
            set(["alice", "bob", "carol", "svc-ldap"].map(|u| user_dn("contoso", u)))
        );
        let listed_alice = listed.iter().find(|e| e.dn == alice).unwrap();
        assert_eq!(val(listed_alice, "entryuuid"), uuids[0]);
        for e in &listed {
            assert!(is_uuid(&val(e, "entryuuid")));
            no_password(e);
        }
        // A cookie is good for its own search only.
        let bad = l
            .with_controls(PagedResults {
                size: 2,
                cookie: vec![0; 16],
            })
            .search(SUFFIX, Scope::Subtree, filter, vec!["uid"])
            .await
            .unwrap();
        assert_ne!(bad.1.rc, 0, "an unknown cookie is refused");

        // Groups: the group list with its members (member is the association attribute).
        let groups = search(
            &mut l,
            SUFFIX,
            Scope::Subtree,
            "(&(|(objectclass=groupOfNames)))",
            &["dn", "cn", "member", "entryuuid"],
        )
        .await;
        assert_eq!(
            dns(&groups),
            set(["admins", "service-accounts", "staff", "wifi"].map(|g| group_dn("contoso", g)))
        );
        let members = |name: &str| {
            let g = groups
                .iter()
                .find(|g| g.dn == group_dn("contoso", name))
                .unwrap();
            assert!(is_uuid(&val(g, "entryuuid")));
            assert_eq!(vals(g, "cn"), [name]);
            set(vals(g, "member"))
        };
        assert_eq!(members("staff"), set([alice.clone(), bob.clone()]));
        assert_eq!(members("wifi"), set([alice.clone()]));
        assert_eq!(members("admins"), set([bob.clone()]));
        assert_eq!(
            members("service-accounts"),
            set([user_dn("contoso", "svc-ldap")])
        );
        // The groups of one user, as Nextcloud asks when memberOf is not its association.
        let mine = search(
            &mut l,
            SUFFIX,
            Scope::Subtree,
            &format!("(&(&(|(objectclass=groupOfNames)))(member={alice}))"),
            &["dn", "cn"],
        )
        .await;
        assert_eq!(
            dns(&mine),
            set([group_dn("contoso", "staff"), group_dn("contoso", "wifi")])
        );
    });
}

// ---- Gitea ----------------------------------------------------------------------------------

/// Gitea's "LDAP (via BindDN)" source: User Search Base `ou=Users,o=contoso,…`, User Filter
/// `(&(objectClass=posixAccount)(|(uid=%[1]s)(mail=%[1]s)))` (the example of Gitea's docs),
/// attributes username uid, first name givenName, surname sn, e-mail mail, SSH key
/// sshPublicKey, and Admin Filter `(memberOf=cn=admins,…)` checked on the user's DN.
fn gitea_user_filter(login: &str) -> String {
    format!("(&(objectClass=posixAccount)(|(uid={login})(mail={login})))")
}

const GITEA_ATTRS: &[&str] = &["uid", "givenName", "sn", "mail", "sshPublicKey"];

/// Gitea's admin check: a base search on the user's DN with the admin filter (asking for the
/// first-name attribute); any entry means admin.
async fn gitea_is_admin(l: &mut Ldap, dn: &str) -> bool {
    let admin_filter = format!("(memberOf={})", group_dn("contoso", "admins"));
    !search(l, dn, Scope::Base, &admin_filter, &["givenName"])
        .await
        .is_empty()
}

/// Gitea over plain LDAP on loopback (its "Unencrypted" security protocol).
#[test]
fn gitea_via_bind_dn_logs_in_with_ssh_keys_and_finds_its_admins() {
    let d = posix_demo();
    let s = &d.s;
    runtime().block_on(async {
        let base = users_base("contoso");
        let alice = user_dn("contoso", "alice");
        for login in ["alice", "alice@contoso.example", "bob"] {
            let mut l = connect(s, Transport::Plain).await;
            bind_service(&mut l, "contoso").await;
            // findUserDN: the filter, no attributes.
            let found = one(
                &mut l,
                &base,
                Scope::Subtree,
                &gitea_user_filter(login),
                &[],
            )
            .await;
            let dn = found.dn.clone();
            let name = if login == "bob" { "bob" } else { "alice" };
            assert_eq!(dn, user_dn("contoso", name), "login {login}");
            // The attributes, in the bind DN's context (AttributesInBind off, the default).
            let e = one(
                &mut l,
                &base,
                Scope::Subtree,
                &gitea_user_filter(login),
                GITEA_ATTRS,
            )
            .await;
            assert_eq!(e.dn, dn);
            assert_eq!(vals(&e, "uid"), [name]);
            assert_eq!(vals(&e, "mail"), [format!("{name}@contoso.example")]);
            let (given, sn) = if name == "bob" {
                ("Bob", "Baker")
            } else {
                ("Alice", "Archer")
            };
            assert_eq!(vals(&e, "givenName"), [given]);
            assert_eq!(vals(&e, "sn"), [sn]);
            let keys = vals(&e, "sshPublicKey");
            if name == "alice" {
                assert_eq!(keys, [ALICE_KEY]);
            } else {
                assert!(keys.is_empty());
            }
            // The admin filter, then the user's bind.
            assert_eq!(gitea_is_admin(&mut l, &dn).await, name == "bob", "{name}");
            bind(&mut l, &dn, &password("contoso", name)).await;
        }
        // A wrong password fails the login (Gitea dials a connection per login).
        let mut l = connect(s, Transport::Plain).await;
        bind_service(&mut l, "contoso").await;
        assert_eq!(
            bind_rc(&mut l, &alice, &password("contoso", "bob")).await,
            49
        );
        // A failed bind leaves the connection anonymous (RFC 4513 §5.1): search on a new one.
        let mut l = connect(s, Transport::Plain).await;
        bind_service(&mut l, "contoso").await;
        // fabrikam's alice is a POSIX account too, but not under contoso's base.
        assert!(search(
            &mut l,
            &base,
            Scope::Subtree,
            &gitea_user_filter("alice@fabrikam.example"),
            GITEA_ATTRS
        )
        .await
        .is_empty());
        // The admin check on another tenant's DN: noSuchObject matching only the suffix
        // (Gitea counts an error as "not admin"), exactly as under a tenant that does not exist.
        for dn in [user_dn("fabrikam", "bob"), user_dn("nosuch", "bob")] {
            let r = l
                .search(
                    &dn,
                    Scope::Base,
                    &format!("(memberOf={})", group_dn("fabrikam", "admins")),
                    vec!["givenName"],
                )
                .await
                .unwrap();
            assert_eq!(r.1.rc, 32, "{dn}");
            assert_eq!(r.1.matched, SUFFIX, "{dn}");
            assert!(r.0.is_empty());
        }

        // "Fetch attributes in Bind DN context" on: the user binds first and reads their own
        // entry, admin filter included.
        for (name, admin) in [("alice", false), ("bob", true)] {
            let dn = user_dn("contoso", name);
            let mut l = connect(s, Transport::Plain).await;
            bind(&mut l, &dn, &password("contoso", name)).await;
            let e = one(
                &mut l,
                &base,
                Scope::Subtree,
                &gitea_user_filter(name),
                GITEA_ATTRS,
            )
            .await;
            assert_eq!(e.dn, dn);
            assert_eq!(vals(&e, "uid"), [name]);
            assert_eq!(
                gitea_is_admin(&mut l, &dn).await,
                admin,
                "{name} in own context"
            );
        }
    });
}

// ---- Grafana --------------------------------------------------------------------------------

/// What Grafana asks for a user (ldap.toml `[servers.attributes]`: username uid, surname sn,
/// email mail, name givenName, member_of memberOf).
const GRAFANA_ATTRS: &[&str] = &["uid", "sn", "mail", "givenName", "memberOf"];

/// Grafana's LDAP login over LDAPS (use_ssl, root_ca_cert the server's certificate): bind_dn
/// contoso's svc-ldap, search_filter `(uid=%s)`, search_base_dns `ou=Users,o=contoso,…`; groups
/// from memberOf (`group_dn` mappings), and the POSIX way of its docs: group_search_filter
/// `(&(objectClass=posixGroup)(memberUid=%s))`, group_search_base_dns `ou=Groups,o=contoso,…`,
/// group_search_filter_user_attribute uid and member_of = "cn".
#[test]
fn grafana_logs_in_and_maps_groups_from_member_of_and_posix_group_search() {
    let s = Server::start_demo();
    runtime().block_on(async {
        // search_base_dns as an administrator may type it: DNs compare case-insensitively.
        let users = format!("OU=Users,O=Contoso,{}", SUFFIX.to_uppercase());
        let groups = groups_base("contoso");
        let mapped = |member_of: &[String]| -> &'static str {
            // [[servers.group_mappings]] in order, first match wins.
            if member_of.contains(&group_dn("contoso", "admins")) {
                "Admin"
            } else if member_of.contains(&group_dn("contoso", "staff")) {
                "Editor"
            } else {
                "none"
            }
        };
        for (name, role, cns) in [
            ("alice", "Editor", set(["staff", "wifi"])),
            ("bob", "Admin", set(["admins", "staff"])),
        ] {
            let mut l = connect(&s, Transport::Ldaps).await;
            bind_service(&mut l, "contoso").await;
            let e = one(
                &mut l,
                &users,
                Scope::Subtree,
                &format!("(uid={name})"),
                GRAFANA_ATTRS,
            )
            .await;
            assert_eq!(e.dn, user_dn("contoso", name));
            assert_eq!(vals(&e, "uid"), [name]);
            assert_eq!(vals(&e, "mail"), [format!("{name}@contoso.example")]);
            assert!(!val(&e, "givenName").is_empty() && !val(&e, "sn").is_empty());
            let member_of = vals(&e, "memberOf");
            assert_eq!(
                set(member_of.clone()),
                cns.iter().map(|c| group_dn("contoso", c)).collect()
            );
            assert_eq!(mapped(&member_of), role, "{name}");
            // The POSIX group search, on the same (service) connection, asking for cn.
            let found = search(
                &mut l,
                &groups,
                Scope::Subtree,
                &format!("(&(objectClass=posixGroup)(memberUid={name}))"),
                &["cn"],
            )
            .await;
            let names: BTreeSet<String> = found.iter().map(|g| val(g, "cn")).collect();
            assert_eq!(names, cns, "{name}");
            // Then the user's bind.
            bind(&mut l, &e.dn, &password("contoso", name)).await;
            assert_eq!(whoami(&mut l).await, format!("dn:{}", e.dn));
        }
        let mut l = connect(&s, Transport::Ldaps).await;
        bind_service(&mut l, "contoso").await;
        // An unknown user: nothing found, so no bind is even tried.
        assert!(search(
            &mut l,
            &users,
            Scope::Subtree,
            "(uid=mallory)",
            GRAFANA_ATTRS
        )
        .await
        .is_empty());
        // A wrong password: the user's bind fails and Grafana refuses the login.
        assert_eq!(
            bind_rc(&mut l, &user_dn("contoso", "alice"), "Demo-2026:1.1?").await,
            49
        );

        // Nested groups, the way ldap.toml documents them for Active Directory:
        // group_search_filter `(member:1.2.840.113556.1.4.1941:=%s)` with the user's DN
        // (group_search_filter_user_attribute and member_of "dn": Grafana asks for the
        // attribute `dn` and takes each entry's DN). An "everyone" group holding staff.
        let sys = Actor::system();
        let t = s.dir.tenants().by_slug(&sys, "contoso").unwrap();
        let staff = s.dir.groups().by_name(&sys, t.id, "staff").unwrap();
        let everyone = s
            .dir
            .groups()
            .create(
                &sys,
                t.id,
                NewGroup {
                    name: "everyone".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap();
        s.dir
            .groups()
            .add_member(&sys, t.id, everyone.id, Member::Group(staff.id))
            .unwrap();
        let mut l = connect(&s, Transport::Ldaps).await;
        bind_service(&mut l, "contoso").await;
        for (name, direct) in [("alice", ["staff", "wifi"]), ("bob", ["admins", "staff"])] {
            let f = format!(
                "(member:1.2.840.113556.1.4.1941:={})",
                user_dn("contoso", name)
            );
            let found = search(&mut l, &groups, Scope::Subtree, &f, &["dn"]).await;
            let mut want = set(direct.map(|g| group_dn("contoso", g)));
            want.insert(group_dn("contoso", "everyone"));
            assert_eq!(dns(&found), want, "{name}");
        }
    });
}

// ---- tenants --------------------------------------------------------------------------------

/// The same applications' searches from the suffix, as contoso's, fabrikam's and acme's bind
/// accounts: each sees its own tenant's entries (acme, the MSP, its two customers') and nothing
/// else, with the same usernames in every tenant.
#[test]
fn each_bind_account_sees_only_its_tenants_in_the_same_searches() {
    let d = posix_demo();
    let s = &d.s;
    runtime().block_on(async {
        let searches = [
            "(&(uid=alice)(objectclass=posixAccount)(&(uidNumber=*)(!(uidNumber=0))))".to_string(),
            format!(
                "(&(uidNumber={ALICE_UID})(objectclass=posixAccount)(&(uidNumber=*)(!(uidNumber=0))))"
            ),
            nextcloud_login_filter("alice"),
            gitea_user_filter("alice"),
            "(uid=alice)".to_string(),
        ];
        // (the bind account's tenant, the tenants it reads, those of them with an alice)
        for (tenant, sees, alices) in [
            ("contoso", vec!["contoso"], vec!["contoso"]),
            ("fabrikam", vec!["fabrikam"], vec!["fabrikam"]),
            (
                "acme",
                vec!["acme", "contoso", "fabrikam"],
                vec!["contoso", "fabrikam"],
            ),
        ] {
            let mut l = connect(s, Transport::Ldaps).await;
            bind_service(&mut l, tenant).await;
            for f in &searches {
                let found = search(&mut l, SUFFIX, Scope::Subtree, f, &["uid"]).await;
                assert_eq!(
                    dns(&found),
                    alices.iter().map(|t| user_dn(t, "alice")).collect(),
                    "{tenant}: {f}"
                );
            }
            // Everything it can see from the top lies in its tenants.
            let all = search(&mut l, SUFFIX, Scope::Subtree, "(objectClass=*)", &["1.1"]).await;
            for e in &all {
                let inside = e.dn == SUFFIX
                    || sees.iter().any(|t| {
                        let t = format!("o={t},{SUFFIX}");
                        e.dn == t || e.dn.ends_with(&format!(",{t}"))
                    });
                assert!(inside, "{tenant} sees {}", e.dn);
            }
            let all = dns(&all);
            for t in &alices {
                assert!(all.contains(&group_dn(t, "staff")), "{tenant}");
            }
            for t in &sees {
                assert!(all.contains(&user_dn(t, "svc-ldap")), "{tenant}");
            }
            // Another tenant's subtree does not exist for it.
            for other in ["acme", "contoso", "fabrikam", "globex", "initech", "summit"] {
                if sees.contains(&other) {
                    continue;
                }
                let r = l
                    .search(
                        &format!("o={other},{SUFFIX}"),
                        Scope::Subtree,
                        "(objectClass=*)",
                        vec!["1.1"],
                    )
                    .await
                    .unwrap();
                assert_eq!(r.1.rc, 32, "{tenant} looking at {other}");
                assert!(r.0.is_empty());
            }
        }
    });
}
