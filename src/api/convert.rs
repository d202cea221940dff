//! Conversions between generated proto types and domain types, in one place. Proto messages
//! are destructured exhaustively, so a field added to the proto breaks the build here until
//! it is handled.

use chrono::{Datelike, NaiveDate};
use prost_types::Timestamp;

use crate::api::pb;
use crate::auth::Principal;
use crate::domain::{
    Certificate, CertificateCopy, CertificateInput, CertificateKind, CertificateStatus,
    ChangeEvent, ChangeKind, Choice, CopyState, CountyCode, EmploymentStatus, FieldViolation,
    Gender, IdDocumentType, ImportInput, ImportedCertificateInput, LegacyTitle, Registration,
    ReissueReason, Revocation, SkipReason, Teacher, TeacherInput, TitleChangeInput,
    TitleChangeKind, TitleEntry, TitleTier, UnixMicros,
};
use crate::store::{ChangeEntry, CountyStatistics};

/// A domain enum with a proto counterpart whose zero value means "not set".
pub(crate) trait WireEnum: Sized {
    /// Reads a raw enum number from the wire.
    fn from_wire(raw: i32) -> Choice<Self>;
    /// The enum number to send.
    fn to_wire(self) -> i32;
}

/// Maps a domain enum and its proto enum onto each other, variant by variant.
macro_rules! wire_enum {
    ($domain:ident, $pb:ident { $($variant:ident => $pb_variant:ident),+ $(,)? }) => {
        impl WireEnum for $domain {
            fn from_wire(raw: i32) -> Choice<Self> {
                match pb::$pb::try_from(raw) {
                    Ok(pb::$pb::Unspecified) => Choice::Unset,
                    $(Ok(pb::$pb::$pb_variant) => Choice::Known($domain::$variant),)+
                    Err(_) => Choice::Unknown(raw),
                }
            }

            fn to_wire(self) -> i32 {
                match self {
                    $($domain::$variant => pb::$pb::$pb_variant as i32,)+
                }
            }
        }
    };
}

wire_enum!(IdDocumentType, IdDocumentType {
    ResidentIdCard => ResidentIdCard,
    Passport => Passport,
    HkMacaoPermit => HkMacaoPermit,
    TaiwanPermit => TaiwanPermit,
    Other => Other,
});
wire_enum!(Gender, Gender { Male => Male, Female => Female });
wire_enum!(EmploymentStatus, EmploymentStatus {
    Active => Active,
    Transferred => Transferred,
    Retired => Retired,
    Left => Left,
});
wire_enum!(TitleTier, TitleTier {
    ThirdLevel => ThirdLevel,
    SecondLevel => SecondLevel,
    FirstLevel => FirstLevel,
    Senior => Senior,
    FullSenior => FullSenior,
});
wire_enum!(LegacyTitle, LegacyTitle {
    SecondarySenior => SecondarySenior,
    SecondaryFirst => SecondaryFirst,
    PrimarySenior => PrimarySenior,
    SecondarySecond => SecondarySecond,
    PrimaryFirst => PrimaryFirst,
    SecondaryThird => SecondaryThird,
    PrimarySecond => PrimarySecond,
    PrimaryThird => PrimaryThird,
});
wire_enum!(TitleChangeKind, TitleChangeKind {
    Initial => Initial,
    ReformTransition => ReformTransition,
    Promotion => Promotion,
    Correction => Correction,
    Revocation => Revocation,
});
wire_enum!(CertificateKind, CertificateKind {
    Kindergarten => Kindergarten,
    PrimarySchool => PrimarySchool,
    JuniorSecondary => JuniorSecondary,
    SeniorSecondary => SeniorSecondary,
    SecondaryVocational => SecondaryVocational,
    SecondaryVocationalInternshipInstructor => SecondaryVocationalInternshipInstructor,
    HigherEducation => HigherEducation,
});
wire_enum!(CertificateStatus, CertificateStatus { Valid => Valid, Revoked => Revoked });
wire_enum!(ReissueReason, ReissueReason {
    Lost => Lost,
    Damaged => Damaged,
    DetailsChanged => DetailsChanged,
});
wire_enum!(CopyState, CopyState {
    Current => Current,
    Void => Void,
    Surrendered => Surrendered,
});

pub(crate) fn wire<T: WireEnum>(value: Option<T>) -> i32 {
    value.map_or(0, WireEnum::to_wire)
}

