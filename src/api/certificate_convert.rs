//! A certificate's messages both ways: as a teacher's record shows it, as IssueCertificate
//! and a certifying decision take it, and as an import row carries it.
//!
//! Apart from [`crate::api::convert`] because a certificate is a record of its own within
//! the teacher's, with its own RPCs (`certificates.rs`) and its own enums; the teacher's
//! conversions name it only through these.

use crate::api::pb;
use crate::api::wire::{date, wire, wire_enum, WireEnum};
use crate::domain::{
    Certificate, CertificateCopy, CertificateInput, CertificateKind, CertificateStatus, Choice,
    CopyInput, CopyState, ImportedCertificateInput, LossGround, QualificationLoss, Registration,
    ReissueReason, Revocation, RevocationGround, RevocationInput,
};

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
wire_enum!(RevocationGround, RevocationGround {
    Fraud => Fraud,
    Misconduct => Misconduct,
});
wire_enum!(CopyState, CopyState {
    Current => Current,
    Void => Void,
    Surrendered => Surrendered,
});

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
            ground,
        } = revocation;
        pb::CertificateRevocation {
            revoked_on: date(revoked_on),
            reason,
            approval_document,
            ground: wire(ground),
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

/// A certificate of an import row: its core fields, registration dates, copies and
/// revocation (the status, copy states and expiry dates follow from those and are not
/// read), and whether its holder lost the qualification.
pub(crate) fn imported_certificate(mut certificate: pb::Certificate) -> ImportedCertificateInput {
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
        ground,
    } = revocation;
    RevocationInput {
        revoked_on,
        reason,
        approval_document,
        ground: RevocationGround::from_wire(ground),
    }
}
