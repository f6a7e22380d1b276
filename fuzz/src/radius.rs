//! The RADIUS fuzz target's server: the fixture directory of `tessera_radius::fuzzing` (the same
//! one the corpus replay in `radius/tests/server` uses) on a fresh store, built once per
//! fuzzing process.

use crate::open_store;
use tessera_directory::Directory;
use tessera_radius::RadiusServer;

/// The server under fuzzing and what it runs on.
pub struct RadiusTarget {
    pub server: RadiusServer,
    pub dir: Directory,
    _store: tempfile::TempDir,
}

impl RadiusTarget {
    /// Builds the fixture directory and a server for it.
    pub fn new() -> RadiusTarget {
        let (dir, store) = open_store();
        let server = tessera_radius::fuzzing::fixture(&dir).expect("the RADIUS fixture");
        RadiusTarget {
            server,
            dir,
            _store: store,
        }
    }

    /// Answers one input (first byte: the listener; the rest: the datagram).
    pub fn answer(&self, input: &[u8]) -> Option<Vec<u8>> {
        tessera_radius::fuzzing::answer_input(&self.server, input)
    }
}

impl Default for RadiusTarget {
    fn default() -> Self {
        RadiusTarget::new()
    }
}
