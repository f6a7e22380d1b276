//! Roles: name rules, the ten predefined roles, and propagation planning — which locked copies
//! a propagating role must have in the descendants of its tenant, how a copy is named on a clash
//! (`~~1`, `~~2`, …), and what edits, deletion and switching propagation off do to the copies.
//! It must not store anything: it returns a list of [`Change`]s for the caller to apply.

use crate::rights::{Area, Right, RightSet};
use std::collections::HashSet;

/// The longest role name, in characters.
pub const MAX_ROLE_NAME: usize = 100;

/// The separator between a copy's base name and its clash index.
pub const COPY_SUFFIX: &str = "~~";

/// Why a role name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleNameError {
    /// Empty or only white space.
    #[error("a role name must not be empty")]
    Empty,
    /// Longer than [`MAX_ROLE_NAME`] characters.
    #[error("a role name is at most 100 characters")]
    TooLong,
    /// Leading or trailing white space, or a control character.
    #[error("a role name has no control characters and no leading or trailing spaces")]
    Characters,
}

/// Checks a role name: 1 to 100 characters, no control characters, no outer white space.
pub fn validate_role_name(name: &str) -> Result<(), RoleNameError> {
    if name.trim().is_empty() {
        return Err(RoleNameError::Empty);
    }
    if name.chars().count() > MAX_ROLE_NAME {
        return Err(RoleNameError::TooLong);
    }
    if name.trim() != name || name.chars().any(char::is_control) {
        return Err(RoleNameError::Characters);
    }
    Ok(())
}

/// The form of a role name under which clashes are judged: role names are unique per tenant,
/// case-insensitively.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The name a copy of a role called `base` takes in a tenant where `taken` (compared through
/// [`name_key`]) are already used: `base` itself when free, else `base~~1`, `base~~2`, … the
/// first free index. The base is shortened when needed so the result stays within
/// [`MAX_ROLE_NAME`] characters.
pub fn copy_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(&name_key(base)) {
        return base.to_string();
    }
    let mut n: u64 = 1;
    loop {
        let candidate = suffixed(base, n);
        if !taken(&name_key(&candidate)) {
            return candidate;
        }
        n += 1;
    }
}

/// The `n`-th clash form of `base`: `base~~n`, with `base` shortened (and trailing white space
/// dropped) when needed to stay within [`MAX_ROLE_NAME`] characters.
fn suffixed(base: &str, n: u64) -> String {
    let suffix = format!("{COPY_SUFFIX}{n}");
    let room = MAX_ROLE_NAME.saturating_sub(suffix.chars().count());
    let head: String = base.chars().take(room).collect();
    format!("{}{suffix}", head.trim_end())
}

/// A role as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleView<T, R> {
    /// The role's id.
    pub id: R,
    /// The tenant the role is defined in.
    pub tenant: T,
    /// Its name, unique per tenant (case-insensitively).
    pub name: String,
    /// The rights it gives.
    pub rights: RightSet,
    /// Whether it is copied into every descendant of its tenant.
    pub propagate: bool,
    /// For a locked copy: the role it is a copy of.
    pub source: Option<R>,
}

impl<T, R> RoleView<T, R> {
    /// Whether this role is a locked copy, not editable where it is.
    pub fn is_locked_copy(&self) -> bool {
        self.source.is_some()
    }
}

/// A step the caller applies to bring the copies of a role in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T, R> {
    /// Create a locked copy of `source` in `tenant`.
    CreateCopy {
        /// Where the copy goes.
        tenant: T,
        /// The role copied.
        source: R,
        /// The copy's name (the source's, or with a `~~N` suffix).
        name: String,
        /// The source's rights.
        rights: RightSet,
    },
    /// Bring an existing copy in line with its source.
    UpdateCopy {
        /// The copy's tenant.
        tenant: T,
        /// The copy.
        copy: R,
        /// Its new name.
        name: String,
        /// The source's rights.
        rights: RightSet,
    },
    /// Turn a copy into an independent, editable role of its tenant (source gone or no longer
    /// propagating). Its name and rights stay.
    Detach {
        /// The copy's tenant.
        tenant: T,
        /// The copy.
        copy: R,
    },
}

