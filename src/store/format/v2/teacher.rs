//! A teacher's record as format 2 stores it: the fields, the certificates with their
//! copies, registrations, revocation and loss, the title history and a pending transfer.
//!
//! Apart from the registry's other messages (`v2`'s own) because it is the one value that
//! nests messages several levels deep, and the one every later message of format 2 embeds
//! or fingerprints (`FieldsRecord`).

use prost::Message;

use crate::domain::{self, CountyCode, IdentityDocument, UnixMicros};
use crate::store::format::codes::Coded;
use crate::store::format::scalars::{date, days, known, optional, registry_number};

#[derive(Clone, PartialEq, Message)]
pub(crate) struct TeacherRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(message, optional, tag = "2")]
    fields: Option<FieldsRecord>,
    #[prost(message, repeated, tag = "3")]
    certificates: Vec<CertificateRecord>,
    #[prost(message, repeated, tag = "4")]
    title_history: Vec<TitleEntryRecord>,
    #[prost(uint64, tag = "5")]
    revision: u64,
    #[prost(int64, tag = "6")]
    create_time: i64,
    #[prost(int64, tag = "7")]
    update_time: i64,
    /// Absent unless a transfer to another county is pending (and in every record
    /// written before transfers had two sides).
    #[prost(message, optional, tag = "8")]
    pending_transfer: Option<TransferRecord>,
    /// What the record was known by before (absent from records written before former
    /// names were kept: they decode as none). Tags 20 and up: see `format::former`.
    #[prost(message, optional, tag = "20")]
    former: Option<crate::store::format::former::FormerRecord>,
}

/// A transfer proposed and not yet answered (see `domain::transfer`).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TransferRecord {
    #[prost(string, tag = "1")]
    to_county: String,
    #[prost(string, tag = "2")]
    reason: String,
    #[prost(string, tag = "3")]
    proposed_by: String,
    #[prost(int64, tag = "4")]
    proposed_at: i64,
}

