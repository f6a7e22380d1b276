//! What the fuzz targets share: the small directory they run against (the same names and
//! password as the LDAP integration tests' fixture, so the seed corpus means the same to both),
//! a self-signed certificate for StartTLS, and the server. Built once per fuzzing process; the
//! store lives in /dev/shm where there is one (syncs are free there), and stores of processes
//! that have ended are removed when the next one starts.
//!
//! The tree: root → acme (msp) → contoso (customer). In contoso: alice (POSIX, an SSH key),
//! bob, carol (suspended), dave (in no group the LDAP service allows), svc (Directory Reader),
//! writer (Directory Writer, Helpdesk Operator), all with [`PW`]; groups staff (alice, bob),
//! wifi (alice), all (the group staff), service-accounts (svc, writer). The LDAP service lets
//! staff and service-accounts bind. Lockout is off, so mutated binds never lock the accounts
//! the seeds bind with.
//!
//! The RADIUS target (`radius_packet`) runs on its own fixture, `tessera_radius::fuzzing`'s, the
//! one its corpus replay uses: see [`RadiusTarget`].

mod radius;
pub use radius::RadiusTarget;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_directory::clock::{ChaChaSource, ManualClock};
use tessera_directory::model::{
    Group, Member, NewAssignment, NewGroup, NewPosix, NewUser, Status, Subject, Tenant,
    TenantPolicy, User, UserKind,
};
use tessera_directory::policy::settings::{LockThreshold, Setting};
use tessera_directory::policy::TenantKind;
use tessera_directory::testkit::{new_tenant, test_key, START};
use tessera_directory::{Actor, Directory, PoolConfig};
use tessera_ldap::{LdapConfig, LdapServer, Security};
use tokio_rustls::TlsAcceptor;

/// Every fixture user's password.
pub const PW: &str = "Tessera-Test-2026!";
/// The DIT's suffix.
pub const SUFFIX: &str = "dc=tessera,dc=local";

/// A user's DN.
pub fn user_dn(slug: &str, name: &str) -> String {
    format!("uid={name},ou=Users,o={slug},{SUFFIX}")
}

/// A group's DN.
pub fn group_dn(slug: &str, name: &str) -> String {
    format!("cn={name},ou=Groups,o={slug},{SUFFIX}")
}

/// A tenant's DN.
pub fn tenant_dn(slug: &str) -> String {
    format!("o={slug},{SUFFIX}")
}

/// The server under fuzzing and what it runs on.
pub struct Target {
    pub rt: tokio::runtime::Runtime,
    pub server: LdapServer,
    /// The plain listener's security: StartTLS offered.
    pub security: Security,
    pub dir: Directory,
    _store: tempfile::TempDir,
}

impl Target {
    /// Builds the directory described in the module docs and a server for it.
    pub fn new() -> Target {
        let (dir, store) = open_store();
        seed(&dir);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let server = LdapServer::new(dir.clone(), LdapConfig::default()).expect("an LDAP server");
        Target {
            rt,
            server,
            security: Security::StartTls(acceptor()),
            dir,
            _store: store,
        }
    }

    /// Serves one connection that sends `input`; what the server wrote back.
    pub async fn serve(&self, input: &[u8]) -> Vec<u8> {
        tessera_ldap::fuzzing::serve_bytes(&self.server, self.security.clone(), input).await
    }
}

impl Default for Target {
    fn default() -> Self {
        Target::new()
    }
}

/// A directory on a fresh store: a manual clock at the testkit's start, seeded ids, a one-worker
/// hashing pool.
pub(crate) fn open_store() -> (Directory, tempfile::TempDir) {
    let store = store_dir();
    let dir = Directory::options()
        .clock(Arc::new(ManualClock::new(START)))
        .ids(Arc::new(ChaChaSource::seeded(7)))
        .pool(PoolConfig {
            workers: 1,
            queue_per_tenant: 8,
            queue_total: 64,
            ..PoolConfig::default()
        })
        .open(store.path(), test_key())
        .expect("open the fuzzing store");
    (dir, store)
}

