//! A title application's page (GetTitleApplication): the applicant, the round, its step,
//! its publicity periods, its objections each with its handling, the committee's vote and
//! every step taken; and the forms of what may be done to it: record an objection
//! (RecordObjection), handle one (HandleObjection: upheld closes the application,
//! rejected lets it go on), close it as withdrawn or ineligible (CloseTitleApplication).
//! Each form carries the application's etag and a request id.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb::evaluation_service_server::EvaluationService as _;
use crate::api::{pb, EvaluationService};
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{
    self, county, form_tokens, step_section, FieldErrors, Fields, Lang, StepFields,
};
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx, Posted, Rejection};

use super::round_parts::step;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct StepForm {
    #[serde(flatten)]
    step: StepFields,
    text: String,
    objection_index: String,
    /// `upheld` or `rejected`.
    decision: String,
    /// A CloseReason number.
    reason: String,
}

#[derive(Clone, Copy)]
struct Sent<'a> {
    action: &'a str,
    form: &'a StepForm,
    refusal: &'a Refusal,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Shown {
    done: String,
}

/// `/applications/{id}`.
pub(crate) async fn show(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    page(&console, &ctx, session, &id, None, &shown.done).await
}

/// `POST /applications/{id}/{object|handle|close}`.
pub(crate) async fn act(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    Posted { ctx, session, form }: Posted<StepForm>,
) -> Result<Response, Rejection> {
    if !["object", "handle", "close"].contains(&action.as_str()) {
        return Err(ctx.unknown_action(&action));
    }
    match send(&console.evaluation, &session, &id, &action, &form).await {
        Ok(()) => Ok(
            Redirect::to(&format!("/applications/{}?done={action}", percent(&id))).into_response(),
        ),
        Err(status) => {
            let refusal = ctx.form_refusal(status)?;
            let sent = Sent {
                action: &action,
                form: &form,
                refusal: &refusal,
            };
            page(&console, &ctx, &session, &id, Some(sent), "").await
        }
    }
}

async fn send(
    service: &EvaluationService,
    session: &Session,
    id: &str,
    action: &str,
    f: &StepForm,
) -> Result<(), tonic::Status> {
    let application_id = id.to_string();
    let StepFields {
        request_id,
        etag,
        step_date,
        note,
    } = f.step.clone();
    match action {
        "object" => {
            let r = pb::RecordObjectionRequest {
                application_id,
                etag,
                step_date,
                text: f.text.clone(),
                note,
                request_id,
            };
            service.record_objection(signed(session, r)).await.map(drop)
        }
        "handle" => {
            let r = pb::HandleObjectionRequest {
                application_id,
                etag,
                step_date,
                objection_index: f.objection_index.parse().unwrap_or(u32::MAX),
                upheld: f.decision == "upheld",
                note,
                request_id,
            };
            service.handle_objection(signed(session, r)).await.map(drop)
        }
        _ => {
            let r = pb::CloseTitleApplicationRequest {
                application_id,
                etag,
                step_date,
                reason: f.reason.parse().unwrap_or(0),
                note,
                request_id,
            };
            service
                .close_title_application(signed(session, r))
                .await
                .map(drop)
        }
    }
}

