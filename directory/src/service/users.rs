//! The users service: creating (one or many in one transaction), reading, listing, changing
//! (making a user a POSIX account later, re-numbering it), suspending and deleting the users of
//! a tenant, with their unique indexes (username, e-mail, uidNumber) kept in the same
//! transaction as the record. Credentials are not handled here.

use super::{allocate_posix_id, must, page_by_name, tenant_in};
use crate::actor::Actor;
use crate::audit::{summary, Change};
use crate::error::Error;
use crate::model::{
    Group, GroupId, ListQuery, Member, NewPosix, NewUser, Page, Posix, Status, Subject, TenantId,
    User, UserId, UserPatch,
};
use crate::service::groups::{add_edge, remove_all_edges_of};
use crate::store::keys::{self, fold, Marker};
use crate::store::records::Ptr;
use crate::store::txn::Txn;
use crate::Directory;
use tessera_policy::{Area, Right};

/// Users of tenants. Obtain with [`Directory::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    dir: &'a Directory,
}

impl<'a> Users<'a> {
    /// The most users [`Users::create_many`] takes at once.
    pub const MAX_BATCH: usize = 5_000;

    pub(crate) fn new(dir: &'a Directory) -> Self {
        Users { dir }
    }

    /// Creates a user (Users:Write on the tenant; Groups:Write too when `groups` is not empty).
    pub fn create(&self, actor: &Actor, tenant: TenantId, new: NewUser) -> Result<User, Error> {
        let mut v = self.create_many(actor, tenant, vec![new])?;
        v.pop().ok_or(Error::Conflict)
    }

