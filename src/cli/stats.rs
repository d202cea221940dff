//! `teacher-registry stats`: teacher counts by county and tier, as a table.

use std::io::Write;

use super::{connect, refusal, short_name};
use crate::api::pb;

const TIERS: [pb::TitleTier; 6] = [
    pb::TitleTier::ThirdLevel,
    pb::TitleTier::SecondLevel,
    pb::TitleTier::FirstLevel,
    pb::TitleTier::Senior,
    pb::TitleTier::FullSenior,
    pb::TitleTier::Unspecified,
];

/// Prints counts by county and current tier, and legacy titles awaiting the transition,
/// for the registry or one county (`county` empty for all).
pub async fn print_statistics(
    server: &str,
    county: &str,
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
        Err(status) => return Err(refusal(status, "the registry refused")),
    };
    write!(out, "{:<8} {:>8}", "county", "total")?;
    for tier in TIERS {
        let name = match tier {
            pb::TitleTier::Unspecified => "NO_TITLE".to_string(),
            tier => short_name(tier.as_str_name(), "TITLE_TIER_"),
        };
        write!(out, " {name:>12}")?;
    }
    writeln!(out, " {:>14}", "untransitioned")?;
    for county in &statistics.counties {
        print_county(&county.county_code, county, out)?;
    }
    if let Some(totals) = statistics.totals.as_ref().filter(|_| county.is_empty()) {
        print_county("all", totals, out)?;
    }
    writeln!(out)?;
    let untransitioned = statistics
        .totals
        .iter()
        .flat_map(|t| &t.untransitioned)
        .collect::<Vec<_>>();
    if !untransitioned.is_empty() {
        writeln!(out, "legacy titles awaiting the transition:")?;
        for count in untransitioned {
            writeln!(
                out,
                "  {:<18} {}",
                short_name(count.legacy_title().as_str_name(), "LEGACY_TITLE_"),
                count.count
            )?;
        }
    }
    writeln!(out, "as of revision {}", statistics.revision)?;
    Ok(())
}

fn print_county(
    name: &str,
    county: &pb::CountyStatistics,
    out: &mut impl Write,
) -> std::io::Result<()> {
    write!(out, "{name:<8} {:>8}", county.total)?;
    for tier in TIERS {
        let count = county
            .by_tier
            .iter()
            .find(|c| c.tier == tier as i32)
            .map_or(0, |c| c.count);
        write!(out, " {count:>12}")?;
    }
    let untransitioned: u64 = county.untransitioned.iter().map(|c| c.count).sum();
    writeln!(out, " {untransitioned:>14}")
}
