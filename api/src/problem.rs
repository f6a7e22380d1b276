//! RFC 7807 problem documents: the one exhaustive mapping from `directory::Error` to an HTTP
//! status and a stable problem `type`, and the problems the API raises itself (bad bodies,
//! authentication, login steps). It must not put `Debug` text or internal error details on the
//! wire: internal failures are logged here and answered with a generic detail.

use crate::dto::Secret;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_directory::Error;
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder, ResponsesBuilder};
use utoipa::{IntoResponses, ToSchema};

/// The prefix of every problem `type`.
pub(crate) const TYPE_PREFIX: &str = "urn:tessera:problem:";

/// The media type of problem documents.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Why a password was refused, as the policy says it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct PasswordProblem {
    /// A stable name, e.g. `too_short`, `common`, `reused`.
    kind: String,
    /// A sentence fit to show the user.
    message: String,
    /// Extra facts, e.g. `min` for `too_short`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    facts: serde_json::Map<String, serde_json::Value>,
}

/// An RFC 7807 problem document. `type` is one of `urn:tessera:problem:` followed by
/// `not-found`, `no-such-route`, `method-not-allowed`, `forbidden`, `escalation`, `invalid`,
/// `invalid-body`, `invalid-query`, `body-too-large`, `kind-not-allowed`, `weak-password`,
/// `already-exists`, `not-empty`, `cycle`, `locked`, `not-allowed`, `already-initialised`,
/// `conflict`, `unauthenticated`, `invalid-credentials`, `wrong-credentials`, `mfa-required`,
/// `mfa-enrolment-required`, `password-change-required`, `busy` or `internal`. The optional
/// members are extensions present only for the types that use them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Problem)]
pub(crate) struct Body {
    /// The stable problem type.
    #[serde(rename = "type")]
    type_: String,
    /// A short summary of the type.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What happened here.
    detail: String,
    /// `invalid`: the field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// `already-exists`, `not-empty`: what is taken or left.
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<String>,
    /// `kind-not-allowed`: the parent's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_kind: Option<String>,
    /// `kind-not-allowed`: the refused kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    child_kind: Option<String>,
    /// `weak-password`: every problem of the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<Vec<PasswordProblem>>,
    /// `escalation`: the rights (`area:right`) the caller lacks to grant this.
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<Vec<String>>,
    /// `mfa-enrolment-required`, `password-change-required`: the single-purpose token for the
    /// next step (`POST /api/v1/auth/enrol` or `POST /api/v1/auth/password`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    step_token: Option<Secret>,
    /// When the step token stops working (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    step_expires_at: Option<String>,
    /// `mfa-enrolment-required`: the new TOTP seed as an `otpauth://` URL (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    otpauth_url: Option<Secret>,
    /// `mfa-enrolment-required`: the same URL as a QR code, base64 of a PNG image.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    qr_png: Option<Secret>,
}

/// A problem to answer with: a document, its status and the headers that go with it.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    status: StatusCode,
    // Boxed: problems travel in every `Result` of the crate.
    body: Box<Body>,
    retry_after_secs: Option<u32>,
}

