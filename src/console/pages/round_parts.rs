//! The pieces every part of the round pages shows alike: the form that finds a round, an
//! application's step in words, and the alert over a refused form.

use maud::{html, Markup};

use crate::api::pb;
use crate::console::call::Refusal;
use crate::console::labels::{self, label};
use crate::console::layout::{form_alert, text_field, FieldErrors, Lang};

/// The form that finds a round by its number.
pub(crate) fn finder(lang: Lang) -> Markup {
    html! {
        form.card #find-round method="get" action="/rounds" {
            (text_field(lang.t("评审批次编号", "Round number"), "round_id", "", &FieldErrors::new(), "text"))
            p.hint { (lang.t("批次编号在开设评审批次时给出（见下方表单，或 round open）。", "The number is given when a round is opened (the form below, or round open).")) }
            button type="submit" { (lang.t("打开", "Open")) }
        }
    }
}

/// The application's step: its state, and a closed one's reason or the publicity running.
pub(crate) fn step(lang: Lang, a: &pb::TitleApplication) -> String {
    let state = label(lang, labels::APPLICATION_STATES, a.state);
    if a.close_reason != 0 {
        return format!(
            "{state}（{}）",
            label(lang, labels::CLOSE_REASONS, a.close_reason)
        );
    }
    match a.publicity.last() {
        Some(p)
            if a.state == pb::ApplicationState::SchoolPublicity as i32
                || a.state == pb::ApplicationState::ResultPublicity as i32 =>
        {
            format!("{state} {}–{}", p.starts_on, p.ends_on)
        }
        _ => state,
    }
}

/// A form's alert: the service's message and the violations of fields it does not show.
pub(crate) fn alert(refusal: Option<&Refusal>, shown: &[&str]) -> Markup {
    let text = refusal.and_then(|r| r.alert(shown));
    form_alert(text.as_deref())
}
