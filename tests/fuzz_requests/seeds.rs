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

/// Seeds for every RPC; the holder whose identity number no answer may show.
pub(crate) async fn seeds(server: &TestServer) -> (pb::Teacher, Vec<Target>) {
    let mut client = server.client.clone();
    let (holder, mut targets) = registry_seeds(&mut client).await;
    targets.extend(case_seeds(server).await);
    targets.extend(credential_seeds(server, &holder).await);
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
        target(pb::BackupRegistryRequest {}),
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
