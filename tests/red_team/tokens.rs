//! Finding 10: tokens and TLS from the command line.
//!
//! The CLI sent its token over plain http to any host, and could not present a client
//! certificate, so mutual-TLS servers were unusable from it. (Reloading the auth file on
//! SIGHUP and the auth file's mode were fixed by #18: tests/serve_operations.rs and
//! tests/private_files.rs.)

use teacher_registry::auth::{add_principal, Authenticator, Role};
use teacher_registry::server::{ServerOptions, TlsFiles};

use crate::cli_support::run_with;
use crate::common::start_server_with;

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

#[tokio::test]
async fn the_cli_presents_a_client_certificate_to_a_mutual_tls_server() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, ca_params, ca_key) = certificate("registry test CA", None);
    let (server_cert, server_key, _, _) = certificate("localhost", Some((&ca_params, &ca_key)));
    let (client_cert, client_key, _, _) = certificate("bureau", Some((&ca_params, &ca_key)));
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let auth = dir.path().join("auth.toml");
    let token = add_principal(&auth, "root", Role::Admin, None).unwrap();
    let server = start_server_with(ServerOptions {
        authenticator: Some(Authenticator::load(&auth).unwrap()),
        tls: Some(TlsFiles {
            cert: write("server.pem", &server_cert),
            key: write("server.key", &server_key),
            client_ca: Some(write("ca.pem", &ca)),
        }),
        ..Default::default()
    })
    .await;
    let url = format!("https://localhost:{}", server.address.port());
    let ca_file = dir.path().join("ca.pem");
    let cert_file = write("client.pem", &client_cert);
    let key_file = write("client.key", &client_key);
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
