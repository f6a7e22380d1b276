//! The pages the IdP shows: the sign-in form, the TOTP step, error pages, and the form that
//! carries a Response to the SP. Plain, labelled HTML that works without JavaScript (the POST
//! form submits itself when scripts run and shows a button when they do not). It must not
//! decide anything, and every value it prints is escaped.

use crate::xml::esc;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The one script any page runs: submitting the form — after the logout notifications in the
/// page's frames have loaded (or a few seconds), when there are any.
const AUTO_SUBMIT: &str = concat!(
    "var f=document.getElementsByTagName('iframe'),n=f.length,",
    "s=function(){document.forms[0].submit()};",
    "if(!n){s()}else{for(var i=0;i<f.length;i++){f[i].onload=function(){if(--n<=0)s()}}",
    "setTimeout(s,4000)}"
);

fn page(title: &str, body: &str) -> String {
    format!(
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>{title}</title></head><body><main>{body}</main></body></html>\n"
        ),
        title = esc(title),
        body = body,
    )
}

/// The headers every IdP page carries: no caching, no framing, no referrer, nothing loaded.
fn with_headers(status: StatusCode, html: String, csp: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

const CSP_FORM: &str = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// What the sign-in form shows above its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    None,
    /// The one text for every refused sign-in.
    Failed,
}

fn notice_html(n: Notice) -> &'static str {
    match n {
        Notice::None => "",
        Notice::Failed => {
            "<p role=\"alert\">Sign-in failed. Check your username, password or code and try again.</p>"
        }
    }
}

/// The username and password form.
pub(crate) fn login_form(action: &str, tenant: &str, csrf: &str, notice: Notice) -> Response {
    let body = format!(
        concat!(
            "<h1>Sign in to {tenant}</h1>{notice}",
            "<form method=\"post\" action=\"{action}\">",
            "<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">",
            "<p><label for=\"username\">Username</label><br>",
            "<input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus></p>",
            "<p><label for=\"password\">Password</label><br>",
            "<input id=\"password\" name=\"password\" type=\"password\" ",
            "autocomplete=\"current-password\" required></p>",
            "<p><button type=\"submit\">Sign in</button></p></form>"
        ),
        tenant = esc(tenant),
        notice = notice_html(notice),
        action = esc(action),
        csrf = esc(csrf),
    );
    with_headers(StatusCode::OK, page("Sign in", &body), CSP_FORM.into())
}

/// The TOTP step.
pub(crate) fn code_form(action: &str, csrf: &str, notice: Notice) -> Response {
    let body = format!(
        concat!(
            "<h1>Enter your code</h1>{notice}",
            "<form method=\"post\" action=\"{action}\">",
            "<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">",
            "<p><label for=\"code\">6-digit code from your authenticator app</label><br>",
            "<input id=\"code\" name=\"code\" inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" ",
            "autocomplete=\"one-time-code\" required autofocus></p>",
            "<p><button type=\"submit\">Verify</button></p></form>"
        ),
        notice = notice_html(notice),
        action = esc(action),
        csrf = esc(csrf),
    );
    with_headers(StatusCode::OK, page("Verify", &body), CSP_FORM.into())
}

/// The form for an expired password: the current one again, and a new one twice; `problems`
/// are what the password policy said of the last attempt.
pub(crate) fn change_form(
    action: &str,
    csrf: &str,
    notice: Notice,
    problems: &[String],
) -> Response {
    let problems: String = if problems.is_empty() {
        String::new()
    } else {
        let items: String = problems
            .iter()
            .map(|p| format!("<li>{}</li>", esc(p)))
            .collect();
        format!(
            "<div role=\"alert\"><p>The new password was not accepted:</p><ul>{items}</ul></div>"
        )
    };
    let body = format!(
        concat!(
            "<h1>Your password has expired</h1>{notice}{problems}",
            "<p>Choose a new password to continue.</p>",
            "<form method=\"post\" action=\"{action}\">",
            "<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">",
            "<p><label for=\"password\">Current password</label><br>",
            "<input id=\"password\" name=\"password\" type=\"password\" ",
            "autocomplete=\"current-password\" required autofocus></p>",
            "<p><label for=\"new_password\">New password</label><br>",
            "<input id=\"new_password\" name=\"new_password\" type=\"password\" ",
            "autocomplete=\"new-password\" required></p>",
            "<p><label for=\"confirm\">New password again</label><br>",
            "<input id=\"confirm\" name=\"confirm\" type=\"password\" ",
            "autocomplete=\"new-password\" required></p>",
            "<p><button type=\"submit\">Change password and continue</button></p></form>"
        ),
        notice = notice_html(notice),
        problems = problems,
        action = esc(action),
        csrf = esc(csrf),
    );
    with_headers(
        StatusCode::OK,
        page("Change password", &body),
        CSP_FORM.into(),
    )
}

