//! Storage: the registry's keys, values and single write path, over a key-value engine.
//!
//! Everything lives in one ordered key space under key-space prefixes (see [`keys`]),
//! values are versioned postcard (see [`codec`]), every mutation goes through the single
//! writer with group commit (see [`writer`]), and reads go to the engine directly from any
//! thread. Only the few operations of [`engine::Engine`] reach the engine: sled, and what
//! only it needs (reopening after a fault, the disk reserve, compaction), in
//! [`sled_engine`]; PostgreSQL, which several servers may share, in [`postgres_engine`];
//! [`Backend`] is the one of the two a store runs on. Callers speak in domain terms only.

mod audit;
mod backend;
mod backup;
mod backup_records;
mod cases;
mod changes;
mod codec;
mod engine;
mod error;
mod evaluation;
mod format;
mod history;
mod identity;
mod keys;
mod migrate;
mod mutation;
mod options;
mod page;
mod postgres_engine;
mod request_quota;
mod requests;
mod search;
mod sled_engine;
mod statistics;
mod transfers;
mod upgrade;
mod verify;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rand::RngCore;
use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::case::{CaseId, WindowRules};
use crate::domain::{
    CountyCode, DomainError, IdentityDocument, ImportMode, ImportRow, Teacher, TeacherId, Validated,
};
use engine::Engine;
use mutation::Mutation;
use writer::Command;

pub use audit::{AuditCursor, AuditPage, AuditQuery};
pub use backend::Location;
pub use backup::{Changed, EvaluationKind, EvaluationRecords, RestorePart, Snapshot};
pub use backup_records::RecordGroup;
pub use cases::{
    CaseAnswer, CaseCommand, CasePage, CaseQuery, CaseReport, CaseStepRequest, CaseView,
    ConsultationRow, DecisionEffect, NewConsultation, ReportQuery, ReportRow,
};
pub use changes::{ChangeEntry, ChangePage, Retention};
pub use error::{StorageFault, StoreError};
pub use evaluation::{
    ApplicationPage, ApplicationStepRequest, DryRunRow, EvaluationAnswer, EvaluationCommand,
    FiguresRow,
};
pub use format::v1::{
    change_event_from_json as release_0_1_change_event, teacher_from_json as release_0_1_teacher,
};
pub use history::{revision_of_entry, PinnedTeacher, RevisionPage, TeacherRevision};
pub use identity::backup::{IdentityKind, IdentityRecords};
pub use identity::duplicates::{Candidate, PassFigures};
pub use identity::{IdentityAnswer, IdentityCommand};
pub use migrate::{ensure_empty, migrate, verify_at, MigrateError, Migrated};
pub use mutation::{Effect, Outcome, Target, TeacherChange, WriteContext};
pub use options::{
    StoreOptions, DEFAULT_AUDIT_RETENTION, DEFAULT_CACHE_MB, DEFAULT_REQUEST_IDS_PER_PRINCIPAL,
    DEFAULT_REQUEST_ID_RETENTION,
};
pub use page::{ListQuery, Page};
#[doc(hidden)]
pub use postgres_engine::cluster::ThrowawayCluster;
#[doc(hidden)]
pub use postgres_engine::replicated::ReplicatedCluster;
pub use search::{NameMatch, NameQuery};
pub use sled_engine::compact::{compact, Compacted};
pub use statistics::{CountyStatistics, Statistics};
pub use transfers::CountyTransfers;
pub use verify::VerifyReport;
pub use writer::{WriteStatsSnapshot, CHUNK_KEYS};

pub(crate) use backend::Backend;

/// What a page token of the duplicate candidates is bound to: the county listed.
fn candidates_digest(county: Option<&CountyCode>) -> [u8; 16] {
    use sha2::Digest;
    let text = format!(
        "duplicate-candidates {}",
        county.map_or("", CountyCode::as_str)
    );
    sha2::Sha256::digest(text.as_bytes())[..16]
        .try_into()
        .expect("16 of 32 bytes")
}

