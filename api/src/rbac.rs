//! Roles and assignments over HTTP: defining, reading, changing and deleting roles (by name),
//! making, reading and revoking assignments (by id) with their subjects and roles named, and
//! the assignments a user or group holds. The no-escalation rule, propagation and visibility
//! are the core's; this module must not evaluate rights.

use crate::auth::Caller;
use crate::dto::{
    location, name_key, paginate, parse_opt_time, referenced, tenant_slugs, time, time_key,
    ListParams, Page, RightsDto,
};
use crate::extract::{nullable, Json, Path, Query};
use crate::problem::{Problem, Problems};
use crate::tenants::{address, TenantPath};
use crate::users::UserPath;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tessera_directory::model::{
    self, Assignment, AssignmentId, GroupId, RoleId, Subject, TenantId, UserId,
};
use tessera_directory::{Actor, Directory, Error};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list_roles, create_role))
        .routes(routes!(get_role, update_role, delete_role))
        .routes(routes!(list_assignments, assign))
        .routes(routes!(get_assignment, revoke))
        .routes(routes!(assignments_of_user))
        .routes(routes!(assignments_of_group))
}

// ---------------------------------------------------------------------------------------------
// Roles.

/// The role in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RolePath {
    /// The tenant's slug.
    slug: String,
    /// The role's name (case-insensitive).
    name: String,
}

/// The role a locked copy was made from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RoleSource {
    /// The id of the tenant that defines it.
    tenant_id: String,
    /// That tenant's slug, when you may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    /// The source role's id.
    role_id: String,
}

/// A role: a named set of rights defined in a tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Role)]
pub(crate) struct RoleDto {
    /// Its id.
    id: String,
    /// The slug of the tenant that holds it.
    tenant: String,
    /// Its name, unique in the tenant case-insensitively.
    name: String,
    /// What it is for.
    description: Option<String>,
    /// The rights it gives.
    rights: RightsDto,
    /// Whether it is copied, locked, into every descendant tenant.
    propagate: bool,
    /// One of the predefined roles: it cannot be changed or deleted.
    builtin: bool,
    /// A locked copy of a role of a tenant above: change it where it is defined.
    locked: bool,
    /// For a locked copy: the role it copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<RoleSource>,
    /// When it was created.
    created_at: String,
    /// When it last changed.
    updated_at: String,
}

impl RoleDto {
    fn new(r: model::Role, tenant: &str, slugs: Option<&HashMap<TenantId, String>>) -> Self {
        RoleDto {
            id: r.id.to_string(),
            tenant: tenant.to_string(),
            locked: r.is_locked(),
            source: r.source.map(|s| RoleSource {
                tenant_id: s.tenant.to_string(),
                tenant: slugs.and_then(|m| m.get(&s.tenant)).cloned(),
                role_id: s.role.to_string(),
            }),
            name: r.name,
            description: r.description,
            rights: r.rights.into(),
            propagate: r.propagate,
            builtin: r.builtin,
            created_at: time(r.created_at),
            updated_at: time(r.updated_at),
        }
    }
}

/// Every role a tenant holds (its own and locked copies), by name (Rights:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/roles",
    operation_id = "rbac_list_roles",
    tag = "rbac",
    params(TenantPath, ListParams),
    responses((status = 200, body = Page<RoleDto>), Problems)
)]
pub(crate) async fn list_roles(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<RoleDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let roles = d.rbac().list_roles(&actor, t.id)?;
        let slugs = tenant_slugs(d, &actor)?;
        let prefix = q.prefix.as_deref().map(str::to_lowercase);
        let items = roles
            .into_iter()
            .filter(|r| {
                prefix
                    .as_deref()
                    .is_none_or(|p| r.name.to_lowercase().starts_with(p))
            })
            .map(|r| RoleDto::new(r, &t.slug, Some(&slugs)))
            .collect();
        paginate(
            items,
            |r: &RoleDto| name_key(&r.name, &r.id),
            q.after.as_deref(),
            q.limit,
        )
        .map(axum::Json)
    })
    .await
}

