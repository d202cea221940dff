//! A signed credential for an employer, from the teacher's page (IssueCredential): the
//! credential's text and its QR code, to print or hand over, and what it states. The
//! console shows what the service answered; it keeps nothing (the credential is signed
//! anew at each request, like `teacher-registry credential issue`).

use base64::Engine as _;
use maud::html;

use axum::http::StatusCode;
use axum::response::Response;

use crate::api::pb;
use crate::api::pb::credential_service_server::CredentialService as _;
use crate::console::call::signed;
use crate::console::labels::{self, label};
use crate::console::layout;
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx};

/// Asks the service for a credential of `certificate_number`.
pub(crate) async fn issue(
    console: &Console,
    session: &Session,
    certificate_number: &str,
) -> Result<pb::IssueCredentialResponse, tonic::Status> {
    let credentials = crate::api::CredentialService::new(console.registry.clone());
    let request = pb::IssueCredentialRequest {
        certificate_number: certificate_number.to_string(),
    };
    Ok(credentials
        .issue_credential(signed(session, request))
        .await?
        .into_inner())
}

/// The page of an issued credential: its QR code, its text and the facts it states.
pub(crate) fn page(ctx: &Ctx, teacher_id: &str, answer: &pb::IssueCredentialResponse) -> Response {
    let lang = ctx.lang;
    let facts = answer.facts.clone().unwrap_or_default();
    let png = base64::engine::general_purpose::STANDARD.encode(&answer.qr_png);
    let body = html! {
        section aria-labelledby="credential-h" {
            h2 #credential-h { (lang.t("电子凭证", "Signed credential")) }
            p.hint { (lang.t("用人单位扫描二维码或粘贴下列文本，在“证书查验”页核验签名及证书现状。", "An employer scans the QR code, or pastes the text below, on the verification page to check the signature and the certificate as it is now.")) }
            img #credential-qr src={ "data:image/png;base64," (png) } alt=(lang.t("凭证二维码", "The credential's QR code"));
            div.field {
                label for="credential-text" { (lang.t("凭证文本", "Credential text")) }
                textarea #credential-text readonly rows="4" { (answer.credential) }
            }
            dl.details #credential-facts {
                dt { (lang.t("证书号码", "Certificate number")) } dd.code { (facts.certificate_number) }
                dt { (lang.t("持证人", "Holder")) } dd { (facts.holder_name) }
                dt { (lang.t("资格种类", "Kind")) } dd { (label(lang, labels::CERTIFICATE_KINDS, facts.kind)) }
                dt { (lang.t("认定日期", "Certified on")) } dd { (facts.certified_on) }
                dt { (lang.t("发证机关", "Issuing authority")) } dd { (facts.issuing_authority) }
                dt { (lang.t("注册有效期至", "Registered until")) } dd { (facts.registration_valid_until) }
                dt { (lang.t("签名密钥", "Signing key")) } dd.code { (facts.key_id) }
            }
            p { a href={ "/teachers/" (percent(teacher_id)) } { (lang.t("返回教师页面", "Back to the teacher")) } }
        }
    };
    layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("电子凭证", "Signed credential"),
        body,
    )
}
