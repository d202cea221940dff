//! Every transition of a case, every refusal, and the clocks over them.

use chrono::NaiveDate;

use super::*;
use crate::domain::{CertificateKind, CountyCode, DomainError, UnixMicros};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn on(day: &str) -> StepContext<'static> {
    StepContext {
        principal: "window-1",
        time: UnixMicros(1),
        today: d(day),
        note: "",
    }
}

fn case(kind: CaseKind, certificate_kind: Option<CertificateKind>, received: &str) -> Case {
    let new = NewCase {
        kind,
        county_code: CountyCode::parse("350702").unwrap(),
        teacher_id: None,
        applicant: None,
        applicant_name: "王小明".into(),
        certificate_kind,
        certificate_number: None,
        materials: vec!["申请表".into()],
        received_on: d(received),
    };
    let mut rng = rand::thread_rng();
    Case::open(CaseId::generate(&mut rng), new, &on(received))
}

fn primary(received: &str) -> Case {
    case(
        CaseKind::Certification,
        Some(CertificateKind::PrimarySchool),
        received,
    )
}

fn reason(error: DomainError) -> &'static str {
    match error {
        DomainError::FailedPrecondition { reason, .. } => reason,
        DomainError::Invalid { .. } => "INVALID",
        other => panic!("unexpected {other:?}"),
    }
}

fn approval() -> Decision {
    Decision {
        outcome: CaseOutcome::Approved,
        reasons: vec![],
        registration_reasons: vec![],
        review: ReviewItem::ALL.to_vec(),
    }
}

#[test]
fn a_case_goes_from_receipt_to_decision_and_every_step_is_recorded() {
    let mut c = primary("2026-12-01");
    c.assign("clerk-2", &on("2026-12-01")).unwrap();
    c.accept(&on("2026-12-02")).unwrap();
    c.decide(approval(), &on("2026-12-10")).unwrap();
    assert_eq!(c.state, CaseState::Decided);
    assert_eq!(c.outcome, Some(CaseOutcome::Approved));
    let actions: Vec<StepAction> = c.steps.iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        [
            StepAction::Opened,
            StepAction::Assigned,
            StepAction::Accepted,
            StepAction::Decided
        ]
    );
    // Clock from Wednesday 2 December: 3, 4, 7, 8, 9, 10 are six working days.
    let clock = c.clock(&WindowRules::default(), d("2027-03-01")).unwrap();
    assert_eq!(clock.started_on, d("2026-12-02"));
    assert_eq!(clock.working_days_used, 6);
    assert!(!clock.overdue);
    assert_eq!(clock.due_on, Some(d("2026-12-30")), "20 working days");
    assert_eq!(clock.legal_due_on, Some(d("2027-01-13")), "30 working days");
}

#[test]
fn a_closed_case_refuses_every_step() {
    let mut c = primary("2026-12-01");
    c.withdraw(&on("2026-12-01")).unwrap();
    assert_eq!(
        reason(c.accept(&on("2026-12-02")).unwrap_err()),
        "CASE_CLOSED"
    );
    assert_eq!(
        reason(c.withdraw(&on("2026-12-02")).unwrap_err()),
        "CASE_CLOSED"
    );
    assert_eq!(
        reason(c.assign("x", &on("2026-12-02")).unwrap_err()),
        "CASE_CLOSED"
    );
    assert_eq!(
        reason(c.decide(approval(), &on("2026-12-02")).unwrap_err()),
        "CASE_CLOSED"
    );
    assert!(c.clock(&WindowRules::default(), d("2026-12-31")).is_none());
}

