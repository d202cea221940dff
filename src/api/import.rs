//! The ImportTeachers handler: a bidirectional stream of rows and results.
//!
//! Rows are validated and queued for the writer one after another as they arrive, so the
//! writer applies them in the stream's order (a teacher's second row sees the first), and
//! many wait for the disk at once, so the writer commits them in large groups. Results go
//! back in row order, each once its row is on disk. Buffers are bounded at every step:
//! when the client stops reading results, the handler stops reading rows, and HTTP/2 flow
//! control holds the client back, so memory stays flat however long the stream.
//!
//! When storage fails, the stream ends with that status after the last row on disk. Rows
//! already queued behind it are refused while the writer is in its fault; one queued long
//! enough to meet the writer after the disk came back may still be written, so a client
//! finishes the file by sending it again in UPSERT mode (the `import` command says so).

use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status, Streaming};

use crate::api::audit::Auditor;
use crate::api::convert::import_input;
use crate::api::gate::Gate;
use crate::api::pb;
use crate::api::reads::ReadPool;
use crate::api::service::{batch_context, may_see, RegistryService, Violations};
use crate::api::status::code_name;
use crate::auth::{permits, Principal, Rpc};
use crate::clock;
use crate::domain::audit::AuditKind;
use crate::domain::{DomainError, FieldViolation, ImportMode, TeacherId};
use crate::store::{Effect, Outcome, Queued, Store, StoreError, WriteContext};

/// Rows of one stream queued or waiting for the disk at once.
const IN_FLIGHT: usize = 4096;
/// Results buffered for a client that reads slowly.
const RESULT_BUFFER: usize = 1024;

pub(super) type ImportStream = ReceiverStream<Result<pb::ImportTeachersResponse, Status>>;

impl RegistryService {
    pub(super) async fn import(
        &self,
        principal: &Principal,
        rows: Streaming<pb::ImportTeachersRequest>,
    ) -> Result<ImportStream, Status> {
        let (sender, receiver) = mpsc::channel(RESULT_BUFFER);
        let context = batch_context(principal, None);
        let duplicates = Duplicates {
            principal: principal.clone(),
            reads: self.reads.clone(),
            gate: self.gate.clone(),
            audit: self.audit.clone(),
        };
        tokio::spawn(run_import(
            self.store.clone(),
            rows,
            context,
            sender,
            duplicates,
        ));
        Ok(ReceiverStream::new(receiver))
    }
}

/// A row on its way: answered already (refused before the writer saw it), queued for the
/// writer, or the end of the stream.
enum Submitted {
    Answered(pb::ImportTeachersResponse),
    Queued(u64, Queued),
    End(Status),
}

/// What an import does with a row refused as a duplicate (ALREADY_EXISTS).
///
/// A row that meets one of the caller's own county's teachers (a create-only re-run of
/// its file) tells it nothing it may not read: it is neither audited nor counted. A row
/// that meets a holder the caller may not read reveals that holder's registry number: it
/// is an entry of the read audit and a refusal counted against the principal's limit, as
/// CreateTeacher's is, and the import stops (RESOURCE_EXHAUSTED) once the principal has
/// none left. Before, every such row was audited and none counted: a county re-importing
/// its own file in a loop wrote audit entries as fast as the writer took rows, without
/// limit (found after issue 21's list: `tests/red_team/next.rs`).
struct Duplicates {
    principal: Principal,
    reads: ReadPool,
    gate: Arc<Gate>,
    audit: Auditor,
}

impl Duplicates {
    /// Whether the caller may read the teacher `holder` (a registry number).
    async fn may_read(&self, holder: &str) -> bool {
        if !permits(self.principal.role, Rpc::GetTeacher) {
            return false;
        }
        let Ok(id) = TeacherId::parse(holder) else {
            return false;
        };
        match self.reads.read(move |store| store.get_teacher(&id)).await {
            Ok(Some(teacher)) => may_see(&self.principal, &teacher.fields.county_code),
            _ => false,
        }
    }

