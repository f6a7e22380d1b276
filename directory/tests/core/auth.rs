//! The one authentication path on a real store: passwords and their policy (length, common
//! passwords, names, history), enforced inheritance, lockout and auto-unlock surviving a
//! restart, expiry, TOTP (±1 step, single use even after a restart, appended or separate),
//! MFA per protocol and group, application binding, the verified-credential cache and its
//! invalidation, equal work for unknown users, one audit event per outcome, and a flood.

use crate::fixtures::{as_user, sys, Tree};
use std::collections::BTreeSet;
use tessera_directory::clock::Clock;
use tessera_directory::model::{
    AuditKind, AuditQuery, Member, NewUser, TenantPolicy, TotpStatus, User,
};
use tessera_directory::policy::password::PasswordProblem;
use tessera_directory::policy::settings::{AtLeast, LockThreshold, MaxAge, Setting};
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::{new_group, new_user, totp_code};
use tessera_directory::{AuthRequest, Directory, Error, MfaNeed, Outcome, TenantRef};

const PW: &str = "Correct-Horse-Battery-42";

fn login<'a>(u: &'a User, secret: &'a str, protocol: Protocol) -> AuthRequest<'a> {
    AuthRequest {
        tenant: TenantRef::Id(u.tenant),
        username: &u.username,
        secret,
        second_factor: None,
        protocol,
        application: None,
        source: Some("127.0.0.1".parse().unwrap()),
    }
}

fn with_password(tree: &Tree, tenant: &tessera_directory::model::Tenant, name: &str) -> User {
    let d = tree.dir();
    let u = d.users().create(&sys(), tenant.id, new_user(name)).unwrap();
    d.credentials()
        .set_password(&sys(), tenant.id, u.id, PW, false)
        .unwrap();
    u
}

fn success(o: Outcome) -> Box<tessera_directory::Authenticated> {
    match o {
        Outcome::Success(a) => a,
        other => panic!("expected success, got {other:?}"),
    }
}

fn verifications(d: &Directory) -> u64 {
    d.hashing_counts().1
}

fn set_policy(
    tree: &Tree,
    tenant: &tessera_directory::model::Tenant,
    f: impl FnOnce(&mut TenantPolicy),
) {
    let mut p = tree.dir().policies().get(&sys(), tenant.id).unwrap().local;
    f(&mut p);
    tree.dir().policies().set(&sys(), tenant.id, p).unwrap();
}

#[test]
fn a_password_login_gives_the_user_groups_and_an_actor() {
    let tree = Tree::new();
    let d = tree.dir();
    let alice = with_password(&tree, &tree.contoso, "alice");
    let staff = d
        .groups()
        .create(&sys(), tree.contoso.id, new_group("staff"))
        .unwrap();
    d.groups()
        .add_member(&sys(), tree.contoso.id, staff.id, Member::User(alice.id))
        .unwrap();
    let ok = success(d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap());
    assert_eq!(ok.user.id, alice.id);
    assert_eq!(ok.groups, vec![staff.id]);
    assert!(!ok.mfa);
    // The actor carries alice's (empty) authority: she reads herself, nothing else.
    assert_eq!(
        d.users().get(&ok.actor, alice.tenant, alice.id).unwrap().id,
        alice.id
    );
    // By slug, and with the username in another case.
    let by_slug = AuthRequest {
        tenant: TenantRef::Slug("contoso"),
        username: "ALICE",
        ..login(&alice, PW, Protocol::Ldap)
    };
    success(d.authenticate(&by_slug).unwrap());
    assert_eq!(
        d.authenticate(&login(&alice, "wrong", Protocol::Ldap))
            .unwrap(),
        Outcome::BadCredentials
    );
    // The same username in a sibling tenant is another user with another password.
    let other = d
        .users()
        .create(&sys(), tree.fabrikam.id, new_user("alice"))
        .unwrap();
    assert_eq!(
        d.authenticate(&login(&other, PW, Protocol::Ldap)).unwrap(),
        Outcome::BadCredentials
    );
}

