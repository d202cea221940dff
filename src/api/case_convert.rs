//! Conversions of cases between the proto messages and the domain, in one place, with
//! messages destructured exhaustively as in [`crate::api::convert`].

use chrono::NaiveDate;

use crate::api::convert::{applicant_message, TeacherMessage};
use crate::api::pb;
use crate::api::requests::Violations;
use crate::api::wire::{
    date, invalid, known, optional, stored_county, stored_date, stored_time, timestamp, wire,
    wire_enum, MalformedRecord, WireEnum,
};
use crate::auth::{Principal, Role};
use crate::domain::case::{
    Case, CaseId, CaseKind, CaseOutcome, CaseState, CaseStep, DecidedClock, NewCase, Pause,
    RegistrationReason, ReviewItem, StepAction,
};
use crate::domain::{
    parse_certificate_number, past_date, CertificateKind, Choice, CountyCode, FieldViolation,
    IdentityDocument, TeacherFields, TeacherId,
};
use crate::store::CaseView;

wire_enum!(CaseKind, CaseKind {
    Certification => Certification,
    Reissue => Reissue,
    Registration => Registration,
});
wire_enum!(CaseState, CaseState {
    Received => Received,
    Accepted => Accepted,
    SupplementRequested => SupplementRequested,
    Forwarded => Forwarded,
    Decided => Decided,
    Refused => Refused,
    Withdrawn => Withdrawn,
});
wire_enum!(CaseOutcome, CaseOutcome {
    Approved => Approved,
    Denied => Denied,
    Deferred => Deferred,
});
wire_enum!(ReviewItem, ReviewItem {
    Education => Education,
    MandarinLevel => MandarinLevel,
    PhysicalExamination => PhysicalExamination,
    TeachingAbility => TeachingAbility,
});
wire_enum!(RegistrationReason, RegistrationReason {
    TrainingHoursShort => TrainingHoursShort,
    OffDutyWithoutLeave => OffDutyWithoutLeave,
    FailedAnnualAssessment => FailedAnnualAssessment,
    EthicsViolation => EthicsViolation,
    FailedAssessmentsTwice => FailedAssessmentsTwice,
    QualificationRevokedOrLost => QualificationRevokedOrLost,
});
wire_enum!(StepAction, CaseAction {
    Opened => Opened,
    Accepted => Accepted,
    Refused => Refused,
    SupplementRequested => SupplementRequested,
    SupplementReceived => SupplementReceived,
    Forwarded => Forwarded,
    Assigned => Assigned,
    Withdrawn => Withdrawn,
    Decided => Decided,
});

/// A case as `viewer` may see it: the applicant's identity number masked for masked roles,
/// and who took each step shown to admins only (it is audit data, as a change's principal
/// is in the feed: a county or reader does not learn which principal did what).
pub(crate) fn present_case(viewer: &Principal, view: CaseView) -> pb::Case {
    let mut message = case_message(view, viewer.sees_masked_identities());
    if viewer.role != Role::Admin {
        for step in &mut message.steps {
            step.principal.clear();
        }
    }
    message
}

/// A case as a backup keeps it: in full, without its clock (worked out when read),
/// except a decision's clock as it stood that day, which the record keeps (see
/// `domain::case::report`): `working_days_used`, `overdue` and `overdue_legal`.
pub(crate) fn backup_case(case: Case) -> pb::Case {
    let frozen = case.decided_clock;
    let mut message = case_message(CaseView { case, clock: None }, false);
    if let Some(frozen) = frozen {
        message.working_days_used = frozen.working_days_used;
        message.overdue = !frozen.within_committed;
        message.overdue_legal = !frozen.within_legal;
    }
    message
}

