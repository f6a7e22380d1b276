//! Wire shapes shared by several resources — rights maps, pages and their cursors, references
//! to users and groups, enums of the model — and their conversions to and from the core's
//! types, plus RFC 3339 times. It owns only shapes: it must not call the directory except
//! through the small best-effort name lookups at the end, which read with the caller's actor.

use crate::problem::Problem;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tessera_directory::model::{ListQuery, Status, TenantId, UserId, UserKind};
use tessera_directory::policy::{
    Area, Permission, Protocol, Right, RightSet, TenantKind, Timestamp,
};
use tessera_directory::{Actor, Directory, Error};
use utoipa::{IntoParams, ToSchema};

/// A time on the wire: RFC 3339 in UTC with microseconds.
pub(crate) fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// Parses an RFC 3339 time from `field`.
pub(crate) fn parse_time(field: &str, s: &str) -> Result<Timestamp, Problem> {
    Timestamp::parse_rfc3339(s).ok_or_else(|| {
        Problem::invalid(
            field,
            format!("{s:?} is not an RFC 3339 time such as 2026-01-01T00:00:00Z"),
        )
    })
}

/// Parses an optional RFC 3339 time from `field`.
pub(crate) fn parse_opt_time(field: &str, s: Option<&str>) -> Result<Option<Timestamp>, Problem> {
    s.map(|s| parse_time(field, s)).transpose()
}

/// Turns "names nothing" into an invalid field: for references inside a request body, where
/// a 404 would suggest the URL is wrong. Other errors pass through.
pub(crate) fn referenced<'a>(
    field: &'static str,
    what: &'a str,
) -> impl FnOnce(Error) -> Problem + 'a {
    move |e| match e {
        Error::NotFound => Problem::invalid(field, format!("no {what}, or you may not see it")),
        other => other.into(),
    }
}

/// A secret on the wire (a password, a code, a token, a seed URL): printing it shows
/// `[redacted]`, and it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The URL of a created object under `/api/v1`, each segment percent-encoded (names may hold
/// spaces and other characters a URL cannot carry as they are).
pub(crate) fn location(segments: &[&str]) -> String {
    let mut out = String::from("/api/v1");
    for seg in segments {
        out.push('/');
        for b in seg.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~@+".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Enums of the model.

/// Active or suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
#[schema(as = Status)]
pub(crate) enum StatusDto {
    /// In use.
    #[default]
    Active,
    /// Kept, but every authentication through it is refused.
    Suspended,
}

impl From<Status> for StatusDto {
    fn from(s: Status) -> Self {
        match s {
            Status::Active => StatusDto::Active,
            Status::Suspended => StatusDto::Suspended,
        }
    }
}

impl From<StatusDto> for Status {
    fn from(s: StatusDto) -> Self {
        match s {
            StatusDto::Active => Status::Active,
            StatusDto::Suspended => Status::Suspended,
        }
    }
}

/// A person or a service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
#[schema(as = UserKind)]
pub(crate) enum UserKindDto {
    /// A human.
    #[default]
    Person,
    /// A machine identity.
    Service,
}

impl From<UserKind> for UserKindDto {
    fn from(k: UserKind) -> Self {
        match k {
            UserKind::Person => UserKindDto::Person,
            UserKind::Service => UserKindDto::Service,
        }
    }
}

impl From<UserKindDto> for UserKind {
    fn from(k: UserKindDto) -> Self {
        match k {
            UserKindDto::Person => UserKind::Person,
            UserKindDto::Service => UserKind::Service,
        }
    }
}

/// The kind of a tenant; it decides which kinds it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TenantKind)]
pub(crate) enum TenantKindDto {
    /// Holds MSP managers and MSPs.
    Distributor,
    /// Holds managed MSPs and customers.
    MspManager,
    /// Holds customers.
    Msp,
    /// An MSP under an MSP manager: holds customers.
    ManagedMsp,
    /// A customer organisation: a leaf.
    Customer,
}

impl From<TenantKind> for TenantKindDto {
    fn from(k: TenantKind) -> Self {
        match k {
            TenantKind::Distributor => TenantKindDto::Distributor,
            TenantKind::MspManager => TenantKindDto::MspManager,
            TenantKind::Msp => TenantKindDto::Msp,
            TenantKind::ManagedMsp => TenantKindDto::ManagedMsp,
            TenantKind::Customer => TenantKindDto::Customer,
        }
    }
}

impl From<TenantKindDto> for TenantKind {
    fn from(k: TenantKindDto) -> Self {
        match k {
            TenantKindDto::Distributor => TenantKind::Distributor,
            TenantKindDto::MspManager => TenantKind::MspManager,
            TenantKindDto::Msp => TenantKind::Msp,
            TenantKindDto::ManagedMsp => TenantKind::ManagedMsp,
            TenantKindDto::Customer => TenantKind::Customer,
        }
    }
}

/// A surface people authenticate through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Protocol)]
pub(crate) enum ProtocolDto {
    /// LDAP.
    Ldap,
    /// RADIUS.
    Radius,
    /// SAML single sign-on.
    Saml,
    /// The admin API, CLI and console.
    Admin,
    /// Internal work (never an authentication; shown in audit events only).
    Internal,
}

impl From<Protocol> for ProtocolDto {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Ldap => ProtocolDto::Ldap,
            Protocol::Radius => ProtocolDto::Radius,
            Protocol::Saml => ProtocolDto::Saml,
            Protocol::Admin => ProtocolDto::Admin,
            Protocol::Internal => ProtocolDto::Internal,
        }
    }
}

