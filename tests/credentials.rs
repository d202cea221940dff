//! Signed credentials through a real server and the real binary: a key made by
//! `credential-key` (owner-only, never replaced), a credential issued by `credential
//! issue` that `verify-credential` accepts offline and whose QR code reads back to its
//! text; forged ones (a payload byte changed, another key's signature, truncated) refused
//! offline and online; a revocation or a name change after issue that only the online
//! check sees; no identity number anywhere in a credential; who may issue.

mod cli_support;
mod common;

use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cli_support::*;
use common::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;
use teacher_registry::auth::{add_principal, Authenticator, Role};
use teacher_registry::credential::SigningKey;
use teacher_registry::server::ServerOptions;
use tonic::transport::Channel;
use tonic::Code;

const NUMBER: &str = "20163500022000123";

/// A server signing with a key made by the binary; the key's public text.
async fn signing_server(dir: &Path, auth: Option<Authenticator>) -> (TestServer, String) {
    let key_file = dir.join("credential.key");
    let made = run(&["credential-key", key_file.to_str().unwrap()])
        .await
        .ok();
    let public = made.stdout.trim().to_string();
    let options = ServerOptions {
        credential_key: Some(SigningKey::load(&key_file).unwrap().into()),
        authenticator: auth,
        ..ServerOptions::default()
    };
    (start_server_with(options).await, public)
}

/// A teacher in 350702 holding certificate [`NUMBER`].
async fn holder(client: &mut Client) -> pb::Teacher {
    let teacher = create(client, teacher(1, "350702")).await;
    client
        .issue_certificate(issue_request(&teacher.teacher_id, NUMBER))
        .await
        .unwrap_teacher()
}

async fn credentials(server: &TestServer) -> CredentialServiceClient<Channel> {
    CredentialServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap()
}

/// A credential for the certificate `NUMBER`, as IssueCredential answers it.
async fn issued_credential(server: &TestServer) -> String {
    let request = pb::IssueCredentialRequest {
        certificate_number: NUMBER.into(),
    };
    let issued = credentials(server).await.issue_credential(request).await;
    issued.unwrap().into_inner().credential
}

async fn check(
    server: &TestServer,
    text: &str,
) -> Result<pb::CheckCredentialResponse, tonic::Status> {
    credentials(server)
        .await
        .check_credential(pb::CheckCredentialRequest {
            credential: text.to_string(),
        })
        .await
        .map(|r| r.into_inner())
}

fn verdict(response: &pb::CheckCredentialResponse) -> pb::CredentialVerdict {
    pb::CredentialVerdict::try_from(response.verdict).unwrap()
}

/// `verify-credential` of a credential (text or file) under a public key (text or file).
async fn verify_offline(credential: &str, public_key: &str) -> Run {
    run(&["verify-credential", credential, "--public-key", public_key]).await
}

/// The pixels of a 1-bit greyscale PNG as written for credentials, as (width, luma).
fn decode_png(png: &[u8]) -> (usize, Vec<u8>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (mut at, mut width, mut idat) = (8, 0, Vec::new());
    while at < png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let (kind, data) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
        let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
        assert_eq!(
            crc32fast::hash(&png[at + 4..at + 8 + len]),
            crc,
            "chunk CRC"
        );
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
                assert_eq!(&data[8..13], [1, 0, 0, 0, 0], "1-bit greyscale");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut rows = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut rows)
        .unwrap();
    let stride = 1 + width.div_ceil(8);
    assert_eq!(rows.len(), stride * width, "a square image");
    let mut luma = Vec::with_capacity(width * width);
    for row in rows.chunks(stride) {
        assert_eq!(row[0], 0, "unfiltered rows");
        luma.extend((0..width).map(|x| {
            let bit = row[1 + x / 8] & (0x80 >> (x % 8));
            if bit == 0 {
                0
            } else {
                255
            }
        }));
    }
    (width, luma)
}

