//! Cases through the write path: each step is checked by the domain against the case as
//! stored, then the case record, its indexes and a change event are staged together, and
//! for a decision the effect on the teacher's record too, all in one atomic write.
//!
//! A decision's effect reuses the teacher mutations themselves (`mutation::create_teacher`,
//! `mutation::change_teacher`), so an approved certification is refused exactly as an
//! IssueCertificate would be (a certificate number already taken, a kind digit that does
//! not match), and leaves the same change events.

#[cfg(test)]
mod due_tests;
mod list;
mod report;
mod stage;
mod types;

use chrono::NaiveDate;

use crate::clock;
use crate::domain::case::{Case, CaseId, CaseKind, CaseOutcome, NewCase, WindowRules};
use crate::domain::{ChangeEvent, ChangeKind, DomainError, Teacher, TeacherId};
use crate::store::format::Fingerprint;
use crate::store::mutation::{self, Effect, Target, TeacherChange, WriteContext};
use crate::store::requests;
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

pub(crate) use list::{check_period, get, list};
pub use list::{CasePage, CaseQuery, CaseView};
pub(crate) use report::{
    consultations, expected_cells, fill_report_cells, record_consultation, report,
    stage_consultation,
};
pub use report::{CaseReport, ConsultationRow, ReportQuery, ReportRow};
pub(crate) use stage::{case_index_entries, fill_due_index, stage_case, stored_rules};
pub use types::{CaseAnswer, CaseCommand, CaseStepRequest, DecisionEffect, NewConsultation};

/// Applies `command` to `staged`, replaying a remembered answer for a request id seen
/// before (see `mutation::apply` for the rules, which are the same).
pub(crate) fn apply(
    staged: &mut Staged<'_>,
    command: CaseCommand,
    context: &WriteContext,
    request_window: &crate::store::request_quota::RequestWindow,
    rules: &WindowRules,
) -> Result<CaseAnswer, StoreError> {
    requests::answer_once(
        staged,
        context,
        request_window,
        Fingerprint::of_case(&command),
        |staged| run(staged, command, context, rules),
    )
}

requests::replayable!(CaseAnswer, Case, NewCaseRequest);

/// What `command` does, once its request id is found new.
fn run(
    staged: &mut Staged<'_>,
    command: CaseCommand,
    context: &WriteContext,
    rules: &WindowRules,
) -> Result<CaseAnswer, StoreError> {
    let answer = match command {
        CaseCommand::Open { new, note } => open(staged, new, &note, context, rules)?,
        CaseCommand::Step {
            case_id,
            expected_etag,
            on,
            note,
            step,
        } => {
            let current = load(staged, &case_id)?;
            check_access(context, &current, &step)?;
            crate::domain::check_etag(expected_etag, current.etag())?;
            let today = step_date(on, &current)?;
            take_step(staged, current, step, today, &note, context, rules)?
        }
    };
    Ok(answer)
}

/// The date a step counts for: today unless given; never in the future, never before the
/// case's last step.
fn step_date(on: Option<NaiveDate>, case: &Case) -> Result<NaiveDate, StoreError> {
    let today = clock::today();
    let on = on.unwrap_or(today);
    if on > today {
        return Err(DomainError::invalid("step_date", format!("{on} is in the future")).into());
    }
    if let Some(last) = case.steps.last().filter(|s| s.on > on) {
        return Err(DomainError::FailedPrecondition {
            reason: "CASE_DATE",
            message: format!(
                "case {} had a step on {}: a later step cannot count for {on}",
                case.id, last.on
            ),
        }
        .into());
    }
    Ok(on)
}

