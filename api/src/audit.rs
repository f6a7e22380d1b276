//! The audit log over HTTP: paged queries (tenant or subtree, time range, kind, action prefix)
//! and the export as JSON lines, streamed as the core writes it. It only reads; what a caller
//! may read (Audit:Read, and Audit:Execute to export) is the core's decision.

use crate::auth::Caller;
use crate::dto::{page_limit, parse_opt_time, tenant_slugs, time, Page, ProtocolDto};
use crate::extract::{flag, Path, Query};
use crate::problem::{Problem, Problems};
use crate::tenants::{address, TenantPath};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use http_body_util::channel::{Channel, Sender};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use tessera_directory::model::{AuditEvent, AuditKind, AuditQuery, TenantId};
use tessera_directory::Error;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(query)).routes(routes!(export))
}

/// Change or authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditKind)]
pub(crate) enum AuditKindDto {
    /// An administrative change.
    Change,
    /// An authentication attempt.
    Authentication,
}

impl From<AuditKind> for AuditKindDto {
    fn from(k: AuditKind) -> Self {
        match k {
            AuditKind::Change => AuditKindDto::Change,
            AuditKind::Authentication => AuditKindDto::Authentication,
        }
    }
}

impl From<AuditKindDto> for AuditKind {
    fn from(k: AuditKindDto) -> Self {
        match k {
            AuditKindDto::Change => AuditKind::Change,
            AuditKindDto::Authentication => AuditKind::Authentication,
        }
    }
}

/// One entry of an audit log.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEvent)]
pub(crate) struct AuditEventDto {
    /// Its id.
    id: String,
    /// The id of the tenant whose log holds it.
    tenant_id: String,
    /// That tenant's slug, when you may see the tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    /// When it happened.
    at: String,
    /// Change or authentication.
    kind: AuditKindDto,
    /// Who acted: `system`, or `<tenant slug>/<username>`.
    actor: String,
    /// Where the request came from, when known.
    source: Option<String>,
    /// Through which surface.
    protocol: ProtocolDto,
    /// What was done, e.g. `user.create`.
    action: String,
    /// What it was done to, e.g. `user:alice`.
    target: String,
    /// For authentications: the application used.
    application: Option<String>,
    /// `success` or `failure`.
    outcome: String,
    /// Why, for failures and notable outcomes.
    reason: Option<String>,
    /// The object before the change (secrets redacted).
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    /// The object after the change (secrets redacted).
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
}

fn event_out(e: AuditEvent, slug: Option<String>) -> AuditEventDto {
    AuditEventDto {
        id: e.id.to_string(),
        tenant_id: e.tenant.to_string(),
        tenant: slug,
        at: time(e.at),
        kind: e.kind.into(),
        actor: e.actor,
        source: e.source.map(|s| s.to_string()),
        protocol: e.protocol.into(),
        action: e.action,
        target: e.target,
        application: e.application,
        outcome: e.outcome,
        reason: e.reason,
        before: e.before,
        after: e.after,
    }
}

/// Which events to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Also read every tenant below (those whose log you may read).
    #[serde(default, deserialize_with = "flag")]
    #[param(value_type = Option<bool>)]
    subtree: bool,
    /// From this time on, inclusive (RFC 3339).
    from: Option<String>,
    /// Before this time, exclusive (RFC 3339).
    to: Option<String>,
    /// Only this kind.
    kind: Option<AuditKindDto>,
    /// Only actions starting with this, e.g. `user.`.
    action: Option<String>,
    /// Continue after this cursor (`next` of the previous page).
    after: Option<String>,
    /// At most this many events (default 100, at most 1000; ignored by the export).
    limit: Option<usize>,
}

fn audit_query(tenant: TenantId, q: AuditParams) -> Result<AuditQuery, Problem> {
    Ok(AuditQuery {
        tenant,
        subtree: q.subtree,
        from: parse_opt_time("from", q.from.as_deref())?,
        to: parse_opt_time("to", q.to.as_deref())?,
        kind: q.kind.map(Into::into),
        action_prefix: q.action,
        after: q.after,
        limit: q.limit.map(|l| page_limit(Some(l))),
    })
}

