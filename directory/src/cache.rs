//! Read caches for the hot paths — the tenant tree, each tenant's group graph with precomputed
//! closures, each scope tenant's roles and assignments, the names of users and groups that
//! were looked up (for member lists), and decoded application and group records (each labelled
//! with the version of the record it was decoded from). Each snapshot is labelled with the
//! version of a marker key that every relevant write bumps in its own transaction, so a reader
//! checks freshness with one key read and several nodes sharing a store stay correct. A snapshot
//! is built from data at least as new as its label. It must not write anything.

use crate::error::Error;
use crate::model::{AppId, Application, Assignment, Member, NamedMember, Status};
use crate::model::{GroupId, Role, Subject, Tenant, TenantId, UserId};
use crate::store::codec::{self, Record};
use crate::store::keys::{self, Marker};
use crate::store::records::Ptr;
use crate::store::{Key, KeyRange, Store, Version};
use parking_lot::RwLock;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tessera_policy::graph::GroupGraph;
use tessera_policy::rbac;
use tessera_policy::{RightSet, Timestamp};

/// The whole tenant tree.
#[derive(Debug, Default)]
pub(crate) struct TreeSnapshot {
    version: Version,
    /// Each tenant's record: every write of a tenant record moves the tree marker.
    nodes: HashMap<TenantId, Tenant>,
    children: HashMap<TenantId, Vec<TenantId>>,
    slugs: HashMap<String, TenantId>,
    root: Option<TenantId>,
}

impl TreeSnapshot {
    pub(crate) fn node(&self, t: TenantId) -> Option<&Tenant> {
        self.nodes.get(&t)
    }

    pub(crate) fn root(&self) -> Option<TenantId> {
        self.root
    }

    /// The tenant a slug names (slugs never change; creation and deletion move the tree).
    pub(crate) fn by_slug(&self, slug: &str) -> Option<TenantId> {
        self.slugs.get(slug).copied()
    }

    /// `t`, its parent, … up to the root. Empty for an unknown tenant.
    pub(crate) fn chain(&self, t: TenantId) -> Vec<TenantId> {
        let mut out = Vec::new();
        let mut cur = self.nodes.contains_key(&t).then_some(t);
        while let Some(c) = cur {
            if out.contains(&c) {
                break; // corrupt data: never loop
            }
            out.push(c);
            cur = self.nodes.get(&c).and_then(|n| n.parent);
        }
        out
    }

    /// Whether `a` is `t` or one of its ancestors.
    pub(crate) fn is_self_or_ancestor(&self, a: TenantId, t: TenantId) -> bool {
        self.chain(t).contains(&a)
    }

    /// Whether `t` and every ancestor are active.
    pub(crate) fn chain_active(&self, t: TenantId) -> bool {
        let chain = self.chain(t);
        !chain.is_empty()
            && chain.iter().all(|c| {
                self.nodes
                    .get(c)
                    .is_some_and(|n| n.status == Status::Active)
            })
    }

    /// Every tenant below `t`, parents before children, siblings by slug.
    pub(crate) fn descendants(&self, t: TenantId) -> Vec<TenantId> {
        let mut out = Vec::new();
        let mut stack: Vec<TenantId> = self.sorted_children(t).into_iter().rev().collect();
        while let Some(c) = stack.pop() {
            if out.contains(&c) {
                continue;
            }
            out.push(c);
            stack.extend(self.sorted_children(c).into_iter().rev());
        }
        out
    }

    pub(crate) fn sorted_children(&self, t: TenantId) -> Vec<TenantId> {
        let mut kids = self.children.get(&t).cloned().unwrap_or_default();
        kids.sort_by(|a, b| {
            let sa = self.nodes.get(a).map(|n| n.slug.as_str());
            let sb = self.nodes.get(b).map(|n| n.slug.as_str());
            sa.cmp(&sb)
        });
        kids
    }

