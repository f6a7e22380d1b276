//! Role propagation, tested against an in-memory model of a tenant tree: random sequences of
//! role operations (create, edit rights, rename, switch propagation, delete, add a tenant) are
//! planned by `tessera_policy::roles` and applied the way a storage layer would, and after every
//! step the propagation invariants of the design must hold. A few worked examples follow.
//!
//! The model plays the part of the `directory` service: it refuses what the service refuses
//! (editing a locked copy, a name already taken in the tenant) and applies every `Change`
//! literally, so that any inconsistency comes from the planner, not from the model.

use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::{HashMap, HashSet};
use tessera_policy::roles::{
    name_key, plan_detach, plan_new_tenant, plan_sync, validate_role_name, Change, RoleView,
    COPY_SUFFIX, MAX_ROLE_NAME,
};
use tessera_policy::{Area, Permission, Right, RightSet};

/// Tenants and roles are numbered, as a store would number them.
type Role = RoleView<u32, u32>;

/// A 99-character name: a copy with a `~~N` suffix must shorten it. Its 97th character is a
/// space, so the `~~1` form (the first 97 characters and the suffix) also exercises the
/// dropping of trailing spaces from the shortened base.
const LONG: &str =
    "Regional helpdesk operators of the northern and eastern branch offices of the holding group, lvl 2b";

/// The names random operations pick from: few, so that clashes are frequent. "Ops"/"ops"/"OPS"
/// clash case-insensitively; "Ops~~1" and "Ops~~01" are names an administrator may type that
/// look like a copy's; the long names clash with each other and need shortening.
fn name_pool() -> Vec<String> {
    vec![
        "Ops".to_string(),
        "ops".to_string(),
        "OPS".to_string(),
        "Ops~~1".to_string(),
        "Ops~~01".to_string(),
        "Admin".to_string(),
        "Helpdesk".to_string(),
        LONG.to_string(),
        LONG.to_uppercase(),
    ]
}

/// The largest tree the random sequences grow (by adding tenants) to.
const MAX_TENANTS: usize = 12;

/// A tenant tree with its roles, and what a storage layer does with the planner's changes.
#[derive(Debug, Clone, Default)]
struct Model {
    /// `parent[t]` is the parent of tenant `t`; the root, tenant 0, has none.
    parent: Vec<Option<u32>>,
    /// Every role of every tenant, in creation order.
    roles: Vec<Role>,
    /// The next role id to hand out.
    next_id: u32,
    /// The copies the last operation detached, as they were just before: they must keep their
    /// tenant, name and rights.
    detached: Vec<Role>,
    /// Changes the planner produced that a store could not apply (a missing copy, a copy in
    /// another tenant than the change says). Reported by [`Model::check`].
    faults: Vec<String>,
}

impl Model {
    /// A tree where tenant `i + 1` has parent `parents[i]` (which must be ≤ `i`), and no roles.
    fn with_tree(parents: &[u32]) -> Self {
        let mut parent = vec![None];
        parent.extend(parents.iter().map(|&p| Some(p)));
        Model {
            parent,
            ..Model::default()
        }
    }

    fn tenant_count(&self) -> u32 {
        u32::try_from(self.parent.len()).unwrap_or(u32::MAX)
    }

    fn parent_of(&self, t: u32) -> Option<u32> {
        self.parent.get(t as usize).copied().flatten()
    }

    /// The strict ancestors of `t`, from the root down.
    fn ancestors_root_first(&self, t: u32) -> Vec<u32> {
        let mut chain = Vec::new();
        let mut cur = self.parent_of(t);
        while let Some(p) = cur {
            chain.push(p);
            cur = self.parent_of(p);
        }
        chain.reverse();
        chain
    }

    fn is_strict_descendant(&self, d: u32, a: u32) -> bool {
        self.ancestors_root_first(d).contains(&a)
    }

    fn strict_descendants(&self, a: u32) -> Vec<u32> {
        (0..self.tenant_count())
            .filter(|&d| self.is_strict_descendant(d, a))
            .collect()
    }