impl Problem {
    pub(crate) fn new(
        status: StatusCode,
        kind: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            body: Box::new(Body {
                type_: format!("{TYPE_PREFIX}{kind}"),
                title,
                status: status.as_u16(),
                detail: detail.into(),
                field: None,
                what: None,
                parent_kind: None,
                child_kind: None,
                problems: None,
                missing: None,
                step_token: None,
                step_expires_at: None,
                otpauth_url: None,
                qr_png: None,
            }),
            retry_after_secs: None,
        }
    }

    pub(crate) fn not_found() -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "no such object, or you may not see it",
        )
    }

    pub(crate) fn no_such_route() -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-such-route",
            "No such route",
            "this URL is not part of the API; see /api/v1/openapi.json",
        )
    }

    pub(crate) fn method_not_allowed() -> Self {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this URL does not answer this method; see /api/v1/openapi.json",
        )
    }

    pub(crate) fn unauthenticated(detail: &str) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Not authenticated",
            detail,
        )
    }

    /// A field's value is not acceptable (422), for values the API checks itself (times,
    /// networks, names that name nothing).
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Invalid value",
            format!("invalid {field}: {reason}"),
        );
        p.body.field = Some(field.to_string());
        p
    }

    /// A request body that could not be read as the operation's JSON.
    pub(crate) fn invalid_body(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem::new(status, "invalid-body", "Invalid request body", detail)
    }

    pub(crate) fn body_too_large(limit: usize) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("request bodies are limited to {limit} bytes"),
        )
    }

    pub(crate) fn invalid_query(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "Invalid query string",
            detail,
        )
    }

    /// One answer for every refused login, whatever the reason (the audit log keeps it).
    pub(crate) fn invalid_credentials() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "Invalid credentials",
            "the tenant, username, password or code is wrong, or the account cannot log in",
        )
    }

    pub(crate) fn mfa_required() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "mfa-required",
            "TOTP code required",
            "the password is right; send it again with the current TOTP code in `totp`",
        )
    }

    pub(crate) fn mfa_enrolment_required(
        step_token: Secret,
        step_expires_at: Option<String>,
        otpauth_url: Secret,
        qr_png: Secret,
    ) -> Self {
        let mut p = Problem::new(
            StatusCode::UNAUTHORIZED,
            "mfa-enrolment-required",
            "TOTP enrolment required",
            "add the TOTP seed to an authenticator app, then send the step token and a first \
             code to POST /api/v1/auth/enrol",
        );
        p.body.step_token = Some(step_token);
        p.body.step_expires_at = step_expires_at;
        p.body.otpauth_url = Some(otpauth_url);
        p.body.qr_png = Some(qr_png);
        p
    }

    pub(crate) fn password_change_required(
        step_token: Secret,
        step_expires_at: Option<String>,
    ) -> Self {
        let mut p = Problem::new(
            StatusCode::UNAUTHORIZED,
            "password-change-required",
            "Password change required",
            "the password has expired or must be changed: send the step token and a new \
             password to POST /api/v1/auth/password, then log in again",
        );
        p.body.step_token = Some(step_token);
        p.body.step_expires_at = step_expires_at;
        p
    }

    pub(crate) fn busy() -> Self {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Busy",
            "the password service is saturated; nothing was changed, try again shortly",
        );
        p.retry_after_secs = Some(1);
        p
    }

    pub(crate) fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed to complete the request; the failure was logged",
        )
    }

    fn logged_internal(what: &str, message: &str) -> Self {
        tracing::error!(error = message, "{what}");
        Problem::internal()
    }
}

