//! Writing audit events: every service writes its event inside its own transaction, so a change
//! and its record commit together or not at all. It owns the event construction and the
//! redaction of secrets from before/after summaries; it must not decide what is audited.

use crate::actor::Actor;
use crate::error::Error;
use crate::model::{AuditEvent, AuditKind, EventId, TenantId};
use crate::store::keys;
use crate::store::txn::Txn;
use crate::Directory;
use serde::Serialize;

/// Field names whose values never reach the audit log.
const SECRET_FIELDS: [&str; 4] = ["secret", "password", "password_hash", "totp_secret"];

/// A JSON summary of an object for the audit log, with secret fields replaced.
pub(crate) fn summary<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    let mut v = serde_json::to_value(value).ok()?;
    redact(&mut v);
    Some(v)
}

fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) {
                    *val = serde_json::Value::String("[redacted]".into());
                } else {
                    redact(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// An administrative change about to be recorded.
pub(crate) struct Change<'a> {
    pub(crate) tenant: TenantId,
    pub(crate) action: &'static str,
    pub(crate) target: String,
    pub(crate) before: Option<serde_json::Value>,
    pub(crate) after: Option<serde_json::Value>,
    pub(crate) actor: &'a Actor,
    pub(crate) actor_name: &'a str,
}

impl Directory {
    /// Records a successful administrative change in `tx`.
    pub(crate) fn record_change(&self, tx: &mut Txn<'_>, c: Change<'_>) -> Result<(), Error> {
        let id = EventId::from_uuid(self.ids().uuid());
        let at = tx.now();
        let ev = AuditEvent {
            id,
            tenant: c.tenant,
            at,
            kind: AuditKind::Change,
            actor: c.actor_name.to_string(),
            source: c.actor.source,
            protocol: c.actor.protocol,
            action: c.action.to_string(),
            target: c.target,
            application: None,
            outcome: "success".into(),
            reason: None,
            before: c.before,
            after: c.after,
        };
        tx.append(keys::audit(c.tenant, at, id), &ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let v = serde_json::json!({"name": "ap", "kind": {"type": "radius", "secret": "s3cr3t-s3cr3t-s3"}, "list": [{"password": "x"}]});
        let s = summary(&v).unwrap();
        assert_eq!(s["kind"]["secret"], "[redacted]");
        assert_eq!(s["list"][0]["password"], "[redacted]");
        assert_eq!(s["name"], "ap");
    }
}