/// A Teacher message from a client, split into what callers may set and what they send
/// back for reference (id and etag). Output-only fields are ignored (AIP-203), except
/// certificates and title history, which have their own RPCs and are refused rather than
/// silently dropped.
#[derive(Debug)]
pub(crate) struct TeacherMessage {
    pub(crate) input: TeacherInput,
    pub(crate) teacher_id: String,
    pub(crate) etag: String,
    /// Violations for fields that cannot be set this way.
    pub(crate) refused: Vec<FieldViolation>,
}

/// The parts of a Teacher message beyond the settable fields.
struct TeacherExtras {
    teacher_id: String,
    etag: String,
    certificates: Vec<pb::Certificate>,
    title_history: Vec<pb::TitleEntry>,
}

/// Splits a Teacher message: settable fields, and the rest; output-only fields dropped.
fn split_teacher(teacher: pb::Teacher) -> (TeacherInput, TeacherExtras) {
    let pb::Teacher {
        teacher_id,
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
        current_title: _,
        certificates,
        title_history,
        etag,
        revision: _,
        create_time: _,
        update_time: _,
    } = teacher;
    let input = TeacherInput {
        id_document_type: IdDocumentType::from_wire(id_document_type),
        national_id,
        name,
        gender: Gender::from_wire(gender),
        birth_date,
        county_code,
        school,
        employment_status: EmploymentStatus::from_wire(employment_status),
        legacy_title: LegacyTitle::from_wire(legacy_title),
        legacy_title_limited_scope,
    };
    let extras = TeacherExtras {
        teacher_id,
        etag,
        certificates,
        title_history,
    };
    (input, extras)
}

impl From<pb::Teacher> for TeacherMessage {
    fn from(teacher: pb::Teacher) -> Self {
        let (input, extras) = split_teacher(teacher);
        let mut refused = Vec::new();
        if !extras.certificates.is_empty() {
            refused.push(FieldViolation::new(
                "teacher.certificates",
                "certificates are added with IssueCertificate, not with the teacher",
            ));
        }
        if !extras.title_history.is_empty() {
            refused.push(FieldViolation::new(
                "teacher.title_history",
                "title entries are added with ChangeTitle or TransitionTitles",
            ));
        }
        TeacherMessage {
            input,
            teacher_id: extras.teacher_id,
            etag: extras.etag,
            refused,
        }
    }
}

/// An import row: the teacher with its certificates (core fields and registration dates;
/// status, copies and revocations are ignored, as they change only through their RPCs)
/// and title history.
pub(crate) fn import_input(teacher: pb::Teacher) -> ImportInput {
    let (input, extras) = split_teacher(teacher);
    let certificates = extras
        .certificates
        .into_iter()
        .map(|mut certificate| {
            let registrations = std::mem::take(&mut certificate.registrations)
                .into_iter()
                .map(|r| r.registered_on)
                .collect();
            ImportedCertificateInput {
                certificate: certificate_input(certificate, String::new()),
                registrations,
            }
        })
        .collect();
    ImportInput {
        teacher: input,
        certificates,
        title_history: extras
            .title_history
            .into_iter()
            .map(title_change_input)
            .collect(),
    }
}

impl From<Teacher> for pb::Teacher {
    fn from(teacher: Teacher) -> Self {
        let current_title = teacher.current_title();
        let Teacher {
            id,
            fields,
            certificates,
            title_history,
            revision,
            create_time,
            update_time,
        } = teacher;
        pb::Teacher {
            teacher_id: id.to_string(),
            id_document_type: fields.identity.doc_type().to_wire(),
            national_id: fields.identity.number().to_string(),
            name: fields.name,
            gender: fields.gender.to_wire(),
            birth_date: date(fields.birth_date),
            county_code: fields.county_code.as_str().to_string(),
            school: fields.school,
            employment_status: fields.employment_status.to_wire(),
            legacy_title: wire(fields.legacy_title),
            legacy_title_limited_scope: fields.legacy_title_limited_scope,
            current_title: wire(current_title),
            certificates: certificates.into_iter().map(Into::into).collect(),
            title_history: title_history.into_iter().map(Into::into).collect(),
            etag: crate::domain::etag_of(revision),
            revision,
            create_time: Some(timestamp(create_time)),
            update_time: Some(timestamp(update_time)),
        }
    }
}

