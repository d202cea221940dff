//! Who may apply in a round: the checks made before anything else, each refusal naming
//! its rule. [`eligibility`] lists every rule a teacher fails (for the dry run over a
//! school or county); an application is refused with the first.

use chrono::{Datelike, NaiveDate};

use crate::domain::ethics::EthicsFinding;
use crate::domain::{CertificateStatus, DomainError, EmploymentStatus, Teacher, TitleTier};

use super::EvaluationRound;

/// A rule an applicant fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ineligibility {
    /// No periodic registration in force on the day of application.
    NotRegistered,
    /// A certificate of theirs was revoked (撤销).
    QualificationRevoked,
    /// They lost the qualification (丧失).
    QualificationLost,
    /// An ethics finding vetoes their promotion (师德一票否决).
    EthicsVeto,
    /// They hold no title of the new series to be promoted from.
    NoTitle,
    /// The round's tier is not the one above theirs (nor above it, for 破格).
    NotNextTier,
    /// Fewer full years in the current tier than the round requires (waived by 破格).
    TooFewYearsInTier,
    /// Of retirement age, or no longer in service.
    PastRetirementAge,
}

impl Ineligibility {
    /// The rule's name, as FAILED_PRECONDITION reasons and the dry run give it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotRegistered => "NOT_REGISTERED",
            Self::QualificationRevoked => "QUALIFICATION_REVOKED",
            Self::QualificationLost => "QUALIFICATION_LOST",
            Self::EthicsVeto => "ETHICS_VETO",
            Self::NoTitle => "NO_TITLE",
            Self::NotNextTier => "NOT_NEXT_TIER",
            Self::TooFewYearsInTier => "TOO_FEW_YEARS_IN_TIER",
            Self::PastRetirementAge => "PAST_RETIREMENT_AGE",
        }
    }

    /// The rule in words, Chinese first.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotRegistered => "无有效定期注册 (no periodic registration in force)",
            Self::QualificationRevoked => "教师资格已被撤销 (a certificate was revoked)",
            Self::QualificationLost => "已丧失教师资格 (the qualification was lost)",
            Self::EthicsVeto => "师德一票否决 (an ethics finding vetoes promotion)",
            Self::NoTitle => "无现聘职称 (no title to be promoted from)",
            Self::NotNextTier => "申报等级与现职称不衔接 (not the tier above the current one)",
            Self::TooFewYearsInTier => "任现职年限不足 (too few years in the current tier)",
            Self::PastRetirementAge => "已达退休年龄 (of retirement age)",
        }
    }

    /// The refusal of an application for this rule.
    pub fn refusal(self, teacher: &Teacher) -> DomainError {
        DomainError::FailedPrecondition {
            reason: self.reason(),
            message: format!("teacher {} may not apply: {}", teacher.id, self.describe()),
        }
    }
}

/// Every rule `teacher` fails for `round` on `on`, in the order they are checked: none
/// means eligible. `exceptional` (破格) allows skipping a tier and waives the years.
pub fn eligibility(
    teacher: &Teacher,
    findings: &[EthicsFinding],
    round: &EvaluationRound,
    exceptional: bool,
    on: NaiveDate,
) -> Vec<Ineligibility> {
    let mut failed = Vec::new();
    if !teacher.is_registered_on(on) {
        failed.push(Ineligibility::NotRegistered);
    }
    // A revoked certificate stays revoked when the qualification is lost later (its
    // status is then LOST, its revocation kept).
    let certificates = || teacher.certificates.iter();
    if certificates().any(|c| c.status == CertificateStatus::Revoked || c.revocation.is_some()) {
        failed.push(Ineligibility::QualificationRevoked);
    }
    if certificates().any(|c| c.status == CertificateStatus::Lost) {
        failed.push(Ineligibility::QualificationLost);
    }
    if findings.iter().any(|f| f.vetoes_on(on)) {
        failed.push(Ineligibility::EthicsVeto);
    }
    match teacher.current_title() {
        None => failed.push(Ineligibility::NoTitle),
        Some(current) => {
            let next_ok = current.next() == Some(round.target_tier)
                || (exceptional && round.target_tier > current);
            if !next_ok {
                failed.push(Ineligibility::NotNextTier);
            }
            if !exceptional {
                let since = held_since(teacher, current);
                if full_years(since, on) < round.rules.years_in_tier {
                    failed.push(Ineligibility::TooFewYearsInTier);
                }
            }
        }
    }
    let age = full_years(teacher.fields.birth_date, on);
    if age >= round.rules.retirement_age
        || teacher.fields.employment_status != EmploymentStatus::Active
    {
        failed.push(Ineligibility::PastRetirementAge);
    }
    failed
}

/// The day the teacher's current tier took effect: the first entry of the latest run of
/// entries giving that tier (a correction to the same tier keeps the earlier date).
fn held_since(teacher: &Teacher, current: TitleTier) -> NaiveDate {
    let mut since = None;
    for entry in &teacher.title_history {
        match entry.tier {
            Some(tier) if tier == current => since = since.or(Some(entry.effective_date)),
            _ => since = None,
        }
    }
    since.unwrap_or(NaiveDate::MAX)
}

/// Full years from `from` to `to` (0 when `to` is earlier).
fn full_years(from: NaiveDate, to: NaiveDate) -> u32 {
    if to < from {
        return 0;
    }
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}
