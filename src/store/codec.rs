//! Stored values: one format-version byte, then the value in postcard (compact, varint).
//! A future format bumps the version and keeps a decoder for the old one, so a registry
//! written by this version stays readable.

use serde::{de::DeserializeOwned, Serialize};

use crate::store::StoreError;

/// The format of every value this version writes.
pub(crate) const FORMAT_VERSION: u8 = 1;

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let bytes = vec![FORMAT_VERSION];
    postcard::to_extend(value, bytes)
        .expect("in-memory serialization of registry types cannot fail")
}

/// Decodes a value read at `key`; a wrong version or garbled bytes are `Corrupt`.
pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        key: printable(key),
        detail,
    };
    match bytes.split_first() {
        Some((&FORMAT_VERSION, body)) => {
            postcard::from_bytes(body).map_err(|e| corrupt(format!("undecodable value: {e}")))
        }
        Some((version, _)) => Err(corrupt(format!("unknown format version {version}"))),
        None => Err(corrupt("empty value".into())),
    }
}

/// A key for error messages, with identity numbers never shown in full.
fn printable(key: &[u8]) -> String {
    let head: String = key
        .iter()
        .take(if key.first() == Some(&crate::store::keys::IDENTITY) {
            8
        } else {
            40
        })
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect();
    if key.first() == Some(&crate::store::keys::IDENTITY) {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChangeEvent, ChangeKind, CountyCode, TeacherId, UnixMicros};
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn event(revision: u64, seed: u64, request_id: Option<String>) -> ChangeEvent {
        ChangeEvent {
            revision,
            teacher_id: TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(seed)),
            kind: ChangeKind::Updated,
            time: UnixMicros((revision as i64).wrapping_mul(7)),
            principal: "anonymous".into(),
            request_id,
            county_before: Some(CountyCode::parse("350702").unwrap()),
            county_after: CountyCode::parse("350721").unwrap(),
        }
    }

    proptest! {
        #[test]
        fn change_events_round_trip(revision in any::<u64>(), seed in any::<u64>(), rid in proptest::option::of("\\PC{0,40}")) {
            let e = event(revision, seed, rid);
            let bytes = encode(&e);
            prop_assert_eq!(bytes[0], FORMAT_VERSION);
            prop_assert_eq!(decode::<ChangeEvent>(b"l", &bytes).unwrap(), e);
        }

        #[test]
        fn garbage_is_corrupt_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode::<ChangeEvent>(b"l", &bytes);
        }

        /// Past the version byte, so postcard itself meets the garbage.
        #[test]
        fn versioned_garbage_is_corrupt_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut value = vec![FORMAT_VERSION];
            value.extend(bytes);
            let _ = decode::<ChangeEvent>(b"l", &value);
            let _ = decode::<crate::domain::Teacher>(b"r", &value);
            let _ = decode::<TeacherId>(b"i", &value);
        }

        /// A damaged event either fails to decode or decodes to valid ids and codes.
        #[test]
        fn a_damaged_event_never_decodes_to_malformed_ids(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = encode(&event(5, 5, None));
            let i = at.index(bytes.len() - 1) + 1;
            bytes[i] = byte;
            if let Ok(e) = decode::<ChangeEvent>(b"l", &bytes) {
                prop_assert!(TeacherId::parse(e.teacher_id.as_str()).is_ok());
                prop_assert!(CountyCode::parse(e.county_after.as_str()).is_ok());
            }
        }
    }

    #[test]
    fn damaged_ids_and_codes_are_corrupt() {
        let good = encode(&event(1, 1, None));
        let id = event(1, 1, None).teacher_id.as_str().to_string();
        for (from, to) in [(id.as_str(), "TXXXXXXXXXXX"), ("350721", "999999")] {
            let at = good
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .unwrap();
            let mut damaged = good.clone();
            damaged[at..at + from.len()].copy_from_slice(to.as_bytes());
            let err = decode::<ChangeEvent>(b"l", &damaged).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        }
    }

    #[test]
    fn unknown_versions_are_refused() {
        let mut bytes = encode(&event(1, 1, None));
        bytes[0] = 9;
        let err = decode::<ChangeEvent>(b"l", &bytes).unwrap_err();
        assert!(err.to_string().contains("format version 9"), "{err}");
    }
}