/// The text of the QR code in a credential's PNG.
fn read_qr(png: &[u8]) -> String {
    let (width, luma) = decode_png(png);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, width, |x, y| luma[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

/// The command line that issues the credential of [`NUMBER`] into `out`, from the
/// registry at `address`.
fn issue_args<'a>(out: &'a Path, address: &'a str) -> [&'a str; 7] {
    [
        "credential",
        "issue",
        NUMBER,
        "--out",
        out.to_str().unwrap(),
        "--server",
        address,
    ]
}

#[tokio::test]
async fn a_credential_verifies_offline_and_the_registry_sees_its_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, public) = signing_server(dir.path(), None).await;
    let key_file = dir.path().join("credential.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&key_file).unwrap();
    let again = run(&["credential-key", key_file.to_str().unwrap()]).await;
    assert_eq!(again.code, Some(1), "{again:#?}");
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        before,
        "the key is never replaced"
    );
    assert!(!again.stderr.contains("PRIVATE KEY"));

    let teacher = holder(&mut server.client).await;
    let out = dir.path().join("out");
    let address = format!("http://{}", server.address);
    let issued = run(&issue_args(&out, &address)).await.ok();
    assert!(issued.stdout.contains(&teacher.name), "{}", issued.stdout);
    let text = std::fs::read_to_string(out.join("credential.txt")).unwrap();
    let text = text.trim();
    assert!(text.starts_with("TRC1."), "{text}");

    // No identity number, in the text or in the payload it carries.
    let payload = URL_SAFE_NO_PAD
        .decode(text.split('.').nth(1).unwrap())
        .unwrap();
    let payload = String::from_utf8(payload).unwrap();
    assert!(
        payload.contains(NUMBER) && payload.contains(&teacher.name),
        "{payload}"
    );
    assert!(!payload.contains(&teacher.national_id), "{payload}");
    assert!(!payload.contains(&teacher.national_id[..14]), "{payload}");
    assert!(!payload.contains(&teacher.teacher_id), "{payload}");

    // The QR code reads back to the very text.
    let png = std::fs::read(out.join("credential.png")).unwrap();
    assert_eq!(read_qr(&png), text);

    // Offline: from the file and from the text, with the key as text and as a file.
    let file = out.join("credential.txt");
    let offline = verify_offline(file.to_str().unwrap(), &public).await.ok();
    assert!(
        offline.stdout.contains("signature valid"),
        "{}",
        offline.stdout
    );
    assert!(offline.stdout.contains(&teacher.name) && offline.stdout.contains(NUMBER));
    assert!(
        offline.stdout.contains("PRIMARY_SCHOOL"),
        "{}",
        offline.stdout
    );
    let key_text = dir.path().join("public.txt");
    std::fs::write(&key_text, format!("{public}\n")).unwrap();
    verify_offline(text, key_text.to_str().unwrap()).await.ok();

    // Online: valid, with what it states.
    let answer = check(&server, text).await.unwrap();
    assert_eq!(verdict(&answer), pb::CredentialVerdict::Valid);
    let facts = answer.facts.unwrap();
    assert_eq!(facts.holder_name, teacher.name);
    assert_eq!(facts.certified_on, "2016-07-01");
    assert_eq!(answer.key.unwrap().public_key, public);

    server
        .client
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: NUMBER.into(),
            reason: "以欺骗手段取得".into(),
            approval_document: "Nan Jiao Ren [2026] No. 12".into(),
            revoked_on: "2026-03-02".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Offline the signature still holds: only the registry knows of the revocation.
    let offline = verify_offline(text, &public).await.ok();
    assert!(
        offline.stdout.contains("only the registry can say"),
        "{}",
        offline.stdout
    );
    let answer = check(&server, text).await.unwrap();
    assert_eq!(verdict(&answer), pb::CredentialVerdict::Revoked);
    assert_eq!(answer.revoked_on, "2026-03-02");

    // And no new credential for a revoked certificate.
    let status = credentials(&server)
        .await
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: NUMBER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(error_info(&status)["reason"], "CERTIFICATE_REVOKED");
}

