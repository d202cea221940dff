//! Title evaluation through the write path (see [`crate::domain::case::evaluation`]): a
//! round opened, an ethics finding recorded, an application made, each step of one. Each
//! is checked by the domain against the records as stored, then the record, its indexes,
//! the round's figures and a change event are staged together; a confirmation stages the
//! promotion on the teacher's title history in the same atomic write, through the teacher
//! mutation itself (`mutation::change_teacher`), so it is refused exactly as a
//! ChangeTitle would be and leaves the same TitleChanged event.

mod reads;
mod restore;
mod types;
mod verify;

use chrono::NaiveDate;

use crate::clock;
use crate::domain::case::evaluation::application::NewApplication;
use crate::domain::case::evaluation::{
    eligibility, Application, ApplicationState, EvaluationRound, Ineligibility, NewRound,
    RoundFigures,
};
use crate::domain::case::{CaseId, WorkingCalendar};
use crate::domain::ethics::{EthicsFinding, EthicsFindings, NewEthicsFinding};
use crate::domain::{
    ChangeEvent, ChangeKind, DomainError, Teacher, TeacherId, TitleChange, TitleChangeKind,
};
use crate::store::format::Fingerprint;
use crate::store::identity::retired::addressed;
use crate::store::mutation::{self, Target, TeacherChange, WriteContext};
use crate::store::requests;
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

pub(crate) use reads::{
    applications, applications_page, dry_run, findings, get_application, get_round, round_figures,
};
pub use reads::{ApplicationPage, DryRunRow, FiguresRow};
pub(crate) use restore::{stage_application, stage_findings, stage_round};
pub use types::{ApplicationStepRequest, EvaluationAnswer, EvaluationCommand};
pub(crate) use verify::verify_evaluation;

/// Applies `command` to `staged`, replaying a remembered answer for a request id seen
/// before (the rules of `mutation::apply`).
pub(crate) fn apply(
    staged: &mut Staged<'_>,
    command: EvaluationCommand,
    context: &WriteContext,
    window: &crate::store::request_quota::RequestWindow,
    calendar: &WorkingCalendar,
) -> Result<EvaluationAnswer, StoreError> {
    requests::answer_once(
        staged,
        context,
        window,
        Fingerprint::of_evaluation(&command),
        |staged| run(staged, command, context, calendar),
    )
}

requests::replayable!(EvaluationAnswer, Evaluation, NewEvaluationRequest);

/// What `command` does, once its request id is found new.
fn run(
    staged: &mut Staged<'_>,
    command: EvaluationCommand,
    context: &WriteContext,
    calendar: &WorkingCalendar,
) -> Result<EvaluationAnswer, StoreError> {
    let answer = match command {
        EvaluationCommand::OpenRound { new } => open_round(staged, new, context)?,
        EvaluationCommand::RecordFinding {
            teacher_id,
            finding,
        } => record_finding(staged, &teacher_id, finding, context)?,
        EvaluationCommand::Apply {
            round_id,
            teacher_id,
            exceptional_grounds,
            on,
            note,
        } => apply_for_title(
            staged,
            &round_id,
            &teacher_id,
            exceptional_grounds,
            on,
            &note,
            context,
        )?,
        EvaluationCommand::Step {
            application_id,
            expected_etag,
            on,
            note,
            step,
        } => {
            let current = load_application(staged, &application_id)?;
            // Another county's application answers as a missing one, as a read of it does,
            // before its etag is looked at.
            if !context.in_scope(&current.county_code) {
                return Err(DomainError::NotFound {
                    what: "title application",
                }
                .into());
            }
            crate::domain::check_etag(expected_etag, current.etag())?;
            let today = step_date(on, current.steps.last().map(|s| s.on))?;
            take_step(staged, current, step, today, &note, context, calendar)?
        }
    };
    Ok(answer)
}

