//! Finding a teacher and their page: search by name (prefix), identity number, registry
//! number or certificate number (SearchTeachers, LookupTeacher, GetTeacher); the page
//! shows details, certificates with copies, registrations, revocation and loss, and the
//! title history, and the actions the caller's role may take (`teacher_actions`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, county, Lang};
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx};
use crate::domain::TeacherId;

pub(crate) use super::teacher_actions::act;
use super::teacher_actions::{self, Sent};

#[derive(Deserialize, Default)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
    /// `1`: only the results, for the search box's script to put in place as the clerk
    /// types.
    #[serde(default)]
    fragment: String,
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
    if query.fragment == "1" {
        let fragment = results.into_string();
        return (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            fragment,
        )
            .into_response();
    }
    let body = html! {
        form.card role="search" method="get" action="/search" {
            div.field {
                label for="q" { (lang.t("姓名、证件号码、教师编号或证书号码", "Name, identity number, registry number or certificate number")) }
                input #q name="q" type="search" value=(query.q) autofocus autocomplete="off" data-live="/search";
            }
            button type="submit" { (lang.t("查询", "Search")) }
        }
        div #results-area aria-live="polite" { (results) }
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
            .get_teacher(signed(
                session,
                pb::GetTeacherRequest {
                    teacher_id,
                    revision: None,
                },
            ))
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
    /// The page token of the revisions shown (empty: the newest).
    #[serde(default)]
    revisions: String,
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
    teacher_page_at(
        &console,
        &ctx,
        session,
        &id,
        None,
        &done.done,
        &done.revisions,
    )
    .await
}

/// The teacher's page, with the action last sent and its refusal, if any.
pub(crate) async fn teacher_page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    sent: Option<Sent<'_>>,
    done: &str,
) -> Response {
    teacher_page_at(console, ctx, session, id, sent, done, "").await
}

/// The teacher's page, its revisions from the page `revisions` names.
async fn teacher_page_at(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    sent: Option<Sent<'_>>,
    done: &str,
    revisions: &str,
) -> Response {
    let lang = ctx.lang;
    let request = pb::GetTeacherRequest {
        teacher_id: id.to_string(),
        revision: None,
    };
    let teacher = match console.registry.get_teacher(signed(session, request)).await {
        Ok(response) => response.into_inner().teacher.unwrap_or_default(),
        Err(status) => return ctx.refused(&Refusal::from(status)),
    };
    let findings = teacher_actions::findings(console, lang, session, &teacher).await;
    let history =
        super::teacher_history::revisions(console, lang, session, &teacher, revisions).await;
    let body = html! {
        @if let Some(done) = teacher_actions::done(lang, done) {
            p.done role="status" #done { (done) }
        }
        (details(lang, console, &teacher))
        (super::teacher_history::former(lang, &teacher))
        (super::certificates::certificates(lang, &teacher))
        (super::certificates::title_history(lang, &teacher))
        (findings)
        (history)
        (teacher_actions::forms(lang, session, &teacher, sent))
    };
    let status = sent.map_or(StatusCode::OK, |s| s.refusal.http_status());
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
