//! Store keys. Every key is built here, from typed ids only, and starts with its namespace: the
//! tenant it belongs to (or the installation, for the few installation-wide entries). A lookup
//! without a tenant cannot be written. Variable-length parts (names) only ever come last, so
//! prefix scans are unambiguous. It must not know about values.

use crate::model::{
    AppId, AssignmentId, EventId, GroupId, Member, RoleId, Subject, TenantId, UserId,
};
use tessera_policy::Timestamp;

/// Whose data a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Namespace {
    /// Installation-wide entries: the root pointer, the slug index, the tree marker.
    Installation,
    /// A tenant's data.
    Tenant(TenantId),
}

impl Namespace {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Namespace::Installation => vec![NS_INSTALLATION],
            Namespace::Tenant(t) => {
                let mut v = Vec::with_capacity(17);
                v.push(NS_TENANT);
                v.extend_from_slice(t.key_bytes());
                v
            }
        }
    }

    /// The namespace a raw key starts with.
    pub(crate) fn of(raw: &[u8]) -> Option<Namespace> {
        match raw.split_first()? {
            (&NS_INSTALLATION, _) => Some(Namespace::Installation),
            (&NS_TENANT, rest) => rest
                .get(..16)
                .and_then(TenantId::from_key_bytes)
                .map(Namespace::Tenant),
            _ => None,
        }
    }
}

const NS_INSTALLATION: u8 = 0x00;
const NS_TENANT: u8 = 0x01;

/// Tables: the byte after the namespace.
pub(crate) mod table {
    pub(crate) const TENANT: u8 = 0x01;
    pub(crate) const CHILD: u8 = 0x02;
    pub(crate) const SLUG: u8 = 0x03;
    pub(crate) const ROOT: u8 = 0x04;
    pub(crate) const COUNTER: u8 = 0x05;
    pub(crate) const MARKER: u8 = 0x06;
    pub(crate) const KEY_CHECK: u8 = 0x07;
    pub(crate) const TOKEN_HASH: u8 = 0x08;
    pub(crate) const USER: u8 = 0x10;
    pub(crate) const USER_NAME: u8 = 0x11;
    pub(crate) const USER_EMAIL: u8 = 0x12;
    pub(crate) const USER_UID: u8 = 0x13;
    pub(crate) const USER_CN: u8 = 0x14;
    pub(crate) const GROUP: u8 = 0x20;
    pub(crate) const GROUP_NAME: u8 = 0x21;
    pub(crate) const GROUP_GID: u8 = 0x22;
    pub(crate) const MEMBER: u8 = 0x30;
    pub(crate) const MEMBER_OF: u8 = 0x31;
    pub(crate) const APP: u8 = 0x40;
    pub(crate) const APP_NAME: u8 = 0x41;
    pub(crate) const APP_ENTITY: u8 = 0x42;
    pub(crate) const LDAP_SERVICE: u8 = 0x43;
    pub(crate) const ROLE: u8 = 0x50;
    pub(crate) const ROLE_NAME: u8 = 0x51;
    pub(crate) const ROLE_COPY: u8 = 0x52;
    pub(crate) const ASSIGNMENT: u8 = 0x60;
    pub(crate) const ASSIGNMENT_SUBJECT: u8 = 0x61;
    pub(crate) const AUDIT: u8 = 0x70;
    pub(crate) const CREDENTIALS: u8 = 0x80;
    pub(crate) const LOCK: u8 = 0x81;
    pub(crate) const POLICY: u8 = 0x82;
    pub(crate) const TOKEN: u8 = 0x90;
    pub(crate) const SAML_IDP_KEY: u8 = 0xA0;
    pub(crate) const SAML_SEEN_ID: u8 = 0xA1;
    pub(crate) const SAML_SEEN_EXPIRY: u8 = 0xA2;
    pub(crate) const SAML_SESSION: u8 = 0xA3;
    pub(crate) const RADIUS_SESSION: u8 = 0xB0;
    pub(crate) const RADIUS_SESSION_AGE: u8 = 0xB1;
    pub(crate) const RADIUS_SESSION_COUNT: u8 = 0xB2;
    pub(crate) const RADIUS_EAP_KEY: u8 = 0xB3;
}

