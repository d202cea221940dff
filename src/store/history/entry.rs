//! A stored revision entry as plain data.
//!
//! Apart from the history's reads and writes (`store::history`) because the stored format
//! (`store::format::revision`) and the codec name the entry, while the history calls into
//! them: here the entry names nothing of the store but the field differences it holds.

use super::wire::FieldChange;
use crate::domain::{ChangeKind, TeacherId, UnixMicros};

/// One stored revision entry of a teacher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevisionEntry {
    pub(crate) teacher_id: TeacherId,
    pub(crate) revision: u64,
    /// The record's revision before the change; 0 for its creation.
    pub(crate) previous: u64,
    pub(crate) kind: ChangeKind,
    pub(crate) time: UnixMicros,
    pub(crate) principal: String,
    pub(crate) request_id: Option<String>,
    pub(crate) fields: Vec<FieldChange>,
}
