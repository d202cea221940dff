//! The TeacherRegistryService: one line per RPC, naming its handler. Handlers extract the
//! request, convert it to domain terms (validation happens there, once), call the store
//! (reads through [`ReadPool`], never on a runtime worker) and convert back. Every RPC runs
//! inside [`traced`], which gives it a span and logs its status and latency. Helpers shared
//! by the handlers live here too.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use tonic::{Code, Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::api::audit::Auditor;
use crate::api::backup::BackupStream;
use crate::api::changes::WatchStream;
use crate::api::gate::{Gate, Held};
use crate::api::import::ImportStream;
use crate::api::pb;
use crate::api::reads::{ReadPool, MAX_CONCURRENT_READS};
use crate::api::titles::TransitionStream;
use crate::auth::{Principal, Role, Rpc};
use crate::credential::SigningKey;
use crate::domain::audit::AuditKind;
use crate::domain::case::CaseKind;
use crate::domain::{CountyCode, DomainError, FieldViolation, Teacher, TeacherId};
use crate::metrics::Metrics;
use crate::store::{Effect, Outcome, Store, WriteContext};

const MAX_REQUEST_ID_LEN: usize = 128;

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
        Self {
            reads: ReadPool::new(store.clone(), MAX_CONCURRENT_READS),
            audit: Auditor::new(store.clone()),
            gate: Arc::new(gate.with_auditor(Auditor::new(store.clone()))),
            store,
            progress_interval: DEFAULT_PROGRESS_INTERVAL,
            shutdown,
            metrics: Arc::default(),
            credential_key: None,
        }
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
/// and within the caller's concurrency limit), then handled, inside one traced span.
macro_rules! rpc {
    ($self:ident, $request:ident, $rpc:ident, $handler:ident) => {
        traced(&$self.metrics, Rpc::$rpc, $request.remote_addr(), async {
            let client_cert = $crate::api::gate::client_certificate(&$request);
            let caller = $self
                .gate
                .admit(Rpc::$rpc, $request.metadata(), client_cert.as_ref())?;
            $crate::api::service::name_caller(&caller.principal);
            let result = $self
                .$handler(&caller.principal, $request.into_inner())
                .await;
            $crate::api::service::judged(&$self.gate, &caller.principal, Rpc::$rpc, result)
        })
        .await
    };
}

/// A streaming RPC: as [`rpc!`], and the caller's request slot is held until the response
/// stream ends.
pub(super) use rpc;

macro_rules! rpc_stream {
    ($self:ident, $request:ident, $rpc:ident, $handler:ident) => {
        traced(&$self.metrics, Rpc::$rpc, $request.remote_addr(), async {
            let client_cert = $crate::api::gate::client_certificate(&$request);
            let caller = $self
                .gate
                .admit(Rpc::$rpc, $request.metadata(), client_cert.as_ref())?;
            $crate::api::service::name_caller(&caller.principal);
            let result = $self
                .$handler(&caller.principal, $request.into_inner())
                .await;
            let stream =
                $crate::api::service::judged(&$self.gate, &caller.principal, Rpc::$rpc, result)?;
            Ok(caller.hold(stream))
        })
        .await
    };
}

pub(super) use rpc_stream;

#[tonic::async_trait]
impl pb::teacher_registry_service_server::TeacherRegistryService for RegistryService {
    async fn create_teacher(
        &self,
        request: Request<pb::CreateTeacherRequest>,
    ) -> Result<Response<pb::CreateTeacherResponse>, Status> {
        rpc!(self, request, CreateTeacher, create)
    }

    async fn get_teacher(
        &self,
        request: Request<pb::GetTeacherRequest>,
    ) -> Result<Response<pb::GetTeacherResponse>, Status> {
        rpc!(self, request, GetTeacher, get)
    }

    async fn lookup_teacher(
        &self,
        request: Request<pb::LookupTeacherRequest>,
    ) -> Result<Response<pb::LookupTeacherResponse>, Status> {
        rpc!(self, request, LookupTeacher, lookup)
    }

