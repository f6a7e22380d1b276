//! Tenant isolation: two sibling customers hold the same usernames, group names, application,
//! role and assignment; every public service operation, called by one customer's strongest
//! administrator with the other customer's real ids, answers exactly what it answers for ids that
//! do not exist (`NotFound`) and changes nothing. An MSP technician whose role is scoped at the
//! MSP reaches its customers and nothing beside them; a user without any assignment sees only
//! itself. A test that reads the service sources keeps the list of exercised operations complete.

use crate::fixtures::{as_user, sys, Tree};
use std::collections::BTreeSet;
use std::net::IpAddr;
use tessera_directory::model::{
    AppId, AppKind, Application, ApplicationPatch, Assignment, AssignmentId, AuditEvent,
    AuditQuery, Group, GroupId, GroupPatch, ListQuery, Member, NewApplication, NewAssignment,
    NewRole, NewUser, RadiusClient, Role, RoleId, RolePatch, SharedSecret, Status, Subject, Tenant,
    TenantId, User, UserId, UserPatch,
};
use tessera_directory::policy::{Area, Right, RightSet, TenantKind};
use tessera_directory::testkit::{new_group, new_tenant, new_user};
use tessera_directory::{Actor, Directory, Error};

// ---------------------------------------------------------------------------------------------
// The world: the same objects, by the same names, in every tenant the tests look at.

const EMAIL: &str = "alice@example.org";
const APP: &str = "wlan";
const ROLE: &str = "Wifi Operators";

/// What one tenant holds for these tests.
struct Side {
    tenant: Tenant,
    admin: User,
    alice: User,
    bob: User,
    staff: Group,
    wifi: Group,
    ldap: Application,
    app: Application,
    role: Role,
    assignment: Assignment,
}

/// The ids (and slug) of one tenant's objects: what an attacker who knows them would pass.
#[derive(Debug, Clone)]
struct Target {
    tenant: TenantId,
    slug: String,
    alice: UserId,
    bob: UserId,
    staff: GroupId,
    wifi: GroupId,
    ldap: AppId,
    app: AppId,
    role: RoleId,
    assignment: AssignmentId,
}

fn user_subject(tenant: TenantId, id: UserId) -> Subject {
    Subject::User { tenant, id }
}

fn group_subject(tenant: TenantId, id: GroupId) -> Subject {
    Subject::Group { tenant, id }
}

/// A query of a tenant's log and those of its descendants.
fn subtree(tenant: TenantId) -> AuditQuery {
    AuditQuery {
        subtree: true,
        ..AuditQuery::tenant(tenant)
    }
}

fn radius(name: &str, bound: impl IntoIterator<Item = GroupId>) -> NewApplication {
    NewApplication {
        name: name.into(),
        kind: AppKind::Radius(RadiusClient {
            addresses: vec![IpAddr::from([127, 0, 0, 1]).into()],
            secret: SharedSecret::new("a-secret-of-16+chars"),
            require_message_authenticator: true,
            reply: vec![],
        }),
        bound_groups: bound.into_iter().collect(),
    }
}

impl Side {
    /// A local "admin" holding Main Administrator at the tenant, alice (with an e-mail) and bob,
    /// groups staff and wifi, a RADIUS client bound to wifi, a custom role and an assignment of
    /// it to wifi.
    fn build(tree: &Tree, tenant: &Tenant) -> Result<Side, Error> {
        let d = tree.dir();
        let admin = tree.user_with_role(tenant, "admin", "Main Administrator", tenant);
        let (alice, bob) = tree.populate(tenant);
        let alice = d.users().update(
            &sys(),
            tenant.id,
            alice.id,
            UserPatch {
                email: Some(Some(EMAIL.into())),
                ..UserPatch::default()
            },
        )?;
        let staff = d.groups().by_name(&sys(), tenant.id, "staff")?;
        let wifi = d.groups().by_name(&sys(), tenant.id, "wifi")?;
        let ldap = (*d.applications().ldap_service(&sys(), tenant.id)?).clone();
        let app = d
            .applications()
            .create(&sys(), tenant.id, radius(APP, [wifi.id]))?;
        let role = d.rbac().create_role(
            &sys(),
            tenant.id,
            NewRole {
                name: ROLE.into(),
                description: Some("reads the Wi-Fi setup".into()),
                rights: RightSet::allowing(&[Area::Applications, Area::Groups], &[Right::Read]),
                propagate: false,
            },
        )?;
        let assignment = d.rbac().assign(
            &sys(),
            tenant.id,
            NewAssignment {
                subject: group_subject(tenant.id, wifi.id),
                rights: RightSet::EMPTY,
                roles: vec![role.id],
                expires_at: None,
            },
        )?;
        Ok(Side {
            tenant: tenant.clone(),
            admin,
            alice,
            bob,
            staff,
            wifi,
            ldap,
            app,
            role,
            assignment,
        })
    }

    fn target(&self) -> Target {
        Target {
            tenant: self.tenant.id,
            slug: self.tenant.slug.clone(),
            alice: self.alice.id,
            bob: self.bob.id,
            staff: self.staff.id,
            wifi: self.wifi.id,
            ldap: self.ldap.id,
            app: self.app.id,
            role: self.role.id,
            assignment: self.assignment.id,
        }
    }

    fn actor(&self) -> Actor {
        as_user(&self.admin)
    }
}

/// Ids that exist nowhere: the answer every hidden object must be indistinguishable from.
fn phantom() -> Target {
    fn id<T>(wrap: fn(uuid::Uuid) -> T, n: u128) -> T {
        wrap(uuid::Uuid::from_u128(
            0x0bad_c0de_0000_4000_8000_0000_0000_0000 | n,
        ))
    }
    Target {
        tenant: id(TenantId::from_uuid, 1),
        slug: "no-such-tenant".into(),
        alice: id(UserId::from_uuid, 2),
        bob: id(UserId::from_uuid, 3),
        staff: id(GroupId::from_uuid, 4),
        wifi: id(GroupId::from_uuid, 5),
        ldap: id(AppId::from_uuid, 6),
        app: id(AppId::from_uuid, 7),
        role: id(RoleId::from_uuid, 8),
        assignment: id(AssignmentId::from_uuid, 9),
    }
}

struct World {
    tree: Tree,
    contoso: Side,
    fabrikam: Side,
}

fn world() -> Result<World, Error> {
    let tree = Tree::new();
    let contoso = Side::build(&tree, &tree.contoso)?;
    let fabrikam = Side::build(&tree, &tree.fabrikam)?;
    Ok(World {
        tree,
        contoso,
        fabrikam,
    })
}

// ---------------------------------------------------------------------------------------------
// Snapshots: everything in every tenant, read by the system actor.

#[derive(Debug, PartialEq)]
struct Snapshot {
    tenant: Tenant,
    users: Vec<User>,
    groups: Vec<(Group, Vec<Member>)>,
    apps: Vec<Application>,
    roles: Vec<Role>,
    assignments: Vec<Assignment>,
    audit: Vec<AuditEvent>,
}

