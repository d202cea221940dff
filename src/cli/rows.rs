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

use std::path::{Path, PathBuf};

use super::short_name;
use crate::api::pb;

mod formats;
mod header;
mod labels;
mod lines;
mod message;

use formats::{open_csv, open_json_lines, open_sheet, CsvRows, JsonLines, SheetRows};
pub use header::HeaderProblem;
pub(crate) use header::ANNOTATIONS;
use header::{english, Header};
use labels::{unknown_value, BOOLEANS};
pub(super) use labels::{
    Choices, CERTIFICATE_KINDS, DOCUMENT_TYPES, EMPLOYMENT, GENDERS, LEGACY_TITLES,
};

/// One row of a file: where a person finds it, the teacher it describes or every problem
/// found in its values, and its cells as written.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    /// 1-based line (CSV, JSON Lines) or row (XLSX) number; a header row is line 1. A CSV
    /// line is counted as an editor counts it, whatever the line endings.
    pub line: u64,
    pub teacher: Result<pb::Teacher, Vec<RowProblem>>,
    /// The row's cells as text, under [`Rows::columns`] (any cells past the last column
    /// follow).
    pub cells: Vec<String>,
}

/// Why a file's rows cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error(
        "{} is not a supported file: expected .csv, .xlsx, .jsonl or .ndjson",
        .path.display()
    )]
    Unsupported { path: PathBuf },
    #[error("cannot read {}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The header row: a required field without a column, or a field with two.
    #[error("{} {problem}", .path.display())]
    Header {
        path: PathBuf,
        problem: HeaderProblem,
    },
}

/// [`RowsError::Unreadable`] for `path`, as a `map_err` argument.
fn unreadable<E>(path: &Path) -> impl FnOnce(E) -> RowsError + '_
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    move |error| RowsError::Unreadable {
        path: path.to_path_buf(),
        source: error.into(),
    }
}

/// [`RowsError::Header`] for `path`, as a `map_err` argument.
fn bad_header(path: &Path) -> impl FnOnce(HeaderProblem) -> RowsError + '_ {
    move |problem| RowsError::Header {
        path: path.to_path_buf(),
        problem,
    }
}

/// A value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The English column name, e.g. `gender`; empty when the problem is the whole row.
    pub field: String,
    pub description: String,
}

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

enum Source {
    Empty,
    Csv(Box<CsvRows>),
    Sheet(SheetRows),
    JsonLines(JsonLines),
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

/// A teacher's fields, in the order of [`COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    IdDocumentType,
    NationalId,
    Name,
    Gender,
    BirthDate,
    CountyCode,
    School,
    EmploymentStatus,
    LegacyTitle,
    LegacyTitleLimitedScope,
    CertificateNumber,
    CertificateKind,
    CertificateSubject,
    CertificateIssuingAuthority,
    CertifiedOn,
    RegisteredOn,
}

struct Column {
    field: Field,
    /// The proto field name, matched case-insensitively.
    english: &'static str,
    /// Chinese names, matched exactly; the first is the one templates show.
    names: &'static [&'static str],
}

const fn column(field: Field, english: &'static str, names: &'static [&'static str]) -> Column {
    Column {
        field,
        english,
        names,
    }
}

/// The one table of columns: headers, templates and generated files all follow it.
/// A row holds at most one certificate, in the `certificate_*` columns.
const COLUMNS: [Column; 16] = [
    column(Field::IdDocumentType, "id_document_type", &["证件类型"]),
    column(
        Field::NationalId,
        "national_id",
        &["身份证件号码", "身份证号"],
    ),
    column(Field::Name, "name", &["姓名"]),
    column(Field::Gender, "gender", &["性别"]),
    column(Field::BirthDate, "birth_date", &["出生日期"]),
    column(Field::CountyCode, "county_code", &["所在县区代码"]),
    column(Field::School, "school", &["学校"]),
    column(Field::EmploymentStatus, "employment_status", &["任职状态"]),
    column(Field::LegacyTitle, "legacy_title", &["原职称"]),
    column(
        Field::LegacyTitleLimitedScope,
        "legacy_title_limited_scope",
        &["原职称小范围有效"],
    ),
    column(
        Field::CertificateNumber,
        "certificate_number",
        &["教师资格证书号码"],
    ),
    column(Field::CertificateKind, "certificate_kind", &["资格种类"]),
    column(
        Field::CertificateSubject,
        "certificate_subject",
        &["任教学科"],
    ),
    column(
        Field::CertificateIssuingAuthority,
        "certificate_issuing_authority",
        &["认定机构"],
    ),
    column(Field::CertifiedOn, "certified_on", &["认定日期"]),
    column(Field::RegisteredOn, "registered_on", &["注册日期"]),
];

/// What a column is to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnUse {
    /// It holds this field.
    Read(Field),
    /// Its name is no field's, or one a rejects file adds: its values are not read.
    Ignored,
    /// It has no name: it must stay blank.
    Unnamed,
}

