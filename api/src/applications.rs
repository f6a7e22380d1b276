//! Applications over HTTP: the tenant's LDAP service, RADIUS clients and SAML service providers
//! with the groups bound to them. A RADIUS shared secret is write-only: answers say only that
//! one is set. Field rules and authorisation are the core's; this module translates shapes and
//! resolves group names (a SAML SP's settings and metadata import are `saml`'s). A binding PUT
//! is idempotent.

use crate::auth::Caller;
use crate::dto::{location, name_key, paginate, referenced, time, Page, Ref, Secret};
use crate::extract::{Json, Path, Query};
use crate::groups::ReplyAttribute;
use crate::problem::{Problem, Problems};
use crate::saml::{NewSamlDto, SamlPatchDto, SamlSettingsDto};
use crate::tenants::{address, Addressed, TenantPath};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use tessera_directory::model::{
    self, AppKind, Application, GroupId, LdapService, RadiusClient, SharedSecret, TenantId,
};
use tessera_directory::{Actor, Directory, Error};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(bind, unbind))
}

/// The application in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AppPath {
    /// The tenant's slug.
    slug: String,
    /// The application's name (case-insensitive).
    name: String,
}

/// A group binding in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct BindingPath {
    /// The tenant's slug.
    slug: String,
    /// The application's name.
    name: String,
    /// The group's name.
    group: String,
}

fn resolve(
    d: &Directory,
    actor: &Actor,
    slug: &str,
    name: &str,
) -> Result<(Addressed, Application), Problem> {
    let t = address(d, actor, slug)?;
    let a = d.applications().by_name(actor, t.id, name)?;
    Ok((t, a))
}

/// An application's settings as shown: a RADIUS client's secret never is.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum AppSettings {
    /// The tenant's LDAP service.
    Ldap {
        /// Show nested membership flattened, for applications that cannot follow nesting.
        flatten_nested_groups: bool,
    },
    /// A RADIUS client (NAS).
    Radius {
        /// Source addresses or networks (CIDR) its packets come from.
        addresses: Vec<String>,
        /// Whether a shared secret is set (it always is; it is never shown).
        secret_set: bool,
        /// Whether Access-Requests must carry Message-Authenticator.
        require_message_authenticator: bool,
        /// Reply attributes sent to every user of this client.
        reply: Vec<ReplyAttribute>,
    },
    /// A SAML service provider.
    Saml(SamlSettingsDto),
}

impl From<AppKind> for AppSettings {
    fn from(k: AppKind) -> Self {
        match k {
            AppKind::Ldap(l) => AppSettings::Ldap {
                flatten_nested_groups: l.flatten_nested_groups,
            },
            AppKind::Radius(r) => AppSettings::Radius {
                addresses: r.addresses.iter().map(ToString::to_string).collect(),
                secret_set: !r.secret.expose().is_empty(),
                require_message_authenticator: r.require_message_authenticator,
                reply: r.reply.iter().cloned().map(Into::into).collect(),
            },
            AppKind::Saml(s) => AppSettings::Saml(s.into()),
        }
    }
}

