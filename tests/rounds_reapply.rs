//! Applying again in a round, over a real server: a withdrawn or otherwise closed
//! application does not block a new one, an open one does; and the round's figures count
//! applications taken, a refused one nowhere, `eligible` less those found ineligible.

mod common;
mod rounds_support;

use chrono::Duration;
use common::{list_applications, start_server, Answered};
use rounds_support::*;
use teacher_registry::api::pb;
use tonic::Code;

async fn figures(client: &mut Rounds, round: &pb::EvaluationRound) -> (u64, u64) {
    let total = client
        .get_round_statistics(pb::GetRoundStatisticsRequest {
            round_id: round.round_id.clone(),
            county_code: COUNTY.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap_or_default();
    (total.applied, total.eligible)
}

async fn close(
    client: &mut Rounds,
    application: &pb::TitleApplication,
    reason: pb::CloseReason,
    note: &str,
) -> pb::TitleApplication {
    client
        .close_title_application(pb::CloseTitleApplicationRequest {
            application_id: application.application_id.clone(),
            etag: application.etag.clone(),
            reason: reason as i32,
            note: note.into(),
            ..Default::default()
        })
        .await
        .unwrap_application()
}

#[tokio::test]
async fn a_withdrawn_or_closed_application_does_not_block_a_new_one() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let round = open_round(&mut client, today()).await;
    let teacher = common::eligible_teacher(&mut registry, 31, COUNTY).await;
    let on = today() - Duration::days(10);

    let first = apply(&mut client, &round, &teacher, on).await;
    // Open, it blocks a second one.
    let blocked = client
        .apply_for_title(application_request(&round, &teacher, on))
        .await
        .unwrap_err();
    assert_eq!(
        (blocked.code(), reason(&blocked)),
        (Code::FailedPrecondition, "ALREADY_APPLIED".into())
    );
    assert!(
        blocked.message().contains(&first.application_id),
        "{blocked:?}"
    );

    // Withdrawn, it does not.
    let withdrawn = close(&mut client, &first, pb::CloseReason::Withdrawn, "本人撤回").await;
    assert_eq!(withdrawn.state, pb::ApplicationState::Closed as i32);
    let second = apply(&mut client, &round, &teacher, on).await;
    assert_ne!(second.application_id, first.application_id);
    assert_eq!(second.state, pb::ApplicationState::Applied as i32);
    // The new one blocks in turn.
    let blocked = client
        .apply_for_title(application_request(&round, &teacher, on))
        .await
        .unwrap_err();
    assert!(
        blocked.message().contains(&second.application_id),
        "{blocked:?}"
    );
    assert_eq!(figures(&mut client, &round).await, (2, 2));

    // Closed as ineligible: it leaves `eligible`, stays in `applied`, blocks nothing.
    close(
        &mut client,
        &second,
        pb::CloseReason::Ineligible,
        "任职年限材料不实",
    )
    .await;
    assert_eq!(figures(&mut client, &round).await, (2, 1));
    let third = apply(&mut client, &round, &teacher, on).await;
    assert_eq!(figures(&mut client, &round).await, (3, 2));

    // Both earlier applications are still there, as they were closed.
    let listed = list_applications(&mut client, &round.round_id, COUNTY).await;
    let mut states: Vec<(String, i32, i32)> = listed
        .iter()
        .map(|a| (a.application_id.clone(), a.state, a.close_reason))
        .collect();
    states.sort();
    let mut expected = vec![
        (
            first.application_id.clone(),
            pb::ApplicationState::Closed as i32,
            pb::CloseReason::Withdrawn as i32,
        ),
        (
            second.application_id.clone(),
            pb::ApplicationState::Closed as i32,
            pb::CloseReason::Ineligible as i32,
        ),
        (
            third.application_id.clone(),
            pb::ApplicationState::Applied as i32,
            0,
        ),
    ];
    expected.sort();
    assert_eq!(states, expected);
}

#[tokio::test]
async fn a_refused_application_is_in_no_figure() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let round = open_round(&mut client, today()).await;
    let on = today() - Duration::days(10);
    let eligible = common::eligible_teacher(&mut registry, 32, COUNTY).await;
    // No certificate, no registration, no title: refused.
    let unregistered = common::create(&mut registry, common::teacher(7_305_033, COUNTY)).await;
    apply(&mut client, &round, &eligible, on).await;
    let refused = client
        .apply_for_title(application_request(&round, &unregistered, on))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "NOT_REGISTERED");
    assert_eq!(figures(&mut client, &round).await, (1, 1));
}
