//! A teacher's history (AIP-162) through a real server: every change keeps what it
//! changed, field by field; ListTeacherRevisions lists it newest first; GetTeacher with a
//! revision reads the record as it was; readers see it masked, other counties not at all;
//! backups carry it and `verify` checks it.

mod common;

use std::path::Path;

use common::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::auth::{add_principal, Role};
use teacher_registry::cli::run_backup;
use teacher_registry::domain::TeacherId;
use teacher_registry::store::{Store, StoreOptions};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::Code;

const A: &str = "350702";
const B: &str = "350721";

type AuthClient = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;

async fn as_token(server: &TestServer, token: &str) -> AuthClient {
    TeacherRegistryServiceClient::new(server.channel_as(token).await)
}

fn update_school(teacher: &pb::Teacher, school: &str) -> pb::UpdateTeacherRequest {
    pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: teacher.teacher_id.clone(),
            school: school.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["school".into()],
        }),
        request_id: String::new(),
    }
}

/// ListTeacherRevisions of a teacher, first page of the default size, with any client.
macro_rules! revisions {
    ($client:expr, $id:expr) => {
        $client
            .list_teacher_revisions(pb::ListTeacherRevisionsRequest {
                teacher_id: $id.to_string(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    };
}

fn difference<'a>(
    revision: &'a pb::TeacherRevision,
    field: &str,
) -> Option<&'a pb::FieldDifference> {
    revision.differences.iter().find(|d| d.field == field)
}

/// Creates a teacher in A, moves them to another school, issues a certificate; answers
/// the record after each step. Another teacher is created between the last two, so the
/// registry has a revision at which the first did not change.
async fn three_revisions(client: &mut Client) -> [pb::Teacher; 3] {
    let created = create(client, teacher(1, A)).await;
    let moved = client
        .update_teacher(update_school(&created, "第九中学"))
        .await
        .unwrap_teacher();
    create(client, teacher(2, A)).await;
    let issued = client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: created.teacher_id.clone(),
            certificate: Some(certificate("20163500022000123")),
            request_id: "issue-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_teacher();
    [created, moved, issued]
}

#[tokio::test]
async fn every_change_is_listed_newest_first_with_what_it_changed() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let [created, moved, issued] = three_revisions(&mut client).await;
    let history = revisions!(client, &created.teacher_id).unwrap();
    assert!(history.history_complete);
    assert_eq!(history.earliest_revision, created.revision);
    let listed: Vec<u64> = history.revisions.iter().map(|r| r.revision).collect();
    assert_eq!(listed, [issued.revision, moved.revision, created.revision]);
    let kinds: Vec<i32> = history.revisions.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::ChangeKind::CertificateIssued as i32,
            pb::ChangeKind::Updated as i32,
            pb::ChangeKind::Created as i32
        ]
    );

    // The move changed the school and nothing else (its revision and etag are the entry).
    let school = &history.revisions[1];
    assert_eq!(school.differences.len(), 1, "{:?}", school.differences);
    let change = difference(school, "school").unwrap();
    assert_eq!(change.old_value, format!("\"{}\"", created.school));
    assert_eq!(change.new_value, "\"第九中学\"");
    // An admin sees who made each change, and under which request id.
    assert_eq!(history.revisions[0].principal, "anonymous");
    assert_eq!(history.revisions[0].request_id, "issue-1");
    let number = difference(&history.revisions[0], "certificates[0].certificateNumber").unwrap();
    assert_eq!(
        (number.old_value.as_str(), number.new_value.as_str()),
        ("", "\"20163500022000123\"")
    );
    // The creation sets every field, from nothing.
    let name = difference(&history.revisions[2], "name").unwrap();
    assert_eq!(
        (name.old_value.as_str(), name.new_value.as_str()),
        ("", "\"教师1\"")
    );

    // Page by page, the same, newest first.
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_teacher_revisions(pb::ListTeacherRevisionsRequest {
                teacher_id: created.teacher_id.clone(),
                page_size: 1,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.revisions.iter().map(|r| r.revision));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, listed);
}

