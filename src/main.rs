//! The `teacher-registry` command: wiring only.
//!
//! A command that fails prints `teacher-registry: <message>` and its causes, one a line,
//! and exits with the code of its kind of failure (`cli::Failure`: 1 refused, 2 usage,
//! 3 unreachable or I/O); only a panic, a bug, prints a backtrace.

#[path = "main/serve.rs"]
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use teacher_registry::auth::Role;
use teacher_registry::cli::{
    count, describe_backup, generate, print_audit, print_report, print_statistics, run_backup,
    run_case, run_compact, run_correction, run_credential, run_credential_key, run_duplicates,
    run_export, run_find_duplicates, run_history, run_import, run_migrate, run_restore_at,
    run_round, run_search, run_show, run_sync, run_token, run_transfer, run_transition, run_verify,
    run_verify_credential, run_verify_database, tls_init, write_template, AuditArgs, CaseCommand,
    CommandError, CorrectionCommand, CountyNames, CredentialCommand, CredentialKeyArgs,
    DuplicatesCommand, ExportFormat, Failure, ImportArgs, RoundCommand, SearchArgs, SyncArgs,
    TokenAction, TransferCommand, TransitionArgs, VerifyCredentialArgs, DEFAULT_SERVER,
    DEFAULT_TLS_HOSTS,
};
use teacher_registry::store::Location;
use tracing_subscriber::EnvFilter;

use crate::serve::{RegistryPlace, ServeArgs};

/// sled copies and frees a node on every update; glibc's allocator spent about a third of
/// the writer's time in a bulk import and contended on its arena locks, so the binary uses
/// mimalloc: 1.35x the import rate (see `benches/README.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (the same in v2 and v3; the crate
/// names its neighbours 14 and 16 but not it). `libmimalloc-sys` is pinned in Cargo.toml:
/// check this number when upgrading it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays with the process before mimalloc returns it to the system:
/// at once, where mimalloc v3's default is 1,000 ms.
///
/// The trade-off, measured here: sled copies and frees a tree node on every update, so with
/// 0 much of what it allocates next comes back as fresh, zeroed pages, and bulk imports are
/// slower. One 1M-row import each (`teacher-registry import`): 0 ms 18.0k rows/s at 769 MB
/// peak, 10 ms 19.4k at 785 MB, 100 ms 20.9k at 795 MB, 1,000 ms 19.7k at 838 MB. Serving
/// reads over 1M teachers at `--cache-mb 160`, 0 ms peaks at 553 MiB and 100 ms at 578 MiB,
/// past the 600 MB the registry is held to. So 0 is the default, and
/// `MIMALLOC_PURGE_DELAY=100` is the setting for a server doing a bulk import (its soak
/// stays flat too: +0.8% in 90 s).
const PURGE_DELAY_MS: std::ffi::c_long = 0;

/// Sets mimalloc's purge delay to [`PURGE_DELAY_MS`]; an operator's own
/// `MIMALLOC_PURGE_DELAY` wins.
fn set_purge_delay() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is a plain store mimalloc allows at any time, and
        // mi_option_set ignores an option number it does not know.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    }
}

