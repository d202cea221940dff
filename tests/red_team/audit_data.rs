//! Findings 6, 7 and 8: what the feed and the log say about whom, and an untyped lookup.
//!
//! Every change in a feed carried `principal` and `request_id` for anyone who could read
//! the feed; refusals were logged without the principal or the peer, so a sweep showed as
//! anonymous NOT_FOUNDs; an identity number typed into `birth_date` came back in the error
//! and went into the log; a lookup without a type stopped at the first type found, another
//! county's holder, and answered NOT_FOUND where the caller's own teacher was.

use teacher_registry::api::pb;
use teacher_registry::api::pb::lookup_teacher_request::Key;
use tonic::Code;

use super::harness::{as_token, create_as, keep_log, secured, server_log, A, B};
use crate::common::{get_case, lookup_teacher, open_case, teacher};

#[tokio::test]
async fn only_admins_see_who_made_a_change_and_under_which_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    county
        .create_teacher(pb::CreateTeacherRequest {
            teacher: Some(teacher(1, A)),
            request_id: "note-about-the-case-42".into(),
        })
        .await
        .unwrap();
    for (token, audit) in [
        (&tokens.admin, true),
        (&tokens.reader, false),
        (&tokens.county_a, false),
    ] {
        let mut client = as_token(&server, token).await;
        let changes = client
            .list_changes(pb::ListChangesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .changes;
        assert_eq!(changes.len(), 1);
        let seen = (
            changes[0].principal.as_str(),
            changes[0].request_id.as_str(),
        );
        match audit {
            true => assert_eq!(seen, ("yanping", "note-about-the-case-42")),
            false => assert_eq!(seen, ("", "")),
        }
        let mut watch = client
            .watch_changes(pb::WatchChangesRequest::default())
            .await
            .unwrap()
            .into_inner();
        let first = loop {
            let message = watch.message().await.unwrap().unwrap();
            if let Some(pb::watch_changes_response::Event::Change(change)) = message.event {
                break change;
            }
        };
        assert_eq!(first.principal.is_empty(), !audit);
        assert_eq!(first.request_id.is_empty(), !audit);
    }
}

#[tokio::test]
async fn refusals_name_the_principal_and_the_peer_in_the_log() {
    keep_log();
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let theirs = create_as(&mut admin, teacher(11, B)).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let status = county
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: theirs.teacher_id.clone(),
            revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let port = server.address.port().to_string();
    let log = server_log();
    let line = log
        .lines()
        .find(|l| l.contains("rpc refused") && l.contains("yanping") && l.contains("GetTeacher"))
        .filter(|l| l.contains("peer=127.0.0.1:"))
        .unwrap_or_else(|| panic!("no refusal naming yanping and its peer:\n{log}"));
    assert!(
        !line.contains(&format!(":{port} ")),
        "the peer is the client: {line}"
    );
}

#[tokio::test]
async fn an_identity_number_in_the_wrong_field_is_not_echoed() {
    keep_log();
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let mut row = teacher(12, A);
    let number = row.national_id.clone();
    row.birth_date = number.clone();
    let status = county
        .create_teacher(pb::CreateTeacherRequest {
            teacher: Some(row),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("birth_date"),
        "{}",
        status.message()
    );
    assert!(!status.message().contains(&number), "{}", status.message());
    assert!(!String::from_utf8_lossy(status.details()).contains(&number));
    assert!(
        !server_log().contains(&number),
        "the log repeats the number"
    );
}

#[tokio::test]
async fn an_untyped_lookup_finds_the_callers_own_holder_under_any_type() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let document = |n, county, doc_type: pb::IdDocumentType| pb::Teacher {
        id_document_type: doc_type as i32,
        national_id: "ZX990011".into(),
        ..teacher(n, county)
    };
    let own = create_as(&mut admin, document(21, A, pb::IdDocumentType::Other)).await;
    create_as(&mut admin, document(22, B, pb::IdDocumentType::Passport)).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let found = lookup_teacher(&mut county, Key::NationalId("ZX990011".into())).await;
    assert_eq!(found.teacher_id, own.teacher_id);
}

/// Finding 12: who looked up which identity number was not recorded. Each lookup by
/// number is a log line with the principal and the number masked, as well as an entry of
/// the read audit (see `read_audit`).
#[tokio::test]
async fn identity_lookups_are_audited_with_the_number_masked() {
    keep_log();
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let own = create_as(&mut county, teacher(31, A)).await;
    lookup_teacher(&mut county, Key::NationalId(own.national_id.clone())).await;
    let masked = format!(
        "{}********{}",
        &own.national_id[..6],
        &own.national_id[14..]
    );
    let log = server_log();
    assert!(
        log.lines()
            .any(|l| l.contains("identity-lookup") && l.contains("yanping") && l.contains(&masked)),
        "{log}"
    );
    assert!(!log.contains(&own.national_id));
}

/// Finding 7, for cases: every step of a case carried the principal who took it, for any
/// county or reader who could read the case. As in the feed, only admins see it.
#[tokio::test]
async fn only_admins_see_who_took_a_cases_steps() {
    use teacher_registry::api::pb::case_service_client::CaseServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let cases = |token: &str| {
        let address = format!("http://{}", server.address);
        let token = token.to_string();
        async move {
            let channel = tonic::transport::Endpoint::from_shared(address)
                .unwrap()
                .connect()
                .await
                .unwrap();
            CaseServiceClient::with_interceptor(channel, crate::common::Token::bearer(&token))
        }
    };
    let opened = open_case(
        &mut cases(&tokens.county_a).await,
        pb::Case {
            kind: pb::CaseKind::Certification as i32,
            county_code: A.into(),
            applicant: Some(teacher(60, A)),
            certificate_kind: pb::CertificateKind::PrimarySchool as i32,
            materials: vec!["申请表".into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(opened.steps.len(), 1);
    assert_eq!(
        opened.steps[0].principal, "",
        "not even to the county that opened it"
    );
    for (token, audit) in [
        (&tokens.admin, true),
        (&tokens.county_a, false),
        (&tokens.reader, false),
    ] {
        let case = get_case(&mut cases(token).await, &opened.case_id).await;
        let shown = case.steps[0].principal.as_str();
        assert_eq!(shown, if audit { "yanping" } else { "" });
        let listed = cases(token)
            .await
            .list_cases(pb::ListCasesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .cases;
        assert!(!listed.is_empty());
        assert!(listed
            .iter()
            .flat_map(|c| &c.steps)
            .all(|s| s.principal.is_empty() != audit));
    }
}