/// An application of a tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Application)]
pub(crate) struct ApplicationDto {
    /// Its id.
    id: String,
    /// Its name, unique in the tenant case-insensitively.
    name: String,
    /// Its kind (`type`) and settings.
    settings: AppSettings,
    /// The groups whose members (transitively) may use it; none: nobody.
    bound_groups: Vec<Ref>,
    /// When it was created.
    created_at: String,
    /// When it last changed.
    updated_at: String,
    /// What the SP's metadata held that was not taken (creation and changes with `metadata`
    /// only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

/// The names of groups, for those the caller may see: read before any write, so an answer
/// never needs a read after its write.
fn names_of(
    d: &Directory,
    actor: &Actor,
    tenant: TenantId,
    ids: impl IntoIterator<Item = GroupId>,
) -> Result<BTreeMap<GroupId, String>, Problem> {
    let mut out = BTreeMap::new();
    for id in ids {
        match d.groups().get(actor, tenant, id) {
            Ok(g) => {
                out.insert(id, g.name);
            }
            Err(Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn app_out(a: Application, names: &BTreeMap<GroupId, String>) -> ApplicationDto {
    let mut groups: Vec<Ref> = a
        .bound_groups
        .iter()
        .map(|g| Ref {
            id: g.to_string(),
            name: names.get(g).cloned(),
        })
        .collect();
    groups.sort_by(|x, y| x.name.cmp(&y.name).then_with(|| x.id.cmp(&y.id)));
    ApplicationDto {
        id: a.id.to_string(),
        name: a.name,
        settings: a.kind.into(),
        bound_groups: groups,
        created_at: time(a.created_at),
        updated_at: time(a.updated_at),
        notes: Vec::new(),
    }
}

/// Which kind of application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AppType {
    /// The LDAP service.
    Ldap,
    /// RADIUS clients.
    Radius,
    /// SAML service providers.
    Saml,
}

/// Filters and paging of the application listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AppListParams {
    /// Only applications of this kind.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    type_: Option<AppType>,
    /// Only names starting with this (case-insensitive).
    prefix: Option<String>,
    /// Continue after this cursor (`next` of the previous page).
    after: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

/// Every application of a tenant, by name (Applications:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/applications",
    operation_id = "applications_list",
    tag = "applications",
    params(TenantPath, AppListParams),
    responses((status = 200, body = Page<ApplicationDto>), Problems)
)]
pub(crate) async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<AppListParams>,
) -> Result<axum::Json<Page<ApplicationDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let prefix = q.prefix.as_deref().map(str::to_lowercase);
        let mut items = Vec::new();
        for a in d.applications().list(&actor, t.id)? {
            let kind = match a.kind {
                AppKind::Ldap(_) => AppType::Ldap,
                AppKind::Radius(_) => AppType::Radius,
                AppKind::Saml(_) => AppType::Saml,
            };
            let keep = q.type_.is_none_or(|k| k == kind)
                && prefix
                    .as_deref()
                    .is_none_or(|p| a.name.to_lowercase().starts_with(p));
            if keep {
                let names = names_of(d, &actor, t.id, a.bound_groups.iter().copied())?;
                items.push(app_out(a, &names));
            }
        }
        paginate(
            items,
            |a: &ApplicationDto| name_key(&a.name, &a.id),
            q.after.as_deref(),
            q.limit,
        )
        .map(axum::Json)
    })
    .await
}

/// A network from text: CIDR, or a single address.
fn network(s: &str) -> Result<ipnet::IpNet, Problem> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            Problem::invalid(
                "addresses",
                format!("{s:?} is not an address or a network such as 192.0.2.0/24"),
            )
        })
}

fn networks(v: &[String]) -> Result<Vec<ipnet::IpNet>, Problem> {
    v.iter().map(|s| network(s)).collect()
}

fn yes() -> bool {
    true
}

/// The settings of a new RADIUS client or SAML SP (each tenant already has its LDAP service).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum NewAppSettings {
    /// A RADIUS client (NAS).
    Radius {
        /// Source addresses or networks (CIDR) its packets come from.
        addresses: Vec<String>,
        /// The shared secret (16 to 128 characters); write-only.
        #[schema(value_type = String)]
        secret: Secret,
        /// Require Message-Authenticator on Access-Requests (default true).
        #[serde(default = "yes")]
        require_message_authenticator: bool,
        /// Reply attributes sent to every user of this client.
        #[serde(default)]
        reply: Vec<ReplyAttribute>,
    },
    /// A SAML service provider: its settings, its metadata XML, or both.
    Saml(NewSamlDto),
}

/// A new application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewApplication)]
pub(crate) struct NewApplicationDto {
    /// Its name: 1–64 letters, digits, spaces and `. _ -`.
    name: String,
    /// Its kind (`type`) and settings.
    settings: NewAppSettings,
    /// Names of groups of the tenant whose members may use it.
    #[serde(default)]
    bound_groups: Vec<String>,
}

fn bound_groups(
    d: &Directory,
    actor: &Actor,
    t: &Addressed,
    names: &[String],
) -> Result<BTreeMap<GroupId, String>, Problem> {
    names
        .iter()
        .map(|n| {
            d.groups()
                .by_name(actor, t.id, n)
                .map(|g| (g.id, g.name))
                .map_err(referenced("bound_groups", "such group"))
        })
        .collect()
}

