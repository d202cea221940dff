//! Handlers of transfers between counties with two sides: ProposeTransfer (the teacher's
//! county), AcceptTransfer and DeclineTransfer (the receiving county), ListTransfers. The
//! rules, and who may answer, are the domain's and the write path's (`domain::transfer`,
//! `store::mutation`); here requests are checked and converted.

use tonic::Status;

use crate::api::convert::present;
use crate::api::pb;
use crate::api::service::{
    asked_county, audit_no_op, optional_etag, write_context, RegistryService, Violations,
};
use crate::auth::{Principal, Rpc};
use crate::domain::{
    parse_receiving_school, DomainError, FieldViolation, TeacherId, TransferProposal,
};
use crate::store::{CountyTransfers, Target, TeacherChange};

impl RegistryService {
    pub(super) async fn propose_transfer(
        &self,
        principal: &Principal,
        request: pb::ProposeTransferRequest,
    ) -> Result<pb::ProposeTransferResponse, Status> {
        let pb::ProposeTransferRequest {
            teacher_id,
            to_county_code,
            reason,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let (request_id, id) = violations.take_teacher_write(&request_id, &teacher_id);
        let proposal = violations
            .take_all(TransferProposal::parse(&to_county_code, &reason).map_err(field_violations));
        let (request_id, id, proposal) =
            violations.finish(|| Some((request_id?, id?, proposal?)))?;
        let teacher = self
            .transfer_step(
                Rpc::ProposeTransfer,
                principal,
                id,
                etag,
                TeacherChange::ProposeTransfer(proposal),
                request_id,
            )
            .await?;
        Ok(pb::ProposeTransferResponse {
            teacher: Some(teacher),
        })
    }

    pub(super) async fn accept_transfer(
        &self,
        principal: &Principal,
        request: pb::AcceptTransferRequest,
    ) -> Result<pb::AcceptTransferResponse, Status> {
        let pb::AcceptTransferRequest {
            teacher_id,
            school,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let (request_id, id) = violations.take_teacher_write(&request_id, &teacher_id);
        let school = violations.take_all(parse_receiving_school(&school).map_err(field_violations));
        let (request_id, id, school) = violations.finish(|| Some((request_id?, id?, school?)))?;
        let teacher = self
            .transfer_step(
                Rpc::AcceptTransfer,
                principal,
                id,
                etag,
                TeacherChange::AcceptTransfer { school },
                request_id,
            )
            .await?;
        Ok(pb::AcceptTransferResponse {
            teacher: Some(teacher),
        })
    }

    pub(super) async fn decline_transfer(
        &self,
        principal: &Principal,
        request: pb::DeclineTransferRequest,
    ) -> Result<pb::DeclineTransferResponse, Status> {
        let pb::DeclineTransferRequest {
            teacher_id,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let (request_id, id) = violations.take_teacher_write(&request_id, &teacher_id);
        let (request_id, id) = violations.finish(|| Some((request_id?, id?)))?;
        let teacher = self
            .transfer_step(
                Rpc::DeclineTransfer,
                principal,
                id,
                etag,
                TeacherChange::DeclineTransfer,
                request_id,
            )
            .await?;
        Ok(pb::DeclineTransferResponse {
            teacher: Some(teacher),
        })
    }

    pub(super) async fn list_transfers(
        &self,
        principal: &Principal,
        request: pb::ListTransfersRequest,
    ) -> Result<pb::ListTransfersResponse, Status> {
        let pb::ListTransfersRequest { county_code } = request;
        let Some(county) = asked_county(principal, &county_code)? else {
            return Err(DomainError::invalid("county_code", "is required").into());
        };
        let CountyTransfers { outgoing, incoming } = self
            .reads
            .read(move |store| store.pending_transfers(&county))
            .await?;
        let shown = |teachers: Vec<_>| {
            teachers
                .into_iter()
                .map(|t| present(principal, t))
                .collect()
        };
        Ok(pb::ListTransfersResponse {
            outgoing: shown(outgoing),
            incoming: shown(incoming),
        })
    }

    async fn transfer_step(
        &self,
        rpc: Rpc,
        principal: &Principal,
        id: TeacherId,
        etag: String,
        change: TeacherChange,
        request_id: Option<String>,
    ) -> Result<pb::Teacher, Status> {
        let outcome = self
            .store
            .change_teacher(
                Target::Teacher(id),
                optional_etag(etag),
                change,
                write_context(principal, request_id),
            )
            .await?;
        audit_no_op(&self.audit, principal, rpc, &outcome);
        Ok(present(principal, outcome.teacher))
    }
}

/// A refusal's field violations (a single non-field refusal as one on no field).
fn field_violations(error: DomainError) -> Vec<FieldViolation> {
    match error {
        DomainError::Invalid { violations } => violations,
        other => vec![FieldViolation::new("", other.to_string())],
    }
}
