//! Teacher rows from the files HR staff keep: CSV (UTF-8, or GBK/GB18030 as Chinese
//! spreadsheet software saves it), XLSX (the first sheet) and JSON Lines.
//!
//! Every format goes through one table of columns (`COLUMNS`, shown by
//! [`column_names`]) and one set of value rules, so a row reads the same whichever file
//! it came from. Reading only reshapes: labels become proto enums and dates `YYYY-MM-DD`.
//! Whether a number or a date is valid is the server's decision, so its word reaches the
//! person unchanged. CSV and JSON Lines stream, so millions of rows read in constant
//! memory; an XLSX sheet is read whole, which is how calamine reads it.

use std::path::Path;

use anyhow::{bail, Context};

use super::short_name;
use crate::api::pb;

mod formats;

use formats::{open_csv, open_json_lines, open_sheet, CsvRows, JsonLines, SheetRows};

/// One row of a file: where a person finds it, and the teacher it describes or every
/// problem found in its values.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    /// 1-based line (CSV, JSON Lines) or row (XLSX) number; a header row is line 1.
    pub line: u64,
    pub teacher: Result<pb::Teacher, Vec<RowProblem>>,
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
/// header names an unknown column or one column twice; the error lists the accepted names.
pub fn open_rows(path: &Path) -> anyhow::Result<Rows> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let source = match extension.as_str() {
        "csv" => open_csv(path),
        "xlsx" => open_sheet(path),
        "jsonl" | "ndjson" => open_json_lines(path),
        _ => bail!(
            "{} is not a supported file: expected .csv, .xlsx, .jsonl or .ndjson",
            path.display()
        ),
    };
    source
        .map(Rows)
        .with_context(|| format!("cannot read {}", path.display()))
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

fn column_of(header: &str) -> Option<Field> {
    let header = header.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    COLUMNS
        .iter()
        .find(|c| c.english.eq_ignore_ascii_case(header) || c.names.contains(&header))
        .map(|c| c.field)
}

fn english(field: Field) -> &'static str {
    COLUMNS[field as usize].english
}

fn accepted_columns() -> String {
    let names: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("{} ({})", c.english, c.names.join(" or ")))
        .collect();
    names.join(", ")
}

