//! Handlers of the certificate lifecycle RPCs: issue, reissue or replace, register, revoke,
//! and the loss of qualification.

use tonic::Status;

use crate::api::certificate_convert::certificate_input;
use crate::api::convert::{present, WireEnum};
use crate::api::pb;
use crate::api::service::{
    audit_no_op, log_warnings, optional_etag, parse_request_id, parse_teacher_id, write_context,
    RegistryService, Violations,
};
use crate::auth::{Principal, Rpc};
use crate::clock;
use crate::domain::{
    parse_certificate_number, past_date, FieldViolation, LossGround, QualificationLoss, Reissue,
    ReissueReason, RevocationRequest,
};
use crate::store::{Target, TeacherChange};

impl RegistryService {
    pub(super) async fn issue(
        &self,
        principal: &Principal,
        request: pb::IssueCertificateRequest,
    ) -> Result<pb::IssueCertificateResponse, Status> {
        let pb::IssueCertificateRequest {
            teacher_id,
            certificate,
            first_registration_on,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let id = violations.take(parse_teacher_id("teacher_id", &teacher_id));
        let new = match certificate {
            None => {
                violations.push(FieldViolation::new("certificate", "is required"));
                None
            }
            Some(certificate) => violations.take_all(
                certificate_input(certificate, first_registration_on).validate(clock::today()),
            ),
        };
        let (request_id, id, new) = violations.finish(|| Some((request_id?, id?, new?)))?;
        let outcome = self
            .store
            .change_teacher(
                Target::Teacher(id),
                optional_etag(etag),
                TeacherChange::IssueCertificate(new),
                write_context(principal, request_id),
            )
            .await?;
        audit_no_op(&self.audit, principal, Rpc::IssueCertificate, &outcome);
        log_warnings(&outcome.teacher, &outcome.warnings);
        Ok(pb::IssueCertificateResponse {
            warnings: outcome.warnings,
            teacher: Some(present(principal, outcome.teacher)),
        })
    }

    pub(super) async fn reissue(
        &self,
        principal: &Principal,
        request: pb::ReissueCertificateRequest,
    ) -> Result<pb::ReissueCertificateResponse, Status> {
        let pb::ReissueCertificateRequest {
            certificate_number,
            reason,
            declaration_ref,
            issued_on,
            new_name,
            etag,
            request_id,
        } = request;
        let today = clock::today();
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let number = violations.take(certificate_number_of(&certificate_number));
        let reissue = violations.take_all(Reissue::parse(
            ReissueReason::from_wire(reason),
            &declaration_ref,
            &issued_on,
            &new_name,
            today,
        ));
        let (request_id, number, reissue) =
            violations.finish(|| Some((request_id?, number?, reissue?)))?;
        let change = TeacherChange::ReissueCertificate {
            number: number.clone(),
            reissue,
        };
        let teacher = self
            .change(
                Rpc::ReissueCertificate,
                principal,
                Target::Certificate(number),
                etag,
                change,
                request_id,
            )
            .await?;
        Ok(pb::ReissueCertificateResponse {
            teacher: Some(teacher),
        })
    }

    pub(super) async fn register(
        &self,
        principal: &Principal,
        request: pb::RegisterCertificateRequest,
    ) -> Result<pb::RegisterCertificateResponse, Status> {
        let pb::RegisterCertificateRequest {
            certificate_number,
            registered_on,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let number = violations.take(certificate_number_of(&certificate_number));
        let registered_on = violations.take(
            past_date(&registered_on, clock::today())
                .map_err(|e| FieldViolation::new("registered_on", e)),
        );
        let (request_id, number, registered_on) =
            violations.finish(|| Some((request_id?, number?, registered_on?)))?;
        let change = TeacherChange::RegisterCertificate {
            number: number.clone(),
            registered_on,
        };
        let teacher = self
            .change(
                Rpc::RegisterCertificate,
                principal,
                Target::Certificate(number),
                etag,
                change,
                request_id,
            )
            .await?;
        Ok(pb::RegisterCertificateResponse {
            teacher: Some(teacher),
        })
    }

    pub(super) async fn revoke(
        &self,
        principal: &Principal,
        request: pb::RevokeCertificateRequest,
    ) -> Result<pb::RevokeCertificateResponse, Status> {
        let pb::RevokeCertificateRequest {
            certificate_number,
            reason,
            approval_document,
            revoked_on,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let number = violations.take(certificate_number_of(&certificate_number));
        let revocation = violations.take_all(RevocationRequest::parse(
            &reason,
            &approval_document,
            &revoked_on,
            clock::today(),
        ));
        let (request_id, number, request) =
            violations.finish(|| Some((request_id?, number?, revocation?)))?;
        let change = TeacherChange::RevokeCertificate {
            number: number.clone(),
            request,
        };
        let teacher = self
            .change(
                Rpc::RevokeCertificate,
                principal,
                Target::Certificate(number),
                etag,
                change,
                request_id,
            )
            .await?;
        Ok(pb::RevokeCertificateResponse {
            teacher: Some(teacher),
        })
    }

    pub(super) async fn lose_qualification(
        &self,
        principal: &Principal,
        request: pb::LoseQualificationRequest,
    ) -> Result<pb::LoseQualificationResponse, Status> {
        let pb::LoseQualificationRequest {
            certificate_number,
            ground,
            approval_document,
            lost_on,
            note,
            etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let number = violations.take(certificate_number_of(&certificate_number));
        let loss = violations.take_all(QualificationLoss::parse(
            LossGround::from_wire(ground),
            &approval_document,
            &lost_on,
            &note,
            clock::today(),
        ));
        let (request_id, number, loss) =
            violations.finish(|| Some((request_id?, number?, loss?)))?;
        let change = TeacherChange::LoseQualification {
            number: number.clone(),
            loss,
        };
        let teacher = self
            .change(
                Rpc::LoseQualification,
                principal,
                Target::Certificate(number),
                etag,
                change,
                request_id,
            )
            .await?;
        Ok(pb::LoseQualificationResponse {
            teacher: Some(teacher),
        })
    }

    /// Sends a validated change to the store and returns the teacher after it.
    async fn change(
        &self,
        rpc: Rpc,
        principal: &Principal,
        target: Target,
        etag: String,
        change: TeacherChange,
        request_id: Option<String>,
    ) -> Result<pb::Teacher, Status> {
        let outcome = self
            .store
            .change_teacher(
                target,
                optional_etag(etag),
                change,
                write_context(principal, request_id),
            )
            .await?;
        audit_no_op(&self.audit, principal, rpc, &outcome);
        Ok(present(principal, outcome.teacher))
    }
}

fn certificate_number_of(raw: &str) -> Result<String, FieldViolation> {
    parse_certificate_number(raw, clock::today())
        .map_err(|e| FieldViolation::new("certificate_number", e))
}
