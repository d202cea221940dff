//! `teacher-registry case report --year 2026 [--county C] [--by month|quarter|year]`: the
//! window's figures as a table, headed in Chinese and English, one row per period, county
//! and kind, then the consultations. Lines end at their last character.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::{connect_cases, refusal};
use crate::api::pb;

/// The periods a report's rows cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    Month,
    Quarter,
    Year,
}

/// The arguments of `case report`.
#[derive(Debug, Clone, Args)]
pub struct CaseReportArgs {
    /// The year (not after this one).
    #[arg(long)]
    pub year: i32,
    /// Only this county (six-digit code); a county's token gets its own anyway.
    #[arg(long)]
    pub county: Option<String>,
    /// One row per month, quarter or the whole year.
    #[arg(long, value_enum, default_value = "month")]
    pub by: ReportBy,
}

/// Columns after period, county and kind: Chinese heading, English heading.
const COLUMNS: [(&str, &str); 12] = [
    ("收件", "received"),
    ("受理", "accepted"),
    ("不予受理", "refused"),
    ("准予", "approved"),
    ("不准予", "denied"),
    ("暂缓", "deferred"),
    ("承诺时限内", "on_time"),
    ("法定时限内", "legal_time"),
    ("逾期办结", "late"),
    ("超期未结", "open_late"),
    ("超法定未结", "open_illegal"),
    ("中位工作日", "median_days"),
];

const LEAD: [(&str, &str, usize); 3] = [
    ("期间", "period", 8),
    ("区县", "county", 7),
    ("类别", "kind", 13),
];

/// Fetches the report and prints it to `out`.
pub async fn print_case_report(
    server: &str,
    args: &CaseReportArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = connect_cases(server).await?;
    let period = match args.by {
        ReportBy::Month => pb::ReportPeriod::Month,
        ReportBy::Quarter => pb::ReportPeriod::Quarter,
        ReportBy::Year => pb::ReportPeriod::Year,
    };
    let report = match client
        .get_case_report(pb::GetCaseReportRequest {
            year: args.year,
            county_code: args.county.clone().unwrap_or_default(),
            period: period as i32,
        })
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return Err(refusal(status, "the registry refused the report")),
    };
    write_report(args.year, args.by, &report, out)?;
    Ok(())
}

fn write_report(
    year: i32,
    by: ReportBy,
    report: &pb::GetCaseReportResponse,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{year} 年办件统计 / case report {year}, by {}, open cases as of {}",
        match by {
            ReportBy::Month => "month",
            ReportBy::Quarter => "quarter",
            ReportBy::Year => "year",
        },
        report.as_of
    )?;
    let widths: Vec<usize> = COLUMNS
        .iter()
        .map(|(zh, en)| width(zh).max(en.len()))
        .collect();
    for english in [false, true] {
        let mut line = String::new();
        for (zh, en, w) in LEAD {
            line.push_str(&left(if english { en } else { zh }, w));
            line.push(' ');
        }
        for ((zh, en), w) in COLUMNS.iter().zip(&widths) {
            line.push_str(&right(if english { en } else { zh }, *w));
            line.push(' ');
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    if report.rows.is_empty() {
        writeln!(out, "(无办件 / no cases)")?;
    }
    for row in &report.rows {
        let median = row
            .median_working_days
            .map_or_else(|| "-".to_string(), |m| format!("{m:.1}"));
        let values = [
            row.received.to_string(),
            row.accepted.to_string(),
            row.refused.to_string(),
            row.approved.to_string(),
            row.denied.to_string(),
            row.deferred.to_string(),
            row.within_committed.to_string(),
            row.within_legal.to_string(),
            row.decided_late.to_string(),
            row.open_overdue.to_string(),
            row.open_overdue_legal.to_string(),
            median,
        ];
        let mut line = format!(
            "{} {} {} ",
            left(&period_label(year, by, row.period), LEAD[0].2),
            left(&row.county_code, LEAD[1].2),
            left(kind_label(row.kind()), LEAD[2].2),
        );
        for (value, w) in values.iter().zip(&widths) {
            line.push_str(&right(value, *w));
            line.push(' ');
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(out, "咨询 / consultations")?;
    if report.consultations.is_empty() {
        writeln!(out, "(无 / none)")?;
    }
    for c in &report.consultations {
        let line = format!(
            "{} {} {}",
            left(&period_label(year, by, c.period), LEAD[0].2),
            left(&c.county_code, LEAD[1].2),
            c.consultations
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn period_label(year: i32, by: ReportBy, period: u32) -> String {
    match by {
        ReportBy::Month => format!("{year}-{period:02}"),
        ReportBy::Quarter => format!("{year}-Q{period}"),
        ReportBy::Year => year.to_string(),
    }
}

fn kind_label(kind: pb::CaseKind) -> &'static str {
    match kind {
        pb::CaseKind::Certification => "认定 cert",
        pb::CaseKind::Reissue => "补换发 reissue",
        pb::CaseKind::Registration => "注册 register",
        pb::CaseKind::Unspecified => "-",
    }
}

/// Display columns: a wide (CJK) character takes two, as terminals draw it.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| if c >= '\u{2E80}' { 2 } else { 1 })
        .sum()
}

fn left(text: &str, w: usize) -> String {
    format!("{text}{}", " ".repeat(w.saturating_sub(width(text))))
}

fn right(text: &str, w: usize) -> String {
    format!("{}{text}", " ".repeat(w.saturating_sub(width(text))))
}
