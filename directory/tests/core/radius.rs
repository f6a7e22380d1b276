//! What the RADIUS frontend asks of the core: completing a TOTP challenge without verifying the
//! password again (single use, expiring, voided by a credential change, counted as a failure
//! when wrong), every tenant's NAS clients with their secrets for the installation only, the
//! groups whose reply attributes a user gets, and accounting sessions per tenant under
//! Reports:Read.

use crate::fixtures::{as_user, sys, Tree};
use std::collections::BTreeSet;
use std::net::IpAddr;
use tessera_directory::clock::Clock;
use tessera_directory::model::{
    AccountingReport, AccountingStatus, AppKind, AuditEvent, AuditQuery, GroupAttributes, Member,
    NewApplication, NewGroup, RadiusAttributes, RadiusClient, SharedSecret, TenantId, User,
};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::{new_user, totp_code};
use tessera_directory::{AuthRequest, Error, MfaNeed, Outcome, TenantRef, MFA_STEP_TTL_SECS};

const PW: &str = "Correct-Horse-Battery-42";

fn req(u: &User) -> AuthRequest<'_> {
    AuthRequest {
        tenant: TenantRef::Id(u.tenant),
        username: &u.username,
        secret: PW,
        second_factor: None,
        protocol: Protocol::Radius,
        application: None,
        source: Some("127.0.0.1".parse().unwrap()),
    }
}

fn audit_of(d: &tessera_directory::Directory, t: TenantId) -> Vec<AuditEvent> {
    let q = AuditQuery {
        limit: Some(1000),
        ..AuditQuery::tenant(t)
    };
    d.audit().query(&sys(), &q).unwrap().events
}

/// alice of contoso with a password and confirmed TOTP, RADIUS requiring it; the seed's URL.
fn alice_with_totp(tree: &Tree) -> (User, String) {
    let d = tree.dir();
    let c = tree.contoso.id;
    let alice = d.users().create(&sys(), c, new_user("alice")).unwrap();
    d.credentials()
        .set_password(&sys(), c, alice.id, PW, false)
        .unwrap();
    let mut p = d.policies().get(&sys(), c).unwrap().local;
    p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Radius]));
    d.policies().set(&sys(), c, p).unwrap();
    let e = d
        .credentials()
        .enroll_totp(&as_user(&alice), c, alice.id)
        .unwrap();
    let prev = totp_code(&e.url, tree.td.clock.now().plus_secs(-30));
    d.credentials()
        .confirm_totp(&as_user(&alice), c, alice.id, &prev)
        .unwrap();
    (alice, e.url)
}

#[test]
fn a_challenge_completes_with_the_code_alone_once() {
    let tree = Tree::new();
    let d = tree.dir();
    let (alice, url) = alice_with_totp(&tree);
    let hashed = d.hashing_counts().1;
    let (outcome, pending) = d.authenticate_for_challenge(&req(&alice)).unwrap();
    assert_eq!(outcome, Outcome::MfaRequired(MfaNeed::Code));
    let pending = pending.expect("a pending step comes with MfaRequired(Code)");
    assert_eq!((pending.tenant(), pending.user()), (alice.tenant, alice.id));
    assert_eq!(
        d.hashing_counts().1,
        hashed + 1,
        "the password was verified once"
    );
    let code = totp_code(&url, tree.td.clock.now());
    match d.complete_mfa(pending, &code, None).unwrap() {
        Outcome::Success(a) => {
            assert!(a.mfa);
            assert_eq!(a.user.id, alice.id);
        }
        other => panic!("expected success, got {other:?}"),
    }
    assert_eq!(d.hashing_counts().1, hashed + 1, "no second argon2 run");
    // The same code again, in a new challenge: refused as reused.
    let (_, again) = d.authenticate_for_challenge(&req(&alice)).unwrap();
    assert_eq!(
        d.complete_mfa(again.unwrap(), &code, None).unwrap(),
        Outcome::MfaFailed
    );
    // A wrong password gives no step at all.
    let wrong = AuthRequest {
        secret: "nope",
        ..req(&alice)
    };
    let (o, p) = d.authenticate_for_challenge(&wrong).unwrap();
    assert_eq!((o, p), (Outcome::BadCredentials, None));
    d.flush_audit();
    let events = audit_of(d, alice.tenant);
    let completed = events
        .iter()
        .filter(|e| e.action == "auth.radius" && e.outcome == "success")
        .count();
    assert_eq!(completed, 1, "the completed step is audited once");
}