async fn page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    sent: Option<Sent<'_>>,
    done: &str,
) -> Result<Response, Rejection> {
    let lang = ctx.lang;
    let application = console
        .evaluation
        .get_title_application(signed(
            session,
            pb::GetTitleApplicationRequest {
                application_id: id.to_string(),
            },
        ))
        .await
        .map_err(|status| ctx.refused(&status.into()))?
        .into_inner()
        .application
        .unwrap_or_default();
    let a = &application;
    let done = match done {
        "object" => Some(lang.t("已登记异议。", "The objection was recorded.")),
        "handle" => Some(lang.t(
            "已登记异议处理结果。",
            "The objection's handling was recorded.",
        )),
        "close" => Some(lang.t("申报已关闭。", "The application was closed.")),
        _ => None,
    };
    let body = html! {
        @if let Some(done) = done { p.done role="status" #done { (done) } }
        dl.details #application {
            dt { (lang.t("申报编号", "Application")) } dd.code { (a.application_id) }
            dt { (lang.t("评审批次", "Round")) } dd { a href={ "/rounds/" (percent(&a.round_id)) } { (a.round_id) } }
            dt { (lang.t("申报人", "Applicant")) } dd { a href={ "/teachers/" (percent(&a.teacher_id)) } { (a.applicant_name) } }
            dt { (lang.t("县区", "County")) } dd { (county(&console.counties, &a.county_code)) }
            dt { (lang.t("学校", "School")) } dd { (a.school) }
            dt { (lang.t("申报职称", "Tier")) } dd { (label(lang, labels::TITLE_TIERS, a.from_tier)) " → " (label(lang, labels::TITLE_TIERS, a.target_tier)) }
            @if !a.exceptional_grounds.is_empty() {
                dt { (lang.t("破格理由", "Exceptional grounds")) } dd { (a.exceptional_grounds) }
            }
            dt { (lang.t("申报日期", "Applied on")) } dd { (a.applied_on) }
            dt { (lang.t("环节", "Step")) } dd #step { (step(lang, a)) }
            @for p in &a.publicity {
                dt { (label(lang, labels::PUBLICITY_STAGES, p.stage)) } dd { (p.starts_on) " – " (p.ends_on) }
            }
            @if let Some(v) = &a.vote {
                @if v.present > 0 {
                    dt { (lang.t("评审表决", "Committee vote")) }
                    dd { (lang.t("赞成", "for")) " " (v.votes_for) "，" (lang.t("反对", "against")) " " (v.against) "，" (lang.t("弃权", "abstain")) " " (v.abstain) "，" (lang.t("到会", "present")) " " (v.present) }
                }
            }
            @if !a.confirmed_on.is_empty() {
                dt { (lang.t("确认", "Confirmed")) } dd { (a.confirmed_on) " " (a.approval_document) }
            }
        }
        (objections(lang, a))
        (forms(lang, session, a, sent))
        (steps(lang, a))
    };
    let status = sent.map_or(StatusCode::OK, |s| s.refusal.http_status());
    Ok(layout::page(
        &ctx.viewer(),
        status,
        lang.t("职称申报", "Title application"),
        body,
    ))
}

