//! Values of every stored kind with every optional part set, for the format tests: the
//! same samples were encoded by release 0.1 to make the golden bytes in `v1`'s tests.

use chrono::NaiveDate;

use crate::domain::{
    Certificate, CertificateCopy, CertificateKind, CertificateStatus, ChangeEvent, ChangeKind,
    Choice, CopyState, CountyCode, EmploymentStatus, Gender, IdDocumentType, IdentityDocument,
    LegacyTitle, LossGround, NewCertificate, QualificationLoss, Registration, Reissue,
    ReissueReason, Revocation, RevocationRequest, Teacher, TeacherField, TeacherFields, TeacherId,
    TeacherInput, TitleChange, TitleChangeKind, TitleEntry, TitleTier, UnixMicros,
};
use crate::store::mutation::{Mutation, Target, TeacherChange};
use crate::store::{Effect, Outcome};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn id() -> TeacherId {
    TeacherId::generate(&mut rand::rngs::mock::StepRng::new(7, 13))
}

pub(crate) fn fields() -> TeacherFields {
    TeacherFields {
        identity: IdentityDocument::parse(
            IdDocumentType::ResidentIdCard,
            "11010519491231002x",
            date("2026-01-01"),
        )
        .unwrap(),
        name: "王芳".into(),
        gender: Gender::Female,
        birth_date: date("1949-12-31"),
        county_code: CountyCode::parse("350702").unwrap(),
        school: "延平区第一中学".into(),
        employment_status: EmploymentStatus::Retired,
        legacy_title: Some(LegacyTitle::PrimarySecond),
        legacy_title_limited_scope: true,
    }
}

pub(crate) fn teacher() -> Teacher {
    Teacher {
        id: id(),
        fields: fields(),
        certificates: vec![Certificate {
            number: "20163500022000123".into(),
            kind: CertificateKind::HigherEducation,
            subject: "语文".into(),
            issuing_authority: "南平市延平区教育局".into(),
            certified_on: date("2016-07-01"),
            status: CertificateStatus::Revoked,
            copies: vec![
                CertificateCopy {
                    copy_number: 1,
                    issued_on: date("2016-07-01"),
                    reason: None,
                    declaration_ref: String::new(),
                    state: CopyState::Void,
                },
                CertificateCopy {
                    copy_number: 2,
                    issued_on: date("2020-02-29"),
                    reason: Some(ReissueReason::DetailsChanged),
                    declaration_ref: "SD-2020-7".into(),
                    state: CopyState::Surrendered,
                },
            ],
            registrations: vec![Registration {
                registered_on: date("2016-09-01"),
                expires_on: date("2021-08-31"),
            }],
            revocation: Some(Revocation {
                revoked_on: date("2024-05-06"),
                reason: "撤销".into(),
                approval_document: "闽教〔2024〕9号".into(),
                // Release 0.1 kept no ground.
                ground: None,
            }),
            // Release 0.1 could not record a loss; see `teacher_who_lost`.
            loss: None,
        }],
        title_history: vec![
            TitleEntry {
                tier: Some(TitleTier::FullSenior),
                kind: TitleChangeKind::Correction,
                effective_date: date("2017-01-01"),
                approval_document: "A-1".into(),
                limited_scope: true,
                exceptional: true,
                note: "note".into(),
                recorded_by: "hr".into(),
                record_time: UnixMicros(1_700_000_000_123_456),
            },
            TitleEntry {
                tier: None,
                kind: TitleChangeKind::Revocation,
                effective_date: date("2018-01-01"),
                approval_document: String::new(),
                limited_scope: false,
                exceptional: false,
                note: String::new(),
                recorded_by: "admin".into(),
                record_time: UnixMicros(-5),
            },
        ],
        former: crate::domain::Former::default(),
        revision: 300_000,
        create_time: UnixMicros(1_600_000_000_000_000),
        update_time: UnixMicros(1_700_000_000_000_001),
        pending_transfer: None,
    }
}

