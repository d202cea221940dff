//! `verify`, `compact` and `migrate`, and the report `restore` ends with: commands an operator runs
//! on a data directory with the server stopped. They print what was found or done and
//! nothing else (the store's own log lines are for `serve`; `main` keeps them at WARN for
//! these commands unless `RUST_LOG` asks for more).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::{count, CommandError};
use crate::store::{Location, Store, StoreOptions, VerifyReport};

/// Checks the registry in `data_dir` and prints the report; an error if it found problems
/// or the directory is not there (`verify` never creates one).
pub fn run_verify(data_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    if !data_dir.exists() {
        // The system's own words ("No such file or directory"), not Rust's kind name.
        let missing = std::fs::metadata(data_dir)
            .err()
            .unwrap_or_else(|| std::io::ErrorKind::NotFound.into());
        return Err(missing).context(format!("{} does not exist", data_dir.display()));
    }
    let store = Store::open(data_dir, &StoreOptions::default()).with_context(|| {
        format!(
            "cannot open the registry in {} (is a server running on it?)",
            data_dir.display()
        )
    })?;
    print_report(&store.verify()?, out)
}

/// Rewrites the registry in `data_dir` in key order and says how much smaller it is.
pub fn run_compact(data_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let compacted = crate::store::compact(data_dir).with_context(|| {
        format!(
            "cannot compact the registry in {} (is a server running on it?)",
            data_dir.display()
        )
    })?;
    writeln!(
        out,
        "compacted {}: {}, {:.1} MB before, {:.1} MB after",
        data_dir.display(),
        count(compacted.pairs, "key", "keys"),
        compacted.bytes_before as f64 / 1e6,
        compacted.bytes_after as f64 / 1e6
    )?;
    Ok(())
}

/// Checks the registry in the PostgreSQL database `url` names, holding every server's
/// writes off meanwhile.
pub fn run_verify_database(url: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let location = Location::Postgres(url.to_string());
    let report = crate::store::verify_at(&location, &StoreOptions::default())
        .with_context(|| format!("cannot check the registry in {location}"))?;
    print_report(&report, out)
}

/// Moves the registry at `from` into the empty `to` (a data directory or a `postgres://`
/// URL each), checks that both hold the same pairs, and prints the copy's verify report.
pub fn run_migrate(from: &str, to: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let (from, to) = (Location::parse(from), Location::parse(to));
    if from == to {
        return Err(CommandError::Refused(format!(
            "{from} is both the source and the destination"
        ))
        .into());
    }
    let migrated = crate::store::migrate(&from, &to, &StoreOptions::default())
        .with_context(|| format!("cannot move the registry from {from} to {to}"))?;
    writeln!(
        out,
        "moved {} ({:.1} MB) from {from} to {to}; the copy holds the same pairs",
        count(migrated.pairs, "key", "keys"),
        migrated.bytes as f64 / 1e6
    )?;
    print_report(&migrated.report, out)
}

/// Prints a verify report; an error if it found problems.
pub fn print_report(report: &VerifyReport, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}, {}, {}, {}, {} (revisions {}..={}), {}",
        count(report.records, "record", "records"),
        count(report.cases, "case", "cases"),
        count(report.index_entries, "index entry", "index entries"),
        count(report.counters, "counter", "counters"),
        count(report.changes, "change", "changes"),
        report.oldest_revision,
        report.revision,
        count(report.request_ids, "request id", "request ids")
    )?;
    writeln!(
        out,
        "{}; {} back to their creation",
        count(
            report.revision_entries,
            "revision entry",
            "revision entries"
        ),
        count(report.complete_histories, "history", "histories")
    )?;
    for problem in &report.problems {
        writeln!(out, "PROBLEM: {problem}")?;
    }
    if report.is_consistent() {
        writeln!(out, "consistent")?;
        Ok(())
    } else {
        let found = count(report.problem_count, "problem was", "problems were");
        Err(CommandError::Refused(format!("{found} found")).into())
    }
}
