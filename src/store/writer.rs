//! The single write path: one writer thread, group commit.
//!
//! Every mutation of the registry is a [`Mutation`](crate::store::mutation::Mutation) sent
//! to one thread. The thread takes whatever has queued up (up to [`MAX_GROUP`]), checks
//! each mutation against the current state (the engine's, plus what earlier mutations and
//! groups wrote, see [`staged`]), stages its writes, then hands the whole group to the
//! [`committer`], which applies it to the engine (a few atomic batches, each holding whole
//! mutations), flushes once, and only then answers every caller of the group, while the
//! writer goes on to check the next group. So:
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

mod command;
mod committer;
#[cfg(test)]
pub(in crate::store) use committer::flush_applied;
mod dispatch;
mod filter;
mod poll;
mod prefetch;
mod shared;
pub(crate) use poll::{follow, Poller};
mod staged;
mod stats;
mod voided;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use command::Answer;
pub(crate) use command::Command;
use committer::{Failure, Finished, Group};
pub(crate) use dispatch::RequestIdLimits;
use filter::KeyFilter;
use prefetch::Prefetched;
use staged::Pending;
pub use staged::CHUNK_KEYS;
pub(crate) use staged::{Staged, MAX_TRIM};
use stats::add_micros;
pub(crate) use stats::WriteStats;
pub use stats::WriteStatsSnapshot;

use crate::clock;
use crate::domain::case::WindowRules;
use crate::store::backup::{self, Snapshot};
use crate::store::cases::{self};
use crate::store::engine::Engine;
use crate::store::{changes, Backend, StorageFault, StoreError};

/// The most mutations committed by one batch and flush.
pub(crate) const MAX_GROUP: usize = 2048;

/// The first pause before a faulted writer probes the disk; it doubles up to the maximum.
const FIRST_PROBE_PAUSE: Duration = Duration::from_millis(100);
const MAX_PROBE_PAUSE: Duration = Duration::from_secs(5);
/// How many mutations may wait for the writer before senders are held back.
pub(crate) const QUEUE_DEPTH: usize = 8192;

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
    let revision = changes::read_revision(&*engine)?;
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
                    self.prefetched.clear();
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
                    self.prefetched.clear();
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
        let Some(answer) = dispatch::stage(
            &mut staged,
            command,
            &self.request_ids,
            &self.window_rules,
            &mut self.audit_sequence,
        ) else {
            return;
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
        let revision = changes::read_revision(&*self.engine)?;
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
