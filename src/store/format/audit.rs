//! Format 2 of a read-audit entry (see `store::audit`): a storage-only protobuf message
//! under the rules of [`super::v2`]. The kind is stored as its number (see [`super::codes`]),
//! which is the proto's `AuditKind` number.

use prost::Message;

use super::codes::Coded;
use super::v2::known;
use crate::domain::audit::{AuditEntry, AuditKind};
use crate::domain::UnixMicros;

#[derive(Clone, PartialEq, Message)]
pub(crate) struct AuditRecord {
    #[prost(int64, tag = "1")]
    at_micros: i64,
    #[prost(string, tag = "2")]
    principal: String,
    #[prost(int32, tag = "3")]
    kind: i32,
    #[prost(string, tag = "4")]
    method: String,
    #[prost(string, tag = "5")]
    subject: String,
}

impl AuditRecord {
    pub(crate) fn of(entry: &AuditEntry) -> Self {
        AuditRecord {
            at_micros: entry.at.0,
            principal: entry.principal.clone(),
            kind: entry.kind.number(),
            method: entry.method.clone(),
            subject: entry.subject.clone(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<AuditEntry, String> {
        Ok(AuditEntry {
            at: UnixMicros(self.at_micros),
            principal: self.principal,
            kind: known::<AuditKind>(self.kind, "audit kind")?,
            method: self.method,
            subject: self.subject,
        })
    }
}