#[test]
fn password_policy_applies_to_every_new_password() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let u = d
        .users()
        .create(
            &sys(),
            c,
            NewUser {
                display_name: Some("Maria Gonzales".into()),
                ..new_user("mgonzales")
            },
        )
        .unwrap();
    let problems = |pw: &str| match d.credentials().set_password(&sys(), c, u.id, pw, false) {
        Err(Error::WeakPassword(p)) => p,
        other => panic!("expected a refusal of {pw:?}, got {other:?}"),
    };
    assert!(problems("short").contains(&PasswordProblem::TooShort { min: 12 }));
    assert!(problems("1qaz2wsx3edc").contains(&PasswordProblem::Common));
    assert!(problems("mgonzales-2026!").contains(&PasswordProblem::ContainsUserName));
    assert!(problems("Gonzales-is-my-name").contains(&PasswordProblem::ContainsUserName));
    d.credentials()
        .set_password(&sys(), c, u.id, PW, false)
        .unwrap();
    // History: the current one and the last five are refused.
    d.credentials()
        .set_password(&sys(), c, u.id, "Another-Long-Secret-7", false)
        .unwrap();
    assert!(problems(PW).contains(&PasswordProblem::Reused));
    assert!(problems("Another-Long-Secret-7").contains(&PasswordProblem::Reused));
}

#[test]
fn an_enforced_minimum_binds_every_descendant() {
    let tree = Tree::new();
    let d = tree.dir();
    set_policy(&tree, &tree.acme, |p| {
        p.settings.password.min_length = Setting::enforce(AtLeast(16))
    });
    // contoso may raise it, not lower it.
    let mut weaker = TenantPolicy::default();
    weaker.settings.password.min_length = Setting::set(AtLeast(8));
    assert!(matches!(
        d.policies().set(&sys(), tree.contoso.id, weaker),
        Err(Error::Invalid {
            field: "policy",
            ..
        })
    ));
    let mut stricter = TenantPolicy::default();
    stricter.settings.password.min_length = Setting::set(AtLeast(20));
    let view = d.policies().set(&sys(), tree.contoso.id, stricter).unwrap();
    assert_eq!(view.effective.password.min_length, 20);
    assert!(view.effective.enforced.contains("password.min_length"));
    // fabrikam inherits 16; a 12-character password no longer passes there.
    let u = d
        .users()
        .create(&sys(), tree.fabrikam.id, new_user("u"))
        .unwrap();
    match d
        .credentials()
        .set_password(&sys(), tree.fabrikam.id, u.id, "Twelve-chars", false)
    {
        Err(Error::WeakPassword(p)) => assert!(p.contains(&PasswordProblem::TooShort { min: 16 })),
        other => panic!("{other:?}"),
    }
    // globex, outside acme, keeps the default.
    assert_eq!(
        d.policies()
            .get(&sys(), tree.globex.id)
            .unwrap()
            .effective
            .password
            .min_length,
        12
    );
}

