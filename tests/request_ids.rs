//! Request ids expire (AIP-155 with a retention window): inside the window a retry gets
//! the first answer; after it the request is treated as new, and the background trim
//! forgets the record and its expiry entry.

mod common;

use std::time::{Duration, Instant};

use common::{create_request, error_info, serve, teacher};
use teacher_registry::server::ServerOptions;
use teacher_registry::store::{Store, StoreOptions};
use tonic::Code;

async fn server_with(
    retention: Duration,
    trim_interval: Duration,
) -> (common::TestServer, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        request_id_retention: retention,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), &options).unwrap();
    let server_options = ServerOptions {
        trim_interval,
        ..ServerOptions::default()
    };
    let server = serve(store.clone(), dir.path(), server_options).await;
    (server, store, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_inside_the_window_replays_and_after_it_is_new() {
    // No trim during the test: the window alone decides.
    let (mut server, store, _dir) =
        server_with(Duration::from_secs(2), Duration::from_secs(3600)).await;
    let first = server
        .client
        .create_teacher(create_request(teacher(1, "350702"), "rid-1"))
        .await
        .unwrap()
        .into_inner();
    let retried = server
        .client
        .create_teacher(create_request(teacher(1, "350702"), "rid-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried, first, "inside the window: the first answer");
    let reused = server
        .client
        .create_teacher(create_request(teacher(2, "350702"), "rid-1"))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(error_info(&reused)["reason"], "REQUEST_ID_REUSED");

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    // After the window the same request is new: its teacher exists, so ALREADY_EXISTS.
    let again = server
        .client
        .create_teacher(create_request(teacher(1, "350702"), "rid-1"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists, "{again:?}");
    // And another request may take the id, which then replays its own answer.
    let second = server
        .client
        .create_teacher(create_request(teacher(2, "350702"), "rid-1"))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(
        second.teacher.as_ref().unwrap().teacher_id,
        first.teacher.unwrap().teacher_id
    );
    let replayed = server
        .client
        .create_teacher(create_request(teacher(2, "350702"), "rid-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed, second);
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.request_ids, 1, "one record under the id, the latest");
    drop(store);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trim_forgets_expired_request_ids() {
    let (mut server, store, _dir) =
        server_with(Duration::from_secs(1), Duration::from_millis(200)).await;
    for n in 0..5 {
        server
            .client
            .create_teacher(create_request(teacher(n, "350702"), &format!("rid-{n}")))
            .await
            .unwrap();
    }
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.request_ids, 5);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        if report.request_ids == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} request ids left",
            report.request_ids
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Forgotten: a different request under an old id is new, not REQUEST_ID_REUSED.
    server
        .client
        .create_teacher(create_request(teacher(9, "350702"), "rid-0"))
        .await
        .unwrap();
    drop(store);
    server.stop().await;
}
