//! An upload's import, streamed (see `import`): the file is kept in an owner-only
//! temporary file while it is read, as the command reads it, on a blocking thread; each
//! row it gets right goes to ImportTeachers, called in process through the same tonic
//! method a gRPC client reaches (the rows framed as a gRPC request body, so the handler,
//! its gate, validation and flow control are the API's own); each row it gets wrong is
//! rejected here with its problems, as the command does before sending. The page goes out
//! as the rows are answered, row by row, then the summary and the rejects link.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt as _;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::cli::{open_rows, RowRefusal, Rows, SourceRow, ANNOTATIONS};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, FieldErrors, Lang};
use crate::console::session::random_token;
use crate::console::{percent, Console, Ctx, Rejection};

use super::import::{form_page, read_form, title};

/// Rows other than rejected ones shown on the page at most (rejected ones are all shown;
/// the summary counts every row).
const SHOWN: u64 = 2000;
/// Rows read ahead of the registry's answers.
const READ_AHEAD: usize = 256;

/// Where the streamed rows and the summary go in the page.
const ROWS: &str = "<!--rows-->";
const SUMMARY: &str = "<!--summary-->";

/// A row on its way, in file order: sent to the registry, or refused as read.
enum Pending {
    Sent {
        line: u64,
        cells: Vec<String>,
    },
    Refused {
        line: u64,
        cells: Vec<String>,
        reason: String,
    },
}

