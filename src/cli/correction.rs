//! The `correction` commands: an identity correction proposed, read, approved or
//! rejected (see docs/DOMAIN.md, "What a record was known by before"). The proposer and
//! the reviewer are two principals, each with their own token.

use std::io::Write;

use clap::Subcommand;

use super::rows::DOCUMENT_TYPES;
use super::{connect_channel, refusal, CommandError};
use crate::api::pb;
use crate::api::pb::identity_service_client::IdentityServiceClient;

/// `teacher-registry correction ...`.
#[derive(Debug, Subcommand)]
pub enum CorrectionCommand {
    /// Propose correcting a teacher's identity document (a mistyped number, a permit
    /// replaced by a resident identity card); another principal reviews it.
    Propose {
        /// The teacher's registry number.
        teacher_id: String,
        /// The correct document type: 居民身份证, 护照, ... or RESIDENT_ID_CARD, PASSPORT, ...
        #[arg(long, default_value = "居民身份证")]
        id_document_type: String,
        /// The correct document number.
        #[arg(long)]
        national_id: String,
        /// Why the document is corrected.
        #[arg(long)]
        reason: String,
        /// Where the evidence is kept (the scanned card's reference).
        #[arg(long)]
        evidence_ref: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Show a correction, to review it.
    Show {
        correction_id: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Approve a pending correction (not one you proposed): the record takes the new
    /// document and keeps the old one as a former document.
    Approve {
        correction_id: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
    /// Reject a pending correction, saying why; the record is unchanged.
    Reject {
        correction_id: String,
        #[arg(long)]
        note: String,
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
}

/// Runs a `correction` subcommand, printing the correction it left to `out`.
pub async fn run_correction(
    command: &CorrectionCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let server = match command {
        CorrectionCommand::Propose { server, .. }
        | CorrectionCommand::Show { server, .. }
        | CorrectionCommand::Approve { server, .. }
        | CorrectionCommand::Reject { server, .. } => server,
    };
    let (channel, token) = connect_channel(server).await?;
    let mut client = IdentityServiceClient::with_interceptor(channel, token);
    let correction = match command {
        CorrectionCommand::Propose {
            teacher_id,
            id_document_type,
            national_id,
            reason,
            evidence_ref,
            ..
        } => {
            let id_document_type = DOCUMENT_TYPES
                .parse(id_document_type.trim())
                .map_err(|problem| CommandError::Usage(format!("--id-document-type: {problem}")))?;
            client
                .propose_identity_correction(pb::ProposeIdentityCorrectionRequest {
                    teacher_id: teacher_id.trim().to_string(),
                    id_document_type,
                    national_id: national_id.trim().to_string(),
                    reason: reason.clone(),
                    evidence_ref: evidence_ref.clone(),
                    request_id: String::new(),
                })
                .await
                .map_err(|status| refusal(status, "the correction was not proposed"))?
                .into_inner()
                .correction
        }
        CorrectionCommand::Show { correction_id, .. } => {
            client
                .get_identity_correction(pb::GetIdentityCorrectionRequest {
                    correction_id: correction_id.trim().to_string(),
                })
                .await
                .map_err(|status| refusal(status, "no such correction"))?
                .into_inner()
                .correction
        }
        CorrectionCommand::Approve {
            correction_id,
            note,
            ..
        } => {
            client
                .approve_identity_correction(pb::ApproveIdentityCorrectionRequest {
                    correction_id: correction_id.trim().to_string(),
                    note: note.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|status| refusal(status, "the correction was not approved"))?
                .into_inner()
                .correction
        }
        CorrectionCommand::Reject {
            correction_id,
            note,
            ..
        } => {
            client
                .reject_identity_correction(pb::RejectIdentityCorrectionRequest {
                    correction_id: correction_id.trim().to_string(),
                    note: note.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|status| refusal(status, "the correction was not rejected"))?
                .into_inner()
                .correction
        }
    };
    let correction =
        correction.ok_or_else(|| anyhow::anyhow!("the registry answered no correction"))?;
    write_correction(&correction, out)?;
    Ok(())
}

fn write_correction(c: &pb::IdentityCorrection, out: &mut impl Write) -> std::io::Result<()> {
    let state = match c.state() {
        pb::CorrectionState::Pending => "待审核 PENDING",
        pb::CorrectionState::Approved => "已批准 APPROVED",
        pb::CorrectionState::Rejected => "已驳回 REJECTED",
        pb::CorrectionState::Unspecified => "-",
    };
    writeln!(out, "证件更正 correction  {}  {state}", c.correction_id)?;
    writeln!(out, "教师编号 teacher     {}", c.teacher_id)?;
    writeln!(
        out,
        "原证件 from         {} {}",
        DOCUMENT_TYPES.labelled(c.previous_id_document_type),
        c.previous_national_id
    )?;
    writeln!(
        out,
        "新证件 to           {} {}",
        DOCUMENT_TYPES.labelled(c.id_document_type),
        c.national_id
    )?;
    writeln!(out, "理由 reason         {}", c.reason)?;
    writeln!(out, "证明材料 evidence   {}", c.evidence_ref)?;
    writeln!(out, "提出人 proposed by  {}", c.proposed_by)?;
    if !c.reviewed_by.is_empty() {
        writeln!(out, "审核人 reviewed by  {}", c.reviewed_by)?;
    }
    if !c.review_note.is_empty() {
        writeln!(out, "审核意见 note       {}", c.review_note)?;
    }
    writeln!(out, "etag                {}", c.etag)
}
