//! One datagram, start to answer: framing, the client it comes from (and the proof it does),
//! the duplicate cache, then one `handle_*` per request kind — PAP Access-Request through the
//! core's one authentication call, the TOTP challenge's follow-up, EAP (its conversation run by
//! `eap`, its inner PAP through the same core call),
//! Status-Server (RFC 5997) and Accounting-Request. It blocks (store reads, argon2 on the core's
//! pool), so the listener runs it on a blocking thread. It never decides allow/deny: the core's
//! outcome goes through `error`'s one mapping.

use crate::accounting::{self, Kind};
use crate::attrs;
use crate::challenge::{Challenges, Refused};
use crate::client::{self, Clients, Drop, Drops};
use crate::dup::{DupCache, Seen};
use crate::eap::{self, EapInput, EapLimits, EapSessions, EapStep};
use crate::error::{self, Verdict};
use crate::packet::{code, Reply, Request};
use crate::pap;
use crate::tenant_tls::{TenantTls, Unavailable};
use crate::{Error, RadiusConfig};
use radius::core::{rfc2865, rfc2869};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use tessera_directory::clock::{ChaChaSource, IdSource};
use tessera_directory::model::NasClient;
use tessera_directory::policy::Protocol;
use tessera_directory::{Actor, AuthRequest, Authenticated, Directory, TenantRef};

/// Which listener a datagram arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Authentication (1812): Access-Request and Status-Server.
    Auth,
    /// Accounting (1813): Accounting-Request and Status-Server.
    Acct,
}

/// What every request of a server shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) dir: Directory,
    pub(crate) config: RadiusConfig,
    pub(crate) clients: Clients,
    pub(crate) dup: DupCache,
    pub(crate) challenges: Challenges,
    pub(crate) drops: Drops,
    /// State nonces.
    pub(crate) rng: ChaChaSource,
    /// EAP conversations.
    pub(crate) eap: EapSessions,
    /// The per-tenant TLS configurations of EAP-TTLS; without them, EAP is refused.
    pub(crate) eap_tls: Option<TenantTls>,
    /// When abandoned EAP conversations were last purged (microseconds).
    eap_purged_at: AtomicI64,
}

/// EAP conversations are purged at most this often.
const EAP_PURGE_MICROS: i64 = 1_000_000;

impl Ctx {
    pub(crate) fn new(dir: Directory, config: RadiusConfig, eap: bool) -> Result<Ctx, Error> {
        Ok(Ctx {
            clients: Clients::new(dir.clone(), config.clients_refresh_secs),
            dup: DupCache::new(config.duplicate_window_secs, config.max_duplicates),
            challenges: Challenges::new(config.challenge_ttl_secs, config.max_challenges),
            drops: Drops::default(),
            rng: ChaChaSource::from_os(),
            eap: EapSessions::new(EapLimits::default()).map_err(|e| Error::Eap(e.to_string()))?,
            eap_tls: eap.then(|| TenantTls::new(dir.clone(), crate::tenant_tls::MAX_TENANTS)),
            eap_purged_at: AtomicI64::new(0),
            dir,
            config,
        })
    }

    /// Drops abandoned EAP conversations, at most once a second.
    fn purge_eap(&self) {
        let now = self.dir.now();
        let last = self.eap_purged_at.load(Ordering::Relaxed);
        if now.0.saturating_sub(last) >= EAP_PURGE_MICROS
            && self
                .eap_purged_at
                .compare_exchange(last, now.0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.eap.purge(now);
        }
    }

    fn drop(&self, why: Drop, source: IpAddr) -> Option<Vec<u8>> {
        self.drops.record(why, source, self.dir.now());
        None
    }
}

