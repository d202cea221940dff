//! Format 2 of a principal's request-id count (see `store::request_quota`): a
//! storage-only protobuf message under the rules of [`super::v2`].

use prost::Message;

use crate::store::request_quota::{QuotaBucket, RequestQuota};

/// The request ids a principal keeps, counted by when they were recorded.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RequestQuotaRecord {
    #[prost(message, repeated, tag = "1")]
    buckets: Vec<BucketRecord>,
}

/// The request ids recorded in one stretch of time.
#[derive(Clone, PartialEq, Message)]
struct BucketRecord {
    /// The stretch's start, microseconds since the epoch.
    #[prost(int64, tag = "1")]
    start: i64,
    /// When the newest of them was recorded.
    #[prost(int64, tag = "2")]
    newest: i64,
    #[prost(uint64, tag = "3")]
    count: u64,
}

impl RequestQuotaRecord {
    pub(crate) fn of(quota: &RequestQuota) -> Self {
        RequestQuotaRecord {
            buckets: quota
                .buckets
                .iter()
                .map(|b| BucketRecord {
                    start: b.start,
                    newest: b.newest,
                    count: b.count,
                })
                .collect(),
        }
    }

    pub(crate) fn into_domain(self) -> RequestQuota {
        RequestQuota {
            buckets: self
                .buckets
                .into_iter()
                .map(|b| QuotaBucket {
                    start: b.start,
                    newest: b.newest,
                    count: b.count,
                })
                .collect(),
        }
    }
}
