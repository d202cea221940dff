//! The calls of the TeacherRegistryService's RPCs, one request each that every role
//! allowed to call the RPC may make (about county A's teacher).

use teacher_registry::api::pb;
use teacher_registry::auth::Rpc;

use super::{nobody, AuthClient, A, B, CERT_A};
use crate::common::{create_request, junior_issue_request, teacher};

pub async fn call_registry(
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
            .list_teachers(pb::ListTeachersRequest {
                county_code: A.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::SearchTeachers => client
            .search_teachers(pb::SearchTeachersRequest {
                name: a.name.clone(),
                county_code: A.into(),
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
            .issue_certificate(junior_issue_request(
                &a.teacher_id,
                &format!("2016350003200{n:04}"),
            ))
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
            .get_statistics(pb::GetStatisticsRequest {
                county_code: A.into(),
            })
            .await
            .map(drop),
        Rpc::ListChanges => client
            .list_changes(pb::ListChangesRequest {
                county_code: A.into(),
                ..Default::default()
            })
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
            .watch_changes(pb::WatchChangesRequest {
                county_code: A.into(),
                ..Default::default()
            })
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
            if result.outcome() == pb::ImportOutcome::Created {
                return Ok(());
            }
            // A row refused (another county's principal) is answered as its status.
            let code = crate::common::row_code(&result);
            let status = result.status.clone().unwrap_or_default();
            let code = match code.as_str() {
                "PERMISSION_DENIED" => tonic::Code::PermissionDenied,
                "NOT_FOUND" => tonic::Code::NotFound,
                _ => panic!("{result:?}"),
            };
            Err(tonic::Status::new(code, status.message))
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
        other => panic!("{other:?} is not a TeacherRegistryService RPC"),
    }
}
