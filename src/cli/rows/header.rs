//! Column names: which column holds which field, and which columns a file must have.
//!
//! Real sheets carry columns of their own (序号, 备注): those are ignored, and the import
//! names them once in a warning, so a person knows their values were not imported (a
//! misspelt name shows up the same way). A file without a column for one of the required
//! fields is refused before any row is sent, since every row of it would be rejected for
//! the same reason. The columns a rejects file adds in front of a row (`line`, `code`,
//! `reason`) are neither read nor warned about, so a corrected rejects file imports as it
//! is.

use super::columns::{ColumnUse, Field, COLUMNS};
use crate::domain::TeacherField;

/// The fields every row must have, so a file needs their columns. (A row's school is
/// required only for an active teacher, and a blank document type means a resident
/// identity card.)
const REQUIRED: [Field; 6] = [
    Field::Teacher(TeacherField::NationalId),
    Field::Teacher(TeacherField::Name),
    Field::Teacher(TeacherField::Gender),
    Field::Teacher(TeacherField::BirthDate),
    Field::Teacher(TeacherField::CountyCode),
    Field::Teacher(TeacherField::EmploymentStatus),
];

/// The columns a rejects file puts before each row's own cells.
pub(crate) const ANNOTATIONS: [&str; 3] = ["line", "code", "reason"];

/// What is wrong with a file's header row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    /// Required fields without a column: each as `身份证件号码 or 身份证号 (national_id)`.
    /// `ignored` are the columns the file has that name no field (a misspelt name?).
    #[error("has no column for {}{}", .missing.join(", "), ignored_note(.ignored))]
    Missing {
        missing: Vec<String>,
        ignored: Vec<String>,
    },
    /// Two columns name the same field (1-based positions).
    #[error("has two columns for {field}: columns {first} and {second}")]
    Repeated {
        field: &'static str,
        first: usize,
        second: usize,
    },
}

fn ignored_note(ignored: &[String]) -> String {
    match ignored {
        [] => String::new(),
        names => format!("; its columns {} name no field", quoted(names)),
    }
}

/// Names as `"序号", "备注"`.
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
    quoted.join(", ")
}

/// A header row, read.
#[derive(Debug, Default)]
pub(super) struct Header {
    /// What each column is, by position.
    pub(super) columns: Vec<ColumnUse>,
    /// The names of the columns a rejects file repeats: all but [`ANNOTATIONS`].
    pub(super) names: Vec<String>,
    /// The names of the columns that name no field, as written.
    pub(super) ignored: Vec<String>,
    /// The positions of [`ANNOTATIONS`] columns.
    annotations: Vec<usize>,
}

impl Header {
    /// Maps header cells to fields. A blank header cell names no column (its values must
    /// stay blank); a name that is no field's is ignored. Fails when a required field has
    /// no column or a field has two.
    pub(super) fn read<S: AsRef<str>>(
        cells: impl IntoIterator<Item = S>,
    ) -> Result<Header, HeaderProblem> {
        let mut header = Header::default();
        for (position, cell) in cells.into_iter().enumerate() {
            let name = trim_name(cell.as_ref());
            let column = match column_of(name) {
                Some(field) => ColumnUse::Read(field),
                None if name.is_empty() => ColumnUse::Unnamed,
                None => ColumnUse::Ignored,
            };
            if let Some(first) = header.columns.iter().position(|c| *c == column) {
                if let ColumnUse::Read(field) = column {
                    return Err(HeaderProblem::Repeated {
                        field: english(field),
                        first: first + 1,
                        second: position + 1,
                    });
                }
            }
            if is_annotation(name) {
                header.annotations.push(position);
            } else {
                if column == ColumnUse::Ignored {
                    header.ignored.push(name.to_string());
                }
                header.names.push(name.to_string());
            }
            header.columns.push(column);
        }
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|&&field| !header.columns.contains(&ColumnUse::Read(field)))
            .map(|&field| described(field))
            .collect();
        if !missing.is_empty() {
            let ignored = header.ignored.clone();
            return Err(HeaderProblem::Missing { missing, ignored });
        }
        Ok(header)
    }

    /// A row's cells as a rejects file repeats them: all but those under [`ANNOTATIONS`].
    pub(super) fn carried(&self, cells: impl IntoIterator<Item = String>) -> Vec<String> {
        cells
            .into_iter()
            .enumerate()
            .filter(|(position, _)| !self.annotations.contains(position))
            .map(|(_, cell)| cell)
            .collect()
    }
}

/// A name without surrounding blanks or a byte-order mark.
pub(super) fn trim_name(name: &str) -> &str {
    name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// The field a column name stands for: its English name in any case, or a Chinese name.
pub(super) fn column_of(name: &str) -> Option<Field> {
    let name = trim_name(name);
    COLUMNS
        .iter()
        .find(|c| c.english.eq_ignore_ascii_case(name) || c.names.contains(&name))
        .map(|c| c.field)
}

/// Whether a column name is one a rejects file adds.
pub(super) fn is_annotation(name: &str) -> bool {
    ANNOTATIONS
        .iter()
        .any(|annotation| annotation.eq_ignore_ascii_case(trim_name(name)))
}

pub(super) fn english(field: Field) -> &'static str {
    COLUMNS[field.index()].english
}

/// A field by every name it may have: `身份证件号码 or 身份证号 (national_id)`.
fn described(field: Field) -> String {
    let column = &COLUMNS[field.index()];
    format!("{} ({})", column.names.join(" or "), column.english)
}
