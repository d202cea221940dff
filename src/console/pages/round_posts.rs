//! Every form posted on the round pages: opening a round, applying, and the batch steps
//! (publicity, the committee's results file, confirmation). Each sends its request and
//! answers with the round's page, the service's refusal beside the fields it names. The
//! forms themselves are drawn by `round_forms` and `round_batch`.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::api::pb;
use crate::api::pb::evaluation_service_server::EvaluationService as _;
use crate::console::call::{signed, Refusal};
use crate::console::layout::{self, FieldErrors};
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx, Posted, Rejection};

use super::round_batch::{BatchForm, Done, Sent};
use super::round_forms::{open_section, ApplyForm, Extra, OpenForm};
use super::round_parts::finder;
use super::rounds::round_page;

/// `POST /rounds/{id}/publicity` and `/rounds/{id}/confirm`.
pub(crate) async fn act(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    Posted { ctx, session, form }: Posted<BatchForm>,
) -> Result<Response, Rejection> {
    let action = match action.as_str() {
        "publicity" => "publicity",
        "confirm" => "confirm",
        other => return Err(ctx.unknown_action(other)),
    };
    let answer = match action {
        "publicity" => publicity(&console, &session, &id, &form).await,
        _ => confirm(&console, &session, &id, &form).await,
    };
    answered(&console, &ctx, &session, &id, action, &form, answer).await
}

/// `POST /rounds/{id}/committee`: a multipart form with the file.
pub(crate) async fn committee(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, Rejection> {
    let (csrf, form, file) = read_upload(multipart)
        .await
        .map_err(|_| ctx.csrf_refused())?;
    let session = ctx.form_session(&csrf)?;
    let answer = match file {
        None => Err(file_refusal(ctx.lang.t(
            "请选择评审结果文件（CSV 或 XLSX）",
            "Choose the committee's results file (CSV or XLSX)",
        ))),
        Some((name, bytes)) => match crate::cli::read_committee_bytes(&name, &bytes) {
            Err(e) => Err(file_refusal(&format!("{e:#}"))),
            Ok(rows) => {
                let request = pb::RecordCommitteeResultsRequest {
                    round_id: id.clone(),
                    rows,
                    step_date: form.step_date.clone(),
                    note: form.note.clone(),
                    request_id: form.request_id.clone(),
                };
                console
                    .evaluation
                    .record_committee_results(signed(session, request))
                    .await
                    .map(|r| Done {
                        action: "committee",
                        outcomes: r.into_inner().outcomes,
                        summary: None,
                    })
                    .map_err(Refusal::from)
            }
        },
    };
    answered(&console, &ctx, session, &id, "committee", &form, answer).await
}

/// The file could not be read: the refusal sits beside the file field, as the command
/// would have said it before sending anything.
fn file_refusal(message: &str) -> Refusal {
    let mut fields = FieldErrors::new();
    fields.insert("file".into(), message.to_string());
    Refusal {
        code: tonic::Code::InvalidArgument,
        message: message.to_string(),
        reason: String::new(),
        fields,
    }
}

/// The CSRF token, the form fields and the uploaded file (name and bytes) of a multipart
/// form.
pub(crate) async fn read_upload(
    mut multipart: Multipart,
) -> Result<(String, BatchForm, Option<(String, Vec<u8>)>), axum::extract::multipart::MultipartError>
{
    let mut csrf = String::new();
    let mut form = BatchForm::default();
    let mut file = None;
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let bytes = field.bytes().await?;
            if !file_name.is_empty() || !bytes.is_empty() {
                file = Some((file_name, bytes.to_vec()));
            }
            continue;
        }
        let text = field.text().await?;
        match name.as_str() {
            "csrf" => csrf = text,
            "request_id" => form.request_id = text,
            "step_date" => form.step_date = text,
            "note" => form.note = text,
            _ => {}
        }
    }
    Ok((csrf, form, file))
}

async fn answered(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    action: &'static str,
    form: &BatchForm,
    answer: Result<Done, Refusal>,
) -> Result<Response, Rejection> {
    let extra = Extra::default();
    match answer {
        Ok(done) => round_page(console, ctx, session, id, None, Some(&done), extra).await,
        Err(refusal) => {
            let refusal = ctx.form_refusal(refusal)?;
            let sent = Sent {
                action,
                form,
                refusal: &refusal,
            };
            round_page(console, ctx, session, id, Some(sent), None, extra).await
        }
    }
}