#[test]
fn lockout_auto_unlock_admin_unlock_and_restart() {
    let mut tree = Tree::new();
    let alice = with_password(&tree, &tree.contoso, "alice");
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.lockout.threshold = Setting::set(LockThreshold(3));
    });
    for _ in 0..3 {
        assert_eq!(
            tree.dir()
                .authenticate(&login(&alice, "nope", Protocol::Radius))
                .unwrap(),
            Outcome::BadCredentials
        );
    }
    let locked = tree
        .dir()
        .authenticate(&login(&alice, PW, Protocol::Radius))
        .unwrap();
    assert!(matches!(locked, Outcome::Locked { .. }), "{locked:?}");
    // The lock is on disk: a restart does not lift it.
    tree = tree.restart();
    assert!(matches!(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
        Outcome::Locked { .. }
    ));
    let status = tree
        .dir()
        .credentials()
        .status(&sys(), alice.tenant, alice.id)
        .unwrap();
    assert!(status.locked_until.is_some());
    // It lifts by itself after the lock duration (15 minutes by default).
    tree.td.clock.advance_secs(901);
    success(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
    );
    // And an administrator can lift it at once.
    for _ in 0..3 {
        tree.dir()
            .authenticate(&login(&alice, "nope", Protocol::Radius))
            .unwrap();
    }
    assert!(matches!(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
        Outcome::Locked { .. }
    ));
    let helpdesk = tree.user_with_role(
        &tree.contoso,
        "helpdesk",
        "Helpdesk Operator",
        &tree.contoso,
    );
    tree.dir()
        .credentials()
        .unlock(&as_user(&helpdesk), alice.tenant, alice.id)
        .unwrap();
    success(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
    );
    // Failures spread wider than the window never lock.
    for _ in 0..6 {
        tree.dir()
            .authenticate(&login(&alice, "nope", Protocol::Radius))
            .unwrap();
        tree.td.clock.advance_secs(600);
    }
    success(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
    );
}

#[test]
fn expiry_and_forced_change() {
    let tree = Tree::new();
    let d = tree.dir();
    let alice = with_password(&tree, &tree.contoso, "alice");
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.password.max_age = Setting::set(MaxAge::Days(30))
    });
    success(d.authenticate(&login(&alice, PW, Protocol::Saml)).unwrap());
    tree.td.clock.advance_secs(31 * 86_400);
    assert_eq!(
        d.authenticate(&login(&alice, PW, Protocol::Saml)).unwrap(),
        Outcome::Expired { user: alice.id }
    );
    // A wrong password still says wrong, not expired.
    assert_eq!(
        d.authenticate(&login(&alice, "nope", Protocol::Saml))
            .unwrap(),
        Outcome::BadCredentials
    );
    let me = tessera_directory::Actor::user(alice.tenant, alice.id, None, Protocol::Saml);
    assert_eq!(
        d.credentials()
            .change_password(&me, alice.tenant, alice.id, "nope", "Brand-New-Secret-99"),
        Err(Error::WrongCredentials)
    );
    d.credentials()
        .change_password(&me, alice.tenant, alice.id, PW, "Brand-New-Secret-99")
        .unwrap();
    success(
        d.authenticate(&login(&alice, "Brand-New-Secret-99", Protocol::Saml))
            .unwrap(),
    );
    // An administrator's reset with must_change forces a change at the next login.
    d.credentials()
        .set_password(&sys(), alice.tenant, alice.id, "Temporary-Secret-11", true)
        .unwrap();
    assert_eq!(
        d.authenticate(&login(&alice, "Temporary-Secret-11", Protocol::Saml))
            .unwrap(),
        Outcome::Expired { user: alice.id }
    );
    // Nobody changes someone else's password through the self-service path.
    let bob = with_password(&tree, &tree.contoso, "bob");
    assert_eq!(
        d.credentials().change_password(
            &as_user(&bob),
            alice.tenant,
            alice.id,
            "x",
            "Brand-New-Secret-77"
        ),
        Err(Error::NotFound)
    );
}

fn enrol(tree: &Tree, u: &User) -> String {
    let d = tree.dir();
    let e = d
        .credentials()
        .enroll_totp(&as_user(u), u.tenant, u.id)
        .unwrap();
    assert!(e.qr_png.starts_with(b"\x89PNG"));
    assert_eq!(
        d.credentials().status(&sys(), u.tenant, u.id).unwrap().totp,
        TotpStatus::Pending
    );
    assert_eq!(
        d.credentials()
            .confirm_totp(&as_user(u), u.tenant, u.id, "000000"),
        Err(Error::WrongCredentials)
    );
    // Confirm with the code of the previous step, so the current one is still unused.
    let prev = totp_code(&e.url, tree.td.clock.now().plus_secs(-30));
    d.credentials()
        .confirm_totp(&as_user(u), u.tenant, u.id, &prev)
        .unwrap();
    assert_eq!(
        d.credentials().status(&sys(), u.tenant, u.id).unwrap().totp,
        TotpStatus::Active
    );
    e.url
}

