//! What the caller may do to a teacher's certificates, as forms on the teacher's page:
//! reissue or replace (ReissueCertificate), periodic registration (RegisterCertificate)
//! and revocation (RevokeCertificate). A form is shown when the caller's role may call its
//! RPC (the RPC table) and the teacher has a certificate; the service decides the rest,
//! and its refusal comes back beside the fields of the form that was sent. Each form
//! carries the record's etag (a change by someone else since is refused, not overwritten)
//! and a request id (sent twice, it is one change).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{form_alert, form_tokens, FieldErrors, Fields, Lang};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console, Ctx};

/// The actions: path segment and RPC, in the order their forms appear.
const ACTIONS: [(&str, Rpc); 3] = [
    ("reissue", Rpc::ReissueCertificate),
    ("register", Rpc::RegisterCertificate),
    ("revoke", Rpc::RevokeCertificate),
];

/// An action's form, as submitted (the fields of every action; each uses its own).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    etag: String,
    #[serde(default)]
    certificate_number: String,
    /// Reissue: the ReissueReason number; revocation: the reason's text.
    #[serde(default)]
    reason: String,
    #[serde(default)]
    declaration_ref: String,
    #[serde(default)]
    issued_on: String,
    #[serde(default)]
    new_name: String,
    #[serde(default)]
    registered_on: String,
    #[serde(default)]
    approval_document: String,
    #[serde(default)]
    revoked_on: String,
}

/// The form last sent and the service's refusal of it.
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub(crate) action: &'static str,
    pub(crate) form: &'a ActionForm,
    pub(crate) refusal: &'a Refusal,
}

pub(crate) async fn act(
    State(console): State<Console>,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let session = match ctx.form_session(&form.csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let Some(&(action, _)) = ACTIONS.iter().find(|(name, _)| *name == action) else {
        return super::cases::not_a_step(&ctx, &action);
    };
    match send(&console, session, action, &form).await {
        Ok(()) => {
            Redirect::to(&format!("/teachers/{}?done={action}", percent(&id))).into_response()
        }
        Err(status) => {
            let refusal = Refusal::from(status);
            if refusal.code == tonic::Code::Unauthenticated {
                return ctx.refused(&refusal);
            }
            let sent = Sent {
                action,
                form: &form,
                refusal: &refusal,
            };
            super::teachers::teacher_page(&console, &ctx, session, &id, Some(sent), "").await
        }
    }
}

async fn send(
    console: &Console,
    session: &Session,
    action: &str,
    f: &ActionForm,
) -> Result<(), tonic::Status> {
    let registry = &console.registry;
    let (certificate_number, etag, request_id) = (
        f.certificate_number.clone(),
        f.etag.clone(),
        f.request_id.clone(),
    );
    match action {
        "reissue" => {
            let r = pb::ReissueCertificateRequest {
                certificate_number,
                reason: f.reason.parse().unwrap_or(0),
                declaration_ref: f.declaration_ref.clone(),
                issued_on: f.issued_on.clone(),
                new_name: f.new_name.clone(),
                etag,
                request_id,
            };
            registry
                .reissue_certificate(signed(session, r))
                .await
                .map(drop)
        }
        "register" => {
            let r = pb::RegisterCertificateRequest {
                certificate_number,
                registered_on: f.registered_on.clone(),
                etag,
                request_id,
            };
            registry
                .register_certificate(signed(session, r))
                .await
                .map(drop)
        }
        _ => {
            let r = pb::RevokeCertificateRequest {
                certificate_number,
                reason: f.reason.clone(),
                approval_document: f.approval_document.clone(),
                revoked_on: f.revoked_on.clone(),
                etag,
                request_id,
            };
            registry
                .revoke_certificate(signed(session, r))
                .await
                .map(drop)
        }
    }
}

/// What a successful action's page says.
pub(crate) fn done(lang: Lang, action: &str) -> Option<&'static str> {
    match action {
        "reissue" => Some(lang.t("已补发换发证书。", "The certificate was reissued.")),
        "register" => Some(lang.t("已办理定期注册。", "The registration was recorded.")),
        "revoke" => Some(lang.t("已撤销证书。", "The certificate was revoked.")),
        _ => None,
    }
}

