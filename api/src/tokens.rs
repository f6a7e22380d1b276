//! Tokens over HTTP: the caller's personal access tokens and sessions (create from a session,
//! list, revoke) and an administrator's view of a user's tokens. A token's secret is shown
//! once, in the answer that creates it; the core stores only its hash. It must not resolve or
//! check tokens itself (that is `auth.rs` through the core).

use crate::auth::{kind_str, whoami, Caller};
use crate::dto::{paginate, parse_opt_time, time, time_key, Page, RightsDto, Secret};
use crate::extract::{Json, Path, Query};
use crate::problem::{Problem, Problems};
use crate::users::{resolve, UserPath};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_directory::model::{NewToken, Token, TokenId, TokenKind};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list_mine, create))
        .routes(routes!(revoke_mine))
        .routes(routes!(list_of_user))
        .routes(routes!(revoke_of_user))
}

/// A session or personal access token (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Token)]
pub(crate) struct TokenDto {
    /// Its id.
    id: String,
    /// `session` or `personal`.
    kind: String,
    /// The name its owner gave it (personal tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// When it was issued.
    created_at: String,
    /// When it stops working, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// The rights it is narrowed to, if it is (at most its user's rights apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    rights: Option<RightsDto>,
}

impl From<Token> for TokenDto {
    fn from(t: Token) -> Self {
        TokenDto {
            id: t.id.to_string(),
            kind: kind_str(t.kind).to_string(),
            name: t.name,
            created_at: time(t.created_at),
            expires_at: t.expires_at.map(time),
            rights: t.limit.map(RightsDto::from),
        }
    }
}

/// Which tokens to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenKindFilter {
    /// Sessions opened by logins.
    Session,
    /// Personal access tokens.
    Personal,
}

/// Paging and a kind.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenListParams {
    /// Only `session` or only `personal` tokens.
    kind: Option<TokenKindFilter>,
    /// Continue after this cursor (`next` of the previous page).
    after: Option<String>,
    /// At most this many tokens (default 100, at most 1000).
    limit: Option<usize>,
}

fn page(tokens: Vec<Token>, q: &TokenListParams) -> Result<Page<TokenDto>, Problem> {
    let tokens: Vec<Token> = tokens
        .into_iter()
        .filter(|t| {
            q.kind.is_none_or(|k| match k {
                TokenKindFilter::Session => t.kind == TokenKind::Session,
                TokenKindFilter::Personal => t.kind == TokenKind::Personal,
            })
        })
        .collect();
    let keyed: Vec<(String, TokenDto)> = tokens
        .into_iter()
        .map(|t| (time_key(t.created_at, &t.id), TokenDto::from(t)))
        .collect();
    let p = paginate(keyed, |(k, _)| k.clone(), q.after.as_deref(), q.limit)?;
    Ok(Page {
        items: p.items.into_iter().map(|(_, t)| t).collect(),
        next: p.next,
    })
}

/// An id in a path that is not even an id names nothing.
fn token_id(s: &str) -> Result<TokenId, Problem> {
    s.parse().map_err(|_| Problem::not_found())
}

/// Your live sessions and personal tokens, oldest first.
#[utoipa::path(
    get,
    path = "/tokens",
    operation_id = "tokens_list_mine",
    tag = "tokens",
    params(TokenListParams),
    responses((status = 200, body = Page<TokenDto>), Problems)
)]
pub(crate) async fn list_mine(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Query(q): Query<TokenListParams>,
) -> Result<axum::Json<Page<TokenDto>>, Problem> {
    st.run(move |d| {
        let (tenant, user) = whoami(&actor)?;
        page(d.tokens().list(&actor, tenant, user)?, &q).map(axum::Json)
    })
    .await
}

/// A new personal access token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewToken)]
pub(crate) struct NewTokenDto {
    /// A name to recognise it by (1–100 characters).
    name: String,
    /// When it stops working (RFC 3339); absent: never.
    #[serde(default)]
    expires_at: Option<String>,
    /// Narrow it to these rights (at most your own apply anyway); absent: all of yours.
    #[serde(default)]
    rights: Option<RightsDto>,
}

/// A new token with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// The bearer secret: store it now, it is never shown again.
    #[schema(value_type = String)]
    secret: Secret,
    /// The token.
    token: TokenDto,
}

/// Creates a personal access token for yourself (only from an interactive session).
#[utoipa::path(
    post,
    path = "/tokens",
    operation_id = "tokens_create",
    tag = "tokens",
    request_body = NewTokenDto,
    responses((status = 201, body = CreatedToken), Problems)
)]
pub(crate) async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Json(new): Json<NewTokenDto>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), Problem> {
    st.run(move |d| {
        let expires_at = parse_opt_time("expires_at", new.expires_at.as_deref())?;
        let issued = d.tokens().create(
            &actor,
            NewToken {
                name: new.name,
                expires_at,
                limit: new.rights.map(Into::into),
            },
        )?;
        Ok((
            StatusCode::CREATED,
            axum::Json(CreatedToken {
                secret: Secret::new(issued.secret.expose()),
                token: issued.token.into(),
            }),
        ))
    })
    .await
}

/// A token of yours in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct MyTokenPath {
    /// The token's id.
    id: String,
}

/// Revokes one of your tokens.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    operation_id = "tokens_revoke_mine",
    tag = "tokens",
    params(MyTokenPath),
    responses((status = 204, description = "Revoked"), Problems)
)]
pub(crate) async fn revoke_mine(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<MyTokenPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (tenant, user) = whoami(&actor)?;
        d.tokens().revoke(&actor, tenant, user, token_id(&p.id)?)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// A user's live sessions and personal tokens (Credentials:Read, or the user itself).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users/{username}/tokens",
    operation_id = "tokens_list_of_user",
    tag = "tokens",
    params(UserPath, TokenListParams),
    responses((status = 200, body = Page<TokenDto>), Problems)
)]
pub(crate) async fn list_of_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Query(q): Query<TokenListParams>,
) -> Result<axum::Json<Page<TokenDto>>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        page(d.tokens().list(&actor, t.id, u.id)?, &q).map(axum::Json)
    })
    .await
}

/// A user's token in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserTokenPath {
    /// The tenant's slug.
    slug: String,
    /// The username.
    username: String,
    /// The token's id.
    id: String,
}

/// Revokes a user's session or personal token (Credentials:Execute, or the user itself).
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/users/{username}/tokens/{id}",
    operation_id = "tokens_revoke_of_user",
    tag = "tokens",
    params(UserTokenPath),
    responses((status = 204, description = "Revoked"), Problems)
)]
pub(crate) async fn revoke_of_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserTokenPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let user = UserPath {
            slug: p.slug,
            username: p.username,
        };
        let (t, u) = resolve(d, &actor, &user)?;
        d.tokens().revoke(&actor, t.id, u.id, token_id(&p.id)?)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
