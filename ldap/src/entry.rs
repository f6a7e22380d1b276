//! Entries as the frontend serves them: users (inetOrgPerson, plus posixAccount and
//! ldapPublicKey when they have POSIX attributes or SSH keys), groups (groupOfNames +
//! posixGroup), tenants (organization), their `ou=Users` / `ou=Groups`, the suffix, the root DSE
//! and the subschema entry; which attributes a search asked for (`*`, `+`, `1.1`, names); and
//! the selection of what goes on the wire. It builds from records the handler already holds:
//! it never reads the directory, and it never puts password material into an entry.

use crate::dn::{Dit, Ou, SUBSCHEMA_DN};
use crate::schema::{self, kinds, AttrType};
use std::sync::Arc;
use tessera_directory::model::{Group, GroupId, Tenant, TenantId, User, UserId};
use tessera_directory::policy::Timestamp;

/// An attribute type: one of the schema, or a custom attribute of a user.
#[derive(Debug, Clone)]
pub(crate) enum Attr {
    Known(&'static AttrType),
    /// A name outside the schema (a user's custom attribute), as written.
    Custom(String),
}

impl Attr {
    /// The attribute a name in a request stands for.
    pub(crate) fn named(name: &str) -> Attr {
        match schema::attr(name) {
            Some(t) => Attr::Known(t),
            None => Attr::Custom(name.to_string()),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Attr::Known(t) => t.name,
            Attr::Custom(n) => n,
        }
    }

    pub(crate) fn is(&self, other: &Attr) -> bool {
        match (self, other) {
            (Attr::Known(a), Attr::Known(b)) => std::ptr::eq(*a, *b),
            (Attr::Custom(a), Attr::Custom(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }

    pub(crate) fn is_known(&self, t: &'static AttrType) -> bool {
        matches!(self, Attr::Known(a) if std::ptr::eq(*a, t))
    }

    fn operational(&self) -> bool {
        matches!(self, Attr::Known(t) if t.operational)
    }
}

/// Which record an entry stands for (for in-chain matching and de-duplication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EntryRef {
    User(TenantId, UserId),
    Group(TenantId, GroupId),
    Tenant(TenantId),
}

/// An entry with every attribute the search needs.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) dn: String,
    /// One of `schema::kinds`.
    pub(crate) kind: u8,
    pub(crate) id: Option<EntryRef>,
    pub(crate) attrs: Vec<(Attr, Vals)>,
}

/// An attribute's values: the entry's own, or a list several entries and searches share (a
/// big group's members, made once per member list).
#[derive(Debug, Clone)]
pub(crate) enum Vals {
    Own(Vec<String>),
    Shared(Arc<[String]>),
}

impl std::ops::Deref for Vals {
    type Target = [String];

    fn deref(&self) -> &[String] {
        match self {
            Vals::Own(v) => v,
            Vals::Shared(v) => v,
        }
    }
}

impl Default for Vals {
    fn default() -> Self {
        Vals::Own(Vec::new())
    }
}

impl Vals {
    /// The values as a list of their own.
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            Vals::Own(v) => v,
            Vals::Shared(v) => v.to_vec(),
        }
    }
}

/// A search result as it goes on the wire: the entry's DN and the attributes the search
/// selected (without values when it asked for types only).
#[derive(Debug, Clone)]
pub(crate) struct WireEntry {
    pub(crate) dn: String,
    pub(crate) attrs: Vec<(Attr, Vals)>,
}

impl Entry {
    fn new(dn: String, kind: u8, id: Option<EntryRef>) -> Entry {
        Entry {
            dn,
            kind,
            id,
            attrs: Vec::with_capacity(20),
        }
    }

    fn put(&mut self, t: &'static AttrType, vals: Vec<String>) {
        if !vals.is_empty() {
            self.attrs.push((Attr::Known(t), Vals::Own(vals)));
        }
    }

