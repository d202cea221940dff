//! Files that hold identity numbers are their owner's alone: the server's data directory,
//! backups (the directory and its files), exports, sync mirrors and rejects files, made by
//! the real binary against a real server. The binary runs under umask 022, with which
//! files would otherwise be created 0644 and directories 0755. With the suite on
//! PostgreSQL the server keeps no data directory, and the rest is checked the same.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs the binary under umask 022; panics unless it succeeds, or fails when `may_fail`.
async fn run(args: Vec<String>, may_fail: bool) {
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg("umask 022 && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_teacher-registry"))
            .args(&args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            may_fail || output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_with_identity_numbers_is_owner_only() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("registry-data");
    let mut server = start_server_in(&data).await;
    // On PostgreSQL the registry is the database's; every file below is the binary's own.
    if on_sled("the data directory's file modes") {
        assert_eq!(mode(&data), 0o700, "the data directory");
    }
    for n in 0..5 {
        create(&mut server.client, teacher(n, "350702")).await;
    }
    let url = format!("http://{}", server.address);
    let path = |name: &str| temp.path().join(name).display().to_string();

    run(args(&["backup", &path("backup"), "--server", &url]), false).await;
    assert_eq!(
        mode(&temp.path().join("backup")),
        0o700,
        "the backup directory"
    );
    for file in std::fs::read_dir(temp.path().join("backup")).unwrap() {
        let file = file.unwrap().path();
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    run(
        args(&["export", &path("all.jsonl"), "--server", &url]),
        false,
    )
    .await;
    assert_eq!(mode(&temp.path().join("all.jsonl")), 0o600, "the export");

    let mirror = path("mirror.jsonl");
    let sync = ["sync", "--server", &url, "--county", "350702", "--mirror"];
    run(args(&[&sync[..], &[&mirror]].concat()), false).await;
    assert_eq!(mode(&temp.path().join("mirror.jsonl")), 0o600, "the mirror");
    let revision = temp.path().join("mirror.jsonl.revision");
    assert_eq!(mode(&revision), 0o600, "the mirror's revision");

    let bad_row = "姓名,身份证号,性别,出生日期,所在县区代码,任职状态\n王芳,11010519491231002X,未知,1949-12-31,350702,退休\n";
    std::fs::write(temp.path().join("in.csv"), bad_row).unwrap();
    let import = ["import", &path("in.csv"), "--server", &url, "--rejects"];
    run(args(&[&import[..], &[&path("rejects.csv")]].concat()), true).await;
    assert_eq!(mode(&temp.path().join("rejects.csv")), 0o600, "the rejects");

    let restore = ["restore", &path("backup"), "--data-dir", &path("restored")];
    run(args(&restore), false).await;
    assert_eq!(
        mode(&temp.path().join("restored")),
        0o700,
        "a restored registry"
    );
}
