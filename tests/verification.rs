//! Public verification and loss of qualification through a real server: VerifyCertificate
//! answers callers without a token on a server with an auth file; it answers every status
//! and nothing beyond its few fields; a wrong name, a wrong identity number and an unknown
//! number get the same answer; one address past its bucket is RESOURCE_EXHAUSTED with
//! RetryInfo while another gets through. A loss of qualification is recorded, refuses a
//! new certificate for good (revocation only for five years), and survives backup and
//! restore.

mod common;

use std::net::IpAddr;
use std::path::Path;

use common::*;
use prost_reflect::{DescriptorPool, DynamicMessage};
use teacher_registry::api::pb;
use teacher_registry::api::pb::verification_service_client::VerificationServiceClient;
use teacher_registry::api::RateLimit;
use teacher_registry::auth::{add_principal, Role};
use teacher_registry::cli::run_backup;
use teacher_registry::server::ServerOptions;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tonic_types::StatusExt;

const VALID: &str = "20163500022000123";
const OLD: &str = "20053500012000124";
const REVOKED: &str = "20163500032000125";
const LOST: &str = "20163500042000126";
const UNKNOWN: &str = "20163500022000999";

type Verifier = VerificationServiceClient<Channel>;

/// A client of the verification service that connects from `from`, without a token.
async fn verifier(address: std::net::SocketAddr, from: Option<&str>) -> Verifier {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .local_address(from.map(|ip| ip.parse::<IpAddr>().unwrap()));
    VerificationServiceClient::new(endpoint.connect().await.unwrap())
}

fn ask(name: &str, number: &str, national_id: &str) -> pb::VerifyCertificateRequest {
    pb::VerifyCertificateRequest {
        name: name.into(),
        certificate_number: number.into(),
        national_id: national_id.into(),
    }
}

async fn verify(
    client: &mut Verifier,
    request: pb::VerifyCertificateRequest,
) -> pb::VerifyCertificateResponse {
    client
        .verify_certificate(request)
        .await
        .expect("verify")
        .into_inner()
}

async fn issue(
    client: &mut Client,
    holder: &pb::Teacher,
    number: &str,
    kind: pb::CertificateKind,
    certified_on: &str,
) {
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: holder.teacher_id.clone(),
            certificate: Some(pb::Certificate {
                kind: kind as i32,
                certified_on: certified_on.into(),
                ..certificate(number)
            }),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        })
        .await
        .expect("issue");
}

fn lose(number: &str, lost_on: &str) -> pb::LoseQualificationRequest {
    pb::LoseQualificationRequest {
        certificate_number: number.into(),
        ground: pb::QualificationLossGround::IntentionalCrimeSentence as i32,
        approval_document: "Nan Jiao Ren [2017] No. 3".into(),
        lost_on: lost_on.into(),
        note: "(2017) 闽0702刑初12号".into(),
        ..Default::default()
    }
}

/// Holders of a valid, an old (paper), a revoked and a lost certificate; an admin client.
async fn seeded(dir: &Path, limit: RateLimit) -> (TestServer, Vec<pb::Teacher>) {
    let path = dir.join("auth.toml");
    let token = add_principal(&path, "root", Role::Admin, None).unwrap();
    let server = start_server_with(ServerOptions {
        public_rate_limit: limit,
        ..auth_options(&path)
    })
    .await;
    let channel = Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut admin =
        pb::teacher_registry_service_client::TeacherRegistryServiceClient::with_interceptor(
            channel,
            Token::bearer(&token),
        );
    let mut holders = Vec::new();
    for n in 0..4 {
        let created = create(&mut admin, teacher(n, "350702")).await;
        holders.push(created);
    }
    let mut admin_authed = admin;
    for (holder, (number, kind, on)) in holders.iter().zip([
        (VALID, pb::CertificateKind::PrimarySchool, "2016-07-01"),
        (OLD, pb::CertificateKind::Kindergarten, "2005-07-01"),
        (REVOKED, pb::CertificateKind::JuniorSecondary, "2016-07-01"),
        (LOST, pb::CertificateKind::SeniorSecondary, "2016-07-01"),
    ]) {
        admin_authed
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: holder.teacher_id.clone(),
                certificate: Some(pb::Certificate {
                    kind: kind as i32,
                    certified_on: on.into(),
                    ..certificate(number)
                }),
                first_registration_on: "2016-09-01".into(),
                ..Default::default()
            })
            .await
            .expect("issue");
    }
    admin_authed
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: REVOKED.into(),
            reason: "以欺骗手段取得".into(),
            approval_document: "Nan Jiao Ren [2017] No. 2".into(),
            revoked_on: "2017-01-01".into(),
            ..Default::default()
        })
        .await
        .expect("revoke");
    admin_authed
        .lose_qualification(lose(LOST, "2017-01-01"))
        .await
        .expect("lose");
    (server, holders)
}

