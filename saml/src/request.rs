//! AuthnRequests in: HTTP-Redirect (strict query parsing of our own, bounded inflate, the query
//! signature checked with the SP's registered certificate before samael sees anything) and
//! HTTP-POST (only the element the SP's registered certificate signed is parsed, so signature
//! wrapping cannot smuggle in another request), then every check of the issue: registered issuer,
//! registered ACS, Destination, IssueInstant window, replay. It decides nothing about users.

use crate::error::{from_directory, Error};
use crate::idp::{Idp, BINDING_POST};
use crate::xml;
use base64::Engine;
use flate2::read::DeflateDecoder;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};
use samael::schema::AuthnRequest;
use std::io::Read;
use tessera_directory::model::{AppId, AppKind, Application, SamlServiceProvider};
use tessera_directory::policy::Timestamp;
use tessera_directory::{Actor, Directory};

/// The largest encoded SAMLRequest accepted (query or form value).
pub const MAX_ENCODED: usize = 64 * 1024;
/// The largest AuthnRequest XML accepted once decoded or inflated.
pub const MAX_XML: usize = 32 * 1024;
/// The largest RelayState (SAML bindings: 80 bytes; some SPs send more).
pub const MAX_RELAY_STATE: usize = 1024;
/// How far an IssueInstant may be ahead of our clock, or behind it beyond the maximum age.
pub const SKEW_SECS: i64 = 90;
/// How old a request may be.
pub const MAX_AGE_SECS: i64 = 300;
/// The longest request ID accepted (the core's seen-ID cache takes no more).
const MAX_ID_LEN: usize = 256;

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";

/// A message as it arrived, before any check.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Incoming<'a> {
    /// HTTP-Redirect: the raw query string.
    Redirect(&'a str),
    /// HTTP-POST: the form's SAMLRequest (or SAMLResponse) and RelayState.
    Post {
        saml_request: &'a str,
        relay_state: Option<&'a str>,
    },
}

/// What a valid AuthnRequest asks for, bound to its SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validated {
    pub(crate) app: AppId,
    pub(crate) sp_entity_id: String,
    pub(crate) acs_url: String,
    pub(crate) request_id: String,
    pub(crate) relay_state: Option<String>,
    pub(crate) force_authn: bool,
    pub(crate) is_passive: bool,
}

/// The Redirect binding's query, split strictly: each of our parameters at most once, values
/// kept both raw (for the signed octets) and decoded.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    /// SAMLRequest or SAMLResponse (never both).
    saml_request: Option<(&'a str, String)>,
    /// Which of the two it was (the first name of the signed octets).
    message_key: &'a str,
    relay_state: Option<(&'a str, String)>,
    sig_alg: Option<(&'a str, String)>,
    signature: Option<(&'a str, String)>,
}

/// Percent-decoding as form-urlencoded: `+` is a space, `%XX` must be two hex digits.
fn url_decode(raw: &str) -> Result<String, Error> {
    let bad = || Error::Malformed("bad percent-encoding");
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let s = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(s, 16).map_err(|_| bad())?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::Malformed("not UTF-8"))
}

fn parse_query(raw: &str) -> Result<Query<'_>, Error> {
    if raw.len() > MAX_ENCODED + 8 * 1024 {
        return Err(Error::TooLarge);
    }
    let mut q = Query::default();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match k {
            "SAMLRequest" | "SAMLResponse" => {
                q.message_key = k;
                &mut q.saml_request
            }
            "RelayState" => &mut q.relay_state,
            "SigAlg" => &mut q.sig_alg,
            "Signature" => &mut q.signature,
            // Other parameters are not ours and not signed: ignored.
            _ => continue,
        };
        if slot.is_some() {
            return Err(Error::Malformed("a parameter appears twice"));
        }
        *slot = Some((v, url_decode(v)?));
    }
    Ok(q)
}

fn b64(s: &str) -> Result<Vec<u8>, Error> {
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| Error::Malformed("bad base64"))
}

/// Raw DEFLATE, stopping (and refusing) past [`MAX_XML`] bytes: no inflate bomb.
fn inflate(data: &[u8]) -> Result<String, Error> {
    let mut out = Vec::new();
    DeflateDecoder::new(data)
        .take(MAX_XML as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| Error::Malformed("bad DEFLATE data"))?;
    if out.len() > MAX_XML {
        return Err(Error::TooLarge);
    }
    String::from_utf8(out).map_err(|_| Error::Malformed("not UTF-8"))
}

fn relay(r: Option<String>) -> Result<Option<String>, Error> {
    match r {
        Some(r) if r.len() > MAX_RELAY_STATE => Err(Error::TooLarge),
        Some(r) if r.chars().any(char::is_control) => {
            Err(Error::Malformed("control characters in RelayState"))
        }
        other => Ok(other),
    }
}

