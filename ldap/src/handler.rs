//! One `handle_*` per LDAP operation: it checks the request's controls and the session's state,
//! runs the directory work on a blocking thread (the core may fsync or hash), and writes the
//! response — search entries in chunks as they come, so neither a large result nor a slow
//! client holds more than a chunk in memory. Binds go through the core's one authentication
//! call; every other operation runs as the session's actor. It never answers with the inner
//! reason of a failed bind, nor with internal error text.

use crate::codec::EntryMsg;
use crate::dn::{Place, Target};
use crate::entry::{self, oid, Attr, Selection, WireEntry};
use crate::error::{result, success, LdapError};
use crate::filter::{self, TooComplex, Tri};
use crate::paging::{Paged, Refused};
use crate::search::{self, End, Scope, Spec, Walk};
use crate::session::{Bind, Bound, Session, Transport};
use crate::{write, Ctx};
use futures_util::{Sink, SinkExt};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapBindResponse, LdapCompareRequest, LdapExtendedRequest,
    LdapExtendedResponse, LdapMsg, LdapOp, LdapPasswordModifyRequest, LdapPasswordModifyResponse,
    LdapResult, LdapResultCode, LdapSearchRequest, LdapSearchScope,
};
use std::io;
use std::sync::Arc;
use tessera_directory::policy::Timestamp;
use tessera_directory::{Actor, AuthRequest, Outcome, Protocol, TenantRef};

/// Entries computed per trip to a blocking thread (and written before the next).
const CHUNK: usize = 256;

/// What the connection does after an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// Unbind, or a request that ends the connection.
    Close,
    /// StartTLS was accepted: the listener answers it and upgrades.
    StartTls(i32),
    /// The client broke the protocol: the listener sends a Notice of Disconnection and
    /// closes.
    Disconnect(&'static str),
}

/// The kinds of response, to answer an operation with its own.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bind,
    Search,
    Modify,
    Add,
    Delete,
    ModifyDn,
    Compare,
    Extended,
}

fn respond(msgid: i32, kind: Kind, res: LdapResult) -> LdapMsg {
    let op = match kind {
        Kind::Bind => LdapOp::BindResponse(LdapBindResponse {
            res,
            saslcreds: None,
        }),
        Kind::Search => LdapOp::SearchResultDone(res),
        Kind::Modify => LdapOp::ModifyResponse(res),
        Kind::Add => LdapOp::AddResponse(res),
        Kind::Delete => LdapOp::DelResponse(res),
        Kind::ModifyDn => LdapOp::ModifyDNResponse(res),
        Kind::Compare => LdapOp::CompareResult(res),
        Kind::Extended => LdapOp::ExtendedResponse(LdapExtendedResponse {
            res,
            name: None,
            value: None,
        }),
    };
    LdapMsg::new(msgid, op)
}

/// Runs directory work on a blocking thread.
async fn blocking<T: Send + 'static>(
    ctx: &Arc<Ctx>,
    f: impl FnOnce(&Ctx) -> Result<T, LdapError> + Send + 'static,
) -> Result<T, LdapError> {
    let ctx = ctx.clone();
    match tokio::task::spawn_blocking(move || f(&ctx)).await {
        Ok(r) => r,
        Err(_) => Err(LdapError::internal("a blocking task ended abnormally")),
    }
}

/// The OID of the first critical control this server does not support for the operation.
fn unsupported_critical(ctrl: &[LdapControl]) -> Option<String> {
    ctrl.iter().find_map(|c| match c {
        // Paged results are served; ManageDsaIT is trivially honoured (there are no
        // referrals). The codec does not keep the criticality of paged results and server
        // side sorting: the first is served, the second is treated as non-critical.
        LdapControl::SimplePagedResults { .. }
        | LdapControl::ManageDsaIT { .. }
        | LdapControl::ServerSort { .. } => None,
        LdapControl::SyncRequest { criticality, .. } if *criticality => {
            Some("1.3.6.1.4.1.4203.1.9.1.1".to_string())
        }
        LdapControl::PasswordPolicyRequest { criticality } if *criticality => {
            Some("1.3.6.1.4.1.42.2.27.8.5.1".to_string())
        }
        LdapControl::SearchOptions { criticality, .. } if *criticality => {
            Some("1.2.840.113556.1.4.1338".to_string())
        }
        LdapControl::ShowDeleted { criticality } if *criticality => {
            Some("1.2.840.113556.1.4.417".to_string())
        }
        LdapControl::SdFlags { criticality, .. } if *criticality => {
            Some("1.2.840.113556.1.4.801".to_string())
        }
        LdapControl::ExtendedDn { criticality, .. } if *criticality => {
            Some("1.2.840.113556.1.4.529".to_string())
        }
        LdapControl::Unknown {
            oid,
            criticality: true,
            ..
        } => Some(oid.clone()),
        _ => None,
    })
}

