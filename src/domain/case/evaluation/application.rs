//! An application for a title in a round, and its steps:
//!
//! ```text
//! applied → school publicity → (committee vote) → committee review → result publicity → confirmed
//!    └──────────────┴────────────── closed with a reason ──────────────┴───────────┘
//! ```
//!
//! Each publicity lasts the round's working days from its first working day; objections
//! can be recorded while it runs and each is handled, upheld (the application closes) or
//! rejected, by a named member of staff. The vote can be recorded once the school
//! publicity is over with every objection handled; a vote under the round's ratio closes
//! the application. Confirmation waits for the result publicity to end likewise.

use chrono::NaiveDate;

use crate::domain::case::{refuse, CaseId, Step, StepContext, WorkingCalendar};
use crate::domain::{CountyCode, DomainError, TeacherId, TitleTier, UnixMicros};

use super::{EvaluationRound, Vote};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationState {
    Applied,
    SchoolPublicity,
    /// The committee passed it; the result publicity is next.
    CommitteeReview,
    ResultPublicity,
    Confirmed,
    Closed,
}

impl ApplicationState {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Confirmed | Self::Closed)
    }
}

/// Why an application closed without a promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The applicant withdrew.
    Withdrawn,
    /// Found ineligible after applying (e.g. a registration lapsed, a finding recorded).
    Ineligible,
    /// An objection during a publicity was upheld.
    ObjectionUpheld,
    /// The committee's vote fell short of the round's ratio.
    CommitteeRejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicityStage {
    /// 校内公示, before the committee.
    School,
    /// 结果公示, after it.
    Result,
}

/// A publicity period: its first and last working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publicity {
    pub stage: PublicityStage,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// An objection recorded during a publicity, and how it was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objection {
    pub stage: PublicityStage,
    pub raised_on: NaiveDate,
    pub text: String,
    pub recorded_by: String,
    /// `Some(true)`: upheld; `Some(false)`: rejected; `None`: not yet handled.
    pub upheld: Option<bool>,
    pub handled_on: Option<NaiveDate>,
    pub handled_by: Option<String>,
    pub handling_note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationAction {
    Applied,
    PublicityOpened,
    ObjectionRecorded,
    ObjectionHandled,
    VoteRecorded,
    Confirmed,
    Closed,
}

/// One entry of an application's history.
pub type ApplicationStep = Step<ApplicationAction>;

/// An application for the round's tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: CaseId,
    pub round_id: CaseId,
    pub teacher_id: TeacherId,
    /// The applicant's county when they applied: its staff see the application.
    pub county_code: CountyCode,
    pub school: String,
    pub applicant_name: String,
    pub from_tier: TitleTier,
    pub target_tier: TitleTier,
    /// 破格: the grounds, when the application is exceptional.
    pub exceptional_grounds: Option<String>,
    pub state: ApplicationState,
    pub applied_on: NaiveDate,
    pub publicity: Vec<Publicity>,
    pub objections: Vec<Objection>,
    pub vote: Option<Vote>,
    pub close_reason: Option<CloseReason>,
    pub confirmed_on: Option<NaiveDate>,
    pub approval_document: String,
    pub steps: Vec<ApplicationStep>,
    pub revision: u64,
    pub create_time: UnixMicros,
    pub update_time: UnixMicros,
}

/// What a new application needs; the store fills it from the teacher's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub teacher_id: TeacherId,
    pub county_code: CountyCode,
    pub school: String,
    pub applicant_name: String,
    pub from_tier: TitleTier,
    pub exceptional_grounds: Option<String>,
}

