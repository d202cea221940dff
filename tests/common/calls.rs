//! Calls that many tests make the same way, over any client of the registry service: a
//! plain [`Client`](super::Client) or one calling as a principal ([`Authed`](super::Authed)).

use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::identity_service_client::IdentityServiceClient;
use teacher_registry::api::pb::lookup_teacher_request::Key;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;

use super::answers::Answered;
use super::transport::Transport;
use super::{create_request, registered_a_year_ago, second_level_since_2015, teacher};

/// Creates a teacher and returns the stored record.
pub async fn create<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    teacher: pb::Teacher,
) -> pb::Teacher {
    client
        .create_teacher(create_request(teacher, ""))
        .await
        .expect("create")
        .into_inner()
        .teacher
        .expect("teacher")
}

/// The teacher's record as it stands now.
pub async fn get_teacher<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    teacher_id: &str,
) -> pb::Teacher {
    client
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: teacher_id.into(),
            revision: None,
        })
        .await
        .expect("get")
        .into_inner()
        .teacher
        .expect("teacher")
}

/// Every teacher of a listing, following page tokens.
pub async fn list_all<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    request: pb::ListTeachersRequest,
) -> Vec<pb::Teacher> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_teachers(pb::ListTeachersRequest {
                page_token: token.clone(),
                ..request.clone()
            })
            .await
            .expect("list")
            .into_inner();
        all.extend(page.teachers);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// Every teacher a search finds, following page tokens, and the number of pages.
pub async fn search_all<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    request: pb::SearchTeachersRequest,
) -> (Vec<pb::Teacher>, usize) {
    let mut found = Vec::new();
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let page = client
            .search_teachers(pb::SearchTeachersRequest {
                page_token,
                ..request.clone()
            })
            .await
            .expect("search")
            .into_inner();
        pages += 1;
        found.extend(page.teachers);
        if page.next_page_token.is_empty() {
            return (found, pages);
        }
        page_token = page.next_page_token;
    }
}

/// Asserts that every teacher of `acknowledged` (registry numbers whose creation was
/// acknowledged) is listed.
pub async fn assert_all_listed<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    acknowledged: &std::collections::BTreeSet<String>,
) {
    let all: std::collections::BTreeSet<String> =
        list_all(client, pb::ListTeachersRequest::default())
            .await
            .into_iter()
            .map(|t| t.teacher_id)
            .collect();
    let missing: Vec<_> = acknowledged.difference(&all).collect();
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
}

/// Every change in the feed, oldest first.
pub async fn all_changes<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
) -> Vec<pb::Change> {
    list_all_changes(client, pb::ListChangesRequest::default()).await
}

/// Every change of the feed `request` asks for (all, a county's, or a principal's) after
/// its `after_revision`, oldest first, in pages of 1000.
pub async fn list_all_changes<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    request: pb::ListChangesRequest,
) -> Vec<pb::Change> {
    let mut changes = Vec::new();
    let mut after = request.after_revision;
    loop {
        let page = client
            .list_changes(pb::ListChangesRequest {
                after_revision: after,
                page_size: 1000,
                ..request.clone()
            })
            .await
            .expect("list changes")
            .into_inner();
        if page.changes.is_empty() {
            return changes;
        }
        after = page.next_revision;
        changes.extend(page.changes);
    }
}

/// The teacher found by `key` (a document of any type).
pub async fn lookup_teacher<T: Transport>(
    client: &mut TeacherRegistryServiceClient<T>,
    key: Key,
) -> pb::Teacher {
    client
        .lookup_teacher(pb::LookupTeacherRequest {
            key: Some(key),
            id_document_type: 0,
        })
        .await
        .expect("lookup")
        .into_inner()
        .teacher
        .expect("teacher")
}

/// The case as it stands now.
pub async fn get_case<T: Transport>(client: &mut CaseServiceClient<T>, case_id: &str) -> pb::Case {
    client
        .get_case(pb::GetCaseRequest {
            case_id: case_id.into(),
        })
        .await
        .expect("get the case")
        .into_inner()
        .case
        .expect("case")
}

/// Opens `case` at the window; the case as recorded.
pub async fn open_case<T: Transport>(
    client: &mut CaseServiceClient<T>,
    case: pb::Case,
) -> pb::Case {
    let request = pb::OpenCaseRequest {
        case: Some(case),
        ..Default::default()
    };
    open_case_with(client, request).await
}

/// Sends `request` (a bare message, or one with metadata such as a token); the case as
/// recorded.
pub async fn open_case_with<T: Transport>(
    client: &mut CaseServiceClient<T>,
    request: impl tonic::IntoRequest<pb::OpenCaseRequest>,
) -> pb::Case {
    client
        .open_case(request)
        .await
        .expect("open the case")
        .into_inner()
        .case
        .expect("case")
}