/// The date a step counts for: today unless given; never in the future, never before
/// the last step.
fn step_date(on: Option<NaiveDate>, last: Option<NaiveDate>) -> Result<NaiveDate, StoreError> {
    let today = clock::today();
    let on = on.unwrap_or(today);
    if on > today {
        return Err(DomainError::invalid("step_date", format!("{on} is in the future")).into());
    }
    if let Some(last) = last.filter(|last| *last > on) {
        return Err(DomainError::FailedPrecondition {
            reason: "APPLICATION_DATE",
            message: format!(
                "the application had a step on {last}: a later one cannot count for {on}"
            ),
        }
        .into());
    }
    Ok(on)
}

fn open_round(
    staged: &mut Staged<'_>,
    new: NewRound,
    context: &WriteContext,
) -> Result<EvaluationAnswer, StoreError> {
    if context.scope.is_some() {
        return Err(denied("county principals apply in rounds; HR opens them"));
    }
    let id = unused_id(staged, keys::round)?;
    let round = EvaluationRound {
        id,
        name: new.name,
        county_code: new.county_code,
        target_tier: new.target_tier,
        application_deadline: new.application_deadline,
        rules: new.rules,
        committee: new.committee,
        created_by: context.principal.clone(),
        revision: staged.next_revision(),
        create_time: clock::now(),
    };
    staged.insert(keys::round(&round.id), codec::encode(&round));
    stage_event(
        staged,
        ChangeEvent {
            revision: round.revision,
            teacher_id: None,
            case_id: Some(round.id.clone()),
            kind: ChangeKind::EvaluationRoundChanged,
            time: round.create_time,
            principal: context.principal.clone(),
            request_id: context.request_id.clone(),
            county_before: None,
            county_after: round.county_code.clone(),
        },
    );
    Ok(EvaluationAnswer::Round(round))
}

fn record_finding(
    staged: &mut Staged<'_>,
    teacher_id: &TeacherId,
    finding: NewEthicsFinding,
    context: &WriteContext,
) -> Result<EvaluationAnswer, StoreError> {
    let teacher = addressed(staged, teacher_id, context)?;
    if !context.in_scope(&teacher.fields.county_code) {
        // A county sees only its own teachers, as ApplyForTitle and every read answer.
        return Err(DomainError::NotFound { what: "teacher" }.into());
    }
    let finding = finding.validate(&context.principal, clock::today())?;
    let mut findings = load_findings(staged, teacher_id)?;
    let recorded = EthicsFinding {
        teacher_id: teacher_id.clone(),
        found_on: finding.found_on,
        ground: finding.ground,
        vetoes_until: finding.vetoes_until,
        recorded_by: context.principal.clone(),
        reviewed_by: finding.reviewed_by,
        record_time: clock::now(),
        revision: staged.next_revision(),
    };
    findings.0.push(recorded.clone());
    staged.insert(keys::ethics_findings(teacher_id), codec::encode(&findings));
    stage_event(
        staged,
        ChangeEvent {
            revision: recorded.revision,
            teacher_id: Some(teacher_id.clone()),
            case_id: None,
            kind: ChangeKind::EthicsFindingRecorded,
            time: recorded.record_time,
            principal: context.principal.clone(),
            request_id: context.request_id.clone(),
            county_before: Some(teacher.fields.county_code.clone()),
            county_after: teacher.fields.county_code,
        },
    );
    Ok(EvaluationAnswer::Finding(recorded))
}

