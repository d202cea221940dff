//! The TeacherRegistryService's RPCs, one line each, naming its handler: admitted by the
//! gate and traced by [`rpc!`], then handed to the handler in its theme's module.
//!
//! Apart from `service.rs` because this is where the stream handlers' types meet: the
//! service's state and helpers are imported by `changes`, `import`, `backup`, `titles` and
//! `audit`, and only this module imports their stream types back.

use tonic::{Request, Response, Status, Streaming};

use crate::api::backup::BackupStream;
use crate::api::changes::WatchStream;
use crate::api::gate::Held;
use crate::api::import::ImportStream;
use crate::api::pb;
use crate::api::service::{rpc, rpc_stream, traced, RegistryService};
use crate::api::titles::TransitionStream;
use crate::auth::Rpc;

#[tonic::async_trait]
impl pb::teacher_registry_service_server::TeacherRegistryService for RegistryService {
    async fn create_teacher(
        &self,
        request: Request<pb::CreateTeacherRequest>,
    ) -> Result<Response<pb::CreateTeacherResponse>, Status> {
        rpc!(self, request, CreateTeacher, create)
    }

    async fn get_teacher(
        &self,
        request: Request<pb::GetTeacherRequest>,
    ) -> Result<Response<pb::GetTeacherResponse>, Status> {
        rpc!(self, request, GetTeacher, get)
    }

    async fn lookup_teacher(
        &self,
        request: Request<pb::LookupTeacherRequest>,
    ) -> Result<Response<pb::LookupTeacherResponse>, Status> {
        rpc!(self, request, LookupTeacher, lookup)
    }

    async fn list_teachers(
        &self,
        request: Request<pb::ListTeachersRequest>,
    ) -> Result<Response<pb::ListTeachersResponse>, Status> {
        rpc!(self, request, ListTeachers, list)
    }

    async fn search_teachers(
        &self,
        request: Request<pb::SearchTeachersRequest>,
    ) -> Result<Response<pb::SearchTeachersResponse>, Status> {
        rpc!(self, request, SearchTeachers, search)
    }

    async fn update_teacher(
        &self,
        request: Request<pb::UpdateTeacherRequest>,
    ) -> Result<Response<pb::UpdateTeacherResponse>, Status> {
        rpc!(self, request, UpdateTeacher, update)
    }

    async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        rpc!(self, request, IssueCertificate, issue)
    }

    async fn reissue_certificate(
        &self,
        request: Request<pb::ReissueCertificateRequest>,
    ) -> Result<Response<pb::ReissueCertificateResponse>, Status> {
        rpc!(self, request, ReissueCertificate, reissue)
    }

    async fn register_certificate(
        &self,
        request: Request<pb::RegisterCertificateRequest>,
    ) -> Result<Response<pb::RegisterCertificateResponse>, Status> {
        rpc!(self, request, RegisterCertificate, register)
    }

    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::RevokeCertificateResponse>, Status> {
        rpc!(self, request, RevokeCertificate, revoke)
    }

    async fn lose_qualification(
        &self,
        request: Request<pb::LoseQualificationRequest>,
    ) -> Result<Response<pb::LoseQualificationResponse>, Status> {
        rpc!(self, request, LoseQualification, lose_qualification)
    }

    async fn change_title(
        &self,
        request: Request<pb::ChangeTitleRequest>,
    ) -> Result<Response<pb::ChangeTitleResponse>, Status> {
        rpc!(self, request, ChangeTitle, change_title)
    }

    type TransitionTitlesStream = Held<TransitionStream>;

    async fn transition_titles(
        &self,
        request: Request<pb::TransitionTitlesRequest>,
    ) -> Result<Response<Self::TransitionTitlesStream>, Status> {
        rpc_stream!(self, request, TransitionTitles, transition)
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::GetStatisticsResponse>, Status> {
        rpc!(self, request, GetStatistics, statistics)
    }

    async fn list_teacher_revisions(
        &self,
        request: Request<pb::ListTeacherRevisionsRequest>,
    ) -> Result<Response<pb::ListTeacherRevisionsResponse>, Status> {
        rpc!(self, request, ListTeacherRevisions, list_teacher_revisions)
    }

    async fn propose_transfer(
        &self,
        request: Request<pb::ProposeTransferRequest>,
    ) -> Result<Response<pb::ProposeTransferResponse>, Status> {
        rpc!(self, request, ProposeTransfer, propose_transfer)
    }

    async fn accept_transfer(
        &self,
        request: Request<pb::AcceptTransferRequest>,
    ) -> Result<Response<pb::AcceptTransferResponse>, Status> {
        rpc!(self, request, AcceptTransfer, accept_transfer)
    }

    async fn decline_transfer(
        &self,
        request: Request<pb::DeclineTransferRequest>,
    ) -> Result<Response<pb::DeclineTransferResponse>, Status> {
        rpc!(self, request, DeclineTransfer, decline_transfer)
    }

    async fn list_transfers(
        &self,
        request: Request<pb::ListTransfersRequest>,
    ) -> Result<Response<pb::ListTransfersResponse>, Status> {
        rpc!(self, request, ListTransfers, list_transfers)
    }

    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::ListChangesResponse>, Status> {
        rpc!(self, request, ListChanges, changes)
    }

    type ImportTeachersStream = Held<ImportStream>;

    async fn import_teachers(
        &self,
        request: Request<Streaming<pb::ImportTeachersRequest>>,
    ) -> Result<Response<Self::ImportTeachersStream>, Status> {
        rpc_stream!(self, request, ImportTeachers, import)
    }

    type BackupRegistryStream = Held<BackupStream>;

    async fn backup_registry(
        &self,
        request: Request<pb::BackupRegistryRequest>,
    ) -> Result<Response<Self::BackupRegistryStream>, Status> {
        rpc_stream!(self, request, BackupRegistry, backup)
    }

    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        rpc!(self, request, ListAuditEntries, audit_entries)
    }

    type WatchChangesStream = Held<WatchStream>;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        rpc_stream!(self, request, WatchChanges, watch)
    }
}
