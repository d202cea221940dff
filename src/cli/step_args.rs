//! The options every step of a case or of a title application takes (clap): one
//! definition, so `case accept` and `round object` spell `--on`, `--note`, `--etag` and
//! `--request-id` alike.

use clap::Args;

/// What every step takes besides the record it is taken on and its own fields.
#[derive(Debug, Clone, Args)]
pub struct StepOptions {
    /// The date the step counts for, a working date for a case's (default today; never in
    /// the future).
    #[arg(long = "on", value_name = "DATE")]
    pub step_date: Option<String>,
    /// A note kept with the step.
    #[arg(long)]
    pub note: Option<String>,
    /// Only if the case or application still has this etag (as `case show` prints a
    /// case's).
    #[arg(long)]
    pub etag: Option<String>,
    /// An idempotency key: a retry with it gets the first answer.
    #[arg(long)]
    pub request_id: Option<String>,
}
