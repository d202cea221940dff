//! One row: its cells by field as a file gives them, read into a teacher (or every problem
//! found in its values), and a teacher written back out as cells.

use super::columns::{ColumnUse, Field, COLUMNS};
use super::header::english;
use super::labels::{
    unknown_value, Choices, BOOLEANS, CERTIFICATE_KINDS, DOCUMENT_TYPES, EMPLOYMENT, GENDERS,
    LEGACY_TITLES,
};
use crate::api::pb;
use crate::cli::short_name;
use crate::domain::TeacherField;

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

/// A value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The English column name, e.g. `gender`; empty when the problem is the whole row.
    pub field: String,
    pub description: String,
}

/// The text of one cell, or why it has none that can be used.
pub(super) type Cell = Result<String, String>;

/// One row's cells by field, before their values are read.
pub(super) struct RowCells {
    pub(super) cells: [Cell; COLUMNS.len()],
    pub(super) problems: Vec<RowProblem>,
}

impl RowCells {
    pub(super) fn new() -> Self {
        Self {
            cells: std::array::from_fn(|_| Ok(String::new())),
            problems: Vec::new(),
        }
    }

    /// Cells in header order; a value under a blank or missing header is a problem, one
    /// under a column that is not read is ignored.
    pub(super) fn from_columns(
        columns: &[ColumnUse],
        cells: impl IntoIterator<Item = Cell>,
    ) -> Self {
        let mut row = Self::new();
        for (position, cell) in cells.into_iter().enumerate() {
            match columns.get(position).unwrap_or(&ColumnUse::Unnamed) {
                ColumnUse::Read(field) => row.cells[field.index()] = cell,
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
    pub(super) fn into_row(self, line: u64, cells: Vec<String>) -> Option<SourceRow> {
        (!self.is_empty()).then(|| SourceRow {
            line,
            teacher: self.into_teacher(),
            cells,
        })
    }

    /// Takes a field's trimmed text; an unusable cell is recorded and reads as blank.
    fn text(&mut self, field: Field) -> String {
        match std::mem::replace(&mut self.cells[field.index()], Ok(String::new())) {
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
        let id_document_type = self.choice(
            Field::Teacher(TeacherField::IdDocumentType),
            &DOCUMENT_TYPES,
            resident,
        );
        let national_id = self.text(Field::Teacher(TeacherField::NationalId));
        let name = self.text(Field::Teacher(TeacherField::Name));
        let gender = self.choice(Field::Teacher(TeacherField::Gender), &GENDERS, 0);
        let birth_date = self.date(Field::Teacher(TeacherField::BirthDate));
        let county_code = self.text(Field::Teacher(TeacherField::CountyCode));
        let school = self.text(Field::Teacher(TeacherField::School));
        let employment_status = self.choice(
            Field::Teacher(TeacherField::EmploymentStatus),
            &EMPLOYMENT,
            0,
        );
        let legacy_title =
            self.choice(Field::Teacher(TeacherField::LegacyTitle), &LEGACY_TITLES, 0);
        let legacy_title_limited_scope =
            self.flag(Field::Teacher(TeacherField::LegacyTitleLimitedScope));
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
pub(crate) fn reshape_date(text: &str) -> String {
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
pub(crate) fn teacher_cells(teacher: &pb::Teacher) -> [String; COLUMNS.len()] {
    let certificate = teacher.certificates.first();
    let cert = |text: fn(&pb::Certificate) -> String| certificate.map(text).unwrap_or_default();
    COLUMNS.map(|column| match column.field {
        Field::Teacher(TeacherField::IdDocumentType) => suffix(
            teacher.id_document_type().as_str_name(),
            DOCUMENT_TYPES.prefix,
        ),
        Field::Teacher(TeacherField::NationalId) => teacher.national_id.clone(),
        Field::Teacher(TeacherField::Name) => teacher.name.clone(),
        Field::Teacher(TeacherField::Gender) => {
            suffix(teacher.gender().as_str_name(), GENDERS.prefix)
        }
        Field::Teacher(TeacherField::BirthDate) => teacher.birth_date.clone(),
        Field::Teacher(TeacherField::CountyCode) => teacher.county_code.clone(),
        Field::Teacher(TeacherField::School) => teacher.school.clone(),
        Field::Teacher(TeacherField::EmploymentStatus) => {
            suffix(teacher.employment_status().as_str_name(), EMPLOYMENT.prefix)
        }
        Field::Teacher(TeacherField::LegacyTitle) => {
            suffix(teacher.legacy_title().as_str_name(), LEGACY_TITLES.prefix)
        }
        Field::Teacher(TeacherField::LegacyTitleLimitedScope) => {
            teacher.legacy_title_limited_scope.to_string()
        }
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
pub(crate) fn sheet_cells(teacher: &pb::Teacher) -> [String; COLUMNS.len()] {
    let mut cells = teacher_cells(teacher);
    let chinese = |choices: &Choices, value: i32| choices.chinese(value).unwrap_or("").to_string();
    let mut set = |field: Field, text: String| cells[field.index()] = text;
    set(
        Field::Teacher(TeacherField::IdDocumentType),
        chinese(&DOCUMENT_TYPES, teacher.id_document_type),
    );
    set(
        Field::Teacher(TeacherField::Gender),
        chinese(&GENDERS, teacher.gender),
    );
    set(
        Field::Teacher(TeacherField::EmploymentStatus),
        chinese(&EMPLOYMENT, teacher.employment_status),
    );
    set(
        Field::Teacher(TeacherField::LegacyTitle),
        chinese(&LEGACY_TITLES, teacher.legacy_title),
    );
    let flag = if teacher.legacy_title_limited_scope {
        "是"
    } else {
        ""
    };
    set(
        Field::Teacher(TeacherField::LegacyTitleLimitedScope),
        flag.to_string(),
    );
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