/// A handle to the registry's storage. Cheap to clone: clones share one database and one
/// writer. The writer stops, after a final flush, when the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where reads go: the writer's engine, or a standby of it.
    engine: Arc<Backend>,
    /// Follows the standby's revision, when reads go to one: held for its thread, which
    /// stops when it is dropped.
    _standby_poll: Option<writer::Poller>,
    sender: Option<mpsc::Sender<Command>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    committed: watch::Receiver<u64>,
    stats: Arc<writer::WriteStats>,
    page_secret: Vec<u8>,
    request_id_retention: std::time::Duration,
    audit_retention: std::time::Duration,
    window_rules: Arc<WindowRules>,
}

impl Store {
    /// Opens (or creates) the registry in `path`.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        Store::open_at(&Location::Directory(path.to_path_buf()), options)
    }

    /// Opens (or creates) the registry at `location`: a data directory, or a PostgreSQL
    /// database that other servers may share.
    pub fn open_at(location: &Location, options: &StoreOptions) -> Result<Store, StoreError> {
        let (engine, standby) = Backend::open_with_reads(location, options)?;
        let engine = Arc::new(engine);
        // Servers that share an engine and open at once on a new registry: one makes the
        // secret, and the others read it (the writers' lock is let go at the flush).
        engine.begin_group()?;
        let page_secret = page_secret(&*engine);
        engine.flush()?;
        let page_secret = page_secret?;
        upgrade::fill_county_copies(&*engine)?;
        upgrade::index_request_expiry(&*engine, crate::clock::now())?;
        request_quota::fill_counts(&*engine, options.request_id_retention)?;
        upgrade::fill_name_index(&*engine)?;
        upgrade::fill_block_index(&*engine)?;
        cases::fill_report_cells(&*engine)?;
        cases::fill_due_index(&*engine, &options.window_rules)?;
        let stats = Arc::new(writer::WriteStats::default());
        let (sender, written, handle) = writer::spawn(
            engine.clone(),
            stats.clone(),
            writer::RequestIdLimits {
                retention: options.request_id_retention,
                per_principal: options.request_ids_per_principal,
            },
            options.window_rules.clone(),
        )?;
        // Reads and feeds follow the standby when there is one: its revision, not the
        // primary's, says what a read there can see.
        let (reads, committed, standby_poll) = match standby {
            None => (engine, written, None),
            Some(standby) => {
                let standby = Arc::new(standby);
                let (committed, poller) = writer::follow(standby.clone())?;
                (standby, committed, Some(poller))
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                engine: reads,
                _standby_poll: standby_poll,
                sender: Some(sender),
                writer: Mutex::new(Some(handle)),
                committed,
                stats,
                page_secret,
                request_id_retention: options.request_id_retention,
                audit_retention: options.audit_retention,
                window_rules: options.window_rules.clone(),
            }),
        })
    }

    /// The teacher with this registry number.
    pub fn get_teacher(&self, id: &TeacherId) -> Result<Option<Teacher>, StoreError> {
        self.read_record(id)
    }

    /// The teacher with this registry number or, for a number a merge retired, the record
    /// it was merged into (following later merges of that one in turn).
    pub fn get_teacher_or_survivor(&self, id: &TeacherId) -> Result<Option<Teacher>, StoreError> {
        match self.read_record(id)? {
            Some(teacher) => Ok(Some(teacher)),
            None => changes::survivor_of(self.engine(), id),
        }
    }

    /// The teacher holding this identity document.
    pub fn find_by_identity(&self, doc: &IdentityDocument) -> Result<Option<Teacher>, StoreError> {
        self.follow_index(&keys::identity(doc))
    }

    /// The teacher holding this certificate number.
    pub fn find_by_certificate(&self, number: &str) -> Result<Option<Teacher>, StoreError> {
        self.follow_index(&keys::certificate(number))
    }

    /// One page of teachers matching `query`, after `page_token` (empty for the first).
    pub fn list_teachers(
        &self,
        query: &ListQuery,
        page_size: usize,
        page_token: &str,
    ) -> Result<Page, StoreError> {
        page::list(
            self.engine(),
            *self.inner.committed.borrow(),
            &self.inner.page_secret,
            query,
            page_size,
            page_token,
        )
    }

    /// One page of the teachers a name search finds, after `page_token` (empty for the
    /// first); see [`search`] for the order.
    pub fn search_teachers(
        &self,
        query: &NameQuery,
        page_size: usize,
        page_token: &str,
    ) -> Result<Page, StoreError> {
        search::search(
            self.engine(),
            *self.inner.committed.borrow(),
            &self.inner.page_secret,
            query,
            page_size,
            page_token,
        )
    }

    /// Teacher counts by county and tier, and untransitioned legacy titles, for the whole
    /// registry or one county; read from counters, so it costs the same for any size.
    pub fn statistics(&self, county: Option<&CountyCode>) -> Result<Statistics, StoreError> {
        statistics::read(self.engine(), *self.inner.committed.borrow(), county)
    }

    /// Changes after revision `after`, oldest first, at most `limit`, all or one county's
    /// (a county sees the changes of teachers who are or were in it), optionally only those
    /// made by one principal. ResyncRequired when `after` is older than the retained log.
    pub fn list_changes(
        &self,
        after: u64,
        limit: usize,
        county: Option<&CountyCode>,
        principal: Option<&str>,
    ) -> Result<ChangePage, StoreError> {
        let current = *self.inner.committed.borrow();
        let mut page = changes::list(self.engine(), current, after, limit, county, principal)?;
        let today = crate::clock::today();
        for view in page.changes.iter_mut().filter_map(|c| c.case.as_mut()) {
            view.clock = view.case.clock(&self.inner.window_rules, today);
        }
        Ok(page)
    }

    /// The calendar and limits cases are timed by.
    pub fn window_rules(&self) -> &WindowRules {
        &self.inner.window_rules
    }

    /// Opens a case or takes a step of one. NOT_FOUND, ABORTED on a stale etag,
    /// INVALID_ARGUMENT, FAILED_PRECONDITION naming the rule the case's state breaks, and
    /// for a decision whatever its effect on the teacher's record is refused for. Returns
    /// once the step (and its effect) is on disk.
    pub async fn case_command(
        &self,
        command: CaseCommand,
        context: WriteContext,
    ) -> Result<CaseAnswer, StoreError> {
        self.ask(|reply| Command::Case {
            command,
            context,
            reply,
        })
        .await
    }

    /// Opens an evaluation round, records an ethics finding, makes an application or
    /// takes a step of one (see `store::evaluation`). NOT_FOUND, ABORTED on a stale etag,
    /// INVALID_ARGUMENT, FAILED_PRECONDITION naming the rule (an eligibility rule, the
    /// application's state); returns once the write (and a confirmation's promotion) is
    /// on disk.
    pub async fn evaluation_command(
        &self,
        command: EvaluationCommand,
        context: WriteContext,
    ) -> Result<EvaluationAnswer, StoreError> {
        self.ask(|reply| Command::Evaluate {
            command,
            context,
            reply,
        })
        .await
    }

    /// Proposes or reviews an identity correction (see `store::identity`). NOT_FOUND,
    /// ABORTED on a stale etag, ALREADY_EXISTS when the new document finds another
    /// person, FAILED_PRECONDITION naming the rule; returns once the step is on disk.
    pub async fn identity_command(
        &self,
        command: IdentityCommand,
        context: WriteContext,
    ) -> Result<IdentityAnswer, StoreError> {
        self.ask(|reply| Command::Identity {
            command,
            context,
            reply,
        })
        .await
    }

    /// One page of duplicate candidates not dismissed, of pairs with a record in `county`
    /// if given, after `page_token` (empty for the first); and the next page's token.
    pub fn list_candidates(
        &self,
        county: Option<&CountyCode>,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<Candidate>, String), StoreError> {
        let digest = candidates_digest(county);
        let after = match page_token {
            "" => None,
            token => {
                let after = page::open_token(&self.inner.page_secret, digest, token)?;
                if after.first() != Some(&identity::keys::PAIR) {
                    return Err(DomainError::invalid(
                        "page_token",
                        "does not belong to this listing",
                    )
                    .into());
                }
                Some(after)
            }
        };
        let (candidates, next) =
            identity::duplicates::list(self.engine(), county, page_size, after)?;
        let token = next.map_or_else(String::new, |after| {
            page::seal_token(&self.inner.page_secret, digest, after)
        });
        Ok((candidates, token))
    }

    /// The full pass over the registry's duplicate blocks: every pair not stored yet is
    /// stored, through the writer, in batches; see `store::identity::duplicates`.
    pub async fn find_duplicates(&self) -> Result<PassFigures, StoreError> {
        let store = self.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            identity::duplicates::full_pass(store.engine(), 1_000, |pairs| {
                let context = WriteContext::batch("duplicate-pass", None);
                handle
                    .block_on(
                        store.identity_command(IdentityCommand::RecordCandidates(pairs), context),
                    )
                    .map(drop)
            })
        })
        .await
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("the duplicate pass stopped: {e}"),
        })?
    }

    /// The identity correction with this number.
    pub fn get_correction(
        &self,
        id: &CaseId,
    ) -> Result<Option<crate::domain::IdentityCorrection>, StoreError> {
        identity::get_correction(self.engine(), id)
    }

    /// The evaluation round with this number.
    pub fn get_round(
        &self,
        id: &CaseId,
    ) -> Result<Option<crate::domain::case::evaluation::EvaluationRound>, StoreError> {
        evaluation::get_round(self.engine(), id)
    }

    /// The title application with this number.
    pub fn get_application(
        &self,
        id: &CaseId,
    ) -> Result<Option<crate::domain::case::evaluation::Application>, StoreError> {
        evaluation::get_application(self.engine(), id)
    }

    /// A round's applications in number order, of one county or all.
    pub fn round_applications(
        &self,
        round: &CaseId,
        county: Option<&CountyCode>,
    ) -> Result<Vec<crate::domain::case::evaluation::Application>, StoreError> {
        evaluation::applications(self.engine(), round, county)
    }

    /// A page of a round's applications in number order, of one county or all, after
    /// `page_token` (empty for the first).
    pub fn round_applications_page(
        &self,
        round: &CaseId,
        county: Option<&CountyCode>,
        page_size: usize,
        page_token: &str,
    ) -> Result<ApplicationPage, StoreError> {
        evaluation::applications_page(
            self.engine(),
            &self.inner.page_secret,
            round,
            county,
            page_size,
            page_token,
        )
    }

    /// A round's figures by county and tier, from the cells the write path keeps.
    pub fn round_figures(
        &self,
        round: &CaseId,
        county: Option<&CountyCode>,
    ) -> Result<Vec<FiguresRow>, StoreError> {
        evaluation::round_figures(self.engine(), round, county)
    }

    /// The ethics findings about a teacher, oldest first.
    pub fn ethics_findings(
        &self,
        teacher: &TeacherId,
    ) -> Result<Vec<crate::domain::ethics::EthicsFinding>, StoreError> {
        Ok(evaluation::findings(self.engine(), teacher)?.0)
    }

    /// Every teacher of a county (or school) checked against a round's rules on `on`.
    pub fn eligibility_dry_run(
        &self,
        round: &CaseId,
        county: &CountyCode,
        school: Option<&str>,
        on: chrono::NaiveDate,
    ) -> Result<Vec<DryRunRow>, StoreError> {
        evaluation::dry_run(self.engine(), round, county, school, on)
    }

    /// Records a consultation answered at the window: one write with its change event.
    /// INVALID_ARGUMENT for a date in the future, PERMISSION_DENIED outside the caller's
    /// county.
    pub async fn record_consultation(
        &self,
        consultation: NewConsultation,
        context: WriteContext,
    ) -> Result<crate::domain::case::Consultation, StoreError> {
        self.ask(|reply| Command::Consult {
            consultation,
            context,
            reply,
        })
        .await
    }

    /// The report `query` asks for, with "open past the limit" as of today. Reads the
    /// year's cells and the open cases only (see `store::cases::report`).
    pub fn case_report(&self, query: &ReportQuery) -> Result<CaseReport, StoreError> {
        cases::report(
            &*self.inner.engine,
            &self.inner.window_rules,
            crate::clock::today(),
            query,
        )
    }

    /// The case with this number, with its clock as of today.
    pub fn get_case(&self, id: &CaseId) -> Result<Option<CaseView>, StoreError> {
        let today = crate::clock::today();
        Ok(cases::get(self.engine(), id)?.map(|case| CaseView {
            clock: case.clock(&self.inner.window_rules, today),
            case,
        }))
    }

    /// One page of the cases `query` selects, by due date (see [`CaseQuery`]).
    pub fn list_cases(
        &self,
        query: &CaseQuery,
        page_size: usize,
        page_token: &str,
    ) -> Result<CasePage, StoreError> {
        cases::check_period(query)?;
        cases::list(
            self.engine(),
            &self.inner.page_secret,
            &self.inner.window_rules,
            crate::clock::today(),
            query,
            page_size,
            page_token,
        )
    }

    /// Follows the revision of the last change on disk; changes whenever a group commits.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.committed.clone()
    }

    /// Trims the change log down to what `retention` keeps, through the writer, in steps
    /// that never hold writers up for long. Returns the oldest revision kept.
    pub async fn trim_change_log(&self, retention: &Retention) -> Result<u64, StoreError> {
        let keep_from = changes::retention_cutoff(self.engine(), retention)?;
        loop {
            let oldest = self
                .ask(|reply| Command::TrimChanges { keep_from, reply })
                .await?;
            if oldest >= keep_from || oldest >= self.revision()? {
                return Ok(oldest);
            }
        }
    }

    /// Forgets the request ids made longer ago than the retention window (see [`requests`]), through
    /// the writer, in steps that never hold writers up for long. Answers how many it forgot.
    pub async fn trim_request_ids(&self) -> Result<u64, StoreError> {
        let before = requests::kept_since(crate::clock::now(), self.inner.request_id_retention);
        let mut forgotten = 0;
        loop {
            let removed = self
                .ask(|reply| Command::TrimRequests { before, reply })
                .await?;
            forgotten += removed;
            if removed < writer::MAX_TRIM {
                return Ok(forgotten);
            }
        }
    }

    /// Stores read-audit entries (see [`audit`]); answers once they are on disk.
    pub async fn audit(
        &self,
        entries: Vec<crate::domain::audit::AuditEntry>,
    ) -> Result<(), StoreError> {
        self.ask(|reply| Command::Audit { entries, reply }).await
    }

    /// Forgets the audit entries older than the audit retention, through the writer, in
    /// bounded steps. Answers how many it forgot.
    pub async fn trim_audit(&self) -> Result<u64, StoreError> {
        let before = requests::kept_since(crate::clock::now(), self.inner.audit_retention);
        let mut forgotten = 0;
        loop {
            let removed = self
                .ask(|reply| Command::TrimAudit { before, reply })
                .await?;
            forgotten += removed;
            if removed < writer::MAX_TRIM {
                return Ok(forgotten);
            }
        }
    }

    /// A page of the read audit, oldest first.
    pub fn list_audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        audit::list(self.engine(), query)
    }

    /// The oldest revision still in the change log.
    pub fn oldest_revision(&self) -> Result<u64, StoreError> {
        changes::oldest_revision(self.engine())
    }

    /// The revision of the last committed change.
    pub fn revision(&self) -> Result<u64, StoreError> {
        changes::read_revision(self.engine())
    }

    /// Creates a teacher from validated fields; ALREADY_EXISTS if the identity document
    /// is taken. Returns once the record is on disk.
    pub async fn create_teacher(
        &self,
        validated: Validated,
        context: WriteContext,
    ) -> Result<Outcome, StoreError> {
        let mutation = Mutation::CreateTeacher {
            fields: validated.fields,
            warnings: validated.warnings,
        };
        self.submit(mutation, context).await
    }

    /// Changes an existing teacher: its fields (re-validated) or its certificates.
    /// NOT_FOUND, ABORTED on a stale etag, INVALID_ARGUMENT, ALREADY_EXISTS for a taken
    /// identity document or certificate number, FAILED_PRECONDITION when the record's
    /// state forbids the change. A change that changes nothing writes nothing.
    pub async fn change_teacher(
        &self,
        target: Target,
        expected_etag: Option<String>,
        change: TeacherChange,
        context: WriteContext,
    ) -> Result<Outcome, StoreError> {
        let mutation = Mutation::ChangeTeacher {
            target,
            expected_etag,
            change,
        };
        self.submit(mutation, context).await
    }

    /// Queues one bulk-import row for the writer, which creates the teacher, or under
    /// `Upsert` updates the one holding the row's identity document (UNCHANGED when nothing
    /// differs); ALREADY_EXISTS under `CreateOnly`, or for a certificate number another
    /// teacher holds. Returns once the row is queued (waiting while the queue is full):
    /// rows queued one after another are applied in that order, so a stream's rows are
    /// applied in its order while many wait for the disk at once.
    pub async fn queue_import_row(
        &self,
        row: ImportRow,
        mode: ImportMode,
        context: WriteContext,
    ) -> Result<Queued, StoreError> {
        let answer = self
            .enqueue(|reply| Command::Mutate {
                mutation: Mutation::Import { row, mode },
                context,
                reply,
            })
            .await?;
        Ok(Queued(answer))
    }

    /// The revision of the last change on disk, as the change feed reports it.
    pub fn committed_revision(&self) -> u64 {
        *self.inner.committed.borrow()
    }

    /// Up to `limit` teachers in registry-number order after `after`, for a backup scan;
    /// each is committed, but they may be of different moments (see [`Snapshot`]).
    pub fn teachers_after(
        &self,
        after: Option<&TeacherId>,
        limit: usize,
    ) -> Result<Vec<Teacher>, StoreError> {
        backup::teachers_after(self.engine(), after, limit)
    }

    /// Up to `limit` cases in case-number order, after `after` (for backups).
    pub fn cases_after(
        &self,
        after: Option<&CaseId>,
        limit: usize,
    ) -> Result<Vec<crate::domain::case::Case>, StoreError> {
        backup::cases_after(self.engine(), after, limit)
    }

    /// The current records of the teachers and cases changed in (`after`, `until`].
    pub fn changed_records(&self, after: u64, until: u64) -> Result<Changed, StoreError> {
        backup::changed_records(self.engine(), after, until)
    }

    /// The teachers changed after `after`, read by the writer between two groups, and the
    /// revision they are exactly as at.
    pub async fn snapshot(&self, after: u64) -> Result<Snapshot, StoreError> {
        self.ask(|reply| Command::Snapshot { after, reply }).await
    }

    /// Change-log events in (`after`, `until`], at most `limit`, oldest first.
    pub fn change_events(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::ChangeEvent>, StoreError> {
        backup::change_events(self.engine(), after, until, limit)
    }

    /// Applies one step of a restore from backup, atomically, through the writer.
    pub async fn restore(&self, part: RestorePart) -> Result<(), StoreError> {
        self.ask(|reply| Command::Restore { part, reply }).await
    }

    /// Checks every invariant of the stored data (see [`VerifyReport`]); reads only.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify::verify(self.engine())
    }

    /// Counters of the write path since the store was opened.
    pub fn write_stats(&self) -> WriteStatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The database's size on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.engine().size_on_disk()
    }

    fn engine(&self) -> &Backend {
        &self.inner.engine
    }

    async fn submit(
        &self,
        mutation: Mutation,
        context: WriteContext,
    ) -> Result<Outcome, StoreError> {
        self.ask(|reply| Command::Mutate {
            mutation,
            context,
            reply,
        })
        .await
    }

    /// Sends the writer a command and waits for its answer; Closed once it has stopped.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> Result<T, StoreError> {
        let answer = self.enqueue(command).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues a command for the writer (waiting while the queue is full); its answer comes
    /// on the receiver. Closed once the writer has stopped.
    async fn enqueue<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> Result<oneshot::Receiver<Result<T, StoreError>>, StoreError> {
        let sender = self.inner.sender.as_ref().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(command(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        Ok(answer)
    }

    fn read_record(&self, id: &TeacherId) -> Result<Option<Teacher>, StoreError> {
        let key = keys::record(id);
        match self.engine().get(&key)? {
            Some(bytes) => Ok(Some(codec::decode(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    fn follow_index(&self, key: &[u8]) -> Result<Option<Teacher>, StoreError> {
        match self.engine().get(key)? {
            Some(bytes) => {
                let id: TeacherId = codec::decode(key, &bytes)?;
                self.read_record(&id)
            }
            None => Ok(None),
        }
    }
}

impl Drop for Inner {
    /// Closes the queue, lets the writer commit what it has, and waits for its final flush,
    /// so a store opened again on the same directory finds everything acknowledged.
    fn drop(&mut self) {
        self.sender.take();
        let handle = self.writer.get_mut().ok().and_then(Option::take);
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("the registry writer thread panicked");
            }
        }
        // An engine may make its next open quick at a cost now (sled: seconds of replay
        // after a bulk import, see `Engine::checkpoint`): worth it after many writes.
        let commands = self.stats.snapshot().mutations;
        if commands >= CHECKPOINT_AFTER_COMMANDS {
            let started = std::time::Instant::now();
            match self.engine.checkpoint() {
                Ok(()) => tracing::info!(
                    commands,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "recovery snapshot written, for a quick next start"
                ),
                Err(e) => tracing::warn!(error = %e, "could not write a recovery snapshot"),
            }
        }
    }
}

/// Writes since opening after which a graceful close makes a checkpoint.
pub(crate) const CHECKPOINT_AFTER_COMMANDS: u64 = if cfg!(test) { 10 } else { 10_000 };

/// The secret that signs page tokens, made on first open and kept in the registry so
/// tokens outlive restarts.
fn page_secret<E: Engine>(engine: &E) -> Result<Vec<u8>, StoreError> {
    if let Some(secret) = engine.get(keys::META_PAGE_SECRET)? {
        return codec::decode(keys::META_PAGE_SECRET, &secret);
    }
    let mut secret = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    engine.apply(&[(keys::META_PAGE_SECRET, Some(codec::encode(&secret)))])?;
    engine.flush()?;
    Ok(secret)
}

/// A change-log value as stored, decoded: for tools that read a registry's raw pairs
/// (the import benchmark replays them in import order).
#[doc(hidden)]
pub fn decode_change_value(value: &[u8]) -> Result<crate::domain::ChangeEvent, StoreError> {
    codec::decode(&[keys::CHANGE], value)
}

/// A mutation in the writer's queue; its outcome comes once it is on disk (or refused).
pub struct Queued(oneshot::Receiver<Result<Outcome, StoreError>>);

impl Queued {
    /// The outcome, once the mutation's group is on disk.
    pub async fn outcome(self) -> Result<Outcome, StoreError> {
        self.0.await.map_err(|_| StoreError::Closed)?
    }
}
