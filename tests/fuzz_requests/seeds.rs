//! The fuzzer's seeds: a valid request for every RPC of every service, about records and
//! cases made for it, so that mutations of them reach the handlers' deeper rules.

use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;

use super::{target, target_in, Target, CERTIFICATE, COUNTY, TO_REVOKE};
use crate::common::*;

/// The services fuzzed, by the name their paths carry.
pub(crate) const CASES: &str = "teacher_registry.v1.CaseService";
pub(crate) const CREDENTIALS: &str = "teacher_registry.v1.CredentialService";
pub(crate) const VERIFICATION: &str = "teacher_registry.v1.VerificationService";
pub(crate) const EVALUATION: &str = "teacher_registry.v1.EvaluationService";
pub(crate) const IDENTITY: &str = "teacher_registry.v1.IdentityService";
pub(crate) const DUPLICATES: &str = "teacher_registry.v1.DuplicateService";

/// Seeds for every RPC; the holder whose identity number no answer may show.
pub(crate) async fn seeds(server: &TestServer) -> (pb::Teacher, Vec<Target>) {
    let mut client = server.client.clone();
    let (holder, mut targets) = registry_seeds(&mut client).await;
    targets.extend(case_seeds(server).await);
    targets.extend(credential_seeds(server, &holder).await);
    targets.extend(evaluation_seeds(server).await);
    targets.extend(identity_seeds(server, &holder).await);
    (holder, targets)
}

