//! The duplicate commands: `find-duplicates` (the full pass, run on a data directory with
//! the server stopped, as `verify` is) and `duplicates list|dismiss` (review, through the
//! server).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;

use super::{connect_channel, refusal};
use crate::api::pb;
use crate::api::pb::duplicate_service_client::DuplicateServiceClient;
use crate::store::{Store, StoreOptions};

/// `teacher-registry duplicates ...`.
#[derive(Debug, Subcommand)]
pub enum DuplicatesCommand {
    /// List pairs of records that may be one person, with why and a score (county staff:
    /// pairs touching their county).
    List {
        /// Only pairs with a record of this county.
        #[arg(long, default_value = "")]
        county: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Mark a pair as two people: it is never listed again.
    Dismiss {
        teacher_id: String,
        other_teacher_id: String,
        /// Why they are two people.
        #[arg(long)]
        note: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
}

/// Runs the full duplicate pass on the registry in `data_dir` and prints what it found.
pub fn run_find_duplicates(data_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let store = Store::open(data_dir, &StoreOptions::default()).with_context(|| {
        format!(
            "cannot open the registry in {} (is a server running on it?)",
            data_dir.display()
        )
    })?;
    let runtime = tokio::runtime::Handle::current();
    let started = Instant::now();
    let figures = runtime.block_on(store.find_duplicates())?;
    writeln!(
        out,
        "{} block entries in {} blocks read, {} new duplicate candidates, in {:.1} s",
        figures.entries,
        figures.blocks,
        figures.found,
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// Runs a `duplicates` subcommand.
pub async fn run_duplicates(
    command: &DuplicatesCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let server = match command {
        DuplicatesCommand::List { server, .. } | DuplicatesCommand::Dismiss { server, .. } => {
            server
        }
    };
    let (channel, token) = connect_channel(server).await?;
    let mut client = DuplicateServiceClient::with_interceptor(channel, token);
    match command {
        DuplicatesCommand::List { county, .. } => {
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest {
                        county_code: county.trim().to_string(),
                        page_size: 200,
                        page_token,
                    })
                    .await
                    .map_err(|status| refusal(status, "the candidates were not listed"))?
                    .into_inner();
                for c in &page.candidates {
                    let name = |t: &Option<pb::Teacher>| {
                        t.as_ref().map_or("-".to_string(), |t| t.name.clone())
                    };
                    let reasons: Vec<&str> = c
                        .reasons()
                        .map(|r| r.as_str_name().trim_start_matches("DUPLICATE_REASON_"))
                        .collect();
                    writeln!(
                        out,
                        "{:>3}  {} {}  {} {}  {}",
                        c.score,
                        c.teacher_id,
                        name(&c.teacher),
                        c.other_teacher_id,
                        name(&c.other_teacher),
                        reasons.join(",")
                    )?;
                }
                if page.next_page_token.is_empty() {
                    return Ok(());
                }
                page_token = page.next_page_token;
            }
        }
        DuplicatesCommand::Dismiss {
            teacher_id,
            other_teacher_id,
            note,
            ..
        } => {
            client
                .dismiss_duplicate_candidate(pb::DismissDuplicateCandidateRequest {
                    teacher_id: teacher_id.trim().to_string(),
                    other_teacher_id: other_teacher_id.trim().to_string(),
                    note: note.clone(),
                    request_id: String::new(),
                })
                .await
                .map_err(|status| refusal(status, "the pair was not dismissed"))?;
            writeln!(out, "{teacher_id} {other_teacher_id}: not the same person")?;
            Ok(())
        }
    }
}
