//! The arguments of `teacher-registry round ...` (clap), apart from what the commands do
//! (`cli::round`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::step_args::StepOptions;

/// What every step of an application takes besides its own fields.
#[derive(Debug, Clone, Args)]
pub struct ApplicationStepArgs {
    /// The application number (C and eleven symbols).
    pub application_id: String,
    #[command(flatten)]
    pub options: StepOptions,
}

/// The steps and views of title evaluation rounds.
#[derive(Debug, Clone, Subcommand)]
pub enum RoundCommand {
    /// Open an evaluation round (HR): prints its number.
    Open {
        /// E.g. 2026年度中小学一级教师职称评审.
        #[arg(long)]
        name: String,
        /// The county whose bureau runs the round.
        #[arg(long)]
        county: String,
        /// The tier applied for: second-level, first-level, senior or full-senior (or
        /// the proto name).
        #[arg(long)]
        tier: String,
        /// The last day applications are taken.
        #[arg(long)]
        deadline: String,
        /// A committee member; repeat for each.
        #[arg(long = "member", required = true)]
        committee: Vec<String>,
        /// Working days of each publicity (at least 5).
        #[arg(long, default_value_t = 5)]
        publicity_days: u32,
        /// The pass ratio of the members present, as N/D.
        #[arg(long, default_value = "2/3")]
        pass_ratio: String,
        /// Full years required in the current tier.
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// The age from which a teacher can no longer apply.
        #[arg(long, default_value_t = 60)]
        retirement_age: u32,
    },
    /// Show a round, its applications and figures.
    Show {
        round_id: String,
        /// Only this county's applications and figures.
        #[arg(long)]
        county: Option<String>,
    },
    /// Record an ethics finding that vetoes promotion (师德一票否决), reviewed by another.
    Finding {
        teacher_id: String,
        #[arg(long)]
        found_on: String,
        /// What was found, under which rule.
        #[arg(long)]
        ground: String,
        /// The last day it vetoes a promotion.
        #[arg(long)]
        vetoes_until: String,
        /// The member of staff who reviewed it.
        #[arg(long)]
        reviewed_by: String,
    },
    /// List the ethics findings about a teacher, with who recorded and reviewed each.
    Findings { teacher_id: String },
    /// A teacher applies in a round; prints the application's line.
    Apply {
        round_id: String,
        teacher_id: String,
        /// 破格: the grounds of an exceptional application.
        #[arg(long)]
        exceptional: Option<String>,
        /// The day of application (default today).
        #[arg(long = "on", value_name = "DATE")]
        applied_on: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Open the next publicity of every application of the round ready for one.
    Publicity {
        round_id: String,
        /// Only this application; repeat for several.
        #[arg(long = "application")]
        applications: Vec<String>,
        #[arg(long = "on", value_name = "DATE")]
        step_date: Option<String>,
    },
    /// Record an objection raised during a publicity.
    Object {
        #[command(flatten)]
        step: ApplicationStepArgs,
        /// What the objection says.
        #[arg(long)]
        text: String,
    },
    /// Handle an objection: upheld closes the application; rejected lets it go on.
    Handle {
        #[command(flatten)]
        step: ApplicationStepArgs,
        /// The objection's position, from 0.
        #[arg(long, default_value_t = 0)]
        objection: u32,
        /// Upheld (default: rejected).
        #[arg(long)]
        upheld: bool,
    },
    /// Record the committee's results from a CSV or XLSX file (application, for,
    /// against, abstain[, present]).
    Votes {
        round_id: String,
        file: PathBuf,
        #[arg(long = "on", value_name = "DATE")]
        step_date: Option<String>,
    },
    /// Confirm every application of the round on result publicity (or those named):
    /// each passing teacher's promotion is written as it is confirmed.
    Confirm {
        round_id: String,
        /// The bureau's approval document.
        #[arg(long)]
        document: String,
        #[arg(long = "application")]
        applications: Vec<String>,
        /// The confirmed (and effective) date (default today).
        #[arg(long = "on", value_name = "DATE")]
        step_date: Option<String>,
    },
    /// Close an application as withdrawn or ineligible, saying why in --note.
    Close {
        #[command(flatten)]
        step: ApplicationStepArgs,
        /// withdrawn or ineligible.
        #[arg(long)]
        reason: String,
    },
    /// List who of a county (or school) is eligible for the round, and why not.
    Eligibility {
        round_id: String,
        #[arg(long)]
        county: String,
        #[arg(long)]
        school: Option<String>,
        #[arg(long = "on", value_name = "DATE")]
        on: Option<String>,
    },
}