/// A new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewRole)]
pub(crate) struct NewRoleDto {
    /// Its name (at most 100 characters).
    name: String,
    /// What it is for.
    #[serde(default)]
    description: Option<String>,
    /// The rights it gives: only rights you hold at this tenant.
    rights: RightsDto,
    /// Copy it, locked, into every descendant tenant.
    #[serde(default)]
    propagate: bool,
}

/// Defines a role (Rights:Write; only rights you hold there, else `403 escalation`).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/roles",
    operation_id = "rbac_create_role",
    tag = "rbac",
    params(TenantPath),
    request_body = NewRoleDto,
    responses((status = 201, body = RoleDto), Problems)
)]
pub(crate) async fn create_role(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(new): Json<NewRoleDto>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<RoleDto>,
    ),
    Problem,
> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let r = d.rbac().create_role(
            &actor,
            t.id,
            model::NewRole {
                name: new.name,
                description: new.description,
                rights: new.rights.into(),
                propagate: new.propagate,
            },
        )?;
        let location = location(&["tenants", &t.slug, "roles", &r.name]);
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            axum::Json(RoleDto::new(r, &t.slug, None)),
        ))
    })
    .await
}

/// A role (Rights:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/roles/{name}",
    operation_id = "rbac_get_role",
    tag = "rbac",
    params(RolePath),
    responses((status = 200, body = RoleDto), Problems)
)]
pub(crate) async fn get_role(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<RolePath>,
) -> Result<axum::Json<RoleDto>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let r = d.rbac().role_by_name(&actor, t.id, &p.name)?;
        let slugs = match r.source {
            Some(_) => Some(tenant_slugs(d, &actor)?),
            None => None,
        };
        Ok(axum::Json(RoleDto::new(r, &t.slug, slugs.as_ref())))
    })
    .await
}

/// A change to a role: absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RolePatch)]
pub(crate) struct RolePatchDto {
    /// New name.
    #[serde(default)]
    name: Option<String>,
    /// New description (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// New rights (you must hold every right added or removed).
    #[serde(default)]
    rights: Option<RightsDto>,
    /// Switch propagation on or off (off leaves the copies as independent roles).
    #[serde(default)]
    propagate: Option<bool>,
}

/// Changes a role where it is defined (Rights:Write). Locked copies and predefined roles are
/// `409 locked`; edits flow down to the copies.
#[utoipa::path(
    patch,
    path = "/tenants/{slug}/roles/{name}",
    operation_id = "rbac_update_role",
    tag = "rbac",
    params(RolePath),
    request_body = RolePatchDto,
    responses((status = 200, body = RoleDto), Problems)
)]
pub(crate) async fn update_role(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<RolePath>,
    Json(patch): Json<RolePatchDto>,
) -> Result<axum::Json<RoleDto>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let r = d.rbac().role_by_name(&actor, t.id, &p.name)?;
        let r = d.rbac().update_role(
            &actor,
            t.id,
            r.id,
            model::RolePatch {
                name: patch.name,
                description: patch.description,
                rights: patch.rights.map(Into::into),
                propagate: patch.propagate,
            },
        )?;
        Ok(axum::Json(RoleDto::new(r, &t.slug, None)))
    })
    .await
}

