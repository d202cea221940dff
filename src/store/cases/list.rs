//! Reading cases: one by number, and lists for the window, ordered by due date.
//!
//! The window's questions are about open cases ("what is overdue", "what falls due this
//! week"): those read only the cases the due-date index holds under a day up to the one
//! asked about (see `stage`), and other lists of open cases the open-case index of the
//! county, whose entries hold the records. Either way the lists work out each candidate's
//! clock from the case and the operator's calendar as of today, keep those that match,
//! and sort. A list that may include closed cases
//! reads the county's cases by the day they were received (only the period asked for),
//! or, for an unscoped caller without a county, every case.

use std::ops::Bound;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::domain::case::{Case, CaseId, CaseKind, CaseState, Clock, WindowRules};
use crate::domain::{CityCode, CountyCode, DomainError};
use crate::store::engine::Engine;
use crate::store::page::{open_token, seal_token};
use crate::store::{codec, keys, StoreError};

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub county: Option<CountyCode>,
    /// Empty: every state.
    pub states: Vec<CaseState>,
    pub kind: Option<CaseKind>,
    pub assignee: Option<String>,
    pub received_from: Option<NaiveDate>,
    pub received_to: Option<NaiveDate>,
    /// Only open cases past their committed due date.
    pub overdue: bool,
    /// Only open cases due within this many working days of today.
    pub due_within: Option<u32>,
    /// Only cases of this city's counties that were forwarded to it (a city principal's).
    pub forwarded_to: Option<CityCode>,
}

/// A case with its clock as of the day it was read (`None`: no limit applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseView {
    pub case: Case,
    pub clock: Option<Clock>,
}

/// One page of cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePage {
    pub cases: Vec<CaseView>,
    /// Empty on the last page.
    pub next_page_token: String,
}

impl CaseQuery {
    fn open_only(&self) -> bool {
        self.overdue
            || self.due_within.is_some()
            || (!self.states.is_empty() && self.states.iter().all(|s| !s.is_closed()))
    }

    pub(super) fn matches(
        &self,
        case: &Case,
        clock: Option<&Clock>,
        due_by: Option<NaiveDate>,
    ) -> bool {
        (self.states.is_empty() || self.states.contains(&case.state))
            && self.kind.is_none_or(|k| k == case.kind)
            && self
                .forwarded_to
                .as_ref()
                .is_none_or(|city| city.contains(&case.county_code) && case.forwarded_on.is_some())
            && self.county.as_ref().is_none_or(|c| *c == case.county_code)
            && self
                .assignee
                .as_ref()
                .is_none_or(|a| case.assignee.as_ref() == Some(a))
            && self.received_from.is_none_or(|d| case.received_on >= d)
            && self.received_to.is_none_or(|d| case.received_on <= d)
            && (!self.overdue || (!case.state.is_closed() && clock.is_some_and(|c| c.overdue)))
            && due_by.is_none_or(|by| {
                !case.state.is_closed() && clock.and_then(|c| c.due_on).is_some_and(|d| d <= by)
            })
    }

    /// What a page token is bound to.
    fn digest(&self) -> [u8; 16] {
        let form = format!(
            "cases\x00{}\x00{:?}\x00{:?}\x00{}\x00{:?}\x00{:?}\x00{}\x00{:?}\x00{:?}",
            self.county.as_ref().map_or("", CountyCode::as_str),
            self.states,
            self.kind,
            self.assignee.as_deref().unwrap_or(""),
            self.received_from,
            self.received_to,
            self.overdue,
            self.due_within,
            self.forwarded_to.as_ref().map(CityCode::as_str),
        );
        Sha256::digest(form.as_bytes())[..16]
            .try_into()
            .expect("16 of 32 bytes")
    }
}

/// The case with this number.
pub(crate) fn get<E: Engine>(engine: &E, id: &CaseId) -> Result<Option<Case>, StoreError> {
    let key = keys::case(id);
    match engine.get(&key)? {
        Some(bytes) => Ok(Some(codec::decode(&key, &bytes)?)),
        None => Ok(None),
    }
}

/// A page of the cases `query` selects, by due date (cases without one last), then
/// number, with their clocks as of `today`.
pub(crate) fn list<E: Engine>(
    engine: &E,
    secret: &[u8],
    rules: &WindowRules,
    today: NaiveDate,
    query: &CaseQuery,
    page_size: usize,
    page_token: &str,
) -> Result<CasePage, StoreError> {
    let after = match page_token {
        "" => None,
        token => Some(open_token(secret, query.digest(), token)?),
    };
    let due_by = query
        .due_within
        .map(|n| rules.calendar.add_working_days(today, n));
    let mut selected = Vec::new();
    // The last day a selected case can fall due on: the day before today for overdue
    // cases (a case is overdue the day after its due date).
    let last_due = [query.overdue.then(|| today.pred_opt()).flatten(), due_by]
        .into_iter()
        .flatten()
        .min();
    if last_due.is_none() && query.open_only() {
        selected = open_in_due_order(engine, query, rules, today, after.as_ref(), page_size + 1)?;
    } else {
        for case in candidates(engine, query, last_due)? {
            let clock = case.clock(rules, today);
            if query.matches(&case, clock.as_ref(), due_by) {
                let order = order_key(&case, clock.as_ref());
                if after.as_ref().is_none_or(|after| order > *after) {
                    selected.push((order, case, clock));
                }
            }
        }
    }
    selected.sort_by(|a, b| a.0.cmp(&b.0));
    let more = selected.len() > page_size;
    selected.truncate(page_size);
    let next_page_token = match (more, selected.last()) {
        (true, Some((order, _, _))) => seal_token(secret, query.digest(), order.clone()),
        _ => String::new(),
    };
    Ok(CasePage {
        cases: selected
            .into_iter()
            .map(|(_, case, clock)| CaseView { case, clock })
            .collect(),
        next_page_token,
    })
}

