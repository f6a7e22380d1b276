//! The admin login and API tokens: sessions from the one authentication path, the enrolment
//! and password-change steps, personal access tokens narrowed to some rights, expiry,
//! revocation, and tokens of users who can no longer act.

use crate::fixtures::{sys, Tree};
use std::collections::BTreeSet;
use tessera_directory::clock::Clock;
use tessera_directory::model::{NewToken, TenantPolicy, TokenKind, User};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::{Area, Protocol, Right, RightSet};
use tessera_directory::testkit::{new_user, totp_code};
use tessera_directory::{AuthRequest, Error, Login, Outcome, TenantRef};

const PW: &str = "Correct-Horse-Battery-42";
const TTL: u32 = 3600;

fn admin_login<'a>(u: &'a User, secret: &'a str) -> AuthRequest<'a> {
    AuthRequest {
        tenant: TenantRef::Id(u.tenant),
        username: &u.username,
        secret,
        second_factor: None,
        protocol: Protocol::Admin,
        application: None,
        source: None,
    }
}

/// An administrator of contoso; admin MFA is off in contoso unless a test turns it on.
fn admin(tree: &Tree, mfa: bool) -> User {
    let d = tree.dir();
    let u = tree.user_with_role(&tree.contoso, "admin", "User Administrator", &tree.contoso);
    d.credentials()
        .set_password(&sys(), u.tenant, u.id, PW, false)
        .unwrap();
    let mut p = TenantPolicy::default();
    p.settings.mfa.protocols = Setting::set(if mfa {
        BTreeSet::from([Protocol::Admin])
    } else {
        BTreeSet::new()
    });
    d.policies().set(&sys(), tree.contoso.id, p).unwrap();
    u
}

fn session(l: Login) -> tessera_directory::model::IssuedToken {
    match l {
        Login::Session(t) => t,
        other => panic!("expected a session, got {other:?}"),
    }
}

