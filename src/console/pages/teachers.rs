//! Finding a teacher and their page: search by name (prefix), identity number, registry
//! number or certificate number (SearchTeachers, LookupTeacher, GetTeacher); the page
//! shows details, certificates with copies, registrations, revocation and loss, and the
//! title history, former names and documents, revisions (ListTeacherRevisions), and the
//! actions the caller's role may take (`teacher_actions`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, county, Lang};
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx, Posted, Rejection};
use crate::domain::TeacherId;

use super::teacher_actions::{self, ActionForm, Sent};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SearchQuery {
    q: String,
    /// `1`: only the results, for the search box's script to put in place as the clerk
    /// types.
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
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
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
            return Err(ctx.refused(&refusal))
        }
        Some(Err(refusal)) => html! { p.alert role="alert" { (refusal.describe()) } },
        Some(Ok(teachers)) => results_table(lang, &console, &teachers),
    };
    if query.fragment == "1" {
        let fragment = results.into_string();
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            fragment,
        )
            .into_response());
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
    Ok(layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("查询教师", "Search teachers"),
        body,
    ))
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
#[serde(default)]
pub(crate) struct Done {
    done: String,
    /// The page token of the revisions shown (empty: the newest).
    revisions: String,
}

pub(crate) async fn show(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    teacher_page(
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

/// The teacher's page, with the action last sent and its refusal, if any, and its
/// revisions from the page `revisions` names (empty: the newest).
async fn teacher_page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    sent: Option<Sent<'_>>,
    done: &str,
    revisions: &str,
) -> Result<Response, Rejection> {
    let lang = ctx.lang;
    let request = pb::GetTeacherRequest {
        teacher_id: id.to_string(),
        revision: None,
    };
    let teacher = console
        .registry
        .get_teacher(signed(session, request))
        .await
        .map_err(|status| ctx.refused(&status.into()))?
        .into_inner()
        .teacher
        .unwrap_or_default();
    let findings = teacher_actions::findings(console, lang, session, &teacher).await;
    let history = revisions_section(console, lang, session, &teacher, revisions).await;
    let body = html! {
        @if let Some(done) = teacher_actions::done(lang, done) {
            p.done role="status" #done { (done) }
        }
        (details(lang, console, &teacher))
        (former(lang, &teacher))
        (super::certificates::certificates(lang, &teacher))
        (super::certificates::title_history(lang, &teacher))
        (findings)
        (history)
        (teacher_actions::forms(lang, session, &teacher, sent))
    };
    let status = sent.map_or(StatusCode::OK, |s| s.refusal.http_status());
    let title = format!("{} {}", teacher.name, teacher.teacher_id);
    Ok(layout::page(&ctx.viewer(), status, &title, body))
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

// A teacher's past.
//
// A teacher's past on their page: the names and identity documents the record carried
// before (曾用名, 曾用证件, with the registry numbers merges retired into it), from the
// record GetTeacher answered, and its revisions (ListTeacherRevisions), newest first a
// page at a time, each with the fields it changed. Both come from the service as the
// caller may see them: a reader gets identity numbers concealed in former documents and
// in the changes alike, only admins see who made a change, and a county principal never
// reaches another county's teacher's page at all.

/// Revisions per page of the teacher's page.
const REVISIONS_PER_PAGE: i32 = 20;

/// A time as a clerk reads it: the date and minute in China Standard Time.
fn time(at: Option<&prost_types::Timestamp>) -> String {
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is an offset");
    at.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The names, documents and registry numbers the record carried before; nothing when it
/// has none.
fn former(lang: Lang, t: &pb::Teacher) -> Markup {
    if t.former_names.is_empty()
        && t.former_documents.is_empty()
        && t.retired_teacher_ids.is_empty()
    {
        return html! {};
    }
    html! {
        section aria-labelledby="former-h" {
            h2 #former-h { (lang.t("曾用名与曾用证件", "Former names and documents")) }
            @if !t.former_names.is_empty() {
                table #former-names {
                    caption { (lang.t("曾用名（按时间先后）", "Former names, oldest first")) }
                    thead { tr {
                        th scope="col" { (lang.t("曾用名", "Name")) }
                        th scope="col" { (lang.t("使用至", "Until")) }
                    } }
                    tbody { @for n in &t.former_names { tr { td { (n.name) } td { (time(n.until_time.as_ref())) } } } }
                }
            }
            @if !t.former_documents.is_empty() {
                table #former-documents {
                    caption { (lang.t("曾用证件（按时间先后）", "Former identity documents, oldest first")) }
                    thead { tr {
                        th scope="col" { (lang.t("证件类型", "Document type")) }
                        th scope="col" { (lang.t("证件号码", "Number")) }
                        th scope="col" { (lang.t("使用至", "Until")) }
                        th scope="col" { (lang.t("原因", "Why")) }
                    } }
                    tbody {
                        @for d in &t.former_documents {
                            tr {
                                td { (label(lang, labels::ID_DOCUMENT_TYPES, d.id_document_type)) }
                                td.code { (d.national_id) }
                                td { (time(d.until_time.as_ref())) }
                                td { (label(lang, labels::FORMER_DOCUMENT_REASONS, d.reason)) }
                            }
                        }
                    }
                }
            }
            @if !t.retired_teacher_ids.is_empty() {
                p #retired-ids {
                    (lang.t("并入本档案的原教师编号：", "Registry numbers merged into this record: "))
                    @for (i, id) in t.retired_teacher_ids.iter().enumerate() {
                        @if i > 0 { "、" }
                        span.code { (id) }
                    }
                }
            }
        }
    }
}

