//! Test and benchmark helpers: a directory on a temporary store with a manual clock and seeded
//! ids, and fixtures that build small trees. Compiled only with the `testkit` feature; nothing in
//! a release build depends on it.

use crate::clock::{ChaChaSource, ManualClock};
use crate::model::{NewGroup, NewTenant, NewUser, Tenant};
use crate::secrets::MasterKey;
use crate::PoolConfig;
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
    opened: u64,
}

impl TestDirectory {
    /// An empty directory; ids come from a fixed seed.
    pub fn new() -> Result<Self, Error> {
        let tmp = tempfile::tempdir().map_err(|e| Error::Storage(e.to_string()))?;
        let clock = Arc::new(ManualClock::new(START));
        let dir = Self::open(&tmp, &clock, 7)?;
        Ok(TestDirectory {
            dir,
            clock,
            tmp,
            opened: 1,
        })
    }

    fn open(
        tmp: &tempfile::TempDir,
        clock: &Arc<ManualClock>,
        seed: u64,
    ) -> Result<Directory, Error> {
        Directory::options()
            .clock(clock.clone())
            .ids(Arc::new(ChaChaSource::seeded(seed)))
            .pool(PoolConfig {
                workers: 2,
                queue_per_tenant: 8,
                queue_total: 64,
                ..PoolConfig::default()
            })
            .open(tmp.path(), test_key())
    }

    /// Closes the directory and opens the same store again, as a restart would (same clock; a
    /// fresh id stream, so new ids do not repeat old ones). In-memory caches start empty.
    pub fn reopen(self) -> Result<Self, Error> {
        let TestDirectory {
            dir,
            clock,
            tmp,
            opened,
        } = self;
        drop(dir);
        // sled's flusher thread lets go of the store's file lock a moment after the last
        // handle is dropped; on a loaded machine that moment can outlast the reopen.
        let mut tries = 0;
        let dir = loop {
            match Self::open(&tmp, &clock, 7 + opened) {
                Err(Error::Storage(m)) if m.contains("could not acquire lock") && tries < 100 => {
                    tries += 1;
                    #[allow(clippy::disallowed_methods)] // test support: waiting for sled's thread
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                r => break r?,
            }
        };
        Ok(TestDirectory {
            dir,
            clock,
            tmp,
            opened: opened + 1,
        })
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

/// The same master key every time: for stores a test opens more than once.
pub fn test_key() -> MasterKey {
    MasterKey::generate(&ChaChaSource::seeded(0x7e55e7a))
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

/// The TOTP code at `now` for an enrolment URL (what an authenticator app would show).
pub fn totp_code(otpauth_url: &str, now: Timestamp) -> String {
    let secret = otpauth_url
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .unwrap_or_default();
    let seed = base32_decode(secret);
    crate::auth::totp::code_at(&seed, now).unwrap_or_default()
}

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()) else {
            continue;
        };
        buf = (buf << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

/// A server certificate a CA issued, as an administrator installs one for EAP-TTLS (PEM).
#[derive(Debug, Clone)]
pub struct IssuedChain {
    /// The server certificate (serverAuth).
    pub leaf: String,
    /// The CA's self-signed certificate ("Contoso Root CA").
    pub ca: String,
    /// The server certificate's private key (PKCS#8).
    pub key: String,
}

impl IssuedChain {
    /// The chain as installed: the server certificate, then the CA.
    pub fn chain(&self) -> String {
        format!("{}{}", self.leaf, self.ca)
    }
}

/// A new CA and a server certificate for `cn` it issued, valid between the two dates
/// (year, month, day).
pub fn issued_chain(
    cn: &str,
    not_before: (i32, u8, u8),
    not_after: (i32, u8, u8),
) -> Result<IssuedChain, rcgen::Error> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(vec![])?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Contoso Root CA");
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = rcgen::Issuer::new(ca, &ca_key);
    let key = rcgen::KeyPair::generate()?;
    let mut leaf = rcgen::CertificateParams::new(vec![cn.to_string()])?;
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name.push(rcgen::DnType::CommonName, cn);
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    leaf.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    Ok(IssuedChain {
        leaf: leaf.signed_by(&key, &issuer)?.pem(),
        ca: ca_pem,
        key: key.serialize_pem(),
    })
}
