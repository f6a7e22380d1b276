//! SAML over HTTP, for administrators: the settings of a SAML service provider as the
//! applications routes show and take them (entity id, ACS URLs, NameID format, attribute mapping
//! and the security options), registration from the SP's own metadata XML (read by
//! `tessera_saml::parse_sp_metadata`, a pure function: this crate never parses XML itself), and
//! the tenant IdP's signing keys (list; a next key published before it signs; its activation;
//! removal of the next or a retired key — keys are made by the SAML crate, kept by the core),
//! and ending a user's SSO sessions.
//! Field rules and authorisation are the core's; this module only merges what was given
//! (explicit fields over metadata over what is stored or the defaults).

use crate::auth::Caller;
use crate::dto::time;
use crate::extract::Path;
use crate::problem::{Problem, Problems};
use crate::tenants::{address, TenantPath};
use crate::users::{resolve as resolve_user, UserPath};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tessera_directory::model::{
    AcsUrl, IdpKeyInfo, IdpKeyState, NameIdFormat, SamlServiceProvider, SpOptions,
};
use tessera_saml::SpMetadata;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, Modify, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(keys))
        .routes(routes!(prepare_next_key))
        .routes(routes!(activate_next_key))
        .routes(routes!(remove_key))
        .routes(routes!(end_user_sessions))
}

/// The SAML settings schemas are the `saml` arms of internally tagged unions: the `type` tag
/// stands beside their fields in one object, combined through `allOf`. There they must not
/// forbid other properties (the generator writes `additionalProperties: false` for a struct that
/// refuses unknown fields), or strict validators would refuse `type` itself. The server still
/// refuses unknown fields.
pub(crate) struct TaggedSettings;

impl Modify for TaggedSettings {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(c) = openapi.components.as_mut() else {
            return;
        };
        for name in ["NewSamlSettings", "SamlSettingsPatch"] {
            if let Some(RefOr::T(Schema::Object(o))) = c.schemas.get_mut(name) {
                o.additional_properties = None;
            }
        }
    }
}

/// The NameID format an SP receives.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NameIdFormat)]
pub(crate) enum NameIdFormatDto {
    /// The user's e-mail address.
    Email,
    /// Stable and opaque per SP.
    Persistent,
    /// A fresh value each login.
    Transient,
    /// The username.
    #[default]
    Unspecified,
}

impl From<NameIdFormat> for NameIdFormatDto {
    fn from(f: NameIdFormat) -> Self {
        match f {
            NameIdFormat::Email => NameIdFormatDto::Email,
            NameIdFormat::Persistent => NameIdFormatDto::Persistent,
            NameIdFormat::Transient => NameIdFormatDto::Transient,
            NameIdFormat::Unspecified => NameIdFormatDto::Unspecified,
        }
    }
}

impl From<NameIdFormatDto> for NameIdFormat {
    fn from(f: NameIdFormatDto) -> Self {
        match f {
            NameIdFormatDto::Email => NameIdFormat::Email,
            NameIdFormatDto::Persistent => NameIdFormat::Persistent,
            NameIdFormatDto::Transient => NameIdFormat::Transient,
            NameIdFormatDto::Unspecified => NameIdFormat::Unspecified,
        }
    }
}

/// An assertion consumer service URL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AcsUrl)]
pub(crate) struct AcsUrlDto {
    /// Its index in the SP's metadata.
    index: u16,
    /// The URL (https, or http towards localhost).
    url: String,
    /// Whether it is used when a request names none.
    #[serde(default)]
    default: bool,
}

fn acs_out(a: AcsUrl) -> AcsUrlDto {
    AcsUrlDto {
        index: a.index,
        url: a.url,
        default: a.default,
    }
}

fn acs_in(a: AcsUrlDto) -> AcsUrl {
    AcsUrl {
        index: a.index,
        url: a.url,
        default: a.default,
    }
}