    /// Creates several users in one transaction: all of them or none.
    pub fn create_many(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: Vec<NewUser>,
    ) -> Result<Vec<User>, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Users, Right::Write)?;
        if new.iter().any(|n| !n.groups.is_empty()) {
            dir.require(actor, tenant, Area::Groups, Right::Write)?;
            let groups: std::collections::BTreeSet<GroupId> =
                new.iter().flat_map(|n| n.groups.iter().copied()).collect();
            for g in groups {
                dir.require_membership_change(actor, tenant, g)?;
            }
        }
        if new.len() > Self::MAX_BATCH {
            return Err(crate::model::validate::invalid(
                "users",
                format!("at most {} users at once", Self::MAX_BATCH),
            ));
        }
        new.iter().try_for_each(NewUser::validate)?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let mut out = Vec::with_capacity(new.len());
            for n in &new {
                let u = insert_user(dir, tx, tenant, n)?;
                dir.record_change(
                    tx,
                    Change {
                        tenant,
                        action: "user.create",
                        target: format!("user:{}", u.username),
                        before: None,
                        after: summary(&u),
                        actor,
                        actor_name: &actor_name,
                    },
                )?;
                out.push(u);
            }
            Ok(out)
        })
    }

    fn require_read(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: Option<UserId>,
    ) -> Result<(), Error> {
        if let Some(id) = id {
            if Directory::is_self(actor, tenant, id) {
                return Ok(());
            }
        }
        self.dir
            .require(actor, tenant, Area::Users, Right::Read)
            .map(|_| ())
    }

    /// A user (Users:Read on the tenant, or the user itself).
    pub fn get(&self, actor: &Actor, tenant: TenantId, id: UserId) -> Result<User, Error> {
        self.require_read(actor, tenant, Some(id))?;
        self.dir.txn(|tx| must(tx, &keys::user(tenant, id)))
    }

    /// Several users of one tenant in one read (missing ids are skipped), in the order of
    /// `ids`: all of them with Users:Read on the tenant; without it only the caller itself, and
    /// when that is not among them the same refusal as [`Users::get`].
    pub fn get_many(
        &self,
        actor: &Actor,
        tenant: TenantId,
        ids: &[UserId],
    ) -> Result<Vec<User>, Error> {
        let ids: Vec<UserId> = match self.require_read(actor, tenant, None) {
            Ok(()) => ids.to_vec(),
            Err(e) => {
                let mine: Vec<UserId> = ids
                    .iter()
                    .copied()
                    .filter(|id| Directory::is_self(actor, tenant, *id))
                    .take(1)
                    .collect();
                if mine.is_empty() {
                    return Err(e);
                }
                mine
            }
        };
        self.dir.txn(|tx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(u) = tx.get::<User>(&keys::user(tenant, *id))? {
                    out.push(u);
                }
            }
            Ok(out)
        })
    }

    /// A user by username, case-insensitively.
    pub fn by_username(
        &self,
        actor: &Actor,
        tenant: TenantId,
        username: &str,
    ) -> Result<User, Error> {
        // One read of the index and the record; what it found is shown only if allowed.
        let found = self.dir.txn(|tx| {
            match tx.get::<Ptr<UserId>>(&keys::user_by_name(tenant, username))? {
                Some(p) => must::<User>(tx, &keys::user(tenant, p.id)).map(Some),
                None => Ok(None),
            }
        })?;
        self.require_read(actor, tenant, found.as_ref().map(|u| u.id))?;
        found.ok_or(Error::NotFound)
    }

    /// A user by e-mail address, case-insensitively.
    pub fn by_email(&self, actor: &Actor, tenant: TenantId, email: &str) -> Result<User, Error> {
        let id = self
            .dir
            .txn(|tx| tx.get::<Ptr<UserId>>(&keys::user_by_email(tenant, email)))?
            .map(|p| p.id);
        self.require_read(actor, tenant, id)?;
        let id = id.ok_or(Error::NotFound)?;
        self.dir.txn(|tx| must(tx, &keys::user(tenant, id)))
    }

    /// The users whose common name (display name, else given and family name, else username)
    /// is `cn`, case-insensitively (Users:Read). Several users may share a name.
    pub fn by_cn(&self, actor: &Actor, tenant: TenantId, cn: &str) -> Result<Vec<User>, Error> {
        self.dir.require(actor, tenant, Area::Users, Right::Read)?;
        let p = keys::users_by_cn(tenant, cn);
        self.dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            let rows: Vec<(_, crate::store::codec::Unit)> =
                tx.scan(&crate::store::KeyRange::prefix(&p), usize::MAX)?;
            let mut out = Vec::new();
            for (k, _) in rows {
                let id = k
                    .tail(&p)
                    .and_then(UserId::from_key_bytes)
                    .ok_or_else(|| Error::Corrupt("common-name index key".into()))?;
                out.push(must(tx, &keys::user(tenant, id))?);
            }
            Ok(out)
        })
    }

    /// The user with POSIX uidNumber `n` (Users:Read).
    pub fn by_uid_number(&self, actor: &Actor, tenant: TenantId, n: u32) -> Result<User, Error> {
        self.dir.require(actor, tenant, Area::Users, Right::Read)?;
        self.dir.txn(|tx| {
            let id = must::<Ptr<UserId>>(tx, &keys::user_by_uid(tenant, n))?.id;
            must(tx, &keys::user(tenant, id))
        })
    }

    /// A page of a tenant's users in username order (Users:Read).
    pub fn list(
        &self,
        actor: &Actor,
        tenant: TenantId,
        q: &ListQuery,
    ) -> Result<Page<User>, Error> {
        self.dir.require(actor, tenant, Area::Users, Right::Read)?;
        self.dir.txn(|tx| {
            tenant_in(tx, tenant)?;
            page_by_name(tx, &keys::user_names(tenant), q, |tx, id: UserId| {
                must(tx, &keys::user(tenant, id))
            })
        })
    }

    /// Changes a user's attributes (Users:Write), and may make it a POSIX account or re-number
    /// it ([`UserPatch::make_posix`], [`UserPatch::uid_number`]).
    pub fn update(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Users, Right::Write)?;
        dir.require_covers_user(actor, tenant, id)?;
        patch.validate()?;
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before: User = must(tx, &keys::user(tenant, id))?;
            let mut u = before.clone();
            if let Some(name) = &patch.username {
                if fold(name) != fold(&before.username) {
                    let k = keys::user_by_name(tenant, name);
                    if tx.exists(&k)? {
                        return Err(Error::AlreadyExists { what: "username" });
                    }
                    tx.delete(keys::user_by_name(tenant, &before.username));
                    tx.put(k, &Ptr { id })?;
                }
                if *name != before.username {
                    tx.touch(keys::marker(tenant, Marker::Names))?;
                }
                u.username = name.clone();
            }
            if let Some(email) = &patch.email {
                let old = before.email.as_deref().map(fold);
                let new = email.as_deref().map(fold);
                if old != new {
                    if let Some(e) = email {
                        let k = keys::user_by_email(tenant, e);
                        if tx.exists(&k)? {
                            return Err(Error::AlreadyExists { what: "email" });
                        }
                        tx.put(k, &Ptr { id })?;
                    }
                    if let Some(e) = &before.email {
                        tx.delete(keys::user_by_email(tenant, e));
                    }
                }
                u.email = email.clone();
            }
            if let Some(k) = patch.kind {
                u.kind = k;
            }
            if let Some(v) = &patch.given_name {
                u.given_name = v.clone();
            }
            if let Some(v) = &patch.family_name {
                u.family_name = v.clone();
            }
            if let Some(v) = &patch.display_name {
                u.display_name = v.clone();
            }
            if let Some(v) = &patch.phone {
                u.phone = v.clone();
            }
            match u.posix.as_mut() {
                None if patch.make_posix || patch.uid_number.is_some() => {
                    let wanted = NewPosix {
                        uid_number: patch.uid_number,
                        gid_number: patch.gid_number,
                        home: patch.home.clone(),
                        shell: patch.shell.clone(),
                    };
                    u.posix = Some(new_posix(tx, tenant, id, &u.username, &wanted)?);
                }
                None => {
                    if patch.home.is_some() || patch.shell.is_some() || patch.gid_number.is_some() {
                        return Err(crate::model::validate::invalid(
                            "posix",
                            "the user has no POSIX attributes (make it a POSIX account first)",
                        ));
                    }
                }
                Some(p) => {
                    if let Some(n) = patch.uid_number.filter(|n| *n != p.uid_number) {
                        let old = p.uid_number;
                        claim_uid_number(tx, tenant, id, Some(n))?;
                        tx.delete(keys::user_by_uid(tenant, old));
                        if p.gid_number == old {
                            p.gid_number = n;
                        }
                        p.uid_number = n;
                    }
                    if let Some(h) = &patch.home {
                        p.home = h.clone();
                    }
                    if let Some(s) = &patch.shell {
                        p.shell = s.clone();
                    }
                    if let Some(g) = patch.gid_number {
                        p.gid_number = g;
                    }
                }
            }
            if let Some(k) = &patch.ssh_keys {
                u.ssh_keys = k.clone();
            }
            if let Some(c) = &patch.custom {
                u.custom = c.clone();
            }
            u.updated_at = tx.now();
            if fold(&u.shown_name()) != fold(&before.shown_name()) {
                tx.delete(keys::user_by_cn(tenant, &before.shown_name(), id));
                tx.touch(keys::user_by_cn(tenant, &u.shown_name(), id))?;
            }
            tx.put(keys::user(tenant, id), &u)?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "user.update",
                    target: format!("user:{}", u.username),
                    before: summary(&before),
                    after: summary(&u),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(u)
        })
    }

    /// Suspends a user (Users:Write): every authentication of the user is refused.
    pub fn suspend(&self, actor: &Actor, tenant: TenantId, id: UserId) -> Result<User, Error> {
        self.set_status(actor, tenant, id, Status::Suspended)
    }

    /// Resumes a suspended user (Users:Write).
    pub fn resume(&self, actor: &Actor, tenant: TenantId, id: UserId) -> Result<User, Error> {
        self.set_status(actor, tenant, id, Status::Active)
    }

    fn set_status(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        status: Status,
    ) -> Result<User, Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Users, Right::Write)?;
        dir.require_covers_user(actor, tenant, id)?;
        if status == Status::Suspended && Directory::is_self(actor, tenant, id) {
            return Err(Error::NotAllowed("you cannot suspend yourself"));
        }
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let before: User = must(tx, &keys::user(tenant, id))?;
            if before.status == status {
                return Ok(before);
            }
            let mut u = before.clone();
            u.status = status;
            u.updated_at = tx.now();
            tx.put(keys::user(tenant, id), &u)?;
            tx.touch(keys::marker(tenant, Marker::Status))?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: match status {
                        Status::Suspended => "user.suspend",
                        Status::Active => "user.resume",
                    },
                    target: format!("user:{}", u.username),
                    before: summary(&before),
                    after: summary(&u),
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(u)
        })
        .inspect(|_| dir.verified().forget(tenant, id))
    }

    /// Deletes a user (Users:Write), with its memberships and the assignments it holds.
    pub fn delete(&self, actor: &Actor, tenant: TenantId, id: UserId) -> Result<(), Error> {
        let dir = self.dir;
        dir.require(actor, tenant, Area::Users, Right::Write)?;
        dir.require_covers_user(actor, tenant, id)?;
        if Directory::is_self(actor, tenant, id) {
            return Err(Error::NotAllowed("you cannot delete yourself"));
        }
        let actor_name = dir.describe(actor)?;
        dir.txn(|tx| {
            let u: User = must(tx, &keys::user(tenant, id))?;
            tx.delete(keys::user_by_name(tenant, &u.username));
            tx.delete(keys::user_by_cn(tenant, &u.shown_name(), id));
            if let Some(e) = &u.email {
                tx.delete(keys::user_by_email(tenant, e));
            }
            if let Some(p) = &u.posix {
                tx.delete(keys::user_by_uid(tenant, p.uid_number));
            }
            dir.drop_tokens_of(tx, tenant, id)?;
            tx.delete(keys::credentials(tenant, id));
            tx.delete(keys::lock(tenant, id));
            remove_all_edges_of(tx, tenant, &Member::User(id))?;
            crate::service::rbac::drop_assignments_of(tx, &Subject::User { tenant, id })?;
            tx.delete(keys::user(tenant, id));
            tx.touch(keys::marker(tenant, Marker::Status))?;
            dir.record_change(
                tx,
                Change {
                    tenant,
                    action: "user.delete",
                    target: format!("user:{}", u.username),
                    before: summary(&u),
                    after: None,
                    actor,
                    actor_name: &actor_name,
                },
            )?;
            Ok(())
        })
    }

    /// The groups a user is in — directly, or also through nested groups — by name (Users:Read
    /// and Groups:Read, or the user itself).
    pub fn groups_of(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        transitive: bool,
    ) -> Result<Vec<Group>, Error> {
        if !Directory::is_self(actor, tenant, id) {
            self.dir.require(actor, tenant, Area::Users, Right::Read)?;
            self.dir.require(actor, tenant, Area::Groups, Right::Read)?;
        }
        let ids = self.group_ids_of(tenant, id, transitive)?;
        let mut groups: Vec<Group> = self.dir.txn(|tx| {
            must::<User>(tx, &keys::user(tenant, id))?;
            ids.iter()
                .map(|g| must(tx, &keys::group(tenant, *g)))
                .collect()
        })?;
        groups.sort_by_key(|g| fold(&g.name));
        Ok(groups)
    }

    /// The ids of the groups a user is in, from the cached closure. No authorisation: internal
    /// hot path (authentication, LDAP memberOf) behind an already-authorised call.
    pub(crate) fn group_ids_of(
        &self,
        tenant: TenantId,
        id: UserId,
        transitive: bool,
    ) -> Result<Vec<GroupId>, Error> {
        let graph = self.dir.cache().graph(self.dir.store(), tenant)?;
        if transitive {
            Ok(graph.groups_of_user(id).into_iter().collect())
        } else {
            Ok(graph.direct_groups_of_user(id))
        }
    }
}

