//! Finding 10: tokens and TLS.
//!
//! Each sub-point of the finding, and where it is tried:
//! - the CLI could not present a client certificate, so mutual-TLS servers were unusable
//!   from it: `the_cli_presents_a_client_certificate_to_a_mutual_tls_server`;
//! - a client certificate was not tied to a principal: a principal may now be pinned to
//!   one in the auth file, `a_token_pinned_to_a_certificate_is_refused_with_any_other`;
//! - the CLI sent its token over plain http to any host:
//!   `the_cli_will_not_send_a_token_in_plain_text_off_this_machine`;
//! - the server did not warn when an auth file was served without TLS off loopback:
//!   `serving_an_auth_file_without_tls_off_loopback_is_warned_about`;
//! - the auth file was read only at start: reloaded on SIGHUP, a revoked token refused
//!   after it, by the `serve` process itself in
//!   `tests/serve_operations.rs::tokens_rotate_and_revoke_on_sighup_and_the_log_stays_plain`;
//! - `token` reset an auth file's mode to 0644: `token_keeps_the_auth_files_mode`.

use std::path::{Path, PathBuf};

use teacher_registry::auth::{add_principal, Authenticator, Role};
use teacher_registry::server::{ServerOptions, TlsFiles};

use crate::cli_support::{binary, free_port, run_with};
use crate::common::{start_server_with, start_server_with_auth, TestServer};

#[tokio::test]
async fn the_cli_will_not_send_a_token_in_plain_text_off_this_machine() {
    for server in [
        "http://192.0.2.7:50051",
        "192.0.2.7:50051",
        "http://[2001:db8::1]:50051",
    ] {
        let run = run_with(
            &["stats", "--server", server],
            &[("TEACHER_REGISTRY_TOKEN", "trg_secret-in-the-clear")],
        )
        .await;
        assert_eq!(run.code, Some(2), "{run:#?}");
        assert!(
            run.stderr.contains("refusing to send the token"),
            "{run:#?}"
        );
        assert!(!run.stderr.contains("trg_secret"), "{run:#?}");
    }
}

fn certificate(
    name: &str,
    issuer: Option<(&rcgen::CertificateParams, &rcgen::KeyPair)>,
) -> (String, String, rcgen::CertificateParams, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let cert = match issuer {
        Some((issuer_params, issuer_key)) => params
            .signed_by(&key, &rcgen::Issuer::from_params(issuer_params, issuer_key))
            .unwrap(),
        None => {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.self_signed(&key).unwrap()
        }
    };
    (cert.pem(), key.serialize_pem(), params, key)
}

