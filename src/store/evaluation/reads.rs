//! Reads of title evaluation: a round, an application, a round's applications, the
//! findings about a teacher, a round's figures (from the cells the write path keeps, so
//! they cost the same at any size), and the eligibility dry run over a county or school.

use chrono::NaiveDate;

use crate::domain::case::evaluation::{
    eligibility, Application, EvaluationRound, Ineligibility, RoundFigures,
};
use crate::domain::case::CaseId;
use crate::domain::ethics::EthicsFindings;
use crate::domain::{CountyCode, DomainError, Teacher, TeacherId, TitleTier};
use crate::store::engine::Engine;
use crate::store::{codec, keys, StoreError};

/// One county and tier of a round's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiguresRow {
    pub county_code: CountyCode,
    pub tier: TitleTier,
    pub figures: RoundFigures,
}

/// One teacher of the dry run, and the rules they fail (none: eligible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunRow {
    pub teacher: Teacher,
    pub failed: Vec<Ineligibility>,
}

fn read<E: Engine, T: codec::Stored>(engine: &E, key: &[u8]) -> Result<Option<T>, StoreError> {
    match engine.get(key)? {
        Some(bytes) => Ok(Some(codec::decode(key, &bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn get_round<E: Engine>(
    engine: &E,
    id: &CaseId,
) -> Result<Option<EvaluationRound>, StoreError> {
    read(engine, &keys::round(id))
}

pub(crate) fn get_application<E: Engine>(
    engine: &E,
    id: &CaseId,
) -> Result<Option<Application>, StoreError> {
    read(engine, &keys::application(id))
}

/// The application a round's entry `key` lists (`None` for a key that names none);
/// corrupt if its record is missing.
fn listed_application<E: Engine>(
    engine: &E,
    key: &[u8],
) -> Result<Option<Application>, StoreError> {
    let Some(id) = keys::case_id_at_end(key) else {
        return Ok(None);
    };
    match get_application(engine, &id)? {
        Some(application) => Ok(Some(application)),
        None => Err(StoreError::Corrupt {
            key: id.as_str().to_string(),
            detail: "a round lists an application that has no record".into(),
        }),
    }
}

/// The round's applications in number order, of one county or all.
pub(crate) fn applications<E: Engine>(
    engine: &E,
    round: &CaseId,
    county: Option<&CountyCode>,
) -> Result<Vec<Application>, StoreError> {
    let prefix = keys::round_application_prefix(round);
    let mut found = Vec::new();
    for entry in engine.scan_prefix(&prefix)? {
        let (key, _) = entry?;
        let Some(application) = listed_application(engine, &key)? else {
            continue;
        };
        if county.is_none_or(|c| *c == application.county_code) {
            found.push(application);
        }
    }
    Ok(found)
}

/// One page of a round's applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationPage {
    pub applications: Vec<Application>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// A page of the round's applications in number order, of one county or all, after the
/// one `page_token` names (empty: from the first). The token is signed for the round and
/// county, as every page token is (see `store::page`).
pub(crate) fn applications_page<E: Engine>(
    engine: &E,
    secret: &[u8],
    round: &CaseId,
    county: Option<&CountyCode>,
    page_size: usize,
    page_token: &str,
) -> Result<ApplicationPage, StoreError> {
    use sha2::{Digest, Sha256};
    use std::ops::Bound;
    let page_size = page_size.max(1);
    let form = format!(
        "applications\x00{}\x00{}",
        round.as_str(),
        county.map_or("", CountyCode::as_str)
    );
    let digest: [u8; 16] = Sha256::digest(form.as_bytes())[..16]
        .try_into()
        .expect("16 of 32 bytes");
    let prefix = keys::round_application_prefix(round);
    let start = match page_token {
        "" => Bound::Included(prefix.clone()),
        token => {
            let after = crate::store::page::open_token(secret, digest, token)?;
            if !after.starts_with(&prefix) {
                return Err(StoreError::Corrupt {
                    key: "page token".into(),
                    detail: "a signed token outside the round it was signed for".into(),
                });
            }
            Bound::Excluded(after)
        }
    };
    let end = crate::store::engine::prefix_end(&prefix);
    let end = match &end {
        Some(end) => Bound::Excluded(end.as_slice()),
        None => Bound::Unbounded,
    };
    let mut found: Vec<(Vec<u8>, Application)> = Vec::new();
    let bound = match &start {
        Bound::Included(key) => Bound::Included(key.as_slice()),
        Bound::Excluded(key) => Bound::Excluded(key.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    };
    for entry in engine.range(bound, end)? {
        let (key, _) = entry?;
        let Some(application) = listed_application(engine, &key)? else {
            continue;
        };
        if county.is_none_or(|c| *c == application.county_code) {
            // One more than the page, to know whether another page follows.
            if found.len() == page_size {
                let (last, _) = found.last().expect("a page of at least one");
                let next_page_token = crate::store::page::seal_token(secret, digest, last.clone());
                return Ok(ApplicationPage {
                    applications: found.into_iter().map(|(_, a)| a).collect(),
                    next_page_token,
                });
            }
            found.push((key.to_vec(), application));
        }
    }
    Ok(ApplicationPage {
        applications: found.into_iter().map(|(_, a)| a).collect(),
        next_page_token: String::new(),
    })
}

pub(crate) fn findings<E: Engine>(
    engine: &E,
    teacher: &TeacherId,
) -> Result<EthicsFindings, StoreError> {
    Ok(read(engine, &keys::ethics_findings(teacher))?.unwrap_or_default())
}

/// The round's figures by county and tier, of one county or all.
pub(crate) fn round_figures<E: Engine>(
    engine: &E,
    round: &CaseId,
    county: Option<&CountyCode>,
) -> Result<Vec<FiguresRow>, StoreError> {
    let mut rows = Vec::new();
    for entry in engine.scan_prefix(&keys::round_figures_prefix(round))? {
        let (key, value) = entry?;
        let Some((county_code, tier)) = keys::parse_round_figures(&key) else {
            return Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                detail: "not a round figures key".into(),
            });
        };
        if county.is_some_and(|c| *c != county_code) {
            continue;
        }
        rows.push(FiguresRow {
            county_code,
            tier,
            figures: codec::decode(&key, &value)?,
        });
    }
    Ok(rows)
}

/// Every teacher of `county` (or one school of it) checked against `round` on `on`.
pub(crate) fn dry_run<E: Engine>(
    engine: &E,
    round: &CaseId,
    county: &CountyCode,
    school: Option<&str>,
    on: NaiveDate,
) -> Result<Vec<DryRunRow>, StoreError> {
    let Some(round) = get_round(engine, round)? else {
        return Err(DomainError::NotFound {
            what: "evaluation round",
        }
        .into());
    };
    let mut rows = Vec::new();
    for entry in engine.scan_prefix(&keys::county_prefix(county, school))? {
        let (key, _) = entry?;
        let Some(id) = keys::teacher_id_at_end(&key) else {
            continue;
        };
        let id = TeacherId::try_from(id.to_string()).map_err(|detail| StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            detail,
        })?;
        let Some(teacher) = read::<_, Teacher>(engine, &keys::record(&id))? else {
            continue;
        };
        let findings = findings(engine, &id)?;
        let failed = eligibility(&teacher, &findings.0, &round, false, on);
        rows.push(DryRunRow { teacher, failed });
    }
    Ok(rows)
}
