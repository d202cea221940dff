//! The window's report (GetCaseReport) as a table, the browser's `case report`: a year's
//! figures by month, quarter or year, county and kind of case (received, accepted,
//! refused, the decisions, on time within the committed and the legal limit, late, open
//! past the limit, the median working days), and the consultations answered. The figures
//! are the service's counters; the page only lays them out.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::case_service_server::CaseService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, county, form_alert, FieldErrors, Fields};
use crate::console::{Console, Ctx, Rejection};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReportQuery {
    year: String,
    county_code: String,
    /// The ReportPeriod number; empty: by month.
    period: String,
}

/// The periods a report is cut into: its number and its names.
const PERIODS: labels::Labels = &[
    (1, "按月", "By month"),
    (2, "按季度", "By quarter"),
    (3, "全年", "Whole year"),
];

/// `/cases/report`: the form, and the report of the year asked for (this year at first).
pub(crate) async fn report(
    State(console): State<Console>,
    ctx: Ctx,
    Query(query): Query<ReportQuery>,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let lang = ctx.lang;
    let this_year = crate::clock::today().format("%Y").to_string();
    let year_text = match query.year.trim() {
        "" => this_year,
        text => text.to_string(),
    };
    let period = match query.period.trim() {
        "" => pb::ReportPeriod::Month as i32,
        text => text.parse().unwrap_or(0),
    };
    let answer = match year_text.parse::<i32>() {
        Err(_) => {
            let mut fields = FieldErrors::new();
            fields.insert("year".into(), "is not a year".into());
            Err(Refusal {
                code: tonic::Code::InvalidArgument,
                message: "the year".into(),
                reason: String::new(),
                fields,
            })
        }
        Ok(year) => console
            .cases
            .get_case_report(signed(
                session,
                pb::GetCaseReportRequest {
                    year,
                    county_code: query.county_code.trim().to_string(),
                    period,
                },
            ))
            .await
            .map(|r| r.into_inner())
            .map_err(Refusal::from),
    };
    let answer = match answer {
        Err(refusal) => Err(ctx.form_refusal(refusal)?),
        report => report,
    };
    let empty = FieldErrors::new();
    let (errors, alert) = match &answer {
        Err(refusal) => {
            let alert = refusal.alert(&["year", "county_code", "period"]);
            (&refusal.fields, alert)
        }
        Ok(_) => (&empty, None),
    };
    let fields = Fields::new("", errors);
    let period_name = |n: u32| match period {
        p if p == pb::ReportPeriod::Quarter as i32 => format!("Q{n}"),
        p if p == pb::ReportPeriod::Year as i32 => year_text.clone(),
        _ => format!("{n:02}"),
    };
    let median = |m: Option<f64>| m.map_or(String::new(), |m| format!("{m:.1}"));
    let body = html! {
        form.card #report-form method="get" action="/cases/report" novalidate {
            (form_alert(alert.as_deref()))
            (fields.text(lang.t("年度", "Year"), "year", &year_text, "text"))
            (fields.text(lang.t("县区（六位代码，空：全部）", "County (six-digit code; empty: all)"), "county_code", &query.county_code, "text"))
            (fields.select(lang.t("统计期间", "Period"), "period", &labels::options(lang, PERIODS), &period.to_string()))
            button type="submit" { (lang.t("统计", "Report")) }
        }
        @if let Ok(report) = &answer {
            p { (lang.t("在办超期截至", "Open cases as of")) " " (report.as_of) }
            table #case-report {
                thead { tr {
                    th scope="col" { (lang.t("期间", "Period")) }
                    th scope="col" { (lang.t("县区", "County")) }
                    th scope="col" { (lang.t("类别", "Kind")) }
                    th scope="col" { (lang.t("收件", "Received")) }
                    th scope="col" { (lang.t("受理", "Accepted")) }
                    th scope="col" { (lang.t("不予受理", "Refused")) }
                    th scope="col" { (lang.t("准予", "Approved")) }
                    th scope="col" { (lang.t("不准予", "Denied")) }
                    th scope="col" { (lang.t("暂缓", "Deferred")) }
                    th scope="col" { (lang.t("承诺时限内", "Within committed")) }
                    th scope="col" { (lang.t("法定时限内", "Within legal")) }
                    th scope="col" { (lang.t("超期办结", "Decided late")) }
                    th scope="col" { (lang.t("在办超期", "Open, overdue")) }
                    th scope="col" { (lang.t("工作日中位数", "Median working days")) }
                } }
                tbody {
                    @for r in &report.rows {
                        tr {
                            td { (period_name(r.period)) }
                            td { (county(&console.counties, &r.county_code)) }
                            td { (label(lang, labels::CASE_KINDS, r.kind)) }
                            td { (r.received) } td { (r.accepted) } td { (r.refused) }
                            td { (r.approved) } td { (r.denied) } td { (r.deferred) }
                            td { (r.within_committed) } td { (r.within_legal) }
                            td { (r.decided_late) } td { (r.open_overdue) }
                            td { (median(r.median_working_days)) }
                        }
                    }
                }
            }
            @if !report.consultations.is_empty() {
                h2 #consultations-h { (lang.t("咨询", "Consultations")) }
                table #consultations aria-labelledby="consultations-h" {
                    thead { tr {
                        th scope="col" { (lang.t("期间", "Period")) }
                        th scope="col" { (lang.t("县区", "County")) }
                        th scope="col" { (lang.t("件数", "Answered")) }
                    } }
                    tbody {
                        @for c in &report.consultations {
                            tr {
                                td { (period_name(c.period)) }
                                td { (county(&console.counties, &c.county_code)) }
                                td { (c.consultations) }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = match &answer {
        Err(refusal) => refusal.http_status(),
        Ok(_) => StatusCode::OK,
    };
    Ok(layout::page(
        &ctx.viewer(),
        status,
        lang.t("办件统计", "Case report"),
        body,
    ))
}
