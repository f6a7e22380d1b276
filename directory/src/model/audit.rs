//! Audit events as stored and queried: who did what to which object, from where, with what
//! outcome, and a before/after summary. It owns the shapes; writing happens inside each service's
//! transaction, never on its own.

use super::{EventId, TenantId};
use crate::actor::Protocol;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use tessera_policy::Timestamp;

/// What sort of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// An administrative change.
    Change,
    /// An authentication attempt.
    Authentication,
}

/// One entry of a tenant's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id.
    pub id: EventId,
    /// The tenant whose log holds it.
    pub tenant: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// Change or authentication.
    pub kind: AuditKind,
    /// Who acted: `system`, or `<tenant slug>/<username>`.
    pub actor: String,
    /// Where the request came from, when known.
    #[serde(default)]
    pub source: Option<IpAddr>,
    /// Through which surface.
    pub protocol: Protocol,
    /// What was done, e.g. `user.create`.
    pub action: String,
    /// What it was done to, e.g. `user:alice`.
    pub target: String,
    /// For authentications: the application used (LDAP service, RADIUS client, SAML SP).
    #[serde(default)]
    pub application: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Why, for failures and notable outcomes.
    #[serde(default)]
    pub reason: Option<String>,
    /// The object before the change (secrets redacted).
    #[serde(default)]
    pub before: Option<serde_json::Value>,
    /// The object after the change (secrets redacted).
    #[serde(default)]
    pub after: Option<serde_json::Value>,
}

/// Which events to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The tenant whose log to read.
    pub tenant: TenantId,
    /// Also read every descendant's log (those the actor may read).
    pub subtree: bool,
    /// From this time on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this time (exclusive).
    pub to: Option<Timestamp>,
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only actions starting with this (e.g. `user.`).
    pub action_prefix: Option<String>,
    /// Continue after this cursor.
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// Everything in one tenant's own log.
    pub fn tenant(tenant: TenantId) -> Self {
        AuditQuery {
            tenant,
            subtree: false,
            from: None,
            to: None,
            kind: None,
            action_prefix: None,
            after: None,
            limit: None,
        }
    }
}

/// A page of audit events, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// Cursor for the next page, if any.
    pub next: Option<String>,
}
