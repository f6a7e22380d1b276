//! What the SAML frontend asks of the core: the IdP key made once per tenant and sealed, SPs
//! found by entity id in their own tenant only, SP options checked at registration, the
//! seen-request-id cache (replays refused until expiry, expired entries purged), and SSO
//! sessions (idle and absolute timeouts, bound groups, never across tenants).

use crate::fixtures::{sys, Tree};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use tessera_directory::model::{
    AcsUrl, AppKind, Application, NameIdFormat, NewApplication, NewIdpKey, SamlServiceProvider,
    SecretBytes, SessionLimits, SessionSecret, SpOptions, TenantId,
};
use tessera_directory::{Error, SessionUse};

fn sp(name: &str, entity: &str, options: SpOptions) -> NewApplication {
    NewApplication {
        name: name.into(),
        kind: AppKind::Saml(SamlServiceProvider {
            entity_id: entity.into(),
            acs_urls: vec![AcsUrl {
                index: 0,
                url: "https://sp.example/acs".into(),
                default: true,
            }],
            name_id_format: NameIdFormat::Persistent,
            attribute_mapping: BTreeMap::new(),
            options,
        }),
        bound_groups: BTreeSet::new(),
    }
}

fn register(tree: &Tree, t: TenantId, staff_bound: bool) -> Application {
    let d = tree.dir();
    let mut new = sp("wiki", "https://wiki.example/sp", SpOptions::default());
    if staff_bound {
        let staff = d.groups().by_name(&sys(), t, "staff").unwrap();
        new.bound_groups.insert(staff.id);
    }
    d.applications().create(&sys(), t, new).unwrap()
}

fn key_material(tag: u8) -> NewIdpKey {
    NewIdpKey {
        private_key_der: SecretBytes::new(vec![tag; 64]),
        certificate_der: vec![tag ^ 0xff; 32],
    }
}

#[test]
fn the_idp_key_is_made_once_per_tenant_and_kept_across_restarts() {
    let tree = Tree::new();
    let made = Cell::new(0);
    let make = |tag: u8| {
        let made = &made;
        move || {
            made.set(made.get() + 1);
            Ok(key_material(tag))
        }
    };
    let d = tree.dir();
    let c1 = d.saml().idp_key(&sys(), tree.contoso.id, &make(1)).unwrap();
    let c2 = d.saml().idp_key(&sys(), tree.contoso.id, &make(2)).unwrap();
    assert_eq!(made.get(), 1, "the second call reads the stored key");
    assert_eq!(c1.private_key_der.expose(), &[1u8; 64][..]);
    assert_eq!(c2.private_key_der.expose(), c1.private_key_der.expose());
    assert_eq!(c1.certificate_der, c2.certificate_der);
    assert_eq!(c1.pairwise_secret.expose(), c2.pairwise_secret.expose());
    assert_eq!(c1.pairwise_secret.expose().len(), 32);
    assert_eq!(format!("{:?}", c1.private_key_der), "[redacted]");
    let f = d
        .saml()
        .idp_key(&sys(), tree.fabrikam.id, &make(3))
        .unwrap();
    assert_eq!(made.get(), 2);
    assert_ne!(f.certificate_der, c1.certificate_der);
    assert_ne!(f.pairwise_secret.expose(), c1.pairwise_secret.expose());
    // A failure to make a key stores nothing.
    let failing = || Err(Error::Corrupt("no entropy".into()));
    assert!(d.saml().idp_key(&sys(), tree.globex.id, &failing).is_err());
    let g = d.saml().idp_key(&sys(), tree.globex.id, &make(4)).unwrap();
    assert_eq!(g.private_key_der.expose(), &[4u8; 64][..]);

    let tree = tree.restart();
    let again = tree
        .dir()
        .saml()
        .idp_key(&sys(), tree.contoso.id, &make(9))
        .unwrap();
    assert_eq!(again.private_key_der.expose(), &[1u8; 64][..]);
    assert_eq!(made.get(), 3, "only globex's second attempt made one");
}

