//! The admin CLI's HTTPS client: where the server is (`--url`, the session, the configuration),
//! which certificate to trust (`--ca`), which bearer token to send (`TESSERA_TOKEN`, else the
//! session file `tessera login` wrote), following `next` cursors, and turning RFC 7807 problem
//! documents into readable errors. It must not print or log a token, a password or a step
//! token, and it must not open the store: everything goes through the REST API.

use super::session::{self, Session};
use super::ClientArgs;
use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many pages a listing follows before it stops (with a note) when no `--limit` is given.
pub const MAX_PAGES: usize = 100;

/// The page size asked for while following cursors (the API's maximum).
const PAGE_SIZE: usize = 1000;

/// How long an ordinary request may take; exports get longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A secret held in memory (a token, a password, a code): `Debug` prints `[redacted]`, and the
/// bytes are overwritten when it is dropped (best effort: copies made by the HTTP stack are
/// beyond reach).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Overwrite in place: `clear` keeps the allocation, the zeros go into the same bytes.
        let n = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', n));
        std::hint::black_box(&self.0);
    }
}

/// Where the bearer token of a request came from, for error hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The `TESSERA_TOKEN` environment variable.
    Environment,
    /// The session file written by `tessera login`.
    Session,
    /// No token (the login routes).
    None,
}

/// A refused request: the problem document the API answered with, or a bare status.
pub struct ApiError {
    /// The method and path asked for, to say what failed.
    pub request: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The problem document, when the answer was one.
    pub problem: Option<Value>,
    /// Where the token came from.
    pub token: TokenSource,
}

impl ApiError {
    /// The problem `type` without its `urn:tessera:problem:` prefix, e.g. `not-found`.
    pub fn kind(&self) -> Option<&str> {
        self.problem
            .as_ref()
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .map(|t| t.strip_prefix("urn:tessera:problem:").unwrap_or(t))
    }
}

// By hand: a login step's problem carries a step token and a TOTP seed, which must not print.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("request", &self.request)
            .field("status", &self.status)
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.problem.as_ref();
        let text = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str);
        let title = text("title")
            .map(str::to_string)
            .unwrap_or_else(|| self.status.to_string());
        match text("detail") {
            Some(d) => write!(f, "{title} ({}): {d}", self.status.as_u16())?,
            None => write!(f, "{title} ({})", self.status.as_u16())?,
        }
        if let Some(field) = text("field") {
            write!(f, "\n  field: {field}")?;
        }
        if let Some(what) = text("what") {
            write!(f, "\n  what: {what}")?;
        }
        if let Some(problems) = p.and_then(|p| p.get("problems")).and_then(Value::as_array) {
            for pp in problems {
                let kind = pp.get("kind").and_then(Value::as_str).unwrap_or("problem");
                let msg = pp.get("message").and_then(Value::as_str).unwrap_or("");
                write!(f, "\n  - {kind}: {msg}")?;
            }
        }
        if let Some(missing) = p.and_then(|p| p.get("missing")).and_then(Value::as_array) {
            let names: Vec<&str> = missing.iter().filter_map(Value::as_str).collect();
            write!(f, "\n  rights you lack there: {}", names.join(", "))?;
        }
        write!(f, "\n  request: {}", self.request)?;
        if self.status == StatusCode::UNAUTHORIZED && self.kind() == Some("unauthenticated") {
            match self.token {
                TokenSource::Environment => write!(
                    f,
                    "\n  hint: the token in TESSERA_TOKEN does not work (expired or revoked?)"
                )?,
                TokenSource::Session => write!(
                    f,
                    "\n  hint: the saved session has ended; log in again with `tessera login`"
                )?,
                TokenSource::None => {}
            }
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A page of a listing, or every page of it followed.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The items.
    pub items: Vec<Value>,
    /// The cursor of the next page, when more is left.
    pub next: Option<String>,
    /// Whether following stopped at [`MAX_PAGES`] with more left.
    pub truncated: bool,
}

