//! The demo tenant tree that `tessera serve --demo` (what `make run` starts) and `tessera demo`
//! seed into an empty store: a realistic MSP hierarchy with the same usernames in every
//! customer (with different passwords), roles scoped the way MSPs use them, each customer's LDAP
//! service open to its staff and its bind account, alice and bob as POSIX accounts, RADIUS
//! clients and a SAML SP. Demo passwords follow one documented rule and are printed at start.
//! It only calls the directory's public services.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use tessera_directory::model::{
    AcsUrl, AppKind, GroupAttributes, Member, NameIdFormat, NewApplication, NewAssignment,
    NewGroup, NewPosix, NewTenant, NewUser, RadiusAttributes, RadiusClient, SamlServiceProvider,
    SharedSecret, Status, Subject, Tenant, TenantPolicy, User, UserKind,
};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::TenantKind;
use tessera_directory::{Actor, Directory};

fn tenant(slug: &str, name: &str, kind: TenantKind) -> NewTenant {
    NewTenant {
        slug: slug.into(),
        name: name.into(),
        kind,
    }
}

fn person(username: &str, given: &str, family: &str, slug: &str) -> NewUser {
    NewUser {
        username: username.into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        email: Some(format!("{username}@{slug}.example")),
        ..NewUser::default()
    }
}

/// One demo login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// The tenant's slug.
    pub tenant: String,
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

/// The tenants that get demo logins, in the order that numbers them for [`password`].
pub const LOGIN_TENANTS: [&str; 5] = ["contoso", "fabrikam", "globex", "initech", "acme"];

/// The documented demo password rule: `Demo-2026:<tenant>.<user>!`, where `<tenant>` numbers
/// [`LOGIN_TENANTS`] from 1 and `<user>` numbers the users of the tenant from 1 (alice, bob,
/// carol, svc-ldap; in acme tech1, acme-admin, svc-ldap) — so the same username has a different password
/// in every customer. (No part of a user's names may appear in a password, so the rule cannot
/// use the slug: `acme-admin` contains `acme`.)
pub fn password(slug: &str, n: usize) -> String {
    let t = LOGIN_TENANTS
        .iter()
        .position(|x| *x == slug)
        .map_or(0, |i| i + 1);
    format!("Demo-2026:{t}.{n}!")
}

/// Whether the store already holds a tree.
pub fn is_seeded(dir: &Directory) -> Result<bool> {
    match dir.tenants().root(&Actor::system()) {
        Ok(_) => Ok(true),
        Err(tessera_directory::Error::NotFound) => Ok(false),
        Err(e) => Err(e).context("reading the root tenant"),
    }
}