/// Handles one request and writes its response(s).
pub(crate) async fn handle<W>(
    msg: LdapMsg,
    s: &mut Session,
    ctx: &Arc<Ctx>,
    out: &mut W,
) -> io::Result<Flow>
where
    W: Sink<LdapMsg, Error = io::Error> + Sink<EntryMsg, Error = io::Error> + Unpin,
{
    let LdapMsg { msgid, op, ctrl } = msg;
    if msgid <= 0 {
        // Message id 0 is the server's (unsolicited notifications): a client using it is
        // confused about the protocol.
        return Ok(Flow::Disconnect("message id 0 is reserved"));
    }
    let kind = match &op {
        LdapOp::UnbindRequest => return Ok(Flow::Close),
        // Operations run one at a time: by the time an abandon is read, its operation is
        // finished. Nothing is answered, as RFC 4511 says.
        LdapOp::AbandonRequest(_) => return Ok(Flow::Continue),
        LdapOp::BindRequest(_) => Kind::Bind,
        LdapOp::SearchRequest(_) => Kind::Search,
        LdapOp::ModifyRequest(_) => Kind::Modify,
        LdapOp::AddRequest(_) => Kind::Add,
        LdapOp::DelRequest(_) => Kind::Delete,
        LdapOp::ModifyDNRequest(_) => Kind::ModifyDn,
        LdapOp::CompareRequest(_) => Kind::Compare,
        LdapOp::ExtendedRequest(_) => Kind::Extended,
        // A response or an intermediate message from a client.
        _ => return Ok(Flow::Disconnect("a client sent a response")),
    };
    if let Some(oid) = unsupported_critical(&ctrl) {
        let r = result(
            LdapResultCode::UnavailableCriticalExtension,
            &format!("critical control {oid} is not supported"),
        );
        out.send(respond(msgid, kind, r)).await?;
        return Ok(Flow::Continue);
    }
    match op {
        LdapOp::BindRequest(r) => {
            let res = handle_bind(r, s, ctx).await;
            out.send(respond(msgid, Kind::Bind, res)).await?;
        }
        LdapOp::SearchRequest(r) => handle_search(msgid, r, &ctrl, s, ctx, out).await?,
        LdapOp::CompareRequest(r) => {
            let res = handle_compare(r, s, ctx).await;
            out.send(respond(msgid, Kind::Compare, res)).await?;
        }
        LdapOp::AddRequest(r) => {
            let res = write_op(s, ctx, move |ctx, a| write::add(ctx, a, &r)).await;
            out.send(respond(msgid, Kind::Add, res)).await?;
        }
        LdapOp::DelRequest(dn) => {
            let res = write_op(s, ctx, move |ctx, a| write::delete(ctx, a, &dn)).await;
            out.send(respond(msgid, Kind::Delete, res)).await?;
        }
        LdapOp::ModifyRequest(r) => {
            let res = write_op(s, ctx, move |ctx, a| write::modify(ctx, a, &r)).await;
            out.send(respond(msgid, Kind::Modify, res)).await?;
        }
        LdapOp::ModifyDNRequest(r) => {
            let res = write_op(s, ctx, move |ctx, a| write::rename(ctx, a, &r)).await;
            out.send(respond(msgid, Kind::ModifyDn, res)).await?;
        }
        LdapOp::ExtendedRequest(r) => return handle_extended(msgid, r, s, ctx, out).await,
        _ => return Ok(Flow::Disconnect("a client sent a response")),
    }
    Ok(Flow::Continue)
}

// ---- bind -----------------------------------------------------------------------------

