//! The HTTP endpoints of every tenant's IdP and the login they drive: metadata, SSO (Redirect
//! and POST), the login page with its TOTP step, IdP-initiated starts, and single logout (SP-
//! and IdP-initiated). Work that touches the
//! directory (sled, argon2, xmlsec) runs on the blocking pool. Every decision about a user is
//! the core's: `Directory::authenticate_for_challenge` / `complete_mfa` for credentials, the SSO
//! session service for a second SP.

use crate::error::{from_directory, Error, SamlStatus};
use crate::flows::{Flow, FlowId, Form as Shown, Pending, Step, FLOW_TTL_SECS};
use crate::html::{self, Notice};
use crate::idp::Idp;
use crate::request::{self, Incoming};
use crate::response::{self, Audience, Subject};
use crate::slo;
use crate::SamlState;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use tessera_directory::model::{AppKind, Application, GroupId, SessionSecret, User};
use tessera_directory::policy::Timestamp;
use tessera_directory::{
    Actor, AuthRequest, Directory, MfaNeed, Outcome, Protocol, SessionUse, TenantRef,
};

const SESSION_COOKIE: &str = "tessera_saml_session";
const FLOW_COOKIE: &str = "tessera_saml_flow";

/// Where the request came from (set by the listener as `ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Source(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

fn set_cookie(r: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn error_page(e: &Error) -> Response {
    if let Error::Crypto(detail) = e {
        tracing::error!(%detail, "SAML signing failed");
    }
    html::message(e.http_status(), "Sign-in not possible", &e.public_text())
}

/// Runs `f` on the blocking pool with the state; a panic there is a 500, not a crash.
async fn blocking(
    st: SamlState,
    f: impl FnOnce(&SamlState) -> Response + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || f(&st)).await {
        Ok(r) => r,
        Err(_) => error_page(&Error::Crypto("a worker failed".into())),
    }
}

fn resolve(st: &SamlState, slug: &str) -> Result<Idp, Error> {
    if slug.is_empty() || slug.len() > 64 {
        return Err(Error::UnknownTenant);
    }
    let dir = st.dir();
    match dir.tenants().resolve(&Actor::system(), slug) {
        Ok(t) => Ok(Idp::new(&st.config().base_url, t, slug)),
        Err(tessera_directory::Error::NotFound) => Err(Error::UnknownTenant),
        Err(e) => Err(from_directory(e)),
    }
}

fn saml_app(
    dir: &Directory,
    idp: &Idp,
    app: tessera_directory::model::AppId,
) -> Result<Application, Error> {
    let a = dir
        .applications()
        .get(&Actor::system(), idp.tenant, app)
        .map_err(from_directory)?;
    match &a.kind {
        AppKind::Saml(_) => Ok(a),
        AppKind::Ldap(_) | AppKind::Radius(_) => Err(Error::UnknownApplication),
    }
}

/// A Response (success or a status) posted to the SP's registered ACS URL.
enum Answer<'a> {
    Success {
        user: &'a User,
        groups: &'a [GroupId],
        mfa: bool,
        authn_instant: Timestamp,
        session_index: &'a str,
    },
    Status(SamlStatus),
}

fn answer(st: &SamlState, idp: &Idp, pending: &Pending, a: Answer<'_>) -> Result<Response, Error> {
    let dir = st.dir();
    let app = saml_app(dir, idp, pending.app)?;
    let AppKind::Saml(sp) = &app.kind else {
        return Err(Error::UnknownApplication);
    };
    let key = idp.key(dir)?;
    let aud = Audience {
        sp,
        acs_url: &pending.acs_url,
        in_response_to: pending.in_response_to.as_deref(),
    };
    let now = dir.now();
    let xml = match a {
        Answer::Success {
            user,
            groups,
            mfa,
            authn_instant,
            session_index,
        } => {
            let mut names = Vec::new();
            for g in groups {
                match dir.groups().get(&Actor::system(), idp.tenant, *g) {
                    Ok(g) => names.push(g.name),
                    // Deleted since the login: not a group any more.
                    Err(tessera_directory::Error::NotFound) => {}
                    Err(e) => return Err(from_directory(e)),
                }
            }
            names.sort();
            let s = Subject {
                user,
                groups: names,
                mfa,
                authn_instant,
                session_index,
            };
            response::success(idp, &key, &aud, &s, now)?
        }
        Answer::Status(status) => response::failure(idp, &key, &aud, status, now)?,
    };
    Ok(html::post_form(
        &pending.acs_url,
        &response::encode(&xml),
        pending.relay_state.as_deref(),
    ))
}

