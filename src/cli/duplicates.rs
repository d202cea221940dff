//! The duplicate commands: `find-duplicates` (the full pass, run on a data directory with
//! the server stopped, as `verify` is) and `duplicates list|dismiss|merge|unmerge`
//! (review, and what a review decides, through the server).

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;

use super::{connect_channel, refusal};
use crate::api::pb;
use crate::api::pb::duplicate_service_client::DuplicateServiceClient;
use crate::api::pb::identity_service_client::IdentityServiceClient;
use crate::store::{Location, Store, StoreOptions};

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
    /// Merge two records of one person: the survivor keeps its number and gains the
    /// other's documents, names, certificates and titles; the other number is retired.
    Merge {
        survivor_teacher_id: String,
        merged_teacher_id: String,
        /// Why they are one person.
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Undo the merge that retired a number: both records are as they were.
    Unmerge {
        merged_teacher_id: String,
        /// Why they are two people.
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
}

/// Runs the full duplicate pass on the registry at `location` and prints what it found.
pub fn run_find_duplicates(location: &Location, out: &mut impl Write) -> anyhow::Result<()> {
    let store =
        Store::open_at(location, &StoreOptions::default()).with_context(|| match location {
            Location::Directory(dir) => format!(
                "cannot open the registry in {} (is a server running on it?)",
                dir.display()
            ),
            Location::Postgres(_) => format!("cannot open the registry in {location}"),
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
        DuplicatesCommand::List { server, .. }
        | DuplicatesCommand::Dismiss { server, .. }
        | DuplicatesCommand::Merge { server, .. }
        | DuplicatesCommand::Unmerge { server, .. } => server,
    };
    let (channel, token) = connect_channel(server).await?;
    let mut identity = IdentityServiceClient::with_interceptor(channel.clone(), token.clone());
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
        DuplicatesCommand::Merge {
            survivor_teacher_id,
            merged_teacher_id,
            reason,
            ..
        } => {
            let answer = identity
                .merge_teachers(pb::MergeTeachersRequest {
                    survivor_teacher_id: survivor_teacher_id.trim().to_string(),
                    merged_teacher_id: merged_teacher_id.trim().to_string(),
                    reason: reason.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|status| refusal(status, "the records were not merged"))?
                .into_inner();
            writeln!(
                out,
                "{merged_teacher_id} merged into {survivor_teacher_id}; the number {merged_teacher_id} is retired"
            )?;
            for conflict in &answer.conflicts {
                writeln!(out, "  to settle: {conflict}")?;
            }
            Ok(())
        }
        DuplicatesCommand::Unmerge {
            merged_teacher_id,
            reason,
            ..
        } => {
            let answer = identity
                .unmerge_teachers(pb::UnmergeTeachersRequest {
                    merged_teacher_id: merged_teacher_id.trim().to_string(),
                    reason: reason.clone(),
                    request_id: String::new(),
                })
                .await
                .map_err(|status| refusal(status, "the merge was not undone"))?
                .into_inner();
            let survivor = answer.survivor.map(|t| t.teacher_id).unwrap_or_default();
            writeln!(
                out,
                "{merged_teacher_id} is a record again, apart from {survivor}"
            )?;
            Ok(())
        }
    }
}
