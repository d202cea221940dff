//! The round steps that are not batch steps, as forms: opening a round on the round
//! finder's page (CreateEvaluationRound), a teacher's application on the round's page
//! (ApplyForTitle), and the eligibility dry run of a county or school (CheckEligibility),
//! a GET form since it changes nothing. With the batch forms (`round_batch`) and the
//! application's page, every step of `teacher-registry round` can be taken in the browser.
//!
//! The forms send what was typed; the service validates. The only reading the console
//! does is of the text boxes that stand for numbers (the round's numbers, the pass ratio
//! as `2/3`): a box that holds no whole number is refused beside its field before any
//! call, since the request has no way to carry it.

use axum::http::StatusCode;
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::evaluation_service_server::EvaluationService as _;
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{form_tokens, FieldErrors, Fields, Lang};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console};

use super::round_parts::alert;

/// The round form, as submitted: its names are the request's field paths, so the
/// service's violations land beside their boxes.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct OpenForm {
    pub(crate) request_id: String,
    #[serde(rename = "round.name")]
    pub(crate) name: String,
    #[serde(rename = "round.county_code")]
    pub(crate) county_code: String,
    #[serde(rename = "round.target_tier")]
    pub(crate) target_tier: String,
    #[serde(rename = "round.application_deadline")]
    pub(crate) application_deadline: String,
    /// One member a line.
    #[serde(rename = "round.committee")]
    pub(crate) committee: String,
    #[serde(rename = "round.publicity_working_days")]
    pub(crate) publicity_working_days: String,
    /// `2/3`; empty for the default.
    #[serde(rename = "round.pass_ratio")]
    pub(crate) pass_ratio: String,
    #[serde(rename = "round.years_in_tier")]
    pub(crate) years_in_tier: String,
    #[serde(rename = "round.retirement_age")]
    pub(crate) retirement_age: String,
}

/// A box's whole number (empty: 0, the service's default), or its violation.
fn number(errors: &mut FieldErrors, field: &str, text: &str) -> u32 {
    match text.trim() {
        "" => 0,
        text => text.parse().unwrap_or_else(|_| {
            errors.insert(field.into(), "is not a whole number".into());
            0
        }),
    }
}

impl OpenForm {
    /// The request, or the boxes that hold no number.
    pub(crate) fn request(&self) -> Result<pb::CreateEvaluationRoundRequest, Refusal> {
        let mut errors = FieldErrors::new();
        let days = number(
            &mut errors,
            "round.publicity_working_days",
            &self.publicity_working_days,
        );
        let years = number(&mut errors, "round.years_in_tier", &self.years_in_tier);
        let age = number(&mut errors, "round.retirement_age", &self.retirement_age);
        let (numerator, denominator) = match self.pass_ratio.trim() {
            "" => (0, 0),
            text => match text.split_once('/') {
                Some((n, d)) => (
                    number(&mut errors, "round.pass_ratio", n),
                    number(&mut errors, "round.pass_ratio", d),
                ),
                None => {
                    errors.insert(
                        "round.pass_ratio".into(),
                        "is not a fraction like 2/3".into(),
                    );
                    (0, 0)
                }
            },
        };
        if !errors.is_empty() {
            return Err(Refusal {
                code: tonic::Code::InvalidArgument,
                message: "the round's numbers".into(),
                reason: String::new(),
                fields: errors,
            });
        }
        Ok(pb::CreateEvaluationRoundRequest {
            round: Some(pb::EvaluationRound {
                name: self.name.clone(),
                county_code: self.county_code.trim().to_string(),
                target_tier: self.target_tier.parse().unwrap_or(0),
                application_deadline: self.application_deadline.clone(),
                publicity_working_days: days,
                pass_ratio_numerator: numerator,
                pass_ratio_denominator: denominator,
                years_in_tier: years,
                retirement_age: age,
                committee: self
                    .committee
                    .lines()
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
                ..Default::default()
            }),
            request_id: self.request_id.clone(),
        })
    }
}

