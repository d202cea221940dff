//! The certificate lifecycle on a teacher's record: issue, reissue (补发) and replacement
//! (换发), periodic registration (定期注册) and revocation (撤销). Loss of qualification
//! (丧失) has its own module, `qualification_loss`.
//!
//! Each operation checks its rules against the record and changes it in place, or
//! refuses and leaves it as it was. Nothing is ever removed: copies, registrations and
//! revocations only accumulate.

use chrono::{Months, NaiveDate};

use crate::domain::error::all_valid;
use crate::domain::text::{optional_text, required_text};
use crate::domain::{
    check_kind_digit, check_province_code, parse_certificate_number, past_date, Certificate,
    CertificateCopy, CertificateKind, CertificateStatus, Choice, CopyState, DomainError,
    FieldViolation, QualificationLoss, Registration, ReissueReason, Revocation, RevocationGround,
    Teacher, QUALIFICATION_LOST,
};

/// How long a periodic registration, and a revocation's bar on reapplying, last.
pub const REGISTRATION_MONTHS: u32 = 60;
const REAPPLICATION_BAR_MONTHS: u32 = 60;
const TEXT_MAX: usize = 100;
const REASON_MAX: usize = 500;

/// A certificate to issue, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInput {
    pub number: String,
    pub kind: Choice<CertificateKind>,
    pub subject: String,
    pub issuing_authority: String,
    pub certified_on: String,
    pub first_registration_on: String,
}

/// A validated certificate to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    pub number: String,
    pub kind: CertificateKind,
    pub subject: String,
    pub issuing_authority: String,
    pub certified_on: NaiveDate,
    pub first_registration_on: Option<NaiveDate>,
}

/// A validated request for a new copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reissue {
    pub reason: ReissueReason,
    pub declaration_ref: String,
    /// `None`: today.
    pub issued_on: Option<NaiveDate>,
    pub new_name: Option<String>,
}

/// A validated revocation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRequest {
    /// `None`: the request named no ground (accepted, as before grounds were kept).
    pub ground: Option<RevocationGround>,
    /// The written finding.
    pub reason: String,
    pub approval_document: String,
    /// `None`: today.
    pub revoked_on: Option<NaiveDate>,
}

impl CertificateInput {
    /// Checks every field (paths `certificate.<field>`, and `first_registration_on`).
    pub fn validate(&self, today: NaiveDate) -> Result<NewCertificate, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let mut bad = |field: &str, e: String| violations.push(FieldViolation::new(field, e));
        let number = parse_certificate_number(&self.number, today)
            .map_err(|e| bad("certificate.certificate_number", e))
            .ok();
        let kind = match self.kind {
            Choice::Known(kind) => Some(kind),
            Choice::Unset => {
                bad("certificate.kind", "is required".into());
                None
            }
            Choice::Unknown(n) => {
                bad("certificate.kind", format!("unknown value {n}"));
                None
            }
        };
        if let Some(number) = &number {
            if let Err(e) = check_province_code(number) {
                bad("certificate.certificate_number", e);
            }
        }
        if let (Some(number), Some(kind)) = (&number, kind) {
            if let Err(e) = check_kind_digit(number, kind) {
                bad("certificate.certificate_number", e);
            }
        }
        let subject = required_text(&self.subject, TEXT_MAX)
            .map_err(|e| bad("certificate.subject", e))
            .ok();
        let issuing_authority = required_text(&self.issuing_authority, TEXT_MAX)
            .map_err(|e| bad("certificate.issuing_authority", e))
            .ok();
        let certified_on = past_date(&self.certified_on, today)
            .map_err(|e| bad("certificate.certified_on", e))
            .ok();
        let first_registration_on = match self.first_registration_on.trim() {
            "" => Some(None),
            raw => past_date(raw, today)
                .map_err(|e| bad("first_registration_on", e))
                .ok()
                .map(Some),
        };
        if let (Some(certified), Some(Some(registered))) = (certified_on, first_registration_on) {
            if registered < certified {
                bad(
                    "first_registration_on",
                    format!("{registered} is before the certification date {certified}"),
                );
            }
        }
        all_valid(violations, || {
            Some(NewCertificate {
                number: number?,
                kind: kind?,
                subject: subject?,
                issuing_authority: issuing_authority?,
                certified_on: certified_on?,
                first_registration_on: first_registration_on?,
            })
        })
    }
}

