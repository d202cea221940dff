//! The arguments of `teacher-registry case ...` (clap), apart from what the commands do
//! (`cli::case`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::case_report::CaseReportArgs;
use super::step_args::StepOptions;

/// What every step takes besides its own fields.
#[derive(Debug, Clone, Args)]
pub struct StepArgs {
    /// The case number (C and eleven symbols, as on the receipt).
    pub case_id: String,
    #[command(flatten)]
    pub options: StepOptions,
}

/// The steps and views of a case.
#[derive(Debug, Clone, Subcommand)]
pub enum CaseCommand {
    /// Record an application received at the window.
    Open(OpenArgs),
    /// Accept a received case (受理): the clock starts.
    Accept(StepArgs),
    /// Refuse a case at intake (不予受理).
    Refuse {
        #[command(flatten)]
        step: StepArgs,
        /// The reason given to the applicant.
        #[arg(long)]
        reason: String,
    },
    /// Give the one notice listing everything missing (一次性告知补正); the clock stops.
    Supplement {
        #[command(flatten)]
        step: StepArgs,
        /// A missing item; repeat for each.
        #[arg(long = "missing", required = true)]
        missing: Vec<String>,
    },
    /// Record the missing materials as received; the clock runs again.
    Receive {
        #[command(flatten)]
        step: StepArgs,
        /// An item received; repeat for each.
        #[arg(long = "material", required = true)]
        materials: Vec<String>,
    },
    /// Send a two-level certification to the city with the county's opinion.
    Forward {
        #[command(flatten)]
        step: StepArgs,
        /// The county's opinion.
        #[arg(long)]
        opinion: String,
    },
    /// Give the case to a member of staff.
    Assign {
        #[command(flatten)]
        step: StepArgs,
        /// Who works the case.
        #[arg(long = "to")]
        assignee: String,
    },
    /// Record that the applicant withdrew.
    Withdraw(StepArgs),
    /// Decide the case; an approval applies its effect on the record in the same write.
    Decide(DecideArgs),
    /// Print a case: its state, clocks, materials and every step.
    Show {
        /// The case number.
        case_id: String,
    },
    /// List cases, earliest due first.
    List(ListArgs),
    /// Print the window's figures for a year: received, accepted, refused, decided, on
    /// time, overdue, median working days, consultations.
    Report(CaseReportArgs),
    /// Write the receipt, the supplement notice or the decision notice as a page ready to
    /// print (HTML, in Chinese).
    Print {
        /// The case number.
        case_id: String,
        /// receipt (受理回执), supplement (补正告知书) or decision (决定书).
        #[arg(long, value_parser = ["receipt", "supplement", "decision"])]
        notice: String,
        /// The file to write (`.html`).
        #[arg(long)]
        out: PathBuf,
        /// The bureau named on the page.
        #[arg(long, default_value = "教育局")]
        bureau: String,
    },
}

/// `case open`.
#[derive(Debug, Clone, Args)]
pub struct OpenArgs {
    /// certification (资格认定), reissue (补发换发) or registration (定期注册).
    #[arg(long)]
    pub kind: String,
    /// The county whose window received it (six digits).
    #[arg(long)]
    pub county: String,
    /// The day received (default today).
    #[arg(long)]
    pub received_on: Option<String>,
    /// An item handed in; repeat for each.
    #[arg(long = "material")]
    pub materials: Vec<String>,
    /// Certification: the kind applied for (小学, 高级中学, ... or PRIMARY_SCHOOL, ...).
    #[arg(long)]
    pub certificate_kind: Option<String>,
    /// Reissue, registration: the certificate concerned.
    #[arg(long)]
    pub certificate_number: Option<String>,
    /// Certification by someone with a record: their registry number.
    #[arg(long)]
    pub teacher_id: Option<String>,
    /// Certification by someone without a record: their name.
    #[arg(long)]
    pub name: Option<String>,
    /// ... their identity document number.
    #[arg(long)]
    pub national_id: Option<String>,
    /// ... its type (default the resident identity card).
    #[arg(long, default_value = "RESIDENT_ID_CARD")]
    pub id_document_type: String,
    /// ... 男/女 or MALE/FEMALE.
    #[arg(long)]
    pub gender: Option<String>,
    /// ... their birth date.
    #[arg(long)]
    pub birth_date: Option<String>,
    /// ... their school or unit, if any.
    #[arg(long)]
    pub school: Option<String>,
    /// ... their employment status (default 在职 ACTIVE).
    #[arg(long, default_value = "ACTIVE")]
    pub employment_status: String,
    /// A note kept with the opening step.
    #[arg(long)]
    pub note: Option<String>,
    /// An idempotency key: a retry with it gets the first answer.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Print only the case number.
    #[arg(long)]
    pub id_only: bool,
}

/// `case decide`.
#[derive(Debug, Clone, Args)]
pub struct DecideArgs {
    #[command(flatten)]
    pub step: StepArgs,
    /// approved (准予), denied (不予) or deferred (暂缓, registration only).
    #[arg(long)]
    pub outcome: String,
    /// A reason (required for a denial of certification or reissue); repeat for each.
    #[arg(long = "reason")]
    pub reasons: Vec<String>,
    /// Registration: a reason to defer or refuse (培训学时不足, ...); repeat for each.
    #[arg(long = "registration-reason")]
    pub registration_reasons: Vec<String>,
    /// Certification: a review item checked (学历, 普通话水平, 体检, 教育教学能力);
    /// repeat for each.
    #[arg(long = "checked")]
    pub checked: Vec<String>,
    /// Certification: record all four review items as checked.
    #[arg(long)]
    pub all_checked: bool,
    /// Approved certification: the number of the certificate issued.
    #[arg(long)]
    pub certificate_number: Option<String>,
    /// ... its kind (default the kind applied for, which must match).
    #[arg(long)]
    pub certificate_kind: Option<String>,
    /// ... its subject.
    #[arg(long)]
    pub subject: Option<String>,
    /// ... the certifying authority.
    #[arg(long)]
    pub authority: Option<String>,
    /// ... the date certified (default today).
    #[arg(long)]
    pub certified_on: Option<String>,
    /// Approved reissue: LOST (遗失), DAMAGED (损毁) or DETAILS_CHANGED (信息变更).
    #[arg(long)]
    pub reissue_reason: Option<String>,
    /// ... the holder's signed self-declaration (required for LOST).
    #[arg(long)]
    pub declaration_ref: Option<String>,
    /// ... DETAILS_CHANGED: the holder's new name.
    #[arg(long)]
    pub new_name: Option<String>,
}

/// `case list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only this county (county principals see only their own).
    #[arg(long)]
    pub county: Option<String>,
    /// Only cases in this state; repeat for several.
    #[arg(long = "state")]
    pub states: Vec<String>,
    /// Only this kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this assignee's.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Only open cases past their committed due date.
    #[arg(long)]
    pub overdue: bool,
    /// Only open cases due within this many working days.
    #[arg(long, value_name = "DAYS")]
    pub due_within: Option<u32>,
}