#[test]
fn totp_required_per_protocol_appended_or_separate_and_single_use() {
    let mut tree = Tree::new();
    let alice = with_password(&tree, &tree.contoso, "alice");
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Radius, Protocol::Admin]))
    });
    // Required but not enrolled: the password is checked first, then enrolment is asked for.
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, "nope", Protocol::Radius))
            .unwrap(),
        Outcome::BadCredentials
    );
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
        Outcome::MfaRequired(MfaNeed::Enrolment)
    );
    let url = enrol(&tree, &alice);
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
        Outcome::MfaRequired(MfaNeed::Code)
    );
    // LDAP is not in the policy: the password alone is enough (and the secret is never split).
    success(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Ldap))
            .unwrap(),
    );
    let now = tree.td.clock.now();
    let code = totp_code(&url, now);
    // Appended after the separator.
    let appended = format!("{PW},{code}");
    let ok = success(
        tree.dir()
            .authenticate(&login(&alice, &appended, Protocol::Radius))
            .unwrap(),
    );
    assert!(ok.mfa);
    // Codes are appended only where the protocol has no field of its own: on SAML and the admin
    // API the whole secret is the password, so it is wrong.
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Radius, Protocol::Saml]))
    });
    let next_code = totp_code(&url, now.plus_secs(30));
    let on_saml = format!("{PW},{next_code}");
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, &on_saml, Protocol::Saml))
            .unwrap(),
        Outcome::BadCredentials
    );
    // The same code again is refused, and after a restart too.
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, &appended, Protocol::Radius))
            .unwrap(),
        Outcome::MfaFailed
    );
    tree = tree.restart();
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, &appended, Protocol::Radius))
            .unwrap(),
        Outcome::MfaFailed
    );
    // The next step's code (+1) is accepted, given separately.
    let next = totp_code(&url, now.plus_secs(30));
    let separate = AuthRequest {
        second_factor: Some(&next),
        ..login(&alice, PW, Protocol::Radius)
    };
    success(tree.dir().authenticate(&separate).unwrap());
    // Two steps ahead is too far.
    let far = totp_code(&url, now.plus_secs(90));
    let too_far = AuthRequest {
        second_factor: Some(&far),
        ..login(&alice, PW, Protocol::Radius)
    };
    assert_eq!(
        tree.dir().authenticate(&too_far).unwrap(),
        Outcome::MfaFailed
    );
    // A wrong password with a right code is a wrong password.
    tree.td.clock.advance_secs(120);
    let fresh = totp_code(&url, tree.td.clock.now());
    let wrong_pw = AuthRequest {
        second_factor: Some(&fresh),
        ..login(&alice, "nope", Protocol::Radius)
    };
    assert_eq!(
        tree.dir().authenticate(&wrong_pw).unwrap(),
        Outcome::BadCredentials
    );
    // An administrator resets TOTP: enrolment is asked for again.
    tree.dir()
        .credentials()
        .reset_totp(&sys(), alice.tenant, alice.id)
        .unwrap();
    assert_eq!(
        tree.dir()
            .authenticate(&login(&alice, PW, Protocol::Radius))
            .unwrap(),
        Outcome::MfaRequired(MfaNeed::Enrolment)
    );
}