    fn put_vals(&mut self, t: &'static AttrType, vals: Vals) {
        if !vals.is_empty() {
            self.attrs.push((Attr::Known(t), vals));
        }
    }

    fn put_one(&mut self, t: &'static AttrType, v: impl Into<String>) {
        self.attrs.push((Attr::Known(t), Vals::Own(vec![v.into()])));
    }

    fn put_opt(&mut self, t: &'static AttrType, v: Option<&String>) {
        if let Some(v) = v {
            self.put_one(t, v.clone());
        }
    }

    /// The values of an attribute, if the entry has it.
    pub(crate) fn values(&self, a: &Attr) -> Option<&[String]> {
        self.attrs.iter().find(|(k, _)| k.is(a)).map(|(_, v)| &**v)
    }

    /// The values of a schema attribute, if the entry has it.
    #[cfg(test)]
    pub(crate) fn known(&self, t: &'static AttrType) -> Option<&[String]> {
        self.attrs
            .iter()
            .find(|(k, _)| k.is_known(t))
            .map(|(_, v)| &**v)
    }

    fn put_operational(&mut self, leaf: bool) {
        let dn = self.dn.clone();
        self.put_one(&schema::ENTRY_DN, dn);
        self.put_one(&schema::SUBSCHEMA_SUBENTRY, SUBSCHEMA_DN);
        self.put_one(
            &schema::HAS_SUBORDINATES,
            if leaf { "FALSE" } else { "TRUE" },
        );
    }

    fn times(&mut self, created: Timestamp, modified: Timestamp) {
        self.put_one(&schema::CREATE_TIMESTAMP, generalized(created));
        self.put_one(&schema::MODIFY_TIMESTAMP, generalized(modified));
    }
}

/// A timestamp as GeneralizedTime (`20260101000000Z`).
pub(crate) fn generalized(t: Timestamp) -> String {
    let c = t.civil();
    let Ok(year @ 0..=9999) = u16::try_from(c.year) else {
        return format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
    };
    // Written digit by digit: every entry carries two of these, and `format!` is most of the
    // cost of building one.
    let mut out = String::with_capacity(15);
    let [hi, lo] = [(year / 100) as u8, (year % 100) as u8];
    for two in [hi, lo, c.month, c.day, c.hour, c.minute, c.second] {
        out.push(char::from(b'0' + two / 10 % 10));
        out.push(char::from(b'0' + two % 10));
    }
    out.push('Z');
    out
}