fn or_page(r: Result<Response, Error>) -> Response {
    r.unwrap_or_else(|e| error_page(&e))
}

/// After a valid request: an existing session answers at once; otherwise the login page.
fn continue_login(
    st: &SamlState,
    idp: &Idp,
    pending: Pending,
    (force_authn, is_passive): (bool, bool),
    headers: &HeaderMap,
    source: Option<IpAddr>,
) -> Response {
    let dir = st.dir();
    if let (false, Some(secret)) = (force_authn, cookie(headers, SESSION_COOKIE)) {
        let secret = SessionSecret::new(secret);
        match dir
            .saml()
            .resume_session(&Actor::system(), idp.tenant, &secret, pending.app, source)
        {
            Ok(SessionUse::Granted(l)) => {
                let a = Answer::Success {
                    user: &l.user,
                    groups: &l.groups,
                    mfa: l.session.mfa,
                    authn_instant: l.session.authn_instant,
                    session_index: &l.session.index,
                };
                return or_page(answer(st, idp, &pending, a));
            }
            Ok(SessionUse::NotAllowed) => {
                return or_page(answer(
                    st,
                    idp,
                    &pending,
                    Answer::Status(SamlStatus::RequestDenied),
                ))
            }
            Err(tessera_directory::Error::Unauthenticated) => {}
            Err(e) => return error_page(&from_directory(e)),
        }
    }
    if is_passive {
        return or_page(answer(
            st,
            idp,
            &pending,
            Answer::Status(SamlStatus::NoPassive),
        ));
    }
    let id = match st.flows().start(pending, dir.now()) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    let Some((csrf, _)) = st.flows().peek(&id, idp.tenant, dir.now()) else {
        return error_page(&Error::BadFlow);
    };
    let mut r = html::login_form(&login_action(idp), &idp.slug, &csrf, Notice::None);
    set_cookie(
        &mut r,
        format!(
            "{FLOW_COOKIE}={}; Path={}; Max-Age={FLOW_TTL_SECS}; Secure; HttpOnly; SameSite=Lax",
            id.expose(),
            idp.cookie_path()
        ),
    );
    r
}

fn login_action(idp: &Idp) -> String {
    format!("/saml/{}/login", idp.slug)
}

fn sso(
    st: &SamlState,
    slug: &str,
    incoming: Incoming<'_>,
    headers: &HeaderMap,
    source: Option<IpAddr>,
) -> Response {
    let idp = match resolve(st, slug) {
        Ok(i) => i,
        Err(e) => return error_page(&e),
    };
    let dir = st.dir();
    match request::validate(dir, &idp, incoming, dir.now()) {
        Ok((_, v)) => {
            let flags = (v.force_authn, v.is_passive);
            let pending = Pending {
                tenant: idp.tenant,
                app: v.app,
                acs_url: v.acs_url,
                in_response_to: Some(v.request_id),
                relay_state: v.relay_state,
            };
            continue_login(st, &idp, pending, flags, headers, source)
        }
        Err(e) => {
            tracing::info!(tenant = %slug, error = %e, "SAML AuthnRequest refused");
            error_page(&e)
        }
    }
}

pub(crate) async fn metadata(State(st): State<SamlState>, Path(slug): Path<String>) -> Response {
    blocking(st, move |st| {
        let r = resolve(st, &slug).and_then(|idp| Ok((idp.key(st.dir())?, idp)));
        match r {
            Ok((key, idp)) => {
                let mut r = idp.metadata(&key).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/samlmetadata+xml"),
                );
                r
            }
            Err(e) => error_page(&e),
        }
    })
    .await
}

pub(crate) async fn sso_redirect(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
    Source(source): Source,
    headers: HeaderMap,
) -> Response {
    blocking(st, move |st| {
        let q = q.unwrap_or_default();
        sso(st, &slug, Incoming::Redirect(&q), &headers, source)
    })
    .await
}

/// The HTTP-POST binding's form.
#[derive(Debug, Deserialize)]
pub(crate) struct SsoForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

