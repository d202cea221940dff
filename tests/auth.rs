//! Authentication and authorization through a real server: every RPC against every role,
//! county scoping on every mutating RPC, masking, bad tokens, TLS and mutual TLS, and the
//! refusal to serve a non-loopback address without authentication.

mod common;

use std::path::Path;

use common::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;
use teacher_registry::api::pb::duplicate_service_client::DuplicateServiceClient;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::identity_service_client::IdentityServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::pb::verification_service_client::VerificationServiceClient;
use teacher_registry::auth::{add_principal, permits, Authenticator, Role, Rpc};
use teacher_registry::credential::SigningKey;
use teacher_registry::domain::case::CaseId;
use teacher_registry::server::{ServerOptions, TlsFiles};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::Code;

const A: &str = "350702";
const B: &str = "350721";

type AuthClient = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;
type AuthCases = CaseServiceClient<InterceptedService<Channel, Token>>;
type AuthCredentials = CredentialServiceClient<InterceptedService<Channel, Token>>;
type AuthEvaluation = EvaluationServiceClient<InterceptedService<Channel, Token>>;
type AuthIdentity = IdentityServiceClient<InterceptedService<Channel, Token>>;

fn with_header(channel: Channel, header: Option<&str>) -> AuthClient {
    TeacherRegistryServiceClient::with_interceptor(channel, Token::header(header))
}

struct Principals {
    admin: String,
    hr: String,
    county_a: String,
    county_b: String,
    importer_a: String,
    reader: String,
    city: String,
}

fn principals(path: &Path) -> Principals {
    Principals {
        admin: add_principal(path, "root", Role::Admin, None).unwrap(),
        hr: add_principal(path, "hr-office", Role::Hr, None).unwrap(),
        county_a: add_principal(path, "yanping", Role::County, Some(A)).unwrap(),
        county_b: add_principal(path, "shunchang", Role::County, Some(B)).unwrap(),
        importer_a: add_principal(path, "loader", Role::Importer, Some(A)).unwrap(),
        reader: add_principal(path, "auditor", Role::Reader, None).unwrap(),
        city: add_principal(path, "nanping", Role::City, Some("350700")).unwrap(),
    }
}

async fn secured_server(dir: &Path) -> (TestServer, Principals) {
    let path = dir.join("auth.toml");
    let tokens = principals(&path);
    let server = start_server_with(ServerOptions {
        authenticator: Some(Authenticator::load(&path).unwrap()),
        credential_key: Some(SigningKey::generate().into()),
        ..ServerOptions::default()
    })
    .await;
    (server, tokens)
}