    async fn list_teachers(
        &self,
        request: Request<pb::ListTeachersRequest>,
    ) -> Result<Response<pb::ListTeachersResponse>, Status> {
        rpc!(self, request, ListTeachers, list)
    }

    async fn search_teachers(
        &self,
        request: Request<pb::SearchTeachersRequest>,
    ) -> Result<Response<pb::SearchTeachersResponse>, Status> {
        rpc!(self, request, SearchTeachers, search)
    }

    async fn update_teacher(
        &self,
        request: Request<pb::UpdateTeacherRequest>,
    ) -> Result<Response<pb::UpdateTeacherResponse>, Status> {
        rpc!(self, request, UpdateTeacher, update)
    }

    async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        rpc!(self, request, IssueCertificate, issue)
    }

    async fn reissue_certificate(
        &self,
        request: Request<pb::ReissueCertificateRequest>,
    ) -> Result<Response<pb::ReissueCertificateResponse>, Status> {
        rpc!(self, request, ReissueCertificate, reissue)
    }

    async fn register_certificate(
        &self,
        request: Request<pb::RegisterCertificateRequest>,
    ) -> Result<Response<pb::RegisterCertificateResponse>, Status> {
        rpc!(self, request, RegisterCertificate, register)
    }

    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::RevokeCertificateResponse>, Status> {
        rpc!(self, request, RevokeCertificate, revoke)
    }

    async fn lose_qualification(
        &self,
        request: Request<pb::LoseQualificationRequest>,
    ) -> Result<Response<pb::LoseQualificationResponse>, Status> {
        rpc!(self, request, LoseQualification, lose_qualification)
    }

    async fn change_title(
        &self,
        request: Request<pb::ChangeTitleRequest>,
    ) -> Result<Response<pb::ChangeTitleResponse>, Status> {
        rpc!(self, request, ChangeTitle, change_title)
    }

    type TransitionTitlesStream = Held<TransitionStream>;

    async fn transition_titles(
        &self,
        request: Request<pb::TransitionTitlesRequest>,
    ) -> Result<Response<Self::TransitionTitlesStream>, Status> {
        rpc_stream!(self, request, TransitionTitles, transition)
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::GetStatisticsResponse>, Status> {
        rpc!(self, request, GetStatistics, statistics)
    }

    async fn list_teacher_revisions(
        &self,
        request: Request<pb::ListTeacherRevisionsRequest>,
    ) -> Result<Response<pb::ListTeacherRevisionsResponse>, Status> {
        rpc!(self, request, ListTeacherRevisions, list_teacher_revisions)
    }

    async fn propose_transfer(
        &self,
        request: Request<pb::ProposeTransferRequest>,
    ) -> Result<Response<pb::ProposeTransferResponse>, Status> {
        rpc!(self, request, ProposeTransfer, propose_transfer)
    }

    async fn accept_transfer(
        &self,
        request: Request<pb::AcceptTransferRequest>,
    ) -> Result<Response<pb::AcceptTransferResponse>, Status> {
        rpc!(self, request, AcceptTransfer, accept_transfer)
    }

    async fn decline_transfer(
        &self,
        request: Request<pb::DeclineTransferRequest>,
    ) -> Result<Response<pb::DeclineTransferResponse>, Status> {
        rpc!(self, request, DeclineTransfer, decline_transfer)
    }

    async fn list_transfers(
        &self,
        request: Request<pb::ListTransfersRequest>,
    ) -> Result<Response<pb::ListTransfersResponse>, Status> {
        rpc!(self, request, ListTransfers, list_transfers)
    }

    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::ListChangesResponse>, Status> {
        rpc!(self, request, ListChanges, changes)
    }

    type ImportTeachersStream = Held<ImportStream>;

    async fn import_teachers(
        &self,
        request: Request<Streaming<pb::ImportTeachersRequest>>,
    ) -> Result<Response<Self::ImportTeachersStream>, Status> {
        rpc_stream!(self, request, ImportTeachers, import)
    }

    type BackupRegistryStream = Held<BackupStream>;

    async fn backup_registry(
        &self,
        request: Request<pb::BackupRegistryRequest>,
    ) -> Result<Response<Self::BackupRegistryStream>, Status> {
        rpc_stream!(self, request, BackupRegistry, backup)
    }

    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        rpc!(self, request, ListAuditEntries, audit_entries)
    }

    type WatchChangesStream = Held<WatchStream>;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        rpc_stream!(self, request, WatchChanges, watch)
    }
}

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