#[test]
fn service_providers_are_found_in_their_own_tenant_only() {
    let tree = Tree::new();
    tree.populate(&tree.contoso);
    let app = register(&tree, tree.contoso.id, true);
    let s = tree.dir().saml();
    let found = s
        .service_provider(&sys(), tree.contoso.id, "https://wiki.example/sp")
        .unwrap();
    assert_eq!(found.id, app.id);
    assert_eq!(
        s.service_provider(&sys(), tree.fabrikam.id, "https://wiki.example/sp"),
        Err(Error::NotFound)
    );
    assert_eq!(
        s.service_provider(&sys(), tree.contoso.id, "https://other.example/sp"),
        Err(Error::NotFound)
    );
}

#[test]
fn sp_options_are_checked_and_old_records_read_with_defaults() {
    let tree = Tree::new();
    let d = tree.dir();
    let t = tree.contoso.id;
    let no_cert = SpOptions {
        require_signed_requests: true,
        ..SpOptions::default()
    };
    assert!(matches!(
        d.applications()
            .create(&sys(), t, sp("a", "https://a", no_cert)),
        Err(Error::Invalid {
            field: "certificate",
            ..
        })
    ));
    let unsigned = SpOptions {
        sign_response: false,
        sign_assertion: false,
        ..SpOptions::default()
    };
    assert!(d
        .applications()
        .create(&sys(), t, sp("b", "https://b", unsigned))
        .is_err());
    let plain_slo = SpOptions {
        slo_url: Some("http://sp.example/slo".into()),
        ..SpOptions::default()
    };
    assert!(d
        .applications()
        .create(&sys(), t, sp("c", "https://c", plain_slo))
        .is_err());
    let good = SpOptions {
        slo_url: Some("https://sp.example/slo".into()),
        groups_filter: vec!["staff".into(), "app-*".into()],
        ..SpOptions::default()
    };
    assert!(good.group_passes("Staff") && good.group_passes("app-admins"));
    assert!(!good.group_passes("wifi") && !good.group_passes("xapp-1"));
    d.applications()
        .create(&sys(), t, sp("d", "https://d", good))
        .unwrap();
    // A record written before the options existed reads with the defaults.
    let old = r#"{"entity_id":"https://old","acs_urls":[{"index":0,"url":"https://old/acs"}]}"#;
    let parsed: SamlServiceProvider = serde_json::from_str(old).unwrap();
    assert_eq!(parsed.options, SpOptions::default());
    assert!(parsed.options.sign_response && parsed.options.sign_assertion);
}

#[test]
fn a_request_id_is_accepted_once_until_it_expires() {
    let tree = Tree::new();
    tree.populate(&tree.contoso);
    let app = register(&tree, tree.contoso.id, true);
    let d = tree.dir();
    let s = d.saml();
    let t = tree.contoso.id;
    let until = d.now().plus_secs(600);
    s.remember_request(&sys(), t, app.id, "_r1", until).unwrap();
    assert_eq!(
        s.remember_request(&sys(), t, app.id, "_r1", until),
        Err(Error::AlreadyExists { what: "request id" })
    );
    // Another tenant's cache is its own.
    s.remember_request(&sys(), tree.fabrikam.id, app.id, "_r1", until)
        .unwrap();
    assert!(s.remember_request(&sys(), t, app.id, "", until).is_err());
    assert!(s
        .remember_request(&sys(), t, app.id, &"x".repeat(257), until)
        .is_err());
    tree.td.clock.advance_secs(601);
    // Expired: remembered again (the old entry was purged on the way).
    s.remember_request(&sys(), t, app.id, "_r1", d.now().plus_secs(600))
        .unwrap();
    assert_eq!(
        s.remember_request(&sys(), t, app.id, "_r1", d.now().plus_secs(600)),
        Err(Error::AlreadyExists { what: "request id" })
    );
    assert_eq!(d.check_integrity().unwrap().problems, Vec::<String>::new());
}

