//! The web console's pages over a real socket: search, a teacher's page and a reissue with
//! a field error then success; a revocation whose form requires its legal ground; a county user refused another county's teacher and a
//! reader's masked numbers; the window's queue, a case moved on through its steps and its
//! printed notices; the title transition; the charts; and the public verification page's
//! answers and its per-address limit. Everything the console changes is checked over gRPC.

mod common;
mod console_support;

use console_support::*;
use teacher_registry::api::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_name_and_numbers_and_a_reissue_shows_its_field_error_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let id = fx.teacher_a.teacher_id.clone();

    let by_name = http.get(&format!("/search?q={}", encode("张"))).await;
    assert_eq!(by_name.status, 200);
    assert!(
        by_name.body.contains(&format!("href=\"/teachers/{id}\"")),
        "{}",
        by_name.body
    );
    assert!(
        by_name.body.contains("延平区"),
        "county names, not only codes"
    );
    assert!(!by_name.body.contains("李四"));
    for key in [CERT_A, fx.teacher_a.national_id.as_str(), id.as_str()] {
        let found = http.get(&format!("/search?q={key}")).await;
        assert!(
            found.body.contains(&format!("href=\"/teachers/{id}\"")),
            "{key}: {}",
            found.body
        );
    }
    // The results alone, as the search box fetches them while the clerk types.
    let fragment = http
        .get(&format!("/search?fragment=1&q={}", encode("张")))
        .await;
    assert_eq!(fragment.status, 200);
    assert!(
        fragment.body.starts_with("<table id=\"results\">"),
        "{}",
        fragment.body
    );
    assert!(fragment.body.contains(&format!("href=\"/teachers/{id}\"")));
    let none = http.get(&format!("/search?q={}", encode("王"))).await;
    assert!(none.body.contains("id=\"none\""));

    let page = http.get(&format!("/teachers/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(CERT_A) && page.body.contains("小学教师资格"));
    let csrf = page.input("csrf").unwrap();
    let etag = page.input("etag").unwrap();
    let request_id = page.input("request_id").unwrap();

    // A lost certificate needs the self-declaration: the error sits by that field.
    let fields = |declaration: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("etag", etag.clone()),
            ("request_id", request_id.clone()),
            ("certificate_number", CERT_A.to_string()),
            ("reason", "1".to_string()),
            ("declaration_ref", declaration.to_string()),
            ("issued_on", String::new()),
            ("new_name", String::new()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| {
        f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let missing = as_refs(&fields(""));
    let missing: Vec<(&str, &str)> = missing.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = http
        .post(&format!("/teachers/{id}/reissue"), &missing)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let error_at = refused
        .body
        .find("id=\"reissue-declaration_ref-error\"")
        .expect("error by its field");
    let field_at = refused.body.find("id=\"reissue-declaration_ref\"").unwrap();
    assert!(
        error_at > field_at && error_at - field_at < 400,
        "the error follows its field"
    );
    assert!(refused.body.contains("self-declaration"));
    assert_eq!(
        fx.teacher(&id).await.certificates[0].copies.len(),
        1,
        "nothing changed"
    );

    let given = as_refs(&fields("声明-2026-001"));
    let given: Vec<(&str, &str)> = given.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = http.post(&format!("/teachers/{id}/reissue"), &given).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.header("location"),
        Some(format!("/teachers/{id}?done=reissue").as_str())
    );
    let copies = fx.teacher(&id).await.certificates[0].copies.clone();
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[1].declaration_ref, "声明-2026-001");

    // The same form sent again is the same request: replayed, not a third copy.
    let again = http.post(&format!("/teachers/{id}/reissue"), &given).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(fx.teacher(&id).await.certificates[0].copies.len(), 2);

    // A stale form (the etag before the reissue) with a new request id is refused.
    let mut stale = given.clone();
    stale.retain(|(k, _)| *k != "request_id");
    stale.push(("request_id", "another-request"));
    let conflict = http.post(&format!("/teachers/{id}/reissue"), &stale).await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert_eq!(fx.teacher(&id).await.certificates[0].copies.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_user_is_refused_another_countys_teacher_and_a_reader_sees_masked_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut county = fx.signed_in(&fx.tokens.county_a).await;
    let own = county
        .get(&format!("/teachers/{}", fx.teacher_a.teacher_id))
        .await;
    assert_eq!(own.status, 200);
    let other = county
        .get(&format!("/teachers/{}", fx.teacher_b.teacher_id))
        .await;
    assert_eq!(other.status, 404, "as GetTeacher answers: NOT_FOUND");
    assert!(other.body.contains("NOT_FOUND"));
    assert!(!other.body.contains("李四"));
    let search = county.get(&format!("/search?q={}", encode("李"))).await;
    assert!(!search.body.contains("李四"), "{}", search.body);
    let by_number = county.get(&format!("/search?q={CERT_B}")).await;
    assert!(!by_number.body.contains("李四"));

    let mut reader = fx.signed_in(&fx.tokens.reader).await;
    let page = reader
        .get(&format!("/teachers/{}", fx.teacher_a.teacher_id))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&fx.teacher_a.national_id),
        "masked for readers"
    );
    assert!(
        !page.body.contains("id=\"reissue\""),
        "a reader may not reissue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_page_answers_what_verify_certificate_answers_within_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);
    let form = http.get("/verify").await;
    assert_eq!(form.status, 200);
    let token = form.input("form_token").unwrap();
    let verify = async |http: &mut Http, name: &str, number: &str| {
        http.post(
            "/verify",
            &[
                ("form_token", &token),
                ("name", name),
                ("certificate_number", number),
                ("national_id", ""),
            ],
        )
        .await
    };
    let found = verify(&mut http, "张三", CERT_A).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains("id=\"found\""));
    assert!(found.body.contains("小学教师资格") && found.body.contains("有效"));
    assert!(
        !found.body.contains(&fx.teacher_a.national_id)
            && !found.body.contains(&fx.teacher_a.teacher_id)
    );

    let wrong_name = verify(&mut http, "李四", CERT_A).await;
    assert!(wrong_name.body.contains("id=\"not-found\""));
    assert!(!wrong_name.body.contains("id=\"found\""));

    let malformed = verify(&mut http, "张三", "12").await;
    malformed.assert_field_error("certificate_number");

    // No token from the form: refused before the service is asked.
    let forged = http
        .post(
            "/verify",
            &[("name", "张三"), ("certificate_number", CERT_A)],
        )
        .await;
    assert_eq!(forged.status, 403);

    // The fixture allows a burst of 6 per address: 3 used, 3 more, then the limit.
    for _ in 0..3 {
        assert_eq!(verify(&mut http, "张三", CERT_A).await.status, 200);
    }
    let limited = verify(&mut http, "张三", CERT_A).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.body.contains("RESOURCE_EXHAUSTED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_title_transition_runs_dry_then_applies_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let page = http.get("/transition").await;
    assert_eq!(page.status, 200);
    let csrf = page.input("csrf").unwrap();
    let request_id = page.input("request_id").unwrap();

    let dry_run = [
        ("csrf", csrf.as_str()),
        ("request_id", &request_id),
        ("county_code", A),
        ("effective_date", "2026-01-01"),
        ("approval_document", "闽人社〔2026〕1号"),
        ("action", "dry_run"),
    ];
    let not_a_date = with_field(&dry_run, "effective_date", "not a date");
    http.post("/transition", &not_a_date)
        .await
        .assert_field_error("effective_date");

    let dry = http.post("/transition", &dry_run).await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.body.contains("<dd id=\"would\">1</dd>"), "{}", dry.body);
    // Streamed: the rows go out as the registry reaches them, the summary after them.
    assert_eq!(dry.header("transfer-encoding"), Some("chunked"));
    assert!(dry.body.find("id=\"outcomes\"").unwrap() < dry.body.find("id=\"summary\"").unwrap());
    assert!(
        dry.body.contains(&fx.teacher_a.teacher_id) && !dry.body.contains(&fx.teacher_b.teacher_id)
    );
    assert!(dry.body.contains("id=\"apply\""));
    assert_eq!(
        fx.teacher(&fx.teacher_a.teacher_id).await.revision,
        fx.teacher_a.revision,
        "a dry run saves nothing"
    );

    let apply_id = dry.input("request_id").unwrap();
    assert_ne!(apply_id, request_id);
    let applied = http
        .post(
            "/transition",
            &[
                ("csrf", &csrf),
                ("request_id", &apply_id),
                ("county_code", &dry.input("county_code").unwrap()),
                ("effective_date", &dry.input("effective_date").unwrap()),
                (
                    "approval_document",
                    &dry.input("approval_document").unwrap(),
                ),
                ("action", "apply"),
            ],
        )
        .await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    assert!(
        applied.body.contains("<dd id=\"transitioned\">1</dd>"),
        "{}",
        applied.body
    );
    let teacher = fx.teacher(&fx.teacher_a.teacher_id).await;
    assert_ne!(teacher.current_title, 0, "transitioned");
    assert_eq!(
        fx.teacher(&fx.teacher_b.teacher_id).await.current_title,
        0,
        "another county untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_draw_their_charts_inline_with_the_figures_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut admin = fx.signed_in(&fx.tokens.admin).await;
    let page = admin.get("/stats").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body.matches("<svg").count(), 3, "{}", page.body);
    assert!(page.body.contains("role=\"img\""));
    assert!(
        page.body.contains("<td>延平区 350702</td><td>1</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<td>顺昌县 350721</td><td>1</td>"));

    // A county user's figures are their county's alone, as GetStatistics scopes them.
    let mut county = fx.signed_in(&fx.tokens.county_a).await;
    let page = county.get("/stats").await;
    assert!(
        page.body.contains("<td>延平区 350702</td><td>1</td>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("顺昌县"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_and_revocation_show_their_field_errors_then_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (mut http, id, path) = fx.admin_at_teacher_a().await;
    let send = async |http: &mut Http, action: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("certificate_number", CERT_A)];
        all.extend_from_slice(fields);
        http.post_form(&path, action, None, &all).await
    };
    let bad = send(&mut http, "register", &[("registered_on", "2021-13-45")]).await;
    bad.assert_field_error("register-registered_on");
    let registered = send(&mut http, "register", &[("registered_on", "2021-09-01")]).await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let registrations = fx.teacher(&id).await.certificates[0].registrations.clone();
    assert_eq!(registrations.len(), 2);
    assert_eq!(registrations[1].expires_on, "2026-09-01");

    // The form requires the legal ground (the RPC accepts a request without one only for
    // older clients): left out, it is refused beside its field, with the form's other
    // errors, and nothing changes.
    let revocation = [
        ("ground", "1"),
        ("reason", "伪造学历证明"),
        ("approval_document", "延教〔2026〕9号"),
    ];
    let before = fx.teacher(&id).await;
    let no_document = send(
        &mut http,
        "revoke",
        &with_field(&revocation, "approval_document", ""),
    )
    .await;
    no_document.assert_field_error("revoke-approval_document");
    let no_ground = send(&mut http, "revoke", &without_field(&revocation, "ground")).await;
    no_ground.assert_field_error("revoke-ground");
    let neither = without_field(&with_field(&revocation, "approval_document", ""), "ground");
    let neither = send(&mut http, "revoke", &neither).await;
    neither.assert_field_error("revoke-ground");
    neither.assert_field_error("revoke-approval_document");
    assert_eq!(fx.teacher(&id).await.etag, before.etag, "nothing changed");
    // A reader, whom the RPC table refuses, is told so, not of the form's rule.
    let mut reader = fx.signed_in(&fx.tokens.reader).await;
    let csrf = reader.get(&path).await.input("csrf").unwrap();
    let mut crafted = vec![("csrf", csrf.as_str()), ("certificate_number", CERT_A)];
    crafted.extend(without_field(&revocation, "ground"));
    let refused = reader.post(&format!("{path}/revoke"), &crafted).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let revoked = send(&mut http, "revoke", &revocation).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let page = http.get(&path).await;
    assert!(page.body.contains("已撤销") && page.body.contains("延教〔2026〕9号"));
    assert!(
        page.body.contains("弄虚作假、骗取教师资格 · 伪造学历证明"),
        "the ground on the teacher's page: {}",
        page.body
    );
    let certificate = &fx.teacher(&id).await.certificates[0];
    assert_eq!(certificate.status, pb::CertificateStatus::Revoked as i32);
    let recorded = certificate.revocation.as_ref().unwrap();
    assert_eq!(recorded.ground, pb::RevocationGround::Fraud as i32);

    // A revocation recorded without a ground (an older client's) says so on the page.
    let (mut registry, _) = clients(&fx).await;
    registry
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: CERT_B.into(),
            reason: "旧系统迁入".into(),
            approval_document: "延教〔2020〕1号".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let page = http
        .get(&format!("/teachers/{}", fx.teacher_b.teacher_id))
        .await;
    assert!(
        page.body.contains("未载明依据 · 旧系统迁入"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_a_new_certificate_and_a_loss_of_qualification_from_the_teachers_page() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (mut http, id, path) = fx.admin_at_teacher_a().await;
    let send = async |http: &mut Http, action: &str, fields: &[(&str, &str)]| {
        let request_id = format!("{action}-{}", fields.len());
        http.post_form(&path, action, Some(request_id), fields)
            .await
    };

    // The school changes; an employment status that is none is refused beside its field.
    let update = [
        ("teacher.school", "延平区第二中学"),
        ("teacher.employment_status", "1"),
    ];
    let no_status = with_field(&update, "teacher.employment_status", "9");
    let bad_status = send(&mut http, "update", &no_status).await;
    bad_status.assert_field_error("update-teacher.employment_status");
    assert_eq!(fx.teacher(&id).await.school, fx.teacher_a.school);
    let moved = send(&mut http, "update", &update).await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert_eq!(fx.teacher(&id).await.school, "延平区第二中学");

    // The first new-series title: no tier is refused beside its field, then recorded.
    let no_tier = send(
        &mut http,
        "title",
        &[
            ("change.kind", "1"),
            ("change.effective_date", "2017-09-01"),
            ("change.approval_document", "延教人〔2017〕5号"),
        ],
    )
    .await;
    no_tier.assert_field_error("title-change.tier");
    assert!(fx.teacher(&id).await.title_history.is_empty());
    let titled = send(
        &mut http,
        "title",
        &[
            ("change.kind", "1"),
            ("change.tier", "2"),
            ("change.effective_date", "2017-09-01"),
            ("change.approval_document", "延教人〔2017〕5号"),
            ("change.limited_scope", "1"),
        ],
    )
    .await;
    assert_eq!(titled.status, 303, "{}", titled.body);
    let history = fx.teacher(&id).await.title_history;
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].tier, history[0].limited_scope),
        (pb::TitleTier::SecondLevel as i32, true)
    );
    // A promotion without a registration in force is refused by its rule, named.
    let promoted = send(
        &mut http,
        "title",
        &[
            ("change.kind", "3"),
            ("change.tier", "3"),
            ("change.effective_date", "2025-09-01"),
            ("change.approval_document", "延教人〔2025〕8号"),
        ],
    )
    .await;
    assert_eq!(promoted.status, 409, "{}", promoted.body);
    assert!(
        promoted.body.contains("NOT_REGISTERED"),
        "{}",
        promoted.body
    );

    // An ethics finding: the reviewer is required, then it is recorded and listed.
    let finding = [
        ("finding.found_on", "2026-03-02"),
        ("finding.ground", "有偿补课（师德失范行为处理办法第四条）"),
        ("finding.vetoes_until", "2028-03-01"),
        ("finding.reviewed_by", "李审核"),
    ];
    let unreviewed = without_field(&finding, "finding.reviewed_by");
    let unreviewed = send(&mut http, "finding", &unreviewed).await;
    unreviewed.assert_field_error("finding-finding.reviewed_by");
    assert!(http.get(&path).await.body.contains("id=\"findings-none\""));
    let found = send(&mut http, "finding", &finding).await;
    assert_eq!(found.status, 303, "{}", found.body);
    let page = http.get(&path).await;
    let listed = &page.body[page.body.find("id=\"findings\"").unwrap()..];
    assert!(
        listed.contains("有偿补课") && listed.contains("2028-03-01") && listed.contains("李审核"),
        "{listed}"
    );

    // A second certificate: a malformed number beside its field, then issued.
    let issue = [
        ("certificate.certificate_number", "20173500022000456"),
        ("certificate.kind", "2"),
        ("certificate.subject", "数学"),
        ("certificate.issuing_authority", "南平市延平区教育局"),
        ("certificate.certified_on", "2017-07-01"),
    ];
    let malformed = with_field(&issue, "certificate.certificate_number", "2017350002");
    let bad = send(&mut http, "issue", &malformed).await;
    bad.assert_field_error("issue-certificate.certificate_number");
    let issued = send(&mut http, "issue", &issue).await;
    assert_eq!(issued.status, 303, "{}", issued.body);
    assert_eq!(fx.teacher(&id).await.certificates.len(), 2);

    // Loss of qualification: the ground is required, then every certificate is LOST.
    let no_ground = send(
        &mut http,
        "lose",
        &[
            ("certificate_number", CERT_A),
            ("approval_document", "延教〔2026〕13号"),
        ],
    )
    .await;
    no_ground.assert_field_error("lose-ground");
    let lost = send(
        &mut http,
        "lose",
        &[
            ("certificate_number", CERT_A),
            ("ground", "2"),
            ("approval_document", "延教〔2026〕13号"),
            ("note", "(2026) 闽0702刑初12号"),
        ],
    )
    .await;
    assert_eq!(lost.status, 303, "{}", lost.body);
    let teacher = fx.teacher(&id).await;
    assert!(teacher
        .certificates
        .iter()
        .all(|c| c.status == pb::CertificateStatus::Lost as i32));
    let page = http.get(&format!("{path}?done=lose")).await;
    assert!(page.body.contains("已登记丧失教师资格"), "{}", page.body);

    // A county user may not change titles (the role table), so that form is not drawn
    // for them; they may issue certificates.
    let mut county = fx.signed_in(&fx.tokens.county_a).await;
    let page = county.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<form class=\"card\" id=\"title\""));
    assert!(page.body.contains("<form class=\"card\" id=\"issue\""));
}
