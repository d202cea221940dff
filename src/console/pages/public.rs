//! The pages open to everyone: sign-in and sign-out, the language switch, and the public
//! verification of a certificate, which answers exactly what VerifyCertificate answers
//! (and is limited per source address by the same limiter), or a scanned credential,
//! answering what CheckCredential answers (`credential_check`).

use axum::extract::{Multipart, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use tonic::metadata::{MetadataMap, MetadataValue};

use crate::api::pb;
use crate::api::pb::credential_service_server::CredentialService as _;
use crate::api::pb::verification_service_server::VerificationService as _;
use crate::console::call::{self, Refusal};
use crate::console::labels::{label, CERTIFICATE_KINDS, VERIFY_STATUSES};
use crate::console::layout::{self, form_alert, text_field, FieldErrors, Lang};
use crate::console::session::{self, FORM_COOKIE, LANG_COOKIE, SESSION_COOKIE};
use crate::console::{local_path, Console, Ctx};

use super::credential_check::{self, CredentialForm};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Next {
    next: String,
}

/// The token of a pre-sign-in form: the browser's form cookie, or a new one to set.
fn form_token(ctx: &Ctx) -> (String, Option<String>) {
    match session::cookie(&ctx.cookies, FORM_COOKIE) {
        Some(token) if !token.is_empty() => (token.to_string(), None),
        _ => {
            let token = session::random_token();
            (token.clone(), Some(token))
        }
    }
}

/// A page with the form cookie set, if it was new.
fn with_form_cookie(console: &Console, new: Option<String>, response: Response) -> Response {
    match new {
        Some(token) => (
            AppendHeaders([(
                SET_COOKIE,
                session::set_cookie(FORM_COOKIE, &token, console.secure, None),
            )]),
            response,
        )
            .into_response(),
        None => response,
    }
}

pub(crate) async fn signin_form(
    State(console): State<Console>,
    ctx: Ctx,
    Query(next): Query<Next>,
) -> Response {
    let (token, new) = form_token(&ctx);
    let page = signin_page(
        &ctx,
        &token,
        &next.next,
        &FieldErrors::new(),
        StatusCode::OK,
    );
    with_form_cookie(&console, new, page)
}

fn signin_page(
    ctx: &Ctx,
    form_token: &str,
    next: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let body = html! {
        form.card method="post" action="/signin" {
            input type="hidden" name="form_token" value=(form_token);
            input type="hidden" name="next" value=(next);
            (text_field(lang.t("访问令牌", "Access token"), "token", "", errors, "password"))
            p.hint { (lang.t("使用管理员为您签发的令牌登录（与 gRPC 接口相同）。", "Sign in with the token your administrator issued (the same as for the gRPC API).")) }
            button type="submit" { (lang.t("登录", "Sign in")) }
        }
    };
    layout::page(&ctx.viewer(), status, lang.t("登录", "Sign in"), body)
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

pub(crate) async fn signin(
    State(console): State<Console>,
    ctx: Ctx,
    Form(form): Form<SignIn>,
) -> Response {
    if !session::check_double_submit(session::cookie(&ctx.cookies, FORM_COOKIE), &form.form_token) {
        return ctx.csrf_refused().into_response();
    }
    let lang = ctx.lang;
    let token = form.token.trim().to_string();
    let mut metadata = MetadataMap::new();
    if let Ok(value) = MetadataValue::try_from(format!("Bearer {token}")) {
        metadata.insert("authorization", value);
    }
    match console.registry.authenticate(&metadata) {
        Ok(principal) => {
            tracing::info!(principal = %principal.name, "console sign-in");
            // A session already open in this browser ends: one browser, one session.
            if let Some((old, _)) = &ctx.session {
                console.sessions.end(old);
            }
            let id = console.sessions.start(token, principal);
            let cookie = session::set_cookie(SESSION_COOKIE, &id, console.secure, None);
            let next = match local_path(&form.next) {
                "/" => "/search",
                path => path,
            };
            (AppendHeaders([(SET_COOKIE, cookie)]), Redirect::to(next)).into_response()
        }
        Err(status) => {
            let refusal = Refusal::from(status);
            let mut errors = FieldErrors::new();
            errors.insert(
                "token".into(),
                format!(
                    "{} ({})",
                    lang.t("令牌无效", "Unknown token"),
                    refusal.describe()
                ),
            );
            signin_page(
                &ctx,
                &form.form_token,
                &form.next,
                &errors,
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn signout(
    State(console): State<Console>,
    ctx: Ctx,
    Form(form): Form<SignOut>,
) -> Response {
    let Some((id, session)) = &ctx.session else {
        return Redirect::to("/signin").into_response();
    };
    if !session.check_csrf(&form.csrf) {
        return ctx.csrf_refused().into_response();
    }
    console.sessions.end(id);
    let gone = session::set_cookie(SESSION_COOKIE, "", console.secure, Some(0));
    (AppendHeaders([(SET_COOKIE, gone)]), Redirect::to("/signin")).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Back {
    #[serde(default)]
    back: String,
}

/// Chooses the language (a cookie for a year) and goes back to the page.
pub(crate) async fn set_lang(
    State(console): State<Console>,
    Path(lang): Path<String>,
    Query(back): Query<Back>,
) -> Response {
    let value = if lang == "en" { "en" } else { "zh" };
    let cookie = session::set_cookie(LANG_COOKIE, value, console.secure, Some(365 * 24 * 3600));
    (
        AppendHeaders([(SET_COOKIE, cookie)]),
        Redirect::to(local_path(&back.back)),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Verify {
    form_token: String,
    name: String,
    certificate_number: String,
    national_id: String,
}

pub(crate) async fn verify_form(State(console): State<Console>, ctx: Ctx) -> Response {
    let (token, new) = form_token(&ctx);
    let form = Verify {
        form_token: token,
        ..Verify::default()
    };
    let page = verify_page(&ctx, &form, &FieldErrors::new(), None, StatusCode::OK);
    with_form_cookie(&console, new, page)
}

pub(crate) async fn verify(
    State(console): State<Console>,
    ctx: Ctx,
    Form(form): Form<Verify>,
) -> Response {
    if !session::check_double_submit(session::cookie(&ctx.cookies, FORM_COOKIE), &form.form_token) {
        return ctx.csrf_refused().into_response();
    }
    let request = pb::VerifyCertificateRequest {
        name: form.name.clone(),
        certificate_number: form.certificate_number.clone(),
        national_id: form.national_id.clone(),
    };
    let lang = ctx.lang;
    match console
        .verification
        .verify_certificate(call::public(ctx.peer, request))
        .await
    {
        Ok(answer) => {
            let answer = answer.into_inner();
            verify_page(
                &ctx,
                &form,
                &FieldErrors::new(),
                Some(result(lang, &answer)),
                StatusCode::OK,
            )
        }
        Err(status) => {
            let refusal = Refusal::from(status);
            let alert = refusal.unshown(&["name", "certificate_number", "national_id"]);
            let message = match (refusal.fields.is_empty(), alert.is_empty()) {
                (false, true) => None,
                _ => Some(refusal.describe()),
            };
            let markup = form_alert(message.as_deref());
            verify_page(
                &ctx,
                &form,
                &refusal.fields,
                Some(markup),
                refusal.http_status(),
            )
        }
    }
}

/// What VerifyCertificate answered, and nothing more.
fn result(lang: Lang, answer: &pb::VerifyCertificateResponse) -> Markup {
    html! {
        section.result aria-live="polite" {
            h2 { (lang.t("查验结果", "Result")) }
            @if answer.found {
                dl {
                    dt { (lang.t("证书", "Certificate")) }
                    dd #found { (lang.t("存在与该姓名相符的证书", "A certificate with this holder name exists")) }
                    dt { (lang.t("资格种类", "Kind")) }
                    dd #kind { (label(lang, CERTIFICATE_KINDS, answer.kind)) }
                    dt { (lang.t("状态", "Status")) }
                    dd #status { (label(lang, VERIFY_STATUSES, answer.status)) }
                    dt { (lang.t("注册有效期至", "Registration valid until")) }
                    dd #registration {
                        @if answer.registration_valid_until.is_empty() { "—" } @else { (answer.registration_valid_until) }
                    }
                }
                @if answer.certified_before_electronic_record {
                    p.note #paper { (lang.t("该证书在电子档案建立之前认定，请向发证机关核实。", "Certified before the electronic record: check with the issuing office.")) }
                }
            } @else {
                p #not-found { (lang.t("未找到与该姓名相符的证书。", "No certificate with this number for this name.")) }
            }
        }
    }
}

fn verify_page(
    ctx: &Ctx,
    form: &Verify,
    errors: &FieldErrors,
    result: Option<Markup>,
    status: StatusCode,
) -> Response {
    let credential = CredentialForm {
        form_token: form.form_token.clone(),
        ..CredentialForm::default()
    };
    let part = credential_check::part(ctx.lang, &credential, &FieldErrors::new(), None);
    verify_body(ctx, form, errors, result, part, status)
}

/// The verification page with the credential form's `part` (sent, and answered).
pub(crate) fn verify_page_with(
    ctx: &Ctx,
    form_token: &str,
    part: Markup,
    status: StatusCode,
) -> Response {
    let form = Verify {
        form_token: form_token.to_string(),
        ..Verify::default()
    };
    verify_body(ctx, &form, &FieldErrors::new(), None, part, status)
}

fn verify_body(
    ctx: &Ctx,
    form: &Verify,
    errors: &FieldErrors,
    result: Option<Markup>,
    credential: Markup,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let body = html! {
        p { (lang.t("输入持证人姓名与证书号码，查验教师资格证书是否存在及其状态。本页只回答这些，不显示任何个人信息。", "Enter the holder's name and the certificate number to check that the certificate exists and its status. Nothing else about the person is shown.")) }
        form.card method="post" action="/verify" {
            input type="hidden" name="form_token" value=(form.form_token);
            (text_field(lang.t("持证人姓名", "Holder name"), "name", &form.name, errors, "text"))
            (text_field(lang.t("证书号码", "Certificate number"), "certificate_number", &form.certificate_number, errors, "text"))
            (text_field(lang.t("证件号码（可选）", "Identity number (optional)"), "national_id", &form.national_id, errors, "text"))
            button type="submit" { (lang.t("查验", "Verify")) }
        }
        @if let Some(result) = result { (result) }
        (credential)
    };
    layout::page(
        &ctx.viewer(),
        status,
        lang.t("教师资格证书查验", "Verify a teacher's certificate"),
        body,
    )
}

/// `POST /verify/credential` (multipart: form_token, credential, image).
pub(crate) async fn check_credential(
    State(console): State<Console>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let Ok(mut form) = read_credential_form(multipart).await else {
        return ctx.csrf_refused().into_response();
    };
    if !session::check_double_submit(session::cookie(&ctx.cookies, FORM_COOKIE), &form.form_token) {
        return ctx.csrf_refused().into_response();
    }
    let lang = ctx.lang;
    let mut errors = FieldErrors::new();
    if let Some(image) = form.image.take() {
        match credential_check::decode_qr(&image) {
            Ok(text) => form.credential = text,
            Err(problem) => {
                errors.insert("image".into(), problem.describe(lang).into());
            }
        }
    }
    if errors.is_empty() && form.credential.trim().is_empty() {
        errors.insert(
            "credential".into(),
            lang.t(
                "请粘贴二维码内容或上传二维码图片",
                "Paste the QR code's text or upload its image",
            )
            .into(),
        );
    }
    if !errors.is_empty() {
        let part = credential_check::part(lang, &form, &errors, None);
        return verify_page_with(
            &ctx,
            &form.form_token,
            part,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let request = pb::CheckCredentialRequest {
        credential: form.credential.clone(),
    };
    let credentials = crate::api::CredentialService::new(console.registry.clone());
    match credentials
        .check_credential(call::public(ctx.peer, request))
        .await
    {
        Ok(answer) => {
            let answer = answer.into_inner();
            let part = credential_check::part(
                lang,
                &form,
                &errors,
                Some(credential_check::result(lang, &answer)),
            );
            verify_page_with(&ctx, &form.form_token, part, StatusCode::OK)
        }
        Err(status) => {
            let refusal = Refusal::from(status);
            let mut errors = refusal.fields.clone();
            if errors.is_empty() {
                errors.insert("credential".into(), refusal.describe());
            }
            let part = credential_check::part(lang, &form, &errors, None);
            verify_page_with(&ctx, &form.form_token, part, refusal.http_status())
        }
    }
}

async fn read_credential_form(
    mut multipart: Multipart,
) -> Result<CredentialForm, axum::extract::multipart::MultipartError> {
    let mut form = CredentialForm::default();
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or_default() {
            "form_token" => form.form_token = field.text().await?,
            "credential" => form.credential = field.text().await?,
            "image" => {
                let bytes = field.bytes().await?;
                if !bytes.is_empty() {
                    form.image = Some(bytes.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(form)
}
