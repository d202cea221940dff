//! The CaseService's RPCs, each admitted by the gate and traced as the registry's own,
//! then handed to its handler (in `cases`, `case_steps` and `case_report`).

use tonic::{Request, Response, Status};

use crate::api::pb;
use crate::api::pb::case_service_server::CaseService as CaseRpcs;
use crate::api::service::{rpc, traced, RegistryService};
use crate::auth::Rpc;

/// The CaseService over the registry service's store, gate and metrics.
#[derive(Clone)]
pub struct CaseService {
    registry: RegistryService,
}

impl CaseService {
    pub fn new(registry: RegistryService) -> Self {
        Self { registry }
    }
}

/// Each RPC: admitted by the gate and traced, as the registry's own.
#[tonic::async_trait]
impl CaseRpcs for CaseService {
    async fn open_case(
        &self,
        request: Request<pb::OpenCaseRequest>,
    ) -> Result<Response<pb::OpenCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, OpenCase, open_case)
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, GetCase, get_case)
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, ListCases, list_cases)
    }

    async fn accept_case(
        &self,
        request: Request<pb::AcceptCaseRequest>,
    ) -> Result<Response<pb::AcceptCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, AcceptCase, case_step)
    }

    async fn refuse_case(
        &self,
        request: Request<pb::RefuseCaseRequest>,
    ) -> Result<Response<pb::RefuseCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, RefuseCase, case_step)
    }

    async fn request_supplement(
        &self,
        request: Request<pb::RequestSupplementRequest>,
    ) -> Result<Response<pb::RequestSupplementResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, RequestSupplement, case_step)
    }

    async fn receive_supplement(
        &self,
        request: Request<pb::ReceiveSupplementRequest>,
    ) -> Result<Response<pb::ReceiveSupplementResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, ReceiveSupplement, case_step)
    }

    async fn forward_case(
        &self,
        request: Request<pb::ForwardCaseRequest>,
    ) -> Result<Response<pb::ForwardCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, ForwardCase, case_step)
    }

    async fn assign_case(
        &self,
        request: Request<pb::AssignCaseRequest>,
    ) -> Result<Response<pb::AssignCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, AssignCase, case_step)
    }

    async fn withdraw_case(
        &self,
        request: Request<pb::WithdrawCaseRequest>,
    ) -> Result<Response<pb::WithdrawCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, WithdrawCase, case_step)
    }

    async fn decide_case(
        &self,
        request: Request<pb::DecideCaseRequest>,
    ) -> Result<Response<pb::DecideCaseResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, DecideCase, case_step)
    }

    async fn record_consultation(
        &self,
        request: Request<pb::RecordConsultationRequest>,
    ) -> Result<Response<pb::RecordConsultationResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, RecordConsultation, record_consultation)
    }

    async fn get_case_report(
        &self,
        request: Request<pb::GetCaseReportRequest>,
    ) -> Result<Response<pb::GetCaseReportResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, GetCaseReport, get_case_report)
    }
}
