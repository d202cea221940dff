//! Writes addressed to a number a merge retired, through a real server (issue 22): every
//! write RPC that names a teacher by registry number answers FAILED_PRECONDITION with
//! ErrorInfo reason `TEACHER_MERGED` and the survivor's number, to a caller who may see
//! the survivor; to a county caller who may not, exactly what a number that never existed
//! gets (NOT_FOUND, the same message, no detail). Nothing changes either way.
//!
//! Beside `tests/merge.rs` (the merge itself, mirrors, unmerge, backups), which is at the
//! length the style allows.

mod common;

use common::*;
use teacher_registry::api::pb;
use tonic::Status;

const A: &str = "350702";
const B: &str = "350721";

type Registry = pb::teacher_registry_service_client::TeacherRegistryServiceClient<Authed>;
type Identity = pb::identity_service_client::IdentityServiceClient<Authed>;
type Duplicates = pb::duplicate_service_client::DuplicateServiceClient<Authed>;
type Rounds = pb::evaluation_service_client::EvaluationServiceClient<Authed>;
type Cases = pb::case_service_client::CaseServiceClient<Authed>;

/// One person twice in `county` (a passport record, then a resident identity card
/// record), the passport merged into the card as `admin`: (retired, survivor).
async fn merged_pair(
    admin: &mut Registry,
    identity: &mut Identity,
    n: u32,
    retired_county: &str,
    survivor_county: &str,
) -> (String, String) {
    let birth = format!("1985-03-{n:02}");
    let create = |teacher: pb::Teacher| {
        let mut admin = admin.clone();
        async move { create(&mut admin, teacher).await.teacher_id }
    };
    let retired = create(pb::Teacher {
        id_document_type: pb::IdDocumentType::Passport as i32,
        national_id: format!("E5555555{n}"),
        name: format!("陈静{n}"),
        gender: pb::Gender::Female as i32,
        birth_date: birth.clone(),
        ..teacher(n, retired_county)
    })
    .await;
    let survivor = create(pb::Teacher {
        national_id: resident_id("350702", &birth, 2),
        name: format!("陈静{n}"),
        gender: pb::Gender::Female as i32,
        birth_date: birth,
        ..teacher(n + 100, survivor_county)
    })
    .await;
    identity
        .merge_teachers(pb::MergeTeachersRequest {
            survivor_teacher_id: survivor.clone(),
            merged_teacher_id: retired.clone(),
            reason: "护照与身份证为同一人".into(),
            ..Default::default()
        })
        .await
        .expect("merge");
    (retired, survivor)
}

