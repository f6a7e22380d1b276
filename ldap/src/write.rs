//! Writes over LDAP, through the directory's services (so RBAC, policy and audit apply): adding
//! and deleting users and groups, modifying their attributes (member and memberUid become
//! membership changes, userPassword goes through the password policy, posixAccount with a
//! uidNumber makes a user a POSIX account later), renaming with modrdn,
//! and the Password Modify extended operation. It checks the schema the frontend serves and
//! turns a violation into objectClassViolation / constraintViolation with a readable message;
//! whether the caller may write is the services' decision. Runs on a blocking thread.

use crate::dn::{self, Ou, Place, Target};
use crate::entry::{self, Attr};
use crate::error::LdapError;
use crate::filter::{self, Value};
use crate::schema::{self, kinds, Rule};
use crate::search;
use crate::session::Bound;
use crate::Ctx;
use ldap3_proto::proto::{
    LdapAddRequest, LdapModifyDNRequest, LdapModifyRequest, LdapModifyType, LdapPartialAttribute,
    LdapPasswordModifyRequest, LdapResultCode,
};
use std::collections::{BTreeMap, BTreeSet};
use tessera_directory::clock::IdSource;
use tessera_directory::model::{
    Group, GroupPatch, Member, NewGroup, NewPosix, NewUser, Posix, TenantId, User, UserId,
    UserPatch,
};
use tessera_directory::{Actor, Error as DirError};

/// Where a DN must name an existing entry: noSuchObject (with matchedDN) otherwise.
fn target(ctx: &Ctx, actor: &Actor, dn: &str) -> Result<Target, LdapError> {
    match ctx.dit.locate(dn) {
        Err(e) => Err(LdapError::new(LdapResultCode::InvalidDNSyntax, e.0)),
        Ok(Place::Outside) => Err(LdapError::no_such_object()),
        Ok(Place::Below(t)) => {
            Err(LdapError::no_such_object().with_matched(search::matched(ctx, *actor, &t)?))
        }
        Ok(Place::Entry(t)) => Ok(t),
    }
}

