//! Conversions between generated proto types and domain types: a client's messages into
//! requests, the registry's answers into messages (a stored record's, as a backup holds it,
//! are [`crate::api::stored_convert`]'s). Proto messages are destructured exhaustively, so
//! a field added to the proto breaks the build here until it is handled.

use chrono::Datelike;

use crate::api::certificate_convert::imported_certificate;
use crate::api::former_convert::{conceal_former_documents, former_messages};
use crate::api::pb;
pub(crate) use crate::api::wire::{
    date, known, stored_county, stored_date, stored_time, timestamp, wire, wire_enum,
    MalformedRecord, WireEnum,
};
use crate::auth::Principal;
use crate::domain::{
    ChangeKind, Choice, EmploymentStatus, FieldViolation, Gender, IdDocumentType, ImportInput,
    LegacyTitle, SkipReason, Teacher, TeacherFields, TeacherInput, TitleChangeInput,
    TitleChangeKind, TitleEntry, TitleTier,
};
use crate::store::CountyStatistics;

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
    NotEmployed => NotEmployed,
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
/// The legacy titles as on the wire, in the order of the reform table
/// ([`LegacyTitle::ALL`]'s order): for listing them the way the table does.
pub const LEGACY_TITLES: [pb::LegacyTitle; 8] = [
    pb::LegacyTitle::SecondarySenior,
    pb::LegacyTitle::SecondaryFirst,
    pb::LegacyTitle::PrimarySenior,
    pb::LegacyTitle::SecondarySecond,
    pb::LegacyTitle::PrimaryFirst,
    pb::LegacyTitle::SecondaryThird,
    pb::LegacyTitle::PrimarySecond,
    pb::LegacyTitle::PrimaryThird,
];
wire_enum!(TitleChangeKind, TitleChangeKind {
    Initial => Initial,
    ReformTransition => ReformTransition,
    Promotion => Promotion,
    Correction => Correction,
    Revocation => Revocation,
});
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
        former_names: _,
        former_documents: _,
        retired_teacher_ids: _,
        // Output only: changed by the transfer RPCs.
        pending_transfer: _,
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

/// An import row: the teacher with its certificates (core fields, registration dates,
/// copies and revocation; the status, copy states and expiry dates follow from those and
/// are not read) and title history.
pub(crate) fn import_input(mut teacher: pb::Teacher) -> ImportInput {
    let former = crate::api::former_convert::former_input(
        std::mem::take(&mut teacher.former_names),
        std::mem::take(&mut teacher.former_documents),
    );
    let (input, extras) = split_teacher(teacher);
    let certificates = extras
        .certificates
        .into_iter()
        .map(imported_certificate)
        .collect();
    ImportInput {
        teacher: input,
        former,
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
            former,
            revision,
            create_time,
            update_time,
            pending_transfer,
        } = teacher;
        let (former_names, former_documents, retired_teacher_ids) = former_messages(former);
        pb::Teacher {
            pending_transfer: pending_transfer.map(|t| pb::PendingTransfer {
                to_county_code: t.to_county.as_str().to_string(),
                reason: t.reason,
                proposed_by: t.proposed_by,
                propose_time: Some(timestamp(t.proposed_at)),
            }),
            teacher_id: id.to_string(),
            current_title: wire(current_title),
            certificates: certificates.into_iter().map(Into::into).collect(),
            title_history: title_history.into_iter().map(Into::into).collect(),
            etag: crate::domain::etag_of(revision),
            revision,
            create_time: Some(timestamp(create_time)),
            update_time: Some(timestamp(update_time)),
            former_names,
            former_documents,
            retired_teacher_ids,
            ..fields_message(fields)
        }
    }
}

/// A Teacher message of `fields` alone: no number, certificates, titles, etag or times.
fn fields_message(fields: TeacherFields) -> pb::Teacher {
    pb::Teacher {
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
        ..Default::default()
    }
}

/// The fields of someone without a record yet (a certification applicant), as a Teacher
/// message without number, etag or times; the identity number masked for masked roles.
pub(crate) fn applicant_message(masked: bool, fields: TeacherFields) -> pb::Teacher {
    let reader_view = masked.then(|| ReaderView::of(&fields));
    let mut message = fields_message(fields);
    if let Some(view) = reader_view {
        view.apply(&mut message);
    }
    message
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
            SkipReason::NotFound => Self::NotFound,
            SkipReason::NoLegacyTitle => Self::NoLegacyTitle,
            SkipReason::AlreadyTransitioned => Self::AlreadyTransitioned,
            SkipReason::HasNewTitle => Self::HasNewTitle,
            SkipReason::Merged => Self::Merged,
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
            ChangeKind::CaseChanged => Self::CaseChanged,
            ChangeKind::QualificationLost => Self::QualificationLost,
            ChangeKind::ConsultationRecorded => Self::ConsultationRecorded,
            ChangeKind::EthicsFindingRecorded => Self::EthicsFindingRecorded,
            ChangeKind::EvaluationRoundChanged => Self::EvaluationRoundChanged,
            ChangeKind::TitleApplicationChanged => Self::TitleApplicationChanged,
            ChangeKind::IdentityCorrectionChanged => Self::IdentityCorrectionChanged,
            ChangeKind::IdentityCorrected => Self::IdentityCorrected,
            ChangeKind::Merged => Self::Merged,
            ChangeKind::Unmerged => Self::Unmerged,
            ChangeKind::TransferProposed => Self::TransferProposed,
            ChangeKind::TransferAccepted => Self::TransferAccepted,
            ChangeKind::TransferDeclined => Self::TransferDeclined,
        }
    }
}

/// A teacher as `principal` may see it: the reader's view for masked roles.
pub(crate) fn present(principal: &Principal, teacher: Teacher) -> pb::Teacher {
    let reader_view = principal
        .sees_masked_identities()
        .then(|| ReaderView::of(&teacher.fields));
    let mut message = pb::Teacher::from(teacher);
    if let Some(view) = reader_view {
        view.apply(&mut message);
    }
    message
}

/// What a reader sees in place of what could identify the person: the identity number
/// concealed (see [`crate::domain::conceal`]) and the birth date coarsened to its year, so
/// that neither gives the other's hidden part back. One place, for every RPC that shows
/// a teacher or an applicant (records, lists, searches, the change feed, cases).
struct ReaderView {
    national_id: String,
    birth_year: String,
}

impl ReaderView {
    fn of(fields: &TeacherFields) -> ReaderView {
        ReaderView {
            national_id: fields.identity.concealed(),
            birth_year: format!("{:04}", fields.birth_date.year()),
        }
    }

    fn apply(self, message: &mut pb::Teacher) {
        message.national_id = self.national_id;
        conceal_former_documents(&mut message.former_documents);
        message.birth_date = self.birth_year;
        // Who recorded a title is audit data, as a change's principal is.
        for entry in &mut message.title_history {
            entry.recorded_by.clear();
        }
        if let Some(transfer) = &mut message.pending_transfer {
            transfer.proposed_by.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UnixMicros;
    use chrono::NaiveDate;
    use prost_types::Timestamp;

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
        let in_table_order = LegacyTitle::ALL.map(|title| title.to_wire());
        assert_eq!(LEGACY_TITLES.map(|title| title as i32), in_table_order);
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
