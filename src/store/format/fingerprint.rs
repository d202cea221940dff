//! Request fingerprints (AIP-155): what a request id remembers of the request, to tell a
//! retry from a different request under the same id.
//!
//! The fingerprint is SHA-256 of the request as a storage-only protobuf message
//! ([`MutationRecord`]), not of any in-memory layout: a field added to a request later is
//! absent from the encoding while unset, so every request that does not use it keeps its
//! fingerprint across upgrades. Records of release 0.1 carry its own fingerprint, which
//! `v1::fingerprint` computes.

use prost::Message;
use sha2::{Digest, Sha256};

use super::codes::Coded;
use super::v2::{days, FieldsRecord};
use crate::domain::case::StepAction;
use crate::domain::{Choice, NewCertificate, Reissue, RevocationRequest, TitleChange};
use crate::store::cases::{CaseCommand, CaseStepRequest, DecisionEffect, NewConsultation};
use crate::store::mutation::{Mutation, Target, TeacherChange};

/// A request as fingerprinted: what the caller asked for, in a form that stays the same
/// when a new field is added and left unset.
#[derive(Clone, PartialEq, Message)]
struct MutationRecord {
    #[prost(message, optional, tag = "1")]
    create: Option<FieldsRecord>,
    #[prost(message, optional, tag = "2")]
    change: Option<ChangeRequestRecord>,
    #[prost(message, optional, tag = "3")]
    case: Option<CaseRequestRecord>,
    #[prost(message, optional, tag = "4")]
    consultation: Option<ConsultationRequestRecord>,
}

/// A consultation to record, as the caller gave it.
#[derive(Clone, PartialEq, Message)]
struct ConsultationRequestRecord {
    #[prost(int32, tag = "1")]
    on: i32,
    #[prost(string, tag = "2")]
    county_code: String,
    #[prost(string, tag = "3")]
    topic: String,
    #[prost(int32, tag = "4")]
    channel: i32,
}

/// The fingerprint of a consultation to record: SHA-256 of its [`MutationRecord`].
pub(super) fn consultation_fingerprint(new: &NewConsultation) -> [u8; 32] {
    let record = MutationRecord {
        consultation: Some(ConsultationRequestRecord {
            on: days(new.on),
            county_code: new.county_code.as_str().to_string(),
            topic: new.topic.clone(),
            channel: new.channel.number(),
        }),
        ..Default::default()
    };
    Sha256::digest(record.encode_to_vec()).into()
}

/// A case command: the step (as its stored action number), its common fields, and what
/// the step carries.
#[derive(Clone, PartialEq, Message)]
struct CaseRequestRecord {
    #[prost(int32, tag = "1")]
    action: i32,
    #[prost(string, optional, tag = "2")]
    case_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    expected_etag: Option<String>,
    #[prost(int32, optional, tag = "4")]
    on: Option<i32>,
    #[prost(string, tag = "5")]
    note: String,
    /// Missing items, materials, the reason, the opinion, the assignee, denial reasons.
    #[prost(string, repeated, tag = "6")]
    texts: Vec<String>,
    #[prost(message, optional, tag = "7")]
    open: Option<NewCaseRecord>,
    #[prost(int32, tag = "8")]
    outcome: i32,
    #[prost(int32, repeated, tag = "9")]
    registration_reasons: Vec<i32>,
    #[prost(int32, repeated, tag = "10")]
    review: Vec<i32>,
    #[prost(message, optional, tag = "11")]
    issue: Option<NewCertificateRecord>,
    #[prost(message, optional, tag = "12")]
    reissue: Option<ReissueRecord>,
}

#[derive(Clone, PartialEq, Message)]
struct NewCaseRecord {
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(string, tag = "2")]
    county_code: String,
    #[prost(string, optional, tag = "3")]
    teacher_id: Option<String>,
    #[prost(message, optional, tag = "4")]
    applicant: Option<FieldsRecord>,
    #[prost(string, tag = "5")]
    applicant_name: String,
    #[prost(int32, tag = "6")]
    certificate_kind: i32,
    #[prost(string, optional, tag = "7")]
    certificate_number: Option<String>,
    #[prost(string, repeated, tag = "8")]
    materials: Vec<String>,
    #[prost(int32, tag = "9")]
    received_on: i32,
}

