//! `teacher-registry export`: every teacher (or one county's) as JSON Lines, for other
//! systems, read page by page through ListTeachers while the server keeps serving.
//!
//! Each line is the proto3 JSON mapping of `teacher_registry.v1.Teacher` (see `api::json`),
//! the same as in a backup, so the file describes itself by the proto and a field added to
//! the proto is exported without a change here.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::{connect, refusal};
use crate::api::{json, pb};
use crate::private_files::create_private_file;

/// Writes one teacher per line to `file` (replaced atomically when done; readable by its
/// owner only, as it holds identity numbers) and returns how many, and the revision of the
/// first page: changes after it may or may not be in the file, so a reader that follows
/// the change feed from it misses nothing.
pub async fn run_export(server: &str, county: &str, file: &Path) -> anyhow::Result<(u64, u64)> {
    let mut client = connect(server).await?;
    let mut aside = file.as_os_str().to_owned();
    aside.push(".tmp");
    let aside = std::path::PathBuf::from(aside);
    let mut out = std::io::BufWriter::new(
        create_private_file(&aside).with_context(|| format!("cannot write {}", aside.display()))?,
    );
    let (mut count, mut revision, mut token) = (0u64, None, String::new());
    loop {
        let request = pb::ListTeachersRequest {
            page_size: 1000,
            page_token: token.clone(),
            county_code: county.to_string(),
            ..Default::default()
        };
        let page = match client.list_teachers(request).await {
            Ok(page) => page.into_inner(),
            Err(status) => return Err(refusal(status, "listing teachers failed")),
        };
        revision.get_or_insert(page.revision);
        for teacher in &page.teachers {
            writeln!(out, "{}", json::to_line(teacher)?)?;
            count += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let file_handle = out.into_inner().context("cannot finish the export")?;
    file_handle.sync_all()?;
    std::fs::rename(&aside, file).with_context(|| format!("cannot replace {}", file.display()))?;
    Ok((count, revision.unwrap_or(0)))
}
