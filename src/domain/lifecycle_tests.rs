use super::*;
use crate::domain::fixtures::{primary_certificate, stored_teacher, today};
use crate::domain::Choice;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn teacher() -> Teacher {
    stored_teacher(None, false)
}

const NUMBER: &str = "20163500022000123";

fn input() -> CertificateInput {
    primary_certificate(NUMBER)
}

fn with_certificate() -> Teacher {
    let mut t = teacher();
    t.issue_certificate(input().validate(today()).unwrap())
        .unwrap();
    t
}

fn fields(violations: &[FieldViolation]) -> Vec<&str> {
    violations.iter().map(|v| v.field.as_str()).collect()
}

#[test]
fn certificate_input_is_checked_field_by_field() {
    assert!(input().validate(today()).is_ok());
    let wrong_kind = CertificateInput {
        kind: Choice::Known(CertificateKind::HigherEducation),
        ..input()
    };
    assert_eq!(
        fields(&wrong_kind.validate(today()).unwrap_err()),
        ["certificate.certificate_number"]
    );
    let empty = CertificateInput {
        number: String::new(),
        kind: Choice::Unknown(9),
        subject: " ".into(),
        issuing_authority: String::new(),
        certified_on: "2027-01-01".into(),
        first_registration_on: "x".into(),
    };
    assert_eq!(
        fields(&empty.validate(today()).unwrap_err()),
        [
            "certificate.certificate_number",
            "certificate.kind",
            "certificate.subject",
            "certificate.issuing_authority",
            "certificate.certified_on",
            "first_registration_on",
        ]
    );
    let early = CertificateInput {
        first_registration_on: "2016-06-30".into(),
        ..input()
    };
    assert_eq!(
        fields(&early.validate(today()).unwrap_err()),
        ["first_registration_on"]
    );
}

#[test]
fn issue_records_the_original_copy_and_first_registration() {
    let t = with_certificate();
    let c = &t.certificates[0];
    assert_eq!(c.status, CertificateStatus::Valid);
    assert_eq!(c.copies.len(), 1);
    assert_eq!(c.copies[0].state, CopyState::Current);
    assert_eq!(c.copies[0].reason, None);
    assert_eq!(c.registrations[0].expires_on, date("2021-09-01"));
    assert_eq!(t.registration_expiry(), Some(date("2021-09-01")));
}

#[test]
fn a_lost_certificate_is_reissued_under_the_same_number_and_the_old_copy_is_void() {
    let mut t = with_certificate();
    let lost = Reissue::parse(
        Choice::Known(ReissueReason::Lost),
        "SD-2026-001",
        "",
        "",
        today(),
    )
    .unwrap();
    t.reissue_certificate(NUMBER, &lost, today()).unwrap();
    let c = &t.certificates[0];
    assert_eq!(c.number, NUMBER);
    assert_eq!(c.copies.len(), 2);
    assert_eq!(c.copies[0].state, CopyState::Void);
    assert_eq!(c.copies[1].copy_number, 2);
    assert_eq!(c.copies[1].state, CopyState::Current);
    assert_eq!(c.copies[1].issued_on, today());
    assert_eq!(c.copies[1].declaration_ref, "SD-2026-001");
}

#[test]
fn a_replacement_surrenders_the_old_copy_and_may_rename_the_holder() {
    let mut t = with_certificate();
    let damaged = Reissue::parse(
        Choice::Known(ReissueReason::Damaged),
        "",
        "2020-01-01",
        "",
        today(),
    )
    .unwrap();
    t.reissue_certificate(NUMBER, &damaged, today()).unwrap();
    let renamed = Reissue::parse(
        Choice::Known(ReissueReason::DetailsChanged),
        "",
        "",
        " 王芳芳 ",
        today(),
    )
    .unwrap();
    t.reissue_certificate(NUMBER, &renamed, today()).unwrap();
    let states: Vec<_> = t.certificates[0].copies.iter().map(|c| c.state).collect();
    assert_eq!(
        states,
        [
            CopyState::Surrendered,
            CopyState::Surrendered,
            CopyState::Current
        ]
    );
    assert_eq!(t.fields.name, "王芳芳");
}