/// The object classes of a user: inetOrgPerson and its superclasses, plus posixAccount,
/// ldapPublicKey and extensibleObject when the user has what they describe.
pub(crate) fn user_classes(u: &User) -> Vec<String> {
    let mut c: Vec<String> = ["top", "person", "organizationalPerson", "inetOrgPerson"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if u.posix.is_some() {
        c.push("posixAccount".into());
    }
    if !u.ssh_keys.is_empty() {
        c.push("ldapPublicKey".into());
    }
    if !u.custom.is_empty() {
        c.push("extensibleObject".into());
    }
    c
}

/// The object classes of every group.
pub(crate) const GROUP_CLASSES: [&str; 3] = ["top", "groupOfNames", "posixGroup"];

/// A user's entry. `member_of` is given when the search needs it (the DNs of the groups the
/// user is in — directly, or all of them when the tenant flattens nesting).
pub(crate) fn user(dit: &Dit, slug: &str, u: &User, member_of: Option<Vec<String>>) -> Entry {
    let mut e = Entry::new(
        dit.user_dn(slug, &u.username),
        kinds::USER,
        Some(EntryRef::User(u.tenant, u.id)),
    );
    e.put(&schema::OBJECT_CLASS, user_classes(u));
    e.put_one(&schema::UID, u.username.clone());
    let shown = u.shown_name();
    e.put_one(&schema::CN, shown.clone());
    // person requires sn: the username stands in when the family name is unknown.
    e.put_one(
        &schema::SN,
        u.family_name.clone().unwrap_or_else(|| u.username.clone()),
    );
    e.put_opt(&schema::GIVEN_NAME, u.given_name.as_ref());
    e.put_one(&schema::DISPLAY_NAME, shown);
    e.put_opt(&schema::MAIL, u.email.as_ref());
    e.put_opt(&schema::TELEPHONE_NUMBER, u.phone.as_ref());
    if let Some(p) = &u.posix {
        e.put_one(&schema::UID_NUMBER, p.uid_number.to_string());
        e.put_one(&schema::GID_NUMBER, p.gid_number.to_string());
        e.put_one(&schema::HOME_DIRECTORY, p.home.clone());
        e.put_one(&schema::LOGIN_SHELL, p.shell.clone());
    }
    e.put(&schema::SSH_PUBLIC_KEY, u.ssh_keys.clone());
    if let Some(m) = member_of {
        e.put(&schema::MEMBER_OF, m);
    }
    for (name, vals) in &u.custom {
        // A custom attribute never shadows a schema attribute.
        if schema::attr(name).is_none() && !vals.is_empty() {
            e.attrs
                .push((Attr::Custom(name.clone()), Vals::Own(vals.clone())));
        }
    }
    e.put_one(&schema::ENTRY_UUID, u.id.uuid().hyphenated().to_string());
    e.times(u.created_at, u.updated_at);
    e.put_operational(true);
    e
}

/// The members of a group as the entry shows them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Members {
    /// `member`: DNs of users and groups.
    pub(crate) dns: Vals,
    /// `memberUid`: usernames of the user members.
    pub(crate) uids: Vals,
}

/// A group's entry. `members` and `member_of` are given when the search needs them.
pub(crate) fn group(
    dit: &Dit,
    slug: &str,
    g: &Group,
    members: Option<Members>,
    member_of: Option<Vec<String>>,
) -> Entry {
    let mut e = Entry::new(
        dit.group_dn(slug, &g.name),
        kinds::GROUP,
        Some(EntryRef::Group(g.tenant, g.id)),
    );
    e.put(
        &schema::OBJECT_CLASS,
        GROUP_CLASSES.iter().map(|s| s.to_string()).collect(),
    );
    e.put_one(&schema::CN, g.name.clone());
    e.put_opt(&schema::DESCRIPTION, g.description.as_ref());
    e.put_one(&schema::GID_NUMBER, g.gid_number.to_string());
    if let Some(m) = members {
        e.put_vals(&schema::MEMBER, m.dns);
        e.put_vals(&schema::MEMBER_UID, m.uids);
    }
    if let Some(m) = member_of {
        e.put(&schema::MEMBER_OF, m);
    }
    e.put_one(&schema::ENTRY_UUID, g.id.uuid().hyphenated().to_string());
    e.times(g.created_at, g.updated_at);
    e.put_operational(true);
    e
}

/// A tenant's entry: an organization named by its slug.
pub(crate) fn tenant(dit: &Dit, t: &Tenant) -> Entry {
    let mut e = Entry::new(
        dit.tenant_dn(&t.slug),
        kinds::TENANT,
        Some(EntryRef::Tenant(t.id)),
    );
    e.put(
        &schema::OBJECT_CLASS,
        vec!["top".into(), "organization".into()],
    );
    e.put_one(&schema::ORG, t.slug.clone());
    e.put_one(&schema::DESCRIPTION, t.name.clone());
    e.put_one(&schema::BUSINESS_CATEGORY, t.kind.as_str());
    e.put_one(&schema::ENTRY_UUID, t.id.uuid().hyphenated().to_string());
    e.times(t.created_at, t.updated_at);
    e.put_operational(false);
    e
}

