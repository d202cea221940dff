//! The ImportTeachers handler: a bidirectional stream of rows and results.
//!
//! Rows are validated and sent to the writer as they arrive, many at a time, so the
//! writer commits them in large groups; results go back in row order, each once its row
//! is on disk. Buffers are bounded at every step: when the client stops reading results,
//! the handler stops reading rows, and HTTP/2 flow control holds the client back, so
//! memory stays flat however long the stream.

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::api::convert::import_input;
use crate::api::pb;
use crate::api::service::{batch_context, RegistryService};
use crate::auth::Principal;
use crate::clock;
use crate::domain::{DomainError, FieldViolation, ImportMode};
use crate::store::{Effect, Store, StoreError, WriteContext};

/// Rows in the writer's queue at once for one stream.
const IN_FLIGHT: usize = 1024;
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
        tokio::spawn(run_import(self.store.clone(), rows, context, sender));
        Ok(ReceiverStream::new(receiver))
    }
}

/// What became of one row: its result, or a failure that ends the stream.
enum RowResult {
    Done(pb::ImportTeachersResponse),
    End(Status),
}

async fn run_import(
    store: Store,
    rows: Streaming<pb::ImportTeachersRequest>,
    context: WriteContext,
    sender: mpsc::Sender<Result<pb::ImportTeachersResponse, Status>>,
) {
    let mut results = rows
        .enumerate()
        .map(|(index, row)| {
            let store = store.clone();
            let context = context.clone();
            async move {
                match row {
                    Ok(row) => import_one(&store, index as u64 + 1, row, context).await,
                    // The stream itself broke (client gone, undecodable message).
                    Err(status) => RowResult::End(status),
                }
            }
        })
        .buffered(IN_FLIGHT);
    let (mut imported, mut rejected) = (0u64, 0u64);
    while let Some(result) = results.next().await {
        let message = match result {
            RowResult::Done(response) => {
                if response.outcome == pb::ImportOutcome::Rejected as i32 {
                    rejected += 1;
                } else {
                    imported += 1;
                }
                Ok(response)
            }
            RowResult::End(status) => {
                tracing::info!(imported, rejected, code = ?status.code(), "import stream ended early");
                let _ = sender.send(Err(status)).await;
                return;
            }
        };
        if sender.send(message).await.is_err() {
            tracing::info!(imported, rejected, "import client went away");
            return;
        }
    }
    tracing::info!(imported, rejected, "import finished");
}

async fn import_one(
    store: &Store,
    row: u64,
    request: pb::ImportTeachersRequest,
    context: WriteContext,
) -> RowResult {
    let pb::ImportTeachersRequest { teacher, mode } = request;
    let mut violations = Vec::new();
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
        Some(teacher) => import_input(teacher)
            .validate(clock::today())
            .map_err(|bad| violations.extend(bad))
            .ok(),
    };
    let (Some(mode), Some(validated)) = (mode, validated) else {
        return RowResult::Done(rejected(row, DomainError::from(violations).into()));
    };
    match store.import_row(validated, mode, context).await {
        Ok(outcome) => RowResult::Done(pb::ImportTeachersResponse {
            row,
            outcome: match outcome.effect {
                Effect::Created => pb::ImportOutcome::Created,
                Effect::Updated => pb::ImportOutcome::Updated,
                Effect::Unchanged => pb::ImportOutcome::Unchanged,
            } as i32,
            teacher_id: outcome.teacher.id.to_string(),
            error: None,
        }),
        Err(error @ StoreError::Rejected(_)) => RowResult::Done(rejected(row, error)),
        // Storage is failing: stop here; every row answered before is on disk.
        Err(error) => RowResult::End(error.into()),
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
    pb::ImportTeachersResponse {
        row,
        outcome: pb::ImportOutcome::Rejected as i32,
        teacher_id,
        error: Some(pb::ImportRowError {
            code: code_name(status.code()),
            message: status.message().to_string(),
            field_violations,
        }),
    }
}

/// The canonical name of a status code, e.g. `INVALID_ARGUMENT`.
fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_canonical() {
        assert_eq!(code_name(tonic::Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(tonic::Code::AlreadyExists), "ALREADY_EXISTS");
        assert_eq!(code_name(tonic::Code::Ok), "OK");
    }
}
