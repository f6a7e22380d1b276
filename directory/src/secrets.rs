//! Secrets at rest: the master key and the AEAD (XChaCha20-Poly1305) that seals TOTP seeds and,
//! later, RADIUS shared secrets and SAML private keys. Each sealed value is bound to what it
//! belongs to (its associated data), so a sealed seed copied onto another user does not open.
//! The key never touches the store; the store holds a sealed check value so a wrong key is a
//! clear startup error, never silent garbage.

use crate::clock::IdSource;
use crate::error::Error;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// The format byte of sealed values.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// The 256-bit master key. Printing it shows `[redacted]`; it is wiped when dropped.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Why a master key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not 32 bytes of standard base64.
    #[error("a master key is 32 bytes written as base64 (44 characters)")]
    Format,
    /// The key file could not be read or written.
    #[error("master key file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The key file may be read by others.
    #[error("master key file {path} is readable by group or others (mode {mode:o}); chmod 600 it")]
    Permissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate(ids: &dyn IdSource) -> Self {
        let mut k = [0u8; 32];
        ids.fill(&mut k);
        MasterKey(k)
    }

    /// From its base64 text form (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let mut raw = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| KeyError::Format)?,
        );
        let k: [u8; 32] = raw.as_slice().try_into().map_err(|_| KeyError::Format)?;
        raw.zeroize();
        Ok(MasterKey(k))
    }

    /// The base64 text form, for writing a key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0))
    }

    /// Reads a key file, refusing one that group or others can read.
    pub fn read_file(path: &Path) -> Result<Self, KeyError> {
        let file_err = |e: std::io::Error| KeyError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(file_err)?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.display().to_string(),
                    mode: mode & 0o777,
                });
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(file_err)?);
        Self::from_base64(&text)
    }

    /// Writes a new key file with mode 0600; fails if the file exists.
    pub fn create_file(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write;
        let file_err = |e: std::io::Error| KeyError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(file_err)?;
        f.write_all(self.to_base64().as_bytes()).map_err(file_err)?;
        f.write_all(b"\n").map_err(file_err)?;
        f.sync_all().map_err(file_err)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Seals `plaintext`, bound to `aad` (what it belongs to).
    pub(crate) fn seal(
        &self,
        ids: &dyn IdSource,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        ids.fill(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::Corrupt("cannot seal a secret".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value; fails if the key, the associated data or the bytes are wrong.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let bad = || Error::Corrupt("a sealed secret does not open with this master key".into());
        let (v, rest) = sealed.split_first().ok_or_else(bad)?;
        if *v != SEALED_V1 {
            return Err(bad());
        }
        let (nonce, ct) = rest.split_at_checked(NONCE_LEN).ok_or_else(bad)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| bad())?;
        self.cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ChaChaSource;

    #[test]
    fn seal_open_and_binding() {
        let ids = ChaChaSource::seeded(1);
        let k = MasterKey::generate(&ids);
        let s = k.seal(&ids, b"user:1", b"seed").unwrap();
        assert_eq!(&*k.open(b"user:1", &s).unwrap(), b"seed");
        assert!(k.open(b"user:2", &s).is_err(), "bound to its owner");
        let other = MasterKey::generate(&ids);
        assert!(other.open(b"user:1", &s).is_err(), "a wrong key fails");
        let mut flipped = s.clone();
        if let Some(b) = flipped.last_mut() {
            *b ^= 1;
        }
        assert!(k.open(b"user:1", &flipped).is_err(), "tampering fails");
        assert!(k.open(b"user:1", &[]).is_err());
        assert!(k.open(b"user:1", &[1, 2, 3]).is_err());
        assert!(!format!("{k:?}").contains(&*k.to_base64()));
    }

    #[test]
    fn text_and_files() {
        let ids = ChaChaSource::seeded(2);
        let k = MasterKey::generate(&ids);
        let back = MasterKey::from_base64(&format!("  {}\n", &*k.to_base64())).unwrap();
        assert_eq!(back.0, k.0);
        assert_eq!(
            MasterKey::from_base64("short").unwrap_err(),
            KeyError::Format
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        k.create_file(&p).unwrap();
        assert_eq!(MasterKey::read_file(&p).unwrap().0, k.0);
        assert!(k.create_file(&p).is_err(), "never overwrites a key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                MasterKey::read_file(&p),
                Err(KeyError::Permissions { .. })
            ));
        }
    }
}
