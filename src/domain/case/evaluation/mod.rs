//! Title evaluation (职称评审) as a case: a round of the bureau, the applications made for
//! it, two publicity periods, a committee's secret ballot and the bureau's confirmation.
//!
//! An [`EvaluationRound`] is a season's batch for one target tier, with its own deadline,
//! committee and numbers ([`RoundRules`]: publicity lengths, the pass ratio, the years
//! required in the current tier, the retirement age), all configuration of the round, not
//! code. An [`Application`] is a case on it: a small state machine (see
//! [`application`]) whose every step is recorded with who, when and a note, and whose
//! refusals are FAILED_PRECONDITION naming the rule, as the window's cases are. Before
//! anything else an applicant is checked against the eligibility rules
//! ([`eligibility`]); the effect of a confirmation on the teacher's title history is the
//! store's business, in the same atomic write as the confirmation.

pub mod application;
pub mod eligibility;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;

pub use application::{
    Application, ApplicationAction, ApplicationState, ApplicationStep, CloseReason, Objection,
    Publicity, PublicityStage,
};
pub use eligibility::{eligibility, Ineligibility};

use crate::domain::case::CaseId;
use crate::domain::{CountyCode, DomainError, FieldViolation, TitleTier, UnixMicros};

/// The shortest publicity period the rules allow, in working days.
pub const MIN_PUBLICITY_WORKING_DAYS: u32 = 5;

/// A ratio of committee members present, as a fraction: `numerator / denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassRatio {
    pub numerator: u32,
    pub denominator: u32,
}

impl PassRatio {
    /// Two thirds of the members present, the rule unless a round says otherwise.
    pub const TWO_THIRDS: PassRatio = PassRatio {
        numerator: 2,
        denominator: 3,
    };

    /// Whether `votes_for` out of `present` reach the ratio, in exact integer arithmetic
    /// (6 of 9 reach two thirds, 5 of 8 do not).
    pub fn reached(self, votes_for: u32, present: u32) -> bool {
        u64::from(votes_for) * u64::from(self.denominator)
            >= u64::from(present) * u64::from(self.numerator)
    }
}

/// The numbers a round is run by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundRules {
    /// The length of each publicity period, in working days (at least 5).
    pub publicity_working_days: u32,
    pub pass_ratio: PassRatio,
    /// Full years an applicant must have held the current tier (waived by 破格).
    pub years_in_tier: u32,
    /// The age from which a teacher can no longer apply.
    pub retirement_age: u32,
}

impl Default for RoundRules {
    fn default() -> Self {
        RoundRules {
            publicity_working_days: MIN_PUBLICITY_WORKING_DAYS,
            pass_ratio: PassRatio::TWO_THIRDS,
            years_in_tier: 5,
            retirement_age: 60,
        }
    }
}

/// A round as HR staff open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRound {
    pub name: String,
    /// The county whose bureau runs the round: the round's own events are in its feed.
    pub county_code: CountyCode,
    pub target_tier: TitleTier,
    pub application_deadline: NaiveDate,
    pub rules: RoundRules,
    /// The committee's members, by name.
    pub committee: Vec<String>,
}

/// An evaluation round (a year's batch for one tier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationRound {
    pub id: CaseId,
    pub name: String,
    pub county_code: CountyCode,
    pub target_tier: TitleTier,
    pub application_deadline: NaiveDate,
    pub rules: RoundRules,
    pub committee: Vec<String>,
    pub created_by: String,
    pub revision: u64,
    pub create_time: UnixMicros,
}

impl NewRound {
    /// Checks the round's numbers, reporting every bad field at once.
    pub fn validate(mut self) -> Result<NewRound, DomainError> {
        let mut violations = Vec::new();
        self.name = self.name.trim().to_string();
        violations.extend(name_violations(&self.name));
        if self.target_tier == TitleTier::ThirdLevel {
            violations.push(FieldViolation::new(
                "round.target_tier",
                "THIRD_LEVEL is a first title, not a promotion",
            ));
        }
        violations.extend(self.rules.violations());
        violations.extend(committee_violations(&self.committee));
        self.committee = self
            .committee
            .iter()
            .map(|m| m.trim().to_string())
            .collect();
        if !violations.is_empty() {
            return Err(violations.into());
        }
        Ok(self)
    }
}

