//! The reform transition of many teachers as one run (TransitionTitles), below the API.
//!
//! A run selects its teachers (those named, or a county's legacy-titled ones), then plans
//! and, unless dry, applies each by the domain's own rule through the single write path,
//! many at once but answered in the order selected, and counts what happened. The API only
//! parses the request into a [`Transition`] and spells each [`TransitionEvent`] as a
//! message. The console (in process) and the CLI (over the network) run it through that
//! one RPC.
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::domain::fixtures::numbered_input;
    use crate::domain::{Choice, LegacyTitle};
    use crate::store::fixtures::close;
    use crate::store::{IdentityCommand, StoreOptions};

    /// Reads made on the test's own thread: the run needs no server to be checked.
    #[derive(Clone)]
    struct Direct(Store);

    impl Reads for Direct {
        type Error = StoreError;

        fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>> + Send
        where
            T: Send + 'static,
            F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
        {
            let store = self.0.clone();
            async move { read(&store) }
        }

        fn write_failed(error: StoreError) -> StoreError {
            error
        }
    }

    type Event = TransitionEvent<StoreError>;

    async fn create(store: &Store, n: u32, legacy: Option<LegacyTitle>) -> TeacherId {
        let mut input = numbered_input(n);
        input.legacy_title = legacy.map_or(Choice::Unset, Choice::Known);
        let validated = input.validate(crate::clock::today()).unwrap();
        let context = WriteContext::new("test", None);
        store
            .create_teacher(validated, context)
            .await
            .unwrap()
            .teacher
            .id
    }

    async fn run(store: &Store, selection: Selection, dry_run: bool) -> Vec<Event> {
        let transition = Transition {
            selection,
            effective_date: crate::clock::today(),
            approval_document: "闽人社〔2026〕1号".into(),
            dry_run,
            context: WriteContext::new("test", None),
        };
        let (sender, mut receiver) = mpsc::channel(16);
        let reads = Direct(store.clone());
        tokio::spawn(transition.run(store.clone(), reads, sender, |event: Event| event));
        let mut events = Vec::new();
        while let Some(event) = receiver.recv().await {
            events.push(event.unwrap());
        }
        events
    }

    /// Each teacher's outcome as a word, in the order told, and the summary that closes it.
    fn outcomes(events: Vec<Event>) -> (Vec<String>, TransitionSummary) {
        let mut words = Vec::new();
        for event in events {
            match event {
                TransitionEvent::Teacher(_, outcome) => words.push(match outcome {
                    TeacherOutcome::Transitioned(_) => "transitioned".to_string(),
                    TeacherOutcome::WouldTransition(_) => "would".to_string(),
                    TeacherOutcome::Skipped(reason) => format!("{reason:?}"),
                    TeacherOutcome::Merged(_) => "merged".to_string(),
                    TeacherOutcome::Failed(failure) => format!("failed {failure:?}"),
                }),
                TransitionEvent::Summary(summary) => return (words, summary),
            }
        }
        panic!("no summary after {words:?}");
    }

    #[tokio::test]
    async fn a_run_answers_each_teacher_in_order_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let legacy = Some(LegacyTitle::PrimaryFirst);
        let first = create(&store, 0, legacy).await;
        let second = create(&store, 1, legacy).await;
        let untitled = create(&store, 2, None).await;
        let merged = create(&store, 3, legacy).await;
        let merge = IdentityCommand::Merge {
            survivor: (untitled.clone(), None),
            merged: (merged.clone(), None),
            reason: "同一人".into(),
        };
        let context = WriteContext::new("test", None);
        store.identity_command(merge, context).await.unwrap();
        let nobody = TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(7));
        let named = Selection::Teachers(vec![first, untitled, merged, nobody, second]);

        let (dry, summary) = outcomes(run(&store, named.clone(), true).await);
        assert_eq!(
            dry,
            ["would", "NoLegacyTitle", "merged", "NotFound", "would"]
        );
        let skipped = [
            (SkipReason::NoLegacyTitle, 1),
            (SkipReason::NotFound, 1),
            (SkipReason::Merged, 1),
        ];
        let expected = TransitionSummary {
            dry_run: true,
            selected: 5,
            would_transition: 2,
            skipped: 3,
            skipped_by_reason: skipped.into_iter().collect(),
            ..TransitionSummary::default()
        };
        assert_eq!(summary, expected);

        let (real, summary) = outcomes(run(&store, named.clone(), false).await);
        assert_eq!(
            real,
            [
                "transitioned",
                "NoLegacyTitle",
                "merged",
                "NotFound",
                "transitioned"
            ]
        );
        assert_eq!((summary.transitioned, summary.skipped), (2, 3));

        let county = Selection::County(CountyCode::parse("350702").unwrap());
        let (again, summary) = outcomes(run(&store, county, false).await);
        assert_eq!(again, ["AlreadyTransitioned", "AlreadyTransitioned"]);
        assert_eq!((summary.selected, summary.transitioned), (2, 0));
        close(store).await;
    }
}
