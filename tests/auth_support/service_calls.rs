//! The calls of the other services' RPCs (cases, credentials, evaluation, identity,
//! duplicates, verification): one request each that every role allowed to call the RPC
//! may make, about county A's teacher or a record that does not exist.

use teacher_registry::api::pb;
use teacher_registry::auth::Rpc;
use teacher_registry::domain::case::CaseId;

use crate::common::ethics_finding_request;

use super::{
    phone_consultation, AuthCases, AuthCredentials, AuthDuplicates, AuthEvaluation, AuthIdentity,
    AuthVerification, A, CERT_A,
};

/// Calls a credential RPC: a credential for county A's certificate, a check of a text
/// that is no credential (INVALID_ARGUMENT for anyone), the public key.
pub async fn call_credential(client: &mut AuthCredentials, rpc: Rpc) -> Result<(), tonic::Status> {
    match rpc {
        Rpc::IssueCredential => client
            .issue_credential(pb::IssueCredentialRequest {
                certificate_number: CERT_A.into(),
            })
            .await
            .map(drop),
        Rpc::CheckCredential => client
            .check_credential(pb::CheckCredentialRequest {
                credential: "TRC1.x.y".into(),
            })
            .await
            .map(drop),
        Rpc::GetCredentialKey => client
            .get_credential_key(pb::GetCredentialKeyRequest {})
            .await
            .map(drop),
        other => panic!("{other:?} is not a credential RPC"),
    }
}