/// A page of a tenant's audit log, oldest first (Audit:Read).
#[utoipa::path(
    get,
    path = "/tenants/{slug}/audit",
    operation_id = "audit_query",
    tag = "audit",
    params(TenantPath, AuditParams),
    responses((status = 200, body = Page<AuditEventDto>), Problems)
)]
pub(crate) async fn query(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<AuditParams>,
) -> Result<axum::Json<Page<AuditEventDto>>, Problem> {
    st.run(move |d| {
        let t = address(d, &actor, &p.slug)?;
        let q = audit_query(t.id, q)?;
        // Authentication events are journalled in the background: read what has happened.
        d.flush_audit();
        let page = d.audit().query(&actor, &q)?;
        let slugs = tenant_slugs(d, &actor)?;
        Ok(axum::Json(Page {
            items: page
                .events
                .into_iter()
                .map(|e| {
                    let slug = slugs.get(&e.tenant).cloned();
                    event_out(e, slug)
                })
                .collect(),
            next: page.next,
        }))
    })
    .await
}

/// The bytes an export writes, sent to the response body in chunks from the blocking thread.
/// The first chunk (or the end of the export) settles the answer: until then a failure is a
/// problem document; after it, a failure cuts the stream short.
struct ChunkWriter {
    tx: Option<Sender<Bytes, io::Error>>,
    buf: Vec<u8>,
    verdict: Option<oneshot::Sender<Result<(), Error>>>,
    handle: Handle,
}

const CHUNK: usize = 32 * 1024;

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if let Some(v) = self.verdict.take() {
            // The receiver only goes away if the request was dropped; the send below says so.
            let _ = v.send(Ok(()));
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        let Some(tx) = self.tx.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the export ended",
            ));
        };
        self.handle
            .block_on(tx.send_data(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    fn finish(mut self, result: Result<usize, Error>) {
        match result {
            Ok(_) => {
                // The stream ends when the sender is dropped.
                if let Err(e) = self.send() {
                    tracing::debug!(error = %e, "the audit export was not read to the end");
                }
            }
            Err(e) => match self.verdict.take() {
                Some(v) => {
                    let _ = v.send(Err(e));
                }
                None => {
                    tracing::error!(error = %e, "the audit export failed after it started");
                    if let Some(tx) = self.tx.take() {
                        tx.abort(io::Error::other("the audit export failed"));
                    }
                }
            },
        }
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Every matching event as JSON lines (`application/x-ndjson`), oldest first, each with an
/// RFC 3339 `time` beside the numeric `at` (Audit:Read and Audit:Execute). `limit` is ignored.
#[utoipa::path(
    get,
    path = "/tenants/{slug}/audit/export",
    operation_id = "audit_export",
    tag = "audit",
    params(TenantPath, AuditParams),
    responses(
        (status = 200, description = "One JSON audit event per line", content_type = "application/x-ndjson", body = String),
        Problems
    )
)]
pub(crate) async fn export(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(p): Path<TenantPath>,
    Query(q): Query<AuditParams>,
) -> Result<Response, Problem> {
    let aq = st
        .run(move |d| {
            let t = address(d, &actor, &p.slug)?;
            audit_query(t.id, q)
        })
        .await?;
    let (tx, body) = Channel::<Bytes, io::Error>::new(8);
    let (verdict_tx, verdict_rx) = oneshot::channel();
    let dir = st.dir.clone();
    let handle = Handle::current();
    let task = tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            tx: Some(tx),
            buf: Vec::new(),
            verdict: Some(verdict_tx),
            handle,
        };
        dir.flush_audit();
        let result = dir.audit().export_jsonl(&actor, &aq, &mut w);
        w.finish(result);
    });
    match verdict_rx.await {
        Ok(Ok(())) => Ok((
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            Body::new(body),
        )
            .into_response()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => {
            // The writer went away without a verdict: the blocking task panicked.
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the audit export task failed");
            }
            Err(Problem::internal())
        }
    }
}