#[test]
fn sso_sessions_time_out_respect_bound_groups_and_stay_in_their_tenant() {
    let tree = Tree::new();
    let (alice, _bob) = tree.populate(&tree.contoso);
    let d = tree.dir();
    let t = tree.contoso.id;
    let wiki = register(&tree, t, true);
    let mut unbound = sp("crm", "https://crm.example/sp", SpOptions::default());
    let wifi = d.groups().by_name(&sys(), t, "wifi").unwrap();
    unbound.bound_groups.insert(wifi.id);
    let crm = d.applications().create(&sys(), t, unbound).unwrap();
    let s = d.saml();
    let limits = SessionLimits {
        idle_secs: 600,
        absolute_secs: 3600,
    };
    let (secret, session) = s
        .open_session(&sys(), t, (alice.id, wiki.id), true, limits)
        .unwrap();
    assert!(session.mfa);
    assert_eq!(format!("{secret:?}"), "[redacted]");
    let SessionUse::Granted(g) = s.resume_session(&sys(), t, &secret, crm.id, None).unwrap() else {
        panic!("alice is in wifi, bound to crm")
    };
    assert_eq!(g.user.id, alice.id);
    assert_eq!(g.session.participants, BTreeSet::from([wiki.id, crm.id]));
    // Never in another tenant, and a made-up secret is nothing.
    assert_eq!(
        s.resume_session(&sys(), tree.fabrikam.id, &secret, crm.id, None),
        Err(Error::Unauthenticated)
    );
    assert_eq!(
        s.resume_session(&sys(), t, &SessionSecret::new("nope"), crm.id, None),
        Err(Error::Unauthenticated)
    );
    // Used within the idle time it lives on, up to the absolute limit.
    for _ in 0..7 {
        tree.td.clock.advance_secs(500);
        assert!(matches!(
            s.resume_session(&sys(), t, &secret, wiki.id, None),
            Ok(SessionUse::Granted(_))
        ));
    }
    tree.td.clock.advance_secs(500);
    assert_eq!(
        s.resume_session(&sys(), t, &secret, wiki.id, None),
        Err(Error::Unauthenticated),
        "3,500 s of use, then 4,000: past the absolute limit"
    );
    // Idle timeout, and bound groups: bob is not in wifi.
    let bob = d.users().by_username(&sys(), t, "bob").unwrap();
    let (secret, _) = s
        .open_session(&sys(), t, (bob.id, wiki.id), false, limits)
        .unwrap();
    assert_eq!(
        s.resume_session(&sys(), t, &secret, crm.id, None),
        Ok(SessionUse::NotAllowed)
    );
    tree.td.clock.advance_secs(601);
    assert_eq!(
        s.resume_session(&sys(), t, &secret, wiki.id, None),
        Err(Error::Unauthenticated)
    );
    // Ending a session, and a suspended user's session ends.
    let (secret, _) = s
        .open_session(&sys(), t, (bob.id, wiki.id), false, limits)
        .unwrap();
    assert!(s.end_session(&sys(), t, &secret).unwrap().is_some());
    assert!(s.end_session(&sys(), t, &secret).unwrap().is_none());
    assert_eq!(
        s.resume_session(&sys(), t, &secret, wiki.id, None),
        Err(Error::Unauthenticated)
    );
    let (secret, _) = s
        .open_session(&sys(), t, (alice.id, wiki.id), false, limits)
        .unwrap();
    d.users().suspend(&sys(), t, alice.id).unwrap();
    assert_eq!(
        s.resume_session(&sys(), t, &secret, wiki.id, None),
        Err(Error::Unauthenticated)
    );
}