/// The context of a single mutation by `principal`: recorded in its change event, and
/// limited to the principal's county if it has one.
pub(super) fn write_context(principal: &Principal, request_id: Option<String>) -> WriteContext {
    WriteContext::new(&principal.name, request_id)
        .within(principal.county.clone())
        .within_city(principal.city.clone())
        .for_case_kinds(case_kinds(principal))
}

/// The kinds of case a principal may work, if not all: HR staff handle registration.
pub(super) fn case_kinds(principal: &Principal) -> Option<Vec<CaseKind>> {
    (principal.role == Role::Hr).then(|| vec![CaseKind::Registration])
}

/// The context of each mutation of a batch request (request id recorded, not replayed).
pub(super) fn batch_context(principal: &Principal, request_id: Option<String>) -> WriteContext {
    WriteContext::batch(&principal.name, request_id).within(principal.county.clone())
}

/// Whether a county-scoped principal may see a teacher of `county` (others see all).
pub(super) fn may_see(principal: &Principal, county: &CountyCode) -> bool {
    principal.county.as_ref().is_none_or(|own| own == county)
}

/// The county a listing or feed is limited to: the caller's own for county-scoped
/// principals (asking for another county is PERMISSION_DENIED), else what was asked.
pub(super) fn scoped_county(
    principal: &Principal,
    asked: Option<CountyCode>,
) -> Result<Option<CountyCode>, Status> {
    match (&principal.county, asked) {
        (None, asked) => Ok(asked),
        (Some(own), None) => Ok(Some(own.clone())),
        (Some(own), Some(asked)) if *own == asked => Ok(Some(asked)),
        (Some(_), Some(_)) => Err(DomainError::PermissionDenied {
            message: "this principal may only see its own county".into(),
        }
        .into()),
    }
}

pub(super) fn log_warnings(teacher: &Teacher, warnings: &[String]) {
    for warning in warnings {
        tracing::info!(teacher_id = %teacher.id, %warning, "accepted with a warning");
    }
}

pub(super) fn teacher_not_found() -> Status {
    DomainError::NotFound { what: "teacher" }.into()
}

pub(super) fn parse_teacher_id(field: &str, raw: &str) -> Result<TeacherId, FieldViolation> {
    TeacherId::parse(raw).map_err(|e| FieldViolation::new(field, e.to_string()))
}

/// An AIP-155 request id: optional; when given, 1-128 printable characters.
pub(super) fn parse_request_id(raw: &str) -> Result<Option<String>, FieldViolation> {
    if raw.is_empty() {
        return Ok(None);
    }
    let len = raw.chars().count();
    if len > MAX_REQUEST_ID_LEN {
        return Err(FieldViolation::new(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_LEN} characters, got {len}"),
        ));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(FieldViolation::new(
            "request_id",
            "must not contain spaces or control characters",
        ));
    }
    Ok(Some(raw.to_string()))
}

/// A page size (AIP-158): 0 means `default`, larger than `max` is clamped, negative is a
/// violation.
pub(super) fn parse_page_size(
    raw: i32,
    default: usize,
    max: usize,
) -> Result<usize, FieldViolation> {
    match raw {
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        0 => Ok(default),
        n => Ok((n as usize).min(max)),
    }
}

/// An optional etag: empty means "whatever is current".
pub(super) fn optional_etag(etag: String) -> Option<String> {
    Some(etag).filter(|e| !e.is_empty())
}

/// Keeps a field's value, or records its violation.
pub(super) fn collect<T>(
    violations: &mut Vec<FieldViolation>,
    result: Result<T, FieldViolation>,
) -> Option<T> {
    result.map_err(|v| violations.push(v)).ok()
}
