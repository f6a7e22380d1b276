//! The user entity: people and service accounts of a tenant, with their directory attributes.
//! It owns the record's shape and field checks; it must not hold credentials' logic (that is
//! the authentication module's) or touch the store.

use super::{validate, GroupId, Status, TenantId, UserId};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tessera_policy::Timestamp;

/// A person or a service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// A human.
    #[default]
    Person,
    /// A machine identity (an application's LDAP bind account, a script).
    Service,
}

/// POSIX account attributes, for SSSD and friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posix {
    /// uidNumber, unique in the tenant.
    pub uid_number: u32,
    /// gidNumber of the primary group (by default the user's own number).
    pub gid_number: u32,
    /// homeDirectory.
    pub home: String,
    /// loginShell.
    pub shell: String,
}

/// A user of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// Login name, unique in the tenant case-insensitively; stored as given.
    pub username: String,
    /// Person or service account.
    #[serde(default)]
    pub kind: UserKind,
    /// Active or suspended.
    #[serde(default)]
    pub status: Status,
    /// E-mail address, unique in the tenant case-insensitively.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name (LDAP `sn`).
    #[serde(default)]
    pub family_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// POSIX account attributes, when the user has them.
    #[serde(default)]
    pub posix: Option<Posix>,
    /// OpenSSH public keys.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// Custom attributes (LDAP attribute-name syntax → values).
    #[serde(default)]
    pub custom: BTreeMap<String, Vec<String>>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl User {
    /// The name shown for the user: the display name, else given and family name, else the
    /// username.
    pub fn shown_name(&self) -> String {
        if let Some(d) = &self.display_name {
            return d.clone();
        }
        match (&self.given_name, &self.family_name) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            (Some(n), None) | (None, Some(n)) => n.clone(),
            (None, None) => self.username.clone(),
        }
    }
}

/// POSIX attributes requested at creation; missing numbers are allocated from the tenant's
/// counter, a missing home is `/home/<username>`, a missing shell `/bin/bash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewPosix {
    /// A fixed uidNumber (≥ 1000, unique in the tenant), or `None` to allocate.
    pub uid_number: Option<u32>,
    /// A fixed gidNumber, or `None` for the user's own number.
    pub gid_number: Option<u32>,
    /// homeDirectory.
    pub home: Option<String>,
    /// loginShell.
    pub shell: Option<String>,
}

/// What it takes to create a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Person or service account.
    #[serde(default)]
    pub kind: UserKind,
    /// Active or suspended at creation.
    #[serde(default)]
    pub status: Status,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Telephone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// POSIX attributes, if the user should have them.
    #[serde(default)]
    pub posix: Option<NewPosix>,
    /// OpenSSH public keys.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// Custom attributes.
    #[serde(default)]
    pub custom: BTreeMap<String, Vec<String>>,
    /// Groups of the same tenant to put the user in, in the same transaction.
    #[serde(default)]
    pub groups: Vec<GroupId>,
}

/// A change to a user; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPatch {
    /// New login name.
    pub username: Option<String>,
    /// New kind.
    pub kind: Option<UserKind>,
    /// New e-mail address.
    pub email: Option<Option<String>>,
    /// New given name.
    pub given_name: Option<Option<String>>,
    /// New family name.
    pub family_name: Option<Option<String>>,
    /// New display name.
    pub display_name: Option<Option<String>>,
    /// New telephone number.
    pub phone: Option<Option<String>>,
    /// Makes a user without POSIX attributes a POSIX account, as [`NewPosix`] does at creation:
    /// the uidNumber is `uid_number` or allocated from the tenant's counter, the gidNumber is
    /// `gid_number` or the user's own number, home and shell are the ones given or
    /// `/home/<username>` and `/bin/bash`. No effect on a user that is already one.
    pub make_posix: bool,
    /// A new uidNumber (≥ [`MIN_POSIX_ID`], unique in the tenant). On a POSIX user it re-numbers
    /// it, and a gidNumber that was the user's own number follows unless `gid_number` is given;
    /// on a user without POSIX attributes it implies `make_posix`.
    pub uid_number: Option<u32>,
    /// New home directory (POSIX users, or with `make_posix`).
    pub home: Option<String>,
    /// New login shell (POSIX users, or with `make_posix`).
    pub shell: Option<String>,
    /// New primary gidNumber (POSIX users, or with `make_posix`).
    pub gid_number: Option<u32>,
    /// Replaces the SSH keys.
    pub ssh_keys: Option<Vec<String>>,
    /// Replaces the custom attributes.
    pub custom: Option<BTreeMap<String, Vec<String>>>,
}

