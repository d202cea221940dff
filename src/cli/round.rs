//! `teacher-registry round ...`: title evaluation rounds from the command line, one
//! subcommand per step (the EvaluationService's RPCs). Each prints a line per application
//! it touched (`C…  SCHOOL_PUBLICITY  教师1  350702  publicity 2026-11-02..2026-11-06`), and
//! the batch commands a line per refusal with its rule, then a count; the command fails
//! when any application was refused.

use std::io::Write;

use anyhow::bail;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::committee_file::read_committee_file;
use super::round_args::{ApplicationStepArgs, RoundCommand};
use super::step_args::StepOptions;
use super::{connect_channel, count, refusal, BearerToken, CommandError};
use crate::api::pb;
use crate::api::pb::evaluation_service_client::EvaluationServiceClient;

type RoundClient = EvaluationServiceClient<InterceptedService<Channel, BearerToken>>;

/// Runs one `round` command against the registry at `server`.
pub async fn run_round(
    server: &str,
    command: RoundCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (channel, token) = connect_channel(server).await?;
    let mut client = EvaluationServiceClient::with_interceptor(channel, token);
    match command {
        RoundCommand::Open {
            name,
            county,
            tier,
            deadline,
            committee,
            publicity_days,
            pass_ratio,
            years,
            retirement_age,
        } => {
            let (numerator, denominator) = ratio(&pass_ratio)?;
            let request = pb::CreateEvaluationRoundRequest {
                round: Some(pb::EvaluationRound {
                    name,
                    county_code: county,
                    target_tier: tier_number(&tier)?,
                    application_deadline: deadline,
                    publicity_working_days: publicity_days,
                    pass_ratio_numerator: numerator,
                    pass_ratio_denominator: denominator,
                    years_in_tier: years,
                    retirement_age,
                    committee,
                    ..Default::default()
                }),
                request_id: String::new(),
            };
            let round = client
                .create_evaluation_round(request)
                .await
                .map_err(|s| refusal(s, "could not open the round"))?
                .into_inner()
                .round
                .unwrap_or_default();
            writeln!(out, "{}", round.round_id)?;
            Ok(())
        }
        RoundCommand::Show { round_id, county } => show(&mut client, round_id, county, out).await,
        RoundCommand::Finding {
            teacher_id,
            found_on,
            ground,
            vetoes_until,
            reviewed_by,
        } => {
            let request = pb::RecordEthicsFindingRequest {
                finding: Some(pb::EthicsFinding {
                    teacher_id,
                    found_on,
                    ground,
                    vetoes_until,
                    reviewed_by,
                    ..Default::default()
                }),
                request_id: String::new(),
            };
            let finding = client
                .record_ethics_finding(request)
                .await
                .map_err(|s| refusal(s, "could not record the finding"))?
                .into_inner()
                .finding
                .unwrap_or_default();
            writeln!(out, "{}", finding_line(&finding))?;
            Ok(())
        }
        RoundCommand::Findings { teacher_id } => {
            let findings = client
                .list_ethics_findings(pb::ListEthicsFindingsRequest { teacher_id })
                .await
                .map_err(|s| refusal(s, "could not list the findings"))?
                .into_inner()
                .findings;
            for finding in &findings {
                writeln!(out, "{}", finding_line(finding))?;
            }
            Ok(())
        }
        RoundCommand::Apply {
            round_id,
            teacher_id,
            exceptional,
            applied_on,
            request_id,
        } => {
            let request = pb::ApplyForTitleRequest {
                round_id,
                teacher_id,
                exceptional_grounds: exceptional.unwrap_or_default(),
                applied_on: applied_on.unwrap_or_default(),
                note: String::new(),
                request_id: request_id.unwrap_or_default(),
            };
            let answer = client.apply_for_title(request).await;
            let application = answer
                .map_err(|s| refusal(s, "could not apply"))?
                .into_inner()
                .application;
            writeln!(out, "{}", line(&application.unwrap_or_default()))?;
            Ok(())
        }
        RoundCommand::Publicity {
            round_id,
            applications,
            step_date,
        } => {
            let request = pb::OpenPublicityRequest {
                round_id,
                application_ids: applications,
                step_date: step_date.unwrap_or_default(),
                ..Default::default()
            };
            let outcomes = client
                .open_publicity(request)
                .await
                .map_err(|s| refusal(s, "could not open the publicity"))?
                .into_inner()
                .outcomes;
            print_outcomes(&outcomes, "on publicity", out)
        }
        RoundCommand::Object { step, text } => {
            let request = pb::RecordObjectionRequest {
                application_id: step.application_id.clone(),
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: step.options.step_date.clone().unwrap_or_default(),
                text,
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.record_objection(request).await;
            print_step(
                answer.map(|r| r.into_inner().application),
                "record the objection",
                out,
            )
        }
        RoundCommand::Handle {
            step,
            objection,
            upheld,
        } => {
            let ApplicationStepArgs {
                application_id,
                options:
                    StepOptions {
                        step_date,
                        note,
                        etag,
                        request_id,
                    },
            } = step;
            let request = pb::HandleObjectionRequest {
                application_id,
                etag: etag.unwrap_or_default(),
                step_date: step_date.unwrap_or_default(),
                objection_index: objection,
                upheld,
                note: note.unwrap_or_default(),
                request_id: request_id.unwrap_or_default(),
            };
            let answer = client.handle_objection(request).await;
            print_step(
                answer.map(|r| r.into_inner().application),
                "handle the objection",
                out,
            )
        }
        RoundCommand::Votes {
            round_id,
            file,
            step_date,
        } => {
            let rows =
                read_committee_file(&file).map_err(|e| CommandError::Usage(format!("{e:#}")))?;
            let request = pb::RecordCommitteeResultsRequest {
                round_id,
                rows,
                step_date: step_date.unwrap_or_default(),
                ..Default::default()
            };
            let outcomes = client
                .record_committee_results(request)
                .await
                .map_err(|s| refusal(s, "could not record the committee's results"))?
                .into_inner()
                .outcomes;
            print_outcomes(&outcomes, "voted on", out)
        }
        RoundCommand::Confirm {
            round_id,
            document,
            applications,
            step_date,
        } => {
            let request = pb::ConfirmApplicationsRequest {
                round_id,
                application_ids: applications,
                approval_document: document,
                step_date: step_date.unwrap_or_default(),
                ..Default::default()
            };
            let mut stream = client
                .confirm_applications(request)
                .await
                .map_err(|s| refusal(s, "could not confirm the round"))?
                .into_inner();
            let mut outcomes = Vec::new();
            while let Some(message) = stream
                .message()
                .await
                .map_err(|s| refusal(s, "the confirmation stopped"))?
            {
                if let Some(pb::confirm_applications_response::Result::Outcome(o)) = message.result
                {
                    outcomes.push(o);
                }
            }
            print_outcomes(&outcomes, "confirmed", out)
        }
        RoundCommand::Close { step, reason } => {
            let reason = match reason.trim().to_ascii_lowercase().as_str() {
                "withdrawn" | "撤回" => pb::CloseReason::Withdrawn,
                "ineligible" | "不符合条件" => pb::CloseReason::Ineligible,
                other => bail!(CommandError::Usage(format!(
                    "--reason {other:?}: withdrawn (撤回) or ineligible (不符合条件)"
                ))),
            };
            let request = pb::CloseTitleApplicationRequest {
                application_id: step.application_id.clone(),
                etag: step.options.etag.clone().unwrap_or_default(),
                step_date: step.options.step_date.clone().unwrap_or_default(),
                reason: reason as i32,
                note: step.options.note.clone().unwrap_or_default(),
                request_id: step.options.request_id.clone().unwrap_or_default(),
            };
            let answer = client.close_title_application(request).await;
            print_step(
                answer.map(|r| r.into_inner().application),
                "close the application",
                out,
            )
        }
        RoundCommand::Eligibility {
            round_id,
            county,
            school,
            on,
        } => {
            let request = pb::CheckEligibilityRequest {
                round_id,
                county_code: county,
                school: school.unwrap_or_default(),
                on: on.unwrap_or_default(),
            };
            let rows = client
                .check_eligibility(request)
                .await
                .map_err(|s| refusal(s, "could not check eligibility"))?
                .into_inner()
                .rows;
            let eligible = rows.iter().filter(|r| r.eligible).count() as u64;
            for row in &rows {
                let verdict = if row.eligible {
                    "符合条件 eligible".to_string()
                } else {
                    row.reasons.join(", ")
                };
                writeln!(
                    out,
                    "{}  {}  {}  {verdict}",
                    row.teacher_id, row.name, row.school
                )?;
            }
            writeln!(
                out,
                "{} of {}",
                count(eligible, "teacher eligible", "teachers eligible"),
                rows.len()
            )?;
            Ok(())
        }
    }
}

async fn show(
    client: &mut RoundClient,
    round_id: String,
    county: Option<String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let round = client
        .get_evaluation_round(pb::GetEvaluationRoundRequest {
            round_id: round_id.clone(),
        })
        .await
        .map_err(|s| refusal(s, "could not read the round"))?
        .into_inner()
        .round
        .unwrap_or_default();
    writeln!(
        out,
        "{}  {}  {}  applications until {}  publicity {} working days  pass {}/{} of those present  committee {}",
        round.round_id,
        round.name,
        tier_name(round.target_tier),
        round.application_deadline,
        round.publicity_working_days,
        round.pass_ratio_numerator,
        round.pass_ratio_denominator,
        round.committee.len()
    )?;
    let county = county.unwrap_or_default();
    // Every page, in number order.
    let mut page_token = String::new();
    loop {
        let page = client
            .list_title_applications(pb::ListTitleApplicationsRequest {
                round_id: round_id.clone(),
                county_code: county.clone(),
                page_size: 1000,
                page_token,
            })
            .await
            .map_err(|s| refusal(s, "could not list the applications"))?
            .into_inner();
        for application in &page.applications {
            writeln!(out, "{}", line(application))?;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let statistics = client
        .get_round_statistics(pb::GetRoundStatisticsRequest {
            round_id,
            county_code: county,
        })
        .await
        .map_err(|s| refusal(s, "could not read the figures"))?
        .into_inner();
    writeln!(
        out,
        "county  tier  applied  eligible  objected  passed  confirmed"
    )?;
    for f in statistics.figures.iter().chain(statistics.total.as_ref()) {
        let county = if f.county_code.is_empty() {
            "total"
        } else {
            f.county_code.as_str()
        };
        writeln!(
            out,
            "{county}  {}  {}  {}  {}  {}  {}",
            tier_name(f.tier),
            f.applied,
            f.eligible,
            f.objected,
            f.passed,
            f.confirmed
        )?;
    }
    Ok(())
}

/// `T…  师德一票否决 from..until  ground  recorded by …, reviewed by …`.
fn finding_line(finding: &pb::EthicsFinding) -> String {
    format!(
        "{}  师德一票否决 {}..{}  {}  recorded by {}, reviewed by {}",
        finding.teacher_id,
        finding.found_on,
        finding.vetoes_until,
        finding.ground,
        finding.recorded_by,
        finding.reviewed_by
    )
}

/// `C…  STATE  name  county  [publicity a..b]  [vote f/a/b of p]  [reason]`.
fn line(application: &pb::TitleApplication) -> String {
    let state = pb::ApplicationState::try_from(application.state).map_or_else(
        |_| application.state.to_string(),
        |s| short(s.as_str_name(), "APPLICATION_STATE_"),
    );
    let mut parts = vec![
        application.application_id.clone(),
        state,
        application.applicant_name.clone(),
        application.county_code.clone(),
        tier_name(application.target_tier),
    ];
    if let Some(p) = application.publicity.last() {
        parts.push(format!("publicity {}..{}", p.starts_on, p.ends_on));
    }
    if let Some(v) = &application.vote {
        parts.push(format!(
            "vote {}/{}/{} of {}{}",
            v.votes_for,
            v.against,
            v.abstain,
            v.present,
            if v.passed { " passed" } else { "" }
        ));
    }
    if let Ok(reason) = pb::CloseReason::try_from(application.close_reason) {
        if reason != pb::CloseReason::Unspecified {
            parts.push(short(reason.as_str_name(), "CLOSE_REASON_"));
        }
    }
    if !application.confirmed_on.is_empty() {
        parts.push(format!("confirmed {}", application.confirmed_on));
    }
    parts.join("  ")
}

fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

fn tier_name(tier: i32) -> String {
    pb::TitleTier::try_from(tier).map_or_else(
        |_| tier.to_string(),
        |t| short(t.as_str_name(), "TITLE_TIER_"),
    )
}

fn tier_number(raw: &str) -> anyhow::Result<i32> {
    let wanted = raw.trim().to_ascii_uppercase().replace('-', "_");
    let wanted = wanted
        .strip_prefix("TITLE_TIER_")
        .unwrap_or(&wanted)
        .to_string();
    let chinese = [
        ("二级", pb::TitleTier::SecondLevel),
        ("一级", pb::TitleTier::FirstLevel),
        ("高级", pb::TitleTier::Senior),
        ("正高级", pb::TitleTier::FullSenior),
    ];
    if let Some((_, tier)) = chinese.iter().find(|(name, _)| raw.trim() == *name) {
        return Ok(*tier as i32);
    }
    match pb::TitleTier::from_str_name(&format!("TITLE_TIER_{wanted}")) {
        Some(tier) if tier != pb::TitleTier::Unspecified => Ok(tier as i32),
        _ => bail!(CommandError::Usage(format!(
            "--tier {raw:?}: second-level (二级), first-level (一级), senior (高级) or full-senior (正高级)"
        ))),
    }
}

fn ratio(raw: &str) -> anyhow::Result<(u32, u32)> {
    let parsed = raw
        .split_once('/')
        .and_then(|(n, d)| Some((n.trim().parse().ok()?, d.trim().parse().ok()?)));
    parsed.ok_or_else(|| {
        CommandError::Usage(format!("--pass-ratio {raw:?}: a fraction such as 2/3")).into()
    })
}

fn print_step(
    answer: Result<Option<pb::TitleApplication>, tonic::Status>,
    what: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match answer {
        Ok(application) => {
            writeln!(out, "{}", line(&application.unwrap_or_default()))?;
            Ok(())
        }
        Err(status) => Err(refusal(status, format!("could not {what}"))),
    }
}

/// A line per application (its state, or its refusal with the rule), then the count;
/// fails when any was refused.
fn print_outcomes(
    outcomes: &[pb::ApplicationOutcome],
    done: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut refused = 0u64;
    for outcome in outcomes {
        match &outcome.application {
            Some(application) => writeln!(out, "{}", line(application))?,
            None => {
                refused += 1;
                writeln!(
                    out,
                    "{}  refused  {} {}: {}",
                    outcome.application_id, outcome.error_code, outcome.reason, outcome.message
                )?;
            }
        }
    }
    let taken = outcomes.len() as u64 - refused;
    writeln!(
        out,
        "{} {done}, {} refused",
        count(taken, "application", "applications"),
        refused
    )?;
    if refused > 0 {
        bail!(CommandError::Refused(format!(
            "{} refused: see the lines above",
            count(refused, "application was", "applications were")
        )));
    }
    Ok(())
}
