//! EAP-TTLS/PAP for the RADIUS frontend: the EAP codec, TTLS framing, the TLS tunnel on rustls,
//! the inner PAP AVPs, the keys (MSK/EMSK, MS-MPPE-*-Key) and a bounded table of conversations.
//! It is pure and synchronous: it never touches a socket, the clock, the store or the directory —
//! time comes in as a parameter, and the inner username and password go *out* to the caller, who
//! asks the core and feeds the verdict back.
//!
//! # Integration note for the RADIUS server layer
//!
//! One [`EapSessions`] per server (it is `Sync`; share it behind an `Arc`). For an Access-Request
//! that carries EAP-Message attributes:
//!
//! 1. Concatenate the values of all its EAP-Message (79) attributes in order and call
//!    [`EapSessions::handle`] with them, the request's State (24) attribute if any, the
//!    matched client's `AppId` (a conversation is bound to the client that began it), the
//!    `Arc<rustls::ServerConfig>` of the client's tenant — never another tenant's: the server
//!    layer keeps one per tenant, built with [`tls::server_config`] (TLS 1.2 and 1.3, no
//!    resumption) from the tenant's certificate in the directory — and `now`.
//! 2. Map the [`EapStep`]:
//!    - [`EapStep::Challenge`] → Access-Challenge with `eap` split by [`split_eap_message`] into
//!      EAP-Message attributes, `state` as the State attribute, Message-Authenticator.
//!    - [`EapStep::InnerPap`] → run the core's one authentication call with `username` (the
//!      *inner* name — never the outer identity, which is only for logs) and `password`, then call
//!      [`EapSessions::verdict`] with the same `state` and the result.
//!    - [`EapStep::Reject`] → Access-Reject with `eap` (an EAP-Failure) as EAP-Message.
//! 3. [`EapSessions::verdict`] gives [`Verdict::Accept`] → Access-Accept with `eap`
//!    (EAP-Success) as EAP-Message, MS-MPPE-Recv-Key and MS-MPPE-Send-Key (vendor 311, types 17
//!    and 16) from [`Msk::mppe_attributes`] (they need the shared secret and *this* request's
//!    Request Authenticator), `User-Name` = the inner username, plus the group reply attributes;
//!    or [`Verdict::Reject`] → Access-Reject with `eap` (EAP-Failure).
//! 4. An `Err(EapError)` means there is nothing EAP can say: answer Access-Reject without an
//!    EAP-Message, or drop the request when [`EapError::keeps_session`] is true (a stray
//!    duplicate, a request racing its own conversation): the conversation then goes on.
//!
//! A retransmitted Access-Request (same source, identifier and authenticator) must be answered
//! from the duplicate cache, not handed to `handle` again (it would be dropped as a duplicate).
//! Call [`EapSessions::purge`] now and then (e.g. once a second) to drop abandoned
//! conversations; full tables also purge on their own before refusing a new one. Log
//! `EapStep::Reject::reason` and the error, never put them on the wire.
//!
//! MFA: EAP-TTLS/PAP has no room for a RADIUS challenge round, so a TOTP code can only come
//! appended to the inner password (the core's appended-code rule); an outcome that asks for a
//! separate code is a reject here.
//!
//! The anonymous outer identity (EAP-Response/Identity, and the Access-Request's User-Name) is
//! only for logs (`EapStep::InnerPap::outer_identity`); the user is the inner User-Name AVP. TLS
//! session resumption is off, and even a resumed tunnel would still have to carry inner PAP: no
//! conversation reaches EAP-Success without a verdict. Over TLS 1.3 the server sends no 0x00
//! "protected success" octet (that is EAP-TLS's, RFC 9190 §2.5); like hostapd it hands the turn
//! to the peer with an empty TTLS request after the handshake, and the inner PAP result is the
//! EAP-Success or -Failure itself.

mod avp;
mod conversation;
mod keys;
mod packet;
mod sessions;
pub mod tls;
mod ttls;

pub use keys::{mppe_decrypt, mppe_encrypt, InnerPassword, MppeAttributes, Msk};
pub use sessions::{EapInput, EapLimits, EapSessions, EapStep, Verdict};

/// The largest value of one RADIUS attribute (RFC 2865 §5: 255 − type − length).
pub const MAX_ATTRIBUTE_VALUE: usize = 253;

/// Splits an EAP packet into values for consecutive EAP-Message attributes (RFC 3579 §3.1):
/// each at most [`MAX_ATTRIBUTE_VALUE`] bytes, in order. An empty packet gives one empty value.
pub fn split_eap_message(eap: &[u8]) -> Vec<&[u8]> {
    if eap.is_empty() {
        return vec![eap];
    }
    eap.chunks(MAX_ATTRIBUTE_VALUE).collect()
}

