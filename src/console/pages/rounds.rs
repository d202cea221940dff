//! Title evaluation rounds (职称评审): a round's page, with its dates, numbers, committee,
//! figures (GetRoundStatistics) and applications with their step and eligibility
//! (ListTitleApplications), and the forms of the round's batch steps (`round_batch`):
//! opening publicity for the whole round, uploading the committee's results file, and
//! confirming the round with a result per teacher. A round is found by its number; the
//! forms that open a round, apply and list who is eligible are `round_forms`; an
//! application's own page (objections and their handling) is `applications`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::evaluation_service_server::EvaluationService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, county, Lang};
use crate::console::session::Session;
use crate::console::{percent, Console, Ctx, Rejection};

use super::round_batch::{Done, Sent};
use super::round_forms::{EligibilityQuery, Extra};
use super::round_parts::{finder, step};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct FindRound {
    round_id: String,
}

/// `/rounds`: a round by its number, and the form that opens one.
pub(crate) async fn find(ctx: Ctx, Query(query): Query<FindRound>) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let id = query.round_id.trim();
    if !id.is_empty() {
        return Ok(Redirect::to(&format!("/rounds/{}", percent(id))).into_response());
    }
    let lang = ctx.lang;
    let body = html! {
        (finder(lang))
        (super::round_forms::open_section(lang, session, None))
    };
    Ok(layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("职称评审", "Title evaluation"),
        body,
    ))
}

/// Which page of the round's applications: the page tokens ListTitleApplications gave,
/// oldest first, comma-separated (a token has no comma); the last names the page shown,
/// and dropping it goes back one page. Empty: the first page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Pages {
    pages: String,
}

/// Applications per page of a round's page.
const APPLICATIONS_PER_PAGE: i32 = 50;

/// `/rounds/{id}`.
pub(crate) async fn show(
    State(console): State<Console>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(query): Query<EligibilityQuery>,
    Query(pages): Query<Pages>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let extra = Extra {
        apply: None,
        eligibility: Some(&query),
        pages: &pages.pages,
    };
    round_page(&console, &ctx, session, &id, None, None, extra).await
}

/// What a round's page shows, read through the service.
struct Round {
    round: pb::EvaluationRound,
    /// One page of them, in number order.
    applications: Vec<pb::TitleApplication>,
    next_page_token: String,
    figures: pb::GetRoundStatisticsResponse,
}

async fn read(
    console: &Console,
    session: &Session,
    id: &str,
    page_token: &str,
) -> Result<Round, Refusal> {
    let service = &console.evaluation;
    let round = service
        .get_evaluation_round(signed(
            session,
            pb::GetEvaluationRoundRequest {
                round_id: id.to_string(),
            },
        ))
        .await?
        .into_inner()
        .round
        .unwrap_or_default();
    let page = service
        .list_title_applications(signed(
            session,
            pb::ListTitleApplicationsRequest {
                round_id: id.to_string(),
                county_code: String::new(),
                page_size: APPLICATIONS_PER_PAGE,
                page_token: page_token.to_string(),
            },
        ))
        .await?
        .into_inner();
    let figures = service
        .get_round_statistics(signed(
            session,
            pb::GetRoundStatisticsRequest {
                round_id: id.to_string(),
                county_code: String::new(),
            },
        ))
        .await?
        .into_inner();
    Ok(Round {
        round,
        applications: page.applications,
        next_page_token: page.next_page_token,
        figures,
    })
}

