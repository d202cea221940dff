//! Issue 18, defect 11: the newcomer's path. A fresh clone had no install step, linked to a
//! domain document outside the repository, and carried no licence files, no sample auth
//! file, no systemd unit and no container file.
//!
//! What can be run is run: the sample auth file is served by the real binary and its
//! example tokens are checked over a socket, role by role; the flags the systemd unit and
//! the Containerfile pass to `serve` are checked against the binary's own `serve --help`
//! (so they stay true as the command line changes), and the unit against
//! `systemd-analyze verify` where it is installed. The rest is the repository's own text:
//! links that stay inside it, and licence files that match Cargo.toml.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_teacher-registry");

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A client command of the real binary, with `token` as TEACHER_REGISTRY_TOKEN.
fn client(args: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TEACHER_REGISTRY_TOKEN");
    if let Some(token) = token {
        command.env("TEACHER_REGISTRY_TOKEN", token);
    }
    command.output().expect("run the binary")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_sample_auth_file_is_served_and_its_example_tokens_have_their_roles() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("server.log");
    let mut server = Server(
        Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--auth-file", "examples/auth.toml", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!(
                "the server refused examples/auth.toml ({status}): {}",
                read(log.to_str().unwrap())
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://127.0.0.1:{port}");
    let stats = |county: &str, token: Option<&str>| {
        let output = client(&["stats", "--server", &url, "--county", county], token);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // Each token the file's comments name is the one its hash stands for.
    let file = read("examples/auth.toml");
    for token in [
        "example-admin-token-NOT-SECRET",
        "example-hr-token-NOT-SECRET",
        "example-county-token-NOT-SECRET",
        "example-reader-token-NOT-SECRET",
    ] {
        assert!(file.contains(&format!("# token: {token}")), "{token}");
        let (code, stderr) = stats("350702", Some(token));
        assert_eq!(code, Some(0), "{token}: {stderr}");
    }
    // The county principal's scope is its county; the importer may not read; no token,
    // no entry. (Matched loosely: how a status is spelt for people may change.)
    let refused = |(code, stderr): (Option<i32>, String), word: &str| {
        assert!(
            code == Some(1) && stderr.to_lowercase().contains(word),
            "expected a refusal naming {word:?}: {stderr}"
        );
    };
    refused(
        stats("350721", Some("example-county-token-NOT-SECRET")),
        "permission",
    );
    refused(
        stats("350702", Some("example-importer-token-NOT-SECRET")),
        "permission",
    );
    refused(stats("350702", None), "token");
    // The file says plainly that its tokens are examples.
    assert!(file.contains("EXAMPLE ONLY") && file.contains("never serve a registry with it"));
}

/// The `--flags` in `text` (a unit's ExecStart, a Containerfile's CMD).
fn flags(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '[' || c == ']')
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.split('=').next().unwrap().to_string())
        .collect()
}

