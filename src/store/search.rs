//! Finding teachers by name, page by page, from the name index ([`keys::NAME`]).
//!
//! The index is ordered by county, then by the name's search form
//! ([`crate::domain::name_search_form`]), then by registry number. So the teachers of one
//! county with one name, or with names that start alike (a surname: 王 finds 王小明), are
//! one run of adjacent keys, and a search of one county reads only that run. A search of
//! every county reads the run of each county in turn: it seeks to the run's start in a
//! county, reads it, then seeks past the rest of that county, so it reads no key of a
//! county that holds no match beyond the first. Results come in index order: county code,
//! then name (by code point, not by pinyin), then registry number.
//!
//! A record has an entry for its name and one for each former name (曾用名), so a
//! search by a name the teacher no longer uses finds them; a record matched by several of
//! its names is shown once, at the first of its matching keys.
//!
//! Index entries hold no value: each hit is read from its record, and kept only if the
//! record still owns the key, so a teacher renamed or moved while the page was read is
//! never shown under a name or county it no longer has. Page tokens are those of
//! listings ([`crate::store::page`]), bound to the search they belong to.

use std::ops::Bound;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{name_search_form, CountyCode, DomainError};
use crate::store::engine::Engine;
use crate::store::mutation::name_keys;
use crate::store::page::{open_token, read_indexed, seal_token, Page, MAX_SCANNED};
use crate::store::{keys, StoreError};

/// How a name search compares names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NameMatch {
    /// The whole name, in search form, equals the one searched for.
    Exact,
    /// The name, in search form, starts with the one searched for (a surname, or the
    /// first characters of a name).
    Prefix,
}

/// A name search: a name and how to compare it, in one county or in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameQuery {
    /// The name searched for, in search form; never empty.
    form: String,
    how: NameMatch,
    county: Option<CountyCode>,
}

impl NameQuery {
    /// A search for `name` as staff typed it; INVALID_ARGUMENT when nothing of it is left
    /// in search form (blank, or spaces only).
    pub fn new(
        name: &str,
        how: NameMatch,
        county: Option<CountyCode>,
    ) -> Result<Self, DomainError> {
        let form = name_search_form(name);
        if form.is_empty() {
            return Err(DomainError::invalid("name", "is required"));
        }
        Ok(Self { form, how, county })
    }

    /// The county searched, if only one.
    pub fn county(&self) -> Option<&CountyCode> {
        self.county.as_ref()
    }

    /// The keys of `county` that match: every key of the run starts with this, and no
    /// other key of the index does. An exact search ends the name with its 0x00.
    fn run(&self, county: &CountyCode) -> Vec<u8> {
        let mut run = keys::name_prefix(county, &self.form);
        if self.how == NameMatch::Exact {
            run.push(0);
        }
        run
    }

    /// What a page token of this search is bound to.
    fn digest(&self) -> [u8; 16] {
        let form = (
            "name-search",
            self.how,
            self.form.as_str(),
            self.county.as_ref().map(CountyCode::as_str),
        );
        let bytes = postcard::to_stdvec(&form).expect("in-memory serialization");
        Sha256::digest(bytes)[..16]
            .try_into()
            .expect("16 of 32 bytes")
    }
}

/// One page of the teachers `query` finds, after `page_token` (empty for the first).
/// `revision`: the last revision on disk, read before the scan.
pub(crate) fn search<E: Engine>(
    engine: &E,
    revision: u64,
    secret: &[u8],
    query: &NameQuery,
    page_size: usize,
    page_token: &str,
) -> Result<Page, StoreError> {
    let digest = query.digest();
    let mut from = match (page_token, &query.county) {
        ("", Some(county)) => Bound::Included(query.run(county)),
        ("", None) => Bound::Included(vec![keys::NAME]),
        (token, _) => {
            let after = open_token(secret, digest, token)?;
            let inside = match &query.county {
                Some(county) => after.starts_with(&query.run(county)),
                None => keys::county_of_name_key(&after).is_some(),
            };
            if !inside {
                return Err(
                    DomainError::invalid("page_token", "does not belong to this search").into(),
                );
            }
            Bound::Excluded(after)
        }
    };

    let mut teachers = Vec::with_capacity(page_size.min(1000));
    let mut last_key = None;
    let mut more = false;
    let mut scanned = 0;
    // Each pass scans from `from` until the run ends; a search of every county then seeks
    // to the next county's run and starts another pass. Every seek moves forward.
    'seek: loop {
        for entry in engine.range(from.as_ref().map(Vec::as_slice), Bound::Unbounded)? {
            let (key, _) = entry?;
            let Some(county) = keys::county_of_name_key(&key) else {
                break 'seek; // Past the name index.
            };
            if query.county.as_ref().is_some_and(|only| *only != county) {
                break 'seek;
            }
            let run = query.run(&county);
            if key.as_ref() < run.as_slice() {
                from = Bound::Included(run);
                continue 'seek;
            }
            if !key.starts_with(&run) {
                if query.county.is_some() {
                    break 'seek;
                }
                from = Bound::Included(keys::name_county_end(&county));
                continue 'seek;
            }
            if teachers.len() == page_size || scanned == MAX_SCANNED {
                more = true;
                break 'seek;
            }
            scanned += 1;
            let found = read_indexed(engine, &key)?;
            // A record found by several of its names (a former name is one) is shown
            // once, at the first of its keys in the run.
            if let Some(teacher) = found.filter(|t| {
                name_keys(t)
                    .into_iter()
                    .filter(|k| k.starts_with(&run))
                    .min()
                    == Some(key.to_vec())
            }) {
                teachers.push(teacher);
            }
            last_key = Some(key.to_vec());
        }
        break;
    }

    let next_page_token = match (more, last_key) {
        (true, Some(after)) => seal_token(secret, digest, after),
        _ => String::new(),
    };
    Ok(Page {
        teachers,
        next_page_token,
        revision,
    })
}
