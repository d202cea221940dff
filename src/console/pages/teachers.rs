//! Finding a teacher and their page: search by name (prefix), identity number, registry
//! number or certificate number (SearchTeachers, LookupTeacher, GetTeacher); the page
//! shows details, certificates with copies, registrations, revocation and loss, and the
//! title history, and the actions the caller's role may take (reissue), as forms.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{
    self, county, form_alert, form_tokens, select_field, text_field, FieldErrors, Lang,
};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console, Ctx};
use crate::domain::TeacherId;

#[derive(Deserialize, Default)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// What a search box's text is taken to be.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    RegistryNumber(String),
    CertificateNumber(String),
    IdentityNumber(String),
    Name(String),
}

impl Key {
    /// A registry number by its check character, 17 digits a certificate number, other
    /// text with digits an identity document's number, and the rest a name (or its start).
    fn of(raw: &str) -> Key {
        let text = raw.trim();
        if let Ok(id) = TeacherId::parse(text) {
            return Key::RegistryNumber(id.as_str().to_string());
        }
        if text.len() == 17 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Key::CertificateNumber(text.to_string());
        }
        if text.bytes().any(|b| b.is_ascii_digit()) {
            return Key::IdentityNumber(text.to_string());
        }
        Key::Name(text.to_string())
    }
}

pub(crate) async fn search(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<SearchQuery>,
) -> Response {
    let session = match ctx.signed_in() {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let lang = ctx.lang;
    let found = match query.q.trim() {
        "" => None,
        text => Some(find(&console, session, Key::of(text)).await),
    };
    let results = match found {
        None => html! {},
        Some(Err(refusal)) if refusal.code == tonic::Code::NotFound => html! {
            p #none { (lang.t("没有找到。", "Nothing found.")) }
        },
        Some(Err(refusal)) if refusal.code == tonic::Code::Unauthenticated => {
            return ctx.refused(&refusal)
        }
        Some(Err(refusal)) => html! { p.alert role="alert" { (refusal.describe()) } },
        Some(Ok(teachers)) => results_table(lang, &console, &teachers),
    };
    let body = html! {
        form.card role="search" method="get" action="/search" {
            div.field {
                label for="q" { (lang.t("姓名、证件号码、教师编号或证书号码", "Name, identity number, registry number or certificate number")) }
                input #q name="q" type="search" value=(query.q) autofocus;
            }
            button type="submit" { (lang.t("查询", "Search")) }
        }
        (results)
    };
    layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("查询教师", "Search teachers"),
        body,
    )
}

