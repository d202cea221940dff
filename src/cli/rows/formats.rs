//! Where cells come from: the file formats. Each turns its rows into [`RowCells`]
//! and leaves what the cells mean to the parent module.

use std::fs::File;
use std::io::{BufRead, BufReader, Chain, Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use calamine::{Data, Reader, Xlsx};
use encoding_rs::{GB18030, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde_json::Value;

use super::columns::COLUMNS;
use super::error::{bad_header, unreadable, RowsError};
use super::header::Header;
use super::header::{column_of, english};
use super::lines::LineCounter;
use super::message::{is_teacher_message, teacher_message};
use super::row::{Cell, RowCells, RowProblem, SourceRow};

/// Where a [`super::Rows`] reads from.
pub(super) enum Source {
    Empty,
    Csv(Box<CsvRows>),
    Sheet(SheetRows),
    JsonLines(JsonLines),
}

/// A number as a person typed it: whole numbers (codes, IDs typed as numbers) without
/// a decimal point.
fn number_text(value: f64) -> Cell {
    if value.fract() != 0.0 || !value.is_finite() {
        return Ok(value.to_string());
    }
    if value.abs() >= 1e15 {
        // Spreadsheets keep 15 significant digits: an 18-digit ID typed as a number has
        // already lost its last digits, and no reader can get them back.
        return Err("a number this long has lost its last digits; \
                    format the column as text (or quote the value) and type it again"
            .into());
    }
    Ok(format!("{}", value as i64))
}

// CSV

/// How much of a CSV file decides its encoding.
const SNIFF_LEN: usize = 256 * 1024;

type CsvInput = LineCounter<DecodeReaderBytes<Chain<Cursor<Vec<u8>>, File>, Vec<u8>>>;

pub(super) struct CsvRows {
    reader: csv::Reader<CsvInput>,
    pub(super) header: Header,
    record: csv::StringRecord,
    path: PathBuf,
    done: bool,
}

pub(super) fn open_csv(path: &Path) -> Result<Source, RowsError> {
    let mut file = File::open(path).map_err(unreadable(path))?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut file)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(unreadable(path))?;
    let complete = head.len() < SNIFF_LEN;
    let encoding = sniff_encoding(&head, complete);
    let input = utf8_reader(Cursor::new(head).chain(file), encoding);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineCounter::new(input));
    let mut record = csv::StringRecord::new();
    let header = loop {
        if !reader.read_record(&mut record).map_err(unreadable(path))? {
            return Ok(Source::Empty);
        }
        if record.iter().any(|cell| !cell.trim().is_empty()) {
            break Header::read(&record).map_err(bad_header(path))?;
        }
    };
    Ok(Source::Csv(Box::new(CsvRows {
        reader,
        header,
        record,
        path: path.to_path_buf(),
        done: false,
    })))
}

/// A byte-order mark or valid UTF-8 means UTF-8 (a character cut at the end of an
/// incomplete sniff is allowed); anything else is read as GB18030, which contains GBK.
pub(super) fn sniff_encoding(head: &[u8], complete: bool) -> &'static encoding_rs::Encoding {
    match std::str::from_utf8(head) {
        _ if head.starts_with(b"\xEF\xBB\xBF") => UTF_8,
        Ok(_) => UTF_8,
        Err(e) if e.error_len().is_none() && !complete => UTF_8,
        Err(_) => GB18030,
    }
}

impl Iterator for CsvRows {
    type Item = anyhow::Result<SourceRow>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let line = self.reader.position().line();
                    return Some(Err(anyhow!(e).context(format!(
                        "cannot read {} after line {line}",
                        self.path.display()
                    ))));
                }
            }
            if self.done {
                break;
            }
            let byte = self.record.position().map_or(0, |p| p.byte());
            let line = self.reader.get_mut().line_at(byte);
            let cells = self.record.iter().map(|cell| Ok(cell.to_string()));
            let read = RowCells::from_columns(&self.header.columns, cells);
            let written = self.header.carried(self.record.iter().map(String::from));
            if let Some(row) = read.into_row(line, written) {
                return Some(Ok(row));
            }
        }
        None
    }
}

/// Bytes in `encoding`, read as UTF-8 while streaming (a byte-order mark dropped).
pub(super) fn utf8_reader<R: Read>(
    inner: R,
    encoding: &'static encoding_rs::Encoding,
) -> DecodeReaderBytes<R, Vec<u8>> {
    DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .build(inner)
}

// XLSX

pub(super) struct SheetRows {
    sheet: calamine::Range<Data>,
    pub(super) header: Header,
    /// The next row, relative to the sheet's first used row.
    next: usize,
    /// The 1-based row number of the sheet's first used row.
    first_line: u64,
}

pub(super) fn open_sheet(path: &Path) -> Result<Source, RowsError> {
    let mut book: Xlsx<_> = calamine::open_workbook(path).map_err(unreadable(path))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")
        .map_err(unreadable(path))?
        .map_err(unreadable(path))?;
    let Some((first_row, _)) = sheet.start() else {
        return Ok(Source::Empty);
    };
    let mut rows = SheetRows {
        sheet,
        header: Header::default(),
        next: 0,
        first_line: u64::from(first_row) + 1,
    };
    while rows.next < rows.sheet.height() {
        let header = rows.cells(rows.next);
        rows.next += 1;
        if header
            .iter()
            .any(|c| c.as_ref().is_ok_and(|t| !t.trim().is_empty()))
        {
            let names = header.into_iter().map(Result::unwrap_or_default);
            rows.header = Header::read(names).map_err(bad_header(path))?;
            return Ok(Source::Sheet(rows));
        }
    }
    Ok(Source::Empty)
}

