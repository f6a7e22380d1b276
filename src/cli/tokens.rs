//! `tessera token create|list|revoke`: the caller's personal access tokens (and sessions), for
//! scripts that set `TESSERA_TOKEN`. The secret of a new token is printed once, alone on
//! standard output (so `$(tessera token create …)` captures it); nothing else here prints a
//! token.

use super::client::Paging;
use super::table::{print_text, rights_compact, text, time, Table};
use super::{opt_query, parse_rights, parse_time, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::Result;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// `tessera token`.
#[derive(Debug, Args)]
pub struct TokenCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create a personal access token (from a login session); its secret is printed once.
    #[command(
        after_help = "Example:\n  export TESSERA_TOKEN=$(tessera token create reporting \
        --allow users:read,audit:read --expires 2026-12-31)"
    )]
    Create {
        /// A name to recognise it by.
        name: String,
        /// When it stops working (RFC 3339, or a date: midnight UTC) [default: never].
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        expires: Option<String>,
        /// Narrow it to these rights, AREA:RIGHT comma-separated (at most your own apply
        /// anyway) [default: all of yours].
        #[arg(long, value_name = "AREA:RIGHT,…", value_delimiter = ',')]
        allow: Vec<String>,
        /// Deny these rights through it.
        #[arg(long, value_name = "AREA:RIGHT,…", value_delimiter = ',')]
        deny: Vec<String>,
    },
    /// Your live sessions and personal tokens (`*` marks the one in use).
    List {
        /// Only sessions or only personal tokens.
        #[arg(long, value_parser = ["session", "personal"])]
        kind: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Revoke one of your tokens or sessions.
    Revoke {
        /// The token's id (see `token list`).
        id: String,
    },
}

/// Runs `tessera token …`.
pub fn run(cmd: &TokenCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    match &cmd.action {
        TokenAction::Create {
            name,
            expires,
            allow,
            deny,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            if let Some(e) = expires {
                body.insert("expires_at".into(), json!(e));
            }
            if !allow.is_empty() || !deny.is_empty() {
                body.insert("rights".into(), parse_rights(allow, deny)?);
            }
            let created = api.send(Method::POST, &["tokens"], &Value::Object(body))?;
            if ctx.json {
                super::table::print_json(&created);
            } else {
                let token = created.get("token").cloned().unwrap_or_default();
                eprintln!(
                    "Created personal token {:?} (id {}{}). Its secret follows; it is shown \
                     this once — store it now:",
                    name,
                    text(&token, "id"),
                    token
                        .get("rights")
                        .map(|r| format!(", narrowed to {}", rights_compact(r)))
                        .unwrap_or_default(),
                );
                print_text(&format!("{}\n", text(&created, "secret")));
            }
        }
        TokenAction::List { kind, paging } => {
            let mut q = Vec::new();
            opt_query(&mut q, "kind", kind.as_deref());
            let l = api.list(&["tokens"], &q, paging)?;
            let current = if ctx.json {
                String::new()
            } else {
                api.get(&["auth", "me"], &[])
                    .ok()
                    .and_then(|me| me.pointer("/token/id").map(super::table::show))
                    .unwrap_or_default()
            };
            ctx.show_list(&l, |items| {
                let mut t = Table::new(&["ID", "KIND", "NAME", "CREATED", "EXPIRES", "RIGHTS"]);
                for tk in items {
                    let id = text(tk, "id");
                    let mark = if id == current { " *" } else { "" };
                    t.row(vec![
                        format!("{id}{mark}"),
                        text(tk, "kind"),
                        text(tk, "name"),
                        time(tk, "created_at"),
                        match time(tk, "expires_at") {
                            e if e.is_empty() => "never".into(),
                            e => e,
                        },
                        tk.get("rights")
                            .map(rights_compact)
                            .unwrap_or_else(|| "all of yours".into()),
                    ]);
                }
                t
            });
        }
        TokenAction::Revoke { id } => {
            api.act(Method::DELETE, &["tokens", id])?;
            ctx.done(None, &format!("Revoked token {id}."));
        }
    }
    Ok(())
}