/// A page that explains why the sign-in cannot go on here; nothing is sent to the SP.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text));
    with_headers(status, page(title, &body), CSP_FORM.into())
}

/// Hidden frames loading the signed LogoutRequests that tell other SPs (front channel).
fn logout_frames(frames: &[String]) -> String {
    frames
        .iter()
        .map(|u| {
            format!(
                "<iframe src=\"{}\" title=\"Signing out of another application\" hidden></iframe>",
                esc(u)
            )
        })
        .collect()
}

/// The IdP-initiated logout's confirmation: a link alone must not sign anybody out.
pub(crate) fn logout_confirm(action: &str, tenant: &str) -> Response {
    let body = format!(
        concat!(
            "<h1>Sign out of {tenant}</h1>",
            "<p>This signs you out here and tells the applications you used in this session.</p>",
            "<form method=\"post\" action=\"{action}\">",
            "<p><button type=\"submit\">Sign out</button></p></form>"
        ),
        tenant = esc(tenant),
        action = esc(action),
    );
    with_headers(StatusCode::OK, page("Sign out", &body), CSP_FORM.into())
}

/// After an IdP-initiated logout: the applications of the session are told in hidden frames.
pub(crate) fn signed_out(tenant: &str, frames: &[String]) -> Response {
    let body = format!(
        "<h1>Signed out</h1><p>You are signed out of {} and of {} other application(s).</p>{}",
        esc(tenant),
        frames.len(),
        logout_frames(frames)
    );
    let frame_src = if frames.is_empty() {
        ""
    } else {
        "; frame-src https: http:"
    };
    let csp = format!("default-src 'none'; frame-ancestors 'none'{frame_src}");
    with_headers(StatusCode::OK, page("Signed out", &body), csp)
}

/// The form that carries a Response to the SP's ACS URL (HTTP-POST binding).
pub(crate) fn post_form(acs_url: &str, saml_response: &str, relay_state: Option<&str>) -> Response {
    post_form_with_frames(acs_url, saml_response, relay_state, &[])
}

/// The same, with hidden frames that load `frames` first (front-channel logout of other SPs).
pub(crate) fn post_form_with_frames(
    acs_url: &str,
    saml_response: &str,
    relay_state: Option<&str>,
    frames: &[String],
) -> Response {
    let relay = relay_state
        .map(|r| {
            format!(
                "<input type=\"hidden\" name=\"RelayState\" value=\"{}\">",
                esc(r)
            )
        })
        .unwrap_or_default();
    let frames_html = logout_frames(frames);
    let body = format!(
        concat!(
            "<h1>One moment…</h1>",
            "<form method=\"post\" action=\"{acs}\">",
            "<input type=\"hidden\" name=\"SAMLResponse\" value=\"{resp}\">{relay}",
            "<noscript><p>Scripts are off: press Continue.</p></noscript>",
            "<p><button type=\"submit\">Continue</button></p></form>{frames}",
            "<script>{script}</script>"
        ),
        acs = esc(acs_url),
        resp = esc(saml_response),
        relay = relay,
        frames = frames_html,
        script = AUTO_SUBMIT,
    );
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(AUTO_SUBMIT));
    let frame_src = if frames.is_empty() {
        ""
    } else {
        "; frame-src https: http:"
    };
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; frame-ancestors 'none'{frame_src}"
    );
    with_headers(StatusCode::OK, page("One moment", &body), csp)
}