pub(crate) async fn sso_post(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    Source(source): Source,
    headers: HeaderMap,
    form: Result<Form<SsoForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(&Error::Malformed("not a SAML HTTP-POST form"));
    };
    blocking(st, move |st| {
        let incoming = Incoming::Post {
            saml_request: &form.saml_request,
            relay_state: form.relay_state.as_deref(),
        };
        sso(st, &slug, incoming, &headers, source)
    })
    .await
}

/// Shows the form of the login in progress again (a reload).
pub(crate) async fn login_page(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(st, move |st| {
        let idp = match resolve(st, &slug) {
            Ok(i) => i,
            Err(e) => return error_page(&e),
        };
        let found = cookie(&headers, FLOW_COOKIE).and_then(|id| {
            st.flows()
                .peek(&FlowId::new(id), idp.tenant, st.dir().now())
        });
        match found {
            Some((csrf, Shown::Password)) => {
                html::login_form(&login_action(&idp), &idp.slug, &csrf, Notice::None)
            }
            Some((csrf, Shown::Code)) => html::code_form(&login_action(&idp), &csrf, Notice::None),
            Some((csrf, Shown::ChangePassword)) => {
                html::change_form(&login_action(&idp), &csrf, Notice::None, &[])
            }
            None => error_page(&Error::BadFlow),
        }
    })
    .await
}

/// A submission of the login form or the code form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    username: Option<String>,
    password: Option<String>,
    code: Option<String>,
    new_password: Option<String>,
    confirm: Option<String>,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("code", &"[redacted]")
            .field("new_password", &"[redacted]")
            .finish()
    }
}

pub(crate) async fn login_submit(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    Source(source): Source,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(&Error::BadFlow);
    };
    blocking(st, move |st| {
        let idp = match resolve(st, &slug) {
            Ok(i) => i,
            Err(e) => return error_page(&e),
        };
        let Some(id) = cookie(&headers, FLOW_COOKIE).map(FlowId::new) else {
            return error_page(&Error::BadFlow);
        };
        match st.flows().take(&id, &form.csrf, idp.tenant, st.dir().now()) {
            Ok(flow) => step(st, &idp, id, flow, &form, source),
            Err(e) => error_page(&e),
        }
    })
    .await
}

/// One step of a login: the flow's state is consumed; the next is put back when there is one.
fn step(
    st: &SamlState,
    idp: &Idp,
    mut id: FlowId,
    mut flow: Flow,
    form: &LoginForm,
    source: Option<IpAddr>,
) -> Response {
    let dir = st.dir();
    let action = login_action(idp);
    let state = std::mem::replace(&mut flow.step, Step::Password);
    let outcome = match state {
        Step::Password => {
            let (Some(username), Some(password)) = (&form.username, &form.password) else {
                let csrf = flow.csrf().to_string();
                st.flows().put(id, flow, Step::Password);
                return html::login_form(&action, &idp.slug, &csrf, Notice::Failed);
            };
            match check_password(st, idp, (id, flow), username.trim(), password, source) {
                Ok((o, f, i)) => {
                    flow = f;
                    id = i;
                    o
                }
                Err(page) => return *page,
            }
        }
        Step::ChangePassword(user) => {
            match change_password(st, idp, (id, flow), user, form, source) {
                Ok((o, f, i)) => {
                    flow = f;
                    id = i;
                    o
                }
                Err(page) => return *page,
            }
        }
        Step::Code(p) => {
            let code = form.code.as_deref().unwrap_or("").trim();
            match dir.complete_mfa(p, code, source) {
                Ok(o) => o,
                Err(e) => return error_page(&from_directory(e)),
            }
        }
    };
    match outcome {
        Outcome::Success(a) => finish(st, idp, &flow.pending, &a.user, &a.groups, a.mfa),
        Outcome::NotAllowed => or_page(answer(
            st,
            idp,
            &flow.pending,
            Answer::Status(SamlStatus::RequestDenied),
        )),
        Outcome::MfaRequired(MfaNeed::Enrolment) => html::message(
            StatusCode::FORBIDDEN,
            "Authenticator app required",
            "Your organisation requires a code from an authenticator app, and none is set up \
             for your account yet. Set it up by signing in to the Tessera console (or ask your \
             administrator), then start again from the application.",
        ),
        Outcome::Expired { user } => {
            let csrf = flow.csrf().to_string();
            st.flows().put(id, flow, Step::ChangePassword(user));
            html::change_form(&action, &csrf, Notice::None, &[])
        }
        Outcome::Busy => {
            let csrf = flow.csrf().to_string();
            st.flows().put(id, flow, Step::Password);
            let mut r = html::login_form(&action, &idp.slug, &csrf, Notice::Failed);
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r
        }
        // One answer for every refused credential; the audit log has the reason.
        Outcome::BadCredentials
        | Outcome::Locked { .. }
        | Outcome::Suspended
        | Outcome::MfaFailed
        | Outcome::MfaRequired(MfaNeed::Code) => {
            let csrf = flow.csrf().to_string();
            st.flows().put(id, flow, Step::Password);
            html::login_form(&action, &idp.slug, &csrf, Notice::Failed)
        }
    }
}

