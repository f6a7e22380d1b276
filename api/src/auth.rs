//! Who is calling: the bearer-token extractor (token → `Actor` through
//! `Directory::resolve_token`, on a blocking thread) and the login routes — login with the
//! TOTP and password-change steps, logout, the caller's own view and password change. It must
//! not verify secrets itself nor say why a login was refused: every refusal but "busy" is one
//! `invalid-credentials` answer, and the core's audit log keeps the reason.
//!
//! Logins are rate-limited by the core: failures count towards the account lockout, and
//! password verification runs on its bounded hashing pool ("busy" → 503 with `Retry-After`).

use crate::dto::{time, RightsDto, Secret};
use crate::extract::Json;
use crate::problem::{Problem, Problems};
use crate::tenants::TenantDto;
use crate::users::UserDto;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use tessera_directory::model::{IssuedToken, TenantId, TokenKind, UserId};
use tessera_directory::{
    Actor, AuthRequest, Directory, Login, Outcome, Principal, Protocol, TenantRef,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(login))
        .routes(routes!(enrol))
        .routes(routes!(change_expired_password))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_own_password))
}

/// Where the request came from, when the server knows (it is served with connect info).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Source(source_of(parts)))
    }
}

fn source_of(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The authenticated caller: the actor its bearer token speaks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller(pub(crate) Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts)?;
        let source = source_of(parts);
        let actor = state
            .run(move |d| Ok(d.resolve_token(token.expose(), source)?))
            .await?;
        Ok(Caller(actor))
    }
}

fn bearer(parts: &Parts) -> Result<Secret, Problem> {
    let missing = || Problem::unauthenticated("send `Authorization: Bearer <token>`");
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(Secret::new(token))
}

/// The caller's tenant and user.
pub(crate) fn whoami(actor: &Actor) -> Result<(TenantId, UserId), Problem> {
    match actor.principal {
        Principal::User { tenant, user } => Ok((tenant, user)),
        Principal::System => Err(Problem::internal()),
    }
}

/// A login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// The slug of the user's tenant.
    tenant: String,
    /// The username (case-insensitive).
    username: String,
    /// The password.
    #[schema(value_type = String)]
    password: Secret,
    /// The current TOTP code, when the admin MFA policy requires one (it does by default).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Secret>,
}

/// An open session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Session {
    /// The bearer token (shown once).
    #[schema(value_type = String)]
    token: Secret,
    /// When it stops working (RFC 3339).
    expires_at: Option<String>,
    /// Who it speaks for.
    user: UserDto,
    /// The user's tenant.
    tenant: TenantDto,
}

fn session(
    d: &Directory,
    issued: &IssuedToken,
    source: Option<IpAddr>,
) -> Result<Session, Problem> {
    let me = d.resolve_token(issued.secret.expose(), source)?;
    let t = d.tenants().get(&me, issued.token.tenant)?;
    let u = d.users().get(&me, issued.token.tenant, issued.token.user)?;
    Ok(Session {
        token: Secret::new(issued.secret.expose()),
        expires_at: issued.token.expires_at.map(time),
        user: UserDto::new(u, &t.slug),
        tenant: TenantDto::plain(t),
    })
}

/// Logs in: a session, or a problem saying which step comes next.
///
/// `401 mfa-required`: send the password again with `totp`. `401 mfa-enrolment-required`: the
/// problem carries a step token and the new TOTP seed (`otpauth_url`, `qr_png`); confirm with
/// `POST /auth/enrol`. `401 password-change-required`: the problem carries a step token for
/// `POST /auth/password`. Every refusal is `401 invalid-credentials`; `503 busy` means retry.
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "auth_login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses((status = 200, description = "A session", body = Session), Problems)
)]
pub(crate) async fn login(
    State(st): State<AppState>,
    Source(source): Source,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<Session>, Problem> {
    let ttl = st.config.session_ttl_secs;
    st.run(move |d| {
        let auth = AuthRequest {
            tenant: TenantRef::Slug(&req.tenant),
            username: &req.username,
            secret: req.password.expose(),
            second_factor: req.totp.as_ref().map(Secret::expose),
            protocol: Protocol::Admin,
            application: None,
            source,
        };
        match d.login(&auth, ttl)? {
            Login::Session(issued) => session(d, &issued, source).map(axum::Json),
            Login::NeedCode => Err(Problem::mfa_required()),
            Login::NeedEnrolment { step, enrolment } => Err(Problem::mfa_enrolment_required(
                Secret::new(step.secret.expose()),
                step.token.expires_at.map(time),
                Secret::new(enrolment.url.as_str()),
                Secret::new(base64::engine::general_purpose::STANDARD.encode(&enrolment.qr_png)),
            )),
            Login::MustChangePassword { step } => Err(Problem::password_change_required(
                Secret::new(step.secret.expose()),
                step.token.expires_at.map(time),
            )),
            Login::Refused(outcome) => Err(refusal(&outcome)),
        }
    })
    .await
}

/// How a refused login answers: one answer for every reason but "busy".
fn refusal(o: &Outcome) -> Problem {
    match o {
        Outcome::Busy => Problem::busy(),
        Outcome::Success(_)
        | Outcome::BadCredentials
        | Outcome::Locked { .. }
        | Outcome::Expired { .. }
        | Outcome::Suspended
        | Outcome::MfaRequired(_)
        | Outcome::MfaFailed
        | Outcome::NotAllowed => Problem::invalid_credentials(),
    }
}

/// The TOTP enrolment step of a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrolRequest {
    /// The step token from the `mfa-enrolment-required` problem.
    #[schema(value_type = String)]
    step_token: Secret,
    /// A first code from the authenticator app.
    #[schema(value_type = String)]
    code: Secret,
}

