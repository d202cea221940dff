//! Loss of qualification (丧失教师资格, Teachers Law art. 14): a person deprived of political
//! rights, or sentenced to a fixed term or worse for an intentional crime, loses the
//! teacher qualification for good and may never obtain it again.
//!
//! It sits beside revocation (撤销) but differs in kind, which is why it is its own record
//! and its own refusal: a revocation voids one certificate and bars a new one for five
//! years; a loss is of the person's qualification, so every certificate they hold becomes
//! LOST, and [`Teacher::issue_certificate`] refuses them with `QUALIFICATION_LOST` however
//! much time has passed. The loss is recorded on each certificate (as a revocation is), so
//! the certificate a verifier asks about carries it, and nothing is removed: a revoked
//! certificate keeps its revocation and gains the loss.

use chrono::NaiveDate;

use crate::domain::error::all_valid;
use crate::domain::text::{optional_text, required_text};
use crate::domain::{past_date, Choice, FieldViolation};

const TEXT_MAX: usize = 100;
const NOTE_MAX: usize = 500;

/// The reason under refusals for a person whose qualification is lost.
pub const QUALIFICATION_LOST: &str = "QUALIFICATION_LOST";

/// The legal ground of a loss: the two of art. 14.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossGround {
    /// Deprivation of political rights (剥夺政治权利).
    DeprivationOfPoliticalRights,
    /// A fixed-term sentence or worse for an intentional crime (故意犯罪受到有期徒刑以上刑事处罚).
    IntentionalCrimeSentence,
}

/// A recorded loss of qualification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationLoss {
    /// The date of the decision that records the loss.
    pub lost_on: NaiveDate,
    pub ground: LossGround,
    /// The bureau's decision recording the loss, e.g. `Nan Jiao Ren [2026] No. 9`.
    pub approval_document: String,
    /// Optional, e.g. the court judgment's reference.
    pub note: String,
}

impl QualificationLoss {
    /// Validates a loss: ground and approval document are required; the date is real and
    /// not in the future (`None`: today, filled by the caller).
    pub fn parse(
        ground: Choice<LossGround>,
        approval_document: &str,
        lost_on: &str,
        note: &str,
        today: NaiveDate,
    ) -> Result<QualificationLoss, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let mut bad = |field: &str, e: String| violations.push(FieldViolation::new(field, e));
        let ground = match ground {
            Choice::Known(ground) => Some(ground),
            Choice::Unset => {
                bad(
                    "ground",
                    "is required: DEPRIVATION_OF_POLITICAL_RIGHTS or INTENTIONAL_CRIME_SENTENCE"
                        .into(),
                );
                None
            }
            Choice::Unknown(n) => {
                bad("ground", format!("unknown value {n}"));
                None
            }
        };
        let approval_document = required_text(approval_document, TEXT_MAX)
            .map_err(|e| bad("approval_document", e))
            .ok();
        let lost_on = match lost_on.trim() {
            "" => Some(today),
            raw => past_date(raw, today).map_err(|e| bad("lost_on", e)).ok(),
        };
        let note = optional_text(note, NOTE_MAX)
            .map_err(|e| bad("note", e))
            .ok();
        all_valid(violations, || {
            Some(QualificationLoss {
                lost_on: lost_on?,
                ground: ground?,
                approval_document: approval_document?,
                note: note?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{stored_teacher, today};
    use crate::domain::{CertificateInput, CertificateKind, NewCertificate, RevocationRequest};
    use crate::domain::{CertificateStatus, DomainError};

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn new(number: &str, kind: CertificateKind, certified_on: &str) -> NewCertificate {
        CertificateInput {
            number: number.into(),
            kind: Choice::Known(kind),
            subject: "语文".into(),
            issuing_authority: "南平市延平区教育局".into(),
            certified_on: certified_on.into(),
            first_registration_on: String::new(),
        }
        .validate(today())
        .unwrap()
    }

    fn loss(lost_on: &str) -> QualificationLoss {
        QualificationLoss::parse(
            Choice::Known(LossGround::IntentionalCrimeSentence),
            "Nan Jiao Ren [2020] No. 9",
            lost_on,
            "",
            today(),
        )
        .unwrap()
    }

    fn reason(result: Result<(), DomainError>) -> &'static str {
        match result {
            Err(DomainError::FailedPrecondition { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_loss_needs_its_ground_and_approval_document() {
        let err = QualificationLoss::parse(Choice::Unset, " ", "2999-01-01", "\u{0}", today())
            .unwrap_err();
        let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["ground", "approval_document", "lost_on", "note"]);
        let err = QualificationLoss::parse(Choice::Unknown(7), "x", "", "", today()).unwrap_err();
        assert_eq!(err[0].field, "ground");
        assert_eq!(loss("").lost_on, today());
    }

    #[test]
    fn every_certificate_of_the_holder_is_lost_and_no_new_one_ever_issued() {
        let mut t = stored_teacher(None, false);
        t.issue_certificate(new(
            "20163500022000123",
            CertificateKind::PrimarySchool,
            "2016-07-01",
        ))
        .unwrap();
        t.issue_certificate(new(
            "20173500032000124",
            CertificateKind::JuniorSecondary,
            "2017-07-01",
        ))
        .unwrap();
        let revocation =
            RevocationRequest::parse(Choice::Unset, "fraud", "doc", "2018-01-01", today()).unwrap();
        t.revoke_certificate("20173500032000124", &revocation, today())
            .unwrap();
        let before = t.clone();
        assert!(matches!(
            t.clone()
                .lose_qualification("20163500022000999", &loss("2020-01-01")),
            Err(DomainError::NotFound { .. })
        ));
        assert!(matches!(
            t.clone()
                .lose_qualification("20163500022000123", &loss("2015-01-01")),
            Err(DomainError::Invalid { .. })
        ));
        t.lose_qualification("20163500022000123", &loss("2020-01-01"))
            .unwrap();
        for c in &t.certificates {
            assert_eq!(c.status, CertificateStatus::Lost);
            assert_eq!(c.loss.as_ref().unwrap().lost_on, date("2020-01-01"));
        }
        assert_eq!(
            t.certificates[1].revocation, before.certificates[1].revocation,
            "the revocation stays on file"
        );
        assert_eq!(
            reason(
                t.clone()
                    .lose_qualification("20163500022000123", &loss("2021-01-01"))
            ),
            QUALIFICATION_LOST
        );
        // Decades later, still refused; revocation's bar would have ended long before.
        let later = new(
            "20253500012000001",
            CertificateKind::Kindergarten,
            "2025-07-01",
        );
        assert_eq!(
            reason(t.clone().issue_certificate(later)),
            QUALIFICATION_LOST
        );
        let registered = t
            .clone()
            .register_certificate("20163500022000123", date("2021-01-01"));
        assert_eq!(reason(registered), QUALIFICATION_LOST);
    }
}
