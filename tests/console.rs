//! The web console over a real socket: sign-in sessions and their cookies, CSRF refusal,
//! expiry and sign-out; search, a teacher's page and a reissue with a field error then
//! success; a county user refused another county's teacher; the window's queue, a case
//! moved on and its printed receipt; and the public verification page's answers and its
//! per-address limit. Everything the console changes is checked over gRPC.

mod common;
mod console_support;

use std::time::Duration;

use console_support::*;
use teacher_registry::api::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_http_only_session_cookie_and_sign_out_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);

    // Signed-out pages send the browser to sign in.
    let search = http.get("/search").await;
    assert_eq!(search.status, 303);
    assert_eq!(search.header("location"), Some("/signin?next=/search"));

    let form = http.get("/signin").await;
    assert_eq!(form.status, 200);
    let form_cookie = form.set_cookies()[0].to_string();
    assert!(form_cookie.starts_with("tr_form="), "{form_cookie}");
    assert!(
        form_cookie.contains("; HttpOnly; SameSite=Strict"),
        "{form_cookie}"
    );
    assert!(
        !form_cookie.contains("Secure"),
        "no TLS, no Secure: {form_cookie}"
    );
    assert!(form.body.contains("<label for=\"token\">"), "{}", form.body);
    assert_eq!(
        form.header("content-security-policy")
            .map(|c| c.contains("default-src 'self'")),
        Some(true)
    );

    // A wrong token: the error beside the token field, and no session.
    let token = form.input("form_token").unwrap();
    let wrong = http
        .post(
            "/signin",
            &[("form_token", &token), ("token", "not-a-token")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("id=\"token-error\""), "{}", wrong.body);
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    assert!(!http.cookies.contains_key("tr_session"));

    let signed = http.sign_in(&fx.tokens.admin).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.header("location"), Some("/search"));
    let session_cookie = signed.set_cookies()[0].to_string();
    assert!(
        session_cookie.starts_with("tr_session="),
        "{session_cookie}"
    );
    assert!(
        session_cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict"),
        "{session_cookie}"
    );
    let session = http.cookies["tr_session"].clone();
    assert!(session.len() >= 43, "256 random bits");
    assert!(
        !session_cookie.contains(&fx.tokens.admin),
        "the token never goes to the browser"
    );

    let page = http.get("/search").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("root (admin)"), "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Sign-out needs the session's CSRF token too.
    let csrf = page.input("csrf").unwrap();
    let refused = http.post("/signout", &[("csrf", "forged")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(http.get("/search").await.status, 200, "still signed in");
    let out = http.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.set_cookies()[0].contains("Max-Age=0"));
    assert!(!http.cookies.contains_key("tr_session"));

    // The old session id is dead even if a browser kept it.
    http.cookies.insert("tr_session".into(), session);
    assert_eq!(http.get("/search").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_after_idling() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |options| {
        options.console.as_mut().unwrap().session_idle = Duration::from_millis(600);
    })
    .await;
    let mut http = Http::new(fx.console);
    assert_eq!(http.sign_in(&fx.tokens.admin).await.status, 303);
    assert_eq!(http.get("/search").await.status, 200);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let expired = http.get("/search").await;
    assert_eq!(expired.status, 303);
    assert!(expired.header("location").unwrap().starts_with("/signin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_their_csrf_token_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);

    // Sign-in without the form's token (as another site would post it).
    let refused = http.post("/signin", &[("token", &fx.tokens.admin)]).await;
    assert_eq!(refused.status, 403);
    assert!(!http.cookies.contains_key("tr_session"));

    assert_eq!(http.sign_in(&fx.tokens.admin).await.status, 303);
    let id = &fx.teacher_a.teacher_id;
    for csrf in ["", "forged"] {
        let answer = http
            .post(
                &format!("/teachers/{id}/reissue"),
                &[
                    ("csrf", csrf),
                    ("certificate_number", CERT_A),
                    ("reason", "2"),
                    ("request_id", "csrf-test"),
                ],
            )
            .await;
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
    let case = http
        .post(
            &format!("/cases/{}/accept", fx.case.case_id),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(case.status, 403);
    let teacher = fx.teacher(id).await;
    assert_eq!(teacher.revision, fx.teacher_a.revision, "nothing changed");
    assert_eq!(teacher.certificates[0].copies.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_name_and_numbers_and_a_reissue_shows_its_field_error_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);
    http.sign_in(&fx.tokens.admin).await;
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
        .find("id=\"declaration_ref-error\"")
        .expect("error by its field");
    let field_at = refused.body.find("id=\"declaration_ref\"").unwrap();
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
        Some(format!("/teachers/{id}?done=reissued").as_str())
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
    let mut county = Http::new(fx.console);
    county.sign_in(&fx.tokens.county_a).await;
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

    let mut reader = Http::new(fx.console);
    reader.sign_in(&fx.tokens.reader).await;
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
async fn the_window_lists_the_queue_and_moves_a_case_on_to_its_printed_notices() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);
    http.sign_in(&fx.tokens.county_a).await;
    let case_id = fx.case.case_id.clone();

    let queue = http.get("/cases").await;
    assert_eq!(queue.status, 200);
    assert!(
        queue.body.contains(&format!("href=\"/cases/{case_id}\"")),
        "{}",
        queue.body
    );

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
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"decide-outcome-error\""),
        "{}",
        refused.body
    );
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
    assert_eq!(malformed.status, 422);
    assert!(
        malformed.body.contains("id=\"certificate_number-error\""),
        "{}",
        malformed.body
    );

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
    let mut http = Http::new(fx.console);
    http.sign_in(&fx.tokens.admin).await;
    let page = http.get("/transition").await;
    assert_eq!(page.status, 200);
    let csrf = page.input("csrf").unwrap();
    let request_id = page.input("request_id").unwrap();

    let missing = http
        .post(
            "/transition",
            &[
                ("csrf", &csrf),
                ("request_id", &request_id),
                ("county_code", A),
                ("effective_date", "not a date"),
                ("approval_document", "闽人社〔2026〕1号"),
                ("action", "dry_run"),
            ],
        )
        .await;
    assert_eq!(missing.status, 422, "{}", missing.body);
    assert!(
        missing.body.contains("id=\"effective_date-error\""),
        "{}",
        missing.body
    );

    let dry = http
        .post(
            "/transition",
            &[
                ("csrf", &csrf),
                ("request_id", &request_id),
                ("county_code", A),
                ("effective_date", "2026-01-01"),
                ("approval_document", "闽人社〔2026〕1号"),
                ("action", "dry_run"),
            ],
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.body.contains("<dd id=\"would\">1</dd>"), "{}", dry.body);
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
    let mut admin = Http::new(fx.console);
    admin.sign_in(&fx.tokens.admin).await;
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
    let mut county = Http::new(fx.console);
    county.sign_in(&fx.tokens.county_a).await;
    let page = county.get("/stats").await;
    assert!(
        page.body.contains("<td>延平区 350702</td><td>1</td>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("顺昌县"));
}

fn certificate_pair(
    name: &str,
    issuer: Option<(&rcgen::CertificateParams, &rcgen::KeyPair)>,
    ca: bool,
) -> (rcgen::Certificate, rcgen::KeyPair, rcgen::CertificateParams) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let cert = match issuer {
        Some((issuer_params, issuer_key)) => params
            .signed_by(&key, &rcgen::Issuer::from_params(issuer_params, issuer_key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (cert, key, params)
}

/// GET `path` over TLS, trusting `ca`; the answer's head.
async fn get_over_tls(
    address: std::net::SocketAddr,
    ca: &rcgen::Certificate,
    path: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tls_the_console_is_served_over_tls_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key, ca_params) = certificate_pair("console test CA", None, true);
    let (cert, key, _) = certificate_pair("localhost", Some((&ca_params, &ca_key)), false);
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let tls = teacher_registry::server::TlsFiles {
        cert: write("server.pem", cert.pem()),
        key: write("server.key", key.serialize_pem()),
        client_ca: None,
    };
    let console = free_address();
    let server = common::start_server_with(teacher_registry::server::ServerOptions {
        tls: Some(tls),
        console: Some(teacher_registry::console::ConsoleOptions::new(console)),
        ..Default::default()
    })
    .await;
    wait_listening(console).await;
    let head = get_over_tls(console, &ca, "/signin").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a form cookie");
    assert!(
        cookie.contains("; HttpOnly; SameSite=Strict; Secure"),
        "{cookie}"
    );

    // Plain HTTP to the TLS console gets no page.
    let mut plain = Http::new(console);
    let refused = tokio::time::timeout(Duration::from_secs(15), async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(plain.address).await.unwrap();
        stream
            .write_all(b"GET /signin HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        raw
    })
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&refused).contains("HTTP/1.1 200"));
    plain.cookies.clear();
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_in_the_auth_file_ends_its_console_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);
    http.sign_in(&fx.tokens.county_a).await;
    assert_eq!(http.get("/cases").await.status, 200);
    teacher_registry::auth::revoke_principal(&fx.auth_file, "yanping").unwrap();
    fx.authenticator.reload().unwrap();
    let page = http.get("/cases").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/signin"));
    let again = http.get("/cases").await;
    assert_eq!(
        again.header("location"),
        Some("/signin?next=/cases"),
        "the session is gone"
    );
    let form = http.get("/signin").await;
    let token = form.input("form_token").unwrap();
    let refused = http
        .post(
            "/signin",
            &[("form_token", &token), ("token", &fx.tokens.county_a)],
        )
        .await;
    assert_eq!(refused.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_asks_for_missing_materials_receives_them_and_a_case_is_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);
    http.sign_in(&fx.tokens.county_a).await;
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
        let page = http.get(&path).await;
        let mut all = vec![
            ("csrf".to_string(), page.input("csrf").unwrap()),
            ("etag".to_string(), page.input("etag").unwrap_or_default()),
            ("request_id".to_string(), page.input("request_id").unwrap_or_default()),
        ];
        all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        http.post(&format!("{path}/{action}"), &all).await
    };

    let empty = send(&mut http, "supplement", &[("missing", " \n ")]).await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert!(
        empty.body.contains("id=\"supplement-missing-error\""),
        "{}",
        empty.body
    );
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
