//! The steps of a case, from opening at the window to the decision: each checks its rule,
//! moves the state and records what it did, or refuses naming the rule. The clocks that
//! follow from the dates the steps record are worked out apart, in `clock`.

use chrono::NaiveDate;

use super::{
    refuse, Case, CaseId, CaseKind, CaseOutcome, CaseState, CaseStep, Decision, NewCase, Pause,
    ReviewItem, StepAction, StepContext, WorkingCalendar, NOTICE_WORKING_DAYS,
};
use crate::domain::DomainError;

impl Case {
    /// A case as received at the window.
    pub fn open(id: CaseId, new: NewCase, context: &StepContext<'_>) -> Case {
        let mut case = Case {
            id,
            kind: new.kind,
            state: CaseState::Received,
            outcome: None,
            county_code: new.county_code,
            teacher_id: new.teacher_id,
            applicant: new.applicant,
            applicant_name: new.applicant_name,
            certificate_kind: new.certificate_kind,
            certificate_number: new.certificate_number,
            materials: new.materials,
            missing: Vec::new(),
            received_on: new.received_on,
            accepted_on: None,
            pauses: Vec::new(),
            forwarded_on: None,
            county_opinion: String::new(),
            assignee: None,
            decided_on: None,
            decided_clock: None,
            reasons: Vec::new(),
            registration_reasons: Vec::new(),
            review: Vec::new(),
            steps: Vec::new(),
            revision: 0,
            create_time: context.time,
            update_time: context.time,
        };
        case.record(StepAction::Opened, context);
        case
    }

    /// Whether the city decides this case (two-level certification).
    pub fn is_two_level(&self) -> bool {
        self.kind == CaseKind::Certification
            && self
                .certificate_kind
                .is_some_and(|k| matches!(k.digit(), 4..=6))
    }

    /// The etag clients send back to change this case (AIP-154).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }

    fn record(&mut self, action: StepAction, context: &StepContext<'_>) {
        self.steps.push(CaseStep::taken(action, context));
        self.update_time = context.time;
    }

    fn expect_open(&self, step: &str) -> Result<(), DomainError> {
        if self.state.is_closed() {
            return Err(refuse(
                "CASE_CLOSED",
                format!("case {} is {:?}: it cannot be {step}", self.id, self.state),
            ));
        }
        Ok(())
    }

    fn expect(&self, states: &[CaseState], step: &str) -> Result<(), DomainError> {
        self.expect_open(step)?;
        if !states.contains(&self.state) {
            let reason = if self.state == CaseState::SupplementRequested {
                "SUPPLEMENT_PENDING"
            } else {
                "CASE_STATE"
            };
            return Err(refuse(
                reason,
                format!(
                    "case {} is {:?}; only a case that is {} can be {step}",
                    self.id,
                    self.state,
                    states
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            ));
        }
        Ok(())
    }

    /// Accepted at the window (受理): the receipt can be printed, the clock starts.
    pub fn accept(&mut self, context: &StepContext<'_>) -> Result<(), DomainError> {
        self.expect(&[CaseState::Received], "accepted")?;
        self.check_not_before(context.today, self.received_on, "accepted")?;
        self.state = CaseState::Accepted;
        self.accepted_on = Some(context.today);
        self.record(StepAction::Accepted, context);
        Ok(())
    }

    /// Refused at intake (不予受理), with the reason given to the applicant. A case that got
    /// no supplement notice within the notice period counts as accepted on receipt, and
    /// can then only be denied by a decision (`CASE_DEEMED_ACCEPTED`).
    pub fn refuse_at_intake(
        &mut self,
        reason: &str,
        calendar: &WorkingCalendar,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[CaseState::Received, CaseState::SupplementRequested],
            "refused at intake",
        )?;
        if self.accepted_on.is_some() {
            return Err(refuse(
                "CASE_STATE",
                format!(
                    "case {} was accepted: it can be denied by a decision, not refused at intake",
                    self.id
                ),
            ));
        }
        require_text(reason, "reason")?;
        let used = calendar.working_days_used(self.received_on, context.today, &[]);
        if self.pauses.is_empty() && used > NOTICE_WORKING_DAYS {
            return Err(refuse(
                "CASE_DEEMED_ACCEPTED",
                format!(
                    "case {} was received {used} working days ago without a notice of missing materials: it counts as accepted on receipt, and a refusal now is a decision (deny it)",
                    self.id
                ),
            ));
        }
        self.close_pause(context.today);
        self.state = CaseState::Refused;
        self.reasons = vec![reason.trim().to_string()];
        self.record(StepAction::Refused, context);
        Ok(())
    }

