//! The search engine: it turns a base, a scope and a filter plan into the candidates to look at
//! — tenants the caller may see, their containers, users and groups, through the directory's
//! indexes where the plan allows — builds their entries (membership only when the search needs
//! it, member names from the directory's name cache rather than a record read per value), keeps those the
//! filter accepts, and can stop and resume between entries (limits, chunked writes, paged
//! results). Every read goes through a directory service with the caller's actor, so what one
//! may not read is indistinguishable from what does not exist. Runs on a blocking thread.

use crate::dn::{Ou, Place, Target};
use crate::entry::{self, Entry, EntryRef, Members, Selection, Vals, WireEntry};
use crate::error::LdapError;
use crate::filter::{self, ChainAttr, Compiled, Key, Plan, Source, Tri};
use crate::schema::kinds;
use crate::Ctx;
use std::collections::{HashMap, HashSet, VecDeque};
use tessera_directory::model::{
    AppKind, Group, GroupId, ListQuery, Member, Tenant, TenantId, User, UserId,
};
use tessera_directory::policy::{Area, Right, Timestamp};
use tessera_directory::{Actor, Error as DirError, Principal};

/// Users and groups read per listing call when scanning.
const SCAN_PAGE: usize = 256;

/// The scope of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Base,
    One,
    Subtree,
    /// The subordinate subtree: everything below the base, not the base itself.
    Children,
}

/// What a search asks for, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) base: Target,
    pub(crate) scope: Scope,
    pub(crate) filter: Compiled,
    pub(crate) selection: Selection,
    pub(crate) types_only: bool,
}

impl Spec {
    /// Whether the search looks at a handful of entries only — a base-scope read, or index
    /// lookups with no in-chain set to resolve — so it may run on the connection's task
    /// instead of a blocking thread (the hand-off would cost more than the search).
    pub(crate) fn is_narrow(&self) -> bool {
        if self.scope == Scope::Base {
            return self.filter.chains.is_empty();
        }
        let p = filter::plan(&self.filter);
        self.filter.chains.is_empty()
            && !matches!(p.users, filter::Source::Scan)
            && !matches!(p.groups, filter::Source::Scan)
    }
}

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// There may be more.
    More,
    /// Nothing is left.
    Done,
    /// The deadline passed.
    TimeLimit,
}

/// What a caller may read in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Directory:Read: the tenant's users and groups.
    Full,
    /// Their own entry and the groups they are in.
    SelfOnly(UserId),
    /// The tenant entry only.
    Bare,
}

/// A self-only caller's groups.
#[derive(Debug, Clone)]
struct Mine {
    direct: HashSet<GroupId>,
    all: Vec<Group>,
}

/// A tenant as one search sees it.
#[derive(Debug, Clone)]
struct View {
    tenant: Tenant,
    access: Access,
    flatten: Option<bool>,
    mine: Option<Mine>,
}

/// One step of a walk.
#[derive(Debug, Clone)]
enum Step {
    Suffix,
    Tenant(TenantId),
    Ou(TenantId, Ou),
    Users(TenantId, VecDeque<User>),
    Groups(TenantId, VecDeque<Group>),
    ScanUsers(TenantId, Option<String>),
    ScanGroups(TenantId, Option<String>),
    UserKeys(TenantId, Vec<Key>),
    GroupKeys(TenantId, Vec<Key>),
}

/// A search in progress: what is left to look at. It can be kept between pages.
#[derive(Debug, Clone)]
pub(crate) struct Walk {
    spec: Spec,
    plan: Plan,
    actor: Actor,
    steps: VecDeque<Step>,
    views: HashMap<TenantId, View>,
    slugs: HashMap<String, TenantId>,
}