#[test]
fn idp_keys_rotate_next_then_active_then_retired_until_removed() {
    use tessera_directory::model::IdpKeyState::{Active, Next, Retired};
    let tree = Tree::new();
    let d = tree.dir();
    let t = tree.contoso.id;
    let made = Cell::new(0u8);
    let make = || {
        made.set(made.get() + 1);
        Ok(key_material(made.get()))
    };
    let states = |keys: &[tessera_directory::model::IdpKeyInfo]| {
        keys.iter().map(|k| k.state).collect::<Vec<_>>()
    };
    let s = d.saml();
    assert_eq!(s.idp_keys(&sys(), t).unwrap(), [], "made on first use");
    let first = s.idp_key(&sys(), t, &make).unwrap();
    assert_eq!(
        first.published,
        std::slice::from_ref(&first.certificate_der)
    );
    let keys = s.idp_keys(&sys(), t).unwrap();
    assert_eq!(states(&keys), [Active]);
    assert_eq!(keys[0].activated_at, None, "the first key");
    assert_eq!(keys[0].fingerprint.len(), 64);

    // Next: published beside the active key, which goes on signing.
    let keys = s.prepare_next_idp_key(&sys(), t, &make).unwrap();
    assert_eq!(states(&keys), [Active, Next]);
    let next_fp = keys[1].fingerprint.clone();
    let signing = s.idp_key(&sys(), t, &make).unwrap();
    assert_eq!(signing.private_key_der.expose(), &[1u8; 64][..]);
    assert_eq!(
        signing.published,
        [
            key_material(1).certificate_der,
            key_material(2).certificate_der
        ]
    );
    assert!(matches!(
        s.prepare_next_idp_key(&sys(), t, &make),
        Err(Error::NotAllowed(_))
    ));
    assert_eq!(made.get(), 2, "a refused next key is not even made");

    // Activation: the next key signs, the old one is retired and still published.
    tree.td.clock.advance_secs(60);
    let before = d.now();
    let keys = s.activate_next_idp_key(&sys(), t).unwrap();
    assert_eq!(states(&keys), [Active, Retired]);
    assert_eq!(keys[0].fingerprint, next_fp);
    let at = keys[0].activated_at.unwrap();
    assert!(at > before && at < before.plus_secs(1), "{at:?}");
    assert_eq!(keys[1].retired_at, Some(at));
    let signing = s.idp_key(&sys(), t, &make).unwrap();
    assert_eq!(signing.private_key_der.expose(), &[2u8; 64][..]);
    assert_eq!(
        signing.published,
        [
            key_material(2).certificate_der,
            key_material(1).certificate_der
        ]
    );
    assert_eq!(
        signing.pairwise_secret.expose(),
        first.pairwise_secret.expose(),
        "persistent NameIDs survive the rotation"
    );
    assert!(matches!(
        s.activate_next_idp_key(&sys(), t),
        Err(Error::NotAllowed(_))
    ));

    // Removal: never the active key; by fingerprint in any case, with colons; unknown ones
    // are not found.
    assert!(matches!(
        s.remove_idp_key(&sys(), t, &next_fp),
        Err(Error::NotAllowed(_))
    ));
    assert_eq!(
        s.remove_idp_key(&sys(), t, &"ab".repeat(32)).map(|_| ()),
        Err(Error::NotFound)
    );
    let old_fp = keys[1].fingerprint.to_uppercase();
    let with_colons: Vec<&str> = (0..32).map(|i| &old_fp[i * 2..i * 2 + 2]).collect();
    let keys = s.remove_idp_key(&sys(), t, &with_colons.join(":")).unwrap();
    assert_eq!(states(&keys), [Active]);
    assert_eq!(
        s.idp_key(&sys(), t, &make).unwrap().published,
        [key_material(2).certificate_der]
    );
    // A next key may be dropped before it signs.
    let keys = s.prepare_next_idp_key(&sys(), t, &make).unwrap();
    let keys = s.remove_idp_key(&sys(), t, &keys[1].fingerprint).unwrap();
    assert_eq!(states(&keys), [Active]);

    // Each change is in the audit log.
    let log = d
        .audit()
        .query(&sys(), &tessera_directory::model::AuditQuery::tenant(t))
        .unwrap()
        .events;
    let actions: Vec<&str> = log
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("saml.idp_key"))
        .collect();
    assert_eq!(actions.len(), 5, "{actions:?}");
    for a in [
        "saml.idp_key.next",
        "saml.idp_key.activate",
        "saml.idp_key.remove",
    ] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
    assert!(!format!("{log:?}").contains("[2, 2, 2"), "no key bytes");

    // Kept across a restart; other tenants untouched.
    let tree = tree.restart();
    let s = tree.dir().saml();
    assert_eq!(states(&s.idp_keys(&sys(), t).unwrap()), [Active]);
    assert_eq!(s.idp_keys(&sys(), tree.fabrikam.id).unwrap(), []);
}

