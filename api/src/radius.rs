//! RADIUS over HTTP: the accounting sessions a tenant's NASes reported (start, interim, stop),
//! newest first (Reports:Read), and the tenant's EAP-TTLS server certificate — read it to give
//! supplicants or to pin it (Applications:Read), install the tenant's own chain and key, or go
//! back to the generated one (Applications:Write). The core decides the rights, checks an
//! installed chain and keeps the keys; this file only carries them and writes PEM.

use crate::auth::Caller;
use crate::dto::{time, Secret};
use crate::extract::{Json, Path};
use crate::problem::{Problem, Problems};
use crate::tenants::{address, TenantPath};
use crate::AppState;
use axum::extract::State;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tessera_directory::model::{
    EapCertificate, EapCertificateSource, NewEapCertificate, RadiusSession, SecretBytes,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(sessions)).routes(routes!(
        eap_certificate,
        install_eap_certificate,
        remove_eap_certificate
    ))
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

/// Where a tenant's EAP-TTLS certificate comes from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = EapCertificateSource)]
pub(crate) enum EapSourceDto {
    /// Made by Tessera for this tenant: ECDSA P-256, self-signed, named
    /// `radius.<slug>.tessera`, valid 825 days and made anew once expired.
    Generated,
    /// The tenant's own chain, installed with PUT.
    Installed,
}

/// The certificate a tenant's EAP-TTLS tunnel presents to supplicants (never the key).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EapCertificate)]
pub(crate) struct EapCertificateDto {
    /// Generated or installed.
    source: EapSourceDto,
    /// The server certificate's subject, e.g. `CN=radius.contoso.tessera`.
    subject: String,
    /// Its issuer (the subject again when self-signed).
    issuer: String,
    /// Valid from.
    not_before: String,
    /// Valid until.
    not_after: String,
    /// SHA-256 of the server certificate (DER), lower-case hex: what `openssl x509
    /// -fingerprint -sha256` shows, and what wpa_supplicant pins with
    /// `ca_cert="hash://server/sha256/<this>"`.
    fingerprint_sha256: String,
    /// The chain the tunnel presents, PEM, the server certificate first. A generated one is a
    /// single self-signed certificate: give it to supplicants as their CA certificate.
    pem: String,
    /// When it was generated or installed.
    created_at: String,
}

fn pem(chain: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in chain {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

impl From<EapCertificate> for EapCertificateDto {
    fn from(c: EapCertificate) -> Self {
        EapCertificateDto {
            source: match c.source {
                EapCertificateSource::Generated => EapSourceDto::Generated,
                EapCertificateSource::Installed => EapSourceDto::Installed,
            },
            fingerprint_sha256: c.sha256.iter().map(|b| format!("{b:02x}")).collect(),
            pem: pem(&c.chain_der),
            subject: c.subject,
            issuer: c.issuer,
            not_before: time(c.not_before),
            not_after: time(c.not_after),
            created_at: time(c.created_at),
        }
    }
}

/// The tenant's EAP-TTLS certificate (Applications:Read): the one its supplicants are shown
/// (no other tenant's), to give them as their CA certificate or to pin. A tenant that has none
/// yet gets its generated one now.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/radius/eap-certificate",
    operation_id = "radius_eap_certificate",
    tag = "radius",
    params(TenantPath),
    responses((status = 200, body = EapCertificateDto), Problems)
)]
pub(crate) async fn eap_certificate(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<EapCertificateDto>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        Ok(axum::Json(d.radius().eap_certificate(&actor, t.id)?.into()))
    })
    .await
}

/// The tenant's own EAP-TTLS certificate chain and key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstallEapCertificate {
    /// PEM: the server certificate, then the certificates that issued it (intermediates; the
    /// root may follow). Each must be inside its validity period.
    certificate: String,
    /// The server certificate's private key, PEM, unencrypted: PKCS#8, PKCS#1 (RSA) or SEC1
    /// (EC); RSA of 2048 bits or more, ECDSA P-256 or P-384, or Ed25519.
    #[schema(value_type = String)]
    private_key: Secret,
}

/// Installs the tenant's own EAP-TTLS certificate chain and key (Applications:Write), e.g. from
/// a CA its devices already trust; the next conversation presents it. A chain that does not
/// parse, is out of order or out of date, a server certificate not meant for TLS servers, or a
/// key that is not the server certificate's is `422 invalid` naming `certificate` or
/// `private_key` and why.
#[utoipa::path(
    put,
    path = "/tenants/{slug}/radius/eap-certificate",
    operation_id = "radius_install_eap_certificate",
    tag = "radius",
    params(TenantPath),
    request_body = InstallEapCertificate,
    responses((status = 200, body = EapCertificateDto), Problems)
)]
pub(crate) async fn install_eap_certificate(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(req): Json<InstallEapCertificate>,
) -> Result<axum::Json<EapCertificateDto>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let new = NewEapCertificate {
            chain_pem: req.certificate.clone(),
            private_key_pem: SecretBytes::new(req.private_key.expose().as_bytes().to_vec()),
        };
        Ok(axum::Json(
            d.radius()
                .install_eap_certificate(&actor, t.id, new)?
                .into(),
        ))
    })
    .await
}

/// Removes the tenant's installed EAP-TTLS certificate, if any (Applications:Write): the tunnel
/// goes back to the generated one, which is returned (the same one as before the installation).
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/radius/eap-certificate",
    operation_id = "radius_remove_eap_certificate",
    tag = "radius",
    params(TenantPath),
    responses((status = 200, body = EapCertificateDto), Problems)
)]
pub(crate) async fn remove_eap_certificate(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<EapCertificateDto>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        Ok(axum::Json(
            d.radius().remove_eap_certificate(&actor, t.id)?.into(),
        ))
    })
    .await
}
