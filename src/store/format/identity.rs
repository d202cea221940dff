//! Format 2 messages of the identity operations (see [`crate::store::identity`]):
//! corrections, the first answers of their requests, and each request's fingerprint.
//! New stored types, so every field is as first written; they evolve by the rules of
//! [`super::v2`].

use prost::Message;
use sha2::{Digest, Sha256};

use super::codes::Coded;
use super::v2::{known, registry_number, TeacherRecord};
use crate::domain::case::CaseId;
use crate::domain::duplicates::{CandidatePair, Dismissal};
use crate::domain::{IdentityCorrection, IdentityDocument, UnixMicros};
use crate::store::identity::{IdentityAnswer, IdentityCommand};

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DocumentRecord {
    #[prost(int32, tag = "1")]
    id_document_type: i32,
    #[prost(string, tag = "2")]
    national_id: String,
}

impl DocumentRecord {
    pub(crate) fn of(document: &IdentityDocument) -> Self {
        DocumentRecord {
            id_document_type: document.doc_type().number(),
            national_id: document.number().to_string(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<IdentityDocument, String> {
        Ok(IdentityDocument::from_stored(
            known(self.id_document_type, "document type")?,
            self.national_id,
        ))
    }
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct CorrectionRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    teacher_id: String,
    #[prost(message, optional, tag = "3")]
    previous: Option<DocumentRecord>,
    #[prost(message, optional, tag = "4")]
    proposed: Option<DocumentRecord>,
    #[prost(string, tag = "5")]
    reason: String,
    #[prost(string, tag = "6")]
    evidence_ref: String,
    #[prost(int32, tag = "7")]
    state: i32,
    #[prost(string, tag = "8")]
    proposed_by: String,
    #[prost(int64, tag = "9")]
    propose_time: i64,
    #[prost(string, tag = "10")]
    reviewed_by: String,
    #[prost(int64, optional, tag = "11")]
    review_time: Option<i64>,
    #[prost(string, tag = "12")]
    review_note: String,
    #[prost(uint64, tag = "13")]
    revision: u64,
}

impl CorrectionRecord {
    pub(crate) fn of(c: &IdentityCorrection) -> Self {
        CorrectionRecord {
            id: c.id.as_str().to_string(),
            teacher_id: c.teacher_id.as_str().to_string(),
            previous: Some(DocumentRecord::of(&c.previous)),
            proposed: Some(DocumentRecord::of(&c.proposed)),
            reason: c.reason.clone(),
            evidence_ref: c.evidence_ref.clone(),
            state: c.state.number(),
            proposed_by: c.proposed_by.clone(),
            propose_time: c.propose_time.0,
            reviewed_by: c.reviewed_by.clone(),
            review_time: c.review_time.map(|t| t.0),
            review_note: c.review_note.clone(),
            revision: c.revision,
        }
    }

    pub(crate) fn into_domain(self) -> Result<IdentityCorrection, String> {
        Ok(IdentityCorrection {
            id: CaseId::try_from(self.id)?,
            teacher_id: registry_number(self.teacher_id)?,
            previous: self
                .previous
                .ok_or("a correction without its previous document")?
                .into_domain()?,
            proposed: self
                .proposed
                .ok_or("a correction without its proposed document")?
                .into_domain()?,
            reason: self.reason,
            evidence_ref: self.evidence_ref,
            state: known(self.state, "correction state")?,
            proposed_by: self.proposed_by,
            propose_time: UnixMicros(self.propose_time),
            reviewed_by: self.reviewed_by,
            review_time: self.review_time.map(UnixMicros),
            review_note: self.review_note,
            revision: self.revision,
        })
    }
}

/// The first answer of an identity request (tag 20 of a request record).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct IdentityAnswerRecord {
    /// 1: a correction step, 2: a dismissal, 3: a merge, 4: an unmerge.
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(message, optional, tag = "2")]
    correction: Option<CorrectionRecord>,
    /// The correction's teacher after approval; the survivor of a merge; the survivor
    /// then the restored record of an unmerge.
    #[prost(message, repeated, tag = "3")]
    teachers: Vec<TeacherRecord>,
    #[prost(string, repeated, tag = "4")]
    conflicts: Vec<String>,
}

impl IdentityAnswerRecord {
    pub(crate) fn of(answer: &IdentityAnswer) -> Self {
        let mut record = IdentityAnswerRecord::default();
        match answer {
            IdentityAnswer::Correction {
                correction,
                teacher,
            } => {
                record.kind = 1;
                record.correction = Some(CorrectionRecord::of(correction));
                record.teachers = teacher.iter().map(TeacherRecord::of).collect();
            }
            IdentityAnswer::Dismissed => record.kind = 2,
            IdentityAnswer::Merged {
                survivor,
                conflicts,
            } => {
                record.kind = 3;
                record.teachers = vec![TeacherRecord::of(survivor)];
                record.conflicts = conflicts.clone();
            }
            IdentityAnswer::Unmerged { survivor, restored } => {
                record.kind = 4;
                record.teachers = vec![TeacherRecord::of(survivor), TeacherRecord::of(restored)];
            }
            IdentityAnswer::Recorded(n) => {
                record.kind = 5;
                record.conflicts = vec![n.to_string()];
            }
        }
        record
    }

