//! The title transition: choose a county, run it dry, read the table of outcomes, then
//! apply it (TransitionTitles with `dry_run`, then without). The apply form carries the
//! same county, date and document the dry run used, so what is applied is what was read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use tokio_stream::StreamExt;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, form_alert, form_tokens, text_field, FieldErrors, Lang};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console, Ctx};

/// Rows of outcomes shown at most; the summary counts them all.
const SHOWN: usize = 2000;

#[derive(Deserialize, Default, Clone)]
pub(crate) struct TransitionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    county_code: String,
    #[serde(default)]
    effective_date: String,
    #[serde(default)]
    approval_document: String,
    /// `dry_run` or `apply`.
    #[serde(default)]
    action: String,
}

pub(crate) async fn form(ctx: Ctx) -> Response {
    let session = match ctx.signed_in() {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let form = TransitionForm {
        request_id: random_token(),
        county_code: session
            .principal
            .county
            .as_ref()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        ..TransitionForm::default()
    };
    page(&ctx, session, &form, None, None)
}

/// The outcome of a run: its rows (as many as shown) and summary.
struct Run {
    dry_run: bool,
    rows: Vec<pb::TeacherTransition>,
    summary: pb::TransitionSummary,
}

pub(crate) async fn run(
    State(console): State<Console>,
    ctx: Ctx,
    Form(form): Form<TransitionForm>,
) -> Response {
    let session = match ctx.form_session(&form.csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
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
    let outcome = async {
        let mut stream = console
            .registry
            .transition_titles(signed(session, request))
            .await?
            .into_inner();
        let mut run = Run {
            dry_run,
            rows: Vec::new(),
            summary: Default::default(),
        };
        while let Some(message) = stream.next().await {
            match message?.result {
                Some(pb::transition_titles_response::Result::Teacher(row))
                    if run.rows.len() < SHOWN =>
                {
                    run.rows.push(row)
                }
                Some(pb::transition_titles_response::Result::Summary(summary)) => {
                    run.summary = summary
                }
                _ => {}
            }
        }
        Ok::<Run, tonic::Status>(run)
    }
    .await;
    match outcome {
        Ok(run) => {
            // A new request id for the apply form that follows a dry run.
            let next = TransitionForm {
                request_id: random_token(),
                ..form
            };
            page(&ctx, session, &next, None, Some(&run))
        }
        Err(status) => {
            let refusal = Refusal::from(status);
            if refusal.code == tonic::Code::Unauthenticated {
                return ctx.refused(&refusal);
            }
            page(&ctx, session, &form, Some(&refusal), None)
        }
    }
}

fn page(
    ctx: &Ctx,
    session: &Session,
    form: &TransitionForm,
    refusal: Option<&Refusal>,
    run: Option<&Run>,
) -> Response {
    let lang = ctx.lang;
    let empty = FieldErrors::new();
    let errors = refusal.map_or(&empty, |r| &r.fields);
    let shown = ["county_code", "effective_date", "approval_document"];
    let alert = refusal.and_then(|r| {
        let unshown = r.unshown(&shown);
        (r.fields.is_empty() || !unshown.is_empty()).then(|| {
            std::iter::once(r.describe())
                .chain(unshown)
                .collect::<Vec<_>>()
                .join("; ")
        })
    });
    let body = html! {
        form.card #transition method="post" action="/transition" novalidate {
            (form_tokens(session, &form.request_id))
            (form_alert(alert.as_deref()))
            (text_field(lang.t("县区代码", "County code"), "county_code", &form.county_code, errors, "text"))
            (text_field(lang.t("生效日期", "Effective date"), "effective_date", &form.effective_date, errors, "date"))
            (text_field(lang.t("批准文号", "Approval document"), "approval_document", &form.approval_document, errors, "text"))
            button type="submit" name="action" value="dry_run" { (lang.t("试运行（不保存）", "Dry run (saves nothing)")) }
            @if run.is_some_and(|r| r.dry_run && r.summary.would_transition > 0) {
                " "
                button type="submit" name="action" value="apply" #apply { (lang.t("正式执行", "Apply")) }
            }
        }
        @if let Some(run) = run { (outcomes(lang, run)) }
    };
    let status = refusal.map_or(StatusCode::OK, Refusal::http_status);
    layout::page(
        &ctx.viewer(),
        status,
        lang.t("职称过渡", "Title transition"),
        body,
    )
}

fn outcomes(lang: Lang, run: &Run) -> Markup {
    let s = &run.summary;
    html! {
        section aria-labelledby="outcomes-h" {
            h2 #outcomes-h {
                @if run.dry_run { (lang.t("试运行结果（未保存）", "Dry run (nothing saved)")) } @else { (lang.t("执行结果", "Applied")) }
            }
            dl.details #summary {
                dt { (lang.t("选中", "Selected")) } dd { (s.selected) }
                dt { (lang.t("已过渡", "Transitioned")) } dd #transitioned { (s.transitioned) }
                dt { (lang.t("将过渡", "Would transition")) } dd #would { (s.would_transition) }
                dt { (lang.t("跳过", "Skipped")) } dd { (s.skipped) }
                dt { (lang.t("失败", "Failed")) } dd { (s.failed) }
            }
            table #outcomes {
                thead { tr {
                    th scope="col" { (lang.t("教师编号", "Registry number")) }
                    th scope="col" { (lang.t("结果", "Outcome")) }
                    th scope="col" { (lang.t("原职称", "Legacy title")) }
                    th scope="col" { (lang.t("新职称", "New tier")) }
                    th scope="col" { (lang.t("说明", "Detail")) }
                } }
                tbody {
                    @for r in &run.rows {
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
            }
        }
    }
}