/// Inserts one new user with its indexes, POSIX numbers and initial memberships.
fn insert_user(
    dir: &Directory,
    tx: &mut Txn<'_>,
    tenant: TenantId,
    n: &NewUser,
) -> Result<User, Error> {
    let name_key = keys::user_by_name(tenant, &n.username);
    if tx.exists(&name_key)? {
        return Err(Error::AlreadyExists { what: "username" });
    }
    let id = UserId::from_uuid(dir.ids().uuid());
    tx.put(name_key, &Ptr { id })?;
    if let Some(e) = &n.email {
        let k = keys::user_by_email(tenant, e);
        if tx.exists(&k)? {
            return Err(Error::AlreadyExists { what: "email" });
        }
        tx.put(k, &Ptr { id })?;
    }
    let posix = match &n.posix {
        None => None,
        Some(p) => Some(new_posix(tx, tenant, id, &n.username, p)?),
    };
    for g in &n.groups {
        must::<Group>(tx, &keys::group(tenant, *g))?;
        add_edge(tx, tenant, *g, &Member::User(id))?;
    }
    let now = tx.now();
    let u = User {
        id,
        tenant,
        username: n.username.clone(),
        kind: n.kind,
        status: n.status,
        email: n.email.clone(),
        given_name: n.given_name.clone(),
        family_name: n.family_name.clone(),
        display_name: n.display_name.clone(),
        phone: n.phone.clone(),
        posix,
        ssh_keys: n.ssh_keys.clone(),
        custom: n.custom.clone(),
        created_at: now,
        updated_at: now,
    };
    tx.touch(keys::user_by_cn(tenant, &u.shown_name(), id))?;
    tx.put(keys::user(tenant, id), &u)?;
    Ok(u)
}