fn all_events(d: &Directory, a: &Actor, mut q: AuditQuery) -> Result<Vec<AuditEvent>, Error> {
    q.limit = Some(ListQuery::MAX_LIMIT);
    let mut out = Vec::new();
    loop {
        let page = d.audit().query(a, &q)?;
        out.extend(page.events);
        match page.next {
            Some(c) => q.after = Some(c),
            None => return Ok(out),
        }
    }
}

fn snapshot(d: &Directory, t: &Tenant) -> Result<Snapshot, Error> {
    let s = sys();
    let q = ListQuery {
        limit: Some(ListQuery::MAX_LIMIT),
        ..ListQuery::default()
    };
    let users = d.users().list(&s, t.id, &q)?;
    let groups = d.groups().list(&s, t.id, &q)?;
    assert!(
        users.next.is_none() && groups.next.is_none(),
        "snapshots fit one page"
    );
    let mut with_members = Vec::new();
    for g in groups.items {
        let m = d.groups().members(&s, t.id, g.id, false)?;
        with_members.push((g, m));
    }
    Ok(Snapshot {
        tenant: t.clone(),
        users: users.items,
        groups: with_members,
        apps: d.applications().list(&s, t.id)?,
        roles: d.rbac().list_roles(&s, t.id)?,
        assignments: d.rbac().list_assignments(&s, t.id)?,
        audit: all_events(d, &s, AuditQuery::tenant(t.id))?,
    })
}

/// The whole installation, tenant by tenant.
fn snapshot_all(d: &Directory) -> Result<Vec<Snapshot>, Error> {
    d.tenants()
        .list(&sys())?
        .iter()
        .map(|t| snapshot(d, t))
        .collect()
}

/// The integrity checker's findings (none expected).
fn problems(d: &Directory) -> Result<Vec<String>, Error> {
    Ok(d.check_integrity()?.problems)
}

// ---------------------------------------------------------------------------------------------
// The battery: every public operation, aimed at one tenant's objects.

