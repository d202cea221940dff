//! On a shared engine (several servers on one PostgreSQL database), the groups other
//! servers commit: a thread reads the committed revision every [`INTERVAL`] and tells
//! this server's change-feed watchers when it has moved on.
//!
//! A server that reads a standby follows the standby's revision the same way
//! ([`follow`]), and only that one: the standby replays the primary's groups in commit
//! order, and a feed told a revision there reads every change up to it there.
//!
//! The feed stays gap-free: writers take revisions one group after another under one lock
//! (see [`Engine::begin_group`]), so when revision R is committed every revision before it
//! is too, and a watcher told R reads every change up to it. A shared engine shows only
//! what is committed (see [`crate::store::engine`]), so the revision read is never this
//! server's own group in flight.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::engine::Engine;
use crate::store::{codec, keys, StorageFault, StoreError};

/// How often the committed revision is read: what a watcher on one server waits, at most
/// and beyond the read itself, to hear of another server's change.
pub(super) const INTERVAL: Duration = Duration::from_millis(50);

/// The polling thread; stopped and joined when dropped.
pub(crate) struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the revision poller panicked");
            }
        }
    }
}

pub(super) fn spawn<E: Engine>(
    engine: Arc<E>,
    committed: Arc<watch::Sender<u64>>,
) -> Result<Poller, StoreError> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("registry-poll".into())
        .spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(INTERVAL);
                match committed_revision(&*engine) {
                    Ok(revision) => {
                        committed.send_if_modified(|seen| {
                            let later = revision > *seen;
                            *seen = (*seen).max(revision);
                            later
                        });
                    }
                    Err(error) => tracing::debug!(%error, "cannot read the committed revision"),
                }
            }
        })
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("cannot start the revision poller: {e}"),
        })?;
    Ok(Poller {
        stop,
        thread: Some(thread),
    })
}

/// A watch of the revision `engine` shows, kept up to date by a poller.
pub(crate) fn follow<E: Engine + Send + Sync + 'static>(
    engine: Arc<E>,
) -> Result<(watch::Receiver<u64>, Poller), StoreError> {
    let (sender, receiver) = watch::channel(committed_revision(&*engine)?);
    let poller = spawn(engine, Arc::new(sender))?;
    Ok((receiver, poller))
}

fn committed_revision<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    Ok(match engine.get(keys::META_REVISION)? {
        Some(bytes) => codec::decode(keys::META_REVISION, &bytes)?,
        None => 0,
    })
}
