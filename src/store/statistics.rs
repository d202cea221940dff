//! Statistics from the counters the write path maintains: never decodes a record.

use std::collections::BTreeMap;

use crate::domain::{CountyCode, LegacyTitle, TitleTier};
use crate::store::engine::Engine;
use crate::store::keys::{self, Counted};
use crate::store::{codec, StoreError};

/// The counts of one county.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountyStatistics {
    /// Teachers by current title; `None` for no new-series title yet.
    pub by_tier: BTreeMap<Option<TitleTier>, u64>,
    /// Holders of each legacy title not yet transitioned.
    pub untransitioned: BTreeMap<LegacyTitle, u64>,
}

impl CountyStatistics {
    /// Every teacher of the county.
    pub fn total(&self) -> u64 {
        self.by_tier.values().sum()
    }
}

/// Counts by county, and the revision they reflect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    pub counties: BTreeMap<CountyCode, CountyStatistics>,
    pub revision: u64,
}

impl Statistics {
    /// The counts of every county read, added up.
    pub fn totals(&self) -> CountyStatistics {
        let mut totals = CountyStatistics::default();
        for county in self.counties.values() {
            for (tier, count) in &county.by_tier {
                *totals.by_tier.entry(*tier).or_default() += count;
            }
            for (legacy, count) in &county.untransitioned {
                *totals.untransitioned.entry(*legacy).or_default() += count;
            }
        }
        totals
    }
}

/// `revision`: the last revision on disk, read before the counters.
pub(crate) fn read<E: Engine>(
    engine: &E,
    revision: u64,
    county: Option<&CountyCode>,
) -> Result<Statistics, StoreError> {
    let mut statistics = Statistics {
        revision,
        ..Statistics::default()
    };
    for entry in engine.scan_prefix(&keys::counter_prefix(county))? {
        let (key, value) = entry?;
        let (county, counted) = keys::parse_counter(&key).ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            detail: "not a counter key".into(),
        })?;
        let count: u64 = codec::decode(&key, &value)?;
        let county = statistics.counties.entry(county).or_default();
        match counted {
            Counted::Tier(tier) => county.by_tier.insert(tier, count),
            Counted::Legacy(legacy) => county.untransitioned.insert(legacy, count),
        };
    }
    Ok(statistics)
}
