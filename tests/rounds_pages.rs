//! A round's applications page by page (AIP-158), over a real server: pages cover every
//! application once in number order, of the round or of one county; a token serves only
//! the listing it was given for; a bad page size or token is INVALID_ARGUMENT.

mod common;
mod rounds_support;

use chrono::Duration;
use common::{assert_invalid, start_server, violated_fields};
use rounds_support::*;
use teacher_registry::api::pb;
use tonic::Code;

async fn pages(
    client: &mut Rounds,
    round: &pb::EvaluationRound,
    county: &str,
    size: i32,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut count = 0;
    loop {
        let page = client
            .list_title_applications(pb::ListTitleApplicationsRequest {
                round_id: round.round_id.clone(),
                county_code: county.into(),
                page_size: size,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        count += 1;
        assert!(size == 0 || page.applications.len() <= size as usize);
        ids.extend(page.applications.into_iter().map(|a| a.application_id));
        if page.next_page_token.is_empty() {
            return (ids, count);
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn pages_cover_every_application_once_in_number_order() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let round = open_round(&mut client, today()).await;
    let on = today() - Duration::days(10);
    let mut own = Vec::new();
    let mut all = Vec::new();
    for n in 0..7 {
        let county = if n % 3 == 2 { OTHER_COUNTY } else { COUNTY };
        let teacher = common::eligible_teacher(&mut registry, 40 + n, county).await;
        let application = apply(&mut client, &round, &teacher, on).await;
        if county == COUNTY {
            own.push(application.application_id.clone());
        }
        all.push(application.application_id);
    }
    all.sort();
    own.sort();

    let (whole, count) = pages(&mut client, &round, "", 0).await;
    assert_eq!(
        (whole.clone(), count),
        (all.clone(), 1),
        "the default page holds them"
    );
    let (paged, count) = pages(&mut client, &round, "", 2).await;
    assert_eq!((paged, count), (all.clone(), 4), "2+2+2+1");
    let (paged, count) = pages(&mut client, &round, "", 7).await;
    assert_eq!(
        (paged, count),
        (all.clone(), 1),
        "an exact fit has no empty page after it"
    );
    let (paged, count) = pages(&mut client, &round, COUNTY, 2).await;
    assert_eq!((paged, count), (own.clone(), 3), "one county's, 2+2+1");

    // A token serves the listing it was given for only; a forged one, none.
    let first = client
        .list_title_applications(pb::ListTitleApplicationsRequest {
            round_id: round.round_id.clone(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let other_round = open_round(&mut client, today()).await;
    for (round_id, county, token) in [
        (
            round.round_id.clone(),
            COUNTY,
            first.next_page_token.clone(),
        ),
        (
            other_round.round_id.clone(),
            "",
            first.next_page_token.clone(),
        ),
        (
            round.round_id.clone(),
            "",
            format!("{}x", first.next_page_token),
        ),
        (round.round_id.clone(), "", "not-a-token".to_string()),
    ] {
        let status = client
            .list_title_applications(pb::ListTitleApplicationsRequest {
                round_id,
                county_code: county.into(),
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{token} {county}");
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
    assert_invalid(
        client
            .list_title_applications(pb::ListTitleApplicationsRequest {
                round_id: round.round_id.clone(),
                page_size: -1,
                ..Default::default()
            })
            .await,
        &["page_size"],
    );
}