#[test]
fn retired_idp_keys_are_capped_and_a_first_next_key_makes_the_active_one_too() {
    let tree = Tree::new();
    let s = tree.dir().saml();
    let t = tree.contoso.id;
    let made = Cell::new(0u8);
    let make = || {
        made.set(made.get() + 1);
        Ok(key_material(made.get()))
    };
    // No key yet: preparing the next one makes the active one first.
    let keys = s.prepare_next_idp_key(&sys(), t, &make).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(made.get(), 2);
    assert_eq!(
        s.idp_key(&sys(), t, &make)
            .unwrap()
            .private_key_der
            .expose(),
        &[1u8; 64][..]
    );
    s.activate_next_idp_key(&sys(), t).unwrap();
    for _ in 1..tessera_directory::MAX_RETIRED_IDP_KEYS {
        s.prepare_next_idp_key(&sys(), t, &make).unwrap();
        s.activate_next_idp_key(&sys(), t).unwrap();
    }
    let keys = s.idp_keys(&sys(), t).unwrap();
    assert_eq!(keys.len(), 1 + tessera_directory::MAX_RETIRED_IDP_KEYS);
    s.prepare_next_idp_key(&sys(), t, &make).unwrap();
    assert!(matches!(
        s.activate_next_idp_key(&sys(), t),
        Err(Error::NotAllowed(_))
    ));
    // Removing the oldest retired key makes room.
    let oldest = s
        .idp_keys(&sys(), t)
        .unwrap()
        .last()
        .unwrap()
        .fingerprint
        .clone();
    s.remove_idp_key(&sys(), t, &oldest).unwrap();
    s.activate_next_idp_key(&sys(), t).unwrap();
    // A failing key maker stores nothing.
    let failing = || Err(Error::Corrupt("no entropy".into()));
    let before = s.idp_keys(&sys(), t).unwrap();
    assert!(s.prepare_next_idp_key(&sys(), t, &failing).is_err());
    assert_eq!(s.idp_keys(&sys(), t).unwrap(), before);
}

#[test]
fn idp_key_rotation_needs_application_rights() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = &tree.contoso;
    let make = || Ok(key_material(1));
    let apps = crate::fixtures::as_user(&tree.user_with_role(
        c,
        "appadmin",
        "Application Administrator",
        c,
    ));
    let auditor = crate::fixtures::as_user(&tree.user_with_role(c, "aud", "Auditor", c));
    let s = d.saml();
    assert_eq!(s.prepare_next_idp_key(&apps, c.id, &make).unwrap().len(), 2);
    assert_eq!(s.idp_keys(&auditor, c.id).unwrap().len(), 2);
    assert_eq!(
        s.activate_next_idp_key(&auditor, c.id).map(|_| ()),
        Err(Error::Forbidden)
    );
    assert_eq!(
        s.remove_idp_key(&auditor, c.id, &"00".repeat(32))
            .map(|_| ()),
        Err(Error::Forbidden)
    );
    assert_eq!(s.activate_next_idp_key(&apps, c.id).unwrap().len(), 2);
}

