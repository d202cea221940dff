//! A cap on the request ids one principal keeps (#21, finding 5).
//!
//! Every write with a new request id leaves a record of its first answer (a whole teacher)
//! for the retention window (see [`crate::store::requests`]), changed or not: 20,000 no-op
//! updates with unique ids grew a store from 7 MB to 21 MB, and one county token could
//! fill a disk in hours. So each principal may keep at most
//! `StoreOptions::request_ids_per_principal` records within the window
//! ([`crate::store::DEFAULT_REQUEST_IDS_PER_PRINCIPAL`] unless told otherwise).
//!
//! A principal at its cap is refused: a write with a *new* request id is
//! RESOURCE_EXHAUSTED (reason `REQUEST_IDS_EXHAUSTED`, with RetryInfo saying when its
//! oldest records expire), and changes nothing. The other choice, forgetting the
//! principal's oldest record to make room, would break the promise of AIP-155: a retry of
//! that forgotten request, still inside the window, would be applied a second time. With a
//! refusal, a retry never duplicates within the window: a retry's id is looked up before
//! the cap is counted, so retries of requests already answered still replay, and a new
//! request that was refused can be sent again, with the same id, once there is room.
//!
//! The count is one value per principal (`keys::REQUEST_QUOTA`), updated in the same
//! atomic step as the records it counts: a record made adds one to the stretch of time
//! (1/[`BUCKETS`] of the window) it was made in, and trimming an expired record takes one
//! off. A stretch whose newest record has expired no longer counts, even before trimming
//! reaches it, so the cap is of records inside the window; and when the cap is reached,
//! the earliest stretch still counted says when room will come (RetryInfo).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::{DomainError, UnixMicros};
use crate::store::engine::Engine;
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

mod types;

pub(crate) use types::{kept_since, QuotaBucket, RequestQuota, RequestWindow};

/// How many stretches the window is counted in: the retry hint is exact to 1/64 of the
/// window (about 2.6 hours of 7 days), and a principal's count is at most 64 small entries.
pub(crate) const BUCKETS: i64 = 64;

impl RequestWindow {
    pub(crate) fn at(now: UnixMicros, retention: Duration, per_principal: u64) -> Self {
        RequestWindow {
            kept_since: types::kept_since(now, retention),
            retention,
            per_principal,
        }
    }

    fn retention_micros(&self) -> i64 {
        i64::try_from(self.retention.as_micros()).unwrap_or(i64::MAX)
    }

    fn bucket_start(&self, at: UnixMicros) -> i64 {
        let width = (self.retention_micros() / BUCKETS).max(1);
        at.0 - at.0.rem_euclid(width)
    }
}

impl RequestQuota {
    /// The records still inside the window.
    fn live(&self, kept_since: UnixMicros) -> u64 {
        self.buckets
            .iter()
            .filter(|b| b.newest >= kept_since.0)
            .map(|b| b.count)
            .sum()
    }

    /// Adds a record made at `at`, in the stretch starting at `start`.
    fn add(&mut self, start: i64, at: UnixMicros) {
        match self.buckets.iter_mut().find(|b| b.start == start) {
            Some(bucket) => {
                bucket.count += 1;
                bucket.newest = bucket.newest.max(at.0);
            }
            None => {
                self.buckets.push(QuotaBucket {
                    start,
                    newest: at.0,
                    count: 1,
                });
                self.buckets.sort_by_key(|b| b.start);
            }
        }
    }

    /// Takes off a record made at `at`: from the latest stretch that starts at or before
    /// it (saturating: a record made before counts were kept was never counted).
    fn remove(&mut self, at: UnixMicros) {
        let Some(index) = self.buckets.iter().rposition(|b| b.start <= at.0) else {
            return;
        };
        let bucket = &mut self.buckets[index];
        bucket.count = bucket.count.saturating_sub(1);
        if bucket.count == 0 {
            self.buckets.remove(index);
        }
    }
}