#[tokio::test]
async fn forged_and_truncated_credentials_are_refused_offline_and_online() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, public) = signing_server(dir.path(), None).await;
    holder(&mut server.client).await;
    let text = issued_credential(&server).await;
    let mut parts = text.split('.');
    let (prefix, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );

    // A payload byte changed: the name, with the registry's signature kept.
    let mut json = URL_SAFE_NO_PAD.decode(payload).unwrap();
    let at = json.windows(2).position(|w| w == b"\xe5\xb8").unwrap(); // 师 of 教师1
    json[at + 2] ^= 1;
    let altered = format!("{prefix}.{}.{signature}", URL_SAFE_NO_PAD.encode(&json));
    // Another key's signature over the registry's very payload.
    let other = SigningKey::generate();
    let signed = format!("{prefix}.{payload}");
    let resigned = format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(other.sign(signed.as_bytes()))
    );
    for forged in [&altered, &resigned] {
        let offline = verify_offline(forged, &public).await;
        assert_eq!(offline.code, Some(1), "{offline:#?}");
        assert!(offline.stderr.contains("FORGED"), "{}", offline.stderr);
        assert!(offline.stdout.is_empty(), "nothing of a forgery is shown");
        let answer = check(&server, forged).await.unwrap();
        assert_eq!(verdict(&answer), pb::CredentialVerdict::Forged);
        assert!(answer.facts.is_none());
    }
    // Verified under another key than the registry's: refused too.
    let wrong_key = other.public().to_string();
    assert_eq!(verify_offline(&text, &wrong_key).await.code, Some(1));

    // A credential another key made for itself is not this registry's to judge.
    let mut facts = teacher_registry::credential::verify(
        &text,
        &teacher_registry::credential::PublicKey::parse(&public).unwrap(),
    )
    .unwrap();
    facts.key_id = other.public().id();
    let foreign = teacher_registry::credential::issue(&facts, &other);
    let answer = check(&server, &foreign).await.unwrap();
    assert_eq!(verdict(&answer), pb::CredentialVerdict::UnknownKey);

    for cut in [text.len() - 1, text.len() - 40, text.len() / 2, 5] {
        let truncated = &text[..cut];
        let offline = verify_offline(truncated, &public).await;
        assert_eq!(offline.code, Some(1), "cut at {cut}: {offline:#?}");
        let status = check(&server, truncated).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "cut at {cut}");
        assert_eq!(violated_fields(&status), ["credential"]);
    }

    // The command line's own mistakes: a key that is not one (2), a missing file (3).
    assert_eq!(verify_offline(&text, "ed25519:short").await.code, Some(2));
    let missing = dir.path().join("nowhere.txt");
    assert_eq!(
        verify_offline(missing.to_str().unwrap(), &public)
            .await
            .code,
        Some(3)
    );
}

#[tokio::test]
async fn a_changed_name_supersedes_a_credential() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, _) = signing_server(dir.path(), None).await;
    let teacher = holder(&mut server.client).await;
    let text = issued_credential(&server).await;
    server
        .client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: teacher.teacher_id.clone(),
                name: "王新名".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let answer = check(&server, &text).await.unwrap();
    assert_eq!(verdict(&answer), pb::CredentialVerdict::Superseded);
    assert_eq!(answer.changed_fields, ["name"]);
    assert_eq!(answer.facts.unwrap().holder_name, teacher.name);
}

#[tokio::test]
async fn without_a_key_credentials_are_failed_precondition_naming_the_flag() {
    let mut server = start_server().await;
    holder(&mut server.client).await;
    let mut client = credentials(&server).await;
    let status = client
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: NUMBER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("--credential-key"), "{status:?}");
    assert_eq!(error_info(&status)["reason"], "CREDENTIAL_KEY_MISSING");
    for status in [
        client
            .check_credential(pb::CheckCredentialRequest::default())
            .await
            .unwrap_err(),
        client
            .get_credential_key(pb::GetCredentialKeyRequest {})
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
    // A malformed number is the caller's mistake first, key or not.
    let status = client
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: "123".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["certificate_number"]);
}