/// Answers one datagram from `src`; `None`: no answer.
pub(crate) fn handle(ctx: &Ctx, port: Port, src: SocketAddr, datagram: &[u8]) -> Option<Vec<u8>> {
    let ip = client::canonical(src.ip());
    let Ok(req) = Request::parse(datagram) else {
        return ctx.drop(Drop::Malformed, ip);
    };
    match (port, req.code()) {
        (_, code::STATUS_SERVER) => handle_status_server(ctx, port, ip, &req),
        (Port::Auth, code::ACCESS_REQUEST) => handle_access_request(ctx, src, ip, &req),
        (Port::Acct, code::ACCOUNTING_REQUEST) => handle_accounting(ctx, src, ip, &req),
        _ => ctx.drop(Drop::UnexpectedCode, ip),
    }
}

/// Status-Server (RFC 5997): it must carry a Message-Authenticator that verifies; answered
/// with Access-Accept on the authentication port, Accounting-Response on the accounting port.
fn handle_status_server(ctx: &Ctx, port: Port, ip: IpAddr, req: &Request) -> Option<Vec<u8>> {
    let candidates = ctx.clients.candidates(ip, ctx.dir.now());
    if candidates.is_empty() {
        return ctx.drop(Drop::UnknownClient, ip);
    }
    let c = match client::pick_by_message_authenticator(req, candidates, false) {
        Ok(c) => c,
        Err(d) => return ctx.drop(d, ip),
    };
    let answer = match port {
        Port::Auth => code::ACCESS_ACCEPT,
        Port::Acct => code::ACCOUNTING_RESPONSE,
    };
    Reply::to(req, answer).encode(req, c.secret.expose().as_bytes())
}

/// Runs `answer` once per distinct request: a retransmission gets the first answer again.
fn once(
    ctx: &Ctx,
    src: SocketAddr,
    req: &Request,
    answer: impl FnOnce() -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let key = (src, req.identifier(), req.authenticator());
    match ctx.dup.begin(key, ctx.dir.now()) {
        Seen::Replay(bytes) => Some(bytes),
        Seen::InProgress => ctx.drop(Drop::InProgress, src.ip()),
        Seen::New => {
            let reply = answer();
            ctx.dup.finish(key, reply.as_deref());
            reply
        }
    }
}

fn handle_access_request(ctx: &Ctx, src: SocketAddr, ip: IpAddr, req: &Request) -> Option<Vec<u8>> {
    let candidates = ctx.clients.candidates(ip, ctx.dir.now());
    if candidates.is_empty() {
        return ctx.drop(Drop::UnknownClient, ip);
    }
    let eap = req.first(rfc2869::EAP_MESSAGE_TYPE).is_some();
    // EAP always needs Message-Authenticator (RFC 3579 §3.2), legacy client or not.
    let c = match client::pick_by_message_authenticator(req, candidates, !eap) {
        Ok(c) => c,
        Err(d) => return ctx.drop(d, ip),
    };
    once(ctx, src, req, || {
        if eap {
            handle_eap(ctx, ip, req, &c)
        } else {
            handle_pap(ctx, ip, req, &c)
        }
    })
}

/// A reply of `code` with nothing but Message-Authenticator (and Proxy-State).
fn bare(req: &Request, c: &NasClient, reply_code: u8) -> Option<Vec<u8>> {
    Reply::to(req, reply_code).encode(req, c.secret.expose().as_bytes())
}

