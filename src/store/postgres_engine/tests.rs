use std::ops::Bound::Unbounded;
use std::path::Path;
use std::time::Duration;

use super::cluster::ThrowawayCluster;
use super::*;

/// The engine on the cluster's database for `dir`: the same directory, the same database.
fn open_in(dir: &Path) -> PostgresEngine {
    let cluster = ThrowawayCluster::get().expect("a cluster");
    PostgresEngine::open(&cluster.database_for(dir)).unwrap()
}

mod conformance {
    crate::store::engine::conformance::engine_conformance!(
        super::open_in,
        ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"
    );
}

fn keys(engine: &PostgresEngine) -> Vec<Vec<u8>> {
    engine
        .range(Unbounded, Unbounded)
        .unwrap()
        .map(|pair| pair.unwrap().0)
        .collect()
}

/// A group is seen by no reader, on this server or another, until it is committed; a
/// recovered engine has rolled back what it had not committed.
#[test]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
fn writes_are_seen_only_once_committed_and_never_after_a_rollback() {
    let cluster = ThrowawayCluster::get().unwrap_or_else(|why| panic!("cannot run: {why}"));
    let url = cluster.fresh_database("committed");
    let here = PostgresEngine::open(&url).unwrap();
    let there = PostgresEngine::open(&url).unwrap();
    here.begin_group().unwrap();
    here.apply(&[(b"a".as_slice(), Some(b"1".as_slice()))])
        .unwrap();
    assert_eq!(here.get(b"a").unwrap(), None, "not committed yet");
    assert_eq!(here.get_many(&[b"a".to_vec()]).unwrap(), [None]);
    assert_eq!(there.get(b"a").unwrap(), None, "not committed yet");
    here.flush().unwrap();
    assert_eq!(here.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(there.get(b"a").unwrap(), Some(b"1".to_vec()));

    here.begin_group().unwrap();
    here.apply(&[
        (b"a".as_slice(), None),
        (b"b".as_slice(), Some(b"2".as_slice())),
    ])
    .unwrap();
    assert_eq!(keys(&here), [b"a".to_vec()], "the removal is not committed");
    assert_eq!(keys(&there), [b"a".to_vec()]);
    let lost = StoreError::Storage {
        fault: StorageFault::Failed,
        detail: "a test".into(),
    };
    here.recover(&lost).unwrap();
    here.flush().unwrap();
    assert_eq!(keys(&here), [b"a".to_vec()], "nothing left to commit");
    assert_eq!(keys(&there), [b"a".to_vec()]);
    // The rollback let the writers' lock go: another server's group goes through.
    there.begin_group().unwrap();
    there
        .apply(&[(b"c".as_slice(), Some(b"3".as_slice()))])
        .unwrap();
    there.flush().unwrap();
    assert_eq!(keys(&here), [b"a".to_vec(), b"c".to_vec()]);
    here.probe().unwrap();
}

/// A scan of many pages reads every key once, in order, and a key asked twice of
/// `get_many` is answered twice.
#[test]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
fn a_long_scan_reads_every_page_once() {
    let cluster = ThrowawayCluster::get().unwrap_or_else(|why| panic!("cannot run: {why}"));
    let engine = PostgresEngine::open(&cluster.fresh_database("pages")).unwrap();
    let even: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..20_000u32)
        .step_by(2)
        .map(|n| (n.to_be_bytes().to_vec(), Some(vec![0])))
        .collect();
    engine.apply(&even).unwrap();
    engine.flush().unwrap();
    let expected: Vec<Vec<u8>> = (0..20_000u32)
        .step_by(2)
        .map(|n| n.to_be_bytes().to_vec())
        .collect();
    assert_eq!(keys(&engine), expected);
    let twice = [
        2u32.to_be_bytes().to_vec(),
        3u32.to_be_bytes().to_vec(),
        2u32.to_be_bytes().to_vec(),
    ];
    assert_eq!(
        engine.get_many(&twice).unwrap(),
        [Some(vec![0]), None, Some(vec![0])]
    );
}

