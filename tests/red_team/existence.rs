//! Finding 2: existence oracles through writes.
//!
//! RegisterCertificate with a stale etag answered NOT_FOUND for no such certificate,
//! PERMISSION_DENIED for another county's and ABORTED for one's own, writing nothing: a
//! sweep of certificate numbers found another county's holders. An import row said the
//! same of identity numbers, and nothing limited how fast a principal could be refused.

use teacher_registry::api::pb;
use teacher_registry::api::RateLimit;
use teacher_registry::domain::TeacherId;
use teacher_registry::server::ServerOptions;
use tonic::Code;

use super::harness::{
    as_token, audited, create_as, keep_log, revealed_to_county_a, secured, server_log, As, A, B,
};
use crate::common::{get_teacher, issue_request, teacher, Answered};

const CERT_B: &str = "20163500022000456";
const NO_CERT: &str = "20163500022000999";

async fn issue(client: &mut As, holder: &pb::Teacher, number: &str) -> pb::Teacher {
    client
        .issue_certificate(issue_request(&holder.teacher_id, number))
        .await
        .unwrap_teacher()
}

/// The code and message of a refused write, which is all a sweep looks at.
fn answer(result: Result<tonic::Response<impl Sized>, tonic::Status>) -> (Code, String) {
    let status = result.map(drop).expect_err("refused");
    (status.code(), status.message().to_string())
}

#[tokio::test]
async fn writes_cannot_tell_another_countys_record_from_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let holder = create_as(&mut admin, teacher(2, B)).await;
    let holder = issue(&mut admin, &holder, CERT_B).await;
    let mut county = as_token(&server, &tokens.county_a).await;

    let register = |number: &str| pb::RegisterCertificateRequest {
        certificate_number: number.into(),
        registered_on: "2020-01-01".into(),
        etag: "stale".into(),
        request_id: String::new(),
    };
    let theirs = answer(county.register_certificate(register(CERT_B)).await);
    let missing = answer(county.register_certificate(register(NO_CERT)).await);
    assert_eq!(theirs, missing);
    assert_eq!(theirs.0, Code::NotFound);

    let update = |teacher_id: &str| pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: teacher_id.into(),
            school: "x".into(),
            etag: "stale".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let gone = create_as(&mut admin, teacher(3, B)).await;
    let theirs = answer(county.update_teacher(update(&holder.teacher_id)).await);
    // A registry number no record holds.
    let never = TeacherId::generate(&mut rand::thread_rng()).to_string();
    assert_ne!(never, gone.teacher_id);
    assert_ne!(never, holder.teacher_id);
    let missing = answer(county.update_teacher(update(&never)).await);
    assert_eq!(theirs, missing);
    assert_eq!(theirs.0, Code::NotFound);

    // Nothing was written by any of it.
    let after = get_teacher(&mut admin, &holder.teacher_id).await;
    assert_eq!(after.etag, holder.etag);
}

#[tokio::test]
async fn an_import_meets_another_countys_holder_only_as_an_audited_duplicate() {
    keep_log();
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let theirs = create_as(&mut admin, teacher(40, B)).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let mut codes = Vec::new();
    for mode in [pb::ImportMode::CreateOnly, pb::ImportMode::Upsert] {
        // The same person, as a row of the importer's own county.
        let mut row = teacher(40, A);
        row.school = "新学校".into();
        let mut results = county
            .import_teachers(tokio_stream::iter(vec![pb::ImportTeachersRequest {
                teacher: Some(row),
                mode: mode as i32,
            }]))
            .await
            .unwrap()
            .into_inner();
        let result = results.message().await.unwrap().unwrap();
        assert_eq!(result.outcome(), pb::ImportOutcome::Rejected);
        codes.push(crate::common::row_code(&result));
    }
    // Upsert no longer says PERMISSION_DENIED where create-only says ALREADY_EXISTS.
    assert_eq!(codes, ["ALREADY_EXISTS", "ALREADY_EXISTS"]);
    let entries = revealed_to_county_a(&server, &tokens, 2).await;
    let naming = entries
        .iter()
        .filter(|e| e.method == "ImportTeachers" && e.subject.contains(&theirs.teacher_id))
        .count();
    assert!(naming >= 2, "{entries:#?}");
    assert!(entries
        .iter()
        .all(|e| !e.subject.contains(&theirs.national_id)));
    assert!(!server_log().contains(&theirs.national_id));
}

#[tokio::test]
async fn a_sweep_of_refusals_is_held_back_per_principal() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        refusal_limit: RateLimit {
            per_minute: 1,
            burst: 5,
        },
        ..Default::default()
    };
    let (server, tokens) = secured(dir.path(), options).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let theirs = create_as(&mut admin, teacher(7, B)).await;
    let own = create_as(&mut admin, teacher(8, A)).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let get = |id: &str| pb::GetTeacherRequest {
        teacher_id: id.into(),
        revision: None,
    };
    for _ in 0..5 {
        let status = county
            .get_teacher(get(&theirs.teacher_id))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
    let held = county
        .get_teacher(get(&theirs.teacher_id))
        .await
        .unwrap_err();
    assert_eq!(held.code(), Code::ResourceExhausted, "{held:?}");
    // Held back for anything, its own records included, until the bucket refills.
    let held = county.get_teacher(get(&own.teacher_id)).await.unwrap_err();
    assert_eq!(held.code(), Code::ResourceExhausted);
    // Other principals are not.
    let mut other = as_token(&server, &tokens.county_b).await;
    other.get_teacher(get(&theirs.teacher_id)).await.unwrap();
    for _ in 0..10 {
        let status = admin.get_teacher(get(&own.teacher_id)).await;
        assert!(status.is_ok());
    }
    // Finding 12: the trip is in the read audit, once for the spell, not per refusal.
    let trips = audited(&server, &tokens.admin, pb::AuditKind::RefusalLimit, "", 1).await;
    assert_eq!(trips.len(), 1, "{trips:#?}");
    assert_eq!(trips[0].principal, "yanping");
}

/// Finding 5, in part: 20,000 no-op updates with unique request ids left no change event
/// and nothing in any audit. Each is now an entry of the read audit naming the principal.
#[tokio::test]
async fn a_write_that_changes_nothing_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let own = create_as(&mut county, teacher(30, A)).await;
    for n in 0..3 {
        county
            .update_teacher(pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: own.teacher_id.clone(),
                    school: own.school.clone(),
                    ..Default::default()
                }),
                request_id: format!("no-op-{n}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let entries = audited(
        &server,
        &tokens.admin,
        pb::AuditKind::NoOpWrite,
        "yanping",
        3,
    )
    .await;
    assert_eq!(entries.len(), 3, "{entries:#?}");
    assert!(entries
        .iter()
        .all(|e| e.subject == own.teacher_id && e.method == "UpdateTeacher"));
}
