//! Format 1, written by release 0.1 (every registry up to commit b67bfce): postcard of the
//! domain structs as they were then. Read only, and frozen: these mirrors keep that
//! layout (postcard is positional, so field order and types are the format) whatever
//! becomes of the domain types.
//!
//! The same mirrors read release 0.1's backup files (serde JSON of the same structs, so
//! field and variant names matter too), and compute release 0.1's request fingerprints
//! (`v1/mutation.rs`), so a retry of a request first made before an upgrade is still
//! recognised.

use std::marker::PhantomData;

use chrono::NaiveDate;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::codes::Coded;
use super::{Fingerprint, StoredRequest};
use crate::domain::{
    self, CertificateKind, CertificateStatus, ChangeKind, CopyState, CountyCode, EmploymentStatus,
    Gender, IdDocumentType, IdentityDocument, LegacyTitle, ReissueReason, TeacherId,
    TitleChangeKind, TitleTier, UnixMicros,
};
use crate::store::Effect;

mod mutation;

pub(crate) use mutation::fingerprint;

/// A unit enum as format 1 wrote it: its variant index in postcard, its name in JSON.
struct Variant<T>(T);

impl<T: Coded> Serialize for Variant<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let index = (self.0.number() - 1) as u32;
        serializer.serialize_unit_variant("Variant", index, T::VARIANTS[index as usize].1)
    }
}

impl<'de, T: Coded> Deserialize<'de> for Variant<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("Variant", &[], VariantVisitor(PhantomData))
    }
}

struct VariantVisitor<T>(PhantomData<T>);

impl<'de, T: Coded> de::Visitor<'de> for VariantVisitor<T> {
    type Value = Variant<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a unit variant")
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let (Position(variant), access) = data.variant::<Position<T>>()?;
        de::VariantAccess::unit_variant(access)?;
        Ok(Variant(variant))
    }
}

/// A variant identified by its index (postcard) or its name (JSON).
struct Position<T>(T);

impl<'de, T: Coded> Deserialize<'de> for Position<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(PositionVisitor(PhantomData))
    }
}

struct PositionVisitor<T>(PhantomData<T>);

impl<T: Coded> de::Visitor<'_> for PositionVisitor<T> {
    type Value = Position<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a variant index or name")
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<Self::Value, E> {
        let variant = i32::try_from(index)
            .ok()
            .and_then(|index| T::from_number(index + 1))
            .ok_or_else(|| E::custom(format!("unknown variant index {index}")))?;
        Ok(Position(variant))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        T::VARIANTS
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(variant, _)| Position(*variant))
            .ok_or_else(|| E::custom(format!("unknown variant {name:?}")))
    }
}

#[derive(Serialize, Deserialize)]
struct Identity {
    doc_type: Variant<IdDocumentType>,
    number: String,
}

#[derive(Serialize, Deserialize)]
struct Fields {
    identity: Identity,
    name: String,
    gender: Variant<Gender>,
    birth_date: String,
    county_code: String,
    school: String,
    employment_status: Variant<EmploymentStatus>,
    legacy_title: Option<Variant<LegacyTitle>>,
    legacy_title_limited_scope: bool,
}

#[derive(Deserialize)]
struct Copy {
    copy_number: u32,
    issued_on: String,
    reason: Option<Variant<ReissueReason>>,
    declaration_ref: String,
    state: Variant<CopyState>,
}

#[derive(Deserialize)]
struct Registration {
    registered_on: String,
    expires_on: String,
}

#[derive(Deserialize)]
struct Revocation {
    revoked_on: String,
    reason: String,
    approval_document: String,
}

#[derive(Deserialize)]
struct Certificate {
    number: String,
    kind: Variant<CertificateKind>,
    subject: String,
    issuing_authority: String,
    certified_on: String,
    status: Variant<CertificateStatus>,
    copies: Vec<Copy>,
    registrations: Vec<Registration>,
    revocation: Option<Revocation>,
}

#[derive(Deserialize)]
struct TitleEntry {
    tier: Option<Variant<TitleTier>>,
    kind: Variant<TitleChangeKind>,
    effective_date: String,
    approval_document: String,
    limited_scope: bool,
    exceptional: bool,
    note: String,
    recorded_by: String,
    record_time: i64,
}

#[derive(Deserialize)]
struct Teacher {
    id: String,
    fields: Fields,
    certificates: Vec<Certificate>,
    title_history: Vec<TitleEntry>,
    revision: u64,
    create_time: i64,
    update_time: i64,
}