/// A server that hangs mid-group holds the writers' lock only until the database ends its
/// idle transaction: another server's group then goes through, and the hung group, never
/// acknowledged, is rolled back and fails when its server wakes.
#[test]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
fn a_hung_writer_lets_the_others_in_after_its_idle_limit() {
    let cluster = ThrowawayCluster::get().unwrap_or_else(|why| panic!("cannot run: {why}"));
    let url = cluster.fresh_database("hung");
    let limit = Duration::from_millis(500);
    let hung = PostgresEngine::open_with_idle_limit(&url, limit).unwrap();
    let other = PostgresEngine::open(&url).unwrap();
    hung.begin_group().unwrap();
    hung.apply(&[(b"hung".as_slice(), Some(b"1".as_slice()))])
        .unwrap();
    // The hung server does nothing more; the other's group waits for the lock.
    let waited = std::time::Instant::now();
    other.begin_group().unwrap();
    other
        .apply(&[(b"other".as_slice(), Some(b"2".as_slice()))])
        .unwrap();
    other.flush().unwrap();
    assert!(
        waited.elapsed() >= limit,
        "the lock was held until the limit"
    );
    let woke = hung.flush();
    assert!(
        matches!(woke, Err(StoreError::Storage { .. })),
        "the hung group must fail: {woke:?}"
    );
    hung.recover(&woke.unwrap_err()).unwrap();
    assert_eq!(keys(&other), [b"other".to_vec()], "the hung write is gone");
    // The hung server takes writes again on a new connection.
    hung.probe().unwrap();
    hung.begin_group().unwrap();
    hung.apply(&[(b"hung".as_slice(), Some(b"3".as_slice()))])
        .unwrap();
    hung.flush().unwrap();
    assert_eq!(keys(&other), [b"hung".to_vec(), b"other".to_vec()]);
}

/// A group that begins while another server's holds the writers' lock reads, once the
/// lock is its own, what that group committed: its first reads run after the lock is
/// taken, not from a moment before (on the simple query protocol, each statement reads
/// the database as it stands when the statement starts).
#[test]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
fn a_group_reads_first_what_the_group_before_it_committed() {
    let cluster = ThrowawayCluster::get().unwrap_or_else(|why| panic!("cannot run: {why}"));
    let url = cluster.fresh_database("first-reads");
    let first = PostgresEngine::open(&url).unwrap();
    let second = PostgresEngine::open(&url).unwrap();
    first.begin_group().unwrap();
    first
        .apply(&[(b"counter".as_slice(), Some(b"1".as_slice()))])
        .unwrap();
    let (sender, waiting) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let range = KeyRange {
            start: b"c".to_vec(),
            end: b"d".to_vec(),
            limit: 8,
        };
        let read = second
            .begin_group_reading(&[b"counter".to_vec()], &[range])
            .unwrap();
        sender.send(()).unwrap();
        second.flush().unwrap();
        read
    });
    // The second group waits for the lock while the first is open.
    assert!(waiting.recv_timeout(Duration::from_millis(300)).is_err());
    first.flush().unwrap();
    let read = reader.join().unwrap();
    assert_eq!(read.values, [Some(b"1".to_vec())]);
    assert_eq!(read.ranges, [[b"counter".to_vec()]]);
}

/// A group whose `COMMIT` failed is not committed by flushing again. Its transaction died
/// with its connection, so a second flush, on a new connection, would find nothing to
/// commit and answer OK, and the group would be acknowledged unwritten. (Found by the
/// failover test: creates acknowledged, then missing after the standby's promotion.)
#[test]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
fn a_failed_commit_is_the_groups_failure_not_tried_again() {
    let cluster = ThrowawayCluster::get().unwrap_or_else(|why| panic!("cannot run: {why}"));
    let engine = PostgresEngine::open(&cluster.database("commit_lost")).unwrap();
    engine.begin_group().unwrap();
    engine
        .apply(&[(b"lost".as_slice(), Some(b"1".as_slice()))])
        .unwrap();
    // The connection dies before the COMMIT, as it does when the primary stops.
    cluster.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = 'commit_lost' AND application_name = 'registry-pg-write'",
    );
    let flushed = crate::store::writer::flush_applied(&engine);
    assert!(
        matches!(flushed, Err(StoreError::Storage { .. })),
        "the group must fail: {flushed:?}"
    );
    engine.recover(&flushed.unwrap_err()).unwrap();
    assert!(keys(&engine).is_empty(), "nothing was committed");
    // The engine takes writes again on a new connection.
    engine.begin_group().unwrap();
    engine
        .apply(&[(b"next".as_slice(), Some(b"2".as_slice()))])
        .unwrap();
    crate::store::writer::flush_applied(&engine).unwrap();
    assert_eq!(keys(&engine), [b"next".to_vec()]);
}
