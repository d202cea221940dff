//! ImportTeachers through a real server: exact per-row outcomes, both modes, duplicates
//! within a stream, re-imports, history merging, and a client that leaves midway.

mod common;

use common::*;
use teacher_registry::api::pb;
use tokio_stream::wrappers::ReceiverStream;

fn row(teacher: pb::Teacher, mode: pb::ImportMode) -> pb::ImportTeachersRequest {
    pb::ImportTeachersRequest {
        teacher: Some(teacher),
        mode: mode as i32,
    }
}

async fn import(
    client: &mut Client,
    rows: Vec<pb::ImportTeachersRequest>,
) -> Vec<pb::ImportTeachersResponse> {
    let mut stream = client
        .import_teachers(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
    let mut results = Vec::new();
    while let Some(result) = stream.message().await.unwrap() {
        results.push(result);
    }
    results
}

fn outcomes(results: &[pb::ImportTeachersResponse]) -> Vec<(u64, pb::ImportOutcome, String)> {
    results
        .iter()
        .map(|r| (r.row, r.outcome(), common::row_code(r)))
        .collect()
}

fn with_certificate(mut t: pb::Teacher, number: &str, registered_on: &[&str]) -> pb::Teacher {
    t.certificates.push(pb::Certificate {
        certificate_number: number.into(),
        kind: pb::CertificateKind::PrimarySchool as i32,
        subject: "数学".into(),
        issuing_authority: "延平区教育局".into(),
        certified_on: "2016-07-01".into(),
        registrations: registered_on
            .iter()
            .map(|d| pb::CertificateRegistration {
                registered_on: d.to_string(),
                expires_on: String::new(),
            })
            .collect(),
        ..Default::default()
    });
    t
}

#[tokio::test]
async fn every_row_gets_its_exact_outcome() {
    use pb::ImportMode::*;
    use pb::ImportOutcome::*;
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(90, "350702")).await;
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: holder.teacher_id.clone(),
            certificate: with_certificate(teacher(90, "350702"), "20163500022000999", &[])
                .certificates
                .pop(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut bad = teacher(2, "350702");
    bad.national_id = "110105194912310021".into();
    bad.name = String::new();
    let mut legacy = with_certificate(teacher(4, "350721"), "20163500022000123", &["2016-09-01"]);
    legacy.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
    legacy.title_history.push(pb::TitleEntry {
        tier: pb::TitleTier::FirstLevel as i32,
        kind: pb::TitleChangeKind::ReformTransition as i32,
        effective_date: "2016-09-01".into(),
        approval_document: "Nan Ren She [2016] No. 88".into(),
        ..Default::default()
    });
    let rows = vec![
        row(teacher(1, "350702"), CreateOnly),
        row(bad, CreateOnly),
        row(teacher(3, "350702"), CreateOnly),
        row(teacher(1, "350702"), CreateOnly),
        row(teacher(5, "350702"), pb::ImportMode::Unspecified),
        row(legacy, CreateOnly),
        row(
            with_certificate(teacher(6, "350702"), "20163500022000999", &[]),
            CreateOnly,
        ),
        pb::ImportTeachersRequest {
            teacher: None,
            mode: CreateOnly as i32,
        },
    ];
    let results = import(client, rows).await;
    assert_eq!(
        outcomes(&results),
        [
            (1, Created, String::new()),
            (2, Rejected, "INVALID_ARGUMENT".into()),
            (3, Created, String::new()),
            (4, Rejected, "ALREADY_EXISTS".into()),
            (5, Rejected, "INVALID_ARGUMENT".into()),
            (6, Created, String::new()),
            (7, Rejected, "ALREADY_EXISTS".into()),
            (8, Rejected, "INVALID_ARGUMENT".into()),
        ]
    );
    let fields = common::row_violated_fields(&results[1]);
    assert_eq!(
        fields,
        ["teacher.national_id", "teacher.name"],
        "as CreateTeacher reports them"
    );
    // A row's status is the one CreateTeacher answers for the same teacher, details and all
    // (google.rpc.Status, AIP-193): the real code, the BadRequest, the ErrorInfo.
    let mut bad = teacher(2, "350702");
    bad.national_id = "110105194912310021".into();
    bad.name = String::new();
    for (row, sent) in [(1, bad), (3, teacher(1, "350702"))] {
        let refused = client
            .create_teacher(create_request(sent, ""))
            .await
            .expect_err("refused as the row was");
        let answered = <tonic_types::pb::Status as prost::Message>::decode(refused.details())
            .expect("CreateTeacher's status details");
        assert_eq!(
            results[row].status.as_ref(),
            Some(&answered),
            "row {}",
            row + 1
        );
        assert!(!answered.details.is_empty(), "row {} has details", row + 1);
    }
    assert_eq!(
        results[3].teacher_id, results[0].teacher_id,
        "the existing teacher is named"
    );
    assert_eq!(
        results[6].teacher_id, holder.teacher_id,
        "the certificate's holder is named"
    );

    let imported = get_teacher(client, &results[5].teacher_id).await;
    assert_eq!(imported.current_title, pb::TitleTier::FirstLevel as i32);
    assert_eq!(
        imported.certificates[0].registrations[0].expires_on,
        "2021-09-01"
    );
    let statistics = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statistics.totals.unwrap().total, 4);
    assert_eq!(
        statistics.revision, 5,
        "one change event per imported row (after 2 setup)"
    );
}

