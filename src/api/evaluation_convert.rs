//! Conversions of title evaluation between the proto messages and the domain (see
//! [`crate::domain::case::evaluation`]): requests destructured exhaustively, every bad
//! field reported at once.

use chrono::NaiveDate;

use crate::api::convert::{wire_enum, WireEnum};
use crate::api::pb;
use crate::api::requests::{parse_request_id, Violations};
use crate::auth::{Principal, Role};
use crate::domain::case::evaluation::{
    committee_violations, name_violations, Application, ApplicationAction, ApplicationState,
    CloseReason, EvaluationRound, NewRound, PassRatio, PublicityStage, RoundFigures, RoundRules,
    Vote, MIN_PUBLICITY_WORKING_DAYS,
};
use crate::domain::case::CaseId;
use crate::domain::ethics::{EthicsFinding, NewEthicsFinding};
use crate::domain::{
    parse_date, Choice, CountyCode, DomainError, FieldViolation, TeacherId, TitleTier,
};
use crate::store::FiguresRow;

wire_enum!(ApplicationState, ApplicationState {
    Applied => Applied,
    SchoolPublicity => SchoolPublicity,
    CommitteeReview => CommitteeReview,
    ResultPublicity => ResultPublicity,
    Confirmed => Confirmed,
    Closed => Closed,
});
wire_enum!(CloseReason, CloseReason {
    Withdrawn => Withdrawn,
    Ineligible => Ineligible,
    ObjectionUpheld => ObjectionUpheld,
    CommitteeRejected => CommitteeRejected,
});
wire_enum!(PublicityStage, PublicityStage { School => School, Result => Result });
wire_enum!(ApplicationAction, ApplicationAction {
    Applied => Applied,
    PublicityOpened => PublicityOpened,
    ObjectionRecorded => ObjectionRecorded,
    ObjectionHandled => ObjectionHandled,
    VoteRecorded => VoteRecorded,
    Confirmed => Confirmed,
    Closed => Closed,
});

fn text(date: Option<NaiveDate>) -> String {
    date.map_or_else(String::new, |d| d.to_string())
}

/// A record number (a round's or an application's) from `field`.
pub(crate) fn parse_id(field: &str, raw: &str) -> Result<CaseId, FieldViolation> {
    CaseId::parse(raw).map_err(|e| FieldViolation::new(field, e.to_string()))
}

/// What every step request on applications reads after its ids, in this order: the
/// step's date (`step_date`, empty for today) and the request id, each kept or recorded in
/// `violations`.
pub(crate) fn take_step_fields(
    violations: &mut Violations,
    step_date: &str,
    request_id: &str,
) -> (Option<Option<NaiveDate>>, Option<Option<String>>) {
    let on = violations.take(optional_date("step_date", step_date));
    let request_id = violations.take(parse_request_id(request_id));
    (on, request_id)
}

/// An optional date field: empty is `None`.
pub(crate) fn optional_date(field: &str, raw: &str) -> Result<Option<NaiveDate>, FieldViolation> {
    match raw.trim() {
        "" => Ok(None),
        raw => parse_date(raw)
            .map(Some)
            .map_err(|e| FieldViolation::new(field, e)),
    }
}