/// Accepts the case as `request` says; the case as it then stands.
pub async fn accept_case<T: Transport>(
    client: &mut CaseServiceClient<T>,
    request: pb::AcceptCaseRequest,
) -> pb::Case {
    client
        .accept_case(request)
        .await
        .expect("accept the case")
        .into_inner()
        .case
        .expect("case")
}

/// Forwards the case to the city with the county's `opinion`; the case as it then stands.
pub async fn forward_case<T: Transport>(
    client: &mut CaseServiceClient<T>,
    case_id: &str,
    opinion: &str,
) -> pb::Case {
    client
        .forward_case(pb::ForwardCaseRequest {
            case_id: case_id.into(),
            opinion: opinion.into(),
            ..Default::default()
        })
        .await
        .expect("forward the case")
        .into_inner()
        .case
        .expect("case")
}

/// Opens the evaluation round `request` asks for; the round as recorded.
pub async fn create_round<T: Transport>(
    client: &mut EvaluationServiceClient<T>,
    request: pb::CreateEvaluationRoundRequest,
) -> pb::EvaluationRound {
    client
        .create_evaluation_round(request)
        .await
        .expect("open the round")
        .into_inner()
        .round
        .expect("round")
}

/// Makes the application `request` carries; the application as recorded.
pub async fn apply_for_title<T: Transport>(
    client: &mut EvaluationServiceClient<T>,
    request: pb::ApplyForTitleRequest,
) -> pb::TitleApplication {
    client
        .apply_for_title(request)
        .await
        .expect("apply")
        .into_inner()
        .application
        .expect("application")
}

/// The evaluation round as it stands now.
pub async fn get_round<T: Transport>(
    client: &mut EvaluationServiceClient<T>,
    round_id: &str,
) -> pb::EvaluationRound {
    client
        .get_evaluation_round(pb::GetEvaluationRoundRequest {
            round_id: round_id.into(),
        })
        .await
        .expect("get the round")
        .into_inner()
        .round
        .expect("round")
}

/// The first page of the round's applications: of `county`, or of every county the caller
/// sees for "".
pub async fn list_applications<T: Transport>(
    client: &mut EvaluationServiceClient<T>,
    round_id: &str,
    county: &str,
) -> Vec<pb::TitleApplication> {
    client
        .list_title_applications(pb::ListTitleApplicationsRequest {
            round_id: round_id.into(),
            county_code: county.into(),
            ..Default::default()
        })
        .await
        .expect("list the applications")
        .into_inner()
        .applications
}

/// The ethics findings recorded against the teacher.
pub async fn list_ethics_findings<T: Transport>(
    client: &mut EvaluationServiceClient<T>,
    teacher_id: &str,
) -> Vec<pb::EthicsFinding> {
    client
        .list_ethics_findings(pb::ListEthicsFindingsRequest {
            teacher_id: teacher_id.into(),
        })
        .await
        .expect("list the ethics findings")
        .into_inner()
        .findings
}

/// The title application as it stands now.
pub async fn get_title_application<T: Transport>(
    client: &mut EvaluationServiceClient<T>,
    application_id: &str,
) -> pb::TitleApplication {
    client
        .get_title_application(pb::GetTitleApplicationRequest {
            application_id: application_id.into(),
        })
        .await
        .expect("get the application")
        .into_inner()
        .application
        .expect("application")
}

/// The identity correction as it stands now.
pub async fn get_identity_correction<T: Transport>(
    client: &mut IdentityServiceClient<T>,
    correction_id: &str,
) -> pb::IdentityCorrection {
    client
        .get_identity_correction(pb::GetIdentityCorrectionRequest {
            correction_id: correction_id.into(),
        })
        .await
        .expect("get the correction")
        .into_inner()
        .correction
        .expect("correction")
}

/// A teacher born in 1980, with a certificate registered a year ago and SECOND_LEVEL
/// since 2015: eligible for FIRST_LEVEL. `n` picks the person and the certificate.
pub async fn eligible_teacher<T: Transport>(
    registry: &mut TeacherRegistryServiceClient<T>,
    n: u32,
    county: &str,
) -> pb::Teacher {
    let number = format!("2016350002200{n:04}");
    make_eligible(registry, teacher(7_305_000 + n, county), &number).await
}

/// Creates `teacher` with the certificate `number` registered a year ago, and appoints
/// them SECOND_LEVEL since 2015: eligible for FIRST_LEVEL. The record as it ends.
pub async fn make_eligible<T: Transport>(
    registry: &mut TeacherRegistryServiceClient<T>,
    teacher: pb::Teacher,
    number: &str,
) -> pb::Teacher {
    let created = create(registry, teacher).await;
    registry
        .issue_certificate(registered_a_year_ago(&created.teacher_id, number))
        .await
        .unwrap();
    registry
        .change_title(second_level_since_2015(&created.teacher_id))
        .await
        .unwrap_teacher()
}
