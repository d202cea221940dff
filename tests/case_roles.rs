//! Who works which cases (issue 20, item 8): a county its own county's; the city the
//! cases its counties forwarded, which only it decides; HR periodic registration; a reader
//! sees cases with the applicant's identity number masked. Over a real server with an
//! auth file.

mod common;

use common::{
    accept_case, certificate, forward_case, get_case, issue_request, open_case_with,
    start_server_with_auth, teacher, Answered, TestServer, Token,
};
use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::auth::{add_principal, Role};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::Code;

const A: &str = "350702";
const B: &str = "350721";

type Cases = CaseServiceClient<InterceptedService<Channel, Token>>;
type Registry = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;

async fn cases_as(server: &TestServer, token: &str) -> Cases {
    let token = Token::bearer(token);
    CaseServiceClient::with_interceptor(server.channel().await, token)
}

async fn registry_as(server: &TestServer, token: &str) -> Registry {
    let token = Token::bearer(token);
    TeacherRegistryServiceClient::with_interceptor(server.channel().await, token)
}

fn certification(county: &str, n: u32, kind: pb::CertificateKind) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind: pb::CaseKind::Certification as i32,
            county_code: county.into(),
            applicant: Some(teacher(n, county)),
            certificate_kind: kind as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn approval(case: &pb::Case, number: &str) -> pb::DecideCaseRequest {
    let mut issued = certificate(number);
    issued.kind = case.certificate_kind;
    pb::DecideCaseRequest {
        case_id: case.case_id.clone(),
        outcome: pb::CaseOutcome::Approved as i32,
        review: (1..=4).collect(),
        certificate: Some(issued),
        ..Default::default()
    }
}

async fn open_and_accept(client: &mut Cases, request: pb::OpenCaseRequest) -> pb::Case {
    let case = open_case_with(client, request).await;
    let accept = pb::AcceptCaseRequest {
        case_id: case.case_id,
        ..Default::default()
    };
    accept_case(client, accept).await
}

