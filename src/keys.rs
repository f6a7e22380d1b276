//! Opening the store with its master key: from `TESSERA_MASTER_KEY`, else the key file; a new
//! store gets a new key file (with a loud warning to back it up); an existing store without
//! its key refuses to open rather than get a key that cannot read what is sealed.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use tessera_directory::secrets::MasterKey;
use tessera_directory::Directory;

/// The master key for `cfg`'s store.
pub fn master_key(cfg: &Config) -> Result<MasterKey> {
    if let Ok(text) = std::env::var("TESSERA_MASTER_KEY") {
        return MasterKey::from_base64(&text).context("TESSERA_MASTER_KEY");
    }
    let path = &cfg.master_key_file;
    if let (Ok(k), Ok(d)) = (
        std::path::absolute(path),
        std::path::absolute(&cfg.data_dir),
    ) {
        if k.starts_with(&d) {
            bail!(
                "the master key file {} must not live inside the data directory {}",
                path.display(),
                cfg.data_dir.display()
            );
        }
    }
    if path.exists() {
        return Ok(MasterKey::read_file(path)?);
    }
    let store_exists = std::fs::read_dir(&cfg.data_dir).is_ok_and(|mut d| d.next().is_some());
    if store_exists {
        bail!(
            "the store in {} exists but its master key file {} is missing: restore the key file \
             (or set TESSERA_MASTER_KEY); a new key cannot open the secrets already stored",
            cfg.data_dir.display(),
            path.display()
        );
    }
    let key = MasterKey::generate(&tessera_directory::clock::ChaChaSource::from_os());
    key.create_file(path)?;
    eprintln!(
        "WARNING: created a new master key in {} (mode 0600). Back it up and keep it apart from \
         the data directory: without it the secrets in the store cannot be read.",
        path.display()
    );
    Ok(key)
}

/// Opens the store of `cfg` with its master key and hashing pool.
pub fn open(cfg: &Config) -> Result<Directory> {
    let key = master_key(cfg)?;
    Directory::options()
        .pool(cfg.pool())
        .open(&cfg.data_dir, key)
        .with_context(|| {
            format!(
                "opening the store in {} (is another tessera process using it?)",
                cfg.data_dir.display()
            )
        })
}
