//! `teacher-registry case ...`: the window's commands, one subcommand each; the arguments
//! and the work of each live in its own file (`case_report.rs`, ...), so this enum is all
//! they share.

use std::io::Write;

use clap::Subcommand;

use super::case_report::{print_case_report, CaseReportArgs};

/// The `case` subcommands.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Print the window's figures for a year: received, accepted, refused, decided, on
    /// time, overdue, median working days, consultations.
    Report(CaseReportArgs),
}

/// Runs a `case` subcommand, writing what a person reads to `out`.
pub async fn run_case(command: &CaseCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        CaseCommand::Report(args) => print_case_report(args, out).await,
    }
}