    pub(crate) fn into_domain(self) -> Result<IdentityAnswer, String> {
        let mut teachers = self
            .teachers
            .into_iter()
            .map(TeacherRecord::into_domain)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        Ok(match self.kind {
            1 => IdentityAnswer::Correction {
                correction: self
                    .correction
                    .ok_or("a correction answer without its correction")?
                    .into_domain()?,
                teacher: teachers.next(),
            },
            2 => IdentityAnswer::Dismissed,
            3 => IdentityAnswer::Merged {
                survivor: teachers
                    .next()
                    .ok_or("a merge answer without its survivor")?,
                conflicts: self.conflicts,
            },
            4 => IdentityAnswer::Unmerged {
                survivor: teachers
                    .next()
                    .ok_or("an unmerge answer without its survivor")?,
                restored: teachers
                    .next()
                    .ok_or("an unmerge answer without the restored record")?,
            },
            5 => IdentityAnswer::Recorded(
                self.conflicts
                    .first()
                    .and_then(|n| n.parse().ok())
                    .ok_or("a record answer without its count")?,
            ),
            n => return Err(format!("unknown identity answer kind {n}")),
        })
    }
}

/// What identifies an identity request for its request id: the action and every
/// argument, flattened.
#[derive(Clone, PartialEq, Message)]
struct IdentityRequestRecord {
    #[prost(string, tag = "1")]
    action: String,
    #[prost(string, repeated, tag = "2")]
    texts: Vec<String>,
    #[prost(string, optional, tag = "3")]
    expected_etag: Option<String>,
    #[prost(int32, tag = "4")]
    number: i32,
}

/// The fingerprint of an identity command, for its request id (AIP-155).
pub(crate) fn fingerprint(command: &IdentityCommand) -> [u8; 32] {
    let mut record = IdentityRequestRecord::default();
    match command {
        IdentityCommand::Propose(new) => {
            record.action = "propose_correction".into();
            record.number = new.identity.doc_type().number();
            record.texts = vec![
                new.teacher_id.as_str().into(),
                new.identity.number().into(),
                new.reason.clone(),
                new.evidence_ref.clone(),
            ];
        }
        IdentityCommand::Review {
            correction_id,
            approve,
            expected_etag,
            note,
        } => {
            record.action = match approve {
                true => "approve_correction",
                false => "reject_correction",
            }
            .into();
            record.texts = vec![correction_id.as_str().into(), note.clone()];
            record.expected_etag = expected_etag.clone();
        }
        IdentityCommand::Dismiss { pair, note } => {
            record.action = "dismiss_candidate".into();
            record.texts = vec![pair.0.as_str().into(), pair.1.as_str().into(), note.clone()];
        }
        IdentityCommand::RecordCandidates(pairs) => {
            record.action = "record_candidates".into();
            record.number = pairs.len() as i32;
        }
        IdentityCommand::Merge {
            survivor,
            merged,
            reason,
        } => {
            record.action = "merge_teachers".into();
            record.texts = vec![
                survivor.0.as_str().into(),
                survivor.1.clone().unwrap_or_default(),
                merged.0.as_str().into(),
                merged.1.clone().unwrap_or_default(),
                reason.clone(),
            ];
        }
        IdentityCommand::Unmerge { merged, reason } => {
            record.action = "unmerge_teachers".into();
            record.texts = vec![merged.as_str().into(), reason.clone()];
        }
    }
    Sha256::digest(record.encode_to_vec()).into()
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct PairRecord {
    #[prost(string, tag = "1")]
    first: String,
    #[prost(string, tag = "2")]
    second: String,
    #[prost(int32, repeated, tag = "3")]
    reasons: Vec<i32>,
    #[prost(uint32, tag = "4")]
    score: u32,
    #[prost(message, optional, tag = "5")]
    dismissal: Option<DismissalRecord>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DismissalRecord {
    #[prost(string, tag = "1")]
    by: String,
    #[prost(int64, tag = "2")]
    at: i64,
    #[prost(string, tag = "3")]
    note: String,
}

impl PairRecord {
    pub(crate) fn of(pair: &CandidatePair) -> Self {
        PairRecord {
            first: pair.first.as_str().to_string(),
            second: pair.second.as_str().to_string(),
            reasons: pair.reasons.iter().map(|r| r.number()).collect(),
            score: pair.score,
            dismissal: pair.dismissal.as_ref().map(|d| DismissalRecord {
                by: d.by.clone(),
                at: d.at.0,
                note: d.note.clone(),
            }),
        }
    }

    pub(crate) fn into_domain(self) -> Result<CandidatePair, String> {
        Ok(CandidatePair {
            first: registry_number(self.first)?,
            second: registry_number(self.second)?,
            reasons: self
                .reasons
                .into_iter()
                .map(|r| known(r, "duplicate reason"))
                .collect::<Result<_, _>>()?,
            score: self.score,
            dismissal: self.dismissal.map(|d| Dismissal {
                by: d.by,
                at: UnixMicros(d.at),
                note: d.note,
            }),
        })
    }
}
