//! The teacher record and the validation of its fields.
//!
//! Every way a teacher's fields enter the registry (CreateTeacher, UpdateTeacher, later
//! imports) goes through [`TeacherInput::validate`], so one set of rules holds everywhere
//! and every bad field is reported at once.

use chrono::{Datelike, NaiveDate};

use crate::domain::error::all_valid;
use crate::domain::text::{optional_text, required_text};
use crate::domain::{
    current_title, etag_of, parse_date, Certificate, Choice, CountyCode, EmploymentStatus,
    FieldViolation, Former, FormerDocumentReason, Gender, IdDocumentType, IdentityDocument,
    LegacyTitle, TeacherId, TitleEntry, TitleTier, UnixMicros,
};

/// The fields of a teacher that callers set, as received (before validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeacherInput {
    pub id_document_type: Choice<IdDocumentType>,
    pub national_id: String,
    pub name: String,
    pub gender: Choice<Gender>,
    pub birth_date: String,
    pub county_code: String,
    pub school: String,
    pub employment_status: Choice<EmploymentStatus>,
    /// `Unset` means the teacher holds no legacy title.
    pub legacy_title: Choice<LegacyTitle>,
    pub legacy_title_limited_scope: bool,
}

/// Validated caller-set fields of a teacher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeacherFields {
    pub identity: IdentityDocument,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub county_code: CountyCode,
    pub school: String,
    pub employment_status: EmploymentStatus,
    pub legacy_title: Option<LegacyTitle>,
    pub legacy_title_limited_scope: bool,
}

/// Fields that passed validation, and what looked odd but is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub fields: TeacherFields,
    pub warnings: Vec<String>,
}

pub(crate) const NAME_MAX: usize = 64;
const SCHOOL_MAX: usize = 100;
const MIN_AGE: i32 = 16;
const MAX_AGE: i32 = 110;

impl TeacherInput {
    /// Checks every field and reports every bad one (paths `teacher.<field>`).
    pub fn validate(&self, today: NaiveDate) -> Result<Validated, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let mut bad = |field: &str, description: String| {
            violations.push(FieldViolation::new(format!("teacher.{field}"), description));
        };

        let doc_type = required(self.id_document_type, "id_document_type", &mut bad);
        let identity = doc_type.and_then(|doc_type| {
            IdentityDocument::parse(doc_type, &self.national_id, today)
                .map_err(|e| bad("national_id", e))
                .ok()
        });
        let name = text(&self.name, NAME_MAX, true)
            .map_err(|e| bad("name", e))
            .ok();
        let gender = required(self.gender, "gender", &mut bad);
        let birth_date = parse_date(&self.birth_date)
            .and_then(|d| plausible_birth_date(d, today))
            .map_err(|e| bad("birth_date", e))
            .ok();
        let county_code = CountyCode::parse(&self.county_code)
            .map_err(|e| bad("county_code", e))
            .ok();
        let employment_status = required(self.employment_status, "employment_status", &mut bad);
        let school_required = employment_status == Some(EmploymentStatus::Active);
        let school = text(&self.school, SCHOOL_MAX, school_required)
            .map_err(|e| match self.school.trim().is_empty() {
                true => bad("school", format!("{e}: an active teacher has a school")),
                false => bad("school", e),
            })
            .ok();
        let legacy_title = match self.legacy_title {
            Choice::Unset => Some(None),
            Choice::Known(title) => Some(Some(title)),
            Choice::Unknown(n) => {
                bad("legacy_title", format!("unknown value {n}"));
                None
            }
        };
        if self.legacy_title_limited_scope && legacy_title == Some(None) {
            bad(
                "legacy_title_limited_scope",
                "is set but there is no legacy_title".into(),
            );
        }

