//! `teacher-registry transition`: the reform transition of a county, as a table.
//!
//! The effective date is read as an import reads a date cell (`2016/09/01`, `20160901`,
//! `2016年9月1日` as well as `2016-09-01`), so one person's habits work in both.

use std::io::Write;

use anyhow::bail;

use super::rows::reshape_date;
use super::{connect, refusal, short_name};
use crate::api::pb;
use crate::api::pb::transition_titles_response::Result as Item;

/// What to transition.
#[derive(Debug, Clone, clap::Args)]
pub struct TransitionArgs {
    /// The registry: host:port, http://host:port, or https://host:port for TLS.
    #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
    pub server: String,
    /// The county's six-digit code.
    #[arg(long)]
    pub county: String,
    /// The date the new titles take effect: YYYY-MM-DD, or as an import reads dates
    /// (YYYY/MM/DD, YYYYMMDD, YYYY年M月D日).
    #[arg(long)]
    pub effective_date: String,
    /// The approval document, e.g. "Nan Ren She [2016] No. 88".
    #[arg(long)]
    pub approval_document: String,
    /// Show what would happen and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs (or previews) the transition and prints one row per teacher and the summary.
/// Fails when the server refuses the request or the stream breaks; teachers applied
/// before a break stay applied, and running the command again finishes the rest.
pub async fn run_transition(args: &TransitionArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let effective_date = reshape_date(args.effective_date.trim());
    let mut client = connect(&args.server).await?;
    let request = pb::TransitionTitlesRequest {
        teacher_ids: Vec::new(),
        county_code: args.county.clone(),
        effective_date: effective_date.clone(),
        approval_document: args.approval_document.clone(),
        dry_run: args.dry_run,
        request_id: String::new(),
    };
    let mut stream = match client.transition_titles(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Err(refusal(status, "the registry refused the transition")),
    };
    writeln!(
        out,
        "{} of county {} effective {} ({})",
        if args.dry_run {
            "DRY RUN: transition"
        } else {
            "Transition"
        },
        args.county,
        effective_date,
        args.approval_document
    )?;
    writeln!(
        out,
        "{:<14} {:<18} {:<18} {:<13} {:<7} note",
        "teacher", "outcome", "legacy title", "new tier", "scope"
    )?;
    loop {
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => {
                bail!("the stream ended without a summary; run the command again to finish")
            }
            Err(status) => return Err(refusal(status, "the transition stopped")),
        };
        match message.result {
            Some(Item::Teacher(t)) => print_row(&t, out)?,
            Some(Item::Summary(summary)) => {
                print_summary(&summary, out)?;
                return Ok(());
            }
            None => bail!("the registry sent an empty message"),
        }
    }
}

fn print_row(t: &pb::TeacherTransition, out: &mut impl Write) -> std::io::Result<()> {
    let outcome = short_name(t.outcome().as_str_name(), "TRANSITION_OUTCOME_");
    let (legacy, tier, scope) = match t.outcome() {
        pb::TransitionOutcome::Transitioned | pb::TransitionOutcome::WouldTransition => (
            short_name(t.legacy_title().as_str_name(), "LEGACY_TITLE_"),
            short_name(t.tier().as_str_name(), "TITLE_TIER_"),
            if t.limited_scope { "limited" } else { "" },
        ),
        _ => (String::new(), String::new(), ""),
    };
    let note = match t.outcome() {
        pb::TransitionOutcome::Skipped if !t.survivor_teacher_id.is_empty() => format!(
            "{} into {}",
            short_name(t.skip_reason().as_str_name(), "TRANSITION_SKIP_REASON_"),
            t.survivor_teacher_id
        ),
        pb::TransitionOutcome::Skipped => {
            short_name(t.skip_reason().as_str_name(), "TRANSITION_SKIP_REASON_")
        }
        pb::TransitionOutcome::Failed => t.error.clone(),
        _ => String::new(),
    };
    let line = format!(
        "{:<14} {:<18} {:<18} {:<13} {:<7} {}",
        t.teacher_id, outcome, legacy, tier, scope, note
    );
    writeln!(out, "{}", line.trim_end())
}

fn print_summary(summary: &pb::TransitionSummary, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "selected:         {}", summary.selected)?;
    if summary.dry_run {
        writeln!(out, "would transition: {}", summary.would_transition)?;
    } else {
        writeln!(out, "transitioned:     {}", summary.transitioned)?;
    }
    writeln!(out, "skipped:          {}", summary.skipped)?;
    for skipped in &summary.skipped_by_reason {
        writeln!(
            out,
            "  {:<22} {}",
            short_name(skipped.reason().as_str_name(), "TRANSITION_SKIP_REASON_"),
            skipped.count
        )?;
    }
    writeln!(out, "failed:           {}", summary.failed)?;
    if summary.dry_run {
        writeln!(out, "Nothing was changed (dry run).")?;
    }
    Ok(())
}
