//! The public verification page's scanned-credential form over a real socket: a
//! credential's text pasted and its QR code's PNG uploaded both answer what
//! CheckCredential answers over gRPC (valid, then forged when altered, then revoked once
//! the certificate is); a text that is no credential and an image that is no PNG are
//! refused beside their fields; a form without its token is refused.

mod common;
mod console_support;

use std::sync::Arc;

use common::Token;
use console_support::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::RateLimit;
use teacher_registry::credential::SigningKey;
use tonic::transport::Channel;

fn verdict(body: &str) -> i32 {
    let at = body
        .find("data-verdict=\"")
        .unwrap_or_else(|| panic!("no verdict in {body}"));
    let rest = &body[at + 14..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_credential_is_checked_as_check_credential_answers() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |options| {
        options.credential_key = Some(Arc::new(SigningKey::generate()));
        options.public_rate_limit = RateLimit {
            per_minute: 60,
            burst: 100,
        };
    })
    .await;
    let channel = Channel::from_shared(format!("http://{}", fx.server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = Token::bearer(&fx.tokens.admin);
    let mut credentials = CredentialServiceClient::with_interceptor(channel.clone(), token.clone());
    let issued = credentials
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: CERT_A.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let grpc_verdict = |text: String| {
        let mut credentials = credentials.clone();
        async move {
            credentials
                .check_credential(pb::CheckCredentialRequest { credential: text })
                .await
                .unwrap()
                .into_inner()
                .verdict
        }
    };

    let mut http = Http::new(fx.console);
    let page = http.get("/verify").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"credential\""), "{}", page.body);
    let form_token = page.input("form_token").unwrap();
    let send_text = |text: &str| {
        vec![
            ("form_token", form_token.clone()),
            ("credential", text.to_string()),
        ]
    };

    // Pasted: valid, with the facts it states.
    let fields = send_text(&issued.credential);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let valid = http
        .post_file("/verify/credential", &fields, ("image", "", b""))
        .await;
    assert_eq!(valid.status, 200, "{}", valid.body);
    assert_eq!(verdict(&valid.body), pb::CredentialVerdict::Valid as i32);
    assert_eq!(
        verdict(&valid.body),
        grpc_verdict(issued.credential.clone()).await
    );
    assert!(valid.body.contains("张三") && valid.body.contains(CERT_A));

    // Its QR code's PNG, uploaded: decoded here, the same answer.
    let from_image = http
        .post_file(
            "/verify/credential",
            &[("form_token", &form_token), ("credential", "")],
            ("image", "credential.png", &issued.qr_png),
        )
        .await;
    assert_eq!(from_image.status, 200, "{}", from_image.body);
    assert_eq!(
        verdict(&from_image.body),
        pb::CredentialVerdict::Valid as i32
    );

    // Altered: forged, as CheckCredential says.
    let (head, signature) = issued.credential.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{flipped}{}", &signature[1..]);
    let fields = send_text(&forged);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = http
        .post_file("/verify/credential", &fields, ("image", "", b""))
        .await;
    assert_eq!(verdict(&answer.body), grpc_verdict(forged).await);
    assert_eq!(verdict(&answer.body), pb::CredentialVerdict::Forged as i32);

    // No credential at all, and an image that is no PNG: beside their fields.
    let fields = send_text("hello");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = http
        .post_file("/verify/credential", &fields, ("image", "", b""))
        .await;
    bad.assert_field_error("qr-credential");
    let bad = http
        .post_file(
            "/verify/credential",
            &[("form_token", &form_token), ("credential", "")],
            ("image", "photo.png", b"GIF89a not a png"),
        )
        .await;
    bad.assert_field_error("qr-image");
    // Without the form's token.
    let refused = http
        .post_file(
            "/verify/credential",
            &[("credential", &issued.credential)],
            ("image", "", b""),
        )
        .await;
    assert_eq!(refused.status, 403);

    // Revoked since: the page says so with the date, as CheckCredential does.
    let mut registry = TeacherRegistryServiceClient::with_interceptor(channel, token);
    registry
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: CERT_A.into(),
            reason: "弄虚作假".into(),
            approval_document: "南教[2026]1号".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let fields = send_text(&issued.credential);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let revoked = http
        .post_file("/verify/credential", &fields, ("image", "", b""))
        .await;
    assert_eq!(
        verdict(&revoked.body),
        pb::CredentialVerdict::Revoked as i32
    );
    assert_eq!(
        verdict(&revoked.body),
        grpc_verdict(issued.credential.clone()).await
    );
    assert!(revoked.body.contains("id=\"revoked-on\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_is_issued_from_the_teachers_page_and_checks_as_valid() {
    // Without a key the service refuses, and the page names the rule.
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let path = format!("/teachers/{}", fx.teacher_a.teacher_id);
    let page = http.get(&path).await;
    let csrf = page.input("csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("request_id", "credential-1"),
        ("certificate_number", CERT_A),
    ];
    let refused = http.post(&format!("{path}/credential"), &fields).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("CREDENTIAL_KEY_MISSING"),
        "{}",
        refused.body
    );

    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |options| {
        options.credential_key = Some(Arc::new(SigningKey::generate()));
    })
    .await;
    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    let path = format!("/teachers/{}", fx.teacher_a.teacher_id);
    let page = http.get(&path).await;
    assert!(page.body.contains("<form class=\"card\" id=\"credential\""));
    let csrf = page.input("csrf").unwrap();
    let issued = http
        .post(
            &format!("{path}/credential"),
            &[
                ("csrf", csrf.as_str()),
                ("request_id", "credential-2"),
                ("certificate_number", CERT_A),
            ],
        )
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert!(issued
        .body
        .contains("src=\"data:image/png;base64,iVBORw0KGgo"));
    assert!(issued.body.contains("张三"));
    assert!(!issued.body.contains(&fx.teacher_a.national_id));
    let text = {
        let at = issued.body.find("id=\"credential-text\"").unwrap();
        let rest = &issued.body[at..];
        let start = rest.find('>').unwrap() + 1;
        unescape(&rest[start..rest.find("</textarea>").unwrap()])
    };
    assert!(text.starts_with("TRC1."), "{text}");
    let channel = Channel::from_shared(format!("http://{}", fx.server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut credentials = CredentialServiceClient::new(channel);
    let checked = credentials
        .check_credential(pb::CheckCredentialRequest { credential: text })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.verdict, pb::CredentialVerdict::Valid as i32);

    // Another county's certificate: refused as the API refuses it.
    let other = http
        .post(
            &format!("/teachers/{}/credential", fx.teacher_b.teacher_id),
            &[
                ("csrf", csrf.as_str()),
                ("request_id", "credential-3"),
                ("certificate_number", CERT_B),
            ],
        )
        .await;
    assert_ne!(other.status, 200, "{}", other.body);
    assert!(!other.body.contains("TRC1."));
}