#[test]
fn mfa_by_group_with_exemptions_that_yield_to_enforcement() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let alice = with_password(&tree, &tree.contoso, "alice");
    let bob = with_password(&tree, &tree.contoso, "bob");
    let admins = d.groups().create(&sys(), c, new_group("admins")).unwrap();
    let kiosks = d.groups().create(&sys(), c, new_group("kiosks")).unwrap();
    d.groups()
        .add_member(&sys(), c, admins.id, Member::User(alice.id))
        .unwrap();
    d.groups()
        .add_member(&sys(), c, kiosks.id, Member::User(bob.id))
        .unwrap();
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Saml]));
        p.mfa_required_groups = BTreeSet::from([admins.id]);
    });
    assert_eq!(
        d.authenticate(&login(&alice, PW, Protocol::Saml)).unwrap(),
        Outcome::MfaRequired(MfaNeed::Enrolment)
    );
    success(d.authenticate(&login(&bob, PW, Protocol::Saml)).unwrap());
    // Everyone but the kiosks.
    set_policy(&tree, &tree.contoso, |p| {
        p.mfa_required_groups.clear();
        p.mfa_exempt_groups = BTreeSet::from([kiosks.id]);
    });
    success(d.authenticate(&login(&bob, PW, Protocol::Saml)).unwrap());
    assert_eq!(
        d.authenticate(&login(&alice, PW, Protocol::Saml)).unwrap(),
        Outcome::MfaRequired(MfaNeed::Enrolment)
    );
    // When acme enforces MFA on SAML, contoso's exemption no longer applies there.
    set_policy(&tree, &tree.acme, |p| {
        p.settings.mfa.protocols = Setting::enforce(BTreeSet::from([Protocol::Saml]))
    });
    assert_eq!(
        d.authenticate(&login(&bob, PW, Protocol::Saml)).unwrap(),
        Outcome::MfaRequired(MfaNeed::Enrolment)
    );
}

#[test]
fn applications_admit_only_members_of_their_groups() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let alice = with_password(&tree, &tree.contoso, "alice");
    let bob = with_password(&tree, &tree.contoso, "bob");
    let ldap = d.applications().ldap_service(&sys(), c).unwrap();
    let via_ldap = |u: &User| {
        d.authenticate(&AuthRequest {
            application: Some(ldap.id),
            ..login(u, PW, Protocol::Ldap)
        })
        .unwrap()
    };
    assert_eq!(via_ldap(&alice), Outcome::NotAllowed, "nobody by default");
    let readers = d
        .groups()
        .create(&sys(), c, new_group("ldap-users"))
        .unwrap();
    d.groups()
        .add_member(&sys(), c, readers.id, Member::User(alice.id))
        .unwrap();
    d.applications()
        .bind_group(&sys(), c, ldap.id, readers.id)
        .unwrap();
    success(via_ldap(&alice));
    assert_eq!(via_ldap(&bob), Outcome::NotAllowed);
    // An application of another tenant is not this tenant's.
    let foreign = d
        .applications()
        .ldap_service(&sys(), tree.fabrikam.id)
        .unwrap();
    let r = AuthRequest {
        application: Some(foreign.id),
        ..login(&alice, PW, Protocol::Ldap)
    };
    assert_eq!(d.authenticate(&r).unwrap(), Outcome::NotAllowed);
}

#[test]
fn suspension_of_user_or_tenant_stops_authentication() {
    let tree = Tree::new();
    let d = tree.dir();
    let alice = with_password(&tree, &tree.contoso, "alice");
    d.users().suspend(&sys(), alice.tenant, alice.id).unwrap();
    assert_eq!(
        d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap(),
        Outcome::Suspended
    );
    d.users().resume(&sys(), alice.tenant, alice.id).unwrap();
    success(d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap());
    d.tenants().suspend(&sys(), tree.acme.id).unwrap();
    assert_eq!(
        d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap(),
        Outcome::Suspended
    );
    d.tenants().resume(&sys(), tree.acme.id).unwrap();
    success(d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap());
}