#[test]
fn a_login_opens_a_session_that_speaks_for_the_user_until_it_expires() {
    let tree = Tree::new();
    let d = tree.dir();
    let admin = admin(&tree, false);
    let s = session(d.login(&admin_login(&admin, PW), TTL).unwrap());
    assert_eq!(s.token.kind, TokenKind::Session);
    assert!(s.secret.expose().starts_with("tsr_"));
    assert!(
        !format!("{s:?}").contains(s.secret.expose()),
        "the secret never prints"
    );
    let actor = d.resolve_token(s.secret.expose(), None).unwrap();
    d.users()
        .create(&actor, tree.contoso.id, new_user("made-by-token"))
        .unwrap();
    assert_eq!(
        d.users().create(&actor, tree.fabrikam.id, new_user("x")),
        Err(Error::NotFound)
    );
    // Logins are for the admin surfaces only, and a wrong password opens nothing.
    let ldap = AuthRequest {
        protocol: Protocol::Ldap,
        ..admin_login(&admin, PW)
    };
    assert!(matches!(d.login(&ldap, TTL), Err(Error::Invalid { .. })));
    assert_eq!(
        d.login(&admin_login(&admin, "nope"), TTL).unwrap(),
        Login::Refused(Outcome::BadCredentials)
    );
    assert_eq!(
        d.resolve_token("tsr_forged", None),
        Err(Error::Unauthenticated)
    );
    assert_eq!(d.resolve_token("", None), Err(Error::Unauthenticated));
    tree.td.clock.advance_secs(i64::from(TTL) + 1);
    assert_eq!(
        d.resolve_token(s.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
}

#[test]
fn first_login_enrols_totp_then_codes_are_required() {
    let tree = Tree::new();
    let d = tree.dir();
    let admin = admin(&tree, true);
    let (step, enrolment) = match d.login(&admin_login(&admin, PW), TTL).unwrap() {
        Login::NeedEnrolment { step, enrolment } => (step, enrolment),
        other => panic!("{other:?}"),
    };
    assert_eq!(step.token.kind, TokenKind::Enrolment);
    // The step token is not a session.
    assert_eq!(
        d.resolve_token(step.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
    assert_eq!(
        d.finish_enrolment(step.secret.expose(), "000000", None, TTL),
        Err(Error::WrongCredentials)
    );
    let code = totp_code(&enrolment.url, tree.td.clock.now());
    let s = d
        .finish_enrolment(step.secret.expose(), &code, None, TTL)
        .unwrap();
    d.resolve_token(s.secret.expose(), None).unwrap();
    // The step is spent.
    assert_eq!(
        d.finish_enrolment(step.secret.expose(), &code, None, TTL),
        Err(Error::Unauthenticated)
    );
    // From now on the password alone asks for a code; with it (appended), a session.
    assert_eq!(
        d.login(&admin_login(&admin, PW), TTL).unwrap(),
        Login::NeedCode
    );
    tree.td.clock.advance_secs(30);
    let code = totp_code(&enrolment.url, tree.td.clock.now());
    let with_code = AuthRequest {
        second_factor: Some(&code),
        ..admin_login(&admin, PW)
    };
    session(d.login(&with_code, TTL).unwrap());
}

#[test]
fn an_expired_password_is_changed_through_a_step_token() {
    let tree = Tree::new();
    let d = tree.dir();
    let admin = admin(&tree, false);
    d.credentials()
        .set_password(&sys(), admin.tenant, admin.id, "One-Time-Secret-55", true)
        .unwrap();
    let step = match d
        .login(&admin_login(&admin, "One-Time-Secret-55"), TTL)
        .unwrap()
    {
        Login::MustChangePassword { step } => step,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        d.finish_password_change(step.secret.expose(), "short", None),
        Err(Error::WeakPassword(_))
    ));
    d.finish_password_change(step.secret.expose(), "My-Own-Secret-2026", None)
        .unwrap();
    assert_eq!(
        d.finish_password_change(step.secret.expose(), "Again-Secret-2027", None),
        Err(Error::Unauthenticated)
    );
    session(
        d.login(&admin_login(&admin, "My-Own-Secret-2026"), TTL)
            .unwrap(),
    );
}

#[test]
fn personal_tokens_are_narrowed_expire_and_are_revoked() {
    let tree = Tree::new();
    let d = tree.dir();
    let admin = admin(&tree, false);
    let s = session(d.login(&admin_login(&admin, PW), TTL).unwrap());
    let me = d.resolve_token(s.secret.expose(), None).unwrap();
    let read_only = RightSet::allowing(&[Area::Users], &[Right::Read]);
    let pat = d
        .tokens()
        .create(
            &me,
            NewToken {
                name: "backup script".into(),
                expires_at: Some(tree.td.clock.now().plus_secs(86_400)),
                limit: Some(read_only),
            },
        )
        .unwrap();
    let bot = d.resolve_token(pat.secret.expose(), None).unwrap();
    // It reads users; it cannot write them, though its user can.
    d.users()
        .list(&bot, tree.contoso.id, &Default::default())
        .unwrap();
    assert_eq!(
        d.users().create(&bot, tree.contoso.id, new_user("x")),
        Err(Error::Forbidden)
    );
    assert_eq!(
        d.groups().list(&bot, tree.contoso.id, &Default::default()),
        Err(Error::NotFound)
    );
    // Only a session creates personal tokens.
    assert!(matches!(
        d.tokens().create(
            &bot,
            NewToken {
                name: "child".into(),
                ..NewToken::default()
            }
        ),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        d.tokens().create(
            &sys(),
            NewToken {
                name: "sys".into(),
                ..NewToken::default()
            }
        ),
        Err(Error::Forbidden)
    ));
    let listed = d.tokens().list(&me, admin.tenant, admin.id).unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|t| t.kind == TokenKind::Personal)
            .count(),
        1
    );
    // Revoked, it stops at once.
    d.tokens()
        .revoke(&me, admin.tenant, admin.id, pat.token.id)
        .unwrap();
    assert_eq!(
        d.resolve_token(pat.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
    // A narrowed token never gives more than its user holds.
    let everything = d
        .tokens()
        .create(
            &me,
            NewToken {
                name: "all".into(),
                expires_at: None,
                limit: Some(RightSet::ALL_ALLOWED),
            },
        )
        .unwrap();
    let all = d.resolve_token(everything.secret.expose(), None).unwrap();
    assert_eq!(
        d.audit().query(
            &all,
            &tessera_directory::model::AuditQuery::tenant(tree.contoso.id)
        ),
        Err(Error::NotFound)
    );
    // Expiry.
    let brief = d
        .tokens()
        .create(
            &me,
            NewToken {
                name: "brief".into(),
                expires_at: Some(tree.td.clock.now().plus_secs(60)),
                limit: None,
            },
        )
        .unwrap();
    d.resolve_token(brief.secret.expose(), None).unwrap();
    tree.td.clock.advance_secs(61);
    assert_eq!(
        d.resolve_token(brief.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
    let r = d.check_integrity().unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn tokens_of_users_who_cannot_act_stop_working() {
    let tree = Tree::new();
    let d = tree.dir();
    let admin = admin(&tree, false);
    let s = session(d.login(&admin_login(&admin, PW), TTL).unwrap());
    d.users().suspend(&sys(), admin.tenant, admin.id).unwrap();
    assert_eq!(
        d.resolve_token(s.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
    d.users().resume(&sys(), admin.tenant, admin.id).unwrap();
    d.resolve_token(s.secret.expose(), None).unwrap();
    d.tenants().suspend(&sys(), tree.acme.id).unwrap();
    assert_eq!(
        d.resolve_token(s.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
    d.tenants().resume(&sys(), tree.acme.id).unwrap();
    d.users().delete(&sys(), admin.tenant, admin.id).unwrap();
    assert_eq!(
        d.resolve_token(s.secret.expose(), None),
        Err(Error::Unauthenticated)
    );
    let r = d.check_integrity().unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.counts.get("tokens"), Some(&0));
}
