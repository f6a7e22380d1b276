//! The bounded table of EAP conversations, keyed by the RADIUS State we issue: it creates
//! conversations, checks identifiers, round trips and expiry, steps the state machine outside
//! the lock, and turns transitions into EAP packets for the caller. It must not call the
//! directory or read the clock: the caller gives `now` and the verdict.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use rustls::ServerConfig;
use tessera_directory::model::AppId;
use tessera_directory::policy::Timestamp;

use super::conversation::{self, Conversation, Ctx, Transition};
use super::keys::{InnerPassword, Msk};
use super::packet::{self, Body};
use super::EapError;

/// Length of the RADIUS State values we issue.
const STATE_LEN: usize = 16;
/// EAP-TTLS header bytes around the TLS data: EAP header, type, flags, TLS Message Length.
const TTLS_OVERHEAD: usize = 4 + 1 + 1 + 4;
/// The largest EAP packet that still fits a 4096-byte RADIUS packet next to its header,
/// Message-Authenticator, State and the per-attribute overhead of EAP-Message.
const MAX_MTU: usize = 4000;
const MIN_MTU: usize = 64;

/// The bounds of the conversation table.
#[derive(Debug, Clone)]
pub struct EapLimits {
    /// Conversations in progress at once; a new one beyond this is refused.
    pub max_sessions: usize,
    /// How long a conversation waits for the next request (or for the verdict).
    pub idle_timeout: Duration,
    /// Round trips one conversation may take (a full TLS 1.2 handshake with a 2 KiB chain
    /// at the default MTU needs about 10).
    pub max_rounds: u32,
    /// The largest EAP packet we send, headers included (64..=4000), when the NAS does not say
    /// (Framed-MTU, see [`EapInput::framed_mtu`]); our TLS data is fragmented to fit.
    pub mtu: usize,
    /// The largest reassembled TLS message we accept from a peer, and the largest tunnelled
    /// plaintext.
    pub max_message: usize,
}

impl Default for EapLimits {
    fn default() -> Self {
        EapLimits {
            max_sessions: 4096,
            idle_timeout: Duration::from_secs(30),
            max_rounds: 40,
            mtu: 1024,
            max_message: 64 * 1024,
        }
    }
}

/// One Access-Request's EAP part.
#[derive(Debug)]
pub struct EapInput<'a> {
    /// The values of all EAP-Message attributes, concatenated in order (empty for EAP-Start).
    pub eap_message: &'a [u8],
    /// The State attribute, when the request has one.
    pub state: Option<&'a [u8]>,
    /// The NAS client (application) the request came through: a conversation goes on only
    /// through the client that began it (another client naming its State gets
    /// [`EapError::UnknownState`], and the conversation is untouched).
    pub client: AppId,
    /// The TLS configuration of the client's tenant (used when a handshake starts).
    pub tls: &'a Arc<ServerConfig>,
    /// The request's Framed-MTU: the largest EAP packet the NAS can carry to the peer
    /// (RFC 3579 §2.4, RFC 3580 §3.17). When given, our EAP packets are cut to it (within
    /// 64..=4000) instead of [`EapLimits::mtu`]: a NAS that carries more saves round trips, one
    /// that carries less still gets packets it can deliver.
    pub framed_mtu: Option<u32>,
    /// The current time.
    pub now: Timestamp,
}

/// What to answer an Access-Request with.
#[derive(Debug)]
pub enum EapStep {
    /// Access-Challenge carrying `eap` (split with [`super::split_eap_message`]) and `state` as
    /// the State attribute.
    Challenge {
        /// The EAP-Request.
        eap: Vec<u8>,
        /// The State to send.
        state: Vec<u8>,
    },
    /// The tunnel delivered inner PAP credentials: authenticate `username` with `password`
    /// through the core, then call [`EapSessions::verdict`] with `state`.
    InnerPap {
        /// The inner User-Name: the user of this conversation.
        username: String,
        /// The inner User-Password.
        password: InnerPassword,
        /// The anonymous outer identity, for logs only — never to authenticate or authorise.
        outer_identity: String,
        /// The State of the conversation, for the verdict.
        state: Vec<u8>,
    },
    /// Access-Reject carrying `eap` (an EAP-Failure); the conversation is over.
    Reject {
        /// The EAP-Failure.
        eap: Vec<u8>,
        /// Why, for the log and the audit.
        reason: EapError,
    },
}

/// The end of a conversation after the verdict.
#[derive(Debug)]
pub enum Verdict {
    /// Access-Accept with `eap` (EAP-Success) and the MPPE keys from `keys`.
    Accept {
        /// The EAP-Success.
        eap: Vec<u8>,
        /// The MSK/EMSK (see [`Msk::mppe_attributes`]).
        keys: Msk,
        /// The inner username that was accepted.
        username: String,
    },
    /// Access-Reject with `eap` (EAP-Failure).
    Reject {
        /// The EAP-Failure.
        eap: Vec<u8>,
    },
}

