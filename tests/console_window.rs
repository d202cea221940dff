//! The window in the web console over a real socket: the queue, an application received,
//! a case moved on through its steps (accept, supplement, receive, assign, decide,
//! withdraw, a registration deferred with its reasons) with
//! each refusal beside its field, and the printed notices. Everything the console changes
//! is checked over gRPC or on the case's page.

mod common;
mod console_support;

use console_support::*;
use teacher_registry::api::pb;

/// Sends the step `action` of the case page at `path`, as its form does: with the page's
/// `csrf`, and its `etag` and `request_id` ("" where the page has none), then `fields`.
async fn send_step(http: &mut Http, path: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
    let page = http.get(path).await;
    let mut all = vec![
        ("csrf".to_string(), page.input("csrf").unwrap()),
        ("etag".to_string(), page.input("etag").unwrap_or_default()),
        (
            "request_id".to_string(),
            page.input("request_id").unwrap_or_default(),
        ),
    ];
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http.post(&format!("{path}/{action}"), &all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_lists_the_queue_and_moves_a_case_on_to_its_printed_notices() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    let case_id = fx.case.case_id.clone();

    let queue = http.get("/cases").await;
    assert_eq!(queue.status, 200);
    assert!(
        queue.body.contains(&format!("href=\"/cases/{case_id}\"")),
        "{}",
        queue.body
    );
    // Received today with its days to go: open, neither overdue nor due within 3 days.
    let section = |from: &str, to: &str| {
        let start = queue.body.find(from).unwrap();
        queue.body[start..queue.body.find(to).unwrap()].to_string()
    };
    assert!(!section("id=\"overdue-h\"", "id=\"soon-h\"").contains(&case_id));
    assert!(!section("id=\"soon-h\"", "id=\"queue-h\"").contains(&case_id));
    assert!(section("id=\"queue-h\"", "</main>").contains(&case_id));

    let page = http.get(&format!("/cases/{case_id}")).await;
    assert!(page.body.contains("id=\"accept\""));
    assert!(
        !page.body.contains("/notice/receipt"),
        "no receipt before acceptance"
    );
    let field = |name: &str| page.input(name).unwrap();
    let accepted = http
        .post(
            &format!("/cases/{case_id}/accept"),
            &[
                ("csrf", &field("csrf")),
                ("etag", &field("etag")),
                ("request_id", &field("request_id")),
                ("step_date", ""),
                ("note", "材料齐全"),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let page = http.get(&format!("/cases/{case_id}")).await;
    assert!(page.body.contains("已受理"));
    assert!(page.body.contains("材料齐全"));
    let receipt = http.get(&format!("/cases/{case_id}/notice/receipt")).await;
    assert_eq!(receipt.status, 200);
    assert!(receipt.body.contains("受理通知书") && receipt.body.contains(&case_id));

    // Decide without an outcome: the error by the outcome field; then approve.
    let field = |name: &str| page.input(name).unwrap();
    let mut decide = [
        ("csrf", field("csrf")),
        ("etag", field("etag")),
        ("request_id", field("request_id")),
        ("outcome", String::new()),
        ("reissue_reason", "1".to_string()),
        ("declaration_ref", "声明-1".to_string()),
    ];
    let send: Vec<(&str, &str)> = decide.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = http.post(&format!("/cases/{case_id}/decide"), &send).await;
    refused.assert_field_error("decide-outcome");
    decide[3].1 = (pb::CaseOutcome::Approved as i32).to_string();
    decide[2].1 = "decide-approve".to_string();
    let send: Vec<(&str, &str)> = decide.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let decided = http.post(&format!("/cases/{case_id}/decide"), &send).await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let page = http.get(&format!("/cases/{case_id}")).await;
    assert!(
        page.body.contains("已办结") && page.body.contains("准予"),
        "{}",
        page.body
    );
    let decision = http.get(&format!("/cases/{case_id}/notice/decision")).await;
    assert!(decision.body.contains("决定书"));
    assert_eq!(
        fx.teacher(&fx.teacher_a.teacher_id).await.certificates[0]
            .copies
            .len(),
        2,
        "the decision reissued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_asks_for_missing_materials_receives_them_and_a_case_is_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    let path = format!("/cases/{}", fx.case.case_id);
    let page = http.get(&path).await;
    for form in ["accept", "supplement", "refuse", "withdraw"] {
        assert!(
            page.body
                .contains(&format!("<form class=\"card\" id=\"{form}\"")),
            "{form}"
        );
    }
    assert!(
        !page.body.contains("id=\"decide\""),
        "not before acceptance"
    );
    let send = async |http: &mut Http, action: &str, fields: &[(&str, &str)]| {
        send_step(http, &path, action, fields).await
    };

    let empty = send(&mut http, "supplement", &[("missing", " \n ")]).await;
    empty.assert_field_error("supplement-missing");
    let asked = send(
        &mut http,
        "supplement",
        &[("missing", "身份证复印件\n近期照片")],
    )
    .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let page = http.get(&path).await;
    assert!(page.body.contains("待补正") && page.body.contains("身份证复印件、近期照片"));
    assert!(page.body.contains("/notice/supplement") && page.body.contains("id=\"receive\""));
    let notice = http.get(&format!("{path}/notice/supplement")).await;
    assert!(notice.body.contains("补正材料通知书") && notice.body.contains("近期照片"));

    let received = send(
        &mut http,
        "receive",
        &[("materials", "身份证复印件\n近期照片")],
    )
    .await;
    assert_eq!(received.status, 303, "{}", received.body);
    // Assigned to a clerk: an empty name is refused beside its field.
    let nobody = send(&mut http, "assign", &[("assignee", " ")]).await;
    nobody.assert_field_error("assign-assignee");
    let assigned = send(&mut http, "assign", &[("assignee", "李经办")]).await;
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    let page = http.get(&path).await;
    assert!(page.body.contains("李经办"), "{}", page.body);
    let withdrawn = send(&mut http, "withdraw", &[("note", "申请人书面撤回")]).await;
    assert_eq!(withdrawn.status, 303, "{}", withdrawn.body);
    let page = http.get(&path).await;
    assert!(page.body.contains("已撤回"), "{}", page.body);
    assert!(
        !page.body.contains("<form class=\"card\""),
        "no step after withdrawal"
    );
    let unknown = send(&mut http, "approve-everything", &[]).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_received_at_the_window_is_certified_and_the_new_teacher_found() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    let queue = http.get("/cases").await;
    assert!(queue.body.contains("href=\"/cases/new\""));
    let form = http.get("/cases/new").await;
    assert_eq!(form.status, 200);
    assert_eq!(
        form.input("county_code").as_deref(),
        Some(A),
        "the clerk's own county"
    );
    let national_id = common::resident_id("350702", "1998-05-06", 2);
    let kind = (pb::CaseKind::Certification as i32).to_string();
    let certificate_kind = (pb::CertificateKind::PrimarySchool as i32).to_string();
    let csrf = form.input("csrf").unwrap();
    let request_id = form.input("request_id").unwrap();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("request_id", request_id.as_str()),
        ("kind", kind.as_str()),
        ("county_code", A),
        ("certificate_kind", certificate_kind.as_str()),
        ("name", "王小红"),
        ("id_document_type", "1"),
        ("national_id", "35070219980506002"),
        ("gender", "2"),
        ("birth_date", "1998-05-06"),
        ("school", "延平区实验小学"),
        ("materials", "申请表\n学历证书"),
    ];
    let refused = http.post("/cases/new", &fields).await;
    refused.assert_field_error("national_id");
    fields[7].1 = national_id.as_str();
    let opened = http.post("/cases/new", &fields).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let path = opened.header("location").unwrap().to_string();

    let page = http.get(&path).await;
    assert!(page.body.contains("王小红") && page.body.contains("资格认定"));
    let accept = [
        ("csrf", page.input("csrf").unwrap()),
        ("etag", page.input("etag").unwrap()),
        ("request_id", page.input("request_id").unwrap()),
    ];
    let accept: Vec<(&str, &str)> = accept.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        http.post(&format!("{path}/accept"), &accept).await.status,
        303
    );

    let page = http.get(&path).await;
    let approved = (pb::CaseOutcome::Approved as i32).to_string();
    let decide = [
        ("csrf", page.input("csrf").unwrap()),
        ("etag", page.input("etag").unwrap()),
        ("request_id", page.input("request_id").unwrap()),
        ("outcome", approved),
        ("certificate_number", "20263500022000077".to_string()),
        ("certificate_kind", certificate_kind.clone()),
        ("subject", "数学".to_string()),
        ("issuing_authority", "南平市延平区教育局".to_string()),
        ("certified_on", teacher_registry::clock::today().to_string()),
        ("review_1", "1".to_string()),
        ("review_2", "1".to_string()),
        ("review_3", "1".to_string()),
        ("review_4", "1".to_string()),
    ];
    let decide: Vec<(&str, &str)> = decide.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let decided = http.post(&format!("{path}/decide"), &decide).await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let page = http.get(&path).await;
    assert!(
        page.body.contains("已办结") && page.body.contains("/notice/decision"),
        "{}",
        page.body
    );

    let found = http.get(&format!("/search?q={national_id}")).await;
    assert!(found.body.contains("王小红"), "{}", found.body);
    let found = http.get("/search?q=20263500022000077").await;
    assert!(found.body.contains("王小红"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_is_deferred_with_its_reasons_ticked() {
    use teacher_registry::api::pb::case_service_client::CaseServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", fx.server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut cases =
        CaseServiceClient::with_interceptor(channel, common::Token::bearer(&fx.tokens.admin));
    let case = common::open_case(
        &mut cases,
        pb::Case {
            kind: pb::CaseKind::Registration as i32,
            county_code: A.into(),
            certificate_number: CERT_A.into(),
            materials: vec!["定期注册申请表".into()],
            ..Default::default()
        },
    )
    .await;
    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    let path = format!("/cases/{}", case.case_id);
    let send = async |http: &mut Http, action: &str, fields: &[(&str, &str)]| {
        send_step(http, &path, action, fields).await
    };
    assert_eq!(send(&mut http, "accept", &[]).await.status, 303);
    let page = http.get(&path).await;
    assert!(
        page.body.contains("id=\"registration-reasons\""),
        "{}",
        page.body
    );
    let deferred = (pb::CaseOutcome::Deferred as i32).to_string();
    let without = send(&mut http, "decide", &[("outcome", &deferred)]).await;
    without.assert_field_error("decide-registration_reasons");
    let decided = send(
        &mut http,
        "decide",
        &[
            ("outcome", &deferred),
            ("registration_reason_1", "1"),
            ("registration_reason_3", "1"),
        ],
    )
    .await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let now = common::get_case(&mut cases, &case.case_id).await;
    assert_eq!(now.outcome, pb::CaseOutcome::Deferred as i32);
    assert_eq!(
        now.registration_reasons,
        [
            pb::RegistrationReason::TrainingHoursShort as i32,
            pb::RegistrationReason::FailedAnnualAssessment as i32
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registrations_falling_due_are_listed_by_county_within_the_callers_scope() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let form = http.get("/registrations").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("id=\"due\"") && !form.body.contains("id=\"due-list\""));

    // Both fixture teachers registered on 2016-09-01, so until 2021-09-01.
    let all = http
        .get("/registrations?registration_expires_before=2022-01-01&county_code=")
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    for t in [&fx.teacher_a, &fx.teacher_b] {
        assert!(all.body.contains(&t.teacher_id), "{}", all.body);
    }
    assert!(all.body.contains("2021-09-01"));
    let before = http
        .get("/registrations?registration_expires_before=2021-09-01&county_code=")
        .await;
    assert!(before.body.contains("id=\"none\""), "{}", before.body);
    let one = http
        .get(&format!(
            "/registrations?registration_expires_before=2022-01-01&county_code={A}"
        ))
        .await;
    assert!(one.body.contains(&fx.teacher_a.teacher_id));
    assert!(!one.body.contains(&fx.teacher_b.teacher_id));
    let bad = http
        .get("/registrations?registration_expires_before=2022-13-01&county_code=")
        .await;
    bad.assert_field_error("registration_expires_before");

    // A county user sees their own county by default, and is refused another's.
    let mut county = fx.signed_in(&fx.tokens.county_a).await;
    let own = county
        .get("/registrations?registration_expires_before=2022-01-01&county_code=")
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.contains(&fx.teacher_a.teacher_id));
    assert!(!own.body.contains(&fx.teacher_b.teacher_id));
    let other = county
        .get(&format!(
            "/registrations?registration_expires_before=2022-01-01&county_code={B}"
        ))
        .await;
    assert_eq!(other.status, 403, "{}", other.body);
    assert!(!other.body.contains(&fx.teacher_b.teacher_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_report_is_a_table_by_period_county_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.admin).await;
    // The fixture's reissue case was received today: one received, none accepted.
    let year = common::today_cst().format("%Y").to_string();
    let report = http.get("/cases/report").await;
    assert_eq!(report.status, 200, "{}", report.body);
    let table = &report.body[report.body.find("id=\"case-report\"").unwrap()..];
    let row = &table[table.find("补发换发").expect("the reissue row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cells: Vec<&str> = row
        .split("<td>")
        .skip(1)
        .map(|c| &c[..c.find('<').unwrap()])
        .collect();
    assert_eq!(&cells[..3], ["1", "0", "0"], "{row}");
    let quarters = http
        .get(&format!(
            "/cases/report?year={year}&county_code={A}&period=2"
        ))
        .await;
    assert_eq!(quarters.status, 200);
    assert!(quarters.body.contains("<td>Q"), "{}", quarters.body);
    let bad = http
        .get("/cases/report?year=twenty&county_code=&period=1")
        .await;
    bad.assert_field_error("year");
    let bad = http
        .get("/cases/report?year=2026&county_code=35&period=1")
        .await;
    bad.assert_field_error("county_code");
}