impl Reissue {
    /// Validates a reissue request: a LOST copy needs the holder's signed self-declaration;
    /// a new name goes only with DETAILS_CHANGED.
    pub fn parse(
        reason: Choice<ReissueReason>,
        declaration_ref: &str,
        issued_on: &str,
        new_name: &str,
        today: NaiveDate,
    ) -> Result<Reissue, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let mut bad = |field: &str, e: String| violations.push(FieldViolation::new(field, e));
        let reason = match reason {
            Choice::Known(reason) => Some(reason),
            Choice::Unset => {
                bad(
                    "reason",
                    "is required: LOST, DAMAGED or DETAILS_CHANGED".into(),
                );
                None
            }
            Choice::Unknown(n) => {
                bad("reason", format!("unknown value {n}"));
                None
            }
        };
        let declaration_ref = match optional_text(declaration_ref, TEXT_MAX) {
            Ok(d) if d.is_empty() && reason == Some(ReissueReason::Lost) => {
                bad(
                    "declaration_ref",
                    "a lost certificate needs the reference of the holder's signed self-declaration"
                        .into(),
                );
                d
            }
            Ok(d) => d,
            Err(e) => {
                bad("declaration_ref", e);
                String::new()
            }
        };
        let issued_on = match issued_on.trim() {
            "" => None,
            raw => past_date(raw, today).map_err(|e| bad("issued_on", e)).ok(),
        };
        let new_name = match new_name.trim() {
            "" => None,
            _ if reason.is_some_and(|r| r != ReissueReason::DetailsChanged) => {
                bad(
                    "new_name",
                    "is allowed only with reason DETAILS_CHANGED".into(),
                );
                None
            }
            raw => match required_text(raw, 64) {
                Ok(name) => Some(name),
                Err(e) => {
                    bad("new_name", e);
                    None
                }
            },
        };
        match reason {
            Some(reason) if violations.is_empty() => Ok(Reissue {
                reason,
                declaration_ref,
                issued_on,
                new_name,
            }),
            _ => Err(violations),
        }
    }
}

impl RevocationRequest {
    /// Validates a revocation: reason (the written finding) and approval document are
    /// required. The ground is optional, so that callers written before grounds were kept
    /// still work; a ground this version does not know is a violation of `ground`.
    pub fn parse(
        ground: Choice<RevocationGround>,
        reason: &str,
        approval_document: &str,
        revoked_on: &str,
        today: NaiveDate,
    ) -> Result<RevocationRequest, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let ground = match ground {
            Choice::Known(ground) => Some(Some(ground)),
            Choice::Unset => Some(None),
            Choice::Unknown(n) => {
                violations.push(FieldViolation::new(
                    "ground",
                    format!("unknown value {n}: FRAUD or MISCONDUCT, or none"),
                ));
                None
            }
        };
        let reason = required_text(reason, REASON_MAX)
            .map_err(|e| violations.push(FieldViolation::new("reason", e)))
            .ok();
        let approval_document = required_text(approval_document, TEXT_MAX)
            .map_err(|e| violations.push(FieldViolation::new("approval_document", e)))
            .ok();
        let revoked_on = match revoked_on.trim() {
            "" => Some(None),
            raw => past_date(raw, today)
                .map_err(|e| violations.push(FieldViolation::new("revoked_on", e)))
                .ok()
                .map(Some),
        };
        match (ground, reason, approval_document, revoked_on) {
            (Some(ground), Some(reason), Some(approval_document), Some(revoked_on)) => {
                Ok(RevocationRequest {
                    ground,
                    reason,
                    approval_document,
                    revoked_on,
                })
            }
            _ => Err(violations),
        }
    }
}

fn plus_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