fn case_message(view: CaseView, masked: bool) -> pb::Case {
    let CaseView { case, clock } = view;
    let optional_date = |d: Option<NaiveDate>| d.map_or_else(String::new, date);
    let applicant = case
        .applicant
        .map(|fields| applicant_message(masked, fields));
    pb::Case {
        case_id: case.id.as_str().to_string(),
        kind: case.kind.to_wire(),
        state: case.state.to_wire(),
        outcome: wire(case.outcome),
        county_code: case.county_code.as_str().to_string(),
        teacher_id: case.teacher_id.map_or_else(String::new, String::from),
        applicant,
        applicant_name: case.applicant_name,
        certificate_kind: wire(case.certificate_kind),
        certificate_number: case.certificate_number.unwrap_or_default(),
        materials: case.materials,
        missing: case.missing,
        received_on: date(case.received_on),
        accepted_on: optional_date(case.accepted_on),
        pauses: case
            .pauses
            .iter()
            .map(|p| pb::CasePause {
                start_date: date(p.from),
                end_date: optional_date(p.until),
            })
            .collect(),
        forwarded_on: optional_date(case.forwarded_on),
        county_opinion: case.county_opinion,
        assignee: case.assignee.unwrap_or_default(),
        decided_on: optional_date(case.decided_on),
        reasons: case.reasons,
        registration_reasons: case
            .registration_reasons
            .into_iter()
            .map(WireEnum::to_wire)
            .collect(),
        review: case.review.into_iter().map(WireEnum::to_wire).collect(),
        steps: case
            .steps
            .into_iter()
            .map(|s| pb::CaseStep {
                action: s.action.to_wire(),
                principal: s.principal,
                step_time: Some(timestamp(s.time)),
                step_date: date(s.on),
                note: s.note,
            })
            .collect(),
        due_on: optional_date(clock.and_then(|c| c.due_on)),
        legal_due_on: optional_date(clock.and_then(|c| c.legal_due_on)),
        working_days_used: clock.map_or(0, |c| c.working_days_used),
        overdue: clock.is_some_and(|c| c.overdue),
        overdue_legal: clock.is_some_and(|c| c.overdue_legal),
        etag: format!("\"{}\"", case.revision),
        create_time: Some(timestamp(case.create_time)),
        update_time: Some(timestamp(case.update_time)),
    }
}

/// A known enum value, or the violation for `field`.
pub(crate) fn required<T>(field: &str, choice: Choice<T>) -> Result<T, FieldViolation> {
    match choice {
        Choice::Known(value) => Ok(value),
        Choice::Unset => Err(FieldViolation::new(field, "is required")),
        Choice::Unknown(raw) => Err(FieldViolation::new(
            field,
            format!("{raw} is not a known value"),
        )),
    }
}

/// Every value known, or the violation for `field`; unset values are refused too.
pub(crate) fn all_known<T: WireEnum>(field: &str, raw: Vec<i32>) -> Result<Vec<T>, FieldViolation> {
    raw.into_iter()
        .map(|r| required(field, T::from_wire(r)))
        .collect()
}

