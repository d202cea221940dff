//! "Then look for the next": attacks found after the list, each tried against a
//! real server with every role, each expected to fail now.
//!
//! - N1, existence through steps: a step of a case or a title application, or an ethics
//!   finding, on a record of another county answered PERMISSION_DENIED, where a missing
//!   record answers NOT_FOUND and a read of it answers NOT_FOUND: a county could tell
//!   another county's case, application or teacher from a number that does not exist (so
//!   could a city, of cases its counties have not forwarded). Finding 2's rule, in the
//!   services that came after it: `steps_on_records_the_caller_cannot_read_answer_as_missing`.
//! - N2, who did what in title evaluation: an application's steps, its objections (who
//!   recorded and who handled each) and an ethics finding named the principal to every
//!   role that reads them, as the feed and case steps did before finding 7:
//!   `only_admins_see_who_took_evaluation_steps`.
//! - N3, the read audit as a disk filler: every import row refused as a duplicate was an
//!   audit entry and none counted against the refusal limit, so a county re-importing its
//!   own file (create-only: every row a duplicate of its own teacher) in a loop wrote
//!   entries as fast as the writer took rows, 5,000 per stream of 5,000 rows, without
//!   limit or rate: `reimporting_its_own_file_writes_no_audit_entries`; and a stream of
//!   other counties' holders was a sweep no limit held back:
//!   `an_import_of_other_counties_holders_is_held_to_the_refusal_limit`.
//! - N5, listings round the rate of rows: ListCases, ListTitleApplications and
//!   CheckEligibility (one row per teacher of a county, unpaged) took nothing from the
//!   principal's rate of rows (finding 9), so a reader could have any number of rows a
//!   second through them: `every_listing_is_held_to_the_rate_of_rows`.
//! - N6, the read audit as a disk filler within the rate: every no-op write and identity
//!   lookup is an entry kept 180 days, and a county's 100 requests a second wrote 8.6
//!   million of them a day. Each principal but an admin now has a budget of entries
//!   (10,000 at once, then one a second), past which it is RESOURCE_EXHAUSTED:
//!   `a_principals_audit_entries_are_held_to_its_budget`.
//! - N4, console sessions as a memory filler: signing in to the web console is not a gRPC
//!   call, so no rate met it, and every sign-in kept a session for 30 minutes: any token
//!   (a reader's) signing in again and again grew the server's memory without bound, and
//!   each sign-in swept the whole table under the lock every page takes. A principal now
//!   holds at most 64 sessions, its least recently used ending first, and nobody else's:
//!   `signing_in_again_and_again_holds_a_bounded_number_of_sessions`.

use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::lookup_teacher_request::Key;
use teacher_registry::domain::case::CaseId;
use teacher_registry::domain::TeacherId;
use teacher_registry::server::ServerOptions;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

use teacher_registry::api::RateLimit;
use teacher_registry::console::session::MAX_SESSIONS_PER_PRINCIPAL;
use teacher_registry::console::ConsoleOptions;

use super::harness::{
    as_token, create_as, principals, revealed_to_county_a, secured, Token, Tokens, A, B,
};
use crate::common::{
    create_round, eligible_teacher, get_title_application, list_applications, list_ethics_findings,
    open_case, round_in, start_server_in, start_server_in_with, teacher, today_cst, Answered,
    TestServer,
};
use crate::console_support::{free_address, wait_listening, Http};

/// A limit the tests reach soon: a burst of 20, then one a minute.
const TWENTY_THEN_ONE_A_MINUTE: RateLimit = RateLimit {
    per_minute: 1,
    burst: 20,
};

type Rounds = EvaluationServiceClient<InterceptedService<Channel, Token>>;
type Cases = CaseServiceClient<InterceptedService<Channel, Token>>;

