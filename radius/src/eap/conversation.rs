//! One EAP-TTLS/PAP conversation as a state machine whose states consume themselves:
//! `Identity → TtlsStart → Handshaking → Tunnel → AwaitVerdict`, each step taking the peer's
//! response and returning the next state with what to send. It must not know about RADIUS,
//! identifiers, time or the session table (that is `sessions.rs`), nor judge the password.

use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection};

use super::avp;
use super::keys::{InnerPassword, Msk};
use super::packet::{Body, TYPE_TTLS};
use super::tls;
use super::ttls::{self, Framed, Link};
use super::EapError;

/// What a step needs from outside: the tenant's TLS configuration and the limits.
pub(crate) struct Ctx<'a> {
    /// The server configuration of this client's tenant.
    pub tls: &'a Arc<ServerConfig>,
    /// TLS bytes per EAP-TTLS packet.
    pub chunk: usize,
    /// Cap on one reassembled peer message and on the tunnelled plaintext.
    pub max_message: usize,
}

/// The states of a conversation.
#[derive(Debug)]
pub(crate) enum Conversation {
    /// We asked for the identity (the NAS sent EAP-Start).
    Identity,
    /// We offered EAP-TTLS (Start); the peer's ClientHello or a Nak comes next.
    TtlsStart,
    /// The TLS handshake is running.
    Handshaking(Channel),
    /// The tunnel is up; the inner PAP AVPs come next.
    Tunnel(Channel),
    /// The inner credentials went to the caller; its verdict comes next. The TLS connection is
    /// gone, only its keys remain.
    AwaitVerdict {
        /// The inner username.
        username: String,
        /// The keys for the Access-Accept.
        keys: Msk,
    },
}

/// The TLS connection and its framing.
#[derive(Debug)]
pub(crate) struct Channel {
    tls: Box<ServerConnection>,
    link: Link,
}

/// What a step produced.
#[derive(Debug)]
pub(crate) enum Transition {
    /// Send an EAP-Request of `kind` with `data` and go on in `next`.
    Continue {
        /// The next state.
        next: Conversation,
        /// The EAP type of the request.
        kind: u8,
        /// Its type-data.
        data: Vec<u8>,
    },
    /// The inner credentials: hand them to the caller and wait in `next` (AwaitVerdict).
    Inner {
        /// The next state.
        next: Conversation,
        /// The inner User-Name.
        username: String,
        /// The inner User-Password.
        password: InnerPassword,
    },
    /// Send EAP-Failure and end the conversation, for this reason.
    Fail(EapError),
}

impl Conversation {
    /// Takes the peer's response. `Err` is for input that cannot be used at all (malformed,
    /// out of place): the conversation ends without an EAP answer.
    pub(crate) fn step(self, body: Body<'_>, ctx: &Ctx<'_>) -> Result<Transition, EapError> {
        match (self, body) {
            (Conversation::Identity, Body::Identity(_)) => {
                let (next, kind, data) = offer_ttls();
                Ok(Transition::Continue { next, kind, data })
            }
            (Conversation::Identity, other) => Err(unexpected(&other)),
            (Conversation::TtlsStart, Body::Ttls(data)) => {
                let frag = ttls::parse(data)?;
                let tls = ServerConnection::new(Arc::clone(ctx.tls))
                    .map_err(|e| EapError::Config(e.to_string()))?;
                let channel = Channel {
                    tls: Box::new(tls),
                    link: Link::Idle,
                };
                channel.receive(frag, Phase::Handshake, ctx)
            }
            // We offer nothing but TTLS: a peer that refuses it is done (RFC 3748 §5.3.1).
            (Conversation::TtlsStart, Body::Nak(_)) => Ok(Transition::Fail(EapError::PeerNak)),
            (Conversation::TtlsStart, other) => Err(unexpected(&other)),
            (Conversation::Handshaking(channel), Body::Ttls(data)) => {
                channel.receive(ttls::parse(data)?, Phase::Handshake, ctx)
            }
            (Conversation::Tunnel(channel), Body::Ttls(data)) => {
                channel.receive(ttls::parse(data)?, Phase::Tunnel, ctx)
            }
            (Conversation::Handshaking(_) | Conversation::Tunnel(_), other) => {
                Err(unexpected(&other))
            }
            // The session table never steps a conversation that waits for its verdict.
            (Conversation::AwaitVerdict { .. }, _) => Err(EapError::Busy),
        }
    }
}