    /// Every tenant, parents before children.
    pub(crate) fn all(&self) -> Vec<TenantId> {
        match self.root {
            Some(r) => {
                let mut v = vec![r];
                v.extend(self.descendants(r));
                v
            }
            None => Vec::new(),
        }
    }
}

/// A tenant's groups and memberships, with closures.
#[derive(Debug, Default)]
pub(crate) struct TenantGraph {
    version: Version,
    graph: GroupGraph<GroupId>,
    /// Transitive groups of each group (not itself).
    ancestors: HashMap<GroupId, Vec<GroupId>>,
    user_direct: HashMap<UserId, Vec<GroupId>>,
    group_direct_users: HashMap<GroupId, Vec<UserId>>,
    group_direct_groups: HashMap<GroupId, Vec<GroupId>>,
}

impl TenantGraph {
    /// The membership marker's version this graph was built at.
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    pub(crate) fn would_cycle(&self, member: GroupId, container: GroupId) -> bool {
        self.graph.would_cycle(member, container)
    }

    /// The groups a user is in, transitively, as a sorted set.
    pub(crate) fn groups_of_user(&self, u: UserId) -> BTreeSet<GroupId> {
        self.closure(self.user_direct.get(&u).map_or(&[][..], Vec::as_slice))
    }

    /// The groups a user is directly in, sorted.
    pub(crate) fn direct_groups_of_user(&self, u: UserId) -> Vec<GroupId> {
        let mut v = self.user_direct.get(&u).cloned().unwrap_or_default();
        v.sort();
        v
    }

    /// The groups a group is in, transitively (not itself).
    pub(crate) fn groups_of_group(&self, g: GroupId) -> BTreeSet<GroupId> {
        self.ancestors
            .get(&g)
            .map_or_else(BTreeSet::new, |a| a.iter().copied().collect())
    }

    fn closure(&self, direct: &[GroupId]) -> BTreeSet<GroupId> {
        let mut out = BTreeSet::new();
        for g in direct {
            out.insert(*g);
            if let Some(a) = self.ancestors.get(g) {
                out.extend(a.iter().copied());
            }
        }
        out
    }

    /// The members of `g` — direct ones, or everything inside it through nesting — users
    /// first, then groups, each in id order.
    pub(crate) fn members(&self, g: GroupId, transitive: bool) -> Vec<Member> {
        let mut out: Vec<Member> = if transitive {
            let (users, groups) = self.members_of(g);
            users
                .into_iter()
                .map(Member::User)
                .chain(groups.into_iter().map(Member::Group))
                .collect()
        } else {
            let users = self
                .group_direct_users
                .get(&g)
                .map_or(&[][..], Vec::as_slice);
            let groups = self
                .group_direct_groups
                .get(&g)
                .map_or(&[][..], Vec::as_slice);
            users
                .iter()
                .map(|u| Member::User(*u))
                .chain(groups.iter().map(|x| Member::Group(*x)))
                .collect()
        };
        out.sort();
        out
    }

    /// Every member of `g`, transitively: the users and the groups inside it.
    pub(crate) fn members_of(&self, g: GroupId) -> (BTreeSet<UserId>, BTreeSet<GroupId>) {
        let groups = self.graph.descendants(g);
        let mut users = BTreeSet::new();
        for h in std::iter::once(&g).chain(groups.iter()) {
            if let Some(us) = self.group_direct_users.get(h) {
                users.extend(us.iter().copied());
            }
        }
        (users, groups)
    }
}

/// The roles and assignments of one scope tenant, ready for evaluation.
#[derive(Debug, Default)]
pub(crate) struct ScopeRbac {
    version: Version,
    pub(crate) assignments: Vec<rbac::Assignment<Subject, crate::model::RoleId>>,
    pub(crate) roles: HashMap<crate::model::RoleId, RightSet>,
}