/// PAP: a first request (password, perhaps with the code appended), or the follow-up of a
/// challenge (its State, the code as the password).
fn handle_pap(ctx: &Ctx, ip: IpAddr, req: &Request, c: &NasClient) -> Option<Vec<u8>> {
    let reject = || bare(req, c, code::ACCESS_REJECT);
    let Some(username) = req.text(rfc2865::USER_NAME_TYPE) else {
        return reject();
    };
    let Some(hidden) = req.first(rfc2865::USER_PASSWORD_TYPE) else {
        // CHAP and friends need the password in the clear on the server: never stored here.
        return reject();
    };
    let Ok(password) = pap::decode(hidden, c.secret.expose().as_bytes(), &req.authenticator())
    else {
        return reject();
    };
    if let Some(state) = req
        .first(rfc2865::STATE_TYPE)
        .filter(|s| Challenges::is_ours(s))
    {
        return handle_challenge_reply(ctx, ip, req, c, username, state, &password);
    }
    let auth = AuthRequest {
        tenant: TenantRef::Id(c.tenant),
        username,
        secret: &password,
        second_factor: None,
        protocol: Protocol::Radius,
        application: Some(c.app),
        source: Some(ip),
    };
    let (verdict, pending) = match ctx.dir.authenticate_for_challenge(&auth) {
        Ok((o, p)) => (error::outcome(o), p),
        Err(e) => (error::failure(&e), None),
    };
    match (verdict, pending) {
        (Verdict::ChallengeCode, Some(step)) => {
            let mut nonce = [0u8; 16];
            ctx.rng.fill(&mut nonce);
            let state = ctx
                .challenges
                .issue(nonce, c.app, username, step, ctx.dir.now());
            let mut reply = Reply::to(req, code::ACCESS_CHALLENGE);
            reply.add(rfc2865::STATE_TYPE, &state);
            reply.add(
                rfc2865::REPLY_MESSAGE_TYPE,
                ctx.config.challenge_prompt.as_bytes(),
            );
            reply.encode(req, c.secret.expose().as_bytes())
        }
        (Verdict::ChallengeCode, None) => reject(),
        (v, _) => answer(ctx, ip, req, c, v),
    }
}

/// The follow-up of a TOTP challenge: the State names the pending step, the password field
/// holds the code.
fn handle_challenge_reply(
    ctx: &Ctx,
    ip: IpAddr,
    req: &Request,
    c: &NasClient,
    username: &str,
    state: &[u8],
    code: &str,
) -> Option<Vec<u8>> {
    let pending = match ctx.challenges.take(state, c.app, username, ctx.dir.now()) {
        Ok(p) => p,
        Err(Refused::Unknown | Refused::Mismatch) => return bare(req, c, code::ACCESS_REJECT),
    };
    let verdict = match ctx.dir.complete_mfa(pending.step, code.trim(), Some(ip)) {
        Ok(o) => error::outcome(o),
        Err(e) => error::failure(&e),
    };
    match verdict {
        // A second challenge for the same login is never issued.
        Verdict::ChallengeCode => bare(req, c, code::ACCESS_REJECT),
        v => answer(ctx, ip, req, c, v),
    }
}

/// Accept (with the reply attributes), Reject, or nothing.
fn answer(ctx: &Ctx, ip: IpAddr, req: &Request, c: &NasClient, v: Verdict) -> Option<Vec<u8>> {
    match v {
        Verdict::Accept(a) => accept(ctx, ip, req, c, &a, &[]),
        Verdict::Reject | Verdict::ChallengeCode => bare(req, c, code::ACCESS_REJECT),
        Verdict::Drop => ctx.drop(Drop::Busy, ip),
    }
}

/// Access-Accept for `a`: `extra` (EAP's attributes) first, then User-Name and the reply
/// attributes of the client and the user's groups.
fn accept(
    ctx: &Ctx,
    ip: IpAddr,
    req: &Request,
    c: &NasClient,
    a: &Authenticated,
    extra: &[attrs::Encoded],
) -> Option<Vec<u8>> {
    let groups = match ctx
        .dir
        .radius()
        .reply_groups(&Actor::system(), c.tenant, c.app, &a.groups)
    {
        Ok(g) => g,
        Err(e) => {
            return match error::failure(&e) {
                Verdict::Drop => ctx.drop(Drop::Failure, ip),
                _ => bare(req, c, code::ACCESS_REJECT),
            }
        }
    };
    let (encoded, unusable) = attrs::combine(&c.reply, &groups);
    for u in unusable {
        tracing::debug!(tenant = %c.tenant_slug, client = %c.name, attribute = ?u, "reply attribute left out");
    }
    let mut reply = Reply::to(req, code::ACCESS_ACCEPT);
    attrs::add_all(&mut reply, extra);
    reply.add(rfc2865::USER_NAME_TYPE, a.user.username.as_bytes());
    attrs::add_all(&mut reply, &encoded);
    reply.encode(req, c.secret.expose().as_bytes())
}

