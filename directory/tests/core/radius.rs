//! What the RADIUS frontend asks of the core: completing a TOTP challenge without verifying the
//! password again (single use, expiring, voided by a credential change, counted as a failure
//! when wrong), every tenant's NAS clients with their secrets for the installation only, the
//! groups whose reply attributes a user gets, accounting sessions per tenant under
//! Reports:Read, and each tenant's EAP-TTLS certificate (generated once, renewed when expired,
//! or installed and removed under Applications rights).

use crate::fixtures::{as_user, sys, Tree};
use std::collections::BTreeSet;
use std::net::IpAddr;
use tessera_directory::clock::Clock;
use tessera_directory::model::{
    AccountingReport, AccountingStatus, AppKind, AuditEvent, AuditQuery, EapCertificateSource,
    EapKey, EapKeyFormat, GroupAttributes, Member, NewApplication, NewEapCertificate, NewGroup,
    RadiusAttributes, RadiusClient, SecretBytes, SharedSecret, TenantId, User,
};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::Protocol;
use tessera_directory::testkit::{issued_chain, new_user, totp_code};
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

#[test]
fn each_tenant_gets_its_own_eap_certificate_made_once_and_kept_across_a_restart() {
    let tree = Tree::new();
    let d = tree.dir();
    let (c, f) = (tree.contoso.id, tree.fabrikam.id);
    // Several requests of a new tenant at once (as on several nodes) all get the one stored first.
    let firsts: Vec<EapKey> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..4)
            .map(|_| s.spawn(|| d.radius().eap_key(&sys(), c).unwrap()))
            .collect();
        calls.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = &firsts[0];
    for other in &firsts {
        assert_eq!(other.certificate, first.certificate);
        assert_eq!(
            other.private_key.der.expose(),
            first.private_key.der.expose()
        );
    }
    let cert = &first.certificate;
    assert_eq!(cert.source, EapCertificateSource::Generated);
    assert_eq!(cert.subject, "CN=radius.contoso.tessera");
    assert_eq!(cert.issuer, cert.subject);
    assert_eq!(cert.chain_der.len(), 1);
    assert!(tree.td.clock.now().as_secs() - cert.created_at.as_secs() < 2);
    assert!(cert.not_after.as_secs() - tree.td.clock.now().as_secs() > 800 * 86_400);
    assert_eq!(first.private_key.format, EapKeyFormat::Pkcs8);
    assert_eq!(format!("{:?}", first.private_key.der), "[redacted]");
    // Another tenant, another key.
    let other = d.radius().eap_key(&sys(), f).unwrap();
    assert_eq!(other.certificate.subject, "CN=radius.fabrikam.tessera");
    assert_ne!(other.certificate.sha256, cert.sha256);
    assert_ne!(
        other.private_key.der.expose(),
        first.private_key.der.expose()
    );
    // What an administrator reads is what supplicants are shown; the audit log has no key.
    let apps = tree.user_with_role(
        &tree.contoso,
        "apps",
        "Application Administrator",
        &tree.contoso,
    );
    assert_eq!(
        d.radius().eap_certificate(&as_user(&apps), c).as_ref(),
        Ok(cert)
    );

    let tree = tree.restart();
    let kept = tree.dir().radius().eap_key(&sys(), c).unwrap();
    assert_eq!(kept.certificate, first.certificate, "kept, not made again");
    assert_eq!(
        kept.private_key.der.expose(),
        first.private_key.der.expose()
    );
}

#[test]
fn an_expired_generated_certificate_is_made_anew_and_the_renewal_audited() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    let old = d.radius().eap_key(&sys(), c).unwrap().certificate;
    tree.td.clock.advance_secs(824 * 86_400);
    assert_eq!(d.radius().eap_key(&sys(), c).unwrap().certificate, old);
    tree.td.clock.advance_secs(2 * 86_400);
    let new = d.radius().eap_key(&sys(), c).unwrap().certificate;
    assert_ne!(new.sha256, old.sha256);
    assert!(new.not_after > tree.td.clock.now());
    assert_eq!(d.radius().eap_key(&sys(), c).unwrap().certificate, new);
    let renewals: Vec<AuditEvent> = audit_of(d, c)
        .into_iter()
        .filter(|e| e.action == "radius.eap_certificate.renew")
        .collect();
    assert_eq!(renewals.len(), 1);
    assert_eq!(renewals[0].actor, "system");
    let hex = |h: &[u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        renewals[0].before.as_ref().unwrap()["fingerprint_sha256"],
        hex(&old.sha256)
    );
    assert_eq!(
        renewals[0].after.as_ref().unwrap()["fingerprint_sha256"],
        hex(&new.sha256)
    );
}

fn install(chain: &str, key: &str) -> NewEapCertificate {
    NewEapCertificate {
        chain_pem: chain.to_string(),
        private_key_pem: SecretBytes::new(key.as_bytes().to_vec()),
    }
}