/// A conversation and what the table tracks about it.
#[derive(Debug)]
struct Session {
    conversation: Conversation,
    /// The identifier of our last request, which the next response must echo.
    last_id: u8,
    rounds: u32,
    expires: Timestamp,
    /// The outer identity, for logs.
    outer_identity: String,
    /// The client that began the conversation.
    client: AppId,
}

/// A table entry: a conversation at rest, or one that a request is stepping right now.
#[derive(Debug)]
enum Slot {
    Idle(Box<Session>),
    Busy { expires: Timestamp },
}

impl Slot {
    fn expires(&self) -> Timestamp {
        match self {
            Slot::Idle(s) => s.expires,
            Slot::Busy { expires } => *expires,
        }
    }
}

/// The EAP conversations of a server.
#[derive(Debug)]
pub struct EapSessions {
    limits: EapLimits,
    timeout_micros: i64,
    table: Mutex<HashMap<[u8; STATE_LEN], Slot>>,
}

impl EapSessions {
    /// An empty table. Limits out of range (MTU outside 64..=4000, zero sessions, rounds,
    /// message size or timeout) are refused.
    pub fn new(limits: EapLimits) -> Result<Self, EapError> {
        if !(MIN_MTU..=MAX_MTU).contains(&limits.mtu) {
            return Err(EapError::Config(format!(
                "mtu must be {MIN_MTU}..={MAX_MTU}"
            )));
        }
        if limits.max_sessions == 0
            || limits.max_rounds == 0
            || limits.max_message < limits.mtu
            || limits.idle_timeout.is_zero()
        {
            return Err(EapError::Config(
                "sessions, rounds and timeout must be positive, max_message at least the mtu"
                    .into(),
            ));
        }
        let timeout_micros = i64::try_from(limits.idle_timeout.as_micros()).unwrap_or(i64::MAX);
        Ok(EapSessions {
            limits,
            timeout_micros,
            table: Mutex::new(HashMap::new()),
        })
    }

    /// Conversations in the table (including finished-but-unpurged ones).
    pub fn len(&self) -> usize {
        self.table.lock().len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.lock().is_empty()
    }

    /// Drops the conversations that expired by `now`; returns how many.
    pub fn purge(&self, now: Timestamp) -> usize {
        let mut table = self.table.lock();
        let before = table.len();
        table.retain(|_, slot| slot.expires() > now);
        before - table.len()
    }

    /// Takes one Access-Request's EAP part. See the module documentation for what to do with
    /// each answer.
    pub fn handle(&self, input: EapInput<'_>) -> Result<EapStep, EapError> {
        match input.state {
            None => self.begin(input),
            Some(state) => self.resume(state, input),
        }
    }

    /// Ends a conversation that waits for its verdict: `accepted` is the core's answer to the
    /// inner PAP credentials.
    pub fn verdict(
        &self,
        state: &[u8],
        accepted: bool,
        now: Timestamp,
    ) -> Result<Verdict, EapError> {
        let key = key_of(state)?;
        let session = self.take(key, now)?;
        if !matches!(session.conversation, Conversation::AwaitVerdict { .. }) {
            self.put_back(key, session);
            return Err(EapError::NoVerdictPending);
        }
        self.forget(key);
        let Session {
            conversation,
            last_id,
            ..
        } = *session;
        match conversation {
            Conversation::AwaitVerdict { username, keys } if accepted => Ok(Verdict::Accept {
                eap: packet::success(last_id),
                keys,
                username,
            }),
            _ => Ok(Verdict::Reject {
                eap: packet::failure(last_id),
            }),
        }
    }

    /// A request without State: EAP-Start or the peer's identity opens a conversation.
    fn begin(&self, input: EapInput<'_>) -> Result<EapStep, EapError> {
        let (conversation, request, outer_identity, id) = if input.eap_message.is_empty() {
            let id: u8 = rand::thread_rng().r#gen();
            (
                Conversation::Identity,
                packet::identity_request(id),
                String::new(),
                id,
            )
        } else {
            let response = packet::parse_response(input.eap_message)?;
            let Body::Identity(outer) = response.body else {
                return Err(EapError::MissingState);
            };
            let id = response.identifier.wrapping_add(1);
            let (next, kind, data) = conversation::offer_ttls();
            let outer = outer_identity(outer);
            (next, packet::request(id, kind, &data), outer, id)
        };
        let session = Session {
            conversation,
            last_id: id,
            rounds: 1,
            expires: self.deadline(input.now),
            outer_identity,
            client: input.client,
        };
        let state = self.insert(session, input.now)?;
        Ok(EapStep::Challenge {
            eap: request,
            state: state.to_vec(),
        })
    }