/// Seeds the demo tree into an empty store; returns every login it created.
pub fn seed(dir: &Directory) -> Result<Vec<DemoLogin>> {
    let mut logins = Vec::new();
    let sys = Actor::system();
    let t = dir.tenants();
    let northwind = t.bootstrap(
        &sys,
        tenant(
            "northwind",
            "Northwind Distribution",
            TenantKind::Distributor,
        ),
    )?;
    let summit = t.create(
        &sys,
        northwind.id,
        tenant("summit", "Summit MSP Group", TenantKind::MspManager),
    )?;
    let harbor = t.create(
        &sys,
        summit.id,
        tenant("harbor", "Harbor IT", TenantKind::ManagedMsp),
    )?;
    let initech = t.create(
        &sys,
        harbor.id,
        tenant("initech", "Initech", TenantKind::Customer),
    )?;
    let globex = t.create(
        &sys,
        summit.id,
        tenant("globex", "Globex Corporation", TenantKind::Customer),
    )?;
    let acme = t.create(
        &sys,
        northwind.id,
        tenant("acme", "Acme Managed Services", TenantKind::Msp),
    )?;
    let contoso = t.create(
        &sys,
        acme.id,
        tenant("contoso", "Contoso Ltd", TenantKind::Customer),
    )?;
    let fabrikam = t.create(
        &sys,
        acme.id,
        tenant("fabrikam", "Fabrikam Inc", TenantKind::Customer),
    )?;

    for c in [&contoso, &fabrikam, &globex, &initech] {
        logins.extend(seed_customer(dir, c)?);
    }

    // Acme's staff: a helpdesk technician and an administrator, both scoped to acme, so they
    // reach contoso and fabrikam and nothing beside them.
    let tech1 = dir
        .users()
        .create(&sys, acme.id, person("tech1", "Terry", "Tech", "acme"))?;
    let admin = dir
        .users()
        .create(&sys, acme.id, person("acme-admin", "Ada", "Admin", "acme"))?;
    give_role(dir, &acme, &tech1, "Helpdesk Operator")?;
    give_role(dir, &acme, &admin, "Main Administrator")?;
    // Acme's LDAP bind account: Directory Reader at acme, so over LDAP it reads contoso and
    // fabrikam (the MSP's customers) and nothing of globex or initech.
    let svc = dir.users().create(
        &sys,
        acme.id,
        NewUser {
            username: "svc-ldap".into(),
            kind: UserKind::Service,
            display_name: Some("Acme's LDAP service account".into()),
            ..NewUser::default()
        },
    )?;
    give_role(dir, &acme, &svc, "Directory Reader")?;
    let bind_accounts = dir.groups().create(
        &sys,
        acme.id,
        NewGroup {
            name: "service-accounts".into(),
            description: Some("Applications' LDAP bind accounts".into()),
            ..NewGroup::default()
        },
    )?;
    dir.groups()
        .add_member(&sys, acme.id, bind_accounts.id, Member::User(svc.id))?;
    let ldap = dir.applications().ldap_service(&sys, acme.id)?;
    dir.applications()
        .bind_group(&sys, acme.id, ldap.id, bind_accounts.id)?;
    for (n, u) in [&tech1, &admin, &svc].into_iter().enumerate() {
        logins.push(set_password(dir, &acme, u, n + 1)?);
    }
    // The demo turns admin MFA off at the root so the walk-through needs no authenticator app;
    // a real installation keeps the default (TOTP required on the admin surfaces).
    let mut policy = TenantPolicy::default();
    policy.settings.mfa.protocols = Setting::set(BTreeSet::new());
    dir.policies().set(&sys, northwind.id, policy)?;

    // RADIUS clients for two customers' access points, bound to wifi; a SAML SP for contoso.
    for (c, addr) in [(&contoso, "127.0.0.1/32"), (&fabrikam, "127.0.0.2/32")] {
        let wifi = dir.groups().by_name(&sys, c.id, "wifi")?;
        dir.applications().create(
            &sys,
            c.id,
            NewApplication {
                name: "office-wifi".into(),
                kind: AppKind::Radius(RadiusClient {
                    addresses: vec![addr.parse().context("demo address")?],
                    secret: SharedSecret::new(format!("{}-demo-radius-secret", c.slug)),
                    require_message_authenticator: true,
                    reply: vec![],
                }),
                bound_groups: BTreeSet::from([wifi.id]),
            },
        )?;
    }
    let staff = dir.groups().by_name(&sys, contoso.id, "staff")?;
    dir.applications().create(
        &sys,
        contoso.id,
        NewApplication {
            name: "wiki".into(),
            kind: AppKind::Saml(SamlServiceProvider {
                entity_id: "https://wiki.contoso.example/saml/metadata".into(),
                acs_urls: vec![AcsUrl {
                    index: 0,
                    url: "https://wiki.contoso.example/saml/acs".into(),
                    default: true,
                }],
                name_id_format: NameIdFormat::Email,
                attribute_mapping: [
                    ("mail", "email"),
                    ("givenName", "given_name"),
                    ("sn", "family_name"),
                    ("groups", "groups"),
                ]
                .into_iter()
                .map(|(a, f)| (a.to_string(), f.to_string()))
                .collect(),
                options: Default::default(),
            }),
            bound_groups: BTreeSet::from([staff.id]),
        },
    )?;
    Ok(logins)
}

fn set_password(dir: &Directory, t: &Tenant, u: &User, n: usize) -> Result<DemoLogin> {
    let pw = password(&t.slug, n);
    dir.credentials()
        .set_password(&Actor::system(), t.id, u.id, &pw, false)?;
    Ok(DemoLogin {
        tenant: t.slug.clone(),
        username: u.username.clone(),
        password: pw,
    })
}

