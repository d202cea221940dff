//! Everyday failures of the real binary end with one clear message and a documented exit
//! code, never a backtrace, even with RUST_BACKTRACE=1: 1 for refused or rejected work,
//! 2 for a wrong command line, 3 for an unreachable server or a file that cannot be read.

mod cli_support;
mod common;

use cli_support::{run_with, Run};
use common::*;

/// Runs the binary with `args` (its log at warnings) and a backtrace asked for.
async fn run(args: &[&str]) -> Run {
    run_with(args, &[("RUST_BACKTRACE", "1"), ("RUST_LOG", "warn")]).await
}

/// Exits with `code`, and says `message` on stderr without a backtrace.
fn assert_ends(outcome: &Run, code: i32, message: &str) {
    let stderr = &outcome.stderr;
    assert_eq!(outcome.code, Some(code), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
    assert!(
        !stderr.to_lowercase().contains("stack backtrace"),
        "a backtrace for an expected outcome: {stderr}"
    );
}

/// An address nothing listens on.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_failures_print_a_message_and_their_exit_code() {
    let server = start_server().await;
    let url = format!("http://{}", server.address);
    let dir = tempfile::tempdir().unwrap();

    // Rejected rows: 1.
    let file = dir.path().join("one-bad-row.csv");
    std::fs::write(
        &file,
        "姓名,身份证号,性别,出生日期,所在县区代码,任职状态\n王芳,11010519491231002X,未知,1949-12-31,350702,退休\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let rejected = run(&["import", file, "--server", &url]).await;
    assert_ends(&rejected, 1, "\nteacher-registry: 1 row was rejected\n");

    // A request the registry refuses: 1, with the registry's reason on the next line.
    let refused = run(&transition_args(&url, "3507", "2016-09-01", "x")).await;
    assert_ends(
        &refused,
        1,
        "teacher-registry: the registry refused the transition\n  caused by: INVALID_ARGUMENT",
    );

    // A wrong command line: 2, from clap and from the commands alike.
    assert_ends(&run(&["import"]).await, 2, "FILE");
    let not_a_url = run(&["stats", "--server", "127.0.0.1 50051"]).await;
    assert_ends(
        &not_a_url,
        2,
        "teacher-registry: 127.0.0.1 50051 is not a server address",
    );
    let not_a_sheet = dir.path().join("teachers.txt");
    let not_a_sheet = not_a_sheet.to_str().unwrap();
    let no_template = run(&["template", not_a_sheet]).await;
    assert_ends(&no_template, 2, "teachers.txt is not a template format");
    let no_table = run(&["import", not_a_sheet, "--server", &url]).await;
    assert_ends(&no_table, 2, "teachers.txt is not a supported file");

    // No server there: 3.
    let unreachable = run(&["stats", "--server", &closed_address()]).await;
    assert_ends(
        &unreachable,
        3,
        "teacher-registry: cannot connect to the registry at",
    );

    // A missing file: 3, however the server is.
    let missing = dir.path().join("missing.csv");
    let missing = run(&["import", missing.to_str().unwrap(), "--server", &url]).await;
    assert_ends(&missing, 3, "teacher-registry: cannot read");
    assert!(
        missing.stderr.contains("caused by: No such file"),
        "{}",
        missing.stderr
    );
}