#[test]
fn a_step_expires_and_a_credential_change_voids_it() {
    let tree = Tree::new();
    let d = tree.dir();
    let (alice, url) = alice_with_totp(&tree);
    let (_, p) = d.authenticate_for_challenge(&req(&alice)).unwrap();
    tree.td.clock.advance_secs(MFA_STEP_TTL_SECS + 1);
    let code = totp_code(&url, tree.td.clock.now());
    assert_eq!(
        d.complete_mfa(p.unwrap(), &code, None).unwrap(),
        Outcome::MfaFailed
    );
    let (_, p) = d.authenticate_for_challenge(&req(&alice)).unwrap();
    d.credentials()
        .set_password(
            &sys(),
            alice.tenant,
            alice.id,
            "Another-Horse-Battery-43",
            false,
        )
        .unwrap();
    let code = totp_code(&url, tree.td.clock.now());
    assert_eq!(
        d.complete_mfa(p.unwrap(), &code, None).unwrap(),
        Outcome::BadCredentials
    );
    // Suspension between the two steps refuses too.
    let changed = AuthRequest {
        secret: "Another-Horse-Battery-43",
        ..req(&alice)
    };
    let (o, p) = d.authenticate_for_challenge(&changed).unwrap();
    assert_eq!(o, Outcome::MfaRequired(MfaNeed::Code));
    d.users().suspend(&sys(), alice.tenant, alice.id).unwrap();
    assert_eq!(
        d.complete_mfa(p.unwrap(), &totp_code(&url, tree.td.clock.now()), None)
            .unwrap(),
        Outcome::Suspended
    );
}

fn radius_app(tree: &Tree, secret: &str) -> tessera_directory::model::Application {
    tree.dir()
        .applications()
        .create(
            &sys(),
            tree.contoso.id,
            NewApplication {
                name: "ap".into(),
                kind: AppKind::Radius(RadiusClient {
                    addresses: vec!["10.0.0.0/24".parse().unwrap()],
                    secret: SharedSecret::new(secret),
                    require_message_authenticator: true,
                    reply: vec![],
                }),
                bound_groups: BTreeSet::new(),
            },
        )
        .unwrap()
}

#[test]
fn clients_with_secrets_for_the_installation_and_short_secrets_refused() {
    let tree = Tree::new();
    let d = tree.dir();
    let short = d.applications().create(
        &sys(),
        tree.contoso.id,
        NewApplication {
            name: "short".into(),
            kind: AppKind::Radius(RadiusClient {
                addresses: vec!["10.0.0.1/32".parse().unwrap()],
                secret: SharedSecret::new("fifteen-chars!!"),
                require_message_authenticator: true,
                reply: vec![],
            }),
            bound_groups: BTreeSet::new(),
        },
    );
    assert!(matches!(
        short,
        Err(Error::Invalid {
            field: "secret",
            ..
        })
    ));
    let app = radius_app(&tree, "a-long-enough-secret");
    let clients = d.radius().clients(&sys()).unwrap();
    assert_eq!(clients.len(), 1);
    let c = &clients[0];
    assert_eq!((c.tenant, c.app), (tree.contoso.id, app.id));
    assert_eq!(c.tenant_slug, "contoso");
    assert_eq!(c.secret.expose(), "a-long-enough-secret");
    assert_eq!(format!("{:?}", c.secret), "[redacted]");
    let someone = d
        .users()
        .create(&sys(), tree.contoso.id, new_user("someone"))
        .unwrap();
    assert_eq!(
        d.radius().clients(&as_user(&someone)).map(|_| ()),
        Err(Error::Forbidden)
    );
}

