//! Stored values: one format byte, then the value in that format (see [`format`]).
//! Values are written in the current format and read in any format ever written, so a
//! registry written by an earlier release stays readable, and a value written before a
//! field was added decodes with that field at its default.

use crate::domain::case::evaluation::{Application, EvaluationRound, RoundFigures};
use crate::domain::case::{Case, CaseFigures, Consultation};
use crate::domain::duplicates::CandidatePair;
use crate::domain::ethics::EthicsFindings;
use crate::domain::{ChangeEvent, IdentityCorrection, Teacher, TeacherId};
use crate::store::format::audit::AuditRecord;
use crate::store::format::case::CaseRecord;
use crate::store::format::case_report::{ConsultationRecord, FiguresRecord};
use crate::store::format::request_quota::RequestQuotaRecord;
use crate::store::format::{evaluation, identity, request, revision, v1, v2, StoredRequest};
use crate::store::history::RevisionEntry;
use crate::store::StoreError;

/// Release 0.1's format: postcard of the domain structs (read only).
pub(crate) const FORMAT_V1: u8 = 1;
/// The format of every value this version writes: protobuf (`format::v2`).
pub(crate) const FORMAT_VERSION: u8 = 2;

/// A value written to the store, in the current format.
pub(crate) trait Encoded {
    /// Appends the value in the current format.
    fn encode_body(&self, out: &mut Vec<u8>);
}

/// A type read from the store, in each format it was ever written in.
pub(crate) trait Stored: Sized {
    /// Reads a value of format 1.
    fn decode_v1(body: &[u8]) -> Result<Self, String>;
    /// Reads a value of the current format.
    fn decode_v2(body: &[u8]) -> Result<Self, String>;
}

pub(crate) fn encode<T: Encoded + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64);
    bytes.push(FORMAT_VERSION);
    value.encode_body(&mut bytes);
    bytes
}

/// Decodes a value read at `key`; an unknown format or garbled bytes are `Corrupt`.
pub(crate) fn decode<T: Stored>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let decoded = match bytes.split_first() {
        Some((&FORMAT_VERSION, body)) => T::decode_v2(body),
        Some((&FORMAT_V1, body)) => T::decode_v1(body),
        Some((version, _)) => Err(format!("unknown format version {version}")),
        None => Err("empty value".into()),
    };
    decoded.map_err(|detail| StoreError::Corrupt {
        key: printable(key),
        detail,
    })
}

impl Encoded for Teacher {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&v2::TeacherRecord::of(self), out);
    }
}

impl Stored for Teacher {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::teacher(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<v2::TeacherRecord>(body)?.into_domain()
    }
}

impl Encoded for ChangeEvent {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&v2::ChangeRecord::of(self), out);
    }
}

impl Stored for ChangeEvent {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::change_event(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<v2::ChangeRecord>(body)?.into_domain()
    }
}

impl Encoded for Case {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&CaseRecord::of(self), out);
    }
}

impl Stored for Case {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no cases".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<CaseRecord>(body)?.into_domain()
    }
}

impl Encoded for crate::store::request_quota::RequestQuota {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&RequestQuotaRecord::of(self), out);
    }
}

impl Stored for crate::store::request_quota::RequestQuota {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no request-id counts".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        Ok(v2::decode::<RequestQuotaRecord>(body)?.into_domain())
    }
}

impl Encoded for crate::domain::audit::AuditEntry {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&AuditRecord::of(self), out);
    }
}

impl Stored for crate::domain::audit::AuditEntry {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no audit entries".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<AuditRecord>(body)?.into_domain()
    }
}

impl Encoded for CaseFigures {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&FiguresRecord::of(self), out);
    }
}

impl Stored for CaseFigures {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no case report".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        Ok(v2::decode::<FiguresRecord>(body)?.into_domain())
    }
}

impl Encoded for Consultation {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&ConsultationRecord::of(self), out);
    }
}

impl Stored for Consultation {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no consultations".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<ConsultationRecord>(body)?.into_domain()
    }
}

macro_rules! stored_in_format_2 {
    ($($ty:ty => $record:ty, $what:literal;)+) => {
        $(
            impl Encoded for $ty {
                fn encode_body(&self, out: &mut Vec<u8>) {
                    v2::encode(&<$record>::of(self), out);
                }
            }

            impl Stored for $ty {
                fn decode_v1(_: &[u8]) -> Result<Self, String> {
                    Err(concat!("format 1 had no ", $what).into())
                }
                fn decode_v2(body: &[u8]) -> Result<Self, String> {
                    v2::decode::<$record>(body)?.into_domain()
                }
            }
        )+
    };
}

stored_in_format_2! {
    EvaluationRound => evaluation::RoundRecord, "evaluation rounds";
    Application => evaluation::ApplicationRecord, "title applications";
    EthicsFindings => evaluation::FindingsRecord, "ethics findings";
    RevisionEntry => revision::RevisionRecord, "revisions";
}

impl Encoded for RoundFigures {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&evaluation::RoundFiguresRecord::of(self), out);
    }
}

impl Stored for RoundFigures {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no evaluation rounds".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        Ok(v2::decode::<evaluation::RoundFiguresRecord>(body)?.into_domain())
    }
}

/// A title evaluation request's first answer, as recorded under its request id.
pub(crate) struct NewEvaluationRequest<'a> {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) answer: &'a crate::store::evaluation::EvaluationAnswer,
    pub(crate) recorded_at: crate::domain::UnixMicros,
}

