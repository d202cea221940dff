//! Format 2 of the report's cells and of consultations: storage-only protobuf messages
//! under the rules of [`super::v2`].

use prost::Message;

use super::codes::Coded;
use super::v2::{date, days, known};
use crate::domain::case::{CaseFigures, Consultation};
use crate::domain::{CountyCode, UnixMicros};

/// One cell of the report (see `domain::case::report`).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct FiguresRecord {
    #[prost(uint64, tag = "1")]
    received: u64,
    #[prost(uint64, tag = "2")]
    accepted: u64,
    #[prost(uint64, tag = "3")]
    refused: u64,
    #[prost(uint64, tag = "4")]
    approved: u64,
    #[prost(uint64, tag = "5")]
    denied: u64,
    #[prost(uint64, tag = "6")]
    deferred: u64,
    #[prost(uint64, tag = "7")]
    within_committed: u64,
    #[prost(uint64, tag = "8")]
    within_legal: u64,
    #[prost(uint64, tag = "9")]
    decided_late: u64,
    #[prost(uint64, tag = "10")]
    consultations: u64,
    #[prost(uint64, repeated, tag = "11")]
    working_days: Vec<u64>,
}

impl FiguresRecord {
    pub(crate) fn of(figures: &CaseFigures) -> Self {
        let CaseFigures {
            received,
            accepted,
            refused,
            approved,
            denied,
            deferred,
            within_committed,
            within_legal,
            decided_late,
            consultations,
            working_days,
        } = figures.clone();
        FiguresRecord {
            received,
            accepted,
            refused,
            approved,
            denied,
            deferred,
            within_committed,
            within_legal,
            decided_late,
            consultations,
            working_days,
        }
    }

    pub(crate) fn into_domain(self) -> CaseFigures {
        CaseFigures {
            received: self.received,
            accepted: self.accepted,
            refused: self.refused,
            approved: self.approved,
            denied: self.denied,
            deferred: self.deferred,
            within_committed: self.within_committed,
            within_legal: self.within_legal,
            decided_late: self.decided_late,
            consultations: self.consultations,
            working_days: self.working_days,
        }
    }
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct ConsultationRecord {
    #[prost(int32, tag = "1")]
    on: i32,
    #[prost(string, tag = "2")]
    county_code: String,
    #[prost(string, tag = "3")]
    topic: String,
    #[prost(int32, tag = "4")]
    channel: i32,
    #[prost(string, tag = "5")]
    principal: String,
    #[prost(int64, tag = "6")]
    time: i64,
    #[prost(uint64, tag = "7")]
    revision: u64,
}

impl ConsultationRecord {
    pub(crate) fn of(c: &Consultation) -> Self {
        ConsultationRecord {
            on: days(c.on),
            county_code: c.county_code.as_str().to_string(),
            topic: c.topic.clone(),
            channel: c.channel.number(),
            principal: c.principal.clone(),
            time: c.time.0,
            revision: c.revision,
        }
    }

    pub(crate) fn into_domain(self) -> Result<Consultation, String> {
        Ok(Consultation {
            on: date(self.on)?,
            county_code: CountyCode::try_from(self.county_code)?,
            topic: self.topic,
            channel: known(self.channel, "consultation channel")?,
            principal: self.principal,
            time: UnixMicros(self.time),
            revision: self.revision,
        })
    }
}
