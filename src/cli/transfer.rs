//! `teacher-registry transfer ...`: transfers between counties with two sides. The
//! teacher's county proposes, the receiving county accepts (with the new school) or
//! declines, and `list` shows a county's pending transfers both ways. The server applies
//! the caller's county scope; this only asks and prints.

use std::io::Write;

use clap::Subcommand;

use super::{connect, refusal};
use crate::api::pb;

/// The steps and the list of transfers.
#[derive(Debug, Clone, Subcommand)]
pub enum TransferCommand {
    /// Propose to transfer a teacher of your county to another county.
    Propose {
        /// The registry number.
        teacher_id: String,
        /// The receiving county's code.
        #[arg(long = "to")]
        to_county: String,
        /// Why (kept with the proposal).
        #[arg(long)]
        reason: String,
        /// An idempotency key: a retry with it gets the first answer.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Accept a transfer into your county; the teacher joins the school given.
    Accept {
        teacher_id: String,
        #[arg(long)]
        school: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Decline a transfer into your county; the teacher stays where they are.
    Decline {
        teacher_id: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The transfers pending out of and into a county (yours, for county staff).
    List {
        #[arg(long)]
        county: Option<String>,
    },
}

/// Runs one transfer command against `server`.
pub async fn run_transfer(
    server: &str,
    command: TransferCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = connect(server).await?;
    let answer = match command {
        TransferCommand::Propose {
            teacher_id,
            to_county,
            reason,
            request_id,
        } => client
            .propose_transfer(pb::ProposeTransferRequest {
                teacher_id,
                to_county_code: to_county,
                reason,
                etag: String::new(),
                request_id: request_id.unwrap_or_default(),
            })
            .await
            .map(|r| r.into_inner().teacher),
        TransferCommand::Accept {
            teacher_id,
            school,
            request_id,
        } => client
            .accept_transfer(pb::AcceptTransferRequest {
                teacher_id,
                school,
                etag: String::new(),
                request_id: request_id.unwrap_or_default(),
            })
            .await
            .map(|r| r.into_inner().teacher),
        TransferCommand::Decline {
            teacher_id,
            request_id,
        } => client
            .decline_transfer(pb::DeclineTransferRequest {
                teacher_id,
                etag: String::new(),
                request_id: request_id.unwrap_or_default(),
            })
            .await
            .map(|r| r.into_inner().teacher),
        TransferCommand::List { county } => {
            let list = client
                .list_transfers(pb::ListTransfersRequest {
                    county_code: county.unwrap_or_default(),
                })
                .await
                .map_err(|status| refusal(status, "the registry did not list the transfers"))?
                .into_inner();
            writeln!(out, "调出 outgoing: {}", list.outgoing.len())?;
            for teacher in &list.outgoing {
                write_line(teacher, out)?;
            }
            writeln!(out, "调入 incoming: {}", list.incoming.len())?;
            for teacher in &list.incoming {
                write_line(teacher, out)?;
            }
            return Ok(());
        }
    };
    let teacher = answer
        .map_err(|status| refusal(status, "the registry refused the transfer step"))?
        .unwrap_or_default();
    write_line(&teacher, out)?;
    Ok(())
}

/// One teacher and their transfer, on one line.
fn write_line(teacher: &pb::Teacher, out: &mut impl Write) -> std::io::Result<()> {
    let pending = match &teacher.pending_transfer {
        Some(t) => format!("  → {} ({})", t.to_county_code, t.reason),
        None => String::new(),
    };
    writeln!(
        out,
        "{}  {}  {} {}{pending}",
        teacher.teacher_id, teacher.name, teacher.county_code, teacher.school
    )
}
