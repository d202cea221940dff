//! `evaluation.jsonl`: a backup's evaluation rounds, title applications and ethics
//! findings, one record a line, `{"round": …}`, `{"application": …}` or
//! `{"ethics_findings": …}` holding the record's stored value in base64 (see
//! `BackupEvaluation` in the proto). Absent from backups taken before they were carried,
//! which restore without them.

use std::io::BufRead;
use std::path::Path;

use anyhow::{ensure, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::files::{open, HashingWriter};
use super::Manifest;
use crate::api::pb;
use crate::store::{EvaluationKind, EvaluationRecords, RestorePart, Store};

pub(super) const EVALUATION: &str = "evaluation.jsonl";

/// One line of `evaluation.jsonl`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Round(String),
    Application(String),
    EthicsFindings(String),
}

impl Line {
    fn record(self) -> (EvaluationKind, String) {
        match self {
            Line::Round(text) => (EvaluationKind::Round, text),
            Line::Application(text) => (EvaluationKind::Application, text),
            Line::EthicsFindings(text) => (EvaluationKind::Findings, text),
        }
    }
}

/// Writes the records of `batch`, checking each decodes, so a server that sends what
/// this release cannot restore is refused now rather than at the restore.
pub(super) fn write(out: &mut HashingWriter, batch: pb::BackupEvaluation) -> anyhow::Result<()> {
    let records = [
        (EvaluationKind::Round, batch.round_record),
        (EvaluationKind::Application, batch.application_record),
        (EvaluationKind::Findings, batch.ethics_findings_record),
    ];
    for (kind, all) in records {
        for record in all {
            EvaluationRecords::default()
                .push_encoded(kind, &record)
                .context("the server sent an evaluation record that is not one")?;
            let text = STANDARD.encode(&record);
            let line = match kind {
                EvaluationKind::Round => Line::Round(text),
                EvaluationKind::Application => Line::Application(text),
                EvaluationKind::Findings => Line::EthicsFindings(text),
            };
            out.line(&serde_json::to_string(&line)?)?;
        }
    }
    Ok(())
}

/// Restores the records of `path` in one atomic step; answers how many.
pub(super) async fn restore(
    store: &Store,
    path: &Path,
    manifest: &Manifest,
) -> anyhow::Result<u64> {
    let mut records = EvaluationRecords::default();
    for (number, line) in std::io::BufReader::new(open(path)?).lines().enumerate() {
        let line = line?;
        let at = || format!("{EVALUATION} line {}", number + 1);
        let (kind, text) = serde_json::from_str::<Line>(&line)
            .with_context(at)?
            .record();
        let bytes = STANDARD.decode(text).with_context(at)?;
        let revision = records.push_encoded(kind, &bytes).with_context(at)?;
        ensure!(
            revision <= manifest.revision,
            "{}: a record of revision {revision}, after the backup's",
            at()
        );
    }
    let count = records.len() as u64;
    store.restore(RestorePart::Evaluation(records)).await?;
    Ok(count)
}
