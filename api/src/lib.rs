//! The admin REST API: JSON under `/api/v1`, bearer tokens tied to a user, RFC 7807 problems,
//! and an OpenAPI description generated from the handlers (`/api/v1/openapi.json`). This crate
//! owns HTTP routing, the request and response shapes, bearer extraction and the one mapping of
//! `directory` errors to problem documents. It must never open the store, decide allow/deny,
//! or check a password itself: every request becomes reads and at most one write through the
//! `tessera_directory` services, with the caller's `Actor`, on a blocking thread.
//!
//! Rate limiting: logins (and the TOTP enrolment and password-change steps) go through the
//! core's one authentication path, which counts failures towards the account lockout and
//! verifies passwords on a bounded, per-tenant fair hashing pool that answers "busy" (here 503
//! with `Retry-After`) instead of queueing without end. The API adds no limiter of its own.
//!
//! Nothing half-written: a handler first resolves the names in its path and body (reads), then
//! makes at most one write call, each of which the core runs as one transaction; answers are
//! built from what was read before and what the write returned, so a failed read never follows
//! a successful write (the login routes, which show the user a new session speaks for, are the
//! one exception: there the write is the core's login itself). Bad input (wrong types, unknown fields, oversized bodies, names
//! that name nothing) is refused before the write.
//!
//! Every route is registered through `utoipa_axum::routes!`, so it is in the OpenAPI document
//! by construction; a test checks both directions.

mod applications;
mod audit;
mod auth;
mod credentials;
mod dto;
mod extract;
mod groups;
mod policies;
mod problem;
mod radius;
mod rbac;
mod saml;
mod tenants;
mod tokens;
mod users;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use problem::Problem;
use saml::TaggedSettings;
use tessera_directory::Directory;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How the API behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiConfig {
    /// How long a session opened by a login lasts, in seconds (default 8 hours).
    pub session_ttl_secs: u32,
    /// The largest request body accepted, in bytes (default 64 KiB); larger bodies are
    /// answered with a `body-too-large` problem.
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            session_ttl_secs: 8 * 3600,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// What every handler gets: the directory, the configuration and the rendered OpenAPI document.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) dir: Directory,
    pub(crate) config: ApiConfig,
    openapi: Bytes,
}

impl AppState {
    /// Runs `f` on a blocking thread: directory calls fsync and hash, so they must not run on
    /// the async workers.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Directory) -> Result<T, Problem> + Send + 'static,
    {
        let dir = self.dir.clone();
        match tokio::task::spawn_blocking(move || f(&dir)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "a blocking API task failed");
                Err(Problem::internal())
            }
        }
    }
}

/// The admin API: everything under `/api/v1`, including `/api/v1/openapi.json`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the audit log records where requests
/// come from.
pub fn router(dir: Directory, config: ApiConfig) -> axum::Router {
    let (router, api) = api().split_for_parts();
    let openapi = match serde_json::to_vec(&api) {
        Ok(v) => Bytes::from(v),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the OpenAPI document");
            Bytes::new()
        }
    };
    router
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(AppState {
            dir,
            config,
            openapi,
        })
}

/// The OpenAPI description of [`router`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

fn api() -> OpenApiRouter<AppState> {
    let mut v1 = OpenApiRouter::new().routes(routes!(openapi_json));
    for add in [
        auth::routes,
        tokens::routes,
        tenants::routes,
        users::routes,
        credentials::routes,
        groups::routes,
        rbac::routes,
        policies::routes,
        applications::routes,
        saml::routes,
        radius::routes,
        audit::routes,
    ] {
        v1 = add(v1);
    }
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1);
    // After the routes: their schemas are only in the document now.
    TaggedSettings.modify(api.get_openapi_mut());
    api
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Manage Tessera's tenant tree, users, groups, credentials, roles, \
            assignments, policies, applications, RADIUS accounting, EAP-TTLS certificates and \
            audit log. Authenticate with `POST /api/v1/auth/login`, then send \
            `Authorization: Bearer <token>`. Errors are RFC 7807 problem documents whose `type` \
            is a stable `urn:tessera:problem:*` URI; an object you may not see answers exactly \
            like a missing one (404)."
    ),
    modifiers(&BearerScheme),
    components(schemas(problem::Body)),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Logging in and out, login steps, the caller"),
        (name = "tokens", description = "Personal access tokens and sessions"),
        (name = "tenants", description = "The tenant tree"),
        (name = "users", description = "Users of a tenant"),
        (name = "credentials", description = "Passwords, lockout and TOTP of users"),
        (name = "groups", description = "Groups and memberships"),
        (name = "rbac", description = "Roles, assignments and effective rights"),
        (name = "policies", description = "Password, lockout, MFA and cache policies"),
        (name = "applications", description = "LDAP service, RADIUS clients, SAML SPs"),
        (name = "saml", description = "Each tenant's SAML IdP: its signing keys and their rotation"),
        (name = "radius", description = "RADIUS accounting sessions, each tenant's EAP-TTLS certificate"),
        (name = "audit", description = "The audit log"),
        (name = "meta", description = "This description"),
    )
)]
struct ApiDoc;

/// Declares the bearer scheme every operation uses unless it says otherwise.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tsr_…")
                    .description(Some(
                        "A session token from POST /api/v1/auth/login or a personal access token",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI description of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "meta_openapi_json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], st.openapi)
}

async fn no_such_route() -> Problem {
    Problem::no_such_route()
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

#[cfg(test)]
mod tests {
    /// Every route must be registered through `routes!` (which documents it); a plain axum
    /// registration would serve an undocumented route.
    #[test]
    fn routes_are_only_registered_through_utoipa() {
        let sources = [
            ("lib.rs", include_str!("lib.rs")),
            ("applications.rs", include_str!("applications.rs")),
            ("audit.rs", include_str!("audit.rs")),
            ("auth.rs", include_str!("auth.rs")),
            ("credentials.rs", include_str!("credentials.rs")),
            ("dto.rs", include_str!("dto.rs")),
            ("extract.rs", include_str!("extract.rs")),
            ("groups.rs", include_str!("groups.rs")),
            ("policies.rs", include_str!("policies.rs")),
            ("problem.rs", include_str!("problem.rs")),
            ("radius.rs", include_str!("radius.rs")),
            ("rbac.rs", include_str!("rbac.rs")),
            ("saml.rs", include_str!("saml.rs")),
            ("tenants.rs", include_str!("tenants.rs")),
            ("tokens.rs", include_str!("tokens.rs")),
            ("users.rs", include_str!("users.rs")),
        ];
        let forbidden = [
            concat!(".", "route("),
            concat!(".", "route_service("),
            concat!(".", "nest_service("),
            concat!(".", "merge("),
            concat!("axum::routing::", "get"),
            concat!("axum::routing::", "post"),
        ];
        for (name, src) in sources {
            for f in forbidden {
                assert!(!src.contains(f), "{name} registers a route with {f}");
            }
        }
    }
}
