//! Single logout at `/saml/<tenant>/slo`, SP-initiated over HTTP-Redirect and HTTP-POST (and
//! IdP-initiated at `/saml/<tenant>/logout`, which tells every SP of the session): the
//! LogoutRequest gets the same checks as an AuthnRequest (registered issuer, signature with the
//! SP's registered certificate only — required when the SP requires signed requests —, the signed
//! element itself, Destination, IssueInstant, replay), the browser's SSO session ends in the
//! core, the session's other SPs are told through signed HTTP-Redirect LogoutRequests loaded in
//! hidden frames (front-channel), and a signed LogoutResponse goes to the SP's registered SLO URL.
//! LogoutResponses that notified SPs send back change nothing. Limits: an SP with a transient
//! NameID is not notified (its value is not kept), and the session is found by the browser's
//! cookie, not by the request's NameID.

use crate::error::{from_directory, Error};
use crate::idp::Idp;
use crate::request::{self, Incoming, Received};
use crate::response::{self, name_id_for};
use crate::xml;
use crate::SamlState;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use samael::schema::LogoutRequest;
use std::io::Write;
use tessera_directory::model::{AppKind, IdpKey, NameIdFormat, SessionSecret, SsoSession};
use tessera_directory::policy::Timestamp;
use tessera_directory::{Actor, Directory};

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// What a valid LogoutRequest asks.
#[derive(Debug)]
pub(crate) struct Logout {
    pub(crate) app: tessera_directory::model::AppId,
    pub(crate) slo_url: String,
    pub(crate) request_id: String,
    pub(crate) relay_state: Option<String>,
}

/// Percent-encoding of everything but the unreserved characters (RFC 3986).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `url` with a LogoutRequest in the HTTP-Redirect binding, the query signed RSA-SHA256.
fn signed_redirect(url: &str, xml_text: &str, key: &IdpKey) -> Result<String, Error> {
    let crypto = |e: &dyn std::fmt::Display| Error::Crypto(format!("signing a redirect: {e}"));
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml_text.as_bytes()).map_err(|e| crypto(&e))?;
    let deflated = enc.finish().map_err(|e| crypto(&e))?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let octets = format!(
        "SAMLRequest={}&SigAlg={}",
        url_encode(&b64(&deflated)),
        url_encode(RSA_SHA256)
    );
    let pkey = PKey::private_key_from_der(key.private_key_der.expose()).map_err(|e| crypto(&e))?;
    let mut signer = Signer::new(MessageDigest::sha256(), &pkey).map_err(|e| crypto(&e))?;
    let sig = signer
        .sign_oneshot_to_vec(octets.as_bytes())
        .map_err(|e| crypto(&e))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{url}{sep}{octets}&Signature={}",
        url_encode(&b64(&sig))
    ))
}

/// Whether the decoded message is a LogoutResponse (an SP answering our notification).
pub(crate) fn is_response(incoming: Incoming<'_>) -> bool {
    request::decode(incoming).is_ok_and(|(x, _, _)| {
        xml::refuse_dtd(&x).is_ok()
            && xml::root_name(&x).is_some_and(|(l, _)| l == "LogoutResponse")
    })
}

/// Checks a LogoutRequest sent to `idp`'s SLO endpoint at `now`.
pub(crate) fn validate(
    dir: &Directory,
    idp: &Idp,
    incoming: Incoming<'_>,
    now: Timestamp,
) -> Result<Logout, Error> {
    let (xml_text, relay_state, query) = request::decode(incoming)?;
    let claimed: LogoutRequest = request::parse_root(&xml_text, "LogoutRequest")?;
    let (issuer, app) = request::sp_by_issuer(
        dir,
        idp,
        claimed.issuer.as_ref().and_then(|i| i.value.clone()),
    )?;
    let AppKind::Saml(sp) = &app.kind else {
        return Err(Error::UnknownIssuer);
    };
    let embedded_signature = claimed.signature.is_some();
    let received = Received {
        xml_text: &xml_text,
        query: &query,
        claimed,
        embedded_signature,
        local: "LogoutRequest",
    };
    let (req, signed) = request::trusted(sp, received, |r: &LogoutRequest| r.id.as_deref())?;
    let named = req
        .issuer
        .as_ref()
        .and_then(|i| i.value.as_deref())
        .map(str::trim);
    if named != Some(issuer.as_str()) {
        return Err(Error::UnknownIssuer);
    }
    if req.version.as_deref() != Some("2.0") {
        return Err(Error::Malformed("not SAML 2.0"));
    }
    let id = req.id.clone().unwrap_or_default();
    request::check_id(&id)?;
    match &req.destination {
        Some(d) if d != &idp.slo_url() => return Err(Error::WrongDestination),
        None if signed => return Err(Error::WrongDestination),
        _ => {}
    }
    let issued = req
        .issue_instant
        .map(|t| Timestamp::from_secs(t.timestamp()))
        .ok_or(Error::Malformed("no IssueInstant"))?;
    request::fresh(issued, now)?;
    let slo_url = sp.options.slo_url.clone().ok_or(Error::NoLogoutUrl)?;
    request::remember(dir, idp, app.id, &id, issued)?;
    Ok(Logout {
        app: app.id,
        slo_url,
        request_id: id,
        relay_state,
    })
}

/// Signed LogoutRequest URLs for the session's SPs that registered an SLO URL, but `except`
/// (the SP that asked for the logout, when one did).
pub(crate) fn notifications(
    st: &SamlState,
    idp: &Idp,
    key: &IdpKey,
    session: &SsoSession,
    except: Option<tessera_directory::model::AppId>,
) -> Result<Vec<String>, Error> {
    let dir = st.dir();
    let sys = Actor::system();
    let user = match dir.users().get(&sys, idp.tenant, session.user) {
        Ok(u) => u,
        // Deleted since: nobody to name.
        Err(tessera_directory::Error::NotFound) => return Ok(Vec::new()),
        Err(e) => return Err(from_directory(e)),
    };
    let mut out = Vec::new();
    for app in session.participants.iter().filter(|a| Some(**a) != except) {
        let a = match dir.applications().get(&sys, idp.tenant, *app) {
            Ok(a) => a,
            Err(tessera_directory::Error::NotFound) => continue,
            Err(e) => return Err(from_directory(e)),
        };
        let AppKind::Saml(sp) = &a.kind else {
            continue;
        };
        let (Some(slo), false) = (
            &sp.options.slo_url,
            sp.name_id_format == NameIdFormat::Transient,
        ) else {
            continue;
        };
        let Some(nid) = name_id_for(key, sp, &user) else {
            continue;
        };
        let xml_text =
            response::logout_request(idp, slo, nid, &sp.entity_id, &session.index, dir.now());
        out.push(signed_redirect(slo, &xml_text, key)?);
    }
    Ok(out)
}

/// Ends the browser's session of this tenant, if any.
pub(crate) fn end_session(
    dir: &Directory,
    idp: &Idp,
    cookie: Option<&str>,
) -> Result<Option<SsoSession>, Error> {
    match cookie {
        Some(c) => dir
            .saml()
            .end_session(&Actor::system(), idp.tenant, &SessionSecret::new(c))
            .map_err(from_directory),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_leaves_only_unreserved_characters() {
        assert_eq!(url_encode("a+b/c=d e~_.-"), "a%2Bb%2Fc%3Dd%20e~_.-");
        assert_eq!(
            url_encode(RSA_SHA256),
            "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"
        );
    }
}