impl From<Certificate> for pb::Certificate {
    fn from(certificate: Certificate) -> Self {
        let Certificate {
            number,
            kind,
            subject,
            issuing_authority,
            certified_on,
            status,
            copies,
            registrations,
            revocation,
        } = certificate;
        pb::Certificate {
            certificate_number: number,
            kind: kind.to_wire(),
            subject,
            issuing_authority,
            certified_on: date(certified_on),
            status: status.to_wire(),
            copies: copies.into_iter().map(Into::into).collect(),
            registrations: registrations.into_iter().map(Into::into).collect(),
            revocation: revocation.map(Into::into),
        }
    }
}

impl From<CertificateCopy> for pb::CertificateCopy {
    fn from(copy: CertificateCopy) -> Self {
        let CertificateCopy {
            copy_number,
            issued_on,
            reason,
            declaration_ref,
            state,
        } = copy;
        pb::CertificateCopy {
            copy_number,
            issued_on: date(issued_on),
            reason: wire(reason),
            declaration_ref,
            state: state.to_wire(),
        }
    }
}

impl From<Registration> for pb::CertificateRegistration {
    fn from(registration: Registration) -> Self {
        let Registration {
            registered_on,
            expires_on,
        } = registration;
        pb::CertificateRegistration {
            registered_on: date(registered_on),
            expires_on: date(expires_on),
        }
    }
}

impl From<Revocation> for pb::CertificateRevocation {
    fn from(revocation: Revocation) -> Self {
        let Revocation {
            revoked_on,
            reason,
            approval_document,
        } = revocation;
        pb::CertificateRevocation {
            revoked_on: date(revoked_on),
            reason,
            approval_document,
        }
    }
}

impl From<TitleEntry> for pb::TitleEntry {
    fn from(entry: TitleEntry) -> Self {
        let TitleEntry {
            tier,
            kind,
            effective_date,
            approval_document,
            limited_scope,
            exceptional,
            note,
            recorded_by,
            record_time,
        } = entry;
        pb::TitleEntry {
            tier: wire(tier),
            kind: kind.to_wire(),
            effective_date: date(effective_date),
            approval_document,
            limited_scope,
            exceptional,
            note,
            recorded_by,
            record_time: Some(timestamp(record_time)),
        }
    }
}

/// The settable fields of a certificate to issue; output-only fields (status, copies,
/// registrations, revocation) are ignored (AIP-203).
pub(crate) fn certificate_input(
    certificate: pb::Certificate,
    first_registration_on: String,
) -> CertificateInput {
    let pb::Certificate {
        certificate_number,
        kind,
        subject,
        issuing_authority,
        certified_on,
        status: _,
        copies: _,
        registrations: _,
        revocation: _,
    } = certificate;
    CertificateInput {
        number: certificate_number,
        kind: CertificateKind::from_wire(kind),
        subject,
        issuing_authority,
        certified_on,
        first_registration_on,
    }
}

/// The settable fields of a title change; `recorded_by` and `record_time` are the
/// registry's to set and are ignored (AIP-203).
pub(crate) fn title_change_input(entry: pb::TitleEntry) -> TitleChangeInput {
    let pb::TitleEntry {
        tier,
        kind,
        effective_date,
        approval_document,
        limited_scope,
        exceptional,
        note,
        recorded_by: _,
        record_time: _,
    } = entry;
    TitleChangeInput {
        tier: TitleTier::from_wire(tier),
        kind: TitleChangeKind::from_wire(kind),
        effective_date,
        approval_document,
        limited_scope,
        exceptional,
        note,
    }
}

impl From<SkipReason> for pb::TransitionSkipReason {
    fn from(reason: SkipReason) -> Self {
        match reason {
            SkipReason::NoLegacyTitle => Self::NoLegacyTitle,
            SkipReason::AlreadyTransitioned => Self::AlreadyTransitioned,
            SkipReason::HasNewTitle => Self::HasNewTitle,
        }
    }
}

pub(crate) fn county_statistics(
    county_code: String,
    statistics: &CountyStatistics,
) -> pb::CountyStatistics {
    pb::CountyStatistics {
        county_code,
        total: statistics.total(),
        by_tier: statistics
            .by_tier
            .iter()
            .map(|(tier, count)| pb::TierCount {
                tier: wire(*tier),
                count: *count,
            })
            .collect(),
        untransitioned: statistics
            .untransitioned
            .iter()
            .map(|(legacy, count)| pb::LegacyTitleCount {
                legacy_title: legacy.to_wire(),
                count: *count,
            })
            .collect(),
    }
}