/// The names of a tenant's users and groups that were looked up, valid while the tenant's names
/// marker keeps `version`. Filled lazily: a name read from the store under an older label goes
/// into that label's table, which the next reader replaces. Names are handed out as copies: a
/// shared count on each name would be written by every reader on every core.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    version: Version,
    users: RwLock<HashMap<UserId, Box<str>, IdHash>>,
    groups: RwLock<HashMap<GroupId, Box<str>, IdHash>>,
    /// Finished member lists by (group, transitive), each with the membership version it was
    /// made at: valid while that version and this table's names version hold.
    lists: RwLock<HashMap<(GroupId, bool), KeptList, IdHash>>,
}

/// A finished member list and the membership version it was made at.
type KeptList = (Version, Arc<[NamedMember]>);

/// Member lists kept per tenant before the table starts over.
const MAX_LISTS: usize = 16_384;

impl NameTable {
    /// The known names of `members`, in order; the unknown ones go to `missing`.
    pub(crate) fn lookup(
        &self,
        members: impl IntoIterator<Item = Member>,
        missing: &mut Vec<Member>,
    ) -> Vec<(Member, String)> {
        let (users, groups) = (self.users.read(), self.groups.read());
        let mut out = Vec::new();
        for m in members {
            let name = match m {
                Member::User(u) => users.get(&u),
                Member::Group(g) => groups.get(&g),
            };
            match name {
                Some(n) => out.push((m, n.to_string())),
                None => missing.push(m),
            }
        }
        out
    }

    /// The member list of `group` made at membership version `graph`, if one was kept.
    pub(crate) fn list(
        &self,
        group: GroupId,
        transitive: bool,
        graph: Version,
    ) -> Option<Arc<[NamedMember]>> {
        match self.lists.read().get(&(group, transitive)) {
            Some((v, l)) if *v == graph => Some(l.clone()),
            _ => None,
        }
    }

    /// Keeps a finished member list made at membership version `graph` (a newer one stays).
    pub(crate) fn keep_list(
        &self,
        group: GroupId,
        transitive: bool,
        graph: Version,
        list: Arc<[NamedMember]>,
    ) {
        let mut lists = self.lists.write();
        if lists.len() >= MAX_LISTS {
            lists.clear();
        }
        let slot = lists
            .entry((group, transitive))
            .or_insert((graph, list.clone()));
        if slot.0 < graph {
            *slot = (graph, list);
        }
    }

    /// Keeps names read from the store.
    pub(crate) fn remember(&self, named: &[(Member, String)]) {
        let (mut users, mut groups) = (self.users.write(), self.groups.write());
        for (m, n) in named {
            match m {
                Member::User(u) => users.insert(*u, n.as_str().into()),
                Member::Group(g) => groups.insert(*g, n.as_str().into()),
            };
        }
    }
}

/// Hashing for tables keyed by ids: their bytes are random already, so a multiply-and-fold
/// over them (FxHash's step) spreads them well at a fraction of SipHash's cost. Not for keys an
/// outsider chooses.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdHash;

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

#[derive(Debug)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(chunk) {
                *d = *s;
            }
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    policies: RwLock<HashMap<TenantId, (Version, Arc<crate::service::policies::PolicySnapshot>)>>,
    tree: RwLock<Option<Arc<TreeSnapshot>>>,
    graphs: RwLock<HashMap<TenantId, Arc<TenantGraph>>>,
    rbac: RwLock<HashMap<TenantId, Arc<ScopeRbac>>>,
    names: RwLock<HashMap<TenantId, Arc<NameTable>>>,
    /// Marker versions.
    markers: RwLock<EpochMemo<Key, Version>>,
    /// Effective rights, each with the moment an assignment it counted expires. Every input of
    /// the computation (tree, user status, memberships, roles, assignments) moves a marker.
    rights: RwLock<EpochMemo<RightsKey, (Option<Timestamp>, RightSet)>>,
    /// Decoded records by key, each with the version of the record it was decoded from.
    records: RwLock<HashMap<Key, Decoded>>,
}

/// A record as decoded (its type is the one its key's table holds), with its version.
type Decoded = (Version, Arc<dyn std::any::Any + Send + Sync>);

/// Decoded records kept at most; beyond, the memo starts over.
const RECORDS_MAX: usize = 16_384;