fn open(
    staged: &mut Staged<'_>,
    mut new: NewCase,
    note: &str,
    context: &WriteContext,
    rules: &WindowRules,
) -> Result<CaseAnswer, StoreError> {
    context.check_scope(&new.county_code)?;
    if context.city.is_some() {
        return Err(denied(
            "a city principal works cases its counties forwarded; it opens none",
        ));
    }
    if let Some(kinds) = context
        .case_kinds
        .as_ref()
        .filter(|k| !k.contains(&new.kind))
    {
        return Err(denied(&format!(
            "this principal works only {kinds:?} cases"
        )));
    }
    if new.received_on > clock::today() {
        return Err(DomainError::invalid(
            "case.received_on",
            format!("{} is in the future", new.received_on),
        )
        .into());
    }
    // One person, one number: an applicant whose identity document has a record applies
    // as that record's holder.
    if let Some(applicant) = &new.applicant {
        if let Some(id) = identity_holder(staged, applicant)? {
            let holder = mutation::load_teacher(staged, &id)?;
            if context
                .scope
                .as_ref()
                .is_some_and(|own| *own != holder.fields.county_code)
            {
                return Err(denied(
                    "this person's record is in another county: that county's window works their cases",
                ));
            }
            new.teacher_id = Some(id);
            new.applicant = None;
        }
    }
    match (&new.teacher_id, &new.certificate_number) {
        (Some(id), _) => {
            let teacher = crate::store::identity::retired::addressed(staged, id, context)?;
            // A county sees only its own teachers: another county's is not there for it.
            if context
                .scope
                .as_ref()
                .is_some_and(|own| *own != teacher.fields.county_code)
            {
                return Err(DomainError::NotFound { what: "teacher" }.into());
            }
            new.applicant_name = teacher.fields.name.clone();
            if let Some(number) = &new.certificate_number {
                if !teacher.certificates.iter().any(|c| c.number == *number) {
                    return Err(DomainError::NotFound {
                        what: "certificate of this teacher",
                    }
                    .into());
                }
            }
        }
        (None, Some(number)) => {
            let key = keys::certificate(number);
            let Some(bytes) = staged.get(&key)? else {
                return Err(DomainError::NotFound {
                    what: "certificate",
                }
                .into());
            };
            let id: TeacherId = codec::decode(&key, &bytes)?;
            let holder = mutation::load_teacher(staged, &id)?;
            if context
                .scope
                .as_ref()
                .is_some_and(|own| *own != holder.fields.county_code)
            {
                return Err(DomainError::NotFound {
                    what: "certificate",
                }
                .into());
            }
            new.applicant_name = holder.fields.name;
            new.teacher_id = Some(id);
        }
        (None, None) => {}
    }
    let id = unused_case_id(staged)?;
    let step = context.step_at(new.received_on, note);
    let mut case = Case::open(id, new, &step);
    case.revision = staged.next_revision();
    commit_case(staged, None, &case, context, rules)?;
    Ok(CaseAnswer {
        case,
        teacher: None,
    })
}

fn take_step(
    staged: &mut Staged<'_>,
    current: Case,
    step: CaseStepRequest,
    today: NaiveDate,
    note: &str,
    context: &WriteContext,
    rules: &WindowRules,
) -> Result<CaseAnswer, StoreError> {
    let mut next = current.clone();
    let at = context.step_at(today, note);
    let mut teacher = None;
    match step {
        CaseStepRequest::Accept => next.accept(&at)?,
        CaseStepRequest::Refuse { reason } => {
            next.refuse_at_intake(&reason, &rules.calendar, &at)?
        }
        CaseStepRequest::RequestSupplement { missing } => {
            next.request_supplement(missing, &rules.calendar, &at)?
        }
        CaseStepRequest::ReceiveSupplement { materials } => {
            next.receive_supplement(materials, &at)?
        }
        CaseStepRequest::Forward { opinion } => next.forward(&opinion, &at)?,
        CaseStepRequest::Assign { assignee } => {
            if !next.assign(&assignee, &at)? {
                return Ok(CaseAnswer {
                    case: current,
                    teacher: None,
                });
            }
        }
        CaseStepRequest::Withdraw => next.withdraw(&at)?,
        CaseStepRequest::Decide { decision, effect } => {
            let approved = decision.outcome == CaseOutcome::Approved;
            next.decide(decision, &at)?;
            next.freeze_clock(rules);
            match (approved, effect) {
                (true, effect) => {
                    teacher = Some(apply_effect(staged, &mut next, effect, today, context)?)
                }
                (false, None) => {}
                (false, Some(_)) => {
                    return Err(DomainError::invalid(
                        "certificate",
                        "only an approval issues a certificate or a copy",
                    )
                    .into())
                }
            }
        }
    }
    next.revision = staged.next_revision();
    commit_case(staged, Some(&current), &next, context, rules)?;
    Ok(CaseAnswer {
        case: next,
        teacher,
    })
}