/// One call's label (`<service module>::<operation>`) and its outcome, reduced to success or
/// the error.
type Outcome = (&'static str, Result<(), Error>);

/// The outcomes of a battery, in call order.
#[derive(Default)]
struct Calls(Vec<Outcome>);

impl Calls {
    fn op<T>(&mut self, name: &'static str, r: Result<T, Error>) {
        self.0.push((name, r.map(|_| ())));
    }
}

/// Every public service operation of the directory, as `<service module>::<operation>`. The
/// battery below calls each of them (checked by `the_battery_calls_every_covered_operation`),
/// and `every_public_operation_is_covered` checks this list against the service sources.
const COVERED: &[&str] = &[
    "applications::radius_secret",
    "users::by_cn",
    "users::get_many",
    "users::by_uid_number",
    "groups::by_gid",
    "tenants::resolve",
    "tokens::create",
    "tokens::list",
    "tokens::revoke",
    "policies::get",
    "policies::set",
    "credentials::set_password",
    "credentials::change_password",
    "credentials::unlock",
    "credentials::enroll_totp",
    "credentials::confirm_totp",
    "credentials::reset_totp",
    "credentials::status",
    "tenants::bootstrap",
    "tenants::create",
    "tenants::get",
    "tenants::by_slug",
    "tenants::root",
    "tenants::children",
    "tenants::list",
    "tenants::ancestors",
    "tenants::is_active",
    "tenants::rename",
    "tenants::suspend",
    "tenants::resume",
    "tenants::delete",
    "tenants::my_rights",
    "users::create",
    "users::create_many",
    "users::get",
    "users::by_username",
    "users::by_email",
    "users::list",
    "users::update",
    "users::suspend",
    "users::resume",
    "users::delete",
    "users::groups_of",
    "groups::create",
    "groups::get",
    "groups::by_name",
    "groups::list",
    "groups::update",
    "groups::delete",
    "groups::add_member",
    "groups::remove_member",
    "groups::members",
    "groups::member_names",
    "groups::groups_of",
    "applications::create",
    "applications::get",
    "applications::by_name",
    "applications::ldap_service",
    "applications::list",
    "applications::update",
    "applications::delete",
    "applications::bind_group",
    "applications::unbind_group",
    "applications::may_use",
    "rbac::create_role",
    "rbac::get_role",
    "rbac::role_by_name",
    "rbac::list_roles",
    "rbac::update_role",
    "rbac::delete_role",
    "rbac::assign",
    "rbac::get_assignment",
    "rbac::list_assignments",
    "rbac::assignments_of",
    "rbac::revoke",
    "rbac::effective_rights",
    "audit::query",
    "audit::export_jsonl",
    "radius::clients",
    "radius::reply_groups",
    "radius::record_accounting",
    "radius::record_legacy_client",
    "radius::sessions",
    "radius::eap_key",
    "radius::eap_certificate",
    "radius::install_eap_certificate",
    "radius::remove_eap_certificate",
    "saml::idp_key",
    "saml::service_provider",
    "saml::remember_request",
    "saml::open_session",
    "saml::resume_session",
    "saml::end_session",
    "saml::idp_keys",
    "saml::prepare_next_idp_key",
    "saml::activate_next_idp_key",
    "saml::remove_idp_key",
    "saml::end_user_sessions",
];

/// The operations that take no tenant or object and so are not aimed at a target: checked by
/// `tenant_wide_operations_show_nothing_hidden` instead of the battery.
const UNTARGETED: &[&str] = &[
    "tenants::bootstrap",
    "tenants::list",
    "tokens::create",
    "applications::radius_secret",
    "radius::clients",
    "radius::reply_groups",
    "radius::record_accounting",
    "radius::record_legacy_client",
    "radius::eap_key",
    "saml::idp_key",
    "saml::service_provider",
    "saml::remember_request",
    "saml::open_session",
    "saml::resume_session",
    "saml::end_session",
];

/// Calls every targeted operation against `t`'s objects as `a`: reads and listings first, then
/// changes and creations, deletions last (so that a leak in one call cannot mask another).
fn battery(d: &Directory, a: &Actor, t: &Target) -> Vec<Outcome> {
    let mut c = Calls::default();
    let q = ListQuery::default();
    let (tn, u, g, ap, rb) = (
        d.tenants(),
        d.users(),
        d.groups(),
        d.applications(),
        d.rbac(),
    );

    // Reads and listings.
    c.op("policies::get", d.policies().get(a, t.tenant));
    c.op("radius::sessions", d.radius().sessions(a, t.tenant));
    c.op(
        "radius::eap_certificate",
        d.radius().eap_certificate(a, t.tenant),
    );
    c.op("tokens::list", d.tokens().list(a, t.tenant, t.alice));
    c.op(
        "credentials::status",
        d.credentials().status(a, t.tenant, t.alice),
    );
    c.op("saml::idp_keys", d.saml().idp_keys(a, t.tenant));
    c.op("tenants::resolve", tn.resolve(a, &t.slug));
    c.op("tenants::get", tn.get(a, t.tenant));
    c.op("tenants::by_slug", tn.by_slug(a, &t.slug));
    c.op("tenants::root", tn.root(a));
    c.op("tenants::children", tn.children(a, t.tenant));
    c.op("tenants::ancestors", tn.ancestors(a, t.tenant));
    c.op("tenants::is_active", tn.is_active(a, t.tenant));
    c.op("tenants::my_rights", tn.my_rights(a, t.tenant));
    c.op("users::get", u.get(a, t.tenant, t.alice));
    c.op("users::get_many", u.get_many(a, t.tenant, &[t.alice]));
    c.op("users::by_username", u.by_username(a, t.tenant, "alice"));
    c.op("users::by_username", u.by_username(a, t.tenant, "ALICE"));
    c.op("users::by_email", u.by_email(a, t.tenant, EMAIL));
    c.op("users::by_cn", u.by_cn(a, t.tenant, "alice"));
    c.op("users::by_uid_number", u.by_uid_number(a, t.tenant, 10_000));
    c.op("groups::by_gid", g.by_gid(a, t.tenant, 10_001));
    c.op("users::list", u.list(a, t.tenant, &q));
    c.op(
        "users::list",
        u.list(
            a,
            t.tenant,
            &ListQuery {
                prefix: Some("al".into()),
                ..q.clone()
            },
        ),
    );
    c.op("users::groups_of", u.groups_of(a, t.tenant, t.alice, false));
    c.op("users::groups_of", u.groups_of(a, t.tenant, t.alice, true));
    c.op("groups::get", g.get(a, t.tenant, t.staff));
    c.op("groups::by_name", g.by_name(a, t.tenant, "staff"));
    c.op("groups::list", g.list(a, t.tenant, &q));
    c.op("groups::members", g.members(a, t.tenant, t.staff, false));
    c.op("groups::members", g.members(a, t.tenant, t.staff, true));
    c.op(
        "groups::member_names",
        g.member_names(a, t.tenant, t.staff, false),
    );
    c.op(
        "groups::member_names",
        g.member_names(a, t.tenant, t.staff, true),
    );
    c.op("groups::groups_of", g.groups_of(a, t.tenant, t.wifi, false));
    c.op("groups::groups_of", g.groups_of(a, t.tenant, t.wifi, true));
    c.op("applications::get", ap.get(a, t.tenant, t.app));
    c.op("applications::get", ap.get(a, t.tenant, t.ldap));
    c.op("applications::by_name", ap.by_name(a, t.tenant, APP));
    c.op("applications::ldap_service", ap.ldap_service(a, t.tenant));
    c.op("applications::list", ap.list(a, t.tenant));
    c.op(
        "applications::may_use",
        ap.may_use(a, t.tenant, t.app, t.alice),
    );
    c.op("rbac::get_role", rb.get_role(a, t.tenant, t.role));
    c.op("rbac::role_by_name", rb.role_by_name(a, t.tenant, ROLE));
    c.op(
        "rbac::role_by_name",
        rb.role_by_name(a, t.tenant, "Main Administrator"),
    );
    c.op("rbac::list_roles", rb.list_roles(a, t.tenant));
    c.op(
        "rbac::get_assignment",
        rb.get_assignment(a, t.tenant, t.assignment),
    );
    c.op("rbac::list_assignments", rb.list_assignments(a, t.tenant));
    c.op(
        "rbac::assignments_of",
        rb.assignments_of(a, group_subject(t.tenant, t.wifi)),
    );
    c.op(
        "rbac::assignments_of",
        rb.assignments_of(a, user_subject(t.tenant, t.alice)),
    );
    c.op(
        "rbac::effective_rights",
        rb.effective_rights(a, t.tenant, t.alice, t.tenant),
    );
    c.op(
        "audit::query",
        d.audit().query(a, &AuditQuery::tenant(t.tenant)),
    );
    c.op("audit::query", d.audit().query(a, &subtree(t.tenant)));
    let mut sink = Vec::new();
    c.op(
        "audit::export_jsonl",
        d.audit()
            .export_jsonl(a, &AuditQuery::tenant(t.tenant), &mut sink),
    );
    assert!(
        sink.is_empty(),
        "the export wrote {} bytes of {}'s log",
        sink.len(),
        t.slug
    );

    // Changes and creations.
    c.op(
        "tenants::create",
        tn.create(a, t.tenant, new_tenant("intruder", TenantKind::Customer)),
    );
    c.op("tenants::rename", tn.rename(a, t.tenant, "Owned"));
    c.op("tenants::suspend", tn.suspend(a, t.tenant));
    c.op("tenants::resume", tn.resume(a, t.tenant));
    c.op("users::create", u.create(a, t.tenant, new_user("mallory")));
    c.op(
        "users::create_many",
        u.create_many(
            a,
            t.tenant,
            vec![new_user("mallory1"), new_user("mallory2")],
        ),
    );
    let owned = UserPatch {
        display_name: Some(Some("owned".into())),
        ..UserPatch::default()
    };
    c.op("users::update", u.update(a, t.tenant, t.alice, owned));
    c.op("users::suspend", u.suspend(a, t.tenant, t.alice));
    c.op("users::resume", u.resume(a, t.tenant, t.bob));
    c.op(
        "groups::create",
        g.create(a, t.tenant, new_group("intruders")),
    );
    let owned = GroupPatch {
        description: Some(Some("owned".into())),
        ..GroupPatch::default()
    };
    c.op("groups::update", g.update(a, t.tenant, t.staff, owned));
    c.op(
        "groups::add_member",
        g.add_member(a, t.tenant, t.wifi, Member::User(t.bob)),
    );
    c.op(
        "groups::add_member",
        g.add_member(a, t.tenant, t.staff, Member::Group(t.wifi)),
    );
    c.op(
        "groups::remove_member",
        g.remove_member(a, t.tenant, t.staff, Member::User(t.alice)),
    );
    c.op(
        "applications::create",
        ap.create(a, t.tenant, radius("rogue-nas", [])),
    );
    // A chain and key that would be accepted anywhere the caller may install one.
    let rogue = rcgen::generate_simple_self_signed(vec!["radius.rogue.example".into()]).unwrap();
    c.op(
        "radius::install_eap_certificate",
        d.radius().install_eap_certificate(
            a,
            t.tenant,
            tessera_directory::model::NewEapCertificate {
                chain_pem: rogue.cert.pem(),
                private_key_pem: tessera_directory::model::SecretBytes::new(
                    rogue.signing_key.serialize_pem().into_bytes(),
                ),
            },
        ),
    );
    // A key that would be taken anywhere the caller may rotate keys (never made when refused).
    let make = || {
        Ok(tessera_directory::model::NewIdpKey {
            private_key_der: tessera_directory::model::SecretBytes::new(vec![7; 64]),
            certificate_der: vec![0x30, 7, 7],
        })
    };
    c.op(
        "saml::prepare_next_idp_key",
        d.saml().prepare_next_idp_key(a, t.tenant, &make),
    );
    c.op(
        "saml::activate_next_idp_key",
        d.saml().activate_next_idp_key(a, t.tenant),
    );
    let renamed = ApplicationPatch {
        name: Some("owned".into()),
        ..ApplicationPatch::default()
    };
    c.op(
        "applications::update",
        ap.update(a, t.tenant, t.app, renamed),
    );
    c.op(
        "applications::bind_group",
        ap.bind_group(a, t.tenant, t.app, t.staff),
    );
    c.op(
        "applications::unbind_group",
        ap.unbind_group(a, t.tenant, t.app, t.wifi),
    );
    let everything = RightSet::ALL_ALLOWED;
    let new_role = NewRole {
        name: "Intruders".into(),
        description: None,
        rights: everything,
        propagate: true,
    };
    c.op("rbac::create_role", rb.create_role(a, t.tenant, new_role));
    let patch = RolePatch {
        rights: Some(everything),
        ..RolePatch::default()
    };
    c.op(
        "rbac::update_role",
        rb.update_role(a, t.tenant, t.role, patch),
    );
    let grant = NewAssignment {
        subject: user_subject(t.tenant, t.bob),
        rights: RightSet::EMPTY,
        roles: vec![t.role],
        expires_at: None,
    };
    c.op("rbac::assign", rb.assign(a, t.tenant, grant));

    // Credentials and policies.
    let cr = d.credentials();
    c.op(
        "credentials::set_password",
        cr.set_password(a, t.tenant, t.alice, "Some-Long-Password-1", false),
    );
    c.op(
        "credentials::change_password",
        cr.change_password(
            a,
            t.tenant,
            t.alice,
            "Some-Long-Password-1",
            "Other-Long-Password-2",
        ),
    );
    c.op("credentials::unlock", cr.unlock(a, t.tenant, t.alice));
    c.op(
        "saml::end_user_sessions",
        d.saml().end_user_sessions(a, t.tenant, t.alice),
    );
    c.op(
        "credentials::enroll_totp",
        cr.enroll_totp(a, t.tenant, t.alice),
    );
    c.op(
        "credentials::confirm_totp",
        cr.confirm_totp(a, t.tenant, t.alice, "123456"),
    );
    c.op(
        "credentials::reset_totp",
        cr.reset_totp(a, t.tenant, t.alice),
    );
    c.op(
        "policies::set",
        d.policies().set(
            a,
            t.tenant,
            tessera_directory::model::TenantPolicy::default(),
        ),
    );

    // Deletions.
    c.op(
        "tokens::revoke",
        d.tokens().revoke(
            a,
            t.tenant,
            t.alice,
            tessera_directory::model::TokenId::from_uuid(uuid::Uuid::from_u128(7)),
        ),
    );
    c.op("rbac::revoke", rb.revoke(a, t.tenant, t.assignment));
    c.op("rbac::delete_role", rb.delete_role(a, t.tenant, t.role));
    c.op(
        "saml::remove_idp_key",
        d.saml().remove_idp_key(a, t.tenant, &"00".repeat(32)),
    );
    c.op(
        "radius::remove_eap_certificate",
        d.radius().remove_eap_certificate(a, t.tenant),
    );
    c.op("applications::delete", ap.delete(a, t.tenant, t.app));
    c.op("applications::delete", ap.delete(a, t.tenant, t.ldap));
    c.op("groups::delete", g.delete(a, t.tenant, t.wifi));
    c.op("users::delete", u.delete(a, t.tenant, t.bob));
    c.op("tenants::delete", tn.delete(a, t.tenant));
    c.0
}

/// Calls, inside the actor's own tenant `own`, every operation that takes an object id or a
/// reference, with `f`'s ids in place of own ones: a foreign id must not resolve in one's own
/// tenant, nor be linked to from it.
fn swapped_battery(d: &Directory, a: &Actor, own: &Side, f: &Target) -> Vec<Outcome> {
    let mut c = Calls::default();
    let o = own.tenant.id;
    let (u, g, ap, rb) = (d.users(), d.groups(), d.applications(), d.rbac());

    c.op("users::get", u.get(a, o, f.alice));
    c.op("users::groups_of", u.groups_of(a, o, f.alice, true));
    c.op("groups::get", g.get(a, o, f.staff));
    c.op("groups::members", g.members(a, o, f.staff, true));
    c.op("groups::member_names", g.member_names(a, o, f.staff, true));
    c.op("groups::groups_of", g.groups_of(a, o, f.wifi, true));
    c.op("applications::get", ap.get(a, o, f.app));
    c.op("applications::get", ap.get(a, o, f.ldap));
    c.op(
        "applications::may_use",
        ap.may_use(a, o, f.app, own.alice.id),
    );
    c.op(
        "applications::may_use",
        ap.may_use(a, o, own.app.id, f.alice),
    );
    c.op("rbac::get_role", rb.get_role(a, o, f.role));
    c.op(
        "rbac::get_assignment",
        rb.get_assignment(a, o, f.assignment),
    );
    c.op(
        "rbac::effective_rights",
        rb.effective_rights(a, o, f.alice, o),
    );

    let joining = NewUser {
        groups: vec![f.staff],
        ..new_user("mallory")
    };
    c.op("users::create", u.create(a, o, joining.clone()));
    c.op(
        "users::create_many",
        u.create_many(a, o, vec![new_user("mallory1"), joining]),
    );
    let owned = UserPatch {
        display_name: Some(Some("owned".into())),
        ..UserPatch::default()
    };
    c.op("users::update", u.update(a, o, f.alice, owned));
    c.op("users::suspend", u.suspend(a, o, f.alice));
    c.op("users::resume", u.resume(a, o, f.bob));
    let owned = GroupPatch {
        description: Some(Some("owned".into())),
        ..GroupPatch::default()
    };
    c.op("groups::update", g.update(a, o, f.staff, owned));
    c.op(
        "groups::add_member",
        g.add_member(a, o, f.wifi, Member::User(own.bob.id)),
    );
    c.op(
        "groups::add_member",
        g.add_member(a, o, own.staff.id, Member::User(f.alice)),
    );
    c.op(
        "groups::add_member",
        g.add_member(a, o, own.staff.id, Member::Group(f.wifi)),
    );
    c.op(
        "groups::remove_member",
        g.remove_member(a, o, own.staff.id, Member::User(f.alice)),
    );
    c.op(
        "groups::remove_member",
        g.remove_member(a, o, f.staff, Member::User(own.alice.id)),
    );
    c.op(
        "applications::create",
        ap.create(a, o, radius("rogue-nas", [f.wifi])),
    );
    let renamed = ApplicationPatch {
        name: Some("owned".into()),
        ..ApplicationPatch::default()
    };
    c.op("applications::update", ap.update(a, o, f.app, renamed));
    c.op(
        "applications::bind_group",
        ap.bind_group(a, o, f.app, own.staff.id),
    );
    c.op(
        "applications::bind_group",
        ap.bind_group(a, o, own.app.id, f.staff),
    );
    c.op(
        "applications::unbind_group",
        ap.unbind_group(a, o, own.app.id, f.wifi),
    );
    let patch = RolePatch {
        description: Some(Some("owned".into())),
        ..RolePatch::default()
    };
    c.op("rbac::update_role", rb.update_role(a, o, f.role, patch));
    let grant = |subject, roles| NewAssignment {
        subject,
        rights: RightSet::EMPTY,
        roles,
        expires_at: None,
    };
    let read_apps = RightSet::allowing(&[Area::Applications], &[Right::Read]);
    let direct = |subject| NewAssignment {
        subject,
        rights: read_apps,
        roles: vec![],
        expires_at: None,
    };
    c.op(
        "rbac::assign",
        rb.assign(a, o, direct(user_subject(o, f.alice))),
    );
    c.op(
        "rbac::assign",
        rb.assign(a, o, direct(group_subject(o, f.wifi))),
    );
    c.op(
        "rbac::assign",
        rb.assign(a, o, direct(user_subject(f.tenant, f.alice))),
    );
    c.op(
        "rbac::assign",
        rb.assign(a, o, grant(user_subject(o, own.bob.id), vec![f.role])),
    );

    let cr = d.credentials();
    c.op("credentials::status", cr.status(a, o, f.alice));
    c.op(
        "credentials::set_password",
        cr.set_password(a, o, f.alice, "Some-Long-Password-1", false),
    );
    c.op("credentials::unlock", cr.unlock(a, o, f.alice));
    c.op(
        "saml::end_user_sessions",
        d.saml().end_user_sessions(a, o, f.alice),
    );
    c.op("credentials::enroll_totp", cr.enroll_totp(a, o, f.alice));
    c.op(
        "credentials::confirm_totp",
        cr.confirm_totp(a, o, f.alice, "123456"),
    );
    c.op("credentials::reset_totp", cr.reset_totp(a, o, f.alice));
    let mut foreign_groups = tessera_directory::model::TenantPolicy::default();
    foreign_groups.mfa_required_groups.insert(f.staff);
    c.op("policies::set", d.policies().set(a, o, foreign_groups));

    c.op("rbac::revoke", rb.revoke(a, o, f.assignment));
    c.op("rbac::delete_role", rb.delete_role(a, o, f.role));
    c.op("applications::delete", ap.delete(a, o, f.app));
    c.op("groups::delete", g.delete(a, o, f.wifi));
    c.op("users::delete", u.delete(a, o, f.bob));
    c.0
}

/// Asserts that every call answered `NotFound`, listing those that did not.
fn assert_all_not_found(who: &str, outcomes: &[Outcome]) {
    let wrong: Vec<&Outcome> = outcomes
        .iter()
        .filter(|(_, r)| *r != Err(Error::NotFound))
        .collect();
    assert!(
        wrong.is_empty(),
        "{who}: expected NotFound from every call, got {wrong:#?}"
    );
}

/// The battery against `hidden`, and against ids that exist nowhere: both all `NotFound`, call
/// for call the same.
fn assert_hidden_like_missing(d: &Directory, who: &str, a: &Actor, hidden: &Target) {
    let seen = battery(d, a, hidden);
    let missing = battery(d, a, &phantom());
    assert_all_not_found(&format!("{who} on {}", hidden.slug), &seen);
    assert_eq!(
        seen, missing,
        "{who}: {}'s objects must look exactly like missing ones",
        hidden.slug
    );
}

fn slugs(ts: &[Tenant]) -> Vec<&str> {
    ts.iter().map(|t| t.slug.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Sibling customers.

#[test]
fn a_customer_admin_reaches_nothing_of_its_sibling() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let before = snapshot_all(d).unwrap();
    // The setup is what the issue describes: same names on both sides, different objects.
    for (c, f) in [
        (&w.contoso.alice, &w.fabrikam.alice),
        (&w.contoso.admin, &w.fabrikam.admin),
    ] {
        assert_eq!(c.username, f.username);
        assert_ne!(c.id, f.id);
    }
    assert_eq!(
        (&w.contoso.staff.name, &w.contoso.role.name),
        (&w.fabrikam.staff.name, &w.fabrikam.role.name)
    );

    // Both directions: contoso's Main Administrator on fabrikam, and the other way round.
    assert_hidden_like_missing(d, "contoso admin", &w.contoso.actor(), &w.fabrikam.target());
    assert_hidden_like_missing(
        d,
        "fabrikam admin",
        &w.fabrikam.actor(),
        &w.contoso.target(),
    );

    // Nothing anywhere changed, not even an audit event, and the store is consistent.
    assert_eq!(snapshot_all(d).unwrap(), before);
    assert_eq!(problems(d).unwrap(), Vec::<String>::new());
    // The admins still hold everything at home (the battery did not fail for lack of rights).
    let home = d
        .users()
        .list(
            &w.contoso.actor(),
            w.contoso.tenant.id,
            &ListQuery::default(),
        )
        .unwrap();
    assert_eq!(home.items.len(), 3);
}

#[test]
fn the_battery_calls_every_covered_operation() {
    let w = world().unwrap();
    let called: BTreeSet<&str> = battery(w.tree.dir(), &w.contoso.actor(), &w.fabrikam.target())
        .into_iter()
        .map(|(name, _)| name)
        .chain(UNTARGETED.iter().copied())
        .collect();
    let covered: BTreeSet<&str> = COVERED.iter().copied().collect();
    assert_eq!(
        covered.len(),
        COVERED.len(),
        "COVERED lists an operation twice"
    );
    assert_eq!(called, covered);
}

#[test]
fn tenant_wide_operations_show_nothing_hidden() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let before = snapshot_all(d).unwrap();
    let t = d.tenants();
    assert_eq!(slugs(&t.list(&w.contoso.actor()).unwrap()), ["contoso"]);
    assert_eq!(slugs(&t.list(&w.fabrikam.actor()).unwrap()), ["fabrikam"]);
    // Bootstrap is the installation's, refused to every user before it looks at anything.
    let root = new_tenant("takeover", TenantKind::Distributor);
    assert_eq!(t.bootstrap(&w.contoso.actor(), root), Err(Error::Forbidden));
    // Secrets are read back by the installation only (the RADIUS frontend), never by a user.
    assert_eq!(
        d.applications()
            .radius_secret(
                &w.contoso.actor(),
                w.contoso.tenant.id,
                w.contoso.target().app
            )
            .map(|_| ()),
        Err(Error::Forbidden)
    );
    // The RADIUS frontend's reads and reports are the installation's too.
    let r = d.radius();
    let (ct, app) = (w.contoso.tenant.id, w.contoso.target().app);
    assert_eq!(
        r.clients(&w.contoso.actor()).map(|_| ()),
        Err(Error::Forbidden)
    );
    assert_eq!(
        r.reply_groups(&w.contoso.actor(), ct, app, &[w.contoso.target().wifi])
            .map(|_| ()),
        Err(Error::Forbidden)
    );
    assert_eq!(
        r.record_accounting(
            &w.contoso.actor(),
            ct,
            app,
            IpAddr::from([127, 0, 0, 1]),
            tessera_directory::model::AccountingStatus::Start,
            Default::default(),
        ),
        Err(Error::Forbidden)
    );
    assert_eq!(
        r.record_legacy_client(&w.contoso.actor(), ct, app),
        Err(Error::Forbidden)
    );
    // Private keys too: an administrator sees the EAP-TTLS certificate, never its key.
    assert_eq!(
        r.eap_key(&w.contoso.actor(), ct).map(|_| ()),
        Err(Error::Forbidden)
    );
    // A personal token is always the actor's own, and only from a session.
    let pat = tessera_directory::model::NewToken {
        name: "probe".into(),
        ..Default::default()
    };
    assert!(matches!(
        d.tokens().create(&w.contoso.actor(), pat),
        Err(Error::NotAllowed(_))
    ));
    // Up the tree a customer admin sees its own tenant only.
    assert_eq!(
        slugs(
            &t.ancestors(&w.contoso.actor(), w.contoso.tenant.id)
                .unwrap()
        ),
        ["contoso"]
    );
    assert_eq!(
        t.children(&w.contoso.actor(), w.contoso.tenant.id).unwrap(),
        []
    );
    assert_eq!(snapshot_all(d).unwrap(), before);
}

#[test]
fn saml_operations_are_the_installations() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let before = snapshot_all(d).unwrap();
    let s = d.saml();
    let (a, ct, app) = (
        w.contoso.actor(),
        w.contoso.tenant.id,
        w.contoso.target().app,
    );
    let make = || -> Result<tessera_directory::model::NewIdpKey, Error> {
        panic!("a refused caller never gets a key made")
    };
    assert_eq!(s.idp_key(&a, ct, &make).map(|_| ()), Err(Error::Forbidden));
    assert_eq!(
        s.service_provider(&a, ct, "https://sp").map(|_| ()),
        Err(Error::Forbidden)
    );
    let later = d.now().plus_secs(60);
    assert_eq!(
        s.remember_request(&a, ct, app, "_id1", later),
        Err(Error::Forbidden)
    );
    let limits = tessera_directory::model::SessionLimits::default();
    assert_eq!(
        s.open_session(&a, ct, (w.contoso.target().alice, app), false, limits)
            .map(|_| ()),
        Err(Error::Forbidden)
    );
    let secret = tessera_directory::model::SessionSecret::new("probe");
    assert_eq!(
        s.resume_session(&a, ct, &secret, app, None).map(|_| ()),
        Err(Error::Forbidden)
    );
    assert_eq!(
        s.end_session(&a, ct, &secret).map(|_| ()),
        Err(Error::Forbidden)
    );
    assert_eq!(snapshot_all(d).unwrap(), before);
}