    fn roles_in(&self, t: u32) -> impl Iterator<Item = &Role> + '_ {
        self.roles.iter().filter(move |r| r.tenant == t)
    }

    fn role(&self, id: u32) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The role of tenant `t` called exactly `name`.
    fn find(&self, t: u32, name: &str) -> Option<&Role> {
        self.roles_in(t).find(|r| r.name == name)
    }

    /// Whether `name` clashes (case-insensitively) with a role of `t` other than `except`.
    fn name_taken(&self, t: u32, name: &str, except: Option<u32>) -> bool {
        let key = name_key(name);
        self.roles_in(t)
            .any(|r| Some(r.id) != except && name_key(&r.name) == key)
    }

    /// Applies changes as a store would: a copy is a new row; an update or detach addresses an
    /// existing row by tenant and id.
    fn apply(&mut self, changes: Vec<Change<u32, u32>>) {
        for change in changes {
            match change {
                Change::CreateCopy {
                    tenant,
                    source,
                    name,
                    rights,
                } => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.roles.push(RoleView {
                        id,
                        tenant,
                        name,
                        rights,
                        propagate: false,
                        source: Some(source),
                    });
                }
                Change::UpdateCopy {
                    tenant,
                    copy,
                    name,
                    rights,
                } => match self
                    .roles
                    .iter_mut()
                    .find(|r| r.id == copy && r.tenant == tenant)
                {
                    Some(r) => {
                        r.name = name;
                        r.rights = rights;
                    }
                    None => self.faults.push(format!(
                        "UpdateCopy of missing role {copy} in tenant {tenant}"
                    )),
                },
                Change::Detach { tenant, copy } => match self
                    .roles
                    .iter_mut()
                    .find(|r| r.id == copy && r.tenant == tenant)
                {
                    Some(r) => r.source = None,
                    None => self
                        .faults
                        .push(format!("Detach of missing role {copy} in tenant {tenant}")),
                },
            }
        }
    }

    /// Plans and applies the sync of role `id` into the descendants of its tenant.
    fn sync(&mut self, id: u32) {
        let Some(source) = self.role(id).cloned() else {
            return;
        };
        let descendants = self.strict_descendants(source.tenant);
        let changes = plan_sync(&source, &descendants, |d| self.roles_in(*d));
        self.apply(changes);
    }

    /// Plans and applies the detach of every copy of role `id`, remembering the copies as they
    /// were for [`Model::check`].
    fn detach_copies(&mut self, id: u32) {
        let changes = plan_detach(&id, self.roles.iter());
        self.detached = self
            .roles
            .iter()
            .filter(|r| r.source == Some(id))
            .cloned()
            .collect();
        self.apply(changes);
    }

    // --- The service operations. Each returns whether it was accepted. ---

    /// Adds a tenant under `parent`; it receives the copies of its ancestors' propagating roles.
    fn add_tenant(&mut self, parent: u32) -> u32 {
        self.detached.clear();
        let t = self.tenant_count();
        self.parent.push(Some(parent));
        let ancestors = self.ancestors_root_first(t);
        let sources: Vec<&Role> = ancestors
            .iter()
            .flat_map(|&a| {
                self.roles_in(a)
                    .filter(|r| r.source.is_none() && r.propagate)
            })
            .collect();
        let changes = plan_new_tenant(&t, sources, self.roles_in(t));
        self.apply(changes);
        t
    }

    /// Creates a local role; refused when the name is invalid or taken in the tenant.
    fn create(
        &mut self,
        tenant: u32,
        name: &str,
        propagate: bool,
        rights: RightSet,
    ) -> Option<u32> {
        self.detached.clear();
        if validate_role_name(name).is_err() || self.name_taken(tenant, name, None) {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.roles.push(RoleView {
            id,
            tenant,
            name: name.to_string(),
            rights,
            propagate,
            source: None,
        });
        self.sync(id);
        Some(id)
    }

    /// The role `id` if it exists and may be edited where it is (not a locked copy).
    fn editable(&self, id: u32) -> Option<&Role> {
        self.role(id).filter(|r| !r.is_locked_copy())
    }

    fn edit_rights(&mut self, id: u32, rights: RightSet) -> bool {
        self.detached.clear();
        if self.editable(id).is_none() {
            return false;
        }
        if let Some(r) = self.roles.iter_mut().find(|r| r.id == id) {
            r.rights = rights;
        }
        self.sync(id);
        true
    }

    /// Renames a role; refused for a locked copy and for a name taken by another role of the
    /// tenant (a change of case only is allowed).
    fn rename(&mut self, id: u32, name: &str) -> bool {
        self.detached.clear();
        let Some(tenant) = self.editable(id).map(|r| r.tenant) else {
            return false;
        };
        if validate_role_name(name).is_err() || self.name_taken(tenant, name, Some(id)) {
            return false;
        }
        if let Some(r) = self.roles.iter_mut().find(|r| r.id == id) {
            r.name = name.to_string();
        }
        self.sync(id);
        true
    }

    /// Switches propagation on (sync) or off (the copies stay, detached).
    fn set_propagate(&mut self, id: u32, on: bool) -> bool {
        self.detached.clear();
        if self.editable(id).is_none() {
            return false;
        }
        if !on {
            self.detach_copies(id);
        }
        if let Some(r) = self.roles.iter_mut().find(|r| r.id == id) {
            r.propagate = on;
        }
        if on {
            self.sync(id);
        }
        true
    }

    /// Deletes a role; its copies stay, detached. Refused for a locked copy.
    fn delete(&mut self, id: u32) -> bool {
        self.detached.clear();
        if self.editable(id).is_none() {
            return false;
        }
        self.detach_copies(id);
        self.roles.retain(|r| r.id != id);
        true
    }

    /// Checks every invariant of propagation; the error says which one broke and where.
    fn check(&self) -> Result<(), String> {
        if let Some(f) = self.faults.first() {
            return Err(format!("unappliable change: {f}"));
        }
        let by_id: HashMap<u32, &Role> = self.roles.iter().map(|r| (r.id, r)).collect();
        if by_id.len() != self.roles.len() {
            return Err("two roles share an id".into());
        }

        // Names: valid (so at most 100 characters) and unique per tenant under `name_key`.
        let mut seen: HashSet<(u32, String)> = HashSet::new();
        for r in &self.roles {
            validate_role_name(&r.name)
                .map_err(|e| format!("role {} has an invalid name {:?}: {e}", r.id, r.name))?;
            if !seen.insert((r.tenant, name_key(&r.name))) {
                return Err(format!(
                    "tenant {} holds two roles named {:?} (case-insensitively)",
                    r.tenant, r.name
                ));
            }
        }

        // Every copy: of an existing, propagating, non-copy role of a strict ancestor, with its
        // rights, named after it, and itself neither propagating nor editable.
        for c in self.roles.iter().filter(|r| r.is_locked_copy()) {
            let sid = c.source.unwrap_or(u32::MAX);
            let Some(s) = by_id.get(&sid) else {
                return Err(format!("copy {} points to deleted role {sid}", c.id));
            };
            if !s.propagate || s.is_locked_copy() {
                return Err(format!(
                    "copy {} points to role {sid}, which does not propagate or is a copy",
                    c.id
                ));
            }
            if c.propagate {
                return Err(format!("copy {} propagates itself", c.id));
            }
            if !self.is_strict_descendant(c.tenant, s.tenant) {
                return Err(format!(
                    "copy {} of role {sid} is in tenant {}, not below tenant {}",
                    c.id, c.tenant, s.tenant
                ));
            }
            if c.rights != s.rights {
                return Err(format!(
                    "copy {} has rights {:?}, its source {sid} has {:?}",
                    c.id, c.rights, s.rights
                ));
            }
            if !is_copy_name_of(&c.name, &s.name) {
                return Err(format!(
                    "copy {} is named {:?}, not a copy name of {:?}",
                    c.id, c.name, s.name
                ));
            }
        }

        // Every propagating role has exactly one copy in each strict descendant (and, by the
        // loop above, none anywhere else).
        for s in self
            .roles
            .iter()
            .filter(|r| r.propagate && !r.is_locked_copy())
        {
            for d in self.strict_descendants(s.tenant) {
                let n = self.roles_in(d).filter(|r| r.source == Some(s.id)).count();
                if n != 1 {
                    return Err(format!(
                        "role {} of tenant {} has {n} copies in tenant {d}",
                        s.id, s.tenant
                    ));
                }
            }
        }

        // The copies the last operation detached are still there, unchanged but unlocked.
        for before in &self.detached {
            let Some(after) = by_id.get(&before.id) else {
                return Err(format!("detached copy {} disappeared", before.id));
            };
            if after.source.is_some()
                || after.propagate
                || after.tenant != before.tenant
                || after.name != before.name
                || after.rights != before.rights
            {
                return Err(format!(
                    "detached copy changed or stayed locked: {before:?} became {after:?}"
                ));
            }
        }

        // Nothing is left to do: syncing any propagating role again changes nothing. (A rights
        // edit, a rename or a delete elsewhere must not leave work behind, nor make a later,
        // unrelated sync rename copies.)
        for s in self
            .roles
            .iter()
            .filter(|r| r.propagate && !r.is_locked_copy())
        {
            let again = plan_sync(s, &self.strict_descendants(s.tenant), |d| self.roles_in(*d));
            if !again.is_empty() {
                return Err(format!(
                    "role {} ({:?}) is in sync yet a new sync plans {again:?}",
                    s.id, s.name
                ));
            }
        }
        Ok(())
    }
}

