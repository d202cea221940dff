//! Backup formats: a backup in each format that releases have written restores to the
//! same teachers and change log, and a new backup is written in the newest format.
//!
//! `tests/fixtures/backup-v1` was taken by the last release that wrote format 1, with
//! `fixture_writer_backup`: every kind of change on four teachers, then a backup.
//! `tests/fixtures/backup-v2` is the backup, in format 2, of the registry restored from
//! it:
//!
//! ```sh
//! BACKUP_FIXTURE_DIR=$PWD/tests/fixtures/backup-v2 BACKUP_FIXTURE_FROM=tests/fixtures/backup-v1 \
//!     cargo test --test backup_formats fixture_writer_backup -- --ignored
//! ```

mod common;

use std::path::{Path, PathBuf};

use prost_types::FieldMask;
use teacher_registry::api::pb;
use teacher_registry::cli::{run_backup, run_restore, BackupFormat, Manifest};

use common::{
    all_changes, certificate, create_request, list_all, resident_id, restore_consistent,
    restore_into, start_server, start_server_in, teacher, Client,
};

const FIXTURE_V1: &str = "tests/fixtures/backup-v1";
const FIXTURE_V2: &str = "tests/fixtures/backup-v2";
const COUNTIES: [&str; 2] = ["350702", "350721"];

const PRIMARY: &str = "20163500022000123";
const JUNIOR: &str = "20173500032000456";

/// The teacher in a change's answer.
fn answered(teacher: Option<pb::Teacher>) -> pb::Teacher {
    teacher.expect("the answer holds the teacher")
}

/// Every kind of change on four teachers: request ids, certificates with copies,
/// registrations and a revocation, title history of every kind, a legacy title, a move
/// between counties, and identity documents of several types.
async fn every_kind_of_change(client: &mut Client) {
    let first = answered(
        client
            .create_teacher(create_request(teacher(1, "350702"), "fixture-create-1"))
            .await
            .expect("create")
            .into_inner()
            .teacher,
    );
    let with_legacy = pb::Teacher {
        legacy_title: pb::LegacyTitle::SecondaryFirst as i32,
        legacy_title_limited_scope: true,
        ..teacher(2, "350702")
    };
    let second = answered(
        client
            .create_teacher(create_request(with_legacy, ""))
            .await
            .expect("create")
            .into_inner()
            .teacher,
    );
    let passport = pb::Teacher {
        id_document_type: pb::IdDocumentType::Passport as i32,
        national_id: "E12345678".into(),
        ..teacher(3, "350702")
    };
    let third = answered(
        client
            .create_teacher(create_request(passport, ""))
            .await
            .expect("create")
            .into_inner()
            .teacher,
    );
    let fourth = pb::Teacher {
        national_id: resident_id("350721", "1985-03-04", 7),
        birth_date: "1985-03-04".into(),
        gender: pb::Gender::Male as i32,
        ..teacher(4, "350721")
    };
    client
        .create_teacher(create_request(fourth, ""))
        .await
        .expect("create");

    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: first.teacher_id.clone(),
            certificate: Some(certificate(PRIMARY)),
            first_registration_on: "2016-09-01".into(),
            etag: String::new(),
            request_id: "fixture-issue-1".into(),
        })
        .await
        .expect("issue");
    client
        .reissue_certificate(pb::ReissueCertificateRequest {
            certificate_number: PRIMARY.into(),
            reason: pb::ReissueReason::Lost as i32,
            declaration_ref: "SD-2024-0042".into(),
            issued_on: "2024-03-01".into(),
            ..Default::default()
        })
        .await
        .expect("reissue");
    client
        .register_certificate(pb::RegisterCertificateRequest {
            certificate_number: PRIMARY.into(),
            registered_on: "2021-09-01".into(),
            ..Default::default()
        })
        .await
        .expect("register");
    for (kind, tier, date, exceptional) in [
        (
            pb::TitleChangeKind::Initial,
            pb::TitleTier::ThirdLevel,
            "2016-01-01",
            false,
        ),
        (
            pb::TitleChangeKind::Promotion,
            pb::TitleTier::FirstLevel,
            "2020-01-01",
            true,
        ),
    ] {
        client
            .change_title(pb::ChangeTitleRequest {
                teacher_id: first.teacher_id.clone(),
                change: Some(pb::TitleEntry {
                    tier: tier as i32,
                    kind: kind as i32,
                    effective_date: date.into(),
                    approval_document: "Nan Jiao Ren [2016] No. 5".into(),
                    exceptional,
                    note: "破格".into(),
                    ..Default::default()
                }),
                etag: String::new(),
                request_id: String::new(),
            })
            .await
            .expect("title change");
    }

    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: second.teacher_id.clone(),
            certificate: Some(pb::Certificate {
                kind: pb::CertificateKind::JuniorSecondary as i32,
                certified_on: "2017-07-01".into(),
                ..certificate(JUNIOR)
            }),
            ..Default::default()
        })
        .await
        .expect("issue");
    client
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: JUNIOR.into(),
            reason: "以欺骗手段取得".into(),
            approval_document: "Nan Jiao Ren [2024] No. 12".into(),
            revoked_on: "2024-06-01".into(),
            ..Default::default()
        })
        .await
        .expect("revoke");
    let mut transition = client
        .transition_titles(pb::TransitionTitlesRequest {
            teacher_ids: vec![second.teacher_id.clone()],
            effective_date: "2017-01-01".into(),
            approval_document: "Min Ren She [2017] No. 3".into(),
            request_id: "fixture-transition".into(),
            ..Default::default()
        })
        .await
        .expect("transition")
        .into_inner();
    while transition.message().await.expect("transition").is_some() {}

    client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: third.teacher_id.clone(),
                county_code: "350721".into(),
                school: String::new(),
                employment_status: pb::EmploymentStatus::Retired as i32,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec![
                    "county_code".into(),
                    "school".into(),
                    "employment_status".into(),
                ],
            }),
            request_id: "fixture-move".into(),
        })
        .await
        .expect("move");
}