impl From<ProtocolDto> for Protocol {
    fn from(p: ProtocolDto) -> Self {
        match p {
            ProtocolDto::Ldap => Protocol::Ldap,
            ProtocolDto::Radius => Protocol::Radius,
            ProtocolDto::Saml => Protocol::Saml,
            ProtocolDto::Admin => Protocol::Admin,
            ProtocolDto::Internal => Protocol::Internal,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rights.

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Permission)]
pub(crate) enum PermissionDto {
    /// Allowed, unless some other grant denies it.
    Allow,
    /// Denied, whatever any other grant says.
    Deny,
}

/// The three rights on one area; an absent right is undefined (which means denied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct AreaRights {
    /// See objects of the area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read: Option<PermissionDto>,
    /// Create, change and delete objects of the area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    write: Option<PermissionDto>,
    /// Run the area's actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execute: Option<PermissionDto>,
}

/// A set of rights by functional area, e.g. `{"users": {"read": "allow", "write": "deny"}}`.
/// Any deny wins; an undefined right is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(as = Rights)]
pub(crate) struct RightsDto {
    /// The tenant tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenants: Option<AreaRights>,
    /// User accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    users: Option<AreaRights>,
    /// Groups and memberships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<AreaRights>,
    /// Password and MFA resets, unlocking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<AreaRights>,
    /// Password, lockout and MFA policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policies: Option<AreaRights>,
    /// Applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applications: Option<AreaRights>,
    /// Roles and assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rights: Option<AreaRights>,
    /// The audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit: Option<AreaRights>,
    /// Reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reports: Option<AreaRights>,
    /// LDAP-level read and write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    directory: Option<AreaRights>,
}

impl RightsDto {
    fn area(&self, a: Area) -> Option<&AreaRights> {
        match a {
            Area::Tenants => self.tenants.as_ref(),
            Area::Users => self.users.as_ref(),
            Area::Groups => self.groups.as_ref(),
            Area::Credentials => self.credentials.as_ref(),
            Area::Policies => self.policies.as_ref(),
            Area::Applications => self.applications.as_ref(),
            Area::Rights => self.rights.as_ref(),
            Area::Audit => self.audit.as_ref(),
            Area::Reports => self.reports.as_ref(),
            Area::Directory => self.directory.as_ref(),
        }
    }

    fn area_mut(&mut self, a: Area) -> &mut AreaRights {
        let slot = match a {
            Area::Tenants => &mut self.tenants,
            Area::Users => &mut self.users,
            Area::Groups => &mut self.groups,
            Area::Credentials => &mut self.credentials,
            Area::Policies => &mut self.policies,
            Area::Applications => &mut self.applications,
            Area::Rights => &mut self.rights,
            Area::Audit => &mut self.audit,
            Area::Reports => &mut self.reports,
            Area::Directory => &mut self.directory,
        };
        slot.get_or_insert_with(AreaRights::default)
    }
}

fn right_of(r: &AreaRights, right: Right) -> Option<PermissionDto> {
    match right {
        Right::Read => r.read,
        Right::Write => r.write,
        Right::Execute => r.execute,
    }
}

