//! Reading the audit log: queries by tenant (or its subtree, limited to the tenants where the
//! actor has Audit:Read), time range, kind and action, paginated oldest first with a stable
//! cursor, and export as JSON lines (Audit:Execute). The log is append-only: nothing here writes.

use super::{decode_cursor, encode_cursor};
use crate::actor::Actor;
use crate::error::Error;
use crate::model::{AuditEvent, AuditPage, AuditQuery, ListQuery, TenantId};
use crate::store::keys;
use crate::store::records::{audit_events, AUDIT_RECORD_SPAN_MICROS};
use crate::store::KeyRange;
use crate::Directory;
use std::io::Write;
use tessera_policy::{Area, Right, Timestamp};

/// The audit log. Obtain with [`Directory::audit`].
#[derive(Debug, Clone, Copy)]
pub struct AuditLog<'a> {
    dir: &'a Directory,
}

impl<'a> AuditLog<'a> {
    pub(crate) fn new(dir: &'a Directory) -> Self {
        AuditLog { dir }
    }

    /// The tenants a query reads: the tenant (Audit:Read required) and, for a subtree query,
    /// every descendant where the actor has Audit:Read.
    fn tenants(&self, actor: &Actor, q: &AuditQuery) -> Result<Vec<TenantId>, Error> {
        self.dir
            .require(actor, q.tenant, Area::Audit, Right::Read)?;
        let mut out = vec![q.tenant];
        if q.subtree {
            let tree = self.dir.cache().tree(self.dir.store())?;
            for t in tree.descendants(q.tenant) {
                if self.dir.rights(actor, t)?.grants(Area::Audit, Right::Read) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// One page of events, oldest first.
    pub fn query(&self, actor: &Actor, q: &AuditQuery) -> Result<AuditPage, Error> {
        let tenants = self.tenants(actor, q)?;
        // Authentication events are journalled in the background: read your own writes.
        self.dir.flush_audit();
        let limit = ListQuery {
            limit: q.limit,
            ..ListQuery::default()
        }
        .limit();
        let after = q.after.as_deref().map(decode_cursor).transpose()?;
        // A stored record holds one event or several the journal wrote together (in order,
        // keyed by the first, at most AUDIT_RECORD_SPAN_MICROS apart): every event at or after
        // a time `t` is in a record keyed from `t` minus that span on.
        let after_time = after.as_deref().and_then(keys::time_from_bytes);
        let since = match (q.from, after_time) {
            (Some(f), Some(a)) => Some(f.max(a)),
            (f, a) => f.or(a),
        };
        let start = since.map_or([0; 8], |t| {
            keys::time_bytes(Timestamp(t.0.saturating_sub(AUDIT_RECORD_SPAN_MICROS)))
        });
        let to = q.to.map(keys::time_bytes);
        // Each tenant contributes its first `limit + 1` matching events after the cursor; the
        // page is the smallest `limit` of their union, in (time, id) order.
        let mut found: Vec<(Vec<u8>, AuditEvent)> = Vec::new();
        for t in tenants {
            let p = keys::audit_log(t);
            let mut range = KeyRange::prefix_between(&p, &start, None);
            if let Some(to) = &to {
                range.end = Some(p.with_tail(to).as_bytes().to_vec());
            }
            let mut mine: Vec<(Vec<u8>, AuditEvent)> = Vec::new();
            loop {
                let rows = self.dir.store().scan(&range, 256, false)?;
                let Some((last, _)) = rows.last() else { break };
                let last = last.clone();
                for (_, e) in &rows {
                    for ev in audit_events(&e.value)? {
                        let mut tail = keys::time_bytes(ev.at).to_vec();
                        tail.extend_from_slice(ev.id.key_bytes());
                        let keep = after.as_ref().is_none_or(|c| tail > *c)
                            && q.from.is_none_or(|f| ev.at >= f)
                            && q.to.is_none_or(|to| ev.at < to)
                            && q.kind.is_none_or(|kd| ev.kind == kd)
                            && q.action_prefix
                                .as_deref()
                                .is_none_or(|a| ev.action.starts_with(a));
                        if keep {
                            mine.push((tail, ev));
                        }
                    }
                }
                // Enough once `limit + 1` events are found and the records still to come (each
                // keyed by its first event, after `last`) can hold none before them.
                if mine.len() > limit {
                    mine.sort_by(|a, b| a.0.cmp(&b.0));
                    mine.truncate(limit + 1);
                    let last_tail = last.tail(&p).unwrap_or_default();
                    if mine
                        .last()
                        .is_some_and(|(tail, _)| last_tail >= tail.as_slice())
                    {
                        break;
                    }
                }
                if rows.len() < 256 {
                    break;
                }
                let mut start = last.as_bytes().to_vec();
                start.push(0);
                range.start = start;
            }
            found.extend(mine);
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let next = (found.len() > limit)
            .then(|| found.get(limit - 1).map(|(k, _)| encode_cursor(k)))
            .flatten();
        found.truncate(limit);
        Ok(AuditPage {
            events: found.into_iter().map(|(_, e)| e).collect(),
            next,
        })
    }

    /// Writes every matching event as JSON lines, oldest first, each with an RFC 3339 `time`
    /// beside the numeric `at` (Audit:Read and Audit:Execute on the tenant). Returns how many
    /// were written.
    pub fn export_jsonl(
        &self,
        actor: &Actor,
        q: &AuditQuery,
        out: &mut dyn Write,
    ) -> Result<usize, Error> {
        self.dir
            .require(actor, q.tenant, Area::Audit, Right::Execute)?;
        let mut q = q.clone();
        q.limit = Some(ListQuery::MAX_LIMIT);
        let mut n = 0;
        loop {
            let page = self.query(actor, &q)?;
            for ev in &page.events {
                let mut v = serde_json::to_value(ev)
                    .map_err(|e| Error::Corrupt(format!("cannot encode an audit event: {e}")))?;
                if let Some(m) = v.as_object_mut() {
                    m.insert("time".into(), ev.at.to_rfc3339().into());
                }
                writeln!(out, "{v}").map_err(|e| Error::Output(e.to_string()))?;
                n += 1;
            }
            match page.next {
                Some(c) => q.after = Some(c),
                None => return Ok(n),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditKind;
    use crate::store::codec;
    use crate::store::records::{sample_login as login, AuditRecords};
    use crate::store::{Batch, Op};
    use crate::testkit::TestDirectory;

    fn append(d: &Directory, events: Vec<AuditEvent>) {
        let first = events.first().unwrap();
        let key = keys::audit(first.tenant, first.at, first.id);
        let value = if events.len() == 1 {
            codec::encode(&events[0]).unwrap()
        } else {
            codec::encode(&AuditRecords { events }).unwrap()
        };
        d.store()
            .commit(Batch {
                preconditions: vec![],
                ops: vec![Op::Append(key, value)],
            })
            .unwrap();
    }

    #[test]
    fn records_of_several_events_read_in_order_whatever_the_page_and_window() {
        let (td, root) = TestDirectory::with_root().unwrap();
        let (d, t) = (&td.dir, root.id);
        let base = d.now().0;
        // Two journal records whose times interleave, and a single event between them.
        append(
            d,
            vec![
                login(t, base, 1),
                login(t, base + 300_000, 2),
                login(t, base + 900_000, 3),
            ],
        );
        append(
            d,
            vec![
                login(t, base + 100_000, 4),
                login(t, base + 200_000, 5),
                login(t, base + 950_000, 6),
            ],
        );
        append(d, vec![login(t, base + 500_000, 7)]);
        let logins = AuditQuery {
            kind: Some(AuditKind::Authentication),
            ..AuditQuery::tenant(t)
        };
        let sys = Actor::system();
        let all = d.audit().query(&sys, &logins).unwrap();
        let order: Vec<u8> = all.events.iter().map(|e| e.id.key_bytes()[0]).collect();
        assert_eq!(order, vec![1, 4, 5, 2, 7, 3, 6]);
        assert!(all.next.is_none());
        for limit in 1..=4 {
            let mut q = AuditQuery {
                limit: Some(limit),
                ..logins.clone()
            };
            let mut paged = Vec::new();
            loop {
                let p = d.audit().query(&sys, &q).unwrap();
                assert!(p.events.len() <= limit);
                paged.extend(p.events);
                match p.next {
                    Some(n) => q.after = Some(n),
                    None => break,
                }
            }
            assert_eq!(paged, all.events, "pages of {limit}");
        }
        // A window that cuts through both records.
        let window = AuditQuery {
            from: Some(Timestamp(base + 150_000)),
            to: Some(Timestamp(base + 920_000)),
            ..logins
        };
        let inside: Vec<u8> = d
            .audit()
            .query(&sys, &window)
            .unwrap()
            .events
            .iter()
            .map(|e| e.id.key_bytes()[0])
            .collect();
        assert_eq!(inside, vec![5, 2, 7, 3]);
    }
}