/// One of a tenant's containers.
pub(crate) fn ou(dit: &Dit, t: &Tenant, ou: Ou) -> Entry {
    let mut e = Entry::new(dit.ou_dn(&t.slug, ou), kinds::OU, None);
    e.put(
        &schema::OBJECT_CLASS,
        vec!["top".into(), "organizationalUnit".into()],
    );
    e.put_one(&schema::ORG_UNIT, ou.name());
    e.times(t.created_at, t.updated_at);
    e.put_operational(false);
    e
}

/// The suffix entry.
pub(crate) fn suffix(dit: &Dit) -> Entry {
    let mut e = Entry::new(dit.suffix().to_string(), kinds::SUFFIX, None);
    match dit.suffix_rdn() {
        Some(a) if a.ty == "dc" => {
            e.put(
                &schema::OBJECT_CLASS,
                vec!["top".into(), "dcObject".into(), "organization".into()],
            );
            e.put_one(&schema::DC, a.value.clone());
            e.put_one(&schema::ORG, a.value.clone());
        }
        Some(a) if a.ty == "o" => {
            e.put(
                &schema::OBJECT_CLASS,
                vec!["top".into(), "organization".into()],
            );
            e.put_one(&schema::ORG, a.value.clone());
        }
        Some(a) => {
            e.put(
                &schema::OBJECT_CLASS,
                vec!["top".into(), "extensibleObject".into()],
            );
            e.attrs
                .push((Attr::named(&a.ty), Vals::Own(vec![a.value.clone()])));
        }
        None => e.put_one(&schema::OBJECT_CLASS, "top"),
    }
    e.put_operational(false);
    e
}

/// OIDs of what the server supports.
pub(crate) mod oid {
    pub(crate) const START_TLS: &str = "1.3.6.1.4.1.1466.20037";
    pub(crate) const WHO_AM_I: &str = "1.3.6.1.4.1.4203.1.11.3";
    pub(crate) const PASSWORD_MODIFY: &str = "1.3.6.1.4.1.4203.1.11.1";
    pub(crate) const PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";
    pub(crate) const MANAGE_DSA_IT: &str = "2.16.840.1.113730.3.4.2";
    pub(crate) const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";
    pub(crate) const BIT_AND: &str = "1.2.840.113556.1.4.803";
    pub(crate) const BIT_OR: &str = "1.2.840.113556.1.4.804";
    /// All operational attributes with `+` (RFC 3673).
    pub(crate) const ALL_OPERATIONAL: &str = "1.3.6.1.4.1.4203.1.5.1";
    /// Absolute true and false filters (RFC 4526).
    pub(crate) const TRUE_FALSE_FILTERS: &str = "1.3.6.1.4.1.4203.1.5.3";
}

/// The root DSE. StartTLS is listed only where it can be used now.
pub(crate) fn root_dse(dit: &Dit, starttls: bool) -> Entry {
    let mut e = Entry::new(String::new(), kinds::DSE, None);
    e.put(
        &schema::OBJECT_CLASS,
        vec!["top".into(), "extensibleObject".into()],
    );
    e.put_one(&schema::NAMING_CONTEXTS, dit.suffix());
    e.put_one(&schema::SUPPORTED_LDAP_VERSION, "3");
    let mut ext = Vec::new();
    if starttls {
        ext.push(oid::START_TLS.to_string());
    }
    ext.push(oid::WHO_AM_I.to_string());
    ext.push(oid::PASSWORD_MODIFY.to_string());
    e.put(&schema::SUPPORTED_EXTENSION, ext);
    e.put(
        &schema::SUPPORTED_CONTROL,
        vec![oid::PAGED_RESULTS.into(), oid::MANAGE_DSA_IT.into()],
    );
    e.put(
        &schema::SUPPORTED_FEATURES,
        vec![oid::ALL_OPERATIONAL.into(), oid::TRUE_FALSE_FILTERS.into()],
    );
    e.put_one(&schema::SUBSCHEMA_SUBENTRY, SUBSCHEMA_DN);
    e.put_one(&schema::VENDOR_NAME, "Tessera");
    e.put_one(&schema::VENDOR_VERSION, env!("CARGO_PKG_VERSION"));
    e
}

