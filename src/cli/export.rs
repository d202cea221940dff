//! `teacher-registry export`: every teacher (or one county's), read page by page through
//! ListTeachers while the server keeps serving, as JSON Lines for other systems or as a
//! sheet (CSV, XLSX) for staff who work in Excel; `import` reads each back.
//!
//! A JSON Lines line is the proto3 JSON mapping of `teacher_registry.v1.Teacher` (see
//! `api::json`), the same as in a backup, so the file describes itself by the proto, a
//! field added to the proto is exported without a change here, and the whole record
//! (certificates with their copies, registrations and revocation, title history) imports
//! again. A sheet has the template's columns and Chinese headers (`template`), so an
//! exported sheet can be edited and imported again like a filled-in template (values in
//! Chinese, as staff write them). A row of
//! the template holds one certificate: a sheet shows the teacher's latest valid
//! certificate with its latest registration; the rest of the history is in JSON Lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rust_xlsxwriter::{Workbook, Worksheet};

use super::rows::sheet_cells;
use super::template::{start_csv, start_workbook};
use super::{connect, refusal, CommandError};
use crate::api::{json, pb};
use crate::private_files::create_private_file;

/// The file formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    JsonLines,
    Csv,
    Xlsx,
}

impl ExportFormat {
    /// The format named on the command line (`jsonl`, `csv`, `xlsx`), or, without one,
    /// the file's extension: `.csv` and `.xlsx` are sheets, anything else JSON Lines.
    pub fn choose(name: Option<&str>, file: &Path) -> Result<ExportFormat, CommandError> {
        let extension = file
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match name.unwrap_or(extension.as_str()) {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            "jsonl" | "ndjson" => Ok(ExportFormat::JsonLines),
            _ if name.is_none() => Ok(ExportFormat::JsonLines),
            other => Err(CommandError::Usage(format!(
                "{other} is not an export format: expected jsonl, csv or xlsx"
            ))),
        }
    }
}

/// The rows a worksheet holds below its header (Excel's limit).
const SHEET_ROWS: u32 = 1_048_575;

/// Where the teachers go. The CSV writer and the workbook are boxed: they are large, and
/// the sink lives in an async task.
enum Sink {
    JsonLines(BufWriter<File>),
    Csv(Box<csv::Writer<BufWriter<File>>>),
    /// A workbook is built in memory and written when done.
    Xlsx {
        book: Box<Workbook>,
        file: File,
        rows: u32,
    },
}

impl Sink {
    fn create(format: ExportFormat, file: File) -> anyhow::Result<Sink> {
        Ok(match format {
            ExportFormat::JsonLines => Sink::JsonLines(BufWriter::new(file)),
            ExportFormat::Csv => Sink::Csv(Box::new(start_csv(BufWriter::new(file))?)),
            ExportFormat::Xlsx => Sink::Xlsx {
                book: Box::new(start_workbook()?),
                file,
                rows: 0,
            },
        })
    }