/// Registers a RADIUS client or SAML SP (Applications:Write).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/applications",
    operation_id = "applications_create",
    tag = "applications",
    params(TenantPath),
    request_body = NewApplicationDto,
    responses((status = 201, body = ApplicationDto), Problems)
)]
pub(crate) async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(new): Json<NewApplicationDto>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<ApplicationDto>,
    ),
    Problem,
> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let groups = bound_groups(d, &actor, &t, &new.bound_groups)?;
        let mut notes = Vec::new();
        let kind = match new.settings {
            NewAppSettings::Radius {
                addresses,
                secret,
                require_message_authenticator,
                reply,
            } => AppKind::Radius(RadiusClient {
                addresses: networks(&addresses)?,
                secret: SharedSecret::new(secret.expose()),
                require_message_authenticator,
                reply: reply.into_iter().map(Into::into).collect(),
            }),
            NewAppSettings::Saml(new) => {
                let (sp, n) = new.into_sp()?;
                notes = n;
                AppKind::Saml(sp)
            }
        };
        let a = d.applications().create(
            &actor,
            t.id,
            model::NewApplication {
                name: new.name,
                kind,
                bound_groups: groups.keys().copied().collect::<BTreeSet<_>>(),
            },
        )?;
        let location = location(&["tenants", &t.slug, "applications", &a.name]);
        // The bound groups were named above: no read after the write.
        let dto = ApplicationDto {
            notes,
            ..app_out(a, &groups)
        };
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            axum::Json(dto),
        ))
    })
    .await
}

/// An application (Applications:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/applications/{name}",
    operation_id = "applications_get",
    tag = "applications",
    params(AppPath),
    responses((status = 200, body = ApplicationDto), Problems)
)]
pub(crate) async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<AppPath>,
) -> Result<axum::Json<ApplicationDto>, Problem> {
    st.run(move |d| {
        let (t, a) = resolve(d, &actor, &p.slug, &p.name)?;
        let names = names_of(d, &actor, t.id, a.bound_groups.iter().copied())?;
        Ok(axum::Json(app_out(a, &names)))
    })
    .await
}

/// New settings for an application; the kind cannot change. LDAP and RADIUS settings replace
/// the current ones; a SAML patch changes only the fields it gives.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum AppSettingsPatch {
    /// The LDAP service.
    Ldap {
        /// Show nested membership flattened.
        #[serde(default)]
        flatten_nested_groups: bool,
    },
    /// A RADIUS client.
    Radius {
        /// Source addresses or networks.
        addresses: Vec<String>,
        /// A new shared secret; absent keeps the current one.
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        secret: Option<Secret>,
        /// Require Message-Authenticator (default true).
        #[serde(default = "yes")]
        require_message_authenticator: bool,
        /// Reply attributes.
        #[serde(default)]
        reply: Vec<ReplyAttribute>,
    },
    /// A SAML service provider: absent fields keep what is stored.
    Saml(SamlPatchDto),
}

/// A change to an application: absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApplicationPatch)]
pub(crate) struct ApplicationPatchDto {
    /// New name (the LDAP service keeps its name).
    #[serde(default)]
    name: Option<String>,
    /// New settings: LDAP and RADIUS ones replace the current ones (a RADIUS secret may be
    /// omitted to keep it); SAML fields left out keep their values.
    #[serde(default)]
    settings: Option<AppSettingsPatch>,
}