#[test]
fn foreign_ids_do_not_resolve_in_ones_own_tenant() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let before = snapshot_all(d).unwrap();
    let a = w.contoso.actor();
    let seen = swapped_battery(d, &a, &w.contoso, &w.fabrikam.target());
    let missing = swapped_battery(d, &a, &w.contoso, &phantom());
    assert_all_not_found("contoso admin with fabrikam ids", &seen);
    assert_eq!(seen, missing);
    // `assignments_of` does not check that its subject exists: for an id that is not in the
    // tenant it lists nothing instead of answering NotFound. Nothing is revealed either way, and
    // a foreign id must answer exactly as an id that exists nowhere.
    let c = w.contoso.tenant.id;
    let (f, p) = (w.fabrikam.target(), phantom());
    let pairs = [
        (user_subject(c, f.alice), user_subject(c, p.alice)),
        (group_subject(c, f.wifi), group_subject(c, p.wifi)),
    ];
    for (foreign, nowhere) in pairs {
        let r = d.rbac().assignments_of(&a, foreign);
        assert!(
            matches!(&r, Err(Error::NotFound)) || r == Ok(vec![]),
            "{foreign:?}: {r:?}"
        );
        assert_eq!(r, d.rbac().assignments_of(&a, nowhere));
    }
    let a = w.fabrikam.actor();
    let seen = swapped_battery(d, &a, &w.fabrikam, &w.contoso.target());
    assert_all_not_found("fabrikam admin with contoso ids", &seen);
    assert_eq!(snapshot_all(d).unwrap(), before);
    assert_eq!(problems(d).unwrap(), Vec::<String>::new());
}

