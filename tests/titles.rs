//! Title history through a real server: ChangeTitle rules and refusals, the batch reform
//! transition (dry run, real run, idempotency, interruption), and statistics.

mod common;

use std::collections::HashMap;

use common::*;
use teacher_registry::api::pb::transition_titles_response::Result as Item;
use teacher_registry::api::{pb, LEGACY_TITLES};
use tonic::Code;

const COUNTY: &str = "350702";

fn entry(kind: pb::TitleChangeKind, tier: pb::TitleTier, date: &str) -> pb::TitleEntry {
    pb::TitleEntry {
        tier: tier as i32,
        kind: kind as i32,
        effective_date: date.into(),
        approval_document: "Nan Jiao Ren [2016] No. 5".into(),
        ..Default::default()
    }
}

fn change(teacher_id: &str, entry: pb::TitleEntry) -> pb::ChangeTitleRequest {
    pb::ChangeTitleRequest {
        teacher_id: teacher_id.into(),
        change: Some(entry),
        etag: String::new(),
        request_id: String::new(),
    }
}

async fn change_ok(client: &mut Client, teacher_id: &str, entry: pb::TitleEntry) -> pb::Teacher {
    client
        .change_title(change(teacher_id, entry))
        .await
        .expect("title change")
        .into_inner()
        .teacher
        .unwrap()
}