#[test]
fn unknown_users_cost_the_same_argon2_work_as_wrong_passwords() {
    let tree = Tree::new();
    let d = tree.dir();
    let alice = with_password(&tree, &tree.contoso, "alice");
    let suspended = with_password(&tree, &tree.contoso, "carol");
    d.users()
        .suspend(&sys(), suspended.tenant, suspended.id)
        .unwrap();
    let ghost = User {
        username: "nobody-here".into(),
        ..alice.clone()
    };
    let nopw = d
        .users()
        .create(&sys(), tree.contoso.id, new_user("nopw"))
        .unwrap();
    // Count the verifications each kind of failure costs, many times over: always exactly one.
    for (name, u, pw) in [
        ("wrong password", &alice, "nope"),
        ("unknown user", &ghost, "nope"),
        ("suspended", &suspended, PW),
        ("no password", &nopw, "nope"),
    ] {
        for _ in 0..5 {
            let before = verifications(d);
            let o = d.authenticate(&login(u, pw, Protocol::Ldap)).unwrap();
            assert_ne!(o, Outcome::Busy);
            assert_eq!(verifications(d) - before, 1, "{name}: {o:?}");
        }
    }
}

#[test]
fn the_verified_credential_cache_and_what_invalidates_it() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let alice = with_password(&tree, &tree.contoso, "alice");
    let cost = |d: &Directory| {
        let before = verifications(d);
        let o = d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap();
        assert!(matches!(o, Outcome::Success(_)), "{o:?}");
        verifications(d) - before
    };
    assert_eq!(cost(d), 1, "first login verifies");
    assert_eq!(cost(d), 0, "a repeat within the TTL does not");
    // A wrong password is never answered from the cache, and forgets the entry.
    let before = verifications(d);
    assert_eq!(
        d.authenticate(&login(&alice, "nope", Protocol::Ldap))
            .unwrap(),
        Outcome::BadCredentials
    );
    assert_eq!(verifications(d) - before, 1);
    assert_eq!(cost(d), 1);
    assert_eq!(cost(d), 0);
    // TTL (60 s by default).
    tree.td.clock.advance_secs(61);
    assert_eq!(cost(d), 1);
    // Password change.
    d.credentials()
        .set_password(&sys(), c, alice.id, "Another-Long-Secret-7", false)
        .unwrap();
    d.credentials()
        .set_password(&sys(), c, alice.id, PW, false)
        .unwrap_err(); // history refuses the old one
    let before = verifications(d);
    assert_eq!(
        d.authenticate(&login(&alice, PW, Protocol::Ldap)).unwrap(),
        Outcome::BadCredentials,
        "the old password no longer works"
    );
    assert_eq!(verifications(d) - before, 1);
    let fresh = |d: &Directory, pw: &str| {
        let before = verifications(d);
        assert!(matches!(
            d.authenticate(&login(&alice, pw, Protocol::Ldap)).unwrap(),
            Outcome::Success(_)
        ));
        verifications(d) - before
    };
    let pw2 = "Another-Long-Secret-7";
    assert_eq!(fresh(d, pw2), 1);
    assert_eq!(fresh(d, pw2), 0);
    // Lock (and unlock): a locked account is refused before the cache is consulted.
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.lockout.threshold = Setting::set(LockThreshold(2))
    });
    assert_eq!(fresh(d, pw2), 1, "the policy change invalidated the cache");
    assert_eq!(fresh(d, pw2), 0);
    for _ in 0..2 {
        d.authenticate(&login(&alice, "nope", Protocol::Ldap))
            .unwrap();
    }
    assert!(matches!(
        d.authenticate(&login(&alice, pw2, Protocol::Ldap)).unwrap(),
        Outcome::Locked { .. }
    ));
    d.credentials().unlock(&sys(), c, alice.id).unwrap();
    assert_eq!(fresh(d, pw2), 1);
    // Suspension.
    d.users().suspend(&sys(), c, alice.id).unwrap();
    assert_eq!(
        d.authenticate(&login(&alice, pw2, Protocol::Ldap)).unwrap(),
        Outcome::Suspended
    );
    d.users().resume(&sys(), c, alice.id).unwrap();
    assert_eq!(fresh(d, pw2), 1, "suspension forgot the verification");
    assert_eq!(fresh(d, pw2), 0);
    d.tenants().suspend(&sys(), tree.acme.id).unwrap();
    assert_eq!(
        d.authenticate(&login(&alice, pw2, Protocol::Ldap)).unwrap(),
        Outcome::Suspended
    );
    d.tenants().resume(&sys(), tree.acme.id).unwrap();
    assert_eq!(fresh(d, pw2), 1, "so did the suspension of a tenant above");
    // MFA change: enrolling changes the credentials.
    d.credentials().enroll_totp(&sys(), c, alice.id).unwrap();
    assert_eq!(fresh(d, pw2), 1);
    // MFA required: the cache is never used.
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Ldap]));
        p.settings.lockout.threshold = Setting::inherit();
    });
    d.credentials().reset_totp(&sys(), c, alice.id).unwrap();
    for _ in 0..2 {
        let before = verifications(d);
        assert_eq!(
            d.authenticate(&login(&alice, pw2, Protocol::Ldap)).unwrap(),
            Outcome::MfaRequired(MfaNeed::Enrolment)
        );
        assert_eq!(verifications(d) - before, 1);
    }
    // A tenant can switch the cache off.
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.mfa.protocols = Setting::inherit();
        p.settings.cache.enabled = Setting::set(tessera_directory::policy::settings::AtMost(false));
    });
    assert_eq!(fresh(d, pw2), 1);
    assert_eq!(fresh(d, pw2), 1);
}