/// Whether `copy` is a name the design allows for a copy of a role named `source`: the name
/// itself, `source~~N` with N ≥ 1 written plainly, or — only when that would pass 100
/// characters — `source` cut to make room for the suffix (trailing spaces dropped) and `~~N`.
fn is_copy_name_of(copy: &str, source: &str) -> bool {
    if copy == source {
        return true;
    }
    let Some((head, digits)) = copy.rsplit_once(COPY_SUFFIX) else {
        return false;
    };
    match digits.parse::<u64>() {
        Ok(n) if n >= 1 && n.to_string() == digits => {}
        _ => return false,
    }
    let suffix_len = COPY_SUFFIX.chars().count() + digits.chars().count();
    if source.chars().count() + suffix_len <= MAX_ROLE_NAME {
        head == source
    } else {
        let cut: String = source.chars().take(MAX_ROLE_NAME - suffix_len).collect();
        head == cut.trim_end()
    }
}

/// A role's rights, drawn from a few entries so that edits often change them.
fn arb_rights() -> impl Strategy<Value = RightSet> {
    prop::collection::vec(
        (
            prop::sample::select(Area::ALL.to_vec()),
            prop::sample::select(Right::ALL.to_vec()),
            prop_oneof![Just(Permission::Allow), Just(Permission::Deny)],
        ),
        0..4,
    )
    .prop_map(RightSet::from_entries)
}

