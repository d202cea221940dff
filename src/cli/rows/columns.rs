//! The one table of columns every file format reads and writes: a teacher's fields, their
//! English (proto) and Chinese names, in template order.

use crate::domain::TeacherField;

/// A column's field, in the order of [`COLUMNS`]: one of the teacher's own (the fields a
/// caller sets, in the domain's order: a new one breaks the build where a row is written
/// out, until the files give it a column), then those of the row's one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Teacher(TeacherField),
    CertificateNumber,
    CertificateKind,
    CertificateSubject,
    CertificateIssuingAuthority,
    CertifiedOn,
    RegisteredOn,
}

impl Field {
    /// The field's column: its place in [`COLUMNS`] and in a row's cells.
    pub(super) const fn index(self) -> usize {
        let teacher = TeacherField::ALL.len();
        match self {
            Field::Teacher(field) => field as usize,
            Field::CertificateNumber => teacher,
            Field::CertificateKind => teacher + 1,
            Field::CertificateSubject => teacher + 2,
            Field::CertificateIssuingAuthority => teacher + 3,
            Field::CertifiedOn => teacher + 4,
            Field::RegisteredOn => teacher + 5,
        }
    }
}

pub(super) struct Column {
    pub(super) field: Field,
    /// The proto field name, matched case-insensitively.
    pub(super) english: &'static str,
    /// Chinese names, matched exactly; the first is the one templates show.
    pub(super) names: &'static [&'static str],
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
pub(super) const COLUMNS: [Column; 16] = [
    column(
        Field::Teacher(TeacherField::IdDocumentType),
        "id_document_type",
        &["证件类型"],
    ),
    column(
        Field::Teacher(TeacherField::NationalId),
        "national_id",
        &["身份证件号码", "身份证号"],
    ),
    column(Field::Teacher(TeacherField::Name), "name", &["姓名"]),
    column(Field::Teacher(TeacherField::Gender), "gender", &["性别"]),
    column(
        Field::Teacher(TeacherField::BirthDate),
        "birth_date",
        &["出生日期"],
    ),
    column(
        Field::Teacher(TeacherField::CountyCode),
        "county_code",
        &["所在县区代码"],
    ),
    column(Field::Teacher(TeacherField::School), "school", &["学校"]),
    column(
        Field::Teacher(TeacherField::EmploymentStatus),
        "employment_status",
        &["任职状态"],
    ),
    column(
        Field::Teacher(TeacherField::LegacyTitle),
        "legacy_title",
        &["原职称"],
    ),
    column(
        Field::Teacher(TeacherField::LegacyTitleLimitedScope),
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
pub(super) enum ColumnUse {
    /// It holds this field.
    Read(Field),
    /// Its name is no field's, or one a rejects file adds: its values are not read.
    Ignored,
    /// It has no name: it must stay blank.
    Unnamed,
}
