use super::*;
use crate::domain::fixtures::{stored_teacher, today};
use crate::domain::{CertificateInput, CertificateKind, RevocationRequest};
use crate::domain::{Choice, TitleTier::*};

/// A teacher whose one certificate is registered without a break from 2011-09-01 to
/// 2031-09-01, so promotions in the tests below meet the registration rule.
fn teacher(legacy: Option<LegacyTitle>, limited: bool) -> Teacher {
    let mut t = stored_teacher(legacy, limited);
    add_certificate(&mut t, "2011-09-01");
    for registered_on in ["2016-09-01", "2021-09-01", "2026-09-01"] {
        t.register_certificate(NUMBER, parse_date(registered_on).unwrap())
            .unwrap();
    }
    t
}

const NUMBER: &str = "20113500022000123";

fn add_certificate(t: &mut Teacher, first_registration_on: &str) {
    let input = CertificateInput {
        number: NUMBER.into(),
        kind: Choice::Known(CertificateKind::PrimarySchool),
        subject: "语文".into(),
        issuing_authority: "南平市延平区教育局".into(),
        certified_on: "2011-07-01".into(),
        first_registration_on: first_registration_on.into(),
    };
    t.issue_certificate(input.validate(today()).unwrap())
        .unwrap();
}

fn change(kind: TitleChangeKind, tier: Option<TitleTier>, date: &str) -> TitleChange {
    TitleChange {
        tier,
        kind,
        effective_date: parse_date(date).unwrap(),
        approval_document: "Nan Jiao Ren [2016] No. 5".into(),
        limited_scope: false,
        exceptional: false,
        note: String::new(),
    }
}

fn apply(t: &mut Teacher, c: TitleChange) -> Result<(), DomainError> {
    t.change_title(c, "hr", UnixMicros(1))
}

/// The reform transition of 2016-09-01, as every test here takes it.
fn transition(t: &mut Teacher) -> Result<TransitionPlan, DomainError> {
    t.apply_transition(
        parse_date("2016-09-01").unwrap(),
        "doc",
        "hr",
        UnixMicros(1),
    )
}