fn found<T>(r: Result<T, DirError>) -> Result<Option<T>, LdapError> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(DirError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn listed<T>(r: Result<Vec<T>, DirError>) -> Result<Vec<T>, LdapError> {
    Ok(found(r)?.unwrap_or_default())
}

impl Walk {
    /// Resolves the base (noSuchObject, with matchedDN, when the caller cannot see it), the
    /// in-chain sets and the first steps.
    pub(crate) fn start(ctx: &Ctx, actor: Actor, spec: Spec) -> Result<Walk, LdapError> {
        let plan = filter::plan(&spec.filter);
        let mut w = Walk {
            spec,
            plan,
            actor,
            steps: VecDeque::new(),
            views: HashMap::new(),
            slugs: HashMap::new(),
        };
        w.resolve_chains(ctx)?;
        let scope = w.spec.scope;
        let structural = w.plan.structural;
        match w.spec.base.clone() {
            Target::Suffix => {
                if matches!(scope, Scope::Base | Scope::Subtree) && structural & kinds::SUFFIX != 0
                {
                    w.steps.push_back(Step::Suffix);
                }
                if scope != Scope::Base {
                    for t in ctx.dir.tenants().list(&w.actor)? {
                        let id = w.add_view(ctx, t)?;
                        if scope == Scope::One {
                            if structural & kinds::TENANT != 0 {
                                w.steps.push_back(Step::Tenant(id));
                            }
                        } else {
                            w.push_subtree(ctx, id, true)?;
                        }
                    }
                }
            }
            Target::Tenant(slug) => {
                let id = w.tenant(ctx, &slug)?;
                match scope {
                    Scope::Base => {
                        if structural & kinds::TENANT != 0 {
                            w.steps.push_back(Step::Tenant(id));
                        }
                    }
                    Scope::One => {
                        if structural & kinds::OU != 0 {
                            w.steps.push_back(Step::Ou(id, Ou::Users));
                            w.steps.push_back(Step::Ou(id, Ou::Groups));
                        }
                    }
                    Scope::Subtree => w.push_subtree(ctx, id, true)?,
                    Scope::Children => w.push_subtree(ctx, id, false)?,
                }
            }
            Target::Ou(slug, ou) => {
                let id = w.tenant(ctx, &slug)?;
                if matches!(scope, Scope::Base | Scope::Subtree) && structural & kinds::OU != 0 {
                    w.steps.push_back(Step::Ou(id, ou));
                }
                if scope != Scope::Base {
                    w.push_part(ctx, id, ou)?;
                }
            }
            Target::User(slug, name) => {
                let id = w.tenant(ctx, &slug)?;
                let Some(u) = w.find_user(ctx, id, &name)? else {
                    return Err(LdapError::no_such_object()
                        .with_matched(ctx.dit.ou_dn(&w.slug_of(id), Ou::Users)));
                };
                if matches!(scope, Scope::Base | Scope::Subtree) {
                    w.steps.push_back(Step::Users(id, VecDeque::from([u])));
                }
            }
            Target::Group(slug, name) => {
                let id = w.tenant(ctx, &slug)?;
                let Some(g) = w.find_group(ctx, id, &name)? else {
                    return Err(LdapError::no_such_object()
                        .with_matched(ctx.dit.ou_dn(&w.slug_of(id), Ou::Groups)));
                };
                if matches!(scope, Scope::Base | Scope::Subtree) {
                    w.steps.push_back(Step::Groups(id, VecDeque::from([g])));
                }
            }
            Target::RootDse | Target::Subschema => {
                return Err(LdapError::internal("a DSE reached the search engine"))
            }
        }
        Ok(w)
    }

    /// The next entries that match, at most `max`, stopping at `deadline`.
    pub(crate) fn next(
        &mut self,
        ctx: &Ctx,
        max: usize,
        deadline: Option<Timestamp>,
    ) -> Result<(Vec<Entry>, End), LdapError> {
        let mut out = Vec::new();
        while out.len() < max {
            if deadline.is_some_and(|d| ctx.dir.now() >= d) {
                return Ok((out, End::TimeLimit));
            }
            let Some(step) = self.steps.pop_front() else {
                return Ok((out, End::Done));
            };
            let entry = match step {
                Step::Suffix => Some(entry::suffix(&ctx.dit)),
                Step::Tenant(t) => self
                    .views
                    .get(&t)
                    .map(|v| entry::tenant(&ctx.dit, &v.tenant)),
                Step::Ou(t, ou) => self
                    .views
                    .get(&t)
                    .map(|v| entry::ou(&ctx.dit, &v.tenant, ou)),
                Step::Users(t, mut q) => match q.pop_front() {
                    Some(u) => {
                        if !q.is_empty() {
                            self.steps.push_front(Step::Users(t, q));
                        }
                        Some(self.user_entry(ctx, t, &u)?)
                    }
                    None => None,
                },
                Step::Groups(t, mut q) => match q.pop_front() {
                    Some(g) => {
                        if !q.is_empty() {
                            self.steps.push_front(Step::Groups(t, q));
                        }
                        Some(self.group_entry(ctx, t, &g)?)
                    }
                    None => None,
                },
                Step::ScanUsers(t, after) => {
                    let q = ListQuery {
                        after,
                        limit: Some(SCAN_PAGE),
                        prefix: None,
                    };
                    if let Some(page) = found(ctx.dir.users().list(&self.actor, t, &q))? {
                        if let Some(n) = page.next {
                            self.steps.push_front(Step::ScanUsers(t, Some(n)));
                        }
                        if !page.items.is_empty() {
                            self.steps.push_front(Step::Users(t, page.items.into()));
                        }
                    }
                    None
                }
                Step::ScanGroups(t, after) => {
                    let q = ListQuery {
                        after,
                        limit: Some(SCAN_PAGE),
                        prefix: None,
                    };
                    if let Some(page) = found(ctx.dir.groups().list(&self.actor, t, &q))? {
                        if let Some(n) = page.next {
                            self.steps.push_front(Step::ScanGroups(t, Some(n)));
                        }
                        if !page.items.is_empty() {
                            self.steps.push_front(Step::Groups(t, page.items.into()));
                        }
                    }
                    None
                }
                Step::UserKeys(t, keys) => {
                    let users = self.user_keys(ctx, t, &keys)?;
                    if !users.is_empty() {
                        self.steps.push_front(Step::Users(t, users));
                    }
                    None
                }
                Step::GroupKeys(t, keys) => {
                    let groups = self.group_keys(ctx, t, &keys)?;
                    if !groups.is_empty() {
                        self.steps.push_front(Step::Groups(t, groups));
                    }
                    None
                }
            };
            if let Some(e) = entry {
                let f = &self.spec.filter;
                if filter::eval(&f.filter, &e, &f.chains) == Tri::True {
                    out.push(e);
                }
            }
        }
        Ok((
            out,
            if self.steps.is_empty() {
                End::Done
            } else {
                End::More
            },
        ))
    }

    /// Entries as the search asked for them.
    pub(crate) fn wire(&self, entries: Vec<Entry>) -> Vec<WireEntry> {
        entries
            .into_iter()
            .map(|e| entry::to_wire(e, &self.spec.selection, self.spec.types_only))
            .collect()
    }

    /// Whether the search that made this walk is `other` (for paged results).
    pub(crate) fn is_for(&self, actor: &Actor) -> bool {
        self.actor.principal == actor.principal
    }

    // ---- tenants ----------------------------------------------------------------------

    fn add_view(&mut self, ctx: &Ctx, t: Tenant) -> Result<TenantId, LdapError> {
        let id = t.id;
        if self.views.contains_key(&id) {
            return Ok(id);
        }
        let rights = found(ctx.dir.tenants().my_rights(&self.actor, id))?.unwrap_or_default();
        let access = if rights.grants(Area::Users, Right::Read)
            && rights.grants(Area::Groups, Right::Read)
        {
            Access::Full
        } else {
            match self.actor.principal {
                Principal::User { tenant, user } if tenant == id => Access::SelfOnly(user),
                _ => Access::Bare,
            }
        };
        self.slugs.insert(t.slug.clone(), id);
        self.views.insert(
            id,
            View {
                tenant: t,
                access,
                flatten: None,
                mine: None,
            },
        );
        Ok(id)
    }

    /// The tenant a slug names, if the caller may see it.
    fn view_by_slug(&mut self, ctx: &Ctx, slug: &str) -> Result<Option<TenantId>, LdapError> {
        if let Some(id) = self.slugs.get(slug) {
            return Ok(Some(*id));
        }
        match found(ctx.dir.tenants().by_slug(&self.actor, slug))? {
            Some(t) => self.add_view(ctx, t).map(Some),
            None => Ok(None),
        }
    }

    /// The base's tenant, or noSuchObject matching the suffix.
    fn tenant(&mut self, ctx: &Ctx, slug: &str) -> Result<TenantId, LdapError> {
        self.view_by_slug(ctx, slug)?
            .ok_or_else(|| LdapError::no_such_object().with_matched(ctx.dit.suffix().to_string()))
    }

    fn slug_of(&self, t: TenantId) -> String {
        self.views
            .get(&t)
            .map(|v| v.tenant.slug.clone())
            .unwrap_or_default()
    }

    fn access(&self, t: TenantId) -> Access {
        self.views.get(&t).map_or(Access::Bare, |v| v.access)
    }

    fn push_subtree(&mut self, ctx: &Ctx, t: TenantId, with_tenant: bool) -> Result<(), LdapError> {
        if with_tenant && self.plan.structural & kinds::TENANT != 0 {
            self.steps.push_back(Step::Tenant(t));
        }
        for ou in [Ou::Users, Ou::Groups] {
            if self.plan.structural & kinds::OU != 0 {
                self.steps.push_back(Step::Ou(t, ou));
            }
            self.push_part(ctx, t, ou)?;
        }
        Ok(())
    }

    /// The users or the groups of a tenant, as the plan and the caller's access allow.
    fn push_part(&mut self, ctx: &Ctx, t: TenantId, ou: Ou) -> Result<(), LdapError> {
        let source = match ou {
            Ou::Users => self.plan.users.clone(),
            Ou::Groups => self.plan.groups.clone(),
        };
        if source == Source::Nothing {
            return Ok(());
        }
        match (self.access(t), ou, source) {
            (Access::Full, Ou::Users, Source::Scan) => {
                self.steps.push_back(Step::ScanUsers(t, None))
            }
            (Access::Full, Ou::Groups, Source::Scan) => {
                self.steps.push_back(Step::ScanGroups(t, None))
            }
            (Access::Full, Ou::Users, Source::Keys(k)) => {
                self.steps.push_back(Step::UserKeys(t, k))
            }
            (Access::Full, Ou::Groups, Source::Keys(k)) => {
                self.steps.push_back(Step::GroupKeys(t, k))
            }
            (Access::SelfOnly(me), Ou::Users, _) => {
                if let Some(u) = found(ctx.dir.users().get(&self.actor, t, me))? {
                    self.steps.push_back(Step::Users(t, VecDeque::from([u])));
                }
            }
            (Access::SelfOnly(_), Ou::Groups, _) => {
                let all = self.mine(ctx, t)?.all;
                if !all.is_empty() {
                    self.steps.push_back(Step::Groups(t, all.into()));
                }
            }
            (Access::Bare, _, _) | (_, _, Source::Nothing) => {}
        }
        Ok(())
    }

    /// A self-only caller's groups in their tenant (computed once).
    fn mine(&mut self, ctx: &Ctx, t: TenantId) -> Result<Mine, LdapError> {
        if let Some(m) = self.views.get(&t).and_then(|v| v.mine.clone()) {
            return Ok(m);
        }
        let Access::SelfOnly(me) = self.access(t) else {
            return Ok(Mine {
                direct: HashSet::new(),
                all: Vec::new(),
            });
        };
        let users = ctx.dir.users();
        let all = listed(users.groups_of(&self.actor, t, me, true))?;
        let direct = listed(users.groups_of(&self.actor, t, me, false))?
            .into_iter()
            .map(|g| g.id)
            .collect();
        let m = Mine { direct, all };
        if let Some(v) = self.views.get_mut(&t) {
            v.mine = Some(m.clone());
        }
        Ok(m)
    }

    /// Whether the tenant's LDAP service flattens nested groups (read once per search).
    fn flatten(&mut self, ctx: &Ctx, t: TenantId) -> Result<bool, LdapError> {
        if let Some(f) = self.views.get(&t).and_then(|v| v.flatten) {
            return Ok(f);
        }
        // The service's settings are configuration of the frontend, not data the caller
        // reads: an LDAP actor holds no Applications right, so the installation reads them.
        let f = match found(ctx.dir.applications().ldap_service(&Actor::system(), t))? {
            Some(app) => matches!(&app.kind, AppKind::Ldap(s) if s.flatten_nested_groups),
            None => false,
        };
        if let Some(v) = self.views.get_mut(&t) {
            v.flatten = Some(f);
        }
        Ok(f)
    }

    // ---- lookups ----------------------------------------------------------------------

    fn find_user(&mut self, ctx: &Ctx, t: TenantId, name: &str) -> Result<Option<User>, LdapError> {
        match self.access(t) {
            Access::Full | Access::SelfOnly(_) => {
                found(ctx.dir.users().by_username(&self.actor, t, name))
            }
            Access::Bare => Ok(None),
        }
    }

    fn find_group(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        name: &str,
    ) -> Result<Option<Group>, LdapError> {
        match self.access(t) {
            Access::Full => found(ctx.dir.groups().by_name(&self.actor, t, name)),
            Access::SelfOnly(_) => Ok(self
                .mine(ctx, t)?
                .all
                .into_iter()
                .find(|g| g.name.eq_ignore_ascii_case(name))),
            Access::Bare => Ok(None),
        }
    }

    /// A DN's user or group, when it is one of tenant `t`'s.
    fn member_named(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        dn: &str,
    ) -> Result<Option<Member>, LdapError> {
        let slug = self.slug_of(t);
        Ok(match ctx.dit.locate(dn) {
            Ok(Place::Entry(Target::User(s, n))) if s == slug => {
                self.find_user(ctx, t, &n)?.map(|u| Member::User(u.id))
            }
            Ok(Place::Entry(Target::Group(s, n))) if s == slug => {
                self.find_group(ctx, t, &n)?.map(|g| Member::Group(g.id))
            }
            _ => None,
        })
    }

    fn user_keys(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        keys: &[Key],
    ) -> Result<VecDeque<User>, LdapError> {
        let users = ctx.dir.users();
        let a = self.actor;
        let mut out = VecDeque::new();
        let mut seen = HashSet::new();
        for k in keys {
            let batch: Vec<User> = match k {
                Key::Username(n) => found(users.by_username(&a, t, n))?.into_iter().collect(),
                Key::Mail(m) => found(users.by_email(&a, t, m))?.into_iter().collect(),
                Key::Cn(c) => listed(users.by_cn(&a, t, c))?,
                Key::Uuid(u) => found(users.get(&a, t, UserId::from_uuid(*u)))?
                    .into_iter()
                    .collect(),
                Key::UidNumber(n) => found(users.by_uid_number(&a, t, *n))?.into_iter().collect(),
                Key::MemberOf(dn) => {
                    let ids: Vec<UserId> = self
                        .members_of_dn(ctx, t, dn)?
                        .into_iter()
                        .filter_map(|m| match m {
                            Member::User(u) => Some(u),
                            Member::Group(_) => None,
                        })
                        .collect();
                    self.load_users(ctx, t, &ids)?
                }
                Key::Chain(i) => {
                    let ids: Vec<UserId> = self
                        .spec
                        .filter
                        .chains
                        .get(*i)
                        .map(|c| {
                            c.set
                                .iter()
                                .filter_map(|r| match r {
                                    EntryRef::User(tt, u) if *tt == t => Some(*u),
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    self.load_users(ctx, t, &ids)?
                }
                Key::GidNumber(_) | Key::MemberUid(_) | Key::Member(_) => Vec::new(),
            };
            for u in batch {
                if seen.insert(u.id) {
                    out.push_back(u);
                }
            }
        }
        // Name order, as a scan returns them.
        out.make_contiguous()
            .sort_by_cached_key(|u| u.username.to_ascii_lowercase());
        Ok(out)
    }

    fn group_keys(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        keys: &[Key],
    ) -> Result<VecDeque<Group>, LdapError> {
        let groups = ctx.dir.groups();
        let a = self.actor;
        let mut out = VecDeque::new();
        let mut seen = HashSet::new();
        for k in keys {
            let batch: Vec<Group> = match k {
                Key::Cn(c) => found(groups.by_name(&a, t, c))?.into_iter().collect(),
                Key::Uuid(u) => found(groups.get(&a, t, GroupId::from_uuid(*u)))?
                    .into_iter()
                    .collect(),
                Key::GidNumber(n) => found(groups.by_gid(&a, t, *n))?.into_iter().collect(),
                Key::MemberUid(name) => match self.find_user(ctx, t, name)? {
                    Some(u) => {
                        let flat = self.flatten(ctx, t)?;
                        listed(ctx.dir.users().groups_of(&a, t, u.id, flat))?
                    }
                    None => Vec::new(),
                },
                Key::Member(dn) => {
                    let flat = self.flatten(ctx, t)?;
                    match self.member_named(ctx, t, dn)? {
                        Some(Member::User(u)) => listed(ctx.dir.users().groups_of(&a, t, u, flat))?,
                        Some(Member::Group(g)) => listed(groups.groups_of(&a, t, g, flat))?,
                        None => Vec::new(),
                    }
                }
                Key::MemberOf(dn) => {
                    let ids: Vec<GroupId> = self
                        .members_of_dn(ctx, t, dn)?
                        .into_iter()
                        .filter_map(|m| match m {
                            Member::Group(g) => Some(g),
                            Member::User(_) => None,
                        })
                        .collect();
                    self.load_groups(ctx, t, &ids)?
                }
                Key::Chain(i) => {
                    let ids: Vec<GroupId> = self
                        .spec
                        .filter
                        .chains
                        .get(*i)
                        .map(|c| {
                            c.set
                                .iter()
                                .filter_map(|r| match r {
                                    EntryRef::Group(tt, g) if *tt == t => Some(*g),
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    self.load_groups(ctx, t, &ids)?
                }
                Key::Username(_) | Key::Mail(_) | Key::UidNumber(_) => Vec::new(),
            };
            for g in batch {
                if seen.insert(g.id) {
                    out.push_back(g);
                }
            }
        }
        out.make_contiguous()
            .sort_by_cached_key(|g| g.name.to_ascii_lowercase());
        Ok(out)
    }

    /// The members (direct, or all when the tenant flattens) of the group a DN names.
    fn members_of_dn(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        dn: &str,
    ) -> Result<Vec<Member>, LdapError> {
        match self.member_named(ctx, t, dn)? {
            Some(Member::Group(g)) => {
                let flat = self.flatten(ctx, t)?;
                listed(ctx.dir.groups().members(&self.actor, t, g, flat))
            }
            _ => Ok(Vec::new()),
        }
    }

    fn load_users(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        ids: &[UserId],
    ) -> Result<Vec<User>, LdapError> {
        listed(ctx.dir.users().get_many(&self.actor, t, ids))
    }

    fn load_groups(
        &mut self,
        ctx: &Ctx,
        t: TenantId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, LdapError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(g) = found(ctx.dir.groups().get(&self.actor, t, *id))? {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Resolves every in-chain assertion's set.
    fn resolve_chains(&mut self, ctx: &Ctx) -> Result<(), LdapError> {
        for i in 0..self.spec.filter.chains.len() {
            let Some(c) = self.spec.filter.chains.get(i) else {
                continue;
            };
            let (attr, dn) = (c.attr, c.dn.clone());
            let set = self.chain_set(ctx, attr, &dn)?;
            if let Some(c) = self.spec.filter.chains.get_mut(i) {
                c.set = set;
            }
        }
        Ok(())
    }

    fn chain_set(
        &mut self,
        ctx: &Ctx,
        attr: ChainAttr,
        dn: &str,
    ) -> Result<HashSet<EntryRef>, LdapError> {
        let mut set = HashSet::new();
        let Ok(Place::Entry(target)) = ctx.dit.locate(dn) else {
            return Ok(set);
        };
        let Some(slug) = target.slug() else {
            return Ok(set);
        };
        let Some(t) = self.view_by_slug(ctx, slug)? else {
            return Ok(set);
        };
        let Some(member) = self.member_named(ctx, t, dn)? else {
            return Ok(set);
        };
        let a = self.actor;
        match (attr, member, self.access(t)) {
            (ChainAttr::MemberOf, Member::Group(g), Access::Full) => {
                for m in listed(ctx.dir.groups().members(&a, t, g, true))? {
                    set.insert(match m {
                        Member::User(u) => EntryRef::User(t, u),
                        Member::Group(x) => EntryRef::Group(t, x),
                    });
                }
            }
            (ChainAttr::MemberOf, Member::Group(g), Access::SelfOnly(me))
                if self.mine(ctx, t)?.all.iter().any(|x| x.id == g) =>
            {
                set.insert(EntryRef::User(t, me));
            }
            (ChainAttr::Member, Member::User(u), _) => {
                for g in listed(ctx.dir.users().groups_of(&a, t, u, true))? {
                    set.insert(EntryRef::Group(t, g.id));
                }
            }
            (ChainAttr::Member, Member::Group(g), Access::Full) => {
                for x in listed(ctx.dir.groups().groups_of(&a, t, g, true))? {
                    set.insert(EntryRef::Group(t, x.id));
                }
            }
            _ => {}
        }
        Ok(set)
    }

    // ---- entries ----------------------------------------------------------------------

    fn needs(&self) -> (bool, bool) {
        use crate::schema::MEMBER_OF;
        let sel = &self.spec.selection;
        let member_of = self.spec.filter.uses.member_of
            || sel.wants_known(&MEMBER_OF, kinds::USER)
            || sel.wants_known(&MEMBER_OF, kinds::GROUP);
        let (dns, uids) = self.member_parts();
        (member_of, dns || uids)
    }

    /// Which of a group's member attributes the search reads: (`member`, `memberUid`). A
    /// filter on either needs both.
    fn member_parts(&self) -> (bool, bool) {
        use crate::schema::{MEMBER, MEMBER_UID};
        let sel = &self.spec.selection;
        let filtered = self.spec.filter.uses.members;
        (
            filtered || sel.wants_known(&MEMBER, kinds::GROUP),
            filtered || sel.wants_known(&MEMBER_UID, kinds::GROUP),
        )
    }

    fn user_entry(&mut self, ctx: &Ctx, t: TenantId, u: &User) -> Result<Entry, LdapError> {
        let (member_of, _) = self.needs();
        let slug = self.slug_of(t);
        let member_of = if member_of {
            let flat = self.flatten(ctx, t)?;
            let groups = listed(ctx.dir.users().groups_of(&self.actor, t, u.id, flat))?;
            Some(
                groups
                    .iter()
                    .map(|g| ctx.dit.group_dn(&slug, &g.name))
                    .collect(),
            )
        } else {
            None
        };
        Ok(entry::user(&ctx.dit, &slug, u, member_of))
    }

    fn group_entry(&mut self, ctx: &Ctx, t: TenantId, g: &Group) -> Result<Entry, LdapError> {
        let (member_of, members) = self.needs();
        let slug = self.slug_of(t);
        let flat = if member_of || members {
            self.flatten(ctx, t)?
        } else {
            false
        };
        let a = self.actor;
        let members = if members {
            Some(match self.access(t) {
                Access::Full => {
                    let list = found(ctx.dir.groups().member_names(&a, t, g.id, flat))?
                        .unwrap_or_else(|| Vec::new().into());
                    // Only the attributes the search reads are shown (each is a value per
                    // member, made once per member list).
                    let (dns, uids) = self.member_parts();
                    let values = ctx.members.values(&ctx.dit, &slug, g.id, flat, &list);
                    let mut m = Members::default();
                    if dns {
                        m.dns = Vals::Shared(values.dns.clone());
                    }
                    if uids {
                        m.uids = Vals::Shared(values.uids.clone());
                    }
                    m
                }
                Access::SelfOnly(me) => {
                    // What a self-only caller may know of a group: that they are in it.
                    let mine = self.mine(ctx, t)?;
                    let inside = mine.direct.contains(&g.id)
                        || (flat && mine.all.iter().any(|x| x.id == g.id));
                    let mut m = Members::default();
                    if inside {
                        if let Some(u) = found(ctx.dir.users().get(&a, t, me))? {
                            m.dns = Vals::Own(vec![ctx.dit.user_dn(&slug, &u.username)]);
                            m.uids = Vals::Own(vec![u.username]);
                        }
                    }
                    m
                }
                Access::Bare => Members::default(),
            })
        } else {
            None
        };
        let member_of = if member_of {
            let parents = match self.access(t) {
                Access::Full => listed(ctx.dir.groups().groups_of(&a, t, g.id, flat))?,
                Access::SelfOnly(_) | Access::Bare => Vec::new(),
            };
            Some(
                parents
                    .iter()
                    .map(|p| ctx.dit.group_dn(&slug, &p.name))
                    .collect(),
            )
        } else {
            None
        };
        Ok(entry::group(&ctx.dit, &slug, g, members, member_of))
    }
}

/// One entry of the DIT with every attribute (for compare and matchedDN), as the caller may
/// see it.
pub(crate) fn fetch(ctx: &Ctx, actor: Actor, target: &Target) -> Result<Entry, LdapError> {
    let spec = Spec {
        base: target.clone(),
        scope: Scope::Base,
        filter: Compiled {
            filter: filter::Filter::Const(Tri::True),
            chains: Vec::new(),
            uses: filter::Uses {
                member_of: true,
                members: true,
            },
        },
        selection: Selection::parse(&["*".into(), "+".into()]),
        types_only: false,
    };
    let mut w = Walk::start(ctx, actor, spec)?;
    let (mut entries, _) = w.next(ctx, 1, None)?;
    entries.pop().ok_or_else(LdapError::no_such_object)
}

/// The deepest entry at or above `target` that the caller can see (a noSuchObject's
/// matchedDN).
pub(crate) fn matched(ctx: &Ctx, actor: Actor, target: &Target) -> Result<String, LdapError> {
    let mut t = target.clone();
    loop {
        match t {
            Target::Suffix => return Ok(ctx.dit.suffix().to_string()),
            Target::RootDse | Target::Subschema => return Ok(String::new()),
            _ => {}
        }
        match fetch(ctx, actor, &t) {
            Ok(e) => return Ok(e.dn),
            Err(e) if e.code == ldap3_proto::proto::LdapResultCode::NoSuchObject => {
                if !e.matched.is_empty() {
                    return Ok(e.matched);
                }
            }
            Err(e) => return Err(e),
        }
        match t.parent() {
            Some(p) => t = p,
            None => return Ok(String::new()),
        }
    }
}