#[tokio::test]
async fn get_teacher_at_a_revision_answers_the_record_as_it_was() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let [created, moved, issued] = three_revisions(&mut client).await;
    let at = |revision: u64| pb::GetTeacherRequest {
        teacher_id: created.teacher_id.clone(),
        revision: Some(revision),
    };
    for expected in [&created, &moved, &issued] {
        let got = client
            .get_teacher(at(expected.revision))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.teacher.as_ref(), Some(expected));
    }
    // Between two changes: as the earlier one left it; after the last: as it is.
    assert!(moved.revision + 1 < issued.revision);
    let between = client
        .get_teacher(at(moved.revision + 1))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(between.teacher.as_ref(), Some(&moved));
    let later = client
        .get_teacher(at(issued.revision + 100))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(later.teacher.as_ref(), Some(&issued));
    // Before the record existed: NOT_FOUND.
    let before = client
        .get_teacher(at(created.revision - 1))
        .await
        .unwrap_err();
    assert_eq!(before.code(), Code::NotFound, "{before:?}");
    // A registry number nobody holds: NOT_FOUND as ever.
    let unknown = TeacherId::generate(&mut rand::thread_rng());
    let missing = revisions!(client, unknown.as_str()).unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = revisions!(client, "T123").unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn readers_see_history_masked_and_other_counties_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let admin = add_principal(&path, "root", Role::Admin, None).unwrap();
    let reader = add_principal(&path, "auditor", Role::Reader, None).unwrap();
    let county_a = add_principal(&path, "yanping", Role::County, Some(A)).unwrap();
    let county_b = add_principal(&path, "shunchang", Role::County, Some(B)).unwrap();
    let server = start_server_with_auth(&path).await;
    let mut admin = as_token(&server, &admin).await;
    let created = create(&mut admin, teacher(7, A)).await;
    admin
        .update_teacher(update_school(&created, "第五中学"))
        .await
        .unwrap();

    let mut reader = as_token(&server, &reader).await;
    let history = revisions!(reader, &created.teacher_id).unwrap();
    let creation = history.revisions.last().unwrap();
    let shown = difference(creation, "nationalId").unwrap();
    assert!(!shown.new_value.contains(&created.national_id), "{shown:?}");
    assert!(shown.new_value.contains('*'), "{shown:?}");
    let birth = difference(creation, "birthDate").unwrap();
    assert_eq!(birth.new_value, format!("\"{}\"", &created.birth_date[..4]));
    assert!(history
        .revisions
        .iter()
        .all(|r| r.principal.is_empty() && r.request_id.is_empty()));
    let old = reader
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: created.teacher_id.clone(),
            revision: Some(created.revision),
        })
        .await
        .unwrap_teacher();
    assert_ne!(old.national_id, created.national_id);
    assert_eq!(old.school, created.school);

    let mut own = as_token(&server, &county_a).await;
    assert_eq!(
        revisions!(own, &created.teacher_id)
            .unwrap()
            .revisions
            .len(),
        2
    );
    let mut other = as_token(&server, &county_b).await;
    let refused = revisions!(other, &created.teacher_id).unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    let refused = other
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: created.teacher_id.clone(),
            revision: Some(created.revision),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
}

#[tokio::test]
async fn backups_carry_histories_and_verify_checks_them() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let [created, ..] = three_revisions(&mut client).await;
    let before = revisions!(client, &created.teacher_id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().join("backup");
    let manifest = run_backup(&format!("http://{}", server.address), &backup_dir)
        .await
        .expect("backup");
    assert_eq!(manifest.revisions, 4);
    let restored_dir = dir.path().join("restored");
    let restored = common::restore_into(&backup_dir, &restored_dir)
        .await
        .expect("restore");
    assert_eq!(restored.report.revision_entries, 4);
    assert_eq!(restored.report.complete_histories, 2);
    assert!(
        restored.report.is_consistent(),
        "{:?}",
        restored.report.problems
    );

    let again = start_server_in(&restored_dir).await;
    let mut client = again.client.clone();
    let after = revisions!(client, &created.teacher_id).unwrap();
    assert_eq!(after, before);
    verify_store(&restored_dir, again).await;
}

/// `verify` of the registry `server` serves, once it has stopped.
async fn verify_store(dir: &Path, server: TestServer) {
    let _kept = server.stop().await;
    let store = Store::open_at(&location_for(dir), &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.revision_entries, 4);
}
