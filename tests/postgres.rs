//! The registry on PostgreSQL, through `serve --postgres` over real sockets, on a
//! throwaway cluster the tests start themselves (see `store::ThrowawayCluster`). Where
//! PostgreSQL's server programs are not installed the quick `cargo test` lists each test as
//! ignored, saying so; the whole suite runs them.
//!
//! One server: creates, updates with etags, request-id replay, the change feed, and a
//! SIGKILL and restart that keeps every acknowledged write. Two servers on one database:
//! one gap-free revision across both, one identity taken once, the same people created on
//! both at once with exact counts, and a writer killed with SIGKILL mid-load while the
//! other carries on.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::serve_process::Server;
use common::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::watch_changes_response::Event;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::ThrowawayCluster;
use tonic::Code;

/// A fresh database on this process's cluster.
fn database(hint: &str) -> String {
    let cluster = ThrowawayCluster::get().unwrap_or_else(|why| panic!("cannot run: {why}"));
    cluster.fresh_database(hint)
}

/// Every change of the feed, checked gap-free from revision 1.
async fn gap_free_feed(client: &mut Client) -> Vec<pb::Change> {
    let changes = all_changes(client).await;
    for (n, change) in changes.iter().enumerate() {
        assert_eq!(change.revision, n as u64 + 1, "the feed has no gap");
    }
    changes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn the_registry_on_postgres_answers_as_on_sled_and_keeps_acknowledged_writes() {
    let url = database("one server");
    let (mut server, mut client) = Server::start(&url).await;

    // Creates, some at once.
    let mut tasks = Vec::new();
    for n in 0..20u32 {
        let mut client = server.client().await.unwrap();
        tasks.push(tokio::spawn(async move {
            create(&mut client, teacher(n, "350702")).await
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap());
    }
    let status = client
        .create_teacher(create_request(teacher(3, "350702"), ""))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::AlreadyExists,
        "one identity, one record"
    );

    // An update with the current etag, then one with the old etag.
    let first = created[0].clone();
    let patch = |etag: &str, name: &str| pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: first.teacher_id.clone(),
            etag: etag.into(),
            name: name.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
        request_id: String::new(),
    };
    let updated = client
        .update_teacher(patch(&first.etag, "新名字"))
        .await
        .unwrap_teacher();
    assert_eq!(updated.name, "新名字");
    assert_ne!(updated.etag, first.etag);
    let stale = client
        .update_teacher(patch(&first.etag, "又一个"))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // A request id replays its first answer.
    let once = client
        .create_teacher(create_request(teacher(100, "350702"), "req-1"))
        .await
        .unwrap_teacher();
    let again = client
        .create_teacher(create_request(teacher(100, "350702"), "req-1"))
        .await
        .unwrap_teacher();
    assert_eq!(again.teacher_id, once.teacher_id);
    assert_eq!(again.revision, once.revision);

    let feed = gap_free_feed(&mut client).await;
    assert_eq!(feed.len(), 22, "20 creates, an update, a create");

    // Killed without warning: everything acknowledged is there after a restart.
    server.kill();
    drop(server);
    let (_server, mut client) = Server::start(&url).await;
    let all = list_all(&mut client, pb::ListTeachersRequest::default()).await;
    assert_eq!(all.len(), 21);
    let got = get_teacher(&mut client, &first.teacher_id).await;
    assert_eq!(got.name, "新名字");
    assert_eq!(got.etag, updated.etag);
    assert_eq!(gap_free_feed(&mut client).await, feed);
    // And the revisions carry on.
    let next = create(&mut client, teacher(200, "350702")).await;
    assert_eq!(next.revision, 23);
}

/// Creates teachers `from..` on one server until it stops answering or `count` are made;
/// returns the registry numbers acknowledged.
async fn create_until_failure(mut client: Client, from: u32, count: u32) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for n in from..from + count {
        match client
            .create_teacher(create_request(teacher(n, "350702"), ""))
            .await
        {
            Ok(response) => acknowledged.push(response.into_inner().teacher.unwrap().teacher_id),
            Err(_) => break,
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn two_servers_share_one_gap_free_revision_and_one_survives_the_other_killed() {
    let url = database("two servers");
    let (mut a, mut client_a) = Server::start(&url).await;
    let (b, mut client_b) = Server::start(&url).await;

    // A watcher on B hears A's changes too.
    let mut watcher = b.client().await.unwrap();
    let mut stream = watcher
        .watch_changes(pb::WatchChangesRequest {
            after_revision: 0,
            county_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();

    // The same identity on both servers at once: taken once.
    let (on_a, on_b) = tokio::join!(
        client_a.create_teacher(create_request(teacher(1, "350702"), "")),
        client_b.create_teacher(create_request(teacher(1, "350702"), "")),
    );
    let refused = [&on_a, &on_b].iter().filter(|r| r.is_err()).count();
    assert_eq!(
        refused, 1,
        "one of two creates of one identity: {on_a:?} {on_b:?}"
    );
    for result in [on_a, on_b] {
        if let Err(status) = result {
            assert_eq!(status.code(), Code::AlreadyExists);
        }
    }

    // Writers on both; A is killed while they write.
    let mut tasks = Vec::new();
    for writer in 0..4u32 {
        let client = match writer % 2 {
            0 => a.client().await.unwrap(),
            _ => b.client().await.unwrap(),
        };
        tasks.push(tokio::spawn(create_until_failure(
            client,
            10_000 + writer * 1_000_000,
            if writer % 2 == 0 { 100_000 } else { 300 },
        )));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill();
    let mut acknowledged = BTreeSet::new();
    for (writer, task) in tasks.into_iter().enumerate() {
        let mine = task.await.unwrap();
        if writer % 2 == 1 {
            assert_eq!(mine.len(), 300, "the writers on B carry on");
        } else {
            assert!(
                !mine.is_empty(),
                "the writers on A wrote before it was killed"
            );
        }
        acknowledged.extend(mine);
    }

    // Every acknowledged write is there, and B's feed is gap-free.
    assert_all_listed(&mut client_b, &acknowledged).await;
    let feed = gap_free_feed(&mut client_b).await;
    let last = feed.last().unwrap().revision;
    eprintln!(
        "{} creates acknowledged by both servers, revision {last}",
        acknowledged.len()
    );

    // The watcher on B saw every change, A's included, in order and without a gap.
    let mut seen = 0;
    while seen < last {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("the watch delivers")
            .unwrap()
            .unwrap();
        if let Some(Event::Change(change)) = message.event {
            assert_eq!(change.revision, seen + 1, "the watch has no gap");
            seen = change.revision;
        }
    }

    // A again: it carries on from B's revision.
    drop(a);
    let (_a, mut client_a) = Server::start(&url).await;
    let next = create(&mut client_a, teacher(99_999, "350702")).await;
    assert_eq!(next.revision, last + 1);
}

/// Each server reads a group's keys before it takes the writers' lock, and again under it
/// (`store::writer::prefetch`): the second read must see what the other server committed
/// in between. Both servers create the same people at once, many at a time, so each
/// server's read ahead keeps meeting the other's commits: one record per person, and the
/// county's count (a counter each create reads and writes) exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn two_servers_creating_the_same_people_at_once_keep_one_record_each_and_exact_counts() {
    const PEOPLE: u32 = 400;
    const AT_ONCE: u32 = 16;
    let url = database("same people");
    let (a, mut client_a) = Server::start(&url).await;
    let (b, _) = Server::start(&url).await;

    // AT_ONCE callers on each server, each creating its share of the people in order; the
    // two servers' callers go through the same people at the same pace.
    let mut tasks = Vec::new();
    for server in [&a, &b] {
        for caller in 0..AT_ONCE {
            let mut client = server.client().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut created = 0u32;
                for n in (caller..PEOPLE).step_by(AT_ONCE as usize) {
                    match client
                        .create_teacher(create_request(teacher(n, "350702"), ""))
                        .await
                    {
                        Ok(_) => created += 1,
                        Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
                    }
                }
                created
            }));
        }
    }
    let mut created = 0;
    for task in tasks {
        created += task.await.unwrap();
    }
    assert_eq!(
        created, PEOPLE,
        "each person created once, on one server or the other"
    );

    let records = list_all(&mut client_a, pb::ListTeachersRequest::default()).await;
    assert_eq!(records.len() as u32, PEOPLE);
    let statistics = client_a
        .get_statistics(pb::GetStatisticsRequest {
            county_code: "350702".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let counted: u64 = statistics.counties.iter().map(|county| county.total).sum();
    assert_eq!(
        counted,
        u64::from(PEOPLE),
        "the county's count: {statistics:?}"
    );
    let feed = gap_free_feed(&mut client_a).await;
    assert_eq!(
        feed.len() as u32,
        PEOPLE,
        "a change for each create, no more"
    );
}

/// Runs `teacher-registry ARGS`; its stdout, and whether it succeeded.
fn run_binary(args: &[&str]) -> (String, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .args(args)
        .output()
        .expect("run teacher-registry");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (text, output.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn a_registry_moves_from_sled_to_postgres_and_back_whole() {
    let url = database("migrate");
    // A registry on sled, with creates, an update and a request id.
    let sled = tempfile::tempdir().unwrap();
    let mut server = start_server_on_sled_in(sled.path(), ServerOptions::default()).await;
    let client = &mut server.client;
    for n in 0..30u32 {
        create(
            client,
            teacher(n, if n % 2 == 0 { "350702" } else { "350721" }),
        )
        .await;
    }
    client
        .create_teacher(create_request(teacher(50, "350702"), "req-a"))
        .await
        .unwrap();
    let teachers = list_all(client, pb::ListTeachersRequest::default()).await;
    let feed = gap_free_feed(client).await;
    server.stop().await;

    // To PostgreSQL.
    let dir = sled.path().to_str().unwrap();
    let (said, ok) = run_binary(&["migrate", "--from", dir, "--to", &url]);
    assert!(ok, "{said}");
    assert!(said.contains("consistent"), "{said}");
    let (said, ok) = run_binary(&["migrate", "--from", dir, "--to", &url]);
    assert!(!ok && said.contains("not empty"), "{said}");

    let (mut on_postgres, mut client) = Server::start(&url).await;
    assert_eq!(
        list_all(&mut client, pb::ListTeachersRequest::default()).await,
        teachers
    );
    assert_eq!(gap_free_feed(&mut client).await, feed);
    let replayed = client
        .create_teacher(create_request(teacher(50, "350702"), "req-a"))
        .await
        .unwrap_teacher();
    assert_eq!(replayed.revision, 31, "the request id came along");
    let grown = create(&mut client, teacher(60, "350702")).await;
    assert_eq!(grown.revision, 32);
    let teachers = list_all(&mut client, pb::ListTeachersRequest::default()).await;
    on_postgres.kill();

    // And back, into a new directory.
    let back = tempfile::tempdir().unwrap();
    let new_dir = back.path().join("registry");
    let new_dir = new_dir.to_str().unwrap();
    let (said, ok) = run_binary(&["migrate", "--from", &url, "--to", new_dir]);
    assert!(ok && said.contains("consistent"), "{said}");
    let (said, ok) = run_binary(&["verify", "--data-dir", new_dir]);
    assert!(ok, "{said}");
    let mut server =
        start_server_on_sled_in(std::path::Path::new(new_dir), ServerOptions::default()).await;
    assert_eq!(
        list_all(&mut server.client, pb::ListTeachersRequest::default()).await,
        teachers
    );
    assert_eq!(gap_free_feed(&mut server.client).await.len(), 32);
    server.stop().await;
}

/// A backup of a registry on PostgreSQL restores into another database (never into one
/// that holds a registry), and `verify --postgres` checks a database while a server
/// writes to it: the check holds the writers off, so it sees one moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL's server programs (initdb, postgres): the whole suite runs it (README, first lines)"]
async fn a_backup_restores_into_a_database_and_verify_checks_one_in_use() {
    let (url, restored) = (database("backup-from"), database("backup-to"));
    let (mut server, mut client) = Server::start(&url).await;
    for n in 0..20u32 {
        create(&mut client, teacher(n, "350702")).await;
    }
    let backup = tempfile::tempdir().unwrap();
    let backup = backup.path().join("backup");
    let address = format!("http://127.0.0.1:{}", server.port);
    let (said, ok) = run_binary(&["backup", backup.to_str().unwrap(), "--server", &address]);
    assert!(ok, "{said}");

    // Writes go on while the source is checked.
    let writing = tokio::spawn(create_until_failure(client.clone(), 100, 200));
    let (said, ok) = run_binary(&["verify", "--postgres", &url]);
    assert!(ok && said.contains("consistent"), "{said}");
    let written = writing.await.unwrap();
    assert_eq!(
        written.len(),
        200,
        "every write went through after the check"
    );

    let backup = backup.to_str().unwrap();
    let (said, ok) = run_binary(&["restore", backup, "--postgres", &restored]);
    assert!(ok && said.contains("consistent"), "{said}");
    let (said, ok) = run_binary(&["restore", backup, "--postgres", &restored]);
    assert!(!ok && said.contains("not empty"), "{said}");
    let (said, ok) = run_binary(&["verify", "--postgres", &restored]);
    assert!(ok && said.contains("20 records"), "{said}");
    let (mut copy, mut copy_client) = Server::start(&restored).await;
    assert_eq!(
        list_all(&mut copy_client, pb::ListTeachersRequest::default())
            .await
            .len(),
        20
    );
    copy.kill();
    server.kill();
}
