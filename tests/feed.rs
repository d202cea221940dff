//! The change feed through a real server: ListChanges and WatchChanges, county filters and
//! moves, resuming after client and server restarts, trimming and resync, stalled watchers,
//! and the sync command's mirror.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use prost_types::FieldMask;
use teacher_registry::api::pb;
use teacher_registry::api::pb::watch_changes_response::Event;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::Retention;
use tonic::Code;

const A: &str = "350702";
const B: &str = "350721";

async fn changes(
    client: &mut Client,
    after: u64,
    county: &str,
    page_size: i32,
) -> pb::ListChangesResponse {
    client
        .list_changes(pb::ListChangesRequest {
            after_revision: after,
            page_size,
            county_code: county.into(),
            principal: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Every change after `after`, following pages.
async fn all_changes(client: &mut Client, mut after: u64, county: &str) -> (Vec<pb::Change>, u64) {
    let mut all = Vec::new();
    loop {
        let page = changes(client, after, county, 7).await;
        after = page.next_revision;
        if page.changes.is_empty() {
            return (all, after);
        }
        all.extend(page.changes);
    }
}

async fn move_to(client: &mut Client, teacher_id: &str, county: &str) -> pb::Teacher {
    client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: teacher_id.into(),
                county_code: county.into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["county_code".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_teacher()
}

#[tokio::test]
async fn list_changes_pages_in_revision_order_with_latest_state() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let first = create(client, teacher(1, A)).await;
    create(client, teacher(2, B)).await;
    let moved = move_to(client, &first.teacher_id, B).await;

    let (all, next) = all_changes(client, 0, "").await;
    let revisions: Vec<u64> = all.iter().map(|c| c.revision).collect();
    assert_eq!(revisions, [1, 2, 3]);
    assert_eq!(next, 3);
    assert_eq!(all[0].kind, pb::ChangeKind::Created as i32);
    assert_eq!(all[0].principal, "anonymous");
    assert_eq!(all[0].teacher.as_ref().unwrap(), &moved, "the latest state");
    assert_eq!(all[2].kind, pb::ChangeKind::Updated as i32);

    let idle = changes(client, 3, "", 10).await;
    assert!(idle.changes.is_empty());
    assert_eq!(idle.next_revision, 3, "up to date");

    let status = client
        .list_changes(pb::ListChangesRequest {
            after_revision: 0,
            page_size: -5,
            county_code: "x".into(),
            principal: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["page_size", "county_code"]);
}

#[tokio::test]
async fn a_county_sees_its_teachers_and_a_move_out() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let mover = create(client, teacher(1, A)).await;
    create(client, teacher(2, B)).await;
    create(client, teacher(3, A)).await;
    move_to(client, &mover.teacher_id, B).await;

    let (a, next_a) = all_changes(client, 0, A).await;
    let seen: Vec<(u64, i32, bool)> = a
        .iter()
        .map(|c| (c.revision, c.kind, c.teacher.is_some()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, pb::ChangeKind::Created as i32, false), // now in B: state withheld
            (3, pb::ChangeKind::Created as i32, true),
            (4, pb::ChangeKind::MovedOut as i32, false),
        ]
    );
    assert_eq!(next_a, 4);
    let (b, _) = all_changes(client, 0, B).await;
    let seen: Vec<(u64, i32)> = b.iter().map(|c| (c.revision, c.kind)).collect();
    assert_eq!(
        seen,
        [
            (2, pb::ChangeKind::Created as i32),
            (4, pb::ChangeKind::Updated as i32), // moved in: its creation was A's
        ]
    );
    assert_eq!(b[1].teacher.as_ref().unwrap().county_code, B);

    // An idle county still advances to the registry's revision.
    create(client, teacher(4, B)).await;
    let page = changes(client, next_a, A, 10).await;
    assert!(page.changes.is_empty());
    assert_eq!(page.next_revision, 5);
}

/// Collects a watch into a county mirror until it has seen `until`.
async fn mirror_until(
    stream: &mut tonic::Streaming<pb::WatchChangesResponse>,
    mirror: &mut HashMap<String, pb::Teacher>,
    last: &mut u64,
    until: u64,
) {
    while *last < until {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("the watch delivers")
            .unwrap()
            .unwrap();
        match message.event.unwrap() {
            Event::Change(change) => {
                assert!(change.revision > *last, "no duplicate, in order");
                *last = change.revision;
                if change.kind == pb::ChangeKind::MovedOut as i32 {
                    mirror.remove(&change.teacher_id);
                } else if let Some(t) = change.teacher {
                    mirror.insert(change.teacher_id.clone(), t);
                }
            }
            Event::Progress(progress) => *last = progress.revision.max(*last),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_built_from_the_watch_equals_the_registry_after_concurrent_writes() {
    let server = start_server_with(ServerOptions {
        watch_progress_interval: Duration::from_millis(200),
        ..ServerOptions::default()
    })
    .await;
    let mut watcher = server.new_client().await;
    let mut stream = watcher
        .watch_changes(pb::WatchChangesRequest {
            after_revision: 0,
            county_code: A.into(),
        })
        .await
        .unwrap()
        .into_inner();

    let mut tasks = Vec::new();
    for writer in 0..4u32 {
        let mut client = server.new_client().await;
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..400u32 {
                let id = writer * 1000 + n;
                let created =
                    create(&mut client, teacher(id, if n % 2 == 0 { A } else { B })).await;
                mine.push(created.teacher_id);
                if n % 3 == 0 {
                    // Move an earlier teacher back and forth between the counties.
                    let target = &mine[(n as usize * 7) % mine.len()];
                    move_to(&mut client, target, if n % 2 == 0 { B } else { A }).await;
                }
                if n % 5 == 0 {
                    client
                        .update_teacher(pb::UpdateTeacherRequest {
                            teacher: Some(pb::Teacher {
                                teacher_id: mine[0].clone(),
                                school: format!("学校{n}"),
                                ..Default::default()
                            }),
                            update_mask: Some(FieldMask {
                                paths: vec!["school".into()],
                            }),
                            request_id: String::new(),
                        })
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut client = server.new_client().await;
    let final_revision = changes(&mut client, 0, "", 1).await.next_revision.max(
        client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .unwrap()
            .into_inner()
            .revision,
    );
    assert!(
        final_revision >= 2000,
        "thousands of writes: {final_revision}"
    );

    let mut mirror = HashMap::new();
    let mut last = 0;
    mirror_until(&mut stream, &mut mirror, &mut last, final_revision).await;
    let registry = list_all(
        &mut client,
        pb::ListTeachersRequest {
            county_code: A.into(),
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    let registry: HashMap<String, pb::Teacher> = registry
        .into_iter()
        .map(|t| (t.teacher_id.clone(), t))
        .collect();
    assert_eq!(mirror.len(), registry.len());
    assert!(mirror == registry, "the mirror equals the registry");

    // Idle: a progress message with the current revision arrives.
    let message = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        message.event,
        Some(Event::Progress(pb::WatchProgress {
            revision: final_revision
        }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_resume_after_client_and_server_restarts_without_gap_or_duplicate() {
    let server = start_server().await;
    let mut client = server.new_client().await;
    for n in 0..20 {
        create(&mut client, teacher(n, A)).await;
    }
    let first = changes(&mut client, 0, "", 8).await;
    let resume_from = first.next_revision;
    assert_eq!(resume_from, 8);
    drop(client);

    // A new client goes on from the saved revision while writes continue.
    let mut client = server.new_client().await;
    for n in 20..30 {
        create(&mut client, teacher(n, A)).await;
    }
    let (rest, _) = all_changes(&mut client, resume_from, "").await;
    let revisions: Vec<u64> = rest.iter().map(|c| c.revision).collect();
    assert_eq!(revisions, (9..=30).collect::<Vec<_>>());

    // A watcher that was at 25 before a server restart resumes from 25 after it.
    let dir = server.stop().await;
    let server = start_server_in(dir.as_ref().unwrap().path()).await;
    let mut client = server.new_client().await;
    create(&mut client, teacher(31, A)).await;
    let mut stream = client
        .watch_changes(pb::WatchChangesRequest {
            after_revision: 25,
            county_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        if let Some(Event::Change(c)) = stream.message().await.unwrap().unwrap().event {
            seen.push(c.revision);
        }
    }
    assert_eq!(seen, (26..=31).collect::<Vec<_>>());
    // Live: a write after the backlog arrives next, with no gap.
    let mut writer = server.new_client().await;
    create(&mut writer, teacher(32, A)).await;
    loop {
        if let Some(Event::Change(c)) = stream.message().await.unwrap().unwrap().event {
            assert_eq!(c.revision, 32);
            break;
        }
    }
    drop(stream);
    server.stop().await;
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_history_asks_for_a_resync_with_the_oldest_revision() {
    let server = start_server_with(ServerOptions {
        retention: Retention {
            max_changes: Some(10),
            max_age: None,
        },
        trim_interval: Duration::from_millis(20),
        ..ServerOptions::default()
    })
    .await;
    let mut client = server.new_client().await;
    for n in 0..40 {
        create(&mut client, teacher(n, A)).await;
    }
    // The trim runs in the background: wait (bounded) until it has caught up.
    let status = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match client
                .list_changes(pb::ListChangesRequest {
                    after_revision: 29,
                    ..Default::default()
                })
                .await
            {
                Err(status) => return status,
                Ok(_) => {
                    let early = client
                        .list_changes(pb::ListChangesRequest {
                            after_revision: 0,
                            ..Default::default()
                        })
                        .await;
                    if let Err(status) = early {
                        if error_info(&status)["oldest_revision"] == "31" {
                            return status;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    })
    .await
    .expect("the log is trimmed");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let info = error_info(&status);
    assert_eq!(info["reason"], "RESYNC_REQUIRED");
    assert_eq!(info["oldest_revision"], "31");

    let (kept, _) = all_changes(&mut client, 30, "").await;
    assert_eq!(kept.len(), 10, "the latest ten remain");
    let status = client
        .watch_changes(pb::WatchChangesRequest {
            after_revision: 5,
            county_code: A.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error_info(&status)["reason"], "RESYNC_REQUIRED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watcher_neither_blocks_writers_nor_loses_changes() {
    const WRITES: u32 = 2000;
    let server = start_server().await;
    let mut watcher = server.new_client().await;
    let mut stalled = watcher
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Nobody reads `stalled` while the writes go on.
    let mut tasks = Vec::new();
    for chunk in 0..4u32 {
        let mut client = server.new_client().await;
        tasks.push(tokio::spawn(async move {
            for n in (chunk..WRITES).step_by(4) {
                create(&mut client, teacher(n, A)).await;
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(120), async {
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await
    .expect("writers finish while a watcher stalls");
    let mut next = 1;
    while next <= u64::from(WRITES) {
        if let Some(Event::Change(c)) = stalled.message().await.unwrap().unwrap().event {
            assert_eq!(c.revision, next, "served from the log, in order, no gap");
            next += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_command_keeps_a_county_mirror() {
    let mut server = start_server().await;
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(
            create(
                &mut server.client,
                teacher(n, if n % 3 == 0 { B } else { A }),
            )
            .await
            .teacher_id,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("a.jsonl");
    let url = format!("http://{}", server.address);
    let sync = || {
        let mirror = mirror.clone();
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
                .args(["sync", "--server", &url, "--county", A, "--mirror"])
                .arg(&mirror)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        })
    };
    let out = sync().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |path: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(read(&mirror).len(), 20);

    // Changes since: a move out, a move in, an update; the next run resumes.
    move_to(&mut server.client, &ids[1], B).await;
    move_to(&mut server.client, &ids[0], A).await;
    create(&mut server.client, teacher(100, A)).await;
    let out = sync().await.unwrap();
    assert!(out.status.success());
    let lines = read(&mirror);
    let registry = list_all(
        &mut server.client,
        pb::ListTeachersRequest {
            county_code: A.into(),
            ..Default::default()
        },
    )
    .await;
    let mut expected: Vec<serde_json::Value> = registry
        .iter()
        .map(|t| serde_json::from_str(&teacher_registry::api::json::to_line(t).unwrap()).unwrap())
        .collect();
    expected.sort_by(|a, b| a["teacherId"].as_str().cmp(&b["teacherId"].as_str()));
    assert_eq!(lines, expected, "the mirror equals the registry");
    let revision = std::fs::read_to_string(dir.path().join("a.jsonl.revision")).unwrap();
    assert_eq!(revision.trim(), "33");
}
