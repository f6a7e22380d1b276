//! Reading the audit log: queries by tenant (or its subtree, limited to the tenants where the
//! actor has Audit:Read), time range, kind and action, paginated oldest first with a stable
//! cursor, and export as JSON lines (Audit:Execute). The log is append-only: nothing here writes.

use super::{decode_cursor, encode_cursor};
use crate::actor::Actor;
use crate::error::Error;
use crate::model::{AuditEvent, AuditPage, AuditQuery, ListQuery, TenantId};
use crate::store::keys;
use crate::store::KeyRange;
use crate::Directory;
use std::io::Write;
use tessera_policy::{Area, Right};

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
        let from = q.from.map(keys::time_bytes).unwrap_or([0; 8]);
        let to = q.to.map(keys::time_bytes);
        // Each tenant contributes its first `limit + 1` matching events after the cursor; the
        // page is the smallest `limit` of their union, in (time, id) order.
        let mut found: Vec<(Vec<u8>, AuditEvent)> = Vec::new();
        for t in tenants {
            let p = keys::audit_log(t);
            let mut range = match &after {
                Some(c) if c.as_slice() >= from.as_slice() => KeyRange::prefix_after(&p, c),
                _ => KeyRange::prefix_between(&p, &from, None),
            };
            if let Some(to) = &to {
                range.end = Some(p.with_tail(to).as_bytes().to_vec());
            }
            let mut matched = 0;
            loop {
                let rows = self.dir.store().scan(&range, 256, false)?;
                let Some((last, _)) = rows.last() else { break };
                let last = last.clone();
                for (k, e) in &rows {
                    let ev: AuditEvent = crate::store::codec::decode(&e.value)?;
                    let keep = q.kind.is_none_or(|kd| ev.kind == kd)
                        && q.action_prefix
                            .as_deref()
                            .is_none_or(|a| ev.action.starts_with(a));
                    if keep {
                        let tail = k.tail(&p).map(<[u8]>::to_vec).unwrap_or_default();
                        found.push((tail, ev));
                        matched += 1;
                    }
                }
                if matched > limit || rows.len() < 256 {
                    break;
                }
                let mut start = last.as_bytes().to_vec();
                start.push(0);
                range.start = start;
            }
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
