use std::ops::Bound::Unbounded;
use std::path::Path;

use super::cluster::ThrowawayCluster;
use super::*;

/// The engine on the cluster's database for `dir`: the same directory, the same database.
fn open_in(dir: &Path) -> PostgresEngine {
    let cluster = ThrowawayCluster::get().expect("a cluster");
    PostgresEngine::open(&cluster.database_for(dir)).unwrap()
}

fn cluster_available() -> Result<(), String> {
    ThrowawayCluster::get().map(drop)
}

mod conformance {
    crate::store::engine::conformance::engine_conformance!(
        super::open_in,
        super::cluster_available
    );
}

fn keys(engine: &PostgresEngine) -> Vec<Vec<u8>> {
    engine
        .range(Unbounded, Unbounded)
        .unwrap()
        .map(|pair| pair.unwrap().0)
        .collect()
}

/// Another server sees a group only once it is committed; the server that applied it
/// sees it at once; a recovered engine forgets what it had not committed.
#[test]
fn applied_writes_are_seen_here_at_once_and_elsewhere_only_once_flushed() {
    let Ok(cluster) = ThrowawayCluster::get() else {
        return eprintln!("skipped: {}", cluster_available().unwrap_err());
    };
    let url = cluster.fresh_database("overlay");
    let here = PostgresEngine::open(&url).unwrap();
    let there = PostgresEngine::open(&url).unwrap();
    here.apply(&[(b"a".as_slice(), Some(b"1".as_slice()))])
        .unwrap();
    assert_eq!(here.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(there.get(b"a").unwrap(), None, "not committed yet");
    here.flush().unwrap();
    assert_eq!(there.get(b"a").unwrap(), Some(b"1".to_vec()));

    here.apply(&[
        (b"a".as_slice(), None),
        (b"b".as_slice(), Some(b"2".as_slice())),
    ])
    .unwrap();
    assert_eq!(
        keys(&here),
        [b"b".to_vec()],
        "a removal hides a committed key"
    );
    assert_eq!(keys(&there), [b"a".to_vec()]);
    let lost = StoreError::Storage {
        fault: StorageFault::Failed,
        detail: "a test".into(),
    };
    here.recover(&lost).unwrap();
    assert_eq!(keys(&here), [b"a".to_vec()], "what is committed, only");
    here.flush().unwrap();
    assert_eq!(keys(&there), [b"a".to_vec()], "nothing left to commit");
    here.probe().unwrap();
}

/// Scans that span many pages merge the overlay's writes into each page once.
#[test]
fn a_long_scan_merges_uncommitted_writes_into_every_page() {
    let Ok(cluster) = ThrowawayCluster::get() else {
        return eprintln!("skipped: {}", cluster_available().unwrap_err());
    };
    let engine = PostgresEngine::open(&cluster.fresh_database("pages")).unwrap();
    let even: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..5_000u32)
        .step_by(2)
        .map(|n| (n.to_be_bytes().to_vec(), Some(vec![0])))
        .collect();
    engine.apply(&even).unwrap();
    engine.flush().unwrap();
    // Odd keys set, every tenth even key removed, none committed.
    let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (1..5_000u32)
        .step_by(2)
        .map(|n| (n.to_be_bytes().to_vec(), Some(vec![1])))
        .collect();
    writes.extend(
        (0..5_000u32)
            .step_by(20)
            .map(|n| (n.to_be_bytes().to_vec(), None)),
    );
    engine.apply(&writes).unwrap();
    let expected: Vec<Vec<u8>> = (0..5_000u32)
        .filter(|n| n % 20 != 0)
        .map(|n| n.to_be_bytes().to_vec())
        .collect();
    assert_eq!(keys(&engine), expected);
}