/// A simple bind (RFC 4513): anonymous, or a user DN with its password through the core's
/// authentication (MFA, lockout, expiry, suspension, the LDAP service's groups, the
/// verified-credential cache and the audit event all happen there).
async fn handle_bind(r: LdapBindRequest, s: &mut Session, ctx: &Arc<Ctx>) -> LdapResult {
    // Whatever happens next, the connection is anonymous until a bind succeeds.
    s.bind = Bind::Anonymous;
    s.paging.clear();
    if r.version != 3 {
        return result(
            LdapResultCode::ProtocolError,
            "only LDAP version 3 is served",
        );
    }
    let password = match r.cred {
        LdapBindCred::Simple(p) => p,
        LdapBindCred::SASL(_) | LdapBindCred::Unsupported => {
            return result(
                LdapResultCode::AuthMethodNotSupported,
                "only simple binds are served",
            )
        }
    };
    let invalid = || result(LdapResultCode::InvalidCredentials, "invalid credentials");
    match (r.dn.trim().is_empty(), password.is_empty()) {
        (true, true) => return success(),
        (true, false) => return invalid(),
        (false, true) => {
            return result(
                LdapResultCode::UnwillingToPerform,
                "unauthenticated bind (a DN with no password) is not allowed",
            )
        }
        (false, false) => {}
    }
    if !s.may_send_password(ctx.config.plain_binds) {
        return result(
            LdapResultCode::ConfidentialityRequired,
            "simple binds need TLS here: use LDAPS or StartTLS",
        );
    }
    let (slug, name) = match ctx.dit.locate(&r.dn) {
        Ok(Place::Entry(Target::User(slug, name))) => (slug, name),
        _ => return invalid(),
    };
    let peer = s.peer;
    let outcome = blocking(ctx, move |ctx| {
        let sys = Actor::system();
        // The tenant's LDAP service: which groups may bind is its setting.
        let app = match ctx.dir.tenants().by_slug(&sys, &slug) {
            Ok(t) => match ctx.dir.applications().ldap_service(&sys, t.id) {
                Ok(a) => Some(a.id),
                Err(tessera_directory::Error::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Err(tessera_directory::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let outcome = ctx.dir.authenticate(&AuthRequest {
            tenant: TenantRef::Slug(&slug),
            username: &name,
            secret: &password,
            second_factor: None,
            protocol: Protocol::Ldap,
            application: app,
            source: peer,
        })?;
        Ok((outcome, slug))
    })
    .await;
    match outcome {
        Ok((Outcome::Success(a), slug)) => {
            s.bind = Bind::User(Bound {
                actor: a.actor,
                dn: ctx.dit.user_dn(&slug, &a.user.username),
                tenant: a.user.tenant,
                user: a.user.id,
            });
            success()
        }
        // Load, not a verdict on the password: the client may retry.
        Ok((Outcome::Busy, _)) => result(
            LdapResultCode::Busy,
            "the password service is busy: try again shortly",
        ),
        Ok((
            Outcome::BadCredentials
            | Outcome::Locked { .. }
            | Outcome::Expired { .. }
            | Outcome::Suspended
            | Outcome::MfaRequired(_)
            | Outcome::MfaFailed
            | Outcome::NotAllowed,
            _,
        )) => invalid(),
        Err(e) => e.into_result(),
    }
}

// ---- search ---------------------------------------------------------------------------

fn min_nonzero(a: u64, b: u64) -> u64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}

/// Where a search continues from.
enum From {
    Start(Actor, Box<Spec>),
    Resume(Box<Walk>),
}

/// The next chunk of a search: its walk, the entries, and why it stopped.
async fn chunk(
    ctx: &Arc<Ctx>,
    from: From,
    n: usize,
    deadline: Option<Timestamp>,
) -> Result<(Walk, Vec<WireEntry>, End), LdapError> {
    let narrow = matches!(&from, From::Start(_, spec) if spec.is_narrow());
    let work = move |ctx: &Ctx| {
        let mut w = match from {
            From::Start(actor, spec) => Walk::start(ctx, actor, *spec)?,
            From::Resume(w) => *w,
        };
        let (entries, end) = w.next(ctx, n, deadline)?;
        let wire = w.wire(entries);
        Ok((w, wire, end))
    };
    if narrow {
        work(ctx)
    } else {
        blocking(ctx, work).await
    }
}

async fn send_entries<W>(
    msgid: i32,
    entries: Vec<WireEntry>,
    ctx: &Ctx,
    out: &mut W,
) -> io::Result<()>
where
    W: Sink<LdapMsg, Error = io::Error> + Sink<EntryMsg, Error = io::Error> + Unpin,
{
    // Fed, not flushed: the search's last chunk leaves with its SearchResultDone in one write.
    let write = async {
        for e in entries {
            out.feed(EntryMsg { msgid, entry: e }).await?;
        }
        Ok(())
    };
    match ctx.config.idle_timeout() {
        // A client that stops reading its results is as idle as one that stops asking.
        Some(t) => tokio::time::timeout(t, write).await.unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client not reading",
            ))
        }),
        None => write.await,
    }
}

