//! Tessera's core: the model (tenants, users, groups, applications, roles, assignments, audit),
//! the store behind it, and the public services every frontend calls. Each service operation
//! takes an [`Actor`], is authorised by the RBAC engine before it touches data, runs as one
//! serialisable transaction and writes its audit event in that same transaction. Frontends must
//! go through the services: nothing here exposes the store.
#![warn(missing_docs)]

mod actor;
mod audit;
mod authz;
mod cache;
pub mod clock;
mod error;
mod feed;
mod integrity;
pub mod model;
mod service;
mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use actor::{Actor, Principal, Protocol};
pub use error::Error;
pub use feed::{ChangeEvent, EntityKind};
pub use integrity::IntegrityReport;
pub use service::{
    applications::Applications, audit::AuditLog, groups::Groups, rbac::Rbac, tenants::Tenants,
    users::Users,
};
pub use tessera_policy as policy;

use cache::Cache;
use clock::{ChaChaSource, Clock, IdSource, SystemClock};
use std::path::Path;
use std::sync::Arc;
use store::sled_store::SledStore;
use store::Store;

/// A handle on an open directory. Cheap to clone; every clone shares the store and caches.
#[derive(Clone, Debug)]
pub struct Directory {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    store: Box<dyn Store>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    cache: Cache,
}

impl Directory {
    /// Opens (or creates) the embedded store in `dir`, with the system clock and OS entropy.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::open_with(
            dir,
            Arc::new(SystemClock),
            Arc::new(ChaChaSource::from_os()),
        )
    }

    /// Opens the embedded store with an injected clock and id source (tests, benchmarks).
    pub fn open_with(
        dir: &Path,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> Result<Self, Error> {
        let store = SledStore::open(dir)?;
        Ok(Directory {
            inner: Arc::new(Inner {
                store: Box::new(store),
                clock,
                ids,
                cache: Cache::default(),
            }),
        })
    }

    /// The tenant tree.
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants::new(self)
    }

    /// Users of tenants.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Groups and memberships.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(self)
    }

    /// Applications and the "may this user use it" check.
    pub fn applications(&self) -> Applications<'_> {
        Applications::new(self)
    }

    /// Roles, assignments and effective rights.
    pub fn rbac(&self) -> Rbac<'_> {
        Rbac::new(self)
    }

    /// The audit log.
    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog::new(self)
    }

    /// Checks that every index matches its entity and every reference resolves. A maintenance
    /// operation of the installation (no actor): it reports problems, it does not repair them.
    pub fn check_integrity(&self) -> Result<IntegrityReport, Error> {
        integrity::check(self)
    }

    /// Bytes the store occupies on disk.
    pub fn disk_size(&self) -> Result<u64, Error> {
        self.inner.store.disk_size()
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub(crate) fn now(&self) -> policy::Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn ids(&self) -> &dyn IdSource {
        self.inner.ids.as_ref()
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    /// Runs `f` as one serialisable transaction (retried on conflict; durable on `Ok`).
    pub(crate) fn txn<R>(
        &self,
        f: impl FnMut(&mut store::txn::Txn<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        store::txn::run(self.store(), || self.now(), f)
    }
}
