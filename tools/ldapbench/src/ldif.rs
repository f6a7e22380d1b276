//! slapd's half of the dataset: the LDIF `slapadd` loads (suffix, tenant, `ou=Users`,
//! `ou=Groups`, users as inetOrgPerson + posixAccount, groups as groupOfNames + posixGroup, the
//! service account), with `{ARGON2}` argon2id password hashes. It writes a file; it does not
//! run slapd.

use crate::data::{Dataset, BIG_GROUPS, BINDERS_GROUP, SERVICE_PASSWORD, SERVICE_USER, SUFFIX};
use crate::hash;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// The PHC strings of the service account and users `0..n`: from `cache` when it holds at
/// least that many (salts are derived from the user number, so a cached hash is the one that
/// would be computed), else computed on `threads` threads and written to `cache`.
fn hashes(n: usize, threads: usize, cache: Option<&Path>) -> Result<(String, Vec<String>)> {
    if let Some(text) = cache.and_then(|c| std::fs::read_to_string(c).ok()) {
        let mut lines = text.lines().map(str::to_string);
        if let Some(service) = lines.next() {
            let users: Vec<String> = lines.take(n).collect();
            if users.len() == n {
                return Ok((service, users));
            }
        }
    }
    let passwords: Vec<String> = (0..n).map(Dataset::password).collect();
    let users = hash::phc_many(&passwords, threads, 0)?;
    let service = hash::phc(SERVICE_PASSWORD, &hash::salt(usize::MAX))?;
    if let Some(c) = cache {
        let mut text = service.clone();
        for u in &users {
            text.push('\n');
            text.push_str(u);
        }
        text.push('\n');
        std::fs::write(c, text).with_context(|| format!("writing {}", c.display()))?;
    }
    Ok((service, users))
}

/// Writes the LDIF for `d` to `out`, hashing the passwords on `threads` threads (or taking them
/// from `cache`).
pub fn write(d: &Dataset, out: &Path, threads: usize, cache: Option<&Path>) -> Result<()> {
    let (service_hash, users) = hashes(d.binders().len(), threads, cache)?;
    let mut hashes = users.into_iter();

    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let tenant = d.tenant_dn();
    writeln!(
        w,
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: tessera\no: Tessera\n"
    )?;
    writeln!(
        w,
        "dn: {tenant}\nobjectClass: organization\no: {}\n",
        d.slug
    )?;
    writeln!(
        w,
        "dn: {}\nobjectClass: organizationalUnit\nou: Users\n",
        d.users_base()
    )?;
    writeln!(
        w,
        "dn: {}\nobjectClass: organizationalUnit\nou: Groups\n",
        d.groups_base()
    )?;
    writeln!(
        w,
        "dn: {}\nobjectClass: inetOrgPerson\nuid: {SERVICE_USER}\ncn: LDAP service account\n\
         sn: {SERVICE_USER}\nuserPassword: {{ARGON2}}{service_hash}\n",
        d.service_dn()
    )?;
    for i in 0..d.users {
        let u = d.user(i);
        writeln!(
            w,
            "dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: {uid}\n\
             cn: {display}\nsn: {family}\ngivenName: {given}\ndisplayName: {display}\n\
             mail: {mail}\nuidNumber: {uidn}\ngidNumber: {gidn}\nhomeDirectory: {home}\n\
             loginShell: /bin/bash",
            dn = d.user_dn(i),
            uid = u.uid,
            display = u.display,
            family = u.family,
            given = u.given,
            mail = u.mail,
            uidn = u.uid_number,
            gidn = u.gid_number,
            home = u.home,
        )?;
        if d.binders().contains(&i) {
            if let Some(h) = hashes.next() {
                writeln!(w, "userPassword: {{ARGON2}}{h}")?;
            }
        }
        writeln!(w)?;
    }
    let group = |w: &mut dyn Write,
                 name: &str,
                 gid: u32,
                 members: &mut dyn Iterator<Item = String>|
     -> Result<()> {
        writeln!(
            w,
            "dn: {}\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: {name}\ngidNumber: {gid}",
            d.group_dn(name)
        )?;
        for m in members {
            writeln!(w, "member: {m}")?;
        }
        writeln!(w)?;
        Ok(())
    };
    for g in 0..d.group_count() {
        group(
            &mut w,
            &Dataset::group_name(g),
            Dataset::group_gid(g),
            &mut d.group_members(g).map(|i| d.user_dn(i)),
        )?;
    }
    for k in 0..BIG_GROUPS {
        group(
            &mut w,
            &Dataset::big_name(k),
            d.big_gid(k),
            &mut d.big_members(k).map(|i| d.user_dn(i)),
        )?;
    }
    group(
        &mut w,
        BINDERS_GROUP,
        d.binders_gid(),
        &mut std::iter::once(d.service_dn()).chain(d.binders().map(|i| d.user_dn(i))),
    )?;
    w.flush()?;
    Ok(())
}
