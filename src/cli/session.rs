//! The session file `tessera login` writes and the admin commands read: the server's URL, the
//! certificate trusted and the bearer token, in `TESSERA_SESSION_FILE`, else
//! `$XDG_CONFIG_HOME/tessera/session.json`, else `~/.config/tessera/session.json`, mode 0600.
//! It must never print the token, and never write the file readable by others.

use super::client::Secret;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A saved login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The server's root URL (without `/api/v1`).
    pub url: String,
    /// The certificate trusted, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// The bearer token of the session.
    pub token: Secret,
    /// The tenant logged in to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When the session ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Where the session file lives.
pub fn path() -> Result<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var("TESSERA_SESSION_FILE") {
        return Ok(PathBuf::from(p));
    }
    if let Some(x) = var("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("tessera").join("session.json"));
    }
    match var("HOME") {
        Some(h) => Ok(PathBuf::from(h)
            .join(".config")
            .join("tessera")
            .join("session.json")),
        None => bail!("neither TESSERA_SESSION_FILE, XDG_CONFIG_HOME nor HOME is set"),
    }
}

/// The saved session, if there is one.
pub fn load() -> Result<Option<Session>> {
    let p = path()?;
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading the session {}", p.display())),
    };
    let s = serde_json::from_str(&text).with_context(|| {
        format!(
            "the session file {} is damaged; remove it or run `tessera login`",
            p.display()
        )
    })?;
    Ok(Some(s))
}

/// Saves a session (replacing any other), readable by its owner only. Returns its path.
pub fn save(s: &Session) -> Result<PathBuf> {
    let p = path()?;
    let dir = p.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() {
        create_private_dir(dir)?;
    }
    let json = serde_json::to_vec_pretty(s)?;
    // Written beside, then renamed over: a reader sees the old session or the new one.
    let tmp = p.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(&json)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &p).with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}

/// Removes the saved session; whether there was one.
pub fn remove() -> Result<bool> {
    let p = path()?;
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", p.display())),
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}
