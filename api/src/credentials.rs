//! Users' credentials over HTTP: status (never secrets), setting a password, unlocking, and
//! TOTP enrolment, confirmation and reset. It only carries requests to `Credentials`: password
//! rules, hashing, sealing of seeds and authorisation are the core's. The TOTP seed of an
//! enrolment is shown once, in the answer to the enrolment.

use crate::auth::Caller;
use crate::dto::{time, Secret};
use crate::extract::{Json, Path};
use crate::problem::{Problem, Problems};
use crate::users::{resolve, UserPath};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tessera_directory::model::{CredentialStatus, TotpStatus};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(status))
        .routes(routes!(set_password))
        .routes(routes!(unlock))
        .routes(routes!(enroll_totp, reset_totp))
        .routes(routes!(confirm_totp))
}

/// Where a user stands with TOTP.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TotpState {
    /// No seed.
    None,
    /// Enrolled, waiting for the first code.
    Pending,
    /// In use.
    Active,
}

/// What may be known about a user's credentials: never the secrets.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Credentials {
    /// Whether a password is set.
    has_password: bool,
    /// When it was set.
    password_set_at: Option<String>,
    /// When it expires under the tenant's policy, if it does.
    password_expires_at: Option<String>,
    /// Whether the user must change it at next login.
    must_change: bool,
    /// Until when the account is locked, if it is.
    locked_until: Option<String>,
    /// Recent failed attempts counted towards the lockout.
    recent_failures: usize,
    /// TOTP state.
    totp: TotpState,
}

impl From<CredentialStatus> for Credentials {
    fn from(c: CredentialStatus) -> Self {
        Credentials {
            has_password: c.has_password,
            password_set_at: c.password_set_at.map(time),
            password_expires_at: c.password_expires_at.map(time),
            must_change: c.must_change,
            locked_until: c.locked_until.map(time),
            recent_failures: c.recent_failures,
            totp: match c.totp {
                TotpStatus::None => TotpState::None,
                TotpStatus::Pending => TotpState::Pending,
                TotpStatus::Active => TotpState::Active,
            },
        }
    }
}

/// A user's credential status (Credentials:Read, or the user itself).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users/{username}/credentials",
    operation_id = "credentials_status",
    tag = "credentials",
    params(UserPath),
    responses((status = 200, body = Credentials), Problems)
)]
pub(crate) async fn status(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<axum::Json<Credentials>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        Ok(axum::Json(
            d.credentials().status(&actor, t.id, u.id)?.into(),
        ))
    })
    .await
}

/// A password set by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPassword {
    /// The new password; it must meet the tenant's policy.
    #[schema(value_type = String)]
    password: Secret,
    /// Make the user change it at next login.
    #[serde(default)]
    must_change: bool,
}

/// Sets a user's password (Credentials:Execute). A password that breaks the policy is
/// `422 weak-password` listing every problem.
#[utoipa::path(
    put,
    path = "/tenants/{slug}/users/{username}/password",
    operation_id = "credentials_set_password",
    tag = "credentials",
    params(UserPath),
    request_body = SetPassword,
    responses((status = 204, description = "Set"), Problems)
)]
pub(crate) async fn set_password(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Json(req): Json<SetPassword>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        d.credentials()
            .set_password(&actor, t.id, u.id, req.password.expose(), req.must_change)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Lifts a lockout now (Credentials:Execute).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/users/{username}/unlock",
    operation_id = "credentials_unlock",
    tag = "credentials",
    params(UserPath),
    responses((status = 204, description = "Unlocked"), Problems)
)]
pub(crate) async fn unlock(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        d.credentials().unlock(&actor, t.id, u.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// A new TOTP seed, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TotpEnrolment {
    /// The seed as an `otpauth://totp/…` URL.
    #[schema(value_type = String)]
    otpauth_url: Secret,
    /// The same URL as a QR code: base64 of a PNG image.
    #[schema(value_type = String)]
    qr_png: Secret,
}

/// Starts TOTP enrolment (the user, or Credentials:Execute): a new seed that counts only once
/// confirmed with a first code. An active seed must be reset first (`409 already-exists`).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/users/{username}/totp",
    operation_id = "credentials_enroll_totp",
    tag = "credentials",
    params(UserPath),
    responses((status = 201, body = TotpEnrolment), Problems)
)]
pub(crate) async fn enroll_totp(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<(StatusCode, axum::Json<TotpEnrolment>), Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        let e = d.credentials().enroll_totp(&actor, t.id, u.id)?;
        Ok((
            StatusCode::CREATED,
            axum::Json(TotpEnrolment {
                otpauth_url: Secret::new(e.url.as_str()),
                qr_png: Secret::new(base64::engine::general_purpose::STANDARD.encode(&e.qr_png)),
            }),
        ))
    })
    .await
}

/// A first TOTP code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmTotp {
    /// The code the authenticator app shows.
    #[schema(value_type = String)]
    code: Secret,
}

/// Confirms a pending enrolment with a first code (the user, or Credentials:Execute). A wrong
/// code is `403 wrong-credentials`; no pending enrolment is `404`.
#[utoipa::path(
    post,
    path = "/tenants/{slug}/users/{username}/totp/confirm",
    operation_id = "credentials_confirm_totp",
    tag = "credentials",
    params(UserPath),
    request_body = ConfirmTotp,
    responses((status = 204, description = "TOTP is active"), Problems)
)]
pub(crate) async fn confirm_totp(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Json(req): Json<ConfirmTotp>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        d.credentials()
            .confirm_totp(&actor, t.id, u.id, req.code.expose())?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Removes a user's TOTP (Credentials:Execute): they enrol again at their next login where
/// MFA is required. No TOTP is `404`.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/users/{username}/totp",
    operation_id = "credentials_reset_totp",
    tag = "credentials",
    params(UserPath),
    responses((status = 204, description = "Removed"), Problems)
)]
pub(crate) async fn reset_totp(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        d.credentials().reset_totp(&actor, t.id, u.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
