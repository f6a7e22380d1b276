//! The integrity checker: reads the whole store and reports every index entry that does not
//! match its entity, every edge without its reverse, and every reference that does not resolve.
//! It is what the crash test and `tessera check` rely on; it must never write or repair.

use crate::error::Error;
use crate::model::{
    AppId, AppKind, Application, Assignment, Group, GroupId, Member, Role, RoleId, Subject, Tenant,
    TenantId, User, UserId,
};
use crate::store::codec::{self, Record, Unit};
use crate::store::keys::{self, fold, Counter, Prefix};
use crate::store::records::{CounterValue, Ptr};
use crate::store::{Key, KeyRange, Store};
use crate::Directory;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What the checker found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    /// How many of each kind of entity were checked.
    pub counts: BTreeMap<&'static str, usize>,
    /// Every inconsistency, in words.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn all<T: Record>(store: &dyn Store, p: &Prefix) -> Result<Vec<(Key, T)>, Error> {
    store
        .scan(&KeyRange::prefix(p), usize::MAX, false)?
        .into_iter()
        .map(|(k, e)| codec::decode(&e.value).map(|v| (k, v)))
        .collect()
}

fn ptr<T: Copy + serde::de::DeserializeOwned + Serialize>(
    store: &dyn Store,
    k: &Key,
) -> Result<Option<T>, Error> {
    Ok(match store.get(k)? {
        Some(e) => Some(codec::decode::<Ptr<T>>(&e.value)?.id),
        None => None,
    })
}

pub(crate) fn check(dir: &Directory) -> Result<IntegrityReport, Error> {
    let s = dir.store();
    let mut r = IntegrityReport::default();
    let mut bad = |m: String| r.problems.push(m);
    let slugs: Vec<(Key, Ptr<TenantId>)> = all(s, &keys::slugs())?;
    let mut tenants: HashMap<TenantId, Tenant> = HashMap::new();
    for (k, p) in &slugs {
        match s.get(&keys::tenant(p.id))? {
            Some(e) => {
                let t: Tenant = codec::decode(&e.value)?;
                if keys::slug(&t.slug) != *k {
                    bad(format!(
                        "slug index entry for tenant {} does not match its slug {}",
                        t.id, t.slug
                    ));
                }
                tenants.insert(t.id, t);
            }
            None => bad(format!("slug index points to missing tenant {}", p.id)),
        }
    }
    let root: Option<TenantId> = ptr(s, &keys::root())?;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    counts.insert("tenants", tenants.len());
    for t in tenants.values() {
        match t.parent {
            None if root != Some(t.id) => bad(format!(
                "tenant {} has no parent but is not the root",
                t.slug
            )),
            None => {}
            Some(p) => {
                if !tenants.contains_key(&p) {
                    bad(format!("tenant {} has a missing parent", t.slug));
                }
                if s.get(&keys::child(p, t.id))?.is_none() {
                    bad(format!(
                        "tenant {} is missing from its parent's child index",
                        t.slug
                    ));
                }
            }
        }
        for (k, _) in all::<Unit>(s, &keys::children(t.id))? {
            let c = k
                .tail(&keys::children(t.id))
                .and_then(TenantId::from_key_bytes);
            if c.and_then(|c| tenants.get(&c)).and_then(|c| c.parent) != Some(t.id) {
                bad(format!(
                    "child index of {} lists a tenant that is not its child",
                    t.slug
                ));
            }
        }
        check_tenant(s, t, &tenants, &mut counts, &mut bad)?;
    }
    // Token index entries point to tokens whose hash they are.
    let hp = keys::token_hashes();
    let mut token_count = 0usize;
    for (k, e) in s.scan(&KeyRange::prefix(&hp), usize::MAX, false)? {
        token_count += 1;
        let t: crate::store::records::TokenRef = codec::decode(&e.value)?;
        let tail: String = k
            .tail(&hp)
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        match s.get(&keys::token(t.tenant, t.id))? {
            Some(e) => {
                let rec: crate::model::token::TokenRecord = codec::decode(&e.value)?;
                if rec.hash != tail {
                    bad("a token index entry does not match its token's hash".into());
                }
            }
            None => bad("a token index entry points to a missing token".into()),
        }
    }
    counts.insert("tokens", token_count);
    for (k, v) in counts {
        *r.counts.entry(k).or_default() += v;
    }
    Ok(r)
}

