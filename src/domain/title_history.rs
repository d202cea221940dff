//! The rules of a teacher's title history: single changes (ChangeTitle) and the 2015
//! reform transition (TransitionTitles).
//!
//! The history is append-only. The tier in force is derived by replaying it: every entry
//! but a revocation puts its tier in force; a revocation withdraws the latest entry still
//! in force and records the tier that was in force before it. So a correction or a
//! revocation never deletes anything; it adds an entry.

use chrono::NaiveDate;

use crate::domain::error::all_valid;
use crate::domain::text::optional_text;
use crate::domain::{
    parse_date, Choice, DomainError, FieldViolation, LegacyTitle, Teacher, TitleChangeKind,
    TitleEntry, TitleTier, UnixMicros,
};

const TEXT_MAX: usize = 100;
const NOTE_MAX: usize = 500;

/// A title change as received (the `change` of ChangeTitle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleChangeInput {
    pub tier: Choice<TitleTier>,
    pub kind: Choice<TitleChangeKind>,
    pub effective_date: String,
    pub approval_document: String,
    pub limited_scope: bool,
    pub exceptional: bool,
    pub note: String,
}

/// A validated title change, before it is checked against the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleChange {
    /// `None` only for a revocation, whose tier follows from the history.
    pub tier: Option<TitleTier>,
    pub kind: TitleChangeKind,
    pub effective_date: NaiveDate,
    pub approval_document: String,
    pub limited_scope: bool,
    pub exceptional: bool,
    pub note: String,
}

/// Why a teacher is not moved by the reform transition: the domain's reasons, and the
/// one a run meets before any rule (a named teacher nobody is). Travels as this enum to
/// the API, which alone spells it as the proto's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Holds no legacy title.
    NoLegacyTitle,
    /// Has been transitioned already.
    AlreadyTransitioned,
    /// Already holds a new-series title.
    HasNewTitle,
    /// No teacher has the registry number the run named. (The variants' order is the
    /// order a run's summary counts them in, the proto's.)
    NotFound,
    /// The registry number was retired by a merge (the run names the survivor).
    Merged,
}

impl SkipReason {
    /// The ErrorInfo reason used when the writer finds the teacher ineligible.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "NOT_FOUND",
            Self::NoLegacyTitle => "NO_LEGACY_TITLE",
            Self::AlreadyTransitioned => "ALREADY_TRANSITIONED",
            Self::HasNewTitle => "HAS_NEW_TITLE",
            Self::Merged => "TEACHER_MERGED",
        }
    }
}

/// What the reform transition would do to a teacher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionPlan {
    pub legacy_title: LegacyTitle,
    pub tier: TitleTier,
    pub limited_scope: bool,
}

impl TitleChangeInput {
    /// Checks the change on its own (paths `change.<field>`); the history is checked by
    /// [`Teacher::change_title`].
    pub fn validate(&self) -> Result<TitleChange, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let mut bad = |field: &str, e: String| {
            violations.push(FieldViolation::new(format!("change.{field}"), e));
        };
        let kind = match self.kind {
            Choice::Known(TitleChangeKind::ReformTransition) => {
                bad(
                    "kind",
                    "reform transitions are made with TransitionTitles".into(),
                );
                None
            }
            Choice::Known(kind) => Some(kind),
            Choice::Unset => {
                bad("kind", "is required".into());
                None
            }
            Choice::Unknown(n) => {
                bad("kind", format!("unknown value {n}"));
                None
            }
        };
        let tier = match (self.tier, kind) {
            (Choice::Known(_), Some(TitleChangeKind::Revocation)) => {
                bad(
                    "tier",
                    "must be empty: a revocation returns to the tier before the revoked entry"
                        .into(),
                );
                None
            }
            (Choice::Known(tier), _) => Some(Some(tier)),
            (Choice::Unset, Some(TitleChangeKind::Revocation)) => Some(None),
            (Choice::Unset, _) => {
                bad("tier", "is required".into());
                None
            }
            (Choice::Unknown(n), _) => {
                bad("tier", format!("unknown value {n}"));
                None
            }
        };
        let effective_date = parse_date(&self.effective_date)
            .map_err(|e| bad("effective_date", e))
            .ok();
        let approval_document = optional_text(&self.approval_document, TEXT_MAX)
            .map_err(|e| bad("approval_document", e))
            .ok();
        let note = optional_text(&self.note, NOTE_MAX)
            .map_err(|e| bad("note", e))
            .ok();
        if approval_document.as_deref() == Some("") && kind != Some(TitleChangeKind::Correction) {
            bad("approval_document", "is required".into());
        }
        if note.as_deref() == Some("") && kind == Some(TitleChangeKind::Correction) {
            bad("note", "a correction must say what it corrects".into());
        }
        if self.exceptional && kind.is_some_and(|k| k != TitleChangeKind::Promotion) {
            bad("exceptional", "only a promotion can be exceptional".into());
        }
        all_valid(violations, || {
            Some(TitleChange {
                tier: tier?,
                kind: kind?,
                effective_date: effective_date?,
                approval_document: approval_document?,
                limited_scope: self.limited_scope,
                exceptional: self.exceptional,
                note: note?,
            })
        })
    }
}

fn refused(reason: &'static str, message: String) -> DomainError {
    DomainError::FailedPrecondition { reason, message }
}