    /// Audits and counts a duplicate the caller may not read; ignores the others.
    async fn met(&self, response: &pb::ImportTeachersResponse, message: &str) {
        if self.may_read(&response.teacher_id).await {
            return;
        }
        self.audit.note(
            &self.principal.name,
            AuditKind::DuplicateRevealed,
            Rpc::ImportTeachers,
            message.to_string(),
        );
        self.gate
            .judge(&self.principal, Rpc::ImportTeachers, Code::AlreadyExists);
    }
}

async fn run_import(
    store: Store,
    rows: Streaming<pb::ImportTeachersRequest>,
    context: WriteContext,
    sender: mpsc::Sender<Result<pb::ImportTeachersResponse, Status>>,
    duplicates: Duplicates,
) {
    let (submitted, in_flight) = mpsc::channel(IN_FLIGHT);
    let ((), (imported, rejected)) = tokio::join!(
        submit(&store, rows, context, submitted, &duplicates),
        answer(in_flight, &sender, &duplicates),
    );
    tracing::info!(imported, rejected, "import stream closed");
}

/// Validates the rows one by one and queues them for the writer in the stream's order,
/// up to [`IN_FLIGHT`] ahead of the answers. Stops when the stream ends or breaks, or
/// when the answers stop (the client went away, or storage failed).
async fn submit(
    store: &Store,
    mut rows: Streaming<pb::ImportTeachersRequest>,
    context: WriteContext,
    submitted: mpsc::Sender<Submitted>,
    duplicates: &Duplicates,
) {
    let mut row = 0;
    loop {
        let request = tokio::select! {
            request = rows.next() => request,
            // The answers stopped: the rest of the stream is not read.
            () = submitted.closed() => return,
        };
        let Some(request) = request else { return };
        row += 1;
        let held_back = duplicates
            .gate
            .check_refusals(&duplicates.principal, Rpc::ImportTeachers);
        let next = match (request, held_back) {
            // Out of refusals (duplicates of holders it may not read): the rows answered
            // before are on disk, this one and the rest are not read.
            (_, Err(status)) => Submitted::End(status),
            (Ok(request), Ok(())) => queue(store, row, request, context.clone()).await,
            // The stream itself broke (client gone, undecodable message).
            (Err(status), Ok(())) => Submitted::End(status),
        };
        let end = matches!(next, Submitted::End(_));
        if submitted.send(next).await.is_err() || end {
            return;
        }
    }
}

/// Sends each row's result in row order, once its row is on disk; the counts of rows
/// imported and rejected. A row refused as a duplicate goes to [`Duplicates::met`].
async fn answer(
    mut in_flight: mpsc::Receiver<Submitted>,
    sender: &mpsc::Sender<Result<pb::ImportTeachersResponse, Status>>,
    duplicates: &Duplicates,
) -> (u64, u64) {
    let (mut imported, mut rejected) = (0u64, 0u64);
    while let Some(next) = in_flight.recv().await {
        let response = match next {
            Submitted::Answered(response) => response,
            Submitted::Queued(row, queued) => match queued.outcome().await {
                Ok(outcome) => accepted(row, &outcome),
                Err(error @ StoreError::Rejected(_)) => self::rejected(row, error),
                // Storage is failing: stop here; every row answered before is on disk.
                Err(error) => {
                    tracing::info!(
                        imported,
                        rejected,
                        "import stream ended by a storage failure"
                    );
                    let _ = sender.send(Err(error.into())).await;
                    return (imported, rejected);
                }
            },
            Submitted::End(status) => {
                tracing::info!(imported, rejected, code = ?status.code(), "import stream ended early");
                let _ = sender.send(Err(status)).await;
                return (imported, rejected);
            }
        };
        if let Some(status) = response
            .status
            .as_ref()
            .filter(|s| s.code == Code::AlreadyExists as i32)
        {
            duplicates.met(&response, &status.message).await;
        }
        if response.outcome == pb::ImportOutcome::Rejected as i32 {
            rejected += 1;
        } else {
            imported += 1;
        }
        if sender.send(Ok(response)).await.is_err() {
            tracing::info!(imported, rejected, "import client went away");
            return (imported, rejected);
        }
    }
    (imported, rejected)
}