/// Finishes a login that had to enrol TOTP: confirms the seed with a first code and opens the
/// session. A wrong code is `403 wrong-credentials` and counts towards the lockout.
#[utoipa::path(
    post,
    path = "/auth/enrol",
    operation_id = "auth_enrol",
    tag = "auth",
    security(()),
    request_body = EnrolRequest,
    responses((status = 200, description = "A session", body = Session), Problems)
)]
pub(crate) async fn enrol(
    State(st): State<AppState>,
    Source(source): Source,
    Json(req): Json<EnrolRequest>,
) -> Result<axum::Json<Session>, Problem> {
    let ttl = st.config.session_ttl_secs;
    st.run(move |d| {
        let issued = d.finish_enrolment(req.step_token.expose(), req.code.expose(), source, ttl)?;
        session(d, &issued, source).map(axum::Json)
    })
    .await
}

/// The password-change step of a login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpiredPasswordRequest {
    /// The step token from the `password-change-required` problem.
    #[schema(value_type = String)]
    step_token: Secret,
    /// The new password.
    #[schema(value_type = String)]
    new_password: Secret,
}

/// Sets a new password for a login that found the old one expired; then log in again.
#[utoipa::path(
    post,
    path = "/auth/password",
    operation_id = "auth_change_expired_password",
    tag = "auth",
    security(()),
    request_body = ExpiredPasswordRequest,
    responses((status = 204, description = "Changed; log in with the new password"), Problems)
)]
pub(crate) async fn change_expired_password(
    State(st): State<AppState>,
    Source(source): Source,
    Json(req): Json<ExpiredPasswordRequest>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        d.finish_password_change(req.step_token.expose(), req.new_password.expose(), source)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Revokes the token this request is made with (a session, or a personal token).
#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "auth_logout",
    tag = "auth",
    responses((status = 204, description = "The token no longer works"), Problems)
)]
pub(crate) async fn logout(
    State(st): State<AppState>,
    Caller(actor): Caller,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (tenant, user) = whoami(&actor)?;
        let Some((_, id)) = actor.token else {
            return Err(Problem::internal());
        };
        d.tokens().revoke(&actor, tenant, user, id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The token a request is made with.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CurrentToken {
    /// Its id.
    id: String,
    /// `session` or `personal`.
    kind: String,
    /// When it stops working (RFC 3339), if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// The rights it is narrowed to, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    rights: Option<RightsDto>,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// The user.
    user: UserDto,
    /// The user's tenant.
    tenant: TenantDto,
    /// The token of this request.
    token: CurrentToken,
}

pub(crate) fn kind_str(k: TokenKind) -> &'static str {
    match k {
        TokenKind::Session => "session",
        TokenKind::Personal => "personal",
        TokenKind::Enrolment => "enrolment",
        TokenKind::PasswordChange => "password_change",
    }
}

/// Who the token of this request speaks for.
#[utoipa::path(
    get,
    path = "/auth/me",
    operation_id = "auth_me",
    tag = "auth",
    responses((status = 200, body = Me), Problems)
)]
pub(crate) async fn me(
    State(st): State<AppState>,
    Caller(actor): Caller,
) -> Result<axum::Json<Me>, Problem> {
    st.run(move |d| {
        let (tenant, user) = whoami(&actor)?;
        let t = d.tenants().get(&actor, tenant)?;
        let u = d.users().get(&actor, tenant, user)?;
        let Some((kind, id)) = actor.token else {
            return Err(Problem::internal());
        };
        let expires_at = d
            .tokens()
            .list(&actor, tenant, user)?
            .into_iter()
            .find(|tk| tk.id == id)
            .and_then(|tk| tk.expires_at);
        Ok(axum::Json(Me {
            user: UserDto::new(u, &t.slug),
            tenant: TenantDto::plain(t),
            token: CurrentToken {
                id: id.to_string(),
                kind: kind_str(kind).to_string(),
                expires_at: expires_at.map(time),
                rights: actor.limit.map(RightsDto::from),
            },
        }))
    })
    .await
}

/// A change of one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnPasswordRequest {
    /// The current password (a wrong one counts towards the lockout).
    #[schema(value_type = String)]
    current_password: Secret,
    /// The new password.
    #[schema(value_type = String)]
    new_password: Secret,
}

/// Changes the caller's own password. A wrong current password is `403 wrong-credentials`.
#[utoipa::path(
    post,
    path = "/auth/me/password",
    operation_id = "auth_change_own_password",
    tag = "auth",
    request_body = OwnPasswordRequest,
    responses((status = 204, description = "Changed"), Problems)
)]
pub(crate) async fn change_own_password(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Json(req): Json<OwnPasswordRequest>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (tenant, user) = whoami(&actor)?;
        d.credentials().change_password(
            &actor,
            tenant,
            user,
            req.current_password.expose(),
            req.new_password.expose(),
        )?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
