//! Issue 18, defect 10: the README's examples failed when run in order (a replacement dated
//! before the copy it replaced, a promotion of a teacher with no title yet, a reason the
//! README never listed). This test runs them, so they stay true.
//!
//! Every ```` ```sh ```` block of README.md runs, in order, as one bash script
//! (`set -euo pipefail`: every command must succeed) against a real server on
//! 127.0.0.1:0, whose address replaces `127.0.0.1:50051` in the text, with the built
//! `teacher-registry` first on PATH and an empty working directory. A block whose info
//! string is `sh not-run` is shown but not run: it starts a server, or never ends. An
//! ```` ```output ```` block right after a block is what that block prints on stdout,
//! compared line by line (trailing spaces aside, registry numbers being random).
//!
//! The examples call the API with `buf curl` (through npx) and pick answers apart with
//! `jq`; it is ignored in the quick `cargo test` and run by the whole suite (see the
//! README's first lines), which fails it, saying what is missing, without them.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// How long the whole README may take (buf starts through npx for every call).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);
/// The address the README's examples use; the test's server's replaces it.
const README_ADDRESS: &str = "127.0.0.1:50051";

/// One ```` ```sh ```` block of the README that runs.
#[derive(Debug)]
struct Block {
    /// The README's line number of the block's opening fence.
    line: usize,
    code: String,
    /// The block's stdout, if the README shows it.
    expected: Option<String>,
}

/// The README's blocks that run, and how many were marked `not-run`.
fn blocks(readme: &str) -> (Vec<Block>, usize) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut not_run = 0;
    // Whether the last thing read was a block that runs, with only blank lines since.
    let mut after_block = false;
    let mut lines = readme.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            after_block &= line.trim().is_empty();
            continue;
        };
        let mut code = String::new();
        for (_, line) in lines.by_ref() {
            if line.trim_end() == "```" {
                break;
            }
            code.push_str(line);
            code.push('\n');
        }
        match info.trim() {
            "sh" => {
                blocks.push(Block {
                    line: index + 1,
                    code,
                    expected: None,
                });
                after_block = true;
                continue;
            }
            "sh not-run" => not_run += 1,
            "output" => {
                let block = blocks.last_mut().filter(|_| after_block);
                let block = block.unwrap_or_else(|| {
                    panic!(
                        "README.md line {}: an output block follows no sh block",
                        index + 1
                    )
                });
                block.expected = Some(code);
            }
            other if other.starts_with("sh") => {
                panic!("README.md line {}: unknown sh block {other:?}", index + 1)
            }
            _ => {}
        }
        after_block = false;
    }
    (blocks, not_run)
}

/// The script: each block announced on stdout and stderr by a marker line, then run.
fn script(blocks: &[Block], address: &str) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for (n, block) in blocks.iter().enumerate() {
        script.push_str(&format!(
            "echo '@@block {n}@@'; echo '@@block {n}: README.md line {}@@' >&2\n",
            block.line
        ));
        script.push_str(&block.code.replace(README_ADDRESS, address));
    }
    script.push_str("echo '@@end@@'\n");
    script
}

/// Text as compared: trailing spaces and blank lines dropped, registry numbers (`T` and
/// eleven Crockford base-32 characters, random) replaced by one placeholder of their width.
fn normalized(text: &str) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let chars: Vec<char> = line.trim_end().chars().collect();
            let mut out = String::new();
            let mut i = 0;
            while i < chars.len() {
                let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
                let is_id = starts_word
                    && chars[i] == 'T'
                    && chars.len() >= i + 12
                    && chars[i + 1..i + 12].iter().all(|c| ALPHABET.contains(*c))
                    && chars.get(i + 12).is_none_or(|c| !c.is_alphanumeric());
                if is_id {
                    out.push_str("T<teacherid>");
                    i += 12;
                } else {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            out
        })
        .collect();
    lines.join("\n").trim_end().to_string()
}

/// Why the examples cannot run here, if they cannot.
fn missing_tools() -> Option<String> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !works("jq", &["--version"]) {
        return Some("jq is not installed".into());
    }
    if !works("npx", &["--yes", "@bufbuild/buf", "--version"]) {
        return Some("`npx --yes @bufbuild/buf` does not run".into());
    }
    None
}

/// Runs `script` with bash in `dir`, killing it after SCRIPT_TIMEOUT; (exit code, stdout,
/// stderr).
fn run_script(dir: &Path, script: &str) -> (Option<i32>, String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_teacher-registry"));
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let (out, err) = (dir.join("readme.out"), dir.join("readme.err"));
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    let mut child = Command::new("bash")
        .args(["-c", script])
        .current_dir(&work)
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .env_remove("TEACHER_REGISTRY_SERVER")
        .env_remove("TEACHER_REGISTRY_TOKEN")
        .env_remove("TEACHER_REGISTRY_CA_FILE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    (status, read(&out), read(&err))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs jq and npx (buf), and takes a minute: the whole suite runs it (README, Running it)"]
async fn the_readme_examples_run_in_order_against_a_real_server() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let (blocks, not_run) = blocks(&readme);
    assert!(
        blocks.len() >= 8 && not_run <= 6,
        "most of the README's examples should run: {} run, {not_run} not",
        blocks.len()
    );
    if let Some(reason) = missing_tools() {
        panic!("the README's examples cannot run: {reason} (.ci/run installs what they need)");
    }
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let script = script(&blocks, &server.address.to_string());
    let (code, stdout, stderr) = {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || run_script(&dir, &script))
            .await
            .unwrap()
    };
    // The last block announced on stderr is the one that failed.
    let failed_at = stderr
        .lines()
        .rfind(|line| line.starts_with("@@block"))
        .unwrap_or("before the first block");
    assert!(
        code == Some(0) && stdout.trim_end().ends_with("@@end@@"),
        "the README's examples stopped at {failed_at} (exit {code:?})\n\
         --- stderr ---\n{stderr}\n--- stdout ---\n{stdout}"
    );

    let mut printed = stdout.split("@@block ").skip(1);
    for (n, block) in blocks.iter().enumerate() {
        let section = printed.next().expect("a section per block");
        let output = section
            .strip_prefix(&format!("{n}@@\n"))
            .expect("the block's marker");
        let output = output.trim_end().trim_end_matches("@@end@@");
        if let Some(expected) = &block.expected {
            assert_eq!(
                normalized(output),
                normalized(expected),
                "README.md line {}: the block printed something else than the README shows",
                block.line
            );
        }
    }
}

#[test]
fn registry_numbers_and_trailing_spaces_do_not_count() {
    assert_eq!(
        normalized("T3WJ6Y1KDM0C   WOULD   \nTX, T3WJ6Y1KDM0CX\n\n"),
        "T<teacherid>   WOULD\nTX, T3WJ6Y1KDM0CX"
    );
    let (blocks, not_run) = blocks("```sh\na\n```\n\n```output\nb\n```\n```sh not-run\nc\n```\n");
    assert_eq!((blocks.len(), not_run), (1, 1));
    assert_eq!(blocks[0].expected.as_deref(), Some("b\n"));
}