impl Listing {
    /// The listing as the API's page shape: `{"items": [...], "next": ...}`.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::json!({ "items": self.items });
        if let (Some(n), Some(obj)) = (&self.next, v.as_object_mut()) {
            obj.insert("next".into(), Value::String(n.clone()));
        }
        v
    }
}

/// Paging options of a list command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Paging {
    /// Fetch one page of at most this many items (default: follow every page, up to 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// With --limit: continue after this cursor (printed when more is left).
    #[arg(long, requires = "limit")]
    pub after: Option<String>,
}

/// A client of one server's admin API.
#[derive(Debug)]
pub struct Api {
    http: Client,
    /// The server as the user names it, without `/api/v1`.
    root: Url,
    token: Option<Secret>,
    source: TokenSource,
    ca: Option<PathBuf>,
}

/// `https://host:port` of a configuration's listener (a wildcard address is reached on
/// loopback).
pub fn default_url(cfg: &Config) -> String {
    let mut addr = cfg.http.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let scheme = if cfg.http.plain_http { "http" } else { "https" };
    format!("{scheme}://{addr}")
}

/// The server's root URL from what the user gave: `/api/v1` at the end is accepted and cut.
pub fn parse_root(s: &str) -> Result<Url> {
    let mut url = Url::parse(s.trim()).with_context(|| format!("{s:?} is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        bail!("{s:?}: the server URL must start with https://");
    }
    let path = url.path().trim_end_matches('/').to_string();
    let path = path.strip_suffix("/api/v1").unwrap_or(&path).to_string();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// A root URL as shown to the user (no trailing `/`).
pub fn shown(u: &Url) -> &str {
    u.as_str().trim_end_matches('/')
}

/// The same server?
pub fn same_server(a: &Url, b: &Url) -> bool {
    a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/')
}

/// Reads the `TESSERA_TOKEN` environment variable (empty counts as unset).
fn env_token() -> Option<Secret> {
    std::env::var("TESSERA_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

impl Api {
    /// A client for the server the arguments, the session and the configuration name, with the
    /// token of `TESSERA_TOKEN` or of the session. With `need_token`, no token is an error.
    pub fn connect(args: &ClientArgs, cfg: &Config, need_token: bool) -> Result<Api> {
        // A damaged session file must not stand in the way of the login that replaces it.
        let saved = match session::load() {
            Ok(s) => s,
            Err(_) if !need_token => None,
            Err(e) => return Err(e),
        };
        let root = match (&args.url, &saved) {
            (Some(u), _) => parse_root(u)?,
            (None, Some(s)) => parse_root(&s.url)?,
            (None, None) => parse_root(&default_url(cfg))?,
        };
        let saved = saved.filter(|s| parse_root(&s.url).is_ok_and(|u| same_server(&u, &root)));
        let ca = match (&args.ca, &saved) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(s)) if s.ca.is_some() => s.ca.clone(),
            (None, _) => {
                let (cert, _) = cfg.tls_paths();
                cert.exists().then_some(cert)
            }
        };
        let (token, source) = match (env_token(), saved) {
            (Some(t), _) => (Some(t), TokenSource::Environment),
            (None, Some(s)) => (Some(s.token), TokenSource::Session),
            (None, None) => (None, TokenSource::None),
        };
        if need_token && token.is_none() {
            bail!(
                "not logged in to {}: run `tessera login --tenant SLUG --user NAME`, or set \
                 TESSERA_TOKEN to a personal access token",
                shown(&root)
            );
        }
        Api::new(root, ca, token, source)
    }

    /// A client for `root` trusting `ca` (or the system's roots when none), sending `token`.
    pub fn new(
        root: Url,
        ca: Option<PathBuf>,
        token: Option<Secret>,
        source: TokenSource,
    ) -> Result<Api> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("tessera-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &ca {
            let pem = std::fs::read(ca).with_context(|| {
                format!(
                    "reading the certificate to trust, {} (set it with --ca or TESSERA_CA)",
                    ca.display()
                )
            })?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
            // Trust exactly this certificate: the server's own, or the CA that signed it.
            b = b.tls_certs_only([cert]);
        }
        let http = b.build().context("building the HTTPS client")?;
        Ok(Api {
            http,
            root,
            token,
            source,
            ca,
        })
    }

    /// The server's root URL.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The certificate trusted, if one was given.
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// Where the token came from.
    pub fn token_source(&self) -> TokenSource {
        self.source
    }

    /// The URL of `/api/v1/<segments>`, each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.root.clone();
        {
            let mut p = url
                .path_segments_mut()
                .map_err(|_| anyhow!("{} cannot hold a path", self.root))?;
            p.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        Ok(url)
    }

    fn request(&self, method: Method, segments: &[&str], query: &[(&str, String)]) -> Result<Req> {
        let url = self.url(segments)?;
        let shown = format!("{method} {}", url.path());
        let mut rb = self.http.request(method, url);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t.expose());
        }
        Ok(Req { rb, shown })
    }

    fn finish(&self, req: Req) -> Result<Response> {
        let Req { rb, shown } = req;
        let res = rb.send().map_err(|e| self.transport_error(&shown, &e))?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let body = res.bytes().unwrap_or_default();
        let problem = serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(Value::is_object);
        Err(ApiError {
            request: shown,
            status,
            problem,
            token: self.source,
        }
        .into())
    }

    fn transport_error(&self, shown: &str, e: &reqwest::Error) -> anyhow::Error {
        let mut chain = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        let hint = if chain.contains("certificate") || chain.contains("UnknownIssuer") {
            match &self.ca {
                Some(ca) => format!(
                    "\n  hint: the server's certificate is not the one in {} (see --ca)",
                    ca.display()
                ),
                None => "\n  hint: name the server's certificate with --ca or TESSERA_CA \
                         (tessera serve prints its path)"
                    .to_string(),
            }
        } else if e.is_connect() {
            format!(
                "\n  hint: is `tessera serve` running at {}? (see --url or TESSERA_URL)",
                self::shown(&self.root)
            )
        } else {
            String::new()
        };
        anyhow!(
            "cannot reach {}: {chain}\n  request: {shown}{hint}",
            self::shown(&self.root)
        )
    }

    /// Sends a request and returns the answer's JSON (`None` for an empty answer, e.g. 204).
    pub fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        let mut req = self.request(method, segments, query)?;
        if let Some(b) = body {
            req.rb = req.rb.json(b);
        }
        let shown = req.shown.clone();
        let res = self.finish(req)?;
        let bytes = res.bytes().map_err(|e| self.transport_error(&shown, &e))?;
        if bytes.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{shown}: the answer is not JSON"))
    }

    /// GET, expecting a JSON answer.
    pub fn get(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Value> {
        self.call(Method::GET, segments, query, None)?
            .ok_or_else(|| anyhow!("GET {}: empty answer", segments.join("/")))
    }

    /// A request with a JSON body, expecting a JSON answer.
    pub fn send(&self, method: Method, segments: &[&str], body: &Value) -> Result<Value> {
        let what = format!("{method} {}", segments.join("/"));
        self.call(method, segments, &[], Some(body))?
            .ok_or_else(|| anyhow!("{what}: empty answer"))
    }

    /// A request without a body whose answer may be empty.
    pub fn act(&self, method: Method, segments: &[&str]) -> Result<Option<Value>> {
        self.call(method, segments, &[], None)
    }

    /// A listing: one page when `paging.limit` is given, else every page (up to
    /// [`MAX_PAGES`]).
    pub fn list(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        paging: &Paging,
    ) -> Result<Listing> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        if let Some(limit) = paging.limit {
            q.push(("limit", limit.to_string()));
            if let Some(a) = &paging.after {
                q.push(("after", a.clone()));
            }
            let page = self.get(segments, &q)?;
            return Ok(Listing {
                items: items_of(&page),
                next: next_of(&page),
                truncated: false,
            });
        }
        q.push(("limit", PAGE_SIZE.to_string()));
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut pq = q.clone();
            if let Some(a) = &after {
                pq.push(("after", a.clone()));
            }
            let page = self.get(segments, &pq)?;
            items.extend(items_of(&page));
            match next_of(&page) {
                Some(n) => after = Some(n),
                None => {
                    return Ok(Listing {
                        items,
                        next: None,
                        truncated: false,
                    })
                }
            }
        }
        Ok(Listing {
            items,
            next: after,
            truncated: true,
        })
    }

    /// Streams an answer's body into `out` (for exports).
    pub fn download(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        out: &mut dyn std::io::Write,
    ) -> Result<u64> {
        let mut req = self.request(Method::GET, segments, query)?;
        req.rb = req.rb.timeout(Duration::from_secs(3600));
        let shown = req.shown.clone();
        let mut res = self.finish(req)?;
        res.copy_to(out)
            .map_err(|e| self.transport_error(&shown, &e))
    }

    /// The session a login answered with, saved for the next commands.
    pub fn session_of(&self, answer: &Value) -> Result<Session> {
        let token = answer
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("the login answer holds no token"))?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        Ok(Session {
            url: shown(&self.root).to_string(),
            ca: self
                .ca
                .as_ref()
                .map(|c| std::path::absolute(c).unwrap_or(c.clone())),
            token: Secret::new(token),
            tenant: text(answer.pointer("/tenant/slug")),
            username: text(answer.pointer("/user/username")),
            expires_at: text(answer.get("expires_at")),
        })
    }
}