impl RoundRules {
    /// Every number out of its bounds, as field violations.
    pub fn violations(&self) -> Vec<FieldViolation> {
        let mut violations = Vec::new();
        if self.publicity_working_days < MIN_PUBLICITY_WORKING_DAYS {
            violations.push(FieldViolation::new(
                "round.publicity_working_days",
                format!("publicity lasts at least {MIN_PUBLICITY_WORKING_DAYS} working days"),
            ));
        }
        let ratio = self.pass_ratio;
        if ratio.denominator == 0 || ratio.numerator == 0 || ratio.numerator > ratio.denominator {
            violations.push(FieldViolation::new(
                "round.pass_ratio",
                "must be a fraction above 0 and at most 1",
            ));
        }
        if !(16..=80).contains(&self.retirement_age) {
            violations.push(FieldViolation::new(
                "round.retirement_age",
                "must be between 16 and 80",
            ));
        }
        if self.years_in_tier > 40 {
            violations.push(FieldViolation::new(
                "round.years_in_tier",
                "must be at most 40",
            ));
        }
        violations
    }
}

/// The round name's violation, if it is blank or longer than 100 characters.
pub fn name_violations(name: &str) -> Vec<FieldViolation> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return vec![FieldViolation::new(
            "round.name",
            "must be 1 to 100 characters",
        )];
    }
    Vec::new()
}

/// The committee's violation, if its members are not each named once (at least one).
pub fn committee_violations(committee: &[String]) -> Vec<FieldViolation> {
    let mut named: Vec<&str> = committee
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect();
    named.sort_unstable();
    named.dedup();
    if named.len() != committee.len() || named.is_empty() {
        return vec![FieldViolation::new(
            "round.committee",
            "name each member once, at least one",
        )];
    }
    Vec::new()
}

/// A committee's secret-ballot result on one application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub votes_for: u32,
    pub against: u32,
    pub abstain: u32,
    pub present: u32,
}

impl Vote {
    /// Checks the counts against each other and the committee's size.
    pub fn check(self, committee_size: usize) -> Result<Vote, DomainError> {
        let cast = u64::from(self.votes_for) + u64::from(self.against) + u64::from(self.abstain);
        if self.present == 0 {
            return Err(DomainError::invalid(
                "vote.present",
                "no member was present",
            ));
        }
        if cast != u64::from(self.present) {
            return Err(DomainError::invalid(
                "vote",
                format!(
                    "for, against and abstain add up to {cast}, not the {} members present",
                    self.present
                ),
            ));
        }
        if self.present as usize > committee_size {
            return Err(DomainError::invalid(
                "vote.present",
                format!(
                    "{} present, but the committee has {committee_size} members",
                    self.present
                ),
            ));
        }
        Ok(self)
    }

    /// Whether the application passes under `ratio` of the members present.
    pub fn passes(self, ratio: PassRatio) -> bool {
        ratio.reached(self.votes_for, self.present)
    }
}

/// A round's figures for one county and tier, as the write path counts them with every
/// step: applications taken, still eligible (not closed as ineligible), objected to (at
/// least one objection), passed by the committee, and confirmed.
///
/// Why "eligible" is not "applied less refused": an application is only taken after the
/// eligibility checks pass, and a refused one writes nothing (a bad request changes
/// nothing), so refusals are counted nowhere. Every application taken was eligible on the
/// day it was made; `eligible` is those not found ineligible since (closed INELIGIBLE).
/// Who of a county would be refused, and by which rule, is the eligibility dry run's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundFigures {
    pub applied: u64,
    pub eligible: u64,
    pub objected: u64,
    pub passed: u64,
    pub confirmed: u64,
}

impl RoundFigures {
    /// What one application counts for.
    pub fn of(application: &Application) -> RoundFigures {
        let count = |yes: bool| u64::from(yes);
        RoundFigures {
            applied: 1,
            eligible: count(application.close_reason != Some(CloseReason::Ineligible)),
            objected: count(!application.objections.is_empty()),
            passed: count(
                application.vote.is_some()
                    && application.close_reason != Some(CloseReason::CommitteeRejected),
            ),
            confirmed: count(application.state == ApplicationState::Confirmed),
        }
    }

    /// `self` with `other` added (`sign` 1) or taken away (`sign` -1).
    pub fn add(self, other: RoundFigures, sign: i8) -> RoundFigures {
        let f = |a: u64, b: u64| {
            if sign < 0 {
                a.saturating_sub(b)
            } else {
                a + b
            }
        };
        RoundFigures {
            applied: f(self.applied, other.applied),
            eligible: f(self.eligible, other.eligible),
            objected: f(self.objected, other.objected),
            passed: f(self.passed, other.passed),
            confirmed: f(self.confirmed, other.confirmed),
        }
    }
}
