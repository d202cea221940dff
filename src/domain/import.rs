//! Bulk import rows: a teacher with, optionally, certificates and title history, checked
//! by the same rules as the single-record operations, and merged into an existing record
//! without duplicating anything it already has.

use chrono::NaiveDate;

use crate::domain::{
    past_date, CertificateInput, DomainError, FieldViolation, NewCertificate, Teacher,
    TeacherFields, TeacherInput, TitleChange, TitleChangeInput, TitleChangeKind, TitleEntry,
    UnixMicros,
};

/// What an import does with an identity document the registry already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Refuse the row (ALREADY_EXISTS).
    CreateOnly,
    /// Update the record from the row.
    Upsert,
}

/// One import row as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportInput {
    pub teacher: TeacherInput,
    pub certificates: Vec<ImportedCertificateInput>,
    pub title_history: Vec<TitleChangeInput>,
}

/// A certificate of an import row: its core fields and the dates of its registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCertificateInput {
    pub certificate: CertificateInput,
    pub registrations: Vec<String>,
}

/// A validated import row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub fields: TeacherFields,
    pub warnings: Vec<String>,
    pub certificates: Vec<ImportedCertificate>,
    pub title_history: Vec<TitleChange>,
}

/// A validated certificate of an import row; registrations oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCertificate {
    pub certificate: NewCertificate,
    pub registrations: Vec<NaiveDate>,
}

impl ImportInput {
    /// Validates the teacher exactly as CreateTeacher does, and each certificate and title
    /// entry (paths `teacher.certificates[i].…`, `teacher.title_history[i].…`).
    pub fn validate(&self, today: NaiveDate) -> Result<ImportRow, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let validated = self
            .teacher
            .validate(today)
            .map_err(|bad| violations.extend(bad))
            .ok();

        let mut certificates = Vec::new();
        for (i, imported) in self.certificates.iter().enumerate() {
            let path = format!("teacher.certificates[{i}]");
            let mut registrations = Vec::new();
            for (j, raw) in imported.registrations.iter().enumerate() {
                match past_date(raw, today) {
                    Ok(date) => registrations.push(date),
                    Err(e) => violations.push(FieldViolation::new(
                        format!("{path}.registrations[{j}].registered_on"),
                        e,
                    )),
                }
            }
            registrations.sort();
            registrations.dedup();
            let mut input = imported.certificate.clone();
            input.first_registration_on = String::new();
            match input.validate(today) {
                Ok(mut certificate) => {
                    if registrations
                        .first()
                        .is_some_and(|r| *r < certificate.certified_on)
                    {
                        violations.push(FieldViolation::new(
                            format!("{path}.registrations"),
                            "a registration is before the certification date",
                        ));
                    }
                    certificate.first_registration_on = registrations.first().copied();
                    if certificates
                        .iter()
                        .any(|c: &ImportedCertificate| c.certificate.number == certificate.number)
                    {
                        violations.push(FieldViolation::new(
                            format!("{path}.certificate_number"),
                            "appears twice in the row",
                        ));
                    }
                    certificates.push(ImportedCertificate {
                        certificate,
                        registrations,
                    });
                }
                Err(bad) => violations.extend(bad.into_iter().map(|v| {
                    let field = v
                        .field
                        .strip_prefix("certificate.")
                        .unwrap_or(&v.field)
                        .to_string();
                    FieldViolation::new(format!("{path}.{field}"), v.description)
                })),
            }
        }

        let mut title_history = Vec::new();
        for (i, entry) in self.title_history.iter().enumerate() {
            let path = format!("teacher.title_history[{i}]");
            match entry.validate_imported() {
                Ok(change) => {
                    if title_history.last().is_some_and(|last: &TitleChange| {
                        change.effective_date < last.effective_date
                    }) {
                        violations.push(FieldViolation::new(
                            format!("{path}.effective_date"),
                            "entries must be in effective-date order",
                        ));
                    }
                    title_history.push(change);
                }
                Err(bad) => violations.extend(bad.into_iter().map(|v| {
                    let field = v
                        .field
                        .strip_prefix("change.")
                        .unwrap_or(&v.field)
                        .to_string();
                    FieldViolation::new(format!("{path}.{field}"), v.description)
                })),
            }
        }

        match validated {
            Some(validated) if violations.is_empty() => Ok(ImportRow {
                fields: validated.fields,
                warnings: validated.warnings,
                certificates,
                title_history,
            }),
            _ => Err(violations),
        }
    }
}

impl Teacher {
    /// Takes an import row into the record: the row's fields replace the record's; its
    /// certificates and title entries are added unless the record has them already
    /// (a certificate by number, with any registrations it lacks; an entry by kind, tier,
    /// date and approval document). Refused (FAILED_PRECONDITION) where the record's
    /// history forbids it: a new title entry dated before the latest one, a certificate
    /// barred by a revocation, a registration older than the latest one.
    /// The uniqueness of new certificate numbers across the registry is the store's to check.
    pub fn merge_import(
        &mut self,
        row: &ImportRow,
        recorded_by: &str,
        record_time: UnixMicros,
    ) -> Result<(), DomainError> {
        self.fields = row.fields.clone();
        for imported in &row.certificates {
            let number = &imported.certificate.number;
            let known = self.certificates.iter().find(|c| c.number == *number);
            let have: Vec<NaiveDate> = match known {
                Some(c) => c.registrations.iter().map(|r| r.registered_on).collect(),
                None => {
                    self.issue_certificate(imported.certificate.clone())?;
                    imported
                        .certificate
                        .first_registration_on
                        .into_iter()
                        .collect()
                }
            };
            for date in &imported.registrations {
                if !have.contains(date) {
                    self.register_certificate(number, *date)
                        .map_err(|e| match e {
                            DomainError::Invalid { violations } => {
                                DomainError::FailedPrecondition {
                                    reason: "REGISTRATION_OUT_OF_ORDER",
                                    message: violations
                                        .into_iter()
                                        .map(|v| v.description)
                                        .collect::<Vec<_>>()
                                        .join("; "),
                                }
                            }
                            other => other,
                        })?;
                }
            }
        }
        for change in &row.title_history {
            let duplicate = self.title_history.iter().any(|e| {
                e.kind == change.kind
                    && e.tier == change.tier
                    && e.effective_date == change.effective_date
                    && e.approval_document == change.approval_document
            });
            if duplicate {
                continue;
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
            self.title_history.push(TitleEntry {
                tier: change.tier,
                kind: change.kind,
                effective_date: change.effective_date,
                approval_document: change.approval_document.clone(),
                limited_scope: change.limited_scope,
                exceptional: change.exceptional,
                note: change.note.clone(),
                recorded_by: recorded_by.to_string(),
                record_time,
            });
        }
        Ok(())
    }
}

impl TitleChangeInput {
    /// An imported history entry: like a ChangeTitle change, but a reform transition is a
    /// fact to record, and a revocation (whose tier depends on the history) is refused.
    fn validate_imported(&self) -> Result<TitleChange, Vec<FieldViolation>> {
        use crate::domain::Choice;
        match self.kind {
            Choice::Known(TitleChangeKind::ReformTransition) => {
                let as_initial = TitleChangeInput {
                    kind: Choice::Known(TitleChangeKind::Initial),
                    ..self.clone()
                };
                as_initial.validate().map(|change| TitleChange {
                    kind: TitleChangeKind::ReformTransition,
                    ..change
                })
            }
            Choice::Known(TitleChangeKind::Revocation) => Err(vec![FieldViolation::new(
                "change.kind",
                "revocations are recorded with ChangeTitle, not imported",
            )]),
            _ => self.validate(),
        }
    }
}
