//! Credentials against the registry's record: what a new credential states about a
//! certificate, and whether an old one's statements still hold.
//!
//! A credential is a snapshot. The signature proves the registry made the statements; only
//! the record says whether they are still true. So the online check compares every fact
//! with the record now: a revoked certificate is [`Verdict::Revoked`], and any other fact
//! that changed (the holder's name after a reissue with new details, a new registration)
//! makes the credential [`Verdict::Superseded`]: it no longer describes the certificate,
//! and the holder should get a new one.

use chrono::{DateTime, NaiveDate, Utc};

use crate::credential::CredentialFacts;
use crate::domain::{Certificate, CertificateStatus, DomainError, Teacher};

/// What the record says of a credential whose signature is good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every fact holds and the certificate is valid.
    Valid,
    /// The certificate has been revoked (撤销).
    Revoked { revoked_on: NaiveDate },
    /// The holder has lost the qualification for good (丧失).
    Lost { lost_on: NaiveDate },
    /// The certificate is valid but these facts (the credential's field names) differ.
    Superseded { changed: Vec<&'static str> },
    /// No certificate with the credential's number is on record here.
    CertificateUnknown,
}

/// The facts a credential issued now, with key `key_id`, states about certificate
/// `number` of `holder`. NOT_FOUND if the holder has no such certificate;
/// FAILED_PRECONDITION (`CERTIFICATE_REVOKED`) if it is revoked: the registry does not
/// vouch for a revoked certificate.
pub fn facts_for(
    holder: &Teacher,
    number: &str,
    issued_at: DateTime<Utc>,
    key_id: String,
) -> Result<CredentialFacts, DomainError> {
    let certificate = holder
        .certificates
        .iter()
        .find(|c| c.number == number)
        .ok_or(DomainError::NotFound {
            what: "certificate",
        })?;
    match certificate.status {
        CertificateStatus::Valid => {}
        CertificateStatus::Revoked => {
            return Err(DomainError::FailedPrecondition {
                reason: "CERTIFICATE_REVOKED",
                message: "the certificate is revoked: no credential is issued for it".into(),
            })
        }
        CertificateStatus::Lost => {
            return Err(DomainError::FailedPrecondition {
                reason: "QUALIFICATION_LOST",
                message: "the holder has lost the qualification: no credential is issued".into(),
            })
        }
    }
    Ok(CredentialFacts {
        certificate_number: certificate.number.clone(),
        holder_name: holder.fields.name.clone(),
        kind: certificate.kind,
        certified_on: certificate.certified_on,
        issuing_authority: certificate.issuing_authority.clone(),
        registration_valid_until: registration_valid_until(certificate),
        issued_at: DateTime::from_timestamp(issued_at.timestamp(), 0).expect("whole seconds"),
        key_id,
    })
}

/// The record's answer for a credential stating `facts`, given the teacher who holds
/// that certificate number now (`None`: nobody).
pub fn check(facts: &CredentialFacts, holder: Option<&Teacher>) -> Verdict {
    let Some((holder, certificate)) = holder.and_then(|h| {
        h.certificates
            .iter()
            .find(|c| c.number == facts.certificate_number)
            .map(|c| (h, c))
    }) else {
        return Verdict::CertificateUnknown;
    };
    match (&certificate.status, &certificate.revocation) {
        (CertificateStatus::Valid, _) => {}
        (CertificateStatus::Lost, _) => {
            return Verdict::Lost {
                lost_on: certificate
                    .loss
                    .as_ref()
                    .map_or(facts.issued_at.date_naive(), |l| l.lost_on),
            };
        }
        (CertificateStatus::Revoked, revocation) => {
            return Verdict::Revoked {
                // A revoked certificate always has its revocation; the credential's own
                // date is the latest it can have happened otherwise.
                revoked_on: revocation
                    .as_ref()
                    .map_or(facts.issued_at.date_naive(), |r| r.revoked_on),
            };
        }
    }
    let comparisons = [
        ("name", holder.fields.name == facts.holder_name),
        ("kind", certificate.kind == facts.kind),
        (
            "certified_on",
            certificate.certified_on == facts.certified_on,
        ),
        (
            "authority",
            certificate.issuing_authority == facts.issuing_authority,
        ),
        (
            "registered_until",
            registration_valid_until(certificate) == facts.registration_valid_until,
        ),
    ];
    let changed: Vec<_> = comparisons
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(field, _)| field)
        .collect();
    if changed.is_empty() {
        Verdict::Valid
    } else {
        Verdict::Superseded { changed }
    }
}

/// The expiry of the certificate's latest registration (registrations only accumulate,
/// in order).
fn registration_valid_until(certificate: &Certificate) -> Option<NaiveDate> {
    certificate.registrations.last().map(|r| r.expires_on)
}