/// Deletes a role where it is defined (Rights:Write; you must hold its rights). Its copies
/// stay as independent roles.
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/roles/{name}",
    operation_id = "rbac_delete_role",
    tag = "rbac",
    params(RolePath),
    responses((status = 204, description = "Deleted"), Problems)
)]
pub(crate) async fn delete_role(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<RolePath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let r = d.rbac().role_by_name(&actor, t.id, &p.name)?;
        d.rbac().delete_role(&actor, t.id, r.id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Assignments.

/// A user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SubjectType {
    /// A user.
    User,
    /// A group: the assignment reaches every member, transitively.
    Group,
}

/// Who an assignment is given to.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Subject)]
pub(crate) struct SubjectDto {
    /// A user or a group.
    #[serde(rename = "type")]
    type_: SubjectType,
    /// The id of the subject's tenant.
    tenant_id: String,
    /// The slug of the subject's tenant, when you may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    /// The subject's id.
    id: String,
    /// Its username or name, when you may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// A role given by an assignment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RoleRef {
    /// Its id.
    id: String,
    /// Its name, when it still exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// Rights and roles given to a subject at a scope tenant, over its whole subtree.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Assignment)]
pub(crate) struct AssignmentDto {
    /// Its id.
    id: String,
    /// The slug of the scope tenant (absent when you may not see it).
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// The id of the scope tenant.
    scope_id: String,
    /// Who receives it.
    subject: SubjectDto,
    /// Rights given directly.
    rights: RightsDto,
    /// Roles of the scope tenant given.
    roles: Vec<RoleRef>,
    /// When it stops counting, if ever.
    expires_at: Option<String>,
    /// When it was made.
    created_at: String,
    #[serde(skip)]
    key: String,
}

/// Names the things assignments refer to by id, looking each up once, with the caller's
/// actor: what the caller may not see stays unnamed.
struct Namer<'a> {
    d: &'a Directory,
    actor: &'a Actor,
    slugs: Option<HashMap<TenantId, String>>,
    roles: HashMap<TenantId, HashMap<RoleId, String>>,
    users: HashMap<(TenantId, UserId), Option<String>>,
    groups: HashMap<(TenantId, GroupId), Option<String>>,
}

fn seen<T>(r: Result<T, Error>) -> Result<Option<T>, Problem> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl<'a> Namer<'a> {
    fn new(d: &'a Directory, actor: &'a Actor) -> Self {
        Namer {
            d,
            actor,
            slugs: None,
            roles: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    fn slug(&mut self, t: TenantId) -> Result<Option<String>, Problem> {
        if self.slugs.is_none() {
            self.slugs = Some(tenant_slugs(self.d, self.actor)?);
        }
        Ok(self.slugs.as_ref().and_then(|m| m.get(&t)).cloned())
    }

    fn role(&mut self, scope: TenantId, r: RoleId) -> Result<Option<String>, Problem> {
        if !self.roles.contains_key(&scope) {
            let names = seen(self.d.rbac().list_roles(self.actor, scope))?
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.id, r.name))
                .collect();
            self.roles.insert(scope, names);
        }
        Ok(self.roles.get(&scope).and_then(|m| m.get(&r)).cloned())
    }

    fn subject(&mut self, s: &Subject) -> Result<SubjectDto, Problem> {
        let (type_, tenant, id, name) = match *s {
            Subject::User { tenant, id } => {
                let name = match self.users.get(&(tenant, id)) {
                    Some(n) => n.clone(),
                    None => {
                        let n =
                            seen(self.d.users().get(self.actor, tenant, id))?.map(|u| u.username);
                        self.users.insert((tenant, id), n.clone());
                        n
                    }
                };
                (SubjectType::User, tenant, id.to_string(), name)
            }
            Subject::Group { tenant, id } => {
                let name = match self.groups.get(&(tenant, id)) {
                    Some(n) => n.clone(),
                    None => {
                        let n = seen(self.d.groups().get(self.actor, tenant, id))?.map(|g| g.name);
                        self.groups.insert((tenant, id), n.clone());
                        n
                    }
                };
                (SubjectType::Group, tenant, id.to_string(), name)
            }
        };
        Ok(SubjectDto {
            type_,
            tenant_id: tenant.to_string(),
            tenant: self.slug(tenant)?,
            id,
            name,
        })
    }

    fn assignment(&mut self, a: Assignment) -> Result<AssignmentDto, Problem> {
        let roles = a
            .roles
            .iter()
            .map(|r| {
                Ok(RoleRef {
                    id: r.to_string(),
                    name: self.role(a.scope, *r)?,
                })
            })
            .collect::<Result<Vec<_>, Problem>>()?;
        Ok(AssignmentDto {
            id: a.id.to_string(),
            scope: self.slug(a.scope)?,
            scope_id: a.scope.to_string(),
            subject: self.subject(&a.subject)?,
            rights: a.rights.into(),
            roles,
            expires_at: a.expires_at.map(time),
            created_at: time(a.created_at),
            key: time_key(a.created_at, &a.id),
        })
    }
}

/// Filters and paging of an assignment listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssignmentListParams {
    /// Only assignments to users, or only to groups.
    subject_type: Option<SubjectType>,
    /// Only subjects of the tenant with this slug.
    subject_tenant: Option<String>,
    /// Only subjects with this username or name (case-insensitive).
    subject_name: Option<String>,
    /// Only assignments giving the role with this name (case-insensitive).
    role: Option<String>,
    /// Continue after this cursor (`next` of the previous page).
    after: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

fn assignment_page(
    namer: &mut Namer<'_>,
    all: Vec<Assignment>,
    q: &AssignmentListParams,
) -> Result<Page<AssignmentDto>, Problem> {
    let eq = |a: Option<&str>, b: &str| a.is_some_and(|a| a.to_lowercase() == b.to_lowercase());
    let mut items = Vec::new();
    for a in all {
        let dto = namer.assignment(a)?;
        let keep = q.subject_type.is_none_or(|t| dto.subject.type_ == t)
            && q.subject_tenant
                .as_deref()
                .is_none_or(|s| dto.subject.tenant.as_deref() == Some(s))
            && q.subject_name
                .as_deref()
                .is_none_or(|n| eq(dto.subject.name.as_deref(), n))
            && q.role
                .as_deref()
                .is_none_or(|r| dto.roles.iter().any(|x| eq(x.name.as_deref(), r)));
        if keep {
            items.push(dto);
        }
    }
    paginate(items, |a| a.key.clone(), q.after.as_deref(), q.limit)
}

/// Every assignment made at a tenant (Rights:Read there), oldest first.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/assignments",
    operation_id = "rbac_list_assignments",
    tag = "rbac",
    params(TenantPath, AssignmentListParams),
    responses((status = 200, body = Page<AssignmentDto>), Problems)
)]
pub(crate) async fn list_assignments(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<AssignmentListParams>,
) -> Result<axum::Json<Page<AssignmentDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let all = d.rbac().list_assignments(&actor, t.id)?;
        assignment_page(&mut Namer::new(d, &actor), all, &q).map(axum::Json)
    })
    .await
}

