//! A principal's count of request ids, and the window it is counted in, as plain data.
//!
//! Apart from the cap's checks (`store::request_quota`) because the stored format
//! (`store::format::request_quota`), the codec and every write that remembers a request
//! id name these types, while the checks call into the codec: here the types name nothing
//! of the store.

use std::time::Duration;

use crate::domain::UnixMicros;

/// The request ids a principal keeps, by stretch of time, earliest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestQuota {
    pub(crate) buckets: Vec<QuotaBucket>,
}

/// The request ids a principal recorded in one stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuotaBucket {
    /// The stretch's start (microseconds since the epoch).
    pub(crate) start: i64,
    /// When the newest of them was recorded: the stretch expires with it.
    pub(crate) newest: i64,
    pub(crate) count: u64,
}

/// What the writer knows of request ids when it applies a write: the moment before which
/// records have expired, the window, and the cap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestWindow {
    pub(crate) kept_since: UnixMicros,
    pub(crate) retention: Duration,
    pub(crate) per_principal: u64,
}

/// The moment before which request records have expired, `retention` before `now`.
pub(crate) fn kept_since(now: UnixMicros, retention: Duration) -> UnixMicros {
    let window = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
    UnixMicros(now.0.saturating_sub(window))
}
