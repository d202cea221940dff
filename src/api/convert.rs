//! Conversions between generated proto types and domain types, in one place. Proto messages
//! are destructured exhaustively, so a field added to the proto breaks the build here until
//! it is handled.

use chrono::{Datelike, NaiveDate};

use crate::api::former_convert::{conceal_former_documents, former_messages, stored_former};
use crate::api::pb;
pub(crate) use crate::api::wire::{
    date, invalid, known, optional, stored_county, stored_date, stored_time, timestamp, wire,
    wire_enum, MalformedRecord, WireEnum,
};
use crate::auth::Principal;
use crate::domain::case::CaseId;
use crate::domain::{
    parse_certificate_number, Certificate, CertificateCopy, CertificateInput, CertificateKind,
    CertificateStatus, ChangeEvent, ChangeKind, Choice, CopyInput, CopyState, EmploymentStatus,
    FieldViolation, Gender, IdDocumentType, IdentityDocument, ImportInput,
    ImportedCertificateInput, LegacyTitle, LossGround, PendingTransfer, QualificationLoss,
    Registration, ReissueReason, Revocation, RevocationInput, SkipReason, Teacher, TeacherFields,
    TeacherId, TeacherInput, TitleChangeInput, TitleChangeKind, TitleEntry, TitleTier,
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
wire_enum!(CertificateStatus, CertificateStatus {
    Valid => Valid,
    Revoked => Revoked,
    Lost => Lost,
});
wire_enum!(LossGround, QualificationLossGround {
    DeprivationOfPoliticalRights => DeprivationOfPoliticalRights,
    IntentionalCrimeSentence => IntentionalCrimeSentence,
});
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
        .map(|mut certificate| {
            let registrations = std::mem::take(&mut certificate.registrations)
                .into_iter()
                .map(|r| r.registered_on)
                .collect();
            let copies = std::mem::take(&mut certificate.copies)
                .into_iter()
                .map(copy_input)
                .collect();
            let revocation = certificate.revocation.take().map(revocation_input);
            let lost = certificate.qualification_loss.take().is_some();
            ImportedCertificateInput {
                certificate: certificate_input(certificate, String::new()),
                registrations,
                copies,
                revocation,
                lost,
            }
        })
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

fn copy_input(copy: pb::CertificateCopy) -> CopyInput {
    let pb::CertificateCopy {
        copy_number,
        issued_on,
        reason,
        declaration_ref,
        state: _,
    } = copy;
    CopyInput {
        copy_number,
        issued_on,
        reason: ReissueReason::from_wire(reason),
        declaration_ref,
    }
}

fn revocation_input(revocation: pb::CertificateRevocation) -> RevocationInput {
    let pb::CertificateRevocation {
        revoked_on,
        reason,
        approval_document,
    } = revocation;
    RevocationInput {
        revoked_on,
        reason,
        approval_document,
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
            former_names,
            former_documents,
            retired_teacher_ids,
        }
    }
}

