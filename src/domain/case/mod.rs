//! Service-window cases (办件): an application at the window, accepted or refused at
//! intake, reviewed, decided within a time limit, and what each step did.
//!
//! A [`Case`] is a small state machine. Every step is a method that checks the rule, moves
//! the state and appends a [`CaseStep`] (what, who, when, a note), or refuses with a
//! `FAILED_PRECONDITION` whose reason names the rule. The effect of a decision on the
//! teacher's record (a certificate issued, a copy made, a registration recorded) is the
//! store's business: it applies both in one atomic write. The clocks ([`Clock`]) are not
//! stored: they follow from the dates, the operator's calendar and the configured limits
//! ([`WindowRules`]), so a corrected calendar corrects every due date.
//!
//! The rules come from the Administrative Licensing Law as the bureau applies it:
//! - **Intake.** A case is received, then accepted or refused on the spot. If materials
//!   are missing the applicant gets one notice listing everything missing, within
//!   [`NOTICE_WORKING_DAYS`] of receipt; a case without such a notice counts as accepted
//!   on the day it was received (its clock starts then, whenever the window records the
//!   acceptance).
//! - **Clock.** A limit counts working days after the start (see [`calendar`]); from the
//!   day the notice is given until the day the materials arrive, the clock stands still.
//! - **Two levels.** Certification of senior secondary, secondary vocational and
//!   vocational intern-instructor qualifications is reviewed by the county and decided by
//!   the city: the county forwards the case with its opinion; the applicant never applies
//!   twice.

mod calendar;
mod case_id;
pub mod evaluation;
pub mod report;
mod rules;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;

pub use calendar::{CalendarError, Pause, WorkingCalendar};
pub use case_id::{CaseId, CaseIdError, CASE_ID_LEN};
pub use report::{CaseFigures, Consultation, ConsultationChannel, DecidedClock, ReportPeriod};
pub use rules::{CaseLimits, WindowRules, WindowRulesError};

use crate::domain::{
    CertificateKind, CountyCode, DomainError, TeacherFields, TeacherId, UnixMicros,
};

/// Working days after receipt within which the one supplement notice must be given.
pub const NOTICE_WORKING_DAYS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseKind {
    /// A new teacher qualification (教师资格认定).
    Certification,
    /// A new copy of a certificate: reissue or replacement (补发/换发).
    Reissue,
    /// Periodic registration (定期注册).
    Registration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseState {
    Received,
    Accepted,
    SupplementRequested,
    Forwarded,
    Decided,
    Refused,
    Withdrawn,
}

impl CaseState {
    /// Decided, refused at intake or withdrawn: nothing more happens to the case.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Decided | Self::Refused | Self::Withdrawn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseOutcome {
    /// Certified, reissued, or registered as qualified (合格).
    Approved,
    /// Not certified, or registration refused (不予注册).
    Denied,
    /// Registration deferred (暂缓注册): the teacher may apply again.
    Deferred,
}

/// The review items of a certification, each recorded as checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReviewItem {
    Education,
    MandarinLevel,
    PhysicalExamination,
    TeachingAbility,
}

impl ReviewItem {
    pub const ALL: [ReviewItem; 4] = [
        Self::Education,
        Self::MandarinLevel,
        Self::PhysicalExamination,
        Self::TeachingAbility,
    ];
}

/// Why a periodic registration is deferred or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationReason {
    /// Deferral: training hours short of the minimum.
    TrainingHoursShort,
    /// Deferral: off duty for more than a semester without approved leave.
    OffDutyWithoutLeave,
    /// Deferral: a failed annual assessment.
    FailedAnnualAssessment,
    /// Refusal: a serious violation of professional ethics.
    EthicsViolation,
    /// Refusal: assessments failed two years running.
    FailedAssessmentsTwice,
    /// Refusal: the qualification was revoked or lost.
    QualificationRevokedOrLost,
}

