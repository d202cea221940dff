//! GetCaseReport and RecordConsultation: the window's figures, and the consultations
//! they count (see [`crate::domain::case::report`]). Handlers as elsewhere: extract,
//! convert (every bad field at once), call the store, convert back.

use chrono::Datelike;
use tonic::Status;

use crate::api::case_convert::{required, step_date};
use crate::api::convert::{
    known, stored_county, stored_date, stored_time, timestamp, wire_enum, MalformedRecord, WireEnum,
};
use crate::api::pb;
use crate::api::service::{
    parse_request_id, scoped_county, write_context, RegistryService, Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::case::report::MAX_TOPIC_CHARS;
use crate::domain::case::{Consultation, ConsultationChannel, ReportPeriod};
use crate::domain::{Choice, CountyCode, DomainError, FieldViolation};
use crate::store::{NewConsultation, ReportQuery};

wire_enum!(ConsultationChannel, ConsultationChannel {
    Window => Window,
    Phone => Phone,
    Online => Online,
    Letter => Letter,
});
wire_enum!(ReportPeriod, ReportPeriod {
    Month => Month,
    Quarter => Quarter,
    Year => Year,
});

/// The first year a report may ask for: before any electronic window.
const FIRST_YEAR: i32 = 1990;

fn county_field(field: &str, raw: &str) -> Result<Option<CountyCode>, FieldViolation> {
    match raw.trim() {
        "" => Ok(None),
        raw => CountyCode::parse(raw)
            .map(Some)
            .map_err(|e| FieldViolation::new(field, e)),
    }
}

pub(crate) fn consultation_message(c: Consultation) -> pb::Consultation {
    pb::Consultation {
        consultation_date: c.on.format("%Y-%m-%d").to_string(),
        county_code: c.county_code.as_str().to_string(),
        topic: c.topic,
        channel: c.channel.to_wire(),
        revision: c.revision,
        principal: c.principal,
        record_time: Some(timestamp(c.time)),
    }
}

/// A consultation as a backup holds it, back to the record it was written from.
pub(crate) fn stored_consultation(
    message: pb::Consultation,
) -> Result<Consultation, MalformedRecord> {
    let pb::Consultation {
        consultation_date,
        county_code,
        topic,
        channel,
        revision,
        principal,
        record_time,
    } = message;
    Ok(Consultation {
        on: stored_date("consultation.consultation_date", &consultation_date)?,
        county_code: stored_county("consultation.county_code", county_code)?,
        topic,
        channel: known("consultation.channel", channel)?,
        principal,
        time: stored_time("consultation.record_time", record_time)?,
        revision,
    })
}

impl RegistryService {
    pub(super) async fn record_consultation(
        &self,
        principal: &Principal,
        request: pb::RecordConsultationRequest,
    ) -> Result<pb::RecordConsultationResponse, Status> {
        let pb::RecordConsultationRequest {
            consultation,
            request_id,
        } = request;
        let Some(pb::Consultation {
            consultation_date,
            county_code,
            topic,
            channel,
            revision: _,
            principal: _,
            record_time: _,
        }) = consultation
        else {
            return Err(DomainError::invalid("consultation", "is required").into());
        };
        let today = clock::today();
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let on = violations.take(step_date(
            "consultation.consultation_date",
            &consultation_date,
            today,
        ));
        let county = match county_field("consultation.county_code", &county_code) {
            Ok(Some(county)) => Some(county),
            // A county principal's consultations are its own county's.
            Ok(None) => match &principal.county {
                Some(own) => Some(own.clone()),
                None => {
                    violations.push(FieldViolation::new(
                        "consultation.county_code",
                        "is required",
                    ));
                    None
                }
            },
            Err(violation) => {
                violations.push(violation);
                None
            }
        };
        let topic = topic.trim().to_string();
        let length = topic.chars().count();
        if topic.is_empty() {
            violations.push(FieldViolation::new("consultation.topic", "is required"));
        } else if length > MAX_TOPIC_CHARS {
            violations.push(FieldViolation::new(
                "consultation.topic",
                format!("must be at most {MAX_TOPIC_CHARS} characters, got {length}"),
            ));
        } else if topic.chars().any(char::is_control) {
            violations.push(FieldViolation::new(
                "consultation.topic",
                "must not contain control characters",
            ));
        }
        let channel = violations.take(required(
            "consultation.channel",
            ConsultationChannel::from_wire(channel),
        ));
        let (request_id, on, county_code, channel) =
            violations.finish(|| Some((request_id?, on?, county?, channel?)))?;
        let new = NewConsultation {
            on: on.unwrap_or(today),
            county_code,
            topic,
            channel,
        };
        let consultation = self
            .store
            .record_consultation(new, write_context(principal, request_id))
            .await?;
        Ok(pb::RecordConsultationResponse {
            consultation: Some(consultation_message(consultation)),
        })
    }

    pub(super) async fn get_case_report(
        &self,
        principal: &Principal,
        request: pb::GetCaseReportRequest,
    ) -> Result<pb::GetCaseReportResponse, Status> {
        let pb::GetCaseReportRequest {
            year,
            county_code,
            period,
        } = request;
        let mut violations = Violations::default();
        let this_year = clock::today().year();
        if year == 0 {
            violations.push(FieldViolation::new("year", "is required"));
        } else if !(FIRST_YEAR..=this_year).contains(&year) {
            violations.push(FieldViolation::new(
                "year",
                format!("{year} is not between {FIRST_YEAR} and this year, {this_year}"),
            ));
        }
        let county = violations.take(county_field("county_code", &county_code));
        let period = match ReportPeriod::from_wire(period) {
            Choice::Unset => Some(ReportPeriod::Month),
            choice => violations.take(required("period", choice)),
        };
        let (county, period) = violations.finish(|| Some((county?, period?)))?;
        let query = ReportQuery {
            year,
            county: scoped_county(principal, county)?,
            period,
        };
        let report = self
            .reads
            .read(move |store| store.case_report(&query))
            .await?;
        Ok(pb::GetCaseReportResponse {
            rows: report
                .rows
                .into_iter()
                .map(|row| pb::CaseReportRow {
                    period: row.period,
                    county_code: row.county.as_str().to_string(),
                    kind: row.kind.to_wire(),
                    received: row.figures.received,
                    accepted: row.figures.accepted,
                    refused: row.figures.refused,
                    approved: row.figures.approved,
                    denied: row.figures.denied,
                    deferred: row.figures.deferred,
                    within_committed: row.figures.within_committed,
                    within_legal: row.figures.within_legal,
                    decided_late: row.figures.decided_late,
                    open_overdue: row.open_overdue,
                    open_overdue_legal: row.open_overdue_legal,
                    median_working_days: row.figures.median_working_days(),
                })
                .collect(),
            consultations: report
                .consultations
                .into_iter()
                .map(|c| pb::ConsultationCount {
                    period: c.period,
                    county_code: c.county.as_str().to_string(),
                    consultations: c.consultations,
                })
                .collect(),
            as_of: report.as_of.format("%Y-%m-%d").to_string(),
        })
    }
}