impl Encoded for NewEvaluationRequest<'_> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        let record =
            request::RequestRecord::of_evaluation(&self.fingerprint, self.answer, self.recorded_at);
        v2::encode(&record, out);
    }
}

/// A consultation's first answer, as recorded under its request id.
pub(crate) struct NewConsultationRequest<'a> {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) consultation: &'a Consultation,
    pub(crate) recorded_at: crate::domain::UnixMicros,
}

impl Encoded for NewConsultationRequest<'_> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        let record = request::RequestRecord::of_consultation(
            &self.fingerprint,
            self.consultation,
            self.recorded_at,
        );
        v2::encode(&record, out);
    }
}

/// A case step's first answer, as recorded under its request id.
pub(crate) struct NewCaseRequest<'a> {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) answer: &'a crate::store::cases::CaseAnswer,
    pub(crate) recorded_at: crate::domain::UnixMicros,
}

impl Encoded for NewCaseRequest<'_> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        let record =
            request::RequestRecord::of_case(&self.fingerprint, self.answer, self.recorded_at);
        v2::encode(&record, out);
    }
}

/// A request's first answer, as recorded under its request id.
pub(crate) struct NewRequest<'a> {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) outcome: &'a crate::store::Outcome,
    pub(crate) recorded_at: crate::domain::UnixMicros,
}

impl Encoded for NewRequest<'_> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        let record = request::RequestRecord::of(&self.fingerprint, self.outcome, self.recorded_at);
        v2::encode(&record, out);
    }
}

/// An identity request's first answer, as recorded under its request id.
pub(crate) struct NewIdentityRequest<'a> {
    pub(crate) fingerprint: [u8; 32],
    pub(crate) answer: &'a crate::store::identity::IdentityAnswer,
    pub(crate) recorded_at: crate::domain::UnixMicros,
}

impl Encoded for NewIdentityRequest<'_> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        let record =
            request::RequestRecord::of_identity(&self.fingerprint, self.answer, self.recorded_at);
        v2::encode(&record, out);
    }
}

impl Stored for StoredRequest {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::request(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<request::RequestRecord>(body)?.into_domain()
    }
}

impl Encoded for IdentityCorrection {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&identity::CorrectionRecord::of(self), out);
    }
}

impl Stored for IdentityCorrection {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no identity corrections".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<identity::CorrectionRecord>(body)?.into_domain()
    }
}

impl Encoded for CandidatePair {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&identity::PairRecord::of(self), out);
    }
}

impl Stored for CandidatePair {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no duplicate candidates".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<identity::PairRecord>(body)?.into_domain()
    }
}

impl Encoded for TeacherId {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&v2::IndexRecord::of(self), out);
    }
}

impl Stored for TeacherId {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::teacher_id(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        v2::decode::<v2::IndexRecord>(body)?.into_domain()
    }
}

impl Encoded for u64 {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&v2::NumberRecord::of(*self), out);
    }
}

impl Stored for u64 {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::scalar(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        Ok(v2::decode::<v2::NumberRecord>(body)?.value())
    }
}

impl Encoded for bool {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&v2::FlagRecord::of(*self), out);
    }
}

impl Stored for bool {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::scalar(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        Ok(v2::decode::<v2::FlagRecord>(body)?.value())
    }
}

impl Encoded for Vec<u8> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        v2::encode(&v2::SecretRecord::of(self), out);
    }
}

impl Stored for Vec<u8> {
    fn decode_v1(body: &[u8]) -> Result<Self, String> {
        v1::scalar(body)
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        Ok(v2::decode::<v2::SecretRecord>(body)?.into_value())
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

// The helpers of a backup's record groups (see `store::backup_records`).

/// Every stored value under `prefix`, decoded.
pub(crate) fn scan_all<E: crate::store::engine::Engine, T: Stored>(
    engine: &E,
    prefix: u8,
) -> Result<Vec<T>, StoreError> {
    let mut found = Vec::new();
    for entry in engine.scan_prefix(&[prefix])? {
        let (key, value) = entry?;
        found.push(decode(&key, &value)?);
    }
    Ok(found)
}

/// Each of `records` encoded, tagged `kind`.
pub(crate) fn tagged<'a, K: Copy + 'a, T: Encoded>(
    kind: K,
    records: &'a [T],
) -> impl Iterator<Item = (K, Vec<u8>)> + 'a {
    records.iter().map(move |r| (kind, encode(r)))
}

/// Decodes `bytes` as a `T` (`what` names it in an error), adds it to `list`, and answers
/// it.
pub(crate) fn push_decoded<'a, T: Stored>(
    list: &'a mut Vec<T>,
    what: &[u8],
    bytes: &[u8],
) -> Result<&'a T, StoreError> {
    list.push(decode(what, bytes)?);
    Ok(list.last().expect("just pushed"))
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
            teacher_id: Some(TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(
                seed,
            ))),
            case_id: None,
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
                prop_assert!(e.teacher_id.is_none_or(|id| TeacherId::parse(id.as_str()).is_ok()));
                prop_assert!(CountyCode::parse(e.county_after.as_str()).is_ok());
            }
        }
    }

    #[test]
    fn damaged_ids_and_codes_are_corrupt() {
        let good = encode(&event(1, 1, None));
        let id = event(1, 1, None).teacher_id.unwrap().as_str().to_string();
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