async fn handle_search<W>(
    msgid: i32,
    req: LdapSearchRequest,
    ctrl: &[LdapControl],
    s: &mut Session,
    ctx: &Arc<Ctx>,
    out: &mut W,
) -> io::Result<()>
where
    W: Sink<LdapMsg, Error = io::Error> + Sink<EntryMsg, Error = io::Error> + Unpin,
{
    let done = |res: LdapResult, ctrl: Vec<LdapControl>| {
        LdapMsg::new_with_ctrls(msgid, LdapOp::SearchResultDone(res), ctrl)
    };
    let fail = |e: LdapError| done(e.into_result(), Vec::new());
    let scope = match req.scope {
        LdapSearchScope::Base => Scope::Base,
        LdapSearchScope::OneLevel => Scope::One,
        LdapSearchScope::Subtree => Scope::Subtree,
        LdapSearchScope::Children => Scope::Children,
    };
    let place = match s.locate_base(&ctx.dit, &req.base) {
        Ok(p) => p,
        Err(e) => {
            return out
                .send(fail(LdapError::new(LdapResultCode::InvalidDNSyntax, e.0)))
                .await
        }
    };
    let compiled = match filter::compile(&req.filter, ctx.caps) {
        Ok(c) => c,
        Err(e) => {
            let why = match e {
                TooComplex::Depth => "the filter is nested too deeply",
                TooComplex::Elements => "the filter has too many elements",
            };
            return out
                .send(fail(LdapError::new(
                    LdapResultCode::AdminLimitExceeded,
                    why,
                )))
                .await;
        }
    };
    let selection = Selection::parse(&req.attrs);
    // The root DSE and the subschema: readable by anyone.
    let dse = match &place {
        Place::Entry(Target::RootDse) => Some((
            scope == Scope::Base,
            entry::root_dse(&ctx.dit, s.starttls_available()),
        )),
        Place::Entry(Target::Subschema) => Some((
            matches!(scope, Scope::Base | Scope::Subtree),
            entry::subschema(),
        )),
        _ => None,
    };
    if let Some((in_scope, e)) = dse {
        if matches!(place, Place::Entry(Target::RootDse)) && !in_scope {
            return out.send(fail(LdapError::no_such_object())).await;
        }
        if in_scope && filter::eval(&compiled.filter, &e, &compiled.chains) == Tri::True {
            let e = entry::to_wire(e, &selection, req.typesonly);
            out.feed(EntryMsg { msgid, entry: e }).await?;
        }
        return out.send(done(success(), Vec::new())).await;
    }
    let Some(bound) = s.bound().cloned() else {
        return out
            .send(fail(LdapError::insufficient(
                "anonymous clients may read only the root DSE and the subschema: bind first",
            )))
            .await;
    };
    let actor = bound.actor;
    let base = match place {
        Place::Outside => return out.send(fail(LdapError::no_such_object())).await,
        Place::Below(t) => {
            let matched = blocking(ctx, move |ctx| search::matched(ctx, actor, &t)).await;
            let e = match matched {
                Ok(m) => LdapError::no_such_object().with_matched(m),
                Err(e) => e,
            };
            return out.send(fail(e)).await;
        }
        Place::Entry(t) => t,
    };
    let spec = Spec {
        base,
        scope,
        filter: compiled,
        selection,
        types_only: req.typesonly,
    };
    let server_size = u64::from(ctx.config.size_limit);
    let client_size = u64::try_from(req.sizelimit).unwrap_or(0);
    let time = min_nonzero(
        u64::from(ctx.config.time_limit_secs),
        u64::try_from(req.timelimit).unwrap_or(0),
    );
    let deadline = (time > 0).then(|| {
        ctx.dir
            .now()
            .plus_secs(i64::try_from(time).unwrap_or(i64::MAX))
    });
    let paged = ctrl.iter().find_map(|c| match c {
        LdapControl::SimplePagedResults { size, cookie } => Some((*size, cookie.clone())),
        _ => None,
    });
    if let Some((size, cookie)) = paged {
        return paged_search(
            msgid,
            &req,
            spec,
            actor,
            (size, cookie),
            server_size,
            client_size,
            deadline,
            s,
            ctx,
            out,
        )
        .await;
    }
    // An ordinary search: entries in chunks up to the size limit.
    let limit = match min_nonzero(server_size, client_size) {
        0 => u64::MAX,
        n => n,
    };
    let mut sent = 0u64;
    let mut from = From::Start(actor, Box::new(spec));
    loop {
        let n = usize::try_from((limit - sent).min(CHUNK as u64)).unwrap_or(CHUNK);
        let (walk, entries, end) = match chunk(ctx, from, n, deadline).await {
            Ok(x) => x,
            Err(e) => return out.send(fail(e)).await,
        };
        sent += entries.len() as u64;
        send_entries(msgid, entries, ctx, out).await?;
        match end {
            End::Done => return out.send(done(success(), Vec::new())).await,
            End::TimeLimit => {
                return out
                    .send(done(
                        result(LdapResultCode::TimeLimitExceeded, "time limit exceeded"),
                        Vec::new(),
                    ))
                    .await
            }
            End::More if sent >= limit => {
                // At the limit: exceeded only if one more entry would match.
                let more = match chunk(ctx, From::Resume(Box::new(walk)), 1, deadline).await {
                    Ok((_, e, _)) => !e.is_empty(),
                    Err(e) => return out.send(fail(e)).await,
                };
                let res = if more {
                    result(LdapResultCode::SizeLimitExceeded, "size limit exceeded")
                } else {
                    success()
                };
                return out.send(done(res, Vec::new())).await;
            }
            End::More => {
                SinkExt::<LdapMsg>::flush(out).await?;
                from = From::Resume(Box::new(walk));
            }
        }
    }
}