/// The text of one cell, or why it has none that can be used.
type Cell = Result<String, String>;

/// One row's cells by field, before their values are read.
struct RowCells {
    cells: [Cell; COLUMNS.len()],
    problems: Vec<RowProblem>,
}

impl RowCells {
    fn new() -> Self {
        Self {
            cells: std::array::from_fn(|_| Ok(String::new())),
            problems: Vec::new(),
        }
    }

    /// Cells in header order; a value under a blank or missing header is a problem, one
    /// under a column that is not read is ignored.
    fn from_columns(columns: &[ColumnUse], cells: impl IntoIterator<Item = Cell>) -> Self {
        let mut row = Self::new();
        for (position, cell) in cells.into_iter().enumerate() {
            match columns.get(position).unwrap_or(&ColumnUse::Unnamed) {
                ColumnUse::Read(field) => row.cells[*field as usize] = cell,
                ColumnUse::Ignored => {}
                ColumnUse::Unnamed if cell.as_ref().is_ok_and(|text| text.trim().is_empty()) => {}
                ColumnUse::Unnamed => row.problems.push(RowProblem {
                    field: String::new(),
                    description: format!("column {} has a value but no header", position + 1),
                }),
            }
        }
        row
    }

    fn is_empty(&self) -> bool {
        self.problems.is_empty()
            && self
                .cells
                .iter()
                .all(|c| c.as_ref().is_ok_and(|text| text.trim().is_empty()))
    }

    /// The row, unless it is empty; `cells` are its cells as written.
    fn into_row(self, line: u64, cells: Vec<String>) -> Option<SourceRow> {
        (!self.is_empty()).then(|| SourceRow {
            line,
            teacher: self.into_teacher(),
            cells,
        })
    }

    /// Takes a field's trimmed text; an unusable cell is recorded and reads as blank.
    fn text(&mut self, field: Field) -> String {
        match std::mem::replace(&mut self.cells[field as usize], Ok(String::new())) {
            Ok(text) if text.trim().len() == text.len() => text,
            Ok(text) => text.trim().to_string(),
            Err(description) => {
                self.problem(field, description);
                String::new()
            }
        }
    }

    fn problem(&mut self, field: Field, description: String) {
        self.problems.push(RowProblem {
            field: english(field).to_string(),
            description,
        });
    }

    fn choice(&mut self, field: Field, choices: &Choices, blank: i32) -> i32 {
        let text = self.text(field);
        if text.is_empty() {
            return blank;
        }
        choices.parse(&text).unwrap_or_else(|description| {
            self.problem(field, description);
            blank
        })
    }

    fn flag(&mut self, field: Field) -> bool {
        let text = self.text(field);
        if text.is_empty() {
            return false;
        }
        match BOOLEANS
            .iter()
            .find(|(label, _)| label.eq_ignore_ascii_case(&text))
        {
            Some(&(_, value)) => value,
            None => {
                let labels: Vec<&str> = BOOLEANS.iter().map(|(label, _)| *label).collect();
                self.problem(field, unknown_value(&text, &labels));
                false
            }
        }
    }

    fn date(&mut self, field: Field) -> String {
        reshape_date(&self.text(field))
    }

    /// Reads every field, so one pass reports all of a row's problems.
    fn into_teacher(mut self) -> Result<pb::Teacher, Vec<RowProblem>> {
        let resident = pb::IdDocumentType::ResidentIdCard as i32;
        let id_document_type = self.choice(Field::IdDocumentType, &DOCUMENT_TYPES, resident);
        let national_id = self.text(Field::NationalId);
        let name = self.text(Field::Name);
        let gender = self.choice(Field::Gender, &GENDERS, 0);
        let birth_date = self.date(Field::BirthDate);
        let county_code = self.text(Field::CountyCode);
        let school = self.text(Field::School);
        let employment_status = self.choice(Field::EmploymentStatus, &EMPLOYMENT, 0);
        let legacy_title = self.choice(Field::LegacyTitle, &LEGACY_TITLES, 0);
        let legacy_title_limited_scope = self.flag(Field::LegacyTitleLimitedScope);
        let certificate = pb::Certificate {
            certificate_number: self.text(Field::CertificateNumber),
            kind: self.choice(Field::CertificateKind, &CERTIFICATE_KINDS, 0),
            subject: self.text(Field::CertificateSubject),
            issuing_authority: self.text(Field::CertificateIssuingAuthority),
            certified_on: self.date(Field::CertifiedOn),
            ..Default::default()
        };
        let registered_on = self.date(Field::RegisteredOn);
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        let mut certificates = Vec::new();
        if certificate != pb::Certificate::default() || !registered_on.is_empty() {
            let mut certificate = certificate;
            if !registered_on.is_empty() {
                certificate.registrations.push(pb::CertificateRegistration {
                    registered_on,
                    expires_on: String::new(),
                });
            }
            certificates.push(certificate);
        }
        Ok(pb::Teacher {
            id_document_type,
            national_id,
            name,
            gender,
            birth_date,
            county_code,
            school,
            employment_status,
            legacy_title,
            legacy_title_limited_scope,
            certificates,
            ..Default::default()
        })
    }
}

