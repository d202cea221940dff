//! The files of a backup: written line by line and hashed as they go, readable by their
//! owner only; its directory, made only once the server has accepted the backup, and
//! taken away again when the backup does not finish.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context};
use sha2::{Digest, Sha256};

use crate::cli::CommandError;
use crate::private_files::{create_private_dir, create_private_file};

/// A file written line by line, hashed as it goes, synced when finished.
pub(super) struct HashingWriter {
    out: BufWriter<std::fs::File>,
    hash: Sha256,
    lines: u64,
}

impl HashingWriter {
    pub(super) fn create(path: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            out: BufWriter::new(create(path)?),
            hash: Sha256::new(),
            lines: 0,
        })
    }

    pub(super) fn line(&mut self, line: &str) -> anyhow::Result<()> {
        ensure!(!line.contains('\n'), "a backup entry spans lines");
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.hash.update(line.as_bytes());
        self.hash.update(b"\n");
        self.lines += 1;
        Ok(())
    }

    /// Lines written, and the SHA-256 of the file in hex.
    pub(super) fn finish(self) -> anyhow::Result<(u64, String)> {
        let file = self
            .out
            .into_inner()
            .context("cannot finish a backup file")?;
        file.sync_all()?;
        Ok((self.lines, hex::encode(self.hash.finalize())))
    }
}

pub(super) fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut hash = Sha256::new();
    std::io::copy(&mut open(path)?, &mut hash)?;
    Ok(hex::encode(hash.finalize()))
}

/// A new file of the backup, readable by its owner only.
pub(super) fn create(path: &Path) -> anyhow::Result<std::fs::File> {
    create_private_file(path).with_context(|| format!("cannot write {}", path.display()))
}

pub(super) fn open(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Creates `dir` if needed, its owner's alone; refuses one that holds anything.
pub(super) fn prepare_empty_dir(dir: &Path) -> anyhow::Result<()> {
    create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    refuse_non_empty_dir(dir)
}

/// Refuses a `dir` that holds anything; one that does not exist yet is fine.
pub(super) fn refuse_non_empty_dir(dir: &Path) -> anyhow::Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        entries => entries.with_context(|| format!("cannot read {}", dir.display()))?,
    };
    if entries.next().is_some() {
        let refused = format!("{} is not empty: choose a new directory", dir.display());
        return Err(CommandError::Refused(refused).into());
    }
    Ok(())
}

/// The outermost of `dir` and its parents that does not exist: what creating `dir` makes.
pub(super) fn first_missing(dir: &Path) -> Option<PathBuf> {
    let mut missing = None;
    for path in dir.ancestors().filter(|path| !path.as_os_str().is_empty()) {
        if path.exists() {
            break;
        }
        missing = Some(path.to_path_buf());
    }
    missing
}

/// Takes away what an unfinished backup wrote into `dir`: the directories it made
/// (`made`, from [`first_missing`]) whole, or else its files, `names` (the
/// directory was empty when it began). Best effort: the backup's own error is the one
/// reported.
pub(super) fn remove_unfinished(dir: &Path, made: Option<&Path>, names: &[&str]) {
    if let Some(made) = made {
        let _ = std::fs::remove_dir_all(made);
        return;
    }
    for name in names {
        let _ = std::fs::remove_file(dir.join(name));
    }
}
