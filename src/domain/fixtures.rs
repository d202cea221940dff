//! Test fixtures shared by the domain's unit tests.

use chrono::NaiveDate;
use rand::SeedableRng;

use crate::domain::{
    CertificateInput, CertificateKind, Choice, EmploymentStatus, Gender, IdDocumentType,
    LegacyTitle, Teacher, TeacherId, TeacherInput, UnixMicros,
};

/// The date the tests treat as today.
pub(crate) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

/// The docs/DOMAIN.md worked example as a stored record, active at 一中, with an optional
/// legacy title.
pub(crate) fn stored_teacher(legacy: Option<LegacyTitle>, limited_scope: bool) -> Teacher {
    let fields = TeacherInput {
        id_document_type: Choice::Known(IdDocumentType::ResidentIdCard),
        national_id: "11010519491231002X".into(),
        name: "王芳".into(),
        gender: Choice::Known(Gender::Female),
        birth_date: "1949-12-31".into(),
        county_code: "350702".into(),
        school: "一中".into(),
        employment_status: Choice::Known(EmploymentStatus::Active),
        legacy_title: legacy.map_or(Choice::Unset, Choice::Known),
        legacy_title_limited_scope: limited_scope,
    }
    .validate(today())
    .unwrap()
    .fields;
    Teacher {
        id: TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(1)),
        fields,
        certificates: Vec::new(),
        title_history: Vec::new(),
        former: crate::domain::Former::default(),
        revision: 1,
        create_time: UnixMicros(0),
        update_time: UnixMicros(0),
        pending_transfer: None,
    }
}

/// A distinct valid active teacher for each `n` below 336,000 (a birth date per thousand,
/// a sequence number within it), in county 350702, at one of seven schools.
pub(crate) fn numbered_input(n: u32) -> TeacherInput {
    let (month, day) = (1 + n / 28_000 % 12, 1 + n / 1000 % 28);
    let first17 = format!("3507021980{month:02}{day:02}{:03}", n % 1000);
    let check = crate::domain::resident_check_character(first17.as_bytes());
    TeacherInput {
        id_document_type: Choice::Known(IdDocumentType::ResidentIdCard),
        national_id: format!("{first17}{check}"),
        name: format!("教师{n}"),
        gender: Choice::Known(if n % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }),
        birth_date: format!("1980-{month:02}-{day:02}"),
        county_code: "350702".into(),
        school: format!("第{}中学", n % 7),
        employment_status: Choice::Known(EmploymentStatus::Active),
        legacy_title: Choice::Unset,
        legacy_title_limited_scope: false,
    }
}

/// A primary-school certificate numbered `number`, certified 2016-07-01 by the Yanping
/// bureau and first registered 2016-09-01.
pub(crate) fn primary_certificate(number: &str) -> CertificateInput {
    CertificateInput {
        number: number.into(),
        kind: Choice::Known(CertificateKind::PrimarySchool),
        subject: "语文".into(),
        issuing_authority: "南平市延平区教育局".into(),
        certified_on: "2016-07-01".into(),
        first_registration_on: "2016-09-01".into(),
    }
}
