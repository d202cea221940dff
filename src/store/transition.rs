//! The reform transition of many teachers as one run (TransitionTitles), below the API.
//!
//! A run selects its teachers (those named, or a county's legacy-titled ones), then plans
//! and, unless dry, applies each by the domain's own rule through the single write path,
//! many at once but answered in the order selected, and counts what happened. The API only
//! parses the request into a [`Transition`] and spells each [`TransitionEvent`] as a
//! message; the console and the CLI reach the run through that one RPC.
//!
//! Every read goes through the caller's [`Reads`]: the server runs store reads on a bounded
//! blocking pool (`api::reads`), and a county's scan reads a page at a time, so the run's
//! own task never holds a runtime worker while sled waits.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::NaiveDate;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::domain::{
    CountyCode, DomainError, SkipReason, Teacher, TeacherId, TransitionPlan, UnixMicros,
};
use crate::store::mutation::{Target, TeacherChange, WriteContext};
use crate::store::page::ListQuery;
use crate::store::{Store, StoreError};

/// Teachers transitioned concurrently by one run: enough to fill the writer's groups.
const IN_FLIGHT: usize = 512;
/// Teachers read at a time while selecting a county's.
const SELECT_PAGE: usize = 1000;

/// How a run reads the store: off the async workers, a bounded number at a time. `Error`
/// is the caller's own, so a run's failures reach it as the caller's other reads and
/// writes fail.
pub trait Reads: Clone + Send + Sync + 'static {
    type Error: Send + 'static;

    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, Self::Error>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static;

    /// The caller's error for a failed write, made where the failure is met (so a fault is
    /// logged then, whether or not its teacher's event is ever sent).
    fn write_failed(error: StoreError) -> Self::Error;
}

/// Which teachers a run considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These, in this order, each once.
    Teachers(Vec<TeacherId>),
    /// Every teacher of the county who holds a legacy title.
    County(CountyCode),
}

/// A validated transition request.
#[derive(Debug, Clone)]
pub struct Transition {
    pub selection: Selection,
    pub effective_date: NaiveDate,
    pub approval_document: String,
    /// Plans every teacher and changes nothing.
    pub dry_run: bool,
    /// Whose run it is, for each teacher's change event and the survivors they may see.
    pub context: WriteContext,
}

/// What the run did with one teacher.
#[derive(Debug)]
pub enum TeacherOutcome<E> {
    Transitioned(TransitionPlan),
    WouldTransition(TransitionPlan),
    Skipped(SkipReason),
    /// The number was retired by a merge into this record, which the caller may see.
    Merged(TeacherId),
    Failed(TransitionFailure<E>),
}

/// Why one teacher's transition failed.
#[derive(Debug)]
pub enum TransitionFailure<E> {
    /// Reading the teacher failed.
    Read(E),
    /// The domain's rule refuses the transition of the teacher as stored now.
    Refused(DomainError),
    /// The write path failed.
    Write(E),
}

/// One step of a run, in the order it is told.
#[derive(Debug)]
pub enum TransitionEvent<E> {
    Teacher(TeacherId, TeacherOutcome<E>),
    /// The last event of a run that was not stopped.
    Summary(TransitionSummary),
}

/// The totals of a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransitionSummary {
    pub dry_run: bool,
    pub selected: u64,
    pub transitioned: u64,
    pub would_transition: u64,
    /// Merged numbers count here too, under [`SkipReason::Merged`].
    pub skipped: u64,
    pub failed: u64,
    /// In the order of [`SkipReason`]'s variants.
    pub skipped_by_reason: BTreeMap<SkipReason, u64>,
}

impl TransitionSummary {
    fn count<E>(&mut self, outcome: &TeacherOutcome<E>) {
        let mut skip = |reason| {
            self.skipped += 1;
            *self.skipped_by_reason.entry(reason).or_default() += 1;
        };
        match outcome {
            TeacherOutcome::Transitioned(_) => self.transitioned += 1,
            TeacherOutcome::WouldTransition(_) => self.would_transition += 1,
            TeacherOutcome::Skipped(reason) => skip(*reason),
            TeacherOutcome::Merged(_) => skip(SkipReason::Merged),
            TeacherOutcome::Failed(_) => self.failed += 1,
        }
    }
}

