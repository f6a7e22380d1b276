//! A small MSP tree used across the tests:
//! root (distributor) → acme (msp) → contoso, fabrikam (customers);
//! root → summit (msp manager) → globex (customer).

use tessera_directory::model::{Member, NewAssignment, Subject, Tenant, User};
use tessera_directory::policy::TenantKind;
use tessera_directory::testkit::{new_group, new_tenant, new_user, TestDirectory};
use tessera_directory::{Actor, Directory, Protocol};

pub struct Tree {
    pub td: TestDirectory,
    pub root: Tenant,
    pub acme: Tenant,
    pub contoso: Tenant,
    pub fabrikam: Tenant,
    pub summit: Tenant,
    pub globex: Tenant,
}

pub fn sys() -> Actor {
    Actor::system()
}

pub fn as_user(u: &User) -> Actor {
    Actor::user(u.tenant, u.id, None, Protocol::Admin)
}

impl Tree {
    pub fn new() -> Tree {
        let (td, root) = TestDirectory::with_root().unwrap();
        let t = td.dir.tenants();
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
        Tree {
            td,
            root,
            acme,
            contoso,
            fabrikam,
            summit,
            globex,
        }
    }

    pub fn dir(&self) -> &Directory {
        &self.td.dir
    }

    /// Closes and reopens the store, as a restart would.
    pub fn restart(self) -> Tree {
        let Tree {
            td,
            root,
            acme,
            contoso,
            fabrikam,
            summit,
            globex,
        } = self;
        Tree {
            td: td.reopen().unwrap(),
            root,
            acme,
            contoso,
            fabrikam,
            summit,
            globex,
        }
    }

    /// A user of `tenant` holding the named predefined role at `scope`.
    pub fn user_with_role(
        &self,
        tenant: &Tenant,
        username: &str,
        role: &str,
        scope: &Tenant,
    ) -> User {
        let d = self.dir();
        let u = d
            .users()
            .create(&sys(), tenant.id, new_user(username))
            .unwrap();
        let r = d.rbac().role_by_name(&sys(), scope.id, role).unwrap();
        d.rbac()
            .assign(
                &sys(),
                scope.id,
                NewAssignment {
                    subject: Subject::User {
                        tenant: tenant.id,
                        id: u.id,
                    },
                    rights: Default::default(),
                    roles: vec![r.id],
                    expires_at: None,
                },
            )
            .unwrap();
        u
    }

    /// Users alice, bob and groups staff (alice, bob) and wifi (alice) in `tenant`.
    pub fn populate(&self, tenant: &Tenant) -> (User, User) {
        let d = self.dir();
        let alice = d
            .users()
            .create(&sys(), tenant.id, new_user("alice"))
            .unwrap();
        let bob = d
            .users()
            .create(&sys(), tenant.id, new_user("bob"))
            .unwrap();
        let staff = d
            .groups()
            .create(&sys(), tenant.id, new_group("staff"))
            .unwrap();
        let wifi = d
            .groups()
            .create(&sys(), tenant.id, new_group("wifi"))
            .unwrap();
        d.groups()
            .add_member(&sys(), tenant.id, staff.id, Member::User(alice.id))
            .unwrap();
        d.groups()
            .add_member(&sys(), tenant.id, staff.id, Member::User(bob.id))
            .unwrap();
        d.groups()
            .add_member(&sys(), tenant.id, wifi.id, Member::User(alice.id))
            .unwrap();
        (alice, bob)
    }
}