impl Teacher {
    /// Adds a certificate with its original copy (and first registration, if any).
    /// Refused within five years of a revocation of any of the holder's certificates
    /// (`REAPPLICATION_BARRED`), and for ever once the holder's qualification is lost
    /// (`QUALIFICATION_LOST`, see [`crate::domain::QualificationLoss`]).
    /// The number's uniqueness across the registry is the store's to check.
    pub fn issue_certificate(&mut self, new: NewCertificate) -> Result<(), DomainError> {
        self.refuse_if_lost("no new certificate may be issued")?;
        if let Some(barred) = self
            .certificates
            .iter()
            .filter_map(|c| c.revocation.as_ref())
            .find(|r| new.certified_on < plus_months(r.revoked_on, REAPPLICATION_BAR_MONTHS))
        {
            return Err(DomainError::FailedPrecondition {
                reason: "REAPPLICATION_BARRED",
                message: format!(
                    "a certificate of this teacher was revoked on {}; no new certificate may be certified before {}",
                    barred.revoked_on,
                    plus_months(barred.revoked_on, REAPPLICATION_BAR_MONTHS)
                ),
            });
        }
        self.certificates.push(Certificate {
            number: new.number,
            kind: new.kind,
            subject: new.subject,
            issuing_authority: new.issuing_authority,
            certified_on: new.certified_on,
            status: CertificateStatus::Valid,
            copies: vec![CertificateCopy {
                copy_number: 1,
                issued_on: new.certified_on,
                reason: None,
                declaration_ref: String::new(),
                state: CopyState::Current,
            }],
            registrations: new
                .first_registration_on
                .map(registration)
                .into_iter()
                .collect(),
            revocation: None,
            loss: None,
        });
        Ok(())
    }

    /// Issues a new copy under the same number; the previous copy becomes VOID (lost) or
    /// SURRENDERED (replaced). A DETAILS_CHANGED copy may carry the holder's new name.
    pub fn reissue_certificate(
        &mut self,
        number: &str,
        reissue: &Reissue,
        today: NaiveDate,
    ) -> Result<(), DomainError> {
        let certificate = valid_certificate(self, number)?;
        let issued_on = reissue.issued_on.unwrap_or(today);
        let previous = certificate
            .copies
            .iter_mut()
            .rfind(|c| c.state == CopyState::Current);
        if let Some(previous) = previous {
            if issued_on < previous.issued_on {
                return Err(DomainError::invalid(
                    "issued_on",
                    format!(
                        "{issued_on} is before the current copy's issue date {}",
                        previous.issued_on
                    ),
                ));
            }
            previous.state = match reissue.reason {
                ReissueReason::Lost => CopyState::Void,
                ReissueReason::Damaged | ReissueReason::DetailsChanged => CopyState::Surrendered,
            };
        }
        let copy_number = certificate.copies.len() as u32 + 1;
        certificate.copies.push(CertificateCopy {
            copy_number,
            issued_on,
            reason: Some(reissue.reason),
            declaration_ref: reissue.declaration_ref.clone(),
            state: CopyState::Current,
        });
        if let Some(name) = &reissue.new_name {
            self.fields.name = name.clone();
        }
        Ok(())
    }

    /// Records a periodic registration, valid five years from `registered_on`.
    pub fn register_certificate(
        &mut self,
        number: &str,
        registered_on: NaiveDate,
    ) -> Result<(), DomainError> {
        let certificate = valid_certificate(self, number)?;
        if registered_on < certificate.certified_on {
            return Err(DomainError::invalid(
                "registered_on",
                format!(
                    "{registered_on} is before the certification date {}",
                    certificate.certified_on
                ),
            ));
        }
        if let Some(last) = certificate.registrations.last() {
            if registered_on <= last.registered_on {
                return Err(DomainError::invalid(
                    "registered_on",
                    format!(
                        "{registered_on} is not after the latest registration of {}",
                        last.registered_on
                    ),
                ));
            }
        }
        certificate.registrations.push(registration(registered_on));
        Ok(())
    }

    /// Revokes a certificate: it becomes REVOKED and stays on file.
    pub fn revoke_certificate(
        &mut self,
        number: &str,
        request: &RevocationRequest,
        today: NaiveDate,
    ) -> Result<(), DomainError> {
        let certificate = valid_certificate(self, number)?;
        let revoked_on = request.revoked_on.unwrap_or(today);
        if revoked_on < certificate.certified_on {
            return Err(DomainError::invalid(
                "revoked_on",
                format!(
                    "{revoked_on} is before the certification date {}",
                    certificate.certified_on
                ),
            ));
        }
        certificate.status = CertificateStatus::Revoked;
        certificate.revocation = Some(Revocation {
            revoked_on,
            reason: request.reason.clone(),
            approval_document: request.approval_document.clone(),
            ground: request.ground,
        });
        Ok(())
    }

