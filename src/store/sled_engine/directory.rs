//! The data directory around sled's files: a lock for this process, and the disk reserve.
//! The directory is its owner's alone (0700 on Unix): sled creates its files inside with
//! the process's umask, and they hold identity numbers.
//!
//! One process at a time: a lock file is taken before anything else is touched, so a
//! second server started on the same directory by mistake is refused before it can
//! rewrite or remove the first one's reserve (sled's own lock is taken only as sled opens,
//! after the reserve).
//!
//! The reserve is a file of zeros (a "ballast" file) set aside so that sled, which must
//! write to open, can open again on a full disk once the file is removed. Writing it back
//! whole is the probe that shows the disk has room again.

use std::io::Write;
use std::path::Path;

use crate::private_files::create_private_dir;
use crate::store::{StorageFault, StoreError};

/// Bytes the probe writes at least: a disk with only a sliver free still counts as full.
const MIN_PROBE_BYTES: u64 = 1024 * 1024;
/// The reserve's file, inside the data directory.
const RESERVE_FILE: &str = "disk-reserve";
/// The lock file, inside the data directory, held while the database is open.
const LOCK_FILE: &str = "registry.lock";

/// Creates the directory if need be, readable by its owner only (sled's files inside
/// hold identity numbers), and locks it for this process.
pub(super) fn lock(dir: &Path) -> Result<std::fs::File, StoreError> {
    create_private_dir(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!(
                "another process has {} open (a server, or compact, verify or restore)",
                dir.display()
            ),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// The size of the reserve file, if there is one.
pub(super) fn reserve_len(dir: &Path) -> Option<u64> {
    std::fs::metadata(dir.join(RESERVE_FILE))
        .ok()
        .map(|m| m.len())
}

pub(super) fn has_reserve(dir: &Path) -> bool {
    dir.join(RESERVE_FILE).exists()
}

/// Writes the reserve file whole and syncs it: Ok when the disk takes data again. Without
/// a reserve, a small file is written and removed instead. A partial file is removed, so
/// a failed probe leaves the space it found.
pub(super) fn probe(dir: &Path, reserve_bytes: u64) -> Result<(), StoreError> {
    let path = dir.join(RESERVE_FILE);
    let written = write_zeros(&path, reserve_bytes.max(MIN_PROBE_BYTES));
    if written.is_err() || reserve_bytes == 0 {
        let _ = std::fs::remove_file(&path);
    }
    Ok(written?)
}

/// Frees the reserve, so the database can be opened on a full disk.
pub(super) fn release_reserve(dir: &Path, reserve_bytes: u64) {
    match std::fs::remove_file(dir.join(RESERVE_FILE)) {
        Ok(()) => tracing::warn!(bytes = reserve_bytes, "the disk reserve is freed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(error = %e, "cannot free the disk reserve"),
    }
}

/// Writes `bytes` zeros to `path` and syncs it.
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