#[derive(Deserialize)]
struct ChangeEvent {
    revision: u64,
    teacher_id: String,
    kind: Variant<ChangeKind>,
    time: i64,
    principal: String,
    request_id: Option<String>,
    county_before: Option<String>,
    county_after: String,
}

#[derive(Deserialize)]
struct Outcome {
    teacher: Teacher,
    warnings: Vec<String>,
    effect: Variant<Effect>,
}

#[derive(Deserialize)]
struct RequestRecord {
    fingerprint: [u8; 32],
    outcome: Outcome,
}

pub(crate) fn teacher(body: &[u8]) -> Result<domain::Teacher, String> {
    postcard_body::<Teacher>(body)?.into_domain()
}

pub(crate) fn change_event(body: &[u8]) -> Result<domain::ChangeEvent, String> {
    postcard_body::<ChangeEvent>(body)?.into_domain()
}

pub(crate) fn request(body: &[u8]) -> Result<StoredRequest, String> {
    let record = postcard_body::<RequestRecord>(body)?;
    Ok(StoredRequest {
        fingerprint: Fingerprint::V1(record.fingerprint),
        outcome: super::Remembered::Teacher(crate::store::Outcome {
            teacher: record.outcome.teacher.into_domain()?,
            warnings: record.outcome.warnings,
            effect: record.outcome.effect.0,
        }),
        recorded_at: None,
    })
}

/// Format 1's scalars: postcard of a `u64`, a `bool`, a byte string, a registry number.
pub(crate) fn scalar<T: de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    postcard_body(body)
}

pub(crate) fn teacher_id(body: &[u8]) -> Result<TeacherId, String> {
    registry_number(postcard_body::<String>(body)?)
}

/// A teacher line of a release 0.1 backup (`teachers.jsonl`).
pub fn teacher_from_json(line: &str) -> Result<domain::Teacher, String> {
    serde_json::from_str::<Teacher>(line)
        .map_err(|e| e.to_string())?
        .into_domain()
}

/// A change line of a release 0.1 backup (`changes.jsonl`).
pub fn change_event_from_json(line: &str) -> Result<domain::ChangeEvent, String> {
    serde_json::from_str::<ChangeEvent>(line)
        .map_err(|e| e.to_string())?
        .into_domain()
}

fn postcard_body<T: de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    postcard::from_bytes(body).map_err(|e| format!("undecodable value: {e}"))
}

impl Fields {
    fn into_domain(self) -> Result<domain::TeacherFields, String> {
        Ok(domain::TeacherFields {
            identity: IdentityDocument::from_stored(self.identity.doc_type.0, self.identity.number),
            name: self.name,
            gender: self.gender.0,
            birth_date: date(&self.birth_date)?,
            county_code: county(self.county_code)?,
            school: self.school,
            employment_status: self.employment_status.0,
            legacy_title: self.legacy_title.map(|v| v.0),
            legacy_title_limited_scope: self.legacy_title_limited_scope,
        })
    }
}

impl Teacher {
    fn into_domain(self) -> Result<domain::Teacher, String> {
        Ok(domain::Teacher {
            id: registry_number(self.id)?,
            fields: self.fields.into_domain()?,
            certificates: self
                .certificates
                .into_iter()
                .map(Certificate::into_domain)
                .collect::<Result<_, _>>()?,
            title_history: self
                .title_history
                .into_iter()
                .map(TitleEntry::into_domain)
                .collect::<Result<_, _>>()?,
            former: crate::domain::Former::default(),
            revision: self.revision,
            create_time: UnixMicros(self.create_time),
            update_time: UnixMicros(self.update_time),
            pending_transfer: None,
        })
    }
}