#[test]
fn ones_own_rights_on_a_hidden_tenant_look_like_those_on_a_missing_one() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let me = &w.contoso.admin;
    let a = w.contoso.actor();
    let on = |t: TenantId| d.rbac().effective_rights(&a, me.tenant, me.id, t);
    // Reading one's own rights needs no right; on a hidden tenant the answer is the same
    // NotFound as on a missing one, so it tells nothing about which tenants exist.
    assert_eq!(on(w.fabrikam.tenant.id), Err(Error::NotFound));
    assert_eq!(on(w.fabrikam.tenant.id), on(phantom().tenant));
    assert_eq!(on(w.contoso.tenant.id), Ok(RightSet::ALL_ALLOWED));
    assert_eq!(
        d.tenants().my_rights(&a, w.fabrikam.tenant.id),
        Err(Error::NotFound)
    );
    assert_eq!(
        d.tenants().my_rights(&a, phantom().tenant),
        Err(Error::NotFound)
    );
}

#[test]
fn a_subtree_audit_query_stays_inside_what_the_actor_may_read() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let tree = &w.tree;
    // Every tenant's log has events of its own, so leaving one out means something.
    let globex = Side::build(tree, &tree.globex).unwrap();
    for t in [
        &tree.acme,
        &tree.contoso,
        &tree.fabrikam,
        &tree.globex,
        &tree.root,
    ] {
        assert!(
            !all_events(d, &sys(), AuditQuery::tenant(t.id))
                .unwrap()
                .is_empty(),
            "{} has no events",
            t.slug
        );
    }
    let tenants_of = |evs: &[AuditEvent]| evs.iter().map(|e| e.tenant).collect::<BTreeSet<_>>();

    // The contoso admin: contoso's log only, in queries and in the export.
    let a = w.contoso.actor();
    let evs = all_events(d, &a, subtree(tree.contoso.id)).unwrap();
    assert_eq!(tenants_of(&evs), BTreeSet::from([tree.contoso.id]));
    let mut jsonl = Vec::new();
    let n = d
        .audit()
        .export_jsonl(&a, &subtree(tree.contoso.id), &mut jsonl)
        .unwrap();
    assert_eq!(n, evs.len());
    let text = String::from_utf8(jsonl).unwrap();
    assert!(
        !text.contains(&tree.fabrikam.id.to_string()),
        "the export mentions fabrikam"
    );
    for t in [&tree.fabrikam, &tree.acme, &tree.root] {
        assert_eq!(
            d.audit().query(&a, &subtree(t.id)),
            Err(Error::NotFound),
            "{}",
            t.slug
        );
    }

    // An acme auditor scoped at contoso only: contoso, not acme or fabrikam.
    let auditor = as_user(&tree.user_with_role(&tree.acme, "auditor", "Auditor", &tree.contoso));
    let evs = all_events(d, &auditor, subtree(tree.contoso.id)).unwrap();
    assert_eq!(tenants_of(&evs), BTreeSet::from([tree.contoso.id]));
    for t in [&tree.acme, &tree.fabrikam] {
        assert_eq!(
            d.audit().query(&auditor, &subtree(t.id)),
            Err(Error::NotFound),
            "{}",
            t.slug
        );
    }

    // The MSP technician: acme and its customers, nothing of summit, globex or the root.
    let tech = as_user(&tree.user_with_role(&tree.acme, "tech", "Main Administrator", &tree.acme));
    let evs = all_events(d, &tech, subtree(tree.acme.id)).unwrap();
    assert_eq!(
        tenants_of(&evs),
        BTreeSet::from([tree.acme.id, tree.contoso.id, tree.fabrikam.id])
    );
    for t in [&tree.root, &tree.summit, &tree.globex] {
        assert_eq!(
            d.audit().query(&tech, &subtree(t.id)),
            Err(Error::NotFound),
            "{}",
            t.slug
        );
    }
    assert_hidden_like_missing(d, "acme tech", &tech, &globex.target());
}