/// Per-tenant counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    /// The next uidNumber/gidNumber to hand out (one range for both, as FreeIPA does, so a
    /// user's own number never collides with a group's).
    PosixId = 1,
}

/// Keys whose version tells caches that a kind of data changed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marker {
    /// Group memberships of a tenant.
    Membership = 1,
    /// Roles and assignments at a tenant.
    Rbac = 2,
    /// The tenant tree (installation namespace).
    Tree = 3,
    /// Any tenant's policies (installation namespace): caches of effective policies and of
    /// verified credentials depend on it.
    Policy = 4,
    /// User and group names of a tenant (renames): the member-name cache depends on it.
    Names = 5,
    /// Users' status (suspension, resumption, deletion) in a tenant: cached rights depend on it.
    Status = 6,
}

/// A complete key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl Key {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// For store backends reading keys back from disk.
    pub(crate) fn from_stored(raw: Vec<u8>) -> Self {
        Key(raw)
    }

    pub(crate) fn namespace(&self) -> Option<Namespace> {
        Namespace::of(&self.0)
    }

    /// Whether this is a marker key (one whose version tells caches that data changed).
    pub(crate) fn is_marker(&self) -> bool {
        self.namespace()
            .is_some_and(|ns| self.0.get(ns.encode().len()) == Some(&table::MARKER))
    }

    /// The bytes after `prefix`, when the key starts with it.
    pub(crate) fn tail(&self, prefix: &Prefix) -> Option<&[u8]> {
        self.0.strip_prefix(prefix.0.as_slice())
    }
}

/// The start of a family of keys, for scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prefix(Vec<u8>);

impl Prefix {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key made of this prefix and a tail (a cursor).
    pub(crate) fn with_tail(&self, tail: &[u8]) -> Key {
        let mut v = self.0.clone();
        v.extend_from_slice(tail);
        Key(v)
    }
}

fn key(ns: Namespace, table: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut v = ns.encode();
    v.push(table);
    for p in parts {
        v.extend_from_slice(p);
    }
    v
}

fn t(id: TenantId) -> Namespace {
    Namespace::Tenant(id)
}

/// Index values that compare case-insensitively are stored folded.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn member_bytes(m: &Member) -> Vec<u8> {
    let (kind, id) = match m {
        Member::User(u) => (1u8, u.key_bytes()),
        Member::Group(g) => (2u8, g.key_bytes()),
    };
    let mut out = Vec::with_capacity(17);
    out.push(kind);
    out.extend_from_slice(id);
    out
}

pub(crate) fn decode_member(b: &[u8]) -> Option<Member> {
    let (kind, id) = b.split_first()?;
    let id = id.get(..16)?;
    match kind {
        1 => UserId::from_key_bytes(id).map(Member::User),
        2 => GroupId::from_key_bytes(id).map(Member::Group),
        _ => None,
    }
}

fn subject_bytes(s: &Subject) -> Vec<u8> {
    match s {
        Subject::User { id, .. } => member_bytes(&Member::User(*id)),
        Subject::Group { id, .. } => member_bytes(&Member::Group(*id)),
    }
}

/// Timestamps in keys: sign-flipped big-endian, so byte order is time order.
pub(crate) fn time_bytes(at: Timestamp) -> [u8; 8] {
    ((at.0 as u64) ^ (1u64 << 63)).to_be_bytes()
}

/// The time at the start of `bytes` (written by [`time_bytes`]); `None` when shorter.
pub(crate) fn time_from_bytes(bytes: &[u8]) -> Option<Timestamp> {
    let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(Timestamp((u64::from_be_bytes(b) ^ (1u64 << 63)) as i64))
}

// ---- installation-wide ----