/// The fields of someone without a record yet (a certification applicant), as a Teacher
/// message without number, etag or times; the identity number masked for masked roles.
pub(crate) fn applicant_message(masked: bool, fields: TeacherFields) -> pb::Teacher {
    let reader_view = masked.then(|| ReaderView::of(&fields));
    let mut message = pb::Teacher {
        teacher_id: String::new(),
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
        current_title: 0,
        certificates: Vec::new(),
        title_history: Vec::new(),
        etag: String::new(),
        revision: 0,
        create_time: None,
        update_time: None,
        former_names: Vec::new(),
        former_documents: Vec::new(),
        retired_teacher_ids: Vec::new(),
        pending_transfer: None,
    };
    if let Some(view) = reader_view {
        view.apply(&mut message);
    }
    message
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
            loss,
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
            qualification_loss: loss.map(Into::into),
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

impl From<QualificationLoss> for pb::QualificationLoss {
    fn from(loss: QualificationLoss) -> Self {
        let QualificationLoss {
            lost_on,
            ground,
            approval_document,
            note,
        } = loss;
        pb::QualificationLoss {
            lost_on: date(lost_on),
            ground: ground.to_wire(),
            approval_document,
            note,
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

/// A teacher as a backup holds it, back to the record it was written from: every field is
/// carried, output-only ones included. Only the form is checked (the rules for new input,
/// such as plausible ages, depend on the day and were applied when the record was
/// written); identity and certificate numbers are checked against `today`, and the etag
/// and current title must be the ones the record derives.
pub(crate) fn stored_teacher(
    message: pb::Teacher,
    today: NaiveDate,
) -> Result<Teacher, MalformedRecord> {
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
        current_title,
        certificates,
        title_history,
        etag,
        revision,
        create_time,
        update_time,
        former_names,
        former_documents,
        retired_teacher_ids,
        pending_transfer,
    } = message;
    let former = stored_former(former_names, former_documents, retired_teacher_ids, today)?;
    let doc_type = known("teacher.id_document_type", id_document_type)?;
    let identity = IdentityDocument::parse(doc_type, &national_id, today)
        .map_err(|problem| invalid("teacher.national_id", problem))?;
    if identity.number() != national_id {
        return Err(MalformedRecord::NotCanonical("teacher.national_id".into()));
    }
    let teacher = Teacher {
        id: TeacherId::try_from(teacher_id).map_err(|e| invalid("teacher.teacher_id", e))?,
        fields: TeacherFields {
            identity,
            name,
            gender: known("teacher.gender", gender)?,
            birth_date: stored_date("teacher.birth_date", &birth_date)?,
            county_code: stored_county("teacher.county_code", county_code)?,
            school,
            employment_status: known("teacher.employment_status", employment_status)?,
            legacy_title: optional("teacher.legacy_title", legacy_title)?,
            legacy_title_limited_scope,
        },
        certificates: certificates
            .into_iter()
            .enumerate()
            .map(|(n, c)| stored_certificate(&format!("teacher.certificates[{n}]"), c, today))
            .collect::<Result<_, _>>()?,
        title_history: title_history
            .into_iter()
            .enumerate()
            .map(|(n, e)| stored_title_entry(&format!("teacher.title_history[{n}]"), e))
            .collect::<Result<_, _>>()?,
        former,
        revision,
        create_time: stored_time("teacher.create_time", create_time)?,
        update_time: stored_time("teacher.update_time", update_time)?,
        pending_transfer: pending_transfer
            .map(|t| -> Result<_, MalformedRecord> {
                Ok(PendingTransfer {
                    to_county: stored_county(
                        "teacher.pending_transfer.to_county_code",
                        t.to_county_code,
                    )?,
                    reason: t.reason,
                    proposed_by: t.proposed_by,
                    proposed_at: stored_time(
                        "teacher.pending_transfer.propose_time",
                        t.propose_time,
                    )?,
                })
            })
            .transpose()?,
    };
    agrees("teacher.etag", etag, teacher.etag())?;
    agrees(
        "teacher.current_title",
        tier_name(current_title),
        tier_name(wire(teacher.current_title())),
    )?;
    Ok(teacher)
}

fn stored_certificate(
    path: &str,
    certificate: pb::Certificate,
    today: NaiveDate,
) -> Result<Certificate, MalformedRecord> {
    let pb::Certificate {
        certificate_number,
        kind,
        subject,
        issuing_authority,
        certified_on,
        status,
        copies,
        registrations,
        revocation,
        qualification_loss,
    } = certificate;
    let field = |name: &str| format!("{path}.{name}");
    let number = parse_certificate_number(&certificate_number, today)
        .map_err(|problem| invalid(&field("certificate_number"), problem))?;
    if number != certificate_number {
        return Err(MalformedRecord::NotCanonical(field("certificate_number")));
    }
    Ok(Certificate {
        number,
        kind: known(&field("kind"), kind)?,
        subject,
        issuing_authority,
        certified_on: stored_date(&field("certified_on"), &certified_on)?,
        status: known(&field("status"), status)?,
        copies: copies
            .into_iter()
            .enumerate()
            .map(|(n, copy)| stored_copy(&format!("{path}.copies[{n}]"), copy))
            .collect::<Result<_, _>>()?,
        registrations: registrations
            .into_iter()
            .enumerate()
            .map(|(n, r)| stored_registration(&format!("{path}.registrations[{n}]"), r))
            .collect::<Result<_, _>>()?,
        revocation: revocation
            .map(|r| stored_revocation(&field("revocation"), r))
            .transpose()?,
        loss: qualification_loss
            .map(|l| stored_loss(&field("qualification_loss"), l))
            .transpose()?,
    })
}

fn stored_loss(
    path: &str,
    loss: pb::QualificationLoss,
) -> Result<QualificationLoss, MalformedRecord> {
    let pb::QualificationLoss {
        lost_on,
        ground,
        approval_document,
        note,
    } = loss;
    Ok(QualificationLoss {
        lost_on: stored_date(&format!("{path}.lost_on"), &lost_on)?,
        ground: known(&format!("{path}.ground"), ground)?,
        approval_document,
        note,
    })
}

fn stored_copy(path: &str, copy: pb::CertificateCopy) -> Result<CertificateCopy, MalformedRecord> {
    let pb::CertificateCopy {
        copy_number,
        issued_on,
        reason,
        declaration_ref,
        state,
    } = copy;
    Ok(CertificateCopy {
        copy_number,
        issued_on: stored_date(&format!("{path}.issued_on"), &issued_on)?,
        reason: optional(&format!("{path}.reason"), reason)?,
        declaration_ref,
        state: known(&format!("{path}.state"), state)?,
    })
}

fn stored_registration(
    path: &str,
    registration: pb::CertificateRegistration,
) -> Result<Registration, MalformedRecord> {
    let pb::CertificateRegistration {
        registered_on,
        expires_on,
    } = registration;
    Ok(Registration {
        registered_on: stored_date(&format!("{path}.registered_on"), &registered_on)?,
        expires_on: stored_date(&format!("{path}.expires_on"), &expires_on)?,
    })
}

fn stored_revocation(
    path: &str,
    revocation: pb::CertificateRevocation,
) -> Result<Revocation, MalformedRecord> {
    let pb::CertificateRevocation {
        revoked_on,
        reason,
        approval_document,
    } = revocation;
    Ok(Revocation {
        revoked_on: stored_date(&format!("{path}.revoked_on"), &revoked_on)?,
        reason,
        approval_document,
    })
}

fn stored_title_entry(path: &str, entry: pb::TitleEntry) -> Result<TitleEntry, MalformedRecord> {
    let pb::TitleEntry {
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
    Ok(TitleEntry {
        tier: optional(&format!("{path}.tier"), tier)?,
        kind: known(&format!("{path}.kind"), kind)?,
        effective_date: stored_date(&format!("{path}.effective_date"), &effective_date)?,
        approval_document,
        limited_scope,
        exceptional,
        note,
        recorded_by,
        record_time: stored_time(&format!("{path}.record_time"), record_time)?,
    })
}

/// A change-log entry as a backup holds it: the change without the teacher's state, and
/// the counties the change moved the teacher between.
impl From<ChangeEvent> for pb::BackupChange {
    fn from(event: ChangeEvent) -> Self {
        let ChangeEvent {
            revision,
            teacher_id,
            case_id,
            kind,
            time,
            principal,
            request_id,
            county_before,
            county_after,
        } = event;
        pb::BackupChange {
            change: Some(pb::Change {
                revision,
                teacher_id: teacher_id.map_or_else(String::new, String::from),
                kind: pb::ChangeKind::from(kind) as i32,
                change_time: Some(timestamp(time)),
                principal,
                request_id: request_id.unwrap_or_default(),
                teacher: None,
                case_id: case_id.map_or_else(String::new, |id| id.as_str().to_string()),
                case: None,
            }),
            county_code_before: county_before.map_or_else(String::new, String::from),
            county_code_after: county_after.into(),
        }
    }
}

/// A change-log entry from a backup, back to the event it was written from.
pub(crate) fn stored_change(message: pb::BackupChange) -> Result<ChangeEvent, MalformedRecord> {
    let pb::BackupChange {
        change,
        county_code_before,
        county_code_after,
    } = message;
    let pb::Change {
        revision,
        teacher_id,
        kind,
        change_time,
        principal,
        request_id,
        teacher,
        case_id,
        case,
    } = change.ok_or_else(|| MalformedRecord::Missing("backup_change.change".into()))?;
    if teacher.is_some() || case.is_some() {
        return Err(MalformedRecord::TeacherInChange(
            "backup_change.change.teacher".into(),
        ));
    }
    let county_before = match county_code_before.is_empty() {
        true => None,
        false => Some(stored_county(
            "backup_change.county_code_before",
            county_code_before,
        )?),
    };
    Ok(ChangeEvent {
        revision,
        teacher_id: match teacher_id.is_empty() {
            true => None,
            false => Some(
                TeacherId::try_from(teacher_id)
                    .map_err(|e| invalid("backup_change.change.teacher_id", e))?,
            ),
        },
        case_id: match case_id.is_empty() {
            true => None,
            false => Some(
                CaseId::try_from(case_id)
                    .map_err(|e| invalid("backup_change.change.case_id", e))?,
            ),
        },
        kind: stored_change_kind("backup_change.change.kind", kind)?,
        time: stored_time("backup_change.change.change_time", change_time)?,
        principal,
        request_id: (!request_id.is_empty()).then_some(request_id),
        county_before,
        county_after: stored_county("backup_change.county_code_after", county_code_after)?,
    })
}

fn stored_change_kind(field: &str, raw: i32) -> Result<ChangeKind, MalformedRecord> {
    use pb::ChangeKind as Wire;
    Ok(match Wire::try_from(raw) {
        Ok(Wire::Created) => ChangeKind::Created,
        Ok(Wire::Updated) => ChangeKind::Updated,
        Ok(Wire::CertificateIssued) => ChangeKind::CertificateIssued,
        Ok(Wire::CertificateReissued) => ChangeKind::CertificateReissued,
        Ok(Wire::CertificateRegistered) => ChangeKind::CertificateRegistered,
        Ok(Wire::CertificateRevoked) => ChangeKind::CertificateRevoked,
        Ok(Wire::TitleChanged) => ChangeKind::TitleChanged,
        Ok(Wire::TitleTransitioned) => ChangeKind::TitleTransitioned,
        Ok(Wire::Voided) => ChangeKind::Voided,
        Ok(Wire::CaseChanged) => ChangeKind::CaseChanged,
        Ok(Wire::QualificationLost) => ChangeKind::QualificationLost,
        Ok(Wire::ConsultationRecorded) => ChangeKind::ConsultationRecorded,
        Ok(Wire::EthicsFindingRecorded) => ChangeKind::EthicsFindingRecorded,
        Ok(Wire::EvaluationRoundChanged) => ChangeKind::EvaluationRoundChanged,
        Ok(Wire::TitleApplicationChanged) => ChangeKind::TitleApplicationChanged,
        Ok(Wire::IdentityCorrectionChanged) => ChangeKind::IdentityCorrectionChanged,
        Ok(Wire::IdentityCorrected) => ChangeKind::IdentityCorrected,
        Ok(Wire::Merged) => ChangeKind::Merged,
        Ok(Wire::Unmerged) => ChangeKind::Unmerged,
        Ok(Wire::TransferProposed) => ChangeKind::TransferProposed,
        Ok(Wire::TransferAccepted) => ChangeKind::TransferAccepted,
        Ok(Wire::TransferDeclined) => ChangeKind::TransferDeclined,
        Ok(Wire::MovedOut) => return Err(MalformedRecord::MovedOut(field.into())),
        Ok(Wire::Unspecified) => return Err(MalformedRecord::Missing(field.into())),
        Err(_) => {
            return Err(MalformedRecord::UnknownValue {
                field: field.into(),
                value: raw,
            })
        }
    })
}

/// An output-only field, which must be what the record derives.
fn agrees(field: &str, found: String, derived: String) -> Result<(), MalformedRecord> {
    match found == derived {
        true => Ok(()),
        false => Err(MalformedRecord::Disagrees {
            field: field.into(),
            found,
            derived,
        }),
    }
}

fn tier_name(raw: i32) -> String {
    pb::TitleTier::try_from(raw).map_or_else(|_| raw.to_string(), |t| t.as_str_name().into())
}

/// The settable fields of a certificate to issue; output-only fields (status, copies,
/// registrations, revocation, qualification loss) are ignored (AIP-203).
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
        qualification_loss: _,
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
    use crate::domain::{CountyCode, UnixMicros};
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

    fn malformed(change: impl FnOnce(&mut pb::Teacher)) -> MalformedRecord {
        let mut teacher = pb::Teacher::from(crate::domain::fixtures::stored_teacher(None, false));
        assert!(stored_teacher(teacher.clone(), crate::domain::fixtures::today()).is_ok());
        change(&mut teacher);
        stored_teacher(teacher, crate::domain::fixtures::today()).unwrap_err()
    }

    #[test]
    fn a_teacher_from_a_backup_is_refused_with_the_field_that_is_wrong() {
        let field = |f: &str| f.to_string();
        assert_eq!(
            malformed(|t| t.gender = 0),
            MalformedRecord::Missing(field("teacher.gender"))
        );
        assert_eq!(
            malformed(|t| t.legacy_title = 99),
            MalformedRecord::UnknownValue {
                field: field("teacher.legacy_title"),
                value: 99
            }
        );
        assert_eq!(
            malformed(|t| t.national_id = t.national_id.to_lowercase()),
            MalformedRecord::NotCanonical(field("teacher.national_id"))
        );
        assert!(matches!(
            malformed(|t| t.teacher_id = "T7KQ2M9XD4AS".into()),
            MalformedRecord::Invalid { field, .. } if field == "teacher.teacher_id"
        ));
        assert!(matches!(
            malformed(|t| t.county_code = "350700".into()),
            MalformedRecord::Invalid { field, .. } if field == "teacher.county_code"
        ));
        assert_eq!(
            malformed(|t| t.birth_date = "1949-12-31 ".into()),
            MalformedRecord::NotCanonical(field("teacher.birth_date"))
        );
        assert_eq!(
            malformed(|t| t.create_time = None),
            MalformedRecord::Missing(field("teacher.create_time"))
        );
        assert_eq!(
            malformed(|t| t.update_time.as_mut().unwrap().nanos = 1),
            MalformedRecord::Time(field("teacher.update_time"))
        );
        assert_eq!(
            malformed(|t| t.etag = "r2".into()),
            MalformedRecord::Disagrees {
                field: field("teacher.etag"),
                found: field("r2"),
                derived: field("r1")
            }
        );
        assert_eq!(
            malformed(|t| t.current_title = pb::TitleTier::Senior as i32),
            MalformedRecord::Disagrees {
                field: field("teacher.current_title"),
                found: field("TITLE_TIER_SENIOR"),
                derived: field("TITLE_TIER_UNSPECIFIED")
            }
        );
        assert_eq!(
            malformed(|t| t.title_history.push(pb::TitleEntry {
                kind: pb::TitleChangeKind::Initial as i32,
                effective_date: "2016-01-01".into(),
                ..Default::default()
            })),
            MalformedRecord::Missing(field("teacher.title_history[0].record_time"))
        );
        let mut certificate = pb::Certificate {
            certificate_number: "20163500022000123".into(),
            kind: pb::CertificateKind::PrimarySchool as i32,
            certified_on: "2016-07-01".into(),
            status: pb::CertificateStatus::Valid as i32,
            copies: vec![pb::CertificateCopy {
                copy_number: 1,
                issued_on: "2016-07-01".into(),
                state: 7,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            malformed(|t| t.certificates.push(certificate.clone())),
            MalformedRecord::UnknownValue {
                field: field("teacher.certificates[0].copies[0].state"),
                value: 7
            }
        );
        certificate.certificate_number = "2016350002200012".into();
        assert!(matches!(
            malformed(|t| t.certificates.push(certificate)),
            MalformedRecord::Invalid { field, .. }
                if field == "teacher.certificates[0].certificate_number"
        ));
    }

    #[test]
    fn a_change_from_a_backup_is_refused_with_the_field_that_is_wrong() {
        let event = ChangeEvent {
            revision: 7,
            teacher_id: Some(crate::domain::fixtures::stored_teacher(None, false).id),
            case_id: None,
            kind: ChangeKind::Updated,
            time: UnixMicros(1_700_000_000_000_000),
            principal: "hr".into(),
            request_id: None,
            county_before: None,
            county_after: CountyCode::parse("350702").unwrap(),
        };
        let message = pb::BackupChange::from(event.clone());
        assert_eq!(stored_change(message.clone()), Ok(event));
        let refused = |change: fn(&mut pb::BackupChange)| {
            let mut message = message.clone();
            change(&mut message);
            stored_change(message).unwrap_err()
        };
        assert_eq!(
            refused(|m| m.change.as_mut().unwrap().kind = pb::ChangeKind::MovedOut as i32),
            MalformedRecord::MovedOut("backup_change.change.kind".into())
        );
        assert_eq!(
            refused(|m| m.change.as_mut().unwrap().teacher = Some(pb::Teacher::default())),
            MalformedRecord::TeacherInChange("backup_change.change.teacher".into())
        );
        assert_eq!(
            refused(|m| m.county_code_after.clear()),
            MalformedRecord::Invalid {
                field: "backup_change.county_code_after".into(),
                problem: "county code \"\" must be a 6-digit GB/T 2260 division code".into()
            }
        );
        assert_eq!(
            refused(|m| m.change = None),
            MalformedRecord::Missing("backup_change.change".into())
        );
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
