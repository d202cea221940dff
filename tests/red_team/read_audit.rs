//! Finding 12: who looked up which identity number was not recorded.
//!
//! Lookups by identity number, listings of full numbers (exports), backups, duplicates
//! revealed, refusal limits tripped, no-op writes and credentials signed are now entries
//! of a read audit kept on disk, which an admin alone lists (ListAuditEntries, `audit`),
//! with the number masked; they are not changes and appear in no feed.

use std::sync::Arc;

use teacher_registry::api::pb;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;
use teacher_registry::api::pb::lookup_teacher_request::Key;
use teacher_registry::auth::Authenticator;
use teacher_registry::credential::SigningKey;
use teacher_registry::server::ServerOptions;
use tonic::Code;

use super::harness::{as_token, audited, create_as, secured, Token, A};
use crate::cli_support::run_with;
use crate::common::{all_changes, issue_request, lookup_teacher, start_server_in_with, teacher};

const CERTIFICATE: &str = "20163500022000777";

fn masked(number: &str) -> String {
    format!("{}********{}", &number[..6], &number[14..])
}

#[tokio::test]
async fn an_admin_lists_who_read_what_and_nobody_else_can() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        credential_key: Some(Arc::new(SigningKey::generate())),
        ..Default::default()
    };
    let (server, tokens) = secured(dir.path(), options).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let own = create_as(&mut county, teacher(50, A)).await;
    create_as(&mut county, teacher(51, A)).await;

    // A lookup by number, an export's first page (and its second, not recorded again),
    // a credential, a backup.
    lookup_teacher(&mut county, Key::NationalId(own.national_id.clone())).await;
    let first = county
        .list_teachers(pb::ListTeachersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    county
        .list_teachers(pb::ListTeachersRequest {
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap();
    county
        .issue_certificate(issue_request(&own.teacher_id, CERTIFICATE))
        .await
        .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    CredentialServiceClient::with_interceptor(channel, Token::bearer(&tokens.county_a))
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: CERTIFICATE.into(),
        })
        .await
        .unwrap();
    let mut admin = as_token(&server, &tokens.admin).await;
    let mut backup = admin
        .backup_registry(pb::BackupRegistryRequest {})
        .await
        .unwrap()
        .into_inner();
    while backup.message().await.unwrap().is_some() {}

    let lookups = audited(
        &server,
        &tokens.admin,
        pb::AuditKind::IdentityLookup,
        "yanping",
        1,
    )
    .await;
    assert_eq!(lookups.len(), 1, "{lookups:#?}");
    assert_eq!(lookups[0].subject, masked(&own.national_id));
    assert_eq!(lookups[0].method, "LookupTeacher");
    assert!(lookups[0].time.is_some());
    let listings = audited(&server, &tokens.admin, pb::AuditKind::Listing, "yanping", 1).await;
    assert_eq!(listings.len(), 1, "one entry per listing: {listings:#?}");
    assert_eq!(listings[0].subject, A);
    let signed = audited(
        &server,
        &tokens.admin,
        pb::AuditKind::CredentialIssued,
        "",
        1,
    )
    .await;
    assert_eq!(signed.len(), 1, "{signed:#?}");
    assert!(signed[0].subject.contains(CERTIFICATE), "{signed:#?}");
    let backups = audited(&server, &tokens.admin, pb::AuditKind::Backup, "root", 1).await;
    assert_eq!(backups.len(), 1, "{backups:#?}");

    // Every entry, paged one at a time: no full number anywhere.
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                page_size: 1,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.entries);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(all.iter().all(|e| !e.subject.contains(&own.national_id)));
    // A time window: nothing before 1971.
    let early = admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            end_time: Some(prost_types::Timestamp {
                seconds: 365 * 86_400,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(early.entries.is_empty());
    let bad = admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    // Nobody but an admin lists them, and the feed does not show them.
    for token in [&tokens.reader, &tokens.county_a] {
        let refused = as_token(&server, token)
            .await
            .list_audit_entries(pb::ListAuditEntriesRequest::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    let changes = all_changes(&mut admin).await;
    assert_eq!(changes.len(), 3, "the creations and the certificate only");

    // The `audit` command lists them too, for admins only.
    let url = format!("http://{}", server.address);
    let run = run_with(
        &["audit", "--server", &url, "--kind", "identity-lookup"],
        &[("TEACHER_REGISTRY_TOKEN", tokens.admin.as_str())],
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.contains(&masked(&own.national_id)), "{run:#?}");
    assert!(
        run.stdout.contains("yanping") && run.stdout.contains("1 entry"),
        "{run:#?}"
    );
    assert!(!run.stdout.contains(&own.national_id), "{run:#?}");
    let run = run_with(
        &["audit", "--server", &url],
        &[("TEACHER_REGISTRY_TOKEN", tokens.county_a.as_str())],
    )
    .await;
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.contains("PERMISSION_DENIED"), "{run:#?}");

    // On disk: a restarted server lists them still.
    let data = server.stop().await.unwrap();
    let auth = Authenticator::load(&dir.path().join("auth.toml")).unwrap();
    let server = start_server_in_with(
        data.path(),
        ServerOptions {
            authenticator: Some(auth),
            ..Default::default()
        },
    )
    .await;
    let kept = audited(&server, &tokens.admin, pb::AuditKind::Unspecified, "", 4).await;
    assert_eq!(kept.len(), 4, "{kept:#?}");
}