/// The RelayState of an IdP-initiated start URL, parsed as strictly as a request's.
pub(crate) fn relay_state_from_query(raw: &str) -> Result<Option<String>, Error> {
    let q = parse_query(raw)?;
    relay(q.relay_state.map(|(_, v)| v))
}

/// Parses protocol XML after the DTD guard, insisting the root is `local` of the SAML protocol
/// namespace (samael's deserializer does not look at the root's name).
pub(crate) fn parse_root<T: std::str::FromStr>(xml_text: &str, local: &str) -> Result<T, Error> {
    xml::refuse_dtd(xml_text)?;
    match xml::root_name(xml_text) {
        Some((l, ns)) if l == local && ns == PROTOCOL_NS => {}
        _ => return Err(Error::Malformed("not the expected SAML message")),
    }
    xml_text
        .parse::<T>()
        .map_err(|_| Error::Malformed("not a valid SAML message"))
}

fn parse(xml_text: &str) -> Result<AuthnRequest, Error> {
    parse_root(xml_text, "AuthnRequest")
}

/// The SP's registered certificate as DER (PEM or bare base64 accepted at registration).
pub(crate) fn sp_cert_der(sp: &SamlServiceProvider) -> Result<Option<Vec<u8>>, Error> {
    let Some(text) = &sp.options.certificate else {
        return Ok(None);
    };
    let bad = || Error::BadSignature("the SP's registered certificate is unreadable");
    let der = if text.contains("-----BEGIN") {
        X509::from_pem(text.as_bytes())
            .and_then(|c| c.to_der())
            .map_err(|_| bad())?
    } else {
        b64(text).map_err(|_| bad())?
    };
    X509::from_der(&der).map_err(|_| bad())?;
    Ok(Some(der))
}

/// Checks a Redirect binding signature over the octets the binding defines, from the raw
/// (still URL-encoded) values as they arrived.
fn verify_redirect(q: &Query<'_>, cert_der: &[u8]) -> Result<(), Error> {
    let (Some((raw_req, _)), Some((raw_alg, alg)), Some((_, sig))) =
        (&q.saml_request, &q.sig_alg, &q.signature)
    else {
        return Err(Error::BadSignature("the request is not signed"));
    };
    let digest = match alg.as_str() {
        RSA_SHA256 => MessageDigest::sha256(),
        RSA_SHA512 => MessageDigest::sha512(),
        _ => return Err(Error::BadSignature("signature algorithm not accepted")),
    };
    let mut signed = format!("{}={raw_req}", q.message_key);
    if let Some((raw_relay, _)) = &q.relay_state {
        signed.push_str("&RelayState=");
        signed.push_str(raw_relay);
    }
    signed.push_str("&SigAlg=");
    signed.push_str(raw_alg);
    let sig = b64(sig)?;
    let bad = || Error::BadSignature("the signature does not verify");
    let key = X509::from_der(cert_der)
        .and_then(|c| c.public_key())
        .map_err(|_| bad())?;
    let mut v = Verifier::new(digest, &key).map_err(|_| bad())?;
    match v.verify_oneshot(&sig, signed.as_bytes()) {
        Ok(true) => Ok(()),
        _ => Err(bad()),
    }
}

/// The signed part of a POSTed message, verified against the SP's certificate only, parsed as
/// `local`.
fn verify_post<T: std::str::FromStr>(
    xml_text: &str,
    cert_der: &[u8],
    local: &str,
) -> Result<T, Error> {
    let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml_text,
        &[CertificateDer::from(cert_der.to_vec())],
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&[
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::RsaSha384,
            AllowedSignatureAlgorithm::RsaSha512,
        ]),
    )
    .map_err(|_| Error::BadSignature("the signature does not verify"))?;
    parse_root(&reduced, local)
        .map_err(|_| Error::BadSignature("the signed element is not the request"))
}

