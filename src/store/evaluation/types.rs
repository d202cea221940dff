//! The title-evaluation commands and answers as plain data.
//!
//! Apart from what a command does (`store::evaluation`) because the stored formats
//! (`store::format`) and the writer's queue name these types, while the commands' checks
//! call into the stored formats: here the types name nothing of the store.

use chrono::NaiveDate;

use crate::domain::case::evaluation::{Application, CloseReason, EvaluationRound, NewRound, Vote};
use crate::domain::case::CaseId;
use crate::domain::ethics::{EthicsFinding, NewEthicsFinding};
use crate::domain::{Teacher, TeacherId};

/// A change to title evaluation, as queued for the writer.
#[derive(Debug, Clone)]
pub enum EvaluationCommand {
    /// Opens a round (validated by the caller).
    OpenRound { new: NewRound },
    /// Records an ethics finding about a teacher.
    RecordFinding {
        teacher_id: TeacherId,
        finding: NewEthicsFinding,
    },
    /// A teacher applies in a round, after the eligibility checks.
    Apply {
        round_id: CaseId,
        teacher_id: TeacherId,
        /// 破格: the grounds.
        exceptional_grounds: Option<String>,
        /// The day of application; `None`: today.
        on: Option<NaiveDate>,
        note: String,
    },
    /// A step of an application.
    Step {
        application_id: CaseId,
        expected_etag: Option<String>,
        on: Option<NaiveDate>,
        note: String,
        step: ApplicationStepRequest,
    },
}

/// Which step.
#[derive(Debug, Clone)]
pub enum ApplicationStepRequest {
    OpenPublicity,
    RecordObjection { text: String },
    HandleObjection { index: u32, upheld: bool },
    RecordVote { vote: Vote },
    Confirm { approval_document: String },
    Close { reason: CloseReason },
}

/// The answer to an accepted evaluation command.
// One value at a time, while a request is answered: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvaluationAnswer {
    Round(EvaluationRound),
    Finding(EthicsFinding),
    Application {
        application: Application,
        /// The teacher after a confirmation's promotion.
        teacher: Option<Teacher>,
    },
}
