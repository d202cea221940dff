//! The single write path: one writer thread, group commit.
//!
//! Every mutation of the registry is a [`Mutation`] sent to one thread. The thread takes
//! whatever has queued up (up to [`MAX_GROUP`]), checks each mutation against the current
//! state (the tree plus what earlier mutations of the same group wrote), stages its writes,
//! then applies the whole group as one `apply_batch` on the one tree, flushes once, and only
//! then answers every caller of the group. So:
//! - each mutation is atomic (a refused one stages nothing, an accepted one writes its
//!   record, its indexes, its change event and the revision together);
//! - an OK means the change is on disk;
//! - concurrent writers share one fsync, which is what makes durable writes fast;
//! - checks never race each other, because one thread makes them all.
//!
//! A plain thread, not a tokio task: applying and flushing block for milliseconds, and
//! they would stall the async workers that serve reads.
//!
//! When a group cannot be written (a full disk, a read-only remount), its callers are told
//! and the writer enters a fault: later writes are refused at once with the same error,
//! without touching sled, while reads go on from the database opened again (see
//! [`Database`]: sled stays broken after an I/O error). A write that arrives after a
//! growing pause probes the disk; once the probe passes, the writer carries on from the
//! revision on disk. The failed group's callers were told it may not have been applied;
//! retrying with the same request id is right either way.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::store::backup::{self, stage_restore, RestorePart, Snapshot};
use crate::store::database::Database;
use crate::store::mutation::{apply, Mutation, Outcome, WriteContext};
use crate::store::{codec, keys, StorageFault, StoreError};

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
    /// Drop change-log entries below `keep_from` (at most [`MAX_TRIM`]); answers the new
    /// oldest revision.
    TrimChanges {
        keep_from: u64,
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
    Mutation(
        oneshot::Sender<Result<Outcome, StoreError>>,
        Result<Outcome, StoreError>,
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
            Command::Mutate { reply, .. } => Answer::Mutation(reply, Err(error.clone())),
            Command::TrimChanges { reply, .. } => Answer::Trim(reply, Err(error.clone())),
            Command::Restore { reply, .. } => Answer::Done(reply, Err(error.clone())),
            Command::Snapshot { reply, .. } => {
                let _ = reply.send(Err(error.clone()));
                Answer::None
            }
        }
    }

    fn fail_if_ok(&mut self, error: &StoreError) {
        match self {
            Answer::Mutation(_, result @ Ok(_)) => *result = Err(error.clone()),
            Answer::Trim(_, result @ Ok(_)) => *result = Err(error.clone()),
            Answer::Done(_, result @ Ok(_)) => *result = Err(error.clone()),
            _ => {}
        }
    }

    fn send(self) {
        // A caller that went away no longer needs its answer; the write stands.
        match self {
            Answer::Mutation(reply, result) => {
                let _ = reply.send(result);
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
    faulted: AtomicBool,
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
    /// Whether writes are refused because the disk refuses them.
    pub faulted: bool,
}

impl WriteStats {
    pub(crate) fn snapshot(&self) -> WriteStatsSnapshot {
        WriteStatsSnapshot {
            groups: self.groups.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
            flush_micros: self.flush_micros.load(Ordering::Relaxed),
            faulted: self.faulted.load(Ordering::Relaxed),
        }
    }
}

/// The writer's queue, the watch of committed revisions, and the thread.
pub(crate) type Spawned = (
    mpsc::Sender<Command>,
    watch::Receiver<u64>,
    std::thread::JoinHandle<()>,
);

pub(crate) fn spawn(
    database: Arc<Database>,
    stats: Arc<WriteStats>,
) -> Result<Spawned, StoreError> {
    let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
    let revision = read_revision(&database.tree()?)?;
    let (committed, watcher) = watch::channel(revision);
    // A database that opened only after its reserve was freed starts in the disk-full
    // fault: writes are refused until a probe writes the reserve back.
    let fault = database.open_fault().map(|error| {
        tracing::error!(%error, "the disk is full: writes are refused until it has room, reads go on");
        stats.faulted.store(true, Ordering::Relaxed);
        Fault {
            error,
            reopened: true,
            pause: FIRST_PROBE_PAUSE,
            next_probe: Instant::now(),
        }
    });
    let handle = std::thread::Builder::new()
        .name("registry-writer".into())
        .spawn(move || {
            Writer {
                database,
                revision,
                stats,
                committed,
                fault,
            }
            .run(receiver)
        })
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("cannot start the writer thread: {e}"),
        })?;
    Ok((sender, watcher, handle))
}

