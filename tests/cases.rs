//! Service-window cases over a real server: every kind from receipt to decision, the
//! decision's effect on the record in the same write, every refusal of a step the case's
//! state does not allow (and that nothing changes then), request ids and etags, and the
//! change feed.

mod common;

use chrono::Duration;
use common::{
    accept_case, certificate, create, error_info, forward_case, get_case, get_teacher,
    issue_request, open_case_with, registry_args, run_binary_ok, start_server, teacher,
    today_cst as today, violated_fields, Client, TestServer,
};
use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use tonic::transport::Channel;
use tonic::Code;

type Cases = CaseServiceClient<Channel>;

const COUNTY: &str = "350702";
/// The primary-school certificate most tests issue or approve.
const NUMBER: &str = "20163500022000123";

async fn cases(server: &TestServer) -> Cases {
    CaseServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap()
}

fn all_review_items() -> Vec<i32> {
    vec![
        pb::ReviewItem::Education as i32,
        pb::ReviewItem::MandarinLevel as i32,
        pb::ReviewItem::PhysicalExamination as i32,
        pb::ReviewItem::TeachingAbility as i32,
    ]
}

/// A certification case for someone without a record.
fn certification(applicant: pb::Teacher, kind: pb::CertificateKind) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind: pb::CaseKind::Certification as i32,
            county_code: COUNTY.into(),
            applicant: Some(applicant),
            certificate_kind: kind as i32,
            materials: vec!["申请表".into(), "学历证书".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A primary-school certification for teacher `n` of the county, without a record.
fn primary(n: u32) -> pb::OpenCaseRequest {
    certification(teacher(n, COUNTY), pb::CertificateKind::PrimarySchool)
}

/// A case about an existing certificate (reissue or registration).
fn about_certificate(kind: pb::CaseKind, number: &str) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind: kind as i32,
            county_code: COUNTY.into(),
            certificate_number: number.into(),
            materials: vec!["申请表".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn open(client: &mut Cases, request: pb::OpenCaseRequest) -> pb::Case {
    open_case_with(client, request).await
}

async fn accept(client: &mut Cases, case: &pb::Case) -> pb::Case {
    let request = pb::AcceptCaseRequest {
        case_id: case.case_id.clone(),
        ..Default::default()
    };
    accept_case(client, request).await
}

fn approve_certification(
    case: &pb::Case,
    number: &str,
    kind: pb::CertificateKind,
) -> pb::DecideCaseRequest {
    let mut issued = certificate(number);
    issued.kind = kind as i32;
    pb::DecideCaseRequest {
        case_id: case.case_id.clone(),
        outcome: pb::CaseOutcome::Approved as i32,
        review: all_review_items(),
        certificate: Some(issued),
        ..Default::default()
    }
}

/// Opens a case and accepts it: a case ready for its decision.
async fn open_accepted(client: &mut Cases, request: pb::OpenCaseRequest) -> pb::Case {
    let case = open(client, request).await;
    accept(client, &case).await
}

/// The answer to a decision the service carries out.
async fn decide(client: &mut Cases, request: pb::DecideCaseRequest) -> pb::DecideCaseResponse {
    client.decide_case(request).await.unwrap().into_inner()
}

/// The status of a decision the service refuses.
async fn refused_decision(client: &mut Cases, request: pb::DecideCaseRequest) -> tonic::Status {
    client.decide_case(request).await.unwrap_err()
}

/// Issues the holder certificate `number`.
async fn issue(registry: &mut Client, holder: &pb::Teacher, number: &str) {
    let request = issue_request(&holder.teacher_id, number);
    registry.issue_certificate(request).await.unwrap();
}

async fn revision(registry: &mut Client) -> u64 {
    registry
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .revision
}

fn reason(status: &tonic::Status) -> String {
    error_info(status)["reason"].clone()
}

#[tokio::test]
async fn a_certification_from_receipt_to_decision_creates_the_record_and_issues_the_certificate() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut registry = server.client.clone();
    let applicant = teacher(1, COUNTY);
    let case = open(
        &mut client,
        certification(applicant.clone(), pb::CertificateKind::PrimarySchool),
    )
    .await;
    assert_eq!(case.state, pb::CaseState::Received as i32);
    assert_eq!(case.applicant_name, "教师1");
    assert!(case.teacher_id.is_empty(), "no record yet");
    assert_eq!(case.received_on, today().to_string());
    assert!(!case.due_on.is_empty(), "timed from receipt until accepted");
    let case = accept(&mut client, &case).await;
    assert_eq!(case.state, pb::CaseState::Accepted as i32);
    assert_eq!(case.accepted_on, today().to_string());

    let decided = decide(
        &mut client,
        approve_certification(&case, NUMBER, pb::CertificateKind::PrimarySchool),
    )
    .await;
    let (case, holder) = (decided.case.unwrap(), decided.teacher.unwrap());
    assert_eq!(case.state, pb::CaseState::Decided as i32);
    assert_eq!(case.outcome, pb::CaseOutcome::Approved as i32);
    assert_eq!(
        case.teacher_id, holder.teacher_id,
        "the case names the new record"
    );
    assert_eq!(case.certificate_number, NUMBER);
    assert_eq!(holder.national_id, applicant.national_id);
    assert_eq!(holder.certificates.len(), 1);
    let actions: Vec<i32> = case.steps.iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        [
            pb::CaseAction::Opened as i32,
            pb::CaseAction::Accepted as i32,
            pb::CaseAction::Decided as i32
        ]
    );

    // One write: the record's creation, its certificate, and the case's step, in that order.
    let changes = common::all_changes(&mut registry).await;
    let kinds: Vec<i32> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::ChangeKind::CaseChanged as i32,
            pb::ChangeKind::CaseChanged as i32,
            pb::ChangeKind::Created as i32,
            pb::ChangeKind::CertificateIssued as i32,
            pb::ChangeKind::CaseChanged as i32,
        ]
    );
    let last = changes.last().unwrap();
    assert_eq!(last.case_id, case.case_id);
    assert_eq!(last.teacher_id, holder.teacher_id);
    assert_eq!(
        last.case.as_ref().unwrap().state,
        pb::CaseState::Decided as i32
    );
    assert!(
        changes[0].teacher_id.is_empty(),
        "no record when the case was opened"
    );

    // The holder applies again: one person, one number.
    let mut again = applicant.clone();
    again.name = "改名".into();
    let second = open(
        &mut client,
        certification(again, pb::CertificateKind::JuniorSecondary),
    )
    .await;
    assert_eq!(second.teacher_id, holder.teacher_id);
    assert!(second.applicant.is_none());
}

