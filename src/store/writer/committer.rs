//! The committer: applies and flushes the groups the writer staged, one at a time, in
//! order, and answers their callers once they are on disk.
//!
//! Checking a group (reading what it depends on, encoding records) and writing it (the
//! engine's batches, then the flush) each took about half the writer's time, one after the
//! other. On its own thread the committer writes one group while the writer checks the
//! next, so the two halves overlap. The writer hands a group over only once the committer
//! has finished the one before, so at most one group is in the committer's hands, and the
//! writer reads that group's writes from its own copy until then.
//!
//! After each group the committer tells the writer how it went, which is also the sign
//! that it is free. When a group cannot be written, the committer has the engine recover
//! at once ([`Engine::recover`]), so reads go on, and the writer fails what it staged on
//! top of the lost group and refuses writes until the engine takes them again (see
//! [`super::Writer::ready`]). Should the committer thread die, its end of that channel
//! closes, and the writer refuses writes from then on instead of waiting for it.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc as tokio_mpsc, watch};

use super::command::Answer;
use super::staged::Pending;
use super::stats::WriteStats;
use crate::store::engine::Engine;
use crate::store::{StorageFault, StoreError};

/// How often a failed flush of an applied batch is retried before the group fails.
const FLUSH_RETRIES: u64 = 3;

/// A staged group, handed over to be written.
pub(super) struct Group {
    pub(super) writes: Arc<Pending>,
    pub(super) answers: Vec<Answer>,
    /// The revision of the group's last change, announced once it is on disk.
    pub(super) revision: u64,
}

/// Why a group could not be written, told to the writer.
pub(super) struct Failure(pub(super) StoreError);

/// How a group went: the committer sends one after each group.
pub(super) type Finished = Result<(), Failure>;

/// The committer's inbox, its reports, and the thread.
pub(super) type Spawned = (
    mpsc::SyncSender<Group>,
    tokio_mpsc::UnboundedReceiver<Finished>,
    std::thread::JoinHandle<()>,
);

pub(super) fn spawn<E: Engine>(
    engine: Arc<E>,
    stats: Arc<WriteStats>,
    committed: Arc<watch::Sender<u64>>,
) -> Result<Spawned, StoreError> {
    // One place: the writer hands a group over only when told the last one is finished.
    let (jobs, inbox) = mpsc::sync_channel(1);
    let (reports, news) = tokio_mpsc::unbounded_channel();
    let handle = std::thread::Builder::new()
        .name("registry-commit".into())
        .spawn(move || {
            Committer {
                engine,
                stats,
                committed,
                reports,
            }
            .run(inbox)
        })
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("cannot start the commit thread: {e}"),
        })?;
    Ok((jobs, news, handle))
}

struct Committer<E> {
    engine: Arc<E>,
    stats: Arc<WriteStats>,
    /// Tells change-feed watchers the revision of the last change on disk.
    committed: Arc<watch::Sender<u64>>,
    /// Tells the writer how each group went, once its callers are answered.
    reports: tokio_mpsc::UnboundedSender<Finished>,
}

impl<E: Engine> Committer<E> {
    fn run(mut self, inbox: mpsc::Receiver<Group>) {
        for group in inbox {
            let finished = self.commit(group);
            // The writer outlives the committer; should it be gone, nobody is left to tell.
            let _ = self.reports.send(finished);
        }
        if let Err(e) = self.engine.flush() {
            tracing::error!(error = %e, "final flush of the registry failed");
        }
    }

    fn commit(&mut self, group: Group) -> Finished {
        let Group {
            writes,
            mut answers,
            revision,
        } = group;

        let started = Instant::now();
        let written = write(&*self.engine, &writes);
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
        self.stats
            .mutations
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
        self.stats
            .flush_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);

        let finished = match written {
            Ok(()) => {
                // Never back: on a shared engine the poller may have told of a later
                // group of another server's already.
                self.committed.send_if_modified(|seen| {
                    let later = revision > *seen;
                    *seen = (*seen).max(revision);
                    later
                });
                Ok(())
            }
            Err(error) => {
                // Refusals too: they may rest on an earlier mutation of the group, lost.
                for answer in &mut answers {
                    answer.fail(&error);
                }
                self.enter_fault(&error);
                Err(Failure(error))
            }
        };
        for answer in answers {
            answer.send();
        }
        finished
    }

    /// Makes reads go on after a failed write: an engine may fail reads too after an I/O
    /// error (sled does), or hold in memory the group it could not write; recovering makes
    /// readers see exactly what is on disk. Should it fail, the writer's probe tries again.
    fn enter_fault(&mut self, error: &StoreError) {
        if let StoreError::Storage { fault, .. } = error {
            tracing::error!(
                %fault, %error,
                "the registry cannot write to its data directory: writes are refused until it can, reads go on"
            );
        }
        self.stats.faulted.store(true, Ordering::Relaxed);
        if let Err(e) = self.engine.recover(error) {
            tracing::error!(error = %e, "the database cannot be opened again yet; reads fail until it can");
        }
    }
}

/// Applies a group's writes, an atomic batch per chunk, and flushes them once.
fn write<E: Engine>(engine: &E, pending: &Pending) -> Result<(), StoreError> {
    if pending.is_empty() {
        // A shared engine holds the other servers' writers off until the group's flush.
        return match engine.is_shared() {
            true => engine.flush(),
            false => Ok(()),
        };
    }
    for chunk in pending.chunks() {
        engine.apply(chunk)?;
    }
    flush_applied(engine)
}

/// Flushes an applied batch. On an engine whose flush only waits for the disk, a failed
/// flush is tried again a few times before the group fails: the batch is applied, and must
/// not be reported as "nothing written" while readers already see it. On one whose flush
/// is a commit, the first failure is the group's (see [`Engine::flush_can_retry`]).
pub(in crate::store) fn flush_applied<E: Engine>(engine: &E) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        match engine.flush() {
            Ok(()) => return Ok(()),
            Err(e) if attempt < FLUSH_RETRIES && engine.flush_can_retry() => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "flush failed; retrying");
                std::thread::sleep(std::time::Duration::from_millis(50 * attempt));
            }
            Err(e) => return Err(e),
        }
    }
}
