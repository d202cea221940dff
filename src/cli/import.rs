//! `teacher-registry import`: a spreadsheet (CSV, XLSX, JSON Lines) into the registry
//! through ImportTeachers, with progress, a rejects file and an exit code that says
//! whether every row went in.
//!
//! The file is read on a blocking thread and streamed row by row; bounded channels on both
//! sides keep memory flat for any file size. Rows the file itself gets wrong (an unknown
//! gender label, say) are rejected here; the rest are judged by the server, with the same
//! rules as CreateTeacher. Every row, sent or not, also goes in file order to the task
//! that reads the answers, which come back in the order sent: so rejections are reported
//! in file order, whichever side rejected them.

mod progress;
mod refusal;
mod rejects;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::rows::{open_rows, Rows, SourceRow};
use super::{connect, count, refusal};
use crate::api::pb;
use progress::Progress;
pub use refusal::RowRefusal;
use rejects::{FileRow, Rejects};

/// Rows read ahead of the stream.
const READ_AHEAD: usize = 1024;
/// Rows read ahead of their answers: more than the stream holds in flight, so the reader
/// is held back by the stream alone.
const ANSWERS_AHEAD: usize = 4 * READ_AHEAD;

/// What to import and how.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The file; its format is taken from the extension (.csv, .xlsx, .jsonl).
    pub file: PathBuf,
    /// The registry: host:port, http://host:port, or https://host:port for TLS.
    #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
    pub server: String,
    /// create-only: an identity already in the registry is rejected; upsert: it is
    /// updated from the row.
    #[arg(long, value_enum, default_value_t = Mode::CreateOnly)]
    pub mode: Mode,
    /// Write the rejected rows to this CSV file: line, code and reason, then the row's
    /// own columns, so the file can be corrected and imported again.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

/// What an import does with an identity already in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Rejects the row (ALREADY_EXISTS).
    CreateOnly,
    /// Updates the record from the row.
    Upsert,
}

impl From<Mode> for pb::ImportMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::CreateOnly => pb::ImportMode::CreateOnly,
            Mode::Upsert => pb::ImportMode::Upsert,
        }
    }
}

/// The counts of one import run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl ImportSummary {
    fn rows(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.rejected
    }
}

/// A row of the file on its way, in file order.
enum Pending {
    /// Sent to the registry, which answers it in turn.
    Sent(FileRow),
    /// Rejected here, for this reason.
    Refused(FileRow, String),
}