/// Who receives a new assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubjectRef {
    /// A user or a group.
    #[serde(rename = "type")]
    type_: SubjectType,
    /// The slug of its tenant: the scope tenant (default) or one above it.
    #[serde(default)]
    tenant: Option<String>,
    /// Its username or name.
    name: String,
}

/// A new assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewAssignment)]
pub(crate) struct NewAssignmentDto {
    /// Who receives it.
    subject: SubjectRef,
    /// Rights given directly.
    #[serde(default)]
    rights: RightsDto,
    /// Names of roles of the scope tenant to give.
    #[serde(default)]
    roles: Vec<String>,
    /// When it stops counting (RFC 3339); absent: never.
    #[serde(default)]
    expires_at: Option<String>,
}

/// Gives a user or group rights and roles at a tenant, over its whole subtree (Rights:Write;
/// only rights you hold there, else `403 escalation`).
#[utoipa::path(
    post,
    path = "/tenants/{slug}/assignments",
    operation_id = "rbac_assign",
    tag = "rbac",
    params(TenantPath),
    request_body = NewAssignmentDto,
    responses((status = 201, body = AssignmentDto), Problems)
)]
pub(crate) async fn assign(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Json(new): Json<NewAssignmentDto>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<AssignmentDto>,
    ),
    Problem,
