//! Format 2 of a teacher's revision (see `store::history`): a storage-only protobuf
//! message under the rules of [`super::v2`].

use prost::Message;

use super::codes::Coded;
use super::v2::known;
use crate::domain::{TeacherId, UnixMicros};
use crate::store::history::{FieldChange, RevisionEntry};

/// What one change did to a teacher's record.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RevisionRecord {
    #[prost(string, tag = "1")]
    teacher_id: String,
    #[prost(uint64, tag = "2")]
    revision: u64,
    /// The record's revision before the change; 0 for its creation.
    #[prost(uint64, tag = "3")]
    previous: u64,
    /// The change kind's stored number (`codes`).
    #[prost(int32, tag = "4")]
    kind: i32,
    #[prost(int64, tag = "5")]
    time: i64,
    #[prost(string, tag = "6")]
    principal: String,
    #[prost(string, optional, tag = "7")]
    request_id: Option<String>,
    /// The record's field occurrences that differ (none for a creation).
    #[prost(message, repeated, tag = "8")]
    fields: Vec<FieldChangeRecord>,
}

/// One field occurrence of the record's encoding, before and after.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct FieldChangeRecord {
    #[prost(uint32, tag = "1")]
    number: u32,
    #[prost(uint32, tag = "2")]
    occurrence: u32,
    #[prost(bytes = "vec", optional, tag = "3")]
    old: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    new: Option<Vec<u8>>,
}

impl RevisionRecord {
    pub(crate) fn of(entry: &RevisionEntry) -> Self {
        RevisionRecord {
            teacher_id: entry.teacher_id.as_str().to_string(),
            revision: entry.revision,
            previous: entry.previous,
            kind: entry.kind.number(),
            time: entry.time.0,
            principal: entry.principal.clone(),
            request_id: entry.request_id.clone(),
            fields: entry
                .fields
                .iter()
                .map(|f| FieldChangeRecord {
                    number: f.number,
                    occurrence: f.occurrence,
                    old: f.old.clone(),
                    new: f.new.clone(),
                })
                .collect(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<RevisionEntry, String> {
        Ok(RevisionEntry {
            teacher_id: TeacherId::try_from(self.teacher_id)?,
            revision: self.revision,
            previous: self.previous,
            kind: known(self.kind, "change kind")?,
            time: UnixMicros(self.time),
            principal: self.principal,
            request_id: self.request_id,
            fields: self
                .fields
                .into_iter()
                .map(|f| FieldChange {
                    number: f.number,
                    occurrence: f.occurrence,
                    old: f.old,
                    new: f.new,
                })
                .collect(),
        })
    }
}