    /// The one notice listing everything missing (一次性告知): the clock stands still from
    /// today until the materials arrive.
    pub fn request_supplement(
        &mut self,
        missing: Vec<String>,
        calendar: &WorkingCalendar,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(
            &[
                CaseState::Received,
                CaseState::Accepted,
                CaseState::Forwarded,
            ],
            "sent a supplement notice",
        )?;
        let missing = clean_list(missing, "missing")?;
        if self
            .steps
            .iter()
            .any(|s| s.action == StepAction::SupplementRequested)
        {
            return Err(refuse(
                "SUPPLEMENT_ALREADY_REQUESTED",
                format!(
                    "case {} already had its supplement notice: the one notice lists everything missing",
                    self.id
                ),
            ));
        }
        self.check_not_before(context.today, self.received_on, "sent a supplement notice")?;
        if self.state == CaseState::Received {
            let used = calendar.working_days_used(self.received_on, context.today, &[]);
            if used > NOTICE_WORKING_DAYS {
                return Err(refuse(
                    "SUPPLEMENT_NOTICE_LATE",
                    format!(
                        "case {} was received {used} working days ago: a notice of missing materials must come within {NOTICE_WORKING_DAYS}, and without one the case counts as accepted on receipt",
                        self.id
                    ),
                ));
            }
        }
        self.missing = missing;
        self.pauses.push(Pause {
            from: context.today,
            until: None,
        });
        self.state = CaseState::SupplementRequested;
        self.record(StepAction::SupplementRequested, context);
        Ok(())
    }

    /// The missing materials arrived: the clock runs again, and the case is back where it
    /// was (received, accepted or forwarded).
    pub fn receive_supplement(
        &mut self,
        materials: Vec<String>,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(&[CaseState::SupplementRequested], "given a supplement")?;
        let materials = clean_list(materials, "materials")?;
        let paused_on = self.pauses.last().map_or(self.received_on, |p| p.from);
        self.check_not_before(context.today, paused_on, "given a supplement")?;
        self.materials.extend(materials);
        self.close_pause(context.today);
        self.state = if self.forwarded_on.is_some() {
            CaseState::Forwarded
        } else if self.accepted_on.is_some() {
            CaseState::Accepted
        } else {
            CaseState::Received
        };
        self.record(StepAction::SupplementReceived, context);
        Ok(())
    }

    /// The county sends a two-level case to the city with its opinion; the materials
    /// travel with it.
    pub fn forward(&mut self, opinion: &str, context: &StepContext<'_>) -> Result<(), DomainError> {
        self.expect(&[CaseState::Accepted], "forwarded")?;
        if !self.is_two_level() {
            return Err(refuse(
                "NOT_TWO_LEVEL",
                format!(
                    "case {} is decided by the county: only certification of senior secondary, secondary vocational and vocational intern-instructor qualifications goes to the city",
                    self.id
                ),
            ));
        }
        require_text(opinion, "opinion")?;
        self.state = CaseState::Forwarded;
        self.forwarded_on = Some(context.today);
        self.county_opinion = opinion.trim().to_string();
        self.record(StepAction::Forwarded, context);
        Ok(())
    }

    /// Gives the case to a member of staff. Returns false (and records nothing) if it is
    /// theirs already.
    pub fn assign(
        &mut self,
        assignee: &str,
        context: &StepContext<'_>,
    ) -> Result<bool, DomainError> {
        self.expect_open("assigned")?;
        require_text(assignee, "assignee")?;
        if self.assignee.as_deref() == Some(assignee.trim()) {
            return Ok(false);
        }
        self.assignee = Some(assignee.trim().to_string());
        self.record(StepAction::Assigned, context);
        Ok(true)
    }

