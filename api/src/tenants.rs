//! The tenant tree over HTTP: listing in tree order, reading, renaming, creating children,
//! suspending, resuming and deleting tenants, and the caller's rights on one. Tenants are
//! addressed by slug through `Tenants::by_slug`, so a tenant the caller may not see answers
//! exactly like a missing one. It must not compute visibility or rights itself.

use crate::auth::Caller;
use crate::dto::{location, paginate_in_order, time, Page, RightsDto, StatusDto, TenantKindDto};
use crate::extract::{Json, Path, Query};
use crate::problem::{Problem, Problems};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tessera_directory::model::{NewTenant, Tenant, TenantId};
use tessera_directory::{Actor, Directory};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list))
        .routes(routes!(get, rename, delete))
        .routes(routes!(create_child))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(my_rights))
}

/// The tenant in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TenantPath {
    /// The tenant's slug.
    pub(crate) slug: String,
}

/// A tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Tenant)]
pub(crate) struct TenantDto {
    /// Its id.
    id: String,
    /// Its slug: immutable, unique in the installation.
    slug: String,
    /// Its display name.
    name: String,
    /// Its kind.
    kind: TenantKindDto,
    /// Its own status (a tenant is also unusable when one above it is suspended).
    status: StatusDto,
    /// The slug of its parent, when you may see the parent (tenant reads and listings only).
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    /// How many tenants you can see above it, counting up through visible parents: 0 for the
    /// top of what you can see (tenant reads and listings only).
    #[serde(skip_serializing_if = "Option::is_none")]
    depth: Option<u32>,
    /// When it was created.
    created_at: String,
    /// When it last changed.
    updated_at: String,
}

impl TenantDto {
    /// The tenant alone, without its place in the tree.
    pub(crate) fn plain(t: Tenant) -> Self {
        TenantDto {
            id: t.id.to_string(),
            slug: t.slug,
            name: t.name,
            kind: t.kind.into(),
            status: t.status.into(),
            parent: None,
            depth: None,
            created_at: time(t.created_at),
            updated_at: time(t.updated_at),
        }
    }

    fn placed(t: Tenant, (parent, depth): (Option<String>, u32)) -> Self {
        TenantDto {
            parent,
            depth: Some(depth),
            ..TenantDto::plain(t)
        }
    }
}

/// A tenant's visible parent and depth (see [`TenantDto::depth`]).
fn place(d: &Directory, actor: &Actor, t: &Tenant) -> Result<(Option<String>, u32), Problem> {
    let chain = d.tenants().ancestors(actor, t.id)?;
    let by_id: HashMap<TenantId, &Tenant> = chain.iter().map(|a| (a.id, a)).collect();
    let parent = t.parent.and_then(|p| by_id.get(&p)).map(|p| p.slug.clone());
    let mut depth = 0;
    let mut cur = t.parent;
    while let Some(p) = cur.and_then(|p| by_id.get(&p)) {
        depth += 1;
        cur = p.parent;
    }
    Ok((parent, depth))
}

/// Resolves a slug for the caller: a hidden tenant is `NotFound`, like a missing one.
pub(crate) fn by_slug(d: &Directory, actor: &Actor, slug: &str) -> Result<Tenant, Problem> {
    Ok(d.tenants().by_slug(actor, slug)?)
}

/// A tenant named in a path, for operations on what it holds.
#[derive(Debug, Clone)]
pub(crate) struct Addressed {
    /// Its id.
    pub(crate) id: tessera_directory::model::TenantId,
    /// Its slug, as given.
    pub(crate) slug: String,
}

/// Resolves a path's slug for operations on what the tenant holds: any right there (or
/// belonging to it) is enough to address it; the operation itself is authorised by the core.
/// Reading or changing the tenant record itself goes through [`by_slug`] (Tenants:Read).
pub(crate) fn address(d: &Directory, actor: &Actor, slug: &str) -> Result<Addressed, Problem> {
    Ok(Addressed {
        id: d.tenants().resolve(actor, slug)?,
        slug: slug.to_string(),
    })
}

/// Filters of the tenant listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TenantListParams {
    /// Continue after this cursor (`next` of the previous page).
    after: Option<String>,
    /// At most this many tenants (default 100, at most 1000).
    limit: Option<usize>,
    /// Only slugs starting with this.
    prefix: Option<String>,
    /// Only tenants of this kind.
    kind: Option<TenantKindDto>,
    /// Only tenants with this own status.
    status: Option<StatusDto>,
}

/// Every tenant you may see, parents before children, siblings by slug.
#[utoipa::path(
    get,
    path = "/tenants",
    operation_id = "tenants_list",
    tag = "tenants",
    params(TenantListParams),
    responses((status = 200, body = Page<TenantDto>), Problems)
)]
pub(crate) async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Query(q): Query<TenantListParams>,
) -> Result<axum::Json<Page<TenantDto>>, Problem> {
    st.run(move |d| {
        let all = d.tenants().list(&actor)?;
        let mut placed: HashMap<TenantId, (String, u32)> = HashMap::new();
        let mut out = Vec::with_capacity(all.len());
        // Parents come before their children, so a visible parent is already placed.
        for t in all {
            let (parent, depth) = match t.parent.and_then(|p| placed.get(&p)) {
                Some((slug, depth)) => (Some(slug.clone()), depth + 1),
                None => (None, 0),
            };
            placed.insert(t.id, (t.slug.clone(), depth));
            let keep = q.prefix.as_deref().is_none_or(|p| t.slug.starts_with(p))
                && q.kind.is_none_or(|k| TenantKindDto::from(t.kind) == k)
                && q.status.is_none_or(|s| StatusDto::from(t.status) == s);
            if keep {
                out.push(TenantDto::placed(t, (parent, depth)));
            }
        }
        paginate_in_order(out, |t| t.slug.clone(), q.after.as_deref(), q.limit).map(axum::Json)
    })
    .await
}

