//! Finding 5: request-id records without limit.
//!
//! 20,000 no-op updates, each with a new request id, grew a store from 7 MB to 21 MB:
//! every request id keeps its first answer (a whole teacher) for the retention window,
//! and nothing limited how many one principal could leave. Each principal now keeps at
//! most `request_ids_per_principal`; past it a write with a new id is RESOURCE_EXHAUSTED
//! with RetryInfo and writes nothing, while a retry of an answered request still replays.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use teacher_registry::api::pb;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::{Store, StoreOptions};
use tokio::sync::Semaphore;
use tonic::Code;
use tonic_types::StatusExt;

use super::harness::{as_token, create_as, secured_on, A, B};
use crate::common::teacher;

const CAP: u64 = 1_000;
const FLOOD: usize = 20_000;

fn no_op(own: &pb::Teacher, request_id: String) -> pb::UpdateTeacherRequest {
    pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: own.teacher_id.clone(),
            school: own.school.clone(),
            ..Default::default()
        }),
        request_id,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_flood_of_new_request_ids_stops_at_the_principals_cap() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(
        &data,
        &StoreOptions {
            request_ids_per_principal: CAP,
            ..Default::default()
        },
    )
    .unwrap();
    let options = ServerOptions {
        // No rate: the flood is as fast as the server takes it.
        rates: HashMap::new(),
        ..Default::default()
    };
    let (server, tokens) = secured_on(dir.path(), store.clone(), &data, options).await;
    let county = as_token(&server, &tokens.county_a).await;
    let own = create_as(&mut county.clone(), teacher(40, A)).await;
    let before = store.size_on_disk().unwrap();

    let slots = Arc::new(Semaphore::new(64));
    let mut flood = Vec::with_capacity(FLOOD);
    for n in 0..FLOOD {
        let (mut client, request) = (county.clone(), no_op(&own, format!("flood-{n}")));
        let slot = slots.clone().acquire_owned().await.unwrap();
        flood.push(tokio::spawn(async move {
            let answer = client.update_teacher(request).await.map(drop);
            drop(slot);
            answer
        }));
    }
    let (mut accepted, mut exhausted) = (0, 0);
    let mut hint = None;
    for answer in flood {
        match answer.await.unwrap() {
            Ok(()) => accepted += 1,
            Err(status) if status.code() == Code::ResourceExhausted => {
                exhausted += 1;
                let reason = status.get_details_error_info().map(|i| i.reason);
                assert_eq!(
                    reason.as_deref(),
                    Some("REQUEST_IDS_EXHAUSTED"),
                    "{status:?}"
                );
                hint = status.get_details_retry_info().and_then(|i| i.retry_delay);
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    let after = store.size_on_disk().unwrap();
    assert_eq!((accepted, exhausted), (CAP, FLOOD as u64 - CAP));
    // The oldest expire a retention window (7 days) after they were made.
    let hint = hint.expect("RetryInfo");
    let week = Duration::from_secs(7 * 24 * 3600);
    assert!(
        hint > week - Duration::from_secs(3 * 3600) && hint <= week,
        "{hint:?}"
    );
    // Unbounded, the flood grew the store by ~14 MB; capped, by the 1,000 it kept.
    let grown = after.saturating_sub(before);
    assert!(grown < 4 * 1024 * 1024, "the store grew {grown} bytes");

    // A retry of an answered request replays; the other county's writes go on.
    let mut retry = county.clone();
    retry
        .update_teacher(no_op(&own, "flood-0".into()))
        .await
        .expect("a retry inside the window replays");
    let mut other = as_token(&server, &tokens.county_b).await;
    let theirs = create_as(&mut other, teacher(41, B)).await;
    other
        .update_teacher(no_op(&theirs, "their-own".into()))
        .await
        .unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{report:?}");
}