/// Offering EAP-TTLS once the identity is known: the next state, and the type and type-data
/// of the EAP-TTLS Start request.
pub(crate) fn offer_ttls() -> (Conversation, u8, Vec<u8>) {
    (Conversation::TtlsStart, TYPE_TTLS, ttls::start())
}

fn unexpected(body: &Body<'_>) -> EapError {
    EapError::UnexpectedType(match body {
        Body::Identity(_) => super::packet::TYPE_IDENTITY,
        Body::Nak(_) => super::packet::TYPE_NAK,
        Body::Ttls(_) => TYPE_TTLS,
        Body::Other(t) => *t,
    })
}

/// Which of the two TLS-carrying states a channel is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Tunnel,
}

impl Channel {
    fn into_state(self, phase: Phase) -> Conversation {
        match phase {
            Phase::Handshake => Conversation::Handshaking(self),
            Phase::Tunnel => Conversation::Tunnel(self),
        }
    }

    /// One TTLS response: framing first, then a whole message goes to TLS.
    fn receive(
        self,
        frag: ttls::Fragment<'_>,
        phase: Phase,
        ctx: &Ctx<'_>,
    ) -> Result<Transition, EapError> {
        let Channel { tls, link } = self;
        match link.receive(frag, ctx.max_message)? {
            Framed::Ack(link) => Ok(Channel { tls, link }.send_raw(phase, ttls::ack())),
            Framed::Next(link, data) => Ok(Channel { tls, link }.send_raw(phase, data)),
            Framed::Message(message) => Channel {
                tls,
                link: Link::Idle,
            }
            .message(&message, phase, ctx),
        }
    }

    fn send_raw(self, phase: Phase, data: Vec<u8>) -> Transition {
        Transition::Continue {
            next: self.into_state(phase),
            kind: TYPE_TTLS,
            data,
        }
    }

    /// Sends TLS output (fragmented), or an empty request that hands the turn to the peer.
    fn send_tls(self, phase: Phase, out: Vec<u8>, ctx: &Ctx<'_>) -> Transition {
        if out.is_empty() {
            return self.send_raw(phase, ttls::ack());
        }
        let (link, data) = Link::send(out, ctx.chunk);
        Channel {
            tls: self.tls,
            link,
        }
        .send_raw(phase, data)
    }

    /// A whole TLS message from the peer.
    fn message(
        mut self,
        message: &[u8],
        phase: Phase,
        ctx: &Ctx<'_>,
    ) -> Result<Transition, EapError> {
        if message.is_empty() {
            // An acknowledgement when nothing of ours is pending: in the handshake it is a
            // protocol error; in the tunnel it is a peer skipping inner authentication (as a
            // resuming wpa_supplicant does), which never succeeds here.
            return match phase {
                Phase::Handshake => Err(EapError::MalformedTtls),
                Phase::Tunnel => Ok(Transition::Fail(EapError::NoInnerPap)),
            };
        }
        if let Err(e) = tls::feed(&mut self.tls, message) {
            // No TLS alert goes to the peer first: wpa_supplicant does not answer a fatal alert,
            // so the NAS would wait out its retransmissions instead of getting a reject now.
            return Ok(Transition::Fail(e));
        }
        let out = match tls::drain(&mut self.tls) {
            Ok(out) => out,
            Err(e) => return Ok(Transition::Fail(e)),
        };
        if self.tls.is_handshaking() {
            return Ok(self.send_tls(Phase::Handshake, out, ctx));
        }
        // The tunnel is up: inner AVPs may already be here (TLS 1.3 lets a peer send them with
        // its Finished); otherwise send what TLS has (TLS 1.2: our Finished) or hand the turn
        // over with an empty request (TLS 1.3 without tickets), as hostapd does.
        let plain = match tls::plaintext(&mut self.tls, ctx.max_message) {
            Ok(plain) => plain,
            Err(e) => return Ok(Transition::Fail(e)),
        };
        if plain.is_empty() {
            return Ok(self.send_tls(Phase::Tunnel, out, ctx));
        }
        let creds = match avp::parse_pap(&plain) {
            Ok(creds) => creds,
            Err(e) => return Ok(Transition::Fail(e)),
        };
        let keys = match Msk::derive(&self.tls) {
            Ok(keys) => keys,
            Err(e) => return Ok(Transition::Fail(e)),
        };
        Ok(Transition::Inner {
            next: Conversation::AwaitVerdict {
                username: creds.username.clone(),
                keys,
            },
            username: creds.username,
            password: creds.password,
        })
    }
}
