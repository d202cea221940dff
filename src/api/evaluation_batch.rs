//! The EvaluationService's batch operations: open the publicity of a whole round, record
//! a committee's results row by row, confirm a round in one streamed call. Each
//! application is written on its own (one atomic write per teacher, the promotion with
//! its confirmation), and answered with an outcome: the application, or the code and rule
//! of its refusal, as TransitionTitles answers per teacher. The request id of a batch is
//! recorded in each change event, not replayed.

use chrono::NaiveDate;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::evaluation::answered;
use crate::api::evaluation_convert::{
    application_message, parse_id, row_vote, sees_principals, take_step_fields,
};
use crate::api::pb;
use crate::api::service::{batch_context, RegistryService, Violations};
use crate::api::status::code_name;
use crate::auth::Principal;
use crate::domain::case::evaluation::{Application, ApplicationState, EvaluationRound, PassRatio};
use crate::domain::case::CaseId;
use crate::domain::{DomainError, FieldViolation};
use crate::store::{ApplicationStepRequest, EvaluationCommand, Store, StoreError, WriteContext};

pub(super) type ConfirmStream = ReceiverStream<Result<pb::ConfirmApplicationsResponse, Status>>;

const STREAM_BUFFER: usize = 64;

/// What became of one application of a batch.
fn outcome(
    application_id: &CaseId,
    teacher_id: String,
    result: Result<Application, StoreError>,
    ratio: Option<PassRatio>,
    principals: bool,
) -> pb::ApplicationOutcome {
    match result {
        Ok(application) => pb::ApplicationOutcome {
            application_id: application_id.as_str().to_string(),
            teacher_id: application.teacher_id.as_str().to_string(),
            application: Some(application_message(application, ratio, principals)),
            error_code: String::new(),
            reason: String::new(),
            message: String::new(),
        },
        Err(error) => {
            let reason = match &error {
                StoreError::Rejected(DomainError::FailedPrecondition { reason, .. }) => {
                    reason.to_string()
                }
                _ => String::new(),
            };
            let status = Status::from(error);
            pb::ApplicationOutcome {
                application_id: application_id.as_str().to_string(),
                teacher_id,
                application: None,
                error_code: code_name(status.code()),
                reason,
                message: status.message().to_string(),
            }
        }
    }
}

/// What every application of a batch is given: the same date, note and request id.
struct BatchStep<'a> {
    ratio: PassRatio,
    on: Option<NaiveDate>,
    note: &'a str,
    context: WriteContext,
    /// Whether the caller sees the principals who took the steps.
    principals: bool,
}

impl<'a> BatchStep<'a> {
    fn new(
        principal: &Principal,
        round: &EvaluationRound,
        on: Option<NaiveDate>,
        note: &'a str,
        request_id: Option<String>,
    ) -> Self {
        BatchStep {
            ratio: round.rules.pass_ratio,
            on,
            note: note.trim(),
            context: batch_context(principal, request_id),
            principals: sees_principals(principal),
        }
    }

    /// Takes `step` on `application`, and answers what became of it.
    async fn take(
        &self,
        store: &Store,
        application: &Application,
        step: ApplicationStepRequest,
    ) -> pb::ApplicationOutcome {
        let command = EvaluationCommand::Step {
            application_id: application.id.clone(),
            expected_etag: None,
            on: self.on,
            note: self.note.to_string(),
            step,
        };
        let result = store
            .evaluation_command(command, self.context.clone())
            .await
            .and_then(answered);
        outcome(
            &application.id,
            application.teacher_id.as_str().to_string(),
            result,
            Some(self.ratio),
            self.principals,
        )
    }
}

impl RegistryService {
    /// The applications of a batch: those named (each of the round), or every one
    /// `ready` selects.
    async fn batch_selection(
        &self,
        principal: &Principal,
        round_id: &str,
        named: Vec<String>,
        ready: impl Fn(&Application) -> bool,
    ) -> Result<(EvaluationRound, Vec<Application>), Status> {
        let (round, applications) = self.round_applications(principal, round_id, "").await?;
        if named.is_empty() {
            let selected = applications.into_iter().filter(|a| ready(a)).collect();
            return Ok((round, selected));
        }
        let mut violations = Violations::default();
        let mut selected = Vec::new();
        for (at, raw) in named.iter().enumerate() {
            let field = format!("application_ids[{at}]");
            let Some(id) = violations.take(parse_id(&field, raw)) else {
                continue;
            };
            match applications.iter().find(|a| a.id == id) {
                Some(a) => selected.push(a.clone()),
                None => violations.push(FieldViolation::new(field, "no application of this round")),
            }
        }
        violations.finish(|| Some((round, selected)))
    }