/// Every write RPC that names a teacher by number, sent as the principal of `token` with
/// `id` as that number (`other` a record the caller may see, where a second is needed),
/// each with its refusal; the evaluation steps only given a round to apply in. A write
/// that succeeds fails the test.
async fn writes(
    server: &TestServer,
    token: &str,
    id: &str,
    other: &str,
    round_id: Option<&str>,
) -> Vec<(&'static str, Status)> {
    let channel = server.channel_as(token).await;
    let mut registry = Registry::new(channel.clone());
    let mut identity = Identity::new(channel.clone());
    let mut duplicates = Duplicates::new(channel.clone());
    let mut cases = Cases::new(channel.clone());
    let mut answers = vec![
        (
            "UpdateTeacher",
            registry
                .update_teacher(pb::UpdateTeacherRequest {
                    teacher: Some(pb::Teacher {
                        teacher_id: id.into(),
                        school: "第九中学".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["school".into()],
                    }),
                    request_id: String::new(),
                })
                .await
                .map(drop),
        ),
        (
            "IssueCertificate",
            registry
                .issue_certificate(pb::IssueCertificateRequest {
                    teacher_id: id.into(),
                    certificate: Some(certificate("20163500022000077")),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "ChangeTitle",
            registry
                .change_title(second_level_since_2015(id))
                .await
                .map(drop),
        ),
        (
            "ProposeTransfer",
            registry
                .propose_transfer(pb::ProposeTransferRequest {
                    teacher_id: id.into(),
                    to_county_code: "350722".into(),
                    reason: "工作调动".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "AcceptTransfer",
            registry
                .accept_transfer(pb::AcceptTransferRequest {
                    teacher_id: id.into(),
                    school: "第二中学".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "DeclineTransfer",
            registry
                .decline_transfer(pb::DeclineTransferRequest {
                    teacher_id: id.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "ProposeIdentityCorrection",
            identity
                .propose_identity_correction(pb::ProposeIdentityCorrectionRequest {
                    teacher_id: id.into(),
                    id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
                    national_id: resident_id("350702", "1985-03-02", 8),
                    reason: "换领居民身份证".into(),
                    evidence_ref: "扫描件 2026-1".into(),
                    request_id: String::new(),
                })
                .await
                .map(drop),
        ),
        (
            "MergeTeachers (merged)",
            identity
                .merge_teachers(pb::MergeTeachersRequest {
                    survivor_teacher_id: other.into(),
                    merged_teacher_id: id.into(),
                    reason: "同一人".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "MergeTeachers (survivor)",
            identity
                .merge_teachers(pb::MergeTeachersRequest {
                    survivor_teacher_id: id.into(),
                    merged_teacher_id: other.into(),
                    reason: "同一人".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "DismissDuplicateCandidate",
            duplicates
                .dismiss_duplicate_candidate(pb::DismissDuplicateCandidateRequest {
                    teacher_id: id.into(),
                    other_teacher_id: other.into(),
                    note: "两人".into(),
                    request_id: String::new(),
                })
                .await
                .map(drop),
        ),
        (
            "OpenCase",
            cases
                .open_case(pb::OpenCaseRequest {
                    case: Some(pb::Case {
                        kind: pb::CaseKind::Certification as i32,
                        county_code: A.into(),
                        teacher_id: id.into(),
                        certificate_kind: pb::CertificateKind::PrimarySchool as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
    ];
    if let Some(round_id) = round_id {
        let mut rounds = Rounds::new(channel);
        answers.push((
            "ApplyForTitle",
            rounds
                .apply_for_title(pb::ApplyForTitleRequest {
                    round_id: round_id.into(),
                    teacher_id: id.into(),
                    applied_on: today_cst().to_string(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ));
        answers.push((
            "RecordEthicsFinding",
            rounds
                .record_ethics_finding(ethics_finding_request(id))
                .await
                .map(drop),
        ));
    }
    answers
        .into_iter()
        .map(|(rpc, answer)| match answer {
            Ok(()) => panic!("{rpc} to {id} succeeded"),
            Err(status) => (rpc, status),
        })
        .collect()
}

/// TransitionTitles of `id` alone: the one teacher's result.
async fn transition(server: &TestServer, token: &str, id: &str) -> pb::TeacherTransition {
    use futures::StreamExt;
    let mut registry = Registry::new(server.channel_as(token).await);
    let mut stream = registry
        .transition_titles(pb::TransitionTitlesRequest {
            teacher_ids: vec![id.into()],
            effective_date: "2025-01-01".into(),
            approval_document: "闽人社[2025]1号".into(),
            ..Default::default()
        })
        .await
        .expect("transition")
        .into_inner();
    match stream.next().await.unwrap().unwrap().result {
        Some(pb::transition_titles_response::Result::Teacher(t)) => t,
        other => panic!("{other:?}"),
    }
}

/// The registry's whole state as a client sees it: the feed's last revision and both
/// records as they are.
async fn state(registry: &mut Registry, ids: &[&str]) -> (u64, Vec<pb::Teacher>) {
    let page = registry
        .list_changes(pb::ListChangesRequest {
            after_revision: 0,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut records = Vec::new();
    for id in ids {
        let teacher = get_teacher(registry, id).await;
        records.push(teacher);
    }
    (page.next_revision, records)
}

#[tokio::test]
async fn writes_to_a_retired_number_name_the_survivor_to_those_who_may_see_it() {
    use teacher_registry::auth::{add_principal, Role};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let admin_token = add_principal(&path, "root", Role::Admin, None).unwrap();
    let clerk_a = add_principal(&path, "clerk-a", Role::County, Some(A)).unwrap();
    let server = start_server_with_auth(&path).await;
    let mut admin = Registry::new(server.channel_as(&admin_token).await);
    let mut identity = Identity::new(server.channel_as(&admin_token).await);

    // Two merges: one within A, one of A's record into B's.
    let (retired, survivor) = merged_pair(&mut admin, &mut identity, 2, A, A).await;
    let (retired_to_b, survivor_in_b) = merged_pair(&mut admin, &mut identity, 3, A, B).await;
    let other_in_a = create(&mut admin, teacher(40, A)).await.teacher_id;
    let never = teacher_registry::domain::TeacherId::generate(&mut rand::thread_rng()).to_string();
    let round = Rounds::new(server.channel_as(&admin_token).await)
        .create_evaluation_round(common::new_round(today_cst() + chrono::Days::new(30)))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    let ids = [
        survivor.as_str(),
        survivor_in_b.as_str(),
        other_in_a.as_str(),
    ];
    let before = state(&mut admin, &ids).await;

    // The admin sees every survivor: each write names it.
    let answers = writes(
        &server,
        &admin_token,
        &retired,
        &other_in_a,
        Some(&round.round_id),
    )
    .await;
    assert_eq!(answers.len(), 13);
    for (rpc, status) in &answers {
        assert_eq!(
            status.code(),
            tonic::Code::FailedPrecondition,
            "{rpc}: {status:?}"
        );
        let info = error_info(status);
        assert_eq!(info["reason"], "TEACHER_MERGED", "{rpc}");
        assert_eq!(info["survivor_teacher_id"], survivor, "{rpc}");
        assert!(
            status.message().contains(&survivor),
            "{rpc}: {}",
            status.message()
        );
    }
    // A county clerk of A sees A's survivor: the same (titles are HR's).
    for (rpc, status) in writes(&server, &clerk_a, &retired, &other_in_a, None).await {
        if rpc == "ChangeTitle" {
            assert_eq!(status.code(), tonic::Code::PermissionDenied);
            continue;
        }
        assert_eq!(
            status.code(),
            tonic::Code::FailedPrecondition,
            "{rpc}: {status:?}"
        );
        assert_eq!(
            error_info(&status)["survivor_teacher_id"],
            survivor,
            "{rpc}"
        );
    }
    // A's record merged into B's: to A's clerk the number answers as one that never
    // existed, answer for answer.
    let hidden = writes(&server, &clerk_a, &retired_to_b, &other_in_a, None).await;
    let missing = writes(&server, &clerk_a, &never, &other_in_a, None).await;
    assert_eq!(hidden.len(), 11);
    for ((rpc, hidden), (_, missing)) in hidden.iter().zip(&missing) {
        if *rpc == "ChangeTitle" {
            continue;
        }
        assert_eq!(hidden.code(), tonic::Code::NotFound, "{rpc}: {hidden:?}");
        assert_eq!(hidden.code(), missing.code(), "{rpc}");
        assert_eq!(hidden.message(), missing.message(), "{rpc}");
        assert_eq!(hidden.details(), missing.details(), "{rpc}");
        assert!(!hidden.message().contains(&survivor_in_b), "{rpc}");
    }

    // TransitionTitles (admins and HR, who see every county), a teacher at a time:
    // skipped as MERGED with the survivor; a number that never existed as NOT_FOUND.
    let skipped = transition(&server, &admin_token, &retired).await;
    assert_eq!(skipped.outcome(), pb::TransitionOutcome::Skipped);
    assert_eq!(skipped.skip_reason(), pb::TransitionSkipReason::Merged);
    assert_eq!(skipped.survivor_teacher_id, survivor);
    let missing = transition(&server, &admin_token, &never).await;
    assert_eq!(missing.skip_reason(), pb::TransitionSkipReason::NotFound);
    assert!(missing.survivor_teacher_id.is_empty());

    // Nothing changed: no change event, every record as it was.
    assert_eq!(state(&mut admin, &ids).await, before);
}