        let fields = all_valid(violations, || {
            Some(TeacherFields {
                identity: identity?,
                name: name?,
                gender: gender?,
                birth_date: birth_date?,
                county_code: county_code?,
                school: school?,
                employment_status: employment_status?,
                legacy_title: legacy_title?,
                legacy_title_limited_scope: self.legacy_title_limited_scope,
            })
        })?;
        let warnings = fields.warnings();
        Ok(Validated { fields, warnings })
    }

    /// The fields this input sets (non-empty strings, set enums, true flags): the implied
    /// update mask when a caller sends none (AIP-134).
    pub fn populated_fields(&self) -> Vec<TeacherField> {
        let set = |c: bool, f: TeacherField| c.then_some(f);
        [
            set(
                self.id_document_type != Choice::Unset,
                TeacherField::IdDocumentType,
            ),
            set(!self.national_id.is_empty(), TeacherField::NationalId),
            set(!self.name.is_empty(), TeacherField::Name),
            set(self.gender != Choice::Unset, TeacherField::Gender),
            set(!self.birth_date.is_empty(), TeacherField::BirthDate),
            set(!self.county_code.is_empty(), TeacherField::CountyCode),
            set(!self.school.is_empty(), TeacherField::School),
            set(
                self.employment_status != Choice::Unset,
                TeacherField::EmploymentStatus,
            ),
            set(
                self.legacy_title != Choice::Unset,
                TeacherField::LegacyTitle,
            ),
            set(
                self.legacy_title_limited_scope,
                TeacherField::LegacyTitleLimitedScope,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// `self` with the masked fields taken from `patch`: the input to validate on update.
    pub fn patched(mut self, patch: &TeacherInput, mask: &[TeacherField]) -> TeacherInput {
        for field in mask {
            match field {
                TeacherField::IdDocumentType => self.id_document_type = patch.id_document_type,
                TeacherField::NationalId => self.national_id = patch.national_id.clone(),
                TeacherField::Name => self.name = patch.name.clone(),
                TeacherField::Gender => self.gender = patch.gender,
                TeacherField::BirthDate => self.birth_date = patch.birth_date.clone(),
                TeacherField::CountyCode => self.county_code = patch.county_code.clone(),
                TeacherField::School => self.school = patch.school.clone(),
                TeacherField::EmploymentStatus => self.employment_status = patch.employment_status,
                TeacherField::LegacyTitle => self.legacy_title = patch.legacy_title,
                TeacherField::LegacyTitleLimitedScope => {
                    self.legacy_title_limited_scope = patch.legacy_title_limited_scope
                }
            }
        }
        self
    }
}

impl TeacherFields {
    /// The fields as input again, so an update can patch and re-validate them.
    pub fn to_input(&self) -> TeacherInput {
        TeacherInput {
            id_document_type: Choice::Known(self.identity.doc_type()),
            national_id: self.identity.number().to_string(),
            name: self.name.clone(),
            gender: Choice::Known(self.gender),
            birth_date: self.birth_date.to_string(),
            county_code: self.county_code.as_str().to_string(),
            school: self.school.clone(),
            employment_status: Choice::Known(self.employment_status),
            legacy_title: self.legacy_title.map_or(Choice::Unset, Choice::Known),
            legacy_title_limited_scope: self.legacy_title_limited_scope,
        }
    }

    /// Disagreements with the identity card that personnel files legitimately have.
    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(card_birth) = self.identity.birth_date() {
            if card_birth != self.birth_date {
                warnings.push(format!(
                    "teacher.birth_date {} differs from the identity card's birth date",
                    self.birth_date
                ));
            }
        }
        if let Some(card_gender) = self.identity.gender() {
            if card_gender != self.gender {
                warnings.push("teacher.gender differs from the identity card's".to_string());
            }
        }
        warnings
    }
}

/// The caller-settable fields, by their update-mask path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeacherField {
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
}

impl TeacherField {
    pub const ALL: [TeacherField; 10] = [
        Self::IdDocumentType,
        Self::NationalId,
        Self::Name,
        Self::Gender,
        Self::BirthDate,
        Self::CountyCode,
        Self::School,
        Self::EmploymentStatus,
        Self::LegacyTitle,
        Self::LegacyTitleLimitedScope,
    ];