#[test]
fn the_systemd_unit_and_the_containerfile_serve_with_flags_the_binary_knows() {
    let help = client(&["serve", "--help"], None);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let unit = read("contrib/teacher-registry.service");
    let exec_start: String = unit
        .split("ExecStart=")
        .nth(1)
        .expect("ExecStart")
        .split("\n# ")
        .next()
        .unwrap()
        .to_string();
    let containerfile = read("Containerfile");
    let cmd = containerfile
        .lines()
        .find(|line| line.starts_with("CMD "))
        .expect("CMD");
    assert!(exec_start.contains(" serve ") && cmd.contains("\"serve\""));
    for flag in flags(&exec_start).iter().chain(&flags(cmd)) {
        assert!(help.contains(flag.as_str()), "serve has no {flag}: {help}");
    }

    for hardening in [
        "DynamicUser=yes",
        "StateDirectory=teacher-registry",
        "StateDirectoryMode=0700",
        "UMask=0077",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "--data-dir %S/teacher-registry",
    ] {
        assert!(unit.contains(hardening), "the unit lacks {hardening}");
    }
    for line in [
        "RUN cargo build --locked --release",
        "USER registry",
        "VOLUME /var/lib/teacher-registry",
        "TEACHER_REGISTRY_DATA_DIR=/var/lib/teacher-registry",
    ] {
        assert!(
            containerfile.contains(line),
            "the Containerfile lacks {line}"
        );
    }
    assert_eq!(
        containerfile.matches("\nFROM ").count(),
        2,
        "a build stage and a run stage"
    );

    // systemd's own reading of the unit, with the binary where ExecStart looks for it.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("teacher-registry.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/teacher-registry", BIN)).unwrap();
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
    {
        Ok(output) => assert!(
            output.status.success() && output.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => eprintln!("systemd-analyze is not installed: the unit was not verified"),
    }
}

#[test]
fn the_docs_stay_inside_the_repository_and_the_licences_match_cargo_toml() {
    for doc in ["README.md", "docs/DOMAIN.md", "examples/python/README.md"] {
        let text = read(doc);
        assert!(!text.contains("shared/DOMAIN.md"), "{doc}");
        let base = Path::new(doc).parent().unwrap();
        // Every relative link `](target)` names a file of the repository.
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            let path = base.join(target);
            assert!(
                path.exists(),
                "{doc} links to {target}, not in the repository"
            );
            let inside = std::fs::canonicalize(&path)
                .unwrap()
                .starts_with(std::fs::canonicalize(".").unwrap());
            assert!(inside, "{doc} links outside the repository: {target}");
        }
    }
    let readme = read("README.md");
    assert!(readme.contains("cargo install --path . --locked"));
    assert!(readme.contains("[docs/DOMAIN.md](docs/DOMAIN.md)"));

    let manifest = read("Cargo.toml");
    let license = manifest
        .lines()
        .find_map(|line| line.strip_prefix("license = "))
        .expect("a license field")
        .trim_matches('"');
    assert_eq!(
        license, "MIT OR Apache-2.0",
        "update the files with the field"
    );
    assert!(read("LICENSE-MIT").starts_with("MIT License"));
    assert!(read("LICENSE-APACHE").contains("Apache License\n                        Version 2.0"));
}

/// The README's first lines give the whole suite's command, and CI runs exactly that.
#[test]
fn ci_runs_the_test_command_the_readme_gives() {
    let readme = read("README.md");
    let readme_command = readme
        .lines()
        .take(8)
        .find(|line| line.starts_with("cargo test"))
        .and_then(|line| line.split('#').next())
        .map(str::trim)
        .expect("a cargo test command in the README's first lines");
    let ci = read(".ci/run");
    let ci_commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("cargo test"))
        .collect();
    assert_eq!(ci_commands, [readme_command]);
    // Then the same tests once more on PostgreSQL, as the README's PostgreSQL section says,
    // with the same options.
    let options = readme_command
        .split(" -- ")
        .nth(1)
        .expect("the harness's options");
    let on_postgres = ci
        .lines()
        .find(|line| line.starts_with("TEACHER_REGISTRY_TEST_POSTGRES=1 cargo test --locked"))
        .expect("CI runs the service tests on PostgreSQL too");
    assert!(
        on_postgres.ends_with(&format!(" -- {options}")),
        "{on_postgres}"
    );
    assert!(readme.contains("TEACHER_REGISTRY_TEST_POSTGRES=1"));
}

/// A newcomer finds every module in lib.rs's map and every module and command in the
/// README's layout table: a module or command added without a line there fails here.
#[test]
fn the_layout_names_every_module_and_command() {
    let lib = read("src/lib.rs");
    for module in lib.lines().filter_map(|l| l.strip_prefix("pub mod")) {
        let module = module.trim().trim_end_matches(';');
        assert!(
            lib.contains(&format!("[`{module}`]")),
            "lib.rs's module map does not name `{module}`"
        );
    }
    let readme = read("README.md");
    let layout = readme
        .split("## Code layout")
        .nth(1)
        .expect("the README's code layout section");
    let layout = layout.split("\n## ").next().unwrap();
    for entry in std::fs::read_dir("src").unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let path = if entry.file_type().unwrap().is_dir() {
            format!("`src/{name}/`")
        } else {
            format!("`src/{name}`")
        };
        assert!(layout.contains(&path), "the README's layout has no {path}");
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let commands = help
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("Options:").next())
        .expect("the commands in --help");
    for command in commands.lines().filter_map(|l| l.split_whitespace().next()) {
        if command != "help" {
            assert!(
                layout.contains(&format!("`{command}")),
                "the README's layout does not name the command `{command}`"
            );
        }
    }
}
