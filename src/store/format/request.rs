//! What a request id recalls (AIP-155): the request's fingerprint and its first answer,
//! and the format-2 record they are stored as.
//!
//! Apart from the fingerprints (`format`) because the record embeds the answers of every
//! kind of request (a teacher, a case, an evaluation, an identity step) while the formats
//! of those name the fingerprint: here the remembered request depends on them, never the
//! other way.

use prost::Message;

use super::case::CaseRecord;
use super::case_report::ConsultationRecord;
use super::codes::Coded;
use super::scalars::known;
use super::v2::TeacherRecord;
use crate::domain::case::Consultation;
use crate::domain::UnixMicros;
use crate::store::cases::CaseAnswer;
use crate::store::Outcome;

/// What the registry keeps of a request id (AIP-155): the request's fingerprint and the
/// first answer.
pub(crate) struct StoredRequest {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) outcome: Remembered,
    /// When the request was first answered; `None` for records of format 1, which did not
    /// say (they expire counted from the upgrade, see `store::upgrade`).
    pub(crate) recorded_at: Option<UnixMicros>,
}

/// The first answer to a request: a teacher mutation's or a case step's.
// One value at a time, while a retry is answered: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Remembered {
    Teacher(Outcome),
    Case(CaseAnswer),
    Consultation(Consultation),
    Evaluation(crate::store::evaluation::EvaluationAnswer),
    Identity(crate::store::identity::IdentityAnswer),
}

/// A request's fingerprint, in the form of the release that recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fingerprint {
    V1([u8; 32]),
    V2([u8; 32]),
}

/// What the registry keeps of a request id: the request's fingerprint, the first answer,
/// and when, so the record can expire.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RequestRecord {
    #[prost(bytes = "vec", tag = "1")]
    fingerprint: Vec<u8>,
    #[prost(message, optional, tag = "2")]
    teacher: Option<TeacherRecord>,
    #[prost(string, repeated, tag = "3")]
    warnings: Vec<String>,
    #[prost(int32, tag = "4")]
    effect: i32,
    #[prost(int64, tag = "5")]
    recorded_at: i64,
    /// A case step's answer (then `teacher` is the applicant's record after the decision's
    /// effect, if any).
    #[prost(message, optional, tag = "6")]
    case: Option<CaseRecord>,
    /// A consultation's answer.
    #[prost(message, optional, tag = "7")]
    consultation: Option<ConsultationRecord>,
    /// A title evaluation request's answer.
    #[prost(message, optional, tag = "8")]
    evaluation: Option<super::evaluation::EvaluationAnswerRecord>,
    /// An identity request's answer (tags 20 and up: see `format::identity`).
    #[prost(message, optional, tag = "20")]
    identity: Option<super::identity::IdentityAnswerRecord>,
}

impl RequestRecord {
    /// The record's fields every kind of answer fills; the answer's own are empty.
    fn without_answer(fingerprint: &[u8; 32], recorded_at: UnixMicros) -> Self {
        RequestRecord {
            fingerprint: fingerprint.to_vec(),
            teacher: None,
            warnings: Vec::new(),
            effect: 0,
            recorded_at: recorded_at.0,
            case: None,
            consultation: None,
            evaluation: None,
            identity: None,
        }
    }

    pub(crate) fn of(fingerprint: &[u8; 32], outcome: &Outcome, recorded_at: UnixMicros) -> Self {
        RequestRecord {
            teacher: Some(TeacherRecord::of(&outcome.teacher)),
            warnings: outcome.warnings.clone(),
            effect: outcome.effect.number(),
            ..Self::without_answer(fingerprint, recorded_at)
        }
    }

    pub(crate) fn of_consultation(
        fingerprint: &[u8; 32],
        consultation: &Consultation,
        recorded_at: UnixMicros,
    ) -> Self {
        RequestRecord {
            consultation: Some(ConsultationRecord::of(consultation)),
            ..Self::without_answer(fingerprint, recorded_at)
        }
    }

    pub(crate) fn of_case(
        fingerprint: &[u8; 32],
        answer: &CaseAnswer,
        recorded_at: UnixMicros,
    ) -> Self {
        RequestRecord {
            teacher: answer.teacher.as_ref().map(TeacherRecord::of),
            case: Some(CaseRecord::of(&answer.case)),
            ..Self::without_answer(fingerprint, recorded_at)
        }
    }

    pub(crate) fn of_evaluation(
        fingerprint: &[u8; 32],
        answer: &crate::store::evaluation::EvaluationAnswer,
        recorded_at: UnixMicros,
    ) -> Self {
        RequestRecord {
            evaluation: Some(super::evaluation::EvaluationAnswerRecord::of(answer)),
            ..Self::without_answer(fingerprint, recorded_at)
        }
    }

    pub(crate) fn of_identity(
        fingerprint: &[u8; 32],
        answer: &crate::store::identity::IdentityAnswer,
        recorded_at: UnixMicros,
    ) -> Self {
        RequestRecord {
            identity: Some(super::identity::IdentityAnswerRecord::of(answer)),
            ..Self::without_answer(fingerprint, recorded_at)
        }
    }

    pub(crate) fn into_domain(self) -> Result<StoredRequest, String> {
        let outcome = match (self.case, self.consultation) {
            _ if self.identity.is_some() => {
                Remembered::Identity(self.identity.expect("checked to be there").into_domain()?)
            }
            _ if self.evaluation.is_some() => Remembered::Evaluation(
                self.evaluation
                    .expect("checked to be there")
                    .into_domain()?,
            ),
            (_, Some(consultation)) => Remembered::Consultation(consultation.into_domain()?),
            (Some(case), None) => Remembered::Case(CaseAnswer {
                case: case.into_domain()?,
                teacher: self.teacher.map(TeacherRecord::into_domain).transpose()?,
            }),
            (None, None) => Remembered::Teacher(Outcome {
                teacher: self
                    .teacher
                    .ok_or("a request record without its answer")?
                    .into_domain()?,
                warnings: self.warnings,
                effect: known(self.effect, "effect")?,
            }),
        };
        Ok(StoredRequest {
            fingerprint: Fingerprint::V2(
                self.fingerprint
                    .try_into()
                    .map_err(|_| "a fingerprint that is not 32 bytes")?,
            ),
            outcome,
            recorded_at: Some(UnixMicros(self.recorded_at)),
        })
    }
}