/// EAP (EAP-TTLS/PAP, RFC 5281): the concatenated EAP-Message values and the State go to the
/// `eap` engine, which runs the TLS tunnel with the certificate of the client's tenant (never
/// another tenant's); its step comes back as an Access-Challenge (EAP-Message split over
/// attributes, its State), an Access-Reject with an EAP-Failure, or the inner PAP credentials,
/// which go through the core's one authentication call — the inner username, never the
/// anonymous outer identity — before the engine's EAP-Success or -Failure goes out (with the
/// MS-MPPE keys and the reply attributes on success).
fn handle_eap(ctx: &Ctx, ip: IpAddr, req: &Request, c: &NasClient) -> Option<Vec<u8>> {
    let reject = || bare(req, c, code::ACCESS_REJECT);
    let Some(tenants) = ctx.eap_tls.as_ref() else {
        return reject();
    };
    // The request that begins a conversation has the tenant's certificate checked against the
    // directory, so a new or removed one is used from the next conversation on.
    let begins = req.first(rfc2865::STATE_TYPE).is_none();
    let tls = match tenants.config(c.tenant, ctx.dir.now(), begins) {
        Ok(tls) => tls,
        Err(Unavailable::Directory(e)) => {
            tracing::warn!(tenant = %c.tenant_slug, error = %e, "no EAP-TTLS certificate for the tenant");
            return match error::failure(&e) {
                Verdict::Drop => ctx.drop(Drop::Failure, ip),
                _ => reject(),
            };
        }
        Err(Unavailable::Tls(e)) => {
            tracing::warn!(tenant = %c.tenant_slug, error = %e, "the tenant's EAP-TTLS certificate is unusable");
            return reject();
        }
    };
    ctx.purge_eap();
    let message: Vec<u8> = req
        .all(rfc2869::EAP_MESSAGE_TYPE)
        .flatten()
        .copied()
        .collect();
    let step = ctx.eap.handle(EapInput {
        eap_message: &message,
        state: req.first(rfc2865::STATE_TYPE),
        client: c.app,
        tls: &tls,
        now: ctx.dir.now(),
        framed_mtu: req.integer(rfc2865::FRAMED_MTU_TYPE),
    });
    match step {
        Ok(EapStep::Challenge { eap, state }) => {
            let mut reply = Reply::to(req, code::ACCESS_CHALLENGE);
            add_eap_message(&mut reply, &eap);
            reply.add(rfc2865::STATE_TYPE, &state);
            reply.encode(req, c.secret.expose().as_bytes())
        }
        Ok(EapStep::Reject { eap, reason }) => {
            tracing::debug!(client = %c.name, %reason, "EAP conversation refused");
            eap_failure(req, c, &eap)
        }
        Ok(EapStep::InnerPap {
            username,
            password,
            outer_identity,
            state,
        }) => {
            tracing::debug!(client = %c.name, outer = %outer_identity, inner = %username, "EAP-TTLS inner PAP");
            let auth = AuthRequest {
                tenant: TenantRef::Id(c.tenant),
                username: &username,
                secret: password.expose(),
                second_factor: None,
                protocol: Protocol::Radius,
                application: Some(c.app),
                source: Some(ip),
            };
            // No challenge round fits inside the tunnel: a TOTP code comes appended to the inner
            // password or not at all; a saturated core ends the conversation too.
            let accepted = match ctx.dir.authenticate(&auth) {
                Ok(o) => match error::outcome(o) {
                    Verdict::Accept(a) => Some(a),
                    Verdict::Reject | Verdict::ChallengeCode | Verdict::Drop => None,
                },
                Err(e) => {
                    tracing::warn!(client = %c.name, error = %e, "EAP inner authentication failed");
                    None
                }
            };
            match ctx.eap.verdict(&state, accepted.is_some(), ctx.dir.now()) {
                Ok(eap::Verdict::Accept { eap, keys, .. }) => {
                    let Some(a) = accepted else {
                        return reject();
                    };
                    let secret = c.secret.expose().as_bytes();
                    let mppe = keys.mppe_attributes(secret, &req.authenticator());
                    let mut extra: Vec<attrs::Encoded> = eap::split_eap_message(&eap)
                        .into_iter()
                        .map(|chunk| (rfc2869::EAP_MESSAGE_TYPE, chunk.to_vec()))
                        .collect();
                    extra.extend(attrs::vendor_specific(
                        MICROSOFT,
                        MS_MPPE_RECV_KEY,
                        &mppe.recv_key,
                    ));
                    extra.extend(attrs::vendor_specific(
                        MICROSOFT,
                        MS_MPPE_SEND_KEY,
                        &mppe.send_key,
                    ));
                    accept(ctx, ip, req, c, &a, &extra)
                }
                Ok(eap::Verdict::Reject { eap }) => eap_failure(req, c, &eap),
                Err(e) => {
                    tracing::debug!(client = %c.name, error = %e, "EAP verdict refused");
                    reject()
                }
            }
        }
        Err(e) if e.keeps_session() => {
            tracing::debug!(client = %c.name, error = %e, "EAP request dropped; its conversation goes on");
            ctx.drop(Drop::InProgress, ip)
        }
        Err(e) => {
            tracing::debug!(client = %c.name, error = %e, "EAP request refused");
            reject()
        }
    }
}

