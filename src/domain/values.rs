//! The plain values the records are made of (enums with their wire "not set", county codes,
//! times, dates, etags), in a module of their own so that every record type can use them
//! without naming the teacher record, which in turn is made of those records.

use chrono::NaiveDate;

use crate::domain::error::DomainError;
use crate::domain::text::shown;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmploymentStatus {
    Active,
    Transferred,
    Retired,
    Left,
    /// Qualified, or applying, but without a teaching post (待聘).
    NotEmployed,
}

/// An enum field as it arrived on the wire: not set, a value this version knows, or a
/// number it does not (a newer client, or garbage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<T> {
    Unset,
    Known(T),
    Unknown(i32),
}

/// A six-digit GB/T 2260 county-level division code, such as `350702`. Decoding checks
/// it too, so a damaged stored code is an error, never a malformed code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountyCode(String);

impl TryFrom<String> for CountyCode {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        match CountyCode::parse(&raw) {
            Ok(code) if code.0 == raw => Ok(code),
            Ok(_) => Err(format!("county code {raw:?} is not in canonical form")),
            Err(e) => Err(format!("county code {raw:?} {e}")),
        }
    }
}

impl From<CountyCode> for String {
    fn from(code: CountyCode) -> String {
        code.0
    }
}

/// Two-digit province-level codes of GB/T 2260: the 34 provinces, autonomous regions,
/// municipalities and special administrative regions.
pub(crate) const PROVINCE_CODES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

impl CountyCode {
    /// Six digits, a real province prefix, and not a province or prefecture code
    /// (those end in `00`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a 6-digit GB/T 2260 division code".into());
        }
        if !PROVINCE_CODES.contains(&&code[..2]) {
            return Err(format!("{} is not a province code", &code[..2]));
        }
        if code.ends_with("00") {
            return Err("is a province or prefecture code, not a county code".into());
        }
        Ok(Self(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMicros(pub i64);

/// The etag of the record version written at `revision`.
pub fn etag_of(revision: u64) -> String {
    format!("r{revision}")
}

/// Refuses a write that names an etag (AIP-154) other than the record's `current` one; a
/// write that names none is not checked.
pub fn check_etag(given: Option<String>, current: String) -> Result<(), DomainError> {
    match given {
        Some(given) if given != current => Err(DomainError::StaleEtag { given, current }),
        _ => Ok(()),
    }
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required (YYYY-MM-DD)".into());
    }
    if raw.len() != 10 {
        return Err(format!(
            "{} is not a date in the form YYYY-MM-DD",
            shown(raw)
        ));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| format!("{} is not a real date in the form YYYY-MM-DD", shown(raw)))
}

/// A date that is real and not after `today`.
pub fn past_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = parse_date(raw)?;
    if date > today {
        return Err(format!("{date} is in the future"));
    }
    Ok(date)
}