/// The round's page; `sent` is a batch form the service refused, `done` one it answered,
/// with what `extra` adds.
pub(crate) async fn round_page(
    console: &Console,
    ctx: &Ctx,
    session: &Session,
    id: &str,
    sent: Option<Sent<'_>>,
    done: Option<&Done>,
    extra: Extra<'_>,
) -> Result<Response, Rejection> {
    let lang = ctx.lang;
    let token = extra.pages.rsplit(',').next().unwrap_or("");
    let read = read(console, session, id, token)
        .await
        .map_err(|refusal| ctx.refused(&refusal))?;
    let r = &read.round;
    let eligibility =
        super::round_forms::eligibility_section(console, lang, session, r, extra.eligibility).await;
    let body = html! {
        @if let Some(done) = done { (super::round_batch::results(lang, done)) }
        section aria-labelledby="round-h" {
            h2 #round-h { (r.name) }
            dl.details #round {
                dt { (lang.t("批次编号", "Round number")) } dd.code { (r.round_id) }
                dt { (lang.t("组织县区", "Organizing county")) } dd { (county(&console.counties, &r.county_code)) }
                dt { (lang.t("申报职称", "Target tier")) } dd { (label(lang, labels::TITLE_TIERS, r.target_tier)) }
                dt { (lang.t("申报截止日期", "Application deadline")) } dd #deadline { (r.application_deadline) }
                dt { (lang.t("每次公示（工作日）", "Each publicity (working days)")) } dd { (r.publicity_working_days) }
                dt { (lang.t("通过比例（到会委员）", "Pass ratio (of members present)")) } dd { (r.pass_ratio_numerator) "/" (r.pass_ratio_denominator) }
                dt { (lang.t("现职称任职年限", "Years in the current tier")) } dd { (r.years_in_tier) }
                dt { (lang.t("退休年龄", "Retirement age")) } dd { (r.retirement_age) }
                dt { (lang.t("开设人", "Opened by")) } dd { (r.created_by) }
            }
            h3 { (lang.t("评审委员会", "Committee")) " (" (r.committee.len()) ")" }
            ul #committee { @for member in &r.committee { li { (member) } } }
        }
        (super::round_forms::apply_section(lang, session, r, extra.apply))
        (super::round_batch::forms(lang, session, r, sent))
        (statistics(lang, console, &read.figures))
        (applications(lang, console, &read, id, extra.pages))
        (eligibility)
    };
    let status = sent
        .map(|s| s.refusal.http_status())
        .or(super::round_forms::status(&extra))
        .unwrap_or(StatusCode::OK);
    Ok(layout::page(
        &ctx.viewer(),
        status,
        lang.t("职称评审批次", "Evaluation round"),
        body,
    ))
}

fn statistics(lang: Lang, console: &Console, figures: &pb::GetRoundStatisticsResponse) -> Markup {
    let row = |f: &pb::RoundFigures| {
        html! {
            td { (f.applied) } td { (f.eligible) } td { (f.objected) } td { (f.passed) } td { (f.confirmed) }
        }
    };
    html! {
        section aria-labelledby="figures-h" {
            h2 #figures-h { (lang.t("批次统计", "Round statistics")) }
            p.hint { (lang.t(
                "申报：已受理的申报（均已通过资格审查；审查不通过的申报不予受理，不计入任何数字）；符合条件：申报中未因不符合条件而关闭的。",
                "Applied: applications taken (each passed the eligibility checks; a refused application is not taken and is in no figure); eligible: those not closed as ineligible since."
            )) }
            table #figures {
                thead { tr {
                    th scope="col" { (lang.t("县区", "County")) }
                    th scope="col" { (lang.t("职称", "Tier")) }
                    th scope="col" { (lang.t("申报", "Applied")) }
                    th scope="col" { (lang.t("符合条件", "Eligible")) }
                    th scope="col" { (lang.t("有异议", "Objected")) }
                    th scope="col" { (lang.t("评审通过", "Passed")) }
                    th scope="col" { (lang.t("已确认", "Confirmed")) }
                } }
                tbody {
                    @for f in &figures.figures {
                        tr {
                            td { (county(&console.counties, &f.county_code)) }
                            td { (label(lang, labels::TITLE_TIERS, f.tier)) }
                            (row(f))
                        }
                    }
                    @if let Some(total) = &figures.total {
                        tr #figures-total {
                            th scope="row" colspan="2" { (lang.t("合计", "Total")) }
                            (row(total))
                        }
                    }
                }
            }
        }
    }
}

