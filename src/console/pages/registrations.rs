//! Who must register again: the teachers holding a valid certificate whose latest
//! periodic registration expires before a date, in one county or every county the caller
//! may see (ListTeachers with `registration_expires_before`), a page of 100 at a time
//! with a link to the next. The window sends its reminders from this list; the README's
//! "Who must register again before 2027?" without `buf curl`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::console::call::signed;
use crate::console::labels::{self, label};
use crate::console::layout::{self, county, form_alert, FieldErrors, Fields};
use crate::console::{percent, Console, Ctx, Rejection};

/// One page of the list: 100 teachers.
const PAGE: i32 = 100;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DueQuery {
    registration_expires_before: String,
    county_code: String,
    page_token: String,
}

/// `/registrations`: the form, and once a date is given the list.
pub(crate) async fn due(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<DueQuery>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let lang = ctx.lang;
    let before = query.registration_expires_before.trim();
    let county_code = match query.county_code.trim() {
        "" => session.own_county_code(),
        code => code.to_string(),
    };
    let answer = match before {
        "" => None,
        before => Some(
            match console
                .registry
                .list_teachers(signed(
                    session,
                    pb::ListTeachersRequest {
                        page_size: PAGE,
                        page_token: query.page_token.clone(),
                        county_code: county_code.clone(),
                        registration_expires_before: before.to_string(),
                        ..Default::default()
                    },
                ))
                .await
            {
                Ok(r) => Ok(r.into_inner()),
                Err(status) => Err(ctx.form_refusal(status)?),
            },
        ),
    };
    let empty = FieldErrors::new();
    let (errors, alert) = match &answer {
        Some(Err(refusal)) => {
            let shown = ["registration_expires_before", "county_code"];
            let alert = refusal.alert(&shown);
            (&refusal.fields, alert)
        }
        _ => (&empty, None),
    };
    let fields = Fields::new("", errors);
    let body = html! {
        form.card #due method="get" action="/registrations" novalidate {
            (form_alert(alert.as_deref()))
            p.hint { (lang.t("持有效证书、最近一次定期注册在此日期前到期的教师（提醒其重新注册）。", "Teachers holding a valid certificate whose latest periodic registration expires before this date (to remind them to register again).")) }
            (fields.text(lang.t("注册到期早于", "Registration expires before"), "registration_expires_before", before, "date"))
            (fields.text(lang.t("县区（六位代码，空：全部）", "County (six-digit code; empty: all)"), "county_code", &county_code, "text"))
            button type="submit" { (lang.t("列出", "List")) }
        }
        @if let Some(Ok(page)) = &answer {
            @if page.teachers.is_empty() {
                p #none { (lang.t("没有需要重新注册的教师。", "Nobody must register again before then.")) }
            } @else {
                table #due-list {
                    thead { tr {
                        th scope="col" { (lang.t("教师编号", "Registry number")) }
                        th scope="col" { (lang.t("姓名", "Name")) }
                        th scope="col" { (lang.t("县区", "County")) }
                        th scope="col" { (lang.t("学校", "School")) }
                        th scope="col" { (lang.t("证书", "Certificate")) }
                        th scope="col" { (lang.t("注册有效期至", "Registered until")) }
                    } }
                    tbody {
                        @for t in &page.teachers {
                            @for c in t.certificates.iter().filter(|c| c.status == pb::CertificateStatus::Valid as i32) {
                                tr {
                                    td { a href={ "/teachers/" (percent(&t.teacher_id)) } { (t.teacher_id) } }
                                    td { (t.name) }
                                    td { (county(&console.counties, &t.county_code)) }
                                    td { (t.school) }
                                    td.code { (c.certificate_number) " " (label(lang, labels::CERTIFICATE_KINDS, c.kind)) }
                                    td { (c.registrations.last().map_or("", |r| r.expires_on.as_str())) }
                                }
                            }
                        }
                    }
                }
                @if !page.next_page_token.is_empty() {
                    a #next rel="next" href={ "/registrations?registration_expires_before=" (percent(before)) "&county_code=" (percent(&county_code)) "&page_token=" (percent(&page.next_page_token)) } {
                        (lang.t("下一页", "Next page"))
                    }
                }
            }
        }
    };
    let status = match &answer {
        Some(Err(refusal)) => refusal.http_status(),
        _ => StatusCode::OK,
    };
    Ok(layout::page(
        &ctx.viewer(),
        status,
        lang.t("定期注册到期", "Registrations falling due"),
        body,
    ))
}
