//! The IdentityService's RPCs, each admitted by the gate and traced as the registry's
//! own, then handed to its handler (in `identity`).

use tonic::{Request, Response, Status};

use crate::api::pb;
use crate::api::pb::identity_service_server::IdentityService as IdentityRpcs;
use crate::api::service::{rpc, traced, RegistryService};
use crate::auth::Rpc;

/// The IdentityService over the registry service's store, gate and metrics.
#[derive(Clone)]
pub struct IdentityService {
    registry: RegistryService,
}

impl IdentityService {
    pub fn new(registry: RegistryService) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl IdentityRpcs for IdentityService {
    async fn propose_identity_correction(
        &self,
        request: Request<pb::ProposeIdentityCorrectionRequest>,
    ) -> Result<Response<pb::ProposeIdentityCorrectionResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            ProposeIdentityCorrection,
            propose_identity_correction
        )
    }

    async fn approve_identity_correction(
        &self,
        request: Request<pb::ApproveIdentityCorrectionRequest>,
    ) -> Result<Response<pb::ApproveIdentityCorrectionResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            ApproveIdentityCorrection,
            approve_identity_correction
        )
    }

    async fn reject_identity_correction(
        &self,
        request: Request<pb::RejectIdentityCorrectionRequest>,
    ) -> Result<Response<pb::RejectIdentityCorrectionResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            RejectIdentityCorrection,
            reject_identity_correction
        )
    }

    async fn get_identity_correction(
        &self,
        request: Request<pb::GetIdentityCorrectionRequest>,
    ) -> Result<Response<pb::GetIdentityCorrectionResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            GetIdentityCorrection,
            get_identity_correction
        )
    }

    async fn merge_teachers(
        &self,
        request: Request<pb::MergeTeachersRequest>,
    ) -> Result<Response<pb::MergeTeachersResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, MergeTeachers, merge_teachers)
    }

    async fn unmerge_teachers(
        &self,
        request: Request<pb::UnmergeTeachersRequest>,
    ) -> Result<Response<pb::UnmergeTeachersResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, UnmergeTeachers, unmerge_teachers)
    }
}