impl Teacher {
    /// The tiers in force, oldest first, after replaying the history: the last one is
    /// the current title; a revocation withdraws the last one.
    pub(super) fn tiers_in_force(&self) -> Vec<Option<TitleTier>> {
        let mut stack = Vec::new();
        for entry in &self.title_history {
            match entry.kind {
                TitleChangeKind::Revocation => {
                    stack.pop();
                }
                _ => stack.push(entry.tier),
            }
        }
        stack
    }

    fn refuse_going_back(&self, effective_date: NaiveDate) -> Result<(), DomainError> {
        match self.title_history.last() {
            Some(latest) if effective_date < latest.effective_date => Err(refused(
                "EFFECTIVE_DATE_BEFORE_LATEST",
                format!(
                    "effective date {effective_date} is before the latest title entry's {}",
                    latest.effective_date
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Appends one entry to the title history, or refuses (FAILED_PRECONDITION) if the
    /// history does not allow it: an initial title when there is one already, a promotion
    /// that skips a tier (unless exceptional) or goes past FULL_SENIOR, a promotion or
    /// revocation with nothing to act on, or an effective date before the latest entry's.
    pub fn change_title(
        &mut self,
        change: TitleChange,
        recorded_by: &str,
        record_time: UnixMicros,
    ) -> Result<(), DomainError> {
        self.refuse_going_back(change.effective_date)?;
        let in_force = self.tiers_in_force();
        let current = in_force.last().copied().flatten();
        let tier = match change.kind {
            TitleChangeKind::Initial => {
                if let Some(current) = current {
                    return Err(refused(
                        "HAS_TITLE",
                        format!("the teacher already holds {current}; use PROMOTION or CORRECTION"),
                    ));
                }
                change.tier
            }
            TitleChangeKind::Promotion => {
                let (Some(current), Some(target)) = (current, change.tier) else {
                    return Err(refused(
                        "NO_TITLE",
                        "the teacher holds no new-series title to be promoted from".into(),
                    ));
                };
                let Some(next) = current.next() else {
                    return Err(refused(
                        "HIGHEST_TIER",
                        "FULL_SENIOR is the highest tier".into(),
                    ));
                };
                if target <= current {
                    return Err(refused(
                        "NOT_A_PROMOTION",
                        format!("{target} is not above the current {current}"),
                    ));
                }
                if target != next && !change.exceptional {
                    return Err(refused(
                        "TIER_SKIPPED",
                        format!(
                            "a promotion from {current} goes to {next}; skipping a tier needs an exceptional (破格) promotion"
                        ),
                    ));
                }
                if !self.is_registered_on(change.effective_date) {
                    return Err(refused(
                        "NOT_REGISTERED",
                        format!(
                            "no valid certificate has a periodic registration in force on {}; a teacher without a current registration cannot be promoted",
                            change.effective_date
                        ),
                    ));
                }
                Some(target)
            }
            TitleChangeKind::Correction => change.tier,
            TitleChangeKind::Revocation => {
                if in_force.is_empty() {
                    return Err(refused(
                        "NOTHING_TO_REVOKE",
                        "no title entry is in force to be revoked".into(),
                    ));
                }
                in_force[..in_force.len() - 1].last().copied().flatten()
            }
            TitleChangeKind::ReformTransition => {
                return Err(DomainError::invalid(
                    "change.kind",
                    "reform transitions are made with TransitionTitles",
                ))
            }
        };
        self.title_history.push(TitleEntry {
            tier,
            kind: change.kind,
            effective_date: change.effective_date,
            approval_document: change.approval_document,
            limited_scope: change.limited_scope,
            exceptional: change.exceptional,
            note: change.note,
            recorded_by: recorded_by.to_string(),
            record_time,
        });
        Ok(())
    }

    /// What the reform transition would do, or why it skips this teacher.
    pub fn plan_transition(&self) -> Result<TransitionPlan, SkipReason> {
        if self
            .title_history
            .iter()
            .any(|e| e.kind == TitleChangeKind::ReformTransition)
        {
            return Err(SkipReason::AlreadyTransitioned);
        }
        if self.current_title().is_some() {
            return Err(SkipReason::HasNewTitle);
        }
        let legacy_title = self.fields.legacy_title.ok_or(SkipReason::NoLegacyTitle)?;
        Ok(TransitionPlan {
            legacy_title,
            tier: legacy_title.reform_tier(),
            limited_scope: self.fields.legacy_title_limited_scope,
        })
    }

    /// Moves the teacher into the new series by the reform table, keeping the
    /// limited-scope flag. Refused (FAILED_PRECONDITION, reason from [`SkipReason::code`])
    /// when the teacher is not eligible, or when the date is before the latest entry.
    pub fn apply_transition(
        &mut self,
        effective_date: NaiveDate,
        approval_document: &str,
        recorded_by: &str,
        record_time: UnixMicros,
    ) -> Result<TransitionPlan, DomainError> {
        let plan = self.plan_transition().map_err(|reason| {
            refused(
                reason.code(),
                format!("the teacher is not transitioned: {}", reason.code()),
            )
        })?;
        self.refuse_going_back(effective_date)?;
        self.title_history.push(TitleEntry {
            tier: Some(plan.tier),
            kind: TitleChangeKind::ReformTransition,
            effective_date,
            approval_document: approval_document.to_string(),
            limited_scope: plan.limited_scope,
            exceptional: false,
            note: format!("reform transition from {}", plan.legacy_title),
            recorded_by: recorded_by.to_string(),
            record_time,
        });
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "title_history_tests.rs"]
mod tests;
