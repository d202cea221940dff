//! Finding 11: files. The data directory, backups, exports and mirrors were world-readable
//! and held full identity numbers; `tests/private_files.rs` checks each one's mode under
//! umask 022 (`every_file_with_identity_numbers_is_owner_only`). And a refused backup
//! left an empty directory behind, tried here: nothing is created until the server has
//! accepted the backup.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use teacher_registry::server::ServerOptions;

use super::harness::{secured, A};
use crate::cli_support::{free_port, run_with, Run};
use crate::common::teacher;

/// `backup DIR` run by the binary against `url` with `token`.
async fn backup(dir: &Path, url: &str, token: &str) -> Run {
    let dir = dir.display().to_string();
    run_with(
        &["backup", &dir, "--server", url],
        &[("TEACHER_REGISTRY_TOKEN", token)],
    )
    .await
}

#[tokio::test]
async fn a_refused_backup_leaves_no_directory_behind() {
    let temp = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(temp.path(), ServerOptions::default()).await;
    let mut admin = super::harness::as_token(&server, &tokens.admin).await;
    super::harness::create_as(&mut admin, teacher(1, A)).await;
    let url = format!("http://{}", server.address);

    // A principal that may not take backups, into a directory (and its parent) that do
    // not exist yet: PERMISSION_DENIED, and neither is made.
    let nested = temp.path().join("backups").join("tonight");
    let refused = backup(&nested, &url, &tokens.county_a).await;
    assert_ne!(refused.code, Some(0), "{refused:#?}");
    assert!(refused.stderr.contains("refused"), "{refused:#?}");
    assert!(!temp.path().join("backups").exists(), "{refused:#?}");

    // A token the server does not know, and a server that is not there.
    let unknown = backup(&nested, &url, "trg_not-a-token").await;
    assert_ne!(unknown.code, Some(0), "{unknown:#?}");
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let unreachable = backup(&nested, &nobody, &tokens.admin).await;
    assert_ne!(unreachable.code, Some(0), "{unreachable:#?}");
    assert!(!temp.path().join("backups").exists(), "{unreachable:#?}");

    // A directory the operator made beforehand stays as it was: there, and empty.
    let made = temp.path().join("made-by-hand");
    std::fs::create_dir(&made).unwrap();
    let refused = backup(&made, &url, &tokens.reader).await;
    assert_ne!(refused.code, Some(0), "{refused:#?}");
    assert_eq!(std::fs::read_dir(&made).unwrap().count(), 0);

    // The admin's backup goes where the refused ones did not, owner-only.
    backup(&nested, &url, &tokens.admin).await.ok();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&nested), 0o700);
    assert!(nested.join("manifest.json").exists());
    for file in std::fs::read_dir(&nested).unwrap() {
        assert_eq!(mode(&file.unwrap().path()), 0o600);
    }
}
