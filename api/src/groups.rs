//! Groups over HTTP: listing, creating, reading, changing and deleting the groups of a tenant,
//! their members (users and nested groups, directly or transitively) and the groups a group is
//! in. Groups and members are addressed by name; the services decide who may see and change
//! them. A membership PUT is idempotent: an existing membership answers like a new one.

use crate::auth::Caller;
use crate::dto::{location, name_key, paginate, user_names, ListParams, Page};
use crate::extract::{nullable, Json, Path, Query};
use crate::problem::{Problem, Problems};
use crate::tenants::{address, Addressed, TenantPath};
use crate::users::TransitiveParams;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use tessera_directory::model::{self, Member, UserId};
use tessera_directory::{Actor, Directory, Error};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(members))
        .routes(routes!(add_user, remove_user))
        .routes(routes!(add_group, remove_group))
        .routes(routes!(groups_of))
}

/// The group in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct GroupPath {
    /// The tenant's slug.
    slug: String,
    /// The group's name (case-insensitive).
    name: String,
}

/// A user member in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserMemberPath {
    /// The tenant's slug.
    slug: String,
    /// The group's name.
    name: String,
    /// The member's username.
    username: String,
}

/// A group member in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct GroupMemberPath {
    /// The tenant's slug.
    slug: String,
    /// The group's name.
    name: String,
    /// The member group's name.
    group: String,
}

fn resolve(
    d: &Directory,
    actor: &Actor,
    slug: &str,
    name: &str,
) -> Result<(Addressed, model::Group), Problem> {
    let t = address(d, actor, slug)?;
    let g = d.groups().by_name(actor, t.id, name)?;
    Ok((t, g))
}

/// A RADIUS reply attribute, e.g. `Filter-Id` = `staff`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyAttribute {
    /// The attribute's dictionary name.
    pub(crate) name: String,
    /// Its value, as text.
    pub(crate) value: String,
}

impl From<model::ReplyAttribute> for ReplyAttribute {
    fn from(r: model::ReplyAttribute) -> Self {
        ReplyAttribute {
            name: r.name,
            value: r.value,
        }
    }
}

impl From<ReplyAttribute> for model::ReplyAttribute {
    fn from(r: ReplyAttribute) -> Self {
        model::ReplyAttribute {
            name: r.name,
            value: r.value,
        }
    }
}

/// What RADIUS sends back for members of a group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RadiusAttributes {
    /// The VLAN (1–4094) members are put on.
    #[serde(default)]
    vlan: Option<u16>,
    /// Further reply attributes.
    #[serde(default)]
    reply: Vec<ReplyAttribute>,
}

/// Per-protocol attributes of a group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupAttributes {
    /// For RADIUS replies.
    #[serde(default)]
    radius: RadiusAttributes,
}

impl From<model::GroupAttributes> for GroupAttributes {
    fn from(a: model::GroupAttributes) -> Self {
        GroupAttributes {
            radius: RadiusAttributes {
                vlan: a.radius.vlan,
                reply: a.radius.reply.into_iter().map(Into::into).collect(),
            },
        }
    }
}

impl From<GroupAttributes> for model::GroupAttributes {
    fn from(a: GroupAttributes) -> Self {
        model::GroupAttributes {
            radius: model::RadiusAttributes {
                vlan: a.radius.vlan,
                reply: a.radius.reply.into_iter().map(Into::into).collect(),
            },
        }
    }
}

/// A group of a tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Group)]
pub(crate) struct GroupDto {
    /// Its id.
    pub(crate) id: String,
    /// Its name, unique in the tenant case-insensitively.
    pub(crate) name: String,
    /// What it is for.
    description: Option<String>,
    /// gidNumber, unique in the tenant.
    gid_number: u32,
    /// Per-protocol attributes.
    attributes: GroupAttributes,
    /// When it was created.
    created_at: String,
    /// When it last changed.
    updated_at: String,
}

impl From<model::Group> for GroupDto {
    fn from(g: model::Group) -> Self {
        GroupDto {
            id: g.id.to_string(),
            name: g.name,
            description: g.description,
            gid_number: g.gid_number,
            attributes: g.attributes.into(),
            created_at: crate::dto::time(g.created_at),
            updated_at: crate::dto::time(g.updated_at),
        }
    }
}

