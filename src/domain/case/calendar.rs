//! Working days, and the time limits counted in them.
//!
//! Administrative time limits count working days: Saturdays, Sundays and public holidays
//! do not count, and official make-up working days (a Saturday or Sunday declared a
//! working day) do. The State Council publishes each year's schedule late in the year
//! before, so the schedule is data the operator keeps in a file, not code: this module
//! parses that file and does the arithmetic. A limit of N working days counts from the
//! day after the clock starts (the start day itself never counts), skipping the days the
//! clock is paused.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// Which days are working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    /// Weekdays that are public holidays.
    holidays: BTreeSet<NaiveDate>,
    /// Saturdays and Sundays that are working days.
    make_up_days: BTreeSet<NaiveDate>,
}

/// Why a calendar file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar is not valid TOML: {0}")]
    Syntax(String),
    #[error("year {year}: {date} is listed under {list} but belongs to year {actual}")]
    WrongYear {
        year: i32,
        list: &'static str,
        date: NaiveDate,
        actual: i32,
    },
    #[error("year {year}: {date} is a Saturday or Sunday, so it is no working day to take off; list only weekdays under holidays")]
    WeekendHoliday { year: i32, date: NaiveDate },
    #[error("year {year}: {date} is a weekday, so it is a working day already; list only Saturdays and Sundays under make_up_days")]
    WeekdayMakeUp { year: i32, date: NaiveDate },
    #[error("year key {0:?} is not a year")]
    Year(String),
}

/// The file's shape: one table per year.
///
/// ```toml
/// [2026]
/// holidays = ["2026-01-01", "2026-01-02"]
/// make_up_days = ["2026-01-04"]
/// ```
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct YearFile {
    #[serde(default)]
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    make_up_days: Vec<NaiveDate>,
}

impl WorkingCalendar {
    /// Weekends off, no holidays: the calendar when the operator supplies none.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// Parses the operator's calendar file (see [`YearFile`]). Every date must belong to
    /// the year it is listed under, a holiday must fall on a weekday and a make-up day on
    /// a weekend, so a typo is refused instead of silently moving a deadline.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let years: BTreeMap<String, YearFile> =
            toml::from_str(text).map_err(|e| CalendarError::Syntax(e.message().to_string()))?;
        Self::from_years(years)
    }

    /// The calendar of the years of a parsed file.
    pub(super) fn from_years(years: BTreeMap<String, YearFile>) -> Result<Self, CalendarError> {
        let mut calendar = Self::default();
        for (key, file) in years {
            let year: i32 = key.parse().map_err(|_| CalendarError::Year(key.clone()))?;
            for (list, dates) in [
                ("holidays", &file.holidays),
                ("make_up_days", &file.make_up_days),
            ] {
                for &date in dates {
                    if date.year() != year {
                        return Err(CalendarError::WrongYear {
                            year,
                            list,
                            date,
                            actual: date.year(),
                        });
                    }
                }
            }
            for &date in &file.holidays {
                if is_weekend(date) {
                    return Err(CalendarError::WeekendHoliday { year, date });
                }
                calendar.holidays.insert(date);
            }
            for &date in &file.make_up_days {
                if !is_weekend(date) {
                    return Err(CalendarError::WeekdayMakeUp { year, date });
                }
                calendar.make_up_days.insert(date);
            }
        }
        Ok(calendar)
    }

    /// The weekdays off and the weekend days worked, each in date order.
    pub(super) fn exceptions(&self) -> (&BTreeSet<NaiveDate>, &BTreeSet<NaiveDate>) {
        (&self.holidays, &self.make_up_days)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if is_weekend(date) {
            self.make_up_days.contains(&date)
        } else {
            !self.holidays.contains(&date)
        }
    }

    /// The working days after `start` up to and including `end`, except those inside a
    /// pause: how much of a limit a clock started on `start` has used by `end`.
    pub fn working_days_used(&self, start: NaiveDate, end: NaiveDate, pauses: &[Pause]) -> u32 {
        let mut used = 0;
        let mut day = start;
        while day < end {
            day = next_day(day);
            if self.is_working_day(day) && !pauses.iter().any(|p| p.covers(day)) {
                used += 1;
            }
        }
        used
    }

    /// The day on which a clock started on `start` has used `limit` working days, the
    /// paused days not counted. An open pause (not yet ended) has no end: the due date is
    /// then `None`, as nobody can tell it until the materials arrive.
    pub fn due_on(&self, start: NaiveDate, limit: u32, pauses: &[Pause]) -> Option<NaiveDate> {
        if pauses.iter().any(|p| p.until.is_none()) {
            return None;
        }
        let mut left = limit;
        let mut day = start;
        while left > 0 {
            day = next_day(day);
            if self.is_working_day(day) && !pauses.iter().any(|p| p.covers(day)) {
                left -= 1;
            }
        }
        Some(day)
    }

    /// The working day `n` working days after `date` (the first working day on or after
    /// it for `n = 0`): "due within N working days" means due on or before this day.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            day = next_day(day);
        }
        self.due_on(day, n, &[]).unwrap_or(day)
    }
}

