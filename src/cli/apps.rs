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
use std::path::{Path, PathBuf};

/// `tessera app`.
#[derive(Debug, Args)]
pub struct AppCmd {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    action: AppAction,
}

/// A SAML service provider's metadata and security options, for create-saml and update-saml.
#[derive(Debug, Args)]
struct SamlOptions {
    /// The SP's metadata XML (its EntityDescriptor): entity id, ACS URLs, SLO URL, certificate,
    /// signed requests and NameID format are taken from it; options given here win.
    #[arg(long, value_name = "FILE")]
    metadata: Option<PathBuf>,
    /// The SP's single logout URL (HTTP-Redirect).
    #[arg(long, value_name = "URL")]
    slo_url: Option<String>,
    /// The SP's certificate (PEM file): its signed requests are checked with it, encrypted
    /// assertions are encrypted to it.
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// Refuse AuthnRequests not signed with the SP's certificate (true or false).
    #[arg(long, value_name = "BOOL")]
    require_signed_requests: Option<bool>,
    /// Sign the whole Response (true or false; default true).
    #[arg(long, value_name = "BOOL")]
    sign_response: Option<bool>,
    /// Sign the Assertion (true or false; default true).
    #[arg(long, value_name = "BOOL")]
    sign_assertion: Option<bool>,
    /// Encrypt the Assertion to the SP's certificate (true or false; default false).
    #[arg(long, value_name = "BOOL")]
    encrypt_assertion: Option<bool>,
    /// Send only these groups in the `groups` attribute: a name, or a prefix ending in `*`
    /// (repeatable; default: every group of the user).
    #[arg(long = "groups-filter", value_name = "GROUP")]
    groups_filter: Vec<String>,
}

fn read_file(flag: &str, path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow!("{flag} {}: {e}", path.display()))
}

impl SamlOptions {
    /// The fields these options set, into a SAML settings object.
    fn write_into(&self, s: &mut Map<String, Value>) -> Result<()> {
        if let Some(f) = &self.metadata {
            s.insert("metadata".into(), json!(read_file("--metadata", f)?));
        }
        if let Some(u) = &self.slo_url {
            s.insert("slo_url".into(), json!(u));
        }
        if let Some(f) = &self.certificate {
            s.insert("certificate".into(), json!(read_file("--certificate", f)?));
        }
        for (k, v) in [
            ("require_signed_requests", self.require_signed_requests),
            ("sign_response", self.sign_response),
            ("sign_assertion", self.sign_assertion),
            ("encrypt_assertion", self.encrypt_assertion),
        ] {
            if let Some(v) = v {
                s.insert(k.into(), json!(v));
            }
        }
        if !self.groups_filter.is_empty() {
            s.insert("groups_filter".into(), json!(self.groups_filter));
        }
        Ok(())
    }
}

fn acs_urls(acs: &[String]) -> Value {
    acs.iter()
        .enumerate()
        .map(|(i, url)| json!({ "index": i, "url": url, "default": i == 0 }))
        .collect()
}

/// SAML settings with the fields given on the command line.
fn saml_settings(
    entity_id: Option<&str>,
    acs: &[String],
    name_id_format: Option<&str>,
) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("type".into(), json!("saml"));
    if let Some(e) = entity_id {
        s.insert("entity_id".into(), json!(e));
    }
    if !acs.is_empty() {
        s.insert("acs_urls".into(), acs_urls(acs));
    }
    if let Some(f) = name_id_format {
        s.insert("name_id_format".into(), json!(f));
    }
    s
}

