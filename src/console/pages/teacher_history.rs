//! A teacher's past on their page: the names and identity documents the record carried
//! before (曾用名, 曾用证件, with the registry numbers merges retired into it), from the
//! record GetTeacher answered, and its revisions (ListTeacherRevisions), newest first a
//! page at a time, each with the fields it changed. Both come from the service as the
//! caller may see them: a reader gets identity numbers concealed in former documents and
//! in the changes alike, only admins see who made a change, and a county principal never
//! reaches another county's teacher's page at all.

use maud::{html, Markup};

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::Lang;
use crate::console::session::Session;
use crate::console::{percent, Console};

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
pub(crate) fn former(lang: Lang, t: &pb::Teacher) -> Markup {
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
pub(crate) async fn revisions(
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
