//! Stable numbers for the domain's enums, as stored.
//!
//! Every stored enum is written as a number that never changes meaning: the position of
//! the variant in the list below, counted from 1, which is also the value of the same
//! variant in the public proto (0 is "not set" there, as here). Format 1 wrote the same
//! variants by their position counted from 0 (serde's variant index), in the same
//! order. A new variant goes at the end of its list; a variant is never removed or moved.

use crate::domain::audit::AuditKind;
use crate::domain::case::evaluation::{
    ApplicationAction, ApplicationState, CloseReason, PublicityStage,
};
use crate::domain::case::{
    CaseKind, CaseOutcome, CaseState, ConsultationChannel, RegistrationReason, ReviewItem,
    StepAction,
};
use crate::domain::duplicates::DuplicateReason;
use crate::domain::{
    CertificateKind, CertificateStatus, ChangeKind, CopyState, CorrectionState, EmploymentStatus,
    FormerDocumentReason, Gender, IdDocumentType, ImportMode, LegacyTitle, LossGround,
    ReissueReason, RevocationGround, TeacherField, TitleChangeKind, TitleTier,
};
use crate::store::Effect;

/// An enum with a stable stored number for each variant.
pub(crate) trait Coded: Copy + PartialEq + 'static {
    /// The variants in stored order, with the names format 1's JSON used.
    const VARIANTS: &'static [(Self, &'static str)];

    /// The stored number: 1 for the first variant.
    fn number(self) -> i32 {
        let at = Self::VARIANTS
            .iter()
            .position(|(variant, _)| *variant == self)
            .expect("every variant is listed");
        at as i32 + 1
    }

    /// The variant stored as `code`, if there is one.
    fn from_number(number: i32) -> Option<Self> {
        let at = usize::try_from(number.checked_sub(1)?).ok()?;
        Self::VARIANTS.get(at).map(|(variant, _)| *variant)
    }
}

macro_rules! coded {
    ($($ty:ident { $($variant:ident),+ $(,)? })+) => {
        $(
            impl Coded for $ty {
                const VARIANTS: &'static [(Self, &'static str)] =
                    &[$(($ty::$variant, stringify!($variant))),+];
            }
        )+
    };
}