/// A tenant.
#[utoipa::path(
    get,
    path = "/tenants/{slug}",
    operation_id = "tenants_get",
    tag = "tenants",
    params(TenantPath),
    responses((status = 200, body = TenantDto), Problems)
)]
pub(crate) async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<TenantDto>, Problem> {
    st.run(move |d| {
        let t = by_slug(d, &actor, &p.slug)?;
        let place = place(d, &actor, &t)?;
        Ok(axum::Json(TenantDto::placed(t, place)))
    })
    .await
}

/// A change to a tenant: only its display name can change (the slug and kind are fixed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantPatch {
    /// The new display name.
    name: String,
}

/// Renames a tenant (Tenants:Write on it).
#[utoipa::path(
    patch,
    path = "/tenants/{slug}",
    operation_id = "tenants_rename",
    tag = "tenants",
    params(TenantPath),
    request_body = TenantPatch,
    responses((status = 200, body = TenantDto), Problems)
)]
pub(crate) async fn rename(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(patch): Json<TenantPatch>,
) -> Result<axum::Json<TenantDto>, Problem> {
    st.run(move |d| {
        let t = by_slug(d, &actor, &p.slug)?;
        let place = place(d, &actor, &t)?;
        let t = d.tenants().rename(&actor, t.id, &patch.name)?;
        Ok(axum::Json(TenantDto::placed(t, place)))
    })
    .await
}

/// Deletes an empty tenant (Tenants:Write on its parent). Its audit log is kept.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}",
    operation_id = "tenants_delete",
    tag = "tenants",
    params(TenantPath),
    responses((status = 204, description = "Deleted"), Problems)
)]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let t = by_slug(d, &actor, &p.slug)?;
        d.tenants().delete(&actor, t.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// A new child tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewTenant)]
pub(crate) struct NewTenantDto {
    /// Its slug: `[a-z0-9-]{1,63}`, unique in the installation, never changes.
    slug: String,
    /// Its display name.
    name: String,
    /// Its kind: one the parent's kind may hold.
    kind: TenantKindDto,
}

/// Creates a child tenant (Tenants:Write on the parent). It receives the propagated roles of
/// every tenant above it and its own LDAP service.
#[utoipa::path(
    post,
    path = "/tenants/{slug}/children",
    operation_id = "tenants_create_child",
    tag = "tenants",
    params(TenantPath),
    request_body = NewTenantDto,
    responses((status = 201, body = TenantDto), Problems)
)]
pub(crate) async fn create_child(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(new): Json<NewTenantDto>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<TenantDto>,
    ),
    Problem,
> {
    st.run(move |d| {
        let parent = by_slug(d, &actor, &p.slug)?;
        let (_, parent_depth) = place(d, &actor, &parent)?;
        let t = d.tenants().create(
            &actor,
            parent.id,
            NewTenant {
                slug: new.slug,
                name: new.name,
                kind: new.kind.into(),
            },
        )?;
        let location = location(&["tenants", &t.slug]);
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            axum::Json(TenantDto::placed(t, (Some(parent.slug), parent_depth + 1))),
        ))
    })
    .await
}

/// Suspends a tenant (Tenants:Execute): every authentication in its whole subtree stops.
#[utoipa::path(
    post,
    path = "/tenants/{slug}/suspend",
    operation_id = "tenants_suspend",
    tag = "tenants",
    params(TenantPath),
    responses((status = 200, body = TenantDto), Problems)
)]
pub(crate) async fn suspend(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<TenantDto>, Problem> {
    st.run(move |d| {
        let t = by_slug(d, &actor, &p.slug)?;
        let place = place(d, &actor, &t)?;
        let t = d.tenants().suspend(&actor, t.id)?;
        Ok(axum::Json(TenantDto::placed(t, place)))
    })
    .await
}

/// Resumes a suspended tenant (Tenants:Execute).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/resume",
    operation_id = "tenants_resume",
    tag = "tenants",
    params(TenantPath),
    responses((status = 200, body = TenantDto), Problems)
)]
pub(crate) async fn resume(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<TenantDto>, Problem> {
    st.run(move |d| {
        let t = by_slug(d, &actor, &p.slug)?;
        let place = place(d, &actor, &t)?;
        let t = d.tenants().resume(&actor, t.id)?;
        Ok(axum::Json(TenantDto::placed(t, place)))
    })
    .await
}

/// The rights you hold on a tenant (granted ones, narrowed by your token if it is).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/rights",
    operation_id = "tenants_my_rights",
    tag = "rbac",
    params(TenantPath),
    responses((status = 200, body = RightsDto), Problems)
)]
pub(crate) async fn my_rights(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
) -> Result<axum::Json<RightsDto>, Problem> {
    st.run(move |d| {
        let t = by_slug(d, &actor, &p.slug)?;
        Ok(axum::Json(d.tenants().my_rights(&actor, t.id)?.into()))
    })
    .await
}