impl Application {
    /// An application made on `context.today`; eligibility was checked before.
    pub fn apply(
        id: CaseId,
        round: &EvaluationRound,
        new: NewApplication,
        context: &StepContext<'_>,
    ) -> Result<Application, DomainError> {
        if context.today > round.application_deadline {
            return Err(refuse(
                "ROUND_CLOSED",
                format!(
                    "round {} took applications until {}",
                    round.id, round.application_deadline
                ),
            ));
        }
        if let Some(grounds) = &new.exceptional_grounds {
            if grounds.trim().is_empty() {
                return Err(DomainError::invalid(
                    "exceptional_grounds",
                    "an exceptional (破格) application states its grounds",
                ));
            }
        }
        let mut application = Application {
            id,
            round_id: round.id.clone(),
            teacher_id: new.teacher_id,
            county_code: new.county_code,
            school: new.school,
            applicant_name: new.applicant_name,
            from_tier: new.from_tier,
            target_tier: round.target_tier,
            exceptional_grounds: new.exceptional_grounds.map(|g| g.trim().to_string()),
            state: ApplicationState::Applied,
            applied_on: context.today,
            publicity: Vec::new(),
            objections: Vec::new(),
            vote: None,
            close_reason: None,
            confirmed_on: None,
            approval_document: String::new(),
            steps: Vec::new(),
            revision: 0,
            create_time: context.time,
            update_time: context.time,
        };
        application.record(ApplicationAction::Applied, context);
        Ok(application)
    }

    /// The etag clients send back to change this application (AIP-154).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }

    pub fn is_exceptional(&self) -> bool {
        self.exceptional_grounds.is_some()
    }

    /// The publicity period running or last run.
    pub fn current_publicity(&self) -> Option<&Publicity> {
        self.publicity.last()
    }

    fn record(&mut self, action: ApplicationAction, context: &StepContext<'_>) {
        self.steps.push(ApplicationStep::taken(action, context));
        self.update_time = context.time;
    }

    fn expect(&self, states: &[ApplicationState], step: &str) -> Result<(), DomainError> {
        if self.state.is_final() {
            return Err(refuse(
                "APPLICATION_CLOSED",
                format!(
                    "application {} is {:?}: it cannot be {step}",
                    self.id, self.state
                ),
            ));
        }
        if !states.contains(&self.state) {
            return Err(refuse(
                "APPLICATION_STATE",
                format!(
                    "application {} is {:?}; only one that is {states:?} can be {step}",
                    self.id, self.state
                ),
            ));
        }
        Ok(())
    }

