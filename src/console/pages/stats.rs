//! Statistics with charts: teachers by title tier and by county (GetStatistics), and the
//! window's cases this year against their time limits (GetCaseReport), each chart an
//! inline SVG drawn here (no external service, no script) with the table of its figures
//! beside it for screen readers and copying.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use crate::api::pb;
use crate::api::pb::case_service_server::CaseService as _;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{self, Lang};
use crate::console::{Console, Ctx, Rejection};

/// One bar: its label and value.
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) value: u64,
}

/// A horizontal bar chart as inline SVG, with `title` as its accessible name, and the
/// same figures as a table.
pub(crate) fn bar_chart(id: &str, title: &str, value_heading: &str, bars: &[Bar]) -> Markup {
    const ROW: u64 = 28;
    const LABEL: u64 = 180;
    const WIDTH: u64 = 640;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * bars.len() as u64 + 10;
    let span = WIDTH - LABEL - 70;
    html! {
        figure.chart id=(id) {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
                width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } {
                @for (i, bar) in bars.iter().enumerate() {
                    @let y = ROW * i as u64 + 5;
                    @let w = (bar.value * span).div_ceil(max);
                    text x=(LABEL - 8) y=(y + 18) text-anchor="end" font-size="14" fill="#1a1a1a" { (bar.label) }
                    rect x=(LABEL) y=(y + 3) width=(w) height=(ROW - 8) fill="#123c69" {}
                    text x=(LABEL + w + 6) y=(y + 18) font-size="14" fill="#1a1a1a" { (bar.value) }
                }
            }
            table.figures {
                thead { tr { th scope="col" { (title) } th scope="col" { (value_heading) } } }
                tbody {
                    @for bar in bars { tr { td { (bar.label) } td { (bar.value) } } }
                }
            }
        }
    }
}

pub(crate) async fn statistics(
    State(console): State<Console>,
    ctx: Ctx,
) -> Result<Response, Rejection> {
    let session = ctx.signed_in()?;
    let lang = ctx.lang;
    let request = pb::GetStatisticsRequest::default();
    let stats = console
        .registry
        .get_statistics(signed(session, request))
        .await
        .map_err(|status| ctx.refused(&status.into()))?
        .into_inner();
    let year = crate::clock::today().format("%Y").to_string();
    let report = pb::GetCaseReportRequest {
        year: year.parse().unwrap_or(0),
        county_code: String::new(),
        period: pb::ReportPeriod::Year as i32,
    };
    // Roles without the case report (HR sees registration only, readers see it) still
    // get the teachers' figures: the refusal is shown in place of the chart.
    let cases = console
        .cases
        .get_case_report(signed(session, report))
        .await
        .map(|r| r.into_inner())
        .map_err(Refusal::from);
    let totals = stats.totals.unwrap_or_default();
    let tiers: Vec<Bar> = totals
        .by_tier
        .iter()
        .map(|t| Bar {
            label: label(lang, labels::TITLE_TIERS, t.tier),
            value: t.count,
        })
        .collect();
    let counties: Vec<Bar> = stats
        .counties
        .iter()
        .map(|c| Bar {
            label: match console.counties.name(&c.county_code) {
                Some(name) => format!("{name} {}", c.county_code),
                None => c.county_code.clone(),
            },
            value: c.total,
        })
        .collect();
    let body = html! {
        p { (lang.t("截至版本", "As of revision")) " " (stats.revision) }
        (bar_chart("by-tier", lang.t("各职称教师人数", "Teachers by title tier"), lang.t("人数", "Teachers"), &tiers))
        (bar_chart("by-county", lang.t("各县区教师人数", "Teachers by county"), lang.t("人数", "Teachers"), &counties))
        @match &cases {
            Ok(report) => {
                (case_chart(lang, &year, report))
                p { a href="/cases/report" { (lang.t("办件统计表（按月、季度，分县区、类别）", "The full case report (by month or quarter, county and kind)")) } }
            }
            Err(refusal) => p.alert { (refusal.describe()) },
        }
    };
    Ok(layout::page(
        &ctx.viewer(),
        StatusCode::OK,
        lang.t("统计", "Statistics"),
        body,
    ))
}

/// Cases decided this year within the committed limit, late, and open past it, by kind.
fn case_chart(lang: Lang, year: &str, report: &pb::GetCaseReportResponse) -> Markup {
    let mut bars = Vec::new();
    for (kind, _, _) in labels::CASE_KINDS {
        let rows = report.rows.iter().filter(|r| r.kind == *kind);
        let (on_time, late, overdue) = rows.fold((0, 0, 0), |(a, b, c), r| {
            (
                a + r.within_committed,
                b + r.decided_late,
                c + r.open_overdue,
            )
        });
        let name = label(lang, labels::CASE_KINDS, *kind);
        bars.push(Bar {
            label: format!("{name} {}", lang.t("按时办结", "on time")),
            value: on_time,
        });
        bars.push(Bar {
            label: format!("{name} {}", lang.t("超期办结", "late")),
            value: late,
        });
        bars.push(Bar {
            label: format!("{name} {}", lang.t("在办超期", "open, overdue")),
            value: overdue,
        });
    }
    let title = format!(
        "{year} {}",
        lang.t("年办件时限情况", "cases against their time limits")
    );
    bar_chart("cases-on-time", &title, lang.t("件数", "Cases"), &bars)
}
