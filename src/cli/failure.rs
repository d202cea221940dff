//! How a command that could not do its work ends: one message for the person, and an
//! exit code for the script that ran it.
//!
//! Rejected rows, a refused request, a wrong argument, a server that cannot be reached and
//! a missing file are everyday outcomes, not bugs: they are reported as the message and its
//! causes, never with a backtrace (that is left to panics, which are bugs). The exit code
//! tells a script what to do next: fix the input (1), fix the command line (2), or try
//! again later or check the files (3). The README lists them.

use super::describe;
use super::rows::RowsError;

/// What kind of failure ended a command; its exit code is [`Failure::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The work was refused: rows rejected, the registry refused a request, a file the
    /// command will not read or overwrite, a registry that failed `verify`.
    Refused,
    /// The command line asks for something the command cannot do (clap's own usage
    /// errors exit with the same code).
    Usage,
    /// The registry could not be reached or stopped answering, or a local file or
    /// directory could not be read or written.
    Unreachable,
}

impl Failure {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Failure::Refused => 1,
            Failure::Usage => 2,
            Failure::Unreachable => 3,
        }
    }

    /// The kind of `error`: that of the outermost cause whose kind is known; a failure of
    /// unknown kind counts as refused.
    pub fn of(error: &anyhow::Error) -> Failure {
        error.chain().find_map(kind_of).unwrap_or(Failure::Refused)
    }
}

/// The outcomes the commands name themselves.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The registry answered a request with an error status.
    #[error("{}", describe(.0))]
    Status(tonic::Status),
    /// Rows of an import were rejected (the rejects file or stderr says which and why).
    #[error("{} rejected", super::count(*.rows, "row was", "rows were"))]
    Rejected { rows: u64 },
    /// The arguments ask for something the command cannot do.
    #[error("{0}")]
    Usage(String),
    /// The command will not do what was asked, to protect data or a registry.
    #[error("{0}")]
    Refused(String),
}

/// The kind of one cause in an error's chain, if it is one whose kind is known.
fn kind_of(cause: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    if let Some(error) = cause.downcast_ref::<CommandError>() {
        return Some(match error {
            CommandError::Status(status) if is_unreachable(status.code()) => Failure::Unreachable,
            CommandError::Status(_) | CommandError::Rejected { .. } => Failure::Refused,
            CommandError::Usage(_) => Failure::Usage,
            CommandError::Refused(_) => Failure::Refused,
        });
    }
    if let Some(error) = cause.downcast_ref::<RowsError>() {
        return match error {
            RowsError::Unsupported { .. } => Some(Failure::Usage),
            RowsError::Header { .. } => Some(Failure::Refused),
            // Its cause tells: an I/O error, or a file that is not what it says it is.
            RowsError::Unreadable { .. } => None,
        };
    }
    if cause.is::<std::io::Error>() || cause.is::<tonic::transport::Error>() {
        return Some(Failure::Unreachable);
    }
    if let Some(status) = cause.downcast_ref::<tonic::Status>() {
        return Some(match is_unreachable(status.code()) {
            true => Failure::Unreachable,
            false => Failure::Refused,
        });
    }
    None
}

/// Codes that say the registry was not there to answer, rather than that it refused.
fn is_unreachable(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
    )
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn the_outermost_known_cause_decides() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(io).context("cannot read teachers.csv");
        assert_eq!(Failure::of(&error), Failure::Unreachable);

        let refused = CommandError::Status(tonic::Status::permission_denied("not yours"));
        let error = anyhow::Error::new(refused).context("the backup was refused");
        assert_eq!(Failure::of(&error), Failure::Refused);

        let gone = CommandError::Status(tonic::Status::unavailable("connection reset"));
        assert_eq!(Failure::of(&gone.into()), Failure::Unreachable);

        let usage = CommandError::Usage("x is not a server address".into());
        assert_eq!(Failure::of(&usage.into()), Failure::Usage);

        assert_eq!(Failure::of(&anyhow::anyhow!("odd")), Failure::Refused);
        let codes = [Failure::Refused, Failure::Usage, Failure::Unreachable].map(Failure::code);
        assert_eq!(codes, [1, 2, 3]);
    }

    #[test]
    fn one_row_is_one_row() {
        let one = CommandError::Rejected { rows: 1 }.to_string();
        assert_eq!(one, "1 row was rejected");
        let two = CommandError::Rejected { rows: 2 }.to_string();
        assert_eq!(two, "2 rows were rejected");
        // Context over a cause keeps the cause's kind.
        let error: anyhow::Result<()> = Err(CommandError::Rejected { rows: 2 }.into());
        let error = error.context("import").unwrap_err();
        assert_eq!(Failure::of(&error), Failure::Refused);
    }
}