/// Maps header cells to fields. A blank header cell names no column; its values must
/// stay blank. Every unknown name is reported at once, with the accepted names.
fn read_header<S: AsRef<str>>(
    headers: impl IntoIterator<Item = S>,
) -> anyhow::Result<Vec<Option<Field>>> {
    let mut fields = Vec::new();
    let mut unknown = Vec::new();
    for (position, header) in headers.into_iter().enumerate() {
        let header = header.as_ref().trim();
        if header.is_empty() {
            fields.push(None);
            continue;
        }
        let Some(field) = column_of(header) else {
            unknown.push(format!("{header:?}"));
            fields.push(None);
            continue;
        };
        if let Some(first) = fields.iter().position(|f| *f == Some(field)) {
            bail!(
                "columns {} and {} are both {}",
                first + 1,
                position + 1,
                english(field)
            );
        }
        fields.push(Some(field));
    }
    if !unknown.is_empty() {
        bail!(
            "unknown column {}; the accepted columns are {}",
            unknown.join(", "),
            accepted_columns()
        );
    }
    Ok(fields)
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

    /// Cells in header order; a value under a blank or missing header is a problem.
    fn from_columns(columns: &[Option<Field>], cells: impl IntoIterator<Item = Cell>) -> Self {
        let mut row = Self::new();
        for (position, cell) in cells.into_iter().enumerate() {
            match columns.get(position).copied().flatten() {
                Some(field) => row.cells[field as usize] = cell,
                None if cell.as_ref().is_ok_and(|text| text.trim().is_empty()) => {}
                None => row.problems.push(RowProblem {
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

    fn into_row(self, line: u64) -> Option<SourceRow> {
        (!self.is_empty()).then(|| SourceRow {
            line,
            teacher: self.into_teacher(),
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

/// The labels of one proto enum: its Chinese labels, and its proto value names.
struct Choices {
    prefix: &'static str,
    labels: &'static [(&'static str, i32)],
    /// The enum's `as_str_name` for a value.
    name: fn(i32) -> Option<&'static str>,
}

impl Choices {
    /// Accepts a Chinese label, or the proto name with or without its prefix, any case.
    fn parse(&self, text: &str) -> Result<i32, String> {
        let upper = text.to_ascii_uppercase();
        let suffix = upper.strip_prefix(self.prefix).unwrap_or(&upper);
        self.labels
            .iter()
            .find(|&&(chinese, value)| chinese == text || self.suffix(value) == Some(suffix))
            .map(|&(_, value)| value)
            .ok_or_else(|| {
                let chinese = self.labels.iter().map(|&(chinese, _)| chinese);
                let names = self.labels.iter().filter_map(|&(_, v)| self.suffix(v));
                unknown_value(text, &chinese.chain(names).collect::<Vec<_>>())
            })
    }

    fn suffix(&self, value: i32) -> Option<&'static str> {
        (self.name)(value).and_then(|name| name.strip_prefix(self.prefix))
    }
}

fn unknown_value(text: &str, expected: &[&str]) -> String {
    let (last, rest) = expected.split_last().expect("labels");
    format!(
        "unknown value {text:?}; expected {} or {last}",
        rest.join(", ")
    )
}

const DOCUMENT_TYPES: Choices = Choices {
    prefix: "ID_DOCUMENT_TYPE_",
    labels: &[
        ("居民身份证", pb::IdDocumentType::ResidentIdCard as i32),
        ("护照", pb::IdDocumentType::Passport as i32),
        (
            "港澳居民来往内地通行证",
            pb::IdDocumentType::HkMacaoPermit as i32,
        ),
        (
            "台湾居民来往大陆通行证",
            pb::IdDocumentType::TaiwanPermit as i32,
        ),
        ("其他", pb::IdDocumentType::Other as i32),
    ],
    name: |v| {
        pb::IdDocumentType::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

const GENDERS: Choices = Choices {
    prefix: "GENDER_",
    labels: &[
        ("男", pb::Gender::Male as i32),
        ("女", pb::Gender::Female as i32),
    ],
    name: |v| pb::Gender::try_from(v).ok().map(|e| e.as_str_name()),
};

const EMPLOYMENT: Choices = Choices {
    prefix: "EMPLOYMENT_STATUS_",
    labels: &[
        ("在职", pb::EmploymentStatus::Active as i32),
        ("调出", pb::EmploymentStatus::Transferred as i32),
        ("退休", pb::EmploymentStatus::Retired as i32),
        ("离职", pb::EmploymentStatus::Left as i32),
    ],
    name: |v| {
        pb::EmploymentStatus::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

const LEGACY_TITLES: Choices = Choices {
    prefix: "LEGACY_TITLE_",
    labels: &[
        ("中学高级教师", pb::LegacyTitle::SecondarySenior as i32),
        ("中学一级教师", pb::LegacyTitle::SecondaryFirst as i32),
        ("小学高级教师", pb::LegacyTitle::PrimarySenior as i32),
        ("中学二级教师", pb::LegacyTitle::SecondarySecond as i32),
        ("小学一级教师", pb::LegacyTitle::PrimaryFirst as i32),
        ("中学三级教师", pb::LegacyTitle::SecondaryThird as i32),
        ("小学二级教师", pb::LegacyTitle::PrimarySecond as i32),
        ("小学三级教师", pb::LegacyTitle::PrimaryThird as i32),
    ],
    name: |v| pb::LegacyTitle::try_from(v).ok().map(|e| e.as_str_name()),
};

const CERTIFICATE_KINDS: Choices = Choices {
    prefix: "CERTIFICATE_KIND_",
    labels: &[
        ("幼儿园", pb::CertificateKind::Kindergarten as i32),
        ("小学", pb::CertificateKind::PrimarySchool as i32),
        ("初级中学", pb::CertificateKind::JuniorSecondary as i32),
        ("高级中学", pb::CertificateKind::SeniorSecondary as i32),
        (
            "中等职业学校",
            pb::CertificateKind::SecondaryVocational as i32,
        ),
        (
            "中等职业学校实习指导",
            pb::CertificateKind::SecondaryVocationalInternshipInstructor as i32,
        ),
        ("高等学校", pb::CertificateKind::HigherEducation as i32),
    ],
    name: |v| {
        pb::CertificateKind::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

const BOOLEANS: [(&str, bool); 10] = [
    ("是", true),
    ("否", false),
    ("true", true),
    ("false", false),
    ("yes", true),
    ("no", false),
    ("1", true),
    ("0", false),
    ("y", true),
    ("n", false),
];

/// Reshapes `YYYY/MM/DD`, `YYYYMMDD`, `YYYY-M-D` and `YYYY年M月D日` to `YYYY-MM-DD`;
/// anything else is kept as written for the server to judge.
fn reshape_date(text: &str) -> String {
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