/// A fresh store directory, after removing those of fuzzing processes that have ended.
fn store_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let base: PathBuf = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    const PREFIX: &str = "tessera-fuzz-";
    if let Ok(rd) = std::fs::read_dir(&base) {
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX))
                .and_then(|n| n.split('-').next())
            else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir_in(base)
        .expect("a store directory")
}

fn sys() -> Actor {
    Actor::system()
}

fn seed(dir: &Directory) {
    let t = dir.tenants();
    let root = t
        .bootstrap(&sys(), new_tenant("root", TenantKind::Distributor))
        .expect("root");
    let acme = t
        .create(&sys(), root.id, new_tenant("acme", TenantKind::Msp))
        .expect("acme");
    let contoso = t
        .create(&sys(), acme.id, new_tenant("contoso", TenantKind::Customer))
        .expect("contoso");
    let mut policy = TenantPolicy::default();
    policy.settings.lockout.threshold = Setting::set(LockThreshold(0));
    dir.policies()
        .set(&sys(), contoso.id, policy)
        .expect("no lockout");

    let c = &contoso;
    let person = |name: &str, given: &str, family: &str| NewUser {
        username: name.into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        email: Some(format!("{name}@contoso.example")),
        ..NewUser::default()
    };
    let alice = add_user(
        dir,
        c,
        NewUser {
            posix: Some(NewPosix::default()),
            ssh_keys: vec![
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice"
                    .into(),
            ],
            phone: Some("+1 555 0100".into()),
            ..person("alice", "Alice", "Archer")
        },
    );
    let bob = add_user(dir, c, person("bob", "Bob", "Baker"));
    add_user(
        dir,
        c,
        NewUser {
            status: Status::Suspended,
            ..person("carol", "Carol", "Cooper")
        },
    );
    add_user(dir, c, person("dave", "Dave", "Doe"));
    let service = |name: &str| NewUser {
        username: name.into(),
        kind: UserKind::Service,
        ..NewUser::default()
    };
    let svc = add_user(dir, c, service("svc"));
    give_role(dir, c, &svc, "Directory Reader");
    let writer = add_user(dir, c, service("writer"));
    give_role(dir, c, &writer, "Directory Writer");
    give_role(dir, c, &writer, "Helpdesk Operator");

    let g = dir.groups();
    let mk = |name: &str| {
        g.create(
            &sys(),
            c.id,
            NewGroup {
                name: name.into(),
                description: Some(format!("the {name} group")),
                ..NewGroup::default()
            },
        )
        .expect("a group")
    };
    let staff = mk("staff");
    let wifi = mk("wifi");
    let all = mk("all");
    let sa = mk("service-accounts");
    let add = |grp: &Group, m: Member| g.add_member(&sys(), c.id, grp.id, m).expect("a member");
    add(&staff, Member::User(alice.id));
    add(&staff, Member::User(bob.id));
    add(&wifi, Member::User(alice.id));
    add(&all, Member::Group(staff.id));
    add(&sa, Member::User(svc.id));
    add(&sa, Member::User(writer.id));
    let apps = dir.applications();
    let app = apps.ldap_service(&sys(), c.id).expect("the LDAP service");
    for grp in [&staff, &sa] {
        apps.bind_group(&sys(), c.id, app.id, grp.id)
            .expect("a bind group");
    }
}

fn add_user(dir: &Directory, t: &Tenant, new: NewUser) -> User {
    let u = dir.users().create(&sys(), t.id, new).expect("a user");
    dir.credentials()
        .set_password(&sys(), t.id, u.id, PW, false)
        .expect("a password");
    u
}

fn give_role(dir: &Directory, scope: &Tenant, u: &User, role: &str) {
    let r = dir
        .rbac()
        .role_by_name(&sys(), scope.id, role)
        .expect("a role");
    dir.rbac()
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
        .expect("a role assignment");
}

/// A StartTLS acceptor with a certificate made for this process.
fn acceptor() -> TlsAcceptor {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .expect("a server config");
    TlsAcceptor::from(Arc::new(config))
}