    /// The applicant withdraws the application.
    pub fn withdraw(&mut self, context: &StepContext<'_>) -> Result<(), DomainError> {
        self.expect_open("withdrawn")?;
        self.close_pause(context.today);
        self.state = CaseState::Withdrawn;
        self.record(StepAction::Withdrawn, context);
        Ok(())
    }

    /// Checks a decision against the case and records it. The store applies its effect
    /// on the teacher in the same write.
    pub fn decide(
        &mut self,
        decision: Decision,
        context: &StepContext<'_>,
    ) -> Result<(), DomainError> {
        self.expect(&[CaseState::Accepted, CaseState::Forwarded], "decided")?;
        if self.is_two_level() && self.state != CaseState::Forwarded {
            return Err(refuse(
                "CITY_DECIDES",
                format!(
                    "case {} is two-level: the county forwards it and the city decides",
                    self.id
                ),
            ));
        }
        self.check_not_before(context.today, self.received_on, "decided")?;
        let Decision {
            outcome,
            reasons,
            mut registration_reasons,
            mut review,
        } = decision;
        let reasons: Vec<String> = reasons
            .into_iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        review.sort();
        review.dedup();
        registration_reasons.dedup();
        match (self.kind, outcome) {
            (CaseKind::Registration, CaseOutcome::Deferred | CaseOutcome::Denied) => {
                let defers = outcome == CaseOutcome::Deferred;
                if registration_reasons.is_empty() {
                    return Err(DomainError::invalid(
                        "registration_reasons",
                        "a deferred or refused registration names its reasons",
                    ));
                }
                if let Some(wrong) = registration_reasons.iter().find(|r| r.defers() != defers) {
                    return Err(DomainError::invalid(
                        "registration_reasons",
                        format!(
                            "{wrong:?} is a reason to {} a registration, not to {}",
                            if defers { "refuse" } else { "defer" },
                            if defers { "defer" } else { "refuse" }
                        ),
                    ));
                }
            }
            (_, CaseOutcome::Deferred) => {
                return Err(DomainError::invalid(
                    "outcome",
                    "only a periodic registration can be deferred",
                ))
            }
            (_, CaseOutcome::Denied) if reasons.is_empty() => {
                return Err(DomainError::invalid(
                    "reasons",
                    "a denial states its reasons",
                ))
            }
            (CaseKind::Certification, CaseOutcome::Approved) => {
                if let Some(missing) = ReviewItem::ALL.iter().find(|i| !review.contains(i)) {
                    return Err(refuse(
                        "REVIEW_INCOMPLETE",
                        format!(
                            "case {}: {missing:?} has not been recorded as checked",
                            self.id
                        ),
                    ));
                }
            }
            _ => {}
        }
        if outcome == CaseOutcome::Approved && !registration_reasons.is_empty() {
            return Err(DomainError::invalid(
                "registration_reasons",
                "an approval has no deferral or refusal reasons",
            ));
        }
        self.state = CaseState::Decided;
        self.outcome = Some(outcome);
        self.decided_on = Some(context.today);
        self.reasons = reasons;
        self.registration_reasons = registration_reasons;
        self.review = review;
        self.record(StepAction::Decided, context);
        Ok(())
    }

    fn close_pause(&mut self, today: NaiveDate) {
        if let Some(pause) = self.pauses.last_mut().filter(|p| p.until.is_none()) {
            pause.until = Some(today.max(pause.from));
        }
    }

    fn check_not_before(
        &self,
        today: NaiveDate,
        earliest: NaiveDate,
        step: &str,
    ) -> Result<(), DomainError> {
        if today < earliest {
            return Err(refuse(
                "CASE_DATE",
                format!(
                    "case {} cannot be {step} on {today}, before {earliest}",
                    self.id
                ),
            ));
        }
        Ok(())
    }
}

fn require_text(text: &str, field: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// Trimmed, without empty entries; at least one.
fn clean_list(items: Vec<String>, field: &str) -> Result<Vec<String>, DomainError> {
    let items: Vec<String> = items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    if items.is_empty() {
        return Err(DomainError::invalid(field, "list at least one item"));
    }
    Ok(items)
}
