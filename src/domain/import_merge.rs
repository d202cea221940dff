//! What an import row does to an existing record (upsert), and to a new one.
//!
//! A row may be a whole record as `export` wrote it, so importing an unchanged export
//! changes nothing, and importing it into an empty registry rebuilds each record's
//! history. The row's fields replace the record's. Certificates and title history are
//! histories, and nothing in them is ever removed or rewritten: the import adds what the
//! record lacks (a certificate, a registration, a later copy, a revocation, a title
//! entry) and refuses the row (FAILED_PRECONDITION `IMPORT_CONFLICT`) where the row
//! states that history otherwise than the record has it: a certificate with other
//! details, a copy or revocation that differs. Silently keeping the record's version
//! would answer UNCHANGED to a sheet someone edited; such changes go through the
//! certificate and title operations. What a row leaves out (copies, older registrations,
//! other certificates, as in a spreadsheet row) is simply not added.
//!
//! New certificates are issued before any revocation of the row is recorded, so a
//! certificate revoked after another was issued does not bar that other one when both
//! arrive together.

use chrono::NaiveDate;

use crate::domain::{
    Certificate, DomainError, ImportRow, ImportedCertificate, NewCertificate, Teacher, TitleChange,
    TitleChangeKind, TitleEntry, UnixMicros,
};

/// The ErrorInfo reason of a row that contradicts the record's history.
const CONFLICT: &str = "IMPORT_CONFLICT";

impl Teacher {
    /// Takes an import row into the record, as the module describes: fields replaced,
    /// histories merged. Refused (FAILED_PRECONDITION) where the row contradicts the
    /// record (`IMPORT_CONFLICT`) or the record's history forbids an addition: a title
    /// entry dated before the latest one, a certificate barred by a revocation, a
    /// registration or copy older than the latest one, a change to a revoked certificate.
    /// The uniqueness of new certificate numbers across the registry is the store's to
    /// check.
    pub fn merge_import(
        &mut self,
        row: &ImportRow,
        recorded_by: &str,
        record_time: UnixMicros,
    ) -> Result<(), DomainError> {
        self.fields = row.fields.clone();
        self.former.absorb(&row.former, &self.fields.identity);
        for imported in &row.certificates {
            let number = &imported.certificate.number;
            match self.certificates.iter().find(|c| c.number == *number) {
                Some(known) => same_details(known, &imported.certificate)?,
                None => self.issue_certificate(imported.certificate.clone())?,
            }
        }
        for imported in &row.certificates {
            self.merge_registrations(imported)?;
            self.merge_copies(imported)?;
            self.merge_revocation(imported)?;
        }
        for change in &row.title_history {
            self.merge_title_entry(change, recorded_by, record_time)?;
        }
        Ok(())
    }

    fn certificate(&self, number: &str) -> &Certificate {
        self.certificates
            .iter()
            .find(|c| c.number == number)
            .expect("every certificate of the row was found or issued first")
    }

    fn merge_registrations(&mut self, imported: &ImportedCertificate) -> Result<(), DomainError> {
        let number = &imported.certificate.number;
        let have: Vec<NaiveDate> = self
            .certificate(number)
            .registrations
            .iter()
            .map(|r| r.registered_on)
            .collect();
        for date in imported.registrations.iter().filter(|d| !have.contains(d)) {
            self.register_certificate(number, *date)
                .map_err(|e| out_of_order(e, "REGISTRATION_OUT_OF_ORDER"))?;
        }
        Ok(())
    }

    /// Copies the record has must be the row's; the row's later ones are reissued.
    fn merge_copies(&mut self, imported: &ImportedCertificate) -> Result<(), DomainError> {
        let number = &imported.certificate.number;
        for (k, reissue) in imported.reissues.iter().enumerate() {
            let copy_number = k + 2;
            match self.certificate(number).copies.get(k + 1) {
                Some(copy) => {
                    let same = Some(copy.issued_on) == reissue.issued_on
                        && copy.reason == Some(reissue.reason)
                        && copy.declaration_ref == reissue.declaration_ref;
                    if !same {
                        return Err(conflict(format!(
                            "copy {copy_number} of certificate {number} differs from the \
                             registry's; copies are made with ReissueCertificate"
                        )));
                    }
                }
                None => {
                    // Imported reissues always carry their date, so `today` is not used.
                    let today = reissue.issued_on.unwrap_or(NaiveDate::MIN);
                    self.reissue_certificate(number, reissue, today)
                        .map_err(|e| out_of_order(e, "COPY_OUT_OF_ORDER"))?;
                }
            }
        }
        Ok(())
    }

