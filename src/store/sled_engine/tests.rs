use std::ops::Bound::Unbounded;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::store::{Store, CHECKPOINT_AFTER_COMMANDS};

fn open_in(dir: &Path) -> SledEngine {
    SledEngine::open(dir, &StoreOptions::default()).unwrap()
}

mod conformance {
    crate::store::engine::conformance::engine_conformance!(super::open_in);
}

fn fault_of(error: std::io::Error) -> StorageFault {
    match StoreError::from(sled::Error::Io(error)) {
        StoreError::Storage { fault, .. } => fault,
        other => panic!("not a storage error: {other:?}"),
    }
}

#[test]
fn io_errors_are_told_apart_by_what_an_operator_can_do() {
    use std::io::{Error, ErrorKind};
    assert_eq!(
        fault_of(Error::from_raw_os_error(28)),
        StorageFault::DiskFull
    );
    assert_eq!(
        fault_of(Error::from_raw_os_error(122)),
        StorageFault::DiskFull
    );
    assert_eq!(
        fault_of(Error::from_raw_os_error(30)),
        StorageFault::ReadOnly
    );
    assert_eq!(fault_of(Error::from_raw_os_error(5)), StorageFault::Failed);
    // sled hands later callers a copy of its first error that keeps only the kind.
    let copied = |kind| Error::new(kind, "copied");
    assert_eq!(
        fault_of(copied(ErrorKind::StorageFull)),
        StorageFault::DiskFull
    );
    assert_eq!(
        fault_of(copied(ErrorKind::ReadOnlyFilesystem)),
        StorageFault::ReadOnly
    );
    assert_eq!(
        fault_of(copied(ErrorKind::PermissionDenied)),
        StorageFault::ReadOnly
    );
    assert_eq!(fault_of(copied(ErrorKind::Other)), StorageFault::Failed);
    let corrupt = StoreError::from(sled::Error::Unsupported("x".into()));
    assert!(matches!(
        corrupt,
        StoreError::Storage {
            fault: StorageFault::Failed,
            ..
        }
    ));
}

/// While a scan holds the old database, opening again has to retry; readers meanwhile
/// are told at once, not held until the retries end.
#[test]
fn readers_are_told_at_once_while_the_database_is_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_in(dir.path());
    engine.apply(&[(b"k", Some(b"v"))]).unwrap();
    let held = engine.range(Unbounded, Unbounded).unwrap();
    std::thread::scope(|threads| {
        let reopen = threads.spawn(|| engine.checkpoint());
        let started = Instant::now();
        while engine.is_open() {
            std::thread::yield_now();
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "a reader waited for the reopen"
        );
        for _ in 0..3 {
            let asked = Instant::now();
            let read = engine.get(b"k");
            assert!(matches!(read, Err(StoreError::Storage { .. })), "{read:?}");
            assert!(
                asked.elapsed() < Duration::from_millis(100),
                "a reader waited"
            );
            assert!(
                !reopen.is_finished(),
                "the reopen ended while a scan held the database"
            );
            std::thread::sleep(REOPEN_PAUSE);
        }
        drop(held);
        reopen.join().unwrap().unwrap();
    });
    assert_eq!(engine.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
}

/// The highest-numbered sled snapshot file in `dir`.
fn latest_snapshot(dir: &Path) -> Option<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("snap."))
        .max_by_key(|name| u64::from_str_radix(&name[5..], 16).unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_after_many_writes_writes_a_recovery_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let first = latest_snapshot(dir.path());
    let count = u32::try_from(CHECKPOINT_AFTER_COMMANDS).unwrap();
    crate::store::fixtures::create_numbered_teachers(&store, count).await;
    crate::store::fixtures::close(store).await;
    let last = latest_snapshot(dir.path());
    assert!(last.is_some() && last != first, "{first:?} then {last:?}");
    // And the registry opens again with everything in it.
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    assert_eq!(store.revision().unwrap(), CHECKPOINT_AFTER_COMMANDS);
}
