//! The title transition: choose a county, run it dry, read the table of outcomes, then
//! apply it (TransitionTitles with `dry_run`, then without). The apply form carries the
//! same county, date and document the dry run used, so what is applied is what was read.
//! The answer page is streamed: each teacher's row is sent as the registry reaches it,
//! so the table fills while the transition runs (its progress), then the summary.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, form_alert, form_tokens, text_field, FieldErrors, Lang};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console, Ctx, Posted, Rejection};

/// Rows of outcomes shown at most; the summary counts them all.
const SHOWN: usize = 2000;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct TransitionForm {
    request_id: String,
    county_code: String,
    effective_date: String,
    approval_document: String,
    /// `dry_run` or `apply`.
    action: String,
}

pub(crate) async fn form(ctx: Ctx) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let form = TransitionForm {
        request_id: random_token(),
        county_code: session.own_county_code(),
        ..TransitionForm::default()
    };
    Ok(page(&ctx, session, &form, None))
}

/// Where the streamed rows and the summary go in the page.
const ROWS: &str = "<!--rows-->";
const SUMMARY: &str = "<!--summary-->";

/// Runs the transition and streams its page: the table of outcomes fills as the registry
/// answers each teacher (that is the progress), then the summary, and after a dry run
/// with work to do, the form that applies it.
pub(crate) async fn run(
    State(console): State<Console>,
    Posted { ctx, session, form }: Posted<TransitionForm>,
) -> Result<Response, Rejection> {
    let dry_run = form.action != "apply";
    let request = pb::TransitionTitlesRequest {
        teacher_ids: Vec::new(),
        county_code: form.county_code.clone(),
        effective_date: form.effective_date.clone(),
        approval_document: form.approval_document.clone(),
        dry_run,
        request_id: if dry_run {
            String::new()
        } else {
            form.request_id.clone()
        },
    };
    let stream = match console
        .registry
        .transition_titles(signed(&session, request))
        .await
    {
        Ok(stream) => stream.into_inner(),
        Err(status) => {
            let refusal = ctx.form_refusal(status)?;
            return Ok(page(&ctx, &session, &form, Some(&refusal)));
        }
    };
    let lang = ctx.lang;
    // A new request id for the apply form that follows a dry run.
    let next = TransitionForm {
        request_id: random_token(),
        ..form
    };
    let body = html! {
        (form_markup(lang, &session, &next, &FieldErrors::new(), None))
        section aria-labelledby="outcomes-h" {
            h2 #outcomes-h {
                @if dry_run { (lang.t("试运行结果（未保存）", "Dry run (nothing saved)")) } @else { (lang.t("执行结果", "Applied")) }
            }
            p.hint role="status" { (lang.t("逐人结果随处理进度列出：", "Each teacher's outcome is listed as it is reached:")) }
            table #outcomes {
                thead { tr {
                    th scope="col" { (lang.t("教师编号", "Registry number")) }
                    th scope="col" { (lang.t("结果", "Outcome")) }
                    th scope="col" { (lang.t("原职称", "Legacy title")) }
                    th scope="col" { (lang.t("新职称", "New tier")) }
                    th scope="col" { (lang.t("说明", "Detail")) }
                } }
                tbody { (PreEscaped(ROWS)) }
            }
            (PreEscaped(SUMMARY))
        }
    };
    let shell = layout::page_html(&ctx.viewer(), lang.t("职称过渡", "Title transition"), body);
    let (head, rest) = shell.split_once(ROWS).unwrap_or((&shell, ""));
    let (middle, tail) = rest.split_once(SUMMARY).unwrap_or((rest, ""));
    let (page_sender, page_body) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let _ = page_sender.try_send(Ok(Bytes::from(head.to_string())));
    let (middle, tail) = (middle.to_string(), tail.to_string());
    tokio::spawn(async move {
        let (summary, stopped) = stream_rows(lang, stream, &page_sender).await;
        let end = html! {
            @if let Some(stopped) = stopped { p.alert role="alert" { (stopped.describe()) } }
            (summary_markup(lang, &summary))
            @if dry_run && summary.would_transition > 0 {
                form.card #apply-form method="post" action="/transition" {
                    (form_tokens(&session, &next.request_id))
                    input type="hidden" name="county_code" value=(next.county_code);
                    input type="hidden" name="effective_date" value=(next.effective_date);
                    input type="hidden" name="approval_document" value=(next.approval_document);
                    p { (lang.t("以上为试运行结果。确认无误后正式执行：", "The above is a dry run. Apply it when it is right:")) }
                    button type="submit" name="action" value="apply" #apply { (lang.t("正式执行", "Apply")) }
                }
            }
        };
        for part in [middle, end.into_string(), tail] {
            if page_sender.send(Ok(Bytes::from(part))).await.is_err() {
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

/// Sends each teacher's row as it comes (up to [`SHOWN`]); answers the summary, and the
/// status the stream broke with, if it did.
async fn stream_rows(
    lang: Lang,
    mut stream: impl tokio_stream::Stream<Item = Result<pb::TransitionTitlesResponse, tonic::Status>>
        + Unpin,
    page: &mpsc::Sender<Result<Bytes, Infallible>>,
) -> (pb::TransitionSummary, Option<Refusal>) {
    let mut summary = pb::TransitionSummary::default();
    let mut shown = 0;
    while let Some(message) = stream.next().await {
        match message {
            Ok(message) => match message.result {
                Some(pb::transition_titles_response::Result::Teacher(r)) => {
                    shown += 1;
                    if shown <= SHOWN
                        && page
                            .send(Ok(Bytes::from(row(lang, &r).into_string())))
                            .await
                            .is_err()
                    {
                        return (summary, None);
                    }
                }
                Some(pb::transition_titles_response::Result::Summary(s)) => summary = s,
                None => {}
            },
            Err(status) => return (summary, Some(Refusal::from(status))),
        }
    }
    (summary, None)
}

fn page(
    ctx: &Ctx,
    session: &Session,
    form: &TransitionForm,
    refusal: Option<&Refusal>,
) -> Response {
    let lang = ctx.lang;
    let empty = FieldErrors::new();
    let errors = refusal.map_or(&empty, |r| &r.fields);
    let body = form_markup(lang, session, form, errors, refusal);
    let status = refusal.map_or(StatusCode::OK, Refusal::http_status);
    layout::page(
        &ctx.viewer(),
        status,
        lang.t("职称过渡", "Title transition"),
        body,
    )
}

fn form_markup(
    lang: Lang,
    session: &Session,
    form: &TransitionForm,
    errors: &FieldErrors,
    refusal: Option<&Refusal>,
) -> Markup {
    let shown = ["county_code", "effective_date", "approval_document"];
    let alert = refusal.and_then(|r| r.alert(&shown));
    html! {
        form.card #transition method="post" action="/transition" novalidate {
            (form_tokens(session, &form.request_id))
            (form_alert(alert.as_deref()))
            (text_field(lang.t("县区代码", "County code"), "county_code", &form.county_code, errors, "text"))
            (text_field(lang.t("生效日期", "Effective date"), "effective_date", &form.effective_date, errors, "date"))
            (text_field(lang.t("批准文号", "Approval document"), "approval_document", &form.approval_document, errors, "text"))
            button type="submit" name="action" value="dry_run" { (lang.t("试运行（不保存）", "Dry run (saves nothing)")) }
        }
    }
}

fn summary_markup(lang: Lang, s: &pb::TransitionSummary) -> Markup {
    html! {
        dl.details #summary {
            dt { (lang.t("选中", "Selected")) } dd { (s.selected) }
            dt { (lang.t("已过渡", "Transitioned")) } dd #transitioned { (s.transitioned) }
            dt { (lang.t("将过渡", "Would transition")) } dd #would { (s.would_transition) }
            dt { (lang.t("跳过", "Skipped")) } dd { (s.skipped) }
            dt { (lang.t("失败", "Failed")) } dd { (s.failed) }
        }
        @if s.selected as usize > SHOWN {
            p.hint { (lang.t("只列出前 2000 人；以上合计为全部。", "Only the first 2,000 are listed; the totals count everyone.")) }
        }
    }
}

fn row(lang: Lang, r: &pb::TeacherTransition) -> Markup {
    html! {
        tr {
            td { a href={ "/teachers/" (percent(&r.teacher_id)) } { (r.teacher_id) } }
            td { (label(lang, labels::TRANSITION_OUTCOMES, r.outcome)) }
            td { @if r.legacy_title != 0 { (label(lang, labels::LEGACY_TITLES, r.legacy_title)) } }
            td { @if r.tier != 0 { (label(lang, labels::TITLE_TIERS, r.tier)) } }
            td {
                @if r.skip_reason != 0 { (label(lang, labels::TRANSITION_SKIP_REASONS, r.skip_reason)) }
                (r.error)
            }
        }
    }
}
