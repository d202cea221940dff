//! The domain: teachers, identity documents, registry numbers, certificates and titles,
//! and the rules over them. Pure: no I/O, no clock (callers pass `today`), no storage.

pub mod audit;
pub mod case;
mod certificate;
mod change;
mod city;
mod correction;
pub mod duplicates;
mod error;
pub mod ethics;
#[cfg(test)]
pub(crate) mod fixtures;
mod former;
mod identity;
mod import;
mod import_former;
mod import_merge;
mod lifecycle;
pub mod merge;
mod name;
mod qualification_loss;
mod teacher;
pub(crate) mod teacher_id;
mod text;
mod title;
mod title_history;
mod transfer;
mod values;
mod verification;

pub use certificate::{
    check_kind_digit, check_province_code, parse_certificate_number, sex_code_warning, Certificate,
    CertificateCopy, CertificateKind, CertificateStatus, CopyState, Registration, ReissueReason,
    Revocation, RevocationGround,
};
pub use change::{ChangeEvent, ChangeKind};
pub use city::CityCode;
pub use correction::{CorrectionState, IdentityCorrection, NewCorrection};
pub use error::{DomainError, FieldViolation};
pub use former::{Former, FormerDocument, FormerDocumentReason, FormerName};
pub use identity::{conceal, mask, resident_check_character, IdDocumentType, IdentityDocument};
pub use import::{
    CopyInput, ImportInput, ImportMode, ImportRow, ImportedCertificate, ImportedCertificateInput,
    RevocationInput,
};
pub use import_former::{FormerDocumentInput, FormerInput, FormerNameInput};
pub use lifecycle::{
    CertificateInput, NewCertificate, Reissue, RevocationRequest, REGISTRATION_MONTHS,
};
pub use name::name_search_form;
pub use qualification_loss::{LossGround, QualificationLoss, QUALIFICATION_LOST};
pub use teacher::{PendingTransfer, Teacher, TeacherField, TeacherFields, TeacherInput, Validated};
pub use teacher_id::{TeacherId, TeacherIdError, TEACHER_ID_LEN};
pub use text::shown;
pub use title::{current_title, LegacyTitle, TitleChangeKind, TitleEntry, TitleTier};
pub use title_history::{SkipReason, TitleChange, TitleChangeInput, TransitionPlan};
pub use transfer::{parse_receiving_school, TransferProposal};
pub use values::{
    check_etag, etag_of, parse_date, past_date, Choice, CountyCode, EmploymentStatus, Gender,
    UnixMicros,
};
pub use verification::{Standing, VerificationQuery, ELECTRONIC_RECORD_SINCE_YEAR};