/// A SAML service provider's settings as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SamlSettings)]
pub(crate) struct SamlSettingsDto {
    /// The SP's entity id, unique in the tenant.
    entity_id: String,
    /// Registered ACS URLs (HTTP-POST).
    acs_urls: Vec<AcsUrlDto>,
    /// The NameID format.
    name_id_format: NameIdFormatDto,
    /// SAML attribute name → user field (`email`, `given_name`, `family_name`,
    /// `display_name`, `username`, `groups`).
    attribute_mapping: BTreeMap<String, String>,
    /// Where LogoutRequests and LogoutResponses for this SP go (HTTP-Redirect).
    slo_url: Option<String>,
    /// The SP's certificate (PEM or base64 DER): requests are verified with it, assertions
    /// encrypted to it.
    certificate: Option<String>,
    /// AuthnRequests must be signed with `certificate`.
    require_signed_requests: bool,
    /// The whole Response is signed.
    sign_response: bool,
    /// The Assertion is signed.
    sign_assertion: bool,
    /// The Assertion is encrypted to `certificate`.
    encrypt_assertion: bool,
    /// Which groups the `groups` attribute carries: names, or prefixes ending in `*`
    /// (case-insensitive); empty: all of the user's groups.
    groups_filter: Vec<String>,
}

impl From<SamlServiceProvider> for SamlSettingsDto {
    fn from(s: SamlServiceProvider) -> Self {
        let o = s.options;
        SamlSettingsDto {
            entity_id: s.entity_id,
            acs_urls: s.acs_urls.into_iter().map(acs_out).collect(),
            name_id_format: s.name_id_format.into(),
            attribute_mapping: s.attribute_mapping,
            slo_url: o.slo_url,
            certificate: o.certificate,
            require_signed_requests: o.require_signed_requests,
            sign_response: o.sign_response,
            sign_assertion: o.sign_assertion,
            encrypt_assertion: o.encrypt_assertion,
            groups_filter: o.groups_filter,
        }
    }
}

/// The SP's metadata, when given: read by the SAML crate, its errors named as the `metadata`
/// field's.
fn read_metadata(xml: Option<&str>) -> Result<Option<SpMetadata>, Problem> {
    xml.map(|x| {
        tessera_saml::parse_sp_metadata(x).map_err(|e| Problem::invalid("metadata", e.to_string()))
    })
    .transpose()
}

/// A new SAML service provider: from its settings, from its metadata XML, or both (a field
/// given here wins over what the metadata says).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewSamlSettings)]
pub(crate) struct NewSamlDto {
    /// The SP's SAML 2.0 metadata (`EntityDescriptor` XML, at most 256 KiB and within the
    /// API's body limit, 64 KiB unless configured; no DTDs): entity
    /// id, HTTP-POST ACS URLs, the HTTP-Redirect SLO URL, the certificate,
    /// `AuthnRequestsSigned`, `WantAssertionsSigned` and the first supported NameIDFormat are
    /// taken from it. What it holds but Tessera does not use is listed in the answer's `notes`.
    #[serde(default)]
    metadata: Option<String>,
    /// The SP's entity id (required without metadata).
    #[serde(default)]
    entity_id: Option<String>,
    /// Registered ACS URLs (required without metadata).
    #[serde(default)]
    acs_urls: Option<Vec<AcsUrlDto>>,
    /// The NameID format (default: the metadata's, else unspecified — the username).
    #[serde(default)]
    name_id_format: Option<NameIdFormatDto>,
    /// SAML attribute name → user field.
    #[serde(default)]
    attribute_mapping: BTreeMap<String, String>,
    /// The SP's HTTP-Redirect single logout URL.
    #[serde(default)]
    slo_url: Option<String>,
    /// The SP's certificate (PEM or base64 DER).
    #[serde(default)]
    certificate: Option<String>,
    /// Refuse unsigned AuthnRequests (default: the metadata's `AuthnRequestsSigned`, else false).
    #[serde(default)]
    require_signed_requests: Option<bool>,
    /// Sign the whole Response (default true).
    #[serde(default)]
    sign_response: Option<bool>,
    /// Sign the Assertion (default: the metadata's `WantAssertionsSigned`, else true).
    #[serde(default)]
    sign_assertion: Option<bool>,
    /// Encrypt the Assertion to the certificate (default false).
    #[serde(default)]
    encrypt_assertion: Option<bool>,
    /// Which groups the `groups` attribute carries (default: all).
    #[serde(default)]
    groups_filter: Option<Vec<String>>,
}