/// Everything that can go wrong in an EAP conversation.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum EapError {
    /// The EAP packet is shorter than its header, its Length field is impossible, or a
    /// Request/Response has no Type.
    #[error("malformed EAP packet")]
    Malformed,
    /// The packet is well formed but is not an EAP-Response (a server only takes responses).
    #[error("EAP code {0} is not a response")]
    NotAResponse(u8),
    /// The Response's Identifier is not the one of the request it should answer (a late
    /// duplicate): discarded, the conversation goes on (RFC 3748 §4.1).
    #[error("EAP identifier {got} does not answer request {expected}")]
    UnexpectedIdentifier {
        /// The identifier of our last request.
        expected: u8,
        /// The identifier in the response.
        got: u8,
    },
    /// The peer answered our EAP-TTLS offer with a Nak: it will not do TTLS, the only method
    /// offered.
    #[error("the peer refused EAP-TTLS")]
    PeerNak,
    /// A response of a type that makes no sense at this point of the conversation.
    #[error("unexpected EAP type {0} at this point")]
    UnexpectedType(u8),
    /// The EAP-TTLS header or flags are malformed (bad L field, S or a version other than 0
    /// from the peer, an ACK carrying data).
    #[error("malformed EAP-TTLS message")]
    MalformedTtls,
    /// The peer announced or sent more TLS data than the limit allows.
    #[error("EAP-TTLS message larger than {limit} bytes")]
    TooLarge {
        /// The configured cap on one reassembled message.
        limit: usize,
    },
    /// The conversation took more round trips than the limit allows.
    #[error("more than {limit} EAP round trips")]
    TooManyRounds {
        /// The configured cap.
        limit: u32,
    },
    /// The inner Diameter AVPs are malformed (bad length, truncated, bad UTF-8) or carry an
    /// unsupported mandatory AVP.
    #[error("malformed inner AVPs")]
    MalformedAvp,
    /// The tunnel carried no User-Name and User-Password (an inner method other than PAP).
    #[error("the tunnel carried no PAP credentials")]
    NoInnerPap,
    /// The TLS layer refused the peer's data (handshake failure, bad record, alert).
    #[error("TLS: {0}")]
    Tls(String),
    /// Request with no State that does not start a conversation, or an EAP message that is not
    /// an Identity response where one must be.
    #[error("no conversation to continue")]
    MissingState,
    /// The State attribute names no conversation (never issued, finished or purged), or one
    /// that another NAS client began (that one is left untouched).
    #[error("unknown EAP State")]
    UnknownState,
    /// The conversation timed out before this request.
    #[error("the EAP conversation expired")]
    Expired,
    /// The conversation table is full: the request is refused.
    #[error("too many EAP conversations in progress")]
    TableFull,
    /// The conversation is being processed by another request right now, or waits for the
    /// verdict and got a request instead: this one is dropped, the conversation goes on.
    #[error("the EAP conversation is busy")]
    Busy,
    /// `verdict` was called for a conversation that is not waiting for one.
    #[error("the EAP conversation is not waiting for a verdict")]
    NoVerdictPending,
    /// Deriving the keys from the TLS session failed.
    #[error("deriving the EAP keys failed")]
    KeyDerivation,
    /// The limits or the TLS material given at construction are unusable.
    #[error("invalid EAP configuration: {0}")]
    Config(String),
    /// An MPPE key attribute could not be decrypted (wrong length, bad padding).
    #[error("malformed MS-MPPE key attribute")]
    MalformedMppe,
}

impl EapError {
    /// Whether the request should be dropped rather than rejected because its conversation
    /// goes on: a mismatched identifier (a late duplicate) or a busy conversation.
    pub fn keeps_session(&self) -> bool {
        matches!(self, EapError::UnexpectedIdentifier { .. } | EapError::Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_eap_message_respects_the_attribute_limit() {
        let packet: Vec<u8> = (0..=600u16).map(|i| (i % 251) as u8).collect();
        let parts = split_eap_message(&packet);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].len(), 253);
        assert_eq!(parts[1].len(), 253);
        assert_eq!(parts[2].len(), 601 - 506);
        assert_eq!(parts.concat(), packet);
        assert_eq!(split_eap_message(&[]), vec![&[] as &[u8]]);
        assert_eq!(split_eap_message(&packet[..253]).len(), 1);
    }
}