async fn channel(server: &TestServer) -> Channel {
    Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn rounds_as(server: &TestServer, token: &str) -> Rounds {
    EvaluationServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

async fn cases_as(server: &TestServer, token: &str) -> Cases {
    CaseServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

/// What the setup left: a teacher, an application with an objection handled, and an
/// accepted case, all of county B; and a finding about the teacher.
struct InB {
    teacher: pb::Teacher,
    application: pb::TitleApplication,
    case: pb::Case,
}

/// Builds the records of county B as the anonymous admin (a server without an auth file),
/// then serves the same data with the harness's principals.
async fn records_of_b(dir: &std::path::Path, options: ServerOptions) -> (TestServer, Tokens, InB) {
    let data = dir.join("data");
    let setup = start_server_in(&data).await;
    let mut registry = setup.client.clone();
    let teacher_b = eligible_teacher(&mut registry, 61, B).await;
    let channel = channel(&setup).await;
    let mut rounds = EvaluationServiceClient::new(channel.clone());
    let round_id = create_round(&mut rounds, round_in(B)).await.round_id;
    let application = rounds
        .apply_for_title(pb::ApplyForTitleRequest {
            round_id: round_id.clone(),
            teacher_id: teacher_b.teacher_id.clone(),
            applied_on: (today_cst() - chrono::Duration::days(20)).to_string(),
            ..Default::default()
        })
        .await
        .unwrap_application();
    let opened = rounds
        .open_publicity(pb::OpenPublicityRequest {
            round_id,
            step_date: (today_cst() - chrono::Duration::days(19)).to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    let starts_on = opened[0].application.as_ref().unwrap().publicity[0]
        .starts_on
        .clone();
    rounds
        .record_objection(pb::RecordObjectionRequest {
            application_id: application.application_id.clone(),
            step_date: starts_on.clone(),
            text: "异议".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let application = rounds
        .handle_objection(pb::HandleObjectionRequest {
            application_id: application.application_id.clone(),
            step_date: starts_on,
            note: "经核查不属实".into(),
            ..Default::default()
        })
        .await
        .unwrap_application();
    rounds
        .record_ethics_finding(pb::RecordEthicsFindingRequest {
            finding: Some(pb::EthicsFinding {
                teacher_id: teacher_b.teacher_id.clone(),
                found_on: "2020-03-01".into(),
                ground: "有偿补课".into(),
                vetoes_until: "2021-03-01".into(),
                reviewed_by: "李审核".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let mut cases = CaseServiceClient::new(channel);
    let case = open_case(
        &mut cases,
        pb::Case {
            kind: pb::CaseKind::Certification as i32,
            county_code: B.into(),
            applicant: Some(teacher(62, B)),
            certificate_kind: pb::CertificateKind::PrimarySchool as i32,
            ..Default::default()
        },
    )
    .await;
    setup.stop().await;

    let (authenticator, tokens) = principals(dir);
    let server = start_server_in_with(
        &data,
        ServerOptions {
            authenticator: Some(authenticator),
            ..options
        },
    )
    .await;
    let records = InB {
        teacher: teacher_b,
        application,
        case,
    };
    (server, tokens, records)
}

/// The code and message of a refusal: all a sweep compares.
fn answer<T>(result: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    let status = result.err().expect("refused");
    (status.code(), status.message().to_string())
}

#[tokio::test]
async fn steps_on_records_the_caller_cannot_read_answer_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens, b) = records_of_b(dir.path(), ServerOptions::default()).await;
    let mut rng = rand::thread_rng();
    let missing_teacher = TeacherId::generate(&mut rng).as_str().to_string();
    let missing_case = CaseId::generate(&mut rng).as_str().to_string();
    let mut rounds = rounds_as(&server, &tokens.county_a).await;
    let mut cases = cases_as(&server, &tokens.county_a).await;

    // An ethics finding about another county's teacher, and about nobody.
    let finding = |teacher_id: &str| pb::RecordEthicsFindingRequest {
        finding: Some(pb::EthicsFinding {
            teacher_id: teacher_id.into(),
            found_on: "2020-03-01".into(),
            ground: "试探".into(),
            vetoes_until: "2021-03-01".into(),
            reviewed_by: "某人".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let theirs = answer(
        rounds
            .record_ethics_finding(finding(&b.teacher.teacher_id))
            .await,
    );
    let nobody = answer(
        rounds
            .record_ethics_finding(finding(&missing_teacher))
            .await,
    );
    assert_eq!(theirs.0, Code::NotFound, "{theirs:?}");
    assert_eq!(theirs, nobody);

    // A step of another county's application, with a stale etag, and of none.
    let object = |application_id: &str| pb::RecordObjectionRequest {
        application_id: application_id.into(),
        etag: "\"1\"".into(),
        text: "试探".into(),
        ..Default::default()
    };
    let theirs = answer(
        rounds
            .record_objection(object(&b.application.application_id))
            .await,
    );
    let nobody = answer(rounds.record_objection(object(&missing_case)).await);
    assert_eq!(theirs.0, Code::NotFound, "{theirs:?}");
    assert_eq!(theirs, nobody);

    // A step of another county's case, with a stale etag, and of none.
    let withdraw = |case_id: &str| pb::WithdrawCaseRequest {
        case_id: case_id.into(),
        etag: "\"1\"".into(),
        ..Default::default()
    };
    let theirs = answer(cases.withdraw_case(withdraw(&b.case.case_id)).await);
    let nobody = answer(cases.withdraw_case(withdraw(&missing_case)).await);
    assert_eq!(theirs.0, Code::NotFound, "{theirs:?}");
    assert_eq!(theirs, nobody);

    // Nothing was written: county B's records are as they were.
    let mut admin = rounds_as(&server, &tokens.admin).await;
    let findings = list_ethics_findings(&mut admin, &b.teacher.teacher_id).await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    let application = get_title_application(&mut admin, &b.application.application_id).await;
    assert_eq!(application.etag, b.application.etag);
}

#[tokio::test]
async fn only_admins_see_who_took_evaluation_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens, b) = records_of_b(dir.path(), ServerOptions::default()).await;
    let id = b.application.application_id.clone();
    for (role, token, sees) in [
        ("admin", &tokens.admin, true),
        ("county B", &tokens.county_b, false),
        ("reader", &tokens.reader, false),
    ] {
        let mut rounds = rounds_as(&server, token).await;
        let application = get_title_application(&mut rounds, &id).await;
        let listed = list_applications(&mut rounds, &application.round_id, "").await;
        let findings = list_ethics_findings(&mut rounds, &b.teacher.teacher_id).await;
        assert_eq!(listed.len(), 1, "{role}");
        assert_eq!(findings.len(), 1, "{role}");
        let mut names: Vec<&str> = Vec::new();
        for shown in [&application, &listed[0]] {
            assert!(!shown.steps.is_empty() && !shown.objections.is_empty());
            names.extend(shown.steps.iter().map(|s| s.principal.as_str()));
            names.extend(shown.objections.iter().map(|o| o.recorded_by.as_str()));
            names.extend(shown.objections.iter().map(|o| o.handled_by.as_str()));
        }
        names.push(findings[0].recorded_by.as_str());
        if sees {
            assert!(names.iter().all(|n| *n == "anonymous"), "{role}: {names:?}");
        } else {
            assert!(names.iter().all(|n| n.is_empty()), "{role}: {names:?}");
        }
        // What the finding says, and who signed it off, is the finding itself.
        assert_eq!(findings[0].reviewed_by, "李审核", "{role}");
        assert_eq!(findings[0].ground, "有偿补课", "{role}");
    }
}

/// `rows` import rows, each `teacher` as a create-only row, as `token`: the results, and
/// the status the stream ended with (`None` if it ended well).
async fn import_rows(
    server: &TestServer,
    token: &str,
    teacher: &pb::Teacher,
    rows: usize,
) -> (Vec<pb::ImportTeachersResponse>, Option<tonic::Status>) {
    let mut client = as_token(server, token).await;
    let row = pb::ImportTeachersRequest {
        teacher: Some(teacher.clone()),
        mode: pb::ImportMode::CreateOnly as i32,
    };
    let requests = tokio_stream::iter(std::iter::repeat_n(row, rows));
    let mut stream = match client.import_teachers(requests).await {
        Ok(stream) => stream.into_inner(),
        Err(status) => return (Vec::new(), Some(status)),
    };
    let mut results = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(result)) => results.push(result),
            Ok(None) => return (results, None),
            Err(status) => return (results, Some(status)),
        }
    }
}

/// How many entries of `kind` the read audit holds, every page of them.
async fn all_audited(server: &TestServer, admin: &str, kind: pb::AuditKind) -> usize {
    let mut admin = as_token(server, admin).await;
    let (mut count, mut page_token) = (0, String::new());
    loop {
        let page = admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                kind: kind as i32,
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        count += page.entries.len();
        if page.next_page_token.is_empty() {
            return count;
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn reimporting_its_own_file_writes_no_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        // No rates: the attack as fast as the server takes it.
        rates: std::collections::HashMap::new(),
        ..ServerOptions::default()
    };
    let (server, tokens) = secured(dir.path(), options).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let own = create_as(&mut county, teacher(70, A)).await;
    let mut row = teacher(70, A);
    row.school = own.school.clone();
    for _ in 0..2 {
        let (results, ended) = import_rows(&server, &tokens.county_a, &row, 5_000).await;
        assert!(ended.is_none(), "{ended:?}");
        assert_eq!(results.len(), 5_000);
        assert!(results
            .iter()
            .all(|r| r.teacher_id == own.teacher_id
                && crate::common::row_code(r) == "ALREADY_EXISTS"));
    }
    // Nothing revealed, nothing audited; and the county is not held back for its rows.
    let entries = revealed_to_county_a(&server, &tokens, 0).await;
    assert!(entries.is_empty(), "{} entries", entries.len());
    county
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: own.teacher_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_import_of_other_counties_holders_is_held_to_the_refusal_limit() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        rates: std::collections::HashMap::new(),
        refusal_limit: TWENTY_THEN_ONE_A_MINUTE,
        ..ServerOptions::default()
    };
    let (server, tokens) = secured(dir.path(), options).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let theirs = create_as(&mut admin, teacher(71, B)).await;
    // The same person, as a row of the importer's own county: a duplicate of B's holder.
    let row = teacher(71, A);
    const ROWS: usize = 20_000;
    let (results, ended) = import_rows(&server, &tokens.county_a, &row, ROWS).await;
    let ended = ended.expect("the import is stopped");
    assert_eq!(ended.code(), Code::ResourceExhausted, "{ended:?}");
    assert!(results.len() < ROWS, "{} rows answered", results.len());
    assert!(results.iter().all(|r| r.teacher_id == theirs.teacher_id));
    // Each duplicate answered is audited, and no more: the audit grows with the refusals
    // the limit lets through, not with the rows sent.
    let mut counted = 0;
    for _ in 0..100 {
        counted = all_audited(&server, &tokens.admin, pb::AuditKind::DuplicateRevealed).await;
        if counted >= results.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(counted, results.len());
    // Held back now, for any call, as for any other sweep.
    let again = import_rows(&server, &tokens.county_a, &row, 1)
        .await
        .1
        .unwrap();
    assert_eq!(again.code(), Code::ResourceExhausted, "{again:?}");
}

#[tokio::test]
async fn signing_in_again_and_again_holds_a_bounded_number_of_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let console = free_address();
    let options = ServerOptions {
        console: Some(ConsoleOptions::new(console)),
        ..ServerOptions::default()
    };
    let (_server, tokens) = secured(dir.path(), options).await;
    wait_listening(console).await;
    let mut admin = Http::new(console);
    admin.sign_in(&tokens.admin).await;
    assert_eq!(admin.get("/search").await.status, 200);

    // The reader signs in three times its share, each time as a new browser would.
    let mut browsers = Vec::new();
    for _ in 0..3 * MAX_SESSIONS_PER_PRINCIPAL {
        let mut browser = Http::new(console);
        browser.sign_in(&tokens.reader).await;
        browsers.push(browser);
    }
    let (ended, kept) = browsers.split_at_mut(2 * MAX_SESSIONS_PER_PRINCIPAL);
    for browser in ended.iter_mut() {
        assert_ne!(
            browser.get("/search").await.status,
            200,
            "an old session lives"
        );
    }
    for browser in kept.iter_mut() {
        assert_eq!(browser.get("/search").await.status, 200);
    }
    // Another principal's session is not the reader's to end.
    assert_eq!(admin.get("/search").await.status, 200);
}

/// Calls `call` until it is refused, at most 10 times; the code it was refused with.
async fn until_refused<F, Fut, T>(mut call: F) -> Option<Code>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    for _ in 0..10 {
        if let Err(status) = call().await {
            return Some(status.code());
        }
    }
    None
}

#[tokio::test]
async fn every_listing_is_held_to_the_rate_of_rows() {
    let dir = tempfile::tempdir().unwrap();
    // A reader may make many requests, and be sent one row a second (two at once).
    let rate = teacher_registry::api::RoleRate {
        requests_per_second: 1000,
        rows_per_second: 1,
    };
    let options = ServerOptions {
        rates: [(teacher_registry::auth::Role::Reader, rate)]
            .into_iter()
            .collect(),
        ..ServerOptions::default()
    };
    let (server, tokens, b) = records_of_b(dir.path(), options).await;
    let round_id = b.application.round_id.clone();
    let rounds = rounds_as(&server, &tokens.reader).await;
    let cases = cases_as(&server, &tokens.reader).await;
    // Each listing answers a row a call; the third or fourth is in debt.
    let refused = until_refused(|| {
        let mut cases = cases.clone();
        async move {
            let request = pb::ListCasesRequest {
                county_code: B.into(),
                page_size: 1,
                ..Default::default()
            };
            cases.list_cases(request).await
        }
    })
    .await;
    assert_eq!(refused, Some(Code::ResourceExhausted), "ListCases");
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let refused = until_refused(|| {
        let (mut rounds, round_id) = (rounds.clone(), round_id.clone());
        async move {
            let request = pb::ListTitleApplicationsRequest {
                round_id,
                county_code: String::new(),
                ..Default::default()
            };
            rounds.list_title_applications(request).await
        }
    })
    .await;
    assert_eq!(
        refused,
        Some(Code::ResourceExhausted),
        "ListTitleApplications"
    );
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let refused = until_refused(|| {
        let (mut rounds, round_id) = (rounds.clone(), round_id.clone());
        async move {
            let request = pb::CheckEligibilityRequest {
                round_id,
                county_code: B.into(),
                ..Default::default()
            };
            rounds.check_eligibility(request).await
        }
    })
    .await;
    assert_eq!(refused, Some(Code::ResourceExhausted), "CheckEligibility");
}

#[tokio::test]
async fn a_principals_audit_entries_are_held_to_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        rates: std::collections::HashMap::new(),
        audit_budget: TWENTY_THEN_ONE_A_MINUTE,
        ..ServerOptions::default()
    };
    let (server, tokens) = secured(dir.path(), options).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let own = create_as(&mut county, teacher(80, A)).await;
    // No-op writes, each an audit entry, as fast as the server answers.
    let mut answered = 0;
    let refused = loop {
        let no_op = pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: own.teacher_id.clone(),
                school: own.school.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        match county.update_teacher(no_op).await {
            Ok(_) => answered += 1,
            Err(status) => break status,
        }
        assert!(answered <= 1_000, "never held back");
    };
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("audited"), "{refused:?}");
    assert!(answered >= 20, "{answered}");
    // Lookups by identity number are held back too, and the audit holds what was done.
    let lookup = county
        .lookup_teacher(pb::LookupTeacherRequest {
            key: Some(Key::NationalId(own.national_id.clone())),
            id_document_type: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(lookup.code(), Code::ResourceExhausted);
    // Audit entries are stored in batches after the answers: wait (bounded) for the last.
    let mut entries = all_audited(&server, &tokens.admin, pb::AuditKind::NoOpWrite).await;
    for _ in 0..100 {
        if entries >= answered {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        entries = all_audited(&server, &tokens.admin, pb::AuditKind::NoOpWrite).await;
    }
    assert!(
        (20..=answered).contains(&entries),
        "{entries} of {answered}"
    );
    // Other principals are not held back, admins never.
    let mut other = as_token(&server, &tokens.county_b).await;
    other
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap();
    let mut admin = as_token(&server, &tokens.admin).await;
    for _ in 0..30 {
        admin
            .lookup_teacher(pb::LookupTeacherRequest {
                key: Some(Key::NationalId(own.national_id.clone())),
                id_document_type: 0,
            })
            .await
            .unwrap();
    }
}
