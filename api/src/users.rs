//! Users over HTTP: listing, creating, reading, changing, suspending, resuming and deleting the
//! users of a tenant, the groups a user is in and a user's effective rights. Users are
//! addressed by username through `Users::by_username` (a user the caller may not see answers
//! like a missing one). Credentials are `credentials.rs`'s; it must not decide access itself.

use crate::auth::Caller;
use crate::dto::{
    location, name_key, paginate, referenced, time, ListParams, Page, RightsDto, StatusDto,
    UserKindDto,
};
use crate::extract::{flag, nullable, Json, Path, Query};
use crate::groups::GroupDto;
use crate::problem::{Problem, Problems};
use crate::tenants::{address, Addressed, TenantPath};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tessera_directory::model;
use tessera_directory::{Actor, Directory};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(groups_of))
        .routes(routes!(rights))
}

/// The user in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserPath {
    /// The tenant's slug.
    pub(crate) slug: String,
    /// The username (case-insensitive).
    pub(crate) username: String,
}

/// Resolves the tenant and user of a path for the caller.
pub(crate) fn resolve(
    d: &Directory,
    actor: &Actor,
    p: &UserPath,
) -> Result<(Addressed, model::User), Problem> {
    let t = address(d, actor, &p.slug)?;
    let u = d.users().by_username(actor, t.id, &p.username)?;
    Ok((t, u))
}

/// POSIX account attributes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Posix {
    /// uidNumber, unique in the tenant.
    uid_number: u32,
    /// gidNumber of the primary group.
    gid_number: u32,
    /// homeDirectory.
    home: String,
    /// loginShell.
    shell: String,
}

/// A user of a tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserDto {
    /// Its id.
    id: String,
    /// The slug of its tenant.
    tenant: String,
    /// Login name, unique in the tenant case-insensitively.
    username: String,
    /// Person or service account.
    kind: UserKindDto,
    /// Active or suspended.
    status: StatusDto,
    /// E-mail address.
    email: Option<String>,
    /// Given name.
    given_name: Option<String>,
    /// Family name.
    family_name: Option<String>,
    /// Display name.
    display_name: Option<String>,
    /// Telephone number.
    phone: Option<String>,
    /// POSIX attributes, when the user has them.
    posix: Option<Posix>,
    /// OpenSSH public keys.
    ssh_keys: Vec<String>,
    /// Custom attributes.
    custom: BTreeMap<String, Vec<String>>,
    /// When it was created.
    created_at: String,
    /// When it last changed.
    updated_at: String,
}

impl UserDto {
    pub(crate) fn new(u: model::User, tenant_slug: &str) -> Self {
        UserDto {
            id: u.id.to_string(),
            tenant: tenant_slug.to_string(),
            username: u.username,
            kind: u.kind.into(),
            status: u.status.into(),
            email: u.email,
            given_name: u.given_name,
            family_name: u.family_name,
            display_name: u.display_name,
            phone: u.phone,
            posix: u.posix.map(|p| Posix {
                uid_number: p.uid_number,
                gid_number: p.gid_number,
                home: p.home,
                shell: p.shell,
            }),
            ssh_keys: u.ssh_keys,
            custom: u.custom,
            created_at: time(u.created_at),
            updated_at: time(u.updated_at),
        }
    }
}

/// A page of a tenant's users, in username order.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users",
    operation_id = "users_list",
    tag = "users",
    params(TenantPath, ListParams),
    responses((status = 200, body = Page<UserDto>), Problems)
)]
pub(crate) async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<UserDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let page = d.users().list(&actor, t.id, &q.query())?;
        Ok(axum::Json(Page {
            items: page
                .items
                .into_iter()
                .map(|u| UserDto::new(u, &t.slug))
                .collect(),
            next: page.next,
        }))
    })
    .await
}

/// POSIX attributes asked for at creation; missing numbers are allocated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPosix {
    /// A fixed uidNumber (≥ 1000, unique in the tenant), or absent to allocate one.
    #[serde(default)]
    uid_number: Option<u32>,
    /// A fixed gidNumber, or absent for the user's own number.
    #[serde(default)]
    gid_number: Option<u32>,
    /// homeDirectory (default `/home/<username>`).
    #[serde(default)]
    home: Option<String>,
    /// loginShell (default `/bin/bash`).
    #[serde(default)]
    shell: Option<String>,
}

