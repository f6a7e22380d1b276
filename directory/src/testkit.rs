//! Test and benchmark helpers: a directory on a temporary store with a manual clock and seeded
//! ids, and fixtures that build small trees. Compiled only with the `testkit` feature; nothing in
//! a release build depends on it.

use crate::clock::{ChaChaSource, ManualClock};
use crate::model::{NewGroup, NewTenant, NewUser, Tenant};
use crate::{Actor, Directory, Error};
use std::sync::Arc;
use tessera_policy::{TenantKind, Timestamp};

/// 2026-01-01T00:00:00Z: where test clocks start.
pub const START: Timestamp = Timestamp::from_secs(1_767_225_600);

/// A directory on a temporary store that is removed when this is dropped.
#[derive(Debug)]
pub struct TestDirectory {
    /// The directory.
    pub dir: Directory,
    /// Its clock, to move time.
    pub clock: Arc<ManualClock>,
    /// Where the store lives.
    pub tmp: tempfile::TempDir,
}

impl TestDirectory {
    /// An empty directory; ids come from a fixed seed.
    pub fn new() -> Result<Self, Error> {
        let tmp = tempfile::tempdir().map_err(|e| Error::Storage(e.to_string()))?;
        let clock = Arc::new(ManualClock::new(START));
        let dir =
            Directory::open_with(tmp.path(), clock.clone(), Arc::new(ChaChaSource::seeded(7)))?;
        Ok(TestDirectory { dir, clock, tmp })
    }

    /// A directory whose root is a distributor called `root`.
    pub fn with_root() -> Result<(Self, Tenant), Error> {
        let td = Self::new()?;
        let root = td.dir.tenants().bootstrap(
            &Actor::system(),
            NewTenant {
                slug: "root".into(),
                name: "Root".into(),
                kind: TenantKind::Distributor,
            },
        )?;
        Ok((td, root))
    }
}

/// A `NewTenant` with the slug as its name.
pub fn new_tenant(slug: &str, kind: TenantKind) -> NewTenant {
    NewTenant {
        slug: slug.into(),
        name: slug.into(),
        kind,
    }
}

/// A `NewUser` with just a username.
pub fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.into(),
        ..NewUser::default()
    }
}

/// A `NewGroup` with just a name.
pub fn new_group(name: &str) -> NewGroup {
    NewGroup {
        name: name.into(),
        ..NewGroup::default()
    }
}
