//! The fixture every LDAP test runs against: a small MSP tree on a temporary store, the LDAP
//! server on two loopback listeners bound to port 0 (plain with StartTLS, and LDAPS) with a
//! certificate made for the test, and a client speaking raw LDAP messages through ldap3_proto's
//! codec.
//!
//! The tree: root → acme (msp) → contoso, fabrikam; root → summit (msp manager) → globex. In
//! each customer: alice (POSIX, an SSH key), bob, carol (suspended), dave (in no group the LDAP
//! service allows), svc (service account, Directory Reader there) — with the password PW in
//! contoso and acme, and for fabrikam's alice; groups staff (alice, bob),
//! wifi (alice), all (the group staff), service-accounts (svc). The LDAP service lets staff and
//! service-accounts bind. contoso also has `writer` (Directory Writer and Helpdesk Operator);
//! acme has `msp` (Directory Reader at acme, so over contoso and fabrikam).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tessera_directory::clock::{ChaChaSource, ManualClock};
use tessera_directory::model::{
    AppKind, ApplicationPatch, Group, LdapService, Member, NewAssignment, NewGroup, NewPosix,
    NewUser, Status, Subject, Tenant, User, UserKind,
};
use tessera_directory::policy::TenantKind;
use tessera_directory::testkit::{new_tenant, test_key, TestDirectory, START};
use tessera_directory::{Actor, Directory, PoolConfig};
use tessera_ldap::{LdapConfig, LdapServer, Security};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Every fixture user's password.
pub const PW: &str = "Tessera-Test-2026!";
pub const SUFFIX: &str = "dc=tessera,dc=local";

pub fn sys() -> Actor {
    Actor::system()
}

pub fn user_dn(slug: &str, name: &str) -> String {
    format!("uid={name},ou=Users,o={slug},{SUFFIX}")
}

pub fn group_dn(slug: &str, name: &str) -> String {
    format!("cn={name},ou=Groups,o={slug},{SUFFIX}")
}

pub fn tenant_dn(slug: &str) -> String {
    format!("o={slug},{SUFFIX}")
}

pub struct Fixture {
    pub dir: Directory,
    pub clock: Arc<ManualClock>,
    /// Where the store lives (removed with a fixture of its own; kept in cargo's scratch
    /// directory for the shared one).
    _tmp: tempfile::TempDir,
    pub root: Tenant,
    pub acme: Tenant,
    pub contoso: Tenant,
    pub fabrikam: Tenant,
    pub globex: Tenant,
}

impl Fixture {
    pub fn dir(&self) -> &Directory {
        &self.dir
    }