/// The subschema entry: every attribute type and object class served.
pub(crate) fn subschema() -> Entry {
    let mut e = Entry::new(SUBSCHEMA_DN.to_string(), kinds::DSE, None);
    e.put(
        &schema::OBJECT_CLASS,
        vec!["top".into(), "subschema".into()],
    );
    e.put_one(&schema::CN, "Subschema");
    e.put(
        &schema::ATTRIBUTE_TYPES,
        schema::attribute_type_descriptions(),
    );
    e.put(&schema::OBJECT_CLASSES, schema::object_class_descriptions());
    e
}

/// The attributes a search asked for.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// `*`, or no list at all: every user attribute.
    user: bool,
    /// `+`: every operational attribute.
    operational: bool,
    /// Attributes asked for by name.
    named: Vec<Attr>,
}

impl Selection {
    /// The selection of a search request's attribute list.
    pub(crate) fn parse(attrs: &[String]) -> Selection {
        let mut s = Selection {
            user: attrs.is_empty(),
            operational: false,
            named: Vec::new(),
        };
        for a in attrs {
            match a.trim() {
                "*" => s.user = true,
                "+" => s.operational = true,
                "1.1" | "" => {}
                // `@objectClass` (RFC 4529): the attributes of a class, here: all of its
                // entries' user attributes.
                n if n.starts_with('@') => s.user = true,
                n => {
                    // An attribute description may carry options (`cn;lang-en`): served
                    // values have none, so the base type is meant.
                    let base = n.split(';').next().unwrap_or(n);
                    s.named.push(Attr::named(base));
                }
            }
        }
        s
    }

    /// Whether an attribute of an entry of `kind` is returned.
    fn wants(&self, a: &Attr, kind: u8) -> bool {
        if self.named.iter().any(|n| n.is(a)) {
            return true;
        }
        if kind == kinds::DSE {
            // The root DSE and the subschema answer `*` with everything they hold, as most
            // servers' clients expect.
            return self.user || self.operational;
        }
        if a.operational() {
            self.operational
        } else {
            self.user
        }
    }

    /// Whether a schema attribute is returned from entries of `kind`.
    pub(crate) fn wants_known(&self, t: &'static AttrType, kind: u8) -> bool {
        self.wants(&Attr::Known(t), kind)
    }
}