/// Reshapes `YYYY/MM/DD`, `YYYYMMDD`, `YYYY-M-D` and `YYYY年M月D日` to `YYYY-MM-DD`;
/// anything else is kept as written for the server to judge. Every command that takes a
/// date from a person reads it with this, so what an import accepts, `transition` does.
pub(super) fn reshape_date(text: &str) -> String {
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if text.len() == 8 && digits(text, 8..=8) {
        return format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]);
    }
    let unified = text.replace(['年', '月', '/', '.'], "-");
    let parts: Vec<&str> = unified.trim_end_matches('日').split('-').collect();
    match parts[..] {
        [y, m, d] if digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2) => {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => text.to_string(),
    }
}

/// A teacher as cells in the order of [`column_names`], enums by their proto suffix:
/// the inverse of reading, for files this program writes.
pub(super) fn teacher_cells(teacher: &pb::Teacher) -> [String; COLUMNS.len()] {
    let certificate = teacher.certificates.first();
    let cert = |text: fn(&pb::Certificate) -> String| certificate.map(text).unwrap_or_default();
    COLUMNS.map(|column| match column.field {
        Field::IdDocumentType => suffix(
            teacher.id_document_type().as_str_name(),
            DOCUMENT_TYPES.prefix,
        ),
        Field::NationalId => teacher.national_id.clone(),
        Field::Name => teacher.name.clone(),
        Field::Gender => suffix(teacher.gender().as_str_name(), GENDERS.prefix),
        Field::BirthDate => teacher.birth_date.clone(),
        Field::CountyCode => teacher.county_code.clone(),
        Field::School => teacher.school.clone(),
        Field::EmploymentStatus => {
            suffix(teacher.employment_status().as_str_name(), EMPLOYMENT.prefix)
        }
        Field::LegacyTitle => suffix(teacher.legacy_title().as_str_name(), LEGACY_TITLES.prefix),
        Field::LegacyTitleLimitedScope => teacher.legacy_title_limited_scope.to_string(),
        Field::CertificateNumber => cert(|c| c.certificate_number.clone()),
        Field::CertificateKind => {
            cert(|c| suffix(c.kind().as_str_name(), CERTIFICATE_KINDS.prefix))
        }
        Field::CertificateSubject => cert(|c| c.subject.clone()),
        Field::CertificateIssuingAuthority => cert(|c| c.issuing_authority.clone()),
        Field::CertifiedOn => cert(|c| c.certified_on.clone()),
        Field::RegisteredOn => cert(|c| {
            c.registrations
                .first()
                .map(|r| r.registered_on.clone())
                .unwrap_or_default()
        }),
    })
}

/// A teacher as cells for people, in the order of [`column_names`]: as [`teacher_cells`],
/// but with enum values in Chinese and a set flag as 是 (blank when not set), as staff
/// fill in a template. Reading them gives the same teacher.
pub(super) fn sheet_cells(teacher: &pb::Teacher) -> [String; COLUMNS.len()] {
    let mut cells = teacher_cells(teacher);
    let chinese = |choices: &Choices, value: i32| choices.chinese(value).unwrap_or("").to_string();
    let mut set = |field: Field, text: String| cells[field as usize] = text;
    set(
        Field::IdDocumentType,
        chinese(&DOCUMENT_TYPES, teacher.id_document_type),
    );
    set(Field::Gender, chinese(&GENDERS, teacher.gender));
    set(
        Field::EmploymentStatus,
        chinese(&EMPLOYMENT, teacher.employment_status),
    );
    set(
        Field::LegacyTitle,
        chinese(&LEGACY_TITLES, teacher.legacy_title),
    );
    let flag = if teacher.legacy_title_limited_scope {
        "是"
    } else {
        ""
    };
    set(Field::LegacyTitleLimitedScope, flag.to_string());
    if let Some(certificate) = teacher.certificates.first() {
        set(
            Field::CertificateKind,
            chinese(&CERTIFICATE_KINDS, certificate.kind),
        );
    }
    cells
}

/// An enum value's name without its prefix; blank for the `_UNSPECIFIED` zero.
fn suffix(name: &str, prefix: &str) -> String {
    match short_name(name, prefix).as_str() {
        "UNSPECIFIED" => String::new(),
        text => text.to_string(),
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
