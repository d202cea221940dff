//! The page shell every console page shares (header, navigation, language switch,
//! sign-out), the language choice, and the form helpers that give every control its
//! `<label>` and put each field's error next to it, down to the whole form of a step on
//! a record and what it posts back.
//!
//! Pages are maud templates: compiled into the binary, and everything interpolated is
//! HTML-escaped unless a page says otherwise.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::session::{random_token, Session};
use crate::cli::CountyNames;

/// The language of the pages: Chinese first, English as the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// From the language cookie's value: `en`, else Chinese.
    pub(crate) fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The text in this language.
    pub(crate) fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// What a page needs to know about who is asking.
pub(crate) struct Viewer<'a> {
    pub(crate) lang: Lang,
    /// The signed-in session, if any.
    pub(crate) session: Option<&'a Session>,
    /// The path of this page, for the language switch to come back to.
    pub(crate) path: &'a str,
}

/// A whole page with `status`.
pub(crate) fn page(viewer: &Viewer<'_>, status: StatusCode, title: &str, body: Markup) -> Response {
    (status, Html(page_html(viewer, title, body))).into_response()
}

/// A whole page's HTML (a streamed page sends it in parts).
pub(crate) fn page_html(viewer: &Viewer<'_>, title: &str, body: Markup) -> String {
    let lang = viewer.lang;
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("教师资格注册", "Teacher registry")) }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { (lang.t("跳到正文", "Skip to content")) }
                header {
                    span.brand { (lang.t("教师资格注册管理", "Teacher registry console")) }
                    nav aria-label=(lang.t("主导航", "Main")) {
                        @if viewer.session.is_some() {
                            a href="/search" { (lang.t("查询教师", "Search")) }
                            a href="/cases" { (lang.t("窗口办件", "Window cases")) }
                            a href="/registrations" { (lang.t("注册到期", "Registrations due")) }
                            a href="/transition" { (lang.t("职称过渡", "Title transition")) }
                            a href="/rounds" { (lang.t("职称评审", "Title evaluation")) }
                            a href="/import" { (lang.t("批量导入", "Import")) }
                            a href="/stats" { (lang.t("统计", "Statistics")) }
                        }
                        a href="/verify" { (lang.t("证书查验", "Verify a certificate")) }
                    }
                    div.lang {
                        a href={ "/lang/zh?back=" (super::percent(viewer.path)) } lang="zh-CN" aria-current=[(lang == Lang::Zh).then_some("true")] { "中文" }
                        " | "
                        a href={ "/lang/en?back=" (super::percent(viewer.path)) } lang="en" aria-current=[(lang == Lang::En).then_some("true")] { "English" }
                    }
                    @if let Some(session) = viewer.session {
                        form.signout method="post" action="/signout" {
                            span.who { (session.principal.name) " (" (session.principal.role) ")" }
                            input type="hidden" name="csrf" value=(session.csrf);
                            button type="submit" { (lang.t("退出", "Sign out")) }
                        }
                    } @else {
                        a href="/signin" { (lang.t("登录", "Sign in")) }
                    }
                }
                main #main { h1 { (title) } (body) }
            }
        }
    };
    markup.into_string()
}

/// A page that only says what went wrong.
pub(crate) fn message_page(
    viewer: &Viewer<'_>,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    page(
        viewer,
        status,
        title,
        html! { p.alert role="alert" { (message) } },
    )
}

/// Field errors by field name, as the service named them.
pub(crate) type FieldErrors = BTreeMap<String, String>;

/// A labelled text input with its error, if any, beside it.
pub(crate) fn text_field(
    label: &str,
    name: &str,
    value: &str,
    errors: &FieldErrors,
    kind: &str,
) -> Markup {
    Fields::new("", errors).text(label, name, value, kind)
}

