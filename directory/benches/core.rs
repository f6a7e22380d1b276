//! Criterion benchmarks of the directory's read hot paths on a temporary store: user lookup by
//! username (system actor and an authorised service account), "groups of user" for a user in 50
//! nested groups, and effective-rights evaluation on a customer three levels down.
//!
//! Plots are off so the run stays short; `cargo bench --bench core -- --plotting-backend
//! plotters` turns the HTML report back on.

// Benchmarks are test code: a failed fixture step should stop the run loudly.
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tessera_directory::model::{
    Group, Member, NewAssignment, NewUser, RoleId, Subject, Tenant, TenantId, User, UserKind,
};
use tessera_directory::policy::{Area, Permission, Right, RightSet, TenantKind};
use tessera_directory::testkit::{new_group, new_tenant, new_user, TestDirectory};
use tessera_directory::{Actor, Directory, Protocol};

const USERS: usize = 1_000;
const NESTING: usize = 50;

fn sys() -> Actor {
    Actor::system()
}

fn as_user(u: &User) -> Actor {
    Actor::user(u.tenant, u.id, None, Protocol::Ldap)
}

fn role(dir: &Directory, scope: TenantId, name: &str) -> RoleId {
    dir.rbac().role_by_name(&sys(), scope, name).unwrap().id
}

fn assign(
    dir: &Directory,
    scope: TenantId,
    subject: Subject,
    roles: Vec<RoleId>,
    rights: RightSet,
) {
    dir.rbac()
        .assign(
            &sys(),
            scope,
            NewAssignment {
                subject,
                rights,
                roles,
                expires_at: None,
            },
        )
        .unwrap();
}

/// root → acme (msp) → contoso (customer).
fn msp_and_customer() -> (TestDirectory, Tenant) {
    let (td, root) = TestDirectory::with_root().unwrap();
    let t = td.dir.tenants();
    let acme = t
        .create(&sys(), root.id, new_tenant("acme", TenantKind::Msp))
        .unwrap();
    let contoso = t
        .create(&sys(), acme.id, new_tenant("contoso", TenantKind::Customer))
        .unwrap();
    (td, contoso)
}

/// `users().by_username` in a customer of 1,000 users, as the system actor (no authorisation)
/// and as an LDAP service account holding Directory Reader + User Administrator at the customer
/// (authorisation evaluates its effective rights from the cached snapshots).
fn lookup(c: &mut Criterion) {
    let (td, contoso) = msp_and_customer();
    let dir = &td.dir;
    let batch: Vec<NewUser> = (0..USERS)
        .map(|i| new_user(&format!("user-{i:04}")))
        .collect();
    dir.users().create_many(&sys(), contoso.id, batch).unwrap();
    let svc = dir
        .users()
        .create(
            &sys(),
            contoso.id,
            NewUser {
                kind: UserKind::Service,
                ..new_user("svc-ldap")
            },
        )
        .unwrap();
    let roles = vec![
        role(dir, contoso.id, "Directory Reader"),
        role(dir, contoso.id, "User Administrator"),
    ];
    assign(
        dir,
        contoso.id,
        Subject::User {
            tenant: contoso.id,
            id: svc.id,
        },
        roles,
        RightSet::EMPTY,
    );
    let svc_actor = as_user(&svc);
    // Fails the run rather than timing an error path.
    dir.users()
        .by_username(&sys(), contoso.id, "user-0500")
        .unwrap();
    dir.users()
        .by_username(&svc_actor, contoso.id, "user-0500")
        .unwrap();

    let mut g = c.benchmark_group("by_username_1k_users");
    g.bench_function("system_actor", |b| {
        b.iter(|| {
            dir.users()
                .by_username(&sys(), black_box(contoso.id), black_box("user-0500"))
                .unwrap()
        })
    });
    g.bench_function("service_account", |b| {
        b.iter(|| {
            dir.users()
                .by_username(&svc_actor, black_box(contoso.id), black_box("user-0500"))
                .unwrap()
        })
    });
    g.bench_function("service_account_miss", |b| {
        b.iter(|| {
            dir.users()
                .by_username(&svc_actor, black_box(contoso.id), black_box("nobody"))
                .unwrap_err()
        })
    });
    g.finish();
}

/// A user in 50 nested groups (g00 ∋ g01 ∋ … ∋ g49 ∋ user): `users().groups_of` (full Group
/// records, transitive and direct), and `applications().may_use` against an application bound
/// to the outermost group — the public path that uses the cached id closure, as authentication
/// does.
fn groups_of_user(c: &mut Criterion) {
    let (td, contoso) = msp_and_customer();
    let dir = &td.dir;
    let t = contoso.id;
    let groups: Vec<Group> = (0..NESTING)
        .map(|i| {
            dir.groups()
                .create(&sys(), t, new_group(&format!("g{i:02}")))
                .unwrap()
        })
        .collect();
    for pair in groups.windows(2) {
        if let [outer, inner] = pair {
            dir.groups()
                .add_member(&sys(), t, outer.id, Member::Group(inner.id))
                .unwrap();
        }
    }
    let (outermost, innermost) = (groups.first().unwrap(), groups.last().unwrap());
    let user = dir
        .users()
        .create(
            &sys(),
            t,
            NewUser {
                groups: vec![innermost.id],
                ..new_user("deep")
            },
        )
        .unwrap();
    let ldap = dir.applications().ldap_service(&sys(), t).unwrap();
    dir.applications()
        .bind_group(&sys(), t, ldap.id, outermost.id)
        .unwrap();
    assert_eq!(
        dir.users()
            .groups_of(&sys(), t, user.id, true)
            .unwrap()
            .len(),
        NESTING
    );
    assert!(dir
        .applications()
        .may_use(&sys(), t, ldap.id, user.id)
        .unwrap());
    let me = as_user(&user);

    let mut g = c.benchmark_group("groups_of_user_50_nested");
    g.bench_function("transitive_system_actor", |b| {
        b.iter(|| {
            dir.users()
                .groups_of(&sys(), black_box(t), black_box(user.id), true)
                .unwrap()
        })
    });
    g.bench_function("transitive_self", |b| {
        b.iter(|| {
            dir.users()
                .groups_of(&me, black_box(t), black_box(user.id), true)
                .unwrap()
        })
    });
    g.bench_function("direct_system_actor", |b| {
        b.iter(|| {
            dir.users()
                .groups_of(&sys(), black_box(t), black_box(user.id), false)
                .unwrap()
        })
    });
    g.bench_function("may_use_closure_system_actor", |b| {
        b.iter(|| {
            dir.applications()
                .may_use(&sys(), black_box(t), black_box(ldap.id), black_box(user.id))
                .unwrap()
        })
    });
    g.finish();
}

