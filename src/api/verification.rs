//! The VerificationService: public verification of a certificate (see
//! [`crate::domain::VerificationQuery`] for what it answers and why so little).
//!
//! Callers need no token, even on a server with an auth file: the gate admits them by
//! source address ([`crate::api::Gate::admit_public`]). The read goes through the read
//! pool like every other. Nothing identifying is logged: the request's fields stay out
//! of the span, and the answer is the same message whether the number, the name or the
//! identity number failed to match.

use tonic::{Request, Response, Status};

use crate::api::convert::WireEnum;
use crate::api::pb;
use crate::api::pb::verification_service_server::VerificationService as VerificationRpcs;
use crate::api::service::{traced, RegistryService};
use crate::auth::Rpc;
use crate::clock;
use crate::domain::{DomainError, Standing, VerificationQuery};

/// The VerificationService over the registry service's store, gate and metrics.
#[derive(Clone)]
pub struct VerificationService {
    registry: RegistryService,
}

impl VerificationService {
    pub fn new(registry: RegistryService) -> Self {
        Self { registry }
    }

    async fn verify(
        &self,
        request: pb::VerifyCertificateRequest,
    ) -> Result<pb::VerifyCertificateResponse, Status> {
        let pb::VerifyCertificateRequest {
            name,
            certificate_number,
            national_id,
        } = request;
        let query =
            VerificationQuery::parse(&name, &certificate_number, &national_id, clock::today())
                .map_err(DomainError::from)?;
        let standing = self
            .registry
            .reads
            .read(move |store| {
                let holder = store.find_by_certificate(&query.number)?;
                Ok(query.answer(holder.as_ref()))
            })
            .await?;
        Ok(standing.map_or_else(pb::VerifyCertificateResponse::default, answer))
    }
}

/// The answer for a certificate found: its standing and nothing else.
fn answer(standing: Standing) -> pb::VerifyCertificateResponse {
    let Standing {
        kind,
        status,
        registered_until,
        before_electronic_record,
    } = standing;
    pb::VerifyCertificateResponse {
        found: true,
        kind: kind.to_wire(),
        status: status.to_wire(),
        registration_valid_until: registered_until.map_or_else(String::new, |d| d.to_string()),
        certified_before_electronic_record: before_electronic_record,
    }
}

#[tonic::async_trait]
impl VerificationRpcs for VerificationService {
    async fn verify_certificate(
        &self,
        request: Request<pb::VerifyCertificateRequest>,
    ) -> Result<Response<pb::VerifyCertificateResponse>, Status> {
        let rpc = Rpc::VerifyCertificate;
        traced(&self.registry.metrics, rpc, request.remote_addr(), async {
            self.registry
                .gate
                .admit_public(rpc, request.remote_addr())?;
            self.verify(request.into_inner()).await
        })
        .await
    }
}
