//! The operator's window rules: the working-day calendar and each kind's time limits.
//!
//! Limits are configuration because the law fixes only some of them: certification has a
//! legal limit (30 days in the regulations, applied as working days), reissue and
//! registration have none that we could find, and every bureau commits in public to limits
//! of its own. The defaults below are the regulation's 30 working days for certification and
//! the Administrative Licensing Law's general 20 for the others, with committed limits a
//! bureau might publish; set your own.
//!
//! ```toml
//! [limits.certification]
//! committed = 20
//! legal = 30
//!
//! [calendar.2026]
//! holidays = ["2026-10-01", "2026-10-02"]
//! make_up_days = ["2026-09-27"]
//! ```

use std::collections::BTreeMap;

use chrono::Datelike;
use serde::Deserialize;

use super::calendar::YearFile;
use super::{CalendarError, CaseKind, WorkingCalendar};

/// Working days allowed for one kind of case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLimits {
    /// The limit the bureau has published (承诺时限).
    pub committed: u32,
    /// The limit of the law or regulation.
    pub legal: u32,
}

/// Calendar and limits, as the server was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRules {
    pub calendar: WorkingCalendar,
    certification: CaseLimits,
    reissue: CaseLimits,
    registration: CaseLimits,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowRulesError {
    #[error("the window rules are not valid TOML: {0}")]
    Syntax(String),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("limits.{kind}: the committed limit ({committed}) exceeds the legal one ({legal})")]
    CommittedAboveLegal {
        kind: &'static str,
        committed: u32,
        legal: u32,
    },
    #[error("limits.{kind}: a limit of 0 working days cannot be met")]
    Zero { kind: &'static str },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    calendar: BTreeMap<String, YearFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    certification: Option<CaseLimits>,
    reissue: Option<CaseLimits>,
    registration: Option<CaseLimits>,
}

impl Default for WindowRules {
    fn default() -> Self {
        Self {
            calendar: WorkingCalendar::weekends_only(),
            certification: CaseLimits {
                committed: 20,
                legal: 30,
            },
            reissue: CaseLimits {
                committed: 10,
                legal: 20,
            },
            registration: CaseLimits {
                committed: 15,
                legal: 20,
            },
        }
    }
}

impl WindowRules {
    /// Parses the operator's file; what it leaves out keeps its default.
    pub fn parse(text: &str) -> Result<Self, WindowRulesError> {
        let file: File =
            toml::from_str(text).map_err(|e| WindowRulesError::Syntax(e.message().to_string()))?;
        let defaults = Self::default();
        let rules = Self {
            calendar: WorkingCalendar::from_years(file.calendar)?,
            certification: file.limits.certification.unwrap_or(defaults.certification),
            reissue: file.limits.reissue.unwrap_or(defaults.reissue),
            registration: file.limits.registration.unwrap_or(defaults.registration),
        };
        for kind in [
            CaseKind::Certification,
            CaseKind::Reissue,
            CaseKind::Registration,
        ] {
            let limits = rules.limits(kind);
            let name = kind_name(kind);
            if limits.committed == 0 || limits.legal == 0 {
                return Err(WindowRulesError::Zero { kind: name });
            }
            if limits.committed > limits.legal {
                return Err(WindowRulesError::CommittedAboveLegal {
                    kind: name,
                    committed: limits.committed,
                    legal: limits.legal,
                });
            }
        }
        Ok(rules)
    }

    /// The rules as a file [`WindowRules::parse`] reads back to the same rules: the store
    /// keeps the text its due-date index was worked out under, so that a registry opened
    /// under other rules rebuilds the index and `verify` can check it without them.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for kind in [
            CaseKind::Certification,
            CaseKind::Reissue,
            CaseKind::Registration,
        ] {
            let limits = self.limits(kind);
            text.push_str(&format!(
                "[limits.{}]\ncommitted = {}\nlegal = {}\n",
                kind_name(kind),
                limits.committed,
                limits.legal
            ));
        }
        let (holidays, make_up_days) = self.calendar.exceptions();
        let mut years: BTreeMap<i32, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for date in holidays {
            years
                .entry(date.year())
                .or_default()
                .0
                .push(format!("\"{date}\""));
        }
        for date in make_up_days {
            years
                .entry(date.year())
                .or_default()
                .1
                .push(format!("\"{date}\""));
        }
        for (year, (holidays, make_up_days)) in years {
            text.push_str(&format!(
                "[calendar.{year}]\nholidays = [{}]\nmake_up_days = [{}]\n",
                holidays.join(", "),
                make_up_days.join(", ")
            ));
        }
        text
    }

    pub fn limits(&self, kind: CaseKind) -> CaseLimits {
        match kind {
            CaseKind::Certification => self.certification,
            CaseKind::Reissue => self.reissue,
            CaseKind::Registration => self.registration,
        }
    }
}

fn kind_name(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Certification => "certification",
        CaseKind::Reissue => "reissue",
        CaseKind::Registration => "registration",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_limits_and_calendar_and_keeps_the_other_defaults() {
        let rules = WindowRules::parse(
            "[limits.reissue]\ncommitted = 3\nlegal = 10\n[calendar.2026]\nholidays = [\"2026-10-01\"]\n",
        )
        .unwrap();
        assert_eq!(
            rules.limits(CaseKind::Reissue),
            CaseLimits {
                committed: 3,
                legal: 10
            }
        );
        assert_eq!(rules.limits(CaseKind::Certification).legal, 30);
        assert!(!rules.calendar.is_working_day("2026-10-01".parse().unwrap()));
    }

    #[test]
    fn rules_written_as_text_read_back_the_same() {
        let rules = WindowRules::parse(
            "[limits.reissue]\ncommitted = 3\nlegal = 10\n[calendar.2026]\nholidays = [\"2026-10-01\", \"2026-10-02\"]\nmake_up_days = [\"2026-09-27\"]\n[calendar.2027]\nholidays = [\"2027-01-01\"]\n",
        )
        .unwrap();
        assert_eq!(WindowRules::parse(&rules.to_text()).unwrap(), rules);
        assert_ne!(rules.to_text(), WindowRules::default().to_text());
        let default = WindowRules::default();
        assert_eq!(WindowRules::parse(&default.to_text()).unwrap(), default);
    }

    #[test]
    fn impossible_limits_are_refused() {
        let above = "[limits.certification]\ncommitted = 31\nlegal = 30\n";
        assert!(matches!(
            WindowRules::parse(above),
            Err(WindowRulesError::CommittedAboveLegal {
                kind: "certification",
                ..
            })
        ));
        let zero = "[limits.registration]\ncommitted = 0\nlegal = 30\n";
        assert!(matches!(
            WindowRules::parse(zero),
            Err(WindowRulesError::Zero { .. })
        ));
        assert!(matches!(
            WindowRules::parse("[limits.renewal]\ncommitted = 1\nlegal = 2\n"),
            Err(WindowRulesError::Syntax(_))
        ));
    }
}

#[cfg(test)]
mod readme {
    use super::*;

    /// The README's example of a window-rules file is one the server accepts.
    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n[limits.")
            .expect("the README's example")
            + 8;
        let end = start + readme[start..].find("```").expect("its end");
        let rules = WindowRules::parse(&readme[start..end]).unwrap();
        assert!(rules.calendar.is_working_day("2026-10-10".parse().unwrap()));
        assert!(!rules.calendar.is_working_day("2026-10-01".parse().unwrap()));
    }
}