fn apply_for_title(
    staged: &mut Staged<'_>,
    round_id: &CaseId,
    teacher_id: &TeacherId,
    exceptional_grounds: Option<String>,
    on: Option<NaiveDate>,
    note: &str,
    context: &WriteContext,
) -> Result<EvaluationAnswer, StoreError> {
    let round = load_round(staged, round_id)?;
    let teacher = addressed(staged, teacher_id, context)?;
    if context
        .scope
        .as_ref()
        .is_some_and(|own| *own != teacher.fields.county_code)
    {
        // A county sees only its own teachers.
        return Err(DomainError::NotFound { what: "teacher" }.into());
    }
    let on = step_date(on, None)?;
    let applicant_key = keys::round_applicant(round_id, teacher_id);
    if let Some(open) = open_application(staged, round_id, teacher_id)? {
        return Err(DomainError::FailedPrecondition {
            reason: "ALREADY_APPLIED",
            message: format!(
                "teacher {teacher_id} already applied in round {round_id}: application {open} is open, and a round takes one open application per teacher (a withdrawn or closed one does not count)"
            ),
        }
        .into());
    }
    let findings = load_findings(staged, teacher_id)?;
    let exceptional = exceptional_grounds.is_some();
    if let Some(first) = eligibility(&teacher, &findings.0, &round, exceptional, on).first() {
        return Err(first.refusal(&teacher).into());
    }
    let from_tier = teacher
        .current_title()
        .ok_or_else(|| Ineligibility::NoTitle.refusal(&teacher))?;
    let id = unused_id(staged, keys::application)?;
    let at = context.step_at(on, note);
    let new = NewApplication {
        teacher_id: teacher_id.clone(),
        county_code: teacher.fields.county_code.clone(),
        school: teacher.fields.school.clone(),
        applicant_name: teacher.fields.name.clone(),
        from_tier,
        exceptional_grounds,
    };
    let mut application = Application::apply(id, &round, new, &at)?;
    application.revision = staged.next_revision();
    staged.insert(applicant_key, application.id.as_str().as_bytes().to_vec());
    staged.insert(
        keys::round_application(round_id, &application.id),
        Vec::new(),
    );
    commit_application(staged, None, &application, context)?;
    Ok(EvaluationAnswer::Application {
        application,
        teacher: None,
    })
}