// ---------------------------------------------------------------------------------------------
// MSP technicians.

/// contoso and fabrikam as their MSP's technician sees them, and what it may change there.
fn reaches_customer(
    d: &Directory,
    tech: &Actor,
    side: &Side,
    may_write_users: bool,
) -> Result<(), Error> {
    let t = side.tenant.id;
    // The technician lists exactly what the installation holds there.
    let listed = d.users().list(tech, t, &ListQuery::default())?;
    assert_eq!(listed, d.users().list(&sys(), t, &ListQuery::default())?);
    let names: BTreeSet<&str> = listed.items.iter().map(|u| u.username.as_str()).collect();
    assert!(
        names.is_superset(&BTreeSet::from(["admin", "alice", "bob"])),
        "{}: {names:?}",
        side.tenant.slug
    );
    assert_eq!(d.users().get(tech, t, side.alice.id)?.id, side.alice.id);
    assert_eq!(d.users().by_username(tech, t, "alice")?.id, side.alice.id);
    assert_eq!(d.users().by_email(tech, t, EMAIL)?.id, side.alice.id);
    assert_eq!(d.groups().members(tech, t, side.staff.id, false)?.len(), 2);
    let patch = UserPatch {
        display_name: Some(Some("Alice (by the MSP)".into())),
        ..UserPatch::default()
    };
    if may_write_users {
        let changed = d.users().update(tech, t, side.alice.id, patch)?;
        assert_eq!(changed.display_name.as_deref(), Some("Alice (by the MSP)"));
        let fresh = d
            .users()
            .create(tech, t, new_user(&format!("helper{}", names.len())))?;
        d.users().suspend(tech, t, fresh.id)?;
        assert_eq!(
            d.users().get(&sys(), t, fresh.id)?.status,
            Status::Suspended
        );
    } else {
        // It sees the user, so a refused change says so rather than hiding it.
        assert_eq!(
            d.users().update(tech, t, side.alice.id, patch),
            Err(Error::Forbidden)
        );
    }
    Ok(())
}