/// Calls a case RPC: opening a registration case for county A's certificate (the kind
/// every role that works cases may open), or a step of a case that does not exist
/// (NOT_FOUND for whoever may call it).
pub async fn call_case(cases: &mut AuthCases, rpc: Rpc) -> Result<(), tonic::Status> {
    let case_id = CaseId::generate(&mut rand::thread_rng()).to_string();
    match rpc {
        Rpc::OpenCase => cases
            .open_case(pb::OpenCaseRequest {
                case: Some(pb::Case {
                    kind: pb::CaseKind::Registration as i32,
                    county_code: A.into(),
                    certificate_number: CERT_A.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::GetCase => cases
            .get_case(pb::GetCaseRequest { case_id })
            .await
            .map(drop),
        Rpc::RecordConsultation => cases
            .record_consultation(phone_consultation(A))
            .await
            .map(drop),
        Rpc::GetCaseReport => cases
            .get_case_report(pb::GetCaseReportRequest {
                year: 2026,
                county_code: A.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ListCases => cases
            .list_cases(pb::ListCasesRequest {
                county_code: A.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::AcceptCase => cases
            .accept_case(pb::AcceptCaseRequest {
                case_id,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RefuseCase => cases
            .refuse_case(pb::RefuseCaseRequest {
                case_id,
                reason: "r".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RequestSupplement => cases
            .request_supplement(pb::RequestSupplementRequest {
                case_id,
                missing: vec!["x".into()],
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ReceiveSupplement => cases
            .receive_supplement(pb::ReceiveSupplementRequest {
                case_id,
                materials: vec!["x".into()],
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ForwardCase => cases
            .forward_case(pb::ForwardCaseRequest {
                case_id,
                opinion: "o".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::AssignCase => cases
            .assign_case(pb::AssignCaseRequest {
                case_id,
                assignee: "a".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::WithdrawCase => cases
            .withdraw_case(pb::WithdrawCaseRequest {
                case_id,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::DecideCase => cases
            .decide_case(pb::DecideCaseRequest {
                case_id,
                outcome: pb::CaseOutcome::Denied as i32,
                reasons: vec!["r".into()],
                ..Default::default()
            })
            .await
            .map(drop),
        other => panic!("{other:?} is not a case RPC"),
    }
}

/// Calls a title evaluation RPC: opening a round, a finding about county A's teacher, or
/// a step of a round or application that does not exist (NOT_FOUND for whoever may call
/// it).
pub async fn call_evaluation(
    client: &mut AuthEvaluation,
    rpc: Rpc,
    a: &pb::Teacher,
) -> Result<(), tonic::Status> {
    let id = || CaseId::generate(&mut rand::thread_rng()).to_string();
    match rpc {
        Rpc::CreateEvaluationRound => client
            .create_evaluation_round(pb::CreateEvaluationRoundRequest {
                round: Some(pb::EvaluationRound {
                    name: "2026年度评审".into(),
                    county_code: A.into(),
                    target_tier: pb::TitleTier::FirstLevel as i32,
                    application_deadline: "2026-12-31".into(),
                    committee: vec!["委员".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .map(drop),
        Rpc::GetEvaluationRound => client
            .get_evaluation_round(pb::GetEvaluationRoundRequest { round_id: id() })
            .await
            .map(drop),
        Rpc::RecordEthicsFinding => client
            .record_ethics_finding(ethics_finding_request(&a.teacher_id))
            .await
            .map(drop),
        Rpc::ListEthicsFindings => client
            .list_ethics_findings(pb::ListEthicsFindingsRequest {
                teacher_id: a.teacher_id.clone(),
            })
            .await
            .map(drop),
        Rpc::ApplyForTitle => client
            .apply_for_title(pb::ApplyForTitleRequest {
                round_id: id(),
                teacher_id: a.teacher_id.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::GetTitleApplication => client
            .get_title_application(pb::GetTitleApplicationRequest {
                application_id: id(),
            })
            .await
            .map(drop),
        Rpc::ListTitleApplications => client
            .list_title_applications(pb::ListTitleApplicationsRequest {
                round_id: id(),
                county_code: String::new(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::OpenPublicity => client
            .open_publicity(pb::OpenPublicityRequest {
                round_id: id(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RecordObjection => client
            .record_objection(pb::RecordObjectionRequest {
                application_id: id(),
                text: "异议".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::HandleObjection => client
            .handle_objection(pb::HandleObjectionRequest {
                application_id: id(),
                note: "经核查".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RecordCommitteeResults => client
            .record_committee_results(pb::RecordCommitteeResultsRequest {
                round_id: id(),
                rows: vec![pb::CommitteeResultRow {
                    application_id: id(),
                    votes_for: 1,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ConfirmApplications => client
            .confirm_applications(pb::ConfirmApplicationsRequest {
                round_id: id(),
                approval_document: "文号".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::CloseTitleApplication => client
            .close_title_application(pb::CloseTitleApplicationRequest {
                application_id: id(),
                reason: pb::CloseReason::Withdrawn as i32,
                note: "撤回".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::CheckEligibility => client
            .check_eligibility(pb::CheckEligibilityRequest {
                round_id: id(),
                county_code: A.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::GetRoundStatistics => client
            .get_round_statistics(pb::GetRoundStatisticsRequest {
                round_id: id(),
                county_code: String::new(),
            })
            .await
            .map(drop),
        other => panic!("{other:?} is not an evaluation RPC"),
    }
}

/// correction that does not exist (NOT_FOUND for whoever may call it).
pub async fn call_identity(
    client: &mut AuthIdentity,
    rpc: Rpc,
    a: &pb::Teacher,
    n: u32,
) -> Result<(), tonic::Status> {
    let correction_id = CaseId::generate(&mut rand::thread_rng()).to_string();
    match rpc {
        Rpc::ProposeIdentityCorrection => client
            .propose_identity_correction(pb::ProposeIdentityCorrectionRequest {
                teacher_id: a.teacher_id.clone(),
                id_document_type: pb::IdDocumentType::Passport as i32,
                national_id: format!("E{:08}", 10_000 + n),
                reason: "护照换发".into(),
                evidence_ref: "扫描件".into(),
                request_id: String::new(),
            })
            .await
            .map(drop),
        Rpc::ApproveIdentityCorrection => client
            .approve_identity_correction(pb::ApproveIdentityCorrectionRequest {
                correction_id,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RejectIdentityCorrection => client
            .reject_identity_correction(pb::RejectIdentityCorrectionRequest {
                correction_id,
                note: "不符".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::GetIdentityCorrection => client
            .get_identity_correction(pb::GetIdentityCorrectionRequest { correction_id })
            .await
            .map(drop),
        // A number no record holds: NOT_FOUND for whoever may merge.
        Rpc::MergeTeachers => client
            .merge_teachers(pb::MergeTeachersRequest {
                survivor_teacher_id: a.teacher_id.clone(),
                merged_teacher_id: teacher_registry::domain::TeacherId::generate(
                    &mut rand::thread_rng(),
                )
                .to_string(),
                reason: "同一人".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::UnmergeTeachers => client
            .unmerge_teachers(pb::UnmergeTeachersRequest {
                merged_teacher_id: a.teacher_id.clone(),
                reason: "两人".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        other => panic!("{other:?} is not an identity RPC"),
    }
}

/// Calls a DuplicateService RPC: the list, or the dismissal of a pair never found
/// (NOT_FOUND for whoever may call it).
pub async fn call_duplicates(
    client: &mut AuthDuplicates,
    rpc: Rpc,
    a: &pb::Teacher,
) -> Result<(), tonic::Status> {
    match rpc {
        Rpc::ListDuplicateCandidates => client
            .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest {
                county_code: A.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::DismissDuplicateCandidate => client
            .dismiss_duplicate_candidate(pb::DismissDuplicateCandidateRequest {
                teacher_id: a.teacher_id.clone(),
                other_teacher_id: teacher_registry::domain::TeacherId::generate(
                    &mut rand::thread_rng(),
                )
                .to_string(),
                note: "两人".into(),
                request_id: String::new(),
            })
            .await
            .map(drop),
        other => panic!("{other:?} is not a duplicate RPC"),
    }
}

/// Calls a public RPC with the caller's token, which is ignored: every role gets the
/// same answer as a caller without one.
pub async fn call_public(
    client: &mut AuthVerification,
    rpc: Rpc,
    a: &pb::Teacher,
) -> Result<(), tonic::Status> {
    assert_eq!(rpc, Rpc::VerifyCertificate);
    let answer = client
        .verify_certificate(pb::VerifyCertificateRequest {
            name: a.name.clone(),
            certificate_number: CERT_A.into(),
            national_id: String::new(),
        })
        .await?
        .into_inner();
    assert!(answer.found, "{answer:?}");
    Ok(())
}