impl RegistrationReason {
    /// Whether the reason defers (the rest refuse).
    pub fn defers(self) -> bool {
        matches!(
            self,
            Self::TrainingHoursShort | Self::OffDutyWithoutLeave | Self::FailedAnnualAssessment
        )
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepAction {
    Opened,
    Accepted,
    Refused,
    SupplementRequested,
    SupplementReceived,
    Forwarded,
    Assigned,
    Withdrawn,
    Decided,
}

/// One entry of a case's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStep {
    pub action: StepAction,
    pub principal: String,
    pub time: UnixMicros,
    /// The working date the step counts for (the clocks use it).
    pub on: NaiveDate,
    pub note: String,
}

/// A case and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: CaseId,
    pub kind: CaseKind,
    pub state: CaseState,
    pub outcome: Option<CaseOutcome>,
    /// The county whose window received the case; its staff work it.
    pub county_code: CountyCode,
    /// The applicant's record, when they have one (for a certification applicant without
    /// one, set by the approving decision, which creates it).
    pub teacher_id: Option<TeacherId>,
    /// A certification applicant without a record: the fields their record will have.
    pub applicant: Option<TeacherFields>,
    /// The applicant's name as on the application, for lists and receipts.
    pub applicant_name: String,
    /// Certification: the kind applied for.
    pub certificate_kind: Option<CertificateKind>,
    /// Reissue and registration: the certificate concerned; certification: the one issued.
    pub certificate_number: Option<String>,
    /// What the applicant handed in, at the window and with the supplement.
    pub materials: Vec<String>,
    /// What the supplement notice listed as missing.
    pub missing: Vec<String>,
    pub received_on: NaiveDate,
    pub accepted_on: Option<NaiveDate>,
    pub pauses: Vec<Pause>,
    pub forwarded_on: Option<NaiveDate>,
    /// The county's opinion, sent with a forwarded case.
    pub county_opinion: String,
    pub assignee: Option<String>,
    pub decided_on: Option<NaiveDate>,
    /// The clock as it stood at the decision, frozen for the report (see [`report`]).
    pub decided_clock: Option<DecidedClock>,
    /// Why the case was refused at intake, denied or deferred.
    pub reasons: Vec<String>,
    pub registration_reasons: Vec<RegistrationReason>,
    /// Certification: the review items recorded as checked.
    pub review: Vec<ReviewItem>,
    pub steps: Vec<CaseStep>,
    pub revision: u64,
    pub create_time: UnixMicros,
    pub update_time: UnixMicros,
}

/// Who takes a step, and when.
#[derive(Debug, Clone)]
pub struct StepContext<'a> {
    pub principal: &'a str,
    pub time: UnixMicros,
    pub today: NaiveDate,
    pub note: &'a str,
}

/// What a new case needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub kind: CaseKind,
    pub county_code: CountyCode,
    pub teacher_id: Option<TeacherId>,
    pub applicant: Option<TeacherFields>,
    pub applicant_name: String,
    pub certificate_kind: Option<CertificateKind>,
    pub certificate_number: Option<String>,
    pub materials: Vec<String>,
    pub received_on: NaiveDate,
}

/// A decision as the deciding officer gives it; the store adds its effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: CaseOutcome,
    pub reasons: Vec<String>,
    pub registration_reasons: Vec<RegistrationReason>,
    pub review: Vec<ReviewItem>,
}

/// Where a case's clocks stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The day the clock started: acceptance, or receipt when the case counts as
    /// accepted on receipt.
    pub started_on: NaiveDate,
    /// The committed limit's last day; `None` while the clock is paused.
    pub due_on: Option<NaiveDate>,
    pub legal_due_on: Option<NaiveDate>,
    /// Working days used up to the decision, or up to today (pauses excluded).
    pub working_days_used: u32,
    /// Decided after the committed due date, or still open past it.
    pub overdue: bool,
    pub overdue_legal: bool,
}

fn refuse(reason: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::FailedPrecondition {
        reason,
        message: message.into(),
    }
}

