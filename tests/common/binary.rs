//! The `teacher-registry` binary run as a command against a test server, for the tests of
//! what its commands print (`cli`, `search`, `identity`, `merge`, `backup`, `cases`), and
//! the command lines and servers that more than one of them uses. What [`run_binary`]
//! prints must be UTF-8: a run that prints anything else fails the test.

use teacher_registry::api::pb;

use super::{create, start_server, teacher, TestServer};

/// What a run printed and how it ended (`code` -1: ended by a signal).
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary with `args`, logging warnings only, calling with `token` as
/// `TEACHER_REGISTRY_TOKEN` or with no token at all; off the async workers.
pub async fn run_binary(args: Vec<String>, token: Option<&str>) -> Ran {
    let token = token.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"));
        command.args(&args).env("RUST_LOG", "warn");
        match token {
            Some(token) => command.env("TEACHER_REGISTRY_TOKEN", token),
            None => command.env_remove("TEACHER_REGISTRY_TOKEN"),
        };
        let output = command.output().expect("run the binary");
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 on stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 on stderr"),
        }
    })
    .await
    .unwrap()
}

/// Runs the binary with `args`, logging errors only, and waits for it on this thread.
pub fn run_binary_here(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

/// What a run of the binary with `args` that must succeed printed (see
/// [`run_binary_here`]); a failed run panics with everything it printed.
pub fn run_binary_ok(args: &[&str]) -> String {
    let output = run_binary_here(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The command line of a `transition` of `county` by the registry at `url`, effective
/// `date`, under the approval document `document`.
pub fn transition_args<'a>(
    url: &'a str,
    county: &'a str,
    date: &'a str,
    document: &'a str,
) -> [&'a str; 9] {
    [
        "transition",
        "--server",
        url,
        "--county",
        county,
        "--effective-date",
        date,
        "--approval-document",
        document,
    ]
}

/// A server with two teachers in 350702, the first with the legacy title PRIMARY_SENIOR
/// (one for a transition there to move): the server, its URL and that first teacher.
pub async fn server_for_a_transition() -> (TestServer, String, pb::Teacher) {
    let mut server = start_server().await;
    let url = format!("http://{}", server.address);
    let mut senior = teacher(1, "350702");
    senior.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
    let senior = create(&mut server.client, senior).await;
    create(&mut server.client, teacher(2, "350702")).await;
    (server, url, senior)
}
