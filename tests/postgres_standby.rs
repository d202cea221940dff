//! Reads from the synchronous standby: a `serve --postgres PRIMARY --postgres-reads STANDBY`
//! process beside one that reads the primary (see `store::ReplicatedCluster`). Every
//! acknowledged write, through either server, is read back at once on the standby; the
//! feed there is gap-free; and the reads really are the standby's. It needs PostgreSQL's
//! server programs: the quick `cargo test` lists it as ignored, saying so; the whole suite
//! runs it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::serve_process::{watch_forever, Server};
use common::*;
use teacher_registry::api::pb;
use teacher_registry::store::ReplicatedCluster;

/// Creates enough to catch a read that lags the write it follows.
const CREATES: u32 = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn a_server_reading_the_standby_sees_every_acknowledged_write_at_once() {
    let cluster = ReplicatedCluster::start().unwrap_or_else(|why| panic!("cannot run: {why}"));
    cluster.create_database("registry");
    let primary = cluster.primary_url("registry");
    let standby = cluster.standby_url("registry");
    let (reader, mut on_standby) =
        Server::start_with(&primary, &["--postgres-reads", &standby]).await;
    let (_other, mut on_primary) = Server::start(&primary).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = tokio::spawn(watch_forever(reader.port, seen.clone()));

    // A write through the standby's server goes to the primary; one through the other
    // server too. Either way, once acknowledged it is read on the standby at once.
    for n in 0..CREATES {
        let writer = if n % 3 == 0 {
            &mut on_primary
        } else {
            &mut on_standby
        };
        let created = writer
            .create_teacher(create_request(teacher(n, "350702"), ""))
            .await
            .unwrap_or_else(|status| panic!("create {n}: {status:?}"))
            .into_inner()
            .teacher
            .unwrap();
        let read = on_standby
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: created.teacher_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|status| panic!("read {n} back on the standby: {status:?}"))
            .into_inner()
            .teacher
            .unwrap();
        assert_eq!(read.etag, created.etag, "create {n} read as written");
    }

    // The feed on the standby's server holds every revision once, in order.
    let last = u64::from(CREATES);
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().last() != Some(&last) {
        assert!(Instant::now() < deadline, "the watcher did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (1..=last).collect::<Vec<_>>(), "the watch has no gap");
    let feed = all_changes(&mut on_standby).await;
    assert_eq!(
        feed.iter().map(|c| c.revision).collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>()
    );

    // The reads were the standby's: its server's read connections are there, and none
    // of them on the primary.
    let readers = "SELECT count(*) FROM pg_stat_activity \
                   WHERE application_name = 'registry-pg-standby'";
    let there: u32 = cluster
        .psql_standby("registry", readers)
        .trim()
        .parse()
        .unwrap();
    let here: u32 = cluster
        .psql_primary("registry", readers)
        .trim()
        .parse()
        .unwrap();
    assert!(there > 0, "no read connection on the standby");
    assert_eq!(here, 0, "a standby read connection on the primary");
}