/// Microsoft's vendor id and its MPPE key attributes (RFC 2548).
const MICROSOFT: u32 = 311;
const MS_MPPE_SEND_KEY: u8 = 16;
const MS_MPPE_RECV_KEY: u8 = 17;

fn add_eap_message(reply: &mut Reply, eap: &[u8]) {
    for chunk in eap::split_eap_message(eap) {
        reply.add(rfc2869::EAP_MESSAGE_TYPE, chunk);
    }
}

/// Access-Reject carrying an EAP-Failure.
fn eap_failure(req: &Request, c: &NasClient, eap: &[u8]) -> Option<Vec<u8>> {
    let mut reply = Reply::to(req, code::ACCESS_REJECT);
    add_eap_message(&mut reply, eap);
    reply.encode(req, c.secret.expose().as_bytes())
}

/// Accounting-Request: the Request Authenticator picks the client; the report goes to the core
/// (sessions and audit) before Accounting-Response is sent, so a NAS never hears "recorded" for
/// something that was not.
fn handle_accounting(ctx: &Ctx, src: SocketAddr, ip: IpAddr, req: &Request) -> Option<Vec<u8>> {
    let candidates = ctx.clients.candidates(ip, ctx.dir.now());
    if candidates.is_empty() {
        return ctx.drop(Drop::UnknownClient, ip);
    }
    let c = match client::pick_by_accounting_authenticator(req, candidates) {
        Ok(c) => c,
        Err(d) => return ctx.drop(d, ip),
    };
    let Some(kind) = accounting::kind(req) else {
        return ctx.drop(Drop::Malformed, ip);
    };
    once(ctx, src, req, || {
        let recorded = match kind {
            Kind::Record(status) => ctx.dir.radius().record_accounting(
                &Actor::system(),
                c.tenant,
                c.app,
                ip,
                status,
                accounting::report(req),
            ),
            Kind::Other(t) => {
                tracing::debug!(client = %c.name, status_type = t, "accounting report not kept");
                Ok(())
            }
        };
        match recorded {
            Ok(()) => bare(req, &c, code::ACCOUNTING_RESPONSE),
            Err(e) => {
                tracing::warn!(client = %c.name, error = %e, "accounting report not recorded");
                ctx.drop(Drop::Failure, ip)
            }
        }
    })
}