async fn refused(client: &mut Client, teacher_id: &str, entry: pb::TitleEntry) -> tonic::Status {
    client
        .change_title(change(teacher_id, entry))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn change_title_follows_the_rules_and_keeps_every_entry() {
    use pb::TitleChangeKind::*;
    use pb::TitleTier::*;
    let mut server = start_server().await;
    let client = &mut server.client;
    let t = create(client, teacher(1, COUNTY)).await;
    let id = t.teacher_id.as_str();

    let status = refused(client, id, entry(Promotion, ThirdLevel, "2016-01-01")).await;
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(error_info(&status)["reason"], "NO_TITLE");

    let after = change_ok(client, id, entry(Initial, ThirdLevel, "2016-01-01")).await;
    assert_eq!(after.current_title, ThirdLevel as i32);
    assert_eq!(after.title_history[0].recorded_by, "anonymous");
    assert!(after.title_history[0].record_time.is_some());

    let status = refused(client, id, entry(Promotion, FirstLevel, "2017-01-01")).await;
    assert_eq!(error_info(&status)["reason"], "TIER_SKIPPED");
    let status = refused(client, id, entry(Promotion, SecondLevel, "2015-01-01")).await;
    assert_eq!(
        error_info(&status)["reason"],
        "EFFECTIVE_DATE_BEFORE_LATEST"
    );
    let status = refused(client, id, entry(Initial, SecondLevel, "2017-01-01")).await;
    assert_eq!(error_info(&status)["reason"], "HAS_TITLE");

    let status = refused(client, id, entry(Promotion, SecondLevel, "2017-01-01")).await;
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        error_info(&status)["reason"],
        "NOT_REGISTERED",
        "no certificate, so no registration in force"
    );
    register_for_promotion(client, id, "20113500022000123").await;
    change_ok(client, id, entry(Promotion, SecondLevel, "2017-01-01")).await;
    let mut leap = entry(Promotion, Senior, "2018-01-01");
    leap.exceptional = true;
    leap.approval_document = "Min Jiao Ren [2018] No. 1 (破格)".into();
    let after = change_ok(client, id, leap).await;
    assert_eq!(after.current_title, Senior as i32);
    change_ok(client, id, entry(Promotion, FullSenior, "2019-01-01")).await;
    let status = refused(client, id, entry(Promotion, FullSenior, "2020-01-01")).await;
    assert_eq!(error_info(&status)["reason"], "HIGHEST_TIER");

    let mut revocation = entry(Revocation, pb::TitleTier::Unspecified, "2020-01-01");
    revocation.note = "approval withdrawn".into();
    let after = change_ok(client, id, revocation).await;
    assert_eq!(
        after.current_title, Senior as i32,
        "back to the tier before"
    );

    let status = refused(client, id, entry(Correction, ThirdLevel, "2020-02-01")).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["change.note"]);
    let mut correction = entry(Correction, FirstLevel, "2020-02-01");
    correction.note = "tier entered wrongly".into();
    let after = change_ok(client, id, correction).await;
    assert_eq!(after.current_title, FirstLevel as i32);
    assert_eq!(after.title_history.len(), 6, "nothing was deleted");

    let mut stale = change(id, entry(Promotion, Senior, "2021-01-01"));
    stale.etag = t.etag.clone();
    let status = client.change_title(stale).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);

    let unknown = teacher_registry::domain::TeacherId::generate(&mut rand::thread_rng());
    let status = refused(
        client,
        unknown.as_str(),
        entry(Initial, ThirdLevel, "2016-01-01"),
    )
    .await;
    assert_eq!(status.code(), Code::NotFound);

    let status = client
        .change_title(pb::ChangeTitleRequest {
            teacher_id: "bad".into(),
            change: Some(pb::TitleEntry {
                kind: ReformTransition as i32,
                tier: 42,
                effective_date: "yesterday".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        [
            "teacher_id",
            "change.kind",
            "change.tier",
            "change.effective_date",
            "change.approval_document"
        ]
    );
    let last = get_teacher(client, id).await;
    assert_eq!(last, after, "refusals changed nothing");
}

/// One teacher per legacy title (the last two limited-scope), one without, one already
/// titled.
async fn reform_county(client: &mut Client) -> HashMap<String, pb::LegacyTitle> {
    let mut teachers = HashMap::new();
    for (n, title) in LEGACY_TITLES.into_iter().enumerate() {
        let mut t = teacher(n as u32, COUNTY);
        t.legacy_title = title as i32;
        t.legacy_title_limited_scope = n >= 6;
        teachers.insert(create(client, t).await.teacher_id, title);
    }
    create(client, teacher(20, COUNTY)).await;
    let mut titled = teacher(21, COUNTY);
    titled.legacy_title = pb::LegacyTitle::PrimaryFirst as i32;
    let titled = create(client, titled).await;
    change_ok(
        client,
        &titled.teacher_id,
        entry(
            pb::TitleChangeKind::Initial,
            pb::TitleTier::ThirdLevel,
            "2015-01-01",
        ),
    )
    .await;
    teachers.insert(titled.teacher_id, pb::LegacyTitle::PrimaryFirst);
    create(client, teacher(22, "350721")).await;
    teachers
}

fn transition_request(dry_run: bool) -> pb::TransitionTitlesRequest {
    pb::TransitionTitlesRequest {
        county_code: COUNTY.into(),
        effective_date: "2016-09-01".into(),
        approval_document: "Nan Ren She [2016] No. 88".into(),
        dry_run,
        ..Default::default()
    }
}

async fn run(
    client: &mut Client,
    request: pb::TransitionTitlesRequest,
) -> (Vec<pb::TeacherTransition>, pb::TransitionSummary) {
    let mut stream = client
        .transition_titles(request)
        .await
        .unwrap()
        .into_inner();
    let mut results = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        match message.result.unwrap() {
            Item::Teacher(t) => results.push(t),
            Item::Summary(summary) => {
                assert!(stream.message().await.unwrap().is_none(), "summary is last");
                return (results, summary);
            }
        }
    }
    panic!("the stream ended without a summary");
}

fn expected_tier(legacy: pb::LegacyTitle) -> pb::TitleTier {
    use pb::LegacyTitle::*;
    match legacy {
        SecondarySenior => pb::TitleTier::Senior,
        SecondaryFirst | PrimarySenior => pb::TitleTier::FirstLevel,
        SecondarySecond | PrimaryFirst => pb::TitleTier::SecondLevel,
        _ => pb::TitleTier::ThirdLevel,
    }
}

#[tokio::test]
async fn the_reform_transition_dry_run_matches_the_real_run_and_is_idempotent() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let teachers = reform_county(client).await;
    let before = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();

    let (dry, summary) = run(client, transition_request(true)).await;
    assert!(summary.dry_run);
    assert_eq!(
        (summary.selected, summary.would_transition, summary.skipped),
        (9, 8, 1)
    );
    let after_dry = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after_dry, before, "a dry run changes nothing");

    let (real, summary) = run(client, transition_request(false)).await;
    assert_eq!(
        (summary.transitioned, summary.skipped, summary.failed),
        (8, 1, 0)
    );
    assert_eq!(
        summary.skipped_by_reason,
        [pb::TransitionSkipCount {
            reason: pb::TransitionSkipReason::HasNewTitle as i32,
            count: 1
        }]
    );
    assert_eq!(dry.len(), real.len());
    for (d, r) in dry.iter().zip(&real) {
        assert_eq!(d.teacher_id, r.teacher_id);
        assert_eq!(
            (d.legacy_title, d.tier, d.limited_scope),
            (r.legacy_title, r.tier, r.limited_scope)
        );
        let expected = if d.outcome == pb::TransitionOutcome::WouldTransition as i32 {
            pb::TransitionOutcome::Transitioned
        } else {
            pb::TransitionOutcome::Skipped
        };
        assert_eq!(r.outcome, expected as i32);
    }
    for result in real
        .iter()
        .filter(|r| r.outcome == pb::TransitionOutcome::Transitioned as i32)
    {
        let legacy = teachers[&result.teacher_id];
        assert_eq!(result.tier, expected_tier(legacy) as i32, "{legacy:?}");
        let t = get_teacher(client, &result.teacher_id).await;
        assert_eq!(t.current_title, expected_tier(legacy) as i32);
        let last = t.title_history.last().unwrap();
        assert_eq!(last.kind, pb::TitleChangeKind::ReformTransition as i32);
        assert_eq!(last.approval_document, "Nan Ren She [2016] No. 88");
        assert_eq!(last.effective_date, "2016-09-01");
        let limited = matches!(
            legacy,
            pb::LegacyTitle::PrimarySecond | pb::LegacyTitle::PrimaryThird
        );
        assert_eq!(
            last.limited_scope, limited,
            "{legacy:?} keeps its scope flag"
        );
    }

    let (_, again) = run(client, transition_request(false)).await;
    assert_eq!((again.transitioned, again.skipped), (0, 9), "nobody twice");

    let statistics = client
        .get_statistics(pb::GetStatisticsRequest {
            county_code: COUNTY.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let county = &statistics.counties[0];
    assert_eq!(county.county_code, COUNTY);
    assert_eq!(county.total, 10);
    assert!(county.untransitioned.is_empty());
    let by_tier: HashMap<i32, u64> = county.by_tier.iter().map(|c| (c.tier, c.count)).collect();
    assert_eq!(by_tier[&(pb::TitleTier::Senior as i32)], 1);
    assert_eq!(by_tier[&(pb::TitleTier::FirstLevel as i32)], 2);
    assert_eq!(by_tier[&(pb::TitleTier::SecondLevel as i32)], 2);
    assert_eq!(by_tier[&(pb::TitleTier::ThirdLevel as i32)], 4);
    assert_eq!(by_tier[&(pb::TitleTier::Unspecified as i32)], 1);
    assert_eq!(statistics.counties.len(), 1, "one county asked for");
}

#[tokio::test]
async fn statistics_follow_creations_transitions_and_promotions() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let mut legacy = teacher(1, COUNTY);
    legacy.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
    let legacy = create(client, legacy).await;
    create(client, teacher(2, "350721")).await;

    let statistics = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let totals = statistics.totals.unwrap();
    assert_eq!(totals.total, 2);
    assert_eq!(
        totals.untransitioned,
        [pb::LegacyTitleCount {
            legacy_title: pb::LegacyTitle::PrimarySenior as i32,
            count: 1
        }]
    );
    assert_eq!(statistics.revision, 2);

    let (_, summary) = run(
        client,
        pb::TransitionTitlesRequest {
            teacher_ids: vec![legacy.teacher_id.clone()],
            county_code: String::new(),
            ..transition_request(false)
        },
    )
    .await;
    assert_eq!(summary.transitioned, 1);
    let totals = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .totals
        .unwrap();
    assert_eq!(totals.total, 2);
    assert!(totals.untransitioned.is_empty());
    assert_eq!(
        totals.by_tier,
        [
            pb::TierCount {
                tier: pb::TitleTier::Unspecified as i32,
                count: 1
            },
            pb::TierCount {
                tier: pb::TitleTier::FirstLevel as i32,
                count: 1
            },
        ],
        "PRIMARY_SENIOR went to FIRST_LEVEL"
    );
}

