//! The window: the overdue cases, those due within 3 working days and every open one, by
//! due date (ListCases); a case's page
//! with its steps and clocks, the forms of its next steps (`case_steps`); and the
//! printable notices, rendered by the same code as `teacher-registry case print`.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use crate::api::pb;
use crate::api::pb::case_service_server::CaseService as _;
use crate::auth::{permits, Rpc};
use crate::cli::{write_notice, Notice};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, county, Lang};
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx, Posted, Rejection};

pub(crate) use super::case_open::{form as open_form, open};
use super::case_steps::{self, Sent, StepForm};

/// "Due soon" on the queue: within this many working days.
const DUE_SOON: u32 = 3;

/// Cases shown per list.
const PAGE: i32 = 200;

pub(crate) async fn queue(State(console): State<Console>, ctx: Ctx) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let lang = ctx.lang;
    let open = [
        pb::CaseState::Received,
        pb::CaseState::Accepted,
        pb::CaseState::SupplementRequested,
        pb::CaseState::Forwarded,
    ]
    .map(|s| s as i32)
    .to_vec();
    let overdue = pb::ListCasesRequest {
        states: open.clone(),
        overdue: true,
        page_size: PAGE,
        ..Default::default()
    };
    let soon = pb::ListCasesRequest {
        states: open.clone(),
        due_within_working_days: DUE_SOON,
        page_size: PAGE,
        ..Default::default()
    };
    let pending = pb::ListCasesRequest {
        states: open,
        page_size: PAGE,
        ..Default::default()
    };
    let (overdue, soon, pending) = match (
        list(&console, session, overdue).await,
        list(&console, session, soon).await,
        list(&console, session, pending).await,
    ) {
        (Ok(o), Ok(s), Ok(p)) => (o, s, p),
        (Err(refusal), _, _) | (_, Err(refusal), _) | (_, _, Err(refusal)) => {
            return Err(ctx.refused(&refusal))
        }
    };
    let body = html! {
        @if permits(session.principal.role, Rpc::OpenCase) {
            p { a #new-case href="/cases/new" { (lang.t("窗口收件", "Receive an application")) } }
        }
        section aria-labelledby="overdue-h" {
            h2 #overdue-h { (lang.t("已超期", "Overdue")) " (" (overdue.len()) ")" }
            (case_table(lang, &console, &overdue, "overdue"))
        }
        section aria-labelledby="soon-h" {
            h2 #soon-h { (lang.t("3个工作日内到期", "Due within 3 working days")) " (" (soon.len()) ")" }
            (case_table(lang, &console, &soon, "soon"))
        }
        section aria-labelledby="queue-h" {
            h2 #queue-h { (lang.t("在办件（按承诺期限排序）", "Open cases, by due date")) " (" (pending.len()) ")" }
            (case_table(lang, &console, &pending, "queue"))
        }
    };
    Ok(layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("窗口办件", "Window cases"),
        body,
    ))
}

async fn list(
    console: &Console,
    session: &Session,
    request: pb::ListCasesRequest,
) -> Result<Vec<pb::Case>, Refusal> {
    Ok(console
        .cases
        .list_cases(signed(session, request))
        .await?
        .into_inner()
        .cases)
}

