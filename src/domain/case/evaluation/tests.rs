use chrono::NaiveDate;

use super::*;
use crate::domain::case::{StepContext, WorkingCalendar};
use crate::domain::ethics::EthicsFinding;
use crate::domain::fixtures::stored_teacher;
use crate::domain::{
    Certificate, CertificateKind, CertificateStatus, Registration, Teacher, TitleChangeKind,
    TitleEntry,
};
use application::NewApplication;
use rand::SeedableRng;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn id(seed: u64) -> CaseId {
    CaseId::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
}

fn round(members: usize) -> EvaluationRound {
    EvaluationRound {
        id: id(1),
        name: "2026年度一级教师评审".into(),
        county_code: CountyCode::parse("350702").unwrap(),
        target_tier: TitleTier::FirstLevel,
        application_deadline: d("2026-10-30"),
        rules: RoundRules::default(),
        committee: (0..members).map(|m| format!("委员{m}")).collect(),
        created_by: "hr".into(),
        revision: 1,
        create_time: UnixMicros(0),
    }
}

/// Born 1980, SECOND_LEVEL since 2018, registered 2024–2029: eligible for FIRST_LEVEL.
fn teacher() -> Teacher {
    let mut t = stored_teacher(None, false);
    t.fields.birth_date = d("1980-05-01");
    t.certificates.push(Certificate {
        number: "20123500000000001".into(),
        kind: CertificateKind::JuniorSecondary,
        subject: "数学".into(),
        issuing_authority: "南平市教育局".into(),
        certified_on: d("2012-07-01"),
        status: CertificateStatus::Valid,
        copies: Vec::new(),
        registrations: vec![Registration {
            registered_on: d("2024-09-01"),
            expires_on: d("2029-09-01"),
        }],
        revocation: None,
        loss: None,
    });
    for (tier, kind, on) in [
        (
            TitleTier::ThirdLevel,
            TitleChangeKind::Initial,
            "2012-09-01",
        ),
        (
            TitleTier::SecondLevel,
            TitleChangeKind::Promotion,
            "2018-09-01",
        ),
    ] {
        t.title_history.push(TitleEntry {
            tier: Some(tier),
            kind,
            effective_date: d(on),
            approval_document: "doc".into(),
            limited_scope: false,
            exceptional: false,
            note: String::new(),
            recorded_by: "hr".into(),
            record_time: UnixMicros(0),
        });
    }
    t
}

fn finding(from: &str, until: &str) -> EthicsFinding {
    EthicsFinding {
        teacher_id: teacher().id,
        found_on: d(from),
        ground: "有偿补课".into(),
        vetoes_until: d(until),
        recorded_by: "a".into(),
        reviewed_by: "b".into(),
        record_time: UnixMicros(0),
        revision: 3,
    }
}

fn at<'a>(on: &str, who: &'a str) -> StepContext<'a> {
    StepContext {
        principal: who,
        time: UnixMicros(1),
        today: d(on),
        note: "",
    }
}

fn applied(on: &str) -> Application {
    let t = teacher();
    let new = NewApplication {
        teacher_id: t.id.clone(),
        county_code: t.fields.county_code.clone(),
        school: t.fields.school.clone(),
        applicant_name: t.fields.name.clone(),
        from_tier: TitleTier::SecondLevel,
        exceptional_grounds: None,
    };
    Application::apply(id(2), &round(9), new, &at(on, "school")).unwrap()
}