#[tokio::test]
async fn transition_by_teacher_ids_reports_each_and_refuses_bad_requests() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let mut legacy = teacher(1, COUNTY);
    legacy.legacy_title = pb::LegacyTitle::SecondaryThird as i32;
    let legacy = create(client, legacy).await;
    let plain = create(client, teacher(2, COUNTY)).await;
    let unknown =
        teacher_registry::domain::TeacherId::generate(&mut rand::thread_rng()).to_string();
    let (results, summary) = run(
        client,
        pb::TransitionTitlesRequest {
            teacher_ids: vec![legacy.teacher_id.clone(), plain.teacher_id.clone(), unknown],
            county_code: String::new(),
            ..transition_request(false)
        },
    )
    .await;
    let outcomes: Vec<(i32, i32)> = results.iter().map(|r| (r.outcome, r.skip_reason)).collect();
    assert_eq!(
        outcomes,
        [
            (pb::TransitionOutcome::Transitioned as i32, 0),
            (
                pb::TransitionOutcome::Skipped as i32,
                pb::TransitionSkipReason::NoLegacyTitle as i32
            ),
            (
                pb::TransitionOutcome::Skipped as i32,
                pb::TransitionSkipReason::NotFound as i32
            ),
        ]
    );
    assert_eq!(summary.selected, 3);

    // A promotion after the transition moves the statistics too.
    register_for_promotion(client, &legacy.teacher_id, "20113500022000123").await;
    change_ok(
        client,
        &legacy.teacher_id,
        entry(
            pb::TitleChangeKind::Promotion,
            pb::TitleTier::SecondLevel,
            "2020-01-01",
        ),
    )
    .await;
    let county = client
        .get_statistics(pb::GetStatisticsRequest {
            county_code: COUNTY.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .counties
        .remove(0);
    let by_tier: HashMap<i32, u64> = county.by_tier.iter().map(|c| (c.tier, c.count)).collect();
    assert_eq!(by_tier.get(&(pb::TitleTier::SecondLevel as i32)), Some(&1));
    assert_eq!(by_tier.get(&(pb::TitleTier::ThirdLevel as i32)), None);
    assert_eq!(by_tier.get(&(pb::TitleTier::Unspecified as i32)), Some(&1));

    for (request, fields) in [
        (
            pb::TransitionTitlesRequest {
                county_code: String::new(),
                ..transition_request(false)
            },
            vec!["teacher_ids"],
        ),
        (
            pb::TransitionTitlesRequest {
                teacher_ids: vec!["T123".into()],
                ..transition_request(false)
            },
            vec!["county_code"],
        ),
        (
            pb::TransitionTitlesRequest {
                effective_date: "2099-01-01".into(),
                approval_document: String::new(),
                county_code: "35".into(),
                ..transition_request(true)
            },
            vec!["county_code", "effective_date", "approval_document"],
        ),
    ] {
        let status = client.transition_titles(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), fields);
    }
    let status = client
        .get_statistics(pb::GetStatisticsRequest {
            county_code: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["county_code"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_leaves_whole_teachers_and_a_rerun_finishes() {
    const COUNT: u32 = 3000;
    let server = start_server().await;
    let mut tasks = Vec::new();
    for chunk in 0..8u32 {
        let mut client = server.new_client().await;
        tasks.push(tokio::spawn(async move {
            for n in (chunk..COUNT).step_by(8) {
                let mut t = teacher(n, COUNTY);
                t.legacy_title = pb::LegacyTitle::PrimaryFirst as i32;
                create(&mut client, t).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut client = server.new_client().await;
    let mut stream = client
        .transition_titles(transition_request(false))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..10 {
        stream.message().await.unwrap().unwrap();
    }
    drop(stream);
    drop(client);

    let mut client = server.new_client().await;
    let (_, summary) = run(&mut client, transition_request(false)).await;
    let first_run = u64::from(COUNT) - summary.transitioned;
    assert!(first_run >= 10, "the first run applied what it reported");
    assert_eq!(
        summary.skipped, first_run,
        "finished teachers are skipped, not redone"
    );
    let everyone = list_all(
        &mut client,
        pb::ListTeachersRequest {
            county_code: COUNTY.into(),
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(everyone.len(), COUNT as usize);
    for t in &everyone {
        let transitions = t
            .title_history
            .iter()
            .filter(|e| e.kind == pb::TitleChangeKind::ReformTransition as i32)
            .count();
        assert_eq!(transitions, 1, "{} transitioned exactly once", t.teacher_id);
    }
    eprintln!("first run transitioned {first_run} of {COUNT} before the client left");
}