#[derive(Clone, PartialEq, Message)]
pub(in crate::store::format) struct FieldsRecord {
    #[prost(int32, tag = "1")]
    id_document_type: i32,
    #[prost(string, tag = "2")]
    national_id: String,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(int32, tag = "4")]
    gender: i32,
    #[prost(int32, tag = "5")]
    birth_date: i32,
    #[prost(string, tag = "6")]
    county_code: String,
    #[prost(string, tag = "7")]
    school: String,
    #[prost(int32, tag = "8")]
    employment_status: i32,
    /// 0: no legacy title.
    #[prost(int32, tag = "9")]
    legacy_title: i32,
    #[prost(bool, tag = "10")]
    legacy_title_limited_scope: bool,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct CertificateRecord {
    #[prost(string, tag = "1")]
    number: String,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(string, tag = "3")]
    subject: String,
    #[prost(string, tag = "4")]
    issuing_authority: String,
    #[prost(int32, tag = "5")]
    certified_on: i32,
    #[prost(int32, tag = "6")]
    status: i32,
    #[prost(message, repeated, tag = "7")]
    copies: Vec<CopyRecord>,
    #[prost(message, repeated, tag = "8")]
    registrations: Vec<RegistrationRecord>,
    #[prost(message, optional, tag = "9")]
    revocation: Option<RevocationRecord>,
    /// Absent before losses of qualification were recorded (and on most certificates).
    #[prost(message, optional, tag = "10")]
    loss: Option<LossRecord>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct CopyRecord {
    #[prost(uint32, tag = "1")]
    copy_number: u32,
    #[prost(int32, tag = "2")]
    issued_on: i32,
    /// 0: the original copy.
    #[prost(int32, tag = "3")]
    reason: i32,
    #[prost(string, tag = "4")]
    declaration_ref: String,
    #[prost(int32, tag = "5")]
    state: i32,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct RegistrationRecord {
    #[prost(int32, tag = "1")]
    registered_on: i32,
    #[prost(int32, tag = "2")]
    expires_on: i32,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct RevocationRecord {
    #[prost(int32, tag = "1")]
    revoked_on: i32,
    #[prost(string, tag = "2")]
    reason: String,
    #[prost(string, tag = "3")]
    approval_document: String,
    /// 0 (and so absent from the bytes): no ground named, as in every revocation written
    /// before grounds were kept, which therefore decode unchanged.
    #[prost(int32, tag = "4")]
    ground: i32,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct LossRecord {
    #[prost(int32, tag = "1")]
    lost_on: i32,
    #[prost(int32, tag = "2")]
    ground: i32,
    #[prost(string, tag = "3")]
    approval_document: String,
    #[prost(string, tag = "4")]
    note: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct TitleEntryRecord {
    /// 0: no tier (after revoking the only title).
    #[prost(int32, tag = "1")]
    tier: i32,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(int32, tag = "3")]
    effective_date: i32,
    #[prost(string, tag = "4")]
    approval_document: String,
    #[prost(bool, tag = "5")]
    limited_scope: bool,
    #[prost(bool, tag = "6")]
    exceptional: bool,
    #[prost(string, tag = "7")]
    note: String,
    #[prost(string, tag = "8")]
    recorded_by: String,
    #[prost(int64, tag = "9")]
    record_time: i64,
}

impl TeacherRecord {
    pub(crate) fn of(teacher: &domain::Teacher) -> Self {
        TeacherRecord {
            id: teacher.id.as_str().to_string(),
            fields: Some(FieldsRecord::of(&teacher.fields)),
            certificates: teacher
                .certificates
                .iter()
                .map(CertificateRecord::of)
                .collect(),
            title_history: teacher
                .title_history
                .iter()
                .map(TitleEntryRecord::of)
                .collect(),
            revision: teacher.revision,
            create_time: teacher.create_time.0,
            update_time: teacher.update_time.0,
            former: crate::store::format::former::FormerRecord::of(&teacher.former),
            pending_transfer: teacher.pending_transfer.as_ref().map(|t| TransferRecord {
                to_county: t.to_county.as_str().to_string(),
                reason: t.reason.clone(),
                proposed_by: t.proposed_by.clone(),
                proposed_at: t.proposed_at.0,
            }),
        }
    }

    pub(crate) fn into_domain(self) -> Result<domain::Teacher, String> {
        Ok(domain::Teacher {
            id: registry_number(self.id)?,
            fields: self
                .fields
                .ok_or("a teacher record without fields")?
                .into_domain()?,
            certificates: self
                .certificates
                .into_iter()
                .map(CertificateRecord::into_domain)
                .collect::<Result<_, _>>()?,
            title_history: self
                .title_history
                .into_iter()
                .map(TitleEntryRecord::into_domain)
                .collect::<Result<_, _>>()?,
            former: crate::store::format::former::FormerRecord::into_domain(self.former)?,
            revision: self.revision,
            create_time: UnixMicros(self.create_time),
            update_time: UnixMicros(self.update_time),
            pending_transfer: self
                .pending_transfer
                .map(|t| -> Result<_, String> {
                    Ok(domain::PendingTransfer {
                        to_county: CountyCode::try_from(t.to_county)?,
                        reason: t.reason,
                        proposed_by: t.proposed_by,
                        proposed_at: UnixMicros(t.proposed_at),
                    })
                })
                .transpose()?,
        })
    }
}

impl FieldsRecord {
    pub(in crate::store::format) fn of(fields: &domain::TeacherFields) -> Self {
        FieldsRecord {
            id_document_type: fields.identity.doc_type().number(),
            national_id: fields.identity.number().to_string(),
            name: fields.name.clone(),
            gender: fields.gender.number(),
            birth_date: days(fields.birth_date),
            county_code: fields.county_code.as_str().to_string(),
            school: fields.school.clone(),
            employment_status: fields.employment_status.number(),
            legacy_title: fields.legacy_title.map_or(0, Coded::number),
            legacy_title_limited_scope: fields.legacy_title_limited_scope,
        }
    }

    pub(in crate::store::format) fn into_domain(self) -> Result<domain::TeacherFields, String> {
        Ok(domain::TeacherFields {
            identity: IdentityDocument::from_stored(
                known(self.id_document_type, "document type")?,
                self.national_id,
            ),
            name: self.name,
            gender: known(self.gender, "gender")?,
            birth_date: date(self.birth_date)?,
            county_code: CountyCode::try_from(self.county_code)?,
            school: self.school,
            employment_status: known(self.employment_status, "employment status")?,
            legacy_title: optional(self.legacy_title, "legacy title")?,
            legacy_title_limited_scope: self.legacy_title_limited_scope,
        })
    }
}

impl CertificateRecord {
    fn of(certificate: &domain::Certificate) -> Self {
        CertificateRecord {
            number: certificate.number.clone(),
            kind: certificate.kind.number(),
            subject: certificate.subject.clone(),
            issuing_authority: certificate.issuing_authority.clone(),
            certified_on: days(certificate.certified_on),
            status: certificate.status.number(),
            copies: certificate
                .copies
                .iter()
                .map(|copy| CopyRecord {
                    copy_number: copy.copy_number,
                    issued_on: days(copy.issued_on),
                    reason: copy.reason.map_or(0, Coded::number),
                    declaration_ref: copy.declaration_ref.clone(),
                    state: copy.state.number(),
                })
                .collect(),
            registrations: certificate
                .registrations
                .iter()
                .map(|r| RegistrationRecord {
                    registered_on: days(r.registered_on),
                    expires_on: days(r.expires_on),
                })
                .collect(),
            revocation: certificate.revocation.as_ref().map(|r| RevocationRecord {
                revoked_on: days(r.revoked_on),
                reason: r.reason.clone(),
                approval_document: r.approval_document.clone(),
                ground: r.ground.map_or(0, Coded::number),
            }),
            loss: certificate.loss.as_ref().map(|l| LossRecord {
                lost_on: days(l.lost_on),
                ground: l.ground.number(),
                approval_document: l.approval_document.clone(),
                note: l.note.clone(),
            }),
        }
    }

    fn into_domain(self) -> Result<domain::Certificate, String> {
        Ok(domain::Certificate {
            number: self.number,
            kind: known(self.kind, "certificate kind")?,
            subject: self.subject,
            issuing_authority: self.issuing_authority,
            certified_on: date(self.certified_on)?,
            status: known(self.status, "certificate status")?,
            copies: self
                .copies
                .into_iter()
                .map(|copy| {
                    Ok(domain::CertificateCopy {
                        copy_number: copy.copy_number,
                        issued_on: date(copy.issued_on)?,
                        reason: optional(copy.reason, "reissue reason")?,
                        declaration_ref: copy.declaration_ref,
                        state: known(copy.state, "copy state")?,
                    })
                })
                .collect::<Result<_, String>>()?,
            registrations: self
                .registrations
                .into_iter()
                .map(|r| {
                    Ok(domain::Registration {
                        registered_on: date(r.registered_on)?,
                        expires_on: date(r.expires_on)?,
                    })
                })
                .collect::<Result<_, String>>()?,
            revocation: match self.revocation {
                Some(r) => Some(domain::Revocation {
                    revoked_on: date(r.revoked_on)?,
                    reason: r.reason,
                    approval_document: r.approval_document,
                    ground: optional(r.ground, "revocation ground")?,
                }),
                None => None,
            },
            loss: match self.loss {
                Some(l) => Some(domain::QualificationLoss {
                    lost_on: date(l.lost_on)?,
                    ground: known(l.ground, "loss ground")?,
                    approval_document: l.approval_document,
                    note: l.note,
                }),
                None => None,
            },
        })
    }
}

impl TitleEntryRecord {
    fn of(entry: &domain::TitleEntry) -> Self {
        TitleEntryRecord {
            tier: entry.tier.map_or(0, Coded::number),
            kind: entry.kind.number(),
            effective_date: days(entry.effective_date),
            approval_document: entry.approval_document.clone(),
            limited_scope: entry.limited_scope,
            exceptional: entry.exceptional,
            note: entry.note.clone(),
            recorded_by: entry.recorded_by.clone(),
            record_time: entry.record_time.0,
        }
    }

    fn into_domain(self) -> Result<domain::TitleEntry, String> {
        Ok(domain::TitleEntry {
            tier: optional(self.tier, "title tier")?,
            kind: known(self.kind, "title change kind")?,
            effective_date: date(self.effective_date)?,
            approval_document: self.approval_document,
            limited_scope: self.limited_scope,
            exceptional: self.exceptional,
            note: self.note,
            recorded_by: self.recorded_by,
            record_time: UnixMicros(self.record_time),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::store::codec::{self, NewRequest};
    use crate::store::format::v2::encode;
    use crate::store::format::{samples, Fingerprint, Remembered, StoredRequest};

    #[test]
    fn every_sample_round_trips() {
        let teacher = samples::teacher();
        let bytes = codec::encode(&teacher);
        assert_eq!(bytes[0], codec::FORMAT_VERSION);
        assert_eq!(
            codec::decode::<domain::Teacher>(b"r", &bytes).unwrap(),
            teacher
        );
        let event = samples::change_event();
        let bytes = codec::encode(&event);
        assert_eq!(
            codec::decode::<domain::ChangeEvent>(b"l", &bytes).unwrap(),
            event
        );
        let outcome = samples::outcome();
        let bytes = codec::encode(&NewRequest {
            fingerprint: [9; 32],
            outcome: &outcome,
            recorded_at: UnixMicros(77),
        });
        let request: StoredRequest = codec::decode(b"q", &bytes).unwrap();
        assert_eq!(request.fingerprint, Fingerprint::V2([9; 32]));
        assert_eq!(request.outcome, Remembered::Teacher(outcome));
        assert_eq!(request.recorded_at, Some(UnixMicros(77)));
    }

    /// A loss of qualification (tag 10 of a certificate, added after format 2 was made)
    /// round-trips; the other samples, without one, encode as they always did.
    #[test]
    fn a_loss_of_qualification_round_trips() {
        let teacher = samples::teacher_who_lost();
        let bytes = codec::encode(&teacher);
        assert_eq!(
            codec::decode::<domain::Teacher>(b"r", &bytes).unwrap(),
            teacher
        );
        let mut record = TeacherRecord::of(&teacher);
        record.certificates[0].loss.as_mut().unwrap().ground = 3;
        let mut bytes = vec![codec::FORMAT_VERSION];
        encode(&record, &mut bytes);
        let error = codec::decode::<domain::Teacher>(b"r", &bytes).unwrap_err();
        assert!(
            error.to_string().contains("unknown loss ground 3"),
            "{error}"
        );
    }

    /// A revocation's ground (tag 4 of a revocation, added after format 2 was made):
    /// a revocation without one is the bytes it always was, and those bytes decode without
    /// one; a ground round-trips; a number no ground has is corrupt.
    #[test]
    fn a_revocation_ground_is_added_without_changing_older_revocations() {
        // Tags 1-3 as format 2 wrote them before grounds: 2024-05-06, "撤销", "d".
        let revoked_on = days(NaiveDate::from_ymd_opt(2024, 5, 6).unwrap());
        let mut before = vec![0x08];
        prost::encoding::encode_varint(revoked_on as u64, &mut before);
        before.extend_from_slice(&[0x12, 6]);
        before.extend_from_slice("撤销".as_bytes());
        before.extend_from_slice(&[0x1a, 1, b'd']);
        let revocation = domain::Revocation {
            revoked_on: NaiveDate::from_ymd_opt(2024, 5, 6).unwrap(),
            reason: "撤销".into(),
            approval_document: "d".into(),
            ground: None,
        };
        let record = |revocation: &domain::Revocation| {
            let mut teacher = samples::teacher();
            teacher.certificates[0].revocation = Some(revocation.clone());
            TeacherRecord::of(&teacher).certificates[0]
                .revocation
                .clone()
                .unwrap()
        };
        assert_eq!(record(&revocation).encode_to_vec(), before);
        let decoded = RevocationRecord::decode(before.as_slice()).unwrap();
        assert_eq!(decoded, record(&revocation));

        let mut teacher = samples::teacher();
        let stored = teacher.certificates[0].revocation.as_mut().unwrap();
        stored.ground = Some(domain::RevocationGround::Misconduct);
        let bytes = codec::encode(&teacher);
        assert_eq!(
            codec::decode::<domain::Teacher>(b"r", &bytes).unwrap(),
            teacher
        );
        let mut record = TeacherRecord::of(&teacher);
        assert_eq!(
            record.certificates[0].revocation.as_ref().unwrap().ground,
            2
        );
        record.certificates[0].revocation.as_mut().unwrap().ground = 3;
        let mut bytes = vec![codec::FORMAT_VERSION];
        encode(&record, &mut bytes);
        let error = codec::decode::<domain::Teacher>(b"r", &bytes).unwrap_err();
        assert!(
            error.to_string().contains("unknown revocation ground 3"),
            "{error}"
        );
    }

    /// What makes the format able to evolve: a value written by a later release, with a
    /// field this one does not know, still decodes (and a value of this release decodes
    /// in a later one with the new field at its default, by the same rule).
    #[test]
    fn fields_added_later_are_ignored() {
        let teacher = samples::teacher();
        let mut bytes = codec::encode(&teacher);
        // Field 99, a string, on the record; field 50, a varint, on the first certificate
        // would need re-nesting, so the record's is enough to show the rule.
        bytes.extend_from_slice(&[0x9a, 0x06, 3, b'n', b'e', b'w']);
        assert_eq!(
            codec::decode::<domain::Teacher>(b"r", &bytes).unwrap(),
            teacher
        );
    }

    #[test]
    fn unknown_enum_numbers_and_bad_dates_are_corrupt() {
        let mut record = TeacherRecord::of(&samples::teacher());
        record.fields.as_mut().unwrap().gender = 9;
        let mut bytes = vec![codec::FORMAT_VERSION];
        encode(&record, &mut bytes);
        let error = codec::decode::<domain::Teacher>(b"r", &bytes).unwrap_err();
        assert!(error.to_string().contains("unknown gender 9"), "{error}");

        let mut record = TeacherRecord::of(&samples::teacher());
        record.certificates[0].certified_on = i32::MAX;
        let mut bytes = vec![codec::FORMAT_VERSION];
        encode(&record, &mut bytes);
        assert!(codec::decode::<domain::Teacher>(b"r", &bytes).is_err());
    }
}
