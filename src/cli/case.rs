//! `teacher-registry case ...`: the service window's work from the command line, one
//! subcommand per step of a case (the CaseService's RPCs), plus `show`, `list` and `print`.
//!
//! Each step prints one line that says where the case stands (`C…  ACCEPTED  due
//! 2027-01-04 (legal 2027-01-18)`), so a clerk sees the clock move; `open --id-only` prints
//! the case number alone for scripts. Values are read as the import reads them: enum
//! values by their Chinese label or their proto name (`资格认定` or `certification`), dates
//! in the forms a spreadsheet writes. The server checks every rule; refusals end as every
//! command's do (see `cli::failure`).

use std::io::Write;

use super::case_args::{CaseCommand, DecideArgs, ListArgs, OpenArgs};
use super::case_labels::{
    ACTIONS, CASE_KINDS, OUTCOMES, REGISTRATION_REASONS, REISSUE_REASONS, REVIEW_ITEMS, STATES,
};
use super::case_print::{write_notice, Notice};
use super::case_report::print_case_report;
use super::rows::{reshape_date, Choices, CERTIFICATE_KINDS, DOCUMENT_TYPES, EMPLOYMENT, GENDERS};
use super::{connect_cases, refusal, CaseClient, CommandError};
use crate::api::pb;