fn attribute_mapping(attributes: &[String]) -> Result<Map<String, Value>> {
    let mut mapping = Map::new();
    for a in attributes {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| anyhow!("--attribute {a:?}: write it as SAML-NAME=FIELD"))?;
        mapping.insert(k.to_string(), json!(v));
    }
    Ok(mapping)
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
    /// Register a SAML service provider, from its settings or its metadata XML.
    #[command(
        after_help = "Examples:\n  tessera app create-saml contoso wiki --metadata \
        wiki-sp.xml --attribute mail=email --group staff\n  tessera app create-saml contoso crm \
        --entity-id https://crm.example/sp --acs https://crm.example/acs --certificate crm.pem \
        --require-signed-requests true"
    )]
    CreateSaml {
        #[command(flatten)]
        app: AppRef,
        /// The SP's entity id (required without --metadata).
        #[arg(long, required_unless_present = "metadata")]
        entity_id: Option<String>,
        /// An assertion consumer service URL (repeatable; the first is the default; required
        /// without --metadata).
        #[arg(long = "acs", value_name = "URL", required_unless_present = "metadata")]
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
        #[command(flatten)]
        options: SamlOptions,
    },
    /// Change a SAML service provider: only what is given changes (--metadata re-reads the
    /// SP's metadata; options given beside it win).
    UpdateSaml {
        #[command(flatten)]
        app: AppRef,
        /// A new entity id.
        #[arg(long)]
        entity_id: Option<String>,
        /// Replace the ACS URLs (repeatable; the first is the default).
        #[arg(long = "acs", value_name = "URL")]
        acs: Vec<String>,
        /// A new NameID format.
        #[arg(long, value_parser = ["email", "persistent", "transient", "unspecified"])]
        name_id_format: Option<String>,
        /// Replace the attribute mapping: SAML-NAME=FIELD (repeatable).
        #[arg(long = "attribute", value_name = "NAME=FIELD")]
        attributes: Vec<String>,
        #[command(flatten)]
        options: SamlOptions,
        /// Remove the SLO URL.
        #[arg(long, conflicts_with = "slo_url")]
        no_slo_url: bool,
        /// Remove the SP's certificate.
        #[arg(long, conflicts_with = "certificate")]
        no_certificate: bool,
        /// Send every group of the user again (remove the groups filter).
        #[arg(long, conflicts_with = "groups_filter")]
        all_groups: bool,
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
            let opt = |k: &str| match s.get(k) {
                None | Some(Value::Null) => "-".to_string(),
                Some(v) => show(v),
            };
            fields.push(("slo url", opt("slo_url")));
            fields.push((
                "certificate",
                if text(&s, "certificate").is_empty() {
                    "none".into()
                } else {
                    "registered".into()
                },
            ));
            fields.push(("signed requests", opt("require_signed_requests")));
            fields.push(("sign response", opt("sign_response")));
            fields.push(("sign assertion", opt("sign_assertion")));
            fields.push(("encrypt", opt("encrypt_assertion")));
            fields.push((
                "groups filter",
                match opt("groups_filter") {
                    f if f.is_empty() => "all groups".into(),
                    f => f,
                },
            ));
        }
        "ldap" => fields.push(("flatten", text(&s, "flatten_nested_groups"))),
        _ => {}
    }
    fields.push(("id", text(a, "id")));
    fields.push(("updated", time(a, "updated_at")));
    print_record(&fields);
}

/// What an SP's metadata held that was not taken, on stderr (not in `--json` output).
fn print_notes(ctx: &Ctx, a: &Value) {
    if ctx.json {
        return;
    }
    for n in a
        .get("notes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        eprintln!("note: {}", show(n));
    }
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
        print_notes(&ctx, &a);
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
            options,
        } => {
            let mut s = saml_settings(entity_id.as_deref(), acs, name_id_format.as_deref());
            s.insert(
                "attribute_mapping".into(),
                attribute_mapping(attributes)?.into(),
            );
            options.write_into(&mut s)?;
            create(app, Value::Object(s), groups)?;
        }
        AppAction::UpdateSaml {
            app,
            entity_id,
            acs,
            name_id_format,
            attributes,
            options,
            no_slo_url,
            no_certificate,
            all_groups,
        } => {
            let mut s = saml_settings(entity_id.as_deref(), acs, name_id_format.as_deref());
            if !attributes.is_empty() {
                s.insert(
                    "attribute_mapping".into(),
                    attribute_mapping(attributes)?.into(),
                );
            }
            options.write_into(&mut s)?;
            if *no_slo_url {
                s.insert("slo_url".into(), Value::Null);
            }
            if *no_certificate {
                s.insert("certificate".into(), Value::Null);
            }
            if *all_groups {
                s.insert("groups_filter".into(), json!([]));
            }
            let a = api.send(
                Method::PATCH,
                &["tenants", &app.tenant, "applications", &app.name],
                &json!({ "settings": s }),
            )?;
            ctx.done(
                Some(&a),
                &format!("Changed SAML application {}/{}.", app.tenant, app.name),
            );
            print_notes(&ctx, &a);
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
