//! Backup format 1 (`teacher-registry-backup/1`), as the releases before format 2 wrote it:
//! each line the serde JSON of a domain type as it was then. It is read here and nowhere
//! else, so that the domain types can change: when they do, these functions are to read
//! frozen copies of the types as format 1 wrote them, not the live ones.

use anyhow::Context;

use crate::domain::{ChangeEvent, Teacher};

/// A line of a format 1 `teachers.jsonl`.
pub(super) fn legacy_v1_teacher(line: &str) -> anyhow::Result<Teacher> {
    serde_json::from_str::<Teacher>(line).context("not a teacher of backup format 1")
}

/// A line of a format 1 `changes.jsonl`.
pub(super) fn legacy_v1_change(line: &str) -> anyhow::Result<ChangeEvent> {
    serde_json::from_str::<ChangeEvent>(line).context("not a change of backup format 1")
}