#[tokio::test]
async fn a_decision_whose_effect_is_refused_changes_nothing() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut registry = server.client.clone();
    let mut holder = teacher(2, COUNTY);
    holder.national_id = common::resident_id("350702", "1980-01-01", 7);
    holder.birth_date = "1980-01-01".into();
    let holder = create(&mut registry, holder).await;
    issue(&mut registry, &holder, NUMBER).await;
    let case = open_accepted(&mut client, primary(1)).await;
    let before = revision(&mut registry).await;

    let taken = refused_decision(
        &mut client,
        approve_certification(&case, NUMBER, pb::CertificateKind::PrimarySchool),
    )
    .await;
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");
    let wrong_kind = refused_decision(
        &mut client,
        approve_certification(
            &case,
            "20163500022000999",
            pb::CertificateKind::JuniorSecondary,
        ),
    )
    .await;
    assert_eq!(wrong_kind.code(), Code::InvalidArgument, "{wrong_kind:?}");
    assert_eq!(
        revision(&mut registry).await,
        before,
        "no record created, no step recorded"
    );
    let after = get_case(&mut client, &case.case_id).await;
    assert_eq!(after.state, pb::CaseState::Accepted as i32);
    assert_eq!(after.etag, case.etag);
}

#[tokio::test]
async fn steps_the_state_does_not_allow_are_refused_with_the_rule_and_change_nothing() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut registry = server.client.clone();
    let case = open(&mut client, primary(1)).await;
    let before = revision(&mut registry).await;

    let early = refused_decision(
        &mut client,
        approve_certification(&case, NUMBER, pb::CertificateKind::PrimarySchool),
    )
    .await;
    assert_eq!(
        (early.code(), reason(&early).as_str()),
        (Code::FailedPrecondition, "CASE_STATE")
    );
    let county_level = client
        .forward_case(pb::ForwardCaseRequest {
            case_id: case.case_id.clone(),
            opinion: "同意".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(county_level.code(), Code::FailedPrecondition);
    let no_reason = client
        .refuse_case(pb::RefuseCaseRequest {
            case_id: case.case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    let stale = client
        .accept_case(pb::AcceptCaseRequest {
            case_id: case.case_id.clone(),
            etag: "\"999\"".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let tomorrow = client
        .accept_case(pb::AcceptCaseRequest {
            case_id: case.case_id.clone(),
            step_date: (today() + Duration::days(1)).to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&tomorrow), ["step_date"]);
    // The last character, the check character, mistyped: any other than the real one.
    let typo = if case.case_id.ends_with('X') {
        'Y'
    } else {
        'X'
    };
    let mistyped = client
        .get_case(pb::GetCaseRequest {
            case_id: format!("{}{typo}", &case.case_id[..11]),
        })
        .await
        .unwrap_err();
    assert_eq!(mistyped.code(), Code::InvalidArgument);
    assert_eq!(
        revision(&mut registry).await,
        before,
        "no refusal wrote anything"
    );

    // One notice lists everything missing; a second is refused.
    let notice = pb::RequestSupplementRequest {
        case_id: case.case_id.clone(),
        missing: vec!["体检表".into()],
        ..Default::default()
    };
    let paused = client
        .request_supplement(notice.clone())
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert_eq!(paused.state, pb::CaseState::SupplementRequested as i32);
    assert!(
        paused.due_on.is_empty(),
        "no due date while the clock stands still"
    );
    let pending = client
        .accept_case(pb::AcceptCaseRequest {
            case_id: case.case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&pending), "SUPPLEMENT_PENDING");
    client
        .receive_supplement(pb::ReceiveSupplementRequest {
            case_id: case.case_id.clone(),
            materials: vec!["体检表".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let second = client.request_supplement(notice).await.unwrap_err();
    assert_eq!(reason(&second), "SUPPLEMENT_ALREADY_REQUESTED");

    client
        .withdraw_case(pb::WithdrawCaseRequest {
            case_id: case.case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let closed = client
        .accept_case(pb::AcceptCaseRequest {
            case_id: case.case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&closed), "CASE_CLOSED");
}

#[tokio::test]
async fn a_late_supplement_notice_is_refused_and_an_old_case_is_overdue() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let received = today() - Duration::days(60);
    let mut request = primary(1);
    request.case.as_mut().unwrap().received_on = received.to_string();
    let case = open(&mut client, request).await;
    let late = client
        .request_supplement(pb::RequestSupplementRequest {
            case_id: case.case_id.clone(),
            missing: vec!["体检表".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&late), "SUPPLEMENT_NOTICE_LATE");
    let fresh = open(&mut client, primary(2)).await;

    let list = |overdue: bool, due_within: u32| pb::ListCasesRequest {
        county_code: COUNTY.into(),
        overdue,
        due_within_working_days: due_within,
        ..Default::default()
    };
    let overdue = client
        .list_cases(list(true, 0))
        .await
        .unwrap()
        .into_inner()
        .cases;
    assert_eq!(
        overdue.iter().map(|c| &c.case_id).collect::<Vec<_>>(),
        [&case.case_id]
    );
    assert!(overdue[0].overdue && overdue[0].overdue_legal);
    assert!(overdue[0].working_days_used > 30);
    let soon = client
        .list_cases(list(false, 3))
        .await
        .unwrap()
        .into_inner()
        .cases;
    assert_eq!(
        soon.len(),
        1,
        "the overdue one is due before today; the fresh one in 20 working days"
    );
    let all = client
        .list_cases(pb::ListCasesRequest {
            county_code: COUNTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .cases;
    let order: Vec<&String> = all.iter().map(|c| &c.case_id).collect();
    assert_eq!(order, [&case.case_id, &fresh.case_id], "earliest due first");
}

#[tokio::test]
async fn two_level_certification_goes_to_the_city_with_the_county_opinion() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let case = open_accepted(
        &mut client,
        certification(teacher(1, COUNTY), pb::CertificateKind::SeniorSecondary),
    )
    .await;
    let number = "20163500042000123";
    let county_decides = refused_decision(
        &mut client,
        approve_certification(&case, number, pb::CertificateKind::SeniorSecondary),
    )
    .await;
    assert_eq!(reason(&county_decides), "CITY_DECIDES");
    let forwarded = forward_case(&mut client, &case.case_id, "材料齐全，同意认定").await;
    assert_eq!(forwarded.state, pb::CaseState::Forwarded as i32);
    assert_eq!(forwarded.county_opinion, "材料齐全，同意认定");
    assert_eq!(
        forwarded.materials,
        ["申请表", "学历证书"],
        "the materials travel with it"
    );
    let mut partial =
        approve_certification(&forwarded, number, pb::CertificateKind::SeniorSecondary);
    partial.review.pop();
    let incomplete = refused_decision(&mut client, partial).await;
    assert_eq!(reason(&incomplete), "REVIEW_INCOMPLETE");
    let decided = decide(
        &mut client,
        approve_certification(&forwarded, number, pb::CertificateKind::SeniorSecondary),
    )
    .await;
    assert_eq!(
        decided.teacher.unwrap().certificates[0].kind,
        pb::CertificateKind::SeniorSecondary as i32
    );
}

#[tokio::test]
async fn reissue_and_registration_decisions_apply_to_the_certificate() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut registry = server.client.clone();
    let holder = create(&mut registry, teacher(3, COUNTY)).await;
    issue(&mut registry, &holder, NUMBER).await;

    let reissue = open(
        &mut client,
        about_certificate(pb::CaseKind::Reissue, NUMBER),
    )
    .await;
    assert_eq!(reissue.teacher_id, holder.teacher_id);
    assert_eq!(reissue.applicant_name, holder.name);
    let reissue = accept(&mut client, &reissue).await;
    let missing_declaration = refused_decision(
        &mut client,
        pb::DecideCaseRequest {
            case_id: reissue.case_id.clone(),
            outcome: pb::CaseOutcome::Approved as i32,
            reissue_reason: pb::ReissueReason::Lost as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(missing_declaration.code(), Code::InvalidArgument);
    let decided = decide(
        &mut client,
        pb::DecideCaseRequest {
            case_id: reissue.case_id.clone(),
            outcome: pb::CaseOutcome::Approved as i32,
            reissue_reason: pb::ReissueReason::Lost as i32,
            declaration_ref: "声明-2026-001".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        decided.teacher.unwrap().certificates[0].copies.len(),
        2,
        "the new copy"
    );

    let deferred = open_accepted(
        &mut client,
        about_certificate(pb::CaseKind::Registration, NUMBER),
    )
    .await;
    let wrong_reason = refused_decision(
        &mut client,
        pb::DecideCaseRequest {
            case_id: deferred.case_id.clone(),
            outcome: pb::CaseOutcome::Deferred as i32,
            registration_reasons: vec![pb::RegistrationReason::EthicsViolation as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(violated_fields(&wrong_reason), ["registration_reasons"]);
    let before = get_teacher(&mut registry, &holder.teacher_id).await;
    let decided = decide(
        &mut client,
        pb::DecideCaseRequest {
            case_id: deferred.case_id.clone(),
            outcome: pb::CaseOutcome::Deferred as i32,
            registration_reasons: vec![pb::RegistrationReason::TrainingHoursShort as i32],
            ..Default::default()
        },
    )
    .await;
    assert!(
        decided.teacher.is_none(),
        "a deferral leaves the record alone"
    );
    let after = get_teacher(&mut registry, &holder.teacher_id).await;
    assert_eq!(after.etag, before.etag);

    let qualified = open_accepted(
        &mut client,
        about_certificate(pb::CaseKind::Registration, NUMBER),
    )
    .await;
    let decided = decide(
        &mut client,
        pb::DecideCaseRequest {
            case_id: qualified.case_id.clone(),
            outcome: pb::CaseOutcome::Approved as i32,
            ..Default::default()
        },
    )
    .await;
    let registrations = &decided.teacher.unwrap().certificates[0].registrations;
    assert_eq!(
        registrations.last().unwrap().registered_on,
        today().to_string()
    );
}

#[tokio::test]
async fn a_retry_with_the_request_id_gets_the_first_answer_and_a_reused_id_is_refused() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut registry = server.client.clone();
    let mut request = primary(1);
    request.request_id = "window-7-0001".into();
    let first = open(&mut client, request.clone()).await;
    let before = revision(&mut registry).await;
    let retry = open(&mut client, request.clone()).await;
    assert_eq!(retry, first);
    assert_eq!(revision(&mut registry).await, before);
    request.case.as_mut().unwrap().materials.push("照片".into());
    let reused = client.open_case(request).await.unwrap_err();
    assert_eq!(reason(&reused), "REQUEST_ID_REUSED");

    let accept = pb::AcceptCaseRequest {
        case_id: first.case_id.clone(),
        request_id: "window-7-0002".into(),
        ..Default::default()
    };
    let accepted = client
        .accept_case(accept.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        client.accept_case(accept).await.unwrap().into_inner(),
        accepted
    );
}

#[tokio::test]
async fn cases_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_server_in(dir.path()).await;
    let mut client = cases(&server).await;
    let case = open_accepted(&mut client, primary(1)).await;
    drop(client);
    server.stop().await;
    let server = common::start_server_in(dir.path()).await;
    let mut client = cases(&server).await;
    let again = get_case(&mut client, &case.case_id).await;
    assert_eq!(again, case);
    server.stop().await;
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .arg("verify")
        .args(registry_args(dir.path()))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_keeps_the_cases_and_a_restore_brings_them_back() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let decided = open_accepted(&mut client, primary(1)).await;
    decide(
        &mut client,
        approve_certification(&decided, NUMBER, pb::CertificateKind::PrimarySchool),
    )
    .await;
    let paused = open(
        &mut client,
        certification(teacher(2, COUNTY), pb::CertificateKind::SeniorSecondary),
    )
    .await;
    client
        .request_supplement(pb::RequestSupplementRequest {
            case_id: paused.case_id.clone(),
            missing: vec!["体检表".into(), "普通话证书".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let get = |client: &mut Cases, id: String| {
        let mut client = client.clone();
        async move { get_case(&mut client, &id).await }
    };
    // Recorded once, though the call is retried with its request id.
    let consultation = pb::RecordConsultationRequest {
        consultation: Some(pb::Consultation {
            county_code: COUNTY.into(),
            topic: "认定条件".into(),
            channel: pb::ConsultationChannel::Phone as i32,
            ..Default::default()
        }),
        request_id: "phone-0001".into(),
    };
    let first = client
        .record_consultation(consultation.clone())
        .await
        .unwrap();
    let retry = client
        .record_consultation(consultation.clone())
        .await
        .unwrap();
    assert_eq!(retry.into_inner(), first.into_inner());
    let mut other = consultation;
    other.consultation.as_mut().unwrap().topic = "注册".into();
    let reused = client.record_consultation(other).await.unwrap_err();
    assert_eq!(reason(&reused), "REQUEST_ID_REUSED");
    let report = |client: &mut Cases| {
        let mut client = client.clone();
        async move {
            let request = pb::GetCaseReportRequest {
                year: chrono::Datelike::year(&today()),
                ..Default::default()
            };
            client.get_case_report(request).await.unwrap().into_inner()
        }
    };
    let report_before = report(&mut client).await;
    assert_eq!(report_before.consultations.len(), 1, "{report_before:?}");
    assert_eq!(report_before.consultations[0].consultations, 1);
    let before = [
        get(&mut client, decided.case_id.clone()).await,
        get(&mut client, paused.case_id.clone()).await,
    ];
    let changes_before = common::all_changes(&mut server.client.clone()).await;

    let temp = tempfile::tempdir().unwrap();
    let (backup, restored) = (temp.path().join("b"), temp.path().join("r"));
    let url = format!("http://{}", server.address);
    let stdout = run_binary_ok(&["backup", backup.to_str().unwrap(), "--server", &url]);
    assert!(
        stdout.contains("1 teacher and 2 cases as at revision"),
        "{stdout}"
    );
    let lines = std::fs::read_to_string(backup.join("cases.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
    let mut restore = vec!["restore".to_string(), backup.display().to_string()];
    restore.extend(common::registry_args(&restored));
    let stdout = run_binary_ok(&restore.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(stdout.contains("2 cases"), "{stdout}");

    let again = common::start_server_in(&restored).await;
    let mut client = cases(&again).await;
    let after = [
        get(&mut client, decided.case_id.clone()).await,
        get(&mut client, paused.case_id.clone()).await,
    ];
    assert_eq!(
        after, before,
        "the cases as they were, etags and clocks included"
    );
    let report_after = report(&mut client).await;
    assert_eq!(
        report_after.consultations, report_before.consultations,
        "the consultation and its count came back"
    );
    assert_eq!(report_after.rows, report_before.rows);
    assert_eq!(
        common::all_changes(&mut again.client.clone()).await,
        changes_before
    );
    // The restored registry goes on: the paused case takes its supplement.
    client
        .receive_supplement(pb::ReceiveSupplementRequest {
            case_id: paused.case_id.clone(),
            materials: vec!["体检表".into(), "普通话证书".into()],
            etag: after[1].etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_certification_of_one_applicant_joins_the_record_the_first_created() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let applicant = teacher(1, COUNTY);
    let spring = open(
        &mut client,
        certification(applicant.clone(), pb::CertificateKind::PrimarySchool),
    )
    .await;
    let autumn = open(
        &mut client,
        certification(applicant, pb::CertificateKind::JuniorSecondary),
    )
    .await;
    assert!(
        spring.teacher_id.is_empty() && autumn.teacher_id.is_empty(),
        "no record yet"
    );
    let spring = accept(&mut client, &spring).await;
    let autumn = accept(&mut client, &autumn).await;
    let first = decide(
        &mut client,
        approve_certification(&spring, NUMBER, pb::CertificateKind::PrimarySchool),
    )
    .await
    .teacher
    .unwrap();
    let second = decide(
        &mut client,
        approve_certification(
            &autumn,
            "20163500032000124",
            pb::CertificateKind::JuniorSecondary,
        ),
    )
    .await
    .teacher
    .unwrap();
    assert_eq!(
        second.teacher_id, first.teacher_id,
        "one person, one number"
    );
    assert_eq!(second.certificates.len(), 2);
}

#[tokio::test]
async fn lookahead_and_dates_out_of_range_are_refused() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let far = client
        .list_cases(pb::ListCasesRequest {
            due_within_working_days: 4_000_000_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&far), ["due_within_working_days"]);
    let mut ancient = primary(1);
    ancient.case.as_mut().unwrap().received_on = "1900-01-01".into();
    let refused = client.open_case(ancient).await.unwrap_err();
    assert_eq!(violated_fields(&refused), ["case.received_on"]);
}

#[tokio::test]
async fn an_applicant_without_a_teaching_post_needs_no_school() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut applicant = teacher(1, COUNTY);
    applicant.school.clear();
    let status = client
        .open_case(certification(
            applicant.clone(),
            pb::CertificateKind::PrimarySchool,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["case.applicant.school"],
        "an active teacher has a school"
    );

    applicant.employment_status = pb::EmploymentStatus::NotEmployed as i32;
    let case = open_accepted(
        &mut client,
        certification(applicant, pb::CertificateKind::PrimarySchool),
    )
    .await;
    let holder = decide(
        &mut client,
        approve_certification(&case, NUMBER, pb::CertificateKind::PrimarySchool),
    )
    .await
    .teacher
    .unwrap();
    assert_eq!(
        holder.employment_status,
        pb::EmploymentStatus::NotEmployed as i32
    );
    assert!(holder.school.is_empty());
    assert_eq!(holder.certificates.len(), 1);
}
