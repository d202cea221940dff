//! Bulk import rows: a teacher with, optionally, certificates (with their copies,
//! registrations and revocation) and title history, checked by the same rules as the
//! single-record operations. A row can be a whole record as `export` wrote it, so that an
//! export imports again; how a row is merged into an existing record is in
//! `import_merge`.

use chrono::NaiveDate;

use crate::domain::{
    past_date, CertificateInput, Choice, FieldViolation, Former, FormerInput, NewCertificate,
    Reissue, ReissueReason, RevocationGround, RevocationRequest, TeacherFields, TeacherInput,
    TitleChange, TitleChangeInput, TitleChangeKind,
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
    /// Former names and documents (see `import_former`).
    pub former: FormerInput,
}

/// A certificate of an import row: its core fields, the dates of its registrations, and,
/// as an export writes them, its copies and revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCertificateInput {
    pub certificate: CertificateInput,
    pub registrations: Vec<String>,
    /// Every copy, the original first; empty when the row says nothing of copies.
    pub copies: Vec<CopyInput>,
    pub revocation: Option<RevocationInput>,
    /// Whether the row records a loss of qualification on this certificate (see
    /// `validate`: refused, not imported).
    pub lost: bool,
}

/// A physical copy of an imported certificate, as received. Its state is not read: it
/// follows from the copies after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyInput {
    pub copy_number: u32,
    pub issued_on: String,
    /// Unset for the original copy.
    pub reason: Choice<ReissueReason>,
    pub declaration_ref: String,
}

/// The revocation of an imported certificate, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationInput {
    pub revoked_on: String,
    pub reason: String,
    pub approval_document: String,
    /// Unset in rows of exports made before grounds were kept.
    pub ground: Choice<RevocationGround>,
}

/// A validated import row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub fields: TeacherFields,
    pub warnings: Vec<String>,
    pub certificates: Vec<ImportedCertificate>,
    pub title_history: Vec<TitleChange>,
    /// Former names and documents; no retired numbers.
    pub former: Former,
}

/// A validated certificate of an import row; registrations oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCertificate {
    pub certificate: NewCertificate,
    pub registrations: Vec<NaiveDate>,
    /// The reissues that made copies 2, 3, ..., in order, each with its date.
    pub reissues: Vec<Reissue>,
    /// With its date.
    pub revocation: Option<RevocationRequest>,
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
                    let reissues = validate_copies(
                        &imported.copies,
                        certificate.certified_on,
                        &path,
                        today,
                        &mut violations,
                    );
                    let revocation = imported.revocation.as_ref().and_then(|revocation| {
                        validate_revocation(
                            revocation,
                            certificate.certified_on,
                            &path,
                            today,
                            &mut violations,
                        )
                    });
                    if imported.lost {
                        // A loss is of the person and permanent: recorded by its own
                        // decision (LoseQualification), never as a side effect of a
                        // spreadsheet row, and never silently dropped either.
                        violations.push(FieldViolation::new(
                            format!("{path}.qualification_loss"),
                            "a loss of qualification is not imported: import the row without it, then record it with LoseQualification",
                        ));
                    }
                    certificates.push(ImportedCertificate {
                        certificate,
                        registrations,
                        reissues,
                        revocation,
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

        let former = self.former.validate(today, &mut violations);

        match validated {
            Some(validated) if violations.is_empty() => Ok(ImportRow {
                fields: validated.fields,
                warnings: validated.warnings,
                certificates,
                title_history,
                former,
            }),
            _ => Err(violations),
        }
    }
}

/// The copies after the original as reissues. Copies are numbered 1, 2, ... oldest first;
/// the original has no reason and is dated the certification date; each later one is a
/// valid reissue (a LOST one with its declaration) dated no earlier than the one before.
fn validate_copies(
    copies: &[CopyInput],
    certified_on: NaiveDate,
    path: &str,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Vec<Reissue> {
    let mut reissues = Vec::new();
    let mut previous = certified_on;
    for (j, copy) in copies.iter().enumerate() {
        let path = format!("{path}.copies[{j}]");
        let mut bad = |field: &str, description: String| {
            violations.push(FieldViolation::new(format!("{path}.{field}"), description));
        };
        if copy.copy_number as usize != j + 1 {
            bad(
                "copy_number",
                format!(
                    "is {}; copies are numbered 1, 2, 3, ... oldest first",
                    copy.copy_number
                ),
            );
        }
        if j == 0 {
            if copy.reason != Choice::Unset {
                bad("reason", "the original copy has no reissue reason".into());
            }
            let issued_on = copy.issued_on.trim();
            if !issued_on.is_empty() && past_date(issued_on, today) != Ok(certified_on) {
                bad(
                    "issued_on",
                    format!(
                        "the original copy is issued on the certification date, {certified_on}"
                    ),
                );
            }
            continue;
        }
        if copy.issued_on.trim().is_empty() {
            bad("issued_on", "is required".into());
            continue;
        }
        match Reissue::parse(
            copy.reason,
            &copy.declaration_ref,
            &copy.issued_on,
            "",
            today,
        ) {
            Ok(reissue) => {
                let issued_on = reissue.issued_on.unwrap_or(previous);
                if issued_on < previous {
                    bad(
                        "issued_on",
                        format!("{issued_on} is before the copy before it, of {previous}"),
                    );
                }
                previous = issued_on;
                reissues.push(reissue);
            }
            Err(bad_fields) => {
                for v in bad_fields {
                    bad(&v.field, v.description);
                }
            }
        }
    }
    reissues
}

/// A revocation as the certificate operations check it, with its date required.
fn validate_revocation(
    revocation: &RevocationInput,
    certified_on: NaiveDate,
    path: &str,
    today: NaiveDate,
    violations: &mut Vec<FieldViolation>,
) -> Option<RevocationRequest> {
    let path = format!("{path}.revocation");
    let RevocationInput {
        revoked_on,
        reason,
        approval_document,
        ground,
    } = revocation;
    if revoked_on.trim().is_empty() {
        violations.push(FieldViolation::new(
            format!("{path}.revoked_on"),
            "is required",
        ));
        return None;
    }
    match RevocationRequest::parse(*ground, reason, approval_document, revoked_on, today) {
        Ok(request) if request.revoked_on.is_some_and(|date| date < certified_on) => {
            violations.push(FieldViolation::new(
                format!("{path}.revoked_on"),
                "is before the certification date",
            ));
            None
        }
        Ok(request) => Some(request),
        Err(bad) => {
            violations.extend(
                bad.into_iter()
                    .map(|v| FieldViolation::new(format!("{path}.{}", v.field), v.description)),
            );
            None
        }
    }
}

impl TitleChangeInput {
    /// An imported history entry: like a ChangeTitle change, but a reform transition is a
    /// fact to record, and the tier a revocation returns to is not read (it follows from
    /// the history, as in an export, where it is written out).
    fn validate_imported(&self) -> Result<TitleChange, Vec<FieldViolation>> {
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
            Choice::Known(TitleChangeKind::Revocation) => TitleChangeInput {
                tier: Choice::Unset,
                ..self.clone()
            }
            .validate(),
            _ => self.validate(),
        }
    }
}
