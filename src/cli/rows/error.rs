//! Why a file's rows cannot be read at all (as against a bad row, which is a row's answer).

use std::path::{Path, PathBuf};

use super::header::HeaderProblem;

/// Why a file's rows cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error(
        "{} is not a supported file: expected .csv, .xlsx, .jsonl or .ndjson",
        .path.display()
    )]
    Unsupported { path: PathBuf },
    #[error("cannot read {}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The header row: a required field without a column, or a field with two.
    #[error("{} {problem}", .path.display())]
    Header {
        path: PathBuf,
        problem: HeaderProblem,
    },
}

/// [`RowsError::Unreadable`] for `path`, as a `map_err` argument.
pub(super) fn unreadable<E>(path: &Path) -> impl FnOnce(E) -> RowsError + '_
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    move |error| RowsError::Unreadable {
        path: path.to_path_buf(),
        source: error.into(),
    }
}

/// [`RowsError::Header`] for `path`, as a `map_err` argument.
pub(super) fn bad_header(path: &Path) -> impl FnOnce(HeaderProblem) -> RowsError + '_ {
    move |problem| RowsError::Header {
        path: path.to_path_buf(),
        problem,
    }
}
