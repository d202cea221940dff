//! The window: today's queue and the overdue cases, by due date (ListCases); a case's page
//! with its steps, clocks and the next actions (AcceptCase, DecideCase) as forms; and the
//! printable notices, rendered by the same code as `teacher-registry case print`.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::case_service_server::CaseService as _;
use crate::auth::{permits, Rpc};
use crate::cli::{write_notice, Notice};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{
    self, county, form_alert, form_tokens, select_field, text_field, FieldErrors, Lang,
};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console, Ctx};

/// Cases shown per list.
const PAGE: i32 = 200;

pub(crate) async fn queue(State(console): State<Console>, ctx: Ctx) -> Response {
    let session = match ctx.signed_in() {
        Ok(session) => session,
        Err(response) => return *response,
    };
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
    let pending = pb::ListCasesRequest {
        states: open,
        page_size: PAGE,
        ..Default::default()
    };
    let (overdue, pending) = match (
        list(&console, session, overdue).await,
        list(&console, session, pending).await,
    ) {
        (Ok(o), Ok(p)) => (o, p),
        (Err(refusal), _) | (_, Err(refusal)) => return ctx.refused(&refusal),
    };
    let body = html! {
        section aria-labelledby="overdue-h" {
            h2 #overdue-h { (lang.t("已超期", "Overdue")) " (" (overdue.len()) ")" }
            (case_table(lang, &console, &overdue, "overdue"))
        }
        section aria-labelledby="queue-h" {
            h2 #queue-h { (lang.t("在办件（按承诺期限排序）", "Open cases, by due date")) " (" (pending.len()) ")" }
            (case_table(lang, &console, &pending, "queue"))
        }
    };
    layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("窗口办件", "Window cases"),
        body,
    )
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
) -> Response {
    let session = match ctx.signed_in() {
        Ok(session) => session,
        Err(response) => return *response,
    };
    case_page(&console, &ctx, session, &id, &StepForm::fresh(), None).await
}

/// A step's form, as submitted (the fields of the actions the page offers).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    etag: String,
    #[serde(default)]
    step_date: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    outcome: String,
    /// One reason a line.
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    reissue_reason: String,
    #[serde(default)]
    declaration_ref: String,
    #[serde(default)]
    certificate_number: String,
    #[serde(default)]
    certificate_kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    issuing_authority: String,
    #[serde(default)]
    certified_on: String,
}

impl StepForm {
    fn fresh() -> StepForm {
        StepForm {
            request_id: random_token(),
            ..StepForm::default()
        }
    }
}

