//! The keys of what the registry keeps about its own work rather than about teachers and
//! cases: the change log and each county's view of it, request ids with their expiry and
//! each principal's count, and the read audit.
//!
//! Apart from [`crate::store::keys`], whose table names every prefix, because these are
//! written by every mutation and trimmed by time, not read as records: their builders and
//! parsers sit together, beside the ordering tests that trimming relies on.

use crate::domain::{CountyCode, UnixMicros};
use crate::store::keys::{
    prefixed, AUDIT, CHANGE, COUNTY_CHANGE, REQUEST, REQUEST_EXPIRY, REQUEST_QUOTA,
};

pub(crate) fn change(revision: u64) -> Vec<u8> {
    prefixed(CHANGE, &revision.to_be_bytes())
}

/// The revision a change-log key stands for.
pub(crate) fn revision_of_change(key: &[u8]) -> Option<u64> {
    match key {
        [CHANGE, rest @ ..] => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

pub(crate) fn county_change(county: &CountyCode, revision: u64) -> Vec<u8> {
    let mut key = county_change_prefix(county);
    key.extend_from_slice(&revision.to_be_bytes());
    key
}

pub(crate) fn county_change_prefix(county: &CountyCode) -> Vec<u8> {
    prefixed(COUNTY_CHANGE, county.as_str().as_bytes())
}

/// The revision at the end of a county change key.
pub(crate) fn revision_of_county_change(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[start..].try_into().ok()?))
}

/// Request ids are the caller's own (AIP-155): the key holds the principal too, so one
/// caller's id never replays, or even reveals, another caller's answer. Principal names
/// have no control characters, so 0x00 ends them unambiguously.
pub(crate) fn request(principal: &str, request_id: &str) -> Vec<u8> {
    let mut key = prefixed(REQUEST, principal.as_bytes());
    key.push(0);
    key.extend_from_slice(request_id.as_bytes());
    key
}

/// The expiry entry of the request record at `request_key`, recorded at `at`.
pub(crate) fn request_expiry(at: UnixMicros, request_key: &[u8]) -> Vec<u8> {
    let mut key = request_expiry_bound(at);
    key.extend_from_slice(request_key);
    key
}

/// The first expiry key of a moment: every key below it was recorded earlier.
pub(crate) fn request_expiry_bound(at: UnixMicros) -> Vec<u8> {
    let micros = u64::try_from(at.0).unwrap_or(0);
    prefixed(REQUEST_EXPIRY, &micros.to_be_bytes())
}

/// The moment and the request key an expiry entry names.
pub(crate) fn parse_request_expiry(key: &[u8]) -> Option<(UnixMicros, &[u8])> {
    let [REQUEST_EXPIRY, rest @ ..] = key else {
        return None;
    };
    let (micros, request_key) = rest.split_first_chunk::<8>()?;
    let micros = i64::try_from(u64::from_be_bytes(*micros)).ok()?;
    (request_key.first() == Some(&REQUEST)).then_some((UnixMicros(micros), request_key))
}

/// The principal's request-id count (see [`REQUEST_QUOTA`]).
pub(crate) fn request_quota(principal: &str) -> Vec<u8> {
    prefixed(REQUEST_QUOTA, principal.as_bytes())
}

/// The principal of a request key (`q` + principal + 0x00 + request_id).
pub(crate) fn principal_of_request(request_key: &[u8]) -> Option<&str> {
    let rest = request_key.strip_prefix(&[REQUEST])?;
    let end = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// An audit entry's key: its time, then a sequence number that orders entries of the same
/// microsecond (see [`AUDIT`]).
pub(crate) fn audit(at: UnixMicros, sequence: u32) -> Vec<u8> {
    let mut key = audit_bound(at);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// The first audit key of a moment: every entry below it was written earlier.
pub(crate) fn audit_bound(at: UnixMicros) -> Vec<u8> {
    let micros = u64::try_from(at.0).unwrap_or(0);
    prefixed(AUDIT, &micros.to_be_bytes())
}

/// The moment of an audit key.
pub(crate) fn audit_time(key: &[u8]) -> Option<UnixMicros> {
    let [AUDIT, rest @ ..] = key else {
        return None;
    };
    let (micros, sequence) = rest.split_first_chunk::<8>()?;
    (sequence.len() == 4).then_some(())?;
    i64::try_from(u64::from_be_bytes(*micros))
        .ok()
        .map(UnixMicros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_sort_numerically() {
        let mut keys: Vec<_> = [300u64, 2, 1 << 40, 70000]
            .into_iter()
            .map(change)
            .collect();
        keys.sort();
        let revs: Vec<u64> = keys
            .iter()
            .map(|k| u64::from_be_bytes(k[1..].try_into().unwrap()))
            .collect();
        assert_eq!(revs, [2, 300, 70000, 1 << 40]);
    }

    #[test]
    fn request_expiry_keys_sort_by_time_and_give_the_request_back() {
        let request = request("county-350702", "retry-1");
        let early = request_expiry(UnixMicros(1_000), &request);
        let late = request_expiry(UnixMicros(1 << 40), &request);
        assert!(early < late);
        assert!(late < request_expiry_bound(UnixMicros((1 << 40) + 1)));
        assert_eq!(
            parse_request_expiry(&late),
            Some((UnixMicros(1 << 40), request.as_slice()))
        );
        assert_eq!(parse_request_expiry(b"e123"), None);
        assert_eq!(parse_request_expiry(&change(5)), None);
    }
}