/// A page of a tenant's groups, in name order (Groups:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/groups",
    operation_id = "groups_list",
    tag = "groups",
    params(TenantPath, ListParams),
    responses((status = 200, body = Page<GroupDto>), Problems)
)]
pub(crate) async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<GroupDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let page = d.groups().list(&actor, t.id, &q.query())?;
        Ok(axum::Json(Page {
            items: page.items.into_iter().map(GroupDto::from).collect(),
            next: page.next,
        }))
    })
    .await
}

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewGroup)]
pub(crate) struct NewGroupDto {
    /// Its name: 1–64 letters, digits, spaces and `. _ -`, starting with a letter or digit.
    name: String,
    /// What it is for.
    #[serde(default)]
    description: Option<String>,
    /// A fixed gidNumber, or absent to allocate one.
    #[serde(default)]
    gid_number: Option<u32>,
    /// Per-protocol attributes.
    #[serde(default)]
    attributes: GroupAttributes,
}

/// Creates a group (Groups:Write).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/groups",
    operation_id = "groups_create",
    tag = "groups",
    params(TenantPath),
    request_body = NewGroupDto,
    responses((status = 201, body = GroupDto), Problems)
)]
pub(crate) async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(new): Json<NewGroupDto>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<GroupDto>,
    ),
    Problem,
> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let g = d.groups().create(
            &actor,
            t.id,
            model::NewGroup {
                name: new.name,
                description: new.description,
                gid_number: new.gid_number,
                attributes: new.attributes.into(),
            },
        )?;
        let location = location(&["tenants", &t.slug, "groups", &g.name]);
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            axum::Json(g.into()),
        ))
    })
    .await
}

/// A group (Groups:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/groups/{name}",
    operation_id = "groups_get",
    tag = "groups",
    params(GroupPath),
    responses((status = 200, body = GroupDto), Problems)
)]
pub(crate) async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupPath>,
) -> Result<axum::Json<GroupDto>, Problem> {
    st.run(move |d| {
        let (_, g) = resolve(d, &actor, &p.slug, &p.name)?;
        Ok(axum::Json(g.into()))
    })
    .await
}

/// A change to a group: absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupPatch)]
pub(crate) struct GroupPatchDto {
    /// New name.
    #[serde(default)]
    name: Option<String>,
    /// New description (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// Replaces the per-protocol attributes.
    #[serde(default)]
    attributes: Option<GroupAttributes>,
}

/// Changes a group (Groups:Write).
#[utoipa::path(
    patch,
    path = "/tenants/{slug}/groups/{name}",
    operation_id = "groups_update",
    tag = "groups",
    params(GroupPath),
    request_body = GroupPatchDto,
    responses((status = 200, body = GroupDto), Problems)
)]
pub(crate) async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupPath>,
    Json(patch): Json<GroupPatchDto>,
) -> Result<axum::Json<GroupDto>, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let g = d.groups().update(
            &actor,
            t.id,
            g.id,
            model::GroupPatch {
                name: patch.name,
                description: patch.description,
                attributes: patch.attributes.map(Into::into),
            },
        )?;
        Ok(axum::Json(g.into()))
    })
    .await
}

/// Deletes a group (Groups:Write): its memberships, application bindings and the assignments
/// given to it go with it; its members stay.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/groups/{name}",
    operation_id = "groups_delete",
    tag = "groups",
    params(GroupPath),
    responses((status = 204, description = "Deleted"), Problems)
)]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        d.groups().delete(&actor, t.id, g.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// A member of a group.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Member)]
pub(crate) struct MemberDto {
    /// `user` or `group`.
    #[serde(rename = "type")]
    type_: MemberType,
    /// Its id.
    id: String,
    /// Its username or name; absent when you may not see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// What kind of member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MemberType {
    /// A user.
    User,
    /// A nested group.
    Group,
}

/// The members of a group — direct ones, or with `transitive` everything inside it through
/// nesting (Groups:Read). Users first, then groups, each by name.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/groups/{name}/members",
    operation_id = "groups_members",
    tag = "groups",
    params(GroupPath, TransitiveParams),
    responses((status = 200, body = Page<MemberDto>), Problems)
)]
pub(crate) async fn members(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupPath>,
    Query(q): Query<TransitiveParams>,
) -> Result<axum::Json<Page<MemberDto>>, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let members = d.groups().members(&actor, t.id, g.id, q.transitive)?;
        let user_ids: Vec<UserId> = members
            .iter()
            .filter_map(|m| match m {
                Member::User(u) => Some(*u),
                Member::Group(_) => None,
            })
            .collect();
        let users = user_names(d, &actor, t.id, &user_ids)?;
        let mut items = Vec::with_capacity(members.len());
        for m in members {
            items.push(match m {
                Member::User(u) => MemberDto {
                    type_: MemberType::User,
                    id: u.to_string(),
                    name: users.get(&u).cloned(),
                },
                Member::Group(g) => MemberDto {
                    type_: MemberType::Group,
                    id: g.to_string(),
                    name: match d.groups().get(&actor, t.id, g) {
                        Ok(g) => Some(g.name),
                        Err(Error::NotFound) => None,
                        Err(e) => return Err(e.into()),
                    },
                },
            });
        }
        paginate(
            items,
            |m: &MemberDto| {
                let kind = match m.type_ {
                    MemberType::User => "0",
                    MemberType::Group => "1",
                };
                format!(
                    "{kind}{}",
                    name_key(m.name.as_deref().unwrap_or(&m.id), &m.id)
                )
            },
            q.after.as_deref(),
            q.limit,
        )
        .map(axum::Json)
    })
    .await
}