/// Writes `text` to the file `name` in `dir`; its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A server in `dir` admitting the principals of the auth file `auth`, over TLS with a
/// certificate for localhost signed by the CA `ca` (PEM, its parameters and key), and
/// asking every caller for a certificate that CA signed (written to `dir/ca.pem`).
async fn mutual_tls_server(
    dir: &Path,
    auth: &Path,
    (ca, ca_params, ca_key): (&str, &rcgen::CertificateParams, &rcgen::KeyPair),
) -> TestServer {
    let (cert, key, _, _) = certificate("localhost", Some((ca_params, ca_key)));
    start_server_with(ServerOptions {
        authenticator: Some(Authenticator::load(auth).unwrap()),
        tls: Some(TlsFiles {
            cert: write(dir, "server.pem", &cert),
            key: write(dir, "server.key", &key),
            client_ca: Some(write(dir, "ca.pem", ca)),
        }),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn the_cli_presents_a_client_certificate_to_a_mutual_tls_server() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, ca_params, ca_key) = certificate("registry test CA", None);
    let (client_cert, client_key, _, _) = certificate("bureau", Some((&ca_params, &ca_key)));
    let auth = dir.path().join("auth.toml");
    let token = add_principal(&auth, "root", Role::Admin, None).unwrap();
    let server = mutual_tls_server(dir.path(), &auth, (&ca, &ca_params, &ca_key)).await;
    let url = format!("https://localhost:{}", server.address.port());
    let ca_file = dir.path().join("ca.pem");
    let cert_file = write(dir.path(), "client.pem", &client_cert);
    let key_file = write(dir.path(), "client.key", &client_key);
    let (ca_file, cert_file, key_file) = (
        ca_file.to_str().unwrap(),
        cert_file.to_str().unwrap(),
        key_file.to_str().unwrap(),
    );
    let base = [
        ("TEACHER_REGISTRY_TOKEN", token.as_str()),
        ("TEACHER_REGISTRY_CA_FILE", ca_file),
    ];
    let with_certificate = [
        base[0],
        base[1],
        ("TEACHER_REGISTRY_CLIENT_CERT", cert_file),
        ("TEACHER_REGISTRY_CLIENT_KEY", key_file),
    ];
    let stats = run_with(&["stats", "--server", &url], &with_certificate).await;
    assert_eq!(stats.code, Some(0), "{stats:#?}");
    let without = run_with(&["stats", "--server", &url], &base).await;
    assert_ne!(without.code, Some(0), "{without:#?}");
    let half = run_with(
        &["stats", "--server", &url],
        &[
            base[0],
            base[1],
            ("TEACHER_REGISTRY_CLIENT_CERT", cert_file),
        ],
    )
    .await;
    assert_eq!(half.code, Some(2), "{half:#?}");
    assert!(
        half.stderr.contains("TEACHER_REGISTRY_CLIENT_KEY"),
        "{half:#?}"
    );
}

/// Adds `client_cert_sha256` (of `der`) to the principal named `name` in the auth file.
fn pin(auth: &std::path::Path, name: &str, der: &[u8]) {
    use sha2::Digest;
    let text = std::fs::read_to_string(auth).unwrap();
    let table = format!("name = \"{name}\"\n");
    let at = text.find(&table).expect("the principal's table");
    let hex: Vec<String> = sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    // As `openssl x509 -noout -fingerprint -sha256` prints it, colons and all.
    let line = format!("client_cert_sha256 = \"{}\"\n", hex.join(":"));
    let text = format!(
        "{}{line}{}",
        &text[..at + table.len()],
        &text[at + table.len()..]
    );
    std::fs::write(auth, text).unwrap();
}

#[tokio::test]
async fn a_token_pinned_to_a_certificate_is_refused_with_any_other() {
    use teacher_registry::api::pb;
    use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

    let dir = tempfile::tempdir().unwrap();
    let (ca, _, ca_params, ca_key) = certificate("registry test CA", None);
    let (bureau_cert, bureau_key, _, _) = certificate("bureau", Some((&ca_params, &ca_key)));
    let (other_cert, other_key, _, _) = certificate("other", Some((&ca_params, &ca_key)));
    let auth = dir.path().join("auth.toml");
    let pinned = add_principal(&auth, "yanping", Role::County, Some("350702")).unwrap();
    let free = add_principal(&auth, "root", Role::Admin, None).unwrap();
    let bureau_der = {
        use base64::Engine;
        let body: String = bureau_cert
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    pin(&auth, "yanping", &bureau_der);
    let server = mutual_tls_server(dir.path(), &auth, (&ca, &ca_params, &ca_key)).await;
    let call = |cert: String, key: String, token: String| {
        let (ca, port) = (ca.clone(), server.address.port());
        async move {
            let tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca))
                .identity(Identity::from_pem(cert, key))
                .domain_name("localhost");
            let channel = Endpoint::from_shared(format!("https://localhost:{port}"))
                .unwrap()
                .tls_config(tls)
                .unwrap()
                .connect()
                .await
                .unwrap();
            TeacherRegistryServiceClient::with_interceptor(
                channel,
                crate::common::Token::bearer(&token),
            )
            .get_statistics(pb::GetStatisticsRequest::default())
            .await
            .map(drop)
        }
    };
    call(bureau_cert.clone(), bureau_key.clone(), pinned.clone())
        .await
        .expect("the pinned certificate with its token");
    let stolen = call(other_cert.clone(), other_key.clone(), pinned.clone())
        .await
        .unwrap_err();
    assert_eq!(stolen.code(), tonic::Code::Unauthenticated, "{stolen:?}");
    assert!(stolen.message().contains("pinned"), "{stolen:?}");
    // A principal without a pin may come with any certificate the CA signed.
    call(other_cert, other_key, free.clone()).await.unwrap();
    call(bureau_cert, bureau_key, free).await.unwrap();
    // Without TLS at all (a server without --tls-client-ca), the pinned token is refused.
    let plain = start_server_with_auth(&auth).await;
    let refused = super::harness::as_token(&plain, &pinned)
        .await
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
}

#[tokio::test]
async fn token_keeps_the_auth_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.toml");
    let auth_arg = auth.to_str().unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    run_with(
        &[
            "token",
            "--auth-file",
            auth_arg,
            "--principal",
            "root",
            "--role",
            "admin",
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(mode(&auth), 0o600, "a new auth file is its owner's alone");
    // An operator lets the service's group read it: edits keep that, and never widen it.
    std::fs::set_permissions(&auth, std::fs::Permissions::from_mode(0o640)).unwrap();
    for edit in [
        &["--principal", "auditor", "--role", "reader"][..],
        &["--rotate", "root"][..],
        &["--revoke", "auditor"][..],
    ] {
        run_with(
            &[&["token", "--auth-file", auth_arg][..], edit].concat(),
            &[],
        )
        .await
        .ok();
        assert_eq!(mode(&auth), 0o640, "after token {edit:?}");
    }
}

#[tokio::test]
async fn serving_an_auth_file_without_tls_off_loopback_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.toml");
    add_principal(&auth, "root", Role::Admin, None).unwrap();
    let log = dir.path().join("serve.log");
    let mut serving = binary()
        .args(["serve", "--listen", &format!("0.0.0.0:{}", free_port())])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--auth-file")
        .arg(&auth)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("tokens travel in plain text") || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let _ = serving.kill();
    let _ = serving.wait();
    assert!(text.contains("tokens travel in plain text"), "{text}");
    assert!(text.contains("WARN"), "{text}");
}
