//! The registry's clock. Dates ("today", for validation) are taken in China Standard Time
//! (UTC+8), where the registry's users are, not in the server's local zone.

use chrono::{FixedOffset, NaiveDate, Utc};

use crate::domain::UnixMicros;

/// The current time.
pub fn now() -> UnixMicros {
    UnixMicros(Utc::now().timestamp_micros())
}

/// Today's date in China Standard Time.
pub fn today() -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&cst).date_naive()
}