#[derive(Clone, PartialEq, Message)]
struct ChangeRequestRecord {
    #[prost(string, optional, tag = "1")]
    teacher_id: Option<String>,
    #[prost(string, optional, tag = "2")]
    certificate_number: Option<String>,
    #[prost(string, optional, tag = "3")]
    expected_etag: Option<String>,
    #[prost(message, optional, tag = "4")]
    update: Option<UpdateRecord>,
    #[prost(message, optional, tag = "5")]
    issue: Option<NewCertificateRecord>,
    #[prost(message, optional, tag = "6")]
    reissue: Option<ReissueRecord>,
    #[prost(message, optional, tag = "7")]
    register: Option<RegisterRecord>,
    #[prost(message, optional, tag = "8")]
    revoke: Option<RevokeRecord>,
    #[prost(message, optional, tag = "9")]
    title: Option<TitleChangeRecord>,
    #[prost(message, optional, tag = "10")]
    transition: Option<TransitionRecord>,
    #[prost(message, optional, tag = "11")]
    lose: Option<LoseRecord>,
    #[prost(message, optional, tag = "12")]
    transfer: Option<TransferRequestRecord>,
}

/// A step of a transfer: 1 propose (to `county_code`, with `text` the reason), 2 accept
/// (`text` the school), 3 decline.
#[derive(Clone, PartialEq, Message)]
struct TransferRequestRecord {
    #[prost(int32, tag = "1")]
    step: i32,
    #[prost(string, tag = "2")]
    county_code: String,
    #[prost(string, tag = "3")]
    text: String,
}