pub(crate) fn root() -> Key {
    Key(key(Namespace::Installation, table::ROOT, &[]))
}
pub(crate) fn slug(slug: &str) -> Key {
    Key(key(
        Namespace::Installation,
        table::SLUG,
        &[slug.as_bytes()],
    ))
}
pub(crate) fn slugs() -> Prefix {
    Prefix(key(Namespace::Installation, table::SLUG, &[]))
}
/// The sealed value that tells whether the master key is the store's.
pub(crate) fn key_check() -> Key {
    Key(key(Namespace::Installation, table::KEY_CHECK, &[]))
}
pub(crate) fn tree_marker() -> Key {
    Key(key(
        Namespace::Installation,
        table::MARKER,
        &[&[Marker::Tree as u8]],
    ))
}

// ---- tenant ----

pub(crate) fn tenant(id: TenantId) -> Key {
    Key(key(t(id), table::TENANT, &[]))
}
pub(crate) fn child(parent: TenantId, child: TenantId) -> Key {
    Key(key(t(parent), table::CHILD, &[child.key_bytes()]))
}
pub(crate) fn children(parent: TenantId) -> Prefix {
    Prefix(key(t(parent), table::CHILD, &[]))
}
pub(crate) fn counter(tenant: TenantId, c: Counter) -> Key {
    Key(key(t(tenant), table::COUNTER, &[&[c as u8]]))
}
pub(crate) fn marker(tenant: TenantId, m: Marker) -> Key {
    Key(key(t(tenant), table::MARKER, &[&[m as u8]]))
}
/// Everything a tenant holds.
#[cfg(test)]
pub(crate) fn tenant_all(tenant: TenantId) -> Prefix {
    Prefix(Namespace::Tenant(tenant).encode())
}
/// Where a read-ahead of the store (on opening) goes past `raw`: `None` when the key's table
/// is one every login and search reads by name or id — users, groups and their name indexes,
/// credentials, locks, applications, roles, policies and the tenant's own small tables — else
/// the first key after that table. Skipped: the other indexes and the membership tables (read
/// by a search that filters on them, or scanned once into the group graph) and what grows with
/// traffic rather than with the directory (audit events, tokens, SAML and RADIUS session state).
/// At 100k users the read-ahead costs about half the memory it would over every table.
pub(crate) fn read_ahead_skip(raw: &[u8]) -> Option<Vec<u8>> {
    let Some(Namespace::Tenant(_)) = Namespace::of(raw) else {
        return None;
    };
    let (head, rest) = raw.split_at_checked(17)?;
    let table = *rest.first()?;
    let read = matches!(
        table,
        table::TENANT..=table::TOKEN_HASH
            | table::USER
            | table::USER_NAME
            | table::GROUP
            | table::GROUP_NAME
            | table::APP..=table::LDAP_SERVICE
            | table::ROLE..=table::ASSIGNMENT_SUBJECT
            | table::CREDENTIALS..=table::POLICY
            | table::SAML_IDP_KEY
            | table::RADIUS_EAP_KEY
    );
    if read {
        return None;
    }
    let mut next = head.to_vec();
    // The last table byte has no successor within the namespace: the next namespace.
    match table.checked_add(1) {
        Some(t) => next.push(t),
        None => return after_namespace(head),
    }
    Some(next)
}

/// The first key after every key starting with `head` (a namespace's bytes).
fn after_namespace(head: &[u8]) -> Option<Vec<u8>> {
    let mut next = head.to_vec();
    while let Some(last) = next.pop() {
        if let Some(b) = last.checked_add(1) {
            next.push(b);
            return Some(next);
        }
    }
    None
}

pub(crate) fn table_of(tenant: TenantId, table: u8) -> Prefix {
    Prefix(key(t(tenant), table, &[]))
}

// ---- users ----