#[test]
fn reply_groups_are_the_bound_ones_by_name() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let app = radius_app(&tree, "a-long-enough-secret");
    let mk = |name: &str, vlan: u16| {
        d.groups()
            .create(
                &sys(),
                c,
                NewGroup {
                    name: name.into(),
                    attributes: GroupAttributes {
                        radius: RadiusAttributes {
                            vlan: Some(vlan),
                            reply: vec![],
                        },
                    },
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let (wifi, guests, other) = (mk("wifi", 42), mk("Guests", 7), mk("other", 9));
    for g in [&wifi, &guests] {
        d.applications()
            .bind_group(&sys(), c, app.id, g.id)
            .unwrap();
    }
    let alice = d.users().create(&sys(), c, new_user("alice")).unwrap();
    for g in [&wifi, &guests, &other] {
        d.groups()
            .add_member(&sys(), c, g.id, Member::User(alice.id))
            .unwrap();
    }
    let got = d
        .radius()
        .reply_groups(&sys(), c, app.id, &[wifi.id, other.id, guests.id])
        .unwrap();
    let names: Vec<&str> = got.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["Guests", "wifi"],
        "bound groups only, by folded name"
    );
}

#[test]
fn accounting_sessions_per_tenant_under_reports_read() {
    let tree = Tree::new();
    let d = tree.dir();
    let app = radius_app(&tree, "a-long-enough-secret");
    let src: IpAddr = "10.0.0.5".parse().unwrap();
    let report = |id: &str| AccountingReport {
        session_id: id.into(),
        username: Some("alice".into()),
        calling_station: Some("02-00-00-00-00-01".into()),
        ..Default::default()
    };
    let r = d.radius();
    r.record_accounting(
        &sys(),
        tree.contoso.id,
        app.id,
        src,
        AccountingStatus::Start,
        report("s1"),
    )
    .unwrap();
    r.record_accounting(
        &sys(),
        tree.contoso.id,
        app.id,
        src,
        AccountingStatus::Start,
        report("s2"),
    )
    .unwrap();
    let stop = AccountingReport {
        session_time: Some(60),
        input_octets: Some(1 << 33),
        ..report("s1")
    };
    r.record_accounting(
        &sys(),
        tree.contoso.id,
        app.id,
        src,
        AccountingStatus::Stop,
        stop,
    )
    .unwrap();
    let s = r.sessions(&sys(), tree.contoso.id).unwrap();
    assert_eq!(s.len(), 2);
    let s1 = s.iter().find(|x| x.details.session_id == "s1").unwrap();
    assert!(!s1.is_active());
    assert_eq!(s1.details.session_time, Some(60));
    assert_eq!(s1.details.input_octets, Some(1 << 33));
    assert_eq!(s1.details.username.as_deref(), Some("alice"));
    assert!(s
        .iter()
        .any(|x| x.details.session_id == "s2" && x.is_active()));
    assert!(r.sessions(&sys(), tree.fabrikam.id).unwrap().is_empty());
    // Accounting-Off ends every open session of the client.
    r.record_accounting(
        &sys(),
        tree.contoso.id,
        app.id,
        src,
        AccountingStatus::AccountingOff,
        AccountingReport::default(),
    )
    .unwrap();
    assert!(r
        .sessions(&sys(), tree.contoso.id)
        .unwrap()
        .iter()
        .all(|x| !x.is_active()));
    // A user without Reports:Read sees nothing.
    let someone = d
        .users()
        .create(&sys(), tree.contoso.id, new_user("someone"))
        .unwrap();
    assert!(r.sessions(&as_user(&someone), tree.contoso.id).is_err());
    d.flush_audit();
    let events = audit_of(d, tree.contoso.id);
    let acct: Vec<&str> = events
        .iter()
        .filter(|e| e.action.starts_with("radius.accounting."))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(acct.len(), 4, "{acct:?}");
    // A client served without Message-Authenticator is on record too.
    r.record_legacy_client(&sys(), tree.contoso.id, app.id)
        .unwrap();
    let legacy: Vec<AuditEvent> = audit_of(d, tree.contoso.id)
        .into_iter()
        .filter(|e| e.action == "radius.client.message_authenticator_not_required")
        .collect();
    assert_eq!(legacy.len(), 1);
    assert_eq!(legacy[0].target, "application:ap");
    assert!(legacy[0].reason.as_deref().unwrap().contains("BlastRADIUS"));
}

#[test]
fn accounting_sessions_survive_a_restart_and_expire_after_retention() {
    use tessera_directory::SESSION_RETENTION_SECS;
    let tree = Tree::new();
    let app = radius_app(&tree, "a-long-enough-secret");
    let c = tree.contoso.id;
    let src: IpAddr = "10.0.0.5".parse().unwrap();
    let report = |id: &str| AccountingReport {
        session_id: id.into(),
        username: Some("alice".into()),
        ..Default::default()
    };
    let r = tree.dir().radius();
    for (status, rep) in [
        (AccountingStatus::Start, report("kept")),
        (AccountingStatus::Start, report("old")),
        (
            AccountingStatus::Stop,
            AccountingReport {
                session_time: Some(30),
                output_octets: Some(4096),
                terminate_cause: Some(1),
                ..report("old")
            },
        ),
    ] {
        r.record_accounting(&sys(), c, app.id, src, status, rep)
            .unwrap();
    }
    let tree = tree.restart();
    let d = tree.dir();
    let s = d.radius().sessions(&sys(), c).unwrap();
    assert_eq!(s.len(), 2, "{s:?}");
    let old = s.iter().find(|x| x.details.session_id == "old").unwrap();
    assert!(!old.is_active());
    assert_eq!(old.details.session_time, Some(30));
    assert_eq!(old.details.output_octets, Some(4096));
    assert_eq!(old.details.terminate_cause, Some(1));
    assert_eq!(old.client, "ap");
    assert!(s
        .iter()
        .any(|x| x.details.session_id == "kept" && x.is_active()));
    assert!(d
        .radius()
        .sessions(&sys(), tree.fabrikam.id)
        .unwrap()
        .is_empty());

    // An interim report keeps "kept" fresh; "old" is past retention by the next write.
    tree.td.clock.advance_secs(SESSION_RETENTION_SECS - 10);
    d.radius()
        .record_accounting(
            &sys(),
            c,
            app.id,
            src,
            AccountingStatus::Interim,
            report("kept"),
        )
        .unwrap();
    tree.td.clock.advance_secs(20);
    d.radius()
        .record_accounting(
            &sys(),
            c,
            app.id,
            src,
            AccountingStatus::Start,
            report("new"),
        )
        .unwrap();
    let mut ids: Vec<String> = d
        .radius()
        .sessions(&sys(), c)
        .unwrap()
        .into_iter()
        .map(|x| x.details.session_id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["kept", "new"]);
}