fn reason(result: Result<(), DomainError>) -> &'static str {
    match result {
        Err(DomainError::FailedPrecondition { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn promotions_go_up_one_tier_unless_exceptional() {
    use TitleChangeKind::*;
    let mut t = teacher(None, false);
    apply(&mut t, change(Initial, Some(ThirdLevel), "2016-01-01")).unwrap();
    assert_eq!(t.current_title(), Some(ThirdLevel));
    assert_eq!(
        reason(apply(
            &mut t,
            change(Promotion, Some(FirstLevel), "2017-01-01")
        )),
        "TIER_SKIPPED"
    );
    apply(&mut t, change(Promotion, Some(SecondLevel), "2017-01-01")).unwrap();
    let mut leap = change(Promotion, Some(Senior), "2018-01-01");
    leap.exceptional = true;
    apply(&mut t, leap).unwrap();
    assert_eq!(t.current_title(), Some(Senior));
    assert_eq!(
        reason(apply(&mut t, change(Promotion, Some(Senior), "2019-01-01"))),
        "NOT_A_PROMOTION"
    );
    apply(&mut t, change(Promotion, Some(FullSenior), "2019-01-01")).unwrap();
    assert_eq!(
        reason(apply(
            &mut t,
            change(Promotion, Some(FullSenior), "2020-01-01")
        )),
        "HIGHEST_TIER"
    );
    assert_eq!(
        reason(apply(
            &mut t,
            change(Initial, Some(ThirdLevel), "2020-01-01")
        )),
        "HAS_TITLE"
    );
    assert_eq!(t.title_history.len(), 4, "refusals add nothing");
}

#[test]
fn effective_dates_never_go_backwards() {
    use TitleChangeKind::*;
    let mut t = teacher(None, false);
    apply(&mut t, change(Initial, Some(ThirdLevel), "2016-01-01")).unwrap();
    assert_eq!(
        reason(apply(
            &mut t,
            change(Promotion, Some(SecondLevel), "2015-12-31")
        )),
        "EFFECTIVE_DATE_BEFORE_LATEST"
    );
    apply(&mut t, change(Promotion, Some(SecondLevel), "2016-01-01")).unwrap();
}

#[test]
fn promotion_needs_a_title_to_start_from() {
    let mut t = teacher(None, false);
    assert_eq!(
        reason(apply(
            &mut t,
            change(TitleChangeKind::Promotion, Some(ThirdLevel), "2016-01-01")
        )),
        "NO_TITLE"
    );
}

#[test]
fn corrections_and_revocations_add_entries() {
    use TitleChangeKind::*;
    let mut t = teacher(None, false);
    assert_eq!(
        reason(apply(&mut t, change(Revocation, None, "2016-01-01"))),
        "NOTHING_TO_REVOKE"
    );
    apply(&mut t, change(Initial, Some(SecondLevel), "2016-01-01")).unwrap();
    apply(&mut t, change(Promotion, Some(FirstLevel), "2018-01-01")).unwrap();
    apply(&mut t, change(Revocation, None, "2019-01-01")).unwrap();
    assert_eq!(
        t.current_title(),
        Some(SecondLevel),
        "back to the tier before"
    );
    apply(&mut t, change(Correction, Some(ThirdLevel), "2019-01-01")).unwrap();
    assert_eq!(t.current_title(), Some(ThirdLevel));
    apply(&mut t, change(Revocation, None, "2019-02-01")).unwrap();
    assert_eq!(t.current_title(), Some(SecondLevel));
    apply(&mut t, change(Revocation, None, "2019-03-01")).unwrap();
    assert_eq!(t.current_title(), None, "the initial title revoked too");
    assert_eq!(t.title_history.len(), 6, "nothing deleted");
}

#[test]
fn change_inputs_are_validated() {
    let input = TitleChangeInput {
        tier: Choice::Known(SecondLevel),
        kind: Choice::Known(TitleChangeKind::Correction),
        effective_date: "2016-02-30".into(),
        approval_document: String::new(),
        limited_scope: false,
        exceptional: true,
        note: " ".into(),
    };
    let fields: Vec<String> = input
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(
        fields,
        ["change.effective_date", "change.note", "change.exceptional"]
    );
    let revoke_with_tier = TitleChangeInput {
        kind: Choice::Known(TitleChangeKind::Revocation),
        effective_date: "2016-01-01".into(),
        approval_document: "x".into(),
        exceptional: false,
        ..input.clone()
    };
    assert!(revoke_with_tier.validate().is_err());
    let transition = TitleChangeInput {
        kind: Choice::Known(TitleChangeKind::ReformTransition),
        ..revoke_with_tier.clone()
    };
    assert!(transition.validate().is_err());
    let no_approval = TitleChangeInput {
        kind: Choice::Known(TitleChangeKind::Initial),
        approval_document: String::new(),
        ..revoke_with_tier
    };
    let fields: Vec<String> = no_approval
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["change.approval_document"]);
}

#[test]
fn every_legacy_title_transitions_by_the_table_and_keeps_limited_scope() {
    for legacy in LegacyTitle::ALL {
        for limited in [false, true] {
            let mut t = teacher(Some(legacy), limited);
            let plan = transition(&mut t).unwrap();
            assert_eq!(plan.tier, legacy.reform_tier());
            assert_eq!(t.current_title(), Some(legacy.reform_tier()));
            let entry = t.title_history.last().unwrap();
            assert_eq!(entry.kind, TitleChangeKind::ReformTransition);
            assert_eq!(entry.limited_scope, limited);
            assert_eq!(t.plan_transition(), Err(SkipReason::AlreadyTransitioned));
        }
    }
    let mut primary_senior = teacher(Some(LegacyTitle::PrimarySenior), false);
    transition(&mut primary_senior).unwrap();
    assert_eq!(
        primary_senior.current_title(),
        Some(FirstLevel),
        "not SENIOR"
    );
}

#[test]
fn transition_skips_say_why() {
    assert_eq!(
        teacher(None, false).plan_transition(),
        Err(SkipReason::NoLegacyTitle)
    );
    let mut titled = teacher(Some(LegacyTitle::PrimaryFirst), false);
    apply(
        &mut titled,
        change(TitleChangeKind::Initial, Some(ThirdLevel), "2016-01-01"),
    )
    .unwrap();
    assert_eq!(titled.plan_transition(), Err(SkipReason::HasNewTitle));
    let err = transition(&mut titled).unwrap_err();
    assert!(matches!(
        err,
        DomainError::FailedPrecondition {
            reason: "HAS_NEW_TITLE",
            ..
        }
    ));
}

#[test]
fn a_promotion_needs_a_registration_in_force_on_its_effective_date() {
    use TitleChangeKind::*;
    let promote = || change(Promotion, Some(SecondLevel), "2019-01-01");
    let mut unregistered = stored_teacher(None, false);
    apply(
        &mut unregistered,
        change(Initial, Some(ThirdLevel), "2016-01-01"),
    )
    .unwrap();
    assert_eq!(
        reason(apply(&mut unregistered, promote())),
        "NOT_REGISTERED"
    );

    let mut lapsed = stored_teacher(None, false);
    add_certificate(&mut lapsed, "2013-09-01");
    apply(&mut lapsed, change(Initial, Some(ThirdLevel), "2016-01-01")).unwrap();
    assert_eq!(
        reason(apply(
            &mut lapsed,
            change(Promotion, Some(SecondLevel), "2018-09-01")
        )),
        "NOT_REGISTERED",
        "a registration expires on its fifth anniversary"
    );
    apply(
        &mut lapsed,
        change(Promotion, Some(SecondLevel), "2018-08-31"),
    )
    .unwrap();

    let mut revoked = stored_teacher(None, false);
    add_certificate(&mut revoked, "2016-09-01");
    apply(
        &mut revoked,
        change(Initial, Some(ThirdLevel), "2016-01-01"),
    )
    .unwrap();
    let revocation = RevocationRequest {
        ground: None,
        revoked_on: Some(parse_date("2017-03-01").unwrap()),
        reason: "撤销".into(),
        approval_document: "Nan Jiao [2017] No. 9".into(),
    };
    revoked
        .revoke_certificate(NUMBER, &revocation, today())
        .unwrap();
    assert_eq!(reason(apply(&mut revoked, promote())), "NOT_REGISTERED");
    assert_eq!(
        revoked.title_history.len(),
        1,
        "a refused promotion leaves the history as it was"
    );
}