/// An approval's effect on the applicant's record, through the teacher mutations.
fn apply_effect(
    staged: &mut Staged<'_>,
    case: &mut Case,
    effect: Option<DecisionEffect>,
    decided_on: NaiveDate,
    context: &WriteContext,
) -> Result<Teacher, StoreError> {
    let no_effect = |field: &str, what: &str| -> StoreError {
        DomainError::invalid(field, format!("an approved {what} needs it")).into()
    };
    let (target, change) = match (case.kind, effect) {
        (CaseKind::Certification, Some(DecisionEffect::Certify(certificate))) => {
            if Some(certificate.kind) != case.certificate_kind {
                return Err(DomainError::invalid(
                    "certificate.kind",
                    "the certificate issued is of the kind the case applied for",
                )
                .into());
            }
            let id = match (&case.teacher_id, case.applicant.take()) {
                (Some(id), _) => id.clone(),
                // The applicant may have got a record since the case was opened (another
                // case approved, a CreateTeacher): one person, one number.
                (None, Some(fields)) => match identity_holder(staged, &fields)? {
                    Some(id) => id,
                    None => {
                        mutation::create_teacher(staged, fields, Vec::new(), context)?
                            .teacher
                            .id
                    }
                },
                (None, None) => {
                    return Err(StoreError::Corrupt {
                        key: format!("a{}", case.id),
                        detail: "a certification case without an applicant".into(),
                    })
                }
            };
            case.teacher_id = Some(id.clone());
            case.certificate_number = Some(certificate.number.clone());
            (
                Target::Teacher(id),
                TeacherChange::IssueCertificate(certificate),
            )
        }
        (CaseKind::Certification, _) => return Err(no_effect("certificate", "certification")),
        (CaseKind::Reissue, Some(DecisionEffect::Reissue(reissue))) => {
            let number = case.certificate_number.clone().unwrap_or_default();
            (
                Target::Certificate(number.clone()),
                TeacherChange::ReissueCertificate { number, reissue },
            )
        }
        (CaseKind::Reissue, _) => return Err(no_effect("reissue_reason", "reissue")),
        (CaseKind::Registration, None) => {
            let number = case.certificate_number.clone().unwrap_or_default();
            (
                Target::Certificate(number.clone()),
                TeacherChange::RegisterCertificate {
                    number,
                    registered_on: decided_on,
                },
            )
        }
        (CaseKind::Registration, Some(_)) => {
            return Err(DomainError::invalid(
                "certificate",
                "a registration issues no certificate and no copy",
            )
            .into())
        }
    };
    let outcome = mutation::change_teacher(staged, &target, None, change, context)?;
    debug_assert!(outcome.effect != Effect::Created);
    Ok(outcome.teacher)
}

/// Whether the caller may take `step` of `case`: a county principal in its own county
/// (once it has forwarded a case, the case is the city's: the county may only record that
/// the applicant withdrew), a city principal on the cases its counties forwarded, a
/// principal limited to some kinds on those kinds.
fn check_access(
    context: &WriteContext,
    case: &Case,
    step: &CaseStepRequest,
) -> Result<(), StoreError> {
    // A case the caller cannot read (another county's; for a city, one its counties have
    // not forwarded) answers as a missing one, as GetCase does: no step tells it exists.
    let unseen = !context.in_scope(&case.county_code)
        || context
            .city
            .as_ref()
            .is_some_and(|city| !city.contains(&case.county_code) || case.forwarded_on.is_none());
    if unseen {
        return Err(DomainError::NotFound { what: "case" }.into());
    }
    let withdrawing = matches!(step, CaseStepRequest::Withdraw);
    if context.scope.is_some() && case.forwarded_on.is_some() && !withdrawing {
        return Err(denied(
            "the case was forwarded: the city works and decides it now",
        ));
    }
    if let Some(kinds) = context
        .case_kinds
        .as_ref()
        .filter(|k| !k.contains(&case.kind))
    {
        return Err(denied(&format!(
            "this principal works only {kinds:?} cases"
        )));
    }
    Ok(())
}

fn denied(message: &str) -> StoreError {
    DomainError::PermissionDenied {
        message: message.to_string(),
    }
    .into()
}

/// The registry number of whoever holds `fields`' identity document, if anyone does.
fn identity_holder(
    staged: &Staged<'_>,
    fields: &crate::domain::TeacherFields,
) -> Result<Option<TeacherId>, StoreError> {
    let key = keys::identity(&fields.identity);
    match staged.get(&key)? {
        Some(bytes) => Ok(Some(codec::decode(&key, &bytes)?)),
        None => Ok(None),
    }
}

fn load(staged: &Staged<'_>, id: &CaseId) -> Result<Case, StoreError> {
    let key = keys::case(id);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Err(DomainError::NotFound { what: "case" }.into()),
    }
}

fn unused_case_id(staged: &Staged<'_>) -> Result<CaseId, StoreError> {
    loop {
        let id = staged.draw(|rng| CaseId::generate(rng));
        if !staged.contains(&keys::case(&id))? {
            return Ok(id);
        }
    }
}

/// The case, its indexes, its change event and the revision, staged together.
fn commit_case(
    staged: &mut Staged<'_>,
    before: Option<&Case>,
    after: &Case,
    context: &WriteContext,
    rules: &WindowRules,
) -> Result<(), StoreError> {
    stage_case(staged, before, after, rules)?;
    let event = ChangeEvent {
        revision: after.revision,
        teacher_id: after.teacher_id.clone(),
        case_id: Some(after.id.clone()),
        kind: ChangeKind::CaseChanged,
        time: after.update_time,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: before.map(|c| c.county_code.clone()),
        county_after: after.county_code.clone(),
    };
    mutation::stage_change(staged, &event);
    staged.insert(keys::META_REVISION.to_vec(), codec::encode(&after.revision));
    Ok(())
}