fn reason(err: DomainError) -> &'static str {
    match err {
        DomainError::FailedPrecondition { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn two_thirds_is_exact_in_integers() {
    let r = PassRatio::TWO_THIRDS;
    assert!(r.reached(6, 9));
    assert!(!r.reached(5, 9));
    assert!(r.reached(8, 12));
    assert!(!r.reached(7, 11)); // 0.636...
    assert!(!r.reached(5, 8)); // 0.625
    assert!(r.reached(2, 3));
    assert!(!r.reached(1, 2));
    assert!(r.reached(u32::MAX, u32::MAX));
    let simple = PassRatio {
        numerator: 1,
        denominator: 2,
    };
    assert!(simple.reached(1, 2) && !simple.reached(2, 5));
}

#[test]
fn votes_add_up_to_the_members_present() {
    let vote = |f, a, b, p| Vote {
        votes_for: f,
        against: a,
        abstain: b,
        present: p,
    };
    assert!(vote(6, 2, 1, 9).check(9).is_ok());
    assert!(vote(6, 2, 0, 9).check(9).is_err());
    assert!(vote(6, 2, 1, 9).check(8).is_err());
    assert!(vote(0, 0, 0, 0).check(9).is_err());
}

#[test]
fn round_numbers_are_checked() {
    let new = |days, members: Vec<&str>| NewRound {
        name: "r".into(),
        county_code: CountyCode::parse("350702").unwrap(),
        target_tier: TitleTier::Senior,
        application_deadline: d("2026-10-30"),
        rules: RoundRules {
            publicity_working_days: days,
            ..RoundRules::default()
        },
        committee: members.into_iter().map(String::from).collect(),
    };
    assert!(new(5, vec!["a", "b"]).validate().is_ok());
    let DomainError::Invalid { violations } = new(4, vec!["a", "a"]).validate().unwrap_err() else {
        panic!()
    };
    let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["round.publicity_working_days", "round.committee"]);
}

#[test]
fn an_eligible_teacher_fails_no_rule() {
    assert!(eligibility(&teacher(), &[], &round(9), false, d("2026-10-01")).is_empty());
}

#[test]
fn each_rule_names_itself() {
    let on = d("2026-10-01");
    let r = round(9);
    let mut lapsed = teacher();
    lapsed.certificates[0].registrations[0].expires_on = d("2026-09-01");
    assert_eq!(
        eligibility(&lapsed, &[], &r, false, on),
        [Ineligibility::NotRegistered]
    );
    let mut revoked = teacher();
    revoked.certificates[0].status = CertificateStatus::Revoked;
    // A revoked certificate's registration is no longer in force either.
    assert_eq!(
        eligibility(&revoked, &[], &r, false, on),
        [
            Ineligibility::NotRegistered,
            Ineligibility::QualificationRevoked
        ]
    );
    let mut lost = revoked.clone();
    lost.certificates[0].status = CertificateStatus::Lost;
    lost.certificates[0].revocation = Some(crate::domain::Revocation {
        revoked_on: d("2026-01-05"),
        reason: "r".into(),
        approval_document: "d".into(),
        ground: None,
    });
    assert_eq!(
        eligibility(&lost, &[], &r, false, on),
        [
            Ineligibility::NotRegistered,
            Ineligibility::QualificationRevoked,
            Ineligibility::QualificationLost
        ]
    );
    let vetoed = eligibility(
        &teacher(),
        &[finding("2026-03-01", "2027-02-28")],
        &r,
        false,
        on,
    );
    assert_eq!(vetoed, [Ineligibility::EthicsVeto]);
    assert!(eligibility(
        &teacher(),
        &[finding("2024-03-01", "2025-02-28")],
        &r,
        false,
        on
    )
    .is_empty());
    let mut recent = teacher();
    recent.title_history[1].effective_date = d("2022-09-01");
    assert_eq!(
        eligibility(&recent, &[], &r, false, on),
        [Ineligibility::TooFewYearsInTier]
    );
    // 破格 waives the years.
    assert!(eligibility(&recent, &[], &r, true, on).is_empty());
    let mut old = teacher();
    old.fields.birth_date = d("1966-09-30");
    assert_eq!(
        eligibility(&old, &[], &r, false, on),
        [Ineligibility::PastRetirementAge]
    );
    let mut senior_round = round(9);
    senior_round.target_tier = TitleTier::Senior;
    assert_eq!(
        eligibility(&teacher(), &[], &senior_round, false, on),
        [Ineligibility::NotNextTier]
    );
    assert!(eligibility(&teacher(), &[], &senior_round, true, on).is_empty());
    let mut none = teacher();
    none.title_history.clear();
    assert_eq!(
        eligibility(&none, &[], &r, false, on),
        [Ineligibility::NoTitle]
    );
    assert_eq!(Ineligibility::EthicsVeto.reason(), "ETHICS_VETO");
}

#[test]
fn applications_close_at_the_deadline() {
    let t = teacher();
    let new = NewApplication {
        teacher_id: t.id.clone(),
        county_code: t.fields.county_code.clone(),
        school: t.fields.school,
        applicant_name: t.fields.name,
        from_tier: TitleTier::SecondLevel,
        exceptional_grounds: Some(" ".into()),
    };
    let err = Application::apply(id(2), &round(9), new.clone(), &at("2026-10-30", "s"));
    assert!(matches!(err, Err(DomainError::Invalid { .. })));
    let late = Application::apply(
        id(2),
        &round(9),
        NewApplication {
            exceptional_grounds: None,
            ..new
        },
        &at("2026-10-31", "s"),
    );
    assert_eq!(reason(late.unwrap_err()), "ROUND_CLOSED");
}

#[test]
fn a_round_walks_from_application_to_confirmation() {
    let calendar = WorkingCalendar::weekends_only();
    let r = round(9);
    let mut a = applied("2026-10-28");
    // Opened on a Saturday: five working days from Monday 11-02 to Friday 11-06.
    a.open_publicity(5, &calendar, &at("2026-10-31", "hr"))
        .unwrap();
    let school = a.publicity[0];
    assert_eq!(
        (school.starts_on, school.ends_on),
        (d("2026-11-02"), d("2026-11-06"))
    );
    assert_eq!(
        reason(a.record_objection("x", &at("2026-11-07", "s")).unwrap_err()),
        "OUTSIDE_PUBLICITY"
    );
    a.record_objection("论文抄袭", &at("2026-11-03", "school"))
        .unwrap();
    let vote = Vote {
        votes_for: 6,
        against: 2,
        abstain: 1,
        present: 9,
    };
    assert_eq!(
        reason(
            a.record_vote(vote, &r, &at("2026-11-06", "hr"))
                .unwrap_err()
        ),
        "PUBLICITY_NOT_OVER"
    );
    assert_eq!(
        reason(
            a.record_vote(vote, &r, &at("2026-11-09", "hr"))
                .unwrap_err()
        ),
        "OBJECTION_PENDING"
    );
    a.handle_objection(0, false, &at("2026-11-05", "hr"))
        .unwrap();
    assert_eq!(
        reason(
            a.handle_objection(0, true, &at("2026-11-05", "hr"))
                .unwrap_err()
        ),
        "OBJECTION_HANDLED"
    );
    assert_eq!(a.objections[0].handled_by.as_deref(), Some("hr"));
    a.record_vote(vote, &r, &at("2026-11-09", "hr")).unwrap();
    assert_eq!(a.state, ApplicationState::CommitteeReview);
    a.open_publicity(5, &calendar, &at("2026-11-10", "hr"))
        .unwrap();
    assert_eq!(a.publicity[1].ends_on, d("2026-11-16"));
    assert_eq!(
        reason(a.confirm("doc", &at("2026-11-16", "hr")).unwrap_err()),
        "PUBLICITY_NOT_OVER"
    );
    a.confirm("闽人社[2026]1号", &at("2026-11-17", "hr"))
        .unwrap();
    assert_eq!(
        (a.state, a.confirmed_on),
        (ApplicationState::Confirmed, Some(d("2026-11-17")))
    );
    assert_eq!(
        reason(
            a.open_publicity(5, &calendar, &at("2026-11-18", "hr"))
                .unwrap_err()
        ),
        "APPLICATION_CLOSED"
    );
    assert_eq!(a.steps.len(), 7);
}

#[test]
fn an_upheld_objection_or_a_short_vote_closes_it() {
    let calendar = WorkingCalendar::weekends_only();
    let mut a = applied("2026-10-28");
    a.open_publicity(5, &calendar, &at("2026-11-02", "hr"))
        .unwrap();
    a.record_objection("学历造假", &at("2026-11-02", "s"))
        .unwrap();
    a.handle_objection(0, true, &at("2026-11-04", "hr"))
        .unwrap();
    assert_eq!(
        (a.state, a.close_reason),
        (ApplicationState::Closed, Some(CloseReason::ObjectionUpheld))
    );

    let mut b = applied("2026-10-28");
    b.open_publicity(5, &calendar, &at("2026-11-02", "hr"))
        .unwrap();
    let short = Vote {
        votes_for: 5,
        against: 3,
        abstain: 0,
        present: 8,
    };
    b.record_vote(short, &round(9), &at("2026-11-09", "hr"))
        .unwrap();
    assert_eq!(b.close_reason, Some(CloseReason::CommitteeRejected));
    assert!(!b.passed(&round(9)));
}

#[test]
fn staff_close_only_as_withdrawn_or_ineligible_with_a_note() {
    let mut a = applied("2026-10-28");
    assert!(a
        .close_with(CloseReason::ObjectionUpheld, &at("2026-10-29", "hr"))
        .is_err());
    assert!(a
        .close_with(CloseReason::Withdrawn, &at("2026-10-29", "hr"))
        .is_err());
    let mut context = at("2026-10-29", "hr");
    context.note = "本人申请撤回";
    a.close_with(CloseReason::Withdrawn, &context).unwrap();
    assert_eq!(a.state, ApplicationState::Closed);
}
