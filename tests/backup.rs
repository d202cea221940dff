//! Backup and restore: a backup taken while writers keep writing restores to a registry
//! that `verify` accepts and that equals the source at the backup's revision, teacher by
//! teacher and change by change; damaged backups and occupied directories are refused;
//! title evaluation (rounds, applications, ethics findings, round figures) comes back whole.

mod common;
mod rounds_support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost_types::FieldMask;
use teacher_registry::api::pb;
use teacher_registry::cli::{run_backup, run_restore};

use common::{
    all_changes, create, get_round, list_all, list_applications, list_ethics_findings,
    restore_consistent, restore_into, run_binary_here, run_binary_ok, start_server,
    start_server_in, teacher, Client,
};

const COUNTIES: [&str; 3] = ["350702", "350721", "350722"];

/// Creates new teachers and moves existing ones between schools and counties until told
/// to stop; every request is checked.
async fn keep_writing(
    mut client: Client,
    writer: u32,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicU32>,
) {
    let mut round = 0u32;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let n = next.fetch_add(1, Ordering::Relaxed);
        let created = create(&mut client, teacher(n, COUNTIES[(n % 3) as usize])).await;
        // Move an older teacher: a new school, and now and then a new county.
        let old = format!("{}", (n * 7 + writer) % 300);
        let existing = list_all(
            &mut client,
            pb::ListTeachersRequest {
                page_size: 1000,
                ..Default::default()
            },
        )
        .await;
        let target = existing
            .iter()
            .find(|t| t.name == format!("教师{old}"))
            .unwrap_or(&created)
            .clone();
        let mut paths = vec!["school".to_string()];
        let mut changed = pb::Teacher {
            school: format!("第{round}中学"),
            ..target.clone()
        };
        if round.is_multiple_of(4) {
            changed.county_code = COUNTIES[(round % 3) as usize].to_string();
            paths.push("county_code".into());
        }
        let result = client
            .update_teacher(pb::UpdateTeacherRequest {
                teacher: Some(changed),
                update_mask: Some(FieldMask { paths }),
                request_id: String::new(),
            })
            .await;
        if let Err(status) = result {
            // Another writer moved the same teacher first.
            assert_eq!(status.code(), tonic::Code::Aborted, "{status:?}");
        }
    }
}

fn by_id(teachers: Vec<pb::Teacher>) -> HashMap<String, pb::Teacher> {
    teachers
        .into_iter()
        .map(|t| (t.teacher_id.clone(), t))
        .collect()
}

/// A change as both registries must record it (the teacher's state is compared apart).
fn event(change: &pb::Change) -> (u64, String, i32, String, String) {
    (
        change.revision,
        change.teacher_id.clone(),
        change.kind,
        change.principal.clone(),
        change.request_id.clone(),
    )
}