coded! {
    IdDocumentType { ResidentIdCard, Passport, HkMacaoPermit, TaiwanPermit, Other }
    Gender { Male, Female }
    EmploymentStatus { Active, Transferred, Retired, Left, NotEmployed }
    TitleTier { ThirdLevel, SecondLevel, FirstLevel, Senior, FullSenior }
    LegacyTitle {
        SecondarySenior, SecondaryFirst, PrimarySenior, SecondarySecond,
        PrimaryFirst, SecondaryThird, PrimarySecond, PrimaryThird,
    }
    TitleChangeKind { Initial, ReformTransition, Promotion, Correction, Revocation }
    CertificateKind {
        Kindergarten, PrimarySchool, JuniorSecondary, SeniorSecondary,
        SecondaryVocational, SecondaryVocationalInternshipInstructor, HigherEducation,
    }
    CertificateStatus { Valid, Revoked, Lost }
    LossGround { DeprivationOfPoliticalRights, IntentionalCrimeSentence }
    ReissueReason { Lost, Damaged, DetailsChanged }
    RevocationGround { Fraud, Misconduct }
    CopyState { Current, Void, Surrendered }
    ChangeKind {
        Created, Updated, CertificateIssued, CertificateReissued,
        CertificateRegistered, CertificateRevoked, TitleChanged, TitleTransitioned, Voided,
        CaseChanged, QualificationLost, ConsultationRecorded, EthicsFindingRecorded,
        EvaluationRoundChanged, TitleApplicationChanged, TransferProposed, TransferAccepted,
        TransferDeclined, IdentityCorrectionChanged, IdentityCorrected, Merged, Unmerged,
    }
    TeacherField {
        IdDocumentType, NationalId, Name, Gender, BirthDate, CountyCode, School,
        EmploymentStatus, LegacyTitle, LegacyTitleLimitedScope,
    }
    ImportMode { CreateOnly, Upsert }
    FormerDocumentReason { Corrected, Updated, Merged }
    CorrectionState { Pending, Approved, Rejected }
    DuplicateReason { SamePersonDetails, IdCardDetails, SameCertificateHolder }
    Effect { Created, Updated, Unchanged }
    CaseKind { Certification, Reissue, Registration }
    CaseState {
        Received, Accepted, SupplementRequested, Forwarded, Decided, Refused, Withdrawn,
    }
    CaseOutcome { Approved, Denied, Deferred }
    ReviewItem { Education, MandarinLevel, PhysicalExamination, TeachingAbility }
    RegistrationReason {
        TrainingHoursShort, OffDutyWithoutLeave, FailedAnnualAssessment,
        EthicsViolation, FailedAssessmentsTwice, QualificationRevokedOrLost,
    }
    StepAction {
        Opened, Accepted, Refused, SupplementRequested, SupplementReceived, Forwarded,
        Assigned, Withdrawn, Decided,
    }
    ConsultationChannel { Window, Phone, Online, Letter }
    ApplicationState {
        Applied, SchoolPublicity, CommitteeReview, ResultPublicity, Confirmed, Closed,
    }
    CloseReason { Withdrawn, Ineligible, ObjectionUpheld, CommitteeRejected }
    PublicityStage { School, Result }
    ApplicationAction {
        Applied, PublicityOpened, ObjectionRecorded, ObjectionHandled, VoteRecorded,
        Confirmed, Closed,
    }
    AuditKind {
        IdentityLookup, Listing, Backup, DuplicateRevealed, RefusalLimit, NoOpWrite,
        CredentialIssued,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Coded + std::fmt::Debug>() {
        for (at, (variant, _)) in T::VARIANTS.iter().enumerate() {
            assert_eq!(variant.number(), at as i32 + 1);
            assert_eq!(T::from_number(variant.number()), Some(*variant));
        }
        assert_eq!(T::from_number(0), None);
        assert_eq!(T::from_number(T::VARIANTS.len() as i32 + 1), None);
        assert_eq!(T::from_number(i32::MIN), None);
    }

    #[test]
    fn codes_round_trip_and_match_the_domain_codes() {
        round_trips::<IdDocumentType>();
        round_trips::<Gender>();
        round_trips::<FormerDocumentReason>();
        round_trips::<CorrectionState>();
        round_trips::<DuplicateReason>();
        round_trips::<EmploymentStatus>();
        round_trips::<TitleTier>();
        round_trips::<LegacyTitle>();
        round_trips::<TitleChangeKind>();
        round_trips::<CertificateKind>();
        round_trips::<CertificateStatus>();
        round_trips::<LossGround>();
        round_trips::<ReissueReason>();
        round_trips::<RevocationGround>();
        round_trips::<CopyState>();
        round_trips::<ChangeKind>();
        round_trips::<TeacherField>();
        round_trips::<ImportMode>();
        round_trips::<Effect>();
        round_trips::<CaseKind>();
        round_trips::<CaseState>();
        round_trips::<CaseOutcome>();
        round_trips::<ReviewItem>();
        round_trips::<RegistrationReason>();
        round_trips::<StepAction>();
        round_trips::<ConsultationChannel>();
        round_trips::<ApplicationState>();
        round_trips::<CloseReason>();
        round_trips::<PublicityStage>();
        round_trips::<ApplicationAction>();
        round_trips::<AuditKind>();
        // The domain's own key codes agree with the stored numbers.
        for t in TitleTier::ALL {
            assert_eq!(t.code() as i32, Coded::number(t));
        }
        for l in LegacyTitle::ALL {
            assert_eq!(l.code() as i32, Coded::number(l));
        }
        for d in IdDocumentType::ALL {
            assert_eq!(d.code() as i32, Coded::number(d));
        }
    }
}