#[test]
fn reissue_requests_are_validated() {
    let lost_without_declaration =
        Reissue::parse(Choice::Known(ReissueReason::Lost), " ", "", "", today()).unwrap_err();
    assert_eq!(fields(&lost_without_declaration), ["declaration_ref"]);
    let name_with_lost = Reissue::parse(
        Choice::Known(ReissueReason::Lost),
        "SD-1",
        "",
        "李四",
        today(),
    )
    .unwrap_err();
    assert_eq!(fields(&name_with_lost), ["new_name"]);
    let unset = Reissue::parse(Choice::Unset, "", "2030-01-01", "", today()).unwrap_err();
    assert_eq!(fields(&unset), ["reason", "issued_on"]);

    let mut t = with_certificate();
    let backdated = Reissue::parse(
        Choice::Known(ReissueReason::Damaged),
        "",
        "2015-01-01",
        "",
        today(),
    )
    .unwrap();
    let before = t.clone();
    assert!(matches!(
        t.reissue_certificate(NUMBER, &backdated, today()),
        Err(DomainError::Invalid { .. })
    ));
    let damaged =
        Reissue::parse(Choice::Known(ReissueReason::Damaged), "", "", "", today()).unwrap();
    assert_eq!(
        t.reissue_certificate("20163500022000999", &damaged, today()),
        Err(DomainError::NotFound {
            what: "certificate"
        })
    );
    let _ = before;
}

#[test]
fn registrations_last_five_years_and_go_forward() {
    let mut t = with_certificate();
    t.register_certificate(NUMBER, date("2021-08-15")).unwrap();
    assert_eq!(t.registration_expiry(), Some(date("2026-08-15")));
    assert!(t.register_certificate(NUMBER, date("2021-08-15")).is_err());
    assert!(t.register_certificate(NUMBER, date("2015-01-01")).is_err());
    assert_eq!(t.certificates[0].registrations.len(), 2, "nothing removed");
}

#[test]
fn revocation_voids_the_certificate_and_bars_new_ones_for_five_years() {
    let mut t = with_certificate();
    let request = RevocationRequest::parse(
        Choice::Known(RevocationGround::Fraud),
        "学术造假",
        "Nan Jiao Ren [2024] No. 9",
        "2024-03-01",
        today(),
    )
    .unwrap();
    t.revoke_certificate(NUMBER, &request, today()).unwrap();
    let c = &t.certificates[0];
    assert_eq!(c.status, CertificateStatus::Revoked);
    let revocation = c.revocation.as_ref().unwrap();
    assert_eq!(revocation.revoked_on, date("2024-03-01"));
    assert_eq!(revocation.ground, Some(RevocationGround::Fraud));
    assert_eq!(revocation.reason, "学术造假");
    assert_eq!(
        t.registration_expiry(),
        None,
        "a revoked certificate needs no registration"
    );

    for again in [
        t.clone().revoke_certificate(NUMBER, &request, today()),
        t.clone().register_certificate(NUMBER, today()),
        t.clone().reissue_certificate(
            NUMBER,
            &Reissue::parse(Choice::Known(ReissueReason::Damaged), "", "", "", today()).unwrap(),
            today(),
        ),
    ] {
        assert!(matches!(
            again,
            Err(DomainError::FailedPrecondition {
                reason: "CERTIFICATE_REVOKED",
                ..
            })
        ));
    }

    let new = |certified_on: &str| NewCertificate {
        number: "20263500032000001".into(),
        kind: CertificateKind::JuniorSecondary,
        subject: "数学".into(),
        issuing_authority: "x".into(),
        certified_on: date(certified_on),
        first_registration_on: None,
    };
    assert!(matches!(
        t.clone().issue_certificate(new("2029-02-28")),
        Err(DomainError::FailedPrecondition {
            reason: "REAPPLICATION_BARRED",
            ..
        })
    ));
    assert!(t.clone().issue_certificate(new("2029-03-01")).is_ok());
}

#[test]
fn revocations_need_a_reason_and_an_approval_document() {
    let err = RevocationRequest::parse(Choice::Unset, " ", "", "2030-01-01", today()).unwrap_err();
    assert_eq!(fields(&err), ["reason", "approval_document", "revoked_on"]);
}

/// The ground is optional (clients written before grounds were kept send none), but a
/// number no ground has is refused on `ground`, with the other fields' violations.
#[test]
fn a_revocation_ground_is_optional_but_never_unknown() {
    let without = RevocationRequest::parse(Choice::Unset, "r", "d", "", today()).unwrap();
    assert_eq!(without.ground, None);
    let misconduct = Choice::Known(RevocationGround::Misconduct);
    let with = RevocationRequest::parse(misconduct, "r", "d", "", today()).unwrap();
    assert_eq!(with.ground, Some(RevocationGround::Misconduct));
    let err = RevocationRequest::parse(Choice::Unknown(3), "r", "", "", today()).unwrap_err();
    assert_eq!(fields(&err), ["ground", "approval_document"]);
    assert!(err[0].description.contains("unknown value 3"), "{err:?}");
}