impl SheetRows {
    fn cells(&self, row: usize) -> Vec<Cell> {
        (0..self.sheet.width())
            .map(|col| {
                self.sheet
                    .get((row, col))
                    .map_or(Ok(String::new()), sheet_cell)
            })
            .collect()
    }
}

impl Iterator for SheetRows {
    type Item = anyhow::Result<SourceRow>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.sheet.height() {
            let row = self.next;
            self.next += 1;
            let cells = self.cells(row);
            let written = self
                .header
                .carried(cells.iter().map(|c| c.clone().unwrap_or_default()));
            let read = RowCells::from_columns(&self.header.columns, cells);
            if let Some(row) = read.into_row(self.first_line + row as u64, written) {
                return Some(Ok(row));
            }
        }
        None
    }
}

/// A cell as the text a person sees; date cells as `YYYY-MM-DD`.
fn sheet_cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Ok(String::new()),
        Data::String(text) | Data::DurationIso(text) => Ok(text.clone()),
        // A date-time without a time of day is a date.
        Data::DateTimeIso(text) => Ok(text.trim_end_matches("T00:00:00").to_string()),
        Data::Int(n) => Ok(n.to_string()),
        Data::Float(n) => number_text(*n),
        Data::Bool(b) => Ok(b.to_string()),
        Data::DateTime(date) => {
            let (year, month, day, ..) = date.to_ymd_hms_milli();
            Ok(format!("{year:04}-{month:02}-{day:02}"))
        }
        Data::Error(e) => Err(format!("the cell holds the spreadsheet error {e}")),
    }
}

// JSON Lines

pub(super) struct JsonLines {
    reader: BufReader<File>,
    buffer: Vec<u8>,
    line: u64,
    path: PathBuf,
    done: bool,
    /// The keys met so far that name no field, in the order met.
    pub(super) ignored: Vec<String>,
}

pub(super) fn open_json_lines(path: &Path) -> Result<Source, RowsError> {
    Ok(Source::JsonLines(JsonLines {
        reader: BufReader::new(File::open(path).map_err(unreadable(path))?),
        buffer: Vec::new(),
        line: 0,
        path: path.to_path_buf(),
        done: false,
        ignored: Vec::new(),
    }))
}

impl Iterator for JsonLines {
    type Item = anyhow::Result<SourceRow>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buffer.clear();
            match self.reader.read_until(b'\n', &mut self.buffer) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line += 1;
                    let mut bytes = self.buffer.trim_ascii();
                    if self.line == 1 {
                        bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                    }
                    if bytes.is_empty() {
                        continue;
                    }
                    let (read, written) = match serde_json::from_slice::<Value>(bytes) {
                        Ok(Value::Object(object)) if is_teacher_message(&object) => {
                            let row = teacher_message(object, self.line, &mut self.ignored);
                            return Some(Ok(row));
                        }
                        parsed => json_cells(parsed, &mut self.ignored),
                    };
                    if let Some(row) = read.into_row(self.line, written) {
                        return Some(Ok(row));
                    }
                }
                Err(e) => {
                    self.done = true;
                    let (path, line) = (self.path.display(), self.line);
                    return Some(Err(
                        anyhow!(e).context(format!("cannot read {path} after line {line}"))
                    ));
                }
            }
        }
        None
    }
}

/// One line's object as cells to read, and as written: a value for each field, in the
/// order of [`COLUMNS`]. A line that is not an object, or gives a field twice (by its
/// English and its Chinese name), is a bad row. A key that names no field is ignored, and
/// added to `ignored` the first time.
fn json_cells(
    parsed: serde_json::Result<Value>,
    ignored: &mut Vec<String>,
) -> (RowCells, Vec<String>) {
    let mut row = RowCells::new();
    let mut written = vec![String::new(); COLUMNS.len()];
    let object = match parsed {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return (
                whole_row_problem(row, "is not a JSON object".into()),
                written,
            )
        }
        Err(e) => return (whole_row_problem(row, format!("is not JSON: {e}")), written),
    };
    let mut seen = [false; COLUMNS.len()];
    for (key, value) in object {
        let Some(field) = column_of(&key) else {
            if !ignored.contains(&key) {
                ignored.push(key);
            }
            continue;
        };
        if std::mem::replace(&mut seen[field.index()], true) {
            let twice = format!("gives {} twice", english(field));
            row = whole_row_problem(row, twice);
            continue;
        }
        written[field.index()] = match &value {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        row.cells[field.index()] = match value {
            Value::Null => Ok(String::new()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) if n.is_f64() => number_text(n.as_f64().unwrap_or(f64::NAN)),
            Value::Number(n) => Ok(n.to_string()),
            Value::String(text) => Ok(text),
            Value::Array(_) | Value::Object(_) => {
                Err("expected a string, a number or a boolean".into())
            }
        };
    }
    (row, written)
}

fn whole_row_problem(mut row: RowCells, description: String) -> RowCells {
    row.problems.push(RowProblem {
        field: String::new(),
        description,
    });
    row
}