/// A login's flow and its id, carried through a step.
type Carried = (FlowId, Flow);

/// The password step through the core's one authentication call: the outcome, or — when a TOTP
/// code is needed — the code form (the flow put back at that step).
fn check_password(
    st: &SamlState,
    idp: &Idp,
    (id, flow): Carried,
    username: &str,
    password: &str,
    source: Option<IpAddr>,
) -> Result<(Outcome, Flow, FlowId), Box<Response>> {
    let req = AuthRequest {
        tenant: TenantRef::Id(idp.tenant),
        username,
        secret: password,
        second_factor: None,
        protocol: Protocol::Saml,
        application: Some(flow.pending.app),
        source,
    };
    match st.dir().authenticate_for_challenge(&req) {
        Ok((Outcome::MfaRequired(MfaNeed::Code), Some(p))) => {
            let csrf = flow.csrf().to_string();
            st.flows().put(id, flow, Step::Code(p));
            Err(Box::new(html::code_form(
                &login_action(idp),
                &csrf,
                Notice::None,
            )))
        }
        Ok((o, _)) => Ok((o, flow, id)),
        Err(e) => Err(Box::new(error_page(&from_directory(e)))),
    }
}

/// The expired-password step: the current password and a new one (twice) through the core's
/// password change (policy, history, lockout on a wrong current one), then the login goes on
/// with the new password through the one authentication call.
fn change_password(
    st: &SamlState,
    idp: &Idp,
    (id, flow): Carried,
    user: tessera_directory::model::UserId,
    form: &LoginForm,
    source: Option<IpAddr>,
) -> Result<(Outcome, Flow, FlowId), Box<Response>> {
    let dir = st.dir();
    let action = login_action(idp);
    let again = |flow: Flow, id: FlowId, notice: Notice, problems: &[String]| {
        let csrf = flow.csrf().to_string();
        st.flows().put(id, flow, Step::ChangePassword(user));
        html::change_form(&action, &csrf, notice, problems)
    };
    let (Some(current), Some(new), Some(confirm)) =
        (&form.password, &form.new_password, &form.confirm)
    else {
        return Err(Box::new(again(flow, id, Notice::Failed, &[])));
    };
    if new != confirm {
        let differ = ["the two new passwords differ".to_string()];
        return Err(Box::new(again(flow, id, Notice::None, &differ)));
    }
    let me = Actor::user(idp.tenant, user, source, Protocol::Saml);
    match dir
        .credentials()
        .change_password(&me, idp.tenant, user, current, new)
    {
        Ok(()) => {}
        Err(tessera_directory::Error::WeakPassword(problems)) => {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(Box::new(again(flow, id, Notice::None, &problems)));
        }
        Err(tessera_directory::Error::WrongCredentials | tessera_directory::Error::Busy) => {
            return Err(Box::new(again(flow, id, Notice::Failed, &[])));
        }
        Err(e) => return Err(Box::new(error_page(&from_directory(e)))),
    }
    let username = match dir.users().get(&Actor::system(), idp.tenant, user) {
        Ok(u) => u.username,
        Err(e) => return Err(Box::new(error_page(&from_directory(e)))),
    };
    check_password(st, idp, (id, flow), &username, new, source)
}