#[tokio::test]
async fn checking_is_public_and_issuing_stays_within_a_county() {
    let dir = tempfile::tempdir().unwrap();
    let auth_file = dir.path().join("auth.toml");
    let admin = add_principal(&auth_file, "root", Role::Admin, None).unwrap();
    let own = add_principal(&auth_file, "yanping", Role::County, Some("350702")).unwrap();
    let other = add_principal(&auth_file, "shunchang", Role::County, Some("350721")).unwrap();
    let reader = add_principal(&auth_file, "auditor", Role::Reader, None).unwrap();
    let auth = Authenticator::load(&auth_file).unwrap();
    let (server, public) = signing_server(dir.path(), Some(auth)).await;
    let address = format!("http://{}", server.address);
    let issue_as = |token: &str, out: &Path| {
        let (token, out, address) = (token.to_string(), out.to_path_buf(), address.clone());
        async move {
            run_with(
                &issue_args(&out, &address),
                &[("TEACHER_REGISTRY_TOKEN", &token)],
            )
            .await
        }
    };
    // Seed as the admin, through the registry service.
    let channel = Channel::from_shared(address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut registry =
        pb::teacher_registry_service_client::TeacherRegistryServiceClient::with_interceptor(
            channel,
            Token::bearer(&admin),
        );
    let teacher = create(&mut registry, teacher(1, "350702")).await;
    registry
        .issue_certificate(issue_request(&teacher.teacher_id, NUMBER))
        .await
        .unwrap();

    let no_token = run_with(
        &[
            "credential",
            "issue",
            NUMBER,
            "--out",
            "x",
            "--server",
            &address,
        ],
        &[],
    )
    .await;
    assert_eq!(no_token.code, Some(1), "{no_token:#?}");
    assert!(
        no_token.stderr.contains("UNAUTHENTICATED"),
        "{}",
        no_token.stderr
    );
    let out = dir.path().join("out");
    let denied = issue_as(&reader, &out).await;
    assert!(denied.stderr.contains("PERMISSION_DENIED"), "{denied:#?}");
    let elsewhere = issue_as(&other, &out).await;
    assert!(elsewhere.stderr.contains("NOT_FOUND"), "{elsewhere:#?}");
    assert!(
        !out.join("credential.txt").exists(),
        "nothing written when refused"
    );
    issue_as(&own, &out).await.ok();
    let text = std::fs::read_to_string(out.join("credential.txt")).unwrap();

    // Anyone may check, without a token or with a wrong one.
    let answer = check(&server, &text).await.unwrap();
    assert_eq!(verdict(&answer), pb::CredentialVerdict::Valid);
    let channel = Channel::from_shared(address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut stranger =
        CredentialServiceClient::with_interceptor(channel, Token::bearer("trg_not-a-token"));
    let answer = stranger
        .check_credential(pb::CheckCredentialRequest {
            credential: text.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&answer), pb::CredentialVerdict::Valid);
    let key = stranger
        .get_credential_key(pb::GetCredentialKeyRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(key.key.unwrap().public_key, public);
    // Issuing is not public: the same stranger is refused.
    let status = stranger
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: NUMBER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn online_checks_are_limited_per_address_like_verification() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("credential.key");
    run(&["credential-key", key_file.to_str().unwrap()])
        .await
        .ok();
    let server = start_server_with(ServerOptions {
        credential_key: Some(SigningKey::load(&key_file).unwrap().into()),
        public_rate_limit: teacher_registry::api::RateLimit {
            per_minute: 1,
            burst: 2,
        },
        ..ServerOptions::default()
    })
    .await;
    holder(&mut server.client.clone()).await;
    let text = issued_credential(&server).await;
    for _ in 0..2 {
        let answer = check(&server, &text).await.unwrap();
        assert_eq!(verdict(&answer), pb::CredentialVerdict::Valid);
    }
    let status = check(&server, &text).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    use tonic_types::StatusExt;
    assert!(status.get_details_retry_info().is_some(), "{status:?}");
}