/// A case a list selected, under its place in the list ([`order_key`]).
type Selected = (Vec<u8>, Case, Option<Clock>);

/// The first `wanted` open cases `query` selects (a query of open cases without a due
/// date: the window's queue), read from the due-date index in due order, county by county,
/// only as far as can matter: an entry's day is never after its case's due date (a case
/// whose clock stands still is filed under day 0 and sorts last), so once a county has
/// `wanted` selected cases ordered before the entry read next, no later entry of that
/// county can make the page. Open cases without a time limit have no entry and sort last:
/// they are read from the open-case index only when the entries leave the page short.
fn open_in_due_order<E: Engine>(
    engine: &E,
    query: &CaseQuery,
    rules: &WindowRules,
    today: NaiveDate,
    after: Option<&Vec<u8>>,
    wanted: usize,
) -> Result<Vec<Selected>, StoreError> {
    let mut selected = Vec::new();
    let select = |case: Case, into: &mut Vec<Selected>| {
        let clock = case.clock(rules, today);
        if query.matches(&case, clock.as_ref(), None) {
            let order = order_key(&case, clock.as_ref());
            if after.is_none_or(|after| order > *after) {
                let at = into.partition_point(|(o, _, _)| *o < order);
                into.insert(at, (order, case, clock));
                into.truncate(wanted);
            }
        }
    };
    let counties = match &query.county {
        Some(county) => vec![keys::open_case_due_prefix(Some(county))],
        None => due_county_prefixes(engine)?,
    };
    for prefix in counties {
        let county = &prefix[prefix.len() - COUNTY_CODE_LEN..];
        let beyond_city = query.forwarded_to.as_ref().is_some_and(|city| {
            std::str::from_utf8(county)
                .ok()
                .and_then(|code| CountyCode::parse(code).ok())
                .is_none_or(|code| !city.contains(&code))
        });
        if beyond_city {
            continue;
        }
        let mut mine: Vec<Selected> = Vec::new();
        let end = [prefix.as_slice(), &[0xff]].concat();
        for entry in engine.range(Bound::Included(&prefix), Bound::Excluded(&end))? {
            let (key, _) = entry?;
            let floor = entry_floor(&key, prefix.len())?;
            if mine.len() == wanted && mine.last().is_some_and(|(last, _, _)| floor > *last) {
                break;
            }
            let id = case_id(&key)?;
            let case_key = keys::case(&id);
            let bytes = engine.get(&case_key)?.ok_or_else(|| corrupt(&key))?;
            select(codec::decode(&case_key, &bytes)?, &mut mine);
        }
        selected.extend(mine);
    }
    selected.sort_by(|a, b| a.0.cmp(&b.0));
    selected.truncate(wanted);
    if selected.len() < wanted {
        let prefix = keys::open_case_prefix(query.county.as_ref());
        for entry in engine.range(Bound::Included(&prefix), Bound::Unbounded)? {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            let case: Case = codec::decode(&key, &value)?;
            if case.clock(rules, case.received_on).is_none() {
                select(case, &mut selected);
            }
        }
    }
    Ok(selected)
}

/// The least place in a list ([`order_key`]) the case of a due-date entry can have: its
/// entry's day, then its number.
fn entry_floor(key: &[u8], county_prefix_len: usize) -> Result<Vec<u8>, StoreError> {
    let day = key
        .get(county_prefix_len..county_prefix_len + 8)
        .and_then(|day| std::str::from_utf8(day).ok())
        .ok_or_else(|| corrupt(key))?;
    let days = match day {
        "00000000" => 0,
        day => NaiveDate::parse_from_str(day, "%Y%m%d")
            .map(|date| crate::store::format::v2::days(date) as u32)
            .map_err(|_| corrupt(key))?,
    };
    let mut floor = days.to_be_bytes().to_vec();
    floor.extend_from_slice(&key[county_prefix_len + 8..]);
    Ok(floor)
}

/// Due date (none sorts last), then case number, as bytes in that order.
pub(super) fn order_key(case: &Case, clock: Option<&Clock>) -> Vec<u8> {
    let due = clock
        .and_then(|c| c.due_on)
        .map_or(u32::MAX, |d| crate::store::format::v2::days(d) as u32);
    let mut key = due.to_be_bytes().to_vec();
    key.extend_from_slice(case.id.as_str().as_bytes());
    key
}

