//! The single write path: one writer thread, group commit.
//!
//! Every mutation of the registry is a [`Mutation`] sent to one thread. The thread takes
//! whatever has queued up (up to [`MAX_GROUP`]), checks each mutation against the current
//! state (the engine's, plus what earlier mutations and groups wrote, see [`staged`]),
//! stages its writes, then hands the whole group to the [`committer`], which applies it to
//! the engine (a few atomic batches, each holding whole mutations), flushes once, and only
//! then answers every caller of the group, while the writer goes on to check the next
//! group. So:
//! - each mutation is atomic (a refused one stages nothing, an accepted one writes its
//!   record, its indexes, its change event and the revision together);
//! - an OK means the change is on disk;
//! - concurrent writers share one fsync, which is what makes durable writes fast;
//! - checks never race each other, because one thread makes them all.
//!
//! Plain threads, not tokio tasks: checking, applying and flushing block for
//! milliseconds, and they would stall the async workers that serve reads.
//!
//! When a group cannot be written (a full disk, a read-only remount), its callers are told,
//! and those of whatever was staged on top of it, and the writer enters a fault: later
//! writes are refused at once with the same error, without touching the engine, while
//! reads go on from what the engine recovered (see [`Engine::recover`]: sled is opened
//! again, as it stays broken after an I/O error). A write that arrives after a growing
//! pause probes the engine ([`Engine::probe`]); once the probe passes, the writer carries
//! on from the revision on disk. The failed group's callers were
//! told it may not have been applied; retrying with the same request id is right either
//! way.

mod committer;
mod filter;
mod poll;
mod prefetch;
pub(crate) use poll::{follow, Poller};
mod staged;
mod voided;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use committer::{Failure, Finished, Group};
use filter::KeyFilter;
use prefetch::Prefetched;
use staged::Pending;
pub(crate) use staged::Staged;
pub use staged::CHUNK_KEYS;

use crate::clock;
use crate::domain::case::WindowRules;
use crate::store::audit;
use crate::store::backup::{self, stage_restore, RestorePart, Snapshot};
use crate::store::cases::{self, CaseAnswer, CaseCommand};
use crate::store::engine::Engine;
use crate::store::mutation::{apply, Mutation, Outcome, WriteContext};
use crate::store::request_quota::RequestWindow;
use crate::store::{codec, keys, requests, Backend, StorageFault, StoreError};

/// The most mutations committed by one batch and flush.
pub(crate) const MAX_GROUP: usize = 2048;
/// How often a failed flush of an applied batch is retried before the group fails.
const FLUSH_RETRIES: u64 = 3;
/// The first pause before a faulted writer probes the disk; it doubles up to the maximum.
const FIRST_PROBE_PAUSE: Duration = Duration::from_millis(100);
const MAX_PROBE_PAUSE: Duration = Duration::from_secs(5);
/// How many mutations may wait for the writer before senders are held back.
pub(crate) const QUEUE_DEPTH: usize = 8192;

/// Most change-log entries trimmed by one command, so trimming never holds up writers
/// for long. Small, too, because sled 0.34 copies a tree node for every removal: one
/// command of 20,000 removals raised the server's heap by ~100 MB that glibc kept for
/// good (tests/soak.rs found it; 1,000 cut the growth from +81% to +13%).
pub(crate) const MAX_TRIM: u64 = 1_000;

