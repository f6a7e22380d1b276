//! RADIUS accounting over HTTP: the sessions a tenant's NASes reported (start, interim, stop),
//! newest first. It only reads; Reports:Read on the tenant is the core's decision, and the
//! sessions themselves are kept by the core's RADIUS service.

use crate::auth::Caller;
use crate::dto::time;
use crate::extract::Path;
use crate::problem::{Problem, Problems};
use crate::tenants::{address, TenantPath};
use crate::AppState;
use axum::extract::State;
use serde::Serialize;
use tessera_directory::model::RadiusSession;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(sessions))
}

/// An accounting session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RadiusSession)]
pub(crate) struct SessionDto {
    /// The RADIUS client (application) that reported it.
    client: String,
    /// Acct-Session-Id.
    session_id: String,
    /// The user, as the NAS named them.
    username: Option<String>,
    /// `active` or `stopped`.
    state: &'static str,
    /// Where the NAS's packets came from.
    source: String,
    /// NAS-IP-Address or NAS-IPv6-Address.
    nas_address: Option<String>,
    /// NAS-Identifier.
    nas_identifier: Option<String>,
    /// NAS-Port.
    nas_port: Option<u32>,
    /// Framed-IP-Address.
    framed_address: Option<String>,
    /// Calling-Station-Id (the device's MAC address on Wi-Fi).
    calling_station: Option<String>,
    /// Called-Station-Id.
    called_station: Option<String>,
    /// When the first report arrived.
    started_at: String,
    /// When the last report arrived.
    updated_at: String,
    /// When it stopped.
    stopped_at: Option<String>,
    /// Seconds the NAS counted.
    session_time: Option<u32>,
    /// Octets from the user.
    input_octets: Option<u64>,
    /// Octets to the user.
    output_octets: Option<u64>,
    /// Acct-Terminate-Cause (RFC 2866 numbers).
    terminate_cause: Option<u32>,
}

fn session_out(s: RadiusSession) -> SessionDto {
    let d = s.details;
    SessionDto {
        client: s.client,
        session_id: d.session_id,
        username: d.username,
        state: if s.stopped_at.is_none() {
            "active"
        } else {
            "stopped"
        },
        source: s.source.to_string(),
        nas_address: d.nas_address.map(|a| a.to_string()),
        nas_identifier: d.nas_identifier,
        nas_port: d.nas_port,
        framed_address: d.framed_address.map(|a| a.to_string()),
        calling_station: d.calling_station,
        called_station: d.called_station,
        started_at: time(s.started_at),
        updated_at: time(s.updated_at),
        stopped_at: s.stopped_at.map(time),
        session_time: d.session_time,
        input_octets: d.input_octets,
        output_octets: d.output_octets,
        terminate_cause: d.terminate_cause,
    }
}

/// The accounting sessions of a tenant, newest first (Reports:Read). Kept in the store: a
/// session is forgotten 30 days after its last report, and beyond 10,000 per tenant the one
/// reported longest ago goes first (the audit log keeps every report).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/radius/sessions",
    operation_id = "radius_sessions",
    tag = "radius",
    params(TenantPath),
    responses((status = 200, body = Vec<SessionDto>), Problems)
)]
pub(crate) async fn sessions(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<Vec<SessionDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let list = d.radius().sessions(&actor, t.id)?;
        Ok(axum::Json(list.into_iter().map(session_out).collect()))
    })
    .await
}