/// An update's patch: enums as the caller sent them (0 unset, a stable number, or the
/// unknown number itself, which never equals a known one).
#[derive(Clone, PartialEq, Message)]
struct UpdateRecord {
    #[prost(int32, tag = "1")]
    id_document_type: i32,
    #[prost(string, tag = "2")]
    national_id: String,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(int32, tag = "4")]
    gender: i32,
    #[prost(string, tag = "5")]
    birth_date: String,
    #[prost(string, tag = "6")]
    county_code: String,
    #[prost(string, tag = "7")]
    school: String,
    #[prost(int32, tag = "8")]
    employment_status: i32,
    #[prost(int32, tag = "9")]
    legacy_title: i32,
    #[prost(bool, tag = "10")]
    legacy_title_limited_scope: bool,
    #[prost(int32, repeated, tag = "11")]
    mask: Vec<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct NewCertificateRecord {
    #[prost(string, tag = "1")]
    number: String,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(string, tag = "3")]
    subject: String,
    #[prost(string, tag = "4")]
    issuing_authority: String,
    #[prost(int32, tag = "5")]
    certified_on: i32,
    #[prost(int32, optional, tag = "6")]
    first_registration_on: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct ReissueRecord {
    #[prost(string, tag = "1")]
    number: String,
    #[prost(int32, tag = "2")]
    reason: i32,
    #[prost(string, tag = "3")]
    declaration_ref: String,
    #[prost(int32, optional, tag = "4")]
    issued_on: Option<i32>,
    #[prost(string, optional, tag = "5")]
    new_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct RegisterRecord {
    #[prost(string, tag = "1")]
    number: String,
    #[prost(int32, tag = "2")]
    registered_on: i32,
}

#[derive(Clone, PartialEq, Message)]
struct RevokeRecord {
    #[prost(string, tag = "1")]
    number: String,
    #[prost(string, tag = "2")]
    reason: String,
    #[prost(string, tag = "3")]
    approval_document: String,
    #[prost(int32, optional, tag = "4")]
    revoked_on: Option<i32>,
    /// Absent without a ground, so a request without one keeps the fingerprint it had
    /// before grounds were kept (and a request id remembered then still replays).
    #[prost(int32, optional, tag = "5")]
    ground: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct LoseRecord {
    #[prost(string, tag = "1")]
    number: String,
    #[prost(int32, tag = "2")]
    ground: i32,
    #[prost(string, tag = "3")]
    approval_document: String,
    #[prost(int32, tag = "4")]
    lost_on: i32,
    #[prost(string, tag = "5")]
    note: String,
}

#[derive(Clone, PartialEq, Message)]
struct TitleChangeRecord {
    #[prost(int32, tag = "1")]
    tier: i32,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(int32, tag = "3")]
    effective_date: i32,
    #[prost(string, tag = "4")]
    approval_document: String,
    #[prost(bool, tag = "5")]
    limited_scope: bool,
    #[prost(bool, tag = "6")]
    exceptional: bool,
    #[prost(string, tag = "7")]
    note: String,
}

#[derive(Clone, PartialEq, Message)]
struct TransitionRecord {
    #[prost(int32, tag = "1")]
    effective_date: i32,
    #[prost(string, tag = "2")]
    approval_document: String,
}

/// The fingerprint of a request: SHA-256 of its [`MutationRecord`]. `None` for an import
/// row: those are never replayed by request id (the import's own rules make retries safe).
pub(crate) fn fingerprint(mutation: &Mutation) -> Option<[u8; 32]> {
    let record = match mutation {
        Mutation::CreateTeacher { fields, .. } => MutationRecord {
            create: Some(FieldsRecord::of(fields)),
            change: None,
            case: None,
            consultation: None,
        },
        Mutation::ChangeTeacher {
            target,
            expected_etag,
            change,
        } => MutationRecord {
            create: None,
            change: Some(ChangeRequestRecord::of(target, expected_etag, change)),
            case: None,
            consultation: None,
        },
        Mutation::Import { .. } => return None,
    };
    Some(Sha256::digest(record.encode_to_vec()).into())
}

/// The fingerprint of a case command: SHA-256 of its [`MutationRecord`].
pub(super) fn case_fingerprint(command: &CaseCommand) -> [u8; 32] {
    let mut record = CaseRequestRecord::default();
    match command {
        CaseCommand::Open { new, note } => {
            record.action = StepAction::Opened.number();
            record.note = note.clone();
            record.open = Some(NewCaseRecord {
                kind: new.kind.number(),
                county_code: new.county_code.as_str().to_string(),
                teacher_id: new.teacher_id.as_ref().map(|id| id.as_str().to_string()),
                applicant: new.applicant.as_ref().map(FieldsRecord::of),
                applicant_name: new.applicant_name.clone(),
                certificate_kind: new.certificate_kind.map_or(0, Coded::number),
                certificate_number: new.certificate_number.clone(),
                materials: new.materials.clone(),
                received_on: days(new.received_on),
            });
        }
        CaseCommand::Step {
            case_id,
            expected_etag,
            on,
            note,
            step,
        } => {
            record.case_id = Some(case_id.as_str().to_string());
            record.expected_etag = expected_etag.clone();
            record.on = on.map(days);
            record.note = note.clone();
            let (action, texts) = match step {
                CaseStepRequest::Accept => (StepAction::Accepted, vec![]),
                CaseStepRequest::Refuse { reason } => (StepAction::Refused, vec![reason.clone()]),
                CaseStepRequest::RequestSupplement { missing } => {
                    (StepAction::SupplementRequested, missing.clone())
                }
                CaseStepRequest::ReceiveSupplement { materials } => {
                    (StepAction::SupplementReceived, materials.clone())
                }
                CaseStepRequest::Forward { opinion } => {
                    (StepAction::Forwarded, vec![opinion.clone()])
                }
                CaseStepRequest::Assign { assignee } => {
                    (StepAction::Assigned, vec![assignee.clone()])
                }
                CaseStepRequest::Withdraw => (StepAction::Withdrawn, vec![]),
                CaseStepRequest::Decide { decision, effect } => {
                    record.outcome = decision.outcome.number();
                    record.registration_reasons = decision
                        .registration_reasons
                        .iter()
                        .map(|r| r.number())
                        .collect();
                    record.review = decision.review.iter().map(|r| r.number()).collect();
                    match effect {
                        Some(DecisionEffect::Certify(new)) => {
                            record.issue = Some(new_certificate(new))
                        }
                        Some(DecisionEffect::Reissue(reissue)) => {
                            record.reissue = Some(reissue_record("", reissue))
                        }
                        None => {}
                    }
                    (StepAction::Decided, decision.reasons.clone())
                }
            };
            record.action = action.number();
            record.texts = texts;
        }
    }
    let record = MutationRecord {
        case: Some(record),
        ..Default::default()
    };
    Sha256::digest(record.encode_to_vec()).into()
}

impl ChangeRequestRecord {
    fn of(target: &Target, expected_etag: &Option<String>, change: &TeacherChange) -> Self {
        let mut record = ChangeRequestRecord {
            expected_etag: expected_etag.clone(),
            ..Default::default()
        };
        match target {
            Target::Teacher(id) => record.teacher_id = Some(id.as_str().to_string()),
            Target::Certificate(number) => record.certificate_number = Some(number.clone()),
        }
        match change {
            TeacherChange::Update { patch, mask } => {
                record.update = Some(UpdateRecord {
                    id_document_type: choice(patch.id_document_type),
                    national_id: patch.national_id.clone(),
                    name: patch.name.clone(),
                    gender: choice(patch.gender),
                    birth_date: patch.birth_date.clone(),
                    county_code: patch.county_code.clone(),
                    school: patch.school.clone(),
                    employment_status: choice(patch.employment_status),
                    legacy_title: choice(patch.legacy_title),
                    legacy_title_limited_scope: patch.legacy_title_limited_scope,
                    mask: mask.iter().map(|field| field.number()).collect(),
                })
            }
            TeacherChange::IssueCertificate(new) => record.issue = Some(new_certificate(new)),
            TeacherChange::ReissueCertificate { number, reissue } => {
                record.reissue = Some(reissue_record(number, reissue))
            }
            TeacherChange::RegisterCertificate {
                number,
                registered_on,
            } => {
                record.register = Some(RegisterRecord {
                    number: number.clone(),
                    registered_on: days(*registered_on),
                })
            }
            TeacherChange::RevokeCertificate { number, request } => {
                record.revoke = Some(revoke_record(number, request))
            }
            TeacherChange::LoseQualification { number, loss } => {
                record.lose = Some(LoseRecord {
                    number: number.clone(),
                    ground: loss.ground.number(),
                    approval_document: loss.approval_document.clone(),
                    lost_on: days(loss.lost_on),
                    note: loss.note.clone(),
                })
            }
            TeacherChange::ChangeTitle(change) => record.title = Some(title_change(change)),
            TeacherChange::ReformTransition {
                effective_date,
                approval_document,
            } => {
                record.transition = Some(TransitionRecord {
                    effective_date: days(*effective_date),
                    approval_document: approval_document.clone(),
                })
            }
            TeacherChange::ProposeTransfer(proposal) => {
                record.transfer = Some(TransferRequestRecord {
                    step: 1,
                    county_code: proposal.to_county.as_str().to_string(),
                    text: proposal.reason.clone(),
                })
            }
            TeacherChange::AcceptTransfer { school } => {
                record.transfer = Some(TransferRequestRecord {
                    step: 2,
                    county_code: String::new(),
                    text: school.clone(),
                })
            }
            TeacherChange::DeclineTransfer => {
                record.transfer = Some(TransferRequestRecord {
                    step: 3,
                    county_code: String::new(),
                    text: String::new(),
                })
            }
        }
        record
    }
}

fn new_certificate(new: &NewCertificate) -> NewCertificateRecord {
    NewCertificateRecord {
        number: new.number.clone(),
        kind: new.kind.number(),
        subject: new.subject.clone(),
        issuing_authority: new.issuing_authority.clone(),
        certified_on: days(new.certified_on),
        first_registration_on: new.first_registration_on.map(days),
    }
}

fn reissue_record(number: &str, reissue: &Reissue) -> ReissueRecord {
    ReissueRecord {
        number: number.to_string(),
        reason: reissue.reason.number(),
        declaration_ref: reissue.declaration_ref.clone(),
        issued_on: reissue.issued_on.map(days),
        new_name: reissue.new_name.clone(),
    }
}

fn revoke_record(number: &str, request: &RevocationRequest) -> RevokeRecord {
    RevokeRecord {
        number: number.to_string(),
        reason: request.reason.clone(),
        approval_document: request.approval_document.clone(),
        revoked_on: request.revoked_on.map(days),
        ground: request.ground.map(Coded::number),
    }
}

fn title_change(change: &TitleChange) -> TitleChangeRecord {
    TitleChangeRecord {
        tier: change.tier.map_or(0, Coded::number),
        kind: change.kind.number(),
        effective_date: days(change.effective_date),
        approval_document: change.approval_document.clone(),
        limited_scope: change.limited_scope,
        exceptional: change.exceptional,
        note: change.note.clone(),
    }
}

fn choice<T: Coded>(value: Choice<T>) -> i32 {
    match value {
        Choice::Unset => 0,
        Choice::Known(known) => known.number(),
        Choice::Unknown(number) => number,
    }
}

#[cfg(test)]
#[path = "fingerprint_tests.rs"]
mod tests;