/// The sample teacher after a loss of qualification (format 2 only).
pub(crate) fn teacher_who_lost() -> Teacher {
    let mut teacher = teacher();
    teacher.certificates[0].status = CertificateStatus::Lost;
    teacher.certificates[0].loss = Some(QualificationLoss {
        lost_on: date("2025-03-04"),
        ground: LossGround::DeprivationOfPoliticalRights,
        approval_document: "闽教〔2025〕3号".into(),
        note: "判决书".into(),
    });
    teacher
}

pub(crate) fn change_event() -> ChangeEvent {
    ChangeEvent {
        revision: 1 << 33,
        teacher_id: Some(id()),
        case_id: None,
        kind: ChangeKind::TitleTransitioned,
        time: UnixMicros(1_700_000_000_000_002),
        principal: "county-350702".into(),
        request_id: Some("7d1f0a52".into()),
        county_before: Some(CountyCode::parse("110105").unwrap()),
        county_after: CountyCode::parse("350702").unwrap(),
    }
}

pub(crate) fn outcome() -> Outcome {
    Outcome {
        teacher: teacher(),
        warnings: vec!["birth date differs".into()],
        effect: Effect::Unchanged,
    }
}

/// Every kind of request that keeps its answer under a request id.
pub(crate) fn mutations() -> Vec<Mutation> {
    let change = |target, expected_etag: Option<&str>, change| Mutation::ChangeTeacher {
        target,
        expected_etag: expected_etag.map(str::to_string),
        change,
    };
    let teacher = || Target::Teacher(id());
    let certificate = || Target::Certificate("20163500022000123".into());
    vec![
        Mutation::CreateTeacher {
            fields: fields(),
            warnings: vec!["birth date differs".into()],
        },
        change(
            teacher(),
            Some("r7"),
            TeacherChange::Update {
                patch: TeacherInput {
                    id_document_type: Choice::Known(IdDocumentType::Passport),
                    national_id: "E12345678".into(),
                    name: "林小芳".into(),
                    gender: Choice::Unset,
                    birth_date: "1980-01-02".into(),
                    county_code: "350721".into(),
                    school: "学校".into(),
                    employment_status: Choice::Unknown(99),
                    legacy_title: Choice::Known(LegacyTitle::SecondarySenior),
                    legacy_title_limited_scope: true,
                },
                mask: vec![TeacherField::Name, TeacherField::LegacyTitleLimitedScope],
            },
        ),
        change(
            teacher(),
            None,
            TeacherChange::IssueCertificate(NewCertificate {
                number: "20163500022000123".into(),
                kind: CertificateKind::PrimarySchool,
                subject: "数学".into(),
                issuing_authority: "局".into(),
                certified_on: date("2016-07-01"),
                first_registration_on: Some(date("2016-09-01")),
            }),
        ),
        change(
            certificate(),
            Some("r8"),
            TeacherChange::ReissueCertificate {
                number: "20163500022000123".into(),
                reissue: Reissue {
                    reason: ReissueReason::Lost,
                    declaration_ref: "SD-1".into(),
                    issued_on: Some(date("2026-11-20")),
                    new_name: Some("新名".into()),
                },
            },
        ),
        change(
            certificate(),
            None,
            TeacherChange::RegisterCertificate {
                number: "20163500022000123".into(),
                registered_on: date("2021-09-01"),
            },
        ),
        change(
            certificate(),
            None,
            TeacherChange::RevokeCertificate {
                number: "20163500022000123".into(),
                request: RevocationRequest {
                    // Release 0.1 kept no ground; the golden fingerprints are of requests
                    // without one.
                    ground: None,
                    reason: "r".into(),
                    approval_document: "d".into(),
                    revoked_on: None,
                },
            },
        ),
        change(
            teacher(),
            Some("r9"),
            TeacherChange::ChangeTitle(TitleChange {
                tier: Some(TitleTier::Senior),
                kind: TitleChangeKind::Promotion,
                effective_date: date("2025-01-01"),
                approval_document: "P-1".into(),
                limited_scope: false,
                exceptional: true,
                note: "破格".into(),
            }),
        ),
        change(
            teacher(),
            None,
            TeacherChange::ReformTransition {
                effective_date: date("2016-01-01"),
                approval_document: "T-1".into(),
            },
        ),
    ]
}