#[test]
fn a_session_stores_its_last_use_once_a_minute_and_every_sp_that_joins() {
    let tree = Tree::new();
    let (alice, _bob) = tree.populate(&tree.contoso);
    let d = tree.dir();
    let t = tree.contoso.id;
    let wiki = register(&tree, t, true);
    let mut new_crm = sp("crm", "https://crm.example/sp", SpOptions::default());
    new_crm.bound_groups = wiki.bound_groups.clone();
    let crm = d.applications().create(&sys(), t, new_crm).unwrap();
    let s = d.saml();
    let limits = SessionLimits {
        idle_secs: 600,
        absolute_secs: 3600,
    };
    let (secret, opened) = s
        .open_session(&sys(), t, (alice.id, wiki.id), false, limits)
        .unwrap();
    let granted = |app| match s.resume_session(&sys(), t, &secret, app, None) {
        Ok(SessionUse::Granted(g)) => g.session,
        other => panic!("{other:?}"),
    };
    // Within the minute: answered, nothing stored. (The test clock ticks a microsecond per
    // reading: whole seconds are compared.)
    let secs = |t: tessera_directory::policy::Timestamp| t.as_secs();
    tree.td.clock.advance_secs(30);
    assert_eq!(secs(granted(wiki.id).last_seen), secs(d.now()));
    // A minute after the stored use: stored.
    tree.td.clock.advance_secs(30);
    granted(wiki.id);
    assert_eq!(secs(d.now()), secs(opened.last_seen) + 60);
    // A new SP joins: stored at once, whatever the time.
    tree.td.clock.advance_secs(10);
    granted(crm.id);
    let joined = secs(d.now());
    tree.td.clock.advance_secs(10);
    granted(wiki.id);
    let stored = s.end_session(&sys(), t, &secret).unwrap().unwrap();
    assert_eq!(secs(stored.last_seen), joined);
    assert_eq!(stored.participants, BTreeSet::from([wiki.id, crm.id]));

    // The idle timeout counts from the stored use: a minute early at most, never late.
    let (secret, _) = s
        .open_session(&sys(), t, (alice.id, wiki.id), false, limits)
        .unwrap();
    tree.td.clock.advance_secs(59);
    assert!(matches!(
        s.resume_session(&sys(), t, &secret, wiki.id, None),
        Ok(SessionUse::Granted(_))
    ));
    tree.td.clock.advance_secs(600 - 59);
    assert_eq!(
        s.resume_session(&sys(), t, &secret, wiki.id, None),
        Err(Error::Unauthenticated)
    );
}

#[test]
fn an_administrator_ends_a_users_sso_sessions_and_nobody_elses() {
    let tree = Tree::new();
    let (alice, bob) = tree.populate(&tree.contoso);
    let (falice, _) = tree.populate(&tree.fabrikam);
    let d = tree.dir();
    let t = tree.contoso.id;
    let wiki = register(&tree, t, true);
    let fwiki = register(&tree, tree.fabrikam.id, true);
    let s = d.saml();
    let limits = SessionLimits::default();
    let open = |tenant, user, app| s.open_session(&sys(), tenant, (user, app), false, limits);
    let (a1, _) = open(t, alice.id, wiki.id).unwrap();
    let (a2, _) = open(t, alice.id, wiki.id).unwrap();
    let (b1, _) = open(t, bob.id, wiki.id).unwrap();
    let (f1, _) = open(tree.fabrikam.id, falice.id, fwiki.id).unwrap();
    let live = |tenant, secret: &SessionSecret, app| {
        matches!(
            s.resume_session(&sys(), tenant, secret, app, None),
            Ok(SessionUse::Granted(_))
        )
    };

    // Only with Credentials:Execute; a helpdesk operator has it, an auditor does not.
    let c = &tree.contoso;
    let helpdesk = crate::fixtures::as_user(&tree.user_with_role(c, "hd", "Helpdesk Operator", c));
    let auditor = crate::fixtures::as_user(&tree.user_with_role(c, "aud", "Auditor", c));
    assert_eq!(
        s.end_user_sessions(&auditor, t, alice.id),
        Err(Error::Forbidden)
    );
    assert_eq!(s.end_user_sessions(&helpdesk, t, alice.id), Ok(2));
    assert!(!live(t, &a1, wiki.id) && !live(t, &a2, wiki.id));
    assert!(live(t, &b1, wiki.id), "bob's session lives on");
    assert!(
        live(tree.fabrikam.id, &f1, fwiki.id),
        "fabrikam's alice too"
    );
    assert_eq!(s.end_user_sessions(&helpdesk, t, alice.id), Ok(0));
    // Another tenant's user is not found from here.
    assert_eq!(
        s.end_user_sessions(&helpdesk, t, falice.id),
        Err(Error::NotFound)
    );
    let log = d
        .audit()
        .query(&sys(), &tessera_directory::model::AuditQuery::tenant(t))
        .unwrap()
        .events;
    let ended: Vec<_> = log
        .iter()
        .filter(|e| e.action == "saml.sessions.end")
        .collect();
    assert_eq!(ended.len(), 2);
    assert!(ended.iter().all(|e| e.target == "user:alice"));
}