/// The tenant a slug names, for a caller who holds some right there.
fn tenant(ctx: &Ctx, actor: &Actor, slug: &str) -> Result<TenantId, LdapError> {
    match ctx.dir.tenants().resolve(actor, slug) {
        Ok(t) => Ok(t),
        Err(DirError::NotFound) => {
            Err(LdapError::no_such_object().with_matched(ctx.dit.suffix().to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn user(ctx: &Ctx, actor: &Actor, t: TenantId, slug: &str, name: &str) -> Result<User, LdapError> {
    match ctx.dir.users().by_username(actor, t, name) {
        Ok(u) => Ok(u),
        Err(DirError::NotFound) => Err(LdapError::no_such_object().with_matched(search::matched(
            ctx,
            *actor,
            &Target::Ou(slug.into(), Ou::Users),
        )?)),
        Err(e) => Err(e.into()),
    }
}

fn group(
    ctx: &Ctx,
    actor: &Actor,
    t: TenantId,
    slug: &str,
    name: &str,
) -> Result<Group, LdapError> {
    match ctx.dir.groups().by_name(actor, t, name) {
        Ok(g) => Ok(g),
        Err(DirError::NotFound) => Err(LdapError::no_such_object().with_matched(search::matched(
            ctx,
            *actor,
            &Target::Ou(slug.into(), Ou::Groups),
        )?)),
        Err(e) => Err(e.into()),
    }
}

/// A refusal of a write to something the caller can see: not "missing", but not allowed.
fn denied(e: DirError) -> LdapError {
    match e {
        DirError::NotFound | DirError::Forbidden => {
            LdapError::insufficient("insufficient access rights")
        }
        e => e.into(),
    }
}

fn structural() -> LdapError {
    LdapError::unwilling(
        "tenants and their containers are managed through the admin API; only users and groups \
         are written over LDAP",
    )
}

/// An attribute of a request with its values as text.
fn values(a: &LdapPartialAttribute) -> Result<(Attr, Vec<String>), LdapError> {
    let base = a.atype.split(';').next().unwrap_or(&a.atype).trim();
    if base.is_empty() {
        return Err(LdapError::protocol("an attribute without a type"));
    }
    let vals = a
        .vals
        .iter()
        .map(|v| String::from_utf8(v.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            LdapError::new(
                LdapResultCode::InvalidAttributeSyntax,
                format!("{}: values must be UTF-8", a.atype),
            )
        })?;
    Ok((Attr::named(base), vals))
}

fn rule_of(a: &Attr) -> Rule {
    match a {
        Attr::Known(t) => t.rule,
        Attr::Custom(_) => Rule::CaseIgnore,
    }
}

fn same(a: &Attr, x: &str, y: &str) -> bool {
    let r = rule_of(a);
    match (filter::normalize(r, x), filter::normalize(r, y)) {
        (Value::Invalid, _) | (_, Value::Invalid) => x == y,
        (p, q) => p == q,
    }
}

/// An attribute list being edited, by lower-case attribute name.
#[derive(Debug, Clone, Default)]
struct Attrs(BTreeMap<String, (Attr, Vec<String>)>);

fn key(a: &Attr) -> String {
    a.name().to_ascii_lowercase()
}

impl Attrs {
    fn of(list: Vec<(Attr, entry::Vals)>) -> Attrs {
        let mut out = Attrs::default();
        for (a, v) in list {
            out.slot(&a).extend(v.into_vec());
        }
        out
    }

    fn iter(&self) -> impl Iterator<Item = &(Attr, Vec<String>)> {
        self.0.values()
    }

    fn get(&self, a: &Attr) -> &[String] {
        self.0.get(&key(a)).map_or(&[], |(_, v)| v.as_slice())
    }

    fn known(&self, t: &'static schema::AttrType) -> &[String] {
        self.get(&Attr::Known(t))
    }

    fn slot(&mut self, a: &Attr) -> &mut Vec<String> {
        &mut self
            .0
            .entry(key(a))
            .or_insert_with(|| (a.clone(), Vec::new()))
            .1
    }

    fn add(&mut self, a: &Attr, vals: Vec<String>) -> Result<(), LdapError> {
        if vals.is_empty() {
            return Err(LdapError::protocol("an add of no values"));
        }
        let slot = self.slot(a);
        for v in vals {
            if slot.iter().any(|x| same(a, x, &v)) {
                return Err(LdapError::new(
                    LdapResultCode::AttributeOrValueExists,
                    format!("{}: the value is already there", a.name()),
                ));
            }
            slot.push(v);
        }
        Ok(())
    }

    fn delete(&mut self, a: &Attr, vals: Vec<String>) -> Result<(), LdapError> {
        let slot = self.slot(a);
        let missing = || {
            LdapError::new(
                LdapResultCode::NoSuchAttribute,
                format!("{}: no such value", a.name()),
            )
        };
        if vals.is_empty() {
            if slot.is_empty() {
                return Err(missing());
            }
            slot.clear();
            return Ok(());
        }
        for v in vals {
            let i = slot
                .iter()
                .position(|x| same(a, x, &v))
                .ok_or_else(missing)?;
            slot.remove(i);
        }
        Ok(())
    }

    fn replace(&mut self, a: &Attr, vals: Vec<String>) {
        *self.slot(a) = vals;
    }

    fn apply(&mut self, a: &Attr, op: &LdapModifyType, vals: Vec<String>) -> Result<(), LdapError> {
        match op {
            LdapModifyType::Add => self.add(a, vals),
            LdapModifyType::Delete => self.delete(a, vals),
            LdapModifyType::Replace => {
                self.replace(a, vals);
                Ok(())
            }
            LdapModifyType::Increment => {
                Err(LdapError::unwilling("modify-increment is not supported"))
            }
        }
    }
}

/// At most one value; exactly one when `required`.
fn single(
    t: &'static schema::AttrType,
    vals: &[String],
    required: bool,
) -> Result<Option<String>, LdapError> {
    match vals {
        [] if required => Err(LdapError::object_class(format!(
            "attribute '{}' is required",
            t.name
        ))),
        [] => Ok(None),
        [v] => Ok(Some(v.clone())),
        _ => Err(LdapError::constraint(format!(
            "attribute '{}' holds one value",
            t.name
        ))),
    }
}

fn number(t: &'static schema::AttrType, v: &str) -> Result<u32, LdapError> {
    v.trim().parse::<u32>().map_err(|_| {
        LdapError::new(
            LdapResultCode::InvalidAttributeSyntax,
            format!("{}: {v:?} is not a number", t.name),
        )
    })
}

/// Refuses attributes a client may not write or that a kind of entry does not hold.
fn writable(a: &Attr, kind: u8, what: &str) -> Result<(), LdapError> {
    if let Attr::Known(t) = a {
        if t.no_user_mod {
            return Err(LdapError::constraint(format!(
                "attribute '{}' is maintained by the server{}",
                t.name,
                if std::ptr::eq(*t, &schema::MEMBER_OF) {
                    ": change the group's member attribute instead"
                } else {
                    ""
                }
            )));
        }
        if t.on & kind == 0 && !std::ptr::eq(*t, &schema::USER_PASSWORD) {
            return Err(LdapError::object_class(format!(
                "attribute '{}' is not allowed in {what} entry",
                t.name
            )));
        }
    }
    Ok(())
}

/// A `{SCHEME}…` value: a hash from another server, which cannot be imported.
fn hashed(pw: &str) -> bool {
    pw.strip_prefix('{')
        .and_then(|r| r.split_once('}'))
        .is_some_and(|(s, _)| {
            !s.is_empty()
                && s.len() <= 16
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn plain_password(vals: &[String]) -> Result<String, LdapError> {
    match vals {
        [p] if hashed(p) => Err(LdapError::unwilling(
            "hashed passwords cannot be imported: send the password itself (over TLS)",
        )),
        [p] if p.is_empty() => Err(LdapError::constraint("userPassword: empty")),
        [p] => Ok(p.clone()),
        _ => Err(LdapError::constraint("userPassword: exactly one value")),
    }
}

/// A password change refused by the credentials service, as LDAP says it.
fn password_error(e: DirError) -> LdapError {
    match e {
        DirError::NotFound | DirError::Forbidden => LdapError::insufficient(
            "setting another user's password needs Credentials:Execute; changing your own \
             needs the old password",
        ),
        e => e.into(),
    }
}

const USER_CLASSES: [&str; 7] = [
    "top",
    "person",
    "organizationalperson",
    "inetorgperson",
    "posixaccount",
    "ldappublickey",
    "extensibleobject",
];
const GROUP_CLASSES: [&str; 3] = ["top", "groupofnames", "posixgroup"];

fn classes(vals: &[String]) -> BTreeSet<String> {
    vals.iter()
        .map(|c| {
            let c = c.trim();
            schema::class(c).map_or_else(|| c.to_ascii_lowercase(), |k| k.name.to_ascii_lowercase())
        })
        .collect()
}

// ---- add ------------------------------------------------------------------------------

/// Adds a user or a group.
pub(crate) fn add(ctx: &Ctx, actor: &Actor, req: &LdapAddRequest) -> Result<(), LdapError> {
    let place = ctx
        .dit
        .locate(&req.dn)
        .map_err(|e| LdapError::new(LdapResultCode::InvalidDNSyntax, e.0))?;
    let t = match place {
        Place::Outside => return Err(LdapError::no_such_object()),
        Place::Below(t) => {
            return Err(LdapError::no_such_object().with_matched(search::matched(ctx, *actor, &t)?))
        }
        Place::Entry(t) => t,
    };
    let mut attrs = Attrs::default();
    for a in &req.attributes {
        let (attr, vals) = values(a)?;
        if vals.is_empty() {
            return Err(LdapError::protocol("an attribute without values"));
        }
        attrs.slot(&attr).extend(vals);
    }
    match &t {
        Target::User(slug, name) => add_user(ctx, actor, slug, name, &attrs),
        Target::Group(slug, name) => add_group(ctx, actor, slug, name, &attrs),
        Target::Suffix | Target::Tenant(_) | Target::Ou(..) => match search::fetch(ctx, *actor, &t)
        {
            Ok(_) => Err(LdapError::new(
                LdapResultCode::EntryAlreadyExists,
                "the entry already exists",
            )),
            Err(_) => Err(structural()),
        },
        Target::RootDse | Target::Subschema => {
            Err(LdapError::unwilling("not an entry of the directory"))
        }
    }
}

fn add_user(ctx: &Ctx, actor: &Actor, slug: &str, name: &str, a: &Attrs) -> Result<(), LdapError> {
    let t = tenant(ctx, actor, slug)?;
    let oc = classes(a.known(&schema::OBJECT_CLASS));
    if oc.is_empty() {
        return Err(LdapError::object_class("objectClass is required"));
    }
    if let Some(c) = oc.iter().find(|c| !USER_CLASSES.contains(&c.as_str())) {
        return Err(LdapError::object_class(format!(
            "object class '{c}' is not served for users (they are inetOrgPerson, with \
             posixAccount and ldapPublicKey)"
        )));
    }
    if !["person", "organizationalperson", "inetorgperson"]
        .iter()
        .any(|c| oc.contains(*c))
    {
        return Err(LdapError::object_class(
            "a user entry needs the structural class inetOrgPerson",
        ));
    }
    let mut new = NewUser {
        username: name.to_string(),
        ..NewUser::default()
    };
    let mut password = None;
    let posix = oc.contains("posixaccount");
    for (attr, vals) in a.iter() {
        writable(attr, kinds::USER, "a user")?;
        match attr {
            Attr::Known(t) if std::ptr::eq(*t, &schema::OBJECT_CLASS) => {}
            Attr::Known(t) if std::ptr::eq(*t, &schema::UID) => {
                if !matches!(vals.as_slice(), [v] if v.eq_ignore_ascii_case(name)) {
                    return Err(LdapError::new(
                        LdapResultCode::NamingViolation,
                        "uid must be the one value of the DN's uid",
                    ));
                }
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::CN) => {}
            Attr::Known(t) if std::ptr::eq(*t, &schema::SN) => {
                new.family_name = single(t, vals, false)?
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::GIVEN_NAME) => {
                new.given_name = single(t, vals, false)?
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::DISPLAY_NAME) => {
                new.display_name = single(t, vals, false)?
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::MAIL) => {
                new.email = single(t, vals, false)?
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::TELEPHONE_NUMBER) => {
                new.phone = single(t, vals, false)?
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::SSH_PUBLIC_KEY) => {
                new.ssh_keys = vals.clone()
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::USER_PASSWORD) => {
                password = Some(plain_password(vals)?)
            }
            Attr::Known(t)
                if [
                    &schema::UID_NUMBER,
                    &schema::GID_NUMBER,
                    &schema::HOME_DIRECTORY,
                    &schema::LOGIN_SHELL,
                ]
                .iter()
                .any(|x| std::ptr::eq(*t, *x)) =>
            {
                if !posix {
                    return Err(LdapError::object_class(format!(
                        "attribute '{}' needs the object class posixAccount",
                        t.name
                    )));
                }
                let v = single(t, vals, false)?;
                let p = new.posix.get_or_insert_with(NewPosix::default);
                match t.name {
                    "uidNumber" => p.uid_number = v.as_deref().map(|v| number(t, v)).transpose()?,
                    "gidNumber" => p.gid_number = v.as_deref().map(|v| number(t, v)).transpose()?,
                    "homeDirectory" => p.home = v,
                    _ => p.shell = v,
                }
            }
            Attr::Known(t) => {
                return Err(LdapError::object_class(format!(
                    "attribute '{}' is not held for users",
                    t.name
                )))
            }
            Attr::Custom(n) => {
                new.custom.insert(n.clone(), vals.clone());
            }
        }
    }
    if posix && new.posix.is_none() {
        new.posix = Some(NewPosix::default());
    }
    if new.family_name.is_none() {
        return Err(LdapError::object_class(
            "object class 'person' requires attribute 'sn'",
        ));
    }
    let cn = single(&schema::CN, a.known(&schema::CN), true)
        .map_err(|_| LdapError::object_class("object class 'person' requires one value of 'cn'"))?
        .unwrap_or_default();
    if new.display_name.is_none() {
        let composed = match (&new.given_name, &new.family_name) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            (None, Some(f)) => f.clone(),
            _ => String::new(),
        };
        if dn::normalize_value(&composed) != dn::normalize_value(&cn) {
            new.display_name = Some(cn);
        }
    }
    let u = ctx.dir.users().create(actor, t, new).map_err(denied)?;
    if let Some(pw) = password {
        if let Err(e) = ctx
            .dir
            .credentials()
            .set_password(actor, t, u.id, &pw, false)
        {
            // One add, one outcome: the user does not stay without the password asked for.
            if let Err(undo) = ctx.dir.users().delete(actor, t, u.id) {
                tracing::warn!(error = %undo, user = %u.username, "undoing an LDAP add failed");
            }
            return Err(password_error(e));
        }
    }
    Ok(())
}

/// Resolves `member` DNs and `memberUid` names to members of tenant `t`.
fn resolve_members(
    ctx: &Ctx,
    actor: &Actor,
    t: TenantId,
    slug: &str,
    dns: &[String],
    uids: &[String],
) -> Result<BTreeSet<Member>, LdapError> {
    let mut out = BTreeSet::new();
    let not_member = |what: &str| {
        LdapError::constraint(format!(
            "member {what:?} is not a user or group of this tenant"
        ))
    };
    for d in dns {
        let m = match ctx.dit.locate(d) {
            Ok(Place::Entry(Target::User(s, n))) if s == slug => ctx
                .dir
                .users()
                .by_username(actor, t, &n)
                .map(|u| Member::User(u.id)),
            Ok(Place::Entry(Target::Group(s, n))) if s == slug => ctx
                .dir
                .groups()
                .by_name(actor, t, &n)
                .map(|g| Member::Group(g.id)),
            Err(_) => {
                return Err(LdapError::new(
                    LdapResultCode::InvalidAttributeSyntax,
                    format!("member {d:?} is not a DN"),
                ))
            }
            _ => return Err(not_member(d)),
        };
        match m {
            Ok(m) => out.insert(m),
            Err(DirError::NotFound) => return Err(not_member(d)),
            Err(e) => return Err(e.into()),
        };
    }
    for n in uids {
        match ctx.dir.users().by_username(actor, t, n) {
            Ok(u) => out.insert(Member::User(u.id)),
            Err(DirError::NotFound) => return Err(not_member(n)),
            Err(e) => return Err(e.into()),
        };
    }
    Ok(out)
}

fn add_group(ctx: &Ctx, actor: &Actor, slug: &str, name: &str, a: &Attrs) -> Result<(), LdapError> {
    let t = tenant(ctx, actor, slug)?;
    let oc = classes(a.known(&schema::OBJECT_CLASS));
    if let Some(c) = oc.iter().find(|c| !GROUP_CLASSES.contains(&c.as_str())) {
        return Err(LdapError::object_class(format!(
            "object class '{c}' is not served for groups (they are groupOfNames and posixGroup)"
        )));
    }
    if !oc.contains("groupofnames") && !oc.contains("posixgroup") {
        return Err(LdapError::object_class(
            "a group entry needs the object class groupOfNames or posixGroup",
        ));
    }
    let mut new = NewGroup {
        name: name.to_string(),
        ..NewGroup::default()
    };
    for (attr, vals) in a.iter() {
        writable(attr, kinds::GROUP, "a group")?;
        match attr {
            Attr::Known(t) if std::ptr::eq(*t, &schema::OBJECT_CLASS) => {}
            Attr::Known(t) if std::ptr::eq(*t, &schema::CN) => {
                if !matches!(vals.as_slice(), [v] if dn::normalize_value(v) == dn::normalize_value(name))
                {
                    return Err(LdapError::new(
                        LdapResultCode::NamingViolation,
                        "cn must be the one value of the DN's cn",
                    ));
                }
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::DESCRIPTION) => {
                new.description = single(t, vals, false)?
            }
            Attr::Known(t) if std::ptr::eq(*t, &schema::GID_NUMBER) => {
                new.gid_number = single(t, vals, false)?
                    .as_deref()
                    .map(|v| number(t, v))
                    .transpose()?
            }
            Attr::Known(t)
                if std::ptr::eq(*t, &schema::MEMBER) || std::ptr::eq(*t, &schema::MEMBER_UID) => {}
            Attr::Known(t) => {
                return Err(LdapError::object_class(format!(
                    "attribute '{}' is not held for groups",
                    t.name
                )))
            }
            Attr::Custom(n) => {
                return Err(LdapError::new(
                    LdapResultCode::UndefinedAttributeType,
                    format!("attribute '{n}' is not in the schema"),
                ))
            }
        }
    }
    let members = resolve_members(
        ctx,
        actor,
        t,
        slug,
        a.known(&schema::MEMBER),
        a.known(&schema::MEMBER_UID),
    )?;
    let g = ctx.dir.groups().create(actor, t, new).map_err(denied)?;
    for m in members {
        if let Err(e) = ctx.dir.groups().add_member(actor, t, g.id, m) {
            if let Err(undo) = ctx.dir.groups().delete(actor, t, g.id) {
                tracing::warn!(error = %undo, group = %g.name, "undoing an LDAP add failed");
            }
            return Err(denied(e));
        }
    }
    Ok(())
}

// ---- delete ---------------------------------------------------------------------------

/// Deletes a user or a group.
pub(crate) fn delete(ctx: &Ctx, actor: &Actor, dn: &str) -> Result<(), LdapError> {
    let t = target(ctx, actor, dn)?;
    match t.clone() {
        Target::User(slug, name) => {
            let t = tenant(ctx, actor, &slug)?;
            let u = user(ctx, actor, t, &slug, &name)?;
            ctx.dir.users().delete(actor, t, u.id).map_err(denied)
        }
        Target::Group(slug, name) => {
            let t = tenant(ctx, actor, &slug)?;
            let g = group(ctx, actor, t, &slug, &name)?;
            ctx.dir.groups().delete(actor, t, g.id).map_err(denied)
        }
        Target::Suffix | Target::Tenant(_) | Target::Ou(..) => {
            search::fetch(ctx, *actor, &t)?;
            Err(structural())
        }
        Target::RootDse | Target::Subschema => {
            Err(LdapError::unwilling("not an entry of the directory"))
        }
    }
}

// ---- modify ---------------------------------------------------------------------------

/// How a modify changes userPassword.
enum PasswordChange {
    /// Replace (an administrator's reset).
    Set(String),
    /// Delete the old value, add the new one (a user's own change).
    Change { old: String, new: String },
}

fn password_change(ops: &[PasswordEdit]) -> Result<Option<PasswordChange>, LdapError> {
    let shape = || {
        LdapError::unwilling(
            "userPassword: replace it with one value, or delete the old value and add the new one",
        )
    };
    match ops {
        [] => Ok(None),
        [(LdapModifyType::Replace | LdapModifyType::Add, v)] => {
            Ok(Some(PasswordChange::Set(plain_password(v)?)))
        }
        [(LdapModifyType::Delete, old), (LdapModifyType::Add, new)] => {
            let old = match old.as_slice() {
                [o] => o.clone(),
                _ => return Err(shape()),
            };
            Ok(Some(PasswordChange::Change {
                old,
                new: plain_password(new)?,
            }))
        }
        _ => Err(shape()),
    }
}

/// One change of a modify.
type Edit = (Attr, LdapModifyType, Vec<String>);
/// One change of userPassword.
type PasswordEdit = (LdapModifyType, Vec<String>);

/// Splits a modify's changes into attribute edits and userPassword edits.
fn split(req: &LdapModifyRequest) -> Result<(Vec<Edit>, Vec<PasswordEdit>), LdapError> {
    let mut edits = Vec::new();
    let mut pw = Vec::new();
    for c in &req.changes {
        let (attr, vals) = values(&c.modification)?;
        if attr.is_known(&schema::USER_PASSWORD) {
            pw.push((c.operation.clone(), vals));
        } else {
            edits.push((attr, c.operation.clone(), vals));
        }
    }
    Ok((edits, pw))
}

/// Modifies a user or a group.
pub(crate) fn modify(ctx: &Ctx, actor: &Actor, req: &LdapModifyRequest) -> Result<(), LdapError> {
    let (edits, pw) = split(req)?;
    let t = target(ctx, actor, &req.dn)?;
    match t.clone() {
        Target::User(slug, name) => {
            let t = tenant(ctx, actor, &slug)?;
            let u = user(ctx, actor, t, &slug, &name)?;
            modify_user(ctx, actor, t, &slug, &u, edits, &pw)
        }
        Target::Group(slug, name) => {
            if !pw.is_empty() {
                return Err(LdapError::object_class("groups have no userPassword"));
            }
            let t = tenant(ctx, actor, &slug)?;
            let g = group(ctx, actor, t, &slug, &name)?;
            modify_group(ctx, actor, t, &slug, &g, edits)
        }
        Target::Suffix | Target::Tenant(_) | Target::Ou(..) => {
            search::fetch(ctx, *actor, &t)?;
            Err(structural())
        }
        Target::RootDse | Target::Subschema => {
            Err(LdapError::unwilling("not an entry of the directory"))
        }
    }
}

fn changed(before: &Attrs, after: &Attrs, t: &'static schema::AttrType) -> bool {
    before.known(t) != after.known(t)
}

fn modify_user(
    ctx: &Ctx,
    actor: &Actor,
    t: TenantId,
    slug: &str,
    u: &User,
    edits: Vec<Edit>,
    pw: &[PasswordEdit],
) -> Result<(), LdapError> {
    let password = password_change(pw)?;
    let before = Attrs::of(entry::user(&ctx.dit, slug, u, None).attrs);
    let mut after = before.clone();
    for (attr, op, vals) in edits {
        if !attr.is_known(&schema::OBJECT_CLASS) {
            writable(&attr, kinds::USER, "a user")?;
        }
        if let Attr::Known(k) = &attr {
            if k.operational {
                return Err(LdapError::constraint(format!(
                    "attribute '{}' is maintained by the server",
                    k.name
                )));
            }
        }
        after.apply(&attr, &op, vals)?;
    }
    let mut patch = UserPatch::default();
    if changed(&before, &after, &schema::UID) {
        match after.known(&schema::UID) {
            [v] if v.eq_ignore_ascii_case(&u.username) => {}
            _ => {
                return Err(LdapError::new(
                    LdapResultCode::NotALlowedOnRDN,
                    "uid names the entry: rename it with modrdn",
                ))
            }
        }
    }
    let opt = |t: &'static schema::AttrType| single(t, after.known(t), false);
    if changed(&before, &after, &schema::SN) {
        patch.family_name = Some(opt(&schema::SN)?);
    }
    if changed(&before, &after, &schema::GIVEN_NAME) {
        patch.given_name = Some(opt(&schema::GIVEN_NAME)?);
    }
    if changed(&before, &after, &schema::MAIL) {
        patch.email = Some(opt(&schema::MAIL)?);
    }
    if changed(&before, &after, &schema::TELEPHONE_NUMBER) {
        patch.phone = Some(opt(&schema::TELEPHONE_NUMBER)?);
    }
    let display = changed(&before, &after, &schema::DISPLAY_NAME);
    if display {
        patch.display_name = Some(opt(&schema::DISPLAY_NAME)?);
    }
    if changed(&before, &after, &schema::CN) {
        let cn = single(&schema::CN, after.known(&schema::CN), true)?;
        match (&patch.display_name, cn) {
            (Some(Some(d)), Some(c)) if dn::normalize_value(d) != dn::normalize_value(&c) => {
                return Err(LdapError::constraint(
                    "cn and displayName must agree: cn is the name shown",
                ))
            }
            (Some(_), _) => {}
            (None, c) => patch.display_name = Some(c),
        }
    }
    let posix_attrs = [
        &schema::UID_NUMBER,
        &schema::GID_NUMBER,
        &schema::HOME_DIRECTORY,
        &schema::LOGIN_SHELL,
    ];
    let posix_changed = posix_attrs.iter().any(|a| changed(&before, &after, a));
    let num = |t: &'static schema::AttrType| -> Result<Option<u32>, LdapError> {
        opt(t)?.as_deref().map(|v| number(t, v)).transpose()
    };
    let posix_class = classes(after.known(&schema::OBJECT_CLASS)).contains("posixaccount");
    if u.posix.is_none() && (posix_changed || posix_class) {
        // Becoming a POSIX account, as `posixAccount` has it: uidNumber is required; the rest
        // may be left to the directory's defaults.
        patch.uid_number = Some(num(&schema::UID_NUMBER)?.ok_or_else(|| {
            LdapError::object_class(
                "posixAccount requires uidNumber (gidNumber, homeDirectory and loginShell may \
                 be left out: they default to the uidNumber, /home/<uid> and /bin/bash)",
            )
        })?);
        patch.make_posix = true;
        patch.gid_number = num(&schema::GID_NUMBER)?;
        patch.home = opt(&schema::HOME_DIRECTORY)?;
        patch.shell = opt(&schema::LOGIN_SHELL)?;
    } else if posix_changed {
        if changed(&before, &after, &schema::UID_NUMBER) {
            patch.uid_number = num(&schema::UID_NUMBER)?;
            if patch.uid_number.is_none() {
                return Err(LdapError::object_class("posixAccount requires uidNumber"));
            }
        }
        if changed(&before, &after, &schema::HOME_DIRECTORY) {
            patch.home = opt(&schema::HOME_DIRECTORY)?;
            if patch.home.is_none() {
                return Err(LdapError::object_class(
                    "posixAccount requires homeDirectory",
                ));
            }
        }
        if changed(&before, &after, &schema::LOGIN_SHELL) {
            patch.shell = opt(&schema::LOGIN_SHELL)?;
            if patch.shell.is_none() {
                return Err(LdapError::constraint("loginShell cannot be removed"));
            }
        }
        if changed(&before, &after, &schema::GID_NUMBER) {
            patch.gid_number = num(&schema::GID_NUMBER)?;
            if patch.gid_number.is_none() {
                return Err(LdapError::object_class("posixAccount requires gidNumber"));
            }
        }
    }
    if changed(&before, &after, &schema::SSH_PUBLIC_KEY) {
        patch.ssh_keys = Some(after.known(&schema::SSH_PUBLIC_KEY).to_vec());
    }
    let custom_of = |a: &Attrs| -> BTreeMap<String, Vec<String>> {
        a.iter()
            .filter_map(|(k, v)| match k {
                Attr::Custom(n) if !v.is_empty() => Some((n.clone(), v.clone())),
                _ => None,
            })
            .collect()
    };
    let custom = custom_of(&after);
    if custom != custom_of(&before) {
        patch.custom = Some(custom.clone());
    }
    if changed(&before, &after, &schema::OBJECT_CLASS) {
        // Object classes follow from the attributes: a change is accepted when it says what
        // the attributes already say.
        let mut derived = u.clone();
        if let Some(k) = &patch.ssh_keys {
            derived.ssh_keys = k.clone();
        }
        derived.custom = custom;
        if patch.make_posix && derived.posix.is_none() {
            // Only whether there is one matters to the classes.
            derived.posix = Some(Posix {
                uid_number: 0,
                gid_number: 0,
                home: String::new(),
                shell: String::new(),
            });
        }
        let want: BTreeSet<String> = classes(&entry::user_classes(&derived));
        let got = classes(after.known(&schema::OBJECT_CLASS));
        let strip = |s: BTreeSet<String>| {
            s.into_iter()
                .filter(|c| c != "top")
                .collect::<BTreeSet<_>>()
        };
        if strip(want) != strip(got) {
            return Err(LdapError::new(
                LdapResultCode::ObjectClassModsProhibited,
                "object classes follow from the attributes (posixAccount from the POSIX \
                 account, ldapPublicKey from sshPublicKey)",
            ));
        }
    }
    match password {
        Some(PasswordChange::Set(new)) => ctx
            .dir
            .credentials()
            .set_password(actor, t, u.id, &new, false)
            .map_err(password_error)?,
        Some(PasswordChange::Change { old, new }) => ctx
            .dir
            .credentials()
            .change_password(actor, t, u.id, &old, &new)
            .map_err(password_error)?,
        None => {}
    }
    if patch != UserPatch::default() {
        ctx.dir
            .users()
            .update(actor, t, u.id, patch)
            .map_err(denied)?;
    }
    Ok(())
}

/// A group's direct members, with their DNs (and usernames for users) as the entry shows them.
struct Direct {
    members: BTreeSet<Member>,
    shown: entry::Members,
}

fn direct_members(
    ctx: &Ctx,
    actor: &Actor,
    t: TenantId,
    slug: &str,
    g: &Group,
) -> Result<Direct, LdapError> {
    let members = ctx.dir.groups().members(actor, t, g.id, false)?;
    let (mut dns, mut uids) = (Vec::new(), Vec::new());
    for m in &members {
        match m {
            Member::User(id) => {
                let u = ctx.dir.users().get(actor, t, *id)?;
                dns.push(ctx.dit.user_dn(slug, &u.username));
                uids.push(u.username);
            }
            Member::Group(id) => {
                let x = ctx.dir.groups().get(actor, t, *id)?;
                dns.push(ctx.dit.group_dn(slug, &x.name));
            }
        }
    }
    Ok(Direct {
        members: members.into_iter().collect(),
        shown: entry::Members {
            dns: entry::Vals::Own(dns),
            uids: entry::Vals::Own(uids),
        },
    })
}

fn modify_group(
    ctx: &Ctx,
    actor: &Actor,
    t: TenantId,
    slug: &str,
    g: &Group,
    edits: Vec<Edit>,
) -> Result<(), LdapError> {
    let Direct { members, shown } = direct_members(ctx, actor, t, slug, g)?;
    let before = Attrs::of(entry::group(&ctx.dit, slug, g, Some(shown), None).attrs);
    let mut after = before.clone();
    for (attr, op, vals) in edits {
        if let Attr::Custom(n) = &attr {
            return Err(LdapError::new(
                LdapResultCode::UndefinedAttributeType,
                format!("attribute '{n}' is not in the schema"),
            ));
        }
        if !attr.is_known(&schema::OBJECT_CLASS) {
            writable(&attr, kinds::GROUP, "a group")?;
        }
        if let Attr::Known(k) = &attr {
            if k.operational {
                return Err(LdapError::constraint(format!(
                    "attribute '{}' is maintained by the server",
                    k.name
                )));
            }
        }
        after.apply(&attr, &op, vals)?;
    }
    if changed(&before, &after, &schema::CN) {
        return Err(LdapError::new(
            LdapResultCode::NotALlowedOnRDN,
            "cn names the entry: rename it with modrdn",
        ));
    }
    if changed(&before, &after, &schema::GID_NUMBER) {
        return Err(LdapError::unwilling("gidNumber cannot change"));
    }
    if changed(&before, &after, &schema::OBJECT_CLASS) {
        let got: BTreeSet<String> = classes(after.known(&schema::OBJECT_CLASS))
            .into_iter()
            .filter(|c| c != "top")
            .collect();
        if got != BTreeSet::from(["groupofnames".to_string(), "posixgroup".to_string()]) {
            return Err(LdapError::new(
                LdapResultCode::ObjectClassModsProhibited,
                "every group is a groupOfNames and a posixGroup",
            ));
        }
    }
    let mut patch = GroupPatch::default();
    if changed(&before, &after, &schema::DESCRIPTION) {
        patch.description = Some(single(
            &schema::DESCRIPTION,
            after.known(&schema::DESCRIPTION),
            false,
        )?);
    }
    let by_dn = changed(&before, &after, &schema::MEMBER);
    let by_uid = changed(&before, &after, &schema::MEMBER_UID);
    let target_set = match (by_dn, by_uid) {
        (false, false) => members.clone(),
        (true, false) => resolve_members(ctx, actor, t, slug, after.known(&schema::MEMBER), &[])?,
        (false, true) => {
            let mut s: BTreeSet<Member> = members
                .iter()
                .filter(|m| matches!(m, Member::Group(_)))
                .copied()
                .collect();
            s.extend(resolve_members(
                ctx,
                actor,
                t,
                slug,
                &[],
                after.known(&schema::MEMBER_UID),
            )?);
            s
        }
        (true, true) => resolve_members(
            ctx,
            actor,
            t,
            slug,
            after.known(&schema::MEMBER),
            after.known(&schema::MEMBER_UID),
        )?,
    };
    if patch != GroupPatch::default() {
        ctx.dir
            .groups()
            .update(actor, t, g.id, patch)
            .map_err(denied)?;
    }
    for m in members.difference(&target_set) {
        ctx.dir
            .groups()
            .remove_member(actor, t, g.id, *m)
            .map_err(denied)?;
    }
    for m in target_set.difference(&members) {
        ctx.dir
            .groups()
            .add_member(actor, t, g.id, *m)
            .map_err(denied)?;
    }
    Ok(())
}

// ---- modrdn ---------------------------------------------------------------------------

/// Renames a user or a group (ModifyDN without moving it).
pub(crate) fn rename(ctx: &Ctx, actor: &Actor, req: &LdapModifyDNRequest) -> Result<(), LdapError> {
    let t = target(ctx, actor, &req.dn)?;
    let new_rdn =
        dn::parse(&req.newrdn).map_err(|e| LdapError::new(LdapResultCode::InvalidDNSyntax, e.0))?;
    let [rdn] = new_rdn.rdns.as_slice() else {
        return Err(LdapError::new(
            LdapResultCode::InvalidDNSyntax,
            "the new RDN must be one RDN",
        ));
    };
    if let Some(sup) = &req.new_superior {
        let parent = t.parent().map(|p| ctx.dit.dn_of(&p)).unwrap_or_default();
        if dn::normalize(sup) != dn::normalize(&parent) {
            return Err(LdapError::unwilling(
                "entries cannot move: users stay in ou=Users and groups in ou=Groups of their tenant",
            ));
        }
    }
    match t {
        Target::User(slug, name) => {
            let Some(a) = rdn.single("uid") else {
                return Err(LdapError::new(
                    LdapResultCode::NamingViolation,
                    "users are named by uid",
                ));
            };
            let tid = tenant(ctx, actor, &slug)?;
            let u = user(ctx, actor, tid, &slug, &name)?;
            ctx.dir
                .users()
                .update(
                    actor,
                    tid,
                    u.id,
                    UserPatch {
                        username: Some(a.value.clone()),
                        ..UserPatch::default()
                    },
                )
                .map_err(denied)?;
            Ok(())
        }
        Target::Group(slug, name) => {
            let Some(a) = rdn.single("cn") else {
                return Err(LdapError::new(
                    LdapResultCode::NamingViolation,
                    "groups are named by cn",
                ));
            };
            let tid = tenant(ctx, actor, &slug)?;
            let g = group(ctx, actor, tid, &slug, &name)?;
            ctx.dir
                .groups()
                .update(
                    actor,
                    tid,
                    g.id,
                    GroupPatch {
                        name: Some(a.value.clone()),
                        ..GroupPatch::default()
                    },
                )
                .map_err(denied)?;
            Ok(())
        }
        Target::Suffix | Target::Tenant(_) | Target::Ou(..) => {
            search::fetch(ctx, *actor, &t)?;
            Err(structural())
        }
        Target::RootDse | Target::Subschema => {
            Err(LdapError::unwilling("not an entry of the directory"))
        }
    }
}

// ---- password modify ------------------------------------------------------------------

/// The user a Password Modify request names: its own user when it names none; `dn:<DN>`, a
/// DN, or `u:<username>` (in the caller's tenant).
fn identity(
    ctx: &Ctx,
    actor: &Actor,
    me: &Bound,
    id: Option<&str>,
) -> Result<(TenantId, UserId), LdapError> {
    let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok((me.tenant, me.user));
    };
    if let Some(name) = id.strip_prefix("u:") {
        let u = match ctx.dir.users().by_username(actor, me.tenant, name) {
            Ok(u) => u,
            Err(DirError::NotFound) => return Err(LdapError::no_such_object()),
            Err(e) => return Err(e.into()),
        };
        return Ok((me.tenant, u.id));
    }
    let dn = id.strip_prefix("dn:").unwrap_or(id);
    match target(ctx, actor, dn)? {
        Target::User(slug, name) => {
            let t = tenant(ctx, actor, &slug)?;
            let u = user(ctx, actor, t, &slug, &name)?;
            Ok((t, u.id))
        }
        _ => Err(LdapError::unwilling("only users have passwords")),
    }
}

/// A random password meeting the usual class rules: upper and lower case, digits, symbols.
fn generate(ids: &dyn IdSource, len: usize) -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!#%+-.:=?@_";
    let pick = |set: &[u8], b: u8| {
        char::from(set.get(usize::from(b) % set.len()).copied().unwrap_or(b'x'))
    };
    loop {
        let mut raw = vec![0u8; len];
        ids.fill(&mut raw);
        let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
        let pw: String = raw.iter().map(|b| pick(&all, *b)).collect();
        let has = |set: &[u8]| pw.bytes().any(|c| set.contains(&c));
        if has(UPPER) && has(LOWER) && has(DIGITS) && has(SYMBOLS) {
            return pw;
        }
    }
}

/// RFC 3062 Password Modify: a user's own change (with the old password), an administrator's
/// reset (Credentials:Execute), a generated password when none is given. Returns the generated
/// password, if one was made.
pub(crate) fn password_modify(
    ctx: &Ctx,
    actor: &Actor,
    me: &Bound,
    req: &LdapPasswordModifyRequest,
) -> Result<Option<String>, LdapError> {
    let (t, u) = identity(ctx, actor, me, req.user_identity.as_deref())?;
    let own = (t, u) == (me.tenant, me.user);
    let creds = ctx.dir.credentials();
    let set = |new: &str| -> Result<(), DirError> {
        match (&req.old_password, own) {
            (Some(old), true) => creds.change_password(actor, t, u, old, new),
            _ => creds.set_password(actor, t, u, new, false),
        }
    };
    match &req.new_password {
        Some(new) => {
            if hashed(new) {
                return Err(LdapError::unwilling("hashed passwords cannot be imported"));
            }
            set(new).map_err(password_error)?;
            Ok(None)
        }
        None => {
            // A policy may ask for more than the first length: try longer ones.
            let mut last = None;
            for len in [24, 40, 64] {
                let pw = generate(&ctx.rng, len);
                match set(&pw) {
                    Ok(()) => return Ok(Some(pw)),
                    Err(e @ DirError::WeakPassword(_)) => last = Some(e),
                    Err(e) => return Err(password_error(e)),
                }
            }
            Err(last.map_or_else(
                || LdapError::internal("no password generated"),
                password_error,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::clock::ChaChaSource;

    #[test]
    fn generated_passwords_have_every_class() {
        let ids = ChaChaSource::seeded(1);
        for len in [24, 40] {
            let p = generate(&ids, len);
            assert_eq!(p.len(), len);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
        }
        assert_ne!(generate(&ids, 24), generate(&ids, 24));
    }

    #[test]
    fn hashed_values_are_recognised() {
        assert!(hashed("{SSHA}abcdef"));
        assert!(hashed("{ARGON2}$argon2id$"));
        assert!(!hashed("{not a scheme"));
        assert!(!hashed("plain{x}"));
        assert!(!hashed("{}x"));
    }

    #[test]
    fn password_edits_have_two_shapes() {
        let s = |v: &str| vec![v.to_string()];
        assert!(matches!(
            password_change(&[(LdapModifyType::Replace, s("n"))]),
            Ok(Some(PasswordChange::Set(_)))
        ));
        assert!(matches!(
            password_change(&[
                (LdapModifyType::Delete, s("o")),
                (LdapModifyType::Add, s("n"))
            ]),
            Ok(Some(PasswordChange::Change { .. }))
        ));
        assert!(password_change(&[(LdapModifyType::Delete, vec![])]).is_err());
        assert!(password_change(&[(LdapModifyType::Replace, vec![])]).is_err());
        assert!(password_change(&[(LdapModifyType::Replace, s("{SSHA}x"))]).is_err());
    }
}