/// The option fields a request sets explicitly, laid over `o`.
struct Explicit {
    require_signed_requests: Option<bool>,
    sign_response: Option<bool>,
    sign_assertion: Option<bool>,
    encrypt_assertion: Option<bool>,
    groups_filter: Option<Vec<String>>,
}

impl Explicit {
    fn over(self, mut o: SpOptions) -> SpOptions {
        if let Some(v) = self.require_signed_requests {
            o.require_signed_requests = v;
        }
        if let Some(v) = self.sign_response {
            o.sign_response = v;
        }
        if let Some(v) = self.sign_assertion {
            o.sign_assertion = v;
        }
        if let Some(v) = self.encrypt_assertion {
            o.encrypt_assertion = v;
        }
        if let Some(v) = self.groups_filter {
            o.groups_filter = v;
        }
        o
    }
}

impl NewSamlDto {
    /// The SP to register, and the metadata's notes.
    pub(crate) fn into_sp(self) -> Result<(SamlServiceProvider, Vec<String>), Problem> {
        let md = read_metadata(self.metadata.as_deref())?;
        let from_md = md.as_ref().map(SpMetadata::service_provider);
        let entity_id = match (self.entity_id, &from_md) {
            (Some(e), _) => e,
            (None, Some(m)) => m.entity_id.clone(),
            (None, None) => {
                return Err(Problem::invalid(
                    "entity_id",
                    "required unless the SP's metadata is given",
                ))
            }
        };
        let acs_urls = match (self.acs_urls, &from_md) {
            (Some(a), _) => a.into_iter().map(acs_in).collect(),
            (None, Some(m)) => m.acs_urls.clone(),
            (None, None) => {
                return Err(Problem::invalid(
                    "acs_urls",
                    "required unless the SP's metadata is given",
                ))
            }
        };
        let mut options = from_md
            .as_ref()
            .map(|m| m.options.clone())
            .unwrap_or_default();
        if self.slo_url.is_some() {
            options.slo_url = self.slo_url;
        }
        if self.certificate.is_some() {
            options.certificate = self.certificate;
        }
        let options = Explicit {
            require_signed_requests: self.require_signed_requests,
            sign_response: self.sign_response,
            sign_assertion: self.sign_assertion,
            encrypt_assertion: self.encrypt_assertion,
            groups_filter: self.groups_filter,
        }
        .over(options);
        let name_id_format = match (self.name_id_format, &from_md) {
            (Some(f), _) => f.into(),
            (None, Some(m)) => m.name_id_format,
            (None, None) => NameIdFormat::Unspecified,
        };
        let sp = SamlServiceProvider {
            entity_id,
            acs_urls,
            name_id_format,
            attribute_mapping: self.attribute_mapping,
            options,
        };
        Ok((sp, md.map(|m| m.notes).unwrap_or_default()))
    }
}