/// Effective rights of a distributor operator on a customer three levels down
/// (root → summit (msp manager) → northwind (managed msp) → globex (customer)). The operator
/// lives in the root tenant, in group `l2` which sits in group `noc`; rights come from five
/// assignments: Supervisor to `noc` at the root, Helpdesk Operator to `l2` at the MSP, Auditor
/// to the user at the MSP, User Administrator to the user at the customer, and a Deny of
/// Credentials:Execute to `noc` at the customer.
fn effective_rights(c: &mut Criterion) {
    let (td, root) = TestDirectory::with_root().unwrap();
    let dir = &td.dir;
    let t = dir.tenants();
    let summit = t
        .create(
            &sys(),
            root.id,
            new_tenant("summit", TenantKind::MspManager),
        )
        .unwrap();
    let northwind = t
        .create(
            &sys(),
            summit.id,
            new_tenant("northwind", TenantKind::ManagedMsp),
        )
        .unwrap();
    let globex = t
        .create(
            &sys(),
            northwind.id,
            new_tenant("globex", TenantKind::Customer),
        )
        .unwrap();
    let noc = dir
        .groups()
        .create(&sys(), root.id, new_group("noc"))
        .unwrap();
    let l2 = dir
        .groups()
        .create(&sys(), root.id, new_group("l2"))
        .unwrap();
    dir.groups()
        .add_member(&sys(), root.id, noc.id, Member::Group(l2.id))
        .unwrap();
    // Some bystanders so the root's group graph and the scopes' assignment lists are not trivial.
    let others: Vec<NewUser> = (0..100)
        .map(|i| new_user(&format!("staff-{i:03}")))
        .collect();
    let others = dir.users().create_many(&sys(), root.id, others).unwrap();
    for u in others.iter().take(20) {
        dir.groups()
            .add_member(&sys(), root.id, noc.id, Member::User(u.id))
            .unwrap();
        assign(
            dir,
            globex.id,
            Subject::User {
                tenant: root.id,
                id: u.id,
            },
            vec![role(dir, globex.id, "Helpdesk Operator")],
            RightSet::EMPTY,
        );
    }
    let ops = dir
        .users()
        .create(
            &sys(),
            root.id,
            NewUser {
                groups: vec![l2.id],
                ..new_user("ops")
            },
        )
        .unwrap();
    let user = Subject::User {
        tenant: root.id,
        id: ops.id,
    };
    let noc_s = Subject::Group {
        tenant: root.id,
        id: noc.id,
    };
    let l2_s = Subject::Group {
        tenant: root.id,
        id: l2.id,
    };
    assign(
        dir,
        root.id,
        noc_s,
        vec![role(dir, root.id, "Supervisor")],
        RightSet::EMPTY,
    );
    assign(
        dir,
        northwind.id,
        l2_s,
        vec![role(dir, northwind.id, "Helpdesk Operator")],
        RightSet::EMPTY,
    );
    assign(
        dir,
        northwind.id,
        user,
        vec![role(dir, northwind.id, "Auditor")],
        RightSet::EMPTY,
    );
    assign(
        dir,
        globex.id,
        user,
        vec![role(dir, globex.id, "User Administrator")],
        RightSet::EMPTY,
    );
    assign(
        dir,
        globex.id,
        noc_s,
        vec![],
        RightSet::from_entries([(Area::Credentials, Right::Execute, Permission::Deny)]),
    );
    let me = as_user(&ops);
    let rights = dir
        .rbac()
        .effective_rights(&me, root.id, ops.id, globex.id)
        .unwrap();
    assert!(rights.grants(Area::Users, Right::Write));
    assert!(rights.grants(Area::Audit, Right::Read));
    assert!(!rights.grants(Area::Credentials, Right::Execute));

    let mut g = c.benchmark_group("effective_rights_4_level_chain");
    g.bench_function("self", |b| {
        b.iter(|| {
            dir.rbac()
                .effective_rights(
                    &me,
                    black_box(root.id),
                    black_box(ops.id),
                    black_box(globex.id),
                )
                .unwrap()
        })
    });
    g.bench_function("system_actor", |b| {
        b.iter(|| {
            dir.rbac()
                .effective_rights(
                    &sys(),
                    black_box(root.id),
                    black_box(ops.id),
                    black_box(globex.id),
                )
                .unwrap()
        })
    });
    g.finish();
}

fn config() -> Criterion {
    // Rendering the plots takes longer than measuring on a small machine.
    Criterion::default()
        .without_plots()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lookup, groups_of_user, effective_rights
}
criterion_main!(benches);
