//! Files and directories that hold identity numbers, readable by their owner only.
//!
//! Backups, exports, sync mirrors, rejects files and the server's data directory carry
//! full identity numbers. Created with the process's umask they would usually be 0644 and
//! 0755: any account on the machine could read them. Every such file is therefore created
//! 0600 and every such directory 0700 (on Unix; elsewhere the platform's defaults apply),
//! through these functions alone, so that no command can forget it. The credential signing
//! key is created here too.
//!
//! A directory that already exists loses its group and other permissions, where its owner
//! is this process's user: it is about to hold such files (a backup directory made with
//! `mkdir`, a data directory of an earlier release). Bits are only ever taken away, never
//! added: a read-only directory stays read-only.

use std::fs::File;
use std::io;
use std::path::Path;

/// Permissions for a private file: read and write for the owner.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;
/// Permissions for a private directory: everything for the owner.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Creates (or truncates) `path` for writing, readable by its owner only. A file that
/// existed is made private too before anything is written to it.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(path)?;
    // The mode given to `open` applies only to a new file; an old one keeps its own.
    #[cfg(unix)]
    narrow(&file.metadata()?, FILE_MODE, |mode| {
        file.set_permissions(mode)
    })?;
    Ok(file)
}

/// Creates `path` for writing, readable by its owner only, and fails with
/// `AlreadyExists` if there is a file there: for a secret that must not replace another
/// (a credential signing key: replacing it would make every credential signed with it
/// unverifiable).
pub fn create_new_private_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

/// Creates `path` and any missing parents, readable by their owner only; an existing
/// `path` loses its group and other permissions where this user may change them.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path)?;
    #[cfg(unix)]
    narrow(&std::fs::metadata(path)?, DIR_MODE, |mode| {
        match std::fs::set_permissions(path, mode) {
            // Someone else's directory (a mount point, say): its owner decides.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
            result => result,
        }
    })?;
    Ok(())
}

/// Takes away the permission bits outside `allowed`, if any are set; never adds one.
#[cfg(unix)]
fn narrow(
    metadata: &std::fs::Metadata,
    allowed: u32,
    set: impl FnOnce(std::fs::Permissions) -> io::Result<()>,
) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    match mode & allowed {
        narrowed if narrowed == mode => Ok(()),
        narrowed => set(std::fs::Permissions::from_mode(narrowed)),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_and_existing_files_become_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.csv");
        create_private_file(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);

        let old = dir.path().join("old.csv");
        std::fs::write(&old, "identity numbers").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        create_private_file(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).unwrap(), b"", "truncated");
    }

    #[test]
    fn new_files_are_owner_only_and_never_replace_another() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        create_new_private_file(&key).unwrap();
        assert_eq!(mode(&key), 0o600);
        std::fs::write(&key, "secret").unwrap();
        let error = create_new_private_file(&key).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"secret", "left alone");
    }

    #[test]
    fn directories_are_created_or_narrowed_never_widened() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);

        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);

        let read_only = dir.path().join("read-only");
        std::fs::create_dir(&read_only).unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        create_private_dir(&read_only).unwrap();
        assert_eq!(mode(&read_only), 0o500);
    }
}
