//! Responses out: the Assertion (NameID per the SP's format, bearer SubjectConfirmation,
//! Conditions with the audience, AuthnStatement with SessionIndex and a class reflecting MFA,
//! attributes per the SP's mapping) and the Response around it, each signed as the SP asks
//! (RSA-SHA256, SHA-256 digests); failures carry their SAML status and no assertion. It decides
//! nothing: who the user is and whether they may use the SP come from the core.

use crate::error::{Error, SamlStatus};
use crate::idp::{name_id, Idp};
use crate::xml::{esc, new_id, time, Canon, Fragment, DS, SAML, SAMLP, XENC};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use openssl::rsa::Padding;
use openssl::symm::Cipher;
use openssl::x509::X509;
use sha2::Sha256;
use tessera_directory::model::{IdpKey, NameIdFormat, SamlServiceProvider, User};
use tessera_directory::policy::Timestamp;

/// How long an assertion may be presented.
pub const ASSERTION_TTL_SECS: i64 = 300;
/// Allowance for SP clocks that run ahead of ours.
const NOT_BEFORE_SLACK_SECS: i64 = 60;

const CLASS_PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
/// REFEDS MFA: what SPs look for when they want to know a second factor was used.
const CLASS_MFA: &str = "https://refeds.org/profile/mfa";
const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
const XENC_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// Where a response goes and what it answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Audience<'a> {
    pub(crate) sp: &'a SamlServiceProvider,
    pub(crate) acs_url: &'a str,
    pub(crate) in_response_to: Option<&'a str>,
}

/// Who logged in, and how.
#[derive(Debug, Clone)]
pub(crate) struct Subject<'a> {
    pub(crate) user: &'a User,
    /// The user's group names (transitive), before the SP's filter.
    pub(crate) groups: Vec<String>,
    pub(crate) mfa: bool,
    pub(crate) authn_instant: Timestamp,
    pub(crate) session_index: &'a str,
}

/// The NameID (format URI, value) the SP receives; `None` when the user has no value for it
/// (an e-mail format and no e-mail address).
pub(crate) fn name_id_for(
    idp_key: &IdpKey,
    sp: &SamlServiceProvider,
    user: &User,
) -> Option<(&'static str, String)> {
    match sp.name_id_format {
        NameIdFormat::Email => user.email.clone().map(|e| (name_id::EMAIL, e)),
        NameIdFormat::Persistent => {
            // Stable and opaque per SP: the same user gets unrelated values at two SPs.
            let mut mac =
                <Hmac<Sha256> as KeyInit>::new_from_slice(idp_key.pairwise_secret.expose()).ok()?;
            mac.update(user.id.uuid().as_bytes());
            mac.update(&[0]);
            mac.update(sp.entity_id.as_bytes());
            let v = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(mac.finalize().into_bytes());
            Some((name_id::PERSISTENT, v))
        }
        NameIdFormat::Transient => Some((name_id::TRANSIENT, new_id())),
        NameIdFormat::Unspecified => Some((name_id::UNSPECIFIED, user.username.clone())),
    }
}