async fn channel(server: &TestServer) -> Channel {
    Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn as_token(server: &TestServer, token: &str) -> AuthClient {
    with_header(channel(server).await, Some(&format!("Bearer {token}")))
}

async fn cases_as(server: &TestServer, token: &str) -> AuthCases {
    CaseServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

async fn credentials_as(server: &TestServer, token: &str) -> AuthCredentials {
    CredentialServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

/// Calls a credential RPC: a credential for county A's certificate, a check of a text
/// that is no credential (INVALID_ARGUMENT for anyone), the public key.
async fn call_credential(client: &mut AuthCredentials, rpc: Rpc) -> Result<(), tonic::Status> {
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
async fn call_case(cases: &mut AuthCases, rpc: Rpc) -> Result<(), tonic::Status> {
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
            .record_consultation(pb::RecordConsultationRequest {
                consultation: Some(pb::Consultation {
                    county_code: A.into(),
                    topic: "认定条件".into(),
                    channel: pb::ConsultationChannel::Phone as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .map(drop),
        Rpc::GetCaseReport => cases
            .get_case_report(pb::GetCaseReportRequest {
                year: 2026,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ListCases => cases
            .list_cases(pb::ListCasesRequest::default())
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

async fn evaluation_as(server: &TestServer, token: &str) -> AuthEvaluation {
    EvaluationServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

/// Calls a title evaluation RPC: opening a round, a finding about county A's teacher, or
/// a step of a round or application that does not exist (NOT_FOUND for whoever may call
/// it).
async fn call_evaluation(
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
            .record_ethics_finding(pb::RecordEthicsFindingRequest {
                finding: Some(pb::EthicsFinding {
                    teacher_id: a.teacher_id.clone(),
                    found_on: "2026-01-05".into(),
                    ground: "有偿补课".into(),
                    vetoes_until: "2026-12-31".into(),
                    reviewed_by: "另一位审核人".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
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

async fn identity_as(server: &TestServer, token: &str) -> AuthIdentity {
    IdentityServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

/// Calls an IdentityService RPC: a correction of county A's teacher, or a step of a
/// correction that does not exist (NOT_FOUND for whoever may call it).
async fn call_identity(
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
async fn call_duplicates(
    server: &TestServer,
    token: &str,
    rpc: Rpc,
    a: &pb::Teacher,
) -> Result<(), tonic::Status> {
    let mut client =
        DuplicateServiceClient::with_interceptor(channel(server).await, Token::bearer(token));
    match rpc {
        Rpc::ListDuplicateCandidates => client
            .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest::default())
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

/// Whether the RPC is the EvaluationService's.
fn is_evaluation(rpc: Rpc) -> bool {
    rpc.is_evaluation_step()
        || matches!(
            rpc,
            Rpc::GetEvaluationRound
                | Rpc::ListEthicsFindings
                | Rpc::GetTitleApplication
                | Rpc::ListTitleApplications
                | Rpc::CheckEligibility
                | Rpc::GetRoundStatistics
        )
}

const CERT_A: &str = "20163500022000123";

/// A teacher in A with a certificate, and one in B; returns their ids.
async fn seed(admin: &mut AuthClient) -> (pb::Teacher, pb::Teacher) {
    let a = admin
        .create_teacher(create_request(teacher(1, A), ""))
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    let b = admin
        .create_teacher(create_request(teacher(2, B), ""))
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    for (holder, number) in [(&a, CERT_A), (&b, "20163500022000456")] {
        admin
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: holder.teacher_id.clone(),
                certificate: Some(pb::Certificate {
                    certificate_number: number.into(),
                    kind: pb::CertificateKind::PrimarySchool as i32,
                    subject: "语文".into(),
                    issuing_authority: "x".into(),
                    certified_on: "2016-07-01".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    (a, b)
}

/// A well-formed registry number that no record holds.
fn nobody() -> String {
    teacher_registry::domain::TeacherId::generate(&mut rand::thread_rng()).to_string()
}

/// Calls `rpc` with a request about county A's teacher; the status if it failed.
async fn call(
    client: &mut AuthClient,
    rpc: Rpc,
    a: &pb::Teacher,
    n: u32,
) -> Result<(), tonic::Status> {
    match rpc {
        Rpc::CreateTeacher => client
            .create_teacher(create_request(teacher(100 + n, A), ""))
            .await
            .map(drop),
        Rpc::GetTeacher => client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: a.teacher_id.clone(),
                revision: None,
            })
            .await
            .map(drop),
        // By certificate number: readers may not look up by identity number (red_team).
        Rpc::LookupTeacher => client
            .lookup_teacher(pb::LookupTeacherRequest {
                key: Some(pb::lookup_teacher_request::Key::CertificateNumber(
                    CERT_A.into(),
                )),
                id_document_type: 0,
            })
            .await
            .map(drop),
        Rpc::ListTeachers => client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .map(drop),
        Rpc::SearchTeachers => client
            .search_teachers(pb::SearchTeachersRequest {
                name: a.name.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::UpdateTeacher => client
            .update_teacher(pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: a.teacher_id.clone(),
                    school: format!("学校{n}"),
                    ..Default::default()
                }),
                update_mask: None,
                request_id: String::new(),
            })
            .await
            .map(drop),
        Rpc::IssueCertificate => client
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: a.teacher_id.clone(),
                certificate: Some(pb::Certificate {
                    certificate_number: format!("2016350003200{n:04}"),
                    kind: pb::CertificateKind::JuniorSecondary as i32,
                    subject: "数学".into(),
                    issuing_authority: "x".into(),
                    certified_on: "2016-07-01".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ReissueCertificate => client
            .reissue_certificate(pb::ReissueCertificateRequest {
                certificate_number: CERT_A.into(),
                reason: pb::ReissueReason::Damaged as i32,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RegisterCertificate => client
            .register_certificate(pb::RegisterCertificateRequest {
                certificate_number: CERT_A.into(),
                registered_on: format!("2017-01-{:02}", 1 + n % 28),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::RevokeCertificate => client
            .revoke_certificate(pb::RevokeCertificateRequest {
                certificate_number: "20163500022999999".into(),
                reason: "r".into(),
                approval_document: "d".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::LoseQualification => client
            .lose_qualification(pb::LoseQualificationRequest {
                certificate_number: "20163500022999999".into(),
                ground: pb::QualificationLossGround::IntentionalCrimeSentence as i32,
                approval_document: "d".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ChangeTitle => client
            .change_title(pb::ChangeTitleRequest {
                teacher_id: a.teacher_id.clone(),
                change: Some(pb::TitleEntry {
                    tier: pb::TitleTier::ThirdLevel as i32,
                    kind: pb::TitleChangeKind::Correction as i32,
                    effective_date: "2020-01-01".into(),
                    note: "fix".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::TransitionTitles => client
            .transition_titles(pb::TransitionTitlesRequest {
                county_code: A.into(),
                effective_date: "2016-09-01".into(),
                approval_document: "doc".into(),
                dry_run: true,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::GetStatistics => client
            .get_statistics(pb::GetStatisticsRequest::default())
            .await
            .map(drop),
        Rpc::ListChanges => client
            .list_changes(pb::ListChangesRequest::default())
            .await
            .map(drop),
        // Authorization only: a registry number nobody holds, so nothing pends after.
        Rpc::ProposeTransfer => client
            .propose_transfer(pb::ProposeTransferRequest {
                teacher_id: nobody(),
                to_county_code: B.into(),
                reason: "工作调动".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::AcceptTransfer => client
            .accept_transfer(pb::AcceptTransferRequest {
                teacher_id: nobody(),
                school: "一中".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::DeclineTransfer => client
            .decline_transfer(pb::DeclineTransferRequest {
                teacher_id: nobody(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ListTransfers => client
            .list_transfers(pb::ListTransfersRequest {
                county_code: A.into(),
            })
            .await
            .map(drop),
        Rpc::ListTeacherRevisions => client
            .list_teacher_revisions(pb::ListTeacherRevisionsRequest {
                teacher_id: a.teacher_id.clone(),
                page_size: 10,
                page_token: String::new(),
            })
            .await
            .map(drop),
        Rpc::WatchChanges => client
            .watch_changes(pb::WatchChangesRequest::default())
            .await
            .map(drop),
        Rpc::ImportTeachers => {
            let row = pb::ImportTeachersRequest {
                teacher: Some(teacher(200 + n, A)),
                mode: pb::ImportMode::Upsert as i32,
            };
            let mut stream = client
                .import_teachers(tokio_stream::iter(vec![row]))
                .await?
                .into_inner();
            let result = stream.message().await?.unwrap();
            assert_eq!(result.outcome(), pb::ImportOutcome::Created, "{result:?}");
            Ok(())
        }
        Rpc::BackupRegistry => {
            let mut stream = client
                .backup_registry(pb::BackupRegistryRequest {})
                .await?
                .into_inner();
            let mut snapshot = false;
            while let Some(message) = stream.message().await? {
                use pb::backup_registry_response::Entry;
                snapshot |= matches!(message.entry, Some(Entry::Snapshot(_)));
            }
            assert!(snapshot, "a backup without its snapshot");
            Ok(())
        }
        Rpc::ListAuditEntries => {
            let page = client
                .list_audit_entries(pb::ListAuditEntriesRequest::default())
                .await?
                .into_inner();
            // This run's listing (ListTeachers comes before it) is there, at least.
            assert!(!page.entries.is_empty(), "{page:?}");
            Ok(())
        }
        Rpc::OpenCase
        | Rpc::GetCase
        | Rpc::ListCases
        | Rpc::AcceptCase
        | Rpc::RefuseCase
        | Rpc::RequestSupplement
        | Rpc::ReceiveSupplement
        | Rpc::ForwardCase
        | Rpc::AssignCase
        | Rpc::WithdrawCase
        | Rpc::DecideCase
        | Rpc::RecordConsultation
        | Rpc::GetCaseReport => unreachable!("case RPCs go through call_case"),
        Rpc::IssueCredential | Rpc::CheckCredential | Rpc::GetCredentialKey => {
            unreachable!("credential RPCs go through call_credential")
        }
        Rpc::VerifyCertificate => unreachable!("public RPCs go through call_public"),
        rpc if is_evaluation(rpc) => unreachable!("evaluation RPCs go through call_evaluation"),
        rpc if rpc.is_identity_operation() => {
            unreachable!("identity RPCs go through call_identity")
        }
        other => unreachable!("{other:?} has no call"),
    }
}

/// Calls a public RPC with the caller's token, which is ignored: every role gets the
/// same answer as a caller without one.
async fn call_public(
    server: &TestServer,
    token: &str,
    rpc: Rpc,
    a: &pb::Teacher,
) -> Result<(), tonic::Status> {
    let mut client =
        VerificationServiceClient::with_interceptor(channel(server).await, Token::bearer(token));
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

#[tokio::test]
async fn every_rpc_against_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let (a, _) = seed(&mut admin).await;
    let roles = [
        (Role::Admin, &tokens.admin),
        (Role::Hr, &tokens.hr),
        (Role::County, &tokens.county_a),
        (Role::Importer, &tokens.importer_a),
        (Role::Reader, &tokens.reader),
        (Role::City, &tokens.city),
    ];
    let mut n = 0;
    for (role, token) in roles {
        let mut client = as_token(&server, token).await;
        let mut cases = cases_as(&server, token).await;
        let mut credentials = credentials_as(&server, token).await;
        let mut evaluation = evaluation_as(&server, token).await;
        let mut identity = identity_as(&server, token).await;
        for rpc in Rpc::ALL {
            n += 1;
            let result = if rpc.is_public() && rpc == Rpc::VerifyCertificate {
                call_public(&server, token, rpc, &a).await
            } else if is_evaluation(rpc) {
                call_evaluation(&mut evaluation, rpc, &a).await
            } else if matches!(
                rpc,
                Rpc::ListDuplicateCandidates | Rpc::DismissDuplicateCandidate
            ) {
                call_duplicates(&server, token, rpc, &a).await
            } else if rpc.is_identity_operation() {
                call_identity(&mut identity, rpc, &a, n).await
            } else if rpc.is_case_step()
                || matches!(rpc, Rpc::GetCase | Rpc::ListCases | Rpc::GetCaseReport)
            {
                call_case(&mut cases, rpc).await
            } else if matches!(
                rpc,
                Rpc::IssueCredential | Rpc::CheckCredential | Rpc::GetCredentialKey
            ) {
                call_credential(&mut credentials, rpc).await
            } else {
                call(&mut client, rpc, &a, n).await
            };
            let denied = matches!(&result, Err(s) if s.code() == Code::PermissionDenied);
            assert_eq!(denied, !permits(role, rpc), "{role:?} {rpc:?}: {result:?}");
            if let Err(status) = &result {
                assert_ne!(status.code(), Code::Unauthenticated, "{role:?} {rpc:?}");
            }
        }
    }
}

#[tokio::test]
async fn a_county_works_only_in_its_own_county() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let (a, b) = seed(&mut admin).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let denied = |result: Result<(), tonic::Status>, what: &str| {
        let status = result.expect_err(what);
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
        assert!(!status.message().contains(&b.national_id), "{what}");
    };
    // A write to another county's teacher or certificate answers as if there were none.
    let hidden = |result: Result<(), tonic::Status>, what: &str| {
        let status = result.expect_err(what);
        assert_eq!(status.code(), Code::NotFound, "{what}: {status:?}");
    };

    denied(
        county
            .create_teacher(create_request(teacher(9, B), ""))
            .await
            .map(drop),
        "create in B",
    );
    let mut county_cases = cases_as(&server, &tokens.county_a).await;
    denied(
        county_cases
            .get_case_report(pb::GetCaseReportRequest {
                year: 2026,
                county_code: B.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "B's case report",
    );
    denied(
        county_cases
            .record_consultation(pb::RecordConsultationRequest {
                consultation: Some(pb::Consultation {
                    county_code: B.into(),
                    topic: "认定条件".into(),
                    channel: pb::ConsultationChannel::Phone as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .map(drop),
        "a consultation in B",
    );
    hidden(
        county
            .update_teacher(pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: b.teacher_id.clone(),
                    school: "x".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(drop),
        "update B's teacher",
    );
    hidden(
        county
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: b.teacher_id.clone(),
                certificate: Some(pb::Certificate {
                    certificate_number: "20163500032000777".into(),
                    kind: pb::CertificateKind::JuniorSecondary as i32,
                    subject: "数学".into(),
                    issuing_authority: "x".into(),
                    certified_on: "2016-07-01".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(drop),
        "issue to B's teacher",
    );
    let mut writes = Vec::new();
    for (rpc, result) in [
        (
            "reissue",
            county
                .reissue_certificate(pb::ReissueCertificateRequest {
                    certificate_number: "20163500022000456".into(),
                    reason: pb::ReissueReason::Damaged as i32,
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "register",
            county
                .register_certificate(pb::RegisterCertificateRequest {
                    certificate_number: "20163500022000456".into(),
                    registered_on: "2020-01-01".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "revoke",
            county
                .revoke_certificate(pb::RevokeCertificateRequest {
                    certificate_number: "20163500022000456".into(),
                    reason: "r".into(),
                    approval_document: "d".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "lose the qualification of B's teacher",
            county
                .lose_qualification(pb::LoseQualificationRequest {
                    certificate_number: "20163500022000456".into(),
                    ground: pb::QualificationLossGround::DeprivationOfPoliticalRights as i32,
                    approval_document: "d".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
    ] {
        writes.push(rpc);
        hidden(result, rpc);
    }
    assert_eq!(writes.len(), 4);
    for (rpc, result) in [
        (
            "list B",
            county
                .list_teachers(pb::ListTeachersRequest {
                    county_code: B.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "statistics of B",
            county
                .get_statistics(pb::GetStatisticsRequest {
                    county_code: B.into(),
                })
                .await
                .map(drop),
        ),
        (
            "changes of B",
            county
                .list_changes(pb::ListChangesRequest {
                    county_code: B.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "changes by principal",
            county
                .list_changes(pb::ListChangesRequest {
                    principal: "root".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
    ] {
        denied(result, rpc);
    }
    let mut import = county
        .import_teachers(tokio_stream::iter(vec![pb::ImportTeachersRequest {
            teacher: Some(teacher(3, B)),
            mode: pb::ImportMode::Upsert as i32,
        }]))
        .await
        .unwrap()
        .into_inner();
    let row = import.message().await.unwrap().unwrap();
    assert_eq!(row.outcome(), pb::ImportOutcome::Rejected);
    assert_eq!(row.error.unwrap().code, "PERMISSION_DENIED");

    // Reads of another county's teacher do not reveal that it exists.
    let status = county
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: b.teacher_id.clone(),
            revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = county
        .lookup_teacher(pb::LookupTeacherRequest {
            key: Some(pb::lookup_teacher_request::Key::NationalId(
                b.national_id.clone(),
            )),
            id_document_type: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // Its lists, statistics and feed are its own county's.
    let listed = county
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .teachers;
    let listed: Vec<&str> = listed.iter().map(|t| t.teacher_id.as_str()).collect();
    assert_eq!(listed, [a.teacher_id.as_str()]);
    let statistics = county
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statistics.counties.len(), 1);
    assert_eq!(statistics.counties[0].county_code, A);
    let changes = county
        .list_changes(pb::ListChangesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert!(changes.iter().all(|c| c.teacher_id == a.teacher_id));

    // Its own work is recorded under its name, and an admin can audit it.
    county
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: a.teacher_id.clone(),
                school: "新校".into(),
                ..Default::default()
            }),
            update_mask: None,
            request_id: "audit-me".into(),
        })
        .await
        .unwrap();
    let audit = admin
        .list_changes(pb::ListChangesRequest {
            principal: "yanping".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].principal.as_str(), audit[0].request_id.as_str()),
        ("yanping", "audit-me")
    );
    drop(tokens.county_b);
}

#[tokio::test]
async fn readers_see_identity_numbers_masked() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let (a, _) = seed(&mut admin).await;
    let mut reader = as_token(&server, &tokens.reader).await;
    let got = reader
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: a.teacher_id.clone(),
            revision: None,
        })
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    let expected = format!(
        "{}**************{}",
        &a.national_id[..2],
        &a.national_id[16..]
    );
    assert_eq!(got.national_id, expected);
    assert_eq!(got.birth_date, a.birth_date[..4], "the birth year only");
    let listed = reader
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed
        .teachers
        .iter()
        .all(|t| t.national_id.contains("**************")));
    let changes = reader
        .list_changes(pb::ListChangesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(changes
        .changes
        .iter()
        .filter_map(|c| c.teacher.as_ref())
        .all(|t| t.national_id.contains("**************")));
    let full = admin
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: a.teacher_id.clone(),
            revision: None,
        })
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    assert_eq!(full.national_id, a.national_id, "admins see it whole");
}

#[tokio::test]
async fn missing_wrong_and_garbled_tokens_are_unauthenticated_and_health_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let headers = [
        None,
        Some("Bearer trg_not-a-real-token".to_string()),
        Some(format!("Bearer {}x", tokens.admin)),
        Some(format!("Basic {}", tokens.admin)),
        Some("Bearer".to_string()),
        Some(tokens.admin.clone()),
    ];
    for header in headers {
        let mut client = with_header(channel(&server).await, header.as_deref());
        let status = client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{header:?}");
        assert!(!status.message().contains(&tokens.admin));
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&server).await);
    let response = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn without_an_auth_file_only_loopback_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = teacher_registry::store::Store::open(dir.path(), &Default::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let error = teacher_registry::server::run(listener, store, ServerOptions::default(), async {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("without authentication"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_principal_beyond_its_share_is_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let tokens = principals(&path);
    let server = start_server_with(ServerOptions {
        authenticator: Some(Authenticator::load(&path).unwrap()),
        max_in_flight_per_principal: 1,
        ..ServerOptions::default()
    })
    .await;
    let mut tasks = Vec::new();
    for n in 0..48 {
        let mut client = as_token(&server, &tokens.admin).await;
        tasks.push(tokio::spawn(async move {
            client
                .create_teacher(create_request(teacher(n, A), ""))
                .await
                .map(drop)
        }));
    }
    let mut exhausted = 0;
    for task in tasks {
        if let Err(status) = task.await.unwrap() {
            assert_eq!(status.code(), Code::ResourceExhausted);
            exhausted += 1;
        }
    }
    assert!(exhausted > 0, "48 concurrent writes never overlapped");
    // Another principal is not held back by the first one's load.
    let mut reader = as_token(&server, &tokens.reader).await;
    reader
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap();
}

/// A certificate for `name` with its key and parameters: self-signed, or signed by the
/// issuer given as its parameters and key.
fn certificate_pair(
    name: &str,
    issuer: Option<(&rcgen::CertificateParams, &rcgen::KeyPair)>,
    ca: bool,
) -> (rcgen::Certificate, rcgen::KeyPair, rcgen::CertificateParams) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let cert = match issuer {
        Some((issuer_params, issuer_key)) => params
            .signed_by(&key, &rcgen::Issuer::from_params(issuer_params, issuer_key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (cert, key, params)
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key, ca_params) = certificate_pair("registry test CA", None, true);
    let (server_cert, server_key, _) =
        certificate_pair("localhost", Some((&ca_params, &ca_key)), false);
    let (client_cert, client_key, _) =
        certificate_pair("bureau", Some((&ca_params, &ca_key)), false);
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let tls = TlsFiles {
        cert: write("server.pem", server_cert.pem()),
        key: write("server.key", server_key.serialize_pem()),
        client_ca: Some(write("ca.pem", ca.pem())),
    };
    let auth_path = dir.path().join("auth.toml");
    let tokens = principals(&auth_path);
    let server = start_server_with(ServerOptions {
        authenticator: Some(Authenticator::load(&auth_path).unwrap()),
        tls: Some(tls),
        ..ServerOptions::default()
    })
    .await;
    let url = format!("https://localhost:{}", server.address.port());
    let ca_cert = Certificate::from_pem(ca.pem());

    let with_identity = ClientTlsConfig::new()
        .ca_certificate(ca_cert.clone())
        .domain_name("localhost")
        .identity(Identity::from_pem(
            client_cert.pem(),
            client_key.serialize_pem(),
        ));
    let channel = Endpoint::from_shared(url.clone())
        .unwrap()
        .tls_config(with_identity)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = with_header(channel, Some(&format!("Bearer {}", tokens.admin)));
    client
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap();

    // Without a client certificate the handshake fails.
    let without_identity = ClientTlsConfig::new()
        .ca_certificate(ca_cert)
        .domain_name("localhost");
    let refused = async {
        let channel = Endpoint::from_shared(url)
            .unwrap()
            .tls_config(without_identity)
            .unwrap()
            .connect()
            .await?;
        let mut client = with_header(channel, Some(&format!("Bearer {}", tokens.admin)));
        client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .map_err(|s| Box::new(s) as Box<dyn std::error::Error + Send + Sync>)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;
    assert!(
        refused.is_err(),
        "mutual TLS lets no one in without a client certificate"
    );

    // Plaintext to a TLS port does not work either.
    let plain = Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        let mut client = with_header(channel, Some(&format!("Bearer {}", tokens.admin)));
        assert!(client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .is_err());
    }
}

/// Regression: request ids were one registry-wide key space, so another caller replaying
/// a request id got the first caller's answer (another county's full record) back.
#[tokio::test]
async fn request_ids_belong_to_their_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut a = as_token(&server, &tokens.county_a).await;
    let mut b = as_token(&server, &tokens.county_b).await;
    let first = a
        .create_teacher(create_request(teacher(1, A), "reg-0001"))
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    let replayed = b
        .create_teacher(create_request(teacher(1, A), "reg-0001"))
        .await
        .unwrap_err();
    assert_eq!(
        replayed.code(),
        Code::PermissionDenied,
        "B may not create in A"
    );
    let own = b
        .create_teacher(create_request(teacher(2, B), "reg-0001"))
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    assert_ne!(
        own.teacher_id, first.teacher_id,
        "B's id is B's own request"
    );
}

/// Regression: a stream's request slot was released when its handler returned, so one
/// principal could hold any number of open watches.
#[tokio::test]
async fn open_streams_count_against_the_principal_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let tokens = principals(&path);
    let server = start_server_with(ServerOptions {
        authenticator: Some(Authenticator::load(&path).unwrap()),
        max_in_flight_per_principal: 2,
        ..ServerOptions::default()
    })
    .await;
    let mut client = as_token(&server, &tokens.reader).await;
    let first = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap();
    let _second = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap();
    let status = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    drop(first);
    // The server notices the closed stream when it next tries to send; wait (bounded).
    let mut admitted = false;
    for _ in 0..100 {
        match client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
        {
            Ok(_) => {
                admitted = true;
                break;
            }
            Err(s) if s.code() == Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    assert!(admitted, "closing a stream frees its slot");
}