/// The cases a query may select, from the smallest key space that holds them all.
fn candidates<E: Engine>(
    engine: &E,
    query: &CaseQuery,
    last_due: Option<NaiveDate>,
) -> Result<Vec<Case>, StoreError> {
    let mut cases = Vec::new();
    if let Some(by) = last_due {
        cases = due_by(engine, query.county.as_ref(), by)?;
    } else if query.open_only() {
        let prefix = keys::open_case_prefix(query.county.as_ref());
        for entry in engine.range(Bound::Included(&prefix), Bound::Unbounded)? {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            cases.push(codec::decode(&key, &value)?);
        }
    } else if let Some(county) = &query.county {
        let prefix = keys::county_case_prefix(county, None);
        let start = keys::county_case_prefix(county, query.received_from);
        for entry in engine.range(Bound::Included(&start), Bound::Unbounded)? {
            let (key, _) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            let id = keys::case_id_at_end(&key).ok_or_else(|| StoreError::Corrupt {
                key: String::from_utf8_lossy(&key[..key.len().min(7)]).into_owned(),
                detail: "case index key does not end in a case number".into(),
            })?;
            match get(engine, &id)? {
                Some(case) if query.received_to.is_some_and(|to| case.received_on > to) => break,
                Some(case) => cases.push(case),
                None => {}
            }
        }
    } else {
        let prefix = vec![keys::CASE];
        for entry in engine.range(Bound::Included(&prefix), Bound::Unbounded)? {
            let (key, value) = entry?;
            if !key.starts_with(&prefix) {
                break;
            }
            cases.push(codec::decode(&key, &value)?);
        }
    }
    Ok(cases)
}

/// INVALID_ARGUMENT for a period that ends before it starts.
pub(crate) fn check_period(query: &CaseQuery) -> Result<(), DomainError> {
    match (query.received_from, query.received_to) {
        (Some(from), Some(to)) if to < from => Err(DomainError::invalid(
            "received_to",
            format!("{to} is before received_from {from}"),
        )),
        _ => Ok(()),
    }
}

/// A county code's length in a key (six digits).
const COUNTY_CODE_LEN: usize = 6;

/// The open cases of `county` (or of every county) whose entry lies on or before `by`,
/// those whose clock stands still included, in no particular order.
pub(crate) fn due_by<E: Engine>(
    engine: &E,
    county: Option<&CountyCode>,
    by: NaiveDate,
) -> Result<Vec<Case>, StoreError> {
    let after_by = by.succ_opt().map(|day| keys::due_day(Some(day)));
    let mut ids = Vec::new();
    let mut scan_county = |prefix: Vec<u8>| -> Result<(), StoreError> {
        let end = match &after_by {
            Some(day) => [prefix.as_slice(), day].concat(),
            None => [prefix.as_slice(), &[0xff]].concat(),
        };
        for entry in engine.range(Bound::Included(&prefix), Bound::Excluded(&end))? {
            let (key, _) = entry?;
            ids.push(case_id(&key)?);
        }
        Ok(())
    };
    match county {
        Some(county) => scan_county(keys::open_case_due_prefix(Some(county)))?,
        None => {
            // County by county: the entries past `by` are never read.
            for prefix in due_county_prefixes(engine)? {
                scan_county(prefix)?;
            }
        }
    }
    let mut cases = Vec::with_capacity(ids.len());
    for id in ids {
        let key = keys::case(&id);
        match engine.get(&key)? {
            Some(bytes) => cases.push(codec::decode(&key, &bytes)?),
            None => return Err(corrupt(&keys::open_case_due_prefix(None))),
        }
    }
    Ok(cases)
}

/// The due-date index's prefix of each county that has an entry, found by skipping from
/// one county to the next (a seek each, whatever a county holds).
fn due_county_prefixes<E: Engine>(engine: &E) -> Result<Vec<Vec<u8>>, StoreError> {
    let all = keys::open_case_due_prefix(None);
    let mut prefixes = Vec::new();
    let mut cursor = all.clone();
    loop {
        let first = engine
            .range(Bound::Included(&cursor), Bound::Unbounded)?
            .next()
            .transpose()?;
        let Some((key, _)) = first.filter(|(key, _)| key.starts_with(&all)) else {
            break;
        };
        let prefix = key
            .get(..all.len() + COUNTY_CODE_LEN)
            .ok_or_else(|| corrupt(&key))?
            .to_vec();
        cursor = [prefix.as_slice(), &[0xff]].concat();
        prefixes.push(prefix);
    }
    Ok(prefixes)
}

fn case_id(key: &[u8]) -> Result<CaseId, StoreError> {
    keys::case_id_at_end(key).ok_or_else(|| corrupt(key))
}

fn corrupt(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(&key[..key.len().min(15)]).into_owned(),
        detail: "a due-date entry that does not name an open case".into(),
    }
}