    /// A request with State: step its conversation.
    fn resume(&self, state: &[u8], input: EapInput<'_>) -> Result<EapStep, EapError> {
        let key = key_of(state)?;
        let mut session = self.take(key, input.now)?;
        if session.client != input.client {
            self.put_back(key, session);
            return Err(EapError::UnknownState);
        }
        let response = match packet::parse_response(input.eap_message) {
            Ok(response) => response,
            Err(e) => {
                self.forget(key);
                return Err(e);
            }
        };
        if response.identifier != session.last_id {
            let expected = session.last_id;
            self.put_back(key, session);
            return Err(EapError::UnexpectedIdentifier {
                expected,
                got: response.identifier,
            });
        }
        if matches!(session.conversation, Conversation::AwaitVerdict { .. }) {
            self.put_back(key, session);
            return Err(EapError::Busy);
        }
        if let Body::Identity(outer) = response.body {
            // After EAP-Start the identity comes with our State.
            session.outer_identity = outer_identity(outer);
        }
        let id = response.identifier;
        session.rounds += 1;
        if session.rounds > self.limits.max_rounds {
            self.forget(key);
            return Ok(EapStep::Reject {
                eap: packet::failure(id),
                reason: EapError::TooManyRounds {
                    limit: self.limits.max_rounds,
                },
            });
        }
        let mtu = input.framed_mtu.map_or(self.limits.mtu, |m| {
            usize::try_from(m).map_or(MAX_MTU, |m| m.clamp(MIN_MTU, MAX_MTU))
        });
        let ctx = Ctx {
            tls: input.tls,
            chunk: mtu - TTLS_OVERHEAD,
            max_message: self.limits.max_message,
        };
        let Session {
            conversation,
            last_id,
            rounds,
            outer_identity,
            client,
            ..
        } = *session;
        let transition = match conversation.step(response.body, &ctx) {
            Ok(transition) => transition,
            Err(e) => {
                self.forget(key);
                return Err(e);
            }
        };
        let expires = self.deadline(input.now);
        match transition {
            Transition::Continue { next, kind, data } => {
                let next_id = last_id.wrapping_add(1);
                let eap = packet::request(next_id, kind, &data);
                self.put_back(
                    key,
                    Box::new(Session {
                        conversation: next,
                        last_id: next_id,
                        rounds,
                        expires,
                        outer_identity,
                        client,
                    }),
                );
                Ok(EapStep::Challenge {
                    eap,
                    state: key.to_vec(),
                })
            }
            Transition::Inner {
                next,
                username,
                password,
            } => {
                self.put_back(
                    key,
                    Box::new(Session {
                        conversation: next,
                        last_id,
                        rounds,
                        expires,
                        outer_identity: outer_identity.clone(),
                        client,
                    }),
                );
                Ok(EapStep::InnerPap {
                    username,
                    password,
                    outer_identity,
                    state: key.to_vec(),
                })
            }
            Transition::Fail(reason) => {
                self.forget(key);
                Ok(EapStep::Reject {
                    eap: packet::failure(id),
                    reason,
                })
            }
        }
    }

    fn deadline(&self, now: Timestamp) -> Timestamp {
        Timestamp(now.0.saturating_add(self.timeout_micros))
    }

    /// Stores a new conversation under a fresh random State; purges expired ones when full.
    fn insert(&self, session: Session, now: Timestamp) -> Result<[u8; STATE_LEN], EapError> {
        let mut table = self.table.lock();
        if table.len() >= self.limits.max_sessions {
            table.retain(|_, slot| slot.expires() > now);
            if table.len() >= self.limits.max_sessions {
                return Err(EapError::TableFull);
            }
        }
        let mut rng = rand::thread_rng();
        loop {
            let key: [u8; STATE_LEN] = rng.r#gen();
            if let std::collections::hash_map::Entry::Vacant(slot) = table.entry(key) {
                slot.insert(Slot::Idle(Box::new(session)));
                return Ok(key);
            }
        }
    }

    /// Takes a conversation out to step it, leaving a Busy marker.
    fn take(&self, key: [u8; STATE_LEN], now: Timestamp) -> Result<Box<Session>, EapError> {
        let mut table = self.table.lock();
        match table.get(&key) {
            None => return Err(EapError::UnknownState),
            Some(slot) if slot.expires() <= now => {
                table.remove(&key);
                return Err(EapError::Expired);
            }
            Some(Slot::Busy { .. }) => return Err(EapError::Busy),
            Some(Slot::Idle(_)) => {}
        }
        let busy = Slot::Busy {
            expires: self.deadline(now),
        };
        match table.insert(key, busy) {
            Some(Slot::Idle(session)) => Ok(session),
            _ => {
                table.remove(&key);
                Err(EapError::UnknownState)
            }
        }
    }

    fn put_back(&self, key: [u8; STATE_LEN], session: Box<Session>) {
        self.table.lock().insert(key, Slot::Idle(session));
    }

    fn forget(&self, key: [u8; STATE_LEN]) {
        self.table.lock().remove(&key);
    }
}

/// The outer identity as text for logs: lossy UTF-8, at most a RADIUS attribute's worth.
fn outer_identity(raw: &[u8]) -> String {
    let raw = raw.get(..super::MAX_ATTRIBUTE_VALUE).unwrap_or(raw);
    String::from_utf8_lossy(raw).into_owned()
}

/// A State value as a table key; a value we could not have issued names no conversation.
fn key_of(state: &[u8]) -> Result<[u8; STATE_LEN], EapError> {
    <[u8; STATE_LEN]>::try_from(state).map_err(|_| EapError::UnknownState)
}