/// One operation of a random sequence. Indices are resolved against the model when the
/// operation runs, so any sequence is meaningful whatever happened before.
#[derive(Debug, Clone)]
enum Op {
    Create {
        tenant: Index,
        name: Index,
        propagate: bool,
        rights: RightSet,
    },
    EditRights {
        role: Index,
        rights: RightSet,
    },
    Rename {
        role: Index,
        name: Index,
    },
    SetPropagate {
        role: Index,
        on: bool,
    },
    Delete {
        role: Index,
    },
    AddTenant {
        parent: Index,
    },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<Index>(), any::<Index>(), any::<bool>(), arb_rights()).prop_map(
            |(tenant, name, propagate, rights)| Op::Create { tenant, name, propagate, rights }
        ),
        2 => (any::<Index>(), arb_rights()).prop_map(|(role, rights)| Op::EditRights { role, rights }),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(role, name)| Op::Rename { role, name }),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(role, on)| Op::SetPropagate { role, on }),
        1 => any::<Index>().prop_map(|role| Op::Delete { role }),
        1 => any::<Index>().prop_map(|parent| Op::AddTenant { parent }),
    ]
}

/// A starting tree of 1 to 8 tenants: tenant `i + 1` hangs under one of tenants `0..=i`.
fn arb_tree() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<Index>(), 0..8).prop_map(|picks| {
        picks
            .iter()
            .enumerate()
            .map(|(i, p)| u32::try_from(p.index(i + 1)).unwrap_or(0))
            .collect()
    })
}

