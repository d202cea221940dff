//! Findings of a breach of professional ethics (师德失范) that veto promotion (师德一票否决).
//!
//! A finding is recorded by one member of staff and reviewed by another, both named, so
//! that a veto of someone's promotion is never one person's word. It vetoes every title
//! application of the teacher made from the day it was found through `vetoes_until`.
//! Findings are kept for good: a later one never replaces an earlier one.

use chrono::NaiveDate;

use crate::domain::{DomainError, TeacherId, UnixMicros};

const GROUND_MAX: usize = 500;

/// A finding as the recording officer gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEthicsFinding {
    pub found_on: NaiveDate,
    /// What was found, and under which rule (e.g. 《中小学教师违反职业道德行为处理办法》 第四条).
    pub ground: String,
    /// The last day the finding vetoes a promotion.
    pub vetoes_until: NaiveDate,
    /// Who reviewed the finding: another member of staff than the one recording it.
    pub reviewed_by: String,
}

/// A finding as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthicsFinding {
    pub teacher_id: TeacherId,
    pub found_on: NaiveDate,
    pub ground: String,
    pub vetoes_until: NaiveDate,
    pub recorded_by: String,
    pub reviewed_by: String,
    pub record_time: UnixMicros,
    /// The registry revision that recorded it; also its number among the teacher's findings.
    pub revision: u64,
}

impl NewEthicsFinding {
    /// Checks the finding: a ground, a veto that ends no earlier than the finding, a
    /// finding not in the future, and a reviewer other than `recorded_by`.
    pub fn validate(self, recorded_by: &str, today: NaiveDate) -> Result<Self, DomainError> {
        let ground = self.ground.trim().to_string();
        let reviewed_by = self.reviewed_by.trim().to_string();
        let mut violations = Vec::new();
        if ground.is_empty() || ground.chars().count() > GROUND_MAX {
            violations.push(crate::domain::FieldViolation::new(
                "finding.ground",
                format!("must be 1 to {GROUND_MAX} characters"),
            ));
        }
        if reviewed_by.is_empty() {
            violations.push(crate::domain::FieldViolation::new(
                "finding.reviewed_by",
                "must name the reviewer",
            ));
        }
        if self.found_on > today {
            violations.push(crate::domain::FieldViolation::new(
                "finding.found_on",
                format!("{} is in the future", self.found_on),
            ));
        }
        if self.vetoes_until < self.found_on {
            violations.push(crate::domain::FieldViolation::new(
                "finding.vetoes_until",
                "must not be before found_on",
            ));
        }
        if !violations.is_empty() {
            return Err(violations.into());
        }
        if reviewed_by == recorded_by {
            return Err(DomainError::FailedPrecondition {
                reason: "SAME_REVIEWER",
                message: format!(
                    "{recorded_by} records the finding: another member of staff reviews it"
                ),
            });
        }
        Ok(NewEthicsFinding {
            ground,
            reviewed_by,
            ..self
        })
    }
}

/// The findings about one teacher, oldest first, as stored together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EthicsFindings(pub Vec<EthicsFinding>);

impl EthicsFinding {
    /// Whether the finding vetoes a promotion applied for on `on`.
    pub fn vetoes_on(&self, on: NaiveDate) -> bool {
        self.found_on <= on && on <= self.vetoes_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn new(reviewer: &str) -> NewEthicsFinding {
        NewEthicsFinding {
            found_on: d("2026-03-01"),
            ground: " 有偿补课 ".into(),
            vetoes_until: d("2027-02-28"),
            reviewed_by: reviewer.into(),
        }
    }

    #[test]
    fn a_finding_needs_another_reviewer() {
        let err = new("zhang").validate("zhang", d("2026-06-01")).unwrap_err();
        assert!(matches!(
            err,
            DomainError::FailedPrecondition {
                reason: "SAME_REVIEWER",
                ..
            }
        ));
        let ok = new("li").validate("zhang", d("2026-06-01")).unwrap();
        assert_eq!(ok.ground, "有偿补课");
    }

    #[test]
    fn bad_fields_are_reported_together() {
        let mut bad = new("");
        bad.ground = " ".into();
        bad.vetoes_until = d("2026-01-01");
        let DomainError::Invalid { violations } =
            bad.validate("zhang", d("2026-06-01")).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(violations.len(), 3);
        assert!(new("li").validate("zhang", d("2026-02-01")).is_err());
    }

    #[test]
    fn the_veto_covers_its_period_inclusive() {
        let finding = EthicsFinding {
            teacher_id: crate::domain::fixtures::stored_teacher(None, false).id,
            found_on: d("2026-03-01"),
            ground: "g".into(),
            vetoes_until: d("2027-02-28"),
            recorded_by: "a".into(),
            reviewed_by: "b".into(),
            record_time: UnixMicros(0),
            revision: 1,
        };
        assert!(!finding.vetoes_on(d("2026-02-28")));
        assert!(finding.vetoes_on(d("2026-03-01")));
        assert!(finding.vetoes_on(d("2027-02-28")));
        assert!(!finding.vetoes_on(d("2027-03-01")));
    }
}
