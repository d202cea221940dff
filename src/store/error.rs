//! The store's one error type, and the kinds of storage failure a caller can act on.
//!
//! Every module of the store returns it, so it sits in a module of its own that depends on
//! nothing else of the store: the modules that fail point here, and this points nowhere back.

use crate::domain::DomainError;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The registry refuses the request; nothing changed.
    #[error(transparent)]
    Rejected(#[from] DomainError),
    /// The disk or the storage engine failed; the operation may not have been applied.
    #[error("storage failure ({fault}): {detail}")]
    Storage { fault: StorageFault, detail: String },
    /// A stored value could not be decoded.
    #[error("corrupt value at key {key:?}: {detail}")]
    Corrupt { key: String, detail: String },
    /// The store is shutting down and takes no more writes.
    #[error("the registry is shutting down")]
    Closed,
}

/// What kind of storage failure, as far as a caller can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// No space left on the data directory's file system (or the quota is used up).
    DiskFull,
    /// The data directory cannot be written: a read-only file system or no permission.
    ReadOnly,
    /// Any other I/O or database failure.
    Failed,
}

impl std::fmt::Display for StorageFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StorageFault::DiskFull => "disk full",
            StorageFault::ReadOnly => "read-only",
            StorageFault::Failed => "failed",
        })
    }
}

impl StorageFault {
    pub(crate) fn of(error: &std::io::Error) -> StorageFault {
        use std::io::ErrorKind;
        match (error.kind(), error.raw_os_error()) {
            (ErrorKind::StorageFull | ErrorKind::QuotaExceeded, _) => StorageFault::DiskFull,
            (ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied, _) => {
                StorageFault::ReadOnly
            }
            // ENOSPC, EDQUOT; EROFS
            (_, Some(28 | 122)) => StorageFault::DiskFull,
            (_, Some(30)) => StorageFault::ReadOnly,
            _ => StorageFault::Failed,
        }
    }
}
