//! The audit log: every change is recorded with actor, target and before/after in the same
//! transaction; queries by subtree, time, kind and action, paginated; JSON-lines export; what an
//! actor may read.

use crate::fixtures::{as_user, sys, Tree};
use tessera_directory::clock::Clock;
use tessera_directory::model::{AuditKind, AuditQuery, UserPatch};
use tessera_directory::testkit::new_user;
use tessera_directory::Error;

#[test]
fn changes_are_recorded_with_actor_and_before_after() {
    let tree = Tree::new();
    let admin = tree.user_with_role(&tree.contoso, "admin", "User Administrator", &tree.contoso);
    let d = tree.dir();
    let c = tree.contoso.id;
    let me = as_user(&admin);
    let u = d.users().create(&me, c, new_user("alice")).unwrap();
    d.users()
        .update(
            &me,
            c,
            u.id,
            UserPatch {
                display_name: Some(Some("Alice A".into())),
                ..UserPatch::default()
            },
        )
        .unwrap();
    let q = AuditQuery {
        action_prefix: Some("user.".into()),
        ..AuditQuery::tenant(c)
    };
    let events = d.audit().query(&sys(), &q).unwrap().events;
    let mine: Vec<_> = events
        .iter()
        .filter(|e| e.actor == "contoso/admin")
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].action, "user.create");
    assert_eq!(mine[0].target, "user:alice");
    assert_eq!(mine[0].kind, AuditKind::Change);
    assert!(mine[0].before.is_none());
    assert_eq!(mine[1].action, "user.update");
    assert_eq!(
        mine[1].before.as_ref().unwrap()["display_name"],
        serde_json::Value::Null
    );
    assert_eq!(mine[1].after.as_ref().unwrap()["display_name"], "Alice A");
    // A refused change leaves no trace.
    let before = d
        .audit()
        .query(&sys(), &AuditQuery::tenant(c))
        .unwrap()
        .events
        .len();
    assert!(d.users().create(&me, c, new_user("alice")).is_err());
    assert_eq!(
        d.audit()
            .query(&sys(), &AuditQuery::tenant(c))
            .unwrap()
            .events
            .len(),
        before
    );
}

#[test]
fn subtree_time_range_and_pages() {
    let tree = Tree::new();
    let d = tree.dir();
    let t0 = tree.td.clock.now();
    for (i, t) in [&tree.contoso, &tree.fabrikam, &tree.globex]
        .iter()
        .enumerate()
    {
        for j in 0..5 {
            d.users()
                .create(&sys(), t.id, new_user(&format!("u{i}{j}")))
                .unwrap();
            tree.td.clock.advance_secs(1);
        }
    }
    let user_events = AuditQuery {
        subtree: true,
        action_prefix: Some("user.create".into()),
        ..AuditQuery::tenant(tree.acme.id)
    };
    let all = d.audit().query(&sys(), &user_events).unwrap();
    assert_eq!(all.events.len(), 10); // contoso and fabrikam, not globex
    assert!(all.events.windows(2).all(|w| w[0].at <= w[1].at));
    // Pages of 3 give the same sequence.
    let mut q = AuditQuery {
        limit: Some(3),
        ..user_events.clone()
    };
    let mut paged = Vec::new();
    loop {
        let p = d.audit().query(&sys(), &q).unwrap();
        paged.extend(p.events);
        match p.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, all.events);
    // A time window: the first three seconds of contoso's writes.
    let window = AuditQuery {
        from: Some(t0),
        to: Some(t0.plus_secs(3)),
        ..user_events.clone()
    };
    assert_eq!(d.audit().query(&sys(), &window).unwrap().events.len(), 3);
    let none = AuditQuery {
        kind: Some(AuditKind::Authentication),
        ..user_events
    };
    assert!(d.audit().query(&sys(), &none).unwrap().events.is_empty());
}

#[test]
fn export_is_json_lines_and_needs_execute() {
    let tree = Tree::new();
    let d = tree.dir();
    let c = tree.contoso.id;
    d.users().create(&sys(), c, new_user("alice")).unwrap();
    let mut out = Vec::new();
    let n = d
        .audit()
        .export_jsonl(&sys(), &AuditQuery::tenant(c), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), n);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["action"].is_string() && v["at"].is_i64());
    }
    // A supervisor reads nothing of the audit log; an auditor reads and exports it; a security
    // officer reads but cannot export.
    let sup = tree.user_with_role(&tree.contoso, "sup", "Supervisor", &tree.contoso);
    assert_eq!(
        d.audit().query(&as_user(&sup), &AuditQuery::tenant(c)),
        Err(Error::NotFound)
    );
    let aud = tree.user_with_role(&tree.contoso, "aud", "Auditor", &tree.contoso);
    assert!(
        d.audit()
            .export_jsonl(&as_user(&aud), &AuditQuery::tenant(c), &mut Vec::new())
            .unwrap()
            > 0
    );
    let sec = tree.user_with_role(&tree.contoso, "sec", "Security Officer", &tree.contoso);
    assert!(d
        .audit()
        .query(&as_user(&sec), &AuditQuery::tenant(c))
        .is_ok());
    assert_eq!(
        d.audit()
            .export_jsonl(&as_user(&sec), &AuditQuery::tenant(c), &mut Vec::new()),
        Err(Error::Forbidden)
    );
}

#[test]
fn the_change_feed_reports_entities_in_commit_order() {
    let tree = Tree::new();
    let d = tree.dir();
    let start = d.last_change().unwrap();
    let u = d
        .users()
        .create(&sys(), tree.contoso.id, new_user("alice"))
        .unwrap();
    d.users().delete(&sys(), tree.contoso.id, u.id).unwrap();
    let feed = d.changes_since(start, 100).unwrap();
    use tessera_directory::EntityKind::*;
    let users: Vec<_> = feed
        .iter()
        .filter(|c| c.entity == User)
        .map(|c| (c.tenant, c.deleted))
        .collect();
    assert_eq!(
        users,
        vec![(tree.contoso.id, false), (tree.contoso.id, true)]
    );
    assert!(feed.iter().any(|c| c.entity == Audit));
    assert!(feed.windows(2).all(|w| w[0].seq <= w[1].seq));
    let last = d.last_change().unwrap();
    assert!(d.trim_changes(last).unwrap() > 0);
    assert!(d.changes_since(0, 100).unwrap().is_empty());
}
