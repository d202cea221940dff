//! Handlers of the certificate lifecycle RPCs: issue, reissue or replace, register, revoke,
//! and the loss of qualification.

use tonic::Status;

use crate::api::convert::{certificate_input, present, WireEnum};
use crate::api::pb;
use crate::api::service::{
    audit_no_op, collect, log_warnings, optional_etag, parse_request_id, parse_teacher_id,
    write_context, RegistryService,
};
use crate::auth::{Principal, Rpc};
use crate::clock;
use crate::domain::{
    parse_certificate_number, past_date, DomainError, FieldViolation, LossGround,
    QualificationLoss, Reissue, ReissueReason, RevocationRequest,
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
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let id = collect(&mut violations, parse_teacher_id("teacher_id", &teacher_id));
        let new = match certificate {
            None => {
                violations.push(FieldViolation::new("certificate", "is required"));
                None
            }
            Some(certificate) => {
                match certificate_input(certificate, first_registration_on).validate(clock::today())
                {
                    Ok(new) => Some(new),
                    Err(bad) => {
                        violations.extend(bad);
                        None
                    }
                }
            }
        };
        let (Some(request_id), Some(id), Some(new)) = (request_id, id, new) else {
            return Err(DomainError::from(violations).into());
        };
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
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let number = collect(&mut violations, certificate_number_of(&certificate_number));
        let reissue = Reissue::parse(
            ReissueReason::from_wire(reason),
            &declaration_ref,
            &issued_on,
            &new_name,
            today,
        )
        .map_err(|bad| violations.extend(bad))
        .ok();
        let (Some(request_id), Some(number), Some(reissue)) = (request_id, number, reissue) else {
            return Err(DomainError::from(violations).into());
        };
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
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let number = collect(&mut violations, certificate_number_of(&certificate_number));
        let registered_on = collect(
            &mut violations,
            past_date(&registered_on, clock::today())
                .map_err(|e| FieldViolation::new("registered_on", e)),
        );
        let (Some(request_id), Some(number), Some(registered_on)) =
            (request_id, number, registered_on)
        else {
            return Err(DomainError::from(violations).into());
        };
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
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let number = collect(&mut violations, certificate_number_of(&certificate_number));
        let revocation =
            RevocationRequest::parse(&reason, &approval_document, &revoked_on, clock::today())
                .map_err(|bad| violations.extend(bad))
                .ok();
        let (Some(request_id), Some(number), Some(request)) = (request_id, number, revocation)
        else {
            return Err(DomainError::from(violations).into());
        };
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
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let number = collect(&mut violations, certificate_number_of(&certificate_number));
        let loss = QualificationLoss::parse(
            LossGround::from_wire(ground),
            &approval_document,
            &lost_on,
            &note,
            clock::today(),
        )
        .map_err(|bad| violations.extend(bad))
        .ok();
        let (Some(request_id), Some(number), Some(loss)) = (request_id, number, loss) else {
            return Err(DomainError::from(violations).into());
        };
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
