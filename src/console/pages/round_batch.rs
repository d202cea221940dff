//! The batch steps of a round, as forms on its page: open the next publicity of every
//! application ready for one (OpenPublicity), record the committee's results from an
//! uploaded CSV or XLSX file, read exactly as `round votes` reads one
//! (`read_committee_bytes`, then RecordCommitteeResults), and confirm the round
//! (ConfirmApplications, its stream read to the summary). Each answers an outcome per
//! application, shown as a table: the application written, or the rule that refused it.
//! A form is shown when the caller's role may call its RPC; the service decides the rest.

use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::auth::{permits, Rpc};
use crate::console::call::Refusal;
use crate::console::labels::{self, label};
use crate::console::layout::{form_tokens, FieldErrors, Fields, Lang};
use crate::console::percent;
use crate::console::session::{random_token, Session};

use super::round_parts::{alert, step};

/// The batch forms: path segment and RPC, in the order they appear.
pub(crate) const ACTIONS: [(&str, Rpc); 3] = [
    ("publicity", Rpc::OpenPublicity),
    ("committee", Rpc::RecordCommitteeResults),
    ("confirm", Rpc::ConfirmApplications),
];

/// A batch form as submitted (each action uses its own fields).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct BatchForm {
    pub(crate) request_id: String,
    pub(crate) step_date: String,
    pub(crate) note: String,
    pub(crate) approval_document: String,
}

/// A batch form the service (or the file reader) refused.
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub(crate) action: &'static str,
    pub(crate) form: &'a BatchForm,
    pub(crate) refusal: &'a Refusal,
}

/// A batch step's answer: an outcome per application, and a confirmation's summary.
pub(crate) struct Done {
    pub(crate) action: &'static str,
    pub(crate) outcomes: Vec<pb::ApplicationOutcome>,
    pub(crate) summary: Option<pb::ConfirmSummary>,
}

/// The forms of the batch steps the caller's role may take.
pub(crate) fn forms(
    lang: Lang,
    session: &Session,
    round: &pb::EvaluationRound,
    sent: Option<Sent<'_>>,
) -> Markup {
    let fresh = BatchForm {
        request_id: random_token(),
        ..BatchForm::default()
    };
    let empty = FieldErrors::new();
    html! {
        @for (action, rpc) in ACTIONS {
            @if permits(session.principal.role, rpc) {
                @let mine = sent.filter(|s| s.action == action);
                @let form = mine.map_or(&fresh, |s| s.form);
                @let errors = mine.map_or(&empty, |s| &s.refusal.fields);
                (batch_form(lang, session, round, action, form, errors, mine.map(|s| s.refusal)))
            }
        }
    }
}

fn batch_form(
    lang: Lang,
    session: &Session,
    round: &pb::EvaluationRound,
    action: &'static str,
    form: &BatchForm,
    errors: &FieldErrors,
    refusal: Option<&Refusal>,
) -> Markup {
    let fields = Fields::new(action, errors);
    let date = fields.step_date(lang, &form.step_date);
    let note = fields.text(lang.t("备注", "Note"), "note", &form.note, "text");
    let target = format!("/rounds/{}/{action}", percent(&round.round_id));
    let (title, hint, body, shown): (&str, &str, Markup, &[&str]) = match action {
        "publicity" => (
            lang.t("开始公示", "Open publicity"),
            lang.t(
                "为本批次所有待公示的申报开始下一轮公示（申报后为校内公示，评审通过后为结果公示）。",
                "Opens the next publicity of every application ready for one (the school's after applying, the result's after a passing vote).",
            ),
            html! { (date) (note) },
            &["step_date", "note"],
        ),
        "committee" => {
            let (id, error_id) = (format!("{action}-file"), format!("{action}-file-error"));
            let error = fields.error("file");
            (
                lang.t("上传评审结果", "Upload the committee's results"),
                lang.t(
                    "CSV 或 XLSX：申报编号、赞成、反对、弃权、出席（可省略）各一列，首行为表头。",
                    "CSV or XLSX with a header row: application, for, against, abstain and, optionally, present.",
                ),
                html! {
                    div.field {
                        label for=(id) { (lang.t("评审结果文件", "Results file")) }
                        input id=(id) name="file" type="file" accept=".csv,.xlsx"
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| error_id.as_str())];
                        @if let Some(error) = error { span.error id=(error_id) { (error) } }
                    }
                    (date) (note)
                },
                &["file", "step_date", "note", "rows"],
            )
        }
        _ => (
            lang.t("确认评审结果", "Confirm the round"),
            lang.t(
                "确认所有结果公示期满的申报：逐人写入晋升记录，并列出每位教师的结果。",
                "Confirms every application whose result publicity is over: each teacher's promotion is written, and each result listed.",
            ),
            html! {
                (fields.text(lang.t("批准文号", "Approval document"), "approval_document", &form.approval_document, "text"))
                (date) (note)
            },
            &["approval_document", "step_date", "note"],
        ),
    };
    let heading = format!("{action}-h");
    let enctype = (action == "committee").then_some("multipart/form-data");
    html! {
        section aria-labelledby=(heading) {
            h2 id=(heading) { (title) }
            form.card id=(action) method="post" action=(target) enctype=[enctype] novalidate {
                (form_tokens(session, &form.request_id))
                (alert(refusal, shown))
                p.hint { (hint) }
                (body)
                button type="submit" { (title) }
            }
        }
    }
}

/// A batch step's outcomes: each application written, or why not.
pub(crate) fn results(lang: Lang, done: &Done) -> Markup {
    let title = match done.action {
        "publicity" => lang.t("公示结果", "Publicity opened"),
        "committee" => lang.t("评审结果登记", "Committee results recorded"),
        _ => lang.t("确认结果（逐人）", "Confirmation, teacher by teacher"),
    };
    let refused = done
        .outcomes
        .iter()
        .filter(|o| !o.error_code.is_empty())
        .count();
    html! {
        section.result aria-labelledby="results-h" {
            h2 #results-h { (title) }
            p.done role="status" #batch-summary {
                @if let Some(s) = &done.summary {
                    (lang.t("已确认", "Confirmed")) " " (s.confirmed) "，" (lang.t("未确认", "refused")) " " (s.refused)
                } @else {
                    (lang.t("完成", "Done")) " " (done.outcomes.len() - refused) "，" (lang.t("未完成", "refused")) " " (refused)
                }
            }
            table #batch-results {
                thead { tr {
                    th scope="col" { (lang.t("申报编号", "Application")) }
                    th scope="col" { (lang.t("教师", "Teacher")) }
                    th scope="col" { (lang.t("结果", "Result")) }
                } }
                tbody {
                    @for o in &done.outcomes {
                        tr {
                            td { a href={ "/applications/" (percent(&o.application_id)) } { (o.application_id) } }
                            td { @if !o.teacher_id.is_empty() { a href={ "/teachers/" (percent(&o.teacher_id)) } { (o.teacher_id) } } }
                            td {
                                @if let Some(a) = &o.application {
                                    (step(lang, a))
                                    @if a.state == pb::ApplicationState::Confirmed as i32 {
                                        " → " (label(lang, labels::TITLE_TIERS, a.target_tier))
                                    }
                                } @else {
                                    span.error { (o.error_code) " " (o.reason) ": " (o.message) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
