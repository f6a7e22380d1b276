//! `tessera app …`: a tenant's applications — its LDAP service, RADIUS clients and SAML service
//! providers — and the groups bound to them. It only translates arguments into requests under
//! `/tenants/{slug}/applications`. A RADIUS shared secret is read from an environment variable
//! or the terminal, never from the command line, and never printed.

use super::client::Paging;
use super::table::{print_record, show, text, time, Table};
use super::{new_secret, opt_query, ClientArgs, Ctx};
use crate::config::Config;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// `tessera app`.
#[derive(Debug, Args)]
pub struct AppCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: AppAction,
}

/// An application in a tenant.
#[derive(Debug, Args)]
struct AppRef {
    /// The tenant's slug.
    tenant: String,
    /// The application's name.
    name: String,
}

#[derive(Debug, Subcommand)]
enum AppAction {
    /// The applications of a tenant.
    List {
        /// The tenant's slug.
        tenant: String,
        /// Only this kind.
        #[arg(long = "type", value_name = "TYPE", value_parser = ["ldap", "radius", "saml"])]
        kind: Option<String>,
        /// Only names starting with this.
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One application.
    Show {
        #[command(flatten)]
        app: AppRef,
    },
    /// Register a RADIUS client (NAS).
    #[command(
        after_help = "The shared secret (16 to 128 characters) is read from the \
        environment variable named by --secret-env, else asked for twice on the terminal.\n\
        Example:\n  RADIUS_SECRET=... tessera app create-radius contoso ap-lobby --address \
        192.0.2.10 --secret-env RADIUS_SECRET --group wifi"
    )]
    CreateRadius {
        #[command(flatten)]
        app: AppRef,
        /// A source address or network (CIDR) its packets come from (repeatable).
        #[arg(long = "address", value_name = "CIDR", required = true)]
        addresses: Vec<String>,
        /// Read the shared secret from this environment variable.
        #[arg(long, value_name = "VAR")]
        secret_env: Option<String>,
        /// Do not require Message-Authenticator on Access-Requests (old NAS only).
        #[arg(long)]
        no_message_authenticator: bool,
        /// A group whose members may use it (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
    /// Register a SAML service provider.
    CreateSaml {
        #[command(flatten)]
        app: AppRef,
        /// The SP's entity id.
        #[arg(long)]
        entity_id: String,
        /// An assertion consumer service URL (repeatable; the first is the default).
        #[arg(long = "acs", value_name = "URL", required = true)]
        acs: Vec<String>,
        /// The NameID format.
        #[arg(long, value_parser = ["email", "persistent", "transient", "unspecified"])]
        name_id_format: Option<String>,
        /// Send an attribute: SAML-NAME=FIELD (FIELD: email, given_name, family_name,
        /// display_name, username, groups; repeatable).
        #[arg(long = "attribute", value_name = "NAME=FIELD")]
        attributes: Vec<String>,
        /// A group whose members may use it (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
    /// Delete a RADIUS client or SAML SP (the LDAP service stays).
    Delete {
        #[command(flatten)]
        app: AppRef,
    },
    /// Let the members of a group use an application.
    Bind {
        #[command(flatten)]
        app: AppRef,
        /// The group.
        group: String,
    },
    /// Stop a group's members from using an application through that group.
    Unbind {
        #[command(flatten)]
        app: AppRef,
        /// The group.
        group: String,
    },
}

fn bound(a: &Value) -> String {
    a.get("bound_groups")
        .and_then(Value::as_array)
        .map(|gs| {
            gs.iter()
                .map(|g| match text(g, "name") {
                    n if n.is_empty() => text(g, "id"),
                    n => n,
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn detail(a: &Value) -> String {
    let s = a.get("settings").cloned().unwrap_or_default();
    match text(&s, "type").as_str() {
        "radius" => text(&s, "addresses"),
        "saml" => text(&s, "entity_id"),
        "ldap" if s.get("flatten_nested_groups") == Some(&Value::Bool(true)) => {
            "nested groups flattened".into()
        }
        _ => String::new(),
    }
}

fn apps_table(items: &[Value]) -> Table {
    let mut t = Table::new(&["APPLICATION", "TYPE", "DETAIL", "GROUPS"]);
    for a in items {
        t.row(vec![
            text(a, "name"),
            a.pointer("/settings/type").map(show).unwrap_or_default(),
            detail(a),
            bound(a),
        ]);
    }
    t
}

fn show_app(a: &Value) {
    let s = a.get("settings").cloned().unwrap_or_default();
    let mut fields = vec![
        ("application", text(a, "name")),
        ("type", text(&s, "type")),
        ("groups", bound(a)),
    ];
    match text(&s, "type").as_str() {
        "radius" => {
            fields.push(("addresses", text(&s, "addresses")));
            fields.push((
                "secret",
                if s.get("secret_set") == Some(&Value::Bool(true)) {
                    "set (never shown)".into()
                } else {
                    "not set".into()
                },
            ));
            fields.push(("message-auth", text(&s, "require_message_authenticator")));
        }
        "saml" => {
            fields.push(("entity id", text(&s, "entity_id")));
            let acs = s
                .get("acs_urls")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|u| {
                            let d = if u.get("default") == Some(&Value::Bool(true)) {
                                " (default)"
                            } else {
                                ""
                            };
                            format!("[{}] {}{d}", text(u, "index"), text(u, "url"))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            fields.push(("acs", acs));
            fields.push(("name id", text(&s, "name_id_format")));
            let mapping = s
                .get("attribute_mapping")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", show(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            fields.push(("attributes", mapping));
        }
        "ldap" => fields.push(("flatten", text(&s, "flatten_nested_groups"))),
        _ => {}
    }
    fields.push(("id", text(a, "id")));
    fields.push(("updated", time(a, "updated_at")));
    print_record(&fields);
}

/// Runs `tessera app …`.
pub fn run(cmd: &AppCmd, cfg: &Config) -> Result<()> {
    let ctx = Ctx::new(&cmd.client, cfg)?;
    let api = &ctx.api;
    let create = |app: &AppRef, settings: Value, groups: &[String]| -> Result<()> {
        let body = json!({ "name": app.name, "settings": settings, "bound_groups": groups });
        let a = api.send(
            Method::POST,
            &["tenants", &app.tenant, "applications"],
            &body,
        )?;
        ctx.done(
            Some(&a),
            &format!(
                "Registered {} {}/{}{}.",
                a.pointer("/settings/type").map(show).unwrap_or_default(),
                app.tenant,
                app.name,
                match bound(&a) {
                    b if b.is_empty() => " (no group bound: nobody may use it yet)".to_string(),
                    b => format!(" for members of {b}"),
                }
            ),
        );
        Ok(())
    };
    match &cmd.action {
        AppAction::List {
            tenant,
            kind,
            prefix,
            paging,
        } => {
            let mut q = Vec::new();
            opt_query(&mut q, "type", kind.as_deref());
            opt_query(&mut q, "prefix", prefix.as_deref());
            let l = api.list(&["tenants", tenant, "applications"], &q, paging)?;
            ctx.show_list(&l, apps_table);
        }
        AppAction::Show { app } => {
            let a = api.get(&["tenants", &app.tenant, "applications", &app.name], &[])?;
            ctx.show(&a, show_app);
        }
        AppAction::CreateRadius {
            app,
            addresses,
            secret_env,
            no_message_authenticator,
            groups,
        } => {
            let secret = match secret_env {
                Some(var) => {
                    let v = std::env::var(var).map_err(|_| {
                        anyhow!("--secret-env {var}: the environment variable {var} is not set")
                    })?;
                    if v.is_empty() {
                        bail!("--secret-env {var}: the environment variable {var} is empty");
                    }
                    super::client::Secret::new(v)
                }
                None => new_secret("RADIUS shared secret")?,
            };
            let settings = json!({
                "type": "radius",
                "addresses": addresses,
                "secret": secret.expose(),
                "require_message_authenticator": !no_message_authenticator,
            });
            create(app, settings, groups)?;
        }
        AppAction::CreateSaml {
            app,
            entity_id,
            acs,
            name_id_format,
            attributes,
            groups,
        } => {
            let acs_urls: Vec<Value> = acs
                .iter()
                .enumerate()
                .map(|(i, url)| json!({ "index": i, "url": url, "default": i == 0 }))
                .collect();
            let mut mapping = Map::new();
            for a in attributes {
                let (k, v) = a
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--attribute {a:?}: write it as SAML-NAME=FIELD"))?;
                mapping.insert(k.to_string(), json!(v));
            }
            let mut settings = json!({
                "type": "saml",
                "entity_id": entity_id,
                "acs_urls": acs_urls,
                "attribute_mapping": mapping,
            });
            if let (Some(f), Some(obj)) = (name_id_format, settings.as_object_mut()) {
                obj.insert("name_id_format".into(), json!(f));
            }
            create(app, settings, groups)?;
        }
        AppAction::Delete { app } => {
            api.act(
                Method::DELETE,
                &["tenants", &app.tenant, "applications", &app.name],
            )?;
            ctx.done(
                None,
                &format!("Deleted application {}/{}.", app.tenant, app.name),
            );
        }
        AppAction::Bind { app, group } => {
            let a = api.act(
                Method::PUT,
                &[
                    "tenants",
                    &app.tenant,
                    "applications",
                    &app.name,
                    "groups",
                    group,
                ],
            )?;
            ctx.done(
                a.as_ref(),
                &format!("Members of {group} may use {}/{}.", app.tenant, app.name),
            );
        }
        AppAction::Unbind { app, group } => {
            let a = api.act(
                Method::DELETE,
                &[
                    "tenants",
                    &app.tenant,
                    "applications",
                    &app.name,
                    "groups",
                    group,
                ],
            )?;
            ctx.done(
                a.as_ref(),
                &format!("Unbound {group} from {}/{}.", app.tenant, app.name),
            );
        }
    }
    Ok(())
}
