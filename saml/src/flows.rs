//! Logins in progress at the login page: what was asked (the SP, its ACS URL, the request to
//! answer, RelayState), the CSRF token of the form, and the step reached — a state the next
//! submission consumes (taken out of the table, the next state put back), so one form cannot be
//! answered twice. Bounded and expiring, in memory: a restart sends users back to their
//! application. It must not authenticate anyone itself.

use crate::error::Error;
use base64::Engine;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use subtle::ConstantTimeEq;
use tessera_directory::model::{AppId, TenantId, UserId};
use tessera_directory::policy::Timestamp;
use tessera_directory::MfaPending;

/// Logins in progress at once, over every tenant.
pub const MAX_FLOWS: usize = 10_000;
/// How long a login may take.
pub const FLOW_TTL_SECS: i64 = 600;

/// What a login is for, once its request passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) tenant: TenantId,
    pub(crate) app: AppId,
    pub(crate) acs_url: String,
    /// The AuthnRequest answered (`None`: IdP-initiated).
    pub(crate) in_response_to: Option<String>,
    pub(crate) relay_state: Option<String>,
}

/// Where a login stands. Each submission consumes the state and yields the next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Waiting for username and password.
    Password,
    /// The password was right; waiting for the TOTP code (the core's single-use step).
    Code(MfaPending),
    /// The password was right but has expired: waiting for the current and a new one.
    ChangePassword(UserId),
}

/// Which form a login in progress shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Password,
    Code,
    ChangePassword,
}

/// One login in progress.
#[derive(Debug)]
pub(crate) struct Flow {
    pub(crate) pending: Pending,
    pub(crate) step: Step,
    csrf: String,
    expires: Timestamp,
}

impl Flow {
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The secret naming a flow (its cookie's value).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct FlowId(String);

impl FlowId {
    pub(crate) fn new(s: &str) -> Self {
        FlowId(s.to_string())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

fn random_token() -> String {
    let b: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The table of logins in progress.
#[derive(Debug, Default)]
pub(crate) struct Flows {
    map: Mutex<HashMap<FlowId, Flow>>,
}

impl Flows {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FlowId, Flow>> {
        // A panic elsewhere while holding the lock leaves a usable map: every entry is whole.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a login at the password step.
    pub(crate) fn start(&self, pending: Pending, now: Timestamp) -> Result<FlowId, Error> {
        let mut map = self.lock();
        if map.len() >= MAX_FLOWS {
            map.retain(|_, f| now < f.expires);
            if map.len() >= MAX_FLOWS {
                return Err(Error::Busy);
            }
        }
        let id = FlowId(random_token());
        map.insert(
            id.clone(),
            Flow {
                pending,
                step: Step::Password,
                csrf: random_token(),
                expires: now.plus_secs(FLOW_TTL_SECS),
            },
        );
        Ok(id)
    }

    /// The CSRF token and the form of the step reached, to render the form again.
    pub(crate) fn peek(
        &self,
        id: &FlowId,
        tenant: TenantId,
        now: Timestamp,
    ) -> Option<(String, Form)> {
        let map = self.lock();
        let f = map.get(id)?;
        (f.pending.tenant == tenant && now < f.expires).then(|| {
            let form = match f.step {
                Step::Password => Form::Password,
                Step::Code(_) => Form::Code,
                Step::ChangePassword(_) => Form::ChangePassword,
            };
            (f.csrf.clone(), form)
        })
    }

    /// Takes a login out of the table for its next step: it must be of this tenant, live, and
    /// the form's CSRF token must match.
    pub(crate) fn take(
        &self,
        id: &FlowId,
        csrf: &str,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<Flow, Error> {
        let mut map = self.lock();
        let ok = map.get(id).is_some_and(|f| {
            f.pending.tenant == tenant
                && now < f.expires
                && bool::from(f.csrf.as_bytes().ct_eq(csrf.as_bytes()))
        });
        if !ok {
            return Err(Error::BadFlow);
        }
        map.remove(id).ok_or(Error::BadFlow)
    }

    /// Puts a login back at `step`.
    pub(crate) fn put(&self, id: FlowId, mut flow: Flow, step: Step) {
        flow.step = step;
        self.lock().insert(id, flow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(t: TenantId) -> Pending {
        Pending {
            tenant: t,
            app: AppId::from_uuid(Default::default()),
            acs_url: "https://sp/acs".into(),
            in_response_to: Some("_r".into()),
            relay_state: None,
        }
    }

    #[test]
    fn a_flow_is_taken_once_with_its_csrf_token_in_its_tenant_before_it_expires() {
        let flows = Flows::default();
        let t = TenantId::from_uuid(Default::default());
        let other: TenantId = "00000000-0000-0000-0000-000000000001".parse().unwrap();
        let now = Timestamp::from_secs(1_000);
        let id = flows.start(pending(t), now).unwrap();
        let (csrf, form) = flows.peek(&id, t, now).unwrap();
        assert_eq!(form, Form::Password);
        assert!(flows.peek(&id, other, now).is_none());
        assert_eq!(
            flows.take(&id, "wrong", t, now).unwrap_err(),
            Error::BadFlow
        );
        assert_eq!(
            flows.take(&id, &csrf, other, now).unwrap_err(),
            Error::BadFlow
        );
        let f = flows.take(&id, &csrf, t, now).unwrap();
        assert_eq!(flows.take(&id, &csrf, t, now).unwrap_err(), Error::BadFlow);
        flows.put(id.clone(), f, Step::Password);
        let late = now.plus_secs(FLOW_TTL_SECS);
        assert_eq!(flows.take(&id, &csrf, t, late).unwrap_err(), Error::BadFlow);
        assert_eq!(format!("{id:?}"), "[redacted]");
    }
}
