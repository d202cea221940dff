//! Service-window cases (办件): an application at the window, accepted or refused at
//! intake, reviewed, decided within a time limit, and what each step did.
//!
//! A [`Case`] is a small state machine. Every step is a method that checks the rule, moves
//! the state and appends a [`CaseStep`] (what, who, when, a note), or refuses with a
//! `FAILED_PRECONDITION` whose reason names the rule. The effect of a decision on the
//! teacher's record (a certificate issued, a copy made, a registration recorded) is the
//! store's business: it applies both in one atomic write. The clocks ([`Clock`]) are not
//! stored: they follow from the dates, the operator's calendar and the configured limits
//! ([`WindowRules`]), so a corrected calendar corrects every due date.
//!
//! The rules come from the Administrative Licensing Law as the bureau applies it:
//! - **Intake.** A case is received, then accepted or refused on the spot. If materials
//!   are missing the applicant gets one notice listing everything missing, within
//!   [`NOTICE_WORKING_DAYS`] of receipt; a case without such a notice counts as accepted
//!   on the day it was received (its clock starts then, whenever the window records the
//!   acceptance).
//! - **Clock.** A limit counts working days after the start (see [`calendar`]); from the
//!   day the notice is given until the day the materials arrive, the clock stands still.
//! - **Two levels.** Certification of senior secondary, secondary vocational and
//!   vocational intern-instructor qualifications is reviewed by the county and decided by
//!   the city: the county forwards the case with its opinion; the applicant never applies
//!   twice.

mod calendar;
mod case_id;
mod clock;
pub mod evaluation;
pub mod report;
mod rules;
mod steps;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;

pub use calendar::{CalendarError, Pause, WorkingCalendar};
pub use case_id::{CaseId, CaseIdError, CASE_ID_LEN};
pub use clock::Clock;
pub use report::{CaseFigures, Consultation, ConsultationChannel, DecidedClock, ReportPeriod};
pub use rules::{CaseLimits, WindowRules, WindowRulesError};

use crate::domain::{
    CertificateKind, CountyCode, DomainError, TeacherFields, TeacherId, UnixMicros,
};

/// A step of a case or a title application refused by the rule `reason`
/// (FAILED_PRECONDITION); `message` says why, naming the record.
fn refuse(reason: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::FailedPrecondition {
        reason,
        message: message.into(),
    }
}

/// Working days after receipt within which the one supplement notice must be given.
pub const NOTICE_WORKING_DAYS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseKind {
    /// A new teacher qualification (教师资格认定).
    Certification,
    /// A new copy of a certificate: reissue or replacement (补发/换发).
    Reissue,
    /// Periodic registration (定期注册).
    Registration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseState {
    Received,
    Accepted,
    SupplementRequested,
    Forwarded,
    Decided,
    Refused,
    Withdrawn,
}

impl CaseState {
    /// Decided, refused at intake or withdrawn: nothing more happens to the case.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Decided | Self::Refused | Self::Withdrawn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseOutcome {
    /// Certified, reissued, or registered as qualified (合格).
    Approved,
    /// Not certified, or registration refused (不予注册).
    Denied,
    /// Registration deferred (暂缓注册): the teacher may apply again.
    Deferred,
}

/// The review items of a certification, each recorded as checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReviewItem {
    Education,
    MandarinLevel,
    PhysicalExamination,
    TeachingAbility,
}

impl ReviewItem {
    pub const ALL: [ReviewItem; 4] = [
        Self::Education,
        Self::MandarinLevel,
        Self::PhysicalExamination,
        Self::TeachingAbility,
    ];
}

/// Why a periodic registration is deferred or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationReason {
    /// Deferral: training hours short of the minimum.
    TrainingHoursShort,
    /// Deferral: off duty for more than a semester without approved leave.
    OffDutyWithoutLeave,
    /// Deferral: a failed annual assessment.
    FailedAnnualAssessment,
    /// Refusal: a serious violation of professional ethics.
    EthicsViolation,
    /// Refusal: assessments failed two years running.
    FailedAssessmentsTwice,
    /// Refusal: the qualification was revoked or lost.
    QualificationRevokedOrLost,
}