/// A stretch of days during which a case's clock stands still: from the day the
/// supplement notice is given to the day the materials arrive, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: NaiveDate,
    /// `None` while the materials are still awaited.
    pub until: Option<NaiveDate>,
}

impl Pause {
    fn covers(&self, day: NaiveDate) -> bool {
        day >= self.from && self.until.is_none_or(|until| day <= until)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// The 2026 National Day week as published: 1-8 October off (the weekdays among them
    /// holidays), Sunday 27 September and Saturday 10 October worked.
    fn golden_week() -> WorkingCalendar {
        WorkingCalendar::parse(
            r#"
            [2026]
            holidays = ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08"]
            make_up_days = ["2026-09-27", "2026-10-10"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn weekends_do_not_count() {
        let calendar = WorkingCalendar::weekends_only();
        // Friday 4 December 2026: Monday 7 is the first working day after it.
        assert_eq!(
            calendar.due_on(d("2026-12-04"), 1, &[]),
            Some(d("2026-12-07"))
        );
        assert_eq!(
            calendar.due_on(d("2026-12-04"), 5, &[]),
            Some(d("2026-12-11"))
        );
        assert_eq!(
            calendar.due_on(d("2026-12-04"), 20, &[]),
            Some(d("2027-01-01"))
        );
        assert_eq!(
            calendar.working_days_used(d("2026-12-04"), d("2026-12-13"), &[]),
            5
        );
        assert_eq!(
            calendar.working_days_used(d("2026-12-04"), d("2026-12-04"), &[]),
            0
        );
    }

    #[test]
    fn a_holiday_week_stops_the_clock_and_a_make_up_day_runs_it() {
        let calendar = golden_week();
        assert!(!calendar.is_working_day(d("2026-10-01")));
        assert!(!calendar.is_working_day(d("2026-10-03")));
        assert!(calendar.is_working_day(d("2026-09-27")), "a make-up Sunday");
        assert!(
            calendar.is_working_day(d("2026-10-10")),
            "a make-up Saturday"
        );
        // Received Friday 25 September: 26 off, 27 worked (1), 28 (2), 29 (3), 30 (4),
        // 1-8 October off, 9 (5).
        assert_eq!(
            calendar.due_on(d("2026-09-25"), 5, &[]),
            Some(d("2026-10-09"))
        );
        // The make-up Saturday 10 October is the sixth.
        assert_eq!(
            calendar.due_on(d("2026-09-25"), 6, &[]),
            Some(d("2026-10-10"))
        );
        assert_eq!(
            calendar.working_days_used(d("2026-09-25"), d("2026-10-10"), &[]),
            6
        );
    }

    #[test]
    fn a_paused_clock_moves_the_due_date_by_the_working_days_paused() {
        let calendar = WorkingCalendar::weekends_only();
        // Started Monday 7 December; paused Wednesday 9 to Monday 14 (four working days).
        let pause = Pause {
            from: d("2026-12-09"),
            until: Some(d("2026-12-14")),
        };
        assert_eq!(
            calendar.due_on(d("2026-12-07"), 5, &[]),
            Some(d("2026-12-14"))
        );
        assert_eq!(
            calendar.due_on(d("2026-12-07"), 5, &[pause]),
            Some(d("2026-12-18"))
        );
        assert_eq!(
            calendar.working_days_used(d("2026-12-07"), d("2026-12-15"), &[pause]),
            2
        );
        let open = Pause {
            until: None,
            ..pause
        };
        assert_eq!(calendar.due_on(d("2026-12-07"), 5, &[open]), None);
        assert_eq!(
            calendar.working_days_used(d("2026-12-07"), d("2026-12-31"), &[open]),
            1
        );
    }

    #[test]
    fn due_within_counts_from_the_next_working_day() {
        let calendar = golden_week();
        assert_eq!(
            calendar.add_working_days(d("2026-09-30"), 1),
            d("2026-10-09")
        );
        assert_eq!(
            calendar.add_working_days(d("2026-10-03"), 0),
            d("2026-10-09")
        );
    }

    #[test]
    fn typos_in_the_file_are_refused() {
        let wrong_year = "[2026]\nholidays = [\"2025-10-01\"]";
        assert!(matches!(
            WorkingCalendar::parse(wrong_year),
            Err(CalendarError::WrongYear { .. })
        ));
        let weekend = "[2026]\nholidays = [\"2026-10-03\"]";
        assert!(matches!(
            WorkingCalendar::parse(weekend),
            Err(CalendarError::WeekendHoliday { .. })
        ));
        let weekday = "[2026]\nmake_up_days = [\"2026-10-09\"]";
        assert!(matches!(
            WorkingCalendar::parse(weekday),
            Err(CalendarError::WeekdayMakeUp { .. })
        ));
        let unknown = "[2026]\nholiday = [\"2026-10-09\"]";
        assert!(matches!(
            WorkingCalendar::parse(unknown),
            Err(CalendarError::Syntax(_))
        ));
        assert!(matches!(
            WorkingCalendar::parse("[twenty]\n"),
            Err(CalendarError::Year(_))
        ));
    }
}
