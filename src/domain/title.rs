//! Professional titles: the unified five-tier series, the legacy series it replaced, and
//! the append-only title history from which the current title is derived.

use chrono::NaiveDate;

use crate::domain::UnixMicros;

/// The unified five-tier series (2015 reform), ordered lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TitleTier {
    ThirdLevel,
    SecondLevel,
    FirstLevel,
    Senior,
    FullSenior,
}

impl TitleTier {
    pub const ALL: [TitleTier; 5] = [
        Self::ThirdLevel,
        Self::SecondLevel,
        Self::FirstLevel,
        Self::Senior,
        Self::FullSenior,
    ];

    /// A stable number for storage keys (1 = THIRD_LEVEL ... 5 = FULL_SENIOR); never renumber.
    pub fn code(self) -> u8 {
        match self {
            Self::ThirdLevel => 1,
            Self::SecondLevel => 2,
            Self::FirstLevel => 3,
            Self::Senior => 4,
            Self::FullSenior => 5,
        }
    }

    /// The name the API, the files and every message use, e.g. `FIRST_LEVEL`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ThirdLevel => "THIRD_LEVEL",
            Self::SecondLevel => "SECOND_LEVEL",
            Self::FirstLevel => "FIRST_LEVEL",
            Self::Senior => "SENIOR",
            Self::FullSenior => "FULL_SENIOR",
        }
    }

    /// The tier one step up, if any.
    pub fn next(self) -> Option<TitleTier> {
        match self {
            Self::ThirdLevel => Some(Self::SecondLevel),
            Self::SecondLevel => Some(Self::FirstLevel),
            Self::FirstLevel => Some(Self::Senior),
            Self::Senior => Some(Self::FullSenior),
            Self::FullSenior => None,
        }
    }
}

/// Titles of the old separate primary and secondary series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LegacyTitle {
    SecondarySenior,
    SecondaryFirst,
    PrimarySenior,
    SecondarySecond,
    PrimaryFirst,
    SecondaryThird,
    PrimarySecond,
    PrimaryThird,
}

impl LegacyTitle {
    pub const ALL: [LegacyTitle; 8] = [
        Self::SecondarySenior,
        Self::SecondaryFirst,
        Self::PrimarySenior,
        Self::SecondarySecond,
        Self::PrimaryFirst,
        Self::SecondaryThird,
        Self::PrimarySecond,
        Self::PrimaryThird,
    ];

    /// A stable number for storage keys (1-8, in the order of the reform table); never
    /// renumber.
    pub fn code(self) -> u8 {
        match self {
            Self::SecondarySenior => 1,
            Self::SecondaryFirst => 2,
            Self::PrimarySenior => 3,
            Self::SecondarySecond => 4,
            Self::PrimaryFirst => 5,
            Self::SecondaryThird => 6,
            Self::PrimarySecond => 7,
            Self::PrimaryThird => 8,
        }
    }

    /// The name the API, the files and every message use, e.g. `PRIMARY_SENIOR`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SecondarySenior => "SECONDARY_SENIOR",
            Self::SecondaryFirst => "SECONDARY_FIRST",
            Self::PrimarySenior => "PRIMARY_SENIOR",
            Self::SecondarySecond => "SECONDARY_SECOND",
            Self::PrimaryFirst => "PRIMARY_FIRST",
            Self::SecondaryThird => "SECONDARY_THIRD",
            Self::PrimarySecond => "PRIMARY_SECOND",
            Self::PrimaryThird => "PRIMARY_THIRD",
        }
    }

    /// The tier the 2015 reform moves this title to. Note that a primary-school senior
    /// teacher becomes FIRST_LEVEL, not SENIOR, and that no legacy title reaches FULL_SENIOR.
    pub fn reform_tier(self) -> TitleTier {
        match self {
            Self::SecondarySenior => TitleTier::Senior,
            Self::SecondaryFirst | Self::PrimarySenior => TitleTier::FirstLevel,
            Self::SecondarySecond | Self::PrimaryFirst => TitleTier::SecondLevel,
            Self::SecondaryThird | Self::PrimarySecond | Self::PrimaryThird => {
                TitleTier::ThirdLevel
            }
        }
    }
}

/// Messages name a tier as the API does (`FIRST_LEVEL`), never as Rust spells it.
impl std::fmt::Display for TitleTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for LegacyTitle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an entry of the title history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TitleChangeKind {
    Initial,
    ReformTransition,
    Promotion,
    Correction,
    Revocation,
}

/// One append-only entry of a teacher's title history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleEntry {
    /// The tier held from `effective_date` on; `None` after revoking the only title.
    pub tier: Option<TitleTier>,
    pub kind: TitleChangeKind,
    pub effective_date: NaiveDate,
    pub approval_document: String,
    pub limited_scope: bool,
    pub exceptional: bool,
    pub note: String,
    pub recorded_by: String,
    pub record_time: UnixMicros,
}

/// The current title: the tier of the latest entry. Never stored apart from the history.
pub fn current_title(history: &[TitleEntry]) -> Option<TitleTier> {
    history.last().and_then(|entry| entry.tier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reform_mapping_matches_the_table() {
        use LegacyTitle::*;
        use TitleTier::*;
        let expected = [
            (SecondarySenior, Senior),
            (SecondaryFirst, FirstLevel),
            (PrimarySenior, FirstLevel),
            (SecondarySecond, SecondLevel),
            (PrimaryFirst, SecondLevel),
            (SecondaryThird, ThirdLevel),
            (PrimarySecond, ThirdLevel),
            (PrimaryThird, ThirdLevel),
        ];
        for (legacy, tier) in expected {
            assert_eq!(legacy.reform_tier(), tier, "{legacy:?}");
        }
        assert!(LegacyTitle::ALL
            .iter()
            .all(|l| l.reform_tier() != FullSenior));
    }

    #[test]
    fn tiers_step_up_one_at_a_time() {
        let mut tier = TitleTier::ThirdLevel;
        let mut steps = 0;
        while let Some(next) = tier.next() {
            assert!(next > tier);
            tier = next;
            steps += 1;
        }
        assert_eq!((tier, steps), (TitleTier::FullSenior, 4));
    }
}