/// Runs one `case` command against the registry at `server`.
pub async fn run_case(
    server: &str,
    command: CaseCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if let CaseCommand::Report(args) = &command {
        return print_case_report(server, args, out).await;
    }
    let mut client = connect_cases(server).await?;
    match command {
        CaseCommand::Report(_) => unreachable!("printed above"),
        CaseCommand::Open(args) => open(&mut client, args, out).await,
        CaseCommand::Accept(step) => {
            let request = pb::AcceptCaseRequest {
                case_id: step.case_id.clone(),
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: date(&step.options.step_date),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.accept_case(request).await;
            summarize(answer.map(|r| r.into_inner().case), "accept", out)
        }
        CaseCommand::Refuse { step, reason } => {
            let request = pb::RefuseCaseRequest {
                case_id: step.case_id.clone(),
                reason,
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: date(&step.options.step_date),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.refuse_case(request).await;
            summarize(answer.map(|r| r.into_inner().case), "refuse", out)
        }
        CaseCommand::Supplement { step, missing } => {
            let request = pb::RequestSupplementRequest {
                case_id: step.case_id.clone(),
                missing,
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: date(&step.options.step_date),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.request_supplement(request).await;
            summarize(
                answer.map(|r| r.into_inner().case),
                "request the supplement",
                out,
            )
        }
        CaseCommand::Receive { step, materials } => {
            let request = pb::ReceiveSupplementRequest {
                case_id: step.case_id.clone(),
                materials,
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: date(&step.options.step_date),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.receive_supplement(request).await;
            summarize(
                answer.map(|r| r.into_inner().case),
                "receive the supplement",
                out,
            )
        }
        CaseCommand::Forward { step, opinion } => {
            let request = pb::ForwardCaseRequest {
                case_id: step.case_id.clone(),
                opinion,
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: date(&step.options.step_date),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.forward_case(request).await;
            summarize(answer.map(|r| r.into_inner().case), "forward", out)
        }
        CaseCommand::Assign { step, assignee } => {
            let request = pb::AssignCaseRequest {
                case_id: step.case_id.clone(),
                assignee,
                etag: step.options.etag.clone().unwrap_or_default(),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.assign_case(request).await;
            summarize(answer.map(|r| r.into_inner().case), "assign", out)
        }
        CaseCommand::Withdraw(step) => {
            let request = pb::WithdrawCaseRequest {
                case_id: step.case_id.clone(),
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: date(&step.options.step_date),
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.withdraw_case(request).await;
            summarize(answer.map(|r| r.into_inner().case), "withdraw", out)
        }
        CaseCommand::Decide(args) => decide(&mut client, args, out).await,
        CaseCommand::Show { case_id } => {
            let case = get(&mut client, &case_id).await?;
            write_case(&case, out)
        }
        CaseCommand::List(args) => list(&mut client, args, out).await,
        CaseCommand::Print {
            case_id,
            notice,
            out: path,
            bureau,
        } => {
            let case = get(&mut client, &case_id).await?;
            let notice = match notice.as_str() {
                "receipt" => Notice::Receipt,
                "supplement" => Notice::Supplement,
                _ => Notice::Decision,
            };
            let page = write_notice(&case, notice, &bureau)?;
            std::fs::write(&path, page).map_err(|e| {
                anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
            })?;
            writeln!(out, "wrote {}", path.display())?;
            Ok(())
        }
    }
}

async fn open(client: &mut CaseClient, args: OpenArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let kind = choice(&CASE_KINDS, "--kind", &args.kind)?;
    let certificate_kind = match &args.certificate_kind {
        Some(text) => choice(&CERTIFICATE_KINDS, "--certificate-kind", text)?,
        None => 0,
    };
    let applicant = match (&args.name, &args.national_id) {
        (None, None) => None,
        (Some(name), Some(national_id)) => Some(pb::Teacher {
            id_document_type: choice(
                &DOCUMENT_TYPES,
                "--id-document-type",
                &args.id_document_type,
            )?,
            national_id: national_id.trim().to_string(),
            name: name.trim().to_string(),
            gender: match &args.gender {
                Some(text) => choice(&GENDERS, "--gender", text)?,
                None => 0,
            },
            birth_date: date(&args.birth_date),
            county_code: args.county.trim().to_string(),
            school: args.school.clone().unwrap_or_default(),
            employment_status: choice(&EMPLOYMENT, "--employment-status", &args.employment_status)?,
            ..Default::default()
        }),
        _ => {
            return Err(CommandError::Usage(
                "an applicant without a record needs both --name and --national-id".into(),
            )
            .into())
        }
    };
    let request = pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind,
            county_code: args.county.trim().to_string(),
            teacher_id: args.teacher_id.clone().unwrap_or_default(),
            applicant,
            certificate_kind,
            certificate_number: args.certificate_number.clone().unwrap_or_default(),
            materials: args.materials.clone(),
            received_on: date(&args.received_on),
            ..Default::default()
        }),
        note: args.note.clone().unwrap_or_default(),
        request_id: args.request_id.clone().unwrap_or_default(),
    };
    let case = match client.open_case(request).await {
        Ok(response) => response.into_inner().case.unwrap_or_default(),
        Err(status) => return Err(refusal(status, "the case was not opened")),
    };
    if args.id_only {
        writeln!(out, "{}", case.case_id)?;
        return Ok(());
    }
    writeln!(out, "{}", summary_line(&case))?;
    Ok(())
}

async fn decide(
    client: &mut CaseClient,
    args: DecideArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let outcome = choice(&OUTCOMES, "--outcome", &args.outcome)?;
    let mut review: Vec<i32> = args
        .checked
        .iter()
        .map(|text| choice(&REVIEW_ITEMS, "--checked", text))
        .collect::<Result<_, _>>()?;
    if args.all_checked {
        review = REVIEW_ITEMS
            .labels
            .iter()
            .map(|&(_, value)| value)
            .collect();
    }
    let registration_reasons = args
        .registration_reasons
        .iter()
        .map(|text| choice(&REGISTRATION_REASONS, "--registration-reason", text))
        .collect::<Result<_, _>>()?;
    let certificate = match &args.certificate_number {
        None => None,
        Some(number) => {
            let kind = match &args.certificate_kind {
                Some(text) => choice(&CERTIFICATE_KINDS, "--certificate-kind", text)?,
                None => get(client, &args.step.case_id).await?.certificate_kind,
            };
            Some(pb::Certificate {
                certificate_number: number.trim().to_string(),
                kind,
                subject: args.subject.clone().unwrap_or_default(),
                issuing_authority: args.authority.clone().unwrap_or_default(),
                certified_on: match &args.certified_on {
                    Some(_) => date(&args.certified_on),
                    None => crate::clock::today().to_string(),
                },
                ..Default::default()
            })
        }
    };
    let reissue_reason = match &args.reissue_reason {
        Some(text) => choice(&REISSUE_REASONS, "--reissue-reason", text)?,
        None => 0,
    };
    let step = &args.step;
    let request = pb::DecideCaseRequest {
        case_id: step.case_id.clone(),
        outcome,
        reasons: args.reasons.clone(),
        registration_reasons,
        review,
        certificate,
        reissue_reason,
        declaration_ref: args.declaration_ref.clone().unwrap_or_default(),
        new_name: args.new_name.clone().unwrap_or_default(),
        etag: step.options.etag.clone().unwrap_or_default(),
        step_date: date(&step.options.step_date),
        note: step.options.note.clone().unwrap_or_default(),
        request_id: step.options.request_id.clone().unwrap_or_default(),
    };
    let answer = client.decide_case(request).await;
    let teacher = answer
        .as_ref()
        .ok()
        .and_then(|r| r.get_ref().teacher.clone());
    summarize(answer.map(|r| r.into_inner().case), "decide", out)?;
    if let Some(teacher) = teacher {
        writeln!(out, "record {} ({})", teacher.teacher_id, teacher.name)?;
    }
    Ok(())
}

async fn list(client: &mut CaseClient, args: ListArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let states = args
        .states
        .iter()
        .map(|text| choice(&STATES, "--state", text))
        .collect::<Result<_, _>>()?;
    let kind = match &args.kind {
        Some(text) => choice(&CASE_KINDS, "--kind", text)?,
        None => 0,
    };
    let mut request = pb::ListCasesRequest {
        county_code: args.county.clone().unwrap_or_default(),
        states,
        kind,
        assignee: args.assignee.clone().unwrap_or_default(),
        overdue: args.overdue,
        due_within_working_days: args.due_within.unwrap_or(0),
        page_size: 1000,
        ..Default::default()
    };
    let mut rows = Vec::new();
    loop {
        let page = match client.list_cases(request.clone()).await {
            Ok(response) => response.into_inner(),
            Err(status) => return Err(refusal(status, "the cases could not be listed")),
        };
        rows.extend(page.cases);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    for case in &rows {
        writeln!(out, "{}", summary_line(case))?;
    }
    writeln!(out, "{}", super::count(rows.len() as u64, "case", "cases"))?;
    Ok(())
}

async fn get(client: &mut CaseClient, case_id: &str) -> anyhow::Result<pb::Case> {
    let request = pb::GetCaseRequest {
        case_id: case_id.trim().to_string(),
    };
    match client.get_case(request).await {
        Ok(response) => Ok(response.into_inner().case.unwrap_or_default()),
        Err(status) => Err(refusal(status, "the case could not be read")),
    }
}

/// Prints the case's one-line summary, or ends with the refusal.
fn summarize(
    answer: Result<Option<pb::Case>, tonic::Status>,
    what: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match answer {
        Ok(case) => {
            writeln!(out, "{}", summary_line(&case.unwrap_or_default()))?;
            Ok(())
        }
        Err(status) => Err(refusal(status, format!("could not {what} the case"))),
    }
}

/// `C…  KIND  STATE  applicant  received …  due … (legal …)  N working days[  OVERDUE]`.
pub(crate) fn summary_line(case: &pb::Case) -> String {
    let mut parts = vec![
        case.case_id.clone(),
        short(&CASE_KINDS, case.kind),
        short(&STATES, case.state),
    ];
    if case.outcome != 0 {
        parts.push(short(&OUTCOMES, case.outcome));
    }
    parts.push(case.applicant_name.clone());
    parts.push(format!("received {}", case.received_on));
    if !case.due_on.is_empty() {
        parts.push(format!("due {} (legal {})", case.due_on, case.legal_due_on));
    }
    if case.state != pb::CaseState::Refused as i32 && case.state != pb::CaseState::Withdrawn as i32
    {
        parts.push(super::count(
            u64::from(case.working_days_used),
            "working day",
            "working days",
        ));
    }
    if case.overdue {
        parts.push("OVERDUE".into());
    }
    parts.join("  ")
}

/// A case as a page: fields, clocks, materials, then every step.
fn write_case(case: &pb::Case, out: &mut impl Write) -> anyhow::Result<()> {
    let field = |out: &mut dyn Write, label: &str, value: &str| -> std::io::Result<()> {
        if value.is_empty() {
            return Ok(());
        }
        writeln!(out, "{label:<22}{value}")
    };
    writeln!(out, "case {}", case.case_id)?;
    field(out, "kind 类别", &CASE_KINDS.labelled(case.kind))?;
    field(out, "state 状态", &STATES.labelled(case.state))?;
    field(out, "outcome 结果", &OUTCOMES.labelled(case.outcome))?;
    field(out, "county 县区", &case.county_code)?;
    field(out, "applicant 申请人", &case.applicant_name)?;
    field(out, "registry number", &case.teacher_id)?;
    field(
        out,
        "certificate kind",
        &CERTIFICATE_KINDS.labelled(case.certificate_kind),
    )?;
    field(out, "certificate 证书", &case.certificate_number)?;
    field(out, "received 收件", &case.received_on)?;
    field(out, "accepted 受理", &case.accepted_on)?;
    field(out, "forwarded 转报", &case.forwarded_on)?;
    field(out, "county opinion", &case.county_opinion)?;
    field(out, "assignee 经办人", &case.assignee)?;
    field(out, "decided 办结", &case.decided_on)?;
    field(out, "due 承诺期限", &case.due_on)?;
    field(out, "legal due 法定期限", &case.legal_due_on)?;
    field(
        out,
        "working days used",
        &case.working_days_used.to_string(),
    )?;
    if case.overdue {
        field(out, "overdue 超期", "yes")?;
    }
    field(out, "materials 材料", &case.materials.join("; "))?;
    field(out, "missing 需补正", &case.missing.join("; "))?;
    field(out, "reasons 理由", &case.reasons.join("; "))?;
    let registration: Vec<String> = case
        .registration_reasons
        .iter()
        .map(|&r| REGISTRATION_REASONS.labelled(r))
        .collect();
    field(out, "registration reasons", &registration.join("; "))?;
    let review: Vec<String> = case
        .review
        .iter()
        .map(|&r| REVIEW_ITEMS.labelled(r))
        .collect();
    field(out, "reviewed 审查", &review.join("; "))?;
    field(out, "etag", &case.etag)?;
    writeln!(out, "steps")?;
    for step in &case.steps {
        let note = match step.note.as_str() {
            "" => String::new(),
            note => format!("  {note}"),
        };
        writeln!(
            out,
            "  {}  {}  {}{note}",
            step.step_date,
            ACTIONS.labelled(step.action),
            step.principal
        )?;
    }
    Ok(())
}

/// A value by its Chinese label or proto name, or a usage error naming the option.
fn choice(choices: &Choices, option: &str, text: &str) -> anyhow::Result<i32> {
    choices
        .parse(text.trim())
        .map_err(|problem| CommandError::Usage(format!("{option}: {problem}")).into())
}

/// The proto name without its prefix (`ACCEPTED`).
fn short(choices: &Choices, value: i32) -> String {
    (choices.name)(value)
        .map(|name| {
            name.strip_prefix(choices.prefix)
                .unwrap_or(name)
                .to_string()
        })
        .unwrap_or_default()
}

/// A date as a person writes it, reshaped as the import does; empty when not given.
fn date(text: &Option<String>) -> String {
    text.as_deref()
        .map(|t| reshape_date(t.trim()))
        .unwrap_or_default()
}
