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

use tokio::sync::{mpsc, oneshot};

use crate::store::mutation::{apply, Mutation, Outcome, WriteContext};
use crate::store::{codec, keys, StoreError};

/// The most mutations committed by one batch and flush.
pub(crate) const MAX_GROUP: usize = 2048;
/// How many mutations may wait for the writer before senders are held back.
pub(crate) const QUEUE_DEPTH: usize = 8192;

pub(crate) struct Command {
    pub(crate) mutation: Mutation,
    pub(crate) context: WriteContext,
    pub(crate) reply: oneshot::Sender<Result<Outcome, StoreError>>,
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
    /// Mutations answered (accepted or refused) in those groups.
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

pub(crate) fn spawn(
    tree: sled::Tree,
    stats: Arc<WriteStats>,
) -> Result<(mpsc::Sender<Command>, std::thread::JoinHandle<()>), StoreError> {
    let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
    let revision = read_revision(&tree)?;
    let handle = std::thread::Builder::new()
        .name("registry-writer".into())
        .spawn(move || {
            Writer {
                tree,
                revision,
                stats,
            }
            .run(receiver)
        })
        .map_err(|e| StoreError::Storage {
            detail: format!("cannot start the writer thread: {e}"),
        })?;
    Ok((sender, handle))
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
            let mut staged = Staged::new(&self.tree, &pending, revision);
            let result = apply(&mut staged, command.mutation, &command.context);
            if result.is_ok() {
                revision = staged.revision;
                let writes = staged.writes;
                pending.writes.extend(writes);
            }
            answers.push((command.reply, result));
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
            Ok(()) => self.revision = revision,
            Err(e) => {
                tracing::error!(error = %e, "a write group could not be committed; its callers are told");
                // What is on disk is the truth: start again from its revision.
                self.revision = read_revision(&self.tree).unwrap_or(self.revision);
                for (_, result) in &mut answers {
                    if result.is_ok() {
                        *result = Err(e.clone());
                    }
                }
            }
        }
        for (reply, result) in answers {
            // A caller that went away no longer needs its answer; the write stands.
            let _ = reply.send(result);
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
        self.tree.flush()?;
        Ok(())
    }
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
