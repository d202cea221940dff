//! `revisions.jsonl`: a backup's teachers' histories, one revision entry a line, a JSON
//! string holding the entry's stored value in base64 (see `BackupRevisions` in the
//! proto). Absent from backups taken before histories were kept, which restore without
//! them: the restored records' histories then start at their next change.

use std::io::BufRead;
use std::path::Path;

use anyhow::{ensure, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::files::{open, HashingWriter};
use super::manifest::Manifest;
use crate::api::pb;
use crate::store::{revision_of_entry, RestorePart, Store};

pub(super) const REVISIONS: &str = "revisions.jsonl";
/// Entries restored per atomic step.
const RESTORE_BATCH: usize = 1000;

/// Writes the entries of `batch`, checking each decodes, so a server that sends what this
/// release cannot restore is refused now rather than at the restore.
pub(super) fn write(out: &mut HashingWriter, batch: pb::BackupRevisions) -> anyhow::Result<()> {
    for record in batch.revision_record {
        revision_of_entry(&record).context("the server sent a revision entry that is not one")?;
        out.line(&serde_json::to_string(&STANDARD.encode(&record))?)?;
    }
    Ok(())
}

/// Restores the entries of `path`, a batch per atomic step; answers how many.
pub(super) async fn restore(
    store: &Store,
    path: &Path,
    manifest: &Manifest,
) -> anyhow::Result<u64> {
    let mut count = 0u64;
    let mut batch = Vec::with_capacity(RESTORE_BATCH);
    for (number, line) in std::io::BufReader::new(open(path)?).lines().enumerate() {
        let line = line?;
        let at = || format!("{REVISIONS} line {}", number + 1);
        let text: String = serde_json::from_str(&line).with_context(at)?;
        let bytes = STANDARD.decode(text).with_context(at)?;
        let revision = revision_of_entry(&bytes).with_context(at)?;
        ensure!(
            revision <= manifest.revision,
            "{}: a revision {revision}, after the backup's",
            at()
        );
        batch.push(bytes);
        count += 1;
        if batch.len() == RESTORE_BATCH {
            store
                .restore(RestorePart::Revisions(std::mem::take(&mut batch)))
                .await?;
        }
    }
    store.restore(RestorePart::Revisions(batch)).await?;
    Ok(count)
}
