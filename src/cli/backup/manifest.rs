//! What a backup directory holds (`manifest.json`), and the formats of its files that
//! `restore` reads. Apart from `backup.rs` so that the per-file readers and writers
//! (`records.rs`, `revisions.rs`) name the manifest without naming the commands.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::legacy_v1::{legacy_v1_change, legacy_v1_teacher};
use crate::api::{json, stored_change, stored_teacher};
use crate::domain::{ChangeEvent, Teacher};

/// The formats of backup files that `restore` reads; `backup` writes [`BackupFormat::WRITTEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupFormat {
    /// `teacher-registry-backup/1`: each line the serde JSON of a domain type.
    LegacyV1,
    /// `teacher-registry-backup/2`: each line the proto3 JSON mapping of `Teacher` or
    /// `BackupChange`.
    ProtoJson,
}

impl BackupFormat {
    pub const WRITTEN: BackupFormat = BackupFormat::ProtoJson;

    /// The name in `manifest.json`.
    pub fn name(self) -> &'static str {
        match self {
            BackupFormat::LegacyV1 => "teacher-registry-backup/1",
            BackupFormat::ProtoJson => "teacher-registry-backup/2",
        }
    }

    pub(super) fn named(name: &str) -> Option<BackupFormat> {
        [BackupFormat::LegacyV1, BackupFormat::ProtoJson]
            .into_iter()
            .find(|format| format.name() == name)
    }

    /// A line of `teachers.jsonl`; identity and certificate numbers are checked against
    /// `today`.
    pub(super) fn teacher(self, line: &str, today: NaiveDate) -> anyhow::Result<Teacher> {
        match self {
            BackupFormat::LegacyV1 => legacy_v1_teacher(line),
            BackupFormat::ProtoJson => Ok(stored_teacher(json::from_line(line)?, today)?),
        }
    }

    /// A line of `changes.jsonl`.
    pub(super) fn change(self, line: &str) -> anyhow::Result<ChangeEvent> {
        match self {
            BackupFormat::LegacyV1 => legacy_v1_change(line),
            BackupFormat::ProtoJson => Ok(stored_change(json::from_line(line)?)?),
        }
    }
}

/// What a backup holds; `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format of the files, e.g. `teacher-registry-backup/2`.
    pub format: String,
    /// The teachers are exactly the registry's at this revision.
    pub revision: u64,
    /// The first revision in `changes.jsonl`.
    pub oldest_revision: u64,
    pub teachers: u64,
    pub changes: u64,
    pub teachers_sha256: String,
    pub changes_sha256: String,
    /// Cases in `cases.jsonl` (0, and no file, in backups taken before cases existed).
    #[serde(default)]
    pub cases: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases_sha256: Option<String>,
    /// Consultations in `consultations.jsonl` (0, and no file, in earlier backups).
    #[serde(default)]
    pub consultations: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultations_sha256: Option<String>,
    /// Records in `evaluation.jsonl` (0, and no file, in earlier backups).
    #[serde(default)]
    pub evaluation: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_sha256: Option<String>,
    /// Revision entries in `revisions.jsonl` (0, and no file, in earlier backups).
    #[serde(default)]
    pub revisions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions_sha256: Option<String>,
    /// Records in `identity.jsonl` (0, and no file, in earlier backups).
    #[serde(default)]
    pub identity: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_sha256: Option<String>,
    /// When the backup was taken (RFC 3339, UTC).
    pub created: String,
}
