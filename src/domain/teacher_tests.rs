use super::*;
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn input() -> TeacherInput {
    TeacherInput {
        id_document_type: Choice::Known(IdDocumentType::ResidentIdCard),
        national_id: "11010519491231002X".into(),
        name: "  王芳 ".into(),
        gender: Choice::Known(Gender::Female),
        birth_date: "1949-12-31".into(),
        county_code: "350702".into(),
        school: "延平区第一中学".into(),
        employment_status: Choice::Known(EmploymentStatus::Retired),
        legacy_title: Choice::Known(LegacyTitle::PrimarySenior),
        legacy_title_limited_scope: true,
    }
}

fn fields_of(violations: &[FieldViolation]) -> Vec<&str> {
    violations.iter().map(|v| v.field.as_str()).collect()
}

#[test]
fn a_valid_input_is_trimmed_and_has_no_warnings() {
    let v = input().validate(today()).unwrap();
    assert_eq!(v.fields.name, "王芳");
    assert_eq!(v.fields.legacy_title, Some(LegacyTitle::PrimarySenior));
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let bad = TeacherInput {
        id_document_type: Choice::Unknown(42),
        national_id: "x".into(),
        name: "a\u{7}b".into(),
        gender: Choice::Unset,
        birth_date: "2026-02-30".into(),
        county_code: "35070".into(),
        school: "".into(),
        employment_status: Choice::Known(EmploymentStatus::Active),
        legacy_title: Choice::Unknown(99),
        legacy_title_limited_scope: false,
    };
    let violations = bad.validate(today()).unwrap_err();
    assert_eq!(
        fields_of(&violations),
        [
            "teacher.id_document_type",
            "teacher.name",
            "teacher.gender",
            "teacher.birth_date",
            "teacher.county_code",
            "teacher.school",
            "teacher.legacy_title",
        ]
    );
}

#[test]
fn names_are_checked_for_length_and_control_characters() {
    let with_name = |name: &str| TeacherInput {
        name: name.into(),
        ..input()
    };
    assert!(with_name(&"张".repeat(64)).validate(today()).is_ok());
    assert!(with_name(&"张".repeat(65)).validate(today()).is_err());
    assert!(with_name("   ").validate(today()).is_err());
    assert!(with_name("a\tb").validate(today()).is_err());
    assert!(with_name("阿依古丽·买买提").validate(today()).is_ok());
}

#[test]
fn birth_dates_must_be_real_and_plausible() {
    let with_birth = |d: &str| TeacherInput {
        birth_date: d.into(),
        ..input()
    };
    for bad in [
        "",
        "1990-13-01",
        "1990-1-1",
        "19900101",
        "2027-01-01",
        "2015-01-01",
        "1900-01-01",
    ] {
        let err = with_birth(bad).validate(today()).unwrap_err();
        assert_eq!(fields_of(&err), ["teacher.birth_date"], "{bad}");
    }
    assert!(with_birth("2010-11-28").validate(today()).is_ok());
    assert!(with_birth("2010-11-29").validate(today()).is_err());
}

#[test]
fn county_codes_are_county_level_division_codes() {
    assert!(CountyCode::parse("350702").is_ok());
    for bad in [
        "", "35070", "3507021", "35070a", "990702", "350700", "350000",
    ] {
        assert!(CountyCode::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn an_active_teacher_needs_a_school() {
    let active = TeacherInput {
        employment_status: Choice::Known(EmploymentStatus::Active),
        school: " ".into(),
        ..input()
    };
    assert_eq!(
        fields_of(&active.validate(today()).unwrap_err()),
        ["teacher.school"]
    );
    let retired = TeacherInput {
        school: "".into(),
        ..input()
    };
    assert!(retired.validate(today()).is_ok());
}

#[test]
fn limited_scope_needs_a_legacy_title() {
    let bad = TeacherInput {
        legacy_title: Choice::Unset,
        ..input()
    };
    assert_eq!(
        fields_of(&bad.validate(today()).unwrap_err()),
        ["teacher.legacy_title_limited_scope"]
    );
}

#[test]
fn disagreements_with_the_identity_card_are_warnings() {
    let odd = TeacherInput {
        birth_date: "1950-01-01".into(),
        gender: Choice::Known(Gender::Male),
        ..input()
    };
    let v = odd.validate(today()).unwrap();
    assert_eq!(v.warnings.len(), 2, "{:?}", v.warnings);
    assert!(v.warnings.iter().all(|w| !w.contains("11010519491231002X")));
}

#[test]
fn mask_paths_resolve_or_say_why_not() {
    for field in TeacherField::ALL {
        let path = format!("{field:?}");
        let snake: String = path
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let lower = c.to_ascii_lowercase();
                if c.is_uppercase() && i > 0 {
                    vec!['_', lower]
                } else {
                    vec![lower]
                }
            })
            .collect();
        assert_eq!(TeacherField::from_path(&snake), Ok(field));
    }
    assert!(TeacherField::from_path("etag")
        .unwrap_err()
        .contains("output only"));
    assert!(TeacherField::from_path("certificates").is_err());
    assert!(TeacherField::from_path("nmae")
        .unwrap_err()
        .contains("not a field"));
}

#[test]
fn patching_takes_only_masked_fields() {
    let current = input().validate(today()).unwrap().fields;
    let patch = TeacherInput {
        name: "李娜".into(),
        school: "ignored".into(),
        ..input()
    };
    let patched = current.to_input().patched(&patch, &[TeacherField::Name]);
    let fields = patched.validate(today()).unwrap().fields;
    assert_eq!(fields.name, "李娜");
    assert_eq!(fields.school, current.school);
}

#[test]
fn populated_fields_are_the_implied_mask() {
    let sparse = TeacherInput {
        id_document_type: Choice::Unset,
        national_id: String::new(),
        name: "李娜".into(),
        gender: Choice::Unset,
        birth_date: String::new(),
        county_code: String::new(),
        school: String::new(),
        employment_status: Choice::Unset,
        legacy_title: Choice::Unset,
        legacy_title_limited_scope: false,
    };
    assert_eq!(sparse.populated_fields(), [TeacherField::Name]);
    assert_eq!(input().populated_fields(), TeacherField::ALL);
}

#[test]
fn fields_round_trip_through_input() {
    let fields = input().validate(today()).unwrap().fields;
    assert_eq!(fields.to_input().validate(today()).unwrap().fields, fields);
}

proptest! {
    #[test]
    fn validation_never_panics(
        name in "\\PC{0,80}",
        national_id in "\\PC{0,30}",
        birth in "\\PC{0,12}",
        county in "\\PC{0,8}",
        school in "\\PC{0,120}",
        doc in 0i32..8,
    ) {
        let doc_type = match doc {
            0 => Choice::Unset,
            1..=5 => Choice::Known(IdDocumentType::ALL[(doc - 1) as usize]),
            n => Choice::Unknown(n),
        };
        let candidate = TeacherInput {
            id_document_type: doc_type,
            national_id,
            name,
            birth_date: birth,
            county_code: county,
            school,
            ..input()
        };
        if let Ok(v) = candidate.validate(today()) {
            prop_assert!(v.fields.name.chars().count() <= 64);
            prop_assert!(!v.fields.name.is_empty());
        }
    }
}