/// The changes that make every tenant in `descendants` hold an up-to-date locked copy of
/// `source` (a role with `propagate` set): run it after the source is created, edited or has
/// propagation switched on. `roles_in` lists the roles a tenant holds now.
pub fn plan_sync<'a, T, R, F, I>(
    source: &RoleView<T, R>,
    descendants: &[T],
    roles_in: F,
) -> Vec<Change<T, R>>
where
    T: Clone + 'a,
    R: Clone + PartialEq + 'a,
    F: Fn(&T) -> I,
    I: IntoIterator<Item = &'a RoleView<T, R>>,
{
    let mut out = Vec::new();
    if !source.propagate {
        return out;
    }
    for d in descendants {
        let roles: Vec<&RoleView<T, R>> = roles_in(d).into_iter().collect();
        let existing = roles.iter().find(|r| r.source.as_ref() == Some(&source.id));
        match existing {
            Some(copy) => {
                // A copy already named after the source keeps its name (even if the clash that
                // gave it a suffix is gone): only a rename of the source renames copies.
                let name = if is_copy_name_of(&copy.name, &source.name) {
                    copy.name.clone()
                } else {
                    let taken: HashSet<String> = roles
                        .iter()
                        .filter(|r| r.id != copy.id)
                        .map(|r| name_key(&r.name))
                        .collect();
                    copy_name(&source.name, |n| taken.contains(n))
                };
                if name != copy.name || copy.rights != source.rights {
                    out.push(Change::UpdateCopy {
                        tenant: d.clone(),
                        copy: copy.id.clone(),
                        name,
                        rights: source.rights,
                    });
                }
            }
            None => {
                let taken: HashSet<String> = roles.iter().map(|r| name_key(&r.name)).collect();
                out.push(Change::CreateCopy {
                    tenant: d.clone(),
                    source: source.id.clone(),
                    name: copy_name(&source.name, |n| taken.contains(n)),
                    rights: source.rights,
                });
            }
        }
    }
    out
}

/// The changes when `source` is deleted or stops propagating: every copy of it among
/// `descendant_roles` stays, unlocked and independent.
pub fn plan_detach<'a, T, R>(
    source: &R,
    descendant_roles: impl IntoIterator<Item = &'a RoleView<T, R>>,
) -> Vec<Change<T, R>>
where
    T: Clone + 'a,
    R: Clone + PartialEq + 'a,
{
    descendant_roles
        .into_iter()
        .filter(|r| r.source.as_ref() == Some(source))
        .map(|r| Change::Detach {
            tenant: r.tenant.clone(),
            copy: r.id.clone(),
        })
        .collect()
}

/// The copies a new tenant receives: one per propagating role of its ancestors, `ancestor_roles`
/// given from the root down (so names clash in a stable order). `existing` are the roles the
/// new tenant already holds (normally none).
pub fn plan_new_tenant<'a, T, R>(
    tenant: &T,
    ancestor_roles: impl IntoIterator<Item = &'a RoleView<T, R>>,
    existing: impl IntoIterator<Item = &'a RoleView<T, R>>,
) -> Vec<Change<T, R>>
where
    T: Clone + 'a,
    R: Clone + PartialEq + 'a,
{
    let mut taken: HashSet<String> = existing.into_iter().map(|r| name_key(&r.name)).collect();
    let mut out = Vec::new();
    for src in ancestor_roles {
        if !src.propagate || src.source.is_some() {
            continue;
        }
        let name = copy_name(&src.name, |n| taken.contains(n));
        taken.insert(name_key(&name));
        out.push(Change::CreateCopy {
            tenant: tenant.clone(),
            source: src.id.clone(),
            name,
            rights: src.rights,
        });
    }
    out
}

/// Whether `name` is one [`copy_name`] can give a copy of a role called `base`: `base` itself, or
/// its `n`-th clash form for some `n` ≥ 1 — with the base shortened for a long name, which
/// splitting `name` at its last `~~` and comparing the head with `base` would miss.
fn is_copy_name_of(name: &str, base: &str) -> bool {
    if name == base {
        return true;
    }
    let Some((_, digits)) = name.rsplit_once(COPY_SUFFIX) else {
        return false;
    };
    match digits.parse::<u64>() {
        // `parse` also takes "+1" and "01": only the form `suffixed` writes counts.
        Ok(n) if n >= 1 && n.to_string() == digits => suffixed(base, n) == name,
        _ => false,
    }
}

/// One of the roles every installation has, created at the root and propagated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Predefined {
    /// Its name.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Its rights.
    pub rights: RightSet,
}

