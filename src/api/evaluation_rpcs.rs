//! The EvaluationService's RPCs, each admitted by the gate and traced as the registry's
//! own, then handed to its handler (in `evaluation`).

use tonic::{Request, Response, Status};

use crate::api::evaluation_batch::ConfirmStream;
use crate::api::gate::Held;
use crate::api::pb;
use crate::api::pb::evaluation_service_server::EvaluationService as EvaluationRpcs;
use crate::api::service::{rpc, rpc_stream, traced, RegistryService};
use crate::auth::Rpc;

/// The EvaluationService over the registry service's store, gate and metrics.
#[derive(Clone)]
pub struct EvaluationService {
    registry: RegistryService,
}

impl EvaluationService {
    pub fn new(registry: RegistryService) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl EvaluationRpcs for EvaluationService {
    async fn create_evaluation_round(
        &self,
        request: Request<pb::CreateEvaluationRoundRequest>,
    ) -> Result<Response<pb::CreateEvaluationRoundResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            CreateEvaluationRound,
            create_evaluation_round
        )
    }

    async fn get_evaluation_round(
        &self,
        request: Request<pb::GetEvaluationRoundRequest>,
    ) -> Result<Response<pb::GetEvaluationRoundResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, GetEvaluationRound, get_evaluation_round)
    }

    async fn record_ethics_finding(
        &self,
        request: Request<pb::RecordEthicsFindingRequest>,
    ) -> Result<Response<pb::RecordEthicsFindingResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            RecordEthicsFinding,
            record_ethics_finding
        )
    }

    async fn list_ethics_findings(
        &self,
        request: Request<pb::ListEthicsFindingsRequest>,
    ) -> Result<Response<pb::ListEthicsFindingsResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, ListEthicsFindings, list_ethics_findings)
    }

    async fn apply_for_title(
        &self,
        request: Request<pb::ApplyForTitleRequest>,
    ) -> Result<Response<pb::ApplyForTitleResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, ApplyForTitle, apply_for_title)
    }

    async fn get_title_application(
        &self,
        request: Request<pb::GetTitleApplicationRequest>,
    ) -> Result<Response<pb::GetTitleApplicationResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            GetTitleApplication,
            get_title_application
        )
    }

    async fn list_title_applications(
        &self,
        request: Request<pb::ListTitleApplicationsRequest>,
    ) -> Result<Response<pb::ListTitleApplicationsResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            ListTitleApplications,
            list_title_applications
        )
    }

    async fn open_publicity(
        &self,
        request: Request<pb::OpenPublicityRequest>,
    ) -> Result<Response<pb::OpenPublicityResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, OpenPublicity, open_publicity)
    }

    async fn record_objection(
        &self,
        request: Request<pb::RecordObjectionRequest>,
    ) -> Result<Response<pb::RecordObjectionResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, RecordObjection, application_step)
    }

    async fn handle_objection(
        &self,
        request: Request<pb::HandleObjectionRequest>,
    ) -> Result<Response<pb::HandleObjectionResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, HandleObjection, application_step)
    }

    async fn record_committee_results(
        &self,
        request: Request<pb::RecordCommitteeResultsRequest>,
    ) -> Result<Response<pb::RecordCommitteeResultsResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            RecordCommitteeResults,
            record_committee_results
        )
    }

    async fn close_title_application(
        &self,
        request: Request<pb::CloseTitleApplicationRequest>,
    ) -> Result<Response<pb::CloseTitleApplicationResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, CloseTitleApplication, application_step)
    }

    async fn check_eligibility(
        &self,
        request: Request<pb::CheckEligibilityRequest>,
    ) -> Result<Response<pb::CheckEligibilityResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, CheckEligibility, check_eligibility)
    }

    async fn get_round_statistics(
        &self,
        request: Request<pb::GetRoundStatisticsRequest>,
    ) -> Result<Response<pb::GetRoundStatisticsResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, GetRoundStatistics, get_round_statistics)
    }

    type ConfirmApplicationsStream = Held<ConfirmStream>;

    async fn confirm_applications(
        &self,
        request: Request<pb::ConfirmApplicationsRequest>,
    ) -> Result<Response<Self::ConfirmApplicationsStream>, Status> {
        let registry = &self.registry;
        rpc_stream!(registry, request, ConfirmApplications, confirm_applications)
    }
}
