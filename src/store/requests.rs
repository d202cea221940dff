//! Request ids that expire (AIP-155).
//!
//! A request id protects a caller's retries, which come within minutes; kept forever, the
//! records (each holding its first answer, a whole teacher) would grow without bound. So
//! each record is kept for a retention window (`StoreOptions::request_id_retention`, 7
//! days unless told otherwise): inside it a retry gets the first answer, after it the
//! request is treated as new. An expiry entry per record (`keys::REQUEST_EXPIRY`), in the
//! order the records were made, lets trimming read only what has expired; like the change
//! log, it is trimmed through the writer a bounded step at a time.

use std::collections::HashSet;

use crate::domain::{DomainError, UnixMicros};
use crate::store::engine::Engine;
use crate::store::format::{Fingerprint, Remembered, StoredRequest};
use crate::store::mutation::WriteContext;
use crate::store::request_quota::{self, RequestWindow};
use crate::store::writer::{Staged, MAX_TRIM};
use crate::store::{codec, keys, StoreError, VerifyReport};

/// What a request id says of a request (AIP-155).
pub(crate) enum Recall<T> {
    /// Made before, not expired, and the same request: its first answer.
    Replay(T),
    /// New, or its record expired: its answer is remembered under this key, if it has a
    /// request id to replay.
    New(Option<Vec<u8>>),
}

/// Looks up `request_id` of `principal` (`None`: a request that is never replayed).
/// `first_answer` gives the remembered answer when the record is of this same request,
/// and `None` when it is of another: that is REQUEST_ID_REUSED. Every write that takes a
/// request id recalls it here, so they all replay alike.
pub(crate) fn recall<T>(
    staged: &Staged<'_>,
    principal: &str,
    request_id: Option<&String>,
    window: &RequestWindow,
    first_answer: impl FnOnce(StoredRequest) -> Option<T>,
) -> Result<Recall<T>, StoreError> {
    let Some(request_id) = request_id else {
        return Ok(Recall::New(None));
    };
    let key = keys::request(principal, request_id);
    if let Some(bytes) = staged.get(&key)? {
        let record: StoredRequest = codec::decode(&key, &bytes)?;
        let expired = record.recorded_at.is_some_and(|at| at < window.kept_since);
        if !expired {
            return match first_answer(record) {
                Some(answer) => Ok(Recall::Replay(answer)),
                None => Err(DomainError::RequestIdReused {
                    request_id: request_id.clone(),
                }
                .into()),
            };
        }
    }
    Ok(Recall::New(Some(key)))
}

/// Stages the record of a request's first answer under `key` (as [`recall`] gave it), with
/// its expiry entry and its principal's count; `record` encodes it, given the moment it is
/// recorded. RESOURCE_EXHAUSTED if the principal keeps its cap of request ids already (see
/// [`request_quota`]): the caller's answer becomes that refusal, and nothing is written.
pub(crate) fn remember(
    staged: &mut Staged<'_>,
    key: Vec<u8>,
    window: &RequestWindow,
    record: impl FnOnce(UnixMicros) -> Vec<u8>,
) -> Result<(), StoreError> {
    let recorded_at = crate::clock::now();
    if let Some(principal) = keys::principal_of_request(&key) {
        let principal = principal.to_string();
        request_quota::count(staged, &principal, recorded_at, window)?;
    }
    staged.insert(keys::request_expiry(recorded_at, &key), Vec::new());
    staged.insert(key, record(recorded_at));
    Ok(())
}

/// The answer of one kind of write, as a request id replays it.
pub(crate) trait Replayable: Sized {
    /// The answer `remembered` holds, if it is one of this kind of write.
    fn from_remembered(remembered: Remembered) -> Option<Self>;
    /// The encoded request record of this answer, taken with `fingerprint`.
    fn request_record(&self, fingerprint: [u8; 32], recorded_at: UnixMicros) -> Vec<u8>;
}

/// [`Replayable`] for the answer of one kind of write, remembered as `Remembered::$variant`
/// and recorded as `codec::$record`.
macro_rules! replayable {
    ($answer:ty, $variant:ident, $record:ident) => {
        impl $crate::store::requests::Replayable for $answer {
            fn from_remembered(remembered: $crate::store::format::Remembered) -> Option<Self> {
                match remembered {
                    $crate::store::format::Remembered::$variant(answer) => Some(answer),
                    _ => None,
                }
            }

            fn request_record(
                &self,
                fingerprint: [u8; 32],
                recorded_at: $crate::domain::UnixMicros,
            ) -> Vec<u8> {
                $crate::store::codec::encode(&$crate::store::codec::$record {
                    fingerprint,
                    answer: self,
                    recorded_at,
                })
            }
        }
    };
}

pub(crate) use replayable;

