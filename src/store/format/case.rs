//! Format 2 of cases: storage-only protobuf messages, under the same rules as the
//! teacher's (see [`super::v2`]): new fields take new tags, enums are stored by their
//! stable numbers (`codes`), dates as days from 0001-01-01, times as microseconds.

use prost::Message;

use super::codes::Coded;
use super::v2::{date, days, known, optional, FieldsRecord};
use crate::domain::case::{Case, CaseId, DecidedClock, Pause, Step};
use crate::domain::{CountyCode, TeacherId, UnixMicros};

#[derive(Clone, PartialEq, Message)]
pub(crate) struct CaseRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(int32, tag = "3")]
    state: i32,
    /// 0: not decided.
    #[prost(int32, tag = "4")]
    outcome: i32,
    #[prost(string, tag = "5")]
    county_code: String,
    #[prost(string, optional, tag = "6")]
    teacher_id: Option<String>,
    #[prost(message, optional, tag = "7")]
    applicant: Option<FieldsRecord>,
    #[prost(string, tag = "8")]
    applicant_name: String,
    /// 0: none.
    #[prost(int32, tag = "9")]
    certificate_kind: i32,
    #[prost(string, optional, tag = "10")]
    certificate_number: Option<String>,
    #[prost(string, repeated, tag = "11")]
    materials: Vec<String>,
    #[prost(string, repeated, tag = "12")]
    missing: Vec<String>,
    #[prost(int32, tag = "13")]
    received_on: i32,
    #[prost(int32, optional, tag = "14")]
    accepted_on: Option<i32>,
    #[prost(message, repeated, tag = "15")]
    pauses: Vec<PauseRecord>,
    #[prost(int32, optional, tag = "16")]
    forwarded_on: Option<i32>,
    #[prost(string, tag = "17")]
    county_opinion: String,
    #[prost(string, optional, tag = "18")]
    assignee: Option<String>,
    #[prost(int32, optional, tag = "19")]
    decided_on: Option<i32>,
    #[prost(string, repeated, tag = "20")]
    reasons: Vec<String>,
    #[prost(int32, repeated, tag = "21")]
    registration_reasons: Vec<i32>,
    #[prost(int32, repeated, tag = "22")]
    review: Vec<i32>,
    #[prost(message, repeated, tag = "23")]
    steps: Vec<StepRecord>,
    #[prost(uint64, tag = "24")]
    revision: u64,
    #[prost(int64, tag = "25")]
    create_time: i64,
    #[prost(int64, tag = "26")]
    update_time: i64,
    /// The clock as it stood at the decision; absent before one (and in cases decided
    /// before the report existed, which count as decided but in no on-time figure).
    #[prost(message, optional, tag = "27")]
    decided_clock: Option<DecidedClockRecord>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct DecidedClockRecord {
    #[prost(uint32, tag = "1")]
    working_days_used: u32,
    #[prost(bool, tag = "2")]
    within_committed: bool,
    #[prost(bool, tag = "3")]
    within_legal: bool,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct PauseRecord {
    #[prost(int32, tag = "1")]
    from: i32,
    #[prost(int32, optional, tag = "2")]
    until: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct StepRecord {
    #[prost(int32, tag = "1")]
    action: i32,
    #[prost(string, tag = "2")]
    principal: String,
    #[prost(int64, tag = "3")]
    time: i64,
    #[prost(int32, tag = "4")]
    on: i32,
    #[prost(string, tag = "5")]
    note: String,
}

impl StepRecord {
    pub(crate) fn of<A: Coded>(step: &Step<A>) -> Self {
        StepRecord {
            action: step.action.number(),
            principal: step.principal.clone(),
            time: step.time.0,
            on: days(step.on),
            note: step.note.clone(),
        }
    }

    /// The step, its action one of `A`'s (named `what` in the error).
    pub(crate) fn into_domain<A: Coded>(self, what: &str) -> Result<Step<A>, String> {
        Ok(Step {
            action: known(self.action, what)?,
            principal: self.principal,
            time: UnixMicros(self.time),
            on: date(self.on)?,
            note: self.note,
        })
    }
}

impl CaseRecord {
    pub(crate) fn of(case: &Case) -> Self {
        CaseRecord {
            id: case.id.as_str().to_string(),
            kind: case.kind.number(),
            state: case.state.number(),
            outcome: case.outcome.map_or(0, Coded::number),
            county_code: case.county_code.as_str().to_string(),
            teacher_id: case.teacher_id.as_ref().map(|id| id.as_str().to_string()),
            applicant: case.applicant.as_ref().map(FieldsRecord::of),
            applicant_name: case.applicant_name.clone(),
            certificate_kind: case.certificate_kind.map_or(0, Coded::number),
            certificate_number: case.certificate_number.clone(),
            materials: case.materials.clone(),
            missing: case.missing.clone(),
            received_on: days(case.received_on),
            accepted_on: case.accepted_on.map(days),
            pauses: case
                .pauses
                .iter()
                .map(|p| PauseRecord {
                    from: days(p.from),
                    until: p.until.map(days),
                })
                .collect(),
            forwarded_on: case.forwarded_on.map(days),
            county_opinion: case.county_opinion.clone(),
            assignee: case.assignee.clone(),
            decided_on: case.decided_on.map(days),
            reasons: case.reasons.clone(),
            registration_reasons: case
                .registration_reasons
                .iter()
                .map(|r| r.number())
                .collect(),
            review: case.review.iter().map(|r| r.number()).collect(),
            steps: case.steps.iter().map(StepRecord::of).collect(),
            revision: case.revision,
            create_time: case.create_time.0,
            update_time: case.update_time.0,
            decided_clock: case.decided_clock.map(|c| DecidedClockRecord {
                working_days_used: c.working_days_used,
                within_committed: c.within_committed,
                within_legal: c.within_legal,
            }),
        }
    }

    pub(crate) fn into_domain(self) -> Result<Case, String> {
        let optional_date = |d: Option<i32>| d.map(date).transpose();
        Ok(Case {
            id: CaseId::try_from(self.id)?,
            kind: known(self.kind, "case kind")?,
            state: known(self.state, "case state")?,
            outcome: optional(self.outcome, "case outcome")?,
            county_code: CountyCode::try_from(self.county_code)?,
            teacher_id: self.teacher_id.map(TeacherId::try_from).transpose()?,
            applicant: self.applicant.map(FieldsRecord::into_domain).transpose()?,
            applicant_name: self.applicant_name,
            certificate_kind: optional(self.certificate_kind, "certificate kind")?,
            certificate_number: self.certificate_number,
            materials: self.materials,
            missing: self.missing,
            received_on: date(self.received_on)?,
            accepted_on: optional_date(self.accepted_on)?,
            pauses: self
                .pauses
                .into_iter()
                .map(|p| {
                    Ok(Pause {
                        from: date(p.from)?,
                        until: optional_date(p.until)?,
                    })
                })
                .collect::<Result<_, String>>()?,
            forwarded_on: optional_date(self.forwarded_on)?,
            county_opinion: self.county_opinion,
            assignee: self.assignee,
            decided_on: optional_date(self.decided_on)?,
            decided_clock: self.decided_clock.map(|c| DecidedClock {
                working_days_used: c.working_days_used,
                within_committed: c.within_committed,
                within_legal: c.within_legal,
            }),
            reasons: self.reasons,
            registration_reasons: self
                .registration_reasons
                .into_iter()
                .map(|r| known(r, "registration reason"))
                .collect::<Result<_, _>>()?,
            review: self
                .review
                .into_iter()
                .map(|r| known(r, "review item"))
                .collect::<Result<_, _>>()?,
            steps: self
                .steps
                .into_iter()
                .map(|s| s.into_domain("case action"))
                .collect::<Result<_, String>>()?,
            revision: self.revision,
            create_time: UnixMicros(self.create_time),
            update_time: UnixMicros(self.update_time),
        })
    }
}
