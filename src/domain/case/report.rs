//! The figures a bureau reports about its window (办件统计), and the consultations it
//! answered.
//!
//! A report must cost the same at any size, so its figures are counts the write path
//! keeps: each case contributes to a few cells (year, month, county, kind), and every
//! step replaces the case's old contributions with its new ones in the same atomic write.
//! [`contributions`] is a pure function of the case record, so `verify` can recompute
//! every cell from the records and compare.
//!
//! Which month a case counts in:
//! - **received, accepted, refused at intake**: the month it was received (an acceptance
//!   belongs to the application it accepts, whenever the window recorded it);
//! - **decided** (by outcome), **within the committed and the legal limit**, **decided
//!   late**, and the working days it took: the month of the decision;
//! - a **consultation**: the month it was given.
//!
//! Whether a decision was on time is frozen in the record when it is made
//! ([`DecidedClock`]): a report counts a decision as it stood that day, under the
//! calendar and limits then in force, so a calendar corrected later does not rewrite a
//! year already published. "Open past the limit now" depends on today, so it is no
//! counter: the report works it out from the open cases (see `store::cases::report`).
//!
//! The median needs the distribution, not a sum, so each cell keeps a histogram of
//! working days used: one count per exact number of days up to [`WORKING_DAYS_CAP`],
//! which also counts everything above it.

use chrono::{Datelike, NaiveDate};

use super::{Case, CaseKind, CaseOutcome, CaseState};
use crate::domain::{CountyCode, UnixMicros};

/// The last bucket of the working-days histogram: this many working days or more (a
/// year's working days; no limit comes near it).
pub const WORKING_DAYS_CAP: u32 = 250;

/// A decision's clock as it stood the day it was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecidedClock {
    /// Working days from the clock's start to the decision, pauses excluded.
    pub working_days_used: u32,
    pub within_committed: bool,
    pub within_legal: bool,
}

/// The counts of one cell of the report: one month, county and kind (or, for
/// consultations, one month and county).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFigures {
    pub received: u64,
    pub accepted: u64,
    pub refused: u64,
    pub approved: u64,
    pub denied: u64,
    pub deferred: u64,
    pub within_committed: u64,
    pub within_legal: u64,
    /// Decided after the committed limit.
    pub decided_late: u64,
    pub consultations: u64,
    /// `working_days[n]`: decisions that took `n` working days (the last entry, at
    /// [`WORKING_DAYS_CAP`], also counts more). No trailing zeros.
    pub working_days: Vec<u64>,
}

/// Which cell a contribution goes to. `kind` is `None` for consultations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub year: i32,
    pub month: u32,
    pub county: CountyCode,
    pub kind: Option<CaseKind>,
}

impl Cell {
    fn of(date: NaiveDate, county: &CountyCode, kind: Option<CaseKind>) -> Self {
        Cell {
            year: date.year(),
            month: date.month(),
            county: county.clone(),
            kind,
        }
    }
}

impl CaseFigures {
    pub fn decided(&self) -> u64 {
        self.approved + self.denied + self.deferred
    }

    pub fn is_empty(&self) -> bool {
        *self == CaseFigures::default()
    }

    /// Adds `other`, or subtracts it with `negative`; `None` if a count would fall below
    /// zero (counters that disagree with their records).
    pub fn combine(&mut self, other: &CaseFigures, negative: bool) -> Option<()> {
        let apply = |mine: &mut u64, theirs: u64| -> Option<()> {
            *mine = if negative {
                mine.checked_sub(theirs)?
            } else {
                mine.checked_add(theirs)?
            };
            Some(())
        };
        apply(&mut self.received, other.received)?;
        apply(&mut self.accepted, other.accepted)?;
        apply(&mut self.refused, other.refused)?;
        apply(&mut self.approved, other.approved)?;
        apply(&mut self.denied, other.denied)?;
        apply(&mut self.deferred, other.deferred)?;
        apply(&mut self.within_committed, other.within_committed)?;
        apply(&mut self.within_legal, other.within_legal)?;
        apply(&mut self.decided_late, other.decided_late)?;
        apply(&mut self.consultations, other.consultations)?;
        if self.working_days.len() < other.working_days.len() {
            self.working_days.resize(other.working_days.len(), 0);
        }
        for (mine, theirs) in self.working_days.iter_mut().zip(&other.working_days) {
            apply(mine, *theirs)?;
        }
        while self.working_days.last() == Some(&0) {
            self.working_days.pop();
        }
        Some(())
    }

    /// The median of the working days decisions took (the mean of the two middle ones
    /// when their number is even); `None` without decisions. A median in the cap bucket
    /// reads as the cap.
    pub fn median_working_days(&self) -> Option<f64> {
        let total: u64 = self.working_days.iter().sum();
        if total == 0 {
            return None;
        }
        let nth = |rank: u64| -> f64 {
            let mut seen = 0;
            for (days, count) in self.working_days.iter().enumerate() {
                seen += count;
                if seen > rank {
                    return days as f64;
                }
            }
            WORKING_DAYS_CAP as f64
        };
        Some((nth((total - 1) / 2) + nth(total / 2)) / 2.0)
    }
}

