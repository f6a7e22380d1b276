//! Tessera's core: the model (tenants, users, groups, applications, roles, assignments, audit),
//! the store behind it, and the public services every frontend calls. Each service operation
//! takes an [`Actor`], is authorised by the RBAC engine before it touches data, runs as one
//! serialisable transaction and writes its audit event in that same transaction. Frontends must
//! go through the services: nothing here exposes the store.
#![warn(missing_docs)]

mod actor;
mod audit;
mod auth;
mod authz;
mod cache;
pub mod clock;
mod error;
mod feed;
mod guard;
mod integrity;
pub mod model;
pub mod secrets;
mod service;
mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use actor::{Actor, Principal, Protocol};
pub use auth::{
    AuthRequest, Authenticated, Enrolment, Login, MfaNeed, MfaPending, Outcome, TenantRef,
    MFA_STEP_TTL_SECS,
};
pub use error::Error;
pub use feed::{ChangeEvent, EntityKind};
pub use integrity::IntegrityReport;
pub use service::{
    applications::Applications,
    audit::AuditLog,
    credentials::Credentials,
    groups::Groups,
    policies::Policies,
    radius::{Radius, MAX_SESSIONS_PER_TENANT, SESSION_RETENTION_SECS},
    rbac::Rbac,
    saml::{Saml, SessionLogin, SessionUse, MAX_RETIRED_IDP_KEYS},
    tenants::Tenants,
    tokens::Tokens,
    users::Users,
};
pub use tessera_policy as policy;

use auth::hasher::Hasher;
pub use auth::hasher::{HashParams, PoolConfig};
use auth::journal::Journal;
use auth::verified::VerifiedCache;
use cache::Cache;
use clock::{ChaChaSource, Clock, IdSource, SystemClock};
use secrets::MasterKey;
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
    journal: Journal,
    hasher: Hasher,
    verified: VerifiedCache,
    key: MasterKey,
    cache: Cache,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    store: Arc<dyn Store>,
}

/// How to open a directory: the clock, the entropy source and the hashing pool, all defaulting
/// to the real ones. Obtain with [`Directory::options`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    pool: PoolConfig,
}

impl OpenOptions {
    /// Reads time from `clock` (tests inject a manual one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Takes ids, salts and seeds from `ids` (tests inject a seeded one).
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Sizes the password-hashing pool and sets the argon2id parameters.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Opens (or creates) the embedded store in `dir`. Secrets in it are sealed under `key`; a
    /// store created under another key is refused with [`Error::MasterKey`].
    pub fn open(self, dir: &Path, key: MasterKey) -> Result<Directory, Error> {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir)?);
        check_master_key(store.as_ref(), self.ids.as_ref(), &key)?;
        let mut salt = [0u8; 16];
        self.ids.fill(&mut salt);
        let hasher = Hasher::start(self.pool, salt).map_err(Error::Storage)?;
        let journal = Journal::start(store.clone()).map_err(Error::Storage)?;
        Ok(Directory {
            inner: Arc::new(Inner {
                journal,
                hasher,
                verified: VerifiedCache::new(self.ids.as_ref()),
                key,
                cache: Cache::default(),
                clock: self.clock,
                ids: self.ids,
                store,
            }),
        })
    }
}

/// The sealed value that tells a right master key from a wrong one.
const KEY_CHECK: &[u8] = b"tessera master key check v1";

fn check_master_key(store: &dyn Store, ids: &dyn IdSource, key: &MasterKey) -> Result<(), Error> {
    let k = store::keys::key_check();
    match store.get(&k)? {
        Some(e) => match key.open(b"key-check", &e.value) {
            Ok(v) if v.as_slice() == KEY_CHECK => Ok(()),
            _ => Err(Error::MasterKey(
                "the master key does not open this store (wrong key file or TESSERA_MASTER_KEY?)"
                    .into(),
            )),
        },
        None => {
            let sealed = key.seal(ids, b"key-check", KEY_CHECK)?;
            let batch = store::Batch {
                preconditions: vec![store::Precondition::Absent(k.clone())],
                ops: vec![store::Op::Put(k, sealed)],
            };
            store.commit(batch).map(|_| ()).map_err(|e| match e {
                store::CommitError::Conflict => Error::Conflict,
                store::CommitError::Failed(e) => e,
            })
        }
    }
}

impl Directory {
    /// Opens (or creates) the embedded store in `dir` with the system clock, OS entropy and the
    /// default hashing pool.
    pub fn open(dir: &Path, key: MasterKey) -> Result<Self, Error> {
        Self::options().open(dir, key)
    }

    /// Options for opening with an injected clock, entropy or pool size.
    pub fn options() -> OpenOptions {
        OpenOptions {
            clock: Arc::new(SystemClock),
            ids: Arc::new(ChaChaSource::from_os()),
            pool: PoolConfig::default(),
        }
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

    /// Password, lockout, MFA and cache policies.
    pub fn policies(&self) -> Policies<'_> {
        Policies::new(self)
    }

    /// Passwords, TOTP and lockout of users.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::new(self)
    }

    /// Sessions and personal access tokens.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens::new(self)
    }

    /// The audit log.
    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog::new(self)
    }

    /// RADIUS clients for the RADIUS frontend, and accounting sessions.
    pub fn radius(&self) -> Radius<'_> {
        Radius::new(self)
    }

    /// SAML IdP keys, service providers, seen request ids and SSO sessions for the SAML
    /// frontend.
    pub fn saml(&self) -> Saml<'_> {
        Saml::new(self)
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

    pub(crate) fn hasher(&self) -> &Hasher {
        &self.inner.hasher
    }

    pub(crate) fn verified(&self) -> &VerifiedCache {
        &self.inner.verified
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.inner.key
    }

    /// The directory's clock: what expiry and lockout are judged by.
    pub fn now(&self) -> policy::Timestamp {
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