/// A change to a SAML service provider: absent fields keep what is stored. With `metadata`, what
/// it says replaces the stored values first, then the fields given here apply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SamlSettingsPatch)]
pub(crate) struct SamlPatchDto {
    /// The SP's metadata again (for instance after it changed its certificate).
    #[serde(default)]
    metadata: Option<String>,
    /// New entity id.
    #[serde(default)]
    entity_id: Option<String>,
    /// New ACS URLs, replacing the registered ones.
    #[serde(default)]
    acs_urls: Option<Vec<AcsUrlDto>>,
    /// New NameID format.
    #[serde(default)]
    name_id_format: Option<NameIdFormatDto>,
    /// New attribute mapping, replacing the current one.
    #[serde(default)]
    attribute_mapping: Option<BTreeMap<String, String>>,
    /// New SLO URL (`null` removes it).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    slo_url: Option<Option<String>>,
    /// New certificate (`null` removes it).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    certificate: Option<Option<String>>,
    /// Refuse unsigned AuthnRequests.
    #[serde(default)]
    require_signed_requests: Option<bool>,
    /// Sign the whole Response.
    #[serde(default)]
    sign_response: Option<bool>,
    /// Sign the Assertion.
    #[serde(default)]
    sign_assertion: Option<bool>,
    /// Encrypt the Assertion.
    #[serde(default)]
    encrypt_assertion: Option<bool>,
    /// Which groups the `groups` attribute carries.
    #[serde(default)]
    groups_filter: Option<Vec<String>>,
}

impl SamlPatchDto {
    /// `stored` with this patch applied, and the metadata's notes.
    pub(crate) fn apply(
        self,
        stored: &SamlServiceProvider,
    ) -> Result<(SamlServiceProvider, Vec<String>), Problem> {
        let md = read_metadata(self.metadata.as_deref())?;
        let mut sp = stored.clone();
        if let Some(m) = &md {
            sp.entity_id = m.entity_id.clone();
            sp.acs_urls = m.acs_urls.clone();
            if let Some(f) = m.name_id_format {
                sp.name_id_format = f;
            }
            sp.options = m.apply(sp.options);
        }
        if let Some(e) = self.entity_id {
            sp.entity_id = e;
        }
        if let Some(a) = self.acs_urls {
            sp.acs_urls = a.into_iter().map(acs_in).collect();
        }
        if let Some(f) = self.name_id_format {
            sp.name_id_format = f.into();
        }
        if let Some(m) = self.attribute_mapping {
            sp.attribute_mapping = m;
        }
        if let Some(u) = self.slo_url {
            sp.options.slo_url = u;
        }
        if let Some(c) = self.certificate {
            sp.options.certificate = c;
        }
        sp.options = Explicit {
            require_signed_requests: self.require_signed_requests,
            sign_response: self.sign_response,
            sign_assertion: self.sign_assertion,
            encrypt_assertion: self.encrypt_assertion,
            groups_filter: self.groups_filter,
        }
        .over(sp.options);
        Ok((sp, md.map(|m| m.notes).unwrap_or_default()))
    }
}

/// Where an IdP signing key stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = IdpKeyState)]
pub(crate) enum IdpKeyStateDto {
    /// It signs.
    Active,
    /// Published in the metadata, not signing until activated.
    Next,
    /// Signed before; still published until removed.
    Retired,
}

/// One of a tenant IdP's signing keys (never its private key).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = IdpKey)]
pub(crate) struct IdpKeyDto {
    /// Its place in the rotation.
    state: IdpKeyStateDto,
    /// SHA-256 of the certificate (DER), lower-case hex: names the key in the removal route.
    fingerprint_sha256: String,
    /// The self-signed certificate, PEM: what SPs that do not read metadata are given.
    certificate: String,
    /// When it was made.
    created_at: String,
    /// When it began to sign (absent for the next key and a tenant's first key).
    activated_at: Option<String>,
    /// When it stopped signing (retired keys).
    retired_at: Option<String>,
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn key_out(k: IdpKeyInfo) -> IdpKeyDto {
    IdpKeyDto {
        state: match k.state {
            IdpKeyState::Active => IdpKeyStateDto::Active,
            IdpKeyState::Next => IdpKeyStateDto::Next,
            IdpKeyState::Retired => IdpKeyStateDto::Retired,
        },
        certificate: pem(&k.certificate_der),
        fingerprint_sha256: k.fingerprint,
        created_at: time(k.created_at),
        activated_at: k.activated_at.map(time),
        retired_at: k.retired_at.map(time),
    }
}

fn keys_out(keys: Vec<IdpKeyInfo>) -> axum::Json<Vec<IdpKeyDto>> {
    axum::Json(keys.into_iter().map(key_out).collect())
}

/// A key of the tenant's IdP in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct KeyPath {
    /// The tenant's slug.
    slug: String,
    /// The key's certificate SHA-256 fingerprint (hex; case and colons do not matter).
    fingerprint: String,
}

