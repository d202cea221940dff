//! Format 2 message of a merge, kept under the retired number (see
//! [`crate::store::identity::merges`]). A new stored type: every field is as first
//! written, and it evolves by the rules of [`super::v2`].

use prost::Message;

use super::v2::{self, registry_number, TeacherRecord};
use crate::domain::merge::{MergeRecord, Unmerge};
use crate::domain::UnixMicros;
use crate::store::codec::{Encoded, Stored};

#[derive(Clone, PartialEq, Message)]
struct StoredMerge {
    #[prost(string, tag = "1")]
    survivor_id: String,
    #[prost(message, optional, tag = "2")]
    survivor_before: Option<TeacherRecord>,
    #[prost(message, optional, tag = "3")]
    merged: Option<TeacherRecord>,
    #[prost(string, tag = "4")]
    reason: String,
    #[prost(string, tag = "5")]
    by: String,
    #[prost(int64, tag = "6")]
    at: i64,
    #[prost(string, repeated, tag = "7")]
    conflicts: Vec<String>,
    #[prost(message, optional, tag = "8")]
    undone: Option<StoredUnmerge>,
}

#[derive(Clone, PartialEq, Message)]
struct StoredUnmerge {
    #[prost(string, tag = "1")]
    by: String,
    #[prost(int64, tag = "2")]
    at: i64,
    #[prost(string, tag = "3")]
    reason: String,
}

impl Encoded for MergeRecord {
    fn encode_body(&self, out: &mut Vec<u8>) {
        let record = StoredMerge {
            survivor_id: self.survivor_id.as_str().to_string(),
            survivor_before: Some(TeacherRecord::of(&self.survivor_before)),
            merged: Some(TeacherRecord::of(&self.merged)),
            reason: self.reason.clone(),
            by: self.by.clone(),
            at: self.at.0,
            conflicts: self.conflicts.clone(),
            undone: self.undone.as_ref().map(|u| StoredUnmerge {
                by: u.by.clone(),
                at: u.at.0,
                reason: u.reason.clone(),
            }),
        };
        v2::encode(&record, out);
    }
}

impl Stored for MergeRecord {
    fn decode_v1(_: &[u8]) -> Result<Self, String> {
        Err("format 1 had no merges".into())
    }
    fn decode_v2(body: &[u8]) -> Result<Self, String> {
        let record = v2::decode::<StoredMerge>(body)?;
        Ok(MergeRecord {
            survivor_id: registry_number(record.survivor_id)?,
            survivor_before: record
                .survivor_before
                .ok_or("a merge without its survivor")?
                .into_domain()?,
            merged: record
                .merged
                .ok_or("a merge without its merged record")?
                .into_domain()?,
            reason: record.reason,
            by: record.by,
            at: UnixMicros(record.at),
            conflicts: record.conflicts,
            undone: record.undone.map(|u| Unmerge {
                by: u.by,
                at: UnixMicros(u.at),
                reason: u.reason,
            }),
        })
    }
}