#[test]
fn an_msp_main_administrator_reaches_its_customers_and_nothing_beside_them() {
    let w = world().unwrap();
    let tree = &w.tree;
    let d = tree.dir();
    let tech_user = tree.user_with_role(&tree.acme, "tech", "Main Administrator", &tree.acme);
    let tech = as_user(&tech_user);
    let globex = Side::build(tree, &tree.globex).unwrap();
    let summit = Side::build(tree, &tree.summit).unwrap();
    let root = Side::build(tree, &tree.root).unwrap();

    for side in [&w.contoso, &w.fabrikam] {
        reaches_customer(d, &tech, side, true).unwrap();
        let t = side.tenant.id;
        assert_eq!(
            d.applications().by_name(&tech, t, APP).unwrap().id,
            side.app.id
        );
        assert_eq!(
            d.rbac().get_role(&tech, t, side.role.id).unwrap().name,
            ROLE
        );
        assert_eq!(
            d.rbac()
                .get_assignment(&tech, t, side.assignment.id)
                .unwrap(),
            side.assignment
        );
        d.groups()
            .add_member(&tech, t, side.wifi.id, Member::User(side.bob.id))
            .unwrap();
    }
    let t = d.tenants();
    assert_eq!(
        slugs(&t.list(&tech).unwrap()),
        ["acme", "contoso", "fabrikam"]
    );
    assert_eq!(
        slugs(&t.ancestors(&tech, tree.contoso.id).unwrap()),
        ["contoso", "acme"]
    );

    // Root-level data: not even Users:Read or the predefined roles at the root.
    assert_eq!(t.root(&tech), Err(Error::NotFound));
    assert_eq!(
        d.users().list(&tech, tree.root.id, &ListQuery::default()),
        Err(Error::NotFound)
    );
    assert_eq!(
        d.rbac()
            .role_by_name(&tech, tree.root.id, "Main Administrator"),
        Err(Error::NotFound)
    );
    assert_eq!(
        d.rbac()
            .assignments_of(&tech, user_subject(tree.root.id, root.admin.id)),
        Err(Error::NotFound)
    );

    // Every operation against globex, summit and the root answers as for missing objects.
    let before: Vec<Snapshot> = [&tree.root, &tree.summit, &tree.globex]
        .iter()
        .map(|t| snapshot(d, t).unwrap())
        .collect();
    for side in [&globex, &summit, &root] {
        assert_hidden_like_missing(d, "acme Main Administrator", &tech, &side.target());
    }
    let after: Vec<Snapshot> = [&tree.root, &tree.summit, &tree.globex]
        .iter()
        .map(|t| snapshot(d, t).unwrap())
        .collect();
    assert_eq!(after, before);
    // And the other way round: globex's admin reaches nothing of acme's customers.
    assert_hidden_like_missing(d, "globex admin", &globex.actor(), &w.fabrikam.target());
    assert_eq!(problems(d).unwrap(), Vec::<String>::new());
}

#[test]
fn narrower_msp_roles_stop_at_the_msp_too() {
    let w = world().unwrap();
    let tree = &w.tree;
    let d = tree.dir();
    let globex = Side::build(tree, &tree.globex).unwrap();
    let root = Side::build(tree, &tree.root).unwrap();
    for (role, may_write_users) in [("User Administrator", true), ("Helpdesk Operator", false)] {
        let name = role.split(' ').next().unwrap().to_lowercase();
        let tech = as_user(&tree.user_with_role(&tree.acme, &name, role, &tree.acme));
        for side in [&w.contoso, &w.fabrikam] {
            reaches_customer(d, &tech, side, may_write_users).unwrap();
        }
        assert_eq!(
            slugs(&d.tenants().list(&tech).unwrap()),
            ["acme", "contoso", "fabrikam"],
            "{role}"
        );
        for side in [&globex, &root] {
            assert_hidden_like_missing(d, role, &tech, &side.target());
        }
    }
    assert_eq!(problems(d).unwrap(), Vec::<String>::new());
}