/// The round as HR staff give it, its numbers defaulted where left 0.
pub(crate) fn new_round(round: pb::EvaluationRound) -> Result<NewRound, DomainError> {
    let pb::EvaluationRound {
        round_id: _,
        name,
        county_code,
        target_tier,
        application_deadline,
        publicity_working_days,
        pass_ratio_numerator,
        pass_ratio_denominator,
        years_in_tier,
        retirement_age,
        committee,
        created_by: _,
        etag: _,
    } = round;
    let mut violations = Vec::new();
    let county = CountyCode::parse(&county_code)
        .map_err(|e| violations.push(FieldViolation::new("round.county_code", e)))
        .ok();
    let tier = match TitleTier::from_wire(target_tier) {
        Choice::Known(tier) => Some(tier),
        _ => {
            violations.push(FieldViolation::new("round.target_tier", "is required"));
            None
        }
    };
    let deadline = parse_date(&application_deadline)
        .map_err(|e| violations.push(FieldViolation::new("round.application_deadline", e)))
        .ok();
    let defaults = RoundRules::default();
    let pass_ratio = match (pass_ratio_numerator, pass_ratio_denominator) {
        (0, 0) => PassRatio::TWO_THIRDS,
        (numerator, denominator) => PassRatio {
            numerator,
            denominator,
        },
    };
    let rules = RoundRules {
        publicity_working_days: match publicity_working_days {
            0 => MIN_PUBLICITY_WORKING_DAYS,
            days => days,
        },
        pass_ratio,
        years_in_tier,
        retirement_age: match retirement_age {
            0 => defaults.retirement_age,
            age => age,
        },
    };
    let (Some(county_code), Some(target_tier), Some(application_deadline)) =
        (county, tier, deadline)
    else {
        // Every bad field at once: the name, the numbers and the committee too.
        violations.extend(name_violations(&name));
        violations.extend(rules.violations());
        violations.extend(committee_violations(&committee));
        return Err(violations.into());
    };
    let new = NewRound {
        name,
        county_code,
        target_tier,
        application_deadline,
        rules,
        committee,
    };
    match new.validate() {
        Ok(new) if violations.is_empty() => Ok(new),
        Ok(_) => Err(violations.into()),
        Err(DomainError::Invalid { violations: more }) => {
            violations.extend(more);
            Err(violations.into())
        }
        Err(other) => Err(other),
    }
}

pub(crate) fn round_message(round: EvaluationRound) -> pb::EvaluationRound {
    let EvaluationRound {
        id,
        name,
        county_code,
        target_tier,
        application_deadline,
        rules,
        committee,
        created_by,
        revision,
        create_time: _,
    } = round;
    pb::EvaluationRound {
        round_id: id.as_str().to_string(),
        name,
        county_code: county_code.as_str().to_string(),
        target_tier: target_tier.to_wire(),
        application_deadline: application_deadline.to_string(),
        publicity_working_days: rules.publicity_working_days,
        pass_ratio_numerator: rules.pass_ratio.numerator,
        pass_ratio_denominator: rules.pass_ratio.denominator,
        years_in_tier: rules.years_in_tier,
        retirement_age: rules.retirement_age,
        committee,
        created_by,
        etag: format!("\"{revision}\""),
    }
}

/// The finding to record, for `teacher_id`.
pub(crate) fn new_finding(
    finding: Option<pb::EthicsFinding>,
) -> Result<(TeacherId, NewEthicsFinding), DomainError> {
    let Some(pb::EthicsFinding {
        teacher_id,
        found_on,
        ground,
        vetoes_until,
        recorded_by: _,
        reviewed_by,
    }) = finding
    else {
        return Err(DomainError::invalid("finding", "is required"));
    };
    let mut violations = Violations::default();
    let id = violations.take(
        TeacherId::parse(&teacher_id)
            .map_err(|e| FieldViolation::new("finding.teacher_id", e.to_string())),
    );
    let found_on = violations
        .take(parse_date(&found_on).map_err(|e| FieldViolation::new("finding.found_on", e)));
    let vetoes_until = violations.take(
        parse_date(&vetoes_until).map_err(|e| FieldViolation::new("finding.vetoes_until", e)),
    );
    let (id, found_on, vetoes_until) =
        violations.finish_fields(|| Some((id?, found_on?, vetoes_until?)))?;
    Ok((
        id,
        NewEthicsFinding {
            found_on,
            ground,
            vetoes_until,
            reviewed_by,
        },
    ))
}

/// Whether `viewer` sees who did what: the principal that recorded a finding or an
/// objection, handled an objection or took an application's step. That is audit data,
/// admins' only, as a change's principal is in the feed and a case step's (issue 21,
/// finding 7): a county, HR or a reader does not learn which principal did what.
pub(crate) fn sees_principals(viewer: &Principal) -> bool {
    viewer.role == Role::Admin
}