/// What the writer is asked to do.
// Nearly every command is a Mutate: boxing it to shrink the rare TrimChanges would add an
// allocation to every write.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    /// Apply a mutation of a teacher record.
    Mutate {
        mutation: Mutation,
        context: WriteContext,
        reply: oneshot::Sender<Result<Outcome, StoreError>>,
    },
    /// Take a step of a case (or open one).
    Case {
        command: CaseCommand,
        context: WriteContext,
        reply: oneshot::Sender<Result<CaseAnswer, StoreError>>,
    },
    /// Take a step of title evaluation.
    Evaluate {
        command: crate::store::evaluation::EvaluationCommand,
        context: WriteContext,
        reply: oneshot::Sender<Result<crate::store::evaluation::EvaluationAnswer, StoreError>>,
    },
    /// Correct an identity document (see `store::identity`).
    Identity {
        command: crate::store::identity::IdentityCommand,
        context: WriteContext,
        reply: oneshot::Sender<Result<crate::store::identity::IdentityAnswer, StoreError>>,
    },
    /// Record a consultation.
    Consult {
        consultation: cases::NewConsultation,
        context: WriteContext,
        reply: oneshot::Sender<Result<crate::domain::case::Consultation, StoreError>>,
    },
    /// Drop change-log entries below `keep_from` (at most [`MAX_TRIM`]); answers the new
    /// oldest revision.
    TrimChanges {
        keep_from: u64,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Drop up to [`MAX_TRIM`] request records made before `before`; answers how many.
    TrimRequests {
        before: crate::domain::UnixMicros,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Store read-audit entries (see [`crate::store::audit`]): no revision, no change.
    Audit {
        entries: Vec<crate::domain::audit::AuditEntry>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Drop up to [`MAX_TRIM`] audit entries made before `before`; answers how many.
    TrimAudit {
        before: crate::domain::UnixMicros,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Read the teachers changed after `after`, between two groups (see [`backup`]).
    Snapshot {
        after: u64,
        reply: oneshot::Sender<Result<Snapshot, StoreError>>,
    },
    /// Apply one step of a restore from backup.
    Restore {
        part: RestorePart,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// An answer owed to a caller once the group is on disk.
enum Answer {
    /// Boxed, as the larger answers are: a teacher record is large, and every queued
    /// answer would otherwise take its size.
    Mutation(
        oneshot::Sender<Result<Outcome, StoreError>>,
        Box<Result<Outcome, StoreError>>,
    ),
    Case(
        oneshot::Sender<Result<CaseAnswer, StoreError>>,
        Box<Result<CaseAnswer, StoreError>>,
    ),
    Consultation(
        oneshot::Sender<Result<crate::domain::case::Consultation, StoreError>>,
        Result<crate::domain::case::Consultation, StoreError>,
    ),
    Evaluation(
        oneshot::Sender<Result<crate::store::evaluation::EvaluationAnswer, StoreError>>,
        Box<Result<crate::store::evaluation::EvaluationAnswer, StoreError>>,
    ),
    Identity(
        oneshot::Sender<Result<crate::store::identity::IdentityAnswer, StoreError>>,
        Box<Result<crate::store::identity::IdentityAnswer, StoreError>>,
    ),
    Trim(
        oneshot::Sender<Result<u64, StoreError>>,
        Result<u64, StoreError>,
    ),
    Done(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    /// Already answered.
    None,
}

impl Answer {
    /// The refusal owed to a command the writer does not attempt.
    fn refused(command: Command, error: &StoreError) -> Answer {
        match command {
            Command::Mutate { reply, .. } => Answer::Mutation(reply, Box::new(Err(error.clone()))),
            Command::Case { reply, .. } => Answer::Case(reply, Box::new(Err(error.clone()))),
            Command::Consult { reply, .. } => Answer::Consultation(reply, Err(error.clone())),
            Command::Evaluate { reply, .. } => {
                Answer::Evaluation(reply, Box::new(Err(error.clone())))
            }
            Command::Identity { reply, .. } => {
                Answer::Identity(reply, Box::new(Err(error.clone())))
            }
            Command::TrimChanges { reply, .. }
            | Command::TrimRequests { reply, .. }
            | Command::TrimAudit { reply, .. } => Answer::Trim(reply, Err(error.clone())),
            Command::Restore { reply, .. } | Command::Audit { reply, .. } => {
                Answer::Done(reply, Err(error.clone()))
            }
            Command::Snapshot { reply, .. } => {
                let _ = reply.send(Err(error.clone()));
                Answer::None
            }
        }
    }

    fn is_ok(&self) -> bool {
        matches!(
            self,
            Answer::Consultation(_, Ok(_)) | Answer::Trim(_, Ok(_)) | Answer::Done(_, Ok(_))
        ) || matches!(self, Answer::Mutation(_, result) if result.is_ok())
            || matches!(self, Answer::Case(_, result) if result.is_ok())
            || matches!(self, Answer::Evaluation(_, result) if result.is_ok())
            || matches!(self, Answer::Identity(_, result) if result.is_ok())
    }

    /// Makes the answer `error`, whatever it was.
    fn fail(&mut self, error: &StoreError) {
        match self {
            Answer::Mutation(_, result) => **result = Err(error.clone()),
            Answer::Case(_, result) => **result = Err(error.clone()),
            Answer::Consultation(_, result) => *result = Err(error.clone()),
            Answer::Evaluation(_, result) => **result = Err(error.clone()),
            Answer::Identity(_, result) => **result = Err(error.clone()),
            Answer::Trim(_, result) => *result = Err(error.clone()),
            Answer::Done(_, result) => *result = Err(error.clone()),
            Answer::None => {}
        }
    }

    fn send(self) {
        // A caller that went away no longer needs its answer; the write stands.
        match self {
            Answer::Mutation(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Case(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Consultation(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Evaluation(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Identity(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Trim(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Done(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::None => {}
        }
    }
}

/// Counters of the write path, for benchmarks and metrics.
#[derive(Debug, Default)]
pub(crate) struct WriteStats {
    groups: AtomicU64,
    mutations: AtomicU64,
    flush_micros: AtomicU64,
    begin_micros: AtomicU64,
    read_ahead_micros: AtomicU64,
    stage_micros: AtomicU64,
    wait_micros: AtomicU64,
    faulted: AtomicBool,
    key_filter_ready: AtomicBool,
}

/// A point-in-time copy of [`WriteStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStatsSnapshot {
    /// Batches applied and flushed.
    pub groups: u64,
    /// Commands answered (mutations accepted or refused, log trims) in those groups.
    pub mutations: u64,
    /// Time spent applying and flushing batches.
    pub flush_micros: u64,
    /// On a shared engine: time spent starting groups (the writers' lock, the revision).
    pub begin_micros: u64,
    /// On a shared engine: time spent reading groups' keys ahead (see `writer::prefetch`).
    pub read_ahead_micros: u64,
    /// Time spent staging commands (checks and writes, against memory and the engine).
    pub stage_micros: u64,
    /// On a shared engine: time the writer waited for the group before to be written.
    pub wait_micros: u64,
    /// Whether writes are refused because the disk refuses them.
    pub faulted: bool,
    /// Whether the key filter holds every key in storage, so writes skip reads of keys
    /// that cannot be there (see `store::writer::filter`).
    pub key_filter_ready: bool,
}

impl WriteStats {
    pub(crate) fn snapshot(&self) -> WriteStatsSnapshot {
        WriteStatsSnapshot {
            groups: self.groups.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
            flush_micros: self.flush_micros.load(Ordering::Relaxed),
            begin_micros: self.begin_micros.load(Ordering::Relaxed),
            read_ahead_micros: self.read_ahead_micros.load(Ordering::Relaxed),
            stage_micros: self.stage_micros.load(Ordering::Relaxed),
            wait_micros: self.wait_micros.load(Ordering::Relaxed),
            faulted: self.faulted.load(Ordering::Relaxed),
            key_filter_ready: self.key_filter_ready.load(Ordering::Relaxed),
        }
    }
}

/// Adds the time since `started` to a counter of [`WriteStats`].
fn add_micros(counter: &AtomicU64, started: Instant) {
    counter.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
}

/// How long request ids are kept, and how many one principal may keep (see
/// [`crate::store::request_quota`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestIdLimits {
    pub(crate) retention: Duration,
    pub(crate) per_principal: u64,
}

/// The writer's queue, the watch of committed revisions, and the thread.
pub(crate) type Spawned = (
    mpsc::Sender<Command>,
    watch::Receiver<u64>,
    std::thread::JoinHandle<()>,
);

pub(crate) fn spawn(
    engine: Arc<Backend>,
    stats: Arc<WriteStats>,
    request_ids: RequestIdLimits,
    window_rules: Arc<WindowRules>,
) -> Result<Spawned, StoreError> {
    let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
    let revision = read_revision(&*engine)?;
    let (committed, watcher) = watch::channel(revision);
    let committed = Arc::new(committed);
    // An engine that opened in a fault (sled: only after freeing its reserve on a full
    // disk) starts the writer in it: writes are refused until a probe passes.
    let fault = engine.opened_in_fault().map(|error| {
        tracing::error!(%error, "the disk is full: writes are refused until it has room, reads go on");
        stats.faulted.store(true, Ordering::Relaxed);
        Fault {
            error,
            pause: FIRST_PROBE_PAUSE,
            next_probe: Instant::now(),
        }
    });
    let (jobs, reports, committer) =
        committer::spawn(engine.clone(), stats.clone(), committed.clone())?;
    let poller = engine
        .is_shared()
        .then(|| poll::spawn(engine.clone(), committed.clone()))
        .transpose()?;
    // The writer waits for commands and for the committer at once: a runtime of its own,
    // on its own thread, since staging blocks.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("cannot start the writer's runtime: {e}"),
        })?;
    // Started last, and stopped when dropped: no error above leaves it running.
    let (filter, scan) = filter::start(engine.clone(), stats.clone())?;
    let handle = std::thread::Builder::new()
        .name("registry-writer".into())
        .spawn(move || {
            let writer = Writer {
                engine,
                revision,
                stats,
                committed,
                fault,
                committer_gone: None,
                jobs,
                reports,
                committing: None,
                staging: Staging::default(),
                filter,
                request_ids,
                window_rules,
                lost: voided::Lost::default(),
                // Random, so servers sharing an engine do not reuse each other's keys.
                audit_sequence: rand::random(),
                prefetched: Prefetched::default(),
            };
            runtime.block_on(writer.run(receiver));
            drop(scan);
            drop(poller);
            // The writer's end closed the committer's inbox: it writes what it holds,
            // flushes and stops.
            if committer.join().is_err() {
                tracing::error!("the commit thread panicked");
            }
        })
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("cannot start the writer thread: {e}"),
        })?;
    Ok((sender, watcher, handle))
}

pub(crate) fn read_revision<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    Ok(match engine.get(keys::META_REVISION)? {
        Some(bytes) => codec::decode(keys::META_REVISION, &bytes)?,
        None => 0,
    })
}

struct Writer {
    engine: Arc<Backend>,
    /// The revision of the last staged change: the last on disk once the committer is
    /// free and no write failed.
    revision: u64,
    stats: Arc<WriteStats>,
    /// Tells change-feed watchers the revision of the last change on disk.
    committed: Arc<watch::Sender<u64>>,
    /// Set while the disk refuses writes.
    fault: Option<Fault>,
    /// Set once the committer thread is gone: every write is refused with it.
    committer_gone: Option<StoreError>,
    /// The committer's inbox.
    jobs: std::sync::mpsc::SyncSender<Group>,
    /// The committer's report on each group handed over.
    reports: mpsc::UnboundedReceiver<Finished>,
    /// The writes of the group handed over last, while the committer may still hold it.
    committing: Option<Arc<Pending>>,
    /// The group being staged.
    staging: Staging,
    /// Keys that may be in the engine.
    filter: Arc<KeyFilter>,
    /// How long a request id replays its first answer, and how many a principal keeps.
    request_ids: RequestIdLimits,
    /// The calendar a supplement notice's deadline is counted in.
    window_rules: Arc<WindowRules>,
    /// The change events of groups lost to a fault, voided once writes resume.
    lost: voided::Lost,
    /// The sequence number of the next audit entry's key.
    audit_sequence: u32,
    /// A shared engine's keys, read ahead for the group being staged.
    prefetched: Prefetched,
}

/// A group being staged: its writes, and the answers owed once it is on disk.
#[derive(Default)]
struct Staging {
    pending: Pending,
    answers: Vec<Answer>,
}

/// The error that stopped the writer, and when it next probes the disk.
struct Fault {
    error: StoreError,
    pause: Duration,
    next_probe: Instant,
}

impl Writer {
    /// Stages commands as they come, and hands the group staged so far to the committer
    /// each time it is free: the group is whatever arrived while the one before was being
    /// written, so groups grow with the load, up to [`MAX_GROUP`]. Ends when the last
    /// sender is gone, once everything staged is on disk.
    async fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        // Between iterations, a free committer means nothing is staged: what is staged is
        // handed over as soon as the committer is free.
        let mut committer_free = true;
        let mut open = true;
        // A shared engine's group holds the other servers' writers off while it is
        // staged: it takes in everything queued before it is handed over.
        let shared = self.engine.is_shared();
        while open || !self.staging.answers.is_empty() {
            let room = open && self.staging.answers.len() < MAX_GROUP;
            tokio::select! {
                biased;
                report = self.reports.recv(), if !committer_free => {
                    committer_free = true;
                    self.hear(report);
                }
                command = receiver.recv(), if room => match command {
                    Some(command) if shared => {
                        let batch = self.queued_after(command, &mut receiver);
                        self.take_shared(batch, &mut committer_free).await;
                    }
                    Some(command) => self.take(command, &mut committer_free).await,
                    None => open = false,
                },
            }
            if shared {
                if let Ok(command) = receiver.try_recv() {
                    let batch = self.queued_after(command, &mut receiver);
                    self.take_shared(batch, &mut committer_free).await;
                }
            } else {
                self.hand_over(&mut committer_free);
                while self.staging.answers.len() < MAX_GROUP {
                    match receiver.try_recv() {
                        Ok(command) => self.take(command, &mut committer_free).await,
                        Err(_) => break,
                    }
                }
            }
            self.hand_over(&mut committer_free);
        }
        if !committer_free {
            let report = self.reports.recv().await;
            self.hear(report);
        }
    }

    /// Stages a command; a snapshot is read between groups instead, once everything
    /// before it is on disk.
    async fn take(&mut self, command: Command, committer_free: &mut bool) {
        let shared = self.engine.is_shared();
        match command {
            Command::Snapshot { after, reply } => {
                self.settle(committer_free).await;
                if shared {
                    if let Err(error) = self.begin_shared_group() {
                        let _ = reply.send(Err(error));
                        return;
                    }
                }
                let _ = reply.send(self.snapshot(after));
                if shared && self.staging.answers.is_empty() {
                    self.end_empty_group();
                }
            }
            command => {
                if shared && self.staging.answers.is_empty() {
                    self.wait_for_committer(committer_free).await;
                    if let Err(error) = self.begin_shared_group() {
                        return Answer::refused(command, &error).send();
                    }
                }
                self.stage(command);
                if shared && self.staging.answers.is_empty() {
                    self.end_empty_group();
                }
            }
        }
    }

    /// `first` and the commands queued behind it, as many as the group has room for.
    fn queued_after(&self, first: Command, receiver: &mut mpsc::Receiver<Command>) -> Vec<Command> {
        let mut batch = vec![first];
        while self.staging.answers.len() + batch.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        batch
    }

    /// Takes commands on a shared engine: each run of them between snapshots is checked
    /// once ahead to read its keys in a few queries (see [`prefetch`]), then staged.
    async fn take_shared(&mut self, batch: Vec<Command>, committer_free: &mut bool) {
        let mut batch = std::collections::VecDeque::from(batch);
        while let Some(command) = batch.pop_front() {
            if matches!(command, Command::Snapshot { .. }) {
                self.take(command, committer_free).await;
                continue;
            }
            if self.staging.answers.is_empty() {
                self.wait_for_committer(committer_free).await;
                if let Err(error) = self.begin_shared_group() {
                    Answer::refused(command, &error).send();
                    continue;
                }
            }
            let end = batch
                .iter()
                .position(|command| matches!(command, Command::Snapshot { .. }))
                .unwrap_or(batch.len());
            let run: Vec<Command> = std::iter::once(command).chain(batch.drain(..end)).collect();
            self.read_ahead(&run);
            for command in run {
                self.stage(command);
            }
            // Every command refused (a fault not yet over): the group staged nothing, and
            // must not hold the other servers' writers off until the next command.
            if self.staging.answers.is_empty() {
                self.end_empty_group();
            }
        }
    }

    /// Reads the keys `commands` will read, by checking them against a copy that writes
    /// nowhere (see [`prefetch`]).
    fn read_ahead(&mut self, commands: &[Command]) {
        if self.fault.is_some() || self.committer_gone.is_some() {
            return;
        }
        let started = Instant::now();
        let mut prefetched = std::mem::take(&mut self.prefetched);
        prefetched.discover(&self.engine, |prefetched| {
            for command in commands {
                let mut staged = Staged::new(
                    &self.engine,
                    &self.filter,
                    self.committing.as_deref(),
                    &self.staging.pending,
                    self.revision,
                )
                .reading_ahead(prefetched);
                self.check_ahead(&mut staged, command);
            }
        });
        self.prefetched = prefetched;
        add_micros(&self.stats.read_ahead_micros, started);
    }

    /// Runs the checks of `command` on `staged`, for the keys they read; the answer and
    /// the writes are dropped.
    fn check_ahead(&self, staged: &mut Staged<'_>, command: &Command) {
        let window = self.request_window();
        match command {
            Command::Mutate {
                mutation, context, ..
            } => {
                let _ = apply(staged, mutation.clone(), context, &window);
            }
            Command::Case {
                command, context, ..
            } => {
                let _ = cases::apply(
                    staged,
                    command.clone(),
                    context,
                    &window,
                    &self.window_rules,
                );
            }
            Command::Evaluate {
                command, context, ..
            } => {
                let _ = crate::store::evaluation::apply(
                    staged,
                    command.clone(),
                    context,
                    &window,
                    &self.window_rules.calendar,
                );
            }
            Command::Consult {
                consultation,
                context,
                ..
            } => {
                let _ = cases::record_consultation(staged, consultation.clone(), context, &window);
            }
            Command::Identity {
                command, context, ..
            } => {
                let _ = crate::store::identity::apply(staged, command.clone(), context, &window);
            }
            // Rare, or reading nothing, and read as they go.
            Command::TrimChanges { .. }
            | Command::TrimRequests { .. }
            | Command::TrimAudit { .. }
            | Command::Audit { .. }
            | Command::Restore { .. }
            | Command::Snapshot { .. } => {}
        }
    }

    /// Waits until the committer has written the group it holds, if it holds one.
    async fn wait_for_committer(&mut self, committer_free: &mut bool) {
        if !*committer_free {
            let started = Instant::now();
            let report = self.reports.recv().await;
            add_micros(&self.stats.wait_micros, started);
            *committer_free = true;
            self.hear(report);
        }
        self.committing = None;
    }

    /// A shared engine's group starts by holding the other servers' writers off (see
    /// [`Engine::begin_group`]) and taking the revision their groups reached.
    fn begin_shared_group(&mut self) -> Result<(), StoreError> {
        let started = Instant::now();
        self.prefetched.clear();
        self.engine.begin_group()?;
        let revision = read_revision(&*self.engine)?;
        add_micros(&self.stats.begin_micros, started);
        if self.fault.is_none() && self.committer_gone.is_none() {
            self.publish(revision);
        }
        Ok(())
    }

    /// Lets the other servers' writers in again after a group that staged nothing.
    fn end_empty_group(&mut self) {
        if let Err(error) = self.engine.flush() {
            tracing::warn!(%error, "could not end an empty group");
            let _ = self.engine.recover(&error);
        }
    }

    /// Waits until everything staged is on disk, or failed.
    async fn settle(&mut self, committer_free: &mut bool) {
        loop {
            if !*committer_free {
                let report = self.reports.recv().await;
                *committer_free = true;
                self.hear(report);
            }
            if self.staging.answers.is_empty() {
                break;
            }
            self.hand_over(committer_free);
        }
        self.committing = None;
    }

    fn stage(&mut self, command: Command) {
        let started = Instant::now();
        self.stage_command(command);
        add_micros(&self.stats.stage_micros, started);
    }

    fn stage_command(&mut self, command: Command) {
        if let Err(error) = self.ready() {
            return Answer::refused(command, &error).send();
        }
        let committing = self.committing.as_deref();
        let pending = &self.staging.pending;
        let mut staged = Staged::new(
            &self.engine,
            &self.filter,
            committing,
            pending,
            self.revision,
        )
        .reading_ahead(&self.prefetched);
        let answer = match command {
            Command::Mutate {
                mutation,
                context,
                reply,
            } => {
                let window = self.request_window();
                Answer::Mutation(
                    reply,
                    Box::new(apply(&mut staged, mutation, &context, &window)),
                )
            }
            Command::Case {
                command,
                context,
                reply,
            } => {
                let window = self.request_window();
                let answer =
                    cases::apply(&mut staged, command, &context, &window, &self.window_rules);
                Answer::Case(reply, Box::new(answer))
            }
            Command::Evaluate {
                command,
                context,
                reply,
            } => {
                let window = self.request_window();
                let answer = crate::store::evaluation::apply(
                    &mut staged,
                    command,
                    &context,
                    &window,
                    &self.window_rules.calendar,
                );
                Answer::Evaluation(reply, Box::new(answer))
            }
            Command::Identity {
                command,
                context,
                reply,
            } => {
                let window = self.request_window();
                let answer = crate::store::identity::apply(&mut staged, command, &context, &window);
                Answer::Identity(reply, Box::new(answer))
            }
            Command::Consult {
                consultation,
                context,
                reply,
            } => {
                let window = self.request_window();
                Answer::Consultation(
                    reply,
                    cases::record_consultation(&mut staged, consultation, &context, &window),
                )
            }
            Command::TrimChanges { keep_from, reply } => {
                Answer::Trim(reply, trim_changes(&mut staged, keep_from))
            }
            Command::TrimRequests { before, reply } => {
                Answer::Trim(reply, requests::trim(&mut staged, before))
            }
            Command::Restore { part, reply } => {
                Answer::Done(reply, stage_restore(&mut staged, part, &self.window_rules))
            }
            Command::Audit { entries, reply } => {
                audit::stage(&mut staged, entries, clock::now(), &mut self.audit_sequence);
                Answer::Done(reply, Ok(()))
            }
            Command::TrimAudit { before, reply } => {
                Answer::Trim(reply, audit::trim(&mut staged, before))
            }
            // Never staged: take() reads snapshots between groups.
            Command::Snapshot { reply, .. } => {
                let _ = reply.send(Err(StoreError::Closed));
                return;
            }
        };
        if answer.is_ok() {
            self.revision = staged.revision;
            let writes = staged.writes;
            self.staging.pending.add(writes, &self.filter);
        }
        self.staging.answers.push(answer);
    }

    /// Gives the staged group to the committer, if it is free and something is staged.
    fn hand_over(&mut self, committer_free: &mut bool) {
        if !*committer_free || self.staging.answers.is_empty() {
            return;
        }
        let Staging { pending, answers } = std::mem::take(&mut self.staging);
        let writes = Arc::new(pending);
        let group = Group {
            writes: writes.clone(),
            answers,
            revision: self.revision,
        };
        match self.jobs.send(group) {
            Ok(()) => {
                self.committing = Some(writes);
                *committer_free = false;
            }
            Err(std::sync::mpsc::SendError(group)) => {
                let error = self.lose_committer();
                for mut answer in group.answers {
                    answer.fail(&error);
                    answer.send();
                }
            }
        }
    }

    /// Takes in the committer's report on the group it held.
    fn hear(&mut self, report: Option<Finished>) {
        let error = match report {
            Some(Ok(())) => return,
            Some(Err(Failure(error))) => {
                self.fault = Some(Fault {
                    error: error.clone(),
                    pause: FIRST_PROBE_PAUSE,
                    next_probe: Instant::now() + FIRST_PROBE_PAUSE,
                });
                error
            }
            None => self.lose_committer(),
        };
        // What was staged on top of the lost group was checked against writes that never
        // reached the disk: every answer, refusals included, becomes the failure. Their
        // revisions may have been seen by readers: they are voided, not reused.
        if let Some(lost) = self.committing.take() {
            self.lost.note(&lost);
        }
        self.lost.note(&self.staging.pending);
        for mut answer in std::mem::take(&mut self.staging).answers {
            answer.fail(&error);
            answer.send();
        }
    }

    /// Refuses every write from now on: the commit thread stopped (it panicked).
    fn lose_committer(&mut self) -> StoreError {
        let error = StoreError::Storage {
            fault: StorageFault::Failed,
            detail: "the commit thread stopped; restart the server".into(),
        };
        if self.committer_gone.is_none() {
            tracing::error!("the commit thread stopped: writes are refused until a restart");
            self.stats.faulted.store(true, Ordering::Relaxed);
        }
        self.committer_gone = Some(error.clone());
        error
    }

    /// Ok when writes may be staged; in a fault, the fault's error until a probe shows the
    /// engine takes writes again.
    fn ready(&mut self) -> Result<(), StoreError> {
        if let Some(error) = &self.committer_gone {
            return Err(error.clone());
        }
        let Some(fault) = &mut self.fault else {
            return Ok(());
        };
        let now = Instant::now();
        if now < fault.next_probe {
            return Err(fault.error.clone());
        }
        if let Err(e) = self.engine.probe() {
            tracing::debug!(error = %e, "the data directory still refuses writes");
            fault.pause = (fault.pause * 2).min(MAX_PROBE_PAUSE);
            fault.next_probe = now + fault.pause;
            return Err(fault.error.clone());
        }
        // What is on disk is the truth, but the revisions of lost groups stay taken: the
        // fault stays until that revision is read and the lost ones are voided.
        let revision = read_revision(&*self.engine)?;
        self.fault = None;
        self.stats.faulted.store(false, Ordering::Relaxed);
        self.publish(revision);
        tracing::warn!(revision, "the data directory takes writes again");
        self.void_lost_revisions(revision)
    }

    /// Stages `Voided` events for the revisions lost after `on_disk` (see [`voided`]), as
    /// a group of their own that nobody waits for.
    fn void_lost_revisions(&mut self, on_disk: u64) -> Result<(), StoreError> {
        if self.lost.is_empty() {
            return Ok(());
        }
        let mut staged = Staged::new(
            &self.engine,
            &self.filter,
            None,
            &self.staging.pending,
            on_disk,
        );
        let last = self.lost.stage_voids(&mut staged, on_disk, clock::now())?;
        if last > on_disk {
            self.revision = last;
            let writes = staged.writes;
            self.staging.pending.add(writes, &self.filter);
            self.staging.answers.push(Answer::None);
        }
        Ok(())
    }

    /// The teachers changed after `after`, read while nothing can change them.
    fn snapshot(&mut self, after: u64) -> Result<Snapshot, StoreError> {
        self.ready()?;
        if !self.staging.answers.is_empty() {
            // Recovery just staged the voided revisions; they are not on disk yet.
            return Err(StoreError::Storage {
                fault: StorageFault::Failed,
                detail: "the registry is recovering from a disk fault; try again".into(),
            });
        }
        let engine = &*self.engine;
        let changed = backup::changed_records(engine, after, self.revision)?;
        Ok(Snapshot {
            revision: self.revision,
            oldest_revision: crate::store::changes::oldest_revision(engine)?,
            teachers: changed.teachers,
            cases: changed.cases,
            consultations: cases::consultations(engine)?,
            evaluation: backup::evaluation_records(engine)?,
            identity: crate::store::identity::backup::identity_records(engine)?,
        })
    }

    /// What a write checks its request id against, now.
    fn request_window(&self) -> RequestWindow {
        RequestWindow::at(
            clock::now(),
            self.request_ids.retention,
            self.request_ids.per_principal,
        )
    }

    /// Makes `revision`, read from disk, the last one, and tells the change-feed watchers.
    fn publish(&mut self, revision: u64) {
        self.revision = revision;
        self.committed.send_if_modified(|seen| {
            let changed = *seen != revision;
            *seen = revision;
            changed
        });
    }
}

/// Stages the removal of change-log entries below `keep_from`, with their county index
/// entries, up to [`MAX_TRIM`] of them, and the new oldest revision.
fn trim_changes(staged: &mut Staged<'_>, keep_from: u64) -> Result<u64, StoreError> {
    let oldest: u64 = match staged.get(keys::META_OLDEST_REVISION)? {
        Some(bytes) => codec::decode(keys::META_OLDEST_REVISION, &bytes)?,
        None => 1,
    };
    let until = keep_from
        .min(oldest.saturating_add(MAX_TRIM))
        .min(staged.revision.max(1));
    if until <= oldest {
        return Ok(oldest);
    }
    for revision in oldest..until {
        let key = keys::change(revision);
        if let Some(bytes) = staged.get(&key)? {
            let event: crate::domain::ChangeEvent = codec::decode(&key, &bytes)?;
            staged.remove(keys::county_change(&event.county_after, revision));
            if let Some(before) = &event.county_before {
                staged.remove(keys::county_change(before, revision));
            }
            staged.remove(key);
        }
    }
    staged.insert(keys::META_OLDEST_REVISION.to_vec(), codec::encode(&until));
    Ok(until)
}
