//! The console's title evaluation pages over a real socket: a round's page (dates,
//! committee, applications with their step and eligibility, statistics); opening publicity
//! for the whole round with a field error then success; an objection recorded (a field
//! error first), one upheld and one rejected on the application's page; the committee's
//! results uploaded as a file (a bad file refused beside its field, then a two-thirds
//! edge case); the result publicity; the confirmation with a result per teacher; and a
//! reader who sees the round but no form. Every change is checked over gRPC.

mod common;
mod console_support;

use chrono::{Duration, NaiveDate};
use console_support::*;
use teacher_registry::api::pb;

async fn application(rounds: &mut Rounds, id: &str) -> pb::TitleApplication {
    common::get_title_application(rounds, id).await
}

fn ends(a: &pb::TitleApplication, stage: usize) -> NaiveDate {
    a.publicity[stage].ends_on.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_is_run_from_its_page_from_publicity_to_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (mut registry, mut rounds) = clients(&fx).await;
    let teachers = [
        eligible(&mut registry, 41, "陈一").await,
        eligible(&mut registry, 42, "陈二").await,
        eligible(&mut registry, 43, "陈三").await,
    ];
    let today = common::today_cst();
    let round = common::create_round(&mut rounds, common::new_round(today)).await;
    let applied_on = today - Duration::days(40);
    let mut ids = Vec::new();
    for t in &teachers {
        let a = common::apply_for_title(
            &mut rounds,
            common::application_request(&round, t, applied_on),
        )
        .await;
        ids.push(a.application_id);
    }
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);

    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let find = http.get("/rounds").await;
    assert_eq!(find.status, 200);
    assert!(find.body.contains("name=\"round_id\""));
    let found = http
        .get(&format!("/rounds?round_id={}", round.round_id))
        .await;
    assert_eq!(
        found.header("location"),
        Some(format!("/rounds/{}", round.round_id).as_str())
    );
    let path = format!("/rounds/{}", round.round_id);
    let page = http.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&today.to_string()), "the deadline");
    assert!(page.body.contains("委员9") && page.body.contains("一级教师"));
    for id in &ids {
        assert!(page.body.contains(&format!("href=\"/applications/{id}\"")));
    }
    let listed = element(&page.body, "applications");
    assert_eq!(listed.matches("已申报").count(), 3, "{listed}");
    assert_eq!(listed.matches(">符合<").count(), 3, "{listed}");
    assert!(element(&page.body, "figures-total").contains("<td>3</td>"));
    let csrf = page.input("csrf").unwrap();

    // Publicity: no CSRF token changes nothing; a date that is no date sits by its field
    // (one in the future is refused per application, in the outcomes).
    let refused = http
        .post(
            &format!("{path}/publicity"),
            &[("step_date", &applied_on.to_string())],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        application(&mut rounds, a).await.state,
        pb::ApplicationState::Applied as i32
    );
    let bad = http
        .post(
            &format!("{path}/publicity"),
            &[
                ("csrf", &csrf),
                ("request_id", "pub-1"),
                ("step_date", "2026-02-30"),
            ],
        )
        .await;
    bad.assert_field_error("publicity-step_date");
    let opened = http
        .post(
            &format!("{path}/publicity"),
            &[
                ("csrf", &csrf),
                ("request_id", "pub-2"),
                ("step_date", &(applied_on + Duration::days(1)).to_string()),
            ],
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let results = element(&opened.body, "batch-results");
    assert_eq!(results.matches("校内公示").count(), 3, "{results}");
    let school = application(&mut rounds, a).await;
    assert_eq!(school.state, pb::ApplicationState::SchoolPublicity as i32);
    let school_start: NaiveDate = school.publicity[0].starts_on.parse().unwrap();
    let school_end = ends(&school, 0);

    // Objections on the application's page: empty text refused beside its field, then
    // B's upheld (B closes) and C's rejected (C goes on).
    for (id, upheld) in [(b, true), (c, false)] {
        let app_path = format!("/applications/{id}");
        let page = http.get(&app_path).await;
        assert_eq!(page.status, 200);
        let fields = |text: &str| {
            vec![
                ("csrf".to_string(), page.input("csrf").unwrap()),
                (
                    "request_id".to_string(),
                    format!("object-{id}-{}", text.len()),
                ),
                ("etag".to_string(), page.input("etag").unwrap()),
                ("step_date".to_string(), school_start.to_string()),
                ("text".to_string(), text.to_string()),
            ]
        };
        let send = |f: &Vec<(String, String)>| {
            f.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        let empty = send(&fields(""));
        let empty: Vec<(&str, &str)> = empty
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let refused = http.post(&format!("{app_path}/object"), &empty).await;
        refused.assert_field_error("object-text");
        let given = send(&fields("论文涉嫌抄袭"));
        let given: Vec<(&str, &str)> = given
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let recorded = http.post(&format!("{app_path}/object"), &given).await;
        assert_eq!(recorded.status, 303, "{}", recorded.body);
        let page = http.get(&app_path).await;
        assert!(page.body.contains("待处理") && page.body.contains("论文涉嫌抄袭"));
        let decision = if upheld { "upheld" } else { "rejected" };
        let handled = http
            .post(
                &format!("{app_path}/handle"),
                &[
                    ("csrf", &page.input("csrf").unwrap()),
                    ("request_id", &format!("handle-{id}")),
                    ("etag", &page.input("etag").unwrap()),
                    ("step_date", &(school_start + Duration::days(1)).to_string()),
                    ("objection_index", "0"),
                    ("decision", decision),
                    ("note", "经核查"),
                ],
            )
            .await;
        assert_eq!(handled.status, 303, "{}", handled.body);
        let now = application(&mut rounds, id).await;
        assert_eq!(now.objections[0].upheld, upheld);
        assert!(now.objections[0].handled);
        let page = http.get(&app_path).await;
        assert!(page.body.contains(if upheld {
            "异议成立"
        } else {
            "异议不成立"
        }));
    }
    assert_eq!(
        application(&mut rounds, b).await.close_reason,
        pb::CloseReason::ObjectionUpheld as i32
    );

    // The committee's file: one without its columns is refused beside the file field;
    // then A passes with 6 of 9 (exactly two thirds), C fails with 5 of 8.
    let voted_on = school_end + Duration::days(1);
    let upload = |request_id: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("request_id", request_id.to_string()),
            ("step_date", voted_on.to_string()),
        ]
    };
    let fields = upload("votes-1");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = http
        .post_file(
            &format!("{path}/committee"),
            &fields,
            ("file", "votes.csv", "申报编号,赞成\n".as_bytes()),
        )
        .await;
    bad.assert_field_error("committee-file");
    let csv = format!("申报编号,赞成,反对,弃权,出席\n{a},6,2,1,9\n{c},5,3,0,8\n");
    let fields = upload("votes-2");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let voted = http
        .post_file(
            &format!("{path}/committee"),
            &fields,
            ("file", "votes.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(voted.status, 200, "{}", voted.body);
    let results = element(&voted.body, "batch-results");
    assert!(
        results.contains("评审通过") && results.contains("评审未通过"),
        "{results}"
    );
    assert_eq!(
        application(&mut rounds, c).await.close_reason,
        pb::CloseReason::CommitteeRejected as i32
    );

    // The result publicity, then the confirmation with a result per teacher.
    let result = http
        .post(
            &format!("{path}/publicity"),
            &[
                ("csrf", &csrf),
                ("request_id", "pub-3"),
                ("step_date", &(voted_on + Duration::days(1)).to_string()),
            ],
        )
        .await;
    assert_eq!(result.status, 200, "{}", result.body);
    let result_end = ends(&application(&mut rounds, a).await, 1);
    let confirmed = http
        .post(
            &format!("{path}/confirm"),
            &[
                ("csrf", &csrf),
                ("request_id", "confirm-1"),
                ("approval_document", "南人社[2026]12号"),
                ("step_date", &(result_end + Duration::days(1)).to_string()),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let summary = element(&confirmed.body, "batch-summary");
    assert!(
        summary.contains("已确认 1") && summary.contains("未确认 0"),
        "{summary}"
    );
    let results = element(&confirmed.body, "batch-results");
    assert!(results.contains(&teachers[0].teacher_id) && results.contains("一级教师"));
    let promoted = fx.teacher(&teachers[0].teacher_id).await;
    let last = promoted.title_history.last().unwrap();
    assert_eq!(
        (last.tier, last.approval_document.as_str()),
        (pb::TitleTier::FirstLevel as i32, "南人社[2026]12号")
    );

    // The figures, by hand: 3 applied, 3 eligible, 2 objected, 1 passed, 1 confirmed.
    let page = http.get(&path).await;
    let total = element(&page.body, "figures-total");
    let cells: Vec<&str> = total
        .split("<td>")
        .skip(1)
        .map(|c| &c[..c.find('<').unwrap()])
        .collect();
    assert_eq!(cells, ["3", "3", "2", "1", "1"], "{total}");

    // A reader sees the round and its figures, and no form.
    let mut reader = fx.signed_in(&fx.tokens.reader).await;
    let page = reader.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"figures\""));
    for form in ["publicity", "committee", "confirm"] {
        assert!(
            !page
                .body
                .contains(&format!("<form class=\"card\" id=\"{form}\"")),
            "{form}"
        );
    }
    let page = reader.get(&format!("/applications/{a}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"object\""));
}

/// The round changes the registry has recorded (ListChanges), to show a refusal wrote none.
async fn round_changes(registry: &mut Registry) -> usize {
    common::all_changes(registry)
        .await
        .iter()
        .filter(|c| c.kind == pb::ChangeKind::EvaluationRoundChanged as i32)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_is_opened_applied_to_and_dry_run_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (mut registry, mut rounds) = clients(&fx).await;
    let ready = eligible(&mut registry, 51, "周一").await;
    let other = eligible(&mut registry, 52, "周二").await;
    let today = common::today_cst();

    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let find = http.get("/rounds").await;
    assert_eq!(find.status, 200);
    assert!(find.body.contains("id=\"open-round\""), "{}", find.body);
    let csrf = find.input("csrf").unwrap();

    // Opening a round: every bad box refused beside it, nothing written; then opened.
    let refused = http
        .post(
            "/rounds",
            &[
                ("csrf", &csrf),
                ("request_id", "open-1"),
                ("round.name", ""),
                ("round.county_code", A),
                ("round.target_tier", "3"),
                ("round.application_deadline", "2026-02-30"),
                ("round.committee", ""),
                ("round.pass_ratio", "2/3"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    for field in [
        "round.name",
        "round.application_deadline",
        "round.committee",
    ] {
        assert!(
            refused
                .body
                .contains(&format!("id=\"open-round-{field}-error\"")),
            "{field}: {}",
            refused.body
        );
    }
    let not_a_number = http
        .post(
            "/rounds",
            &[
                ("csrf", &csrf),
                ("request_id", "open-2"),
                ("round.name", "2026年度一级教师职称评审"),
                ("round.pass_ratio", "两成"),
                ("round.years_in_tier", "五"),
            ],
        )
        .await;
    not_a_number.assert_field_error("open-round-round.pass_ratio");
    assert!(not_a_number
        .body
        .contains("id=\"open-round-round.years_in_tier-error\""));
    assert_eq!(
        round_changes(&mut registry).await,
        0,
        "a refusal writes nothing"
    );
    let opened = http
        .post(
            "/rounds",
            &[
                ("csrf", &csrf),
                ("request_id", "open-3"),
                ("round.name", "2026年度一级教师职称评审"),
                ("round.county_code", A),
                ("round.target_tier", "3"),
                ("round.application_deadline", &today.to_string()),
                ("round.committee", "张委员\r\n李委员\r\n王委员\r\n"),
                ("round.pass_ratio", "3/4"),
                ("round.years_in_tier", "5"),
            ],
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let path = opened.header("location").unwrap().to_string();
    let round_id = path.strip_prefix("/rounds/").unwrap().to_string();
    let round = common::get_round(&mut rounds, &round_id).await;
    assert_eq!(round.committee, ["张委员", "李委员", "王委员"]);
    assert_eq!(
        (
            round.target_tier,
            round.pass_ratio_numerator,
            round.pass_ratio_denominator,
            round.years_in_tier,
            round.publicity_working_days
        ),
        (pb::TitleTier::FirstLevel as i32, 3, 4, 5, 5)
    );
    assert_eq!(round_changes(&mut registry).await, 1);

    // Applying: a mistyped registry number beside its field; a teacher whose
    // registration has run out refused by that rule, named; then an eligible teacher's
    // application.
    let page = http.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"apply\""));
    let apply = async |http: &mut Http, teacher: &str, request_id: &str| {
        http.post(
            &format!("{path}/apply"),
            &[
                ("csrf", &csrf),
                ("request_id", request_id),
                ("teacher_id", teacher),
                ("applied_on", &today.to_string()),
            ],
        )
        .await
    };
    let mistyped = apply(&mut http, "T0000", "apply-1").await;
    mistyped.assert_field_error("apply-teacher_id");
    let lapsed = apply(&mut http, &fx.teacher_a.teacher_id, "apply-2").await;
    assert_eq!(lapsed.status, 409, "{}", lapsed.body);
    assert!(
        lapsed.body.contains("FAILED_PRECONDITION (NOT_REGISTERED)"),
        "{}",
        lapsed.body
    );
    let listed = async |rounds: &mut Rounds| common::list_applications(rounds, &round_id, "").await;
    assert!(listed(&mut rounds).await.is_empty());
    let applied = apply(&mut http, &ready.teacher_id, "apply-3").await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let applications = listed(&mut rounds).await;
    assert_eq!(applications.len(), 1);
    assert_eq!(applications[0].teacher_id, ready.teacher_id);
    assert_eq!(
        applied.header("location"),
        Some(format!("/applications/{}", applications[0].application_id).as_str())
    );

    // The eligibility dry run: the county is required; then a line per teacher.
    let no_county = http
        .get(&format!("{path}?eligibility=1&county_code=&school=&on="))
        .await;
    assert_eq!(no_county.status, 200);
    assert!(
        no_county
            .body
            .contains("id=\"eligibility-county_code-error\""),
        "{}",
        no_county.body
    );
    let listed = http
        .get(&format!("{path}?eligibility=1&county_code={A}&school=&on="))
        .await;
    let rows = element(&listed.body, "eligibility-rows");
    let row = |id: &str| {
        let at = rows.find(&format!("data-teacher=\"{id}\"")).unwrap();
        &rows[at..at + rows[at..].find("</tr>").unwrap()]
    };
    assert!(row(&other.teacher_id).contains(">符合<"), "{rows}");
    assert!(row(&fx.teacher_a.teacher_id).contains("NO_TITLE"), "{rows}");

    // A reader sees neither form.
    let mut reader = fx.signed_in(&fx.tokens.reader).await;
    assert!(!reader
        .get("/rounds")
        .await
        .body
        .contains("id=\"open-round\""));
    assert!(!reader.get(&path).await.body.contains("id=\"apply\""));
}
