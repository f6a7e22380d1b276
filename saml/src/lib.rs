//! The SAML 2.0 identity-provider frontend: every tenant is its own IdP under
//! `/saml/<tenant>/` (metadata, SSO over HTTP-Redirect and HTTP-POST, the login page with its
//! TOTP step, IdP-initiated starts, single logout SP- and IdP-initiated), mounted by the binary
//! on the API's HTTPS listener. It owns AuthnRequest validation, the login flow, and signed
//! Responses. It must never open the store or decide allow/deny itself: credentials go through
//! the core's one authentication call, SSO sessions, keys and the replay cache through the
//! core's SAML service.

mod error;
mod flows;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod html;
mod idp;
mod metadata;
mod request;
mod response;
mod routes;
mod slo;
mod xml;

pub use error::{directory_status, Error, SamlStatus};
pub use flows::{FLOW_TTL_SECS, MAX_FLOWS};
pub use idp::{make_idp_key, KEY_BITS};
pub use metadata::{parse_sp_metadata, MetadataError, SpMetadata, MAX_METADATA};
pub use request::{MAX_AGE_SECS, MAX_ENCODED, MAX_RELAY_STATE, MAX_XML, SKEW_SECS};
pub use response::ASSERTION_TTL_SECS;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tessera_directory::model::SessionLimits;
use tessera_directory::Directory;

/// How the IdP presents itself.
#[derive(Debug, Clone)]
pub struct SamlConfig {
    /// The external base URL of the HTTPS listener (`https://host:port`): entity ids are
    /// `<base_url>/saml/<tenant>` and Destinations are checked against it.
    pub base_url: String,
    /// SSO session timeouts.
    pub session: SessionLimits,
}

/// The frontend's shared state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SamlState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: Directory,
    config: SamlConfig,
    flows: flows::Flows,
}

impl SamlState {
    /// The IdP of every tenant of `dir`.
    pub fn new(dir: Directory, config: SamlConfig) -> Self {
        SamlState {
            inner: Arc::new(Inner {
                dir,
                config,
                flows: flows::Flows::default(),
            }),
        }
    }

    pub(crate) fn dir(&self) -> &Directory {
        &self.inner.dir
    }

    pub(crate) fn config(&self) -> &SamlConfig {
        &self.inner.config
    }

    pub(crate) fn flows(&self) -> &flows::Flows {
        &self.inner.flows
    }
}

/// The SAML routes, for the binary to merge into its HTTPS router.
pub fn router(state: SamlState) -> Router {
    Router::new()
        .route("/saml/{tenant}/metadata", get(routes::metadata))
        .route(
            "/saml/{tenant}/sso",
            get(routes::sso_redirect).post(routes::sso_post),
        )
        .route(
            "/saml/{tenant}/login",
            get(routes::login_page).post(routes::login_submit),
        )
        .route(
            "/saml/{tenant}/apps/{app}/start",
            get(routes::idp_initiated),
        )
        .route(
            "/saml/{tenant}/slo",
            get(routes::slo_redirect).post(routes::slo_post),
        )
        .route(
            "/saml/{tenant}/logout",
            get(routes::logout_page).post(routes::logout),
        )
        .layer(DefaultBodyLimit::max(MAX_ENCODED + 16 * 1024))
        .with_state(state)
}