/// Whether an application still counts as eligible: every application was eligible when
/// taken; one closed as ineligible since is not (the figures count it the same way).
fn eligibility(lang: Lang, a: &pb::TitleApplication) -> &'static str {
    if a.close_reason == pb::CloseReason::Ineligible as i32 {
        lang.t("不符合", "Ineligible")
    } else {
        lang.t("符合", "Eligible")
    }
}

/// One page of the round's applications, with links to the next and the previous page.
fn applications(lang: Lang, console: &Console, read: &Round, id: &str, pages: &str) -> Markup {
    let list = &read.applications;
    let applied = read.figures.total.as_ref().map_or(0, |t| t.applied);
    let base = format!("/rounds/{}", percent(id));
    let link = |trail: &str| match trail {
        "" => format!("{base}#applications-h"),
        trail => format!("{base}?pages={}#applications-h", percent(trail)),
    };
    let previous =
        (!pages.is_empty()).then(|| link(pages.rsplit_once(',').map_or("", |(rest, _)| rest)));
    let next = (!read.next_page_token.is_empty()).then(|| match pages {
        "" => link(&read.next_page_token),
        pages => link(&format!("{pages},{}", read.next_page_token)),
    });
    let first = if pages.is_empty() {
        0
    } else {
        pages.split(',').count()
    } * APPLICATIONS_PER_PAGE as usize;
    html! {
        section aria-labelledby="applications-h" {
            h2 #applications-h { (lang.t("申报", "Applications")) " (" (applied) ")" }
            @if !list.is_empty() {
                p.hint #applications-shown { (lang.t("本页：第 ", "This page: ")) (first + 1) "–" (first + list.len()) (lang.t(" 条，按申报编号排列", ", by application number")) }
            }
            table #applications {
                thead { tr {
                    th scope="col" { (lang.t("申报编号", "Application")) }
                    th scope="col" { (lang.t("申报人", "Applicant")) }
                    th scope="col" { (lang.t("县区", "County")) }
                    th scope="col" { (lang.t("学校", "School")) }
                    th scope="col" { (lang.t("现职称", "From")) }
                    th scope="col" { (lang.t("资格", "Eligibility")) }
                    th scope="col" { (lang.t("环节", "Step")) }
                    th scope="col" { (lang.t("异议", "Objections")) }
                    th scope="col" { (lang.t("表决（赞成/到会）", "Vote (for/present)")) }
                } }
                tbody {
                    @for a in list {
                        tr data-application=(a.application_id) {
                            td { a href={ "/applications/" (percent(&a.application_id)) } { (a.application_id) } }
                            td {
                                a href={ "/teachers/" (percent(&a.teacher_id)) } { (a.applicant_name) }
                                @if !a.exceptional_grounds.is_empty() { " " span.hint { (lang.t("破格", "exceptional")) } }
                            }
                            td { (county(&console.counties, &a.county_code)) }
                            td { (a.school) }
                            td { (label(lang, labels::TITLE_TIERS, a.from_tier)) }
                            td.eligibility { (eligibility(lang, a)) }
                            td.step { (step(lang, a)) }
                            td { (a.objections.len()) }
                            td { @if let Some(v) = &a.vote { @if v.present > 0 { (v.votes_for) "/" (v.present) } } }
                        }
                    }
                }
            }
            @if previous.is_some() || next.is_some() {
                nav.pager aria-label=(lang.t("申报分页", "Pages of applications")) {
                    @if let Some(href) = &previous { a #applications-previous rel="prev" href=(href) { (lang.t("上一页", "Previous page")) } " " }
                    @if let Some(href) = &next { a #applications-next rel="next" href=(href) { (lang.t("下一页", "Next page")) } }
                }
            }
        }
    }
}