/// The names of the fields set in `message`, found by reflection, so a field added to
/// the response later is caught here.
fn fields_set(message: &pb::VerifyCertificateResponse) -> Vec<String> {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let descriptor = pool
        .get_message_by_name("teacher_registry.v1.VerifyCertificateResponse")
        .unwrap();
    let mut dynamic = DynamicMessage::new(descriptor);
    dynamic.transcode_from(message).unwrap();
    dynamic
        .fields()
        .map(|(field, _)| field.name().to_string())
        .collect()
}

#[tokio::test]
async fn anyone_verifies_every_status_and_learns_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (server, holders) = seeded(dir.path(), RateLimit::default()).await;
    let mut public = verifier(server.address, None).await;

    let valid = verify(
        &mut public,
        ask(&holders[0].name, VALID, &holders[0].national_id),
    )
    .await;
    assert!(valid.found);
    assert_eq!(valid.kind(), pb::CertificateKind::PrimarySchool);
    assert_eq!(valid.status(), pb::CertificateStatus::Valid);
    assert_eq!(valid.registration_valid_until, "2021-09-01");
    assert!(!valid.certified_before_electronic_record);
    assert_eq!(
        fields_set(&valid),
        ["found", "kind", "status", "registration_valid_until"]
    );
    // Without the identity number, and with the name spaced as a form might send it.
    let spaced: String = holders[0].name.chars().flat_map(|c| [c, ' ']).collect();
    assert_eq!(verify(&mut public, ask(&spaced, VALID, "")).await, valid);

    let old = verify(&mut public, ask(&holders[1].name, OLD, "")).await;
    assert_eq!(old.kind(), pb::CertificateKind::Kindergarten);
    assert_eq!(old.status(), pb::CertificateStatus::Valid);
    assert!(old.certified_before_electronic_record);

    let revoked = verify(&mut public, ask(&holders[2].name, REVOKED, "")).await;
    assert_eq!(revoked.status(), pb::CertificateStatus::Revoked);
    assert_eq!(
        revoked.registration_valid_until, "",
        "a void certificate has no registration"
    );
    assert_eq!(fields_set(&revoked), ["found", "kind", "status"]);

    let lost = verify(
        &mut public,
        ask(&holders[3].name, LOST, &holders[3].national_id),
    )
    .await;
    assert_eq!(lost.status(), pb::CertificateStatus::Lost);
    assert_eq!(lost.kind(), pb::CertificateKind::SeniorSecondary);

    // No oracle: a wrong name, a wrong identity number (someone else's, or a made-up one),
    // a number nobody holds, all answer the same bytes.
    let not_found = [
        ask(&holders[1].name, VALID, ""),
        ask(&holders[0].name, VALID, &holders[1].national_id),
        ask(&holders[0].name, VALID, "110105194912310021"),
        ask(&holders[0].name, UNKNOWN, ""),
    ];
    for request in not_found {
        let answer = verify(&mut public, request.clone()).await;
        assert_eq!(
            answer,
            pb::VerifyCertificateResponse::default(),
            "{request:?}"
        );
        assert_eq!(fields_set(&answer), Vec::<String>::new());
    }

    // Malformed questions are refused for their form alone.
    let status = public
        .verify_certificate(ask("", "123", "not an id!"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["name", "certificate_number", "national_id"]
    );
}

