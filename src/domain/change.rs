//! Change events: one per committed mutation, numbered by the registry's global revision.
//! The event is small on purpose (no copy of the record): readers of the change feed take
//! the teacher's latest state from the record itself.
//!
//! Cases share the log: a step of a case is an event too, naming the case (and its
//! applicant's record, when there is one), so a bureau that follows the feed sees its
//! window's work in the same revision order as the records it changed.

use crate::domain::case::CaseId;
use crate::domain::{CountyCode, TeacherId, UnixMicros};

/// What a mutation did to a teacher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    CertificateIssued,
    CertificateReissued,
    CertificateRegistered,
    CertificateRevoked,
    TitleChanged,
    TitleTransitioned,
    /// A change lost to a disk fault after readers may have seen it: its revision stays
    /// taken, and this event fills its place in the log (see `store::writer`).
    Voided,
    /// A step of a case: opened, accepted, ..., decided. A decision that changes a
    /// record adds the record's own event beside it, in the same write.
    CaseChanged,
    /// The holder lost the qualification (丧失): every certificate of theirs is LOST.
    QualificationLost,
    /// A consultation answered at the window (see `domain::case::report`): names no
    /// teacher and no case, only the county.
    ConsultationRecorded,
    /// An ethics finding about the teacher was recorded (see `domain::ethics`).
    EthicsFindingRecorded,
    /// An evaluation round was opened: names no teacher; `case_id` is the round.
    EvaluationRoundChanged,
    /// A step of a title application: `case_id` is the application, `teacher_id` the
    /// applicant. A confirmation comes with the record's own TitleChanged event.
    TitleApplicationChanged,
    /// The releasing county proposed a transfer (see `domain::transfer`).
    TransferProposed,
    /// The receiving county accepted a transfer: the teacher moved between counties.
    TransferAccepted,
    /// The receiving county declined a transfer; the teacher stays.
    TransferDeclined,
    /// An identity correction was proposed or rejected: `case_id` is the correction,
    /// `teacher_id` its teacher, whose record is unchanged.
    IdentityCorrectionChanged,
    /// An identity correction was approved: the record took the new document and kept
    /// the old one as a former document; `case_id` is the correction.
    IdentityCorrected,
    /// `teacher_id` was merged into another record and its number retired; the event
    /// names the survivor's county after.
    Merged,
    /// A merge was undone: `teacher_id` is a record again.
    Unmerged,
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    pub revision: u64,
    /// The teacher changed; for a case step, the applicant's record if they have one.
    pub teacher_id: Option<TeacherId>,
    /// The case, for a case step.
    pub case_id: Option<CaseId>,
    pub kind: ChangeKind,
    pub time: UnixMicros,
    /// Who made the change; `anonymous` until authentication exists.
    pub principal: String,
    pub request_id: Option<String>,
    /// The teacher's county before the change (`None` for a creation), so a county's feed
    /// can tell a move out of the county. For a case step: the case's county after.
    pub county_before: Option<CountyCode>,
    pub county_after: CountyCode,
}