/// A user's effective rights on a tenant, keyed (user's tenant, user, tenant).
type RightsKey = (TenantId, UserId, TenantId);

/// Values computed from data read while the store's marker epoch was `epoch`: the same epoch
/// proves them current. A newer epoch empties the memo; a reader still at an older one neither
/// uses nor adds entries. Bounded: it starts over past `EPOCH_MEMO_MAX` entries.
#[derive(Debug)]
struct EpochMemo<K, V> {
    epoch: u64,
    entries: HashMap<K, V>,
}

const EPOCH_MEMO_MAX: usize = 65_536;

impl<K, V> Default for EpochMemo<K, V> {
    fn default() -> Self {
        EpochMemo {
            epoch: 0,
            entries: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> EpochMemo<K, V> {
    fn get(&self, epoch: u64, k: &K) -> Option<&V> {
        (self.epoch == epoch).then(|| self.entries.get(k)).flatten()
    }

    /// Remembers `v`, computed from data read after the epoch was `epoch`.
    fn put(&mut self, epoch: u64, k: K, v: V) {
        if self.epoch < epoch || self.entries.len() >= EPOCH_MEMO_MAX {
            self.epoch = self.epoch.max(epoch);
            self.entries.clear();
        }
        if self.epoch == epoch {
            self.entries.insert(k, v);
        }
    }
}

const ALL: usize = usize::MAX;

impl Cache {
    /// A marker's version (0 when absent). When the store vouches that no marker changed since
    /// a version was read (its marker epoch), the remembered version is used without a read.
    pub(crate) fn marker_version(&self, store: &dyn Store, k: &Key) -> Result<Version, Error> {
        let read = |k: &Key| Ok::<_, Error>(store.get(k)?.map_or(0, |e| e.version));
        let Some(epoch) = store.marker_epoch() else {
            return read(k);
        };
        if let Some(v) = self.markers.read().get(epoch, k) {
            return Ok(*v);
        }
        // The epoch is read before the marker: what is remembered under it is at least as new.
        let v = read(k)?;
        self.markers.write().put(epoch, k.clone(), v);
        Ok(v)
    }

    /// The tree as of now.
    pub(crate) fn tree(&self, store: &dyn Store) -> Result<Arc<TreeSnapshot>, Error> {
        let v = self.marker_version(store, &keys::tree_marker())?;
        self.tree_at(store, v)
    }

    /// The tree, given the tree marker's version (read inside a transaction).
    pub(crate) fn tree_at(
        &self,
        store: &dyn Store,
        v: Version,
    ) -> Result<Arc<TreeSnapshot>, Error> {
        if let Some(t) = self.tree.read().as_ref() {
            if t.version == v {
                return Ok(t.clone());
            }
        }
        let mut snap = TreeSnapshot {
            version: v,
            ..TreeSnapshot::default()
        };
        for (_, e) in store.scan(&KeyRange::prefix(&keys::slugs()), ALL, false)? {
            let id: TenantId = codec::decode::<Ptr<TenantId>>(&e.value)?.id;
            let Some(te) = store.get(&keys::tenant(id))? else {
                continue; // deleted between the two reads; the marker moved, so a rebuild follows
            };
            let t: Tenant = codec::decode(&te.value)?;
            match t.parent {
                Some(p) => snap.children.entry(p).or_default().push(t.id),
                None => snap.root = Some(t.id),
            }
            snap.slugs.insert(t.slug.clone(), t.id);
            snap.nodes.insert(t.id, t);
        }
        let snap = Arc::new(snap);
        *self.tree.write() = Some(snap.clone());
        Ok(snap)
    }

    /// A tenant's group graph as of now.
    pub(crate) fn graph(&self, store: &dyn Store, t: TenantId) -> Result<Arc<TenantGraph>, Error> {
        let v = self.marker_version(store, &keys::marker(t, Marker::Membership))?;
        self.graph_at(store, t, v)
    }

    /// A tenant's group graph, given its membership marker's version.
    pub(crate) fn graph_at(
        &self,
        store: &dyn Store,
        t: TenantId,
        v: Version,
    ) -> Result<Arc<TenantGraph>, Error> {
        if let Some(g) = self.graphs.read().get(&t) {
            if g.version == v {
                return Ok(g.clone());
            }
        }
        let mut tg = TenantGraph {
            version: v,
            ..TenantGraph::default()
        };
        let prefix = keys::table_of(t, keys::table::MEMBER_OF);
        let mut edges = Vec::new();
        for (k, _) in store.scan(&KeyRange::prefix(&prefix), ALL, false)? {
            let Some(tail) = k.tail(&prefix) else {
                continue;
            };
            let (m, g) = tail
                .split_at_checked(17)
                .ok_or_else(|| Error::Corrupt("membership key".into()))?;
            let member =
                keys::decode_member(m).ok_or_else(|| Error::Corrupt("membership key".into()))?;
            let group = GroupId::from_key_bytes(g)
                .ok_or_else(|| Error::Corrupt("membership key".into()))?;
            match member {
                Member::User(u) => {
                    tg.user_direct.entry(u).or_default().push(group);
                    tg.group_direct_users.entry(group).or_default().push(u);
                }
                Member::Group(m) => {
                    tg.group_direct_groups.entry(group).or_default().push(m);
                    edges.push((m, group));
                }
            }
        }
        tg.graph = GroupGraph::from_edges(edges);
        for g in tg.graph.groups() {
            let anc: Vec<GroupId> = tg.graph.ancestors(g).into_iter().collect();
            if !anc.is_empty() {
                tg.ancestors.insert(g, anc);
            }
        }
        let tg = Arc::new(tg);
        self.graphs.write().insert(t, tg.clone());
        Ok(tg)
    }

    /// A tenant's name table as of now (one marker read).
    pub(crate) fn names(&self, store: &dyn Store, t: TenantId) -> Result<Arc<NameTable>, Error> {
        let v = self.marker_version(store, &keys::marker(t, Marker::Names))?;
        if let Some(n) = self.names.read().get(&t) {
            if n.version == v {
                return Ok(n.clone());
            }
        }
        let fresh = || {
            Arc::new(NameTable {
                version: v,
                ..NameTable::default()
            })
        };
        let mut all = self.names.write();
        let n = all.entry(t).or_insert_with(fresh);
        Ok(match n.version.cmp(&v) {
            std::cmp::Ordering::Equal => n.clone(),
            std::cmp::Ordering::Less => {
                *n = fresh();
                n.clone()
            }
            // A reader that saw the marker before a newer table was made: a table of its own.
            std::cmp::Ordering::Greater => fresh(),
        })
    }

    /// Rights remembered under marker epoch `epoch` that still hold at `now`.
    pub(crate) fn rights(&self, epoch: u64, key: RightsKey, now: Timestamp) -> Option<RightSet> {
        match self.rights.read().get(epoch, &key) {
            Some((until, r)) if until.is_none_or(|u| now < u) => Some(*r),
            _ => None,
        }
    }

    /// Remembers rights computed from data read after the epoch was `epoch`.
    pub(crate) fn remember_rights(
        &self,
        epoch: u64,
        key: RightsKey,
        until: Option<Timestamp>,
        rights: RightSet,
    ) {
        self.rights.write().put(epoch, key, (until, rights));
    }

    /// The roles and assignments at a scope tenant as of now.
    pub(crate) fn scope_rbac(
        &self,
        store: &dyn Store,
        t: TenantId,
    ) -> Result<Arc<ScopeRbac>, Error> {
        let v = self.marker_version(store, &keys::marker(t, Marker::Rbac))?;
        if let Some(s) = self.rbac.read().get(&t) {
            if s.version == v {
                return Ok(s.clone());
            }
        }
        let mut s = ScopeRbac {
            version: v,
            ..ScopeRbac::default()
        };
        for (_, e) in store.scan(&KeyRange::prefix(&keys::roles(t)), ALL, false)? {
            let r: Role = codec::decode(&e.value)?;
            s.roles.insert(r.id, r.rights);
        }
        for (_, e) in store.scan(&KeyRange::prefix(&keys::assignments(t)), ALL, false)? {
            let a: Assignment = codec::decode(&e.value)?;
            s.assignments.push(rbac::Assignment {
                subject: a.subject,
                rights: a.rights,
                roles: a.roles,
                expires_at: a.expires_at,
            });
        }
        let s = Arc::new(s);
        self.rbac.write().insert(t, s.clone());
        Ok(s)
    }

    /// The effective policy of a tenant computed under policy-marker version `policy_version`
    /// and the current tree.
    pub(crate) fn policy(
        &self,
        t: TenantId,
        policy_version: Version,
        tree: &TreeSnapshot,
    ) -> Option<Arc<crate::service::policies::PolicySnapshot>> {
        let p = self.policies.read();
        let (tree_v, snap) = p.get(&t)?;
        (*tree_v == tree.version && snap.version == policy_version).then(|| snap.clone())
    }

    pub(crate) fn remember_policy(
        &self,
        t: TenantId,
        snap: Arc<crate::service::policies::PolicySnapshot>,
        tree: &TreeSnapshot,
    ) {
        self.policies.write().insert(t, (tree.version, snap));
    }

    /// The record under `key` as stored now, decoded: the entry is read (one store read) and
    /// decoded again only when its version moved since it was last decoded (every write of a
    /// record gives it a new version, so the decoded copy is never stale). `None` when there is
    /// no such record. For the records every login reads (applications, groups).
    pub(crate) fn record<T: Record + Send + Sync + 'static>(
        &self,
        store: &dyn Store,
        key: &Key,
    ) -> Result<Option<Arc<T>>, Error> {
        let Some(e) = store.get(key)? else {
            return Ok(None);
        };
        if let Some((v, r)) = self.records.read().get(key) {
            if let (true, Ok(r)) = (*v == e.version, Arc::clone(r).downcast::<T>()) {
                return Ok(Some(r));
            }
        }
        let r: Arc<T> = Arc::new(codec::decode(&e.value)?);
        let mut records = self.records.write();
        if records.len() >= RECORDS_MAX {
            records.clear();
        }
        // A reader that decoded an older version never replaces a newer one.
        if records.get(key).is_none_or(|(v, _)| *v < e.version) {
            records.insert(key.clone(), (e.version, r.clone()));
        }
        Ok(Some(r))
    }

    /// An application as stored now ([`Cache::record`]).
    pub(crate) fn application(
        &self,
        store: &dyn Store,
        t: TenantId,
        app: AppId,
    ) -> Result<Option<Arc<Application>>, Error> {
        self.record(store, &keys::app(t, app))
    }

    /// Forgets a deleted tenant's snapshots.
    pub(crate) fn forget(&self, t: TenantId) {
        let ns = Some(keys::Namespace::Tenant(t));
        self.records.write().retain(|k, _| k.namespace() != ns);
        self.graphs.write().remove(&t);
        self.rbac.write().remove(&t);
        self.policies.write().remove(&t);
        self.names.write().remove(&t);
    }
}

#[cfg(test)]
mod tests {
    use super::EpochMemo;

    #[test]
    fn an_epoch_memo_answers_only_for_its_epoch_and_never_goes_back() {
        let mut m = EpochMemo::default();
        m.put(1, "a", 1);
        assert_eq!(m.get(1, &"a"), Some(&1));
        assert_eq!(m.get(2, &"a"), None, "a newer epoch proves nothing old");
        m.put(2, "b", 2);
        assert_eq!(m.get(2, &"a"), None, "a newer epoch empties the memo");
        assert_eq!(m.get(2, &"b"), Some(&2));
        m.put(1, "c", 3);
        assert_eq!(
            m.get(1, &"c"),
            None,
            "a late reader at an older epoch adds nothing"
        );
        assert_eq!(m.get(2, &"c"), None);
    }
}