/// Membership changes are idempotent: "already a member" is what a PUT asks for.
fn idempotent(r: Result<(), Error>) -> Result<StatusCode, Problem> {
    match r {
        Ok(()) | Err(Error::AlreadyExists { what: "membership" }) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(e.into()),
    }
}

/// Makes a user a direct member (Groups:Write).
#[utoipa::path(
    put,
    path = "/tenants/{slug}/groups/{name}/members/users/{username}",
    operation_id = "groups_add_user",
    tag = "groups",
    params(UserMemberPath),
    responses((status = 204, description = "The user is a member"), Problems)
)]
pub(crate) async fn add_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserMemberPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let u = d.users().by_username(&actor, t.id, &p.username)?;
        idempotent(
            d.groups()
                .add_member(&actor, t.id, g.id, Member::User(u.id)),
        )
    })
    .await
}

/// Removes a direct user member (Groups:Write); 404 when the user is not one.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/groups/{name}/members/users/{username}",
    operation_id = "groups_remove_user",
    tag = "groups",
    params(UserMemberPath),
    responses((status = 204, description = "Removed"), Problems)
)]
pub(crate) async fn remove_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserMemberPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let u = d.users().by_username(&actor, t.id, &p.username)?;
        d.groups()
            .remove_member(&actor, t.id, g.id, Member::User(u.id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Nests a group inside this one (Groups:Write); a cycle is refused (`409 cycle`).
#[utoipa::path(
    put,
    path = "/tenants/{slug}/groups/{name}/members/groups/{group}",
    operation_id = "groups_add_group",
    tag = "groups",
    params(GroupMemberPath),
    responses((status = 204, description = "The group is a member"), Problems)
)]
pub(crate) async fn add_group(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupMemberPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let m = d.groups().by_name(&actor, t.id, &p.group)?;
        idempotent(
            d.groups()
                .add_member(&actor, t.id, g.id, Member::Group(m.id)),
        )
    })
    .await
}

/// Removes a directly nested group (Groups:Write); 404 when it is not one.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/groups/{name}/members/groups/{group}",
    operation_id = "groups_remove_group",
    tag = "groups",
    params(GroupMemberPath),
    responses((status = 204, description = "Removed"), Problems)
)]
pub(crate) async fn remove_group(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupMemberPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let m = d.groups().by_name(&actor, t.id, &p.group)?;
        d.groups()
            .remove_member(&actor, t.id, g.id, Member::Group(m.id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The groups a group is in — directly, or with `transitive` also through nesting
/// (Groups:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/groups/{name}/groups",
    operation_id = "groups_groups_of",
    tag = "groups",
    params(GroupPath, TransitiveParams),
    responses((status = 200, body = Page<GroupDto>), Problems)
)]
pub(crate) async fn groups_of(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupPath>,
    Query(q): Query<TransitiveParams>,
) -> Result<axum::Json<Page<GroupDto>>, Problem> {
    st.run(move |d| {
        let (t, g) = resolve(d, &actor, &p.slug, &p.name)?;
        let groups = d.groups().groups_of(&actor, t.id, g.id, q.transitive)?;
        paginate(
            groups.into_iter().map(GroupDto::from).collect(),
            |g: &GroupDto| name_key(&g.name, &g.id),
            q.after.as_deref(),
            q.limit,
        )
        .map(axum::Json)
    })
    .await
}