/// The teacher's application in the round that is not closed, if any: it blocks another;
/// a withdrawn or otherwise closed one does not. The applicant entry names the teacher's
/// latest application; an entry written before it named one (empty) stands for the one
/// application the rule then allowed, found among the round's listing on disk.
fn open_application(
    staged: &Staged<'_>,
    round_id: &CaseId,
    teacher_id: &TeacherId,
) -> Result<Option<CaseId>, StoreError> {
    let Some(latest) = staged.get(&keys::round_applicant(round_id, teacher_id))? else {
        return Ok(None);
    };
    let candidates: Vec<CaseId> = if latest.is_empty() {
        let start = keys::round_application_prefix(round_id);
        let mut end = start.clone();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        staged
            .committed_keys(&start, &end, usize::MAX)?
            .iter()
            .filter_map(|key| keys::case_id_at_end(key))
            .collect()
    } else {
        let id = std::str::from_utf8(&latest)
            .ok()
            .and_then(|id| CaseId::parse(id).ok())
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("z{round_id}{teacher_id}"),
                detail: "an applicant entry that names no application".into(),
            })?;
        vec![id]
    };
    for id in candidates {
        let application = load_application(staged, &id)?;
        if application.teacher_id == *teacher_id && application.state != ApplicationState::Closed {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn take_step(
    staged: &mut Staged<'_>,
    current: Application,
    step: ApplicationStepRequest,
    today: NaiveDate,
    note: &str,
    context: &WriteContext,
    calendar: &WorkingCalendar,
) -> Result<EvaluationAnswer, StoreError> {
    let round = load_round(staged, &current.round_id)?;
    let mut next = current.clone();
    let at = context.step_at(today, note);
    let mut teacher = None;
    match step {
        ApplicationStepRequest::OpenPublicity => {
            next.open_publicity(round.rules.publicity_working_days, calendar, &at)?
        }
        ApplicationStepRequest::RecordObjection { text } => next.record_objection(&text, &at)?,
        ApplicationStepRequest::HandleObjection { index, upheld } => {
            next.handle_objection(index as usize, upheld, &at)?
        }
        ApplicationStepRequest::RecordVote { vote } => next.record_vote(vote, &round, &at)?,
        ApplicationStepRequest::Confirm { approval_document } => {
            next.confirm(&approval_document, &at)?;
            teacher = Some(promote(staged, &next, &round, context)?);
        }
        ApplicationStepRequest::Close { reason } => next.close_with(reason, &at)?,
    }
    next.revision = staged.next_revision();
    commit_application(staged, Some(&current), &next, context)?;
    Ok(EvaluationAnswer::Application {
        application: next,
        teacher,
    })
}

/// The confirmation's effect: the applicant is checked again on the confirmed date
/// (registration, qualification, ethics), then the promotion is appended to their title
/// history, effective that day.
fn promote(
    staged: &mut Staged<'_>,
    application: &Application,
    round: &EvaluationRound,
    context: &WriteContext,
) -> Result<Teacher, StoreError> {
    let teacher = mutation::load_teacher(staged, &application.teacher_id)?;
    let findings = load_findings(staged, &application.teacher_id)?;
    let on = application.confirmed_on.unwrap_or(application.applied_on);
    let still = [
        Ineligibility::NotRegistered,
        Ineligibility::QualificationRevoked,
        Ineligibility::QualificationLost,
        Ineligibility::EthicsVeto,
        Ineligibility::PastRetirementAge,
    ];
    if let Some(rule) = eligibility(&teacher, &findings.0, round, true, on)
        .into_iter()
        .find(|rule| still.contains(rule))
    {
        return Err(rule.refusal(&teacher).into());
    }
    let change = TitleChange {
        tier: Some(application.target_tier),
        kind: TitleChangeKind::Promotion,
        effective_date: on,
        approval_document: application.approval_document.clone(),
        limited_scope: false,
        exceptional: application.is_exceptional(),
        note: format!("{} ({})", round.name, application.id),
    };
    let outcome = mutation::change_teacher(
        staged,
        &Target::Teacher(application.teacher_id.clone()),
        None,
        TeacherChange::ChangeTitle(change),
        context,
    )?;
    Ok(outcome.teacher)
}

/// The application, its round's figures and its change event, staged together.
fn commit_application(
    staged: &mut Staged<'_>,
    before: Option<&Application>,
    after: &Application,
    context: &WriteContext,
) -> Result<(), StoreError> {
    let cell = keys::round_figures(&after.round_id, &after.county_code, after.target_tier);
    let mut figures: RoundFigures = match staged.get(&cell)? {
        Some(bytes) => codec::decode(&cell, &bytes)?,
        None => RoundFigures::default(),
    };
    if let Some(before) = before {
        figures = figures.add(RoundFigures::of(before), -1);
    }
    figures = figures.add(RoundFigures::of(after), 1);
    staged.insert(cell, codec::encode(&figures));
    staged.insert(keys::application(&after.id), codec::encode(after));
    stage_event(
        staged,
        ChangeEvent {
            revision: after.revision,
            teacher_id: Some(after.teacher_id.clone()),
            case_id: Some(after.id.clone()),
            kind: ChangeKind::TitleApplicationChanged,
            time: after.update_time,
            principal: context.principal.clone(),
            request_id: context.request_id.clone(),
            county_before: before.map(|b| b.county_code.clone()),
            county_after: after.county_code.clone(),
        },
    );
    Ok(())
}

fn stage_event(staged: &mut Staged<'_>, event: ChangeEvent) {
    mutation::stage_change(staged, &event);
    staged.insert(keys::META_REVISION.to_vec(), codec::encode(&event.revision));
}

fn denied(message: &str) -> StoreError {
    DomainError::PermissionDenied {
        message: message.to_string(),
    }
    .into()
}

fn load_round(staged: &Staged<'_>, id: &CaseId) -> Result<EvaluationRound, StoreError> {
    let key = keys::round(id);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Err(DomainError::NotFound {
            what: "evaluation round",
        }
        .into()),
    }
}

fn load_application(staged: &Staged<'_>, id: &CaseId) -> Result<Application, StoreError> {
    let key = keys::application(id);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Err(DomainError::NotFound {
            what: "title application",
        }
        .into()),
    }
}

fn load_findings(staged: &Staged<'_>, id: &TeacherId) -> Result<EthicsFindings, StoreError> {
    let key = keys::ethics_findings(id);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Ok(EthicsFindings::default()),
    }
}

fn unused_id(staged: &Staged<'_>, key: fn(&CaseId) -> Vec<u8>) -> Result<CaseId, StoreError> {
    loop {
        let id = staged.draw(|rng| CaseId::generate(rng));
        if !staged.contains(&key(&id))? {
            return Ok(id);
        }
    }
}