/// Claims a uidNumber for user `id` and indexes it: `fixed` when no user of the tenant has it,
/// else the next free number from the tenant's counter.
fn claim_uid_number(
    tx: &mut Txn<'_>,
    tenant: TenantId,
    id: UserId,
    fixed: Option<u32>,
) -> Result<u32, Error> {
    let uid = match fixed {
        Some(uid) => {
            if tx.exists(&keys::user_by_uid(tenant, uid))? {
                return Err(Error::AlreadyExists { what: "uid_number" });
            }
            uid
        }
        None => allocate_posix_id(tx, tenant)?,
    };
    tx.put(keys::user_by_uid(tenant, uid), &Ptr { id })?;
    Ok(uid)
}

/// The POSIX attributes of a user becoming a POSIX account (at creation or later), with its
/// uidNumber claimed; what is not asked for takes the defaults.
fn new_posix(
    tx: &mut Txn<'_>,
    tenant: TenantId,
    id: UserId,
    username: &str,
    p: &NewPosix,
) -> Result<Posix, Error> {
    let uid = claim_uid_number(tx, tenant, id, p.uid_number)?;
    Ok(Posix {
        uid_number: uid,
        gid_number: p.gid_number.unwrap_or(uid),
        home: p
            .home
            .clone()
            .unwrap_or_else(|| format!("/home/{username}")),
        shell: p.shell.clone().unwrap_or_else(|| "/bin/bash".to_string()),
    })
}