    fn merge_revocation(&mut self, imported: &ImportedCertificate) -> Result<(), DomainError> {
        let number = &imported.certificate.number;
        let Some(request) = &imported.revocation else {
            return Ok(());
        };
        match &self.certificate(number).revocation {
            Some(known) => {
                let same = Some(known.revoked_on) == request.revoked_on
                    && known.reason == request.reason
                    && known.approval_document == request.approval_document
                    && known.ground == request.ground;
                if same {
                    Ok(())
                } else {
                    Err(conflict(format!(
                        "the revocation of certificate {number} differs from the registry's"
                    )))
                }
            }
            None => {
                let today = request.revoked_on.unwrap_or(NaiveDate::MIN);
                self.revoke_certificate(number, request, today)
            }
        }
    }

    /// Adds a title entry unless the record has it (by kind, date, approval document and,
    /// but for a revocation, whose tier follows from the history, tier). An entry is a
    /// fact recorded elsewhere: the promotion rules are not applied again, but the
    /// history stays in date order and a revocation needs an entry to withdraw.
    fn merge_title_entry(
        &mut self,
        change: &TitleChange,
        recorded_by: &str,
        record_time: UnixMicros,
    ) -> Result<(), DomainError> {
        let revocation = change.kind == TitleChangeKind::Revocation;
        let duplicate = self.title_history.iter().any(|e| {
            e.kind == change.kind
                && (revocation || e.tier == change.tier)
                && e.effective_date == change.effective_date
                && e.approval_document == change.approval_document
        });
        if duplicate {
            return Ok(());
        }
        if let Some(latest) = self.title_history.last() {
            if change.effective_date < latest.effective_date {
                return Err(DomainError::FailedPrecondition {
                    reason: "EFFECTIVE_DATE_BEFORE_LATEST",
                    message: format!(
                        "imported title entry of {} is before the record's latest of {}",
                        change.effective_date, latest.effective_date
                    ),
                });
            }
        }
        let tier = if revocation {
            let in_force = self.tiers_in_force();
            if in_force.is_empty() {
                return Err(DomainError::FailedPrecondition {
                    reason: "NOTHING_TO_REVOKE",
                    message: format!(
                        "the imported revocation of {} finds no title entry in force",
                        change.effective_date
                    ),
                });
            }
            in_force[..in_force.len() - 1].last().copied().flatten()
        } else {
            change.tier
        };
        self.title_history.push(TitleEntry {
            tier,
            kind: change.kind,
            effective_date: change.effective_date,
            approval_document: change.approval_document.clone(),
            limited_scope: change.limited_scope,
            exceptional: change.exceptional,
            note: change.note.clone(),
            recorded_by: recorded_by.to_string(),
            record_time,
        });
        Ok(())
    }
}