async fn publicity(
    console: &Console,
    session: &Session,
    id: &str,
    form: &BatchForm,
) -> Result<Done, Refusal> {
    let request = pb::OpenPublicityRequest {
        round_id: id.to_string(),
        application_ids: Vec::new(),
        step_date: form.step_date.clone(),
        note: form.note.clone(),
        request_id: form.request_id.clone(),
    };
    let outcomes = console
        .evaluation
        .open_publicity(signed(session, request))
        .await?
        .into_inner()
        .outcomes;
    Ok(Done {
        action: "publicity",
        outcomes,
        summary: None,
    })
}

/// Confirms the round, reading its stream of outcomes to the summary.
async fn confirm(
    console: &Console,
    session: &Session,
    id: &str,
    form: &BatchForm,
) -> Result<Done, Refusal> {
    let request = pb::ConfirmApplicationsRequest {
        round_id: id.to_string(),
        application_ids: Vec::new(),
        approval_document: form.approval_document.clone(),
        step_date: form.step_date.clone(),
        note: form.note.clone(),
        request_id: form.request_id.clone(),
    };
    let mut stream = console
        .evaluation
        .confirm_applications(signed(session, request))
        .await?
        .into_inner();
    let mut done = Done {
        action: "confirm",
        outcomes: Vec::new(),
        summary: None,
    };
    while let Some(message) = tokio_stream::StreamExt::next(&mut stream).await {
        match message?.result {
            Some(pb::confirm_applications_response::Result::Outcome(o)) => done.outcomes.push(o),
            Some(pb::confirm_applications_response::Result::Summary(s)) => done.summary = Some(s),
            None => {}
        }
    }
    Ok(done)
}

/// `POST /rounds`: opens a round, then its page.
pub(crate) async fn open(
    State(console): State<Console>,
    Posted { ctx, session, form }: Posted<OpenForm>,
) -> Result<Response, Rejection> {
    let answer = match form.request() {
        Err(refusal) => Err(refusal),
        Ok(request) => console
            .evaluation
            .create_evaluation_round(signed(&session, request))
            .await
            .map_err(Refusal::from),
    };
    match answer {
        Ok(created) => {
            let id = created.into_inner().round.unwrap_or_default().round_id;
            Ok(Redirect::to(&format!("/rounds/{}", percent(&id))).into_response())
        }
        Err(refusal) => {
            let refusal = ctx.form_refusal(refusal)?;
            let status = refusal.http_status();
            let body = html! {
                (finder(ctx.lang))
                (open_section(ctx.lang, &session, Some((&form, &refusal))))
            };
            Ok(layout::page(
                &ctx.viewer(),
                status,
                ctx.lang.t("职称评审", "Title evaluation"),
                body,
            ))
        }
    }
}

/// `POST /rounds/{id}/apply`: the application's page, or the round's with the refusal.
pub(crate) async fn apply(
    State(console): State<Console>,
    Path(id): Path<String>,
    Posted { ctx, session, form }: Posted<ApplyForm>,
) -> Result<Response, Rejection> {
    let request = pb::ApplyForTitleRequest {
        round_id: id.clone(),
        teacher_id: form.teacher_id.trim().to_string(),
        exceptional_grounds: form.exceptional_grounds.clone(),
        applied_on: form.applied_on.clone(),
        note: form.note.clone(),
        request_id: form.request_id.clone(),
    };
    match console
        .evaluation
        .apply_for_title(signed(&session, request))
        .await
    {
        Ok(applied) => {
            let application = applied.into_inner().application.unwrap_or_default();
            Ok(Redirect::to(&format!(
                "/applications/{}",
                percent(&application.application_id)
            ))
            .into_response())
        }
        Err(status) => {
            let refusal = ctx.form_refusal(status)?;
            let extra = Extra {
                apply: Some((&form, &refusal)),
                eligibility: None,
                pages: "",
            };
            round_page(&console, &ctx, &session, &id, None, None, extra).await
        }
    }
}