impl From<ChangeKind> for pb::ChangeKind {
    fn from(kind: ChangeKind) -> Self {
        match kind {
            ChangeKind::Created => Self::Created,
            ChangeKind::Updated => Self::Updated,
            ChangeKind::CertificateIssued => Self::CertificateIssued,
            ChangeKind::CertificateReissued => Self::CertificateReissued,
            ChangeKind::CertificateRegistered => Self::CertificateRegistered,
            ChangeKind::CertificateRevoked => Self::CertificateRevoked,
            ChangeKind::TitleChanged => Self::TitleChanged,
            ChangeKind::TitleTransitioned => Self::TitleTransitioned,
            ChangeKind::Voided => Self::Voided,
        }
    }
}

/// A teacher as `principal` may see it: identity numbers masked for masked roles.
pub(crate) fn present(principal: &Principal, teacher: Teacher) -> pb::Teacher {
    let masked = principal
        .sees_masked_identities()
        .then(|| teacher.fields.identity.masked());
    let mut message = pb::Teacher::from(teacher);
    if let Some(masked) = masked {
        message.national_id = masked;
    }
    message
}

/// A change as a feed message. In a county's feed, a change that took the teacher out of
/// the county is MOVED_OUT, and the teacher's state is shown only while the teacher is in
/// the county.
pub(crate) fn change_message(
    entry: ChangeEntry,
    county: Option<&CountyCode>,
    viewer: &Principal,
) -> pb::Change {
    let ChangeEntry { event, teacher } = entry;
    let ChangeEvent {
        revision,
        teacher_id,
        kind,
        time,
        principal,
        request_id,
        county_before,
        county_after,
    } = event;
    let moved_out = county.is_some_and(|c| county_before.as_ref() == Some(c) && county_after != *c);
    let kind = if moved_out {
        pb::ChangeKind::MovedOut
    } else {
        kind.into()
    };
    let teacher = teacher
        .filter(|t| !moved_out && county.is_none_or(|c| t.fields.county_code == *c))
        .map(|t| present(viewer, t));
    pb::Change {
        revision,
        teacher_id: teacher_id.to_string(),
        kind: kind as i32,
        change_time: Some(timestamp(time)),
        principal,
        request_id: request_id.unwrap_or_default(),
        teacher,
    }
}

/// `YYYY-MM-DD`, without chrono's strftime machinery (which parses the pattern on every
/// call; a page of 100 teachers formats several hundred dates).
fn date(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

fn timestamp(time: UnixMicros) -> Timestamp {
    Timestamp {
        seconds: time.0.div_euclid(1_000_000),
        nanos: (time.0.rem_euclid(1_000_000) * 1000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_unknown_numbers_are_kept() {
        for tier in TitleTier::ALL {
            assert_eq!(TitleTier::from_wire(tier.to_wire()), Choice::Known(tier));
        }
        for title in LegacyTitle::ALL {
            assert_eq!(
                LegacyTitle::from_wire(title.to_wire()),
                Choice::Known(title)
            );
        }
        for doc in IdDocumentType::ALL {
            assert_eq!(IdDocumentType::from_wire(doc.to_wire()), Choice::Known(doc));
        }
        assert_eq!(Gender::from_wire(0), Choice::Unset);
        assert_eq!(Gender::from_wire(77), Choice::Unknown(77));
        assert_eq!(Gender::from_wire(-1), Choice::Unknown(-1));
    }

    #[test]
    fn dates_are_written_as_the_requests_take_them() {
        let mut day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        while day.year() < 2100 {
            assert_eq!(date(day), day.format("%Y-%m-%d").to_string());
            assert_eq!(crate::domain::parse_date(&date(day)), Ok(day));
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn timestamps_split_micros() {
        assert_eq!(
            timestamp(UnixMicros(1_500_000)),
            Timestamp {
                seconds: 1,
                nanos: 500_000_000
            }
        );
        assert_eq!(
            timestamp(UnixMicros(-1)),
            Timestamp {
                seconds: -1,
                nanos: 999_999_000
            }
        );
    }
}