#[tokio::test]
async fn one_address_past_its_bucket_waits_and_another_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let limit = RateLimit {
        per_minute: 1,
        burst: 3,
    };
    let (server, holders) = seeded(dir.path(), limit).await;
    let mut first = verifier(server.address, Some("127.0.0.1")).await;
    for _ in 0..3 {
        verify(&mut first, ask(&holders[0].name, VALID, "")).await;
    }
    let status = first
        .verify_certificate(ask(&holders[0].name, VALID, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = status.get_details_retry_info().expect("RetryInfo");
    let delay = retry.retry_delay.expect("a delay");
    assert!(delay.as_secs() >= 59 && delay.as_secs() <= 60, "{delay:?}");
    // A new connection from the same address shares its bucket.
    let mut again = verifier(server.address, Some("127.0.0.1")).await;
    let status = again
        .verify_certificate(ask(&holders[0].name, VALID, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    // Another address (loopback is all of 127/8) has its own.
    let mut second = verifier(server.address, Some("127.0.0.2")).await;
    assert!(
        verify(&mut second, ask(&holders[0].name, VALID, ""))
            .await
            .found
    );
    // The limit is on public calls only: staff with tokens are not held back by it.
    let mut admin = server.client.clone();
    let unauthenticated = admin
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: holders[0].teacher_id.clone(),
            revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        unauthenticated.code(),
        Code::Unauthenticated,
        "the auth file is in force"
    );
}

#[tokio::test]
async fn a_lost_qualification_bars_for_ever_and_survives_backup_and_restore() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let holder = create(&mut client, teacher(1, "350702")).await;
    let revoked = create(&mut client, teacher(2, "350702")).await;
    issue(
        &mut client,
        &holder,
        VALID,
        pb::CertificateKind::PrimarySchool,
        "2016-07-01",
    )
    .await;
    issue(
        &mut client,
        &holder,
        LOST,
        pb::CertificateKind::SeniorSecondary,
        "2016-07-01",
    )
    .await;
    issue(
        &mut client,
        &revoked,
        REVOKED,
        pb::CertificateKind::JuniorSecondary,
        "2016-07-01",
    )
    .await;

    // Bad input changes nothing.
    let before = all_changes(&mut client).await.len();
    let status = client
        .lose_qualification(pb::LoseQualificationRequest {
            certificate_number: "123".into(),
            ground: 9,
            lost_on: "2999-01-01".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "certificate_number",
            "ground",
            "approval_document",
            "lost_on"
        ]
    );
    let status = client
        .lose_qualification(lose(UNKNOWN, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .lose_qualification(lose(VALID, "2010-01-01"))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "before the certification"
    );
    assert_eq!(all_changes(&mut client).await.len(), before);

    let after = client
        .lose_qualification(lose(VALID, "2016-08-01"))
        .await
        .unwrap_teacher();
    for c in &after.certificates {
        assert_eq!(
            c.status(),
            pb::CertificateStatus::Lost,
            "{}",
            c.certificate_number
        );
        let loss = c.qualification_loss.as_ref().unwrap();
        assert_eq!(
            loss.ground(),
            pb::QualificationLossGround::IntentionalCrimeSentence
        );
        assert_eq!(loss.lost_on, "2016-08-01");
        assert_eq!(loss.approval_document, "Nan Jiao Ren [2017] No. 3");
    }
    let changes = all_changes(&mut client).await;
    assert_eq!(
        changes.last().unwrap().kind(),
        pb::ChangeKind::QualificationLost
    );

    // Refused for ever: a certificate certified eight years later, and any other step.
    let lost_reason = |status: tonic::Status| {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(error_info(&status)["reason"], "QUALIFICATION_LOST");
    };
    let later = pb::IssueCertificateRequest {
        teacher_id: holder.teacher_id.clone(),
        certificate: Some(pb::Certificate {
            kind: pb::CertificateKind::JuniorSecondary as i32,
            certified_on: "2024-07-01".into(),
            ..certificate("20243500032000001")
        }),
        ..Default::default()
    };
    lost_reason(client.issue_certificate(later.clone()).await.unwrap_err());
    lost_reason(client.lose_qualification(lose(LOST, "")).await.unwrap_err());
    lost_reason(
        client
            .register_certificate(pb::RegisterCertificateRequest {
                certificate_number: VALID.into(),
                registered_on: "2020-01-01".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    lost_reason(
        client
            .revoke_certificate(pb::RevokeCertificateRequest {
                certificate_number: VALID.into(),
                reason: "r".into(),
                approval_document: "d".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );

    // A revocation bars only five years: the same later certificate is issued to the
    // holder of a certificate revoked on the same day.
    client
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: REVOKED.into(),
            reason: "以欺骗手段取得".into(),
            approval_document: "d".into(),
            revoked_on: "2016-08-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut for_revoked = later.clone();
    for_revoked.teacher_id = revoked.teacher_id.clone();
    client
        .issue_certificate(for_revoked)
        .await
        .expect("after five years");
    let mut too_soon = later;
    too_soon.teacher_id = revoked.teacher_id.clone();
    let cert = too_soon.certificate.as_mut().unwrap();
    cert.certificate_number = "20213500032000002".into();
    cert.certified_on = "2021-07-31".into();
    let status = client.issue_certificate(too_soon).await.unwrap_err();
    assert_eq!(error_info(&status)["reason"], "REAPPLICATION_BARRED");

    // Backup and restore keep the loss, and the bar with it.
    let temp = tempfile::tempdir().unwrap();
    let backup_dir = temp.path().join("backup");
    run_backup(&format!("http://{}", server.address), &backup_dir)
        .await
        .expect("backup");
    let restored_dir = temp.path().join("restored");
    common::restore_into(&backup_dir, &restored_dir)
        .await
        .expect("restore");
    let restored = start_server_in(&restored_dir).await;
    let mut restored_client = restored.client.clone();
    let again = get_teacher(&mut restored_client, &holder.teacher_id).await;
    assert_eq!(again.certificates, after.certificates);
    let mut public = verifier(restored.address, None).await;
    let answer = verify(&mut public, ask(&holder.name, LOST, "")).await;
    assert_eq!(answer.status(), pb::CertificateStatus::Lost);
    let refused = restored_client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: holder.teacher_id.clone(),
            certificate: Some(pb::Certificate {
                kind: pb::CertificateKind::JuniorSecondary as i32,
                certified_on: "2025-07-01".into(),
                ..certificate("20253500032000003")
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    lost_reason(refused);
}