/// A new user. Set its password afterwards with `PUT …/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewUser)]
pub(crate) struct NewUserDto {
    /// Login name: 1–64 of `A-Z a-z 0-9 . _ - @ +`, starting with a letter or digit.
    username: String,
    /// Person (default) or service account.
    #[serde(default)]
    kind: UserKindDto,
    /// Active (default) or suspended.
    #[serde(default)]
    status: StatusDto,
    /// E-mail address, unique in the tenant.
    #[serde(default)]
    email: Option<String>,
    /// Given name.
    #[serde(default)]
    given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    family_name: Option<String>,
    /// Display name.
    #[serde(default)]
    display_name: Option<String>,
    /// Telephone number.
    #[serde(default)]
    phone: Option<String>,
    /// POSIX attributes, if the user should have them.
    #[serde(default)]
    posix: Option<NewPosix>,
    /// OpenSSH public keys.
    #[serde(default)]
    ssh_keys: Vec<String>,
    /// Custom attributes (LDAP attribute names → values).
    #[serde(default)]
    custom: BTreeMap<String, Vec<String>>,
    /// Names of groups of the tenant to put the user in (same transaction; Groups:Write).
    #[serde(default)]
    groups: Vec<String>,
}

/// Creates a user (Users:Write; Groups:Write too with `groups`).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/users",
    operation_id = "users_create",
    tag = "users",
    params(TenantPath),
    request_body = NewUserDto,
    responses((status = 201, body = UserDto), Problems)
)]
pub(crate) async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(new): Json<NewUserDto>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<UserDto>,
    ),
    Problem,
> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let groups = new
            .groups
            .iter()
            .map(|g| {
                d.groups()
                    .by_name(&actor, t.id, g)
                    .map(|g| g.id)
                    .map_err(referenced("groups", "such group"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let u = d.users().create(
            &actor,
            t.id,
            model::NewUser {
                username: new.username,
                kind: new.kind.into(),
                status: new.status.into(),
                email: new.email,
                given_name: new.given_name,
                family_name: new.family_name,
                display_name: new.display_name,
                phone: new.phone,
                posix: new.posix.map(|p| model::NewPosix {
                    uid_number: p.uid_number,
                    gid_number: p.gid_number,
                    home: p.home,
                    shell: p.shell,
                }),
                ssh_keys: new.ssh_keys,
                custom: new.custom,
                groups,
            },
        )?;
        let location = location(&["tenants", &t.slug, "users", &u.username]);
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            axum::Json(UserDto::new(u, &t.slug)),
        ))
    })
    .await
}

/// A user (Users:Read, or the user itself).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users/{username}",
    operation_id = "users_get",
    tag = "users",
    params(UserPath),
    responses((status = 200, body = UserDto), Problems)
)]
pub(crate) async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<axum::Json<UserDto>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        Ok(axum::Json(UserDto::new(u, &t.slug)))
    })
    .await
}

/// A change to a user: absent fields stay, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UserPatch)]
pub(crate) struct UserPatchDto {
    /// New login name.
    #[serde(default)]
    username: Option<String>,
    /// New kind.
    #[serde(default)]
    kind: Option<UserKindDto>,
    /// New e-mail address (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// New given name (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    given_name: Option<Option<String>>,
    /// New family name (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    family_name: Option<Option<String>>,
    /// New display name (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    /// New telephone number (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    /// `true` makes a user without POSIX attributes a POSIX account, as `posix` does at
    /// creation: uid_number allocated unless given, gid_number its own number unless given,
    /// home `/home/<username>` and shell `/bin/bash` unless given. No effect on a POSIX user.
    #[serde(default)]
    posix: bool,
    /// New uidNumber (≥ 1000, unique in the tenant): re-numbers a POSIX user (a gid_number that
    /// was its own number follows), or makes a user a POSIX account with it.
    #[serde(default)]
    uid_number: Option<u32>,
    /// New home directory (POSIX users, or with `posix`).
    #[serde(default)]
    home: Option<String>,
    /// New login shell (POSIX users, or with `posix`).
    #[serde(default)]
    shell: Option<String>,
    /// New primary gidNumber (POSIX users, or with `posix`).
    #[serde(default)]
    gid_number: Option<u32>,
    /// Replaces the SSH keys.
    #[serde(default)]
    ssh_keys: Option<Vec<String>>,
    /// Replaces the custom attributes.
    #[serde(default)]
    custom: Option<BTreeMap<String, Vec<String>>>,
}

