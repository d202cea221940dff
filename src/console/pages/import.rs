//! Import: upload a CSV or XLSX file of teachers, read exactly as `teacher-registry import`
//! reads one (`cli::open_rows`: the same columns, encodings and per-row problems), and send
//! its rows through ImportTeachers in process under the signed-in person's token. The
//! answer page is streamed: its table of per-row results fills as the registry answers
//! each row (that is the progress), then the summary and a link to download the rejected
//! rows as a CSV file in the layout of the command's `--rejects` file (`line,code,reason`,
//! then the row's own cells), ready to be corrected and imported again.
//!
//! The rejects are kept in memory for the session that imported them only, the last few
//! per console ([`KEPT`]), and are never written to disk: they hold identity numbers.

use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::console::layout::{self, form_tokens, FieldErrors, Fields, Lang};
use crate::console::session::{random_token, Session};
use crate::console::{Console, Ctx, Rejection};

pub(crate) use super::import_stream::run as upload;

/// `GET /import`.
pub(crate) async fn form(ctx: Ctx) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    Ok(form_page(
        &ctx,
        session,
        "upsert",
        &FieldErrors::new(),
        StatusCode::OK,
    ))
}

/// The upload form, with the errors of the last one sent beside their fields.
pub(crate) fn form_page(
    ctx: &Ctx,
    session: &Session,
    mode: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let fields = Fields::new("", errors);
    let error = fields.error("file");
    let modes = vec![
        (
            "upsert".to_string(),
            lang.t(
                "新增或更新（按身份证件号码）",
                "Create or update (by identity number)",
            )
            .to_string(),
        ),
        (
            "create_only".to_string(),
            lang.t(
                "仅新增（已有的拒绝）",
                "Create only (existing ones rejected)",
            )
            .to_string(),
        ),
    ];
    let body = html! {
        form.card #import method="post" action="/import" enctype="multipart/form-data" novalidate {
            (form_tokens(session, &random_token()))
            p.hint { (lang.t(
                "CSV（UTF-8 或 GBK）或 XLSX，首行为表头，列名同导入模板（teacher-registry template）。每行单独写入；被拒绝的行可下载修改后再次导入。",
                "CSV (UTF-8 or GBK) or XLSX with a header row, the columns of the import template (teacher-registry template). Each row is written on its own; rejected rows can be downloaded, corrected and imported again."
            )) }
            div.field {
                label for="file" { (lang.t("教师名册文件", "Teachers file")) }
                input #file name="file" type="file" accept=".csv,.xlsx"
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "file-error")];
                @if let Some(error) = error { span.error #file-error { (error) } }
            }
            (fields.select(lang.t("方式", "Mode"), "mode", &modes, mode))
            button type="submit" { (lang.t("导入", "Import")) }
        }
    };
    layout::page(&ctx.viewer(), status, title(lang), body)
}

pub(crate) fn title(lang: Lang) -> &'static str {
    lang.t("批量导入", "Import")
}

/// `GET /import/{id}/rejects.csv`: the rejected rows of an import of this session.
pub(crate) async fn rejects(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, Rejection> {
    ctx.signed_in()?;
    let Some((session_id, _)) = &ctx.session else {
        return Err(ctx.csrf_refused());
    };
    Ok(match console.rejects.get(&id, session_id) {
        Some(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"rejects.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        None => {
            let lang = ctx.lang;
            layout::message_page(
                &ctx.viewer(),
                StatusCode::NOT_FOUND,
                lang.t("未找到", "Not found"),
                lang.t(
                    "没有这个文件（只保留本次登录最近的导入）。",
                    "No such file (only this session's recent imports are kept).",
                ),
            )
        }
    })
}

/// Reads the multipart form: its CSRF token, mode and file (name and bytes).
pub(crate) async fn read_form(
    mut multipart: Multipart,
) -> Result<(String, String, Option<(String, Vec<u8>)>), axum::extract::multipart::MultipartError> {
    let (mut csrf, mut mode, mut file) = (String::new(), String::new(), None);
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await?;
                if !name.is_empty() || !bytes.is_empty() {
                    file = Some((name, bytes.to_vec()));
                }
            }
            "csrf" => csrf = field.text().await?,
            "mode" => mode = field.text().await?,
            _ => {}
        }
    }
    Ok((csrf, mode, file))
}