fn verify(data: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .arg("verify")
        .args(common::registry_args(data))
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_writes_restores_to_the_registry_at_its_revision() {
    let server = start_server().await;
    let url = format!("http://{}", server.address);
    let mut client = server.client.clone();
    for n in 0..300 {
        create(&mut client, teacher(n, COUNTIES[(n % 3) as usize])).await;
    }
    let before_backup = all_changes(&mut client).await.len() as u64;

    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU32::new(1000));
    let mut writers = Vec::new();
    for writer in 0..3 {
        let client = server.new_client().await;
        writers.push(tokio::spawn(keep_writing(
            client,
            writer,
            stop.clone(),
            next.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let temp = tempfile::tempdir().unwrap();
    let backup_dir = temp.path().join("backup");
    let manifest = run_backup(&url, &backup_dir).await.expect("backup");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }

    let source_changes = all_changes(&mut client).await;
    let revision = manifest.revision;
    assert!(
        revision > before_backup,
        "no write landed before the snapshot"
    );
    assert!(
        source_changes.last().unwrap().revision > revision,
        "no write landed after the snapshot"
    );
    let source = by_id(list_all(&mut client, pb::ListTeachersRequest::default()).await);

    let restored_dir = temp.path().join("restored");
    restore_consistent(&backup_dir, &restored_dir).await;
    let copy_server = start_server_in(&restored_dir).await;
    let mut copy_client = copy_server.client.clone();
    let copy = by_id(list_all(&mut copy_client, pb::ListTeachersRequest::default()).await);

    // Teacher by teacher: as the source was at the backup's revision.
    let created_at: HashMap<&str, u64> = source_changes
        .iter()
        .filter(|c| c.kind == pb::ChangeKind::Created as i32)
        .map(|c| (c.teacher_id.as_str(), c.revision))
        .collect();
    let mut expected_count = 0;
    let mut changed_since = 0;
    for (id, now) in &source {
        if created_at[id.as_str()] > revision {
            assert!(!copy.contains_key(id), "{id} was created after the backup");
            continue;
        }
        expected_count += 1;
        let restored = copy.get(id).unwrap_or_else(|| panic!("{id} is missing"));
        if now.revision <= revision {
            assert_eq!(restored, now, "{id}");
        } else {
            changed_since += 1;
            assert!(
                restored.revision <= revision,
                "{id} is newer than the backup"
            );
            let changed_between = source_changes.iter().any(|c| {
                c.teacher_id == *id && c.revision > restored.revision && c.revision <= revision
            });
            assert!(!changed_between, "{id} misses a change before the backup");
        }
    }
    assert_eq!(copy.len(), expected_count);
    assert_eq!(manifest.teachers, expected_count as u64);
    assert!(changed_since > 0, "no teacher changed after the snapshot");

    // Change by change: the same log up to the backup's revision.
    let copy_changes = all_changes(&mut copy_client).await;
    let source_events: Vec<_> = source_changes
        .iter()
        .filter(|c| c.revision <= revision)
        .map(event)
        .collect();
    assert_eq!(
        copy_changes.iter().map(event).collect::<Vec<_>>(),
        source_events
    );

    // County feeds follow the restored county index.
    for county in COUNTIES {
        let page = |c: &mut Client| {
            let mut c = c.clone();
            async move {
                c.list_changes(pb::ListChangesRequest {
                    page_size: 1000,
                    county_code: county.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .changes
                .iter()
                .map(event)
                .filter(|e| e.0 <= revision)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            page(&mut copy_client).await,
            page(&mut client).await,
            "{county}"
        );
    }

    // The copy takes writes after the backup's revision.
    let written = create(&mut copy_client, teacher(99_999, "350702")).await;
    assert_eq!(written.revision, revision + 1);
    drop(copy_client);
    copy_server.stop().await;
    assert!(verify(&restored_dir).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_backups_and_occupied_directories_are_refused() {
    let server = start_server().await;
    let url = format!("http://{}", server.address);
    let mut client = server.client.clone();
    for n in 0..20 {
        create(&mut client, teacher(n, "350702")).await;
    }
    let temp = tempfile::tempdir().unwrap();
    let backup_dir = temp.path().join("backup");
    run_backup(&url, &backup_dir).await.expect("backup");

    // A backup never goes into a directory that holds anything.
    let again = run_backup(&url, &backup_dir).await.unwrap_err();
    assert!(again.to_string().contains("not empty"), "{again:#}");

    // Nor is a registry restored over one.
    let occupied = temp.path().join("occupied");
    std::fs::create_dir_all(&occupied).unwrap();
    std::fs::write(occupied.join("keep"), b"x").unwrap();
    let refused = run_restore(&backup_dir, &occupied).await.unwrap_err();
    assert!(refused.to_string().contains("not empty"), "{refused:#}");

    // One changed byte in a teacher line: refused before anything is written.
    let teachers = backup_dir.join("teachers.jsonl");
    let text = std::fs::read_to_string(&teachers).unwrap();
    std::fs::write(&teachers, text.replacen("第", "弟", 1)).unwrap();
    let target = temp.path().join("from-damaged");
    let damaged = run_restore(&backup_dir, &target).await.unwrap_err();
    assert!(damaged.to_string().contains("damaged"), "{damaged:#}");
    assert!(
        !target.exists(),
        "a damaged backup created {}",
        target.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_back_up_and_restore_through_the_binary() {
    let server = start_server().await;
    let mut client = server.client.clone();
    for n in 0..50 {
        create(&mut client, teacher(n, "350721")).await;
    }
    let temp = tempfile::tempdir().unwrap();
    let backup = temp.path().join("b");
    let restored = temp.path().join("r");
    let url = format!("http://{}", server.address);
    let stdout = run_binary_ok(&["backup", backup.to_str().unwrap(), "--server", &url]);
    assert!(stdout.contains("50 teachers as at revision 50"), "{stdout}");

    let stdout = run_binary_ok(&[
        "restore",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(stdout.contains("consistent"), "{stdout}");
    assert!(stdout.contains("compacted"), "{stdout}");
    // The commands' own directory, on sled whatever the other tests run on.
    let verify_sled = || run_binary_here(&["verify", "--data-dir", restored.to_str().unwrap()]);
    assert!(verify_sled().status.success());

    // An offline compaction keeps the registry whole.
    let stdout = run_binary_ok(&["compact", "--data-dir", restored.to_str().unwrap()]);
    assert!(stdout.contains("compacted"), "{stdout}");
    let verified = verify_sled();
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("50 records"));

    // Restoring into the same directory again fails, with a non-zero exit.
    let output = run_binary_here(&[
        "restore",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
}

/// Everything the EvaluationService answers about `round` and the vetoed teacher.
async fn evaluation_reads(
    client: &mut rounds_support::Rounds,
    round: &str,
    vetoed: &str,
) -> (
    pb::EvaluationRound,
    Vec<pb::TitleApplication>,
    Vec<pb::EthicsFinding>,
    Vec<pb::RoundFigures>,
) {
    let round_read = get_round(client, round).await;
    let applications = list_applications(client, round, "").await;
    let findings = list_ethics_findings(client, vetoed).await;
    let figures = client
        .get_round_statistics(pb::GetRoundStatisticsRequest {
            round_id: round.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .figures;
    (round_read, applications, findings, figures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_keeps_title_evaluation_and_a_restore_brings_it_back() {
    use chrono::Duration as Days;
    use rounds_support::{application_request, apply, open_round, reason, rounds, today, COUNTY};

    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let promoted = common::eligible_teacher(&mut registry, 1, COUNTY).await;
    let waiting = common::eligible_teacher(&mut registry, 2, COUNTY).await;
    let vetoed = common::eligible_teacher(&mut registry, 3, COUNTY).await;
    client
        .record_ethics_finding(pb::RecordEthicsFindingRequest {
            finding: Some(pb::EthicsFinding {
                teacher_id: vetoed.teacher_id.clone(),
                found_on: (today() - Days::days(100)).to_string(),
                ground: "有偿补课".into(),
                vetoes_until: (today() + Days::days(300)).to_string(),
                reviewed_by: "李审核".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let round = open_round(&mut client, today()).await;
    let applied_on = today() - Days::days(40);
    let first = apply(&mut client, &round, &promoted, applied_on).await;
    let second = apply(&mut client, &round, &waiting, applied_on).await;
    // A teacher who withdrew and applied again: two applications, the second open.
    let returning = common::eligible_teacher(&mut registry, 4, COUNTY).await;
    let withdrawn = apply(&mut client, &round, &returning, applied_on).await;
    client
        .close_title_application(pb::CloseTitleApplicationRequest {
            application_id: withdrawn.application_id.clone(),
            reason: pb::CloseReason::Withdrawn as i32,
            note: "本人撤回".into(),
            step_date: applied_on.to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    let reapplied = apply(&mut client, &round, &returning, applied_on).await;
    let open = |ids: Vec<String>, on: chrono::NaiveDate| pb::OpenPublicityRequest {
        round_id: round.round_id.clone(),
        application_ids: ids,
        step_date: on.to_string(),
        ..Default::default()
    };
    let both = vec![first.application_id.clone(), second.application_id.clone()];
    let opened = client
        .open_publicity(open(both, applied_on + Days::days(1)))
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert!(opened.iter().all(|o| o.error_code.is_empty()), "{opened:?}");
    let school_end: chrono::NaiveDate = opened[0].application.as_ref().unwrap().publicity[0]
        .ends_on
        .parse()
        .unwrap();
    let voted_on = school_end + Days::days(1);
    let voted = client
        .record_committee_results(pb::RecordCommitteeResultsRequest {
            round_id: round.round_id.clone(),
            rows: vec![pb::CommitteeResultRow {
                application_id: first.application_id.clone(),
                votes_for: 8,
                against: 1,
                abstain: 0,
                present: 9,
            }],
            step_date: voted_on.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert!(voted[0].error_code.is_empty(), "{voted:?}");
    let result = client
        .open_publicity(open(
            vec![first.application_id.clone()],
            voted_on + Days::days(1),
        ))
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    let result_end: chrono::NaiveDate = result[0].application.as_ref().unwrap().publicity[1]
        .ends_on
        .parse()
        .unwrap();
    let mut confirmed = client
        .confirm_applications(pb::ConfirmApplicationsRequest {
            round_id: round.round_id.clone(),
            application_ids: vec![first.application_id.clone()],
            approval_document: "南人社[2026]12号".into(),
            step_date: (result_end + Days::days(1)).to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut summary = None;
    while let Some(message) = confirmed.message().await.unwrap() {
        if let Some(pb::confirm_applications_response::Result::Summary(s)) = message.result {
            summary = Some((s.confirmed, s.refused));
        }
    }
    assert_eq!(summary, Some((1, 0)));

    let before = evaluation_reads(&mut client, &round.round_id, &vetoed.teacher_id).await;
    let states: std::collections::BTreeMap<String, i32> = before
        .1
        .iter()
        .map(|a| (a.application_id.clone(), a.state))
        .collect();
    let expected: std::collections::BTreeMap<String, i32> = [
        (&first, pb::ApplicationState::Confirmed),
        (&second, pb::ApplicationState::SchoolPublicity),
        (&withdrawn, pb::ApplicationState::Closed),
        (&reapplied, pb::ApplicationState::Applied),
    ]
    .into_iter()
    .map(|(a, state)| (a.application_id.clone(), state as i32))
    .collect();
    assert_eq!(states, expected, "{:?}", before.1);
    assert_eq!(before.2.len(), 1);
    assert!(!before.3.is_empty());
    let changes_before = all_changes(&mut registry).await;

    let temp = tempfile::tempdir().unwrap();
    let (backup, restored) = (temp.path().join("b"), temp.path().join("r"));
    let url = format!("http://{}", server.address);
    let manifest = run_backup(&url, &backup).await.unwrap();
    assert_eq!(
        manifest.evaluation, 6,
        "a round, four applications, a finding"
    );
    let done = restore_into(&backup, &restored).await.unwrap();
    assert!(done.report.is_consistent(), "{:?}", done.report);
    assert_eq!(done.report.applications, 4);
    let verified = verify(&restored);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    let again = start_server_in(&restored).await;
    let mut client = rounds(&again).await;
    let after = evaluation_reads(&mut client, &round.round_id, &vetoed.teacher_id).await;
    assert_eq!(after, before, "rounds, applications, findings and figures");
    assert_eq!(all_changes(&mut again.client.clone()).await, changes_before);
    // The restored indexes still hold: one open application per teacher and round (the
    // reapplied teacher's second), and the finding still vetoes.
    for (teacher, refusal) in [
        (&waiting, "ALREADY_APPLIED"),
        (&returning, "ALREADY_APPLIED"),
        (&vetoed, "ETHICS_VETO"),
    ] {
        let refused = client
            .apply_for_title(application_request(&round, teacher, applied_on))
            .await
            .unwrap_err();
        assert_eq!(reason(&refused), refusal);
    }
}