/// A date of a step or a receipt: empty means today; never in the future.
pub(crate) fn step_date(
    field: &str,
    raw: &str,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, FieldViolation> {
    let date = match raw.trim() {
        "" => return Ok(None),
        raw => past_date(raw, today).map_err(|e| FieldViolation::new(field, e))?,
    };
    if date < FIRST_CASE_DATE {
        return Err(FieldViolation::new(
            field,
            format!("{date} is before {FIRST_CASE_DATE}: no case at the window is that old"),
        ));
    }
    Ok(Some(date))
}

/// The earliest day a case or a step may count for: the registry's cases are the window's
/// work of recent years (and every clock walks its days from there).
const FIRST_CASE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// The most working days "due within" may look ahead: a year's.
pub(crate) const MAX_DUE_WITHIN: u32 = 250;

/// The settable fields of a case to open; output-only fields are ignored (AIP-203). Every
/// bad field is reported at once.
pub(crate) fn new_case(case: pb::Case, today: NaiveDate) -> Result<NewCase, Vec<FieldViolation>> {
    let pb::Case {
        case_id: _,
        kind,
        state: _,
        outcome: _,
        county_code,
        teacher_id,
        applicant,
        applicant_name,
        certificate_kind,
        certificate_number,
        materials,
        missing: _,
        received_on,
        accepted_on: _,
        pauses: _,
        forwarded_on: _,
        county_opinion: _,
        assignee: _,
        decided_on: _,
        reasons: _,
        registration_reasons: _,
        review: _,
        steps: _,
        due_on: _,
        legal_due_on: _,
        working_days_used: _,
        overdue: _,
        overdue_legal: _,
        etag: _,
        create_time: _,
        update_time: _,
    } = case;
    let mut violations = Violations::default();
    let kind = violations.take(required("case.kind", CaseKind::from_wire(kind)));
    let county = violations.take(
        CountyCode::parse(&county_code).map_err(|e| FieldViolation::new("case.county_code", e)),
    );
    let received_on = violations
        .take(step_date("case.received_on", &received_on, today))
        .map(|d| d.unwrap_or(today));
    let teacher_id = match teacher_id.trim() {
        "" => None,
        raw => violations.take(
            TeacherId::parse(raw)
                .map_err(|e| FieldViolation::new("case.teacher_id", e.to_string())),
        ),
    };
    let certificate_number = match certificate_number.trim() {
        "" => None,
        raw => violations.take(
            parse_certificate_number(raw, today)
                .map_err(|e| FieldViolation::new("case.certificate_number", e)),
        ),
    };
    let certificate_kind = match CertificateKind::from_wire(certificate_kind) {
        Choice::Unset => None,
        choice => violations.take(required("case.certificate_kind", choice)),
    };
    let applicant_given = applicant.is_some();
    let applicant = applicant.map(TeacherMessage::from).and_then(|message| {
        // The applicant's fields are named as fields of the case.
        let of_case = |bad: Vec<FieldViolation>| {
            bad.into_iter().map(|v| {
                FieldViolation::new(
                    format!("case.applicant.{}", v.field.trim_start_matches("teacher.")),
                    v.description,
                )
            })
        };
        violations.extend(of_case(message.refused));
        let validated = message.input.validate(today);
        violations
            .take_all(validated.map_err(|bad| of_case(bad).collect()))
            .map(|validated| validated.fields)
    });
    let materials: Vec<String> = materials
        .into_iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if let Some(kind) = kind {
        match kind {
            CaseKind::Certification => {
                if certificate_kind.is_none() {
                    violations.push(FieldViolation::new(
                        "case.certificate_kind",
                        "a certification names the kind applied for",
                    ));
                }
                if certificate_number.is_some() {
                    violations.push(FieldViolation::new(
                        "case.certificate_number",
                        "a certification has no certificate yet: leave it empty",
                    ));
                }
                if teacher_id.is_some() == applicant_given {
                    violations.push(FieldViolation::new("case.applicant", "a certification names either teacher_id (an applicant with a record) or applicant (one without), not both"));
                }
            }
            CaseKind::Reissue | CaseKind::Registration => {
                if certificate_number.is_none() {
                    violations.push(FieldViolation::new(
                        "case.certificate_number",
                        "is required: the certificate concerned",
                    ));
                }
                if applicant_given {
                    violations.push(FieldViolation::new(
                        "case.applicant",
                        "only a certification can come from someone without a record",
                    ));
                }
                if certificate_kind.is_some() {
                    violations.push(FieldViolation::new(
                        "case.certificate_kind",
                        "only a certification names a kind",
                    ));
                }
            }
        }
    }
    if let (Some(applicant), Some(county)) = (&applicant, &county) {
        if applicant.county_code != *county {
            violations.push(FieldViolation::new(
                "case.applicant.county_code",
                "must be the county of the case",
            ));
        }
    }
    let (kind, county_code, received_on) =
        violations.finish_fields(|| Some((kind?, county?, received_on?)))?;
    let applicant_name = applicant
        .as_ref()
        .map_or_else(|| applicant_name.trim().to_string(), |a| a.name.clone());
    Ok(NewCase {
        kind,
        county_code,
        teacher_id,
        applicant,
        applicant_name,
        certificate_kind,
        certificate_number,
        materials,
        received_on,
    })
}

/// A case as a backup holds it, back to the record it was written from; only the form is
/// checked (as for teachers, see `stored_convert::stored_teacher`).
pub(crate) fn stored_case(message: pb::Case, today: NaiveDate) -> Result<Case, MalformedRecord> {
    let pb::Case {
        case_id,
        kind,
        state,
        outcome,
        county_code,
        teacher_id,
        applicant,
        applicant_name,
        certificate_kind,
        certificate_number,
        materials,
        missing,
        received_on,
        accepted_on,
        pauses,
        forwarded_on,
        county_opinion,
        assignee,
        decided_on,
        reasons,
        registration_reasons,
        review,
        steps,
        due_on: _,
        legal_due_on: _,
        working_days_used,
        overdue,
        overdue_legal,
        etag,
        create_time,
        update_time,
    } = message;
    let optional_date = |field: &str, raw: &str| match raw {
        "" => Ok(None),
        raw => stored_date(field, raw).map(Some),
    };
    let revision = etag
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .and_then(|e| e.parse::<u64>().ok())
        .ok_or_else(|| invalid("case.etag", "is not a case's etag"))?;
    let applicant = match applicant {
        None => None,
        Some(fields) => Some(stored_applicant(fields, today)?),
    };
    let state: CaseState = known("case.state", state)?;
    Ok(Case {
        id: CaseId::try_from(case_id).map_err(|e| invalid("case.case_id", e))?,
        kind: known("case.kind", kind)?,
        state,
        outcome: optional("case.outcome", outcome)?,
        decided_clock: (state == CaseState::Decided).then_some(DecidedClock {
            working_days_used,
            within_committed: !overdue,
            within_legal: !overdue_legal,
        }),
        county_code: stored_county("case.county_code", county_code)?,
        teacher_id: match teacher_id.as_str() {
            "" => None,
            _ => Some(TeacherId::try_from(teacher_id).map_err(|e| invalid("case.teacher_id", e))?),
        },
        applicant,
        applicant_name,
        certificate_kind: optional("case.certificate_kind", certificate_kind)?,
        certificate_number: Some(certificate_number).filter(|n| !n.is_empty()),
        materials,
        missing,
        received_on: stored_date("case.received_on", &received_on)?,
        accepted_on: optional_date("case.accepted_on", &accepted_on)?,
        pauses: pauses
            .into_iter()
            .enumerate()
            .map(|(n, p)| {
                let path = format!("case.pauses[{n}]");
                Ok(Pause {
                    from: stored_date(&format!("{path}.start_date"), &p.start_date)?,
                    until: optional_date(&format!("{path}.end_date"), &p.end_date)?,
                })
            })
            .collect::<Result<_, MalformedRecord>>()?,
        forwarded_on: optional_date("case.forwarded_on", &forwarded_on)?,
        county_opinion,
        assignee: Some(assignee).filter(|a| !a.is_empty()),
        decided_on: optional_date("case.decided_on", &decided_on)?,
        reasons,
        registration_reasons: registration_reasons
            .into_iter()
            .map(|r| known("case.registration_reasons", r))
            .collect::<Result<_, _>>()?,
        review: review
            .into_iter()
            .map(|r| known("case.review", r))
            .collect::<Result<_, _>>()?,
        steps: steps
            .into_iter()
            .enumerate()
            .map(|(n, s)| {
                let path = format!("case.steps[{n}]");
                Ok(CaseStep {
                    action: known(&format!("{path}.action"), s.action)?,
                    principal: s.principal,
                    time: stored_time(&format!("{path}.step_time"), s.step_time)?,
                    on: stored_date(&format!("{path}.step_date"), &s.step_date)?,
                    note: s.note,
                })
            })
            .collect::<Result<_, MalformedRecord>>()?,
        revision,
        create_time: stored_time("case.create_time", create_time)?,
        update_time: stored_time("case.update_time", update_time)?,
    })
}

/// An applicant's fields as a backup holds them.
fn stored_applicant(
    message: pb::Teacher,
    today: NaiveDate,
) -> Result<TeacherFields, MalformedRecord> {
    let doc_type = known("case.applicant.id_document_type", message.id_document_type)?;
    let identity = IdentityDocument::parse(doc_type, &message.national_id, today)
        .map_err(|problem| invalid("case.applicant.national_id", problem))?;
    Ok(TeacherFields {
        identity,
        name: message.name,
        gender: known("case.applicant.gender", message.gender)?,
        birth_date: stored_date("case.applicant.birth_date", &message.birth_date)?,
        county_code: stored_county("case.applicant.county_code", message.county_code)?,
        school: message.school,
        employment_status: known(
            "case.applicant.employment_status",
            message.employment_status,
        )?,
        legacy_title: optional("case.applicant.legacy_title", message.legacy_title)?,
        legacy_title_limited_scope: message.legacy_title_limited_scope,
    })
}
