//! Backup format 1 (`teacher-registry-backup/1`), as release 0.1 wrote it: each line the
//! serde JSON of a domain type as it was then. Read through the store's frozen copies of
//! those types (`store::format::v1`), which also read release 0.1's stored values, so the
//! domain types can change without breaking old backups.

use anyhow::anyhow;

use crate::domain::{ChangeEvent, Teacher};
use crate::store::{release_0_1_change_event, release_0_1_teacher};

/// A line of a format 1 `teachers.jsonl`.
pub(super) fn legacy_v1_teacher(line: &str) -> anyhow::Result<Teacher> {
    release_0_1_teacher(line).map_err(|e| anyhow!("not a teacher of backup format 1: {e}"))
}

/// A line of a format 1 `changes.jsonl`.
pub(super) fn legacy_v1_change(line: &str) -> anyhow::Result<ChangeEvent> {
    release_0_1_change_event(line).map_err(|e| anyhow!("not a change of backup format 1: {e}"))
}
