//! Handlers of the certificate lifecycle RPCs: issue, reissue or replace, register, revoke,
//! and the loss of qualification.

use tonic::Status;

use crate::api::certificate_convert::certificate_input;
use crate::api::convert::{present, WireEnum};
use crate::api::pb;
use crate::api::service::{
    audit_no_op, log_warnings, optional_etag, parse_request_id, write_context, RegistryService,
    Violations,
};
use crate::auth::{Principal, Rpc};
use crate::clock;
use crate::domain::{
    parse_certificate_number, past_date, FieldViolation, LossGround, QualificationLoss, Reissue,
    ReissueReason, RevocationGround, RevocationRequest,
};
use crate::store::{Target, TeacherChange};

/// A handler of a change of one certificate (ReissueCertificate, RegisterCertificate,
/// RevokeCertificate, LoseQualification): the request destructured whole, so a field added
/// to the proto breaks the build here until it is handled; `$parse` reads the request's own
/// fields (recording a bad one in `$violations`) and `$change` makes the store's change of
/// the certificate number and what `$parse` read (see `change_certificate`);
/// the answer is the teacher after it. A macro because the four differ only in these names
/// and expressions.
macro_rules! certificate_change {
    (
        $handler:ident($request:ident { $($own:ident),* }) -> $response:ident,
        $rpc:ident,
        |$violations:ident| $parse:expr,
        |$number:ident, $fields:ident| $change:expr
    ) => {
        pub(super) async fn $handler(
            &self,
            principal: &Principal,
            request: pb::$request,
        ) -> Result<pb::$response, Status> {
            let pb::$request {
                $($own,)*
                certificate_number,
                etag,
                request_id,
            } = request;
            let request = CertificateRequest {
                rpc: Rpc::$rpc,
                certificate_number: &certificate_number,
                etag,
                request_id: &request_id,
            };
            let teacher = self
                .change_certificate(
                    principal,
                    request,
                    |$violations| $parse,
                    |$number, $fields| $change,
                )
                .await?;
            Ok(pb::$response {
                teacher: Some(teacher),
            })
        }
    };
}

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
        let (request_id, id) = violations.take_teacher_write(&request_id, &teacher_id);
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

    certificate_change!(
        reissue(ReissueCertificateRequest {
            reason,
            declaration_ref,
            issued_on,
            new_name
        }) -> ReissueCertificateResponse,
        ReissueCertificate,
        |violations| violations.take_all(Reissue::parse(
            ReissueReason::from_wire(reason),
            &declaration_ref,
            &issued_on,
            &new_name,
            clock::today(),
        )),
        |number, reissue| TeacherChange::ReissueCertificate { number, reissue }
    );

    certificate_change!(
        register(RegisterCertificateRequest { registered_on }) -> RegisterCertificateResponse,
        RegisterCertificate,
        |violations| violations.take(
            past_date(&registered_on, clock::today())
                .map_err(|e| FieldViolation::new("registered_on", e)),
        ),
        |number, registered_on| TeacherChange::RegisterCertificate {
            number,
            registered_on,
        }
    );

    certificate_change!(
        revoke(RevokeCertificateRequest {
            reason,
            approval_document,
            revoked_on,
            ground
        }) -> RevokeCertificateResponse,
        RevokeCertificate,
        |violations| violations.take_all(RevocationRequest::parse(
            RevocationGround::from_wire(ground),
            &reason,
            &approval_document,
            &revoked_on,
            clock::today(),
        )),
        |number, request| TeacherChange::RevokeCertificate { number, request }
    );

    certificate_change!(
        lose_qualification(LoseQualificationRequest {
            ground,
            approval_document,
            lost_on,
            note
        }) -> LoseQualificationResponse,
        LoseQualification,
        |violations| violations.take_all(QualificationLoss::parse(
            LossGround::from_wire(ground),
            &approval_document,
            &lost_on,
            &note,
            clock::today(),
        )),
        |number, loss| TeacherChange::LoseQualification { number, loss }
    );

    /// Validates a request naming a certificate: its request id, the certificate number
    /// and then its own fields (`parse`), every violation reported at once; sends the
    /// change `change` makes of the number and the fields, and returns the teacher after it.
    async fn change_certificate<T>(
        &self,
        principal: &Principal,
        request: CertificateRequest<'_>,
        parse: impl FnOnce(&mut Violations) -> Option<T>,
        change: impl FnOnce(String, T) -> TeacherChange,
    ) -> Result<pb::Teacher, Status> {
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(request.request_id));
        let number = violations.take(certificate_number_of(request.certificate_number));
        let fields = parse(&mut violations);
        let (request_id, number, fields) =
            violations.finish(|| Some((request_id?, number?, fields?)))?;
        let outcome = self
            .store
            .change_teacher(
                Target::Certificate(number.clone()),
                optional_etag(request.etag),
                change(number, fields),
                write_context(principal, request_id),
            )
            .await?;
        audit_no_op(&self.audit, principal, request.rpc, &outcome);
        Ok(present(principal, outcome.teacher))
    }
}

/// What every request about one certificate carries besides its own fields.
struct CertificateRequest<'a> {
    rpc: Rpc,
    certificate_number: &'a str,
    etag: String,
    request_id: &'a str,
}

fn certificate_number_of(raw: &str) -> Result<String, FieldViolation> {
    parse_certificate_number(raw, clock::today())
        .map_err(|e| FieldViolation::new("certificate_number", e))
}