/// Runs `write` under the replay rules of the context's request id (see [`recall`]): the
/// same request made before gets its first answer and `write` does not run; a new one's
/// answer is remembered, for a fingerprint of the current format.
pub(crate) fn answer_once<A: Replayable>(
    staged: &mut Staged<'_>,
    context: &WriteContext,
    window: &RequestWindow,
    fingerprint: Fingerprint,
    write: impl FnOnce(&mut Staged<'_>) -> Result<A, StoreError>,
) -> Result<A, StoreError> {
    let request_id = context.request_id.as_ref().filter(|_| context.replayable);
    let remember_under = match recall(staged, &context.principal, request_id, window, |record| {
        if record.fingerprint == fingerprint {
            A::from_remembered(record.outcome)
        } else {
            None
        }
    })? {
        Recall::Replay(answer) => return Ok(answer),
        Recall::New(key) => key,
    };
    let answer = write(staged)?;
    if let (Some(key), Fingerprint::V2(fingerprint)) = (remember_under, fingerprint) {
        remember(staged, key, window, |recorded_at| {
            answer.request_record(fingerprint, recorded_at)
        })?;
    }
    Ok(answer)
}

pub(crate) use crate::store::request_quota::kept_since;

/// Stages the removal of up to [`MAX_TRIM`] request records made before `before`, with
/// their expiry entries; answers how many expiry entries it removed. A record made again
/// under the same id after it expired has a later expiry entry of its own and stays.
pub(crate) fn trim(staged: &mut Staged<'_>, before: UnixMicros) -> Result<u64, StoreError> {
    let expired = staged.committed_keys(
        &[keys::REQUEST_EXPIRY],
        &keys::request_expiry_bound(before),
        MAX_TRIM as usize,
    )?;
    let mut removed = 0;
    for key in expired {
        if !staged.contains(&key)? {
            continue;
        }
        if let Some((at, request_key)) = keys::parse_request_expiry(&key) {
            request_quota::release(staged, request_key, at)?;
            if let Some(bytes) = staged.get(request_key)? {
                let record: StoredRequest = codec::decode(request_key, &bytes)?;
                if record.recorded_at.is_none_or(|recorded| recorded == at) {
                    staged.remove(request_key.to_vec());
                }
            }
        }
        staged.remove(key);
        removed += 1;
    }
    Ok(removed)
}

/// Checks that every request record has its expiry entry, at the time it was recorded,
/// and that every expiry entry names a record; answers how many records there are.
pub(crate) fn verify<E: Engine>(engine: &E, report: &mut VerifyReport) -> Result<u64, StoreError> {
    let mut expiring = HashSet::new();
    let mut entries = HashSet::new();
    for entry in engine.scan_prefix(&[keys::REQUEST_EXPIRY])? {
        let (key, _) = entry?;
        match keys::parse_request_expiry(&key) {
            Some((at, request_key)) => {
                expiring.insert(request_key.to_vec());
                entries.insert((at, request_key.to_vec()));
            }
            None => report.problem(format!("{} is not a request expiry key", printable(&key))),
        }
    }
    let mut records = 0;
    for entry in engine.scan_prefix(&[keys::REQUEST])? {
        let (key, value) = entry?;
        records += 1;
        let recorded_at = match codec::decode::<StoredRequest>(&key, &value) {
            Ok(record) => record.recorded_at,
            Err(e) => {
                report.problem(format!("request {}: {e}", printable(&key)));
                continue;
            }
        };
        let indexed = match recorded_at {
            Some(at) => entries.contains(&(at, key.to_vec())),
            None => expiring.contains(key.as_ref()),
        };
        if !indexed {
            report.problem(format!("request {} never expires", printable(&key)));
        }
        expiring.remove(key.as_ref());
    }
    for key in expiring {
        report.problem(format!(
            "an expiry entry names no request ({})",
            printable(&key)
        ));
    }
    verify_counts(engine, &entries, report)?;
    Ok(records)
}

/// Checks that each principal's count of request ids (see [`request_quota`]) is the number
/// of its expiry entries.
fn verify_counts<E: Engine>(
    engine: &E,
    entries: &HashSet<(UnixMicros, Vec<u8>)>,
    report: &mut VerifyReport,
) -> Result<(), StoreError> {
    let mut expected = std::collections::BTreeMap::<Vec<u8>, u64>::new();
    for (_, request_key) in entries {
        if let Some(principal) = keys::principal_of_request(request_key) {
            *expected.entry(keys::request_quota(principal)).or_default() += 1;
        }
    }
    let stored = request_quota::stored_totals(engine)?;
    for (key, count) in &expected {
        let kept = stored.get(key).copied().unwrap_or(0);
        if kept != *count {
            report.problem(format!(
                "{} keeps {count} request ids but counts {kept}",
                printable(key)
            ));
        }
    }
    for key in stored.keys().filter(|k| !expected.contains_key(*k)) {
        report.problem(format!(
            "{} counts request ids it does not keep",
            printable(key)
        ));
    }
    Ok(())
}

/// A request key for a report: the principal, not the request id.
fn printable(key: &[u8]) -> String {
    let principal = key.iter().skip(1).take_while(|&&b| b != 0);
    principal
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_window_ends_retention_before_now() {
        let day = Duration::from_secs(24 * 3600);
        let now = UnixMicros(10 * 86_400_000_000);
        assert_eq!(kept_since(now, day), UnixMicros(9 * 86_400_000_000));
        assert_eq!(kept_since(UnixMicros(0), day), UnixMicros(-86_400_000_000));
        assert_eq!(kept_since(now, Duration::MAX), UnixMicros(now.0 - i64::MAX));
    }
}