/// A search with the simple paged results control (RFC 2696).
#[allow(clippy::too_many_arguments)]
async fn paged_search<W>(
    msgid: i32,
    req: &LdapSearchRequest,
    spec: Spec,
    actor: Actor,
    (size, cookie): (i64, Vec<u8>),
    server_size: u64,
    client_size: u64,
    deadline: Option<Timestamp>,
    s: &mut Session,
    ctx: &Arc<Ctx>,
    out: &mut W,
) -> io::Result<()>
where
    W: Sink<LdapMsg, Error = io::Error> + Sink<EntryMsg, Error = io::Error> + Unpin,
{
    let done = |res: LdapResult, cookie: Vec<u8>| {
        LdapMsg::new_with_ctrls(
            msgid,
            LdapOp::SearchResultDone(res),
            vec![LdapControl::SimplePagedResults { size: 0, cookie }],
        )
    };
    if size <= 0 {
        // A page size of 0 abandons the paged search (or asks for nothing).
        s.paging.drop_cookie(&cookie);
        return out.send(done(success(), Vec::new())).await;
    }
    let (from, mut sent) = if cookie.is_empty() {
        (From::Start(actor, Box::new(spec)), 0)
    } else {
        match s.paging.take(&cookie, req, &actor) {
            Ok(p) => (From::Resume(Box::new(p.walk)), p.sent),
            Err(r) => {
                let why = match r {
                    Refused::Unknown => "the paged results cookie is unknown or expired",
                    Refused::Mismatch => "the paged results cookie belongs to another search",
                };
                return out
                    .send(done(
                        result(LdapResultCode::UnwillingToPerform, why),
                        Vec::new(),
                    ))
                    .await;
            }
        }
    };
    let page = min_nonzero(u64::try_from(size).unwrap_or(0), server_size);
    let budget = match client_size {
        0 => page,
        c => page.min(c.saturating_sub(sent)),
    };
    let mut got = 0u64;
    let mut from = from;
    loop {
        let n = usize::try_from((budget - got).min(CHUNK as u64)).unwrap_or(CHUNK);
        let (walk, entries, end) = match chunk(ctx, from, n, deadline).await {
            Ok(x) => x,
            Err(e) => return out.send(done(e.into_result(), Vec::new())).await,
        };
        got += entries.len() as u64;
        sent += entries.len() as u64;
        send_entries(msgid, entries, ctx, out).await?;
        match end {
            End::Done => return out.send(done(success(), Vec::new())).await,
            End::TimeLimit => {
                return out
                    .send(done(
                        result(LdapResultCode::TimeLimitExceeded, "time limit exceeded"),
                        Vec::new(),
                    ))
                    .await
            }
            End::More if got < budget => {
                SinkExt::<LdapMsg>::flush(out).await?;
                from = From::Resume(Box::new(walk));
            }
            End::More => {
                if client_size > 0 && sent >= client_size {
                    let more = match chunk(ctx, From::Resume(Box::new(walk)), 1, deadline).await {
                        Ok((_, e, _)) => !e.is_empty(),
                        Err(e) => return out.send(done(e.into_result(), Vec::new())).await,
                    };
                    let res = if more {
                        result(LdapResultCode::SizeLimitExceeded, "size limit exceeded")
                    } else {
                        success()
                    };
                    return out.send(done(res, Vec::new())).await;
                }
                let next = s.paging.keep(Paged::new(req, walk, sent), &ctx.rng);
                return out.send(done(success(), next.to_vec())).await;
            }
        }
    }
}

