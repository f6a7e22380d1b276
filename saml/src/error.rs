//! The frontend's one error type and the one mapping from `directory::Error` to what the wire
//! says: an HTTP status for pages, a SAML status for Responses. It owns no decisions: a hidden
//! object and a missing one answer alike, and no `Debug` text reaches the wire.

use axum::http::StatusCode;
use tessera_directory::Error as DirError;

/// What went wrong in the SAML frontend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tenant in the URL does not exist (or is not served).
    #[error("unknown tenant")]
    UnknownTenant,
    /// The message could not be decoded: query, base64, deflate, UTF-8 or XML.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// The message is larger than the IdP accepts (raw, or once inflated).
    #[error("the request is too large")]
    TooLarge,
    /// The XML carries a DOCTYPE, an entity declaration or another `<!` construct.
    #[error("DTDs and entities are refused")]
    Doctype,
    /// The Issuer is not a service provider registered in this tenant.
    #[error("the issuer is not a registered service provider of this tenant")]
    UnknownIssuer,
    /// The ACS URL or index is not registered for the SP, or the binding is not HTTP-POST.
    #[error("the assertion consumer service is not registered for this service provider")]
    UnregisteredAcs,
    /// The Destination is not this IdP's endpoint.
    #[error("the destination is not this endpoint")]
    WrongDestination,
    /// The IssueInstant is outside the accepted window.
    #[error("the request is too old or from the future")]
    Stale,
    /// The request id was seen before.
    #[error("the request was already answered")]
    Replayed,
    /// A signature is missing where one is required, does not verify against the SP's
    /// registered certificate, or uses an algorithm the IdP refuses.
    #[error("signature: {0}")]
    BadSignature(&'static str),
    /// The SP asked for single logout but registered no SLO URL to answer at.
    #[error("the service provider has no single logout URL registered")]
    NoLogoutUrl,
    /// The login form does not belong to a live login of this browser (CSRF, expiry).
    #[error("this sign-in has expired; start again from the application")]
    BadFlow,
    /// A state-changing form was posted from another site (its Origin or Sec-Fetch-Site).
    #[error("this request came from another site")]
    CrossSite,
    /// The SAML application in an IdP-initiated URL does not exist in this tenant.
    #[error("unknown application")]
    UnknownApplication,
    /// Too many logins are in progress.
    #[error("busy: try again shortly")]
    Busy,
    /// The IdP failed to make or use its key, or to sign.
    #[error("the identity provider could not sign: {0}")]
    Crypto(String),
    /// The directory refused or failed.
    #[error("directory: {0}")]
    Directory(DirError),
}

/// The SAML status a Response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamlStatus {
    /// Success.
    Success,
    /// The request was bad (top-level Requester).
    Requester,
    /// The IdP failed (top-level Responder).
    Responder,
    /// Responder / AuthnFailed.
    AuthnFailed,
    /// Responder / RequestDenied: the user may not use this SP.
    RequestDenied,
    /// Responder / NoPassive: IsPassive and no session.
    NoPassive,
    /// Requester / InvalidNameIDPolicy: the user has no value for the SP's NameID format.
    InvalidNameIdPolicy,
}

const NS: &str = "urn:oasis:names:tc:SAML:2.0:status:";

impl SamlStatus {
    /// The top-level and second-level status code URIs.
    pub fn codes(self) -> (String, Option<String>) {
        let top = |s: &str| format!("{NS}{s}");
        match self {
            SamlStatus::Success => (top("Success"), None),
            SamlStatus::Requester => (top("Requester"), None),
            SamlStatus::Responder => (top("Responder"), None),
            SamlStatus::AuthnFailed => (top("Responder"), Some(top("AuthnFailed"))),
            SamlStatus::RequestDenied => (top("Responder"), Some(top("RequestDenied"))),
            SamlStatus::NoPassive => (top("Responder"), Some(top("NoPassive"))),
            SamlStatus::InvalidNameIdPolicy => (top("Requester"), Some(top("InvalidNameIDPolicy"))),
        }
    }
}

impl Error {
    /// The HTTP status of the error page. Nothing is posted to an SP for these.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Error::UnknownTenant | Error::UnknownApplication => StatusCode::NOT_FOUND,
            Error::Malformed(_)
            | Error::Doctype
            | Error::UnknownIssuer
            | Error::UnregisteredAcs
            | Error::WrongDestination
            | Error::Stale
            | Error::Replayed
            | Error::BadSignature(_)
            | Error::NoLogoutUrl
            | Error::BadFlow => StatusCode::BAD_REQUEST,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::CrossSite => StatusCode::FORBIDDEN,
            Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Directory(e) => directory_status(e).0,
        }
    }

    /// What the error page says: stable wording, never internal detail.
    pub fn public_text(&self) -> String {
        match self {
            Error::Crypto(_) => "The identity provider could not complete the sign-in.".into(),
            Error::Directory(e) => directory_status(e).1.into(),
            other => other.to_string(),
        }
    }
}

/// The one mapping from the directory's errors to the HTTP status of a page and its words.
/// A hidden object answers exactly like a missing one.
pub fn directory_status(e: &DirError) -> (StatusCode, &'static str) {
    match e {
        DirError::NotFound | DirError::Forbidden => (StatusCode::NOT_FOUND, "not found"),
        DirError::Invalid { .. }
        | DirError::Escalation(_)
        | DirError::KindNotAllowed { .. }
        | DirError::NotEmpty { .. }
        | DirError::Cycle
        | DirError::Locked
        | DirError::NotAllowed(_)
        | DirError::WeakPassword(_) => (StatusCode::BAD_REQUEST, "the request was refused"),
        DirError::AlreadyExists { .. } => (StatusCode::BAD_REQUEST, "the request was refused"),
        DirError::Unauthenticated | DirError::WrongCredentials => {
            (StatusCode::UNAUTHORIZED, "sign-in failed")
        }
        DirError::Busy | DirError::Conflict => {
            (StatusCode::SERVICE_UNAVAILABLE, "busy: try again shortly")
        }
        DirError::AlreadyInitialised
        | DirError::Corrupt(_)
        | DirError::MasterKey(_)
        | DirError::Output(_)
        | DirError::Storage(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the identity provider failed",
        ),
    }
}

/// Converts a directory error at the boundary: a replay answer becomes [`Error::Replayed`].
pub(crate) fn from_directory(e: DirError) -> Error {
    match e {
        DirError::AlreadyExists { what: "request id" } => Error::Replayed,
        other => Error::Directory(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_missing_answer_alike_and_internals_stay_inside() {
        let a = Error::Directory(DirError::NotFound);
        let b = Error::Directory(DirError::Forbidden);
        assert_eq!(a.http_status(), b.http_status());
        assert_eq!(a.public_text(), b.public_text());
        let c = Error::Directory(DirError::Storage("disk /var/x failed".into()));
        assert!(!c.public_text().contains("/var"));
        assert!(!Error::Crypto("bad key 0x1".into())
            .public_text()
            .contains("0x1"));
        assert_eq!(
            from_directory(DirError::AlreadyExists { what: "request id" }),
            Error::Replayed
        );
        assert_eq!(
            SamlStatus::RequestDenied.codes().1.as_deref(),
            Some("urn:oasis:names:tc:SAML:2.0:status:RequestDenied")
        );
    }
}