fn seed_customer(dir: &Directory, c: &Tenant) -> Result<Vec<DemoLogin>> {
    let sys = Actor::system();
    let u = dir.users();
    // staff comes first, so that its gidNumber (the tenant's first POSIX number, 10000) is
    // alice's and bob's primary group: they are POSIX accounts (uidNumber 10001 and 10002 in
    // every customer), as SSSD and Gitea's posixAccount filter need.
    let g = dir.groups();
    let staff = g.create(
        &sys,
        c.id,
        NewGroup {
            name: "staff".into(),
            description: Some("Everyone on staff".into()),
            ..NewGroup::default()
        },
    )?;
    let posix = |user: NewUser| NewUser {
        posix: Some(NewPosix {
            gid_number: Some(staff.gid_number),
            ..NewPosix::default()
        }),
        ..user
    };
    let alice = u.create(
        &sys,
        c.id,
        posix(person("alice", "Alice", "Archer", &c.slug)),
    )?;
    let bob = u.create(&sys, c.id, posix(person("bob", "Bob", "Baker", &c.slug)))?;
    let carol = u.create(
        &sys,
        c.id,
        NewUser {
            status: Status::Suspended,
            ..person("carol", "Carol", "Cooper", &c.slug)
        },
    )?;
    let svc = u.create(
        &sys,
        c.id,
        NewUser {
            username: "svc-ldap".into(),
            kind: UserKind::Service,
            display_name: Some("LDAP service account".into()),
            ..NewUser::default()
        },
    )?;
    give_role(dir, c, &svc, "Directory Reader")?;
    let g = dir.groups();
    let wifi = g.create(
        &sys,
        c.id,
        NewGroup {
            name: "wifi".into(),
            description: Some("Office Wi-Fi users".into()),
            attributes: GroupAttributes {
                radius: RadiusAttributes {
                    vlan: Some(42),
                    reply: vec![],
                },
            },
            ..NewGroup::default()
        },
    )?;
    let admins = g.create(
        &sys,
        c.id,
        NewGroup {
            name: "admins".into(),
            description: Some("Customer IT".into()),
            ..NewGroup::default()
        },
    )?;
    g.add_member(&sys, c.id, staff.id, Member::User(alice.id))?;
    g.add_member(&sys, c.id, staff.id, Member::User(bob.id))?;
    g.add_member(&sys, c.id, wifi.id, Member::User(alice.id))?;
    g.add_member(&sys, c.id, admins.id, Member::User(bob.id))?;
    // The tenant's LDAP service lets staff and the applications' bind accounts in (by default
    // it lets nobody).
    let bind_accounts = g.create(
        &sys,
        c.id,
        NewGroup {
            name: "service-accounts".into(),
            description: Some("Applications' LDAP bind accounts".into()),
            ..NewGroup::default()
        },
    )?;
    g.add_member(&sys, c.id, bind_accounts.id, Member::User(svc.id))?;
    let ldap = dir.applications().ldap_service(&sys, c.id)?;
    for grp in [&staff, &bind_accounts] {
        dir.applications().bind_group(&sys, c.id, ldap.id, grp.id)?;
    }
    let role = dir.rbac().role_by_name(&sys, c.id, "User Administrator")?;
    dir.rbac().assign(
        &sys,
        c.id,
        NewAssignment {
            subject: Subject::Group {
                tenant: c.id,
                id: admins.id,
            },
            rights: Default::default(),
            roles: vec![role.id],
            expires_at: None,
        },
    )?;
    [&alice, &bob, &carol, &svc]
        .into_iter()
        .enumerate()
        .map(|(n, user)| set_password(dir, c, user, n + 1))
        .collect()
}

fn give_role(dir: &Directory, scope: &Tenant, user: &User, role: &str) -> Result<()> {
    let sys = Actor::system();
    let r = dir.rbac().role_by_name(&sys, scope.id, role)?;
    dir.rbac().assign(
        &sys,
        scope.id,
        NewAssignment {
            subject: Subject::User {
                tenant: user.tenant,
                id: user.id,
            },
            rights: Default::default(),
            roles: vec![r.id],
            expires_at: None,
        },
    )?;
    Ok(())
}
