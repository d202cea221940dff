//! The TeacherRegistryService's state and how every RPC is run (its RPCs are in
//! [`crate::api::registry_rpcs`]). Handlers extract the
//! request, convert it to domain terms (validation happens there, once), call the store
//! (reads through [`ReadPool`], never on a runtime worker) and convert back. Every RPC runs
//! inside [`traced`], which gives it a span and logs its status and latency. The request
//! parsing the handlers share lives in [`crate::api::requests`], which imports none of them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use tonic::{Code, Response, Status};
use tracing::Instrument;

use crate::api::audit::Auditor;
use crate::api::gate::{Caller, Gate};
use crate::api::reads::{ReadPool, MAX_CONCURRENT_READS};
use crate::auth::{Principal, Rpc};
use crate::credential::SigningKey;
use crate::domain::audit::AuditKind;
use crate::metrics::Metrics;
use crate::store::{Effect, Outcome, Store};

pub(super) use crate::api::requests::{
    asked_county, batch_context, log_warnings, may_see, optional_county, optional_etag,
    parse_page_size, parse_request_id, parse_teacher_id, scoped_county, teacher_not_found,
    write_context, Violations,
};

/// The registry's gRPC service. Handlers live by theme in `teachers`, `certificates`,
/// `titles`, `changes`, `import` and `backup`.
#[derive(Clone)]
pub struct RegistryService {
    /// For writes, which go to the writer thread and are awaited.
    pub(super) store: Store,
    /// For every read: sled reads block, so they run on the blocking pool.
    pub(super) reads: ReadPool,
    /// Who may call: authentication, authorization, per-principal limits.
    pub(super) gate: Arc<Gate>,
    /// Records the read audit (see `api::audit`).
    pub(super) audit: Auditor,
    /// How long an idle WatchChanges stream waits before it sends a progress message.
    pub(super) progress_interval: Duration,
    /// Becomes true when the server shuts down, to end the streams that would never end.
    pub(super) shutdown: watch::Receiver<bool>,
    /// Requests and latency by method and status, open watchers.
    pub(super) metrics: Arc<Metrics>,
    /// Signs credentials (`serve --credential-key`); without it the CredentialService
    /// answers FAILED_PRECONDITION.
    pub(super) credential_key: Option<Arc<SigningKey>>,
}

/// How often idle watchers hear the current revision.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

impl RegistryService {
    /// The service over `store`, admitting callers through `gate`; long-lived streams end
    /// when `shutdown` turns true.
    pub fn new(store: Store, gate: Gate, shutdown: watch::Receiver<bool>) -> Self {
        let audit = Auditor::new(store.clone(), gate.audit_budget());
        Self {
            reads: ReadPool::new(store.clone(), MAX_CONCURRENT_READS),
            audit: audit.clone(),
            gate: Arc::new(gate.with_auditor(audit)),
            store,
            progress_interval: DEFAULT_PROGRESS_INTERVAL,
            shutdown,
            metrics: Arc::default(),
            credential_key: None,
        }
    }

    /// Waits until the audit entries noted so far are stored: before the store closes.
    pub async fn audit_notes_stored(&self) {
        self.audit.notes_stored().await;
    }

    /// Signs credentials with `key`.
    pub fn with_credential_key(mut self, key: Option<Arc<SigningKey>>) -> Self {
        self.credential_key = key;
        self
    }