#[test]
fn every_outcome_is_audited_once_with_protocol_application_source_and_reason() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let alice = with_password(&tree, &tree.contoso, "alice");
    let locked = with_password(&tree, &tree.contoso, "locked");
    let expired = with_password(&tree, &tree.contoso, "expired");
    let suspended = with_password(&tree, &tree.contoso, "suspended");
    let mfa = with_password(&tree, &tree.contoso, "mfa");
    d.users().suspend(&sys(), c, suspended.id).unwrap();
    d.credentials()
        .set_password(&sys(), c, expired.id, "Temporary-Secret-11", true)
        .unwrap();
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.lockout.threshold = Setting::set(LockThreshold(1));
        p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Radius]));
    });
    d.authenticate(&login(&locked, "nope", Protocol::Ldap))
        .unwrap(); // locks at once
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.lockout.threshold = Setting::inherit()
    });
    let url = enrol(&tree, &mfa);
    let code = totp_code(&url, tree.td.clock.now());
    let ldap = d.applications().ldap_service(&sys(), c).unwrap();
    let ghost = User {
        username: "ghost".into(),
        ..alice.clone()
    };
    d.flush_audit();
    let auth_events = |d: &Directory| {
        d.audit()
            .query(
                &sys(),
                &AuditQuery {
                    kind: Some(AuditKind::Authentication),
                    ..AuditQuery::tenant(c)
                },
            )
            .unwrap()
            .events
    };
    let start = auth_events(d).len();
    let with_code = format!("{PW},{code}");
    let attempts: Vec<(AuthRequest<'_>, &str)> = vec![
        (login(&alice, PW, Protocol::Ldap), "success"),
        (
            login(&alice, "nope", Protocol::Radius),
            "bad_credentials: wrong password",
        ),
        (
            login(&ghost, "nope", Protocol::Saml),
            "bad_credentials: unknown user",
        ),
        (
            AuthRequest {
                application: Some(ldap.id),
                ..login(&alice, PW, Protocol::Ldap)
            },
            "not_allowed",
        ),
        (login(&locked, PW, Protocol::Ldap), "locked: account locked"),
        (
            login(&expired, "Temporary-Secret-11", Protocol::Ldap),
            "expired: password must be changed",
        ),
        (
            login(&suspended, PW, Protocol::Ldap),
            "suspended: user suspended",
        ),
        (
            login(&mfa, PW, Protocol::Radius),
            "mfa_required: TOTP code required",
        ),
        (
            AuthRequest {
                second_factor: Some("000000"),
                ..login(&mfa, PW, Protocol::Radius)
            },
            "mfa_failed",
        ),
        (login(&mfa, &with_code, Protocol::Radius), "success"),
    ];
    for (r, _) in &attempts {
        d.authenticate(r).unwrap();
    }
    d.flush_audit();
    let events = auth_events(d);
    assert_eq!(
        events.len() - start,
        attempts.len(),
        "exactly one event per attempt"
    );
    for (ev, (r, reason)) in events[start..].iter().zip(&attempts) {
        assert_eq!(ev.protocol, r.protocol);
        assert_eq!(ev.source, r.source);
        assert_eq!(ev.action, format!("auth.{}", r.protocol));
        assert_eq!(ev.target, format!("user:{}", r.username));
        assert!(
            ev.reason.as_deref().unwrap().starts_with(reason),
            "{:?} vs {reason}",
            ev.reason
        );
        assert_eq!(
            ev.outcome,
            if *reason == "success" {
                "success"
            } else {
                "failure"
            }
        );
    }
    assert_eq!(events[start + 3].application.as_deref(), Some("LDAP"));
    assert!(
        !serde_json::to_string(&events).unwrap().contains(PW),
        "no secret in the log"
    );
}