#[tokio::test]
async fn upsert_updates_merges_and_a_reimport_changes_nothing() {
    use pb::ImportMode::*;
    use pb::ImportOutcome::*;
    let mut server = start_server().await;
    let client = &mut server.client;
    let first = vec![
        row(
            with_certificate(teacher(1, "350702"), "20163500022000123", &["2016-09-01"]),
            Upsert,
        ),
        row(teacher(2, "350702"), Upsert),
    ];
    assert_eq!(
        outcomes(&import(client, first.clone()).await),
        [(1, Created, String::new()), (2, Created, String::new())]
    );
    assert_eq!(
        outcomes(&import(client, first).await),
        [(1, Unchanged, String::new()), (2, Unchanged, String::new())],
        "a re-run changes nothing"
    );

    let mut moved = teacher(2, "350721");
    moved.school = "新学校".into();
    let second = vec![
        row(
            with_certificate(
                teacher(1, "350702"),
                "20163500022000123",
                &["2016-09-01", "2021-08-20"],
            ),
            Upsert,
        ),
        row(moved.clone(), Upsert),
        row(moved.clone(), Upsert),
        row(teacher(2, "350702"), Upsert),
        row(teacher(2, "350702"), CreateOnly),
    ];
    let results = import(client, second).await;
    assert_eq!(
        outcomes(&results),
        [
            (1, Updated, String::new()),
            (2, Updated, String::new()),
            (3, Unchanged, String::new()),
            (4, Updated, String::new()),
            (5, Rejected, "ALREADY_EXISTS".into()),
        ],
        "rows of one identity in one stream apply in order"
    );
    let one = get_teacher(client, &results[0].teacher_id).await;
    let registrations: Vec<&str> = one.certificates[0]
        .registrations
        .iter()
        .map(|r| r.registered_on.as_str())
        .collect();
    assert_eq!(
        registrations,
        ["2016-09-01", "2021-08-20"],
        "merged without duplicates"
    );
    assert_eq!(one.certificates.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_midway_leaves_whole_rows_and_a_resend_completes() {
    const ROWS: u32 = 3000;
    let server = start_server().await;
    let all: Vec<pb::ImportTeachersRequest> = (0..ROWS)
        .map(|n| row(teacher(n, "350702"), pb::ImportMode::Upsert))
        .collect();

    let mut client = server.new_client().await;
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    let feeder = {
        let all = all.clone();
        tokio::spawn(async move {
            for r in all {
                if sender.send(r).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut stream = client
        .import_teachers(ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    for expected in 1..=100u64 {
        assert_eq!(stream.message().await.unwrap().unwrap().row, expected);
    }
    drop(stream);
    drop(client);
    feeder.abort();

    let mut client = server.new_client().await;
    let results = import(&mut client, all).await;
    assert_eq!(results.len(), ROWS as usize);
    let created = results
        .iter()
        .filter(|r| r.outcome() == pb::ImportOutcome::Created)
        .count();
    let unchanged = results
        .iter()
        .filter(|r| r.outcome() == pb::ImportOutcome::Unchanged)
        .count();
    assert_eq!(
        created + unchanged,
        ROWS as usize,
        "nothing rejected, nothing twice"
    );
    assert!(
        unchanged >= 100,
        "the rows answered before the client left were kept"
    );
    let everyone = list_all(
        &mut client,
        pb::ListTeachersRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(everyone.len(), ROWS as usize, "no duplicates");
    eprintln!("first stream committed {unchanged} rows before the client left");
}

/// The writer checks each write group while the committer is still writing the one before,
/// so a row must see an earlier row of the same teacher wherever that row is: in its own
/// group, in the group being written, or on disk. Each teacher comes twice, the second
/// time about 1,400 rows later with another school: near enough to fall in the same group
/// or the next (groups hold up to 2,048 rows), and a stream long enough to keep the
/// committer busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_met_again_a_group_later_is_updated_not_created_twice() {
    let server = start_server().await;
    let mut client = server.client.clone();
    const TEACHERS: u32 = 4_000;
    const LAG: u32 = 700;
    let moved = |n: u32| {
        let mut t = teacher(n, "350702");
        t.school = "第九中学".into();
        t
    };
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for step in 0..TEACHERS + LAG {
        if step < TEACHERS {
            rows.push(row(teacher(step, "350702"), pb::ImportMode::Upsert));
            expected.push((step, pb::ImportOutcome::Created));
        }
        if step >= LAG {
            rows.push(row(moved(step - LAG), pb::ImportMode::Upsert));
            expected.push((step - LAG, pb::ImportOutcome::Updated));
        }
    }
    let results = import(&mut client, rows).await;
    assert_eq!(results.len(), expected.len());

    let mut ids = std::collections::HashMap::new();
    for (result, (n, outcome)) in results.iter().zip(&expected) {
        assert_eq!(
            result.outcome(),
            *outcome,
            "row {} (teacher {n})",
            result.row
        );
        let id = ids.entry(*n).or_insert_with(|| result.teacher_id.clone());
        assert_eq!(&result.teacher_id, id, "row {} (teacher {n})", result.row);
    }
    let all = list_all(&mut client, pb::ListTeachersRequest::default()).await;
    assert_eq!(all.len(), TEACHERS as usize, "nobody was created twice");
    assert!(all.iter().all(|t| t.school == "第九中学"));
    server.stop().await;
}
