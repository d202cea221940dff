//! `identity.jsonl`: a backup's merges, identity corrections and duplicate candidate
//! pairs, one record a line, `{"merge": …}`, `{"correction": …}` or `{"pair": …}`
//! holding the record's stored value in base64 (see `BackupIdentity` in the proto).
//! Absent from backups taken before they were carried, which restore without them.

use std::io::BufRead;
use std::path::Path;

use anyhow::{ensure, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::files::{open, HashingWriter};
use super::Manifest;
use crate::api::pb;
use crate::store::{IdentityKind, IdentityRecords, RestorePart, Store};

pub(super) const IDENTITY: &str = "identity.jsonl";

/// One line of `identity.jsonl`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Merge(String),
    Correction(String),
    Pair(String),
}

impl Line {
    fn record(self) -> (IdentityKind, String) {
        match self {
            Line::Merge(text) => (IdentityKind::Merge, text),
            Line::Correction(text) => (IdentityKind::Correction, text),
            Line::Pair(text) => (IdentityKind::Pair, text),
        }
    }
}

/// Writes the records of `batch`, checking each decodes, so a server that sends what
/// this release cannot restore is refused now rather than at the restore.
pub(super) fn write(out: &mut HashingWriter, batch: pb::BackupIdentity) -> anyhow::Result<()> {
    let records = [
        (IdentityKind::Merge, batch.merge_record),
        (IdentityKind::Correction, batch.correction_record),
        (IdentityKind::Pair, batch.pair_record),
    ];
    for (kind, all) in records {
        for record in all {
            IdentityRecords::default()
                .push_encoded(kind, &record)
                .context("the server sent an identity record that is not one")?;
            let text = STANDARD.encode(&record);
            let line = match kind {
                IdentityKind::Merge => Line::Merge(text),
                IdentityKind::Correction => Line::Correction(text),
                IdentityKind::Pair => Line::Pair(text),
            };
            out.line(&serde_json::to_string(&line)?)?;
        }
    }
    Ok(())
}

/// Restores the records of `path` in one atomic step, after the teachers; answers how
/// many.
pub(super) async fn restore(
    store: &Store,
    path: &Path,
    manifest: &Manifest,
) -> anyhow::Result<u64> {
    let mut records = IdentityRecords::default();
    for (number, line) in std::io::BufReader::new(open(path)?).lines().enumerate() {
        let line = line?;
        let at = || format!("{IDENTITY} line {}", number + 1);
        let (kind, text) = serde_json::from_str::<Line>(&line)
            .with_context(at)?
            .record();
        let bytes = STANDARD.decode(text).with_context(at)?;
        if let Some(revision) = records.push_encoded(kind, &bytes).with_context(at)? {
            ensure!(
                revision <= manifest.revision,
                "{}: a correction of revision {revision}, after the backup's",
                at()
            );
        }
    }
    let count = records.len() as u64;
    store.restore(RestorePart::Identity(records)).await?;
    Ok(count)
}