pub(crate) async fn accept(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    let session = match ctx.form_session(&form.csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let request = pb::AcceptCaseRequest {
        case_id: id.clone(),
        etag: form.etag.clone(),
        step_date: form.step_date.clone(),
        note: form.note.clone(),
        request_id: form.request_id.clone(),
    };
    let result = console
        .cases
        .accept_case(signed(session, request))
        .await
        .map(|_| ());
    after_step(&console, &ctx, session, &id, &form, result).await
}

pub(crate) async fn decide(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Response {
    let session = match ctx.form_session(&form.csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let certificate = (!form.certificate_number.trim().is_empty()).then(|| pb::Certificate {
        certificate_number: form.certificate_number.clone(),
        kind: form.certificate_kind.parse().unwrap_or(0),
        subject: form.subject.clone(),
        issuing_authority: form.issuing_authority.clone(),
        certified_on: form.certified_on.clone(),
        ..Default::default()
    });
    let request = pb::DecideCaseRequest {
        case_id: id.clone(),
        outcome: form.outcome.parse().unwrap_or(0),
        reasons: form
            .reasons
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        certificate,
        reissue_reason: form.reissue_reason.parse().unwrap_or(0),
        declaration_ref: form.declaration_ref.clone(),
        etag: form.etag.clone(),
        step_date: form.step_date.clone(),
        note: form.note.clone(),
        request_id: form.request_id.clone(),
        ..Default::default()
    };
    let result = console
        .cases
        .decide_case(signed(session, request))
        .await
        .map(|_| ());
    after_step(&console, &ctx, session, &id, &form, result).await
}

/// Back to the case after a step, or its page again with the refusal beside the fields.
async fn after_step(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    form: &StepForm,
    result: Result<(), tonic::Status>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/cases/{}", percent(id))).into_response(),
        Err(status) => {
            let mut refusal = Refusal::from(status);
            if refusal.code == tonic::Code::Unauthenticated {
                return ctx.refused(&refusal);
            }
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
            case_page(console, ctx, session, id, form, Some(&refusal)).await
        }
    }
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

async fn case_page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    form: &StepForm,
    refusal: Option<&Refusal>,
) -> Response {
    let lang = ctx.lang;
    let case = match get(console, session, id).await {
        Ok(case) => case,
        Err(refusal) => return ctx.refused(&refusal),
    };
    let open = matches!(
        pb::CaseState::try_from(case.state),
        Ok(pb::CaseState::Accepted | pb::CaseState::Forwarded)
    );
    let role = session.principal.role;
    let body = html! {
        (summary(lang, console, &case))
        (steps(lang, &case))
        (notices(lang, &case))
        @if case.state == pb::CaseState::Received as i32 && permits(role, Rpc::AcceptCase) {
            (accept_form(lang, session, &case, form, refusal))
        }
        @if open && permits(role, Rpc::DecideCase) {
            (decide_form(lang, session, &case, form, refusal))
        }
    };
    let status = refusal.map_or(StatusCode::OK, Refusal::http_status);
    let title = format!("{} {}", lang.t("办件", "Case"), case.case_id);
    layout::page(&ctx.viewer(), status, &title, body)
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

/// The refusal's message when some of it has no field on the form.
fn alert(refusal: Option<&Refusal>, shown: &[&str]) -> Option<String> {
    refusal.and_then(|r| {
        let unshown = r.unshown(shown);
        (r.fields.is_empty() || !unshown.is_empty()).then(|| {
            std::iter::once(r.describe())
                .chain(unshown)
                .collect::<Vec<_>>()
                .join("; ")
        })
    })
}

fn accept_form(
    lang: Lang,
    session: &Session,
    c: &pb::Case,
    form: &StepForm,
    refusal: Option<&Refusal>,
) -> Markup {
    let empty = FieldErrors::new();
    let errors = refusal.map_or(&empty, |r| &r.fields);
    let shown = ["step_date", "note"];
    html! {
        section aria-labelledby="accept-h" {
            h2 #accept-h { (lang.t("受理", "Accept")) }
            form.card #accept method="post" action={ "/cases/" (percent(&c.case_id)) "/accept" } novalidate {
                (form_tokens(session, &form.request_id))
                input type="hidden" name="etag" value=(c.etag);
                (form_alert(alert(refusal, &shown).as_deref()))
                (text_field(lang.t("受理日期（默认今天）", "Date (today if empty)"), "step_date", &form.step_date, errors, "date"))
                (text_field(lang.t("说明", "Note"), "note", &form.note, errors, "text"))
                button type="submit" { (lang.t("受理", "Accept")) }
            }
        }
    }
}

fn decide_form(
    lang: Lang,
    session: &Session,
    c: &pb::Case,
    form: &StepForm,
    refusal: Option<&Refusal>,
) -> Markup {
    let empty = FieldErrors::new();
    let errors = refusal.map_or(&empty, |r| &r.fields);
    let kind = pb::CaseKind::try_from(c.kind).unwrap_or(pb::CaseKind::Unspecified);
    let mut shown = vec!["outcome", "reasons", "step_date", "note"];
    match kind {
        pb::CaseKind::Reissue => shown.extend(["reissue_reason", "declaration_ref"]),
        pb::CaseKind::Certification => shown.extend([
            "certificate_number",
            "certificate_kind",
            "subject",
            "issuing_authority",
            "certified_on",
        ]),
        _ => {}
    }
    let reasons_error = errors.get("reasons");
    html! {
        section aria-labelledby="decide-h" {
            h2 #decide-h { (lang.t("作出决定", "Decide")) }
            form.card #decide method="post" action={ "/cases/" (percent(&c.case_id)) "/decide" } novalidate {
                (form_tokens(session, &form.request_id))
                input type="hidden" name="etag" value=(c.etag);
                (form_alert(alert(refusal, &shown).as_deref()))
                (select_field(lang.t("决定", "Outcome"), "outcome", &labels::options(lang, labels::CASE_OUTCOMES), &form.outcome, errors))
                @if kind == pb::CaseKind::Reissue {
                    (select_field(lang.t("补发换发原因", "Reissue reason"), "reissue_reason", &labels::options(lang, labels::REISSUE_REASONS), &form.reissue_reason, errors))
                    (text_field(lang.t("遗失声明编号", "Self-declaration reference"), "declaration_ref", &form.declaration_ref, errors, "text"))
                }
                @if kind == pb::CaseKind::Certification {
                    (text_field(lang.t("证书号码", "Certificate number"), "certificate_number", &form.certificate_number, errors, "text"))
                    (select_field(lang.t("资格种类", "Kind"), "certificate_kind", &labels::options(lang, labels::CERTIFICATE_KINDS), &form.certificate_kind, errors))
                    (text_field(lang.t("任教学科", "Subject"), "subject", &form.subject, errors, "text"))
                    (text_field(lang.t("发证机关", "Issuing authority"), "issuing_authority", &form.issuing_authority, errors, "text"))
                    (text_field(lang.t("认定日期", "Certified on"), "certified_on", &form.certified_on, errors, "date"))
                }
                div.field {
                    label for="reasons" { (lang.t("理由（每行一条）", "Reasons (one a line)")) }
                    textarea #reasons name="reasons" rows="3" aria-invalid=[reasons_error.map(|_| "true")] { (form.reasons) }
                    @if let Some(e) = reasons_error { span.error { (e) } }
                }
                (text_field(lang.t("决定日期（默认今天）", "Date (today if empty)"), "step_date", &form.step_date, errors, "date"))
                (text_field(lang.t("说明", "Note"), "note", &form.note, errors, "text"))
                button type="submit" { (lang.t("作出决定", "Decide")) }
            }
        }
    }
}

/// A printable notice, by the CLI's own rendering (`case print`).
pub(crate) async fn notice(
    State(console): State<Console>,
    ctx: Ctx,
    Path((id, which)): Path<(String, String)>,
) -> Response {
    let session = match ctx.signed_in() {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let lang = ctx.lang;
    let notice = match which.as_str() {
        "receipt" => Notice::Receipt,
        "supplement" => Notice::Supplement,
        "decision" => Notice::Decision,
        _ => {
            return layout::message_page(
                &ctx.viewer(),
                StatusCode::NOT_FOUND,
                lang.t("未找到", "Not found"),
                &which,
            )
        }
    };
    let case = match get(&console, session, &id).await {
        Ok(case) => case,
        Err(refusal) => return ctx.refused(&refusal),
    };
    match write_notice(&case, notice, &console.bureau) {
        Ok(page) => ([(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response(),
        Err(error) => layout::message_page(
            &ctx.viewer(),
            StatusCode::CONFLICT,
            lang.t("尚无此文书", "No such notice yet"),
            &format!("{error:#}"),
        ),
    }
}
