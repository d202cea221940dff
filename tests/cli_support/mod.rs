//! Runs the real `teacher-registry` binary as a person would, with stdout and stderr
//! captured (so not a terminal, as in a log file or a pipe), and without the test
//! runner's `RUST_LOG` or token unless the test sets them.
#![allow(dead_code, unreachable_pub)]

use std::process::{Command, Stdio};

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, Some(0), "{self:#?}");
        self
    }
}

/// The binary with a clean environment for its variables.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_teacher-registry"));
    for variable in [
        "RUST_LOG",
        "TEACHER_REGISTRY_TOKEN",
        "TEACHER_REGISTRY_SERVER",
        "TEACHER_REGISTRY_CA_FILE",
        "TEACHER_REGISTRY_DATA_DIR",
        "TEACHER_REGISTRY_AUTH_FILE",
        "TEACHER_REGISTRY_LISTEN",
        "TEACHER_REGISTRY_COUNTY_NAMES",
    ] {
        command.env_remove(variable);
    }
    command
}

/// Runs the binary with `args` and these extra environment variables, off the async
/// workers.
pub async fn run_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let output = binary()
            .args(&args)
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .expect("run the binary");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// Runs the binary with `args`.
pub async fn run(args: &[&str]) -> Run {
    run_with(args, &[]).await
}

/// An ANSI escape sequence (colour, cursor movement) somewhere in `text`.
pub fn has_escape_codes(text: &str) -> bool {
    text.contains('\u{1b}')
}

/// Lines of `text` that end in a space or tab.
pub fn trailing_space_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.ends_with(' ') || line.ends_with('\t'))
        .collect()
}

/// Starts `sync --follow` of county 350702 from the server at `address` into `mirror`:
/// the child, and the lines of its stdout as it prints them.
pub fn follow_sync(
    address: std::net::SocketAddr,
    mirror: &std::path::Path,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = binary()
        .args(["sync", "--server", &address.to_string()])
        .args(["--county", "350702", "--follow", "--mirror"])
        .arg(mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (child, received)
}

/// A loopback port nothing listens on (for a server the test starts itself).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
