//! A backup's small groups of stored records (see `store::backup_records`), a file per
//! group, one record a line: a JSON object with one member, the kind's name holding the
//! record's stored value in base64, e.g. `{"round": "…"}`.
//!
//! - `evaluation.jsonl`: evaluation rounds, title applications and ethics findings
//!   (`round`, `application`, `ethics_findings`; `BackupEvaluation` in the proto);
//! - `identity.jsonl`: merges, identity corrections and duplicate candidate pairs
//!   (`merge`, `correction`, `pair`; `BackupIdentity` in the proto).
//!
//! Each is absent from backups taken before its group was carried, which restore without
//! it. Every group is written, read back and restored by the same code here.

use std::io::BufRead;
use std::path::Path;

use anyhow::{anyhow, ensure, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::files::{open, HashingWriter};
use super::manifest::Manifest;
use crate::api::pb;
use crate::store::{EvaluationKind, IdentityKind, RecordGroup, RestorePart, Store};

pub(super) const EVALUATION: &str = "evaluation.jsonl";
pub(super) const IDENTITY: &str = "identity.jsonl";

/// The records of an evaluation batch, by kind.
pub(super) fn evaluation(batch: pb::BackupEvaluation) -> Vec<(EvaluationKind, Vec<Vec<u8>>)> {
    vec![
        (EvaluationKind::Round, batch.round_record),
        (EvaluationKind::Application, batch.application_record),
        (EvaluationKind::Findings, batch.ethics_findings_record),
    ]
}

/// The records of an identity batch, by kind.
pub(super) fn identity(batch: pb::BackupIdentity) -> Vec<(IdentityKind, Vec<Vec<u8>>)> {
    vec![
        (IdentityKind::Merge, batch.merge_record),
        (IdentityKind::Correction, batch.correction_record),
        (IdentityKind::Pair, batch.pair_record),
    ]
}

/// Writes the records of a batch, checking each decodes, so a server that sends what
/// this release cannot restore is refused now rather than at the restore.
pub(super) fn write<G: RecordGroup>(
    out: &mut HashingWriter,
    batch: Vec<(G::Kind, Vec<Vec<u8>>)>,
) -> anyhow::Result<()> {
    for (kind, all) in batch {
        for record in all {
            G::default()
                .push_encoded(kind, &record)
                .with_context(|| format!("the server sent {} that is not one", G::RECORD))?;
            let mut line = serde_json::Map::new();
            line.insert(
                G::kind_name(kind).to_string(),
                STANDARD.encode(&record).into(),
            );
            out.line(&serde_json::to_string(&line)?)?;
        }
    }
    Ok(())
}

/// Restores the records of `dir`'s file `name` in one atomic step (after the teachers);
/// answers how many. A record of a revision after the backup's is damage.
pub(super) async fn restore<G: RecordGroup + Into<RestorePart>>(
    store: &Store,
    dir: &Path,
    name: &str,
    manifest: &Manifest,
) -> anyhow::Result<u64> {
    let mut records = G::default();
    for (number, line) in std::io::BufReader::new(open(&dir.join(name))?)
        .lines()
        .enumerate()
    {
        let line = line?;
        let at = || format!("{name} line {}", number + 1);
        let (kind, text) = parse_line::<G>(&line).with_context(at)?;
        let bytes = STANDARD.decode(text).with_context(at)?;
        if let Some(revision) = records.push_encoded(kind, &bytes).with_context(at)? {
            ensure!(
                revision <= manifest.revision,
                "{}: {} of revision {revision}, after the backup's",
                at(),
                G::RECORD
            );
        }
    }
    let count = records.len() as u64;
    store.restore(records.into()).await?;
    Ok(count)
}

/// A line's kind and base64 text: one member, named by a kind of `G`.
fn parse_line<G: RecordGroup>(line: &str) -> anyhow::Result<(G::Kind, String)> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)?;
    let mut members = object.into_iter();
    match (members.next(), members.next()) {
        (Some((name, serde_json::Value::String(text))), None) => {
            let kind =
                G::kind_named(&name).ok_or_else(|| anyhow!("unknown record kind {name:?}"))?;
            Ok((kind, text))
        }
        _ => Err(anyhow!(
            "expected one member, a record kind holding a base64 string"
        )),
    }
}