/// A message decoded from its binding: the XML, the RelayState, and (Redirect) the query whose
/// signature covers it.
pub(crate) fn decode(
    incoming: Incoming<'_>,
) -> Result<(String, Option<String>, Option<Query<'_>>), Error> {
    let (xml_text, relay_state, query) = match incoming {
        Incoming::Redirect(raw) => {
            let q = parse_query(raw)?;
            let (_, enc) = q
                .saml_request
                .as_ref()
                .ok_or(Error::Malformed("no SAMLRequest"))?;
            if enc.len() > MAX_ENCODED {
                return Err(Error::TooLarge);
            }
            let text = inflate(&b64(enc)?)?;
            let relay_state = q.relay_state.as_ref().map(|(_, v)| v.clone());
            (text, relay_state, Some(q))
        }
        Incoming::Post {
            saml_request,
            relay_state,
        } => {
            if saml_request.len() > MAX_ENCODED {
                return Err(Error::TooLarge);
            }
            let bytes = b64(saml_request)?;
            if bytes.len() > MAX_XML {
                return Err(Error::TooLarge);
            }
            let text = String::from_utf8(bytes).map_err(|_| Error::Malformed("not UTF-8"))?;
            (text, relay_state.map(str::to_string), None)
        }
    };
    Ok((xml_text, relay(relay_state)?, query))
}

/// The registered SP named by an Issuer, in this tenant only.
pub(crate) fn sp_by_issuer(
    dir: &Directory,
    idp: &Idp,
    issuer: Option<String>,
) -> Result<(String, Application), Error> {
    let issuer = issuer
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or(Error::UnknownIssuer)?;
    match dir
        .saml()
        .service_provider(&Actor::system(), idp.tenant, &issuer)
    {
        Ok(a) if matches!(a.kind, AppKind::Saml(_)) => Ok((issuer, a)),
        Ok(_) | Err(tessera_directory::Error::NotFound) => Err(Error::UnknownIssuer),
        Err(e) => Err(from_directory(e)),
    }
}

/// How a message was received, for [`trusted`].
pub(crate) struct Received<'q, 'a, T> {
    pub(crate) xml_text: &'q str,
    pub(crate) query: &'q Option<Query<'a>>,
    /// The message as parsed before any verification.
    pub(crate) claimed: T,
    /// Whether the claimed message carries an XML signature.
    pub(crate) embedded_signature: bool,
    /// The root element's local name.
    pub(crate) local: &'static str,
}

/// The form of a message to act on: when the SP signs (or must), the signed element verified
/// with its registered certificate only — and it must be the message itself, not one wrapped
/// inside it; otherwise the message as claimed. Also says whether it was signed.
pub(crate) fn trusted<T: std::str::FromStr>(
    sp: &SamlServiceProvider,
    r: Received<'_, '_, T>,
    id_of: fn(&T) -> Option<&str>,
) -> Result<(T, bool), Error> {
    let cert = sp_cert_der(sp)?;
    match (r.query, &cert) {
        (Some(q), Some(der)) if q.signature.is_some() || sp.options.require_signed_requests => {
            verify_redirect(q, der)?;
            Ok((r.claimed, true))
        }
        (None, Some(der)) if r.embedded_signature || sp.options.require_signed_requests => {
            let verified: T = verify_post(r.xml_text, der, r.local)?;
            if id_of(&verified) != id_of(&r.claimed) {
                return Err(Error::BadSignature("the signed element is not the request"));
            }
            Ok((verified, true))
        }
        _ if sp.options.require_signed_requests => {
            Err(Error::BadSignature("the request is not signed"))
        }
        _ => Ok((r.claimed, false)),
    }
}

/// Checks an IssueInstant against the window at `now`.
pub(crate) fn fresh(issued: Timestamp, now: Timestamp) -> Result<(), Error> {
    if issued > now.plus_secs(SKEW_SECS) || issued < now.plus_secs(-(MAX_AGE_SECS + SKEW_SECS)) {
        return Err(Error::Stale);
    }
    Ok(())
}

/// A message ID we accept: an NCName-ish token of bounded length.
pub(crate) fn check_id(id: &str) -> Result<(), Error> {
    if id.is_empty()
        || id.len() > MAX_ID_LEN
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::Malformed("bad request ID"));
    }
    Ok(())
}

/// Remembers a message ID until it would be stale anyway: a second use is a replay.
pub(crate) fn remember(
    dir: &Directory,
    idp: &Idp,
    app: AppId,
    id: &str,
    issued: Timestamp,
) -> Result<(), Error> {
    let until = issued.plus_secs(MAX_AGE_SECS + 2 * SKEW_SECS);
    dir.saml()
        .remember_request(&Actor::system(), idp.tenant, app, id, until)
        .map_err(from_directory)
}

