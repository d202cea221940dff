//! `teacher-registry stats`: teacher counts by county and tier, as a table.
//!
//! Counties are shown by code and name (see [`CountyNames`]); the legacy titles awaiting
//! the transition in the order of the reform table, whatever order the server sends.
//! Lines end at their last character, so the output diffs and pastes cleanly.

use std::io::Write;

use super::counties::CountyNames;
use super::{connect, refusal, short_name};
use crate::api::{pb, LEGACY_TITLES};

/// Display columns a county name is padded to (four wide characters).
const NAME_WIDTH: usize = 8;

const TIERS: [pb::TitleTier; 6] = [
    pb::TitleTier::ThirdLevel,
    pb::TitleTier::SecondLevel,
    pb::TitleTier::FirstLevel,
    pb::TitleTier::Senior,
    pb::TitleTier::FullSenior,
    pb::TitleTier::Unspecified,
];

/// Prints counts by county and current tier, and legacy titles awaiting the transition,
/// for the registry or one county (`county` empty for all), counties named from `names`.
pub async fn print_statistics(
    server: &str,
    county: &str,
    names: &CountyNames,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut client = connect(server).await?;
    let statistics = match client
        .get_statistics(pb::GetStatisticsRequest {
            county_code: county.to_string(),
        })
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return Err(refusal(status, "the registry refused the statistics")),
    };
    let mut header = format!("{:<8} {} {:>8}", "county", pad("name"), "total");
    for tier in TIERS {
        let name = match tier {
            pb::TitleTier::Unspecified => "NO_TITLE".to_string(),
            tier => short_name(tier.as_str_name(), "TITLE_TIER_"),
        };
        header.push_str(&format!(" {name:>12}"));
    }
    header.push_str(&format!(" {:>14}", "untransitioned"));
    writeln!(out, "{}", header.trim_end())?;
    for county in &statistics.counties {
        let name = names.name(&county.county_code).unwrap_or_default();
        print_county(&county.county_code, name, county, out)?;
    }
    if let Some(totals) = statistics.totals.as_ref().filter(|_| county.is_empty()) {
        print_county("all", "", totals, out)?;
    }
    writeln!(out)?;
    let untransitioned: Vec<(pb::LegacyTitle, u64)> = LEGACY_TITLES
        .into_iter()
        .map(|title| {
            let count = statistics
                .totals
                .iter()
                .flat_map(|t| &t.untransitioned)
                .filter(|c| c.legacy_title() == title)
                .map(|c| c.count)
                .sum();
            (title, count)
        })
        .filter(|(_, count)| *count > 0)
        .collect();
    if !untransitioned.is_empty() {
        writeln!(out, "legacy titles awaiting the transition:")?;
        for (title, count) in untransitioned {
            writeln!(
                out,
                "  {:<18} {count}",
                short_name(title.as_str_name(), "LEGACY_TITLE_"),
            )?;
        }
    }
    writeln!(out, "as of revision {}", statistics.revision)?;
    Ok(())
}

fn print_county(
    code: &str,
    name: &str,
    county: &pb::CountyStatistics,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut line = format!("{code:<8} {} {:>8}", pad(name), county.total);
    for tier in TIERS {
        let count = county
            .by_tier
            .iter()
            .find(|c| c.tier == tier as i32)
            .map_or(0, |c| c.count);
        line.push_str(&format!(" {count:>12}"));
    }
    let untransitioned: u64 = county.untransitioned.iter().map(|c| c.count).sum();
    line.push_str(&format!(" {untransitioned:>14}"));
    writeln!(out, "{}", line.trim_end())
}

/// `name` padded with spaces to [`NAME_WIDTH`] display columns, a Chinese character
/// taking two (as terminals draw it), so the columns after it line up.
fn pad(name: &str) -> String {
    let width: usize = name
        .chars()
        .map(|c| if c >= '\u{2E80}' { 2 } else { 1 })
        .sum();
    format!("{name}{}", " ".repeat(NAME_WIDTH.saturating_sub(width)))
}