    /// Records requests in `metrics` (shared with the metrics endpoint).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Who the bearer token in `metadata` names, by the gate's own authentication (the
    /// console's sign-in); no RPC is admitted by it.
    pub fn authenticate(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Principal, Status> {
        self.gate.authenticate(metadata)
    }

    /// Sets how long an idle watcher waits before a progress message.
    pub fn with_progress_interval(mut self, interval: Duration) -> Self {
        self.progress_interval = interval;
        self
    }
}

/// Each RPC: admitted (authenticated, authorized by the table in [`crate::auth::permits`],
/// and within the caller's concurrency limit), then handled, inside one traced span. The
/// second form names the admitted caller and the handler's response for `$answer`, the
/// RPC's answer ([`rpc_stream!`]'s hold on the caller's slot).
macro_rules! rpc {
    ($self:ident, $request:ident, $rpc:ident, $handler:ident) => {
        $crate::api::service::rpc!($self, $request, $rpc, $handler, |caller, response| response)
    };
    (
        $self:ident,
        $request:ident,
        $rpc:ident,
        $handler:ident,
        |$caller:ident, $response:ident| $answer:expr
    ) => {
        traced(&$self.metrics, Rpc::$rpc, $request.remote_addr(), async {
            let $caller = $crate::api::service::admitted(&$self.gate, Rpc::$rpc, &$request)?;
            let result = $self
                .$handler(&$caller.principal, $request.into_inner())
                .await;
            let $response =
                $crate::api::service::judged(&$self.gate, &$caller.principal, Rpc::$rpc, result)?;
            Ok($answer)
        })
        .await
    };
}

pub(super) use rpc;

/// A streaming RPC: as [`rpc!`], and the caller's request slot is held until the response
/// stream ends.
macro_rules! rpc_stream {
    ($self:ident, $request:ident, $rpc:ident, $handler:ident) => {
        $crate::api::service::rpc!($self, $request, $rpc, $handler, |caller, stream| {
            caller.hold(stream)
        })
    };
}

pub(super) use rpc_stream;

/// Runs one RPC in its own span and logs its outcome: method, status code, latency, the
/// peer's address and (once the gate has admitted it) the principal, so that a sweep of
/// refusals names who swept and from where. Successes log at DEBUG (one line per request
/// is too much at full load), client errors at INFO and server errors at ERROR.
pub(super) async fn traced<T>(
    metrics: &Metrics,
    rpc: Rpc,
    peer: Option<SocketAddr>,
    handler: impl Future<Output = Result<T, Status>>,
) -> Result<Response<T>, Status> {
    let peer = peer.map_or_else(|| "unknown".to_string(), |p| p.to_string());
    let span = tracing::info_span!(
        "rpc",
        method = ?rpc,
        %peer,
        principal = tracing::field::Empty
    );
    let started = Instant::now();
    let result = handler.instrument(span.clone()).await;
    let latency = started.elapsed();
    let latency_us = latency.as_micros() as u64;
    metrics.observe(
        rpc,
        result.as_ref().map_or_else(|s| s.code(), |_| Code::Ok),
        latency,
    );
    let _entered = span.enter();
    match &result {
        Ok(_) => tracing::debug!(code = ?Code::Ok, latency_us, "rpc done"),
        Err(status) if is_server_fault(status.code()) => {
            tracing::error!(code = ?status.code(), latency_us, message = status.message(), "rpc failed")
        }
        Err(status) => {
            tracing::info!(code = ?status.code(), latency_us, message = status.message(), "rpc refused")
        }
    }
    result.map(Response::new)
}

/// Admits the caller of `rpc` (see [`Gate::admit`], with the client certificate the
/// request came with) and names it in the RPC's span.
pub(crate) fn admitted<T>(
    gate: &Gate,
    rpc: Rpc,
    request: &tonic::Request<T>,
) -> Result<Caller, Status> {
    let client_cert = crate::api::gate::client_certificate(request);
    let caller = gate.admit(rpc, request.metadata(), client_cert.as_ref())?;
    name_caller(&caller.principal);
    Ok(caller)
}

/// Names the admitted caller in the current RPC's span (see [`traced`]).
pub(crate) fn name_caller(principal: &Principal) {
    tracing::Span::current().record("principal", principal.name.as_str());
}

/// The handler's `result`, counted against the caller's refusal limit if it was a
/// revealing refusal; a duplicate revealed (ALREADY_EXISTS) is audited with the caller.
pub(crate) fn judged<T>(
    gate: &Gate,
    principal: &Principal,
    rpc: Rpc,
    result: Result<T, Status>,
) -> Result<T, Status> {
    if let Err(status) = &result {
        gate.judge(principal, rpc, status.code());
        if status.code() == Code::AlreadyExists {
            audit_duplicate(gate, &principal.name, rpc, status.message());
        }
    }
    result
}

/// The audit record of an ALREADY_EXISTS answer: the one refusal that, by design, tells a
/// caller that a record it may not see exists (a duplicate, named for reconciliation).
/// Recorded in the read audit with the caller (see `api::audit`); the message, kept as
/// the subject, never holds a full identity number.
pub(crate) fn audit_duplicate(gate: &Gate, principal: &str, rpc: Rpc, message: &str) {
    gate.note(
        principal,
        AuditKind::DuplicateRevealed,
        rpc,
        message.to_string(),
    );
}

/// The audit record of a write that changed nothing: it leaves no change event, so
/// without this entry a principal could make them (each with its own request id, which the
/// store keeps for the retention window) unseen.
pub(crate) fn audit_no_op(audit: &Auditor, principal: &Principal, rpc: Rpc, outcome: &Outcome) {
    if outcome.effect == Effect::Unchanged {
        audit.note(
            &principal.name,
            AuditKind::NoOpWrite,
            rpc,
            outcome.teacher.id.to_string(),
        );
    }
}

fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Internal | Code::DataLoss | Code::Unavailable | Code::Unknown
    )
}
