//! Store reads, off the tokio workers.
//!
//! The store's reads are synchronous sled calls, and sled 0.34 stops every read for the
//! length of an `apply_batch` (and a county scan or a backup chunk takes long on its own).
//! Made on a runtime worker, such a read stalls every other request that worker serves:
//! with two workers, two stalled reads stop the whole server, health checks included. So
//! every read a handler makes goes through [`ReadPool::read`], which runs it on tokio's
//! blocking pool and only awaits it on the worker.
//!
//! At most [`MAX_CONCURRENT_READS`] run at once; the rest wait for a permit without a
//! thread. Unbounded, every read in flight while a batch holds sled's lock takes a blocking
//! thread of its own (tokio grows the pool to 512), each with its stack and its own
//! mimalloc heap, to wait for the same lock; on two cores more threads than that serve no
//! more reads, and 32 still keep a disk's queue full when reads miss the page cache.
//! `tests/blocking_reads.rs` counts the threads: 200 reads held by sled's lock add 32 with
//! the bound, and added 200 with it raised out of reach. Permits are taken in order
//! (tokio's semaphore is fair), and a long scan reads a chunk per permit, so it does not
//! keep small reads out for long.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinError;
use tonic::Status;

use crate::store::{Reads, Store, StoreError};

/// Store reads running on the blocking pool at once, across all requests.
pub const MAX_CONCURRENT_READS: usize = 32;

/// Runs store reads on the blocking pool, a bounded number at a time. Cheap to clone:
/// clones share the store and the bound.
#[derive(Clone)]
pub(super) struct ReadPool {
    store: Store,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    pub(super) fn new(store: Store, max_concurrent: usize) -> Self {
        Self {
            store,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// Runs `read` on the blocking pool once a permit is free, and returns its result as a
    /// Status on failure. A read that panics is INTERNAL; one the runtime dropped before it
    /// ran (the server is shutting down) is CANCELLED. A caller that goes away stops
    /// waiting, but the permit stays taken until the read itself ends.
    pub(super) async fn read<T, F>(&self, read: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("the registry is shutting down"))?;
        let store = self.store.clone();
        let span = tracing::Span::current();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _entered = span.enter();
            read(&store)
        })
        .await
        .map_err(read_failed)?;
        Ok(result?)
    }
}

/// A store operation that reads as a handler does (the title transition's run).
impl Reads for ReadPool {
    type Error = Status;

    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, Status>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        ReadPool::read(self, read)
    }

    fn write_failed(error: StoreError) -> Status {
        error.into()
    }
}

fn read_failed(error: JoinError) -> Status {
    if error.is_panic() {
        tracing::error!(%error, "a store read panicked");
        Status::internal("a store read failed unexpectedly; the operator has been alerted")
    } else {
        Status::cancelled("the store read was cancelled: the registry is shutting down")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainError;
    use crate::store::StoreOptions;
    use tonic::Code;

    const PERMITS: usize = 2;

    fn pool() -> (ReadPool, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        (ReadPool::new(store, PERMITS), dir)
    }

    #[tokio::test]
    async fn a_read_answers_and_a_refusal_keeps_its_status() {
        let (pool, _dir) = pool();
        assert_eq!(pool.read(|s| s.revision()).await.unwrap(), 0);
        let status = pool
            .read(|_| -> Result<(), StoreError> {
                Err(DomainError::NotFound { what: "teacher" }.into())
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }

    #[tokio::test]
    async fn a_panicking_read_is_internal_and_frees_its_permit() {
        let (pool, _dir) = pool();
        for _ in 0..=PERMITS {
            let status = pool
                .read(|_| -> Result<(), StoreError> { panic!("secret detail") })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::Internal);
            assert!(!status.message().contains("secret"), "{status:?}");
        }
        assert_eq!(pool.permits.available_permits(), PERMITS);
    }

    #[tokio::test]
    async fn a_read_the_runtime_dropped_is_cancelled() {
        let never = tokio::spawn(std::future::pending::<()>());
        never.abort();
        let error = never.await.unwrap_err();
        assert!(error.is_cancelled());
        assert_eq!(read_failed(error).code(), Code::Cancelled);
    }
}