/// Imports the file and prints a summary to `out`. Fails when the file cannot be read or
/// the stream breaks; rows answered before that are in the registry, and importing the
/// file again in upsert mode completes it without duplicates.
pub async fn run_import(args: &ImportArgs, out: &mut impl Write) -> anyhow::Result<ImportSummary> {
    let total = estimate_rows(&args.file);
    let rows = open_rows(&args.file)?;
    let warned = rows.ignored_columns().to_vec();
    warn_ignored(&args.file, &warned);
    let mut client = connect(&args.server).await?;
    let mut rejects = Rejects::create(args.rejects.as_deref(), &rows.columns())?;
    let progress = Progress::new(total);
    let started = Instant::now();

    let (request_sender, requests) = mpsc::channel(READ_AHEAD);
    let (pending_sender, mut pending) = mpsc::channel(ANSWERS_AHEAD);
    let mode = pb::ImportMode::from(args.mode);
    let reader =
        tokio::task::spawn_blocking(move || read_rows(rows, mode, request_sender, pending_sender));

    let mut results = match client.import_teachers(ReceiverStream::new(requests)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Err(refusal(status, "the registry refused the import")),
    };
    let mut summary = ImportSummary::default();
    let stopped = |summary: &ImportSummary, status| {
        let stopped = format!(
            "the import stopped after {}; rows answered so far are saved: run it again with \
             --mode upsert to finish",
            count(summary.rows(), "row", "rows")
        );
        refusal(status, stopped)
    };
    while let Some(row) = pending.recv().await {
        match row {
            Pending::Refused(row, reason) => {
                summary.rejected += 1;
                rejects.write(&row, "INVALID_ARGUMENT", &reason)?;
            }
            Pending::Sent(row) => {
                let result = match results.message().await {
                    Ok(Some(result)) => result,
                    Ok(None) => bail!("the registry answered fewer rows than were sent"),
                    Err(status) => {
                        progress.finish();
                        return Err(stopped(&summary, status));
                    }
                };
                match result.outcome() {
                    pb::ImportOutcome::Created => summary.created += 1,
                    pb::ImportOutcome::Updated => summary.updated += 1,
                    pb::ImportOutcome::Unchanged => summary.unchanged += 1,
                    pb::ImportOutcome::Rejected | pb::ImportOutcome::Unspecified => {
                        summary.rejected += 1;
                        let (code, reason) = match RowRefusal::of(&result) {
                            Some(refusal) => {
                                (refusal.code_name(), refusal.reason(&result.teacher_id))
                            }
                            None => ("UNKNOWN".into(), "rejected without a reason".into()),
                        };
                        rejects.write(&row, &code, &reason)?;
                    }
                }
            }
        }
        progress.update(summary.rows(), started);
    }
    match results.message().await {
        Ok(None) => {}
        Ok(Some(_)) => bail!("the registry answered more rows than were sent"),
        Err(status) => {
            progress.finish();
            return Err(stopped(&summary, status));
        }
    }
    let ignored = reader.await.context("the file reader stopped")??;
    let unwarned: Vec<String> = ignored
        .into_iter()
        .filter(|c| !warned.contains(c))
        .collect();
    warn_ignored(&args.file, &unwarned);
    rejects.finish()?;
    progress.finish();

    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    writeln!(
        out,
        "{} in {:.1} s ({:.0} rows/s): {} created, {} updated, {} unchanged, {} rejected",
        count(summary.rows(), "row", "rows"),
        seconds,
        summary.rows() as f64 / seconds,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.rejected
    )?;
    if summary.rejected > 0 {
        if let Some(path) = &args.rejects {
            writeln!(out, "rejected rows and their reasons: {}", path.display())?;
        }
    }
    Ok(summary)
}

/// Reads the file (on a blocking thread): each row the file gets right goes to the
/// registry, and every row to `pending`, in file order. Returns the names of the columns
/// it ignored.
fn read_rows(
    mut rows: Rows,
    mode: pb::ImportMode,
    requests: mpsc::Sender<pb::ImportTeachersRequest>,
    pending: mpsc::Sender<Pending>,
) -> anyhow::Result<Vec<String>> {
    for row in rows.by_ref() {
        let SourceRow {
            line,
            teacher,
            cells,
        } = row?;
        let row = FileRow { line, cells };
        let next = match teacher {
            Ok(teacher) => {
                let request = pb::ImportTeachersRequest {
                    teacher: Some(teacher),
                    mode: mode as i32,
                };
                if requests.blocking_send(request).is_err() {
                    break; // the stream ended; its error is reported there
                }
                Pending::Sent(row)
            }
            Err(problems) => {
                let reason = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                Pending::Refused(row, reason)
            }
        };
        if pending.blocking_send(next).is_err() {
            break;
        }
    }
    Ok(rows.ignored_columns().to_vec())
}

/// Says, on stderr, which columns of the file are not imported.
fn warn_ignored(file: &Path, columns: &[String]) {
    if !columns.is_empty() {
        let names: Vec<String> = columns.iter().map(|name| format!("{name:?}")).collect();
        eprintln!(
            "teacher-registry: warning: {}: these columns name no field of the registry and \
             are not imported: {}",
            file.display(),
            names.join(", ")
        );
    }
}

/// Rows in a CSV or JSON Lines file, from its line count; `None` for other formats.
fn estimate_rows(path: &Path) -> Option<u64> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    let header = match extension.as_str() {
        "csv" => 1,
        "jsonl" | "ndjson" => 0,
        _ => return None,
    };
    let mut file = std::fs::File::open(path).ok()?;
    let mut buffer = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let read = std::io::Read::read(&mut file, &mut buffer).ok()?;
        if read == 0 {
            break;
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Some(lines.saturating_sub(header))
}