impl From<RightSet> for RightsDto {
    fn from(s: RightSet) -> Self {
        let mut out = RightsDto::default();
        for (a, r, p) in s.entries() {
            let slot = out.area_mut(a);
            let p = Some(match p {
                Permission::Allow => PermissionDto::Allow,
                Permission::Deny => PermissionDto::Deny,
            });
            match r {
                Right::Read => slot.read = p,
                Right::Write => slot.write = p,
                Right::Execute => slot.execute = p,
            }
        }
        out
    }
}

impl From<RightsDto> for RightSet {
    fn from(d: RightsDto) -> Self {
        let mut s = RightSet::EMPTY;
        for a in Area::ALL {
            let Some(ar) = d.area(a) else { continue };
            for r in Right::ALL {
                let p = right_of(ar, r).map(|p| match p {
                    PermissionDto::Allow => Permission::Allow,
                    PermissionDto::Deny => Permission::Deny,
                });
                s.set(a, r, p);
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Pages.

/// One page of a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Page<T> {
    /// The items, in the listing's order.
    pub(crate) items: Vec<T>,
    /// Pass this back as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

/// Paging and a name prefix.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Continue after this cursor (`next` of the previous page).
    pub(crate) after: Option<String>,
    /// At most this many items (default 100, at most 1000).
    pub(crate) limit: Option<usize>,
    /// Only names starting with this (case-insensitive).
    pub(crate) prefix: Option<String>,
}

impl ListParams {
    pub(crate) fn query(&self) -> ListQuery {
        ListQuery {
            after: self.after.clone(),
            limit: self.limit,
            prefix: self.prefix.clone(),
        }
    }
}

/// The page size a `limit` asks for: as the core counts it.
pub(crate) fn page_limit(limit: Option<usize>) -> usize {
    limit
        .unwrap_or(ListQuery::DEFAULT_LIMIT)
        .clamp(1, ListQuery::MAX_LIMIT)
}

fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_cursor(c: &str) -> Result<String, Problem> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Problem::invalid("after", "not a cursor from a previous page"))
}

/// Pages a complete listing the core returns at once, in the order of `key` (which must be
/// unique per item): the cursor is the key of the last item, so a page stays right when items
/// before it come and go.
pub(crate) fn paginate<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    after: Option<&str>,
    limit: Option<usize>,
) -> Result<Page<T>, Problem> {
    let limit = page_limit(limit);
    let after = after.map(decode_cursor).transpose()?;
    let mut keyed: Vec<(String, T)> = items.drain(..).map(|t| (key(&t), t)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rest = keyed
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a));
    let mut out = Vec::new();
    let mut last = None;
    for (k, t) in rest.by_ref().take(limit) {
        out.push(t);
        last = Some(k);
    }
    let next = match (rest.next(), last) {
        (Some(_), Some(k)) => Some(encode_cursor(&k)),
        _ => None,
    };
    Ok(Page { items: out, next })
}

/// Pages a listing whose order is not a key order (the tenant tree): the cursor names the last
/// item returned, which must still be there.
pub(crate) fn paginate_in_order<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    after: Option<&str>,
    limit: Option<usize>,
) -> Result<Page<T>, Problem> {
    let limit = page_limit(limit);
    let start = match after.map(decode_cursor).transpose()? {
        None => 0,
        Some(a) => {
            items.iter().position(|t| key(t) == a).ok_or_else(|| {
                Problem::invalid(
                    "after",
                    "the cursor's item is gone; start the listing again",
                )
            })? + 1
        }
    };
    let mut rest = items.into_iter().skip(start);
    let out: Vec<T> = rest.by_ref().take(limit).collect();
    let next = match (rest.next(), out.last()) {
        (Some(_), Some(t)) => Some(encode_cursor(&key(t))),
        _ => None,
    };
    Ok(Page { items: out, next })
}

/// The cursor key of a name compared case-insensitively, made unique by the id.
pub(crate) fn name_key(name: &str, id: &impl std::fmt::Display) -> String {
    format!("{}\u{0}{id}", name.to_lowercase())
}

/// The cursor key of something listed by time.
pub(crate) fn time_key(t: Timestamp, id: &impl std::fmt::Display) -> String {
    // Shift so every i64 sorts as text.
    let shifted = (i128::from(t.as_micros()) - i128::from(i64::MIN)).unsigned_abs();
    format!("{shifted:020}\u{0}{id}")
}