/// The lowest uidNumber/gidNumber the directory hands out or accepts: below are system accounts
/// (0 is root) on the hosts that read them.
pub const MIN_POSIX_ID: u32 = 1000;

pub(crate) fn check_optional_fields(
    email: Option<&str>,
    given: Option<&str>,
    family: Option<&str>,
    display: Option<&str>,
    phone: Option<&str>,
) -> Result<(), Error> {
    if let Some(e) = email {
        validate::email(e)?;
    }
    if let Some(g) = given {
        validate::display_name("given_name", g, 256)?;
    }
    if let Some(f) = family {
        validate::display_name("family_name", f, 256)?;
    }
    if let Some(d) = display {
        validate::display_name("display_name", d, 256)?;
    }
    if let Some(p) = phone {
        validate::phone(p)?;
    }
    Ok(())
}

pub(crate) fn check_ssh_keys(keys: &[String]) -> Result<(), Error> {
    if keys.len() > 32 {
        return Err(validate::invalid("ssh_keys", "at most 32 keys"));
    }
    keys.iter().try_for_each(|k| validate::ssh_public_key(k))
}

pub(crate) fn check_custom(custom: &BTreeMap<String, Vec<String>>) -> Result<(), Error> {
    if custom.len() > 64 {
        return Err(validate::invalid("custom", "at most 64 custom attributes"));
    }
    let mut seen = std::collections::HashSet::new();
    for (name, values) in custom {
        validate::custom_attribute_name(name)?;
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(validate::invalid(
                "custom",
                format!("{name:?} appears twice (names are case-insensitive)"),
            ));
        }
        if values.is_empty() || values.len() > 32 {
            return Err(validate::invalid("custom", "1 to 32 values an attribute"));
        }
        for v in values {
            validate::text("custom", v, 1024)?;
        }
    }
    Ok(())
}

pub(crate) fn check_posix_id(field: &'static str, n: u32) -> Result<(), Error> {
    if n < MIN_POSIX_ID || n > i32::MAX as u32 {
        return Err(validate::invalid(
            field,
            format!("between {MIN_POSIX_ID} and {}", i32::MAX),
        ));
    }
    Ok(())
}

impl NewUser {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        validate::username(&self.username)?;
        check_optional_fields(
            self.email.as_deref(),
            self.given_name.as_deref(),
            self.family_name.as_deref(),
            self.display_name.as_deref(),
            self.phone.as_deref(),
        )?;
        if let Some(p) = &self.posix {
            if let Some(n) = p.uid_number {
                check_posix_id("uid_number", n)?;
            }
            if let Some(n) = p.gid_number {
                check_posix_id("gid_number", n)?;
            }
            if let Some(h) = &p.home {
                validate::abs_path("home", h)?;
            }
            if let Some(s) = &p.shell {
                validate::abs_path("shell", s)?;
            }
        }
        check_ssh_keys(&self.ssh_keys)?;
        check_custom(&self.custom)
    }
}

impl UserPatch {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(u) = &self.username {
            validate::username(u)?;
        }
        let inner =
            |o: &Option<Option<String>>| o.as_ref().and_then(|x| x.as_deref().map(str::to_owned));
        check_optional_fields(
            inner(&self.email).as_deref(),
            inner(&self.given_name).as_deref(),
            inner(&self.family_name).as_deref(),
            inner(&self.display_name).as_deref(),
            inner(&self.phone).as_deref(),
        )?;
        if let Some(h) = &self.home {
            validate::abs_path("home", h)?;
        }
        if let Some(s) = &self.shell {
            validate::abs_path("shell", s)?;
        }
        if let Some(n) = self.uid_number {
            check_posix_id("uid_number", n)?;
        }
        if let Some(g) = self.gid_number {
            check_posix_id("gid_number", g)?;
        }
        if let Some(k) = &self.ssh_keys {
            check_ssh_keys(k)?;
        }
        if let Some(c) = &self.custom {
            check_custom(c)?;
        }
        Ok(())
    }
}