/// The controls of one form: each labelled, with the error the service gave for its
/// field beside it (`aria-describedby`) and marked invalid. With several forms on a page,
/// `prefix` (the form's id) keeps the controls' ids apart; names stay the service's.
pub(crate) struct Fields<'a> {
    prefix: &'a str,
    errors: &'a FieldErrors,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(prefix: &'a str, errors: &'a FieldErrors) -> Fields<'a> {
        Fields { prefix, errors }
    }

    /// The service's error for field `name`, for controls drawn by hand.
    pub(crate) fn error(&self, name: &str) -> Option<&'a String> {
        self.errors.get(name)
    }

    fn ids(&self, name: &str) -> (String, String, Option<&'a String>) {
        let id = match self.prefix {
            "" => name.to_string(),
            prefix => format!("{prefix}-{name}"),
        };
        let error_id = format!("{id}-error");
        (id, error_id, self.errors.get(name))
    }

    /// The `step_date` field of a step's form: the date the step counts for, today when
    /// left empty.
    pub(crate) fn step_date(&self, lang: Lang, value: &str) -> Markup {
        self.text(
            lang.t("日期（空：今天）", "Date (empty: today)"),
            "step_date",
            value,
            "date",
        )
    }

    pub(crate) fn text(&self, label: &str, name: &str, value: &str, kind: &str) -> Markup {
        let (id, error_id, error) = self.ids(name);
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) name=(name) type=(kind) value=(value)
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id.as_str())];
                @if let Some(error) = error {
                    span.error id=(error_id) { (error) }
                }
            }
        }
    }

    pub(crate) fn textarea(&self, label: &str, name: &str, value: &str) -> Markup {
        let (id, error_id, error) = self.ids(name);
        html! {
            div.field {
                label for=(id) { (label) }
                textarea id=(id) name=(name) rows="3"
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id.as_str())] { (value) }
                @if let Some(error) = error {
                    span.error id=(error_id) { (error) }
                }
            }
        }
    }

    pub(crate) fn select(
        &self,
        label: &str,
        name: &str,
        options: &[(String, String)],
        selected: &str,
    ) -> Markup {
        let (id, error_id, error) = self.ids(name);
        html! {
            div.field {
                label for=(id) { (label) }
                select id=(id) name=(name)
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id.as_str())] {
                    @for (value, text) in options {
                        option value=(value) selected[value == selected] { (text) }
                    }
                }
                @if let Some(error) = error {
                    span.error id=(error_id) { (error) }
                }
            }
        }
    }
}

/// The hidden fields every signed-in form carries: its CSRF token and a request id, so
/// that a form sent twice (a double click, a reload) is one request to the service.
pub(crate) fn form_tokens(session: &Session, request_id: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(session.csrf);
        input type="hidden" name="request_id" value=(request_id);
    }
}

/// Errors the service gave for fields no control on the form shows, and its message.
pub(crate) fn form_alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.alert role="alert" { (message) }
        }
    }
}

/// What the form of a step on a case or an application posts besides the step's own
/// fields: the request id ([`form_tokens`]), the etag the page showed ([`step_section`]),
/// the date the step counts for and its note, named as the step requests name them.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct StepFields {
    pub(crate) request_id: String,
    pub(crate) etag: String,
    pub(crate) step_date: String,
    pub(crate) note: String,
}

impl StepFields {
    /// A new form's: a request id of its own, the rest empty.
    pub(crate) fn fresh() -> StepFields {
        StepFields {
            request_id: random_token(),
            ..StepFields::default()
        }
    }
}

/// The form of a step on a record (a case, a teacher, an application) in a section headed
/// by `title`: posted to `{record}/{action}` with `tokens` ([`form_tokens`]) and the etag
/// of the record as the page showed it, so that a step someone took meanwhile makes the
/// service refuse this one rather than act on what the person did not see; `alert` heads
/// the step's own `fields`.
pub(crate) fn step_section(
    record: &str,
    etag: &str,
    action: &str,
    title: &str,
    tokens: Markup,
    alert: Option<&str>,
    fields: Markup,
) -> Markup {
    let heading = format!("{action}-h");
    html! {
        section aria-labelledby=(heading) {
            h2 id=(heading) { (title) }
            form.card id=(action) method="post" action={ (record) "/" (action) } novalidate {
                (tokens)
                input type="hidden" name="etag" value=(etag);
                (form_alert(alert))
                (fields)
                button type="submit" { (title) }
            }
        }
    }
}

/// A county by name and code ("延平区 350702"), or the code alone when no name is known.
pub(crate) fn county(names: &CountyNames, code: &str) -> Markup {
    match names.name(code) {
        Some(name) => html! { (name) " " span.code { (code) } },
        None => html! { span.code { (code) } },
    }
}