pub(crate) fn read_revision(tree: &sled::Tree) -> Result<u64, StoreError> {
    Ok(match tree.get(keys::META_REVISION)? {
        Some(bytes) => codec::decode(keys::META_REVISION, &bytes)?,
        None => 0,
    })
}

struct Writer {
    database: Arc<Database>,
    /// The revision of the last committed change.
    revision: u64,
    stats: Arc<WriteStats>,
    /// Tells change-feed watchers the revision of the last change on disk.
    committed: watch::Sender<u64>,
    /// Set while the disk refuses writes.
    fault: Option<Fault>,
}

/// The error that stopped the writer, and when it next probes the disk.
struct Fault {
    error: StoreError,
    /// Whether the database was opened again after the failure.
    reopened: bool,
    pause: Duration,
    next_probe: Instant,
}

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        while let Some(first) = receiver.blocking_recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            // A snapshot is read between groups: what comes before it is committed first.
            let mut batch = Vec::with_capacity(group.len());
            for command in group {
                match command {
                    Command::Snapshot { after, reply } => {
                        if !batch.is_empty() {
                            self.commit_group(std::mem::take(&mut batch));
                        }
                        let _ = reply.send(self.snapshot(after));
                    }
                    command => batch.push(command),
                }
            }
            if !batch.is_empty() {
                self.commit_group(batch);
            }
        }
        if let Err(e) = self.database.tree().and_then(|tree| Ok(tree.flush()?)) {
            tracing::error!(error = %e, "final flush of the registry failed");
        }
    }

    fn commit_group(&mut self, group: Vec<Command>) {
        let tree = match self.ready() {
            Ok(tree) => tree,
            Err(error) => {
                for command in group {
                    Answer::refused(command, &error).send();
                }
                return;
            }
        };
        let mut pending = Pending::default();
        let mut revision = self.revision;
        let mut answers = Vec::with_capacity(group.len());
        for command in group {
            match command {
                Command::Mutate {
                    mutation,
                    context,
                    reply,
                } => {
                    let mut staged = Staged::new(&tree, &pending, revision);
                    let result = apply(&mut staged, mutation, &context);
                    if result.is_ok() {
                        revision = staged.revision;
                        let writes = staged.writes;
                        pending.writes.extend(writes);
                    }
                    answers.push(Answer::Mutation(reply, result));
                }
                Command::TrimChanges { keep_from, reply } => {
                    let mut staged = Staged::new(&tree, &pending, revision);
                    let result = trim_changes(&mut staged, keep_from);
                    if result.is_ok() {
                        let writes = staged.writes;
                        pending.writes.extend(writes);
                    }
                    answers.push(Answer::Trim(reply, result));
                }
                Command::Restore { part, reply } => {
                    let mut staged = Staged::new(&tree, &pending, revision);
                    let result = stage_restore(&mut staged, part);
                    if result.is_ok() {
                        revision = staged.revision;
                        let writes = staged.writes;
                        pending.writes.extend(writes);
                    }
                    answers.push(Answer::Done(reply, result));
                }
                Command::Snapshot { reply, .. } => {
                    // run() never groups a snapshot with writes.
                    let _ = reply.send(Err(StoreError::Closed));
                }
            }
        }

        let started = Instant::now();
        let committed = write(&tree, pending);
        // Let go of the tree: after a failure the database is opened again.
        drop(tree);
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
        self.stats
            .mutations
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
        self.stats
            .flush_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);

        match committed {
            Ok(()) => self.publish(revision),
            Err(e) => {
                for answer in &mut answers {
                    answer.fail_if_ok(&e);
                }
                self.enter_fault(e);
            }
        }
        for answer in answers {
            answer.send();
        }
    }

    /// Refuses writes from now on, until the disk takes data again. sled fails reads too
    /// after an I/O error, and keeps in memory the group it could not write: opening the
    /// database again makes readers see exactly what is on disk, and lets them go on.
    fn enter_fault(&mut self, error: StoreError) {
        if let StoreError::Storage { fault, .. } = &error {
            tracing::error!(
                %fault, %error,
                "the registry cannot write to its data directory: writes are refused until it can, reads go on"
            );
        }
        if matches!(
            error,
            StoreError::Storage {
                fault: StorageFault::DiskFull,
                ..
            }
        ) {
            self.database.release_reserve();
        }
        let reopened = self.database.reopen();
        if let Err(e) = &reopened {
            tracing::error!(error = %e, "the database cannot be opened again yet; reads fail until it can");
        }
        self.stats.faulted.store(true, Ordering::Relaxed);
        self.fault = Some(Fault {
            error,
            reopened: reopened.is_ok(),
            pause: FIRST_PROBE_PAUSE,
            next_probe: Instant::now() + FIRST_PROBE_PAUSE,
        });
    }

    /// The tree to write to; in a fault, the fault's error until a probe shows the disk
    /// takes data again.
    fn ready(&mut self) -> Result<sled::Tree, StoreError> {
        let Some(fault) = &mut self.fault else {
            return self.database.tree();
        };
        let now = Instant::now();
        if now < fault.next_probe {
            return Err(fault.error.clone());
        }
        let recovered = self.database.probe().and_then(|()| match fault.reopened {
            true => Ok(()),
            false => self.database.reopen(),
        });
        if let Err(e) = recovered {
            tracing::debug!(error = %e, "the data directory still refuses writes");
            fault.pause = (fault.pause * 2).min(MAX_PROBE_PAUSE);
            fault.next_probe = now + fault.pause;
            return Err(fault.error.clone());
        }
        self.fault = None;
        self.stats.faulted.store(false, Ordering::Relaxed);
        let tree = self.database.tree()?;
        // What is on disk is the truth: carry on from its revision.
        let revision = read_revision(&tree)?;
        self.publish(revision);
        tracing::warn!(revision, "the data directory takes writes again");
        Ok(tree)
    }

    /// The teachers changed after `after`, read while nothing can change them.
    fn snapshot(&mut self, after: u64) -> Result<Snapshot, StoreError> {
        let tree = self.ready()?;
        let teachers = backup::changed_teachers(&tree, after, self.revision)?;
        Ok(Snapshot {
            revision: self.revision,
            oldest_revision: crate::store::changes::oldest_revision(&tree)?,
            teachers,
        })
    }

    /// Makes `revision` the last committed one, and tells the change-feed watchers.
    fn publish(&mut self, revision: u64) {
        self.revision = revision;
        self.committed.send_if_modified(|seen| {
            let changed = *seen != revision;
            *seen = revision;
            changed
        });
    }
}

