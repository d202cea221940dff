//! The title requests that the tests and the benches send alike: an initial appointment
//! that makes a teacher a candidate for FIRST_LEVEL, and a FIRST_LEVEL round. Two kinds of
//! target (tests and benches) cannot share a module, so `benches/common` includes this file
//! by path; it needs nothing but the public API.

use chrono::NaiveDate;
use teacher_registry::api::pb;

/// Appoints the teacher SECOND_LEVEL from 2015-09-01 (an initial appointment).
pub fn second_level_since_2015(teacher_id: &str) -> pb::ChangeTitleRequest {
    pb::ChangeTitleRequest {
        teacher_id: teacher_id.into(),
        change: Some(pb::TitleEntry {
            tier: pb::TitleTier::SecondLevel as i32,
            kind: pb::TitleChangeKind::Initial as i32,
            effective_date: "2015-09-01".into(),
            approval_document: "南教人[2015]3号".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A FIRST_LEVEL round named `name` of `county`, five years in the tier, a committee of
/// nine, taking applications until `deadline`.
pub fn first_level_round(
    name: String,
    county: &str,
    deadline: NaiveDate,
) -> pb::CreateEvaluationRoundRequest {
    pb::CreateEvaluationRoundRequest {
        round: Some(pb::EvaluationRound {
            name,
            county_code: county.into(),
            target_tier: pb::TitleTier::FirstLevel as i32,
            application_deadline: deadline.to_string(),
            years_in_tier: 5,
            committee: (1..=9).map(|m| format!("委员{m}")).collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}
