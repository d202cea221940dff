//! The files of a backup: written line by line and hashed as they go, readable by their
//! owner only.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{ensure, Context};
use sha2::{Digest, Sha256};

use crate::private_files::create_private_file;

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