/// Counts a new record of `principal`, made at `at`; RESOURCE_EXHAUSTED (with when to
/// retry) if the principal already keeps its cap within the window, and nothing staged.
pub(crate) fn count(
    staged: &mut Staged<'_>,
    principal: &str,
    at: UnixMicros,
    window: &RequestWindow,
) -> Result<(), StoreError> {
    let key = keys::request_quota(principal);
    let mut quota = load(staged, &key)?;
    if quota.live(window.kept_since) >= window.per_principal {
        let earliest = quota
            .buckets
            .iter()
            .find(|b| b.newest >= window.kept_since.0)
            .map_or(at.0, |b| b.newest);
        let frees_at = earliest.saturating_add(window.retention_micros());
        let wait = u64::try_from(frees_at.saturating_sub(at.0)).unwrap_or(0);
        return Err(DomainError::RequestIdsExhausted {
            limit: window.per_principal,
            retry_after: Duration::from_micros(wait).max(Duration::from_secs(1)),
        }
        .into());
    }
    quota.add(window.bucket_start(at), at);
    staged.insert(key, codec::encode(&quota));
    Ok(())
}

/// Takes off the count of the record at `request_key`, made at `at`, as it is trimmed.
pub(crate) fn release(
    staged: &mut Staged<'_>,
    request_key: &[u8],
    at: UnixMicros,
) -> Result<(), StoreError> {
    let Some(principal) = keys::principal_of_request(request_key) else {
        return Ok(());
    };
    let key = keys::request_quota(principal);
    let mut quota = load(staged, &key)?;
    quota.remove(at);
    match quota.buckets.is_empty() {
        true => staged.remove(key),
        false => staged.insert(key, codec::encode(&quota)),
    }
    Ok(())
}

fn load(staged: &Staged<'_>, key: &[u8]) -> Result<RequestQuota, StoreError> {
    match staged.get(key)? {
        Some(bytes) => codec::decode(key, &bytes),
        None => Ok(RequestQuota::default()),
    }
}

/// Registries written before the cap keep request records nobody counted. Counts every
/// principal's records from their expiry entries, once; answers how many principals it
/// counted. Writing the counts again gives the same counts, so an upgrade cut short is
/// finished by the next open.
pub(crate) fn fill_counts<E: Engine>(engine: &E, retention: Duration) -> Result<usize, StoreError> {
    if engine.get(keys::META_REQUEST_QUOTAS)?.is_some() {
        return Ok(0);
    }
    let window = RequestWindow::at(UnixMicros(0), retention, u64::MAX);
    let mut quotas: BTreeMap<Vec<u8>, RequestQuota> = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::REQUEST_EXPIRY])? {
        let (key, _) = entry?;
        let Some((at, request_key)) = keys::parse_request_expiry(&key) else {
            continue;
        };
        let Some(principal) = keys::principal_of_request(request_key) else {
            continue;
        };
        quotas
            .entry(keys::request_quota(principal))
            .or_default()
            .add(window.bucket_start(at), at);
    }
    let counted = quotas.len();
    let mut batch: Vec<(Vec<u8>, Option<Vec<u8>>)> = quotas
        .into_iter()
        .map(|(key, quota)| (key, Some(codec::encode(&quota))))
        .collect();
    // After every count it vouches for.
    batch.push((
        keys::META_REQUEST_QUOTAS.to_vec(),
        Some(codec::encode(&true)),
    ));
    engine.apply(&batch)?;
    engine.flush()?;
    if counted > 0 {
        tracing::info!(
            counted,
            "request ids of an earlier release counted per principal"
        );
    }
    Ok(counted)
}

/// The count of each principal's request records, as `verify` recomputes it from the
/// expiry entries: principal's quota key → records.
pub(crate) fn stored_totals<E: Engine>(engine: &E) -> Result<BTreeMap<Vec<u8>, u64>, StoreError> {
    let mut totals = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::REQUEST_QUOTA])? {
        let (key, value) = entry?;
        let quota: RequestQuota = codec::decode(&key, &value)?;
        totals.insert(key.to_vec(), quota.buckets.iter().map(|b| b.count).sum());
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn records_count_in_their_stretch_and_expire_with_its_newest() {
        let window = RequestWindow::at(UnixMicros(0), DAY, 2);
        let mut quota = RequestQuota::default();
        let early = UnixMicros(1_000);
        let later = UnixMicros(3_600_000_000);
        quota.add(window.bucket_start(early), early);
        quota.add(window.bucket_start(later), later);
        assert_eq!(quota.buckets.len(), 2);
        assert_eq!(quota.live(UnixMicros(0)), 2);
        // Once the early stretch's newest is before the window, it no longer counts.
        assert_eq!(quota.live(UnixMicros(2_000)), 1);
        quota.remove(early);
        assert_eq!(quota.buckets.len(), 1);
        quota.remove(early);
        assert_eq!(quota.buckets.len(), 1, "nothing earlier to take off");
        quota.remove(later);
        assert!(quota.buckets.is_empty());
    }
}
