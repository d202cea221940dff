//! Teacher rows from the files HR staff keep: CSV (UTF-8, or GBK/GB18030 as Chinese
//! spreadsheet software saves it), XLSX (the first sheet) and JSON Lines.
//!
//! Every format goes through one table of columns (`COLUMNS`, shown by
//! [`column_names`]) and one set of value rules, so a row reads the same whichever file
//! it came from. Reading only reshapes: labels become proto enums and dates `YYYY-MM-DD`.
//! Whether a number or a date is valid is the server's decision, so its word reaches the
//! person unchanged. CSV and JSON Lines stream, so millions of rows read in constant
//! memory; an XLSX sheet is read whole, which is how calamine reads it.
//!
//! Each row also keeps its cells as written, under the file's own column names, so that a
//! rejected row can be written back out, corrected and imported again.

use std::path::Path;

mod columns;
mod error;
mod formats;
mod header;
mod labels;
mod lines;
mod message;
mod row;

use columns::COLUMNS;
pub use error::RowsError;
use formats::{open_csv, open_json_lines, open_sheet, Source};
pub use header::HeaderProblem;
pub(crate) use header::ANNOTATIONS;
pub(super) use labels::{
    Choices, CERTIFICATE_KINDS, DOCUMENT_TYPES, EMPLOYMENT, GENDERS, LEGACY_TITLES,
};
pub(crate) use row::{reshape_date, sheet_cells, teacher_cells};
pub use row::{RowProblem, SourceRow};

/// The rows of a file, in file order, skipping empty rows. An `Err` item means the file
/// cannot be read from there on (and ends the rows); a bad row is an `Ok` item whose
/// `teacher` is `Err`. `Send`, so a file can be read on a blocking thread.
pub struct Rows(Source);

impl Rows {
    /// The names of the columns of [`SourceRow::cells`]: the file's header as written
    /// (without the columns a rejects file adds); for JSON Lines, the English names of
    /// every field.
    pub fn columns(&self) -> Vec<String> {
        match &self.0 {
            Source::Empty => Vec::new(),
            Source::Csv(rows) => rows.header.names.clone(),
            Source::Sheet(rows) => rows.header.names.clone(),
            Source::JsonLines(_) => COLUMNS.iter().map(|c| c.english.to_string()).collect(),
        }
    }

    /// The names of the columns read so far that name no field and so are not imported:
    /// all of them once the header is read; for JSON Lines, the keys of the lines read.
    pub fn ignored_columns(&self) -> &[String] {
        match &self.0 {
            Source::Empty => &[],
            Source::Csv(rows) => &rows.header.ignored,
            Source::Sheet(rows) => &rows.header.ignored,
            Source::JsonLines(rows) => &rows.ignored,
        }
    }
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = match self.0 {
            Source::Empty => "empty",
            Source::Csv(_) => "CSV",
            Source::Sheet(_) => "XLSX",
            Source::JsonLines(_) => "JSON Lines",
        };
        f.debug_tuple("Rows").field(&format).finish()
    }
}

impl Iterator for Rows {
    type Item = anyhow::Result<SourceRow>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Source::Empty => None,
            Source::Csv(rows) => rows.next(),
            Source::Sheet(rows) => rows.next(),
            Source::JsonLines(rows) => rows.next(),
        }
    }
}

/// Opens `path` by its extension (`.csv`, `.xlsx`, `.jsonl` or `.ndjson`, any case) and
/// reads its header. Fails when the file cannot be opened, has another extension, or its
/// header lacks a required column or has two for one field.
pub fn open_rows(path: &Path) -> Result<Rows, RowsError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let source = match extension.as_str() {
        "csv" => open_csv(path),
        "xlsx" => open_sheet(path),
        "jsonl" | "ndjson" => open_json_lines(path),
        _ => Err(RowsError::Unsupported {
            path: path.to_path_buf(),
        }),
    };
    source.map(Rows)
}

/// The columns as (English, Chinese) names, in the order of the template.
pub fn column_names() -> impl ExactSizeIterator<Item = (&'static str, &'static str)> {
    COLUMNS.iter().map(|c| (c.english, c.names[0]))
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
