//! Where a case's clocks stand: the day the clock started, the committed and legal due
//! dates, the working days used. Nothing here is stored but the clock frozen at the
//! decision: the rest follows from the case's dates and the operator's [`WindowRules`], so
//! it lives apart from the steps that change the case.

use chrono::NaiveDate;

use super::{
    Case, CaseState, DecidedClock, StepAction, WindowRules, WorkingCalendar, NOTICE_WORKING_DAYS,
};

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

impl Case {
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
}