/// Runs one operation on the model, picking among the roles and tenants that exist now. Refused
/// operations (a locked copy, a taken name) leave the model as it was.
fn run(model: &mut Model, op: &Op, names: &[String]) {
    let pick_role = |m: &Model, i: &Index| -> Option<u32> {
        (!m.roles.is_empty())
            .then(|| m.roles.get(i.index(m.roles.len())).map(|r| r.id))
            .flatten()
    };
    let pick_name = |i: &Index| names.get(i.index(names.len())).cloned().unwrap_or_default();
    let pick_tenant =
        |m: &Model, i: &Index| -> u32 { u32::try_from(i.index(m.parent.len())).unwrap_or(0) };
    match op {
        Op::Create {
            tenant,
            name,
            propagate,
            rights,
        } => {
            let t = pick_tenant(model, tenant);
            model.create(t, &pick_name(name), *propagate, *rights);
        }
        Op::EditRights { role, rights } => {
            if let Some(id) = pick_role(model, role) {
                model.edit_rights(id, *rights);
            }
        }
        Op::Rename { role, name } => {
            if let Some(id) = pick_role(model, role) {
                model.rename(id, &pick_name(name));
            }
        }
        Op::SetPropagate { role, on } => {
            if let Some(id) = pick_role(model, role) {
                model.set_propagate(id, *on);
            }
        }
        Op::Delete { role } => {
            if let Some(id) = pick_role(model, role) {
                model.delete(id);
            }
        }
        Op::AddTenant { parent } => {
            if model.parent.len() < MAX_TENANTS {
                let p = pick_tenant(model, parent);
                model.add_tenant(p);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// After every operation of a random sequence, the propagation invariants hold.
    #[test]
    fn propagation_invariants_hold_after_every_operation(
        tree in arb_tree(),
        ops in prop::collection::vec(arb_op(), 1..60),
    ) {
        let names = name_pool();
        let mut model = Model::with_tree(&tree);
        for (step, op) in ops.iter().enumerate() {
            run(&mut model, op, &names);
            if let Err(why) = model.check() {
                return Err(TestCaseError::fail(format!(
                    "after step {step} ({op:?}): {why}\nparents: {:?}\nroles: {:#?}",
                    model.parent, model.roles
                )));
            }
        }
    }

    /// A rights edit of a propagating role changes the copies' rights and nothing else: no
    /// role anywhere is renamed, created or removed.
    #[test]
    fn a_rights_edit_renames_nothing(
        tree in arb_tree(),
        ops in prop::collection::vec(arb_op(), 1..60),
        edit in (any::<Index>(), arb_rights()),
    ) {
        let names = name_pool();
        let mut model = Model::with_tree(&tree);
        for op in &ops {
            run(&mut model, op, &names);
        }
        let Some(id) = (!model.roles.is_empty())
            .then(|| model.roles.get(edit.0.index(model.roles.len())).map(|r| r.id))
            .flatten()
        else {
            return Ok(());
        };
        let before: Vec<(u32, String)> =
            model.roles.iter().map(|r| (r.id, r.name.clone())).collect();
        model.edit_rights(id, edit.1);
        let after: Vec<(u32, String)> =
            model.roles.iter().map(|r| (r.id, r.name.clone())).collect();
        prop_assert_eq!(before, after);
        prop_assert!(model.check().is_ok(), "{:?}", model.check());
    }
}

// --- Worked examples ---

fn rights(entries: &[(Area, Right)]) -> RightSet {
    RightSet::from_entries(entries.iter().map(|&(a, r)| (a, r, Permission::Allow)))
}

/// A clash gives the copy `~~1`, or the first free index after it; where nothing clashes the
/// copy keeps the plain name.
#[test]
fn a_clash_gives_the_next_free_index() {
    // 0 ─┬─ 1
    //    ├─ 2
    //    └─ 3
    let mut m = Model::with_tree(&[0, 0, 0]);
    let r = rights(&[(Area::Users, Right::Read)]);
    m.create(1, "ops", false, r).unwrap();
    m.create(2, "Ops", false, r).unwrap();
    m.create(2, "OPS~~1", false, r).unwrap();
    let src = m.create(0, "Ops", true, r).unwrap();
    m.check().unwrap();

    let copy_in = |t: u32| m.roles_in(t).find(|c| c.source == Some(src)).unwrap();
    assert_eq!(copy_in(1).name, "Ops~~1");
    assert_eq!(copy_in(2).name, "Ops~~2");
    assert_eq!(copy_in(3).name, "Ops");
    // The local roles are untouched.
    assert_eq!(m.find(1, "ops").unwrap().source, None);
    assert_eq!(m.find(2, "Ops").unwrap().source, None);
}

/// A long name is shortened so that the copy stays within 100 characters.
#[test]
fn a_long_name_is_shortened_on_a_clash() {
    let mut m = Model::with_tree(&[0]);
    m.create(1, &LONG.to_lowercase(), false, RightSet::EMPTY)
        .unwrap();
    let src = m.create(0, LONG, true, RightSet::EMPTY).unwrap();
    m.check().unwrap();

    let copy = m.roles_in(1).find(|c| c.source == Some(src)).unwrap();
    assert!(copy.name.chars().count() <= MAX_ROLE_NAME);
    // The 97 characters that fit end in a space, which is dropped before the suffix.
    let expected = format!("{}~~1", &LONG[..96]);
    assert_eq!(copy.name, expected);
}

/// A rights edit leaves a shortened copy name alone even after the role it clashed with is gone,
/// as it does for a short name. (Before the fix in `roles.rs`, the sync did not recognise the
/// shortened base as the source's name and renamed the copy on any edit.)
#[test]
fn a_rights_edit_keeps_copy_names_once_the_clash_is_gone() {
    let mut m = Model::with_tree(&[0]);
    let long_local = m.create(1, LONG, false, RightSet::EMPTY).unwrap();
    let short_local = m.create(1, "Ops", false, RightSet::EMPTY).unwrap();
    let long_src = m.create(0, LONG, true, RightSet::EMPTY).unwrap();
    let short_src = m.create(0, "Ops", true, RightSet::EMPTY).unwrap();
    let copy_of = |m: &Model, src: u32| {
        m.roles_in(1)
            .find(|c| c.source == Some(src))
            .unwrap()
            .clone()
    };
    let long_copy = copy_of(&m, long_src).name;
    assert_eq!(long_copy, format!("{}~~1", &LONG[..96]));
    assert_eq!(copy_of(&m, short_src).name, "Ops~~1");

    // The clashing local roles go away; the copies keep their names.
    assert!(m.delete(long_local));
    assert!(m.delete(short_local));
    m.check().unwrap();

    // An edit of the rights changes the rights of the copies and nothing else.
    let r = rights(&[(Area::Audit, Right::Read)]);
    assert!(m.edit_rights(long_src, r));
    assert!(m.edit_rights(short_src, r));
    m.check().unwrap();
    assert_eq!(copy_of(&m, long_src).name, long_copy);
    assert_eq!(copy_of(&m, long_src).rights, r);
    assert_eq!(copy_of(&m, short_src).name, "Ops~~1");
}

/// A copy named like a clash copy only by accident of the source's old name is renamed with the
/// source: "Ops~~01" is not a name the planner gives a copy of "Ops".
#[test]
fn a_look_alike_name_is_not_kept_on_rename() {
    let mut m = Model::with_tree(&[0]);
    let src = m.create(0, "Ops~~01", true, RightSet::EMPTY).unwrap();
    assert!(m.rename(src, "Ops"));
    m.check().unwrap();
    let copy = m.roles_in(1).find(|c| c.source == Some(src)).unwrap();
    assert_eq!(copy.name, "Ops");
}

/// Editing the rights or the name of the source updates every copy; a copy renamed into a clash
/// takes a suffix, one renamed out of it loses it.
#[test]
fn an_edit_flows_down() {
    // 0 ── 1 ── 2
    let mut m = Model::with_tree(&[0, 1]);
    m.create(2, "Admin", false, RightSet::EMPTY).unwrap();
    let src = m
        .create(0, "Helpdesk", true, rights(&[(Area::Users, Right::Read)]))
        .unwrap();

    let new_rights = rights(&[
        (Area::Credentials, Right::Execute),
        (Area::Users, Right::Read),
    ]);
    assert!(m.edit_rights(src, new_rights));
    m.check().unwrap();
    for t in [1, 2] {
        let copy = m.roles_in(t).find(|c| c.source == Some(src)).unwrap();
        assert_eq!(copy.rights, new_rights);
        assert_eq!(copy.name, "Helpdesk");
    }

    assert!(m.rename(src, "Admin"));
    m.check().unwrap();
    let copy_in = |m: &Model, t: u32| m.roles_in(t).find(|c| c.source == Some(src)).cloned();
    assert_eq!(copy_in(&m, 1).unwrap().name, "Admin");
    assert_eq!(copy_in(&m, 2).unwrap().name, "Admin~~1");

    assert!(m.rename(src, "Helpdesk"));
    m.check().unwrap();
    assert_eq!(copy_in(&m, 2).unwrap().name, "Helpdesk");

    // A copy is locked: the service refuses to edit, rename, re-propagate or delete it.
    let copy = copy_in(&m, 1).unwrap().id;
    assert!(!m.edit_rights(copy, RightSet::EMPTY));
    assert!(!m.rename(copy, "Mine"));
    assert!(!m.set_propagate(copy, true));
    assert!(!m.delete(copy));
}

/// Deleting the source leaves the copies in place, unlocked and independent: same name and
/// rights, editable, and no longer following anything.
#[test]
fn delete_leaves_independent_copies() {
    let mut m = Model::with_tree(&[0, 1]);
    let r = rights(&[(Area::Groups, Right::Write)]);
    let src = m.create(0, "Ops", true, r).unwrap();
    let copies: Vec<u32> = m
        .roles
        .iter()
        .filter(|c| c.source == Some(src))
        .map(|c| c.id)
        .collect();
    assert_eq!(copies.len(), 2);

    assert!(m.delete(src));
    m.check().unwrap();
    assert!(m.role(src).is_none());
    for &id in &copies {
        let c = m.role(id).unwrap();
        assert_eq!((c.name.as_str(), c.rights, c.source), ("Ops", r, None));
    }
    // Now independent: each can be edited where it is, without touching the other.
    assert!(m.edit_rights(copies[0], RightSet::EMPTY));
    assert!(m.rename(copies[1], "Ops (branch)"));
    m.check().unwrap();
    assert_eq!(m.role(copies[1]).unwrap().rights, r);
    assert_eq!(m.role(copies[0]).unwrap().name, "Ops");
}

/// Switching propagation off detaches the copy; switching it on again creates a new copy, which
/// clashes with the old, now independent one and so is named `~~1`.
#[test]
fn propagation_off_then_on_again() {
    let mut m = Model::with_tree(&[0]);
    let r = rights(&[(Area::Reports, Right::Read)]);
    let src = m.create(0, "Ops", true, r).unwrap();
    let old = m.find(1, "Ops").unwrap().id;

    assert!(m.set_propagate(src, false));
    m.check().unwrap();
    assert_eq!(m.role(old).unwrap().source, None);

    assert!(m.set_propagate(src, true));
    m.check().unwrap();
    let old_role = m.role(old).unwrap();
    assert_eq!((old_role.name.as_str(), old_role.source), ("Ops", None));
    let new = m.roles_in(1).find(|c| c.source == Some(src)).unwrap();
    assert_ne!(new.id, old);
    assert_eq!(new.name, "Ops~~1");
    assert_eq!(new.rights, r);
}

/// A tenant added later receives the propagating roles of all its ancestors, root first, so
/// that when two of them clash the root's copy keeps the plain name.
#[test]
fn a_new_grandchild_receives_clashing_roles_from_two_ancestors() {
    // 0 ── 1, then 2 is added under 1.
    let mut m = Model::with_tree(&[0]);
    let mid = m
        .create(1, "ops", true, rights(&[(Area::Users, Right::Write)]))
        .unwrap();
    let root = m
        .create(0, "Ops", true, rights(&[(Area::Users, Right::Read)]))
        .unwrap();
    // In tenant 1 the root's copy clashes with the local role.
    assert_eq!(
        m.roles_in(1).find(|c| c.source == Some(root)).unwrap().name,
        "Ops~~1"
    );

    let grandchild = m.add_tenant(1);
    m.check().unwrap();
    let from = |src: u32| {
        m.roles_in(grandchild)
            .find(|c| c.source == Some(src))
            .unwrap()
    };
    assert_eq!(from(root).name, "Ops");
    assert_eq!(from(mid).name, "ops~~1");
    assert_eq!(from(mid).rights, rights(&[(Area::Users, Right::Write)]));
    assert_eq!(m.roles_in(grandchild).count(), 2);
}
