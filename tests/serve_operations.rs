//! Running the real `serve` binary as an operator does (issue 18, defects 8 and 13): a
//! server that refuses to start creates nothing; `token --rotate` and `token --revoke`
//! take effect on SIGHUP without a restart, a reload of a broken auth file keeps the
//! tokens in force and logs why without the file's contents; and the log, written to a
//! file, is plain text without a token in it.

#![cfg(unix)]

mod cli_support;
mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli_support::*;

/// Whether `stats` with this token succeeds against the server at `address`.
async fn accepted(address: &str, token: &str) -> bool {
    let stats = run_with(
        &["stats", "--server", address],
        &[("TEACHER_REGISTRY_TOKEN", token)],
    )
    .await;
    match stats.code {
        Some(0) => true,
        Some(1) if stats.stderr.contains("UNAUTHENTICATED") => false,
        _ => panic!("stats ended neither way: {stats:#?}"),
    }
}

/// Makes a token with the `token` command.
async fn token(args: &[&str]) -> String {
    let made = run(&[&["token"][..], args].concat()).await.ok();
    let token = made.stdout.trim().to_string();
    assert!(token.starts_with("trg_"), "{made:#?}");
    token
}

/// A `serve` process, killed if the test ends before stopping it.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with its log going to `log`, and waits (bounded) until it answers.
async fn start(data_dir: &Path, auth: &Path, log: &Path, port: u16, token: &str) -> Serving {
    let server = Serving(
        binary()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(common::registry_args(data_dir))
            .arg("--auth-file")
            .arg(auth)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = run_with(
            &["stats", "--server", &address],
            &[("TEACHER_REGISTRY_TOKEN", token)],
        )
        .await;
        if stats.code == Some(0) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not come up: {stats:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends SIGHUP and waits (bounded) for the `n`th reload line in the log ("auth file
/// reloaded" or "not reloaded").
async fn hang_up(server: &Serving, log: &Path, n: usize) -> String {
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap();
        if text.matches("reloaded").count() >= n {
            return text;
        }
        assert!(Instant::now() < deadline, "no reload in the log: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_rotate_and_revoke_on_sighup_and_the_log_stays_plain() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.toml");
    let auth_arg = ["--auth-file", auth.to_str().unwrap()];
    let root = token(
        &[
            &auth_arg[..],
            &["--principal", "root", "--role", "admin"][..],
        ]
        .concat(),
    )
    .await;
    let bureau = token(
        &[
            &auth_arg[..],
            &[
                "--principal",
                "yanping",
                "--role",
                "county",
                "--county",
                "350702",
            ][..],
        ]
        .concat(),
    )
    .await;
    let log = dir.path().join("serve.log");
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = start(&dir.path().join("data"), &auth, &log, port, &root).await;
    assert!(accepted(&address, &bureau).await);

    // Rotated: the old token works until the reload, the new one after it.
    let rotated = token(&[&auth_arg[..], &["--rotate", "yanping"][..]].concat()).await;
    assert!(accepted(&address, &bureau).await);
    hang_up(&server, &log, 1).await;
    assert!(!accepted(&address, &bureau).await);
    assert!(accepted(&address, &rotated).await);

    // Revoked: gone after the next reload; the others stay.
    let revoked = run(&[&["token"][..], &auth_arg[..], &["--revoke", "yanping"][..]].concat())
        .await
        .ok();
    assert!(revoked.stdout.is_empty(), "{revoked:#?}");
    hang_up(&server, &log, 2).await;
    assert!(!accepted(&address, &rotated).await);
    assert!(accepted(&address, &root).await);

    // A broken file: the reload is refused, logged, and the tokens in force stay.
    let text = std::fs::read_to_string(&auth).unwrap();
    let hash = text
        .split('"')
        .find(|part| part.len() == 64)
        .unwrap()
        .to_string();
    std::fs::write(&auth, text.replace(&format!("{hash}\""), &hash)).unwrap();
    let logged = hang_up(&server, &log, 3).await;
    assert!(logged.contains("ERROR"), "{logged}");
    assert!(logged.contains("not reloaded"), "{logged}");
    assert!(accepted(&address, &root).await);

    std::process::Command::new("kill")
        .arg(server.0.id().to_string())
        .status()
        .unwrap();
    server.0.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("serving the teacher registry"), "{logged}");
    assert!(
        !has_escape_codes(&logged),
        "colour codes in a log file: {logged}"
    );
    for secret in [&root, &bureau, &rotated, &hash] {
        assert!(
            !logged.contains(secret.as_str()),
            "a token in the log: {logged}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_to_start_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("registry-data");
    let data = data_dir.to_str().unwrap();

    let open = run(&["serve", "--listen", "0.0.0.0:0", "--data-dir", data]).await;
    assert_eq!(open.code, Some(1), "{open:#?}");
    assert!(
        open.stderr.contains("without authentication"),
        "{}",
        open.stderr
    );
    assert!(!data_dir.exists(), "the data directory was created");

    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let tls = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data,
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
    ])
    .await;
    assert_eq!(tls.code, Some(3), "{tls:#?}");
    assert!(tls.stderr.contains("cannot read"), "{}", tls.stderr);
    assert!(!data_dir.exists(), "the data directory was created");
}