fn attribute_values(sp: &SamlServiceProvider, field: &str, s: &Subject<'_>) -> Vec<String> {
    let u = s.user;
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    match field {
        "email" => one(&u.email),
        "given_name" => one(&u.given_name),
        "family_name" => one(&u.family_name),
        "display_name" => one(&u.display_name),
        "username" => vec![u.username.clone()],
        "groups" => s
            .groups
            .iter()
            .filter(|g| sp.options.group_passes(g))
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

fn assertion(
    idp: &Idp,
    key: &IdpKey,
    aud: &Audience<'_>,
    s: &Subject<'_>,
    (format, value): (&'static str, String),
    now: Timestamp,
) -> Result<Fragment, Error> {
    let (id, issued) = (new_id(), time(now));
    let until = time(now.plus_secs(ASSERTION_TTL_SECS));
    let not_before = time(now.plus_secs(-NOT_BEFORE_SLACK_SECS));
    let (authn, sp) = (time(s.authn_instant), aud.sp);
    let mut w = Canon::default();
    w.open(
        SAML,
        "Assertion",
        &[("ID", &id), ("IssueInstant", &issued), ("Version", "2.0")],
    );
    w.leaf(SAML, "Issuer", &[], &idp.entity_id);
    if sp.options.sign_assertion {
        w.signature_here();
    }
    w.open(SAML, "Subject", &[]);
    let mut nid: Vec<(&'static str, &str)> = vec![("Format", format)];
    if format == name_id::PERSISTENT || format == name_id::TRANSIENT {
        nid.push(("NameQualifier", &idp.entity_id));
        nid.push(("SPNameQualifier", &sp.entity_id));
    }
    w.leaf(SAML, "NameID", &nid, &value);
    w.open(SAML, "SubjectConfirmation", &[("Method", BEARER)]);
    let mut confirmation: Vec<(&'static str, &str)> =
        vec![("NotOnOrAfter", &until), ("Recipient", aud.acs_url)];
    if let Some(r) = aud.in_response_to {
        confirmation.push(("InResponseTo", r));
    }
    w.leaf(SAML, "SubjectConfirmationData", &confirmation, "");
    w.close();
    w.close();
    w.open(
        SAML,
        "Conditions",
        &[("NotBefore", &not_before), ("NotOnOrAfter", &until)],
    );
    w.open(SAML, "AudienceRestriction", &[]);
    w.leaf(SAML, "Audience", &[], &sp.entity_id);
    w.close();
    w.close();
    w.open(
        SAML,
        "AuthnStatement",
        &[("AuthnInstant", &authn), ("SessionIndex", s.session_index)],
    );
    w.open(SAML, "AuthnContext", &[]);
    let class = if s.mfa { CLASS_MFA } else { CLASS_PASSWORD };
    w.leaf(SAML, "AuthnContextClassRef", &[], class);
    w.close();
    w.close();
    let attributes: Vec<(&String, Vec<String>)> = sp
        .attribute_mapping
        .iter()
        .map(|(name, field)| (name, attribute_values(sp, field, s)))
        .filter(|(_, values)| !values.is_empty())
        .collect();
    if !attributes.is_empty() {
        w.open(SAML, "AttributeStatement", &[]);
        for (name, values) in attributes {
            w.open(
                SAML,
                "Attribute",
                &[("Name", name), ("NameFormat", ATTRNAME_BASIC)],
            );
            for v in values {
                w.leaf(SAML, "AttributeValue", &[], &v);
            }
            w.close();
        }
        w.close();
    }
    w.close();
    if sp.options.sign_assertion {
        w.finish_signed(key.private_key_der.expose(), &key.certificate_der)
    } else {
        w.finish()
    }
}

/// Where a status response goes: its root element, Destination and InResponseTo.
struct To<'a> {
    root: &'static str,
    destination: &'a str,
    in_response_to: Option<&'a str>,
}

fn to_acs<'a>(aud: &Audience<'a>) -> To<'a> {
    To {
        root: "Response",
        destination: aud.acs_url,
        in_response_to: aud.in_response_to,
    }
}

fn envelope(
    idp: &Idp,
    key: &IdpKey,
    to: To<'_>,
    (status, inner): (SamlStatus, Option<&Fragment>),
    sign_it: bool,
    now: Timestamp,
) -> Result<String, Error> {
    let (id, issued) = (new_id(), time(now));
    let mut root: Vec<(&'static str, &str)> = vec![
        ("Destination", to.destination),
        ("ID", &id),
        ("IssueInstant", &issued),
        ("Version", "2.0"),
    ];
    if let Some(r) = to.in_response_to {
        root.push(("InResponseTo", r));
    }
    let mut w = Canon::default();
    w.open(SAMLP, to.root, &root);
    w.leaf(SAML, "Issuer", &[], &idp.entity_id);
    if sign_it {
        w.signature_here();
    }
    w.open(SAMLP, "Status", &[]);
    let (top, second) = status.codes();
    w.open(SAMLP, "StatusCode", &[("Value", &top)]);
    if let Some(second) = second {
        w.leaf(SAMLP, "StatusCode", &[("Value", &second)], "");
    }
    w.close();
    w.close();
    if let Some(inner) = inner {
        w.embed(inner);
    }
    w.close();
    let done = if sign_it {
        w.finish_signed(key.private_key_der.expose(), &key.certificate_der)?
    } else {
        w.finish()?
    };
    Ok(done.into_xml())
}

/// The (signed) assertion encrypted to the SP's certificate: AES-256-GCM for the content,
/// RSA-OAEP (MGF1, SHA-1 as `rsa-oaep-mgf1p` defines) for the key (XML Encryption 1.1).
fn encrypt(assertion: &Fragment, sp_cert_der: &[u8]) -> Result<Fragment, Error> {
    let crypto = |e: openssl::error::ErrorStack| Error::Crypto(format!("encrypting: {e}"));
    let rsa = X509::from_der(sp_cert_der)
        .and_then(|c| c.public_key())
        .and_then(|k| k.rsa())
        .map_err(crypto)?;
    let key: [u8; 32] = rand::random();
    let iv: [u8; 12] = rand::random();
    let mut tag = [0u8; 16];
    let ct = openssl::symm::encrypt_aead(
        Cipher::aes_256_gcm(),
        &key,
        Some(&iv),
        &[],
        assertion.xml().as_bytes(),
        &mut tag,
    )
    .map_err(crypto)?;
    let mut wrapped = vec![0u8; usize::try_from(rsa.size()).unwrap_or(512)];
    let n = rsa
        .public_encrypt(&key, &mut wrapped, Padding::PKCS1_OAEP)
        .map_err(crypto)?;
    wrapped.truncate(n);
    let mut data = Vec::with_capacity(iv.len() + ct.len() + tag.len());
    data.extend_from_slice(&iv);
    data.extend_from_slice(&ct);
    data.extend_from_slice(&tag);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut w = Canon::default();
    w.open(SAML, "EncryptedAssertion", &[]);
    w.open(XENC, "EncryptedData", &[("Type", XENC_ELEMENT)]);
    w.leaf(XENC, "EncryptionMethod", &[("Algorithm", AES256_GCM)], "");
    w.open(DS, "KeyInfo", &[]);
    w.open(XENC, "EncryptedKey", &[]);
    w.open(XENC, "EncryptionMethod", &[("Algorithm", RSA_OAEP_MGF1P)]);
    w.leaf(DS, "DigestMethod", &[("Algorithm", DIGEST_SHA1)], "");
    w.close();
    w.open(XENC, "CipherData", &[]);
    w.leaf(XENC, "CipherValue", &[], &b64(&wrapped));
    w.close();
    w.close();
    w.close();
    w.open(XENC, "CipherData", &[]);
    w.leaf(XENC, "CipherValue", &[], &b64(&data));
    w.close();
    w.close();
    w.close();
    w.finish()
}

/// A successful Response for `s` at the SP, as XML.
pub(crate) fn success(
    idp: &Idp,
    key: &IdpKey,
    aud: &Audience<'_>,
    s: &Subject<'_>,
    now: Timestamp,
) -> Result<String, Error> {
    let Some(nid) = name_id_for(key, aud.sp, s.user) else {
        return failure(idp, key, aud, SamlStatus::InvalidNameIdPolicy, now);
    };
    let mut a = assertion(idp, key, aud, s, nid, now)?;
    if aud.sp.options.encrypt_assertion {
        let cert = crate::request::sp_cert_der(aud.sp)?
            .ok_or_else(|| Error::Crypto("no SP certificate to encrypt to".into()))?;
        a = encrypt(&a, &cert)?;
    }
    envelope(
        idp,
        key,
        to_acs(aud),
        (SamlStatus::Success, Some(&a)),
        aud.sp.options.sign_response,
        now,
    )
}

/// A Response carrying only a failure status (always signed: SPs trust the status only then).
pub(crate) fn failure(
    idp: &Idp,
    key: &IdpKey,
    aud: &Audience<'_>,
    status: SamlStatus,
    now: Timestamp,
) -> Result<String, Error> {
    envelope(idp, key, to_acs(aud), (status, None), true, now)
}

/// A signed LogoutResponse to an SP's SLO URL.
pub(crate) fn logout_response(
    idp: &Idp,
    key: &IdpKey,
    slo_url: &str,
    in_response_to: &str,
    now: Timestamp,
) -> Result<String, Error> {
    let to = To {
        root: "LogoutResponse",
        destination: slo_url,
        in_response_to: Some(in_response_to),
    };
    envelope(idp, key, to, (SamlStatus::Success, None), true, now)
}

/// A LogoutRequest telling another SP of the session that the user signed out (unsigned XML:
/// the Redirect binding signs the query).
pub(crate) fn logout_request(
    idp: &Idp,
    slo_url: &str,
    (format, value): (&str, String),
    sp_entity_id: &str,
    session_index: &str,
    now: Timestamp,
) -> String {
    let qualifiers = if format == name_id::PERSISTENT {
        format!(
            r#" NameQualifier="{}" SPNameQualifier="{}""#,
            esc(&idp.entity_id),
            esc(sp_entity_id)
        )
    } else {
        String::new()
    };
    format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="{p}" xmlns:saml="{a}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{dest}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<saml:NameID Format="{format}"{q}>{value}</saml:NameID>"#,
            r#"<samlp:SessionIndex>{session}</samlp:SessionIndex></samlp:LogoutRequest>"#
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = new_id(),
        now = time(now),
        dest = esc(slo_url),
        issuer = esc(&idp.entity_id),
        format = format,
        q = qualifiers,
        value = esc(&value),
        session = esc(session_index),
    )
}

/// Base64 of a Response for the HTTP-POST binding.
pub(crate) fn encode(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml.as_bytes())
}
