//! Errors: the crate's public [`Error`] (configuration), the result an operation answers with
//! ([`LdapError`]: code, message, matchedDN), and the one exhaustive mapping from
//! `tessera_directory::Error` to LDAP result codes. A hidden object and a missing one map to the
//! same answer; internal failures are logged here and never described on the wire.

use ldap3_proto::proto::{LdapResult, LdapResultCode};
use tessera_directory::Error as DirError;

/// What can go wrong setting up the LDAP frontend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured suffix is not a DN the frontend can serve.
    #[error("the LDAP suffix {suffix:?} is not usable: {reason}")]
    Suffix {
        /// The suffix as configured.
        suffix: String,
        /// Why not.
        reason: &'static str,
    },
    /// A limit is out of range.
    #[error("the LDAP setting {setting} {reason}")]
    Setting {
        /// Which setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The result an operation ends with when it does not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LdapError {
    pub(crate) code: LdapResultCode,
    pub(crate) message: String,
    pub(crate) matched: String,
}

impl LdapError {
    pub(crate) fn new(code: LdapResultCode, message: impl Into<String>) -> Self {
        LdapError {
            code,
            message: message.into(),
            matched: String::new(),
        }
    }

    /// The same error naming the deepest entry of the DN that exists.
    pub(crate) fn with_matched(mut self, matched: String) -> Self {
        self.matched = matched;
        self
    }

    pub(crate) fn no_such_object() -> Self {
        LdapError::new(LdapResultCode::NoSuchObject, "no such object")
    }

    pub(crate) fn protocol(message: &str) -> Self {
        LdapError::new(LdapResultCode::ProtocolError, message)
    }

    pub(crate) fn unwilling(message: impl Into<String>) -> Self {
        LdapError::new(LdapResultCode::UnwillingToPerform, message)
    }

    pub(crate) fn insufficient(message: impl Into<String>) -> Self {
        LdapError::new(LdapResultCode::InsufficentAccessRights, message)
    }

    pub(crate) fn constraint(message: impl Into<String>) -> Self {
        LdapError::new(LdapResultCode::ConstraintViolation, message)
    }

    pub(crate) fn object_class(message: impl Into<String>) -> Self {
        LdapError::new(LdapResultCode::ObjectClassViolation, message)
    }

    /// A failure inside the server (a blocking task that died, a broken invariant): logged,
    /// answered with `other` and no detail.
    pub(crate) fn internal(what: &str) -> Self {
        tracing::error!(what, "LDAP operation failed inside the server");
        LdapError::new(LdapResultCode::Other, "internal error")
    }

    /// As the `LdapResult` of a response.
    pub(crate) fn into_result(self) -> LdapResult {
        LdapResult {
            code: self.code,
            matcheddn: self.matched,
            message: self.message,
            referral: Vec::new(),
        }
    }
}

/// A successful `LdapResult`.
pub(crate) fn success() -> LdapResult {
    LdapResult {
        code: LdapResultCode::Success,
        matcheddn: String::new(),
        message: String::new(),
        referral: Vec::new(),
    }
}

/// A result with this code and message.
pub(crate) fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_string(),
        referral: Vec::new(),
    }
}

/// The one mapping from the directory's errors to LDAP result codes. Exhaustive on purpose: a
/// new variant must fail this build until it is mapped.
pub(crate) fn result_code(e: &DirError) -> (LdapResultCode, String) {
    use LdapResultCode as C;
    match e {
        // Hidden and missing are the same answer.
        DirError::NotFound => (C::NoSuchObject, "no such object".into()),
        DirError::Forbidden => (
            C::InsufficentAccessRights,
            "insufficient access rights".into(),
        ),
        DirError::Escalation(x) => (C::InsufficentAccessRights, x.to_string()),
        DirError::Invalid { .. } => (C::ConstraintViolation, e.to_string()),
        DirError::AlreadyExists { what } => match *what {
            "username" | "group name" | "slug" => (C::EntryAlreadyExists, e.to_string()),
            "membership" | "binding" => (C::AttributeOrValueExists, e.to_string()),
            _ => (C::ConstraintViolation, e.to_string()),
        },
        DirError::KindNotAllowed { .. } => (C::UnwillingToPerform, e.to_string()),
        DirError::NotEmpty { .. } => (C::NotAllowedOnNonLeaf, e.to_string()),
        DirError::Cycle => (C::ConstraintViolation, e.to_string()),
        DirError::Locked => (C::UnwillingToPerform, e.to_string()),
        DirError::NotAllowed(_) => (C::UnwillingToPerform, e.to_string()),
        DirError::AlreadyInitialised => (C::UnwillingToPerform, e.to_string()),
        DirError::Conflict => (C::Busy, e.to_string()),
        DirError::WeakPassword(_) => (C::ConstraintViolation, e.to_string()),
        DirError::Unauthenticated => (C::InvalidCredentials, "invalid credentials".into()),
        DirError::WrongCredentials => (C::InvalidCredentials, e.to_string()),
        DirError::Busy => (C::Busy, e.to_string()),
        // Internal failures: logged, never described to the client.
        DirError::Corrupt(_) | DirError::MasterKey(_) | DirError::Output(_) => {
            (C::Other, "internal error".into())
        }
        DirError::Storage(_) => (C::Unavailable, "the directory is unavailable".into()),
    }
}

impl From<DirError> for LdapError {
    fn from(e: DirError) -> Self {
        let (code, message) = result_code(&e);
        if matches!(code, LdapResultCode::Other | LdapResultCode::Unavailable) {
            tracing::error!(error = %e, "directory failure during an LDAP operation");
        }
        LdapError {
            code,
            message,
            matched: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::policy::rbac::Escalation;

    #[test]
    fn internal_details_never_reach_the_wire() {
        for e in [
            DirError::Corrupt("key 0xdeadbeef".into()),
            DirError::Storage("sled: io error /var/lib".into()),
            DirError::MasterKey("wrong key file".into()),
            DirError::Output("broken pipe".into()),
        ] {
            let (_, msg) = result_code(&e);
            assert!(
                !msg.contains("0x")
                    && !msg.contains("sled")
                    && !msg.contains("key file")
                    && !msg.contains("pipe"),
                "{msg}"
            );
        }
    }

    #[test]
    fn codes() {
        use LdapResultCode as C;
        let c = |e: DirError| result_code(&e).0;
        assert_eq!(c(DirError::NotFound), C::NoSuchObject);
        assert_eq!(c(DirError::Forbidden), C::InsufficentAccessRights);
        assert_eq!(
            c(DirError::Escalation(Escalation { missing: vec![] })),
            C::InsufficentAccessRights
        );
        assert_eq!(
            c(DirError::AlreadyExists { what: "username" }),
            C::EntryAlreadyExists
        );
        assert_eq!(
            c(DirError::AlreadyExists { what: "membership" }),
            C::AttributeOrValueExists
        );
        assert_eq!(
            c(DirError::AlreadyExists { what: "email" }),
            C::ConstraintViolation
        );
        assert_eq!(
            c(DirError::NotEmpty { what: "users" }),
            C::NotAllowedOnNonLeaf
        );
        assert_eq!(c(DirError::WeakPassword(vec![])), C::ConstraintViolation);
        assert_eq!(c(DirError::WrongCredentials), C::InvalidCredentials);
        assert_eq!(c(DirError::Busy), C::Busy);
        assert_eq!(c(DirError::Conflict), C::Busy);
    }
}