/// Decodes and checks an AuthnRequest sent to `idp`'s SSO endpoint at `now`: every check of the
/// issue, the replay cache last. Errors are answered with a page: nothing goes to an SP.
pub(crate) fn validate(
    dir: &Directory,
    idp: &Idp,
    incoming: Incoming<'_>,
    now: Timestamp,
) -> Result<(Application, Validated), Error> {
    let (xml_text, relay_state, query) = decode(incoming)?;
    // Unverified: only to learn which SP claims to send it.
    let claimed = parse(&xml_text)?;
    let (issuer, app) = sp_by_issuer(dir, idp, claimed.issuer_value())?;
    let AppKind::Saml(sp) = &app.kind else {
        return Err(Error::UnknownIssuer);
    };
    let embedded_signature = claimed.signature.is_some();
    let received = Received {
        xml_text: &xml_text,
        query: &query,
        claimed,
        embedded_signature,
        local: "AuthnRequest",
    };
    let (req, signed) = trusted(sp, received, |r: &AuthnRequest| Some(r.id.as_str()))?;
    if req.issuer_value().map(|s| s.trim().to_string()).as_deref() != Some(issuer.as_str()) {
        return Err(Error::UnknownIssuer);
    }
    if req.version != "2.0" {
        return Err(Error::Malformed("not SAML 2.0"));
    }
    let id = req.id.clone();
    check_id(&id)?;
    match &req.destination {
        Some(d) if d != &idp.sso_url() => return Err(Error::WrongDestination),
        None if signed => return Err(Error::WrongDestination),
        _ => {}
    }
    let issued = Timestamp::from_secs(req.issue_instant.timestamp());
    fresh(issued, now)?;
    if let Some(b) = &req.protocol_binding {
        if b != BINDING_POST {
            return Err(Error::UnregisteredAcs);
        }
    }
    let acs_url = match (
        &req.assertion_consumer_service_url,
        req.assertion_consumer_service_index,
    ) {
        (Some(u), _) => sp
            .acs_urls
            .iter()
            .find(|a| &a.url == u)
            .ok_or(Error::UnregisteredAcs)?
            .url
            .clone(),
        (None, Some(i)) => sp
            .acs_urls
            .iter()
            .find(|a| usize::from(a.index) == i)
            .ok_or(Error::UnregisteredAcs)?
            .url
            .clone(),
        (None, None) => default_acs(sp)?,
    };
    remember(dir, idp, app.id, &id, issued)?;
    let v = Validated {
        app: app.id,
        sp_entity_id: sp.entity_id.clone(),
        acs_url,
        request_id: id,
        relay_state,
        force_authn: req.force_authn.unwrap_or(false),
        is_passive: req.is_passive.unwrap_or(false),
    };
    Ok((app, v))
}

/// The SP's default ACS URL: the one marked default, else the lowest index.
pub(crate) fn default_acs(sp: &SamlServiceProvider) -> Result<String, Error> {
    sp.acs_urls
        .iter()
        .find(|a| a.default)
        .or_else(|| sp.acs_urls.iter().min_by_key(|a| a.index))
        .map(|a| a.url.clone())
        .ok_or(Error::UnregisteredAcs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::DeflateEncoder;
    use std::io::Write;

    #[test]
    fn query_parsing_is_strict() {
        let q = parse_query("SAMLRequest=a%2Bb&RelayState=x+y&other=1").unwrap();
        assert_eq!(q.saml_request.unwrap(), ("a%2Bb", "a+b".to_string()));
        assert_eq!(q.relay_state.unwrap().1, "x y");
        for bad in [
            "SAMLRequest=a&SAMLRequest=b",
            "SAMLRequest=%zz",
            "SAMLRequest=%4",
            "SAMLRequest=%",
            "SAMLRequest=%ff%fe",
            "Signature=%C3%28",
        ] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_query(&"a".repeat(MAX_ENCODED + 9 * 1024)).unwrap_err(),
            Error::TooLarge
        );
    }

    #[test]
    fn inflation_is_bounded() {
        let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 20 * 1024);
        assert_eq!(inflate(&bomb), Err(Error::TooLarge));
        assert!(inflate(b"\xff\xff not deflate").is_err());
        let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"<x/>").unwrap();
        assert_eq!(inflate(&e.finish().unwrap()).unwrap(), "<x/>");
    }

    #[test]
    fn only_an_authn_request_root_parses() {
        let ok = concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0" "#,
            r#"IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://sp</saml:Issuer>"#,
            r#"</samlp:AuthnRequest>"#
        );
        assert_eq!(
            parse(ok).unwrap().issuer_value().as_deref(),
            Some("https://sp")
        );
        let other = ok.replace("samlp:AuthnRequest", "samlp:LogoutRequest");
        assert!(parse(&other).is_err());
        let evil = ok.replace("urn:oasis:names:tc:SAML:2.0:protocol", "urn:evil");
        assert!(parse(&evil).is_err());
        let dtd = format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{ok}");
        assert_eq!(parse(&dtd).unwrap_err(), Error::Doctype);
        assert!(parse("").is_err());
        assert!(parse("<").is_err());
    }
}