#[test]
fn a_flood_on_one_tenant_leaves_another_authenticating() {
    let tree = Tree::new();
    let d = tree.dir();
    let victim = with_password(&tree, &tree.contoso, "alice");
    let neighbour = with_password(&tree, &tree.fabrikam, "bob");
    set_policy(&tree, &tree.contoso, |p| {
        p.settings.lockout.threshold = Setting::set(LockThreshold(0))
    });
    let results = std::thread::scope(|s| {
        let flood: Vec<_> = (0..500)
            .map(|i| {
                let v = victim.clone();
                s.spawn(move || {
                    d.authenticate(&login(&v, &format!("guess-{i}"), Protocol::Radius))
                        .unwrap()
                })
            })
            .collect();
        let neighbour_results: Vec<Outcome> = (0..5)
            .map(|_| {
                d.authenticate(&login(&neighbour, PW, Protocol::Radius))
                    .unwrap()
            })
            .collect();
        let flood_results: Vec<Outcome> = flood.into_iter().map(|h| h.join().unwrap()).collect();
        (neighbour_results, flood_results)
    });
    let (neighbour_results, flood_results) = results;
    for o in neighbour_results {
        assert!(matches!(o, Outcome::Success(_)), "the neighbour got {o:?}");
    }
    let busy = flood_results
        .iter()
        .filter(|o| **o == Outcome::Busy)
        .count();
    let refused = flood_results
        .iter()
        .filter(|o| **o == Outcome::BadCredentials)
        .count();
    assert_eq!(busy + refused, 500, "every flooding caller got an answer");
    assert!(
        busy > 0,
        "beyond the queue, callers are told the service is busy"
    );
    assert!(refused > 0);
    // Busy or not, every attempt is in the log exactly once.
    d.flush_audit();
    let count = |t: tessera_directory::model::TenantId| {
        let mut q = AuditQuery {
            kind: Some(AuditKind::Authentication),
            limit: Some(1000),
            ..AuditQuery::tenant(t)
        };
        let (mut n, mut busy_logged) = (0, 0);
        loop {
            let page = d.audit().query(&sys(), &q).unwrap();
            n += page.events.len();
            busy_logged += page
                .events
                .iter()
                .filter(|e| e.reason.as_deref().is_some_and(|r| r.starts_with("busy")))
                .count();
            match page.next {
                Some(c) => q.after = Some(c),
                None => return (n, busy_logged),
            }
        }
    };
    assert_eq!(count(tree.contoso.id), (500, busy));
    assert_eq!(count(tree.fabrikam.id), (5, 0));
}