/// Applies a group's writes as one batch and flushes it.
fn write(tree: &sled::Tree, pending: Pending) -> Result<(), StoreError> {
    if pending.writes.is_empty() {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    for (key, value) in pending.writes {
        match value {
            Some(value) => batch.insert(key, value),
            None => batch.remove(key),
        }
    }
    tree.apply_batch(batch)?;
    // The batch is applied: a failed flush must not be reported as "nothing written"
    // while readers already see it. Try again a few times before giving up.
    let mut attempt = 0;
    loop {
        match tree.flush() {
            Ok(_) => return Ok(()),
            Err(e) if attempt < FLUSH_RETRIES => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "flush failed; retrying");
                std::thread::sleep(std::time::Duration::from_millis(50 * attempt));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Stages the removal of change-log entries below `keep_from`, with their county index
/// entries, up to [`MAX_TRIM`] of them, and the new oldest revision.
fn trim_changes(staged: &mut Staged<'_>, keep_from: u64) -> Result<u64, StoreError> {
    let oldest = crate::store::changes::oldest_revision(staged.tree)?;
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

/// Writes of the accepted mutations of the current group, not yet applied.
#[derive(Default)]
struct Pending {
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// One mutation's view of the registry: its own writes over the group's over the tree.
/// Dropped without effect when the mutation is refused.
pub(crate) struct Staged<'a> {
    tree: &'a sled::Tree,
    pending: &'a Pending,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The revision of the last change, this mutation's included once it takes one.
    revision: u64,
}

impl<'a> Staged<'a> {
    fn new(tree: &'a sled::Tree, pending: &'a Pending, revision: u64) -> Self {
        Self {
            tree,
            pending,
            writes: BTreeMap::new(),
            revision,
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.writes.get(key) {
            return Ok(value.clone());
        }
        if let Some(value) = self.pending.writes.get(key) {
            return Ok(value.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    pub(crate) fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    pub(crate) fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Sets the revision outright: a restore ends at its backup's.
    pub(crate) fn set_revision(&mut self, revision: u64) {
        self.revision = revision;
    }

    /// Takes the next global revision for this mutation's change event.
    pub(crate) fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }
}