    fn write(&mut self, teacher: &pb::Teacher) -> anyhow::Result<()> {
        match self {
            Sink::JsonLines(out) => writeln!(out, "{}", json::to_line(teacher)?)?,
            Sink::Csv(out) => out.write_record(sheet_cells(&sheet_view(teacher)))?,
            Sink::Xlsx { book, rows, .. } => {
                if *rows == SHEET_ROWS {
                    bail!(
                        "more than {SHEET_ROWS} teachers do not fit in one sheet: \
                         export them as .csv or .jsonl"
                    );
                }
                *rows += 1;
                let sheet: &mut Worksheet = book.worksheet_from_index(0)?;
                for (col, cell) in (0u16..).zip(sheet_cells(&sheet_view(teacher))) {
                    sheet.write_string(*rows, col, cell)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<File> {
        Ok(match self {
            Sink::JsonLines(out) => out.into_inner()?,
            Sink::Csv(out) => out.into_inner().map_err(|e| e.into_error())?.into_inner()?,
            Sink::Xlsx {
                mut book, mut file, ..
            } => {
                file.write_all(&book.save_to_buffer()?)?;
                file
            }
        })
    }
}

/// The teacher as a sheet row shows it: only the latest certified valid certificate, with
/// only its latest registration (the one in force).
fn sheet_view(teacher: &pb::Teacher) -> pb::Teacher {
    let certificate = teacher
        .certificates
        .iter()
        .filter(|c| c.status() == pb::CertificateStatus::Valid)
        .max_by(|a, b| a.certified_on.cmp(&b.certified_on))
        .map(|certificate| pb::Certificate {
            registrations: certificate
                .registrations
                .last()
                .cloned()
                .into_iter()
                .collect(),
            ..certificate.clone()
        });
    pb::Teacher {
        certificates: certificate.into_iter().collect(),
        title_history: Vec::new(),
        ..teacher.clone()
    }
}

/// Writes one teacher per line or row to `file` (replaced atomically when done; readable
/// by its owner only, as it holds identity numbers) and returns how many, and the
/// revision of the first page: changes after it may or may not be in the file, so a
/// reader that follows the change feed from it misses nothing.
pub async fn run_export(
    server: &str,
    county: &str,
    file: &Path,
    format: ExportFormat,
) -> anyhow::Result<(u64, u64)> {
    let mut client = connect(server).await?;
    let mut aside = file.as_os_str().to_owned();
    aside.push(".tmp");
    let aside = PathBuf::from(aside);
    let created =
        create_private_file(&aside).with_context(|| format!("cannot write {}", aside.display()))?;
    let mut sink = Sink::create(format, created)?;
    let (mut count, mut revision, mut token) = (0u64, None, String::new());
    loop {
        let request = pb::ListTeachersRequest {
            page_size: 1000,
            page_token: token.clone(),
            county_code: county.to_string(),
            ..Default::default()
        };
        let page = match client.list_teachers(request).await {
            Ok(page) => page.into_inner(),
            Err(status) => {
                let _ = std::fs::remove_file(&aside);
                return Err(refusal(status, "listing teachers failed"));
            }
        };
        revision.get_or_insert(page.revision);
        for teacher in &page.teachers {
            if let Err(error) = sink.write(teacher) {
                let _ = std::fs::remove_file(&aside);
                return Err(error);
            }
            count += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let file_handle = sink.finish().context("cannot finish the export")?;
    file_handle.sync_all()?;
    std::fs::rename(&aside, file).with_context(|| format!("cannot replace {}", file.display()))?;
    Ok((count, revision.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_flag_then_the_extension() {
        let choose = |name, file: &str| ExportFormat::choose(name, Path::new(file)).ok();
        assert_eq!(choose(None, "a.csv"), Some(ExportFormat::Csv));
        assert_eq!(choose(None, "a.XLSX"), Some(ExportFormat::Xlsx));
        assert_eq!(choose(None, "a.jsonl"), Some(ExportFormat::JsonLines));
        assert_eq!(choose(None, "a.json"), Some(ExportFormat::JsonLines));
        assert_eq!(choose(Some("csv"), "a.txt"), Some(ExportFormat::Csv));
        assert_eq!(choose(Some("xls"), "a.xls"), None);
    }

    #[test]
    fn a_sheet_row_shows_the_latest_valid_certificate_and_registration() {
        let certificate =
            |number: &str, certified_on: &str, status, registrations: &[&str]| pb::Certificate {
                certificate_number: number.into(),
                certified_on: certified_on.into(),
                status: status as i32,
                registrations: registrations
                    .iter()
                    .map(|r| pb::CertificateRegistration {
                        registered_on: r.to_string(),
                        expires_on: String::new(),
                    })
                    .collect(),
                ..Default::default()
            };
        let valid = pb::CertificateStatus::Valid;
        let teacher = pb::Teacher {
            certificates: vec![
                certificate("A", "2010-07-01", valid, &["2011-09-01"]),
                certificate("B", "2016-07-01", valid, &["2016-09-01", "2021-09-01"]),
                certificate("C", "2020-07-01", pb::CertificateStatus::Revoked, &[]),
            ],
            ..Default::default()
        };
        let view = sheet_view(&teacher);
        assert_eq!(view.certificates.len(), 1);
        assert_eq!(view.certificates[0].certificate_number, "B");
        assert_eq!(view.certificates[0].registrations.len(), 1);
        assert_eq!(
            view.certificates[0].registrations[0].registered_on,
            "2021-09-01"
        );
    }
}
