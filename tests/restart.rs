//! Durability: everything acknowledged is found again after a restart, page tokens stay
//! valid, and revisions go on from where they were.

mod common;

use common::*;
use teacher_registry::api::pb;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::{Store, StoreOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_finds_every_record() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let mut created = Vec::new();
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let mut client = server.new_client().await;
        tasks.push(tokio::spawn(async move {
            create(
                &mut client,
                teacher(n, if n % 2 == 0 { "350702" } else { "350721" }),
            )
            .await
        }));
    }
    for task in tasks {
        created.push(task.await.unwrap());
    }
    let token = client
        .list_teachers(pb::ListTeachersRequest {
            page_size: 10,
            county_code: "350702".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .next_page_token;

    let dir = server.stop().await;
    let server = start_server_in(dir.as_ref().unwrap().path()).await;
    let mut client = server.client.clone();
    for before in &created {
        let after = get_teacher(&mut client, &before.teacher_id).await;
        assert_eq!(&after, before);
    }
    let page = client
        .list_teachers(pb::ListTeachersRequest {
            page_size: 10,
            page_token: token,
            county_code: "350702".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.teachers.len(),
        10,
        "a token from before the restart still works"
    );
    assert_eq!(page.revision, 200);
    let next = create(&mut client, teacher(500, "350702")).await;
    assert_eq!(next.revision, 201);
    server.stop().await;
    drop(dir);
}

/// Every kind of mutation, then `teacher-registry verify` on the stopped registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_a_registry_consistent_after_every_kind_of_write() {
    let server = start_server().await;
    let mut client = server.new_client().await;
    let mut ids = Vec::new();
    for n in 0..30u32 {
        let mut t = teacher(n, if n % 2 == 0 { "350702" } else { "350721" });
        t.legacy_title = pb::LegacyTitle::PrimaryFirst as i32;
        ids.push(create(&mut client, t).await.teacher_id);
    }
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: ids[0].clone(),
            certificate: Some(pb::Certificate {
                certificate_number: "20163500022000123".into(),
                kind: pb::CertificateKind::PrimarySchool as i32,
                subject: "语文".into(),
                issuing_authority: "x".into(),
                certified_on: "2016-07-01".into(),
                ..Default::default()
            }),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: ids[1].clone(),
                county_code: "350702".into(),
                school: "新校".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut stream = client
        .transition_titles(pb::TransitionTitlesRequest {
            county_code: "350702".into(),
            effective_date: "2016-09-01".into(),
            approval_document: "doc".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    let dir = server.stop().await.unwrap();

    let registry = common::registry_args(dir.path());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
            .arg("verify")
            .args(&registry)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("30 records"), "{stdout}");
    assert!(stdout.trim_end().ends_with("consistent"), "{stdout}");
}

/// A second process on a live data directory is refused before it touches anything: a
/// second server (whose disk reserve would otherwise be written over the first one's), and
/// `verify`. The first server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_a_live_data_directory_is_refused() {
    if !common::on_sled("a data directory's lock (servers share a database on PostgreSQL)") {
        return;
    }
    let server = start_server().await;
    let mut client = server.client.clone();
    create(&mut client, teacher(1, "350702")).await;
    let dir = server.data_dir.clone();
    let output = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
                .args(args)
                .arg("--data-dir")
                .arg(&dir)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        };
        (
            run(&["serve", "--listen", "127.0.0.1:0", "--disk-reserve-mb", "1"]),
            run(&["verify"]),
            dir,
        )
    })
    .await
    .unwrap();
    let (serve, verify, dir) = output;
    for (what, output) in [("serve", serve), ("verify", verify)] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{what} ran on a live directory");
        assert!(stderr.contains("another process has"), "{what}: {stderr}");
    }
    assert!(
        !dir.join("disk-reserve").exists(),
        "the refused server wrote a disk reserve"
    );
    create(&mut client, teacher(2, "350702")).await;
}

/// Creates teacher 1 with `request_id`; the stored record.
async fn create_with_request_id(client: &mut Client, request_id: &str) -> pb::Teacher {
    client
        .create_teacher(create_request(teacher(1, "350702"), request_id))
        .await
        .unwrap_teacher()
}