/// The one mapping from the directory's errors to problems. Exhaustive on purpose: a new
/// variant must fail this build until it is mapped.
impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::NotFound => Problem::not_found(),
            Error::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "you may see this object but lack the right to do this",
            ),
            Error::Escalation(esc) => {
                let mut p = Problem::new(StatusCode::FORBIDDEN, "escalation", "Escalation", detail);
                p.body.missing = Some(
                    esc.missing
                        .iter()
                        .map(|(a, r)| format!("{}:{}", a.as_str(), r.as_str()))
                        .collect(),
                );
                p
            }
            Error::Invalid { field, .. } => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    "Invalid value",
                    detail,
                );
                p.body.field = Some(field.to_string());
                p
            }
            Error::AlreadyExists { what } => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "already-exists",
                    "Already exists",
                    detail,
                );
                p.body.what = Some(what.to_string());
                p
            }
            Error::KindNotAllowed { parent, child } => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "kind-not-allowed",
                    "Kind not allowed here",
                    detail,
                );
                p.body.parent_kind = Some(parent.as_str().to_string());
                p.body.child_kind = Some(child.as_str().to_string());
                p
            }
            Error::NotEmpty { what } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "not-empty", "Not empty", detail);
                p.body.what = Some(what.to_string());
                p
            }
            Error::Cycle => Problem::new(StatusCode::CONFLICT, "cycle", "Cycle", detail),
            Error::Locked => Problem::new(StatusCode::CONFLICT, "locked", "Locked", detail),
            Error::NotAllowed(_) => {
                Problem::new(StatusCode::CONFLICT, "not-allowed", "Not allowed", detail)
            }
            Error::AlreadyInitialised => Problem::new(
                StatusCode::CONFLICT,
                "already-initialised",
                "Already initialised",
                detail,
            ),
            Error::Conflict => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Concurrent change",
                detail,
            ),
            Error::WeakPassword(problems) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "weak-password",
                    "Weak password",
                    "the password does not meet the tenant's policy",
                );
                p.body.problems = Some(
                    problems
                        .iter()
                        .map(|pp| {
                            let mut facts = match serde_json::to_value(pp) {
                                Ok(serde_json::Value::Object(m)) => m,
                                _ => serde_json::Map::new(),
                            };
                            let kind = match facts.remove("kind") {
                                Some(serde_json::Value::String(k)) => k,
                                _ => "other".to_string(),
                            };
                            PasswordProblem {
                                kind,
                                message: pp.to_string(),
                                facts,
                            }
                        })
                        .collect(),
                );
                p
            }
            Error::Unauthenticated => Problem::unauthenticated(
                "the token is unknown, expired or revoked, or its user can no longer act",
            ),
            Error::WrongCredentials => Problem::new(
                StatusCode::FORBIDDEN,
                "wrong-credentials",
                "Wrong credentials",
                detail,
            ),
            Error::Busy => Problem::busy(),
            Error::Corrupt(m) => Problem::logged_internal("stored data is unreadable", &m),
            Error::MasterKey(m) => Problem::logged_internal("master key failure", &m),
            Error::Output(m) => Problem::logged_internal("writing output failed", &m),
            Error::Storage(m) => Problem::logged_internal("storage failure", &m),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = match serde_json::to_vec(&self.body) {
            Ok(b) => b,
            Err(_) => b"{\"type\":\"urn:tessera:problem:internal\"}".to_vec(),
        };
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
        }
        if let Some(s) = self.retry_after_secs {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read: the connection cannot carry another request.
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// The error responses every operation may give, for the OpenAPI description.
pub(crate) struct Problems;

impl IntoResponses for Problems {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let content = || {
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    Body::name(),
                ))))
                .build()
        };
        ResponsesBuilder::new()
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description(
                        "A problem document: the request was refused (see `type`). A missing \
                         object and one you may not see both answer 404 `not-found`.",
                    )
                    .content(PROBLEM_JSON, content()),
            )
            .response(
                "5XX",
                ResponseBuilder::new()
                    .description("A problem document: `busy` (retry) or `internal`")
                    .content(PROBLEM_JSON, content()),
            )
            .build()
            .responses
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use tessera_directory::policy::rbac::Escalation;
    use tessera_directory::policy::{Area, Right};

    fn render(e: Error) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let p = Problem::from(e);
        let body = serde_json::to_value(&*p.body).unwrap();
        let res = p.into_response();
        (res.status(), res.headers().clone(), body)
    }

    #[test]
    fn internal_failures_say_nothing_about_themselves() {
        for e in [
            Error::Storage("sled: /var/lib/tessera is full".into()),
            Error::Corrupt("record user/42 bad msgpack".into()),
            Error::MasterKey("key file /etc/tessera/key".into()),
            Error::Output("broken pipe".into()),
        ] {
            let (status, _, body) = render(e);
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(body["type"], "urn:tessera:problem:internal");
            let text = body.to_string();
            for leak in ["sled", "/var", "msgpack", "/etc", "pipe"] {
                assert!(!text.contains(leak), "{text}");
            }
        }
    }

    #[test]
    fn statuses_types_and_headers() {
        let (s, h, b) = render(Error::Busy);
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(h[header::RETRY_AFTER], "1");
        assert_eq!(b["type"], "urn:tessera:problem:busy");
        let (s, h, _) = render(Error::Unauthenticated);
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(h.contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(h[header::CONTENT_TYPE], PROBLEM_JSON);
        let (s, _, b) = render(Error::Escalation(Escalation {
            missing: vec![(Area::Users, Right::Write), (Area::Audit, Right::Read)],
        }));
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            b["missing"],
            serde_json::json!(["users:write", "audit:read"])
        );
        let (s, _, b) = render(Error::Invalid {
            field: "slug",
            reason: "lower-case letters".into(),
        });
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b["field"], "slug");
        for (e, status, kind) in [
            (Error::NotFound, 404, "not-found"),
            (Error::Forbidden, 403, "forbidden"),
            (Error::WrongCredentials, 403, "wrong-credentials"),
            (
                Error::AlreadyExists { what: "username" },
                409,
                "already-exists",
            ),
            (Error::NotEmpty { what: "users" }, 409, "not-empty"),
            (Error::Cycle, 409, "cycle"),
            (Error::Locked, 409, "locked"),
            (Error::NotAllowed("no"), 409, "not-allowed"),
            (Error::AlreadyInitialised, 409, "already-initialised"),
            (Error::Conflict, 409, "conflict"),
            (Error::WeakPassword(vec![]), 422, "weak-password"),
        ] {
            let (s, _, b) = render(e);
            assert_eq!(s.as_u16(), status);
            assert_eq!(b["type"], format!("{TYPE_PREFIX}{kind}"));
            assert_eq!(b["status"], status);
        }
    }

    #[test]
    fn step_secrets_do_not_print() {
        let p = Problem::mfa_enrolment_required(
            Secret::new("tsr_step"),
            None,
            Secret::new("otpauth://totp/x?secret=ABC"),
            Secret::new("iVBOR"),
        );
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("tsr_step") && !dbg.contains("ABC") && !dbg.contains("iVBOR"));
    }
}