// ---- compare --------------------------------------------------------------------------

async fn handle_compare(r: LdapCompareRequest, s: &mut Session, ctx: &Arc<Ctx>) -> LdapResult {
    let attr = Attr::named(r.atype.split(';').next().unwrap_or(&r.atype));
    if attr.is_known(&crate::schema::USER_PASSWORD) {
        return result(
            LdapResultCode::UnwillingToPerform,
            "passwords are checked by binding, not by compare",
        );
    }
    let Ok(value) = String::from_utf8(r.val) else {
        return result(
            LdapResultCode::InvalidAttributeSyntax,
            "the value is not UTF-8",
        );
    };
    let place = match ctx.dit.locate(&r.dn) {
        Ok(p) => p,
        Err(e) => return result(LdapResultCode::InvalidDNSyntax, e.0),
    };
    let entry = match place {
        Place::Entry(Target::RootDse) => entry::root_dse(&ctx.dit, s.starttls_available()),
        Place::Entry(Target::Subschema) => entry::subschema(),
        _ => {
            let Some(b) = s.bound() else {
                return LdapError::insufficient("bind first").into_result();
            };
            let actor = b.actor;
            let fetched = blocking(ctx, move |ctx| match place {
                Place::Entry(t) => search::fetch(ctx, actor, &t).map_err(|e| {
                    if e.code == LdapResultCode::NoSuchObject && e.matched.is_empty() {
                        match search::matched(ctx, actor, &t) {
                            Ok(m) => LdapError::no_such_object().with_matched(m),
                            Err(e) => e,
                        }
                    } else {
                        e
                    }
                }),
                Place::Below(t) => {
                    Err(LdapError::no_such_object().with_matched(search::matched(ctx, actor, &t)?))
                }
                Place::Outside => Err(LdapError::no_such_object()),
            })
            .await;
            match fetched {
                Ok(e) => e,
                Err(e) => return e.into_result(),
            }
        }
    };
    if entry.values(&attr).is_none() {
        return result(
            LdapResultCode::NoSuchAttribute,
            "the entry has no such attribute",
        );
    }
    let assertion = ldap3_proto::proto::LdapFilter::Equality(r.atype, value);
    let compiled = match filter::compile(&assertion, ctx.caps) {
        Ok(c) => c,
        Err(_) => return result(LdapResultCode::ProtocolError, "a bad assertion"),
    };
    match filter::eval(&compiled.filter, &entry, &compiled.chains) {
        Tri::True => result(LdapResultCode::CompareTrue, ""),
        Tri::False => result(LdapResultCode::CompareFalse, ""),
        Tri::Undefined => result(
            LdapResultCode::InvalidAttributeSyntax,
            "the value is not valid for the attribute",
        ),
    }
}

