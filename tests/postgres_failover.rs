//! Failover: two `serve` processes on a PostgreSQL primary with a synchronous hot standby
//! (see `store::ReplicatedCluster`), writing; the primary stopped as a crash would stop it,
//! the standby promoted. Both servers reach the database through one multi-host URL with
//! `target_session_attrs=read-write`, so they find the promoted standby by themselves.
//! It needs PostgreSQL's server programs: the quick `cargo test` lists it as ignored, saying so;
//! the whole suite runs it.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::serve_process::{watch_forever, Server};
use common::*;
use teacher_registry::api::pb;
use teacher_registry::store::ReplicatedCluster;

/// What a writer did: the registry numbers acknowledged, and how many of them were asked
/// for once the standby had been promoted.
#[derive(Default)]
struct Written {
    acknowledged: Vec<String>,
    refused: u32,
}

/// Creates teachers `from..` on `client` until `stop`; a refused create (the database
/// gone) is left, and the next one tried after a pause. Counts in `after` the creates
/// acknowledged that were sent once `promoted` was set.
async fn write_until(
    mut client: Client,
    from: u32,
    stop: Arc<AtomicBool>,
    promoted: Arc<AtomicBool>,
    after: Arc<AtomicU32>,
) -> Written {
    let mut written = Written::default();
    let mut n = from;
    while !stop.load(Ordering::Relaxed) {
        let sent_after_promotion = promoted.load(Ordering::Relaxed);
        match client
            .create_teacher(create_request(teacher(n, "350702"), ""))
            .await
        {
            Ok(response) => {
                let created = response.into_inner().teacher.unwrap();
                written.acknowledged.push(created.teacher_id);
                if sent_after_promotion {
                    after.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                written.refused += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        n += 1;
    }
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn a_promoted_synchronous_standby_keeps_every_acknowledged_write_and_writes_go_on() {
    let cluster = ReplicatedCluster::start().unwrap_or_else(|why| panic!("cannot run: {why}"));
    cluster.create_database("registry");
    let url = cluster.url("registry");
    let (a, _) = Server::start(&url).await;
    let (b, _) = Server::start(&url).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = tokio::spawn(watch_forever(b.port, seen.clone()));

    // Two writers on each server.
    let stop = Arc::new(AtomicBool::new(false));
    let promoted = Arc::new(AtomicBool::new(false));
    let after = Arc::new(AtomicU32::new(0));
    let mut writers = Vec::new();
    for writer in 0..4u32 {
        let server = if writer % 2 == 0 { &a } else { &b };
        writers.push(tokio::spawn(write_until(
            server.client().await.unwrap(),
            writer * 1_000_000,
            stop.clone(),
            promoted.clone(),
            after.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The primary crashes; the standby is promoted.
    cluster.stop_primary().unwrap();
    let stopped = Instant::now();
    cluster.promote_standby().unwrap();
    promoted.store(true, Ordering::Relaxed);
    eprintln!("promoted {:?} after the primary stopped", stopped.elapsed());

    // Writes go on, on both servers, through the same URL.
    let deadline = Instant::now() + Duration::from_secs(30);
    while after.load(Ordering::Relaxed) < 100 {
        assert!(
            Instant::now() < deadline,
            "writes did not go on after the promotion ({} acknowledged)",
            after.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "writes acknowledged again {:?} after the primary stopped",
        stopped.elapsed()
    );
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    for (writer, task) in writers.into_iter().enumerate() {
        let written = task.await.unwrap();
        assert!(
            !written.acknowledged.is_empty(),
            "writer {writer} wrote nothing"
        );
        refused += written.refused;
        acknowledged.extend(written.acknowledged);
    }

    // Every acknowledged create is on the promoted standby, seen from both servers, and
    // the feed is gap-free and the same on both.
    let mut feeds = Vec::new();
    for server in [&a, &b] {
        let mut client = server.client().await.unwrap();
        assert_all_listed(&mut client, &acknowledged).await;
        let feed = all_changes(&mut client).await;
        for (n, change) in feed.iter().enumerate() {
            assert_eq!(change.revision, n as u64 + 1, "the feed has no gap");
        }
        feeds.push(feed);
    }
    assert_eq!(feeds[0], feeds[1], "one feed on both servers");
    let last = feeds[0].last().unwrap().revision;
    let voided = feeds[0]
        .iter()
        .filter(|c| c.kind == pb::ChangeKind::Voided as i32)
        .count();
    eprintln!(
        "{} creates acknowledged, {refused} refused during the failover, revision {last}, {voided} voided",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() as u64 <= last,
        "every acknowledged create has a revision"
    );

    // The watcher on B, asking again after each break, saw every revision once, in order.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let caught_up = seen.lock().unwrap().last() == Some(&last);
        if caught_up {
            break;
        }
        assert!(Instant::now() < deadline, "the watcher did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watcher.abort();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (1..=last).collect::<Vec<_>>(), "the watch has no gap");

    // The writes are on the promoted standby itself.
    let on_standby = cluster.psql_standby("registry", "SELECT pg_is_in_recovery()");
    assert_eq!(on_standby.trim(), "f", "the standby was promoted");
}