/// `POST /import` (multipart: csrf, mode, file).
pub(crate) async fn run(
    State(console): State<Console>,
    ctx: Ctx,
    multipart: Multipart,
) -> Result<Response, Rejection> {
    let Ok((csrf, mode, file)) = read_form(multipart).await else {
        return Err(ctx.csrf_refused());
    };
    let session = ctx.form_session(&csrf)?.clone();
    let session_id = ctx
        .session
        .as_ref()
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    let lang = ctx.lang;
    let refuse = |message: String| {
        let mut errors = FieldErrors::new();
        errors.insert("file".into(), message);
        form_page(
            &ctx,
            &session,
            &mode,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some((name, bytes)) = file else {
        return Ok(refuse(
            lang.t(
                "请选择要导入的文件（CSV 或 XLSX）",
                "Choose a file to import (CSV or XLSX)",
            )
            .into(),
        ));
    };
    let (path, rows) = match open_upload(&name, &bytes) {
        Ok(opened) => opened,
        Err(message) => return Ok(refuse(message)),
    };
    let import_mode = match mode.as_str() {
        "create_only" => pb::ImportMode::CreateOnly,
        _ => pb::ImportMode::Upsert,
    };
    let (frames, body) = mpsc::channel::<Result<Bytes, Infallible>>(READ_AHEAD);
    let requests = tonic::Streaming::new_request(
        tonic_prost::ProstDecoder::<pb::ImportTeachersRequest>::default(),
        Body::from_stream(ReceiverStream::new(body)),
        None,
        None,
    );
    let results = match console
        .registry
        .import_teachers(signed(&session, requests))
        .await
    {
        Ok(results) => results.into_inner(),
        Err(status) => {
            let _ = std::fs::remove_file(&path);
            return Err(ctx.refused(&status.into()));
        }
    };
    let columns = rows.columns();
    let (pending_sender, pending) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || read_rows(rows, path, import_mode, frames, pending_sender));

    let shell = layout::page_html(&ctx.viewer(), title(lang), shell(lang, &name));
    let (head, rest) = shell.split_once(ROWS).unwrap_or((&shell, ""));
    let (middle, tail) = rest.split_once(SUMMARY).unwrap_or((rest, ""));
    let (page, page_body) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let _ = page.try_send(Ok(Bytes::from(head.to_string())));
    let (middle, tail) = (middle.to_string(), tail.to_string());
    tokio::spawn(async move {
        let outcome = answer(lang, results, pending, &columns, &page).await;
        let kept =
            (outcome.rejected > 0).then(|| console.rejects.keep(&session_id, outcome.rejects));
        let summary = summary(
            lang,
            &outcome.counts,
            outcome.stopped.as_ref(),
            kept.as_deref(),
        );
        for part in [middle, summary.into_string(), tail] {
            if page.send(Ok(Bytes::from(part))).await.is_err() {
                return;
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from_stream(ReceiverStream::new(page_body)),
    )
        .into_response())
}

/// The upload in an owner-only temporary file, opened as the command opens a file.
fn open_upload(name: &str, bytes: &[u8]) -> Result<(PathBuf, Rows), String> {
    let extension = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !["csv", "xlsx"].contains(&extension.as_str()) {
        return Err(format!("{name}: expected a .csv or .xlsx file"));
    }
    let path = std::env::temp_dir().join(format!(
        "teacher-registry-upload-{}.{extension}",
        random_token()
    ));
    let written = crate::private_files::create_private_file(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, bytes));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(format!("{name}: cannot keep the upload: {e}"));
    }
    match open_rows(&path) {
        Ok(rows) => Ok((path, rows)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(format!("{name}: {e}").replace(&path.display().to_string(), name))
        }
    }
}

/// Reads the rows (on a blocking thread), as the command does: each one right goes to the
/// registry framed as a gRPC message, every one to `pending`, in file order. The
/// temporary file is removed when done.
fn read_rows(
    mut rows: Rows,
    path: PathBuf,
    mode: pb::ImportMode,
    frames: mpsc::Sender<Result<Bytes, Infallible>>,
    pending: mpsc::Sender<Pending>,
) {
    for row in rows.by_ref() {
        let SourceRow {
            line,
            teacher,
            cells,
        } = match row {
            Ok(row) => row,
            Err(e) => {
                // The file breaks off here: said in the results, as the command says it.
                let _ = pending.blocking_send(Pending::Refused {
                    line: 0,
                    cells: Vec::new(),
                    reason: format!("the file cannot be read further: {e}"),
                });
                break;
            }
        };
        let next = match teacher {
            Ok(teacher) => {
                let message = pb::ImportTeachersRequest {
                    teacher: Some(teacher),
                    mode: mode as i32,
                }
                .encode_to_vec();
                let mut frame = Vec::with_capacity(5 + message.len());
                frame.push(0);
                frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
                frame.extend_from_slice(&message);
                if frames.blocking_send(Ok(Bytes::from(frame))).is_err() {
                    break;
                }
                Pending::Sent { line, cells }
            }
            Err(problems) => Pending::Refused {
                line,
                cells,
                reason: problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.description))
                    .collect::<Vec<_>>()
                    .join("; "),
            },
        };
        if pending.blocking_send(next).is_err() {
            break;
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// What the rows came to.
struct Outcome {
    /// Created, updated, unchanged, rejected.
    counts: [u64; 4],
    rejected: u64,
    /// The rejects file, CSV as the command writes it.
    rejects: Vec<u8>,
    /// Why the stream stopped early, if it did.
    stopped: Option<Refusal>,
}

async fn answer(
    lang: Lang,
    mut results: impl tokio_stream::Stream<Item = Result<pb::ImportTeachersResponse, tonic::Status>>
        + Unpin,
    mut pending: mpsc::Receiver<Pending>,
    columns: &[String],
    page: &mpsc::Sender<Result<Bytes, Infallible>>,
) -> Outcome {
    let mut rejects = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = rejects.write_record(
        ANNOTATIONS
            .iter()
            .map(|a| a.to_string())
            .chain(columns.iter().cloned()),
    );
    let mut outcome = Outcome {
        counts: [0; 4],
        rejected: 0,
        rejects: Vec::new(),
        stopped: None,
    };
    let mut shown = 0u64;
    while let Some(next) = pending.recv().await {
        let (line, cells, result) = match next {
            Pending::Refused {
                line,
                cells,
                reason,
            } => (line, cells, Err(("INVALID_ARGUMENT".to_string(), reason))),
            Pending::Sent { line, cells } => match results.next().await {
                Some(Ok(result)) => {
                    let rejected = result.outcome() == pb::ImportOutcome::Rejected;
                    let answer = if rejected {
                        Err(match RowRefusal::of(&result) {
                            Some(refusal) => {
                                (refusal.code_name(), refusal.reason(&result.teacher_id))
                            }
                            None => ("UNKNOWN".into(), "rejected without a reason".into()),
                        })
                    } else {
                        Ok((result.outcome, result.teacher_id.clone()))
                    };
                    (line, cells, answer)
                }
                Some(Err(status)) => {
                    outcome.stopped = Some(Refusal::from(status));
                    break;
                }
                None => break,
            },
        };
        let row = match &result {
            Ok((kind, teacher_id)) => {
                outcome.counts[(*kind as usize).clamp(1, 4) - 1] += 1;
                shown += 1;
                (shown <= SHOWN).then(|| accepted_row(lang, line, *kind, teacher_id))
            }
            Err((code, reason)) => {
                outcome.counts[3] += 1;
                outcome.rejected += 1;
                let annotations = [line.to_string(), code.clone(), reason.clone()];
                let _ = rejects.write_record(annotations.iter().chain(cells.iter()));
                Some(rejected_row(lang, line, code, reason))
            }
        };
        if let Some(row) = row {
            if page.send(Ok(Bytes::from(row.into_string()))).await.is_err() {
                break;
            }
        }
    }
    outcome.rejects = rejects.into_inner().unwrap_or_default();
    outcome
}

fn accepted_row(lang: Lang, line: u64, outcome: i32, teacher_id: &str) -> Markup {
    html! {
        tr {
            td { (line) }
            td { (label(lang, labels::IMPORT_OUTCOMES, outcome)) }
            td { a href={ "/teachers/" (percent(teacher_id)) } { (teacher_id) } }
            td {}
        }
    }
}

fn rejected_row(lang: Lang, line: u64, code: &str, reason: &str) -> Markup {
    html! {
        tr.rejected {
            td { (line) }
            td { (label(lang, labels::IMPORT_OUTCOMES, pb::ImportOutcome::Rejected as i32)) }
            td {}
            td.error { (code) ": " (reason) }
        }
    }
}

/// The page around the rows: the table they fill, and where the summary goes.
fn shell(lang: Lang, file: &str) -> Markup {
    html! {
        p.hint role="status" #import-progress {
            (file) " — " (lang.t("正在导入，每行写入后即列出结果：", "importing; each row's result appears once it is written:"))
        }
        table #import-results {
            thead { tr {
                th scope="col" { (lang.t("行号", "Line")) }
                th scope="col" { (lang.t("结果", "Outcome")) }
                th scope="col" { (lang.t("教师编号", "Registry number")) }
                th scope="col" { (lang.t("原因", "Reason")) }
            } }
            tbody { (PreEscaped(ROWS)) }
        }
        (PreEscaped(SUMMARY))
    }
}