#[test]
fn an_msp_technician_scoped_at_one_customer_reaches_only_that_one() {
    let w = world().unwrap();
    let tree = &w.tree;
    let d = tree.dir();
    let scoped = tree.user_with_role(&tree.acme, "scoped", "Main Administrator", &tree.contoso);
    let a = as_user(&scoped);
    reaches_customer(d, &a, &w.contoso, true).unwrap();
    // Its own tenant is visible to everyone; beyond it, only the scope.
    assert_eq!(slugs(&d.tenants().list(&a).unwrap()), ["acme", "contoso"]);
    assert_eq!(
        d.users().list(&a, tree.acme.id, &ListQuery::default()),
        Err(Error::NotFound)
    );
    let before = snapshot(d, &tree.fabrikam).unwrap();
    assert_hidden_like_missing(d, "acme tech scoped at contoso", &a, &w.fabrikam.target());
    assert_eq!(snapshot(d, &tree.fabrikam).unwrap(), before);
}

// ---------------------------------------------------------------------------------------------
// A user with no assignment at all.

#[test]
fn a_user_without_assignments_sees_only_itself() {
    let w = world().unwrap();
    let d = w.tree.dir();
    let c = w.contoso.tenant.id;
    let carol = d.users().create(&sys(), c, new_user("carol")).unwrap();
    let a = as_user(&carol);

    assert_eq!(d.users().get(&a, c, carol.id), Ok(carol.clone()));
    assert_eq!(d.users().by_username(&a, c, "Carol"), Ok(carol.clone()));
    assert_eq!(d.users().groups_of(&a, c, carol.id, true), Ok(vec![]));
    assert_eq!(
        d.rbac().effective_rights(&a, c, carol.id, c),
        Ok(RightSet::EMPTY)
    );
    assert_eq!(d.tenants().my_rights(&a, c), Ok(RightSet::EMPTY));
    assert_eq!(slugs(&d.tenants().list(&a).unwrap()), ["contoso"]);

    // Anyone else in its own tenant, and any listing, is as if missing.
    assert_eq!(
        d.users().list(&a, c, &ListQuery::default()),
        Err(Error::NotFound)
    );
    assert_eq!(
        d.users().get(&a, c, w.contoso.alice.id),
        Err(Error::NotFound)
    );
    assert_eq!(d.users().by_username(&a, c, "alice"), Err(Error::NotFound));
    assert_eq!(d.users().by_username(&a, c, "nobody"), Err(Error::NotFound));
    assert_eq!(d.users().by_email(&a, c, EMAIL), Err(Error::NotFound));
    assert_eq!(
        d.users().groups_of(&a, c, w.contoso.alice.id, true),
        Err(Error::NotFound)
    );
    assert_eq!(
        d.groups().list(&a, c, &ListQuery::default()),
        Err(Error::NotFound)
    );
    assert_eq!(d.applications().list(&a, c), Err(Error::NotFound));
    assert_eq!(d.rbac().list_roles(&a, c), Err(Error::NotFound));
    assert_eq!(
        d.rbac().effective_rights(&a, c, w.contoso.admin.id, c),
        Err(Error::NotFound)
    );
    assert_eq!(
        d.audit().query(&a, &AuditQuery::tenant(c)),
        Err(Error::NotFound)
    );
    // And of the sibling, nothing at all.
    assert_hidden_like_missing(d, "contoso user without rights", &a, &w.fabrikam.target());
}

// ---------------------------------------------------------------------------------------------
// The list above is every public operation: read from the service sources.

/// The service modules by the name used in `COVERED`, with their source.
const SOURCES: &[(&str, &str)] = &[
    ("tenants", include_str!("../../src/service/tenants.rs")),
    ("users", include_str!("../../src/service/users.rs")),
    ("groups", include_str!("../../src/service/groups.rs")),
    (
        "applications",
        include_str!("../../src/service/applications.rs"),
    ),
    ("rbac", include_str!("../../src/service/rbac.rs")),
    (
        "credentials",
        include_str!("../../src/service/credentials.rs"),
    ),
    ("policies", include_str!("../../src/service/policies.rs")),
    ("tokens", include_str!("../../src/service/tokens.rs")),
    ("audit", include_str!("../../src/service/audit.rs")),
    ("radius", include_str!("../../src/service/radius.rs")),
    ("saml", include_str!("../../src/service/saml.rs")),
];

const SERVICE_MOD: &str = include_str!("../../src/service/mod.rs");

/// Every `pub fn` declared at the start of a line of `src` (so not in a comment, and not
/// `pub(crate)`), with whether its parameters start with `&self, <name>: &Actor`. Signatures may
/// span several lines.
fn public_fns(src: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some((before, after)) = rest.split_once("pub fn ") {
        rest = after;
        let line_start = before.rsplit('\n').next().unwrap_or("");
        if !line_start.chars().all(char::is_whitespace) {
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let params: String = after
            .split_once('(')
            .map_or("", |(_, p)| p)
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(64)
            .collect();
        let takes_actor = params
            .strip_prefix("&self,")
            .and_then(|p| p.split_once(':'))
            .is_some_and(|(arg, ty)| {
                !arg.is_empty()
                    && arg.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && (ty.starts_with("&Actor,") || ty.starts_with("&Actor)"))
            });
        out.push((name, takes_actor));
    }
    out
}

#[test]
fn the_source_reader_handles_one_and_several_line_signatures() {
    let src = "impl X {\n    /// Calls pub fn hidden(&self, actor: &Actor) in a comment.\n    \
               pub fn one(&self, actor: &Actor, t: TenantId) -> R {}\n    \
               pub(crate) fn inner(&self, actor: &Actor) {}\n    \
               pub fn many(\n        &self,\n        actor: &Actor,\n        t: TenantId,\n    ) -> R {}\n    \
               pub fn bare(&self, actor: &Actor) -> R {}\n    \
               pub fn generic<W: Write>(&self, who: &Actor, w: W) {}\n    \
               pub fn no_actor(&self, t: TenantId) {}\n    \
               pub fn actorish(&self, actor: &ActorRef) {}\n}\n";
    let found = public_fns(src);
    let expect = [
        ("one", true),
        ("many", true),
        ("bare", true),
        ("generic", true),
        ("no_actor", false),
        ("actorish", false),
    ];
    assert_eq!(found, expect.map(|(n, a)| (n.to_string(), a)));
}

#[test]
fn every_public_operation_is_covered() {
    // The six files are all the service modules there are.
    let modules: BTreeSet<&str> = SERVICE_MOD
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    let read: BTreeSet<&str> = SOURCES.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        modules, read,
        "a service module was added or removed: read it here too"
    );

    let mut ops = BTreeSet::new();
    for (module, src) in SOURCES {
        let fns = public_fns(src);
        // Every public function of a service is an operation: it takes the caller's identity.
        let without: Vec<&str> = fns
            .iter()
            .filter(|(_, a)| !a)
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(
            without.is_empty(),
            "{module}: public functions without `&self, actor: &Actor`: {without:?}"
        );
        ops.extend(fns.into_iter().map(|(n, _)| format!("{module}::{n}")));
    }
    let covered: BTreeSet<String> = COVERED.iter().map(|s| s.to_string()).collect();
    let missing: Vec<&String> = ops.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "operations the isolation battery does not exercise: {missing:?}"
    );
    let stale: Vec<&String> = covered.difference(&ops).collect();
    assert!(
        stale.is_empty(),
        "COVERED names operations that no longer exist: {stale:?}"
    );
}