/// The signing keys of the tenant's SAML IdP: the active one, a next one, retired ones
/// (Applications:Read). Empty until the IdP is first used or a next key is prepared.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/saml/keys",
    operation_id = "saml_keys_list",
    tag = "saml",
    params(TenantPath),
    responses((status = 200, body = Vec<IdpKeyDto>), Problems)
)]
pub(crate) async fn keys(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<Vec<IdpKeyDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        Ok(keys_out(d.saml().idp_keys(&actor, t.id)?))
    })
    .await
}

/// Makes the next signing key (Applications:Write): the IdP's metadata publishes its
/// certificate beside the active one from now on, while the active key goes on signing — let
/// SPs refresh the metadata, then activate it. 409 while a next key is waiting.
#[utoipa::path(
    post,
    path = "/tenants/{slug}/saml/keys/next",
    operation_id = "saml_keys_prepare_next",
    tag = "saml",
    params(TenantPath),
    responses((status = 201, body = Vec<IdpKeyDto>), Problems)
)]
pub(crate) async fn prepare_next_key(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<(StatusCode, axum::Json<Vec<IdpKeyDto>>), Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let now = d.now();
        let make = || tessera_saml::make_idp_key(&t.slug, now);
        let keys = d.saml().prepare_next_idp_key(&actor, t.id, &make)?;
        Ok((StatusCode::CREATED, keys_out(keys)))
    })
    .await
}

/// Activates the next signing key (Applications:Write): it signs from now on; the previous key
/// is retired — its certificate stays in the metadata until removed, for SPs that refresh
/// metadata slowly. 409 without a next key or with four retired keys kept.
#[utoipa::path(
    post,
    path = "/tenants/{slug}/saml/keys/next/activate",
    operation_id = "saml_keys_activate_next",
    tag = "saml",
    params(TenantPath),
    responses((status = 200, body = Vec<IdpKeyDto>), Problems)
)]
pub(crate) async fn activate_next_key(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<Vec<IdpKeyDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        Ok(keys_out(d.saml().activate_next_idp_key(&actor, t.id)?))
    })
    .await
}

/// Removes the next or a retired signing key (Applications:Write): the metadata stops
/// publishing its certificate. The active key cannot be removed (409).
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/saml/keys/{fingerprint}",
    operation_id = "saml_keys_remove",
    tag = "saml",
    params(KeyPath),
    responses((status = 204, description = "Removed"), Problems)
)]
pub(crate) async fn remove_key(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<KeyPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        d.saml().remove_idp_key(&actor, t.id, &p.fingerprint)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// How many SSO sessions ended.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EndedSessions)]
pub(crate) struct EndedDto {
    /// The user's SSO sessions that were live and are now ended.
    ended: usize,
}

/// Ends every SAML SSO session of a user (Credentials:Execute): their next SAML login asks for
/// the password again. Service providers keep the sessions they opened themselves — without the
/// user's browser there is no front channel to tell them.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/users/{username}/saml-sessions",
    operation_id = "saml_sessions_end",
    tag = "saml",
    params(UserPath),
    responses((status = 200, body = EndedDto), Problems)
)]
pub(crate) async fn end_user_sessions(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<axum::Json<EndedDto>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve_user(d, &actor, &p)?;
        let ended = d.saml().end_user_sessions(&actor, t.id, u.id)?;
        Ok(axum::Json(EndedDto { ended }))
    })
    .await
}