#[tokio::test]
async fn counties_the_city_hr_and_readers_each_work_their_own_cases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let admin = add_principal(&path, "root", Role::Admin, None).unwrap();
    let county_a = add_principal(&path, "yanping", Role::County, Some(A)).unwrap();
    let county_b = add_principal(&path, "shunchang", Role::County, Some(B)).unwrap();
    let city = add_principal(&path, "nanping", Role::City, Some("350700")).unwrap();
    let other_city = add_principal(&path, "fuzhou", Role::City, Some("350100")).unwrap();
    let hr = add_principal(&path, "hr-office", Role::Hr, None).unwrap();
    let reader = add_principal(&path, "auditor", Role::Reader, None).unwrap();
    assert!(
        add_principal(&path, "bad", Role::City, Some("350702")).is_err(),
        "a county is no city"
    );
    let server = start_server_with_auth(&path).await;

    // A county opens and accepts a two-level case, and one decided by the county.
    let mut yanping = cases_as(&server, &county_a).await;
    let senior = open_and_accept(
        &mut yanping,
        certification(A, 1, pb::CertificateKind::SeniorSecondary),
    )
    .await;
    let primary = open_and_accept(
        &mut yanping,
        certification(A, 2, pb::CertificateKind::PrimarySchool),
    )
    .await;
    let mut shunchang = cases_as(&server, &county_b).await;
    let refused = shunchang
        .get_case(pb::GetCaseRequest {
            case_id: senior.case_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::NotFound,
        "another county's case is not there for it"
    );
    let opened_elsewhere = shunchang
        .open_case(certification(A, 3, pb::CertificateKind::PrimarySchool))
        .await
        .unwrap_err();
    assert_eq!(opened_elsewhere.code(), Code::PermissionDenied);

    // The city sees nothing until the county forwards.
    let mut nanping = cases_as(&server, &city).await;
    let unseen = nanping
        .get_case(pb::GetCaseRequest {
            case_id: senior.case_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(unseen.code(), Code::NotFound);
    let early = nanping
        .decide_case(approval(&senior, "20163500042000123"))
        .await
        .unwrap_err();
    assert_eq!(
        early.code(),
        Code::NotFound,
        "a case the city cannot read is not there for its steps either"
    );
    let forwarded = forward_case(&mut yanping, &senior.case_id, "同意").await;
    let listed = nanping
        .list_cases(pb::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .cases;
    assert_eq!(
        listed.iter().map(|c| &c.case_id).collect::<Vec<_>>(),
        [&forwarded.case_id]
    );
    let other_county = nanping
        .list_cases(pb::ListCasesRequest {
            county_code: "350102".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(other_county.code(), Code::PermissionDenied);
    let mut fuzhou = cases_as(&server, &other_city).await;
    let not_its = fuzhou
        .get_case(pb::GetCaseRequest {
            case_id: senior.case_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(not_its.code(), Code::NotFound);
    let opening = nanping
        .open_case(certification(A, 4, pb::CertificateKind::PrimarySchool))
        .await
        .unwrap_err();
    assert_eq!(opening.code(), Code::PermissionDenied);

    // Once forwarded the case is the city's: the county may not assign or pause it.
    let county_assigns = yanping
        .assign_case(pb::AssignCaseRequest {
            case_id: forwarded.case_id.clone(),
            assignee: "clerk".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(county_assigns.code(), Code::PermissionDenied);
    // Only the city decides the forwarded case; the county decides its own.
    let county_decides = yanping
        .decide_case(approval(&forwarded, "20163500042000123"))
        .await
        .unwrap_err();
    assert_eq!(
        county_decides.code(),
        Code::PermissionDenied,
        "{county_decides:?}"
    );
    let decided = nanping
        .decide_case(approval(&forwarded, "20163500042000123"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.case.unwrap().state, pb::CaseState::Decided as i32);
    yanping
        .decide_case(approval(&primary, "20163500022000124"))
        .await
        .unwrap();
    let holder = get_case(&mut yanping, &primary.case_id).await.teacher_id;
    // Another county's teacher is not there for B: a reissue of A's certificate, or a
    // certification of A's teacher by number, is NOT_FOUND, and B learns no name.
    for case in [
        pb::Case {
            kind: pb::CaseKind::Reissue as i32,
            county_code: B.into(),
            certificate_number: "20163500022000124".into(),
            ..Default::default()
        },
        pb::Case {
            kind: pb::CaseKind::Certification as i32,
            county_code: B.into(),
            teacher_id: holder.clone(),
            certificate_kind: pb::CertificateKind::JuniorSecondary as i32,
            ..Default::default()
        },
    ] {
        let request = pb::OpenCaseRequest {
            case: Some(case),
            ..Default::default()
        };
        let status = shunchang.open_case(request).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }

    // HR handles registration, and no other kind.
    let mut admin_registry = registry_as(&server, &admin).await;
    let holder = admin_registry
        .create_teacher(common::create_request(teacher(5, A), ""))
        .await
        .unwrap_teacher();
    admin_registry
        .issue_certificate(issue_request(&holder.teacher_id, "20163500022000125"))
        .await
        .unwrap();
    let mut hr_cases = cases_as(&server, &hr).await;
    let registration = pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind: pb::CaseKind::Registration as i32,
            county_code: A.into(),
            certificate_number: "20163500022000125".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let registration = open_and_accept(&mut hr_cases, registration).await;
    hr_cases
        .decide_case(pb::DecideCaseRequest {
            case_id: registration.case_id.clone(),
            outcome: pb::CaseOutcome::Approved as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let not_hr = hr_cases
        .open_case(certification(A, 6, pb::CertificateKind::PrimarySchool))
        .await
        .unwrap_err();
    assert_eq!(not_hr.code(), Code::PermissionDenied);
    let other_kind = hr_cases
        .withdraw_case(pb::WithdrawCaseRequest {
            case_id: primary.case_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(other_kind.code(), Code::PermissionDenied);

    // A reader sees every case, the applicant's identity number masked, and takes no step.
    let pending = yanping
        .open_case(certification(A, 7, pb::CertificateKind::PrimarySchool))
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let mut auditor = cases_as(&server, &reader).await;
    let seen = get_case(&mut auditor, &pending.case_id).await;
    let national_id = &seen.applicant.unwrap().national_id;
    assert!(national_id.contains('*'), "{national_id}");
    assert_ne!(national_id, &teacher(7, A).national_id);
    let step = auditor
        .assign_case(pb::AssignCaseRequest {
            case_id: primary.case_id.clone(),
            assignee: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(step.code(), Code::PermissionDenied);
}
