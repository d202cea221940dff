//! Issue 18, defect 9: TLS had no recipe, and the usual one-line self-signed certificate
//! (a CA certificate, as `openssl req -x509` makes it) failed with a bare
//! `CaUsedAsEndEntity`. `teacher-registry tls-init DIR` now writes a CA and a server
//! certificate that work as they are, with owner-only keys, and both the server and the
//! client name the mistake of serving a CA certificate, and its fix.
//!
//! Everything runs through the real binary: `tls-init`, `serve` on a real socket, and a
//! client command trusting the CA through `TEACHER_REGISTRY_CA_FILE`. The server keeps its
//! registry where the suite says (`common::registry_args`: a data directory, or PostgreSQL).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_teacher-registry");

/// Runs the binary under umask 022 (the usual one, under which plain files are 0644).
fn run(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new("sh");
    command
        .args(["-c", "umask 022 && exec \"$0\" \"$@\"", BIN])
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TEACHER_REGISTRY_CA_FILE")
        .env_remove("TEACHER_REGISTRY_TOKEN");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("run the binary")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A server of the real binary on a free port, with these extra arguments; its stderr goes
/// to `log`. Returns once the port accepts connections (bounded).
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("server.log");
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(common::registry_args(&dir.join("data")))
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the server");
        let mut server = Server { child, port, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited ({status}): {}", server.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server never listened: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tls_init_makes_a_ca_and_a_server_certificate_the_cli_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let made = run(&["tls-init", tls.to_str().unwrap()], &[]);
    assert!(made.status.success(), "{}", stderr(&made));
    for (file, expected) in [
        ("ca.pem", 0o644),
        ("ca.key", 0o600),
        ("server.pem", 0o644),
        ("server.key", 0o600),
    ] {
        assert_eq!(mode(&tls.join(file)), expected, "{file}");
    }
    let report = String::from_utf8_lossy(&made.stdout);
    assert!(report.contains("localhost, 127.0.0.1"), "{report}");

    // A second run would replace a CA in use: refused, unless --force.
    let again = run(&["tls-init", tls.to_str().unwrap()], &[]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    let server = Server::start(
        dir.path(),
        &[
            "--tls-cert",
            tls.join("server.pem").to_str().unwrap(),
            "--tls-key",
            tls.join("server.key").to_str().unwrap(),
        ],
    );
    let ca = tls.join("ca.pem");
    // By the name and by the address the certificate was made for (the defaults).
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}", server.port);
        let stats = run(
            &["stats", "--server", &url],
            &[("TEACHER_REGISTRY_CA_FILE", &ca)],
        );
        assert!(
            stats.status.success(),
            "{url}: {}\nserver: {}",
            stderr(&stats),
            server.log()
        );
    }
    // Without the CA the server's certificate is not trusted: the CA file is what counts.
    let url = format!("https://localhost:{}", server.port);
    let untrusted = run(&["stats", "--server", &url], &[]);
    assert_eq!(untrusted.status.code(), Some(3), "{}", stderr(&untrusted));
    assert!(
        !server.log().contains("CA certificate"),
        "a warning for a proper server certificate: {}",
        server.log()
    );
}

#[test]
fn a_ca_certificate_served_as_the_servers_own_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    // What `openssl req -x509 -newkey ec ... -subj /CN=localhost -addext
    // subjectAltName=DNS:localhost` makes: self-signed, basic constraints CA:TRUE.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let server = Server::start(
        dir.path(),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    let url = format!("https://localhost:{}", server.port);
    let refused = run(
        &["stats", "--server", &url],
        &[("TEACHER_REGISTRY_CA_FILE", &cert_path)],
    );
    let said = stderr(&refused);
    assert_eq!(refused.status.code(), Some(3), "{said}");
    assert!(
        said.contains("the server's TLS certificate is a CA certificate")
            && said.contains("teacher-registry tls-init DIR"),
        "the client does not name the problem and its fix: {said}"
    );
    let log = server.log();
    assert!(
        log.contains("is a CA certificate") && log.contains("teacher-registry tls-init DIR"),
        "the server does not warn about its certificate: {log}"
    );
}