pub(crate) fn user(tenant: TenantId, id: UserId) -> Key {
    Key(key(t(tenant), table::USER, &[id.key_bytes()]))
}
pub(crate) fn users(tenant: TenantId) -> Prefix {
    table_of(tenant, table::USER)
}
pub(crate) fn user_by_name(tenant: TenantId, username: &str) -> Key {
    Key(key(
        t(tenant),
        table::USER_NAME,
        &[fold(username).as_bytes()],
    ))
}
pub(crate) fn user_names(tenant: TenantId) -> Prefix {
    table_of(tenant, table::USER_NAME)
}
pub(crate) fn user_by_email(tenant: TenantId, email: &str) -> Key {
    Key(key(t(tenant), table::USER_EMAIL, &[fold(email).as_bytes()]))
}
pub(crate) fn user_by_uid(tenant: TenantId, uid: u32) -> Key {
    Key(key(t(tenant), table::USER_UID, &[&uid.to_be_bytes()]))
}

/// The (non-unique) index of users by common name: `fold(cn) ‖ 0x00 ‖ user id`.
pub(crate) fn user_by_cn(tenant: TenantId, cn: &str, id: UserId) -> Key {
    Key(key(
        t(tenant),
        table::USER_CN,
        &[fold(cn).as_bytes(), &[0], id.key_bytes()],
    ))
}
pub(crate) fn users_by_cn(tenant: TenantId, cn: &str) -> Prefix {
    Prefix(key(t(tenant), table::USER_CN, &[fold(cn).as_bytes(), &[0]]))
}

// ---- groups and membership ----

pub(crate) fn group(tenant: TenantId, id: GroupId) -> Key {
    Key(key(t(tenant), table::GROUP, &[id.key_bytes()]))
}
pub(crate) fn groups(tenant: TenantId) -> Prefix {
    table_of(tenant, table::GROUP)
}
pub(crate) fn group_by_name(tenant: TenantId, name: &str) -> Key {
    Key(key(t(tenant), table::GROUP_NAME, &[fold(name).as_bytes()]))
}
pub(crate) fn group_names(tenant: TenantId) -> Prefix {
    table_of(tenant, table::GROUP_NAME)
}
pub(crate) fn group_by_gid(tenant: TenantId, gid: u32) -> Key {
    Key(key(t(tenant), table::GROUP_GID, &[&gid.to_be_bytes()]))
}
/// Forward edge: `member` is a direct member of `group`.
pub(crate) fn member(tenant: TenantId, group: GroupId, member: &Member) -> Key {
    Key(key(
        t(tenant),
        table::MEMBER,
        &[group.key_bytes(), &member_bytes(member)],
    ))
}
pub(crate) fn members(tenant: TenantId, group: GroupId) -> Prefix {
    Prefix(key(t(tenant), table::MEMBER, &[group.key_bytes()]))
}
/// Reverse edge of [`member`].
pub(crate) fn member_of(tenant: TenantId, member: &Member, group: GroupId) -> Key {
    Key(key(
        t(tenant),
        table::MEMBER_OF,
        &[&member_bytes(member), group.key_bytes()],
    ))
}
pub(crate) fn memberships_of(tenant: TenantId, member: &Member) -> Prefix {
    Prefix(key(t(tenant), table::MEMBER_OF, &[&member_bytes(member)]))
}

// ---- applications ----

pub(crate) fn app(tenant: TenantId, id: AppId) -> Key {
    Key(key(t(tenant), table::APP, &[id.key_bytes()]))
}
pub(crate) fn apps(tenant: TenantId) -> Prefix {
    table_of(tenant, table::APP)
}
pub(crate) fn app_by_name(tenant: TenantId, name: &str) -> Key {
    Key(key(t(tenant), table::APP_NAME, &[fold(name).as_bytes()]))
}
pub(crate) fn app_by_entity_id(tenant: TenantId, entity_id: &str) -> Key {
    Key(key(t(tenant), table::APP_ENTITY, &[entity_id.as_bytes()]))
}

/// Points to the tenant's LDAP service application.
pub(crate) fn ldap_service(tenant: TenantId) -> Key {
    Key(key(t(tenant), table::LDAP_SERVICE, &[]))
}

