//! Format 2: protobuf messages kept for storage only, apart from the domain types and from
//! the public API.
//!
//! Protobuf is what makes this format able to evolve (as etcd and Kubernetes store
//! protobuf): a field is known by its tag, not its position, so a field added later is
//! absent from older values and decodes as its default, and values written by a newer
//! release keep decoding here with the new fields ignored. The rules for changing these
//! messages: add fields with new tags, never reuse or renumber a tag, never change a
//! field's type; an enum is stored as its stable number (see `codes`), dates as days from
//! 0001-01-01 (chrono's `num_days_from_ce`), times as microseconds since the Unix epoch.
//!
//! Here: how a message is framed, and the registry's flat messages (the change log's
//! entries, index entries, counters, flags, secrets); a teacher's record, nested several
//! levels deep, is in `teacher`.

mod teacher;

use prost::Message;

use super::codes::Coded;

pub(super) use super::scalars::{date, optional, registry_number};
pub(crate) use super::scalars::{days, known};
use crate::domain::case::CaseId;
use crate::domain::{self, CountyCode, TeacherId, UnixMicros};
pub(super) use teacher::FieldsRecord;
pub(crate) use teacher::TeacherRecord;

#[derive(Clone, PartialEq, Message)]
pub(crate) struct ChangeRecord {
    #[prost(uint64, tag = "1")]
    revision: u64,
    #[prost(string, tag = "2")]
    teacher_id: String,
    #[prost(int32, tag = "3")]
    kind: i32,
    #[prost(int64, tag = "4")]
    time: i64,
    #[prost(string, tag = "5")]
    principal: String,
    #[prost(string, optional, tag = "6")]
    request_id: Option<String>,
    #[prost(string, optional, tag = "7")]
    county_before: Option<String>,
    #[prost(string, tag = "8")]
    county_after: String,
    /// Empty unless the change is a case step (then `teacher_id` may be empty).
    #[prost(string, tag = "9")]
    case_id: String,
}

/// An index entry: the registry number it points to.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct IndexRecord {
    #[prost(string, tag = "1")]
    teacher_id: String,
}

/// A counter, a revision.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct NumberRecord {
    #[prost(uint64, tag = "1")]
    value: u64,
}

/// A flag of the registry's metadata.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct FlagRecord {
    #[prost(bool, tag = "1")]
    value: bool,
}

/// A secret of the registry's metadata.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct SecretRecord {
    #[prost(bytes = "vec", tag = "1")]
    value: Vec<u8>,
}

pub(crate) fn encode<M: Message>(message: &M, out: &mut Vec<u8>) {
    message
        .encode(out)
        .expect("a Vec grows to hold any message");
}

pub(crate) fn decode<M: Message + Default>(body: &[u8]) -> Result<M, String> {
    M::decode(body).map_err(|e| format!("undecodable value: {e}"))
}

impl ChangeRecord {
    pub(crate) fn of(event: &domain::ChangeEvent) -> Self {
        ChangeRecord {
            revision: event.revision,
            teacher_id: event
                .teacher_id
                .as_ref()
                .map_or(String::new(), |id| id.as_str().to_string()),
            case_id: event
                .case_id
                .as_ref()
                .map_or(String::new(), |id| id.as_str().to_string()),
            kind: event.kind.number(),
            time: event.time.0,
            principal: event.principal.clone(),
            request_id: event.request_id.clone(),
            county_before: event.county_before.as_ref().map(|c| c.as_str().to_string()),
            county_after: event.county_after.as_str().to_string(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<domain::ChangeEvent, String> {
        Ok(domain::ChangeEvent {
            revision: self.revision,
            teacher_id: match self.teacher_id.is_empty() {
                true => None,
                false => Some(registry_number(self.teacher_id)?),
            },
            case_id: match self.case_id.is_empty() {
                true => None,
                false => Some(CaseId::try_from(self.case_id)?),
            },
            kind: known(self.kind, "change kind")?,
            time: UnixMicros(self.time),
            principal: self.principal,
            request_id: self.request_id,
            county_before: self.county_before.map(CountyCode::try_from).transpose()?,
            county_after: CountyCode::try_from(self.county_after)?,
        })
    }
}

impl IndexRecord {
    pub(crate) fn of(id: &TeacherId) -> Self {
        IndexRecord {
            teacher_id: id.as_str().to_string(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<TeacherId, String> {
        registry_number(self.teacher_id)
    }
}

impl NumberRecord {
    pub(crate) fn of(value: u64) -> Self {
        NumberRecord { value }
    }

    pub(crate) fn value(&self) -> u64 {
        self.value
    }
}

impl FlagRecord {
    pub(crate) fn of(value: bool) -> Self {
        FlagRecord { value }
    }

    pub(crate) fn value(&self) -> bool {
        self.value
    }
}

impl SecretRecord {
    pub(crate) fn of(value: &[u8]) -> Self {
        SecretRecord {
            value: value.to_vec(),
        }
    }

    pub(crate) fn into_value(self) -> Vec<u8> {
        self.value
    }
}
