//! sled 0.34 as the store's engine (see [`Engine`]): the only module that knows sled. It
//! keeps everything in one tree, and holds what only sled needs: the reopen after a fault,
//! the disk reserve and the directory lock (see [`directory`]), the recovery snapshot on a
//! graceful close, and offline compaction (see [`compact`]).
//!
//! sled 0.34 remembers the first I/O error it meets (a full disk, a read-only remount) and
//! refuses every later write, and some reads, with it, even once space has returned: the
//! only way back is to drop the database and open it again. So nothing keeps a handle:
//! each operation uses the current tree, and after a failed write
//! ([`Engine::recover`]) a freshly opened database is swapped in. Opening again also drops
//! whatever sled held in memory but never got onto disk, so readers see exactly what is on
//! disk. sled locks its directory, so the new database opens only once the last borrow of
//! the old one is let go of (a scan holds one while it runs): the reopen retries for a
//! while, and meanwhile readers are told at once that storage is unavailable, instead of
//! waiting on a lock for as long as the retries take.
//!
//! sled writes as it opens, so on a full disk it cannot open at all: hence the reserve, a
//! file set aside in the data directory and freed when the disk fills, so the database can
//! open again and serve reads. Writing it back is the probe that shows the disk has room
//! again ([`Engine::probe`]): writes resume only once the reserve is whole.
//!
//! sled has no snapshot reads: an iterator reads a node at a time, each at the moment it
//! gets there, and `apply_batch` holds a lock that every read waits for, so no read sees
//! part of a batch.

pub(super) mod compact;
mod directory;

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::store::engine::Engine;
use crate::store::{StorageFault, StoreError, StoreOptions};

/// The name of the tree that holds everything.
const REGISTRY_TREE: &str = "registry";
/// How many times opening again retries while a borrow of the old database is let go of.
const REOPEN_ATTEMPTS: u32 = 40;
/// The pause between two of those tries.
const REOPEN_PAUSE: Duration = Duration::from_millis(50);

/// The data directory and the sled database currently open on it.
pub(crate) struct SledEngine {
    path: PathBuf,
    cache_capacity: u64,
    reserve_bytes: u64,
    /// Locked for reading for one operation on the tree (or to borrow it for a scan), and
    /// for writing only to take the old database out or put a new one in: never while
    /// sled opens.
    open: RwLock<Option<Open>>,
    /// Held for a whole reopen, so two never interleave; readers never touch it.
    reopening: Mutex<()>,
    /// Why the reserve had to be freed for the database to open (a full disk), if it had:
    /// the writer starts in that fault, so writes wait until the reserve is whole again.
    open_fault: Option<StoreError>,
    /// Held (locked) for as long as this process has the directory.
    _lock: std::fs::File,
}

struct Open {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledEngine {
    /// Locks the data directory (creating it if need be), sets the reserve aside, and
    /// opens the database, freeing the reserve if the disk is too full for sled to open.
    pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<SledEngine, StoreError> {
        // The reserve is set aside before sled starts: while it is being written it may
        // fill a small disk for a moment, and a sled flusher that met that moment would
        // fail for good.
        let lock = directory::lock(path)?;
        let reserve_bytes = options.disk_reserve_bytes;
        if reserve_bytes > 0 && directory::reserve_len(path) != Some(reserve_bytes) {
            if let Err(e) = directory::probe(path, reserve_bytes) {
                tracing::warn!(
                    error = %e, bytes = reserve_bytes,
                    "cannot set aside the disk reserve: if the disk fills, reads stop too"
                );
            }
        }
        let (open, open_fault) = match open(path, options.cache_capacity) {
            Err(
                error @ StoreError::Storage {
                    fault: StorageFault::DiskFull,
                    ..
                },
            ) if directory::has_reserve(path) => {
                directory::release_reserve(path, reserve_bytes);
                (open(path, options.cache_capacity)?, Some(error))
            }
            opened => (opened?, None),
        };
        Ok(SledEngine {
            path: path.to_path_buf(),
            cache_capacity: options.cache_capacity,
            reserve_bytes,
            open: RwLock::new(Some(open)),
            reopening: Mutex::new(()),
            open_fault,
            _lock: lock,
        })
    }

    /// Runs one operation on the registry's tree.
    fn with_tree<T>(
        &self,
        operation: impl FnOnce(&sled::Tree) -> sled::Result<T>,
    ) -> Result<T, StoreError> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        match open.as_ref() {
            Some(open) => Ok(operation(&open.tree)?),
            None => Err(reopening()),
        }
    }

    fn is_open(&self) -> bool {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        open.is_some()
    }