    /// One fixture for the tests that only read and bind (building one hashes passwords and
    /// syncs a hundred transactions: sharing it keeps the suite fast). Tests that change
    /// anything build their own with [`Fixture::new`].
    pub fn shared() -> &'static Fixture {
        static SHARED: OnceLock<Fixture> = OnceLock::new();
        SHARED.get_or_init(|| {
            let tmp = tempfile::Builder::new()
                .prefix("ldap-shared-fixture")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap();
            let clock = Arc::new(ManualClock::new(START));
            let dir = Directory::options()
                .clock(clock.clone())
                .ids(Arc::new(ChaChaSource::seeded(7)))
                .pool(PoolConfig {
                    workers: 2,
                    ..PoolConfig::default()
                })
                .open(tmp.path(), test_key())
                .unwrap();
            Fixture::build(dir, clock, tmp)
        })
    }

    pub fn tenant(&self, slug: &str) -> &Tenant {
        [
            &self.root,
            &self.acme,
            &self.contoso,
            &self.fabrikam,
            &self.globex,
        ]
        .into_iter()
        .find(|t| t.slug == slug)
        .unwrap()
    }

    pub fn user(&self, slug: &str, name: &str) -> User {
        self.dir()
            .users()
            .by_username(&sys(), self.tenant(slug).id, name)
            .unwrap()
    }

    pub fn group(&self, slug: &str, name: &str) -> Group {
        self.dir()
            .groups()
            .by_name(&sys(), self.tenant(slug).id, name)
            .unwrap()
    }

    /// The tree described in the module docs.
    pub fn new() -> Fixture {
        let TestDirectory {
            dir, clock, tmp, ..
        } = TestDirectory::new().unwrap();
        Fixture::build(dir, clock, tmp)
    }

    fn build(dir: Directory, clock: Arc<ManualClock>, tmp: tempfile::TempDir) -> Fixture {
        let root = dir
            .tenants()
            .bootstrap(&sys(), new_tenant("root", TenantKind::Distributor))
            .unwrap();
        let t = dir.tenants();
        let acme = t
            .create(&sys(), root.id, new_tenant("acme", TenantKind::Msp))
            .unwrap();
        let contoso = t
            .create(&sys(), acme.id, new_tenant("contoso", TenantKind::Customer))
            .unwrap();
        let fabrikam = t
            .create(
                &sys(),
                acme.id,
                new_tenant("fabrikam", TenantKind::Customer),
            )
            .unwrap();
        let summit = t
            .create(
                &sys(),
                root.id,
                new_tenant("summit", TenantKind::MspManager),
            )
            .unwrap();
        let globex = t
            .create(
                &sys(),
                summit.id,
                new_tenant("globex", TenantKind::Customer),
            )
            .unwrap();
        let fx = Fixture {
            dir: dir.clone(),
            clock,
            _tmp: tmp,
            root,
            acme,
            contoso,
            fabrikam,
            globex,
        };
        for c in [&fx.contoso, &fx.fabrikam, &fx.globex] {
            fx.customer(c);
        }
        let writer = fx.add_user(
            &fx.contoso,
            NewUser {
                username: "writer".into(),
                kind: UserKind::Service,
                ..NewUser::default()
            },
        );
        fx.give_role(&fx.contoso, &writer, "Directory Writer");
        fx.give_role(&fx.contoso, &writer, "Helpdesk Operator");
        let sa = fx.group("contoso", "service-accounts");
        fx.dir()
            .groups()
            .add_member(&sys(), fx.contoso.id, sa.id, Member::User(writer.id))
            .unwrap();
        let msp = fx.add_user(
            &fx.acme,
            NewUser {
                username: "msp".into(),
                kind: UserKind::Service,
                ..NewUser::default()
            },
        );
        fx.give_role(&fx.acme, &msp, "Directory Reader");
        let ldap = fx
            .dir()
            .groups()
            .create(
                &sys(),
                fx.acme.id,
                NewGroup {
                    name: "ldap".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap();
        fx.dir()
            .groups()
            .add_member(&sys(), fx.acme.id, ldap.id, Member::User(msp.id))
            .unwrap();
        fx.bind_ldap(&fx.acme, &[&ldap]);
        fx
    }

    /// A user; those the tests bind as get [`PW`] (hashing is what makes fixtures slow).
    fn add_user(&self, t: &Tenant, new: NewUser) -> User {
        let binds = match t.slug.as_str() {
            "contoso" | "acme" => new.username != "carol",
            "fabrikam" => new.username == "alice",
            _ => false,
        };
        let u = self.dir().users().create(&sys(), t.id, new).unwrap();
        if binds {
            self.dir()
                .credentials()
                .set_password(&sys(), t.id, u.id, PW, false)
                .unwrap();
        }
        u
    }

    pub fn give_role(&self, scope: &Tenant, u: &User, role: &str) {
        let r = self
            .dir()
            .rbac()
            .role_by_name(&sys(), scope.id, role)
            .unwrap();
        self.dir()
            .rbac()
            .assign(
                &sys(),
                scope.id,
                NewAssignment {
                    subject: Subject::User {
                        tenant: u.tenant,
                        id: u.id,
                    },
                    rights: Default::default(),
                    roles: vec![r.id],
                    expires_at: None,
                },
            )
            .unwrap();
    }

    fn bind_ldap(&self, t: &Tenant, groups: &[&Group]) {
        let app = self
            .dir()
            .applications()
            .ldap_service(&sys(), t.id)
            .unwrap();
        for g in groups {
            self.dir()
                .applications()
                .bind_group(&sys(), t.id, app.id, g.id)
                .unwrap();
        }
    }

    /// Turns nested-group flattening of a tenant's LDAP service on or off.
    pub fn set_flatten(&self, slug: &str, on: bool) {
        let t = self.tenant(slug);
        let app = self
            .dir()
            .applications()
            .ldap_service(&sys(), t.id)
            .unwrap();
        self.dir()
            .applications()
            .update(
                &sys(),
                t.id,
                app.id,
                ApplicationPatch {
                    name: None,
                    kind: Some(AppKind::Ldap(LdapService {
                        flatten_nested_groups: on,
                    })),
                },
            )
            .unwrap();
    }

    fn customer(&self, c: &Tenant) {
        let person = |name: &str, given: &str, family: &str| NewUser {
            username: name.into(),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            email: Some(format!("{name}@{}.example", c.slug)),
            ..NewUser::default()
        };
        let alice = self.add_user(c, NewUser {
            posix: Some(NewPosix::default()),
            ssh_keys: vec![
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice"
                    .into(),
            ],
            phone: Some("+1 555 0100".into()),
            ..person("alice", "Alice", "Archer")
        });
        let bob = self.add_user(c, person("bob", "Bob", "Baker"));
        self.add_user(
            c,
            NewUser {
                status: Status::Suspended,
                ..person("carol", "Carol", "Cooper")
            },
        );
        self.add_user(c, person("dave", "Dave", "Doe"));
        let svc = self.add_user(
            c,
            NewUser {
                username: "svc".into(),
                kind: UserKind::Service,
                display_name: Some("LDAP service account".into()),
                ..NewUser::default()
            },
        );
        self.give_role(c, &svc, "Directory Reader");
        let g = self.dir().groups();
        let mk = |name: &str, desc: &str| {
            g.create(
                &sys(),
                c.id,
                NewGroup {
                    name: name.into(),
                    description: Some(desc.into()),
                    ..NewGroup::default()
                },
            )
            .unwrap()
        };
        let staff = mk("staff", "Everyone on staff");
        let wifi = mk("wifi", "Office Wi-Fi");
        let all = mk("all", "Everyone, through nesting");
        let sa = mk("service-accounts", "Applications' bind accounts");
        let add = |grp: &Group, m: Member| g.add_member(&sys(), c.id, grp.id, m).unwrap();
        add(&staff, Member::User(alice.id));
        add(&staff, Member::User(bob.id));
        add(&wifi, Member::User(alice.id));
        add(&all, Member::Group(staff.id));
        add(&sa, Member::User(svc.id));
        self.bind_ldap(c, &[&staff, &sa]);
    }
}

/// A certificate for `localhost`, and what trusts it.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
}

