//! The stored form of what a teacher was known by before ([`crate::domain::Former`]):
//! one optional message of the teacher record (tag 20 of format 2's `TeacherRecord`).
//!
//! A record written before former names were kept has no such field and decodes as
//! knowing none, so every older registry opens unchanged; a record with nothing kept
//! writes none either, so its bytes stay what they were.

use prost::Message;

use super::codes::Coded;
use super::v2::registry_number;
use crate::domain::{Former, FormerDocument, FormerName, IdentityDocument, UnixMicros};

#[derive(Clone, PartialEq, Message)]
pub(crate) struct FormerRecord {
    #[prost(message, repeated, tag = "1")]
    names: Vec<FormerNameRecord>,
    #[prost(message, repeated, tag = "2")]
    documents: Vec<FormerDocumentRecord>,
    #[prost(string, repeated, tag = "3")]
    retired_ids: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct FormerNameRecord {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "2")]
    until: i64,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct FormerDocumentRecord {
    #[prost(int32, tag = "1")]
    id_document_type: i32,
    #[prost(string, tag = "2")]
    national_id: String,
    #[prost(int64, tag = "3")]
    until: i64,
    #[prost(int32, tag = "4")]
    reason: i32,
}

impl FormerRecord {
    /// `None` when nothing is kept, so such a record encodes as it always did.
    pub(crate) fn of(former: &Former) -> Option<Self> {
        if former.is_empty() {
            return None;
        }
        Some(FormerRecord {
            names: former
                .names
                .iter()
                .map(|n| FormerNameRecord {
                    name: n.name.clone(),
                    until: n.until.0,
                })
                .collect(),
            documents: former
                .documents
                .iter()
                .map(|d| FormerDocumentRecord {
                    id_document_type: d.identity.doc_type().number(),
                    national_id: d.identity.number().to_string(),
                    until: d.until.0,
                    reason: d.reason.number(),
                })
                .collect(),
            retired_ids: former
                .retired_ids
                .iter()
                .map(|id| id.as_str().to_string())
                .collect(),
        })
    }

    pub(crate) fn into_domain(record: Option<Self>) -> Result<Former, String> {
        let Some(record) = record else {
            return Ok(Former::default());
        };
        Ok(Former {
            names: record
                .names
                .into_iter()
                .map(|n| FormerName {
                    name: n.name,
                    until: UnixMicros(n.until),
                })
                .collect(),
            documents: record
                .documents
                .into_iter()
                .map(|d| {
                    Ok(FormerDocument {
                        identity: IdentityDocument::from_stored(
                            super::v2::known(d.id_document_type, "document type")?,
                            d.national_id,
                        ),
                        until: UnixMicros(d.until),
                        reason: super::v2::known(d.reason, "former document reason")?,
                    })
                })
                .collect::<Result<_, String>>()?,
            retired_ids: record
                .retired_ids
                .into_iter()
                .map(registry_number)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{
        FormerDocumentReason, IdDocumentType, IdentityDocument, Teacher, TeacherId, UnixMicros,
    };
    use crate::store::codec;
    use crate::store::format::samples;
    use rand::SeedableRng;

    fn known_by_before() -> Teacher {
        let mut teacher = samples::teacher();
        teacher
            .former
            .keep_name("王芳芳", UnixMicros(1_650_000_000_000_000));
        teacher.former.keep_document(
            &IdentityDocument::from_stored(IdDocumentType::Passport, "E12345678".into()),
            UnixMicros(1_650_000_000_000_001),
            FormerDocumentReason::Merged,
        );
        teacher.former.retired_ids.push(TeacherId::generate(
            &mut rand::rngs::StdRng::seed_from_u64(7),
        ));
        teacher
    }

    #[test]
    fn what_a_record_was_known_by_round_trips() {
        let teacher = known_by_before();
        let bytes = codec::encode(&teacher);
        assert_eq!(codec::decode::<Teacher>(b"r", &bytes).unwrap(), teacher);
    }

    /// A record that keeps nothing encodes as records did before former names were kept,
    /// and such bytes (every record of an older registry) decode as keeping nothing.
    #[test]
    fn a_record_without_former_names_encodes_as_before() {
        let plain = samples::teacher();
        let bytes = codec::encode(&plain);
        let mut with = known_by_before();
        with.former = Default::default();
        assert_eq!(codec::encode(&with), bytes);
        assert!(codec::decode::<Teacher>(b"r", &bytes)
            .unwrap()
            .former
            .is_empty());
    }
}