#[derive(Parser)]
#[command(
    name = "teacher-registry",
    version,
    about = "The authoritative registry of school teachers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the registry over gRPC from an embedded data directory, or from a PostgreSQL
    /// database that several servers may share (`--postgres`).
    Serve(ServeArgs),
    /// Make a credential signing key: writes FILE (owner-only, never over another file)
    /// and prints its public key for employers.
    CredentialKey(CredentialKeyArgs),
    /// Signed credentials for certificates, for employers to check.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Identity corrections: propose one, show it, approve or reject it (another
    /// principal than its proposer).
    #[command(subcommand)]
    Correction(CorrectionCommand),
    /// Check a credential offline with the registry's public key (no server needed):
    /// prints what it states, or refuses a forged one (exit 1).
    VerifyCredential(VerifyCredentialArgs),
    /// Import teachers from a CSV (UTF-8 or GBK), XLSX or JSON Lines file. Exits with 1
    /// when any row was rejected.
    Import(ImportArgs),
    /// Write every teacher (or one county's) to a JSON Lines file, for other systems, or to
    /// a sheet with the template's columns; `import` reads either back.
    Export {
        /// The file to write (replaced if it exists; readable by you only).
        file: PathBuf,
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
        /// Only this county's teachers (six-digit code); every teacher without it.
        #[arg(long)]
        county: Option<String>,
        /// jsonl: whole records in the proto3 JSON mapping; csv, xlsx: the template's
        /// columns. Default: by the file's extension (.csv, .xlsx), else jsonl.
        #[arg(long, value_parser = ["jsonl", "csv", "xlsx"])]
        format: Option<String>,
    },
    /// Copy a running registry, consistently, into a new directory (admin token).
    Backup {
        /// The backup directory: new or empty.
        dir: PathBuf,
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Rewrite a registry's files in key order, a fraction of their size (server stopped).
    Compact {
        /// The registry's data directory.
        #[arg(long, env = "TEACHER_REGISTRY_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Move a registry between a data directory and PostgreSQL (either way), with no
    /// server writing to it, into an empty destination; then check the copy pair by pair
    /// and verify it. Exits non-zero if anything differs.
    Migrate {
        /// Where the registry is: a data directory, or a postgres:// URL.
        #[arg(long, value_name = "DIR|URL")]
        from: String,
        /// Where to put it: a new or empty data directory, or a postgres:// URL of a
        /// database without a registry.
        #[arg(long, value_name = "DIR|URL")]
        to: String,
    },
    /// Build a new registry from a backup, then verify it.
    Restore {
        /// The backup directory, as `backup` wrote it.
        dir: PathBuf,
        /// Where to build it: a new or empty directory.
        #[arg(long, required_unless_present = "postgres")]
        data_dir: Option<PathBuf>,
        /// Build it in this PostgreSQL database instead (a postgres:// URL), which must
        /// hold no registry.
        #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
        postgres: Option<String>,
    },
    /// Write an empty import template (.csv or .xlsx) with the column headers.
    Template {
        /// The template to write; its format is taken from the extension.
        file: PathBuf,
        /// Replace the file if it exists (it may hold filled-in rows).
        #[arg(long)]
        force: bool,
    },
    /// Print realistic synthetic teachers as CSV, for demos, tests and benchmarks.
    Generate {
        /// How many teachers.
        #[arg(long)]
        count: u64,
        /// The same seed prints the same teachers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Find every pair of records that may be one person (with the server stopped), as
    /// writes find them one at a time; `duplicates list` shows them.
    FindDuplicates {
        #[command(flatten)]
        registry: RegistryPlace,
    },
    /// Duplicate candidates: list them, or mark a pair as two people.
    #[command(subcommand)]
    Duplicates(DuplicatesCommand),
    /// Check a registry's data directory (with the server stopped), or its PostgreSQL
    /// database (servers' writes wait meanwhile): every record, index, counter and the
    /// change log. Exits non-zero on any inconsistency.
    Verify {
        /// The registry's data directory.
        #[arg(
            long,
            default_value = "./registry-data",
            env = "TEACHER_REGISTRY_DATA_DIR"
        )]
        data_dir: PathBuf,
        /// Check this PostgreSQL database instead (a postgres:// URL).
        #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
        postgres: Option<String>,
    },
    /// Add a principal to an auth file and print its new token (shown once, stored only
    /// as a hash); or revoke a principal, or give it a new token. A running server takes
    /// the change when sent SIGHUP (or restarted).
    Token {
        /// The auth file (TOML); created by the first principal added.
        #[arg(long, env = "TEACHER_REGISTRY_AUTH_FILE")]
        auth_file: PathBuf,
        /// The name of the principal to add.
        #[arg(long, required_unless_present_any = ["revoke", "rotate"], requires = "role")]
        principal: Option<String>,
        /// The new principal's role.
        #[arg(long, value_enum, requires = "principal")]
        role: Option<Role>,
        /// The county of a county (or county-scoped importer) principal.
        #[arg(long, requires = "principal", conflicts_with = "city")]
        county: Option<String>,
        /// The city (prefecture-level code, e.g. 350700) of a city principal.
        #[arg(long, requires = "principal")]
        city: Option<String>,
        /// Remove this principal from the file: its token stops working.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["principal", "rotate"])]
        revoke: Option<String>,
        /// Print a new token for this principal: its old token stops working.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["principal", "revoke"])]
        rotate: Option<String>,
    },
    /// Keep a JSON Lines mirror of one county in step with the registry's change feed.
    Sync(SyncArgs),
    /// Move a county's teachers from the legacy titles into the five tiers (2015 reform),
    /// printing what happens to each teacher and a summary.
    Transition(TransitionArgs),
    /// Find teachers by name and print them as a table (within the token's county scope;
    /// identity numbers masked for readers).
    Search(SearchArgs),
    /// Print one teacher's record as a page: fields, certificates with their copies,
    /// registrations and revocation, and the title history.
    Show {
        /// A registry number (T and eleven symbols), a certificate number (17 digits) or an
        /// identity document number; which it is is read from its shape.
        key: String,
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Print a teacher's history, newest first: each change's revision, time, kind and the
    /// fields it changed, old → new; with --revision, the record as it was then.
    History {
        /// The registry number.
        teacher_id: String,
        /// Print the record as it was at this registry revision instead.
        #[arg(long)]
        revision: Option<u64>,
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Write a small CA and a server certificate signed by it, for `serve --tls-cert`:
    /// ca.pem (for clients), ca.key, server.pem and server.key (keys owner-only).
    TlsInit {
        /// The directory to write them into (created if missing).
        dir: PathBuf,
        /// A DNS name or IP address clients reach the server by; repeat for several.
        #[arg(long = "host", value_name = "NAME_OR_IP", default_values = DEFAULT_TLS_HOSTS)]
        hosts: Vec<String>,
        /// Replace the files if they exist (clients trusting the old CA then need the new).
        #[arg(long)]
        force: bool,
    },
    /// Service-window cases: open, accept, refuse, supplement, forward, assign, withdraw,
    /// decide, show, list, and print their notices.
    Case {
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, global = true, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Transfers between counties (调动): propose (your county's teacher), accept or
    /// decline (a transfer into your county), list a county's pending transfers.
    Transfer {
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, global = true, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
        #[command(subcommand)]
        command: TransferCommand,
    },
    /// Title evaluation rounds (职称评审): open, apply, publicity, objections, the
    /// committee's results from a file, confirmation, eligibility, show.
    Round {
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, global = true, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
        #[command(subcommand)]
        command: RoundCommand,
    },
    /// List the read audit (admins only): identity lookups (numbers masked), listings,
    /// backups, duplicates revealed, refusal limits, no-op writes, credentials signed.
    Audit {
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
        /// Only this principal's entries.
        #[arg(long)]
        principal: Option<String>,
        /// Only entries of this kind: identity-lookup, listing, backup, duplicate-revealed,
        /// refusal-limit, no-op-write, credential-issued.
        #[arg(long)]
        kind: Option<String>,
        /// From this day on (YYYY-MM-DD, China Standard Time).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Up to and including this day (YYYY-MM-DD).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
    },
    /// Print teacher counts by county and title tier.
    Stats {
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
        /// Only this county (six-digit code).
        #[arg(long)]
        county: Option<String>,
        /// County names for codes this release does not name: a CSV file of `code,name`
        /// rows (UTF-8 or GBK).
        #[arg(long, value_name = "FILE", env = "TEACHER_REGISTRY_COUNTY_NAMES")]
        county_names: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    set_purge_delay();
    let cli = Cli::parse();
    init_logging(&cli.command);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("teacher-registry: {error}");
            let mut said = error.to_string();
            for cause in error.chain().skip(1).map(|cause| cause.to_string()) {
                // Some libraries repeat their cause's message as their own.
                if cause != said {
                    eprintln!("  caused by: {cause}");
                }
                said = cause;
            }
            ExitCode::from(Failure::of(&error).code())
        }
    }
}

/// Logs go to stderr, coloured only on a terminal (a log file or a pipe gets plain text).
/// `serve` logs at INFO; the one-shot commands only warnings, so a person sees their
/// output and not the store's housekeeping. `RUST_LOG` overrides both.
fn init_logging(command: &Command) {
    let default = match command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn run(command: Command) -> anyhow::Result<()> {
    // Store reads run on the blocking pool (`api::reads`, at most 32 at once). Its threads
    // are kept for minutes instead of tokio's 10 s, so a steady read load does not create
    // and end threads (each with its own allocator heap) over and over.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(Duration::from_secs(300))
        .build()?;
    match command {
        Command::Serve(args) => serve::run(args, &runtime),
        Command::CredentialKey(args) => run_credential_key(&args, &mut std::io::stdout().lock()),
        Command::Credential(command) => {
            runtime.block_on(run_credential(&command, &mut std::io::stdout().lock()))
        }
        Command::Correction(command) => {
            runtime.block_on(run_correction(&command, &mut std::io::stdout().lock()))
        }
        Command::VerifyCredential(args) => {
            run_verify_credential(&args, &mut std::io::stdout().lock())
        }
        Command::Verify { data_dir, postgres } => match postgres {
            Some(url) => run_verify_database(&url, &mut std::io::stdout().lock()),
            None => run_verify(&data_dir, &mut std::io::stdout().lock()),
        },
        Command::FindDuplicates { registry } => {
            let _entered = runtime.enter();
            run_find_duplicates(&registry.location(), &mut std::io::stdout().lock())
        }
        Command::Duplicates(command) => {
            runtime.block_on(run_duplicates(&command, &mut std::io::stdout().lock()))
        }
        Command::Import(args) => {
            let summary = runtime.block_on(run_import(&args, &mut std::io::stdout().lock()))?;
            match summary.rejected {
                0 => Ok(()),
                rows => Err(CommandError::Rejected { rows }.into()),
            }
        }
        Command::Template { file, force } => write_template(&file, force),
        Command::Export {
            file,
            server,
            county,
            format,
        } => {
            let county = county.unwrap_or_default();
            let format = ExportFormat::choose(format.as_deref(), &file)?;
            let (written, revision) =
                runtime.block_on(run_export(&server, &county, &file, format))?;
            println!(
                "{} written to {} (as of revision {revision})",
                count(written, "teacher", "teachers"),
                file.display()
            );
            Ok(())
        }
        Command::Backup { dir, server } => {
            let manifest = runtime.block_on(run_backup(&server, &dir))?;
            println!("backed up {}", describe_backup(&dir, &manifest));
            Ok(())
        }
        Command::Compact { data_dir } => run_compact(&data_dir, &mut std::io::stdout().lock()),
        Command::Migrate { from, to } => run_migrate(&from, &to, &mut std::io::stdout().lock()),
        Command::Restore {
            dir,
            data_dir,
            postgres,
        } => {
            let to = match (postgres, data_dir) {
                (Some(url), _) => Location::Postgres(url),
                (None, Some(data_dir)) => Location::Directory(data_dir),
                (None, None) => anyhow::bail!("restore needs --data-dir or --postgres"),
            };
            let restored = runtime.block_on(run_restore_at(&dir, &to))?;
            let size = match &restored.compacted {
                Some(compacted) => {
                    format!(" ({:.1} MB, compacted)", compacted.bytes_after as f64 / 1e6)
                }
                None => String::new(),
            };
            println!(
                "restored {} into {to}{size}",
                describe_backup(&dir, &restored.manifest),
            );
            print_report(&restored.report, &mut std::io::stdout().lock())
        }
        Command::Generate { count, seed } => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            generate(count, seed, &mut out)?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        Command::Token {
            auth_file,
            principal,
            role,
            county,
            city,
            revoke,
            rotate,
        } => {
            let county = county.or(city);
            let action = match (revoke, rotate, principal, role) {
                (Some(name), _, _, _) => TokenAction::Revoke(name),
                (_, Some(name), _, _) => TokenAction::Rotate(name),
                (_, _, Some(principal), Some(role)) => TokenAction::Add {
                    principal,
                    role,
                    county,
                },
                _ => unreachable!("clap requires --principal and --role, --revoke or --rotate"),
            };
            run_token(&auth_file, action, &mut std::io::stdout().lock())
        }
        Command::Sync(args) => runtime.block_on(run_sync(&args, &mut std::io::stdout().lock())),
        Command::Transition(args) => {
            runtime.block_on(run_transition(&args, &mut std::io::stdout().lock()))
        }
        Command::Search(args) => runtime
            .block_on(run_search(&args, &mut std::io::stdout().lock()))
            .map(drop),
        Command::Show { key, server } => {
            runtime.block_on(run_show(&server, &key, &mut std::io::stdout().lock()))
        }
        Command::History {
            teacher_id,
            revision,
            server,
        } => runtime.block_on(run_history(
            &server,
            &teacher_id,
            revision,
            &mut std::io::stdout().lock(),
        )),
        Command::TlsInit { dir, hosts, force } => {
            tls_init(&dir, &hosts, force, &mut std::io::stdout().lock()).map(drop)
        }
        Command::Case { server, command } => {
            runtime.block_on(run_case(&server, command, &mut std::io::stdout().lock()))
        }
        Command::Transfer { server, command } => runtime.block_on(run_transfer(
            &server,
            command,
            &mut std::io::stdout().lock(),
        )),
        Command::Round { server, command } => {
            runtime.block_on(run_round(&server, command, &mut std::io::stdout().lock()))
        }
        Command::Audit {
            server,
            principal,
            kind,
            since,
            until,
        } => {
            let args = AuditArgs {
                principal,
                kind,
                since,
                until,
            };
            runtime
                .block_on(print_audit(&server, &args, &mut std::io::stdout().lock()))
                .map(drop)
        }
        Command::Stats {
            server,
            county,
            county_names,
        } => {
            let names = match county_names {
                Some(path) => CountyNames::with_file(&path)?,
                None => CountyNames::known(),
            };
            runtime.block_on(print_statistics(
                &server,
                &county.unwrap_or_default(),
                &names,
                &mut std::io::stdout().lock(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// `--help` explains every option and argument of every command, and shows no empty
    /// default (`[default: ""]` tells a reader nothing).
    #[test]
    fn every_option_and_argument_has_help() {
        let cli = Cli::command();
        let mut undocumented = Vec::new();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    undocumented.push(format!("{} {id}", command.get_name()));
                }
                if arg.get_default_values().iter().any(|v| v.is_empty()) {
                    undocumented.push(format!("{} {id}: an empty default", command.get_name()));
                }
            }
        }
        assert!(undocumented.is_empty(), "{undocumented:#?}");
    }
}