pub fn tls() -> Tls {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        connector: TlsConnector::from(Arc::new(client)),
    }
}

/// A running LDAP server: a plain listener offering StartTLS and an LDAPS listener.
pub struct Running {
    pub plain: SocketAddr,
    pub ldaps: SocketAddr,
    pub connector: TlsConnector,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn start(dir: &Directory, config: LdapConfig) -> Running {
        Self::start_with(dir, config, true).await
    }

    /// With `starttls` false the plain listener does not offer StartTLS.
    pub async fn start_with(dir: &Directory, config: LdapConfig, starttls: bool) -> Running {
        let tls = tls();
        let server = LdapServer::new(dir.clone(), config).unwrap();
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ldaps = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, watch) = tokio::sync::watch::channel(false);
        let addrs = (plain.local_addr().unwrap(), ldaps.local_addr().unwrap());
        let mut tasks = Vec::new();
        let plain_security = if starttls {
            Security::StartTls(tls.acceptor.clone())
        } else {
            Security::Plain
        };
        for (l, sec) in [
            (plain, plain_security),
            (ldaps, Security::Ldaps(tls.acceptor.clone())),
        ] {
            let server = server.clone();
            let mut w = watch.clone();
            tasks.push(tokio::spawn(async move {
                server
                    .serve(l, sec, async move {
                        let _ = w.wait_for(|s| *s).await;
                    })
                    .await
            }));
        }
        Running {
            plain: addrs.0,
            ldaps: addrs.1,
            connector: tls.connector,
            stop,
            tasks,
        }
    }

    /// Stops both listeners and waits until every connection is closed.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}