// ---------------------------------------------------------------------------------------------
// References.

/// A user or group by id, with its name when the caller may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Ref {
    /// Its id.
    pub(crate) id: String,
    /// Its username or name; absent when you may not see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
}

/// Looks up usernames for display: one by one for a few, through the listing for many.
pub(crate) fn user_names(
    d: &Directory,
    actor: &Actor,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<HashMap<UserId, String>, Problem> {
    let mut out = HashMap::new();
    if ids.len() <= 32 {
        for id in ids {
            match d.users().get(actor, tenant, *id) {
                Ok(u) => {
                    out.insert(*id, u.username);
                }
                Err(Error::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(out);
    }
    let mut q = ListQuery {
        limit: Some(ListQuery::MAX_LIMIT),
        ..ListQuery::default()
    };
    loop {
        let page = match d.users().list(actor, tenant, &q) {
            Ok(p) => p,
            Err(Error::NotFound) => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        out.extend(page.items.into_iter().map(|u| (u.id, u.username)));
        match page.next {
            Some(n) => q.after = Some(n),
            None => return Ok(out),
        }
    }
}

/// The slugs of the tenants the caller may see, for naming tenants referred to by id.
pub(crate) fn tenant_slugs(
    d: &Directory,
    actor: &Actor,
) -> Result<HashMap<TenantId, String>, Problem> {
    Ok(d.tenants()
        .list(actor)?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn rights_round_trip() {
        let mut s = RightSet::allowing(&[Area::Users, Area::Audit], &[Right::Read, Right::Write]);
        s.set(Area::Groups, Right::Execute, Some(Permission::Deny));
        let d = RightsDto::from(s);
        assert_eq!(RightSet::from(d), s);
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["groups"]["execute"], "deny");
        assert_eq!(json["users"]["read"], "allow");
        assert!(json.get("tenants").is_none());
        assert!(serde_json::from_str::<RightsDto>(r#"{"userz": {}}"#).is_err());
        assert!(serde_json::from_str::<RightsDto>(r#"{"users": {"delete": "allow"}}"#).is_err());
    }

    #[test]
    fn pages_follow_their_cursor() {
        let items: Vec<u32> = (0..25).collect();
        let key = |n: &u32| format!("{n:03}");
        let p1 = paginate(items.clone(), key, None, Some(10)).unwrap();
        assert_eq!(p1.items, (0..10).collect::<Vec<_>>());
        let p2 = paginate(items.clone(), key, p1.next.as_deref(), Some(10)).unwrap();
        assert_eq!(p2.items, (10..20).collect::<Vec<_>>());
        let p3 = paginate(items.clone(), key, p2.next.as_deref(), Some(10)).unwrap();
        assert_eq!(p3.items, (20..25).collect::<Vec<_>>());
        assert!(p3.next.is_none());
        // An item before the cursor disappearing does not shift the next page.
        let fewer: Vec<u32> = (5..25).collect();
        let p2b = paginate(fewer, key, p1.next.as_deref(), Some(10)).unwrap();
        assert_eq!(p2b.items, (10..20).collect::<Vec<_>>());
        assert!(paginate(items.clone(), key, Some("!!"), None).is_err());
        let q1 = paginate_in_order(items.clone(), key, None, Some(20)).unwrap();
        let q2 = paginate_in_order(items, key, q1.next.as_deref(), Some(20)).unwrap();
        assert_eq!(q2.items, (20..25).collect::<Vec<_>>());
    }

    #[test]
    fn locations_are_encoded() {
        assert_eq!(
            location(&["tenants", "acme", "roles", "Tier 1/2 ü"]),
            "/api/v1/tenants/acme/roles/Tier%201%2F2%20%C3%BC"
        );
        assert_eq!(
            location(&["tenants", "acme", "users", "a.b+c@d"]),
            "/api/v1/tenants/acme/users/a.b+c@d"
        );
    }

    #[test]
    fn time_keys_sort_as_times() {
        let a = time_key(Timestamp(-5), &"x");
        let b = time_key(Timestamp(3), &"x");
        let c = time_key(Timestamp(1_767_225_600_000_000), &"x");
        assert!(a < b && b < c);
    }
}
