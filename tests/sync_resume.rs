//! `sync --follow` outlives a restart of the server (issue #19, item 5): the watch breaks
//! when the server stops, the sync waits and watches again from its mirror's revision, and
//! a change made after the restart reaches the mirror with nothing missed.

mod cli_support;
mod common;

use std::time::Duration;

use cli_support::follow_sync;
use common::*;
use teacher_registry::server::ServerOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_sync_resumes_after_the_server_restarts() {
    // Progress often, so the sync prints a change soon after it arrives.
    let options = || ServerOptions {
        watch_progress_interval: Duration::from_millis(50),
        ..ServerOptions::default()
    };
    let mut server = start_server_with(options()).await;
    let address = server.address;
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror.jsonl");
    let (mut child, received) = follow_sync(address, &mirror);
    let next = |what: &str| {
        received
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line {what}"))
    };
    assert!(next("listed").starts_with("listed 0 teachers"));
    assert!(next("up to date").contains("up to date at revision 0"));
    create(&mut server.client, teacher(1, "350702")).await;
    assert_eq!(next("for the first change"), "revision 1: 1 teacher");

    // The data directory outlives the server: keep its guard while restarting.
    let data_dir = server.data_dir.clone();
    let guard = server.stop().await;
    let stopped = next("for the broken watch");
    assert!(
        stopped.starts_with("the watch stopped at revision 1 (") && stopped.contains("resuming"),
        "{stopped}"
    );
    // A change the sync cannot see yet: made while it waits, before it reconnects.
    let mut restarted = restart_at(&data_dir, options(), address).await;
    create(&mut restarted.client, teacher(2, "350702")).await;
    assert_eq!(next("on resuming"), "resumed at revision 1");
    assert_eq!(
        next("for the change made meanwhile"),
        "revision 2: 2 teachers"
    );

    child.kill().unwrap();
    child.wait().unwrap();
    let saved = std::fs::read_to_string(dir.path().join("mirror.jsonl.revision")).unwrap();
    assert!(saved.trim().parse::<u64>().unwrap() >= 2, "{saved}");
    let mirrored = std::fs::read_to_string(&mirror).unwrap();
    assert_eq!(mirrored.lines().count(), 2, "{mirrored}");
    drop(restarted);
    drop(guard);
}