impl Certificate {
    fn into_domain(self) -> Result<domain::Certificate, String> {
        Ok(domain::Certificate {
            number: self.number,
            kind: self.kind.0,
            subject: self.subject,
            issuing_authority: self.issuing_authority,
            certified_on: date(&self.certified_on)?,
            status: self.status.0,
            copies: self
                .copies
                .into_iter()
                .map(|copy| {
                    Ok(domain::CertificateCopy {
                        copy_number: copy.copy_number,
                        issued_on: date(&copy.issued_on)?,
                        reason: copy.reason.map(|v| v.0),
                        declaration_ref: copy.declaration_ref,
                        state: copy.state.0,
                    })
                })
                .collect::<Result<_, String>>()?,
            registrations: self
                .registrations
                .into_iter()
                .map(|r| {
                    Ok(domain::Registration {
                        registered_on: date(&r.registered_on)?,
                        expires_on: date(&r.expires_on)?,
                    })
                })
                .collect::<Result<_, String>>()?,
            revocation: match self.revocation {
                Some(r) => Some(domain::Revocation {
                    revoked_on: date(&r.revoked_on)?,
                    reason: r.reason,
                    approval_document: r.approval_document,
                    // Release 0.1 kept no ground.
                    ground: None,
                }),
                None => None,
            },
            loss: None,
        })
    }
}

impl TitleEntry {
    fn into_domain(self) -> Result<domain::TitleEntry, String> {
        Ok(domain::TitleEntry {
            tier: self.tier.map(|v| v.0),
            kind: self.kind.0,
            effective_date: date(&self.effective_date)?,
            approval_document: self.approval_document,
            limited_scope: self.limited_scope,
            exceptional: self.exceptional,
            note: self.note,
            recorded_by: self.recorded_by,
            record_time: UnixMicros(self.record_time),
        })
    }
}

impl ChangeEvent {
    fn into_domain(self) -> Result<domain::ChangeEvent, String> {
        Ok(domain::ChangeEvent {
            revision: self.revision,
            teacher_id: Some(registry_number(self.teacher_id)?),
            case_id: None,
            kind: self.kind.0,
            time: UnixMicros(self.time),
            principal: self.principal,
            request_id: self.request_id,
            county_before: self.county_before.map(county).transpose()?,
            county_after: county(self.county_after)?,
        })
    }
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| format!("date {text:?}: {e}"))
}

fn registry_number(text: String) -> Result<TeacherId, String> {
    TeacherId::try_from(text)
}

fn county(text: String) -> Result<CountyCode, String> {
    CountyCode::try_from(text)
}

#[cfg(test)]
mod tests {
    //! Golden bytes: the samples of `format::samples` as release 0.1 encoded them
    //! (`golden-v1.txt`, printed by that release's own codec), decoded by this one.

    use super::*;
    use crate::store::codec::{self, Stored};
    use crate::store::format::samples;

    fn golden(name: &str) -> Vec<Vec<u8>> {
        include_str!("golden-v1.txt")
            .lines()
            .filter_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .map(|hex| {
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect()
            })
            .collect()
    }

    fn one(name: &str) -> Vec<u8> {
        golden(name).pop().unwrap()
    }

    fn decode<T: Stored>(bytes: &[u8]) -> T {
        assert_eq!(bytes[0], 1, "a value of format 1");
        codec::decode(b"r", bytes).unwrap()
    }

    #[test]
    fn release_0_1_values_decode_to_what_it_stored() {
        assert_eq!(
            decode::<domain::Teacher>(&one("TEACHER")),
            samples::teacher()
        );
        assert_eq!(
            decode::<domain::ChangeEvent>(&one("CHANGE")),
            samples::change_event()
        );
        let request: StoredRequest = decode(&one("REQUEST"));
        assert_eq!(request.fingerprint, Fingerprint::V1([7; 32]));
        assert_eq!(
            request.outcome,
            crate::store::format::Remembered::Teacher(samples::outcome())
        );
        assert_eq!(request.recorded_at, None);
        assert_eq!(decode::<TeacherId>(&one("ID")), samples::teacher().id);
        assert_eq!(decode::<u64>(&one("COUNT")), 300_000);
        assert!(decode::<bool>(&one("FLAG")));
        assert_eq!(decode::<Vec<u8>>(&one("SECRET")), vec![1, 2, 255]);
    }

    #[test]
    fn release_0_1_fingerprints_are_recomputed_exactly() {
        let expected = golden("FP");
        let mutations = samples::mutations();
        assert_eq!(expected.len(), mutations.len());
        for (mutation, expected) in mutations.iter().zip(expected) {
            let fingerprint = Fingerprint::V1(expected.try_into().unwrap());
            assert!(fingerprint.matches(mutation), "{mutation:?}");
        }
        // And no other request matches.
        let first = Fingerprint::V1(golden("FP")[0].clone().try_into().unwrap());
        assert!(!mutations[1..].iter().any(|m| first.matches(m)));
    }
}
