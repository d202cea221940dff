//! Change events: one per committed mutation, numbered by the registry's global revision.
//! The event is small on purpose (no copy of the record): readers of the change feed take
//! the teacher's latest state from the record itself.

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
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    pub revision: u64,
    pub teacher_id: TeacherId,
    pub kind: ChangeKind,
    pub time: UnixMicros,
    /// Who made the change; `anonymous` until authentication exists.
    pub principal: String,
    pub request_id: Option<String>,
    /// The teacher's county before the change (`None` for a creation), so a county's feed
    /// can tell a move out of the county.
    pub county_before: Option<CountyCode>,
    pub county_after: CountyCode,
}
