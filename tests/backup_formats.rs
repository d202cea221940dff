//! Backup formats: a backup in each format this release has written restores to the same
//! teachers and change log. `tests/fixtures/backup-v1` was taken by the release that wrote
//! format 1; `write_backup_fixture` (ignored; run it by name with `BACKUP_FIXTURE_DIR` set)
//! shows how: every kind of change on a handful of teachers, then a backup.

mod common;

use std::path::PathBuf;

use prost_types::FieldMask;
use teacher_registry::api::pb;
use teacher_registry::cli::run_backup;

use common::{certificate, create_request, resident_id, start_server, teacher, Client};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a fixture: BACKUP_FIXTURE_DIR=DIR cargo test --test backup_formats write_backup_fixture -- --ignored"]
async fn write_backup_fixture() {
    let dir = PathBuf::from(std::env::var("BACKUP_FIXTURE_DIR").expect("BACKUP_FIXTURE_DIR"));
    let mut server = start_server().await;
    every_kind_of_change(&mut server.client).await;
    run_backup(&format!("http://{}", server.address), &dir)
        .await
        .expect("backup");
}
