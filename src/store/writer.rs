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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use crate::store::mutation::{apply, Mutation, Outcome, WriteContext};
use crate::store::{codec, keys, StoreError};

/// The most mutations committed by one batch and flush.
pub(crate) const MAX_GROUP: usize = 2048;
/// How often a failed flush of an applied batch is retried before the group fails.
const FLUSH_RETRIES: u64 = 3;
/// How many mutations may wait for the writer before senders are held back.
pub(crate) const QUEUE_DEPTH: usize = 8192;

/// Most change-log entries trimmed by one command, so trimming never holds up writers
/// for long.
pub(crate) const MAX_TRIM: u64 = 20_000;

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
}

impl Answer {
    fn fail_if_ok(&mut self, error: &StoreError) {
        match self {
            Answer::Mutation(_, result @ Ok(_)) => *result = Err(error.clone()),
            Answer::Trim(_, result @ Ok(_)) => *result = Err(error.clone()),
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
        }
    }
}

/// Counters of the write path, for benchmarks and metrics.
#[derive(Debug, Default)]
pub(crate) struct WriteStats {
    groups: AtomicU64,
    mutations: AtomicU64,
    flush_micros: AtomicU64,
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
}

impl WriteStats {
    pub(crate) fn snapshot(&self) -> WriteStatsSnapshot {
        WriteStatsSnapshot {
            groups: self.groups.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
            flush_micros: self.flush_micros.load(Ordering::Relaxed),
        }
    }
}

/// The writer's queue, the watch of committed revisions, and the thread.
pub(crate) type Spawned = (
    mpsc::Sender<Command>,
    watch::Receiver<u64>,
    std::thread::JoinHandle<()>,
);

pub(crate) fn spawn(tree: sled::Tree, stats: Arc<WriteStats>) -> Result<Spawned, StoreError> {
    let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
    let revision = read_revision(&tree)?;
    let (committed, watcher) = watch::channel(revision);
    let handle = std::thread::Builder::new()
        .name("registry-writer".into())
        .spawn(move || {
            Writer {
                tree,
                revision,
                stats,
                committed,
            }
            .run(receiver)
        })
        .map_err(|e| StoreError::Storage {
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
    tree: sled::Tree,
    /// The revision of the last committed change.
    revision: u64,
    stats: Arc<WriteStats>,
    /// Tells change-feed watchers the revision of the last change on disk.
    committed: watch::Sender<u64>,
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
            self.commit_group(group);
        }
        if let Err(e) = self.tree.flush() {
            tracing::error!(error = %e, "final flush of the registry failed");
        }
    }

    fn commit_group(&mut self, group: Vec<Command>) {
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
                    let mut staged = Staged::new(&self.tree, &pending, revision);
                    let result = apply(&mut staged, mutation, &context);
                    if result.is_ok() {
                        revision = staged.revision;
                        let writes = staged.writes;
                        pending.writes.extend(writes);
                    }
                    answers.push(Answer::Mutation(reply, result));
                }
                Command::TrimChanges { keep_from, reply } => {
                    let mut staged = Staged::new(&self.tree, &pending, revision);
                    let result = trim_changes(&mut staged, keep_from);
                    if result.is_ok() {
                        let writes = staged.writes;
                        pending.writes.extend(writes);
                    }
                    answers.push(Answer::Trim(reply, result));
                }
            }
        }

        let started = Instant::now();
        let committed = self.write(pending);
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
        self.stats
            .mutations
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
        self.stats
            .flush_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);

        match committed {
            Ok(()) => {
                self.revision = revision;
                self.committed.send_if_modified(|seen| {
                    let changed = *seen != revision;
                    *seen = revision;
                    changed
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "a write group could not be committed; its callers are told");
                // What is on disk is the truth: start again from its revision.
                self.revision = read_revision(&self.tree).unwrap_or(self.revision);
                for answer in &mut answers {
                    answer.fail_if_ok(&e);
                }
            }
        }
        for answer in answers {
            answer.send();
        }
    }

    fn write(&self, pending: Pending) -> Result<(), StoreError> {
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
        self.tree.apply_batch(batch)?;
        // The batch is applied: a failed flush must not be reported as "nothing written"
        // while readers already see it. Try again a few times before giving up.
        let mut attempt = 0;
        loop {
            match self.tree.flush() {
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

    /// Takes the next global revision for this mutation's change event.
    pub(crate) fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }
}