// ---- writes ---------------------------------------------------------------------------

async fn write_op(
    s: &Session,
    ctx: &Arc<Ctx>,
    f: impl FnOnce(&Ctx, &Actor) -> Result<(), LdapError> + Send + 'static,
) -> LdapResult {
    let Some(b) = s.bound() else {
        return LdapError::insufficient("anonymous clients may not write: bind first")
            .into_result();
    };
    let actor = b.actor;
    match blocking(ctx, move |ctx| f(ctx, &actor)).await {
        Ok(()) => success(),
        Err(e) => e.into_result(),
    }
}

// ---- extended -------------------------------------------------------------------------

async fn handle_extended<W>(
    msgid: i32,
    r: LdapExtendedRequest,
    s: &mut Session,
    ctx: &Arc<Ctx>,
    out: &mut W,
) -> io::Result<Flow>
where
    W: Sink<LdapMsg, Error = io::Error> + Sink<EntryMsg, Error = io::Error> + Unpin,
{
    let reply = |res: LdapResult, name: Option<&str>, value: Option<Vec<u8>>| {
        LdapMsg::new(
            msgid,
            LdapOp::ExtendedResponse(LdapExtendedResponse {
                res,
                name: name.map(str::to_string),
                value,
            }),
        )
    };
    match r.name.as_str() {
        oid::START_TLS => {
            let refusal = match s.transport {
                Transport::Tls => Some((
                    LdapResultCode::OperationsError,
                    "TLS is already established",
                )),
                Transport::Plain { starttls: false } => Some((
                    LdapResultCode::Unavailable,
                    "StartTLS is not offered on this listener",
                )),
                Transport::Plain { starttls: true } => None,
            };
            match refusal {
                Some((code, why)) => {
                    out.send(reply(result(code, why), Some(oid::START_TLS), None))
                        .await?;
                    Ok(Flow::Continue)
                }
                None => Ok(Flow::StartTls(msgid)),
            }
        }
        oid::WHO_AM_I => {
            let who = match s.bound() {
                Some(b) => format!("dn:{}", b.dn),
                None => String::new(),
            };
            out.send(reply(success(), None, Some(who.into_bytes())))
                .await?;
            Ok(Flow::Continue)
        }
        oid::PASSWORD_MODIFY => {
            let res = password_modify(&r, s, ctx).await;
            let msg = match res {
                Ok(generated) => LdapMsg::new(
                    msgid,
                    LdapOp::ExtendedResponse(
                        LdapPasswordModifyResponse {
                            res: success(),
                            gen_password: generated,
                        }
                        .into(),
                    ),
                ),
                Err(e) => reply(e.into_result(), None, None),
            };
            out.send(msg).await?;
            Ok(Flow::Continue)
        }
        _ => {
            out.send(reply(
                result(
                    LdapResultCode::ProtocolError,
                    "unsupported extended operation",
                ),
                None,
                None,
            ))
            .await?;
            Ok(Flow::Continue)
        }
    }
}

async fn password_modify(
    r: &LdapExtendedRequest,
    s: &Session,
    ctx: &Arc<Ctx>,
) -> Result<Option<String>, LdapError> {
    let req = match r.value {
        // No value at all: change one's own password to a generated one.
        None => LdapPasswordModifyRequest {
            user_identity: None,
            old_password: None,
            new_password: None,
        },
        Some(_) => LdapPasswordModifyRequest::try_from(r)
            .map_err(|_| LdapError::protocol("a malformed Password Modify request"))?,
    };
    let Some(me) = s.bound().cloned() else {
        return Err(LdapError::unwilling("bind first to change a password"));
    };
    if !s.may_send_password(ctx.config.plain_binds) {
        return Err(LdapError::new(
            LdapResultCode::ConfidentialityRequired,
            "passwords travel only over TLS here: use LDAPS or StartTLS",
        ));
    }
    let actor = me.actor;
    blocking(ctx, move |ctx| {
        write::password_modify(ctx, &actor, &me, &req)
    })
    .await
}