fn check_tenant(
    s: &dyn Store,
    t: &Tenant,
    tenants: &HashMap<TenantId, Tenant>,
    counts: &mut BTreeMap<&'static str, usize>,
    bad: &mut impl FnMut(String),
) -> Result<(), Error> {
    let id = t.id;
    let slug = &t.slug;
    // Users and their indexes.
    let users: Vec<(Key, User)> = all(s, &keys::users(id))?;
    *counts.entry("users").or_default() += users.len();
    let user_ids: HashSet<UserId> = users.iter().map(|(_, u)| u.id).collect();
    let counter = s
        .get(&keys::counter(id, Counter::PosixId))?
        .map(|e| codec::decode::<CounterValue>(&e.value))
        .transpose()?;
    for (_, u) in &users {
        if u.tenant != id {
            bad(format!(
                "{slug}: user {} claims tenant {}",
                u.username, u.tenant
            ));
        }
        if ptr::<UserId>(s, &keys::user_by_name(id, &u.username))? != Some(u.id) {
            bad(format!(
                "{slug}: username index does not point to user {}",
                u.username
            ));
        }
        if s.get(&keys::user_by_cn(id, &u.shown_name(), u.id))?
            .is_none()
        {
            bad(format!(
                "{slug}: common-name index misses user {}",
                u.username
            ));
        }
        if let Some(e) = &u.email {
            if ptr::<UserId>(s, &keys::user_by_email(id, e))? != Some(u.id) {
                bad(format!(
                    "{slug}: e-mail index does not point to user {}",
                    u.username
                ));
            }
        }
        if let Some(p) = &u.posix {
            if ptr::<UserId>(s, &keys::user_by_uid(id, p.uid_number))? != Some(u.id) {
                bad(format!(
                    "{slug}: uidNumber index does not point to user {}",
                    u.username
                ));
            }
        }
    }
    let check_index = |table: u8,
                       what: &str,
                       bad: &mut dyn FnMut(String),
                       valid: &dyn Fn(&[u8], UserId) -> bool|
     -> Result<(), Error> {
        let p = keys::table_of(id, table);
        for (k, v) in all::<Ptr<UserId>>(s, &p)? {
            let tail = k.tail(&p).unwrap_or_default();
            if !valid(tail, v.id) {
                bad(format!("{slug}: stale {what} index entry"));
            }
        }
        Ok(())
    };
    let by_id: HashMap<UserId, &User> = users.iter().map(|(_, u)| (u.id, u)).collect();
    check_index(keys::table::USER_NAME, "username", bad, &|tail, uid| {
        by_id
            .get(&uid)
            .is_some_and(|u| fold(&u.username).as_bytes() == tail)
    })?;
    check_index(keys::table::USER_EMAIL, "e-mail", bad, &|tail, uid| {
        by_id
            .get(&uid)
            .and_then(|u| u.email.as_deref())
            .is_some_and(|e| fold(e).as_bytes() == tail)
    })?;
    check_index(keys::table::USER_UID, "uidNumber", bad, &|tail, uid| {
        by_id
            .get(&uid)
            .and_then(|u| u.posix.as_ref())
            .is_some_and(|p| p.uid_number.to_be_bytes() == tail)
    })?;
    let cn_p = keys::table_of(id, keys::table::USER_CN);
    for (k, _) in all::<Unit>(s, &cn_p)? {
        let tail = k.tail(&cn_p).unwrap_or_default();
        let ok = tail
            .len()
            .checked_sub(17)
            .and_then(|at| tail.split_at_checked(at))
            .and_then(|(name, rest)| {
                let (zero, uid) = rest.split_first()?;
                let u = by_id.get(&UserId::from_key_bytes(uid)?)?;
                Some(*zero == 0 && fold(&u.shown_name()).as_bytes() == name)
            })
            .unwrap_or(false);
        if !ok {
            bad(format!("{slug}: stale common-name index entry"));
        }
    }
    // Groups and their indexes.
    let groups: Vec<(Key, Group)> = all(s, &keys::groups(id))?;
    *counts.entry("groups").or_default() += groups.len();
    let group_ids: HashSet<GroupId> = groups.iter().map(|(_, g)| g.id).collect();
    let mut max_allocated = 0u32;
    for (_, g) in &groups {
        if ptr::<GroupId>(s, &keys::group_by_name(id, &g.name))? != Some(g.id) {
            bad(format!(
                "{slug}: group-name index does not point to group {}",
                g.name
            ));
        }
        if ptr::<GroupId>(s, &keys::group_by_gid(id, g.gid_number))? != Some(g.id) {
            bad(format!(
                "{slug}: gidNumber index does not point to group {}",
                g.name
            ));
        }
        max_allocated = max_allocated.max(g.gid_number);
    }
    for p in [
        keys::table_of(id, keys::table::GROUP_NAME),
        keys::table_of(id, keys::table::GROUP_GID),
    ] {
        for (_, v) in all::<Ptr<GroupId>>(s, &p)? {
            if !group_ids.contains(&v.id) {
                bad(format!(
                    "{slug}: group index entry points to a missing group"
                ));
            }
        }
    }
    for (_, u) in &users {
        if let Some(p) = &u.posix {
            max_allocated = max_allocated.max(p.uid_number);
        }
    }
    if let Some(c) = counter {
        // Every number at or above the counter was given explicitly; numbers the counter handed
        // out are below it. A counter that fell behind an allocated number would hand it out again
        // only if the index check failed, so this is a warning sign, not a duplicate.
        if c.next < u64::from(crate::service::FIRST_POSIX_ID) {
            bad(format!("{slug}: POSIX id counter is below its start"));
        }
    }
    // Membership edges, both ways.
    let fwd_p = keys::table_of(id, keys::table::MEMBER);
    let rev_p = keys::table_of(id, keys::table::MEMBER_OF);
    let exists = |m: &Member| match m {
        Member::User(u) => user_ids.contains(u),
        Member::Group(g) => group_ids.contains(g),
    };
    let mut edges = 0usize;
    for (k, _) in all::<Unit>(s, &fwd_p)? {
        edges += 1;
        let tail = k.tail(&fwd_p).unwrap_or_default();
        let parsed = tail
            .split_at_checked(16)
            .and_then(|(g, m)| Some((GroupId::from_key_bytes(g)?, keys::decode_member(m)?)));
        match parsed {
            Some((g, m)) => {
                if !group_ids.contains(&g) || !exists(&m) {
                    bad(format!("{slug}: membership edge with a missing end"));
                }
                if s.get(&keys::member_of(id, &m, g))?.is_none() {
                    bad(format!("{slug}: membership edge without its reverse"));
                }
            }
            None => bad(format!("{slug}: unreadable membership key")),
        }
    }
    for (k, _) in all::<Unit>(s, &rev_p)? {
        let tail = k.tail(&rev_p).unwrap_or_default();
        let parsed = tail
            .split_at_checked(17)
            .and_then(|(m, g)| Some((keys::decode_member(m)?, GroupId::from_key_bytes(g)?)));
        match parsed {
            Some((m, g)) => {
                if s.get(&keys::member(id, g, &m))?.is_none() {
                    bad(format!(
                        "{slug}: reverse membership edge without its forward edge"
                    ));
                }
            }
            None => bad(format!("{slug}: unreadable reverse membership key")),
        }
    }
    *counts.entry("memberships").or_default() += edges;
    // Credentials and lock states belong to existing users.
    for table in [keys::table::CREDENTIALS, keys::table::LOCK] {
        let p = keys::table_of(id, table);
        for (k, _) in s.scan(&KeyRange::prefix(&p), usize::MAX, false)? {
            let owner = k.tail(&p).and_then(UserId::from_key_bytes);
            if owner.is_none_or(|u| !user_ids.contains(&u)) {
                bad(format!(
                    "{slug}: credentials or lock state of a missing user"
                ));
            }
        }
    }
    // Tokens belong to existing users and are indexed by their hash.
    for (_, rec) in all::<crate::model::token::TokenRecord>(s, &keys::tokens(id))? {
        if !user_ids.contains(&rec.token.user) {
            bad(format!("{slug}: a token of a missing user"));
        }
        let indexed = match crate::model::token::unhex32(&rec.hash) {
            Some(hash) => s.get(&keys::token_hash(&hash))?.is_some(),
            None => false,
        };
        if !indexed {
            bad(format!("{slug}: a token missing from the token index"));
        }
    }
    // Applications.
    let apps: Vec<(Key, Application)> = all(s, &keys::apps(id))?;
    *counts.entry("applications").or_default() += apps.len();
    let ldap: Option<AppId> = ptr(s, &keys::ldap_service(id))?;
    if ldap.is_none_or(|l| {
        !apps
            .iter()
            .any(|(_, a)| a.id == l && matches!(a.kind, AppKind::Ldap(_)))
    }) {
        bad(format!("{slug}: LDAP service missing"));
    }
    for (_, a) in &apps {
        if ptr::<AppId>(s, &keys::app_by_name(id, &a.name))? != Some(a.id) {
            bad(format!(
                "{slug}: application-name index does not point to {}",
                a.name
            ));
        }
        if let AppKind::Saml(sp) = &a.kind {
            if ptr::<AppId>(s, &keys::app_by_entity_id(id, &sp.entity_id))? != Some(a.id) {
                bad(format!(
                    "{slug}: entity-id index does not point to {}",
                    a.name
                ));
            }
        }
        if a.bound_groups.iter().any(|g| !group_ids.contains(g)) {
            bad(format!(
                "{slug}: application {} is bound to a missing group",
                a.name
            ));
        }
    }
    // Roles and copies.
    let roles: Vec<(Key, Role)> = all(s, &keys::roles(id))?;
    *counts.entry("roles").or_default() += roles.len();
    for (_, role) in &roles {
        if ptr::<RoleId>(s, &keys::role_by_name(id, &role.name))? != Some(role.id) {
            bad(format!(
                "{slug}: role-name index does not point to {}",
                role.name
            ));
        }
        if let Some(src) = role.source {
            if s.get(&keys::role_copy(src.tenant, src.role, id, role.id))?
                .is_none()
            {
                bad(format!(
                    "{slug}: locked copy {} is missing from its source's copy index",
                    role.name
                ));
            }
            match s.get(&keys::role(src.tenant, src.role))? {
                Some(e) => {
                    let source: Role = codec::decode(&e.value)?;
                    if !source.propagate {
                        bad(format!(
                            "{slug}: locked copy {} of a role that no longer propagates",
                            role.name
                        ));
                    }
                    if source.rights != role.rights {
                        bad(format!(
                            "{slug}: locked copy {} differs from its source",
                            role.name
                        ));
                    }
                }
                None => bad(format!(
                    "{slug}: locked copy {} of a missing role",
                    role.name
                )),
            }
        }
    }
    let copies_p = keys::table_of(id, keys::table::ROLE_COPY);
    for (k, _) in all::<Unit>(s, &copies_p)? {
        let tail = k.tail(&copies_p).unwrap_or_default();
        let ok = tail
            .get(16..32)
            .and_then(TenantId::from_key_bytes)
            .zip(tail.get(32..48).and_then(RoleId::from_key_bytes));
        match ok {
            Some((ct, cr)) if s.get(&keys::role(ct, cr))?.is_some() => {}
            _ => bad(format!("{slug}: role copy index points to a missing copy")),
        }
    }
    // Assignments at this scope.
    let assignments: Vec<(Key, Assignment)> = all(s, &keys::assignments(id))?;
    *counts.entry("assignments").or_default() += assignments.len();
    let role_ids: HashSet<RoleId> = roles.iter().map(|(_, r)| r.id).collect();
    for (_, a) in &assignments {
        if s.get(&keys::assignment_of(&a.subject, id, a.id))?.is_none() {
            bad(format!(
                "{slug}: assignment missing from its subject's index"
            ));
        }
        let subject_exists = match a.subject {
            Subject::User { tenant, id: u } => s.get(&keys::user(tenant, u))?.is_some(),
            Subject::Group { tenant, id: g } => s.get(&keys::group(tenant, g))?.is_some(),
        };
        if !subject_exists || !tenants.contains_key(&a.subject.tenant()) {
            bad(format!("{slug}: assignment to a missing subject"));
        }
        if a.roles.iter().any(|r| !role_ids.contains(r)) {
            bad(format!("{slug}: assignment of a missing role"));
        }
    }
    Ok(())
}
