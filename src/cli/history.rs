//! `teacher-registry history TEACHER_ID`: a teacher's history, newest first, each change
//! with its revision, time, kind (and, for admins, who made it) and the fields it changed,
//! old → new; with `--revision N`, the record page as it was at revision N. The server
//! applies the caller's county scope and masking; this only prints.

use std::io::Write;

use super::show::write_page;
use super::{connect, refusal, CommandError};
use crate::api::pb;
use crate::domain::TeacherId;

/// Revisions asked for per page.
const PAGE_SIZE: i32 = 200;

/// Prints the history of `teacher_id`, or the record at `revision`.
pub async fn run_history(
    server: &str,
    teacher_id: &str,
    revision: Option<u64>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let teacher_id = TeacherId::parse(teacher_id.trim())
        .map_err(|e| CommandError::Usage(format!("{teacher_id}: {e}")))?
        .as_str()
        .to_string();
    let mut client = connect(server).await?;
    if let Some(revision) = revision {
        let teacher = client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id,
                revision: Some(revision),
            })
            .await
            .map_err(|status| refusal(status, "the registry did not show the teacher"))?
            .into_inner()
            .teacher
            .ok_or_else(|| {
                CommandError::Refused("the registry answered without a teacher".into())
            })?;
        writeln!(out, "修订 revision {revision}")?;
        write_page(&teacher, out)?;
        return Ok(());
    }
    let mut page_token = String::new();
    loop {
        let page = client
            .list_teacher_revisions(pb::ListTeacherRevisionsRequest {
                teacher_id: teacher_id.clone(),
                page_size: PAGE_SIZE,
                page_token,
            })
            .await
            .map_err(|status| refusal(status, "the registry did not show the history"))?
            .into_inner();
        for revision in &page.revisions {
            write_revision(revision, out)?;
        }
        if page.next_page_token.is_empty() {
            if !page.history_complete {
                writeln!(
                    out,
                    "历史自修订 {} 起保存 history kept from revision {}: the record was \
                     written by an earlier release before that",
                    page.earliest_revision, page.earliest_revision
                )?;
            }
            return Ok(());
        }
        page_token = page.next_page_token;
    }
}

fn write_revision(revision: &pb::TeacherRevision, out: &mut impl Write) -> std::io::Result<()> {
    let kind = pb::ChangeKind::try_from(revision.kind)
        .map(|k| {
            k.as_str_name()
                .trim_start_matches("CHANGE_KIND_")
                .to_string()
        })
        .unwrap_or_else(|_| revision.kind.to_string());
    let time = revision
        .change_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let by = match revision.principal.as_str() {
        "" => String::new(),
        principal => format!("  {principal}"),
    };
    writeln!(
        out,
        "修订 revision {}  {time}  {kind}{by}",
        revision.revision
    )?;
    for difference in &revision.differences {
        let old = if difference.old_value.is_empty() {
            "-"
        } else {
            &difference.old_value
        };
        let new = if difference.new_value.is_empty() {
            "-"
        } else {
            &difference.new_value
        };
        writeln!(out, "  {}: {old} → {new}", difference.field)?;
    }
    Ok(())
}
