//! The open sled database, and opening it again after a disk fault.
//!
//! sled 0.34 remembers the first I/O error it meets (a full disk, a read-only remount) and
//! refuses every later write, and some reads, with it, even once space has returned: the
//! only way back is to drop the database and open it again. So readers do not keep their
//! own handle; they borrow the current tree for one operation, and the writer, after a
//! failed write, swaps in a freshly opened database. Opening again also drops whatever
//! sled held in memory but never got onto disk, so readers see exactly what is on disk.
//!
//! sled writes as it opens, so on a full disk it cannot open at all. Hence the reserve: a
//! file of zeros set aside in the data directory (a "ballast" file), removed when the disk
//! fills so the database can open again and serve reads. Writing it back is the probe
//! that shows the disk has room again: writes resume only once the reserve is whole.
//!
//! One process at a time: a lock file in the data directory is taken before anything else
//! is touched, so a second server started on the same directory by mistake is refused
//! before it can rewrite or remove the first one's reserve (sled's own lock is taken only
//! as sled opens, after the reserve).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Duration;

use crate::store::{keys, StorageFault, StoreError, StoreOptions};

/// Bytes the probe writes at least: a disk with only a sliver free still counts as full.
const MIN_PROBE_BYTES: u64 = 1024 * 1024;
/// The reserve's file, inside the data directory.
const RESERVE_FILE: &str = "disk-reserve";
/// How long opening again waits for the last reader to let go of the old database.
const REOPEN_ATTEMPTS: u32 = 40;
/// The lock file, inside the data directory, held while the database is open.
const LOCK_FILE: &str = "registry.lock";

/// The data directory and the database currently open on it.
pub(crate) struct Database {
    path: PathBuf,
    cache_capacity: u64,
    reserve_bytes: u64,
    open: RwLock<Option<Open>>,
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

impl Database {
    pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<Database, StoreError> {
        // The reserve is set aside before sled starts: while it is being written it may
        // fill a small disk for a moment, and a sled flusher that met that moment would
        // fail for good.
        let lock = lock(path)?;
        let reserve_bytes = options.disk_reserve_bytes;
        let reserve = std::fs::metadata(path.join(RESERVE_FILE)).map(|m| m.len());
        if reserve_bytes > 0 && reserve.ok() != Some(reserve_bytes) {
            let set_aside = probe(path, reserve_bytes);
            if let Err(e) = set_aside {
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
            ) if path.join(RESERVE_FILE).exists() => {
                release_reserve(path, reserve_bytes);
                (open(path, options.cache_capacity)?, Some(error))
            }
            opened => (opened?, None),
        };
        Ok(Database {
            path: path.to_path_buf(),
            cache_capacity: options.cache_capacity,
            reserve_bytes,
            open: RwLock::new(Some(open)),
            open_fault,
            _lock: lock,
        })
    }

    /// The full disk the database met as it opened, if its reserve had to be freed.
    pub(crate) fn open_fault(&self) -> Option<StoreError> {
        self.open_fault.clone()
    }

    /// The registry's tree, for one operation: do not hold it longer, or the writer cannot
    /// open the database again after a fault.
    pub(crate) fn tree(&self) -> Result<sled::Tree, StoreError> {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        match open.as_ref() {
            Some(open) => Ok(open.tree.clone()),
            None => Err(StoreError::Storage {
                fault: StorageFault::Failed,
                detail: "the database is being opened again after a disk fault".into(),
            }),
        }
    }

    pub(crate) fn size_on_disk(&self) -> Result<u64, StoreError> {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        match open.as_ref() {
            Some(open) => Ok(open.db.size_on_disk()?),
            None => Ok(0),
        }
    }

    /// Writes the reserve file whole and syncs it: Ok when the disk takes data again.
    /// Without a reserve, a small file is written and removed instead. A partial file is
    /// removed, so a failed probe leaves the space it found.
    pub(crate) fn probe(&self) -> Result<(), StoreError> {
        probe(&self.path, self.reserve_bytes)
    }

    /// Frees the reserve, so the database can be opened on a full disk.
    pub(crate) fn release_reserve(&self) {
        release_reserve(&self.path, self.reserve_bytes);
    }

    /// Drops the current database and opens the directory again. Readers in between are
    /// told the storage is unavailable; if opening fails, they stay so until the next try.
    pub(crate) fn reopen(&self) -> Result<(), StoreError> {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        open.take();
        let mut attempt = 0;
        loop {
            // sled locks its directory; a reader that borrowed the old tree just before
            // the swap releases it within moments.
            match self::open(&self.path, self.cache_capacity) {
                Ok(fresh) => {
                    *open = Some(fresh);
                    return Ok(());
                }
                Err(e) if attempt < REOPEN_ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "opening the database again");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Writes `bytes` zeros to `path` and syncs it.
/// Creates the directory if need be and locks it for this process.
fn lock(dir: &Path) -> Result<std::fs::File, StoreError> {
    let io = |e: std::io::Error| StoreError::from(sled::Error::Io(e));
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!(
                "another process has {} open (a server, or compact, verify or restore)",
                dir.display()
            ),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// See [`Database::probe`].
fn probe(dir: &Path, reserve_bytes: u64) -> Result<(), StoreError> {
    let path = dir.join(RESERVE_FILE);
    let written = write_zeros(&path, reserve_bytes.max(MIN_PROBE_BYTES));
    if written.is_err() || reserve_bytes == 0 {
        let _ = std::fs::remove_file(&path);
    }
    written.map_err(|e| StoreError::from(sled::Error::Io(e)))
}

/// See [`Database::release_reserve`].
fn release_reserve(dir: &Path, reserve_bytes: u64) {
    match std::fs::remove_file(dir.join(RESERVE_FILE)) {
        Ok(()) => tracing::warn!(bytes = reserve_bytes, "the disk reserve is freed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(error = %e, "cannot free the disk reserve"),
    }
}

fn write_zeros(path: &Path, bytes: u64) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let chunk = vec![0u8; MIN_PROBE_BYTES as usize];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64);
        file.write_all(&chunk[..n as usize])?;
        left -= n;
    }
    file.sync_all()
}

fn open(path: &Path, cache_capacity: u64) -> Result<Open, StoreError> {
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(cache_capacity)
        .open()?;
    let tree = db.open_tree(keys::REGISTRY_TREE)?;
    Ok(Open { db, tree })
}
