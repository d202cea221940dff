//! The primitives every conversion between proto messages and the domain is built from:
//! enums whose zero means "not set", dates and times in their one wire form, and the error a
//! stored record's message gets when it is not one. Kept apart from the message conversions
//! ([`crate::api::convert`] for teachers, `case_convert`, `former_convert`) so that those can
//! name each other's messages without naming each other's basics.

use chrono::{Datelike, NaiveDate};
use prost_types::Timestamp;

use crate::domain::{Choice, CountyCode, UnixMicros};

/// A domain enum with a proto counterpart whose zero value means "not set".
pub(crate) trait WireEnum: Sized {
    /// Reads a raw enum number from the wire.
    fn from_wire(raw: i32) -> Choice<Self>;
    /// The enum number to send.
    fn to_wire(self) -> i32;
}

/// Maps a domain enum and its proto enum onto each other, variant by variant.
macro_rules! wire_enum {
    ($domain:ident, $pb:ident { $($variant:ident => $pb_variant:ident),+ $(,)? }) => {
        impl WireEnum for $domain {
            fn from_wire(raw: i32) -> Choice<Self> {
                match pb::$pb::try_from(raw) {
                    Ok(pb::$pb::Unspecified) => Choice::Unset,
                    $(Ok(pb::$pb::$pb_variant) => Choice::Known($domain::$variant),)+
                    Err(_) => Choice::Unknown(raw),
                }
            }

            fn to_wire(self) -> i32 {
                match self {
                    $($domain::$variant => pb::$pb::$pb_variant as i32,)+
                }
            }
        }
    };
}

pub(crate) use wire_enum;

pub(crate) fn wire<T: WireEnum>(value: Option<T>) -> i32 {
    value.map_or(0, WireEnum::to_wire)
}

/// Why a message from a backup cannot be a stored record. Fields are named by their proto
/// path, e.g. `teacher.certificates[0].copies[1].issued_on`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MalformedRecord {
    #[error("{0} is not set")]
    Missing(String),
    #[error("{field} has the unknown value {value}")]
    UnknownValue { field: String, value: i32 },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("{0} is not in canonical form")]
    NotCanonical(String),
    #[error("{field} is {found:?} but the record makes it {derived:?}")]
    Disagrees {
        field: String,
        found: String,
        derived: String,
    },
    #[error("{0} is finer than a microsecond or out of range")]
    Time(String),
    #[error("{0} is MOVED_OUT, which only a county's feed shows, never the change log")]
    MovedOut(String),
    #[error("{0} is set: a backup keeps the teachers apart from the change log")]
    TeacherInChange(String),
}

pub(crate) fn invalid(field: &str, problem: impl ToString) -> MalformedRecord {
    MalformedRecord::Invalid {
        field: field.into(),
        problem: problem.to_string(),
    }
}

/// An enum field that a record always has.
pub(crate) fn known<T: WireEnum>(field: &str, raw: i32) -> Result<T, MalformedRecord> {
    optional(field, raw)?.ok_or_else(|| MalformedRecord::Missing(field.into()))
}

/// An enum field whose zero value means "none".
pub(crate) fn optional<T: WireEnum>(field: &str, raw: i32) -> Result<Option<T>, MalformedRecord> {
    match T::from_wire(raw) {
        Choice::Known(value) => Ok(Some(value)),
        Choice::Unset => Ok(None),
        Choice::Unknown(value) => Err(MalformedRecord::UnknownValue {
            field: field.into(),
            value,
        }),
    }
}

/// A date exactly as [`date`] writes it.
pub(crate) fn stored_date(field: &str, raw: &str) -> Result<NaiveDate, MalformedRecord> {
    let parsed = crate::domain::parse_date(raw).map_err(|problem| invalid(field, problem))?;
    match date(parsed) == raw {
        true => Ok(parsed),
        false => Err(MalformedRecord::NotCanonical(field.into())),
    }
}

pub(crate) fn stored_county(field: &str, raw: String) -> Result<CountyCode, MalformedRecord> {
    CountyCode::try_from(raw).map_err(|problem| invalid(field, problem))
}

/// A time exactly as [`timestamp`] writes it: set, whole microseconds, within range.
pub(crate) fn stored_time(
    field: &str,
    time: Option<Timestamp>,
) -> Result<UnixMicros, MalformedRecord> {
    let Timestamp { seconds, nanos } =
        time.ok_or_else(|| MalformedRecord::Missing(field.into()))?;
    seconds
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(i64::from(nanos / 1000)))
        .filter(|_| (0..1_000_000_000).contains(&nanos) && nanos % 1000 == 0)
        .map(UnixMicros)
        .ok_or_else(|| MalformedRecord::Time(field.into()))
}

/// `YYYY-MM-DD`, without chrono's strftime machinery (which parses the pattern on every
/// call; a page of 100 teachers formats several hundred dates).
pub(crate) fn date(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

pub(crate) fn timestamp(time: UnixMicros) -> Timestamp {
    Timestamp {
        seconds: time.0.div_euclid(1_000_000),
        nanos: (time.0.rem_euclid(1_000_000) * 1000) as i32,
    }
}