/// What a registry holds, as its clients see it: every teacher, the whole change log, and
/// each county's feed (which the restored county indexes and change counties make).
#[derive(Debug, PartialEq)]
struct Contents {
    teachers: Vec<pb::Teacher>,
    changes: Vec<pb::Change>,
    county_feeds: Vec<Vec<pb::Change>>,
}

async fn contents(client: &mut Client) -> Contents {
    let mut county_feeds = Vec::new();
    for county in COUNTIES {
        let page = client
            .list_changes(pb::ListChangesRequest {
                page_size: 1000,
                county_code: county.into(),
                ..Default::default()
            })
            .await
            .expect("county feed")
            .into_inner();
        county_feeds.push(page.changes);
    }
    Contents {
        teachers: list_all(client, pb::ListTeachersRequest::default()).await,
        changes: all_changes(client).await,
        county_feeds,
    }
}

/// Restores `backup` into a new directory under `temp` and reads the registry back.
async fn restored(backup: &Path, temp: &Path, name: &str) -> (Manifest, Contents) {
    let data = temp.join(name);
    let restored = restore_consistent(backup, &data).await;
    let mut server = start_server_in(&data).await;
    let contents = contents(&mut server.client).await;
    server.stop().await;
    (restored.manifest, contents)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_of_both_formats_restore_to_the_same_registry() {
    let temp = tempfile::tempdir().unwrap();
    let (v1, from_v1) = restored(Path::new(FIXTURE_V1), temp.path(), "v1").await;
    let (v2, from_v2) = restored(Path::new(FIXTURE_V2), temp.path(), "v2").await;
    assert_eq!(v1.format, BackupFormat::LegacyV1.name());
    assert_eq!(v2.format, BackupFormat::ProtoJson.name());
    assert_eq!(from_v1, from_v2);

    // Nothing was left at its default on the way: the fixture's every kind of record.
    assert_eq!(from_v1.teachers.len(), 4);
    assert_eq!(from_v1.changes.len(), 13);
    let certificates: Vec<_> = from_v1
        .teachers
        .iter()
        .flat_map(|t| &t.certificates)
        .collect();
    assert!(certificates.iter().any(|c| c.copies.len() == 2
        && c.registrations.len() == 2
        && c.copies[1].declaration_ref == "SD-2024-0042"));
    assert!(certificates.iter().any(|c| c.revocation.is_some()));
    let titles: Vec<_> = from_v1
        .teachers
        .iter()
        .flat_map(|t| &t.title_history)
        .collect();
    assert!(titles
        .iter()
        .all(|e| e.recorded_by == "anonymous" && e.record_time.is_some()));
    assert!(titles.iter().any(|e| e.exceptional));
    assert!(from_v1
        .changes
        .iter()
        .any(|c| c.request_id == "fixture-move"));
    // The move out of 350702 shows in its feed only through the change counties.
    assert_eq!(
        from_v1.county_feeds[0].last().unwrap().kind(),
        pb::ChangeKind::MovedOut
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_backup_is_format_2_and_restores_the_registry_it_was_taken_from() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("from-v1");
    restore_into(Path::new(FIXTURE_V1), &data)
        .await
        .expect("restore");
    let mut server = start_server_in(&data).await;
    let source = contents(&mut server.client).await;
    let backup = temp.path().join("backup");
    let manifest = run_backup(&format!("http://{}", server.address), &backup)
        .await
        .expect("backup");
    server.stop().await;
    assert_eq!(manifest.format, "teacher-registry-backup/2");

    // The same lines as the committed format 2 fixture: the format has not drifted.
    for file in ["teachers.jsonl", "changes.jsonl"] {
        assert_eq!(
            std::fs::read_to_string(backup.join(file)).unwrap(),
            std::fs::read_to_string(Path::new(FIXTURE_V2).join(file)).unwrap(),
            "{file}"
        );
    }
    let (_, copy) = restored(&backup, temp.path(), "copy").await;
    assert_eq!(copy, source);
}

#[tokio::test]
async fn an_unknown_format_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let backup = temp.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    for file in ["teachers.jsonl", "changes.jsonl", "manifest.json"] {
        std::fs::copy(Path::new(FIXTURE_V2).join(file), backup.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(backup.join("manifest.json")).unwrap();
    std::fs::write(
        backup.join("manifest.json"),
        manifest.replace("teacher-registry-backup/2", "teacher-registry-backup/3"),
    )
    .unwrap();
    let target = temp.path().join("restored");
    let refused = run_restore(&backup, &target).await.unwrap_err();
    assert!(
        refused.to_string().contains("unknown backup format"),
        "{refused:#}"
    );
    assert!(!target.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a fixture into BACKUP_FIXTURE_DIR (see the module documentation)"]
async fn fixture_writer_backup() {
    let dir = PathBuf::from(std::env::var("BACKUP_FIXTURE_DIR").expect("BACKUP_FIXTURE_DIR"));
    let temp = tempfile::tempdir().unwrap();
    let server = match std::env::var("BACKUP_FIXTURE_FROM") {
        Ok(from) => {
            let data = temp.path().join("data");
            run_restore(Path::new(&from), &data).await.expect("restore");
            start_server_in(&data).await
        }
        Err(_) => {
            let mut server = start_server().await;
            every_kind_of_change(&mut server.client).await;
            server
        }
    };
    run_backup(&format!("http://{}", server.address), &dir)
        .await
        .expect("backup");
    server.stop().await;
}
