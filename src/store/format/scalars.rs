//! How format 2 stores a date, an enum's number and a registry number.
//!
//! Apart from the teacher's messages (`format::v2`) because every message of format 2
//! stores these, those the teacher's record embeds (`former`) included.

use chrono::{Datelike, NaiveDate};

use super::codes::Coded;
use crate::domain::TeacherId;

pub(crate) fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

pub(super) fn date(days: i32) -> Result<NaiveDate, String> {
    NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| format!("day {days} is no date"))
}

pub(crate) fn known<T: Coded>(number: i32, what: &str) -> Result<T, String> {
    T::from_number(number).ok_or_else(|| format!("unknown {what} {number}"))
}

pub(super) fn optional<T: Coded>(number: i32, what: &str) -> Result<Option<T>, String> {
    match number {
        0 => Ok(None),
        number => known(number, what).map(Some),
    }
}

pub(super) fn registry_number(text: String) -> Result<TeacherId, String> {
    TeacherId::try_from(text)
}