/// The forms of the actions the caller's role may take on `teacher`'s certificates.
pub(crate) fn forms(
    lang: Lang,
    session: &Session,
    teacher: &pb::Teacher,
    sent: Option<Sent<'_>>,
) -> Markup {
    let fresh = ActionForm {
        request_id: random_token(),
        ..ActionForm::default()
    };
    let empty = FieldErrors::new();
    html! {
        @if !teacher.certificates.is_empty() {
            @for (action, rpc) in ACTIONS {
                @if permits(session.principal.role, rpc) {
                    @let mine = sent.filter(|s| s.action == action);
                    (action_form(lang, session, teacher, action,
                        mine.map_or(&fresh, |s| s.form),
                        mine.map_or(&empty, |s| &s.refusal.fields),
                        mine.map(|s| s.refusal)))
                }
            }
        }
    }
}

fn action_form(
    lang: Lang,
    session: &Session,
    teacher: &pb::Teacher,
    action: &'static str,
    form: &ActionForm,
    errors: &FieldErrors,
    refusal: Option<&Refusal>,
) -> Markup {
    let fields = Fields::new(action, errors);
    let numbers: Vec<(String, String)> = teacher
        .certificates
        .iter()
        .map(|c| {
            (
                c.certificate_number.clone(),
                format!(
                    "{} {}",
                    c.certificate_number,
                    label(lang, labels::CERTIFICATE_KINDS, c.kind)
                ),
            )
        })
        .collect();
    let chosen = match form.certificate_number.as_str() {
        "" => numbers.first().map(|(n, _)| n.clone()).unwrap_or_default(),
        n => n.to_string(),
    };
    let (title, body, shown): (&str, Markup, &[&str]) = match action {
        "reissue" => (
            lang.t("补发换发证书", "Reissue a certificate"),
            html! {
                (fields.select(lang.t("原因", "Reason"), "reason", &labels::options(lang, labels::REISSUE_REASONS), &form.reason))
                (fields.text(lang.t("遗失声明（自愿声明）编号", "Self-declaration reference (for a lost certificate)"), "declaration_ref", &form.declaration_ref, "text"))
                (fields.text(lang.t("补发日期", "Issued on"), "issued_on", &form.issued_on, "date"))
                (fields.text(lang.t("新姓名（仅信息变更）", "New name (details changed only)"), "new_name", &form.new_name, "text"))
            },
            &["reason", "declaration_ref", "issued_on", "new_name"],
        ),
        "register" => (
            lang.t("定期注册", "Periodic registration"),
            fields.text(
                lang.t("注册日期", "Registered on"),
                "registered_on",
                &form.registered_on,
                "date",
            ),
            &["registered_on"],
        ),
        _ => (
            lang.t("撤销证书", "Revoke a certificate"),
            html! {
                (fields.text(lang.t("撤销理由", "Reason"), "reason", &form.reason, "text"))
                (fields.text(lang.t("批准文号", "Approval document"), "approval_document", &form.approval_document, "text"))
                (fields.text(lang.t("撤销日期", "Revoked on"), "revoked_on", &form.revoked_on, "date"))
            },
            &["reason", "approval_document", "revoked_on"],
        ),
    };
    let mut shown = shown.to_vec();
    shown.push("certificate_number");
    let alert = refusal.and_then(|r| {
        let unshown = r.unshown(&shown);
        (r.fields.is_empty() || !unshown.is_empty()).then(|| {
            std::iter::once(r.describe())
                .chain(unshown)
                .collect::<Vec<_>>()
                .join("; ")
        })
    });
    let heading = format!("{action}-h");
    html! {
        section aria-labelledby=(heading) {
            h2 id=(heading) { (title) }
            form.card id=(action) method="post" action={ "/teachers/" (percent(&teacher.teacher_id)) "/" (action) } novalidate {
                (form_tokens(session, &form.request_id))
                input type="hidden" name="etag" value=(teacher.etag);
                (form_alert(alert.as_deref()))
                (fields.select(lang.t("证书", "Certificate"), "certificate_number", &numbers, &chosen))
                (body)
                button type="submit" { (title) }
            }
        }
    }
}