/// A login succeeded: open the SSO session and post the assertion.
fn finish(
    st: &SamlState,
    idp: &Idp,
    pending: &Pending,
    user: &User,
    groups: &[GroupId],
    mfa: bool,
) -> Response {
    let dir = st.dir();
    let limits = st.config().session;
    let opened = dir.saml().open_session(
        &Actor::system(),
        idp.tenant,
        (user.id, pending.app),
        mfa,
        limits,
    );
    let (secret, session) = match opened {
        Ok(s) => s,
        Err(e) => return error_page(&from_directory(e)),
    };
    let a = Answer::Success {
        user,
        groups,
        mfa,
        authn_instant: session.authn_instant,
        session_index: &session.index,
    };
    let mut r = or_page(answer(st, idp, pending, a));
    let path = idp.cookie_path();
    set_cookie(
        &mut r,
        format!(
            "{SESSION_COOKIE}={}; Path={path}; Max-Age={}; Secure; HttpOnly; SameSite=None",
            secret.expose(),
            limits.absolute_secs
        ),
    );
    set_cookie(
        &mut r,
        format!("{FLOW_COOKIE}=; Path={path}; Max-Age=0; Secure; HttpOnly; SameSite=Lax"),
    );
    r
}

/// IdP-initiated SSO: `/saml/<tenant>/apps/<application name>/start[?RelayState=…]`.
pub(crate) async fn idp_initiated(
    State(st): State<SamlState>,
    Path((slug, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    Source(source): Source,
    headers: HeaderMap,
) -> Response {
    blocking(st, move |st| {
        let r = (|| {
            let idp = resolve(st, &slug)?;
            let relay_state = request::relay_state_from_query(q.as_deref().unwrap_or(""))?;
            let app = match st
                .dir()
                .applications()
                .by_name(&Actor::system(), idp.tenant, &name)
            {
                Ok(a) => a,
                Err(tessera_directory::Error::NotFound) => return Err(Error::UnknownApplication),
                Err(e) => return Err(from_directory(e)),
            };
            let AppKind::Saml(sp) = &app.kind else {
                return Err(Error::UnknownApplication);
            };
            let pending = Pending {
                tenant: idp.tenant,
                app: app.id,
                acs_url: request::default_acs(sp)?,
                in_response_to: None,
                relay_state,
            };
            Ok((idp, pending))
        })();
        match r {
            Ok((idp, pending)) => {
                continue_login(st, &idp, pending, (false, false), &headers, source)
            }
            Err(e) => error_page(&e),
        }
    })
    .await
}

/// Single logout (see `slo`): a LogoutRequest ends the browser's session and is answered; a
/// LogoutResponse from a notified SP just gets a small page (it is loaded in a hidden frame).
fn slo(st: &SamlState, slug: &str, incoming: Incoming<'_>, headers: &HeaderMap) -> Response {
    let idp = match resolve(st, slug) {
        Ok(i) => i,
        Err(e) => return error_page(&e),
    };
    if slo::is_response(incoming) {
        return html::message(StatusCode::OK, "Signed out", "You are signed out.");
    }
    let dir = st.dir();
    let l = match slo::validate(dir, &idp, incoming, dir.now()) {
        Ok(l) => l,
        Err(e) => {
            tracing::info!(tenant = %slug, error = %e, "SAML LogoutRequest refused");
            return error_page(&e);
        }
    };
    let answered = (|| {
        let key = idp.key(dir)?;
        let session = slo::end_session(dir, &idp, cookie(headers, SESSION_COOKIE))?;
        let frames = match &session {
            Some(s) => slo::notifications(st, &idp, &key, s, Some(l.app))?,
            None => Vec::new(),
        };
        let xml = response::logout_response(&idp, &key, &l.slo_url, &l.request_id, dir.now())?;
        Ok(html::post_form_with_frames(
            &l.slo_url,
            &response::encode(&xml),
            l.relay_state.as_deref(),
            &frames,
        ))
    })();
    let mut r = or_page(answered);
    clear_session_cookie(&mut r, &idp);
    r
}

/// Tells the browser to forget its SSO session cookie of this tenant.
fn clear_session_cookie(r: &mut Response, idp: &Idp) {
    set_cookie(
        r,
        format!(
            "{SESSION_COOKIE}=; Path={}; Max-Age=0; Secure; HttpOnly; SameSite=None",
            idp.cookie_path()
        ),
    );
}

pub(crate) async fn slo_redirect(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    blocking(st, move |st| {
        let q = q.unwrap_or_default();
        slo(st, &slug, Incoming::Redirect(&q), &headers)
    })
    .await
}

/// The HTTP-POST binding's form at the SLO endpoint: a request or a response.
#[derive(Debug, Deserialize)]
pub(crate) struct SloForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

pub(crate) async fn slo_post(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    form: Result<Form<SloForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(&Error::Malformed("not a SAML HTTP-POST form"));
    };
    blocking(st, move |st| {
        let message = match (&form.saml_request, &form.saml_response) {
            (Some(m), None) | (None, Some(m)) => m,
            _ => return error_page(&Error::Malformed("one SAMLRequest or SAMLResponse")),
        };
        let incoming = Incoming::Post {
            saml_request: message,
            relay_state: form.relay_state.as_deref(),
        };
        slo(st, &slug, incoming, &headers)
    })
    .await
}

/// The origin (`scheme://host[:port]`) of a base URL.
fn origin_of(base_url: &str) -> &str {
    let b = base_url.trim_end_matches('/');
    let after = b.find("://").map_or(0, |i| i + 3);
    match b.get(after..).and_then(|rest| rest.find('/')) {
        Some(j) => b.get(..after + j).unwrap_or(b),
        None => b,
    }
}

/// Whether a state-changing POST came from this IdP's own pages: a browser names a foreign
/// origin (Origin) or site (Sec-Fetch-Site) on a cross-site form; clients that send neither are
/// not browsers, which cross-site forgery needs.
fn same_origin(base_url: &str, headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin_ok = text("origin").is_none_or(|o| o.trim_end_matches('/') == origin_of(base_url));
    let site_ok = matches!(text("sec-fetch-site"), None | Some("same-origin" | "none"));
    origin_ok && site_ok
}

fn logout_action(idp: &Idp) -> String {
    format!("/saml/{}/logout", idp.slug)
}

/// IdP-initiated logout, step one: a confirmation page (a link alone signs nobody out).
pub(crate) async fn logout_page(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(st, move |st| match resolve(st, &slug) {
        Ok(idp) if cookie(&headers, SESSION_COOKIE).is_some() => {
            html::logout_confirm(&logout_action(&idp), &idp.slug)
        }
        Ok(_) => html::message(StatusCode::OK, "Signed out", "You are not signed in here."),
        Err(e) => error_page(&e),
    })
    .await
}

/// IdP-initiated logout: ends this browser's SSO session of the tenant and tells every SP of
/// the session that registered an SLO URL (signed front-channel LogoutRequests in hidden
/// frames); the session cookie is cleared. Refused when posted from another site.
pub(crate) async fn logout(
    State(st): State<SamlState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(st, move |st| {
        let idp = match resolve(st, &slug) {
            Ok(i) => i,
            Err(e) => return error_page(&e),
        };
        if !same_origin(&st.config().base_url, &headers) {
            return error_page(&Error::CrossSite);
        }
        let dir = st.dir();
        let done = (|| {
            let session = slo::end_session(dir, &idp, cookie(&headers, SESSION_COOKIE))?;
            let frames = match &session {
                Some(s) => slo::notifications(st, &idp, &idp.key(dir)?, s, None)?,
                None => Vec::new(),
            };
            Ok(html::signed_out(&idp.slug, &frames))
        })();
        let mut r = or_page(done);
        clear_session_cookie(&mut r, &idp);
        r
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_idps_own_pages_may_post_a_logout() {
        let base = "https://sso.example:8443/";
        assert_eq!(origin_of(base), "https://sso.example:8443");
        assert_eq!(origin_of("https://sso.example/idp"), "https://sso.example");
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            same_origin(base, &h)
        };
        assert!(with(&[]), "not a browser");
        assert!(with(&[("origin", "https://sso.example:8443")]));
        assert!(with(&[("sec-fetch-site", "same-origin")]));
        assert!(!with(&[("origin", "https://evil.example")]));
        assert!(!with(&[("origin", "https://sso.example")]), "another port");
        assert!(!with(&[("origin", "null")]));
        assert!(!with(&[("sec-fetch-site", "cross-site")]));
        assert!(!with(&[("sec-fetch-site", "same-site")]));
        assert!(!with(&[
            ("origin", "https://sso.example:8443"),
            ("sec-fetch-site", "cross-site")
        ]));
    }
}