// ---- roles and assignments ----

pub(crate) fn role(tenant: TenantId, id: RoleId) -> Key {
    Key(key(t(tenant), table::ROLE, &[id.key_bytes()]))
}
pub(crate) fn roles(tenant: TenantId) -> Prefix {
    table_of(tenant, table::ROLE)
}
pub(crate) fn role_by_name(tenant: TenantId, name: &str) -> Key {
    Key(key(
        t(tenant),
        table::ROLE_NAME,
        &[tessera_policy::roles::name_key(name).as_bytes()],
    ))
}
/// Index at the source: `copy` in `copy_tenant` is a locked copy of `source`.
pub(crate) fn role_copy(
    source_tenant: TenantId,
    source: RoleId,
    copy_tenant: TenantId,
    copy: RoleId,
) -> Key {
    Key(key(
        t(source_tenant),
        table::ROLE_COPY,
        &[
            source.key_bytes(),
            copy_tenant.key_bytes(),
            copy.key_bytes(),
        ],
    ))
}
pub(crate) fn role_copies(source_tenant: TenantId, source: RoleId) -> Prefix {
    Prefix(key(
        t(source_tenant),
        table::ROLE_COPY,
        &[source.key_bytes()],
    ))
}
pub(crate) fn assignment(scope: TenantId, id: AssignmentId) -> Key {
    Key(key(t(scope), table::ASSIGNMENT, &[id.key_bytes()]))
}
pub(crate) fn assignments(scope: TenantId) -> Prefix {
    table_of(scope, table::ASSIGNMENT)
}
/// Index at the subject's tenant: `subject` holds assignment `id` at `scope`.
pub(crate) fn assignment_of(subject: &Subject, scope: TenantId, id: AssignmentId) -> Key {
    Key(key(
        t(subject.tenant()),
        table::ASSIGNMENT_SUBJECT,
        &[&subject_bytes(subject), scope.key_bytes(), id.key_bytes()],
    ))
}
pub(crate) fn assignments_of(subject: &Subject) -> Prefix {
    Prefix(key(
        t(subject.tenant()),
        table::ASSIGNMENT_SUBJECT,
        &[&subject_bytes(subject)],
    ))
}

// ---- credentials and policies ----

pub(crate) fn credentials(tenant: TenantId, user: UserId) -> Key {
    Key(key(t(tenant), table::CREDENTIALS, &[user.key_bytes()]))
}
pub(crate) fn lock(tenant: TenantId, user: UserId) -> Key {
    Key(key(t(tenant), table::LOCK, &[user.key_bytes()]))
}
pub(crate) fn policy(tenant: TenantId) -> Key {
    Key(key(t(tenant), table::POLICY, &[]))
}
pub(crate) fn policy_marker() -> Key {
    Key(key(
        Namespace::Installation,
        table::MARKER,
        &[&[Marker::Policy as u8]],
    ))
}

// ---- tokens ----

/// The index from a token's SHA-256 to the token (installation-wide: a token names its tenant).
pub(crate) fn token_hash(hash: &[u8; 32]) -> Key {
    Key(key(Namespace::Installation, table::TOKEN_HASH, &[hash]))
}
pub(crate) fn token_hashes() -> Prefix {
    Prefix(key(Namespace::Installation, table::TOKEN_HASH, &[]))
}
pub(crate) fn token(tenant: TenantId, id: crate::model::TokenId) -> Key {
    Key(key(t(tenant), table::TOKEN, &[id.key_bytes()]))
}
pub(crate) fn tokens(tenant: TenantId) -> Prefix {
    table_of(tenant, table::TOKEN)
}

// ---- SAML and RADIUS accounting (the keys themselves are built in their services) ----

