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
mod casework;
mod changes;
mod codec;
mod engine;
mod error;
mod evaluation;
#[cfg(test)]
mod fixtures;
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
mod transition;
mod upgrade;
mod upkeep;
mod verify;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rand::RngCore;
use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::case::WindowRules;
use crate::domain::{
    CountyCode, IdentityDocument, ImportMode, ImportRow, Teacher, TeacherId, Validated,
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
pub use sled_engine::compact::{compact, directory_size, Compacted};
pub use statistics::{CountyStatistics, Statistics};
pub use transfers::CountyTransfers;
pub use transition::{
    Reads, Selection, TeacherOutcome, Transition, TransitionEvent, TransitionFailure,
    TransitionSummary,
};
pub use verify::VerifyReport;
pub use writer::{WriteStatsSnapshot, CHUNK_KEYS};

pub(crate) use backend::Backend;

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

    /// The calendar and limits cases are timed by.
    pub fn window_rules(&self) -> &WindowRules {
        &self.inner.window_rules
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