impl RegistrationReason {
    /// Whether the reason defers (the rest refuse).
    pub fn defers(self) -> bool {
        matches!(
            self,
            Self::TrainingHoursShort | Self::OffDutyWithoutLeave | Self::FailedAnnualAssessment
        )
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepAction {
    Opened,
    Accepted,
    Refused,
    SupplementRequested,
    SupplementReceived,
    Forwarded,
    Assigned,
    Withdrawn,
    Decided,
}

/// One entry of a case's or an application's history: its kind's action (`A`), who took
/// it, when, and with which note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<A> {
    pub action: A,
    pub principal: String,
    pub time: UnixMicros,
    /// The working date the step counts for (the clocks use it).
    pub on: NaiveDate,
    pub note: String,
}

impl<A> Step<A> {
    /// `action`, taken as `context` says.
    pub(crate) fn taken(action: A, context: &StepContext<'_>) -> Self {
        Step {
            action,
            principal: context.principal.to_string(),
            time: context.time,
            on: context.today,
            note: context.note.to_string(),
        }
    }
}

/// One entry of a case's history.
pub type CaseStep = Step<StepAction>;

/// A case and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: CaseId,
    pub kind: CaseKind,
    pub state: CaseState,
    pub outcome: Option<CaseOutcome>,
    /// The county whose window received the case; its staff work it.
    pub county_code: CountyCode,
    /// The applicant's record, when they have one (for a certification applicant without
    /// one, set by the approving decision, which creates it).
    pub teacher_id: Option<TeacherId>,
    /// A certification applicant without a record: the fields their record will have.
    pub applicant: Option<TeacherFields>,
    /// The applicant's name as on the application, for lists and receipts.
    pub applicant_name: String,
    /// Certification: the kind applied for.
    pub certificate_kind: Option<CertificateKind>,
    /// Reissue and registration: the certificate concerned; certification: the one issued.
    pub certificate_number: Option<String>,
    /// What the applicant handed in, at the window and with the supplement.
    pub materials: Vec<String>,
    /// What the supplement notice listed as missing.
    pub missing: Vec<String>,
    pub received_on: NaiveDate,
    pub accepted_on: Option<NaiveDate>,
    pub pauses: Vec<Pause>,
    pub forwarded_on: Option<NaiveDate>,
    /// The county's opinion, sent with a forwarded case.
    pub county_opinion: String,
    pub assignee: Option<String>,
    pub decided_on: Option<NaiveDate>,
    /// The clock as it stood at the decision, frozen for the report (see [`report`]).
    pub decided_clock: Option<DecidedClock>,
    /// Why the case was refused at intake, denied or deferred.
    pub reasons: Vec<String>,
    pub registration_reasons: Vec<RegistrationReason>,
    /// Certification: the review items recorded as checked.
    pub review: Vec<ReviewItem>,
    pub steps: Vec<CaseStep>,
    pub revision: u64,
    pub create_time: UnixMicros,
    pub update_time: UnixMicros,
}

/// Who takes a step, and when.
#[derive(Debug, Clone)]
pub struct StepContext<'a> {
    pub principal: &'a str,
    pub time: UnixMicros,
    pub today: NaiveDate,
    pub note: &'a str,
}

/// What a new case needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub kind: CaseKind,
    pub county_code: CountyCode,
    pub teacher_id: Option<TeacherId>,
    pub applicant: Option<TeacherFields>,
    pub applicant_name: String,
    pub certificate_kind: Option<CertificateKind>,
    pub certificate_number: Option<String>,
    pub materials: Vec<String>,
    pub received_on: NaiveDate,
}

/// A decision as the deciding officer gives it; the store adds its effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: CaseOutcome,
    pub reasons: Vec<String>,
    pub registration_reasons: Vec<RegistrationReason>,
    pub review: Vec<ReviewItem>,
}