    /// Resolves an update-mask path; the error says why the path cannot be updated.
    pub fn from_path(path: &str) -> Result<Self, String> {
        Ok(match path {
            "id_document_type" => Self::IdDocumentType,
            "national_id" => Self::NationalId,
            "name" => Self::Name,
            "gender" => Self::Gender,
            "birth_date" => Self::BirthDate,
            "county_code" => Self::CountyCode,
            "school" => Self::School,
            "employment_status" => Self::EmploymentStatus,
            "legacy_title" => Self::LegacyTitle,
            "legacy_title_limited_scope" => Self::LegacyTitleLimitedScope,
            "teacher_id" | "current_title" | "etag" | "revision" | "create_time"
            | "update_time" => return Err(format!("{path} is output only")),
            "certificates" => {
                return Err("certificates change only through the certificate RPCs".into())
            }
            "title_history" => {
                return Err(
                    "title_history changes only through ChangeTitle and TransitionTitles".into(),
                )
            }
            _ => return Err(format!("{path} is not a field of Teacher")),
        })
    }
}

/// A transfer proposed by the releasing county and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransfer {
    /// The receiving county.
    pub to_county: CountyCode,
    pub reason: String,
    /// Who proposed it, and when.
    pub proposed_by: String,
    pub proposed_at: UnixMicros,
}

/// A teacher's whole record as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teacher {
    pub id: TeacherId,
    pub fields: TeacherFields,
    pub certificates: Vec<Certificate>,
    pub title_history: Vec<TitleEntry>,
    /// Former names and documents, and numbers merged into this record.
    pub former: Former,
    /// The registry revision of the record's last change.
    pub revision: u64,
    pub create_time: UnixMicros,
    pub update_time: UnixMicros,
    /// A transfer to another county proposed and not yet answered (see `domain::transfer`).
    pub pending_transfer: Option<PendingTransfer>,
}

impl Teacher {
    /// The entity tag of this version of the record (AIP-154).
    pub fn etag(&self) -> String {
        etag_of(self.revision)
    }

    /// Derived from the title history, never stored apart from it.
    pub fn current_title(&self) -> Option<TitleTier> {
        current_title(&self.title_history)
    }
}

impl Teacher {
    /// Keeps what `before` was known by and this version is not: its name as a former
    /// name, its identity document as a former document (replaced for `reason`). Every
    /// change of a record's fields ends here, whatever made it.
    pub fn keep_former_of(
        &mut self,
        before: &Teacher,
        at: UnixMicros,
        reason: FormerDocumentReason,
    ) {
        if before.fields.name != self.fields.name {
            self.former.keep_name(&before.fields.name, at);
        }
        if before.fields.identity != self.fields.identity {
            self.former
                .keep_document(&before.fields.identity, at, reason);
        }
    }

    /// Every name the record is found by: its own, then its former names.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.fields.name.as_str())
            .chain(self.former.names.iter().map(|n| n.name.as_str()))
    }

    /// Every identity document that finds the record: its own, then its former ones.
    pub fn all_documents(&self) -> impl Iterator<Item = &IdentityDocument> {
        std::iter::once(&self.fields.identity)
            .chain(self.former.documents.iter().map(|d| &d.identity))
    }
}

fn plausible_birth_date(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    if date > today {
        return Err(format!("{date} is in the future"));
    }
    let age = today.year()
        - date.year()
        - i32::from((today.month(), today.day()) < (date.month(), date.day()));
    if age < MIN_AGE {
        return Err(format!(
            "{date} makes the teacher {age}, younger than {MIN_AGE}"
        ));
    }
    if age > MAX_AGE {
        return Err(format!(
            "{date} makes the teacher {age}, older than {MAX_AGE}"
        ));
    }
    Ok(date)
}

/// A free-text field, required or not.
fn text(raw: &str, max: usize, required: bool) -> Result<String, String> {
    if required {
        required_text(raw, max)
    } else {
        optional_text(raw, max)
    }
}

fn required<T>(choice: Choice<T>, field: &str, bad: &mut impl FnMut(&str, String)) -> Option<T> {
    match choice {
        Choice::Known(value) => Some(value),
        Choice::Unset => {
            bad(field, "is required".into());
            None
        }
        Choice::Unknown(n) => {
            bad(field, format!("unknown value {n}"));
            None
        }
    }
}

#[cfg(test)]
#[path = "teacher_tests.rs"]
mod tests;
