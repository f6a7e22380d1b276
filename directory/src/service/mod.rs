//! The public operations of the directory, one module per area. Every operation takes the
//! [`Actor`](crate::Actor), is authorised through `authz` before it touches data, runs as one
//! transaction and records its audit event in it. Helpers shared by several areas live here.

pub mod applications;
pub mod audit;
pub mod credentials;
pub mod groups;
pub mod policies;
pub mod radius;
pub mod rbac;
pub mod saml;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::error::Error;
use crate::model::{ListQuery, Page, Tenant, TenantId};
use crate::store::codec::Record;
use crate::store::keys::{self, fold, Counter, Prefix};
use crate::store::records::{CounterValue, Ptr};
use crate::store::txn::Txn;
use crate::store::{Key, KeyRange};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads a record that must exist.
pub(crate) fn must<T: Record>(tx: &mut Txn<'_>, key: &Key) -> Result<T, Error> {
    tx.get(key)?.ok_or(Error::NotFound)
}

/// Reads the tenant record (so the transaction conflicts with the tenant's deletion).
pub(crate) fn tenant_in(tx: &mut Txn<'_>, t: TenantId) -> Result<Tenant, Error> {
    must(tx, &keys::tenant(t))
}

/// The first POSIX id handed out in a tenant.
pub(crate) const FIRST_POSIX_ID: u32 = 10_000;

/// Allocates the next free uidNumber/gidNumber of a tenant: the counter's value, skipping numbers
/// already taken by explicitly numbered users or groups.
pub(crate) fn allocate_posix_id(tx: &mut Txn<'_>, t: TenantId) -> Result<u32, Error> {
    let ck = keys::counter(t, Counter::PosixId);
    let mut next = tx
        .get::<CounterValue>(&ck)?
        .map_or(u64::from(FIRST_POSIX_ID), |c| c.next);
    loop {
        let n = u32::try_from(next)
            .ok()
            .filter(|n| *n <= i32::MAX as u32)
            .ok_or(Error::NotAllowed("the tenant has run out of POSIX ids"))?;
        next += 1;
        if !tx.exists(&keys::user_by_uid(t, n))? && !tx.exists(&keys::group_by_gid(t, n))? {
            tx.put(ck, &CounterValue { next })?;
            return Ok(n);
        }
    }
}

/// Decodes a listing cursor (hex of the last key tail).
pub(crate) fn decode_cursor(c: &str) -> Result<Vec<u8>, Error> {
    if !c.len().is_multiple_of(2) || c.len() > 1024 {
        return Err(crate::model::validate::invalid(
            "after",
            "not a cursor from a previous page",
        ));
    }
    (0..c.len())
        .step_by(2)
        .map(|i| {
            c.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    crate::model::validate::invalid("after", "not a cursor from a previous page")
                })
        })
        .collect()
}

/// Encodes a listing cursor.
pub(crate) fn encode_cursor(tail: &[u8]) -> String {
    tail.iter().map(|b| format!("{b:02x}")).collect()
}

/// One page over a name index (folded name → id), in name order, loading each entity with
/// `load`. The cursor is the last name returned.
pub(crate) fn page_by_name<I, T>(
    tx: &mut Txn<'_>,
    index: &Prefix,
    q: &ListQuery,
    mut load: impl FnMut(&mut Txn<'_>, I) -> Result<T, Error>,
) -> Result<Page<T>, Error>
where
    I: Serialize + DeserializeOwned,
{
    let limit = q.limit();
    let prefix = q.prefix.as_deref().map(fold).unwrap_or_default();
    let range = match &q.after {
        Some(c) => KeyRange::prefix_after(index, &decode_cursor(c)?),
        None => KeyRange::prefix_between(index, prefix.as_bytes(), None),
    };
    let rows: Vec<(Key, Ptr<I>)> = tx.scan(&range, limit + 1)?;
    let mut items = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    let mut next = None;
    for (k, ptr) in rows {
        let tail = k.tail(index).unwrap_or_default().to_vec();
        if !tail.starts_with(prefix.as_bytes()) {
            break;
        }
        if items.len() == limit {
            next = last.as_deref().map(encode_cursor);
            break;
        }
        items.push(load(tx, ptr.id)?);
        last = Some(tail);
    }
    Ok(Page { items, next })
}
