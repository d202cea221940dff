//! Title evaluation rounds over a real server: a round walked from applications through
//! both publicity periods (an objection upheld, one rejected, one outside the period), a
//! committee's results with the two-thirds edge (exactly two thirds passes, just under
//! fails), to a streamed confirmation that promotes each passing teacher in the same
//! write, and the round's statistics against a hand count. (Eligibility: rounds_eligibility.rs.)

mod common;
mod rounds_support;

use chrono::{Duration, NaiveDate};
use common::{get_teacher, get_title_application, start_server, Answered};
use rounds_support::*;
use teacher_registry::api::pb;
use teacher_registry::store::{Store, StoreOptions};
use tonic::Code;

async fn get(client: &mut Rounds, application: &pb::TitleApplication) -> pb::TitleApplication {
    get_title_application(client, &application.application_id).await
}

async fn open_publicity(
    client: &mut Rounds,
    round: &pb::EvaluationRound,
    on: NaiveDate,
) -> Vec<pb::ApplicationOutcome> {
    client
        .open_publicity(pb::OpenPublicityRequest {
            round_id: round.round_id.clone(),
            step_date: on.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .outcomes
}

fn row(
    application: &pb::TitleApplication,
    f: u32,
    a: u32,
    b: u32,
    present: u32,
) -> pb::CommitteeResultRow {
    pb::CommitteeResultRow {
        application_id: application.application_id.clone(),
        votes_for: f,
        against: a,
        abstain: b,
        present,
    }
}

async fn confirm(
    client: &mut Rounds,
    round: &pb::EvaluationRound,
    on: NaiveDate,
) -> (Vec<pb::ApplicationOutcome>, pb::ConfirmSummary) {
    let mut stream = client
        .confirm_applications(pb::ConfirmApplicationsRequest {
            round_id: round.round_id.clone(),
            approval_document: "南人社[2026]12号".into(),
            step_date: on.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut outcomes = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        match message.result.unwrap() {
            pb::confirm_applications_response::Result::Outcome(o) => outcomes.push(o),
            pb::confirm_applications_response::Result::Summary(s) => return (outcomes, s),
        }
    }
    panic!("the stream ended without its summary")
}

/// The committee's results `rows` for `round`, voted on `on`: the outcome of each row.
async fn record_results(
    client: &mut Rounds,
    round: &pb::EvaluationRound,
    rows: Vec<pb::CommitteeResultRow>,
    on: NaiveDate,
) -> Vec<pb::ApplicationOutcome> {
    let request = pb::RecordCommitteeResultsRequest {
        round_id: round.round_id.clone(),
        rows,
        step_date: on.to_string(),
        ..Default::default()
    };
    let answer = client.record_committee_results(request).await.unwrap();
    answer.into_inner().outcomes
}

fn state(application: &pb::TitleApplication) -> pb::ApplicationState {
    pb::ApplicationState::try_from(application.state).unwrap()
}

fn publicity_end(application: &pb::TitleApplication) -> NaiveDate {
    application
        .publicity
        .last()
        .unwrap()
        .ends_on
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_round_walks_from_applications_through_publicity_and_the_committee_to_confirmation() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let mut teachers = Vec::new();
    for n in 1..=5 {
        teachers.push(common::eligible_teacher(&mut registry, n, COUNTY).await);
    }
    teachers.push(common::eligible_teacher(&mut registry, 6, OTHER_COUNTY).await);
    let round = open_round(&mut client, today()).await;
    assert_eq!(
        round.pass_ratio_numerator * 3,
        round.pass_ratio_denominator * 2
    );
    assert_eq!(round.publicity_working_days, 5);

    let applied_on = today() - Duration::days(40);
    let mut applications = Vec::new();
    for t in &teachers {
        applications.push(apply(&mut client, &round, t, applied_on).await);
    }
    let again = client
        .apply_for_title(application_request(&round, &teachers[0], applied_on))
        .await
        .unwrap_err();
    assert_eq!(
        (again.code(), reason(&again)),
        (Code::FailedPrecondition, "ALREADY_APPLIED".into())
    );

    // School publicity for the whole round at once.
    let opened = open_publicity(&mut client, &round, applied_on + Duration::days(1)).await;
    assert_eq!(opened.len(), 6);
    assert!(opened.iter().all(|o| o.error_code.is_empty()), "{opened:?}");
    let a = get(&mut client, &applications[0]).await;
    assert_eq!(state(&a), pb::ApplicationState::SchoolPublicity);
    let school_end = publicity_end(&a);
    let school_start: NaiveDate = a.publicity[0].starts_on.parse().unwrap();
    assert!(
        school_end - school_start >= Duration::days(6),
        "5 working days: {a:?}"
    );

    // An objection to B upheld (B closes), one to C rejected (C goes on), one to D
    // after the period refused.
    let (b, c, d) = (&applications[1], &applications[2], &applications[3]);
    for (app, text) in [(b, "论文涉嫌抄袭"), (c, "任教年限有误")] {
        client
            .record_objection(pb::RecordObjectionRequest {
                application_id: app.application_id.clone(),
                step_date: school_start.to_string(),
                text: text.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let late = client
        .record_objection(pb::RecordObjectionRequest {
            application_id: d.application_id.clone(),
            step_date: (school_end + Duration::days(1)).to_string(),
            text: "迟到的异议".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&late), "OUTSIDE_PUBLICITY");
    for (app, upheld, note) in [(b, true, "经核查属实"), (c, false, "经核查不属实")] {
        let handled = client
            .handle_objection(pb::HandleObjectionRequest {
                application_id: app.application_id.clone(),
                step_date: (school_start + Duration::days(1)).to_string(),
                objection_index: 0,
                upheld,
                note: note.into(),
                ..Default::default()
            })
            .await
            .unwrap_application();
        let objection = &handled.objections[0];
        assert!(objection.handled && objection.upheld == upheld);
        assert_eq!(objection.handled_by, "anonymous");
    }
    let b_now = get(&mut client, b).await;
    assert_eq!(state(&b_now), pb::ApplicationState::Closed);
    assert_eq!(b_now.close_reason, pb::CloseReason::ObjectionUpheld as i32);

    // The committee's results: before the publicity ends nothing is recorded.
    let early = record_results(
        &mut client,
        &round,
        vec![row(&applications[0], 6, 2, 1, 9)],
        school_end,
    )
    .await;
    assert_eq!(
        (early[0].error_code.as_str(), early[0].reason.as_str()),
        ("FAILED_PRECONDITION", "PUBLICITY_NOT_OVER")
    );
    let voted_on = school_end + Duration::days(1);
    let rows = vec![
        row(&applications[0], 6, 2, 1, 9), // exactly two thirds: passes
        row(b, 9, 0, 0, 9),                // closed already
        row(c, 8, 1, 0, 9),
        row(d, 5, 3, 0, 8),                 // 5 of 8, just under two thirds: fails
        row(&applications[4], 6, 3, 0, 10), // more present than members
        row(&applications[5], 6, 3, 0, 0),  // present: everyone who voted
    ];
    let outcomes = record_results(&mut client, &round, rows, voted_on).await;
    let codes: Vec<(&str, &str)> = outcomes
        .iter()
        .map(|o| (o.error_code.as_str(), o.reason.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("", ""),
            ("FAILED_PRECONDITION", "APPLICATION_CLOSED"),
            ("", ""),
            ("", ""),
            ("INVALID_ARGUMENT", ""),
            ("", ""),
        ]
    );
    let vote = outcomes[0].application.as_ref().unwrap().vote.unwrap();
    assert!(vote.passed);
    let d_now = outcomes[3].application.clone().unwrap();
    assert!(!d_now.vote.unwrap().passed);
    assert_eq!(
        d_now.close_reason,
        pb::CloseReason::CommitteeRejected as i32
    );
    // E's row is put right, just under the ratio too: 5 of 9.
    let e_outcome = record_results(
        &mut client,
        &round,
        vec![row(&applications[4], 5, 3, 1, 9)],
        voted_on,
    )
    .await;
    assert_eq!(
        e_outcome[0].application.as_ref().unwrap().close_reason,
        pb::CloseReason::CommitteeRejected as i32
    );

    // Result publicity for those that passed (A, C and F), then confirmation.
    let result_opened = open_publicity(&mut client, &round, voted_on + Duration::days(1)).await;
    let opened_ids: Vec<&str> = result_opened
        .iter()
        .map(|o| o.application_id.as_str())
        .collect();
    assert_eq!(opened_ids, {
        let mut ids = vec![
            applications[0].application_id.as_str(),
            c.application_id.as_str(),
            applications[5].application_id.as_str(),
        ];
        ids.sort();
        ids
    });
    let a = get(&mut client, &applications[0]).await;
    let result_end = publicity_end(&a);
    assert!(result_end < today(), "the walk fits before today");
    let (too_early, summary) = confirm(&mut client, &round, result_end).await;
    assert_eq!((summary.confirmed, summary.refused), (0, 3));
    assert!(too_early.iter().all(|o| o.reason == "PUBLICITY_NOT_OVER"));

    let confirmed_on = result_end + Duration::days(1);
    let (outcomes, summary) = confirm(&mut client, &round, confirmed_on).await;
    assert_eq!((summary.confirmed, summary.refused), (3, 0), "{outcomes:?}");
    for outcome in &outcomes {
        let teacher = get_teacher(&mut registry, &outcome.teacher_id).await;
        assert_eq!(teacher.current_title, pb::TitleTier::FirstLevel as i32);
        let entry = teacher.title_history.last().unwrap();
        assert_eq!(entry.kind, pb::TitleChangeKind::Promotion as i32);
        assert_eq!(entry.effective_date, confirmed_on.to_string());
        assert_eq!(entry.approval_document, "南人社[2026]12号");
    }
    let unpromoted = get_teacher(&mut registry, &teachers[3].teacher_id).await;
    assert_eq!(unpromoted.current_title, pb::TitleTier::SecondLevel as i32);

    // The change feed: each confirmation is the teacher's TITLE_CHANGED and the
    // application's change at the next revision.
    let changes = common::all_changes(&mut registry).await;
    for outcome in &outcomes {
        let at = changes
            .iter()
            .rposition(|c| c.case_id == outcome.application_id)
            .unwrap();
        assert_eq!(
            changes[at].kind,
            pb::ChangeKind::TitleApplicationChanged as i32
        );
        assert_eq!(changes[at - 1].kind, pb::ChangeKind::TitleChanged as i32);
        assert_eq!(changes[at - 1].teacher_id, outcome.teacher_id);
    }

    // The statistics against a hand count: in 350702 five applied (A-E), all still
    // eligible, two objected to (B, C), two passed (A, C), two confirmed; in 350721 one
    // applied, passed and was confirmed (F).
    let statistics = client
        .get_round_statistics(pb::GetRoundStatisticsRequest {
            round_id: round.round_id.clone(),
            county_code: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let figures = |county: &str| {
        let f = statistics
            .figures
            .iter()
            .find(|f| f.county_code == county)
            .unwrap();
        assert_eq!(f.tier, pb::TitleTier::FirstLevel as i32);
        (f.applied, f.eligible, f.objected, f.passed, f.confirmed)
    };
    assert_eq!(figures(COUNTY), (5, 5, 2, 2, 2));
    assert_eq!(figures(OTHER_COUNTY), (1, 1, 0, 1, 1));
    let total = statistics.total.unwrap();
    assert_eq!(
        (
            total.applied,
            total.eligible,
            total.objected,
            total.passed,
            total.confirmed
        ),
        (6, 6, 2, 3, 3)
    );

    // Verification recomputes the figures from the applications and finds them so.
    let data = server.data_dir.clone();
    drop((registry, client));
    let _kept = server.stop().await;
    let store = Store::open_at(&common::location_for(&data), &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.applications, 6);
}
