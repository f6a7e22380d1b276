//! `tessera saml …`: a tenant's SAML IdP signing keys over the API under
//! `/tenants/{slug}/saml/keys` — list them, prepare the next key (published in the metadata
//! before it signs), activate it, remove a retired or unwanted next key — and ending a user's
//! SSO sessions (`/tenants/{slug}/users/{username}/saml-sessions`). It only translates
//! arguments into requests; rights and the rotation rules are the server's.

use super::table::{print_text, text, time, Table};
use super::{ClientArgs, Ctx};
use crate::config::Config;
use anyhow::Result;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

/// `tessera saml`.
#[derive(Debug, Args)]
#[command(
    after_help = "Key rotation:\n  tessera saml next-key contoso      # published, not signing\n  \
    (let the SPs refresh the IdP metadata)\n  tessera saml activate-key contoso  # signs from now on; \
    the old key stays published\n  tessera saml remove-key contoso <fingerprint-of-the-old-key>"
)]
pub struct SamlCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: SamlAction,
}

#[derive(Debug, Subcommand)]
enum SamlAction {
    /// The tenant IdP's signing keys: active, next, retired.
    Keys {
        /// The tenant's slug.
        tenant: String,
    },
    /// Make the next signing key: the metadata publishes it beside the active one; it does not
    /// sign until activated.
    NextKey {
        /// The tenant's slug.
        tenant: String,
    },
    /// Let the next key sign from now on; the previous one is retired (still published until
    /// removed).
    ActivateKey {
        /// The tenant's slug.
        tenant: String,
    },
    /// Stop publishing a retired key (or drop a next key before it signs).
    RemoveKey {
        /// The tenant's slug.
        tenant: String,
        /// The key's certificate SHA-256 fingerprint, as `tessera saml keys` shows it.
        fingerprint: String,
    },
    /// End a user's SSO sessions: their next SAML login asks for the password again.
    EndSessions {
        /// The tenant's slug.
        tenant: String,
        /// The username.
        user: String,
    },
}

fn keys_table(keys: &Value) {
    let mut t = Table::new(&[
        "STATE",
        "SHA-256 FINGERPRINT",
        "CREATED",
        "ACTIVATED",
        "RETIRED",
    ]);
    for k in keys.as_array().into_iter().flatten() {
        t.row(vec![
            text(k, "state"),
            text(k, "fingerprint_sha256"),
            time(k, "created_at"),
            time(k, "activated_at"),
            time(k, "retired_at"),
        ]);
    }
    t.print();
}

/// Runs `tessera saml …`.
pub fn run(cmd: &SamlCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    let (tenant, done) = match &cmd.action {
        SamlAction::Keys { tenant } => {
            let keys = api.get(&["tenants", tenant, "saml", "keys"], &[])?;
            ctx.show(&keys, keys_table);
            return Ok(());
        }
        SamlAction::NextKey { tenant } => {
            let keys = api.act(Method::POST, &["tenants", tenant, "saml", "keys", "next"])?;
            (tenant, keys.unwrap_or_default())
        }
        SamlAction::ActivateKey { tenant } => {
            let keys = api.act(
                Method::POST,
                &["tenants", tenant, "saml", "keys", "next", "activate"],
            )?;
            (tenant, keys.unwrap_or_default())
        }
        SamlAction::RemoveKey {
            tenant,
            fingerprint,
        } => {
            api.act(
                Method::DELETE,
                &["tenants", tenant, "saml", "keys", fingerprint],
            )?;
            ctx.done(
                None,
                &format!("Removed SAML IdP key {fingerprint} of {tenant}."),
            );
            return Ok(());
        }
        SamlAction::EndSessions { tenant, user } => {
            let r = api.act(
                Method::DELETE,
                &["tenants", tenant, "users", user, "saml-sessions"],
            )?;
            let ended = r.as_ref().map(|v| text(v, "ended")).unwrap_or_default();
            ctx.done(
                r.as_ref(),
                &format!("Ended {ended} SSO session(s) of {tenant}/{user}."),
            );
            return Ok(());
        }
    };
    ctx.show(&done, |keys| {
        print_text(&format!("The SAML IdP keys of {tenant} now:\n"));
        keys_table(keys);
    });
    Ok(())
}