#[test]
fn an_installed_certificate_is_checked_served_instead_and_removed_back_to_the_generated_one() {
    let tree = Tree::new();
    let d = tree.dir();
    let (c, f) = (tree.contoso.id, tree.fabrikam.id);
    let r = d.radius();
    let apps = as_user(&tree.user_with_role(
        &tree.contoso,
        "apps",
        "Application Administrator",
        &tree.contoso,
    ));
    let watcher = as_user(&tree.user_with_role(&tree.contoso, "sup", "Supervisor", &tree.contoso));
    let helpdesk =
        as_user(&tree.user_with_role(&tree.contoso, "help", "Helpdesk Operator", &tree.contoso));
    let generated = r.eap_certificate(&apps, c).unwrap();
    let fabrikam = r.eap_certificate(&sys(), f).unwrap();
    let issued = issued_chain("radius.contoso.com", (2025, 1, 1), (2035, 1, 1)).unwrap();
    let (chain, key) = (issued.chain(), issued.key);

    // Reading needs Applications:Read, installing and removing Applications:Write.
    assert_eq!(r.eap_certificate(&helpdesk, c), Err(Error::NotFound));
    assert_eq!(r.eap_certificate(&watcher, c).as_ref(), Ok(&generated));
    for (who, want) in [(&watcher, Error::Forbidden), (&helpdesk, Error::NotFound)] {
        assert_eq!(
            r.install_eap_certificate(who, c, install(&chain, &key)),
            Err(want.clone())
        );
        assert_eq!(r.remove_eap_certificate(who, c), Err(want));
    }
    assert_eq!(r.eap_certificate(&apps, c).as_ref(), Ok(&generated));

    // Refusals say what is wrong and change nothing.
    let other_key = issued_chain("radius.contoso.com", (2025, 1, 1), (2035, 1, 1))
        .unwrap()
        .key;
    let leaf_only = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next()
        .unwrap();
    let ca_first = format!("{}{leaf_only}", &chain[leaf_only.len()..]);
    for (bad, field) in [
        (install(&chain, &other_key), "private_key"),
        (install("", &key), "certificate"),
        (install(&chain, ""), "private_key"),
        (install(&ca_first, &key), "certificate"),
    ] {
        match r.install_eap_certificate(&apps, c, bad) {
            Err(Error::Invalid { field: got, reason }) => {
                assert_eq!(got, field, "{reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("accepted or refused otherwise: {other:?}"),
        }
    }
    assert_eq!(r.eap_certificate(&apps, c).as_ref(), Ok(&generated));

    // Installed: it is what the tunnel presents, with its own key; fabrikam keeps its own.
    let installed = r
        .install_eap_certificate(&apps, c, install(&chain, &key))
        .unwrap();
    assert_eq!(installed.source, EapCertificateSource::Installed);
    assert_eq!(installed.subject, "CN=radius.contoso.com");
    assert_eq!(installed.issuer, "CN=Contoso Root CA");
    assert_eq!(installed.chain_der.len(), 2);
    assert_eq!(
        installed.not_after.to_rfc3339(),
        "2035-01-01T00:00:00.000000Z"
    );
    assert_eq!(r.eap_certificate(&watcher, c).as_ref(), Ok(&installed));
    let served = r.eap_key(&sys(), c).unwrap();
    assert_eq!(served.certificate, installed);
    let pkcs8 = rcgen::KeyPair::from_pem(&key).unwrap().serialize_der();
    assert_eq!(served.private_key.der.expose(), &pkcs8[..]);
    assert_eq!(r.eap_certificate(&sys(), f).as_ref(), Ok(&fabrikam));

    // Removed (twice: the second changes nothing): back to the same generated certificate.
    assert_eq!(r.remove_eap_certificate(&apps, c).as_ref(), Ok(&generated));
    assert_eq!(r.remove_eap_certificate(&apps, c).as_ref(), Ok(&generated));
    assert_eq!(r.eap_key(&sys(), c).unwrap().certificate, generated);

    // Audited, without the key.
    let events: Vec<AuditEvent> = audit_of(d, c)
        .into_iter()
        .filter(|e| e.action.starts_with("radius.eap_certificate."))
        .collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "radius.eap_certificate.install",
            "radius.eap_certificate.remove"
        ],
    );
    let after = events[0].after.as_ref().unwrap();
    assert_eq!(after["subject"], "CN=radius.contoso.com");
    assert_eq!(after["source"], "installed");
    assert_eq!(events[0].actor, "contoso/apps");
    assert_eq!(events[1].before.as_ref(), Some(after));
    for e in &events {
        let text = serde_json::to_string(&(&e.before, &e.after)).unwrap();
        assert!(
            !text.contains("PRIVATE") && !text.contains("sealed"),
            "{text}"
        );
    }
}