struct Req {
    rb: RequestBuilder,
    shown: String,
}

fn items_of(page: &Value) -> Vec<Value> {
    page.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn next_of(page: &Value) -> Option<String> {
    page.get("next").and_then(Value::as_str).map(str::to_string)
}

/// The problem kind of an error, when it is a refusal by the API.
pub fn problem_kind(e: &anyhow::Error) -> Option<String> {
    e.downcast_ref::<ApiError>()
        .and_then(|a| a.kind().map(str::to_string))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn roots_accept_the_api_prefix() {
        let a = parse_root("https://127.0.0.1:8443").unwrap();
        let b = parse_root("https://127.0.0.1:8443/api/v1/").unwrap();
        assert!(same_server(&a, &b));
        assert!(parse_root("ftp://x").is_err());
        let api = Api::new(a, None, None, TokenSource::None).unwrap();
        assert_eq!(
            api.url(&["tenants", "acme", "roles", "Helpdesk Operator"])
                .unwrap()
                .as_str(),
            "https://127.0.0.1:8443/api/v1/tenants/acme/roles/Helpdesk%20Operator"
        );
        assert_eq!(
            api.url(&["tenants", "a/b"]).unwrap().path(),
            "/api/v1/tenants/a%2Fb"
        );
    }

    #[test]
    fn problems_read_well_and_secrets_do_not_print() {
        let e = ApiError {
            request: "PUT /api/v1/tenants/contoso/users/dave/password".into(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problem: Some(serde_json::json!({
                "type": "urn:tessera:problem:weak-password",
                "title": "Weak password",
                "status": 422,
                "detail": "the password does not meet the tenant's policy",
                "problems": [{"kind": "too_short", "message": "at least 16 characters", "min": 16}],
                "step_token": "tsr_secret"
            })),
            token: TokenSource::Session,
        };
        let text = e.to_string();
        assert!(text.starts_with("Weak password (422): the password does not meet"));
        assert!(text.contains("- too_short: at least 16 characters"));
        assert!(!text.contains("tsr_secret"));
        assert_eq!(e.kind(), Some("weak-password"));
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
    }
}