    /// Whether a valid certificate of the teacher carries a periodic registration in force
    /// on `date`: registered on or before it, expiring after it. A teacher without one may
    /// not teach or be promoted.
    pub fn is_registered_on(&self, date: NaiveDate) -> bool {
        self.certificates
            .iter()
            .filter(|c| c.status == CertificateStatus::Valid)
            .flat_map(|c| &c.registrations)
            .any(|r| r.registered_on <= date && date < r.expires_on)
    }

    /// The earliest expiry among the latest registrations of the valid certificates.
    pub fn registration_expiry(&self) -> Option<NaiveDate> {
        self.certificates
            .iter()
            .filter(|c| c.status == CertificateStatus::Valid)
            .filter_map(|c| c.registrations.last())
            .map(|r| r.expires_on)
            .min()
    }
}

fn registration(registered_on: NaiveDate) -> Registration {
    Registration {
        registered_on,
        expires_on: plus_months(registered_on, REGISTRATION_MONTHS),
    }
}

/// The teacher's certificate with this number, refused if it is revoked or the holder's
/// qualification is lost.
fn valid_certificate<'a>(
    teacher: &'a mut Teacher,
    number: &str,
) -> Result<&'a mut Certificate, DomainError> {
    if teacher.certificates.iter().any(|c| c.number == number) {
        teacher.refuse_if_lost("the certificate cannot be reissued, registered or revoked")?;
    }
    let certificate = teacher
        .certificates
        .iter_mut()
        .find(|c| c.number == number)
        .ok_or(DomainError::NotFound {
            what: "certificate",
        })?;
    if certificate.status == CertificateStatus::Revoked {
        return Err(DomainError::FailedPrecondition {
            reason: "CERTIFICATE_REVOKED",
            message:
                "the certificate is revoked; it cannot be reissued, registered or revoked again"
                    .into(),
        });
    }
    Ok(certificate)
}

/// Loss of qualification on the record (the loss itself: `qualification_loss`).
impl Teacher {
    /// The loss of this person's qualification, if one is recorded.
    pub fn qualification_loss(&self) -> Option<&QualificationLoss> {
        self.certificates.iter().find_map(|c| c.loss.as_ref())
    }

    /// Records the loss of the holder of certificate `number`: every certificate of theirs
    /// becomes LOST and carries the loss. Refused (FAILED_PRECONDITION `QUALIFICATION_LOST`)
    /// when a loss is already recorded; NOT_FOUND without such a certificate; the date may
    /// not be before the earliest certification of the holder.
    pub fn lose_qualification(
        &mut self,
        number: &str,
        loss: &QualificationLoss,
    ) -> Result<(), DomainError> {
        if !self.certificates.iter().any(|c| c.number == number) {
            return Err(DomainError::NotFound {
                what: "certificate",
            });
        }
        if let Some(known) = self.qualification_loss() {
            return Err(lost_refusal(
                known,
                "the loss is already recorded and cannot be recorded again",
            ));
        }
        if let Some(first) = self.certificates.iter().map(|c| c.certified_on).min() {
            if loss.lost_on < first {
                return Err(DomainError::invalid(
                    "lost_on",
                    format!(
                        "{} is before the holder's first certification on {first}",
                        loss.lost_on
                    ),
                ));
            }
        }
        for certificate in &mut self.certificates {
            certificate.status = CertificateStatus::Lost;
            certificate.loss = Some(loss.clone());
        }
        Ok(())
    }

    /// FAILED_PRECONDITION `QUALIFICATION_LOST` if this person's qualification is lost:
    /// nothing may be issued, reissued, registered or revoked for them any more.
    pub(crate) fn refuse_if_lost(&self, what: &str) -> Result<(), DomainError> {
        match self.qualification_loss() {
            Some(loss) => Err(lost_refusal(loss, what)),
            None => Ok(()),
        }
    }
}

pub(crate) fn lost_refusal(loss: &QualificationLoss, what: &str) -> DomainError {
    DomainError::FailedPrecondition {
        reason: QUALIFICATION_LOST,
        message: format!(
            "this person lost the teacher qualification on {} ({}, Teachers Law art. 14) and may never hold it again: {what}",
            loss.lost_on, loss.approval_document
        ),
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
