//! The IdentityService's handlers: identity corrections proposed, reviewed and read
//! (see [`crate::domain::correction`]). Extract, convert (every bad field at once), call
//! the store, convert back.

use tonic::Status;

use crate::api::convert::{present, timestamp, WireEnum};
use crate::api::evaluation_convert::parse_id;
use crate::api::pb;
use crate::api::service::{
    may_see, optional_etag, parse_request_id, parse_teacher_id, write_context, RegistryService,
    Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::{
    Choice, CorrectionState, DomainError, FieldViolation, IdDocumentType, IdentityCorrection,
    IdentityDocument, NewCorrection,
};
use crate::store::{IdentityAnswer, IdentityCommand};

impl RegistryService {
    pub(super) async fn propose_identity_correction(
        &self,
        principal: &Principal,
        request: pb::ProposeIdentityCorrectionRequest,
    ) -> Result<pb::ProposeIdentityCorrectionResponse, Status> {
        let pb::ProposeIdentityCorrectionRequest {
            teacher_id,
            id_document_type,
            national_id,
            reason,
            evidence_ref,
            request_id,
        } = request;
        let mut violations = Violations::default();
        violations.extend(NewCorrection::check_texts(&reason, &evidence_ref));
        let teacher_id = violations.take(parse_teacher_id("teacher_id", &teacher_id));
        let request_id = violations.take(parse_request_id(&request_id));
        let identity = match IdDocumentType::from_wire(id_document_type) {
            Choice::Known(doc_type) => violations.take(
                IdentityDocument::parse(doc_type, &national_id, clock::today())
                    .map_err(|e| FieldViolation::new("national_id", e)),
            ),
            Choice::Unset => {
                violations.push(FieldViolation::new("id_document_type", "is required"));
                None
            }
            Choice::Unknown(n) => {
                violations.push(FieldViolation::new(
                    "id_document_type",
                    format!("unknown value {n}"),
                ));
                None
            }
        };
        let (teacher_id, identity, request_id) =
            violations.finish(|| Some((teacher_id?, identity?, request_id?)))?;
        let new = NewCorrection {
            teacher_id,
            identity,
            reason: reason.trim().to_string(),
            evidence_ref: evidence_ref.trim().to_string(),
        };
        let answer = self
            .store
            .identity_command(
                IdentityCommand::Propose(new),
                write_context(principal, request_id),
            )
            .await?;
        let (correction, _) = correction_answer(principal, answer)?;
        Ok(pb::ProposeIdentityCorrectionResponse {
            correction: Some(correction),
        })
    }

    pub(super) async fn approve_identity_correction(
        &self,
        principal: &Principal,
        request: pb::ApproveIdentityCorrectionRequest,
    ) -> Result<pb::ApproveIdentityCorrectionResponse, Status> {
        let pb::ApproveIdentityCorrectionRequest {
            correction_id,
            etag,
            note,
            request_id,
        } = request;
        let (correction, teacher) = self
            .review(principal, true, correction_id, etag, note, request_id)
            .await?;
        Ok(pb::ApproveIdentityCorrectionResponse {
            correction: Some(correction),
            teacher,
        })
    }

    pub(super) async fn reject_identity_correction(
        &self,
        principal: &Principal,
        request: pb::RejectIdentityCorrectionRequest,
    ) -> Result<pb::RejectIdentityCorrectionResponse, Status> {
        let pb::RejectIdentityCorrectionRequest {
            correction_id,
            etag,
            note,
            request_id,
        } = request;
        let (correction, _) = self
            .review(principal, false, correction_id, etag, note, request_id)
            .await?;
        Ok(pb::RejectIdentityCorrectionResponse {
            correction: Some(correction),
        })
    }

    pub(super) async fn get_identity_correction(
        &self,
        principal: &Principal,
        request: pb::GetIdentityCorrectionRequest,
    ) -> Result<pb::GetIdentityCorrectionResponse, Status> {
        let id = parse_id("correction_id", &request.correction_id).map_err(DomainError::from)?;
        let viewer = principal.clone();
        let found = self
            .reads
            .read(move |store| {
                let Some(correction) = store.get_correction(&id)? else {
                    return Ok(None);
                };
                // County staff see their county's: the teacher's county now.
                let visible = store
                    .get_teacher(&correction.teacher_id)?
                    .is_some_and(|t| may_see(&viewer, &t.fields.county_code));
                Ok(visible.then_some(correction))
            })
            .await?;
        let correction = found.ok_or(DomainError::NotFound {
            what: "identity correction",
        })?;
        Ok(pb::GetIdentityCorrectionResponse {
            correction: Some(correction_message(principal, correction)),
        })
    }

    async fn review(
        &self,
        principal: &Principal,
        approve: bool,
        correction_id: String,
        etag: String,
        note: String,
        request_id: String,
    ) -> Result<(pb::IdentityCorrection, Option<pb::Teacher>), Status> {
        let mut violations = Violations::default();
        let correction_id = violations.take(parse_id("correction_id", &correction_id));
        let request_id = violations.take(parse_request_id(&request_id));
        let (correction_id, request_id) =
            violations.finish(|| Some((correction_id?, request_id?)))?;
        let answer = self
            .store
            .identity_command(
                IdentityCommand::Review {
                    correction_id,
                    approve,
                    expected_etag: optional_etag(etag),
                    note,
                },
                write_context(principal, request_id),
            )
            .await?;
        correction_answer(principal, answer)
    }
}

fn correction_answer(
    principal: &Principal,
    answer: IdentityAnswer,
) -> Result<(pb::IdentityCorrection, Option<pb::Teacher>), Status> {
    let IdentityAnswer::Correction {
        correction,
        teacher,
    } = answer
    else {
        return Err(Status::internal(
            "a correction step answered something else",
        ));
    };
    Ok((
        correction_message(principal, correction),
        teacher.map(|t| present(principal, t)),
    ))
}

/// A correction as a message; numbers concealed for masked roles.
fn correction_message(
    principal: &Principal,
    correction: IdentityCorrection,
) -> pb::IdentityCorrection {
    let masked = principal.sees_masked_identities();
    let shown = |doc: &IdentityDocument| match masked {
        true => doc.concealed(),
        false => doc.number().to_string(),
    };
    pb::IdentityCorrection {
        correction_id: correction.id.to_string(),
        teacher_id: correction.teacher_id.to_string(),
        previous_id_document_type: correction.previous.doc_type().to_wire(),
        previous_national_id: shown(&correction.previous),
        id_document_type: correction.proposed.doc_type().to_wire(),
        national_id: shown(&correction.proposed),
        reason: correction.reason.clone(),
        evidence_ref: correction.evidence_ref.clone(),
        state: match correction.state {
            CorrectionState::Pending => pb::CorrectionState::Pending,
            CorrectionState::Approved => pb::CorrectionState::Approved,
            CorrectionState::Rejected => pb::CorrectionState::Rejected,
        } as i32,
        proposed_by: correction.proposed_by.clone(),
        propose_time: Some(timestamp(correction.propose_time)),
        reviewed_by: correction.reviewed_by.clone(),
        review_time: correction.review_time.map(timestamp),
        review_note: correction.review_note.clone(),
        etag: correction.etag(),
    }
}