/// Changes a user's attributes (Users:Write). Status has its own actions (suspend, resume).
#[utoipa::path(
    patch,
    path = "/tenants/{slug}/users/{username}",
    operation_id = "users_update",
    tag = "users",
    params(UserPath),
    request_body = UserPatchDto,
    responses((status = 200, body = UserDto), Problems)
)]
pub(crate) async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Json(patch): Json<UserPatchDto>,
) -> Result<axum::Json<UserDto>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        let u = d.users().update(
            &actor,
            t.id,
            u.id,
            model::UserPatch {
                username: patch.username,
                kind: patch.kind.map(Into::into),
                email: patch.email,
                given_name: patch.given_name,
                family_name: patch.family_name,
                display_name: patch.display_name,
                phone: patch.phone,
                make_posix: patch.posix,
                uid_number: patch.uid_number,
                home: patch.home,
                shell: patch.shell,
                gid_number: patch.gid_number,
                ssh_keys: patch.ssh_keys,
                custom: patch.custom,
            },
        )?;
        Ok(axum::Json(UserDto::new(u, &t.slug)))
    })
    .await
}

/// Deletes a user (Users:Write) with its memberships, tokens and the assignments it holds.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/users/{username}",
    operation_id = "users_delete",
    tag = "users",
    params(UserPath),
    responses((status = 204, description = "Deleted"), Problems)
)]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        d.users().delete(&actor, t.id, u.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Suspends a user (Users:Write): every authentication of the user is refused.
#[utoipa::path(
    post,
    path = "/tenants/{slug}/users/{username}/suspend",
    operation_id = "users_suspend",
    tag = "users",
    params(UserPath),
    responses((status = 200, body = UserDto), Problems)
)]
pub(crate) async fn suspend(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<axum::Json<UserDto>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        let u = d.users().suspend(&actor, t.id, u.id)?;
        Ok(axum::Json(UserDto::new(u, &t.slug)))
    })
    .await
}

/// Resumes a suspended user (Users:Write).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/users/{username}/resume",
    operation_id = "users_resume",
    tag = "users",
    params(UserPath),
    responses((status = 200, body = UserDto), Problems)
)]
pub(crate) async fn resume(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
) -> Result<axum::Json<UserDto>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        let u = d.users().resume(&actor, t.id, u.id)?;
        Ok(axum::Json(UserDto::new(u, &t.slug)))
    })
    .await
}

/// Paging and whether to follow nesting.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TransitiveParams {
    /// Also through nested groups (`?transitive` or `?transitive=true`).
    #[serde(default, deserialize_with = "flag")]
    #[param(value_type = Option<bool>)]
    pub(crate) transitive: bool,
    /// Continue after this cursor (`next` of the previous page).
    pub(crate) after: Option<String>,
    /// At most this many items (default 100, at most 1000).
    pub(crate) limit: Option<usize>,
}

/// The groups a user is in — directly, or with `transitive` also through nesting — by name
/// (Users:Read and Groups:Read, or the user itself).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users/{username}/groups",
    operation_id = "users_groups_of",
    tag = "users",
    params(UserPath, TransitiveParams),
    responses((status = 200, body = Page<GroupDto>), Problems)
)]
pub(crate) async fn groups_of(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Query(q): Query<TransitiveParams>,
) -> Result<axum::Json<Page<GroupDto>>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        let groups = d.users().groups_of(&actor, t.id, u.id, q.transitive)?;
        let items = groups.into_iter().map(GroupDto::from).collect();
        paginate(
            items,
            |g: &GroupDto| name_key(&g.name, &g.id),
            q.after.as_deref(),
            q.limit,
        )
        .map(axum::Json)
    })
    .await
}

/// On which tenant.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RightsParams {
    /// The slug of the tenant the rights are on (default: the user's own tenant).
    on: Option<String>,
}

/// A user's effective rights on a tenant (your own, or Rights:Read there and Users:Read on the
/// user's tenant).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users/{username}/rights",
    operation_id = "users_rights",
    tag = "rbac",
    params(UserPath, RightsParams),
    responses((status = 200, body = RightsDto), Problems)
)]
pub(crate) async fn rights(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Query(q): Query<RightsParams>,
) -> Result<axum::Json<RightsDto>, Problem> {
    st.run(move |d| {
        let (t, u) = resolve(d, &actor, &p)?;
        let on = match &q.on {
            Some(slug) => address(d, &actor, slug)?.id,
            None => t.id,
        };
        let r = d.rbac().effective_rights(&actor, t.id, u.id, on)?;
        Ok(axum::Json(r.into()))
    })
    .await
}