/// The record's revisions, newest first, from `page_token` on (empty: the newest), with
/// a link to the older ones; nothing when the caller's role may not list them.
async fn revisions_section(
    console: &Console,
    lang: Lang,
    session: &Session,
    t: &pb::Teacher,
    page_token: &str,
) -> Markup {
    if !permits(session.principal.role, Rpc::ListTeacherRevisions) {
        return html! {};
    }
    let request = pb::ListTeacherRevisionsRequest {
        teacher_id: t.teacher_id.clone(),
        page_size: REVISIONS_PER_PAGE,
        page_token: page_token.to_string(),
    };
    let listed = console
        .registry
        .list_teacher_revisions(signed(session, request))
        .await
        .map(|r| r.into_inner());
    let base = format!("/teachers/{}", percent(&t.teacher_id));
    html! {
        section aria-labelledby="revisions-h" {
            h2 #revisions-h { (lang.t("修改记录", "Revisions")) }
            @match listed {
                Err(status) => { p.alert role="alert" { (Refusal::from(status).describe()) } }
                Ok(page) => {
                    @if !page.history_complete {
                        p.hint #revisions-partial { (lang.t(
                            "本档案在早期版本中建立，修改记录自以下版本起保存：",
                            "This record predates its history; changes are kept from revision "
                        )) (page.earliest_revision) }
                    }
                    @if page.revisions.is_empty() {
                        p #revisions-none { (lang.t("无。", "None.")) }
                    } @else {
                        table #revisions {
                            thead { tr {
                                th scope="col" { (lang.t("版本", "Revision")) }
                                th scope="col" { (lang.t("时间", "Time")) }
                                th scope="col" { (lang.t("事项", "Change")) }
                                @if page.revisions.iter().any(|r| !r.principal.is_empty()) {
                                    th scope="col" { (lang.t("操作人", "By")) }
                                }
                                th scope="col" { (lang.t("改动的字段（原值 → 新值）", "Fields changed (before → after)")) }
                            } }
                            tbody {
                                @for r in &page.revisions {
                                    tr data-revision=(r.revision) {
                                        td { (r.revision) }
                                        td { (time(r.change_time.as_ref())) }
                                        td { (label(lang, labels::CHANGE_KINDS, r.kind)) }
                                        @if page.revisions.iter().any(|r| !r.principal.is_empty()) {
                                            td { (r.principal) }
                                        }
                                        td {
                                            ul.differences {
                                                @for d in &r.differences {
                                                    li {
                                                        span.code { (d.field) } ": "
                                                        @if !d.old_value.is_empty() { del { (d.old_value) } " → " }
                                                        @if d.new_value.is_empty() { (lang.t("（清除）", "(cleared)")) } @else { ins { (d.new_value) } }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    nav.pager aria-label=(lang.t("修改记录分页", "Pages of revisions")) {
                        @if !page_token.is_empty() {
                            a #revisions-newest href={ (base) "#revisions-h" } { (lang.t("最新的修改", "Newest changes")) } " "
                        }
                        @if !page.next_page_token.is_empty() {
                            a #revisions-older rel="next" href={ (base) "?revisions=" (percent(&page.next_page_token)) "#revisions-h" } { (lang.t("更早的修改", "Older changes")) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn act(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    Posted { ctx, session, form }: Posted<ActionForm>,
) -> Result<Response, Rejection> {
    let Some(&(action, _)) = teacher_actions::ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
    else {
        return Err(ctx.unknown_action(&action));
    };
    let sent = if action == "credential" {
        // A credential is a page to print, not a change to come back from.
        match super::credential_issue::issue(&console, &session, &form.certificate_number).await {
            Ok(answer) => return Ok(super::credential_issue::page(&ctx, &id, &answer)),
            Err(status) => Err(status),
        }
    } else {
        teacher_actions::send(&console, &session, &id, action, &form).await
    };
    match sent {
        Ok(()) => {
            Ok(Redirect::to(&format!("/teachers/{}?done={action}", percent(&id))).into_response())
        }
        Err(status) => {
            let refusal = ctx.form_refusal(status)?;
            let sent = Sent {
                action,
                form: &form,
                refusal: &refusal,
            };
            teacher_page(&console, &ctx, &session, &id, Some(sent), "", "").await
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