/// The ten predefined roles (Kaspersky Security Center's set, adapted to a directory).
pub fn predefined_roles() -> Vec<Predefined> {
    use Area::*;
    use Right::*;
    let all_areas = &Area::ALL;
    vec![
        Predefined {
            name: "Main Administrator",
            description: "Every right on every area.",
            rights: RightSet::ALL_ALLOWED,
        },
        Predefined {
            name: "Main Operator",
            description: "Read and execute on every area; changes nothing.",
            rights: RightSet::allowing(all_areas, &[Read, Execute]),
        },
        Predefined {
            name: "Auditor",
            description: "Reads every area, including the audit log, and exports it.",
            rights: RightSet::allowing(all_areas, &[Read])
                .union(RightSet::allowing(&[Audit, Reports], &[Execute])),
        },
        Predefined {
            name: "Supervisor",
            description: "Watches the tree: reads tenants, users, groups, applications, policies and reports.",
            rights: RightSet::allowing(
                &[Tenants, Users, Groups, Applications, Policies, Reports],
                &[Read],
            )
            .union(RightSet::allowing(&[Reports], &[Execute])),
        },
        Predefined {
            name: "Security Officer",
            description: "Manages roles, assignments and policies; reads the audit log.",
            rights: RightSet::allowing(&[Rights, Policies], &[Read, Write])
                .union(RightSet::allowing(&[Tenants, Users, Groups, Audit], &[Read])),
        },
        Predefined {
            name: "User Administrator",
            description: "Manages users, groups and their credentials.",
            rights: RightSet::allowing(&[Users, Groups], &[Read, Write])
                .union(RightSet::allowing(&[Credentials], &[Read, Execute]))
                .union(RightSet::allowing(&[Tenants, Applications], &[Read])),
        },
        Predefined {
            name: "Helpdesk Operator",
            description: "Resets passwords and MFA and unlocks accounts; reads users and groups.",
            rights: RightSet::allowing(&[Credentials], &[Read, Execute])
                .union(RightSet::allowing(&[Tenants, Users, Groups], &[Read])),
        },
        Predefined {
            name: "Application Administrator",
            description: "Manages applications and which groups may use them.",
            rights: RightSet::allowing(&[Applications], &[Read, Write])
                .union(RightSet::allowing(&[Tenants, Groups], &[Read])),
        },
        Predefined {
            name: "Directory Reader",
            description: "Reads the directory over LDAP.",
            rights: RightSet::allowing(&[Directory], &[Read]),
        },
        Predefined {
            name: "Directory Writer",
            description: "Reads and writes the directory over LDAP.",
            rights: RightSet::allowing(&[Directory], &[Read, Write]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_role_name("Helpdesk").is_ok());
        assert!(validate_role_name(&"x".repeat(100)).is_ok());
        assert!(validate_role_name(&"é".repeat(100)).is_ok());
        assert_eq!(
            validate_role_name(&"x".repeat(101)),
            Err(RoleNameError::TooLong)
        );
        assert_eq!(validate_role_name("  "), Err(RoleNameError::Empty));
        assert_eq!(validate_role_name(" a"), Err(RoleNameError::Characters));
        assert_eq!(validate_role_name("a\nb"), Err(RoleNameError::Characters));
    }

    #[test]
    fn copy_names_take_the_next_free_index() {
        let taken: HashSet<String> = ["ops", "ops~~1", "ops~~3"].map(String::from).into();
        assert_eq!(copy_name("Ops", |n| taken.contains(n)), "Ops~~2");
        assert_eq!(copy_name("Other", |n| taken.contains(n)), "Other");
        let long = "y".repeat(100);
        let taken: HashSet<String> = [long.clone()].into();
        let c = copy_name(&long, |n| taken.contains(n));
        assert_eq!(c.chars().count(), 100);
        assert!(c.ends_with("~~1"));
    }

    #[test]
    fn ten_predefined_roles_with_unique_valid_names() {
        let roles = predefined_roles();
        assert_eq!(roles.len(), 10);
        let names: HashSet<String> = roles.iter().map(|r| name_key(r.name)).collect();
        assert_eq!(names.len(), 10);
        for r in &roles {
            validate_role_name(r.name).unwrap();
            assert!(!r.rights.is_empty());
        }
        let main = &roles[0];
        for a in Area::ALL {
            for r in Right::ALL {
                assert!(main.rights.grants(a, r));
            }
        }
    }

    #[test]
    fn copy_names_of_a_base() {
        assert!(is_copy_name_of("Ops", "Ops"));
        assert!(is_copy_name_of("Ops~~2", "Ops"));
        assert!(!is_copy_name_of("Ops~~", "Ops"));
        assert!(!is_copy_name_of("Ops~~x", "Ops"));
        assert!(!is_copy_name_of("Ops~~0", "Ops"));
        assert!(!is_copy_name_of("Ops~~01", "Ops"));
        assert!(!is_copy_name_of("Ops~~+1", "Ops"));
        assert!(!is_copy_name_of("ops~~1", "Ops"));
        assert!(!is_copy_name_of("Admin~~1", "Ops"));
        // A shortened base is recognised as well.
        let long = "y".repeat(99);
        assert!(is_copy_name_of(&format!("{}~~1", "y".repeat(97)), &long));
        assert!(is_copy_name_of(&format!("{}~~12", "y".repeat(96)), &long));
        assert!(!is_copy_name_of(&format!("{}~~1", "y".repeat(96)), &long));
    }
}