impl Case {
    /// A case as received at the window.
    pub fn open(id: CaseId, new: NewCase, context: &StepContext<'_>) -> Case {
        let mut case = Case {
            id,
            kind: new.kind,
            state: CaseState::Received,
            outcome: None,
            county_code: new.county_code,
            teacher_id: new.teacher_id,
            applicant: new.applicant,
            applicant_name: new.applicant_name,
            certificate_kind: new.certificate_kind,
            certificate_number: new.certificate_number,
            materials: new.materials,
            missing: Vec::new(),
            received_on: new.received_on,
            accepted_on: None,
            pauses: Vec::new(),
            forwarded_on: None,
            county_opinion: String::new(),
            assignee: None,
            decided_on: None,
            decided_clock: None,
            reasons: Vec::new(),
            registration_reasons: Vec::new(),
            review: Vec::new(),
            steps: Vec::new(),
            revision: 0,
            create_time: context.time,
            update_time: context.time,
        };
        case.record(StepAction::Opened, context);
        case
    }

    /// Whether the city decides this case (two-level certification).
    pub fn is_two_level(&self) -> bool {
        self.kind == CaseKind::Certification
            && self
                .certificate_kind
                .is_some_and(|k| matches!(k.digit(), 4..=6))
    }

    /// The etag clients send back to change this case (AIP-154).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }

    fn record(&mut self, action: StepAction, context: &StepContext<'_>) {
        self.steps.push(CaseStep {
            action,
            principal: context.principal.to_string(),
            time: context.time,
            on: context.today,
            note: context.note.to_string(),
        });
        self.update_time = context.time;
    }

    fn expect_open(&self, step: &str) -> Result<(), DomainError> {
        if self.state.is_closed() {
            return Err(refuse(
                "CASE_CLOSED",
                format!("case {} is {:?}: it cannot be {step}", self.id, self.state),
            ));
        }
        Ok(())
    }

    fn expect(&self, states: &[CaseState], step: &str) -> Result<(), DomainError> {
        self.expect_open(step)?;
        if !states.contains(&self.state) {
            let reason = if self.state == CaseState::SupplementRequested {
                "SUPPLEMENT_PENDING"
            } else {
                "CASE_STATE"
            };
            return Err(refuse(
                reason,
                format!(
                    "case {} is {:?}; only a case that is {} can be {step}",
                    self.id,
                    self.state,
                    states
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            ));
        }
        Ok(())
    }

    /// Accepted at the window (受理): the receipt can be printed, the clock starts.
    pub fn accept(&mut self, context: &StepContext<'_>) -> Result<(), DomainError> {
        self.expect(&[CaseState::Received], "accepted")?;
        self.check_not_before(context.today, self.received_on, "accepted")?;
        self.state = CaseState::Accepted;
        self.accepted_on = Some(context.today);
        self.record(StepAction::Accepted, context);
        Ok(())
    }

    /// Refused at intake (不予受理), with the reason given to the applicant. A case that got
    /// no supplement notice within the notice period counts as accepted on receipt, and
    /// can then only be denied by a decision (`CASE_DEEMED_ACCEPTED`).
    pub fn refuse_at_intake(
        &mut self,
        reason: &str,
        calendar: &WorkingCalendar,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[CaseState::Received, CaseState::SupplementRequested],
            "refused at intake",
        )?;
        if self.accepted_on.is_some() {
            return Err(refuse(
                "CASE_STATE",
                format!(
                    "case {} was accepted: it can be denied by a decision, not refused at intake",
                    self.id
                ),
            ));
        }
        require_text(reason, "reason")?;
        let used = calendar.working_days_used(self.received_on, context.today, &[]);
        if self.pauses.is_empty() && used > NOTICE_WORKING_DAYS {
            return Err(refuse(
                "CASE_DEEMED_ACCEPTED",
                format!(
                    "case {} was received {used} working days ago without a notice of missing materials: it counts as accepted on receipt, and a refusal now is a decision (deny it)",
                    self.id
                ),
            ));
        }
        self.close_pause(context.today);
        self.state = CaseState::Refused;
        self.reasons = vec![reason.trim().to_string()];
        self.record(StepAction::Refused, context);
        Ok(())
    }