> {
    st.run(move |d| {
        let scope = address(d, &actor, &p.slug)?;
        let expires_at = parse_opt_time("expires_at", new.expires_at.as_deref())?;
        let (subject_tenant, subject_slug) = match &new.subject.tenant {
            None => (scope.id, scope.slug.clone()),
            Some(s) => (
                d.tenants()
                    .resolve(&actor, s)
                    .map_err(referenced("subject", "such tenant"))?,
                s.clone(),
            ),
        };
        let (subject, subject_name) = match new.subject.type_ {
            SubjectType::User => {
                let u = d
                    .users()
                    .by_username(&actor, subject_tenant, &new.subject.name)
                    .map_err(referenced("subject", "such user"))?;
                (
                    Subject::User {
                        tenant: subject_tenant,
                        id: u.id,
                    },
                    u.username,
                )
            }
            SubjectType::Group => {
                let g = d
                    .groups()
                    .by_name(&actor, subject_tenant, &new.subject.name)
                    .map_err(referenced("subject", "such group"))?;
                (
                    Subject::Group {
                        tenant: subject_tenant,
                        id: g.id,
                    },
                    g.name,
                )
            }
        };
        let mut role_names = HashMap::new();
        let mut roles = Vec::new();
        for name in &new.roles {
            let r = d
                .rbac()
                .role_by_name(&actor, scope.id, name)
                .map_err(referenced("roles", "such role"))?;
            roles.push(r.id);
            role_names.insert(r.id, r.name);
        }
        let a = d.rbac().assign(
            &actor,
            scope.id,
            model::NewAssignment {
                subject,
                rights: new.rights.into(),
                roles,
                expires_at,
            },
        )?;
        // Everything to show is known already: no read after the write.
        let mut namer = Namer::new(d, &actor);
        namer.slugs = Some(HashMap::from([
            (scope.id, scope.slug.clone()),
            (subject_tenant, subject_slug),
        ]));
        namer.roles.insert(scope.id, role_names);
        match subject {
            Subject::User { tenant, id } => namer.users.insert((tenant, id), Some(subject_name)),
            Subject::Group { tenant, id } => namer.groups.insert((tenant, id), Some(subject_name)),
        };
        let dto = namer.assignment(a)?;
        let location = location(&["tenants", &scope.slug, "assignments", &dto.id]);
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            axum::Json(dto),
        ))
    })
    .await
}

/// The assignment in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AssignmentPath {
    /// The scope tenant's slug.
    slug: String,
    /// The assignment's id.
    id: String,
}

fn assignment_id(s: &str) -> Result<AssignmentId, Problem> {
    s.parse().map_err(|_| Problem::not_found())
}

/// An assignment (Rights:Read at its scope).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/assignments/{id}",
    operation_id = "rbac_get_assignment",
    tag = "rbac",
    params(AssignmentPath),
    responses((status = 200, body = AssignmentDto), Problems)
)]
pub(crate) async fn get_assignment(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<AssignmentPath>,
) -> Result<axum::Json<AssignmentDto>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let a = d
            .rbac()
            .get_assignment(&actor, t.id, assignment_id(&p.id)?)?;
        Namer::new(d, &actor).assignment(a).map(axum::Json)
    })
    .await
}

/// Revokes an assignment (Rights:Write at its scope; you must hold every right it defines).
#[utoipa::path(
    delete,
    path = "/tenants/{slug}/assignments/{id}",
    operation_id = "rbac_revoke",
    tag = "rbac",
    params(AssignmentPath),
    responses((status = 204, description = "Revoked"), Problems)
)]
pub(crate) async fn revoke(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<AssignmentPath>,
) -> Result<StatusCode, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        d.rbac().revoke(&actor, t.id, assignment_id(&p.id)?)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Every assignment a user holds, at the tenants where you have Rights:Read.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/users/{username}/assignments",
    operation_id = "rbac_assignments_of_user",
    tag = "rbac",
    params(UserPath, AssignmentListParams),
    responses((status = 200, body = Page<AssignmentDto>), Problems)
)]
pub(crate) async fn assignments_of_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<UserPath>,
    Query(q): Query<AssignmentListParams>,
) -> Result<axum::Json<Page<AssignmentDto>>, Problem> {
    st.run(move |d| {
        let (t, u) = crate::users::resolve(d, &actor, &p)?;
        let all = d.rbac().assignments_of(
            &actor,
            Subject::User {
                tenant: t.id,
                id: u.id,
            },
        )?;
        assignment_page(&mut Namer::new(d, &actor), all, &q).map(axum::Json)
    })
    .await
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

/// Every assignment a group holds, at the tenants where you have Rights:Read.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/groups/{name}/assignments",
    operation_id = "rbac_assignments_of_group",
    tag = "rbac",
    params(GroupPath, AssignmentListParams),
    responses((status = 200, body = Page<AssignmentDto>), Problems)
)]
pub(crate) async fn assignments_of_group(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<GroupPath>,
    Query(q): Query<AssignmentListParams>,
) -> Result<axum::Json<Page<AssignmentDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let g = d.groups().by_name(&actor, t.id, &p.name)?;
        let all = d.rbac().assignments_of(
            &actor,
            Subject::Group {
                tenant: t.id,
                id: g.id,
            },
        )?;
        assignment_page(&mut Namer::new(d, &actor), all, &q).map(axum::Json)
    })
    .await
}