/// A certificate the record has must have the row's details.
fn same_details(known: &Certificate, row: &NewCertificate) -> Result<(), DomainError> {
    let mut differ = Vec::new();
    if known.kind != row.kind {
        differ.push("kind");
    }
    if known.subject != row.subject {
        differ.push("subject");
    }
    if known.issuing_authority != row.issuing_authority {
        differ.push("issuing authority");
    }
    if known.certified_on != row.certified_on {
        differ.push("certification date");
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(conflict(format!(
        "certificate {} has another {} in the registry; a certificate's details do not \
         change by import",
        row.number,
        differ.join(", ")
    )))
}

fn conflict(message: String) -> DomainError {
    DomainError::FailedPrecondition {
        reason: CONFLICT,
        message,
    }
}

/// A date the record's history refuses (reported by the operation as a bad field of its
/// own request) as a refusal of the row.
fn out_of_order(error: DomainError, reason: &'static str) -> DomainError {
    match error {
        DomainError::Invalid { violations } => DomainError::FailedPrecondition {
            reason,
            message: violations
                .into_iter()
                .map(|v| v.description)
                .collect::<Vec<_>>()
                .join("; "),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::fixtures::{stored_teacher, today};
    use crate::domain::{
        Choice, CopyInput, DomainError, ImportInput, ImportedCertificateInput, ReissueReason,
        RevocationGround, RevocationInput, Teacher,
    };

    const NUMBER: &str = "20163500022000123";

    fn row(teacher: &Teacher, copies: Vec<CopyInput>, subject: &str) -> ImportInput {
        ImportInput {
            teacher: teacher.fields.to_input(),
            certificates: vec![ImportedCertificateInput {
                certificate: crate::domain::CertificateInput {
                    number: NUMBER.into(),
                    kind: Choice::Known(crate::domain::CertificateKind::PrimarySchool),
                    subject: subject.into(),
                    issuing_authority: "南平市延平区教育局".into(),
                    certified_on: "2016-07-01".into(),
                    first_registration_on: String::new(),
                },
                registrations: vec!["2016-09-01".into()],
                copies,
                revocation: Some(RevocationInput {
                    revoked_on: "2024-06-01".into(),
                    reason: "以欺骗手段取得".into(),
                    approval_document: "Nan Jiao Ren [2024] No. 12".into(),
                    ground: Choice::Known(RevocationGround::Fraud),
                }),
                lost: false,
            }],
            title_history: Vec::new(),
            former: Default::default(),
        }
    }

    fn copy(copy_number: u32, issued_on: &str, reason: Choice<ReissueReason>) -> CopyInput {
        CopyInput {
            copy_number,
            issued_on: issued_on.into(),
            reason,
            declaration_ref: "SD-2020-0042".into(),
        }
    }

    fn merge(teacher: &mut Teacher, input: &ImportInput) -> Result<(), DomainError> {
        let row = input.validate(today()).unwrap();
        teacher.merge_import(&row, "importer", crate::domain::UnixMicros(1))
    }

    fn conflict(result: Result<(), DomainError>) -> bool {
        matches!(
            result,
            Err(DomainError::FailedPrecondition {
                reason: "IMPORT_CONFLICT",
                ..
            })
        )
    }

    #[test]
    fn a_whole_certificate_is_rebuilt_then_found_unchanged_and_never_rewritten() {
        let lost = Choice::Known(ReissueReason::Lost);
        let copies = vec![
            copy(1, "2016-07-01", Choice::Unset),
            copy(2, "2020-03-01", lost),
        ];
        let input = row(&stored_teacher(None, false), copies.clone(), "语文");
        let mut teacher = stored_teacher(None, false);
        merge(&mut teacher, &input).unwrap();
        let certificate = &teacher.certificates[0];
        assert_eq!(certificate.copies.len(), 2);
        assert_eq!(certificate.copies[0].state, crate::domain::CopyState::Void);
        assert!(certificate.revocation.is_some());

        let merged = teacher.clone();
        merge(&mut teacher, &input).unwrap();
        assert_eq!(teacher, merged, "the same row again changes nothing");

        let other_subject = row(&teacher, copies.clone(), "数学");
        assert!(conflict(merge(&mut teacher.clone(), &other_subject)));
        let other_copy = vec![copies[0].clone(), copy(2, "2020-04-01", lost)];
        let other_copy = row(&teacher, other_copy, "语文");
        assert!(conflict(merge(&mut teacher.clone(), &other_copy)));
        let mut other_revocation = input.clone();
        other_revocation.certificates[0]
            .revocation
            .as_mut()
            .unwrap()
            .reason = "x".into();
        assert!(conflict(merge(&mut teacher.clone(), &other_revocation)));
        let mut other_ground = input.clone();
        other_ground.certificates[0]
            .revocation
            .as_mut()
            .unwrap()
            .ground = Choice::Known(RevocationGround::Misconduct);
        assert!(conflict(merge(&mut teacher.clone(), &other_ground)));
        let mut without_history = input;
        without_history.certificates[0].copies.clear();
        without_history.certificates[0].revocation = None;
        merge(&mut teacher, &without_history).unwrap();
        assert_eq!(teacher, merged, "what a row leaves out stays");
    }

    #[test]
    fn copies_must_be_numbered_and_the_original_plain() {
        let teacher = stored_teacher(None, false);
        let lost = Choice::Known(ReissueReason::Lost);
        for (copies, field) in [
            (vec![copy(2, "2020-03-01", lost)], "copies[0].copy_number"),
            (vec![copy(1, "2016-07-01", lost)], "copies[0].reason"),
            (
                vec![copy(1, "2016-07-02", Choice::Unset)],
                "copies[0].issued_on",
            ),
        ] {
            let bad = row(&teacher, copies, "语文").validate(today()).unwrap_err();
            assert!(
                bad.iter().any(|v| v.field.ends_with(field)),
                "{field}: {bad:?}"
            );
        }
    }
}
