//! Receiving an application at the window (OpenCase): the kind, the county, the
//! certificate a reissue or registration is about, or, for a certification, the applicant
//! (a person the registry may not know yet), and the materials received. The case's page
//! follows, with its next steps.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::case_service_server::CaseService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, Labels};
use crate::console::layout::{self, form_alert, form_tokens, FieldErrors, Fields};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console, Ctx, Posted, Rejection};

const DOCUMENT_TYPES: Labels = &[
    (1, "居民身份证", "Resident identity card"),
    (2, "护照", "Passport"),
    (3, "港澳居民来往内地通行证", "Hong Kong / Macao permit"),
    (4, "台湾居民来往大陆通行证", "Taiwan permit"),
    (5, "其他", "Other"),
];

/// The form's fields, named as the case's (and its applicant's) fields are.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct OpenForm {
    request_id: String,
    kind: String,
    county_code: String,
    certificate_number: String,
    certificate_kind: String,
    name: String,
    id_document_type: String,
    national_id: String,
    gender: String,
    birth_date: String,
    school: String,
    /// One a line.
    materials: String,
    received_on: String,
    note: String,
}

pub(crate) async fn form(ctx: Ctx) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let form = OpenForm {
        request_id: random_token(),
        id_document_type: "1".into(),
        county_code: session.own_county_code(),
        ..OpenForm::default()
    };
    Ok(page(&ctx, session, &form, None))
}

pub(crate) async fn open(
    State(console): State<Console>,
    Posted { ctx, session, form }: Posted<OpenForm>,
) -> Result<Response, Rejection> {
    let number = |raw: &str| raw.parse().unwrap_or(0);
    let applicant =
        (!form.name.trim().is_empty() || !form.national_id.trim().is_empty()).then(|| {
            pb::Teacher {
                id_document_type: number(&form.id_document_type),
                national_id: form.national_id.trim().to_string(),
                name: form.name.trim().to_string(),
                gender: number(&form.gender),
                birth_date: form.birth_date.clone(),
                county_code: form.county_code.trim().to_string(),
                school: form.school.clone(),
                employment_status: pb::EmploymentStatus::Active as i32,
                ..Default::default()
            }
        });
    let request = pb::OpenCaseRequest {
        case: Some(pb::Case {
            kind: number(&form.kind),
            county_code: form.county_code.trim().to_string(),
            applicant,
            certificate_kind: number(&form.certificate_kind),
            certificate_number: form.certificate_number.trim().to_string(),
            materials: form
                .materials
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            received_on: form.received_on.clone(),
            ..Default::default()
        }),
        note: form.note.clone(),
        request_id: form.request_id.clone(),
    };
    match console.cases.open_case(signed(&session, request)).await {
        Ok(response) => {
            let id = response
                .into_inner()
                .case
                .map(|c| c.case_id)
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/cases/{}", percent(&id))).into_response())
        }
        Err(status) => {
            let mut refusal = ctx.form_refusal(status)?;
            // The service names fields by their path in the request: case.applicant.name.
            refusal.fields = refusal
                .fields
                .into_iter()
                .map(|(field, message)| {
                    let short = field.strip_prefix("case.").unwrap_or(&field);
                    let short = short.strip_prefix("applicant.").unwrap_or(short);
                    (short.to_string(), message)
                })
                .collect();
            Ok(page(&ctx, &session, &form, Some(&refusal)))
        }
    }
}

fn page(ctx: &Ctx, session: &Session, form: &OpenForm, refusal: Option<&Refusal>) -> Response {
    let lang = ctx.lang;
    let empty = FieldErrors::new();
    let errors = refusal.map_or(&empty, |r| &r.fields);
    let fields = Fields::new("", errors);
    let shown = [
        "kind",
        "county_code",
        "certificate_number",
        "certificate_kind",
        "name",
        "id_document_type",
        "national_id",
        "gender",
        "birth_date",
        "school",
        "materials",
        "received_on",
        "note",
    ];
    let alert = refusal.and_then(|r| r.alert(&shown));
    let body = html! {
        form.card #open method="post" action="/cases/new" novalidate {
            (form_tokens(session, &form.request_id))
            (form_alert(alert.as_deref()))
            (fields.select(lang.t("事项", "Kind"), "kind", &labels::options(lang, labels::CASE_KINDS), &form.kind))
            (fields.text(lang.t("县区代码", "County code"), "county_code", &form.county_code, "text"))
            fieldset {
                legend { (lang.t("补发换发、定期注册：证书", "Reissue or registration: the certificate")) }
                (fields.text(lang.t("证书号码", "Certificate number"), "certificate_number", &form.certificate_number, "text"))
            }
            fieldset {
                legend { (lang.t("资格认定：申请人", "Certification: the applicant")) }
                (fields.select(lang.t("申请资格种类", "Certificate kind"), "certificate_kind", &labels::options(lang, labels::CERTIFICATE_KINDS), &form.certificate_kind))
                (fields.text(lang.t("姓名", "Name"), "name", &form.name, "text"))
                (fields.select(lang.t("证件类型", "Identity document"), "id_document_type", &labels::options(lang, DOCUMENT_TYPES), &form.id_document_type))
                (fields.text(lang.t("证件号码", "Identity number"), "national_id", &form.national_id, "text"))
                (fields.select(lang.t("性别", "Gender"), "gender", &labels::options(lang, labels::GENDERS), &form.gender))
                (fields.text(lang.t("出生日期", "Birth date"), "birth_date", &form.birth_date, "date"))
                (fields.text(lang.t("学校", "School"), "school", &form.school, "text"))
            }
            (fields.textarea(lang.t("已收材料（每行一项）", "Materials received (one a line)"), "materials", &form.materials))
            (fields.text(lang.t("收件日期（默认今天）", "Received on (today if empty)"), "received_on", &form.received_on, "date"))
            (fields.text(lang.t("说明", "Note"), "note", &form.note, "text"))
            button type="submit" { (lang.t("收件", "Receive the application")) }
        }
    };
    let status = refusal.map_or(StatusCode::OK, Refusal::http_status);
    layout::page(
        &ctx.viewer(),
        status,
        lang.t("窗口收件", "Receive an application"),
        body,
    )
}