#[test]
fn intake_refusal_needs_a_reason_and_comes_before_acceptance() {
    let mut c = primary("2026-12-01");
    assert_eq!(
        reason(
            c.refuse_at_intake(" ", &WorkingCalendar::default(), &on("2026-12-01"))
                .unwrap_err()
        ),
        "INVALID"
    );
    c.refuse_at_intake(
        "不属于本机关受理范围",
        &WorkingCalendar::default(),
        &on("2026-12-01"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Refused);
    let mut accepted = primary("2026-12-01");
    accepted.accept(&on("2026-12-01")).unwrap();
    assert_eq!(
        reason(
            accepted
                .refuse_at_intake("late", &WorkingCalendar::default(), &on("2026-12-02"))
                .unwrap_err()
        ),
        "CASE_STATE"
    );
}

#[test]
fn a_decision_needs_an_accepted_case() {
    let mut c = primary("2026-12-01");
    assert_eq!(
        reason(c.decide(approval(), &on("2026-12-01")).unwrap_err()),
        "CASE_STATE"
    );
    assert_eq!(
        reason(c.accept(&on("2026-11-30")).unwrap_err()),
        "CASE_DATE"
    );
}

#[test]
fn one_supplement_notice_within_five_working_days_pauses_the_clock() {
    // Received Tuesday 1 December; the notice on Monday 7 is the fourth working day.
    let mut c = primary("2026-12-01");
    c.request_supplement(
        vec!["体检表".into(), " ".into()],
        &WorkingCalendar::default(),
        &on("2026-12-07"),
    )
    .unwrap();
    assert_eq!(c.missing, ["体检表"]);
    assert_eq!(c.state, CaseState::SupplementRequested);
    assert_eq!(
        reason(c.accept(&on("2026-12-08")).unwrap_err()),
        "SUPPLEMENT_PENDING"
    );
    assert!(c
        .clock(&WindowRules::default(), d("2026-12-09"))
        .unwrap()
        .due_on
        .is_none());
    c.receive_supplement(vec!["体检表".into()], &on("2026-12-14"))
        .unwrap();
    assert_eq!(c.state, CaseState::Received, "back to the window");
    c.accept(&on("2026-12-14")).unwrap();
    let clock = c.clock(&WindowRules::default(), d("2026-12-16")).unwrap();
    assert_eq!(
        clock.started_on,
        d("2026-12-14"),
        "accepted after the notice"
    );
    assert_eq!(clock.working_days_used, 2);
    let mut again = c.clone();
    assert_eq!(
        reason(
            again
                .request_supplement(
                    vec!["x".into()],
                    &WorkingCalendar::default(),
                    &on("2026-12-15")
                )
                .unwrap_err()
        ),
        "SUPPLEMENT_ALREADY_REQUESTED"
    );
}

#[test]
fn a_late_notice_is_refused_and_the_case_counts_as_accepted_on_receipt() {
    let mut c = primary("2026-12-01");
    // 2, 3, 4, 7, 8, 9: the sixth working day is too late.
    let late = c.request_supplement(
        vec!["x".into()],
        &WorkingCalendar::default(),
        &on("2026-12-09"),
    );
    assert_eq!(reason(late.unwrap_err()), "SUPPLEMENT_NOTICE_LATE");
    c.accept(&on("2026-12-09")).unwrap();
    let clock = c.clock(&WindowRules::default(), d("2026-12-09")).unwrap();
    assert_eq!(clock.started_on, d("2026-12-01"));
    assert_eq!(clock.working_days_used, 6);
}

#[test]
fn a_supplement_after_acceptance_pauses_the_running_clock() {
    let mut c = primary("2026-12-01");
    c.accept(&on("2026-12-01")).unwrap();
    c.request_supplement(
        vec!["学历证明".into()],
        &WorkingCalendar::default(),
        &on("2026-12-03"),
    )
    .unwrap();
    c.receive_supplement(vec!["学历证明".into()], &on("2026-12-08"))
        .unwrap();
    assert_eq!(c.state, CaseState::Accepted);
    let clock = c.clock(&WindowRules::default(), d("2026-12-09")).unwrap();
    // 2 counts; 3, 4, 7, 8 are paused; 9 counts.
    assert_eq!(clock.working_days_used, 2);
    assert_eq!(
        clock.due_on,
        Some(d("2027-01-04")),
        "20 working days plus the 4 paused"
    );
}

#[test]
fn an_open_case_past_its_due_date_is_overdue() {
    let rules = WindowRules::parse("[limits.reissue]\ncommitted = 2\nlegal = 4\n").unwrap();
    let mut c = case(CaseKind::Reissue, None, "2026-12-01");
    c.accept(&on("2026-12-01")).unwrap();
    let on_time = c.clock(&rules, d("2026-12-03")).unwrap();
    assert!(!on_time.overdue);
    let late = c.clock(&rules, d("2026-12-04")).unwrap();
    assert!(late.overdue && !late.overdue_legal);
    let very_late = c.clock(&rules, d("2026-12-08")).unwrap();
    assert!(very_late.overdue_legal);
}

#[test]
fn two_level_certification_is_forwarded_and_decided_by_the_city() {
    let mut c = case(
        CaseKind::Certification,
        Some(CertificateKind::SeniorSecondary),
        "2026-12-01",
    );
    c.accept(&on("2026-12-01")).unwrap();
    assert_eq!(
        reason(c.decide(approval(), &on("2026-12-02")).unwrap_err()),
        "CITY_DECIDES"
    );
    assert_eq!(
        reason(c.forward(" ", &on("2026-12-02")).unwrap_err()),
        "INVALID"
    );
    c.forward("材料齐全，同意认定", &on("2026-12-02")).unwrap();
    assert_eq!(c.state, CaseState::Forwarded);
    c.request_supplement(
        vec!["普通话证书".into()],
        &WorkingCalendar::default(),
        &on("2026-12-03"),
    )
    .unwrap();
    c.receive_supplement(vec!["普通话证书".into()], &on("2026-12-04"))
        .unwrap();
    assert_eq!(c.state, CaseState::Forwarded, "still with the city");
    c.decide(approval(), &on("2026-12-07")).unwrap();
    let mut county_level = primary("2026-12-01");
    county_level.accept(&on("2026-12-01")).unwrap();
    assert_eq!(
        reason(county_level.forward("x", &on("2026-12-02")).unwrap_err()),
        "NOT_TWO_LEVEL"
    );
}

#[test]
fn certification_approval_needs_every_review_item() {
    let mut c = primary("2026-12-01");
    c.accept(&on("2026-12-01")).unwrap();
    let mut partial = approval();
    partial
        .review
        .retain(|i| *i != ReviewItem::PhysicalExamination);
    assert_eq!(
        reason(c.decide(partial, &on("2026-12-02")).unwrap_err()),
        "REVIEW_INCOMPLETE"
    );
    let denial = Decision {
        outcome: CaseOutcome::Denied,
        reasons: vec![],
        ..approval()
    };
    assert_eq!(
        reason(c.decide(denial, &on("2026-12-02")).unwrap_err()),
        "INVALID"
    );
    let deferral = Decision {
        outcome: CaseOutcome::Deferred,
        ..approval()
    };
    assert_eq!(
        reason(c.decide(deferral, &on("2026-12-02")).unwrap_err()),
        "INVALID"
    );
}

#[test]
fn registration_reasons_must_match_the_outcome() {
    let mut c = case(CaseKind::Registration, None, "2026-12-01");
    c.accept(&on("2026-12-01")).unwrap();
    let decide = |outcome, reasons: Vec<RegistrationReason>| Decision {
        outcome,
        reasons: vec![],
        registration_reasons: reasons,
        review: vec![],
    };
    let wrong = decide(
        CaseOutcome::Deferred,
        vec![RegistrationReason::EthicsViolation],
    );
    assert_eq!(
        reason(c.clone().decide(wrong, &on("2026-12-02")).unwrap_err()),
        "INVALID"
    );
    let none = decide(CaseOutcome::Denied, vec![]);
    assert_eq!(
        reason(c.clone().decide(none, &on("2026-12-02")).unwrap_err()),
        "INVALID"
    );
    let approved_with_reason = decide(
        CaseOutcome::Approved,
        vec![RegistrationReason::TrainingHoursShort],
    );
    assert_eq!(
        reason(
            c.clone()
                .decide(approved_with_reason, &on("2026-12-02"))
                .unwrap_err()
        ),
        "INVALID"
    );
    let deferred = decide(
        CaseOutcome::Deferred,
        vec![RegistrationReason::TrainingHoursShort],
    );
    c.decide(deferred, &on("2026-12-02")).unwrap();
    assert_eq!(c.outcome, Some(CaseOutcome::Deferred));
}

#[test]
fn assigning_to_the_same_person_records_nothing() {
    let mut c = primary("2026-12-01");
    assert!(c.assign("clerk-2", &on("2026-12-01")).unwrap());
    assert!(!c.assign(" clerk-2 ", &on("2026-12-01")).unwrap());
    assert_eq!(c.steps.len(), 2);
}

#[test]
fn a_case_without_a_notice_in_time_can_no_longer_be_refused_at_intake() {
    let mut c = primary("2026-12-01");
    let calendar = WorkingCalendar::default();
    // 2, 3, 4, 7, 8, 9: six working days, past the notice period.
    let late = c.refuse_at_intake("材料不全", &calendar, &on("2026-12-09"));
    assert_eq!(reason(late.unwrap_err()), "CASE_DEEMED_ACCEPTED");
    c.refuse_at_intake("材料不全", &calendar, &on("2026-12-08"))
        .unwrap();
}

#[test]
fn a_notice_on_the_day_of_a_late_acceptance_does_not_move_the_clock() {
    let calendar = WorkingCalendar::default();
    let mut c = primary("2026-12-01");
    // Accepted on the eighth working day: the case counts as accepted on receipt.
    c.accept(&on("2026-12-11")).unwrap();
    c.request_supplement(vec!["体检表".into()], &calendar, &on("2026-12-11"))
        .unwrap();
    let clock = c.clock(&WindowRules::default(), d("2026-12-11")).unwrap();
    assert_eq!(clock.started_on, d("2026-12-01"));
}

#[test]
fn a_case_paused_after_its_limit_stays_overdue() {
    let rules = WindowRules::parse("[limits.reissue]\ncommitted = 2\nlegal = 4\n").unwrap();
    let mut c = case(CaseKind::Reissue, None, "2026-12-01");
    c.accept(&on("2026-12-01")).unwrap();
    // 2, 3, 4: three working days used, past the committed two; then the notice.
    c.request_supplement(
        vec!["声明".into()],
        &WorkingCalendar::default(),
        &on("2026-12-07"),
    )
    .unwrap();
    let clock = c.clock(&rules, d("2026-12-09")).unwrap();
    assert_eq!(clock.due_on, None);
    assert!(clock.overdue && !clock.overdue_legal, "{clock:?}");
}

#[test]
fn a_late_acceptance_after_the_supplement_arrived_counts_from_its_arrival() {
    let calendar = WorkingCalendar::default();
    let mut c = primary("2026-12-01");
    c.request_supplement(vec!["体检表".into()], &calendar, &on("2026-12-02"))
        .unwrap();
    c.receive_supplement(vec!["体检表".into()], &on("2026-12-03"))
        .unwrap();
    // Accepted a month after the materials came: the clock ran from their arrival.
    c.accept(&on("2027-01-04")).unwrap();
    let clock = c.clock(&WindowRules::default(), d("2027-01-04")).unwrap();
    assert_eq!(clock.started_on, d("2026-12-03"));
    let mut prompt = primary("2026-12-01");
    prompt
        .request_supplement(vec!["体检表".into()], &calendar, &on("2026-12-02"))
        .unwrap();
    prompt
        .receive_supplement(vec!["体检表".into()], &on("2026-12-03"))
        .unwrap();
    prompt.accept(&on("2026-12-04")).unwrap();
    let clock = prompt
        .clock(&WindowRules::default(), d("2026-12-04"))
        .unwrap();
    assert_eq!(clock.started_on, d("2026-12-04"));
}