impl Transition {
    /// Runs the transition, sending each teacher's event (spelt by `message`) as it comes
    /// in the order selected, then the summary; a failed selection is sent as the error
    /// alone. A receiver that goes away stops the run: every teacher already sent to the
    /// writer is applied whole, the rest untouched, and a new run finishes them.
    pub async fn run<R, M>(
        self,
        store: Store,
        reads: R,
        sender: mpsc::Sender<Result<M, R::Error>>,
        message: impl Fn(TransitionEvent<R::Error>) -> M,
    ) where
        R: Reads,
    {
        let selection = match self.select(&reads).await {
            Ok(selection) => selection,
            Err(error) => {
                let _ = sender.send(Err(error)).await;
                return;
            }
        };
        let mut summary = TransitionSummary {
            dry_run: self.dry_run,
            selected: selection.len() as u64,
            ..TransitionSummary::default()
        };
        let run = &self;
        let mut results = futures::stream::iter(selection)
            .map(|id| {
                let (store, reads) = (store.clone(), reads.clone());
                async move {
                    let outcome = run.transition_one(&store, &reads, &id).await;
                    (id, outcome)
                }
            })
            .buffered(IN_FLIGHT);
        while let Some((id, outcome)) = results.next().await {
            summary.count(&outcome);
            let event = TransitionEvent::Teacher(id, outcome);
            if sender.send(Ok(message(event))).await.is_err() {
                tracing::info!(
                    transitioned = summary.transitioned,
                    "transition client went away; the run stops"
                );
                return;
            }
        }
        tracing::info!(
            dry_run = summary.dry_run,
            selected = summary.selected,
            transitioned = summary.transitioned,
            skipped = summary.skipped,
            failed = summary.failed,
            "title transition finished"
        );
        let _ = sender
            .send(Ok(message(TransitionEvent::Summary(summary))))
            .await;
    }

    /// The teachers to consider: those named, or every teacher of the county who holds a
    /// legacy title (read from the county index, a page per read).
    async fn select<R: Reads>(&self, reads: &R) -> Result<Vec<TeacherId>, R::Error> {
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

    async fn transition_one<R: Reads>(
        &self,
        store: &Store,
        reads: &R,
        id: &TeacherId,
    ) -> TeacherOutcome<R::Error> {
        let plan = match self.plan(reads, id).await {
            Ok(plan) => plan,
            Err(outcome) => return outcome,
        };
        if self.dry_run {
            return TeacherOutcome::WouldTransition(plan);
        }
        let change = TeacherChange::ReformTransition {
            effective_date: self.effective_date,
            approval_document: self.approval_document.clone(),
        };
        let target = Target::Teacher(id.clone());
        match store
            .change_teacher(target, None, change, self.context.clone())
            .await
        {
            Ok(_) => TeacherOutcome::Transitioned(plan),
            // The record changed between the read and the write: judged again as it is now.
            Err(StoreError::Rejected(refusal @ DomainError::FailedPrecondition { .. })) => {
                match self.plan(reads, id).await {
                    Err(outcome) => outcome,
                    Ok(_) => TeacherOutcome::Failed(TransitionFailure::Refused(refusal)),
                }
            }
            Err(e) => TeacherOutcome::Failed(TransitionFailure::Write(R::write_failed(e))),
        }
    }

    /// What the transition would do to the teacher as stored now, by the domain's own rules:
    /// the plan, or the teacher's outcome if there is nothing to do. The whole rule (the
    /// going-back check too) runs on a copy, so a dry run answers what a real run would.
    async fn plan<R: Reads>(
        &self,
        reads: &R,
        id: &TeacherId,
    ) -> Result<TransitionPlan, TeacherOutcome<R::Error>> {
        let read_id = id.clone();
        let found = reads.read(move |store| store.get_teacher_or_survivor(&read_id));
        let teacher: Teacher = match found.await {
            Ok(Some(teacher)) if teacher.id == *id => teacher,
            // A retired number, answered as the write path answers it (see
            // `store::identity::retired`): the survivor only to a caller who may see it.
            Ok(Some(survivor)) if self.context.in_scope(&survivor.fields.county_code) => {
                return Err(TeacherOutcome::Merged(survivor.id))
            }
            Ok(_) => return Err(TeacherOutcome::Skipped(SkipReason::NotFound)),
            Err(error) => return Err(TeacherOutcome::Failed(TransitionFailure::Read(error))),
        };
        if let Err(reason) = teacher.plan_transition() {
            return Err(TeacherOutcome::Skipped(reason));
        }
        let mut trial = teacher;
        trial
            .apply_transition(
                self.effective_date,
                &self.approval_document,
                &self.context.principal,
                UnixMicros(0),
            )
            .map_err(|e| TeacherOutcome::Failed(TransitionFailure::Refused(e)))
    }
}