/// The form that opens a round, when the caller's role may; `sent` is one refused.
pub(crate) fn open_section(
    lang: Lang,
    session: &Session,
    sent: Option<(&OpenForm, &Refusal)>,
) -> Markup {
    if !permits(session.principal.role, Rpc::CreateEvaluationRound) {
        return html! {};
    }
    let fresh = OpenForm {
        request_id: random_token(),
        county_code: session.own_county_code(),
        ..OpenForm::default()
    };
    let empty = FieldErrors::new();
    let form = sent.map_or(&fresh, |(f, _)| f);
    let fields = Fields::new("open-round", sent.map_or(&empty, |(_, r)| &r.fields));
    let shown = [
        "round.name",
        "round.county_code",
        "round.target_tier",
        "round.application_deadline",
        "round.committee",
        "round.publicity_working_days",
        "round.pass_ratio",
        "round.years_in_tier",
        "round.retirement_age",
    ];
    let title = lang.t("开设评审批次", "Open a round");
    html! {
        section aria-labelledby="open-round-h" {
            h2 #open-round-h { (title) }
            form.card #open-round method="post" action="/rounds" novalidate {
                (form_tokens(session, &form.request_id))
                (alert(sent.map(|(_, r)| r), &shown))
                (fields.text(lang.t("批次名称", "Name"), "round.name", &form.name, "text"))
                (fields.text(lang.t("组织县区（六位代码）", "Organizing county (six-digit code)"), "round.county_code", &form.county_code, "text"))
                (fields.select(lang.t("申报职称", "Target tier"), "round.target_tier", &labels::options(lang, labels::TITLE_TIERS), &form.target_tier))
                (fields.text(lang.t("申报截止日期", "Application deadline"), "round.application_deadline", &form.application_deadline, "date"))
                (fields.textarea(lang.t("评审委员（每行一人）", "Committee members (one a line)"), "round.committee", &form.committee))
                p.hint { (lang.t("以下各项留空取默认值：公示 5 个工作日，通过比例 2/3，退休年龄按规定。", "Leave the numbers below empty for the defaults: 5 working days of publicity, a 2/3 pass ratio, the usual retirement age.")) }
                (fields.text(lang.t("每次公示（工作日）", "Each publicity (working days)"), "round.publicity_working_days", &form.publicity_working_days, "text"))
                (fields.text(lang.t("通过比例（如 2/3）", "Pass ratio (as 2/3)"), "round.pass_ratio", &form.pass_ratio, "text"))
                (fields.text(lang.t("现职称任职年限", "Years in the current tier"), "round.years_in_tier", &form.years_in_tier, "text"))
                (fields.text(lang.t("退休年龄", "Retirement age"), "round.retirement_age", &form.retirement_age, "text"))
                button type="submit" { (title) }
            }
        }
    }
}

/// An application as the round page's form sends it.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ApplyForm {
    pub(crate) request_id: String,
    pub(crate) teacher_id: String,
    pub(crate) exceptional_grounds: String,
    pub(crate) applied_on: String,
    pub(crate) note: String,
}

/// The application form, when the caller's role may apply.
pub(crate) fn apply_section(
    lang: Lang,
    session: &Session,
    round: &pb::EvaluationRound,
    sent: Option<(&ApplyForm, &Refusal)>,
) -> Markup {
    if !permits(session.principal.role, Rpc::ApplyForTitle) {
        return html! {};
    }
    let fresh = ApplyForm {
        request_id: random_token(),
        ..ApplyForm::default()
    };
    let empty = FieldErrors::new();
    let form = sent.map_or(&fresh, |(f, _)| f);
    let fields = Fields::new("apply", sent.map_or(&empty, |(_, r)| &r.fields));
    let shown = ["teacher_id", "exceptional_grounds", "applied_on", "note"];
    let title = lang.t("申报", "Apply");
    html! {
        section aria-labelledby="apply-h" {
            h2 #apply-h { (lang.t("教师申报", "A teacher's application")) }
            form.card #apply method="post" action={ "/rounds/" (percent(&round.round_id)) "/apply" } novalidate {
                (form_tokens(session, &form.request_id))
                (alert(sent.map(|(_, r)| r), &shown))
                p.hint { (lang.t("先核查资格：不符合的申报被拒绝，并写明所违反的规则。", "Eligibility is checked first: an ineligible application is refused with the rules it fails.")) }
                (fields.text(lang.t("教师编号", "Registry number"), "teacher_id", &form.teacher_id, "text"))
                (fields.text(lang.t("破格申报理由（非破格留空）", "Exceptional grounds (empty if not exceptional)"), "exceptional_grounds", &form.exceptional_grounds, "text"))
                (fields.text(lang.t("申报日期（空：今天）", "Applied on (empty: today)"), "applied_on", &form.applied_on, "date"))
                (fields.text(lang.t("备注", "Note"), "note", &form.note, "text"))
                button type="submit" { (title) }
            }
        }
    }
}

/// The eligibility dry run's query, from the round page's GET form.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct EligibilityQuery {
    /// `1` when the form was sent.
    pub(crate) eligibility: String,
    county_code: String,
    school: String,
    on: String,
}