/// Validates a row as CreateTeacher would, and queues it for the writer if it is valid.
async fn queue(
    store: &Store,
    row: u64,
    request: pb::ImportTeachersRequest,
    context: WriteContext,
) -> Submitted {
    let pb::ImportTeachersRequest { teacher, mode } = request;
    let mut violations = Violations::default();
    let mode = match pb::ImportMode::try_from(mode) {
        Ok(pb::ImportMode::CreateOnly) => Some(ImportMode::CreateOnly),
        Ok(pb::ImportMode::Upsert) => Some(ImportMode::Upsert),
        Ok(pb::ImportMode::Unspecified) | Err(_) => {
            violations.push(FieldViolation::new("mode", "must be CREATE_ONLY or UPSERT"));
            None
        }
    };
    let validated = match teacher {
        None => {
            violations.push(FieldViolation::new("teacher", "is required"));
            None
        }
        Some(teacher) => violations.take_all(import_input(teacher).validate(clock::today())),
    };
    let (mode, validated) = match violations.finish_fields(|| Some((mode?, validated?))) {
        Ok(parsed) => parsed,
        Err(bad) => return Submitted::Answered(rejected(row, DomainError::from(bad).into())),
    };
    match store.queue_import_row(validated, mode, context).await {
        Ok(queued) => Submitted::Queued(row, queued),
        Err(error) => Submitted::End(error.into()),
    }
}

fn accepted(row: u64, outcome: &Outcome) -> pb::ImportTeachersResponse {
    #[allow(deprecated)] // `error`, unset here, as every field of an accepted row's
    pb::ImportTeachersResponse {
        row,
        outcome: match outcome.effect {
            Effect::Created => pb::ImportOutcome::Created,
            Effect::Updated => pb::ImportOutcome::Updated,
            Effect::Unchanged => pb::ImportOutcome::Unchanged,
        } as i32,
        teacher_id: outcome.teacher.id.to_string(),
        error: None,
        status: None,
    }
}

/// A REJECTED result carrying what CreateTeacher would have answered for the same row.
fn rejected(row: u64, error: StoreError) -> pb::ImportTeachersResponse {
    let (teacher_id, field_violations) = match &error {
        StoreError::Rejected(DomainError::AlreadyExists { existing, .. }) => {
            (existing.to_string(), Vec::new())
        }
        StoreError::Rejected(DomainError::Invalid { violations }) => (
            String::new(),
            violations
                .iter()
                .map(|v| pb::ImportFieldViolation {
                    field: v.field.clone(),
                    description: v.description.clone(),
                })
                .collect(),
        ),
        _ => (String::new(), Vec::new()),
    };
    let status = Status::from(error);
    #[allow(deprecated)] // filled for clients of earlier releases
    pb::ImportTeachersResponse {
        row,
        outcome: pb::ImportOutcome::Rejected as i32,
        teacher_id,
        error: Some(pb::ImportRowError {
            code: code_name(status.code()),
            message: status.message().to_string(),
            field_violations,
        }),
        status: Some(row_status(&status)),
    }
}

/// `status` as a google.rpc.Status message: what its `grpc-status-details-bin` trailer
/// would carry (code, message and the details the one error mapping gave it), or the code
/// and message alone when it has no details.
fn row_status(status: &Status) -> tonic_types::pb::Status {
    use prost::Message;
    tonic_types::pb::Status::decode(status.details())
        .ok()
        .filter(|decoded| !status.details().is_empty() && decoded.code == status.code() as i32)
        .unwrap_or_else(|| tonic_types::pb::Status {
            code: status.code() as i32,
            message: status.message().to_string(),
            details: Vec::new(),
        })
}