/// After a restart the writer learns which keys are taken from its key filter, filled by
/// a scan as the registry opens, and reads only keys the filter may hold. Once the scan is
/// done, every key taken before the restart must still count as taken: identity
/// documents and certificate numbers (from the filter), and request ids (read as ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_taken_before_a_restart_stay_taken_once_the_key_filter_is_ready() {
    if !common::on_sled("the key filter, which is off on PostgreSQL") {
        return;
    }
    let server = start_server().await;
    let mut client = server.client.clone();
    let first = create_with_request_id(&mut client, "create-first").await;
    let mut holder = teacher(2, "350721");
    holder.certificates.push(certificate("20163500022000123"));
    let import_one = |teacher: pb::Teacher| pb::ImportTeachersRequest {
        teacher: Some(teacher),
        mode: pb::ImportMode::CreateOnly as i32,
    };
    let imported = client
        .import_teachers(tokio_stream::iter([import_one(holder.clone())]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(imported.outcome(), pb::ImportOutcome::Created);

    let dir = server.stop().await;
    let path = dir.as_ref().unwrap().path();
    let store = Store::open(path, &StoreOptions::default()).unwrap();
    let started = std::time::Instant::now();
    while !store.write_stats().key_filter_ready {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the key filter is never ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let server = serve(store, path, ServerOptions::default()).await;
    let mut client = server.client.clone();

    let status = client
        .create_teacher(create_request(teacher(1, "350702"), "create-again"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");
    assert_eq!(error_info(&status)["teacher_id"], first.teacher_id);

    let replayed = create_with_request_id(&mut client, "create-first").await;
    assert_eq!(replayed, first, "a retried request gets its first answer");

    let mut newcomer = teacher(3, "350702");
    newcomer.certificates.push(certificate("20163500022000123"));
    let mut results = client
        .import_teachers(tokio_stream::iter([
            import_one(newcomer),
            import_one(holder),
        ]))
        .await
        .unwrap()
        .into_inner();
    for what in ["certificate number", "identity document"] {
        let result = results.message().await.unwrap().unwrap();
        assert_eq!(result.outcome(), pb::ImportOutcome::Rejected, "{what}");
        assert_eq!(common::row_code(&result), "ALREADY_EXISTS", "{what}");
        assert_eq!(result.teacher_id, imported.teacher_id, "{what}");
    }

    let all = list_all(&mut client, pb::ListTeachersRequest::default()).await;
    assert_eq!(all.len(), 2, "nothing was created twice");
    server.stop().await;
    drop(dir);
}

/// A load balancer checks health; at shutdown the whole server reads NOT_SERVING for the
/// drain delay while requests are still answered, and only then does the server drain.
#[tokio::test]
async fn at_shutdown_health_goes_not_serving_while_requests_are_still_answered() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let mut server = start_server_with(ServerOptions {
        drain_delay: std::time::Duration::from_secs(3),
        ..ServerOptions::default()
    })
    .await;
    let created = create(&mut server.client, teacher(1, "350702")).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let status = |health: &mut HealthClient<tonic::transport::Channel>, service: &str| {
        let mut health = health.clone();
        let service = service.to_string();
        async move {
            let answer = health
                .check(HealthCheckRequest { service })
                .await
                .unwrap()
                .into_inner();
            ServingStatus::try_from(answer.status).unwrap()
        }
    };
    assert_eq!(status(&mut health, "").await, ServingStatus::Serving);

    let started = std::time::Instant::now();
    server.begin_stop();
    let mut overall = status(&mut health, "").await;
    while overall == ServingStatus::Serving && started.elapsed().as_millis() < 1000 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        overall = status(&mut health, "").await;
    }
    assert_eq!(overall, ServingStatus::NotServing, "the whole server");
    assert_eq!(
        status(&mut health, "teacher_registry.v1.CaseService").await,
        ServingStatus::NotServing
    );
    let read = server
        .client
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: created.teacher_id.clone(),
            revision: None,
        })
        .await
        .expect("still answered while draining");
    assert_eq!(
        read.into_inner().teacher.unwrap().teacher_id,
        created.teacher_id
    );
    assert!(
        started.elapsed().as_secs() < 3,
        "the checks ran inside the drain delay"
    );
    server.stop().await;
    assert!(started.elapsed().as_secs() >= 3, "the delay was kept");
}

/// An answer that notes an audit entry without waiting for it (here a duplicate revealed)
/// leaves the entry on its way to the store; a server that stops right after it stores
/// the entry first, and closes its store, which opens at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_noted_by_the_last_answers_are_stored_before_the_store_closes() {
    let server = start_server().await;
    let mut client = server.client.clone();
    create(&mut client, teacher(1, "350702")).await;
    let status = client
        .create_teacher(create_request(teacher(1, "350702"), ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    let dir = server.data_dir.clone();
    let _temp = server.stop().await;

    let store = Store::open_at(&location_for(&dir), &StoreOptions::default())
        .expect("the stopped server closed its store");
    let entries = store
        .list_audit(&teacher_registry::store::AuditQuery {
            kind: Some(teacher_registry::domain::audit::AuditKind::DuplicateRevealed),
            page_size: 10,
            ..Default::default()
        })
        .unwrap()
        .entries;
    assert_eq!(entries.len(), 1, "the duplicate revealed is in the audit");
}
