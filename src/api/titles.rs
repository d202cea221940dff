//! Handlers of the title RPCs: ChangeTitle, TransitionTitles (streaming) and GetStatistics.
//!
//! A transition by county first scans the county's index; that happens in the run's own
//! task, a page per read on the blocking pool, so the stream opens at once and no runtime
//! worker waits for sled meanwhile.

use std::collections::BTreeMap;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::convert::{county_statistics, present, title_change_input, wire, WireEnum};
use crate::api::pb;
use crate::api::pb::transition_titles_response::Result as Item;
use crate::api::reads::ReadPool;
use crate::api::service::{
    batch_context, optional_county, optional_etag, parse_request_id, parse_teacher_id,
    scoped_county, write_context, RegistryService, Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::{
    past_date, CountyCode, DomainError, FieldViolation, SkipReason, TeacherId, TransitionPlan,
    UnixMicros,
};
use crate::store::{ListQuery, Store, StoreError, Target, TeacherChange, WriteContext};

/// Teachers transitioned concurrently by one run: enough to fill the writer's groups.
const IN_FLIGHT: usize = 512;
/// Teachers read at a time while selecting a county's.
const SELECT_PAGE: usize = 1000;
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
        let request_id = violations.take(parse_request_id(&request_id));
        let id = violations.take(parse_teacher_id("teacher_id", &teacher_id));
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
        let mut run = TransitionRun::parse(request)?;
        run.context = batch_context(principal, run.request_id.clone());
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let (store, reads) = (self.store.clone(), self.reads.clone());
        tokio::spawn(async move {
            match run.select(&reads).await {
                Ok(selection) => run.execute(store, reads, selection, sender).await,
                Err(status) => {
                    let _ = sender.send(Err(status)).await;
                }
            }
        });
        Ok(ReceiverStream::new(receiver))
    }

    pub(super) async fn statistics(
        &self,
        principal: &Principal,
        request: pb::GetStatisticsRequest,
    ) -> Result<pb::GetStatisticsResponse, Status> {
        let pb::GetStatisticsRequest { county_code } = request;
        let county = optional_county(&county_code).map_err(DomainError::from)?;
        let county = scoped_county(principal, county)?;
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

/// A validated TransitionTitles request.
struct TransitionRun {
    selection: Selection,
    effective_date: chrono::NaiveDate,
    approval_document: String,
    dry_run: bool,
    request_id: Option<String>,
    /// Whose run it is, for each teacher's change event.
    context: WriteContext,
}

enum Selection {
    Teachers(Vec<TeacherId>),
    County(CountyCode),
}

/// One teacher's result, before it becomes a message.
enum TeacherResult {
    Transitioned(TransitionPlan),
    WouldTransition(TransitionPlan),
    Skipped(SkipReason),
    /// The number was retired by a merge into this record, which the caller may see.
    Merged(TeacherId),
    Failed(String),
}

impl TransitionRun {
    fn parse(request: pb::TransitionTitlesRequest) -> Result<Self, Status> {
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
            Some(TransitionRun {
                selection: selection?,
                effective_date: effective_date?,
                approval_document,
                dry_run,
                request_id: request_id?,
                context: WriteContext::default(),
            })
        })
    }

    /// The teachers to consider: those named, or every teacher of the county who holds a
    /// legacy title (read from the county index, a page per read).
    async fn select(&self, reads: &ReadPool) -> Result<Vec<TeacherId>, Status> {
        let county = match &self.selection {
            Selection::Teachers(ids) => return Ok(ids.clone()),
            Selection::County(county) => county,
        };
        let query = ListQuery {
            county: Some(county.clone()),
            ..ListQuery::default()
        };
        let mut ids = Vec::new();
        let mut token = String::new();
        loop {
            let (query, after) = (query.clone(), token);
            let page = reads
                .read(move |store| store.list_teachers(&query, SELECT_PAGE, &after))
                .await?;
            ids.extend(
                page.teachers
                    .into_iter()
                    .filter(|t| t.fields.legacy_title.is_some())
                    .map(|t| t.id),
            );
            if page.next_page_token.is_empty() {
                return Ok(ids);
            }
            token = page.next_page_token;
        }
    }

    /// Plans (and, unless dry, applies) each teacher in order, streaming each result and
    /// then the summary. A client that goes away stops the run: every teacher already
    /// sent to the writer is applied whole, the rest untouched, and a new run finishes them.
    async fn execute(
        self,
        store: Store,
        reads: ReadPool,
        selection: Vec<TeacherId>,
        sender: mpsc::Sender<Result<pb::TransitionTitlesResponse, Status>>,
    ) {
        let context = self.context.clone();
        let mut summary = pb::TransitionSummary {
            dry_run: self.dry_run,
            selected: selection.len() as u64,
            ..Default::default()
        };
        let mut skipped: BTreeMap<SkipReason, u64> = BTreeMap::new();
        let run = &self;
        let mut results = futures::stream::iter(selection)
            .map(|id| {
                let (store, reads) = (store.clone(), reads.clone());
                let context = context.clone();
                async move {
                    let result = run.transition_one(&store, &reads, &id, context).await;
                    (id, result)
                }
            })
            .buffered(IN_FLIGHT);
        while let Some((id, result)) = results.next().await {
            let mut message = pb::TeacherTransition {
                teacher_id: id.to_string(),
                ..Default::default()
            };
            match result {
                TeacherResult::Transitioned(plan) | TeacherResult::WouldTransition(plan) => {
                    let outcome = if self.dry_run {
                        summary.would_transition += 1;
                        pb::TransitionOutcome::WouldTransition
                    } else {
                        summary.transitioned += 1;
                        pb::TransitionOutcome::Transitioned
                    };
                    message.outcome = outcome as i32;
                    message.legacy_title = plan.legacy_title.to_wire();
                    message.tier = wire(Some(plan.tier));
                    message.limited_scope = plan.limited_scope;
                }
                TeacherResult::Skipped(reason) => {
                    summary.skipped += 1;
                    *skipped.entry(reason).or_default() += 1;
                    message.outcome = pb::TransitionOutcome::Skipped as i32;
                    message.skip_reason = pb::TransitionSkipReason::from(reason) as i32;
                }
                TeacherResult::Merged(survivor) => {
                    let reason = SkipReason::Merged;
                    summary.skipped += 1;
                    *skipped.entry(reason).or_default() += 1;
                    message.outcome = pb::TransitionOutcome::Skipped as i32;
                    message.skip_reason = pb::TransitionSkipReason::from(reason) as i32;
                    message.survivor_teacher_id = survivor.to_string();
                }
                TeacherResult::Failed(error) => {
                    summary.failed += 1;
                    message.outcome = pb::TransitionOutcome::Failed as i32;
                    message.error = error;
                }
            }
            let item = pb::TransitionTitlesResponse {
                result: Some(Item::Teacher(message)),
            };
            if sender.send(Ok(item)).await.is_err() {
                tracing::info!(
                    transitioned = summary.transitioned,
                    "transition client went away; the run stops"
                );
                return;
            }
        }
        summary.skipped_by_reason = skipped
            .into_iter()
            .map(|(reason, count)| pb::TransitionSkipCount {
                reason: pb::TransitionSkipReason::from(reason) as i32,
                count,
            })
            .collect();
        tracing::info!(
            dry_run = summary.dry_run,
            selected = summary.selected,
            transitioned = summary.transitioned,
            skipped = summary.skipped,
            failed = summary.failed,
            "title transition finished"
        );
        let _ = sender
            .send(Ok(pb::TransitionTitlesResponse {
                result: Some(Item::Summary(summary)),
            }))
            .await;
    }

    async fn transition_one(
        &self,
        store: &Store,
        reads: &ReadPool,
        id: &TeacherId,
        context: WriteContext,
    ) -> TeacherResult {
        let plan = match self.plan(reads, id).await {
            Ok(plan) => plan,
            Err(result) => return result,
        };
        if self.dry_run {
            return TeacherResult::WouldTransition(plan);
        }
        let change = TeacherChange::ReformTransition {
            effective_date: self.effective_date,
            approval_document: self.approval_document.clone(),
        };
        match store
            .change_teacher(Target::Teacher(id.clone()), None, change, context)
            .await
        {
            Ok(_) => TeacherResult::Transitioned(plan),
            // The record changed between the read and the write: judged again as it is now.
            Err(StoreError::Rejected(DomainError::FailedPrecondition { message, .. })) => {
                match self.plan(reads, id).await {
                    Err(result) => result,
                    Ok(_) => TeacherResult::Failed(message),
                }
            }
            Err(e) => TeacherResult::Failed(Status::from(e).message().to_string()),
        }
    }

    /// What the transition would do to the teacher as stored now, by the domain's own rules:
    /// the plan, or the teacher's result if there is nothing to do. The whole rule (the
    /// going-back check too) runs on a copy, so a dry run answers what a real run would.
    async fn plan(
        &self,
        reads: &ReadPool,
        id: &TeacherId,
    ) -> Result<TransitionPlan, TeacherResult> {
        let read_id = id.clone();
        let found = reads.read(move |store| store.get_teacher_or_survivor(&read_id));
        let teacher = match found.await {
            Ok(Some(teacher)) if teacher.id == *id => teacher,
            // A retired number, answered as the write path answers it (see
            // `store::identity::retired`): the survivor only to a caller who may see it.
            Ok(Some(survivor)) if self.context.in_scope(&survivor.fields.county_code) => {
                return Err(TeacherResult::Merged(survivor.id))
            }
            Ok(_) => return Err(TeacherResult::Skipped(SkipReason::NotFound)),
            Err(status) => return Err(TeacherResult::Failed(status.message().to_string())),
        };
        if let Err(reason) = teacher.plan_transition() {
            return Err(TeacherResult::Skipped(reason));
        }
        let mut trial = teacher;
        trial
            .apply_transition(
                self.effective_date,
                &self.approval_document,
                &self.context.principal,
                UnixMicros(0),
            )
            .map_err(|e| TeacherResult::Failed(e.to_string()))
    }
}