    /// Opens the next publicity: the school's after applying, the result's after a
    /// passing vote. It lasts `working_days` from its first working day on or after today.
    pub fn open_publicity(
        &mut self,
        working_days: u32,
        calendar: &WorkingCalendar,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[ApplicationState::Applied, ApplicationState::CommitteeReview],
            "put on publicity",
        )?;
        let (stage, state) = match self.state {
            ApplicationState::Applied => {
                (PublicityStage::School, ApplicationState::SchoolPublicity)
            }
            _ => (PublicityStage::Result, ApplicationState::ResultPublicity),
        };
        let starts_on = calendar.add_working_days(context.today, 0);
        let ends_on = calendar.add_working_days(starts_on, working_days.max(1) - 1);
        self.publicity.push(Publicity {
            stage,
            starts_on,
            ends_on,
        });
        self.state = state;
        self.record(ApplicationAction::PublicityOpened, context);
        Ok(())
    }

    /// Records an objection raised during the publicity that is running.
    pub fn record_objection(
        &mut self,
        text: &str,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[
                ApplicationState::SchoolPublicity,
                ApplicationState::ResultPublicity,
            ],
            "objected to",
        )?;
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::invalid("text", "must not be empty"));
        }
        let publicity = *self.current_publicity().expect("a publicity state has one");
        if context.today < publicity.starts_on || context.today > publicity.ends_on {
            return Err(refuse(
                "OUTSIDE_PUBLICITY",
                format!(
                    "application {}'s publicity runs {} to {}: an objection on {} is outside it",
                    self.id, publicity.starts_on, publicity.ends_on, context.today
                ),
            ));
        }
        self.objections.push(Objection {
            stage: publicity.stage,
            raised_on: context.today,
            text: text.to_string(),
            recorded_by: context.principal.to_string(),
            upheld: None,
            handled_on: None,
            handled_by: None,
            handling_note: String::new(),
        });
        self.record(ApplicationAction::ObjectionRecorded, context);
        Ok(())
    }

    /// Handles objection `index` (from 0): upheld closes the application, rejected lets
    /// it go on. The handling is recorded with who and when.
    pub fn handle_objection(
        &mut self,
        index: usize,
        upheld: bool,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[
                ApplicationState::SchoolPublicity,
                ApplicationState::ResultPublicity,
            ],
            "given an objection's handling",
        )?;
        let id = self.id.clone();
        let Some(objection) = self.objections.get_mut(index) else {
            return Err(DomainError::NotFound { what: "objection" });
        };
        if objection.upheld.is_some() {
            return Err(refuse(
                "OBJECTION_HANDLED",
                format!("objection {index} of application {id} was handled already"),
            ));
        }
        if context.today < objection.raised_on {
            return Err(refuse(
                "APPLICATION_DATE",
                format!("objection {index} was raised on {}", objection.raised_on),
            ));
        }
        objection.upheld = Some(upheld);
        objection.handled_on = Some(context.today);
        objection.handled_by = Some(context.principal.to_string());
        objection.handling_note = context.note.to_string();
        self.record(ApplicationAction::ObjectionHandled, context);
        if upheld {
            self.close(CloseReason::ObjectionUpheld, context);
        }
        Ok(())
    }

    /// The publicity has ended (today is past its last day) and every objection raised
    /// during it was handled.
    fn expect_publicity_over(&self, step: &str, today: NaiveDate) -> Result<(), DomainError> {
        let publicity = self.current_publicity().expect("a publicity state has one");
        if today <= publicity.ends_on {
            return Err(refuse(
                "PUBLICITY_NOT_OVER",
                format!(
                    "application {}'s publicity runs until {}: it can be {step} from the next day",
                    self.id, publicity.ends_on
                ),
            ));
        }
        if self.objections.iter().any(|o| o.upheld.is_none()) {
            return Err(refuse(
                "OBJECTION_PENDING",
                format!("application {} has an objection not yet handled", self.id),
            ));
        }
        Ok(())
    }

    /// Records the committee's result: a pass awaits the result publicity, a vote short
    /// of the round's ratio closes the application.
    pub fn record_vote(
        &mut self,
        vote: Vote,
        round: &EvaluationRound,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(&[ApplicationState::SchoolPublicity], "voted on")?;
        self.expect_publicity_over("voted on", context.today)?;
        let vote = vote.check(round.committee.len())?;
        self.vote = Some(vote);
        self.state = ApplicationState::CommitteeReview;
        self.record(ApplicationAction::VoteRecorded, context);
        if !vote.passes(round.rules.pass_ratio) {
            self.close(CloseReason::CommitteeRejected, context);
        }
        Ok(())
    }

    /// Whether the committee passed it (a vote recorded that reached the ratio).
    pub fn passed(&self, round: &EvaluationRound) -> bool {
        self.vote.is_some_and(|v| v.passes(round.rules.pass_ratio))
    }

    /// The bureau confirms it with its approval document, effective today; the store
    /// appends the promotion in the same write.
    pub fn confirm(
        &mut self,
        approval_document: &str,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(&[ApplicationState::ResultPublicity], "confirmed")?;
        self.expect_publicity_over("confirmed", context.today)?;
        let document = approval_document.trim();
        if document.is_empty() {
            return Err(DomainError::invalid(
                "approval_document",
                "a confirmation names its approval document",
            ));
        }
        self.state = ApplicationState::Confirmed;
        self.confirmed_on = Some(context.today);
        self.approval_document = document.to_string();
        self.record(ApplicationAction::Confirmed, context);
        Ok(())
    }

    /// Closes it without a promotion, withdrawn or found ineligible.
    pub fn close_with(
        &mut self,
        reason: CloseReason,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[
                ApplicationState::Applied,
                ApplicationState::SchoolPublicity,
                ApplicationState::CommitteeReview,
                ApplicationState::ResultPublicity,
            ],
            "closed",
        )?;
        if !matches!(reason, CloseReason::Withdrawn | CloseReason::Ineligible) {
            return Err(DomainError::invalid(
                "reason",
                "staff close an application as withdrawn or ineligible; the other reasons follow from an objection or a vote",
            ));
        }
        if context.note.trim().is_empty() {
            return Err(DomainError::invalid("note", "say why it closes"));
        }
        self.close(reason, context);
        Ok(())
    }

    fn close(&mut self, reason: CloseReason, context: &StepContext<'_>) {
        self.state = ApplicationState::Closed;
        self.close_reason = Some(reason);
        self.record(ApplicationAction::Closed, context);
    }
}