    /// Drops the current database and opens the directory again. Readers are told the
    /// storage is unavailable until it is open, at once: the lock that guards the
    /// database is taken only to take the old one out and to put the new one in. If
    /// opening fails, they stay so until the next reopen.
    fn reopen(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self
            .reopening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Outside the lock: sled flushes and stops its threads as its last handle goes.
        drop(old);
        let mut attempt = 0;
        let fresh = loop {
            // sled locks its directory; a reader that borrowed the old tree just before
            // the swap releases it within moments.
            match open(&self.path, self.cache_capacity) {
                Ok(fresh) => break fresh,
                Err(e) if attempt < REOPEN_ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "opening the database again");
                    std::thread::sleep(REOPEN_PAUSE);
                }
                Err(e) => return Err(e),
            }
        };
        *self.open.write().unwrap_or_else(PoisonError::into_inner) = Some(fresh);
        Ok(())
    }
}

impl Engine for SledEngine {
    type Bytes = sled::IVec;
    type Scan = Scan;

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        self.with_tree(|tree| tree.get(key))
    }

    /// The scan holds its own handle on the tree (as long as it lives, the database cannot
    /// be opened again).
    fn range(&self, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Result<Scan, StoreError> {
        self.with_tree(|tree| Ok(Scan(tree.range::<&[u8], _>((from, to)))))
    }

    fn apply<K, V>(&self, writes: &[(K, Option<V>)]) -> Result<(), StoreError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        // Built before it is applied, outside sled's lock, which gives reads their turn.
        let mut batch = sled::Batch::default();
        for (key, value) in writes {
            match value {
                Some(value) => batch.insert(key.as_ref(), value.as_ref()),
                None => batch.remove(key.as_ref()),
            }
        }
        self.with_tree(|tree| tree.apply_batch(batch))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.with_tree(|tree| tree.flush().map(drop))
    }

    fn opened_in_fault(&self) -> Option<StoreError> {
        self.open_fault.clone()
    }

    /// Frees the reserve if the disk is full, so sled can open, and opens it again.
    fn recover(&self, error: &StoreError) -> Result<(), StoreError> {
        if matches!(
            error,
            StoreError::Storage {
                fault: StorageFault::DiskFull,
                ..
            }
        ) {
            directory::release_reserve(&self.path, self.reserve_bytes);
        }
        self.reopen()
    }

    /// Writes the reserve file whole and syncs it (without a reserve, a small file is
    /// written and removed instead; a partial file is removed, so a failed probe leaves
    /// the space it found), then opens the database again if [`Engine::recover`] could not.
    fn probe(&self) -> Result<(), StoreError> {
        directory::probe(&self.path, self.reserve_bytes)?;
        match self.is_open() {
            true => Ok(()),
            false => self.reopen(),
        }
    }

    /// sled writes its recovery snapshot only as it opens, so the next start would replay
    /// every write since this one began: seconds after a bulk import. Opening again now
    /// moves that cost to this (graceful) close.
    fn checkpoint(&self) -> Result<(), StoreError> {
        self.reopen()
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        match open.as_ref() {
            Some(open) => Ok(open.db.size_on_disk()?),
            None => Ok(0),
        }
    }
}

/// A scan of the tree, with sled's errors told as the store's.
pub(crate) struct Scan(sled::Iter);

impl Iterator for Scan {
    type Item = Result<(sled::IVec, sled::IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map_err(StoreError::from))
    }
}

fn reopening() -> StoreError {
    StoreError::Storage {
        fault: StorageFault::Failed,
        detail: "the database is being opened again after a disk fault".into(),
    }
}

/// Opens sled on `path`. sled's own lock on its files can outlive the handle that took it
/// by moments (its flusher thread stops after the last handle goes); the directory lock,
/// taken before, keeps other processes out, so a busy sled lock here is this process's
/// previous handle on its way out, and opening is tried again for a while.
fn open(path: &Path, cache_capacity: u64) -> Result<Open, StoreError> {
    let db = open_db(
        sled::Config::new()
            .path(path)
            .cache_capacity(cache_capacity),
    )?;
    let tree = db.open_tree(REGISTRY_TREE)?;
    Ok(Open { db, tree })
}

/// Opens the sled database `config` names, waiting out sled's lock while this process's
/// previous handle on it lets go (see [`open`]); `compact` opens through it too, right
/// after a restore closed the store it built.
pub(super) fn open_db(config: sled::Config) -> Result<sled::Db, StoreError> {
    let mut attempt = 0;
    loop {
        match config.open() {
            // sled 0.34 reports it as ErrorKind::Other with this message (config.rs).
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && attempt < REOPEN_ATTEMPTS =>
            {
                attempt += 1;
                std::thread::sleep(REOPEN_PAUSE);
            }
            opened => return Ok(opened?),
        }
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        let fault = match &e {
            sled::Error::Io(io) => StorageFault::of(io),
            _ => StorageFault::Failed,
        };
        StoreError::Storage {
            fault,
            detail: e.to_string(),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::from(sled::Error::Io(e))
    }
}

#[cfg(test)]
mod tests;