/// The eligibility form, and when it was sent the service's list: each teacher eligible
/// or the rules they fail.
pub(crate) async fn eligibility_section(
    console: &Console,
    lang: Lang,
    session: &Session,
    round: &pb::EvaluationRound,
    query: Option<&EligibilityQuery>,
) -> Markup {
    if !permits(session.principal.role, Rpc::CheckEligibility) {
        return html! {};
    }
    let answer = match query.filter(|q| q.eligibility == "1") {
        None => None,
        Some(q) => Some(
            console
                .evaluation
                .check_eligibility(signed(
                    session,
                    pb::CheckEligibilityRequest {
                        round_id: round.round_id.clone(),
                        county_code: q.county_code.trim().to_string(),
                        school: q.school.trim().to_string(),
                        on: q.on.clone(),
                    },
                ))
                .await
                .map(|r| r.into_inner().rows)
                .map_err(Refusal::from),
        ),
    };
    let empty = FieldErrors::new();
    let errors = match &answer {
        Some(Err(refusal)) => &refusal.fields,
        _ => &empty,
    };
    let fields = Fields::new("eligibility", errors);
    let county_default = session
        .principal
        .county
        .as_ref()
        .map_or(round.county_code.clone(), |c| c.as_str().to_string());
    let q = query
        .filter(|q| q.eligibility == "1")
        .cloned()
        .unwrap_or(EligibilityQuery {
            county_code: county_default,
            ..EligibilityQuery::default()
        });
    let title = lang.t("资格预审", "Eligibility dry run");
    html! {
        section aria-labelledby="eligibility-h" {
            h2 #eligibility-h { (title) }
            form.card #eligibility method="get" action={ "/rounds/" (percent(&round.round_id)) } novalidate {
                input type="hidden" name="eligibility" value="1";
                @if let Some(Err(refusal)) = &answer {
                    (alert(Some(refusal), &["county_code", "school", "on"]))
                }
                p.hint { (lang.t("列出一个县区（或一所学校）的教师：符合条件，或不符合的各条规则。不作任何更改。", "Lists a county's (or a school's) teachers: eligible, or the rules each fails. Changes nothing.")) }
                (fields.text(lang.t("县区（六位代码）", "County (six-digit code)"), "county_code", &q.county_code, "text"))
                (fields.text(lang.t("学校（空：全县区）", "School (empty: the whole county)"), "school", &q.school, "text"))
                (fields.text(lang.t("核查日期（空：今天）", "On (empty: today)"), "on", &q.on, "date"))
                button type="submit" { (title) }
            }
            @if let Some(Ok(rows)) = &answer {
                (eligibility_table(lang, rows))
            }
        }
    }
}

fn eligibility_table(lang: Lang, rows: &[pb::EligibilityRow]) -> Markup {
    let eligible = rows.iter().filter(|r| r.eligible).count();
    html! {
        p #eligibility-count { (eligible) " / " (rows.len()) " " (lang.t("名教师符合条件", "teachers eligible")) }
        table #eligibility-rows {
            thead { tr {
                th scope="col" { (lang.t("教师编号", "Registry number")) }
                th scope="col" { (lang.t("姓名", "Name")) }
                th scope="col" { (lang.t("学校", "School")) }
                th scope="col" { (lang.t("现职称", "Current tier")) }
                th scope="col" { (lang.t("资格", "Eligibility")) }
            } }
            tbody {
                @for r in rows {
                    tr data-teacher=(r.teacher_id) {
                        td { a href={ "/teachers/" (percent(&r.teacher_id)) } { (r.teacher_id) } }
                        td { (r.name) }
                        td { (r.school) }
                        td { (label(lang, labels::TITLE_TIERS, r.current_tier)) }
                        td.eligibility {
                            @if r.eligible { (lang.t("符合", "Eligible")) }
                            @else { span.code { (r.reasons.join(", ")) } }
                        }
                    }
                }
            }
        }
    }
}

/// What else a round's page shows: an application the service refused, or the
/// eligibility dry run asked for.
#[derive(Default, Clone, Copy)]
pub(crate) struct Extra<'a> {
    pub(crate) apply: Option<(&'a ApplyForm, &'a Refusal)>,
    pub(crate) eligibility: Option<&'a EligibilityQuery>,
    /// The page tokens of the applications' pages (see [`Pages`]).
    pub(crate) pages: &'a str,
}

/// The status a round page answering a refused application has.
pub(crate) fn status(extra: &Extra<'_>) -> Option<StatusCode> {
    extra.apply.map(|(_, refusal)| refusal.http_status())
}