fn case_table(lang: Lang, console: &Console, cases: &[pb::Case], id: &str) -> Markup {
    html! {
        @if cases.is_empty() {
            p { (lang.t("无。", "None.")) }
        } @else {
            table id=(id) {
                thead { tr {
                    th scope="col" { (lang.t("办件编号", "Case")) }
                    th scope="col" { (lang.t("事项", "Kind")) }
                    th scope="col" { (lang.t("申请人", "Applicant")) }
                    th scope="col" { (lang.t("县区", "County")) }
                    th scope="col" { (lang.t("状态", "State")) }
                    th scope="col" { (lang.t("收件日期", "Received")) }
                    th scope="col" { (lang.t("承诺期限", "Due")) }
                    th scope="col" { (lang.t("已用工作日", "Working days used")) }
                } }
                tbody {
                    @for c in cases {
                        tr.overdue[c.overdue] {
                            td { a href={ "/cases/" (percent(&c.case_id)) } { (c.case_id) } }
                            td { (label(lang, labels::CASE_KINDS, c.kind)) }
                            td { (c.applicant_name) }
                            td { (county(&console.counties, &c.county_code)) }
                            td { (label(lang, labels::CASE_STATES, c.state)) }
                            td { (c.received_on) }
                            td { (c.due_on) @if c.overdue { " " strong { (lang.t("超期", "overdue")) } } }
                            td { (c.working_days_used) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn show(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    case_page(&console, &ctx, session, &id, None).await
}

async fn get(console: &Console, session: &Session, id: &str) -> Result<pb::Case, Refusal> {
    let request = pb::GetCaseRequest {
        case_id: id.to_string(),
    };
    Ok(console
        .cases
        .get_case(signed(session, request))
        .await?
        .into_inner()
        .case
        .unwrap_or_default())
}

pub(crate) async fn case_page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    sent: Option<Sent<'_>>,
) -> Result<Response, Rejection> {
    let lang = ctx.lang;
    let case = get(console, session, id)
        .await
        .map_err(|refusal| ctx.refused(&refusal))?;
    let body = html! {
        (summary(lang, console, &case))
        (steps(lang, &case))
        (notices(lang, &case))
        (case_steps::forms(lang, session, &case, sent))
    };
    let status = sent.map_or(StatusCode::OK, |s| s.refusal.http_status());
    let title = format!("{} {}", lang.t("办件", "Case"), case.case_id);
    Ok(layout::page(&ctx.viewer(), status, &title, body))
}

fn summary(lang: Lang, console: &Console, c: &pb::Case) -> Markup {
    html! {
        dl.details {
            dt { (lang.t("事项", "Kind")) } dd { (label(lang, labels::CASE_KINDS, c.kind)) }
            dt { (lang.t("状态", "State")) } dd #state { (label(lang, labels::CASE_STATES, c.state)) }
            @if c.outcome != 0 {
                dt { (lang.t("结果", "Outcome")) } dd #outcome { (label(lang, labels::CASE_OUTCOMES, c.outcome)) }
            }
            dt { (lang.t("申请人", "Applicant")) } dd { (c.applicant_name) }
            dt { (lang.t("县区", "County")) } dd { (county(&console.counties, &c.county_code)) }
            @if !c.teacher_id.is_empty() {
                dt { (lang.t("教师编号", "Registry number")) } dd { a href={ "/teachers/" (percent(&c.teacher_id)) } { (c.teacher_id) } }
            }
            @if !c.certificate_number.is_empty() {
                dt { (lang.t("证书号码", "Certificate")) } dd { (c.certificate_number) }
            }
            @if !c.assignee.is_empty() {
                dt { (lang.t("经办人", "Assignee")) } dd #assignee { (c.assignee) }
            }
            dt { (lang.t("收件日期", "Received")) } dd { (c.received_on) }
            dt { (lang.t("受理日期", "Accepted")) } dd { (c.accepted_on) }
            dt { (lang.t("承诺期限", "Due")) } dd { (c.due_on) @if c.overdue { " " strong { (lang.t("超期", "overdue")) } } }
            dt { (lang.t("法定期限", "Legal limit")) } dd { (c.legal_due_on) }
            dt { (lang.t("已用工作日", "Working days used")) } dd { (c.working_days_used) }
            dt { (lang.t("已收材料", "Materials")) } dd { (c.materials.join("、")) }
            @if !c.missing.is_empty() {
                dt { (lang.t("需补正", "Missing")) } dd { (c.missing.join("、")) }
            }
        }
    }
}

fn steps(lang: Lang, c: &pb::Case) -> Markup {
    html! {
        table #steps {
            caption { (lang.t("办理过程", "Steps")) }
            thead { tr {
                th scope="col" { (lang.t("步骤", "Step")) }
                th scope="col" { (lang.t("日期", "Date")) }
                th scope="col" { (lang.t("经办人", "By")) }
                th scope="col" { (lang.t("说明", "Note")) }
            } }
            tbody {
                @for s in &c.steps {
                    tr {
                        td { (label(lang, labels::CASE_ACTIONS, s.action)) }
                        td { (s.step_date) }
                        td { (s.principal) }
                        td { (s.note) }
                    }
                }
            }
        }
    }
}

fn notices(lang: Lang, c: &pb::Case) -> Markup {
    let base = format!("/cases/{}/notice", percent(&c.case_id));
    html! {
        nav.notices aria-label=(lang.t("打印文书", "Printable notices")) {
            @if !c.accepted_on.is_empty() {
                a href={ (base) "/receipt" } target="_blank" { (lang.t("受理通知书", "Acceptance receipt")) }
            }
            @if !c.pauses.is_empty() {
                a href={ (base) "/supplement" } target="_blank" { (lang.t("补正材料通知书", "Supplement notice")) }
            }
            @if !c.decided_on.is_empty() {
                a href={ (base) "/decision" } target="_blank" { (lang.t("决定书", "Decision notice")) }
            }
        }
    }
}

/// A printable notice, by the CLI's own rendering (`case print`).
pub(crate) async fn notice(
    State(console): State<Console>,
    ctx: Ctx,
    Path((id, which)): Path<(String, String)>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let lang = ctx.lang;
    let notice = match which.as_str() {
        "receipt" => Notice::Receipt,
        "supplement" => Notice::Supplement,
        "decision" => Notice::Decision,
        _ => return Err(ctx.unknown_action(&which)),
    };
    let case = get(&console, session, &id)
        .await
        .map_err(|refusal| ctx.refused(&refusal))?;
    Ok(match write_notice(&case, notice, &console.bureau) {
        Ok(page) => ([(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response(),
        Err(error) => layout::message_page(
            &ctx.viewer(),
            StatusCode::CONFLICT,
            lang.t("尚无此文书", "No such notice yet"),
            &format!("{error:#}"),
        ),
    })
}

/// Sends one step; back to the case, or its page with the refusal beside the fields.
pub(crate) async fn step(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    Posted { ctx, session, form }: Posted<StepForm>,
) -> Result<Response, Rejection> {
    let Some(&(action, _, _)) = case_steps::STEPS
        .iter()
        .find(|(name, _, _)| *name == action)
    else {
        return Err(ctx.unknown_action(&action));
    };
    let result = case_steps::send(&console.cases, &session, &id, action, &form).await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/cases/{}", percent(&id))).into_response()),
        Err(status) => {
            let mut refusal = ctx.form_refusal(status)?;
            // The certificate's fields are named `certificate.x` by the service.
            refusal.fields = refusal
                .fields
                .into_iter()
                .map(
                    |(field, message)| match field.strip_prefix("certificate.") {
                        Some("kind") => ("certificate_kind".to_string(), message),
                        Some(rest) => (rest.to_string(), message),
                        None => (field, message),
                    },
                )
                .collect();
            let sent = Sent {
                action,
                form: &form,
                refusal: &refusal,
            };
            case_page(&console, &ctx, &session, &id, Some(sent)).await
        }
    }
}
