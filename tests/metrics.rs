//! `--metrics-listen`: Prometheus metrics over HTTP, counted from real requests.

mod common;

use std::time::{Duration, Instant};

use teacher_registry::api::pb;
use teacher_registry::server::ServerOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{create, create_request, start_server_with, teacher};

/// The response to `GET path` on the metrics address, retried while the endpoint starts.
async fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpStream::connect(address).await {
            Ok(mut socket) => {
                let request =
                    format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
                socket.write_all(request.as_bytes()).await.unwrap();
                let mut response = String::new();
                socket.read_to_string(&mut response).await.unwrap();
                return response;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "no metrics endpoint: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_method_and_status() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = start_server_with(ServerOptions {
        metrics_listen: Some(port),
        watch_progress_interval: Duration::from_millis(100),
        ..ServerOptions::default()
    })
    .await;
    let mut client = server.client.clone();
    for n in 0..3 {
        create(&mut client, teacher(n, "350702")).await;
    }
    let duplicate = client
        .create_teacher(create_request(teacher(0, "350702"), ""))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), tonic::Code::AlreadyExists);
    let watch = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap()
        .into_inner();

    let response = http_get(port, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("content-type: text/plain; version=0.0.4"));
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let created = r#"method="CreateTeacher",code="OK""#;
    assert_eq!(
        sample(
            body,
            &format!("teacher_registry_rpc_requests_total{{{created}}}")
        ),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        sample(
            body,
            r#"teacher_registry_rpc_requests_total{method="CreateTeacher",code="ALREADY_EXISTS"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            body,
            &format!("teacher_registry_rpc_duration_seconds_count{{{created}}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            body,
            &format!("teacher_registry_rpc_duration_seconds_bucket{{{created},le=\"+Inf\"}}")
        ),
        Some(3.0)
    );
    assert_eq!(sample(body, "teacher_registry_revision"), Some(3.0));
    assert_eq!(sample(body, "teacher_registry_watchers"), Some(1.0));
    assert_eq!(sample(body, "teacher_registry_storage_faulted"), Some(0.0));
    // The key filter of an empty registry is filled at once, in the background; a shared
    // engine's writer keeps none (other servers write keys it never sees).
    let expected = match common::on_sled("the key filter, kept on sled only") {
        true => Some(1.0),
        false => Some(0.0),
    };
    let mut filter_ready = sample(body, "teacher_registry_key_filter_ready");
    for _ in 0..100 {
        if filter_ready == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let response = http_get(port, "/metrics").await;
        filter_ready = sample(&response, "teacher_registry_key_filter_ready");
    }
    assert_eq!(filter_ready, expected);
    assert!(sample(body, "teacher_registry_write_groups_total").unwrap() >= 1.0);
    assert!(sample(body, "teacher_registry_store_size_bytes").unwrap() > 0.0);
    assert!(sample(body, "teacher_registry_resident_memory_bytes").unwrap() > 0.0);

    // A closed watcher stops counting once its stream notices.
    drop(watch);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = http_get(port, "/metrics").await;
        if sample(&response, "teacher_registry_watchers") == Some(0.0) {
            break;
        }
        assert!(Instant::now() < deadline, "the watcher is still counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let missing = http_get(port, "/other").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}