/// Two teachers with certificates, and a valid request for every RPC of the registry
/// service about them.
async fn registry_seeds(client: &mut Client) -> (pb::Teacher, Vec<Target>) {
    let mut holder = teacher(100, COUNTY);
    holder.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
    let holder = create(client, holder).await;
    let other = create(client, teacher(101, COUNTY)).await;
    for (teacher, number) in [(&holder, CERTIFICATE), (&other, TO_REVOKE)] {
        let request = pb::IssueCertificateRequest {
            teacher_id: teacher.teacher_id.clone(),
            certificate: Some(certificate(number)),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        };
        client.issue_certificate(request).await.expect("issue");
    }
    let id = holder.teacher_id.clone();
    let national_id = pb::lookup_teacher_request::Key::NationalId(holder.national_id.clone());
    // GetTeacher first: the test calls it again at the end.
    let targets = vec![
        target(pb::GetTeacherRequest {
            teacher_id: id.clone(),
            revision: None,
        }),
        target(create_request(teacher(1, COUNTY), "")),
        target(pb::LookupTeacherRequest {
            key: Some(national_id),
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        }),
        target(pb::ListTeachersRequest {
            page_size: 10,
            county_code: COUNTY.into(),
            school: holder.school.clone(),
            registration_expires_before: "2030-01-01".into(),
            ..Default::default()
        }),
        target(pb::SearchTeachersRequest {
            name: holder.name.clone(),
            name_match: pb::NameMatch::Prefix as i32,
            county_code: COUNTY.into(),
            page_size: 10,
            ..Default::default()
        }),
        target(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: id.clone(),
                school: "第九中学".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["school".into()],
            }),
            request_id: String::new(),
        }),
        target(pb::IssueCertificateRequest {
            teacher_id: id.clone(),
            certificate: Some(certificate("20173500022000125")),
            first_registration_on: "2017-09-01".into(),
            ..Default::default()
        }),
        target(pb::ReissueCertificateRequest {
            certificate_number: CERTIFICATE.into(),
            reason: pb::ReissueReason::Lost as i32,
            declaration_ref: "声明2024-1".into(),
            issued_on: "2024-03-01".into(),
            request_id: "reissue-1".into(),
            ..Default::default()
        }),
        target(pb::RegisterCertificateRequest {
            certificate_number: CERTIFICATE.into(),
            registered_on: "2021-09-01".into(),
            ..Default::default()
        }),
        target(pb::RevokeCertificateRequest {
            certificate_number: TO_REVOKE.into(),
            reason: "fraud".into(),
            approval_document: "Nan Jiao [2024] No. 1".into(),
            revoked_on: "2024-05-01".into(),
            ground: pb::RevocationGround::Fraud as i32,
            ..Default::default()
        }),
        target(pb::LoseQualificationRequest {
            certificate_number: TO_REVOKE.into(),
            ground: pb::QualificationLossGround::IntentionalCrimeSentence as i32,
            approval_document: "Nan Jiao [2024] No. 2".into(),
            lost_on: "2024-06-01".into(),
            note: "判决书".into(),
            ..Default::default()
        }),
        target(pb::ChangeTitleRequest {
            teacher_id: other.teacher_id.clone(),
            change: Some(pb::TitleEntry {
                tier: pb::TitleTier::SecondLevel as i32,
                kind: pb::TitleChangeKind::Initial as i32,
                effective_date: "2018-09-01".into(),
                approval_document: "Nan Ren She [2018] No. 7".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        target(pb::TransitionTitlesRequest {
            teacher_ids: vec![id.clone()],
            effective_date: "2016-09-01".into(),
            approval_document: "Nan Ren She [2016] No. 88".into(),
            dry_run: true,
            ..Default::default()
        }),
        target(pb::GetStatisticsRequest {
            county_code: COUNTY.into(),
        }),
        target(pb::ListChangesRequest {
            after_revision: 1,
            page_size: 10,
            county_code: COUNTY.into(),
            principal: String::new(),
        }),
        target(pb::WatchChangesRequest {
            after_revision: 0,
            county_code: COUNTY.into(),
        }),
        target(pb::ProposeTransferRequest {
            teacher_id: other.teacher_id.clone(),
            to_county_code: "350721".into(),
            reason: "工作调动".into(),
            etag: String::new(),
            request_id: String::new(),
        }),
        target(pb::AcceptTransferRequest {
            teacher_id: other.teacher_id.clone(),
            school: "顺昌一中".into(),
            etag: String::new(),
            request_id: String::new(),
        }),
        target(pb::DeclineTransferRequest {
            teacher_id: other.teacher_id.clone(),
            etag: String::new(),
            request_id: String::new(),
        }),
        target(pb::ListTransfersRequest {
            county_code: COUNTY.into(),
        }),
        target(pb::ListTeacherRevisionsRequest {
            teacher_id: id.clone(),
            page_size: 2,
            page_token: String::new(),
        }),
        target(pb::BackupRegistryRequest {}),
        target(pb::ListAuditEntriesRequest {
            page_size: 10,
            principal: "root".into(),
            kind: pb::AuditKind::IdentityLookup as i32,
            start_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        }),
        target(pb::ImportTeachersRequest {
            teacher: Some(teacher(2, COUNTY)),
            mode: pb::ImportMode::Upsert as i32,
        }),
    ];
    (holder, targets)
}

/// A certification case received and one accepted, and a request for each case RPC.
async fn case_seeds(server: &TestServer) -> Vec<Target> {
    let mut cases = CaseServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap();
    let open = |n: u32| pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind: pb::CaseKind::Certification as i32,
            county_code: COUNTY.into(),
            applicant: Some(teacher(n, COUNTY)),
            certificate_kind: pb::CertificateKind::PrimarySchool as i32,
            materials: vec!["申请表".into(), "学历证书".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut opened = Vec::new();
    for n in [200, 201] {
        let case = cases.open_case(open(n)).await.unwrap().into_inner().case;
        opened.push(case.unwrap().case_id);
    }
    let (received, accepted) = (opened[0].clone(), opened[1].clone());
    cases
        .accept_case(pb::AcceptCaseRequest {
            case_id: accepted.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut issued = certificate("20193500022000126");
    issued.certified_on = "2019-07-01".into();
    vec![
        target_in(CASES, open(202)),
        target_in(
            CASES,
            pb::GetCaseRequest {
                case_id: accepted.clone(),
            },
        ),
        target_in(
            CASES,
            pb::ListCasesRequest {
                county_code: COUNTY.into(),
                page_size: 10,
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::AcceptCaseRequest {
                case_id: received.clone(),
                note: "材料齐全".into(),
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::RefuseCaseRequest {
                case_id: received.clone(),
                reason: "不属于本机关职权范围".into(),
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::RequestSupplementRequest {
                case_id: received.clone(),
                missing: vec!["体检表".into()],
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::ReceiveSupplementRequest {
                case_id: received.clone(),
                materials: vec!["体检表".into()],
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::ForwardCaseRequest {
                case_id: accepted.clone(),
                opinion: "同意".into(),
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::AssignCaseRequest {
                case_id: accepted.clone(),
                assignee: "clerk-1".into(),
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::WithdrawCaseRequest {
                case_id: received,
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::DecideCaseRequest {
                case_id: accepted,
                outcome: pb::CaseOutcome::Approved as i32,
                review: vec![
                    pb::ReviewItem::Education as i32,
                    pb::ReviewItem::MandarinLevel as i32,
                    pb::ReviewItem::PhysicalExamination as i32,
                    pb::ReviewItem::TeachingAbility as i32,
                ],
                certificate: Some(issued),
                ..Default::default()
            },
        ),
        target_in(
            CASES,
            pb::RecordConsultationRequest {
                consultation: Some(pb::Consultation {
                    county_code: COUNTY.into(),
                    topic: "资格认定条件".into(),
                    channel: pb::ConsultationChannel::Phone as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ),
        target_in(
            CASES,
            pb::GetCaseReportRequest {
                year: 2026,
                county_code: COUNTY.into(),
                period: pb::ReportPeriod::Month as i32,
            },
        ),
    ]
}

/// A credential issued for the holder's certificate, and a request for each credential and
/// verification RPC.
async fn credential_seeds(server: &TestServer, holder: &pb::Teacher) -> Vec<Target> {
    let mut credentials = CredentialServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap();
    let credential = credentials
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: CERTIFICATE.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .credential;
    vec![
        target_in(
            CREDENTIALS,
            pb::IssueCredentialRequest {
                certificate_number: CERTIFICATE.into(),
            },
        ),
        target_in(CREDENTIALS, pb::CheckCredentialRequest { credential }),
        target_in(CREDENTIALS, pb::GetCredentialKeyRequest {}),
        target_in(
            VERIFICATION,
            pb::VerifyCertificateRequest {
                name: holder.name.clone(),
                certificate_number: CERTIFICATE.into(),
                ..Default::default()
            },
        ),
    ]
}

/// A round with an application on school publicity, a second eligible teacher, and a
/// request for each evaluation RPC about them.
async fn evaluation_seeds(server: &TestServer) -> Vec<Target> {
    use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
    let mut client = server.client.clone();
    let applicant = eligible_teacher(&mut client, 900, COUNTY).await;
    let other = eligible_teacher(&mut client, 901, COUNTY).await;
    let mut rounds = EvaluationServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap();
    let new_round = round_in(COUNTY);
    let round = create_round(&mut rounds, new_round.clone()).await.round_id;
    let applied_on = (today_cst() - chrono::Duration::days(30)).to_string();
    let application = rounds
        .apply_for_title(pb::ApplyForTitleRequest {
            round_id: round.clone(),
            teacher_id: applicant.teacher_id.clone(),
            applied_on: applied_on.clone(),
            ..Default::default()
        })
        .await
        .unwrap_application()
        .application_id;
    let step = |on: i64| (today_cst() - chrono::Duration::days(on)).to_string();
    vec![
        target_in(EVALUATION, new_round),
        target_in(
            EVALUATION,
            pb::GetEvaluationRoundRequest {
                round_id: round.clone(),
            },
        ),
        target_in(
            EVALUATION,
            pb::RecordEthicsFindingRequest {
                finding: Some(pb::EthicsFinding {
                    teacher_id: other.teacher_id.clone(),
                    found_on: step(60),
                    ground: "有偿补课".into(),
                    vetoes_until: step(-300),
                    reviewed_by: "李审核".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ),
        target_in(
            EVALUATION,
            pb::ListEthicsFindingsRequest {
                teacher_id: other.teacher_id.clone(),
            },
        ),
        target_in(
            EVALUATION,
            pb::ApplyForTitleRequest {
                round_id: round.clone(),
                teacher_id: other.teacher_id.clone(),
                applied_on,
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::GetTitleApplicationRequest {
                application_id: application.clone(),
            },
        ),
        target_in(
            EVALUATION,
            pb::ListTitleApplicationsRequest {
                round_id: round.clone(),
                county_code: COUNTY.into(),
                page_size: 2,
                page_token: String::new(),
            },
        ),
        target_in(
            EVALUATION,
            pb::OpenPublicityRequest {
                round_id: round.clone(),
                step_date: step(29),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::RecordObjectionRequest {
                application_id: application.clone(),
                step_date: step(27),
                text: "异议".into(),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::HandleObjectionRequest {
                application_id: application.clone(),
                step_date: step(26),
                note: "经核查不属实".into(),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::RecordCommitteeResultsRequest {
                round_id: round.clone(),
                rows: vec![pb::CommitteeResultRow {
                    application_id: application.clone(),
                    votes_for: 2,
                    against: 1,
                    abstain: 0,
                    present: 3,
                }],
                step_date: step(15),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::ConfirmApplicationsRequest {
                round_id: round.clone(),
                approval_document: "南人社[2026]12号".into(),
                step_date: step(2),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::CloseTitleApplicationRequest {
                application_id: application,
                reason: pb::CloseReason::Withdrawn as i32,
                note: "本人撤回".into(),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::CheckEligibilityRequest {
                round_id: round.clone(),
                county_code: COUNTY.into(),
                ..Default::default()
            },
        ),
        target_in(
            EVALUATION,
            pb::GetRoundStatisticsRequest {
                round_id: round,
                county_code: String::new(),
            },
        ),
    ]
}

/// A pending correction of the holder's document, and a request for every RPC of the
/// identity service about it. (The fuzz server's one principal proposed it, so its
/// approval is refused as SAME_REVIEWER: the deeper rules are reached either way.)
async fn identity_seeds(server: &TestServer, holder: &pb::Teacher) -> Vec<Target> {
    let mut identity = pb::identity_service_client::IdentityServiceClient::connect(format!(
        "http://{}",
        server.address
    ))
    .await
    .unwrap();
    let propose = pb::ProposeIdentityCorrectionRequest {
        teacher_id: holder.teacher_id.clone(),
        id_document_type: pb::IdDocumentType::Passport as i32,
        national_id: "E98765432".into(),
        reason: "持护照登记".into(),
        evidence_ref: "扫描件 1".into(),
        request_id: String::new(),
    };
    let correction = identity
        .propose_identity_correction(propose.clone())
        .await
        .expect("propose")
        .into_inner()
        .correction
        .unwrap();
    let mut registry = server.client.clone();
    let survivor = create(&mut registry, teacher(700_001, COUNTY)).await;
    let merged = create(&mut registry, teacher(700_002, COUNTY)).await;
    vec![
        target_in(
            IDENTITY,
            pb::ProposeIdentityCorrectionRequest {
                national_id: "E98765433".into(),
                ..propose
            },
        ),
        target_in(
            IDENTITY,
            pb::ApproveIdentityCorrectionRequest {
                correction_id: correction.correction_id.clone(),
                etag: correction.etag.clone(),
                note: "核对无误".into(),
                request_id: String::new(),
            },
        ),
        target_in(
            IDENTITY,
            pb::RejectIdentityCorrectionRequest {
                correction_id: correction.correction_id.clone(),
                etag: correction.etag,
                note: "与扫描件不符".into(),
                request_id: String::new(),
            },
        ),
        target_in(
            IDENTITY,
            pb::GetIdentityCorrectionRequest {
                correction_id: correction.correction_id,
            },
        ),
        target_in(
            DUPLICATES,
            pb::ListDuplicateCandidatesRequest {
                county_code: COUNTY.into(),
                page_size: 10,
                page_token: String::new(),
            },
        ),
        // A pair never found: NOT_FOUND, unless a mutation names a real one.
        target_in(
            DUPLICATES,
            pb::DismissDuplicateCandidateRequest {
                teacher_id: holder.teacher_id.clone(),
                other_teacher_id: holder.teacher_id.clone(),
                note: "二人".into(),
                request_id: String::new(),
            },
        ),
        // Two records of their own (the holder is needed whole by the other seeds): the
        // first merge stands, later ones are NOT_FOUND until an unmerge restores it.
        target_in(
            IDENTITY,
            pb::MergeTeachersRequest {
                survivor_teacher_id: survivor.teacher_id.clone(),
                merged_teacher_id: merged.teacher_id.clone(),
                reason: "同一人".into(),
                survivor_etag: survivor.etag,
                merged_etag: String::new(),
                request_id: String::new(),
            },
        ),
        target_in(
            IDENTITY,
            pb::UnmergeTeachersRequest {
                merged_teacher_id: merged.teacher_id,
                reason: "两人".into(),
                request_id: String::new(),
            },
        ),
    ]
}