pub(crate) fn in_table(tenant: TenantId, table: u8, parts: &[&[u8]]) -> Key {
    Key(key(t(tenant), table, parts))
}
/// The keys of `table` in `tenant` that start with `parts` (fixed-length parts only).
pub(crate) fn in_table_prefix(tenant: TenantId, table: u8, parts: &[&[u8]]) -> Prefix {
    Prefix(key(t(tenant), table, parts))
}

// ---- audit ----

pub(crate) fn audit(tenant: TenantId, at: Timestamp, id: EventId) -> Key {
    Key(key(
        t(tenant),
        table::AUDIT,
        &[&time_bytes(at), id.key_bytes()],
    ))
}
pub(crate) fn audit_log(tenant: TenantId) -> Prefix {
    table_of(tenant, table::AUDIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn tid(n: u8) -> TenantId {
        TenantId::from_uuid(Uuid::from_bytes([n; 16]))
    }

    #[test]
    fn read_ahead_reads_the_hot_tables_and_skips_the_rest() {
        let a = tid(1);
        let u = UserId::from_uuid(Uuid::from_bytes([9; 16]));
        for k in [
            user(a, u),
            user_by_name(a, "alice"),
            credentials(a, u),
            lock(a, u),
            tenant(a),
            slug("contoso"),
        ] {
            assert_eq!(read_ahead_skip(k.as_bytes()), None, "{k:?}");
        }
        // Skipped: the e-mail index and memberships (to the next table), audit events.
        let mail = user_by_email(a, "alice@example.com");
        let next = read_ahead_skip(mail.as_bytes()).unwrap();
        assert!(
            next.as_slice() > mail.as_bytes() && next.as_slice() <= user_by_uid(a, 0).as_bytes()
        );
        // An audit event: past the whole audit table, and not past the credentials.
        let ev = audit(
            a,
            Timestamp::from_secs(5),
            EventId::from_uuid(Uuid::from_bytes([3; 16])),
        );
        let next = read_ahead_skip(ev.as_bytes()).unwrap();
        assert!(next.as_slice() > ev.as_bytes());
        assert!(next.as_slice() > audit_log(a).0.as_slice());
        assert!(!next.starts_with(&audit_log(a).0));
        assert!(next.as_slice() <= credentials(a, u).as_bytes());
        // The next namespace after a namespace's last bytes.
        let head = tenant_all(a).0;
        let next = after_namespace(&head).unwrap();
        assert!(!next.starts_with(&head) && next.as_slice() > head.as_slice());
        assert_eq!(after_namespace(&[0xff, 0xff]), None);
    }

    #[test]
    fn every_key_starts_with_its_tenant() {
        let a = tid(1);
        let u = UserId::from_uuid(Uuid::from_bytes([9; 16]));
        for k in [
            user(a, u),
            user_by_name(a, "Alice"),
            tenant(a),
            marker(a, Marker::Rbac),
        ] {
            assert_eq!(k.namespace(), Some(Namespace::Tenant(a)));
            assert!(k.as_bytes().starts_with(&tenant_all(a).0));
        }
        assert_eq!(slug("x").namespace(), Some(Namespace::Installation));
    }

    #[test]
    fn names_are_folded_and_time_orders_bytes() {
        assert_eq!(user_by_name(tid(1), "ALICE"), user_by_name(tid(1), "alice"));
        assert!(time_bytes(Timestamp(-5)) < time_bytes(Timestamp(3)));
        assert!(time_bytes(Timestamp(3)) < time_bytes(Timestamp(1 << 40)));
        for t in [i64::MIN, -5, 0, 3, 1 << 40, i64::MAX] {
            assert_eq!(
                time_from_bytes(&time_bytes(Timestamp(t))),
                Some(Timestamp(t))
            );
        }
        assert_eq!(time_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn member_bytes_round_trip() {
        let g = Member::Group(GroupId::from_uuid(Uuid::from_bytes([3; 16])));
        assert_eq!(decode_member(&member_bytes(&g)), Some(g));
        assert_eq!(decode_member(&[7; 17]), None);
        assert_eq!(decode_member(&[1; 5]), None);
    }
}
