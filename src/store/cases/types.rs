//! The case commands and answers as plain data.
//!
//! Apart from what a step does (`store::cases`) because the stored formats
//! (`store::format`) and the writer's queue name these types, while a step's checks call
//! into the stored formats: here the types name nothing of the store.

use chrono::NaiveDate;

use crate::domain::case::{Case, CaseId, ConsultationChannel, Decision, NewCase};
use crate::domain::{CountyCode, NewCertificate, Reissue, Teacher};

/// A change to the registry's cases, as queued for the writer.
#[derive(Debug, Clone)]
pub enum CaseCommand {
    /// Records a case as received at the window.
    Open { new: NewCase, note: String },
    /// Takes a step on an existing case.
    Step {
        case_id: CaseId,
        /// Refuse with ABORTED unless the case still has this etag.
        expected_etag: Option<String>,
        /// The working date the step counts for; `None`: today.
        on: Option<NaiveDate>,
        note: String,
        step: CaseStepRequest,
    },
}

/// Which step.
#[derive(Debug, Clone)]
pub enum CaseStepRequest {
    Accept,
    Refuse {
        reason: String,
    },
    RequestSupplement {
        missing: Vec<String>,
    },
    ReceiveSupplement {
        materials: Vec<String>,
    },
    Forward {
        opinion: String,
    },
    Assign {
        assignee: String,
    },
    Withdraw,
    Decide {
        decision: Decision,
        effect: Option<DecisionEffect>,
    },
}

/// What an approval does to the teacher's record, beyond what the case says.
#[derive(Debug, Clone)]
pub enum DecisionEffect {
    /// Certification: the certificate issued.
    Certify(NewCertificate),
    /// Reissue: the new copy.
    Reissue(Reissue),
}

/// The answer to an accepted case command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseAnswer {
    pub case: Case,
    /// The applicant's record after a decision's effect.
    pub teacher: Option<Teacher>,
}

/// A consultation as the window records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsultation {
    pub on: NaiveDate,
    pub county_code: CountyCode,
    pub topic: String,
    pub channel: ConsultationChannel,
}