/// The teachers `key` finds, through the RPC that answers that kind of key.
async fn find(console: &Console, session: &Session, key: Key) -> Result<Vec<pb::Teacher>, Refusal> {
    let registry = &console.registry;
    let one = |teacher: Option<pb::Teacher>| teacher.into_iter().collect::<Vec<_>>();
    Ok(match key {
        Key::RegistryNumber(teacher_id) => one(registry
            .get_teacher(signed(session, pb::GetTeacherRequest { teacher_id }))
            .await?
            .into_inner()
            .teacher),
        Key::CertificateNumber(number) => one(lookup(
            console,
            session,
            pb::lookup_teacher_request::Key::CertificateNumber(number),
        )
        .await?),
        Key::IdentityNumber(number) => one(lookup(
            console,
            session,
            pb::lookup_teacher_request::Key::NationalId(number),
        )
        .await?),
        Key::Name(name) => {
            registry
                .search_teachers(signed(
                    session,
                    pb::SearchTeachersRequest {
                        name,
                        name_match: pb::NameMatch::Prefix as i32,
                        page_size: 100,
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner()
                .teachers
        }
    })
}

async fn lookup(
    console: &Console,
    session: &Session,
    key: pb::lookup_teacher_request::Key,
) -> Result<Option<pb::Teacher>, Refusal> {
    let request = pb::LookupTeacherRequest {
        key: Some(key),
        id_document_type: 0,
    };
    Ok(console
        .registry
        .lookup_teacher(signed(session, request))
        .await?
        .into_inner()
        .teacher)
}

fn results_table(lang: Lang, console: &Console, teachers: &[pb::Teacher]) -> Markup {
    html! {
        @if teachers.is_empty() {
            p #none { (lang.t("没有找到。", "Nothing found.")) }
        } @else {
            table #results {
                caption { (lang.t("查询结果", "Results")) " (" (teachers.len()) ")" }
                thead { tr {
                    th scope="col" { (lang.t("教师编号", "Registry number")) }
                    th scope="col" { (lang.t("姓名", "Name")) }
                    th scope="col" { (lang.t("县区", "County")) }
                    th scope="col" { (lang.t("学校", "School")) }
                    th scope="col" { (lang.t("职称", "Title")) }
                    th scope="col" { (lang.t("证件号码", "Identity number")) }
                } }
                tbody {
                    @for t in teachers {
                        tr {
                            td { a href={ "/teachers/" (percent(&t.teacher_id)) } { (t.teacher_id) } }
                            td { (t.name) }
                            td { (county(&console.counties, &t.county_code)) }
                            td { (t.school) }
                            td { (label(lang, labels::TITLE_TIERS, t.current_title)) }
                            td.code { (t.national_id) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

pub(crate) async fn show(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let session = match ctx.signed_in() {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let form = ReissueForm {
        request_id: random_token(),
        ..ReissueForm::default()
    };
    teacher_page(&console, &ctx, session, &id, &form, None, &done.done).await
}

/// The reissue form's fields, as submitted.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct ReissueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    etag: String,
    #[serde(default)]
    certificate_number: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    declaration_ref: String,
    #[serde(default)]
    issued_on: String,
    #[serde(default)]
    new_name: String,
}

pub(crate) async fn reissue(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReissueForm>,
) -> Response {
    let session = match ctx.form_session(&form.csrf) {
        Ok(session) => session,
        Err(response) => return *response,
    };
    let request = pb::ReissueCertificateRequest {
        certificate_number: form.certificate_number.clone(),
        reason: form.reason.parse().unwrap_or(0),
        declaration_ref: form.declaration_ref.clone(),
        issued_on: form.issued_on.clone(),
        new_name: form.new_name.clone(),
        etag: form.etag.clone(),
        request_id: form.request_id.clone(),
    };
    match console
        .registry
        .reissue_certificate(signed(session, request))
        .await
    {
        Ok(_) => Redirect::to(&format!("/teachers/{}?done=reissued", percent(&id))).into_response(),
        Err(status) => {
            let refusal = Refusal::from(status);
            if refusal.code == tonic::Code::Unauthenticated {
                return ctx.refused(&refusal);
            }
            teacher_page(&console, &ctx, session, &id, &form, Some(&refusal), "").await
        }
    }
}

/// The teacher's page, with the reissue form as given and the refusal of its last
/// submission, if any.
async fn teacher_page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    form: &ReissueForm,
    refusal: Option<&Refusal>,
    done: &str,
) -> Response {
    let lang = ctx.lang;
    let request = pb::GetTeacherRequest {
        teacher_id: id.to_string(),
    };
    let teacher = match console.registry.get_teacher(signed(session, request)).await {
        Ok(response) => response.into_inner().teacher.unwrap_or_default(),
        Err(status) => return ctx.refused(&Refusal::from(status)),
    };
    let may_reissue = permits(session.principal.role, Rpc::ReissueCertificate);
    let body = html! {
        @if done == "reissued" {
            p.done role="status" #done { (lang.t("已补发换发证书。", "The certificate was reissued.")) }
        }
        (details(lang, console, &teacher))
        (super::certificates::certificates(lang, &teacher))
        (super::certificates::title_history(lang, &teacher))
        @if may_reissue && !teacher.certificates.is_empty() {
            (reissue_form(lang, session, &teacher, form, refusal))
        }
    };
    let status = refusal.map_or(StatusCode::OK, Refusal::http_status);
    let title = format!("{} {}", teacher.name, teacher.teacher_id);
    layout::page(&ctx.viewer(), status, &title, body)
}

fn details(lang: Lang, console: &Console, t: &pb::Teacher) -> Markup {
    html! {
        section aria-labelledby="details-h" {
            h2 #details-h { (lang.t("基本信息", "Details")) }
            dl.details {
                dt { (lang.t("教师编号", "Registry number")) } dd #teacher-id { (t.teacher_id) }
                dt { (lang.t("姓名", "Name")) } dd { (t.name) }
                dt { (lang.t("性别", "Gender")) } dd { (label(lang, labels::GENDERS, t.gender)) }
                dt { (lang.t("出生日期", "Birth date")) } dd { (t.birth_date) }
                dt { (lang.t("证件号码", "Identity number")) } dd.code { (t.national_id) }
                dt { (lang.t("县区", "County")) } dd { (county(&console.counties, &t.county_code)) }
                dt { (lang.t("学校", "School")) } dd { (t.school) }
                dt { (lang.t("任职状态", "Employment")) } dd { (label(lang, labels::EMPLOYMENT_STATUSES, t.employment_status)) }
                dt { (lang.t("现职称", "Current title")) } dd { (label(lang, labels::TITLE_TIERS, t.current_title)) }
                dt { (lang.t("版本", "Revision")) } dd { (t.revision) }
            }
        }
    }
}

fn reissue_form(
    lang: Lang,
    session: &Session,
    teacher: &pb::Teacher,
    form: &ReissueForm,
    refusal: Option<&Refusal>,
) -> Markup {
    let empty = FieldErrors::new();
    let errors = refusal.map_or(&empty, |r| &r.fields);
    let shown = [
        "certificate_number",
        "reason",
        "declaration_ref",
        "issued_on",
        "new_name",
    ];
    let alert = refusal.and_then(|r| {
        let unshown = r.unshown(&shown);
        (r.fields.is_empty() || !unshown.is_empty()).then(|| {
            std::iter::once(r.describe())
                .chain(unshown)
                .collect::<Vec<_>>()
                .join("; ")
        })
    });
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
    html! {
        section aria-labelledby="reissue-h" {
            h2 #reissue-h { (lang.t("补发换发证书", "Reissue a certificate")) }
            form.card #reissue method="post" action={ "/teachers/" (percent(&teacher.teacher_id)) "/reissue" } novalidate {
                (form_tokens(session, &form.request_id))
                // The teacher as shown: a change by someone else since is refused, not overwritten.
                input type="hidden" name="etag" value=(teacher.etag);
                (form_alert(alert.as_deref()))
                (select_field(lang.t("证书", "Certificate"), "certificate_number", &numbers, &chosen, errors))
                (select_field(lang.t("原因", "Reason"), "reason", &labels::options(lang, labels::REISSUE_REASONS), &form.reason, errors))
                (text_field(lang.t("遗失声明（自愿声明）编号", "Self-declaration reference (for a lost certificate)"), "declaration_ref", &form.declaration_ref, errors, "text"))
                (text_field(lang.t("补发日期", "Issued on"), "issued_on", &form.issued_on, errors, "date"))
                (text_field(lang.t("新姓名（仅信息变更）", "New name (details changed only)"), "new_name", &form.new_name, errors, "text"))
                button type="submit" { (lang.t("补发换发", "Reissue")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn the_search_box_tells_numbers_from_names() {
        assert_eq!(Key::of(" 张 "), Key::Name("张".into()));
        assert_eq!(
            Key::of("20233500000000123"),
            Key::CertificateNumber("20233500000000123".into())
        );
        assert_eq!(
            Key::of("35070219800101001X"),
            Key::IdentityNumber("35070219800101001X".into())
        );
    }
}