/// The entry as a SearchResultEntry with the selected attributes (only their types with
/// `types_only`).
pub(crate) fn to_wire(e: Entry, sel: &Selection, types_only: bool) -> WireEntry {
    let kind = e.kind;
    let attrs = e
        .attrs
        .into_iter()
        .filter(|(a, _)| sel.wants(a, kind))
        .map(|(a, vals)| {
            if types_only {
                (a, Vals::default())
            } else {
                (a, vals)
            }
        })
        .collect();
    WireEntry { dn: e.dn, attrs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::model::{Posix, Status, UserKind};
    use uuid::Uuid;

    fn alice() -> User {
        User {
            id: UserId::from_uuid(Uuid::from_u128(1)),
            tenant: TenantId::from_uuid(Uuid::from_u128(2)),
            username: "alice".into(),
            kind: UserKind::Person,
            status: Status::Active,
            email: Some("alice@contoso.example".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Archer".into()),
            display_name: None,
            phone: None,
            posix: Some(Posix {
                uid_number: 10001,
                gid_number: 10001,
                home: "/home/alice".into(),
                shell: "/bin/bash".into(),
            }),
            ssh_keys: vec!["ssh-ed25519 AAAA alice".into()],
            custom: [("roomNumber".to_string(), vec!["12".to_string()])].into(),
            created_at: Timestamp::from_secs(1_767_225_600),
            updated_at: Timestamp::from_secs(1_767_225_601),
        }
    }

    fn names(e: &WireEntry) -> Vec<&str> {
        e.attrs.iter().map(|(a, _)| a.name()).collect()
    }

    #[test]
    fn a_user_is_an_inet_org_person_with_posix_and_keys() {
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        let e = user(
            &dit,
            "contoso",
            &alice(),
            Some(vec![
                "cn=staff,ou=Groups,o=contoso,dc=tessera,dc=local".into()
            ]),
        );
        assert_eq!(e.dn, "uid=alice,ou=Users,o=contoso,dc=tessera,dc=local");
        let w = to_wire(e.clone(), &Selection::parse(&[]), false);
        assert_eq!(
            names(&w),
            [
                "objectClass",
                "uid",
                "cn",
                "sn",
                "givenName",
                "displayName",
                "mail",
                "uidNumber",
                "gidNumber",
                "homeDirectory",
                "loginShell",
                "sshPublicKey",
                "memberOf",
                "roomNumber"
            ]
        );
        let classes = e.known(&schema::OBJECT_CLASS).unwrap();
        assert!(
            classes.contains(&"posixAccount".to_string())
                && classes.contains(&"ldapPublicKey".to_string())
        );
        assert_eq!(e.known(&schema::CN).unwrap(), ["Alice Archer"]);
        assert_eq!(
            e.known(&schema::CREATE_TIMESTAMP).unwrap(),
            ["20260101000000Z"]
        );
        let op = to_wire(e.clone(), &Selection::parse(&["+".into()]), false);
        assert_eq!(
            names(&op),
            [
                "entryUUID",
                "createTimestamp",
                "modifyTimestamp",
                "entryDN",
                "subschemaSubentry",
                "hasSubordinates"
            ]
        );
        let none = to_wire(e.clone(), &Selection::parse(&["1.1".into()]), false);
        assert!(none.attrs.is_empty());
        let some = to_wire(
            e.clone(),
            &Selection::parse(&["MAIL".into(), "entryuuid".into(), "userPassword".into()]),
            true,
        );
        assert_eq!(names(&some), ["mail", "entryUUID"]);
        assert!(some.attrs.iter().all(|(_, v)| v.is_empty()));
        // Nothing that looks like password material, ever.
        let all = to_wire(
            e,
            &Selection::parse(&["*".into(), "+".into(), "userPassword".into()]),
            false,
        );
        assert!(!names(&all)
            .iter()
            .any(|n| n.to_ascii_lowercase().contains("password")));
    }

    #[test]
    fn generalized_time() {
        assert_eq!(generalized(Timestamp::from_secs(0)), "19700101000000Z");
        assert_eq!(
            generalized(Timestamp(1_767_225_600_123_456)),
            "20260101000000Z"
        );
        // Every field's digits in place, against the RFC 3339 form.
        let t = Timestamp(1_798_761_599_999_999);
        assert_eq!(t.to_rfc3339(), "2026-12-31T23:59:59.999999Z");
        assert_eq!(generalized(t), "20261231235959Z");
        assert_eq!(generalized(Timestamp::from_secs(-1)), "19691231235959Z");
        assert_eq!(
            generalized(Timestamp::from_secs(253_402_300_800)),
            "100000101000000Z"
        );
    }

    #[test]
    fn dses_answer_star_with_everything() {
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        let w = to_wire(root_dse(&dit, true), &Selection::parse(&[]), false);
        assert!(names(&w).contains(&"namingContexts"));
        assert!(names(&w).contains(&"supportedExtension"));
        let w = to_wire(
            subschema(),
            &Selection::parse(&["objectClasses".into()]),
            false,
        );
        assert_eq!(names(&w), ["objectClasses"]);
        let s = suffix(&dit);
        assert_eq!(s.known(&schema::DC).unwrap(), ["tessera"]);
    }
}