    pub(super) async fn open_publicity(
        &self,
        principal: &Principal,
        request: pb::OpenPublicityRequest,
    ) -> Result<pb::OpenPublicityResponse, Status> {
        let pb::OpenPublicityRequest {
            round_id,
            application_ids,
            step_date,
            note,
            request_id,
        } = request;
        let (violations, on, request_id) = batch_fields(&step_date, &request_id);
        let (on, request_id) = violations.finish(|| Some((on?, request_id?)))?;
        let (round, selected) = self
            .batch_selection(principal, &round_id, application_ids, |a| {
                a.state == ApplicationState::Applied || a.state == ApplicationState::CommitteeReview
            })
            .await?;
        let batch = BatchStep::new(principal, &round, on, &note, request_id);
        let mut outcomes = Vec::new();
        for application in selected {
            let step = ApplicationStepRequest::OpenPublicity;
            outcomes.push(batch.take(&self.store, &application, step).await);
        }
        Ok(pb::OpenPublicityResponse { outcomes })
    }

    pub(super) async fn record_committee_results(
        &self,
        principal: &Principal,
        request: pb::RecordCommitteeResultsRequest,
    ) -> Result<pb::RecordCommitteeResultsResponse, Status> {
        let pb::RecordCommitteeResultsRequest {
            round_id,
            rows,
            step_date,
            note,
            request_id,
        } = request;
        let (mut violations, on, request_id) = batch_fields(&step_date, &request_id);
        if rows.is_empty() {
            violations.push(FieldViolation::new("rows", "give at least one result"));
        }
        let (on, request_id) = violations.finish(|| Some((on?, request_id?)))?;
        let named = rows.iter().map(|r| r.application_id.clone()).collect();
        let (round, selected) = self
            .batch_selection(principal, &round_id, named, |_| false)
            .await?;
        let batch = BatchStep::new(principal, &round, on, &note, request_id);
        let mut outcomes = Vec::new();
        for (row, application) in rows.iter().zip(selected) {
            let step = ApplicationStepRequest::RecordVote {
                vote: row_vote(row),
            };
            outcomes.push(batch.take(&self.store, &application, step).await);
        }
        Ok(pb::RecordCommitteeResultsResponse { outcomes })
    }

    pub(super) async fn confirm_applications(
        &self,
        principal: &Principal,
        request: pb::ConfirmApplicationsRequest,
    ) -> Result<ConfirmStream, Status> {
        let pb::ConfirmApplicationsRequest {
            round_id,
            application_ids,
            approval_document,
            step_date,
            note,
            request_id,
        } = request;
        let (mut violations, on, request_id) = batch_fields(&step_date, &request_id);
        if approval_document.trim().is_empty() {
            violations.push(FieldViolation::new(
                "approval_document",
                "a confirmation names its approval document",
            ));
        }
        let (on, request_id) = violations.finish(|| Some((on?, request_id?)))?;
        let (round, selected) = self
            .batch_selection(principal, &round_id, application_ids, |a| {
                a.state == ApplicationState::ResultPublicity
            })
            .await?;
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let store = self.store.clone();
        let context = batch_context(principal, request_id);
        let principals = sees_principals(principal);
        tokio::spawn(async move {
            let batch = BatchStep {
                ratio: round.rules.pass_ratio,
                on,
                note: note.trim(),
                context,
                principals,
            };
            let mut summary = pb::ConfirmSummary::default();
            for application in selected {
                let step = ApplicationStepRequest::Confirm {
                    approval_document: approval_document.clone(),
                };
                let message = batch.take(&store, &application, step).await;
                // An outcome holds the application exactly when its step was taken.
                match message.application {
                    Some(_) => summary.confirmed += 1,
                    None => summary.refused += 1,
                }
                let response = pb::ConfirmApplicationsResponse {
                    result: Some(pb::confirm_applications_response::Result::Outcome(message)),
                };
                if sender.send(Ok(response)).await.is_err() {
                    // The caller went away; what was written stands.
                    return;
                }
            }
            let _ = sender
                .send(Ok(pb::ConfirmApplicationsResponse {
                    result: Some(pb::confirm_applications_response::Result::Summary(summary)),
                }))
                .await;
        });
        Ok(ReceiverStream::new(receiver))
    }
}

/// What every batch request reads first, its step date and request id, in the violations
/// its own fields then add to.
fn batch_fields(
    step_date: &str,
    request_id: &str,
) -> (
    Violations,
    Option<Option<NaiveDate>>,
    Option<Option<String>>,
) {
    let mut violations = Violations::default();
    let (on, request_id) = take_step_fields(&mut violations, step_date, request_id);
    (violations, on, request_id)
}
