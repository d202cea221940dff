//! Handlers of the title RPCs: ChangeTitle, TransitionTitles (streaming) and GetStatistics.
//!
//! A transition is the store's run (`store::transition`) in a task of its own, so the
//! stream opens at once, even while a county's scan waits for sled; the handler parses the
//! request into the run's input and spells each of the run's events as a message.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::convert::{county_statistics, present, title_change_input, wire, WireEnum};
use crate::api::pb;
use crate::api::pb::transition_titles_response::Result as Item;
use crate::api::service::{
    asked_county, batch_context, optional_etag, parse_request_id, parse_teacher_id, write_context,
    RegistryService, Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::{past_date, CountyCode, FieldViolation, SkipReason, TeacherId, TransitionPlan};
use crate::store::{
    Selection, Target, TeacherChange, TeacherOutcome, Transition, TransitionEvent,
    TransitionFailure, TransitionSummary,
};
/// Results buffered for a slow client before the run waits for it.
const STREAM_BUFFER: usize = 1024;
/// The most teacher_ids one request may name.
const MAX_TEACHER_IDS: usize = 100_000;
const APPROVAL_MAX: usize = 100;

pub(super) type TransitionStream = ReceiverStream<Result<pb::TransitionTitlesResponse, Status>>;

impl RegistryService {
    pub(super) async fn change_title(
        &self,
        principal: &Principal,
        request: pb::ChangeTitleRequest,
    ) -> Result<pb::ChangeTitleResponse, Status> {
        let pb::ChangeTitleRequest {
            teacher_id,
            change,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let (request_id, id) = violations.take_teacher_write(&request_id, &teacher_id);
        let change = match change {
            None => {
                violations.push(FieldViolation::new("change", "is required"));
                None
            }
            Some(entry) => violations.take_all(title_change_input(entry).validate()),
        };
        let (request_id, id, change) = violations.finish(|| Some((request_id?, id?, change?)))?;
        let outcome = self
            .store
            .change_teacher(
                Target::Teacher(id),
                optional_etag(etag),
                TeacherChange::ChangeTitle(change),
                write_context(principal, request_id),
            )
            .await?;
        Ok(pb::ChangeTitleResponse {
            teacher: Some(present(principal, outcome.teacher)),
        })
    }

    pub(super) async fn transition(
        &self,
        principal: &Principal,
        request: pb::TransitionTitlesRequest,
    ) -> Result<TransitionStream, Status> {
        let run = parse_transition(principal, request)?;
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let (store, reads) = (self.store.clone(), self.reads.clone());
        tokio::spawn(run.run(store, reads, sender, transition_message));
        Ok(ReceiverStream::new(receiver))
    }

    pub(super) async fn statistics(
        &self,
        principal: &Principal,
        request: pb::GetStatisticsRequest,
    ) -> Result<pb::GetStatisticsResponse, Status> {
        let pb::GetStatisticsRequest { county_code } = request;
        let county = asked_county(principal, &county_code)?;
        let statistics = self
            .reads
            .read(move |store| store.statistics(county.as_ref()))
            .await?;
        let totals = statistics.totals();
        Ok(pb::GetStatisticsResponse {
            counties: statistics
                .counties
                .iter()
                .map(|(code, county)| county_statistics(code.as_str().to_string(), county))
                .collect(),
            totals: Some(county_statistics(String::new(), &totals)),
            revision: statistics.revision,
        })
    }
}

/// A TransitionTitles request as the run's input, or its field violations.
fn parse_transition(
    principal: &Principal,
    request: pb::TransitionTitlesRequest,
) -> Result<Transition, Status> {
    let pb::TransitionTitlesRequest {
        teacher_ids,
        county_code,
        effective_date,
        approval_document,
        dry_run,
        request_id,
    } = request;
    let mut violations = Violations::default();
    let request_id = violations.take(parse_request_id(&request_id));
    let selection = match (teacher_ids.is_empty(), county_code.trim()) {
        (true, "") => {
            violations.push(FieldViolation::new(
                "teacher_ids",
                "select teachers by teacher_ids or county_code",
            ));
            None
        }
        (false, code) if !code.is_empty() => {
            violations.push(FieldViolation::new(
                "county_code",
                "give teacher_ids or county_code, not both",
            ));
            None
        }
        (false, _) if teacher_ids.len() > MAX_TEACHER_IDS => {
            violations.push(FieldViolation::new(
                "teacher_ids",
                format!(
                    "at most {MAX_TEACHER_IDS} per request, got {}",
                    teacher_ids.len()
                ),
            ));
            None
        }
        (false, _) => {
            let mut ids = Vec::with_capacity(teacher_ids.len());
            for (i, raw) in teacher_ids.iter().enumerate() {
                if let Some(id) =
                    violations.take(parse_teacher_id(&format!("teacher_ids[{i}]"), raw))
                {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            Some(Selection::Teachers(ids))
        }
        (true, code) => violations
            .take(CountyCode::parse(code).map_err(|e| FieldViolation::new("county_code", e)))
            .map(Selection::County),
    };
    let effective_date = violations.take(
        past_date(&effective_date, clock::today())
            .map_err(|e| FieldViolation::new("effective_date", e)),
    );
    let approval_document = approval_document.trim().to_string();
    if approval_document.is_empty() || approval_document.chars().count() > APPROVAL_MAX {
        violations.push(FieldViolation::new(
            "approval_document",
            format!("is required, at most {APPROVAL_MAX} characters"),
        ));
    } else if approval_document.chars().any(char::is_control) {
        violations.push(FieldViolation::new(
            "approval_document",
            "must not contain control characters",
        ));
    }
    violations.finish(|| {
        Some(Transition {
            selection: selection?,
            effective_date: effective_date?,
            approval_document,
            dry_run,
            context: batch_context(principal, request_id?),
        })
    })
}

/// One step of a run as its message.
fn transition_message(event: TransitionEvent<Status>) -> pb::TransitionTitlesResponse {
    let result = match event {
        TransitionEvent::Teacher(id, outcome) => Item::Teacher(teacher_transition(id, outcome)),
        TransitionEvent::Summary(summary) => Item::Summary(transition_summary(summary)),
    };
    pb::TransitionTitlesResponse {
        result: Some(result),
    }
}

fn teacher_transition(id: TeacherId, outcome: TeacherOutcome<Status>) -> pb::TeacherTransition {
    let mut message = pb::TeacherTransition {
        teacher_id: id.to_string(),
        ..Default::default()
    };
    let planned = |message: &mut pb::TeacherTransition, outcome, plan: TransitionPlan| {
        message.outcome = outcome as i32;
        message.legacy_title = plan.legacy_title.to_wire();
        message.tier = wire(Some(plan.tier));
        message.limited_scope = plan.limited_scope;
    };
    let skipped = |message: &mut pb::TeacherTransition, reason: SkipReason| {
        message.outcome = pb::TransitionOutcome::Skipped as i32;
        message.skip_reason = pb::TransitionSkipReason::from(reason) as i32;
    };
    match outcome {
        TeacherOutcome::Transitioned(plan) => {
            planned(&mut message, pb::TransitionOutcome::Transitioned, plan)
        }
        TeacherOutcome::WouldTransition(plan) => {
            planned(&mut message, pb::TransitionOutcome::WouldTransition, plan)
        }
        TeacherOutcome::Skipped(reason) => skipped(&mut message, reason),
        TeacherOutcome::Merged(survivor) => {
            skipped(&mut message, SkipReason::Merged);
            message.survivor_teacher_id = survivor.to_string();
        }
        TeacherOutcome::Failed(failure) => {
            message.outcome = pb::TransitionOutcome::Failed as i32;
            message.error = match failure {
                TransitionFailure::Read(status) | TransitionFailure::Write(status) => {
                    status.message().to_string()
                }
                TransitionFailure::Refused(refusal) => refusal.to_string(),
            };
        }
    }
    message
}

fn transition_summary(summary: TransitionSummary) -> pb::TransitionSummary {
    pb::TransitionSummary {
        dry_run: summary.dry_run,
        selected: summary.selected,
        transitioned: summary.transitioned,
        would_transition: summary.would_transition,
        skipped: summary.skipped,
        failed: summary.failed,
        skipped_by_reason: summary
            .skipped_by_reason
            .into_iter()
            .map(|(reason, count)| pb::TransitionSkipCount {
                reason: pb::TransitionSkipReason::from(reason) as i32,
                count,
            })
            .collect(),
    }
}
