//! Identity corrections: the reviewed change of the document a record is keyed by.
//!
//! A mistyped number, or a permit replaced by a resident identity card, is corrected on
//! the record, never by making a second one: the registry number stays. Because the
//! document is what recognises the person, one principal proposes the correction with a
//! reason and a reference to the evidence (the scanned card, the bureau's letter), and
//! another approves or rejects it (four eyes, as an ethics finding is reviewed). On
//! approval the record takes the new document and keeps the old one as a former document
//! (see [`crate::domain::former`]), so the old number still finds the same teacher.

use crate::domain::case::CaseId;
use crate::domain::{DomainError, FieldViolation, IdentityDocument, TeacherId, UnixMicros};

/// Where a correction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrectionState {
    Pending,
    Approved,
    Rejected,
}

/// A correction as proposed, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection {
    pub teacher_id: TeacherId,
    pub identity: IdentityDocument,
    pub reason: String,
    pub evidence_ref: String,
}

/// A proposed correction of a record's identity document, and its review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCorrection {
    pub id: CaseId,
    pub teacher_id: TeacherId,
    /// The record's document when the correction was proposed.
    pub previous: IdentityDocument,
    pub proposed: IdentityDocument,
    pub reason: String,
    pub evidence_ref: String,
    pub state: CorrectionState,
    pub proposed_by: String,
    pub propose_time: UnixMicros,
    /// Empty while pending.
    pub reviewed_by: String,
    pub review_time: Option<UnixMicros>,
    pub review_note: String,
    /// The registry revision of the correction's last step.
    pub revision: u64,
}

const TEXT_MAX: usize = 500;

impl NewCorrection {
    /// Reason and evidence are required, and each at most 500 characters.
    pub fn check_texts(reason: &str, evidence_ref: &str) -> Vec<FieldViolation> {
        let mut violations = Vec::new();
        for (field, value) in [("reason", reason), ("evidence_ref", evidence_ref)] {
            if let Err(e) = crate::domain::text::required_text(value, TEXT_MAX) {
                violations.push(FieldViolation::new(field, e));
            }
        }
        violations
    }
}

impl IdentityCorrection {
    /// A new pending correction of a record whose document is `current`. The new
    /// document must differ from it (FAILED_PRECONDITION, SAME_DOCUMENT).
    pub fn propose(
        id: CaseId,
        new: NewCorrection,
        current: &IdentityDocument,
        principal: &str,
        now: UnixMicros,
    ) -> Result<Self, DomainError> {
        if new.identity == *current {
            return Err(DomainError::FailedPrecondition {
                reason: "SAME_DOCUMENT",
                message: "the record already has this identity document".into(),
            });
        }
        Ok(IdentityCorrection {
            id,
            teacher_id: new.teacher_id,
            previous: current.clone(),
            proposed: new.identity,
            reason: new.reason,
            evidence_ref: new.evidence_ref,
            state: CorrectionState::Pending,
            proposed_by: principal.to_string(),
            propose_time: now,
            reviewed_by: String::new(),
            review_time: None,
            review_note: String::new(),
            revision: 0,
        })
    }

    /// The entity tag of this version of the correction (AIP-154).
    pub fn etag(&self) -> String {
        crate::domain::etag_of(self.revision)
    }

    /// Approves or rejects a pending correction. The proposer never reviews their own
    /// (FAILED_PRECONDITION, SAME_REVIEWER); a reviewed one is not reviewed again
    /// (FAILED_PRECONDITION, CORRECTION_REVIEWED); a rejection says why.
    pub fn review(
        &mut self,
        approve: bool,
        note: &str,
        principal: &str,
        now: UnixMicros,
    ) -> Result<(), DomainError> {
        if self.state != CorrectionState::Pending {
            return Err(DomainError::FailedPrecondition {
                reason: "CORRECTION_REVIEWED",
                message: format!("correction {} was already reviewed", self.id),
            });
        }
        if principal == self.proposed_by {
            return Err(DomainError::FailedPrecondition {
                reason: "SAME_REVIEWER",
                message: format!(
                    "{principal} proposed correction {}: another principal reviews it",
                    self.id
                ),
            });
        }
        if !approve && note.trim().is_empty() {
            return Err(DomainError::invalid(
                "note",
                "is required: why it is rejected",
            ));
        }
        if note.chars().count() > TEXT_MAX {
            return Err(DomainError::invalid(
                "note",
                format!("is longer than {TEXT_MAX} characters"),
            ));
        }
        self.state = match approve {
            true => CorrectionState::Approved,
            false => CorrectionState::Rejected,
        };
        self.reviewed_by = principal.to_string();
        self.review_time = Some(now);
        self.review_note = note.trim().to_string();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdDocumentType;
    use rand::SeedableRng;

    fn proposed() -> IdentityCorrection {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let old = IdentityDocument::from_stored(IdDocumentType::Passport, "E12345678".into());
        let new = NewCorrection {
            teacher_id: TeacherId::generate(&mut rng),
            identity: IdentityDocument::from_stored(
                IdDocumentType::ResidentIdCard,
                "11010519491231002X".into(),
            ),
            reason: "换领居民身份证".into(),
            evidence_ref: "SCAN-1".into(),
        };
        IdentityCorrection::propose(
            CaseId::generate(&mut rng),
            new,
            &old,
            "clerk",
            UnixMicros(1),
        )
        .unwrap()
    }

    #[test]
    fn the_proposer_never_reviews_their_own() {
        let mut correction = proposed();
        let refused = correction
            .review(true, "", "clerk", UnixMicros(2))
            .unwrap_err();
        assert!(matches!(
            refused,
            DomainError::FailedPrecondition {
                reason: "SAME_REVIEWER",
                ..
            }
        ));
        assert_eq!(correction.state, CorrectionState::Pending);
        correction.review(true, "", "chief", UnixMicros(2)).unwrap();
        assert_eq!(correction.state, CorrectionState::Approved);
        assert!(correction
            .review(false, "no", "other", UnixMicros(3))
            .is_err());
    }

    #[test]
    fn a_rejection_says_why() {
        let mut correction = proposed();
        assert!(matches!(
            correction.review(false, " ", "chief", UnixMicros(2)),
            Err(DomainError::Invalid { .. })
        ));
        correction
            .review(false, "证件复印件不清", "chief", UnixMicros(2))
            .unwrap();
        assert_eq!(correction.state, CorrectionState::Rejected);
    }
}