fn summary(
    lang: Lang,
    counts: &[u64; 4],
    stopped: Option<&Refusal>,
    rejects: Option<&str>,
) -> Markup {
    let total: u64 = counts.iter().sum();
    html! {
        @if let Some(stopped) = stopped {
            p.alert role="alert" #import-stopped {
                (lang.t("导入中断，已列出的行均已保存，可用“新增或更新”再次导入完成：", "The import stopped; the rows listed are saved: import the file again with create or update to finish: "))
                (stopped.describe())
            }
        }
        p.done role="status" #import-summary {
            (lang.t("共", "")) (total) (lang.t(" 行：新建 ", " rows: created ")) (counts[0])
            (lang.t("，更新 ", ", updated ")) (counts[1])
            (lang.t("，无变化 ", ", unchanged ")) (counts[2])
            (lang.t("，拒绝 ", ", rejected ")) (counts[3])
        }
        @if total > counts[3] + SHOWN {
            p.hint { (lang.t("只列出前 2000 个成功行；被拒绝的行全部列出。", "Only the first 2,000 accepted rows are listed; every rejected row is.")) }
        }
        @if let Some(id) = rejects {
            p { a #rejects href={ "/import/" (id) "/rejects.csv" } download="rejects.csv" { (lang.t("下载被拒绝的行（CSV，改正后可再次导入）", "Download the rejected rows (CSV, to correct and import again)")) } }
        }
        p { a href="/import" { (lang.t("再导入一个文件", "Import another file")) } }
    }
}