/// Changes an application's name or settings (Applications:Write).
///
/// LDAP and RADIUS settings replace the stored ones as a whole; a SAML patch changes the fields
/// it gives (and, with `metadata`, what the SP's metadata says). When a RADIUS patch omits the secret, the
/// secret read with the application is written back: a concurrent secret change between the
/// read and this write would be overwritten.
#[utoipa::path(
    patch,
    path = "/tenants/{slug}/applications/{name}",
    operation_id = "applications_update",
    tag = "applications",
    params(AppPath),
    request_body = ApplicationPatchDto,
    responses((status = 200, body = ApplicationDto), Problems)
)]
pub(crate) async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<AppPath>,
    Json(patch): Json<ApplicationPatchDto>,
) -> Result<axum::Json<ApplicationDto>, Problem> {
    st.run(move |d| {
        let (t, a) = resolve(d, &actor, &p.slug, &p.name)?;
        let names = names_of(d, &actor, t.id, a.bound_groups.iter().copied())?;
        let mut notes = Vec::new();
        let kind = match patch.settings {
            None => None,
            Some(AppSettingsPatch::Ldap {
                flatten_nested_groups,
            }) => Some(AppKind::Ldap(LdapService {
                flatten_nested_groups,
            })),
            Some(AppSettingsPatch::Radius {
                addresses,
                secret,
                require_message_authenticator,
                reply,
            }) => {
                let secret = match (secret, &a.kind) {
                    (Some(s), _) => SharedSecret::new(s.expose()),
                    (None, AppKind::Radius(current)) => current.secret.clone(),
                    // Not a RADIUS client: the core refuses the change of kind.
                    (None, AppKind::Ldap(_) | AppKind::Saml(_)) => SharedSecret::new(""),
                };
                Some(AppKind::Radius(RadiusClient {
                    addresses: networks(&addresses)?,
                    secret,
                    require_message_authenticator,
                    reply: reply.into_iter().map(Into::into).collect(),
                }))
            }
            Some(AppSettingsPatch::Saml(p)) => match &a.kind {
                AppKind::Saml(stored) => {
                    let (sp, n) = p.apply(stored)?;
                    notes = n;
                    Some(AppKind::Saml(sp))
                }
                AppKind::Ldap(_) | AppKind::Radius(_) => {
                    return Err(Problem::invalid(
                        "kind",
                        "an application's kind cannot change",
                    ))
                }
            },
        };
        let a = d.applications().update(
            &actor,
            t.id,
            a.id,
            model::ApplicationPatch {
                name: patch.name,
                kind,
            },
        )?;
        Ok(axum::Json(ApplicationDto {
            notes,
            ..app_out(a, &names)
        }))
    })
    .await
}

/// Deletes a RADIUS client or SAML SP (Applications:Write); the LDAP service stays.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/applications/{name}",
    operation_id = "applications_delete",
    tag = "applications",
    params(AppPath),
    responses((status = 204, description = "Deleted"), Problems)
)]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<AppPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, a) = resolve(d, &actor, &p.slug, &p.name)?;
        d.applications().delete(&actor, t.id, a.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Lets the members of a group (transitively) use an application (Applications:Write).
#[utoipa::path(
    put,
    path = "/tenants/{slug}/applications/{name}/groups/{group}",
    operation_id = "applications_bind",
    tag = "applications",
    params(BindingPath),
    responses((status = 200, body = ApplicationDto), Problems)
)]
pub(crate) async fn bind(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<BindingPath>,
) -> Result<axum::Json<ApplicationDto>, Problem> {
    st.run(move |d| {
        let (t, a) = resolve(d, &actor, &p.slug, &p.name)?;
        let g = d.groups().by_name(&actor, t.id, &p.group)?;
        let mut names = names_of(d, &actor, t.id, a.bound_groups.iter().copied())?;
        names.insert(g.id, g.name);
        let a = match d.applications().bind_group(&actor, t.id, a.id, g.id) {
            Ok(a) => a,
            // Already bound: what the PUT asks for.
            Err(Error::AlreadyExists { what: "binding" }) => a,
            Err(e) => return Err(e.into()),
        };
        Ok(axum::Json(app_out(a, &names)))
    })
    .await
}

/// Stops a group's members from using an application through that group
/// (Applications:Write); 404 when it is not bound.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/applications/{name}/groups/{group}",
    operation_id = "applications_unbind",
    tag = "applications",
    params(BindingPath),
    responses((status = 200, body = ApplicationDto), Problems)
)]
pub(crate) async fn unbind(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<BindingPath>,
) -> Result<axum::Json<ApplicationDto>, Problem> {
    st.run(move |d| {
        let (t, a) = resolve(d, &actor, &p.slug, &p.name)?;
        let g = d.groups().by_name(&actor, t.id, &p.group)?;
        let names = names_of(d, &actor, t.id, a.bound_groups.iter().copied())?;
        let a = d.applications().unbind_group(&actor, t.id, a.id, g.id)?;
        Ok(axum::Json(app_out(a, &names)))
    })
    .await
}