/// What `case` counts for in the report, cell by cell.
pub fn contributions(case: &Case) -> Vec<(Cell, CaseFigures)> {
    let mut received = CaseFigures {
        received: 1,
        accepted: u64::from(case.accepted_on.is_some()),
        refused: u64::from(case.state == CaseState::Refused),
        ..CaseFigures::default()
    };
    let received_cell = Cell::of(case.received_on, &case.county_code, Some(case.kind));
    let decided = match (case.state, case.outcome, case.decided_on) {
        (CaseState::Decided, Some(outcome), Some(on)) => {
            let mut figures = CaseFigures {
                approved: u64::from(outcome == CaseOutcome::Approved),
                denied: u64::from(outcome == CaseOutcome::Denied),
                deferred: u64::from(outcome == CaseOutcome::Deferred),
                ..CaseFigures::default()
            };
            if let Some(clock) = case.decided_clock {
                figures.within_committed = u64::from(clock.within_committed);
                figures.within_legal = u64::from(clock.within_legal);
                figures.decided_late = u64::from(!clock.within_committed);
                let bucket = clock.working_days_used.min(WORKING_DAYS_CAP) as usize;
                figures.working_days = vec![0; bucket + 1];
                figures.working_days[bucket] = 1;
            }
            Some((Cell::of(on, &case.county_code, Some(case.kind)), figures))
        }
        _ => None,
    };
    match decided {
        Some((cell, figures)) if cell == received_cell => {
            received.combine(&figures, false);
            vec![(received_cell, received)]
        }
        Some(decided) => vec![(received_cell, received), decided],
        None => vec![(received_cell, received)],
    }
}

/// How an enquiry came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsultationChannel {
    /// At the service centre's window.
    Window,
    Phone,
    /// Online: the government service portal, e-mail, a message.
    Online,
    Letter,
}

/// A consultation answered (咨询): when, about what, how. No personal data: the figures
/// need none, and a log of who asked what is not the registry's to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub on: NaiveDate,
    pub county_code: CountyCode,
    pub topic: String,
    pub channel: ConsultationChannel,
    /// Who recorded it.
    pub principal: String,
    pub time: UnixMicros,
    pub revision: u64,
}

/// Longest topic kept, in characters: a subject line, not a transcript.
pub const MAX_TOPIC_CHARS: usize = 200;

impl Consultation {
    /// Its one contribution: a consultation in its month and county.
    pub fn contribution(&self) -> (Cell, CaseFigures) {
        (
            Cell::of(self.on, &self.county_code, None),
            CaseFigures {
                consultations: 1,
                ..CaseFigures::default()
            },
        )
    }
}

/// The periods a report is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportPeriod {
    Month,
    Quarter,
    Year,
}

impl ReportPeriod {
    /// The period's number within its year: the month (1-12), the quarter (1-4), or 0
    /// for the whole year.
    pub fn of_month(self, month: u32) -> u32 {
        match self {
            Self::Month => month,
            Self::Quarter => month.div_ceil(3),
            Self::Year => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(days: &[u32]) -> CaseFigures {
        let mut figures = CaseFigures::default();
        for &d in days {
            let mut one = CaseFigures {
                working_days: vec![0; d as usize + 1],
                ..CaseFigures::default()
            };
            one.working_days[d as usize] = 1;
            figures.combine(&one, false).unwrap();
        }
        figures
    }

    #[test]
    fn the_median_comes_from_the_histogram() {
        assert_eq!(histogram(&[]).median_working_days(), None);
        assert_eq!(histogram(&[7]).median_working_days(), Some(7.0));
        assert_eq!(histogram(&[3, 9]).median_working_days(), Some(6.0));
        assert_eq!(histogram(&[1, 2, 2, 30]).median_working_days(), Some(2.0));
        assert_eq!(histogram(&[0, 5, 40]).median_working_days(), Some(5.0));
    }

    #[test]
    fn subtracting_what_was_added_leaves_nothing_and_too_much_is_refused() {
        let mut figures = histogram(&[4, 12]);
        figures.received = 2;
        let copy = figures.clone();
        figures.combine(&copy, true).unwrap();
        assert!(figures.is_empty());
        assert_eq!(figures.combine(&copy, true), None);
    }

    #[test]
    fn quarters_group_months() {
        let q: Vec<u32> = (1..=12)
            .map(|m| ReportPeriod::Quarter.of_month(m))
            .collect();
        assert_eq!(q, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
        assert_eq!(ReportPeriod::Year.of_month(7), 0);
    }
}