fn objections(lang: Lang, a: &pb::TitleApplication) -> Markup {
    html! {
        section aria-labelledby="objections-h" {
            h2 #objections-h { (lang.t("异议", "Objections")) " (" (a.objections.len()) ")" }
            @if !a.objections.is_empty() {
                table #objections {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (lang.t("公示", "Publicity")) }
                        th scope="col" { (lang.t("提出日期", "Raised on")) }
                        th scope="col" { (lang.t("内容", "Text")) }
                        th scope="col" { (lang.t("登记人", "Recorded by")) }
                        th scope="col" { (lang.t("处理", "Handling")) }
                    } }
                    tbody {
                        @for (i, o) in a.objections.iter().enumerate() {
                            tr {
                                td { (i) }
                                td { (label(lang, labels::PUBLICITY_STAGES, o.stage)) }
                                td { (o.raised_on) }
                                td { (o.text) }
                                td { (o.recorded_by) }
                                td.handling {
                                    @if o.handled {
                                        @if o.upheld { (lang.t("异议成立", "Upheld")) } @else { (lang.t("异议不成立", "Rejected")) }
                                        " " (o.handled_on) " " (o.handled_by) "：" (o.handling_note)
                                    } @else {
                                        (lang.t("待处理", "Pending"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn steps(lang: Lang, a: &pb::TitleApplication) -> Markup {
    html! {
        section aria-labelledby="steps-h" {
            h2 #steps-h { (lang.t("办理过程", "Steps")) }
            table #steps {
                thead { tr {
                    th scope="col" { (lang.t("日期", "On")) }
                    th scope="col" { (lang.t("环节", "Step")) }
                    th scope="col" { (lang.t("经办人", "By")) }
                    th scope="col" { (lang.t("备注", "Note")) }
                } }
                tbody {
                    @for s in &a.steps {
                        tr { td { (s.on) } td { (label(lang, labels::APPLICATION_ACTIONS, s.action)) } td { (s.principal) } td { (s.note) } }
                    }
                }
            }
        }
    }
}

fn forms(
    lang: Lang,
    session: &Session,
    a: &pb::TitleApplication,
    sent: Option<Sent<'_>>,
) -> Markup {
    let open = a.state != pb::ApplicationState::Closed as i32
        && a.state != pb::ApplicationState::Confirmed as i32;
    let fresh = StepForm {
        step: StepFields::fresh(),
        ..StepForm::default()
    };
    let empty = FieldErrors::new();
    let pending: Vec<(String, String)> = a
        .objections
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.handled)
        .map(|(i, o)| (i.to_string(), format!("#{i} {}", o.text)))
        .collect();
    let actions: [(&str, Rpc, bool); 3] = [
        ("object", Rpc::RecordObjection, open),
        ("handle", Rpc::HandleObjection, open && !pending.is_empty()),
        ("close", Rpc::CloseTitleApplication, open),
    ];
    html! {
        @for (action, rpc, applies) in actions {
            @if applies && permits(session.principal.role, rpc) {
                @let mine = sent.filter(|s| s.action == action);
                @let form = mine.map_or(&fresh, |s| s.form);
                @let errors = mine.map_or(&empty, |s| &s.refusal.fields);
                (step_form(lang, session, a, action, form, errors, mine.map(|s| s.refusal), &pending))
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn step_form(
    lang: Lang,
    session: &Session,
    a: &pb::TitleApplication,
    action: &str,
    form: &StepForm,
    errors: &FieldErrors,
    refusal: Option<&Refusal>,
    pending: &[(String, String)],
) -> Markup {
    let fields = Fields::new(action, errors);
    let date = fields.step_date(lang, &form.step.step_date);
    let (title, body, shown): (&str, Markup, &[&str]) = match action {
        "object" => (
            lang.t("登记异议", "Record an objection"),
            html! {
                (fields.textarea(lang.t("异议内容", "What the objection says"), "text", &form.text))
                (date)
                (fields.text(lang.t("备注", "Note"), "note", &form.step.note, "text"))
            },
            &["text", "step_date", "note"],
        ),
        "handle" => {
            let decisions = vec![
                (
                    "rejected".to_string(),
                    lang.t(
                        "异议不成立（继续评审）",
                        "Rejected (the application goes on)",
                    )
                    .to_string(),
                ),
                (
                    "upheld".to_string(),
                    lang.t("异议成立（关闭申报）", "Upheld (closes the application)")
                        .to_string(),
                ),
            ];
            (
                lang.t("处理异议", "Handle an objection"),
                html! {
                    (fields.select(lang.t("异议", "Objection"), "objection_index", pending, &form.objection_index))
                    (fields.select(lang.t("处理结果", "Decision"), "decision", &decisions, &form.decision))
                    (fields.textarea(lang.t("核查情况", "How it was looked into"), "note", &form.step.note))
                    (date)
                },
                &["objection_index", "upheld", "note", "step_date"],
            )
        }
        _ => {
            let reasons = vec![
                (String::new(), "—".to_string()),
                (
                    (pb::CloseReason::Withdrawn as i32).to_string(),
                    label(lang, labels::CLOSE_REASONS, 1),
                ),
                (
                    (pb::CloseReason::Ineligible as i32).to_string(),
                    label(lang, labels::CLOSE_REASONS, 2),
                ),
            ];
            (
                lang.t("关闭申报", "Close the application"),
                html! {
                    (fields.select(lang.t("原因", "Reason"), "reason", &reasons, &form.reason))
                    (fields.textarea(lang.t("说明", "Why"), "note", &form.step.note))
                    (date)
                },
                &["reason", "note", "step_date"],
            )
        }
    };
    let alert = refusal.and_then(|r| r.alert(shown));
    step_section(
        &format!("/applications/{}", percent(&a.application_id)),
        &a.etag,
        action,
        title,
        form_tokens(session, &form.step.request_id),
        alert.as_deref(),
        body,
    )
}
