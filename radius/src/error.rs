//! The frontend's errors, and the one exhaustive mapping from the core's authentication
//! [`Outcome`] and [`tessera_directory::Error`] to what goes on the wire: Access-Accept,
//! Access-Reject, Access-Challenge, or no answer at all (the NAS retransmits or fails over).
//! Reasons never go on the wire — the core's audit log has them. No `_` arm: a new variant of
//! the core must fail this build until it is mapped.

use tessera_directory::{Authenticated, MfaNeed, Outcome};

/// What went wrong setting up the frontend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range.
    #[error("radius.{setting}: {reason}")]
    Setting {
        /// The setting.
        setting: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The RADIUS clients could not be read from the directory.
    #[error("reading the RADIUS clients: {0}")]
    Directory(String),
    /// The EAP engine could not be set up.
    #[error("EAP: {0}")]
    Eap(String),
}

/// What the wire says to an authentication.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Access-Accept, with the user for the reply attributes.
    Accept(Box<Authenticated>),
    /// Access-Reject.
    Reject,
    /// Access-Challenge for a TOTP code.
    ChallengeCode,
    /// No answer.
    Drop,
}

/// The wire's answer to an authentication outcome.
pub(crate) fn outcome(o: Outcome) -> Verdict {
    match o {
        Outcome::Success(a) => Verdict::Accept(a),
        Outcome::MfaRequired(MfaNeed::Code) => Verdict::ChallengeCode,
        // Enrolment happens on the admin surfaces, never over RADIUS.
        Outcome::MfaRequired(MfaNeed::Enrolment) => Verdict::Reject,
        Outcome::BadCredentials
        | Outcome::Locked { .. }
        | Outcome::Expired { .. }
        | Outcome::Suspended
        | Outcome::MfaFailed
        | Outcome::NotAllowed => Verdict::Reject,
        // Saturated: silence makes the NAS retransmit a little later.
        Outcome::Busy => Verdict::Drop,
    }
}

/// The wire's answer when the core failed instead of deciding.
pub(crate) fn failure(e: &tessera_directory::Error) -> Verdict {
    use tessera_directory::Error as E;
    match e {
        // Transient or the server's own trouble: say nothing, so the NAS retries or fails over
        // to another server instead of telling the user their password is wrong.
        E::Busy | E::Conflict | E::Storage(_) | E::Corrupt(_) | E::MasterKey(_) | E::Output(_) => {
            Verdict::Drop
        }
        // Anything else means this request cannot succeed.
        E::NotFound
        | E::Forbidden
        | E::Escalation(_)
        | E::Invalid { .. }
        | E::AlreadyExists { .. }
        | E::KindNotAllowed { .. }
        | E::NotEmpty { .. }
        | E::Cycle
        | E::Locked
        | E::NotAllowed(_)
        | E::AlreadyInitialised
        | E::WeakPassword(_)
        | E::Unauthenticated
        | E::WrongCredentials => Verdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::policy::Timestamp;

    #[test]
    fn every_refusal_rejects_busy_drops_and_a_missing_code_challenges() {
        for o in [
            Outcome::BadCredentials,
            Outcome::Locked {
                until: Timestamp(0),
            },
            Outcome::Suspended,
            Outcome::MfaFailed,
            Outcome::NotAllowed,
            Outcome::MfaRequired(MfaNeed::Enrolment),
        ] {
            assert!(matches!(outcome(o), Verdict::Reject));
        }
        assert!(matches!(outcome(Outcome::Busy), Verdict::Drop));
        assert!(matches!(
            outcome(Outcome::MfaRequired(MfaNeed::Code)),
            Verdict::ChallengeCode
        ));
        assert!(matches!(
            failure(&tessera_directory::Error::Storage("disk".into())),
            Verdict::Drop
        ));
        assert!(matches!(
            failure(&tessera_directory::Error::NotFound),
            Verdict::Reject
        ));
    }
}
