//! A teacher and a change-log entry as a backup holds them, and back: every field carried,
//! output-only ones included, and on the way back only the form checked, each refusal
//! naming the field that is wrong ([`MalformedRecord`]).
//!
//! Apart from [`crate::api::convert`], which turns a client's messages into requests and
//! the registry's answers into messages: a stored record is neither, and its rules differ
//! (nothing is ignored, nothing is judged against the day's rules for new input).

use chrono::NaiveDate;

use crate::api::change_convert::event_message;
use crate::api::former_convert::stored_former;
use crate::api::pb;
use crate::api::wire::{
    invalid, known, optional, stored_county, stored_date, stored_time, wire, MalformedRecord,
};
use crate::domain::case::CaseId;
use crate::domain::{
    parse_certificate_number, Certificate, CertificateCopy, ChangeEvent, ChangeKind,
    IdentityDocument, PendingTransfer, QualificationLoss, Registration, Revocation, Teacher,
    TeacherFields, TeacherId, TitleEntry,
};

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
        ground,
    } = revocation;
    Ok(Revocation {
        revoked_on: stored_date(&format!("{path}.revoked_on"), &revoked_on)?,
        reason,
        approval_document,
        ground: optional(&format!("{path}.ground"), ground)?,
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
        let (change, county_before, county_after) = event_message(event);
        pb::BackupChange {
            change: Some(change),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CountyCode, UnixMicros};

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
}
