//! The rejects file: every rejected row, in file order, ready to be corrected and
//! imported again.
//!
//! Each line holds `line,code,reason` (where the row is in the imported file, and why it
//! was rejected), then the row's own cells under the imported file's own column names,
//! so staff can fix the cells in the rejects file itself and import it as it is: the
//! reader ignores the three columns in front. It is CSV in UTF-8 with a byte-order mark
//! and CRLF line endings, as Excel reads and writes it, and readable by its owner only,
//! since rows hold identity numbers. Without a rejects file, the rejections go to stderr.

use std::fs::File;
use std::path::Path;

use anyhow::Context;

use crate::cli::rows::ANNOTATIONS;
use crate::private_files::create_private_file;

/// A row as the file has it: where it is, and its cells as written.
#[derive(Debug)]
pub(super) struct FileRow {
    pub(super) line: u64,
    pub(super) cells: Vec<String>,
}

/// Where rejected rows go.
pub(super) enum Rejects {
    File(Box<csv::Writer<File>>),
    Stderr,
}

impl Rejects {
    /// A rejects file at `path` (replacing one there) with `columns`, the imported file's
    /// column names, after `line,code,reason`; stderr without a path.
    pub(super) fn create(path: Option<&Path>, columns: &[String]) -> anyhow::Result<Rejects> {
        let Some(path) = path else {
            return Ok(Rejects::Stderr);
        };
        let create = || -> anyhow::Result<csv::Writer<File>> {
            let mut file = create_private_file(path)?;
            std::io::Write::write_all(&mut file, b"\xEF\xBB\xBF")?;
            let mut writer = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .flexible(true)
                .from_writer(file);
            let annotations = ANNOTATIONS.iter().map(|a| a.to_string());
            writer.write_record(annotations.chain(columns.iter().cloned()))?;
            Ok(writer)
        };
        let writer = create().with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Rejects::File(Box::new(writer)))
    }

    pub(super) fn write(&mut self, row: &FileRow, code: &str, reason: &str) -> anyhow::Result<()> {
        match self {
            Rejects::File(writer) => {
                let line = row.line.to_string();
                let annotations = [line.as_str(), code, reason];
                let cells = row.cells.iter().map(String::as_str);
                Ok(writer.write_record(annotations.into_iter().chain(cells))?)
            }
            Rejects::Stderr => {
                eprintln!("line {}: {code}: {reason}", row.line);
                Ok(())
            }
        }
    }

    pub(super) fn finish(&mut self) -> anyhow::Result<()> {
        if let Rejects::File(writer) = self {
            writer.flush()?;
        }
        Ok(())
    }
}