    /// The one notice listing everything missing (一次性告知): the clock stands still from
    /// today until the materials arrive.
    pub fn request_supplement(
        &mut self,
        missing: Vec<String>,
        calendar: &WorkingCalendar,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[
                CaseState::Received,
                CaseState::Accepted,
                CaseState::Forwarded,
            ],
            "sent a supplement notice",
        )?;
        let missing = clean_list(missing, "missing")?;
        if self
            .steps
            .iter()
            .any(|s| s.action == StepAction::SupplementRequested)
        {
            return Err(refuse(
                "SUPPLEMENT_ALREADY_REQUESTED",
                format!(
                    "case {} already had its supplement notice: the one notice lists everything missing",
                    self.id
                ),
            ));
        }
        self.check_not_before(context.today, self.received_on, "sent a supplement notice")?;
        if self.state == CaseState::Received {
            let used = calendar.working_days_used(self.received_on, context.today, &[]);
            if used > NOTICE_WORKING_DAYS {
                return Err(refuse(
                    "SUPPLEMENT_NOTICE_LATE",
                    format!(
                        "case {} was received {used} working days ago: a notice of missing materials must come within {NOTICE_WORKING_DAYS}, and without one the case counts as accepted on receipt",
                        self.id
                    ),
                ));
            }
        }
        self.missing = missing;
        self.pauses.push(Pause {
            from: context.today,
            until: None,
        });
        self.state = CaseState::SupplementRequested;
        self.record(StepAction::SupplementRequested, context);
        Ok(())
    }

    /// The missing materials arrived: the clock runs again, and the case is back where it
    /// was (received, accepted or forwarded).
    pub fn receive_supplement(
        &mut self,
        materials: Vec<String>,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(&[CaseState::SupplementRequested], "given a supplement")?;
        let materials = clean_list(materials, "materials")?;
        let paused_on = self.pauses.last().map_or(self.received_on, |p| p.from);
        self.check_not_before(context.today, paused_on, "given a supplement")?;
        self.materials.extend(materials);
        self.close_pause(context.today);
        self.state = if self.forwarded_on.is_some() {
            CaseState::Forwarded
        } else if self.accepted_on.is_some() {
            CaseState::Accepted
        } else {
            CaseState::Received
        };
        self.record(StepAction::SupplementReceived, context);
        Ok(())
    }

    /// The county sends a two-level case to the city with its opinion; the materials
    /// travel with it.
    pub fn forward(&mut self, opinion: &str, context: &StepContext<'_>) -> Result<(), DomainError> {
        self.expect(&[CaseState::Accepted], "forwarded")?;
        if !self.is_two_level() {
            return Err(refuse(
                "NOT_TWO_LEVEL",
                format!(
                    "case {} is decided by the county: only certification of senior secondary, secondary vocational and vocational intern-instructor qualifications goes to the city",
                    self.id
                ),
            ));
        }
        require_text(opinion, "opinion")?;
        self.state = CaseState::Forwarded;
        self.forwarded_on = Some(context.today);
        self.county_opinion = opinion.trim().to_string();
        self.record(StepAction::Forwarded, context);
        Ok(())
    }

    /// Gives the case to a member of staff. Returns false (and records nothing) if it is
    /// theirs already.
    pub fn assign(
        &mut self,
        assignee: &str,
        context: &StepContext<'_>,
    ) -> Result<bool, DomainError> {
        self.expect_open("assigned")?;
        require_text(assignee, "assignee")?;
        if self.assignee.as_deref() == Some(assignee.trim()) {
            return Ok(false);
        }
        self.assignee = Some(assignee.trim().to_string());
        self.record(StepAction::Assigned, context);
        Ok(true)
    }

    /// The applicant withdraws the application.
    pub fn withdraw(&mut self, context: &StepContext<'_>) -> Result<(), DomainError> {
        self.expect_open("withdrawn")?;
        self.close_pause(context.today);
        self.state = CaseState::Withdrawn;
        self.record(StepAction::Withdrawn, context);
        Ok(())
    }

    /// Checks a decision against the case and records it. The store applies its effect
    /// on the teacher in the same write.
    pub fn decide(
        &mut self,
        decision: Decision,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(&[CaseState::Accepted, CaseState::Forwarded], "decided")?;
        if self.is_two_level() && self.state != CaseState::Forwarded {
            return Err(refuse(
                "CITY_DECIDES",
                format!(
                    "case {} is two-level: the county forwards it and the city decides",
                    self.id
                ),
            ));
        }
        self.check_not_before(context.today, self.received_on, "decided")?;
        let Decision {
            outcome,
            reasons,
            mut registration_reasons,
            mut review,
        } = decision;
        let reasons: Vec<String> = reasons
            .into_iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        review.sort();
        review.dedup();
        registration_reasons.dedup();
        match (self.kind, outcome) {
            (CaseKind::Registration, CaseOutcome::Deferred | CaseOutcome::Denied) => {
                let defers = outcome == CaseOutcome::Deferred;
                if registration_reasons.is_empty() {
                    return Err(DomainError::invalid(
                        "registration_reasons",
                        "a deferred or refused registration names its reasons",
                    ));
                }
                if let Some(wrong) = registration_reasons.iter().find(|r| r.defers() != defers) {
                    return Err(DomainError::invalid(
                        "registration_reasons",
                        format!(
                            "{wrong:?} is a reason to {} a registration, not to {}",
                            if defers { "refuse" } else { "defer" },
                            if defers { "defer" } else { "refuse" }
                        ),
                    ));
                }
            }
            (_, CaseOutcome::Deferred) => {
                return Err(DomainError::invalid(
                    "outcome",
                    "only a periodic registration can be deferred",
                ))
            }
            (_, CaseOutcome::Denied) if reasons.is_empty() => {
                return Err(DomainError::invalid(
                    "reasons",
                    "a denial states its reasons",
                ))
            }
            (CaseKind::Certification, CaseOutcome::Approved) => {
                if let Some(missing) = ReviewItem::ALL.iter().find(|i| !review.contains(i)) {
                    return Err(refuse(
                        "REVIEW_INCOMPLETE",
                        format!(
                            "case {}: {missing:?} has not been recorded as checked",
                            self.id
                        ),
                    ));
                }
            }
            _ => {}
        }
        if outcome == CaseOutcome::Approved && !registration_reasons.is_empty() {
            return Err(DomainError::invalid(
                "registration_reasons",
                "an approval has no deferral or refusal reasons",
            ));
        }
        self.state = CaseState::Decided;
        self.outcome = Some(outcome);
        self.decided_on = Some(context.today);
        self.reasons = reasons;
        self.registration_reasons = registration_reasons;
        self.review = review;
        self.record(StepAction::Decided, context);
        Ok(())
    }

    /// Where the clocks stand on `today` (at the decision, once decided). `None` for a
    /// case refused at intake or withdrawn: no limit applies to it.
    pub fn clock(&self, rules: &WindowRules, today: NaiveDate) -> Option<Clock> {
        if matches!(self.state, CaseState::Refused | CaseState::Withdrawn) {
            return None;
        }
        let calendar = &rules.calendar;
        let limits = rules.limits(self.kind);
        let started_on = self.clock_start(calendar);
        let end = self.decided_on.unwrap_or(today).max(started_on);
        let due_on = calendar.due_on(started_on, limits.committed, &self.pauses);
        let legal_due_on = calendar.due_on(started_on, limits.legal, &self.pauses);
        let used = calendar.working_days_used(started_on, end, &self.pauses);
        // While the clock stands still there is no due date, but a case that had used up
        // its limit before the pause began is overdue all the same.
        let late = |due: Option<NaiveDate>, limit: u32| match due {
            Some(due) => end > due,
            None => used > limit,
        };
        if let Some(frozen) = self.decided_clock {
            // As the decision stood: the report counts it so, and the case agrees.
            return Some(Clock {
                started_on,
                due_on,
                legal_due_on,
                working_days_used: frozen.working_days_used,
                overdue: !frozen.within_committed,
                overdue_legal: !frozen.within_legal,
            });
        }
        Some(Clock {
            started_on,
            due_on,
            legal_due_on,
            working_days_used: used,
            overdue: late(due_on, limits.committed),
            overdue_legal: late(legal_due_on, limits.legal),
        })
    }

    /// Freezes the decision's clock under `rules` (see [`report`]); the store calls it
    /// with the decision, in the same write.
    pub fn freeze_clock(&mut self, rules: &WindowRules) {
        if self.state != CaseState::Decided {
            return;
        }
        let decided_on = self.decided_on.unwrap_or(self.received_on);
        self.decided_clock = self.clock(rules, decided_on).map(|clock| DecidedClock {
            working_days_used: clock.working_days_used,
            within_committed: !clock.overdue,
            within_legal: !clock.overdue_legal,
        });
    }

    /// Acceptance starts the clock if it came within the notice period, or after the
    /// supplement its notice asked for; otherwise the case counts as accepted on receipt.
    /// A case not yet accepted is timed from receipt, the earliest it can count from.
    fn clock_start(&self, calendar: &WorkingCalendar) -> NaiveDate {
        let Some(accepted_on) = self.accepted_on else {
            return self.received_on;
        };
        // A notice given at intake, while the case was only received; not one given on the
        // day of a late acceptance, which would otherwise move the start.
        let noticed_at_intake = self.noticed_before_acceptance();
        if noticed_at_intake {
            // Accepted once the missing materials came: on acceptance, if the window
            // accepted within the notice period of their arrival; else on their arrival.
            let arrived = self
                .pauses
                .first()
                .and_then(|p| p.until)
                .unwrap_or(accepted_on);
            let prompt =
                calendar.working_days_used(arrived, accepted_on, &[]) <= NOTICE_WORKING_DAYS;
            return if prompt { accepted_on } else { arrived };
        }
        let in_time =
            calendar.working_days_used(self.received_on, accepted_on, &[]) <= NOTICE_WORKING_DAYS;
        if in_time {
            accepted_on
        } else {
            self.received_on
        }
    }

    /// Whether the supplement notice came while the case was only received.
    fn noticed_before_acceptance(&self) -> bool {
        let position = |action| self.steps.iter().position(|s| s.action == action);
        match (
            position(StepAction::SupplementRequested),
            position(StepAction::Accepted),
        ) {
            (Some(notice), Some(accepted)) => notice < accepted,
            _ => false,
        }
    }

    fn close_pause(&mut self, today: NaiveDate) {
        if let Some(pause) = self.pauses.last_mut().filter(|p| p.until.is_none()) {
            pause.until = Some(today.max(pause.from));
        }
    }

    fn check_not_before(
        &self,
        today: NaiveDate,
        earliest: NaiveDate,
        step: &str,
    ) -> Result<(), DomainError> {
        if today < earliest {
            return Err(refuse(
                "CASE_DATE",
                format!(
                    "case {} cannot be {step} on {today}, before {earliest}",
                    self.id
                ),
            ));
        }
        Ok(())
    }
}

fn require_text(text: &str, field: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// Trimmed, without empty entries; at least one.
fn clean_list(items: Vec<String>, field: &str) -> Result<Vec<String>, DomainError> {
    let items: Vec<String> = items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    if items.is_empty() {
        return Err(DomainError::invalid(field, "list at least one item"));
    }
    Ok(items)
}