/// A finding as sent to a viewer who [`sees_principals`] or not (`reviewed_by`, the
/// member of staff who signed it off, is part of the finding and stays).
pub(crate) fn finding_message(finding: EthicsFinding, principals: bool) -> pb::EthicsFinding {
    pb::EthicsFinding {
        teacher_id: finding.teacher_id.as_str().to_string(),
        found_on: finding.found_on.to_string(),
        ground: finding.ground,
        vetoes_until: finding.vetoes_until.to_string(),
        recorded_by: if principals {
            finding.recorded_by
        } else {
            String::new()
        },
        reviewed_by: finding.reviewed_by,
    }
}

/// A committee row's vote; `present` 0 means everyone who voted.
pub(crate) fn row_vote(row: &pb::CommitteeResultRow) -> Vote {
    let present = match row.present {
        0 => row
            .votes_for
            .saturating_add(row.against)
            .saturating_add(row.abstain),
        present => present,
    };
    Vote {
        votes_for: row.votes_for,
        against: row.against,
        abstain: row.abstain,
        present,
    }
}

/// An application as sent to callers; `ratio` is its round's, to say whether the vote
/// passed; who recorded and handled objections and took steps only if `principals` (see
/// [`sees_principals`]).
pub(crate) fn application_message(
    a: Application,
    ratio: Option<PassRatio>,
    principals: bool,
) -> pb::TitleApplication {
    let who = |principal: String| if principals { principal } else { String::new() };
    let Application {
        id,
        round_id,
        teacher_id,
        county_code,
        school,
        applicant_name,
        from_tier,
        target_tier,
        exceptional_grounds,
        state,
        applied_on,
        publicity,
        objections,
        vote,
        close_reason,
        confirmed_on,
        approval_document,
        steps,
        revision,
        create_time: _,
        update_time: _,
    } = a;
    pb::TitleApplication {
        application_id: id.as_str().to_string(),
        round_id: round_id.as_str().to_string(),
        teacher_id: teacher_id.as_str().to_string(),
        county_code: county_code.as_str().to_string(),
        school,
        applicant_name,
        from_tier: from_tier.to_wire(),
        target_tier: target_tier.to_wire(),
        exceptional_grounds: exceptional_grounds.unwrap_or_default(),
        state: state.to_wire(),
        applied_on: applied_on.to_string(),
        publicity: publicity
            .into_iter()
            .map(|p| pb::Publicity {
                stage: p.stage.to_wire(),
                starts_on: p.starts_on.to_string(),
                ends_on: p.ends_on.to_string(),
            })
            .collect(),
        objections: objections
            .into_iter()
            .map(|o| pb::Objection {
                stage: o.stage.to_wire(),
                raised_on: o.raised_on.to_string(),
                text: o.text,
                recorded_by: who(o.recorded_by),
                handled: o.upheld.is_some(),
                upheld: o.upheld.unwrap_or(false),
                handled_on: text(o.handled_on),
                handled_by: who(o.handled_by.unwrap_or_default()),
                handling_note: o.handling_note,
            })
            .collect(),
        vote: vote.map(|v| pb::CommitteeVote {
            votes_for: v.votes_for,
            against: v.against,
            abstain: v.abstain,
            present: v.present,
            passed: ratio.is_some_and(|r| v.passes(r)),
        }),
        close_reason: close_reason.map_or(0, CloseReason::to_wire),
        confirmed_on: text(confirmed_on),
        approval_document,
        steps: steps
            .into_iter()
            .map(|s| pb::ApplicationStep {
                action: s.action.to_wire(),
                principal: who(s.principal),
                on: s.on.to_string(),
                note: s.note,
            })
            .collect(),
        etag: format!("\"{revision}\""),
    }
}

pub(crate) fn figures_message(
    county_code: String,
    tier: Option<TitleTier>,
    f: RoundFigures,
) -> pb::RoundFigures {
    pb::RoundFigures {
        county_code,
        tier: tier.map_or(0, TitleTier::to_wire),
        applied: f.applied,
        eligible: f.eligible,
        objected: f.objected,
        passed: f.passed,
        confirmed: f.confirmed,
    }
}

pub(crate) fn figures_row(row: FiguresRow) -> pb::RoundFigures {
    figures_message(
        row.county_code.as_str().to_string(),
        Some(row.tier),
        row.figures,
    )
}
