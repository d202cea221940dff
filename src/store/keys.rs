//! Every key of the registry's one ordered key space, built in one place.
//!
//! It is divided into key spaces, each under a one-byte prefix, so that one
//! atomic batch updates a record, its indexes and the change log together (in sled, one
//! tree: its multi-tree transactions are an order of magnitude slower). Numbers are
//! big-endian so that byte order is numeric order.

use chrono::NaiveDate;

use crate::domain::case::CaseId;
use crate::domain::{
    name_search_form, CountyCode, IdentityDocument, LegacyTitle, TeacherId, TitleTier,
};
use crate::store::format::codes::Coded;

mod journal;

pub(crate) use journal::{
    audit, audit_bound, audit_time, change, county_change, county_change_prefix,
    parse_request_expiry, principal_of_request, request, request_expiry, request_expiry_bound,
    request_quota, revision_of_change, revision_of_county_change,
};

/// County codes are six digits (GB/T 2260).
const COUNTY_CODE_LEN: usize = 6;

/// `r` + teacher_id → the teacher record.
pub(crate) const RECORD: u8 = b'r';
/// `i` + document type code + number → teacher_id.
pub(crate) const IDENTITY: u8 = b'i';
/// `c` + county code + school + 0x00 + teacher_id → a copy of the teacher record. Lists a
/// county (or one of its schools) in (school, teacher_id) order without reading any other
/// county, and without a second lookup per teacher: a page of 100 is one range scan. The
/// copy is written in the same batch as the record, so the two never differ. (Entries of
/// registries written before the copies are filled as such a registry opens.)
pub(crate) const COUNTY: u8 = b'c';
/// `k` + certificate number → teacher_id.
pub(crate) const CERTIFICATE: u8 = b'k';
/// `x` + expiry date (YYYYMMDD) + teacher_id → nothing: the earliest expiry of a teacher's
/// valid certificates' latest registrations, for reminders.
pub(crate) const REGISTRATION_EXPIRY: u8 = b'x';
/// `n` + county code + `t` + tier code, or `l` + legacy code → a count of teachers:
/// by current tier (`0` for none), and holders of each legacy title not yet transitioned.
/// Maintained by the write path, so statistics never decode records.
pub(crate) const COUNTER: u8 = b'n';
/// `s` + county code + name search form + 0x00 + teacher_id → nothing: teachers by name
/// within their county, for name search (see [`crate::store::search`]). The name is in
/// its search form ([`crate::domain::name_search_form`]), so an exact search reads one
/// run of keys and a prefix search (a surname) another. County first, because most
/// searches are a county bureau's, in its own county; a search of every county skips from
/// one county's run to the next. (Entries of registries written before the index are
/// filled as such a registry opens.)
pub(crate) const NAME: u8 = b's';
/// `l` + revision → change event.
pub(crate) const CHANGE: u8 = b'l';
/// `g` + county code + revision → nothing: the changes of teachers who are or were in the
/// county (a move is listed under both counties), so a county's feed reads only its own.
pub(crate) const COUNTY_CHANGE: u8 = b'g';
/// `q` + principal + 0x00 + request_id → the first outcome of that request (AIP-155).
pub(crate) const REQUEST: u8 = b'q';
/// `e` + time recorded (microseconds, big-endian) + the request's `q` key → nothing: the
/// request ids in the order they expire, so trimming reads only the expired ones.
pub(crate) const REQUEST_EXPIRY: u8 = b'e';
/// `y` + principal → how many request ids the principal keeps, by when they were
/// recorded (see [`crate::store::request_quota`]): the cap of finding 5 of #21.
pub(crate) const REQUEST_QUOTA: u8 = b'y';
/// `d` + time (microseconds, big-endian) + sequence (4 bytes) → an audit entry (see
/// [`crate::store::audit`]): who read what, kept apart from the change log.
pub(crate) const AUDIT: u8 = b'd';
/// `a` + case_id → the case record.
pub(crate) const CASE: u8 = b'a';
/// `o` + county code + case_id → a copy of the case record, while the case is open: the
/// window's working list. Lists of open, overdue or soon-due cases read only these (a
/// county has a few hundred open at a time however many it has closed), in one range scan.
pub(crate) const OPEN_CASE: u8 = b'o';
/// `O` + county code + committed due date (YYYYMMDD; `00000000` while the clock stands
/// still) + case_id → nothing, while the case is open: the open cases by the day they fall
/// due, so the overdue and due-soon lists and the report's "open past the limit now" read
/// only the cases due by a day, not every open case. A due date is worked out under the
/// window rules, so the rules it was worked out under are kept too
/// ([`META_CASE_DUE_RULES`]); a stopped clock has no due date but may be past its limit
/// already, so those cases are read by every overdue question.
pub(crate) const OPEN_CASE_DUE: u8 = b'O';
/// `h` + county code + date received (YYYYMMDD) + case_id → nothing: every case of a
/// county by the day it was received, for lists over a period.
pub(crate) const COUNTY_CASE: u8 = b'h';
/// `v` + year (2 bytes) + county code + month (1 byte) + kind code (0: consultations)
/// → the report's counts for that cell ([`crate::domain::case::CaseFigures`]), kept by
/// the write path with every case step and consultation. One value per cell rather than
/// one per figure: a year's report is one range scan of at most 12 months × counties ×
/// 4 values, whatever the number of cases.
pub(crate) const REPORT_CELL: u8 = b'v';
/// `b` + round_id → an evaluation round (see [`crate::store::evaluation`]).
pub(crate) const ROUND: u8 = b'b';
/// `p` + application_id → a title application.
pub(crate) const APPLICATION: u8 = b'p';
/// `j` + round_id + application_id → nothing: a round's applications.
pub(crate) const ROUND_APPLICATION: u8 = b'j';
/// `z` + round_id + teacher_id → the application_id: one application per teacher and round.
pub(crate) const ROUND_APPLICANT: u8 = b'z';
/// `u` + round_id + county code + tier code → the round's figures for that county and
/// tier, kept by the write path with every step.
pub(crate) const ROUND_FIGURES: u8 = b'u';
/// `f` + teacher_id → the ethics findings about the teacher, oldest first (one value: a
/// teacher has few, and eligibility reads them all within a write).
pub(crate) const ETHICS_FINDING: u8 = b'f';
/// `w` + date given (YYYYMMDD) + revision → a consultation answered.
pub(crate) const CONSULTATION: u8 = b'w';
/// `T` + county code + teacher_id → nothing: the teachers with a transfer pending out of
/// or into the county (an entry under each of the two counties), for ListTransfers.
pub(crate) const TRANSFER: u8 = b'T';
/// `H` + teacher_id + the revision's bitwise complement (big-endian) → what that revision
/// changed in the record (see [`crate::store::history`]). The complement puts a teacher's
/// newest revision first, so a history reads newest first in one forward scan.
pub(crate) const HISTORY: u8 = b'H';
// `m` + name → registry metadata:

/// Metadata: the revision of the last committed change.
pub(crate) const META_REVISION: &[u8] = b"mrevision";
/// Metadata: the oldest revision still in the change log (absent: 1, nothing trimmed).
pub(crate) const META_OLDEST_REVISION: &[u8] = b"moldest-revision";
/// Metadata: present once every county entry carries its record (see [`crate::store::upgrade`]).
pub(crate) const META_COUNTY_COPIES: &[u8] = b"mcounty-copies";
/// Metadata: present once every request record has its expiry entry (see
/// [`crate::store::upgrade`]).
pub(crate) const META_REQUEST_EXPIRY: &[u8] = b"mrequest-expiry";
/// Metadata: present once every principal's request ids are counted (see
/// [`crate::store::request_quota`]).
pub(crate) const META_REQUEST_QUOTAS: &[u8] = b"mrequest-quotas";
/// Metadata: present once every record has its name entry (see [`crate::store::upgrade`]).
pub(crate) const META_NAME_INDEX: &[u8] = b"mname-index";
/// Metadata: present once the report's cells count every case (see
/// [`crate::store::cases::fill_report_cells`]).
pub(crate) const META_CASE_REPORT: &[u8] = b"mcase-report";
/// Metadata: present once every record has its duplicate block entries (see
/// [`crate::store::upgrade`]). The identity operations' own key spaces (upper-case
/// prefixes) are in `store::identity::keys`.
pub(crate) const META_BLOCK_INDEX: &[u8] = b"mduplicate-blocks";
/// Metadata: the window rules (as [`crate::domain::case::WindowRules::to_text`] writes
/// them) the due-date index ([`OPEN_CASE_DUE`]) was built under; absent until it is built
/// (see [`crate::store::cases::fill_due_index`]).
pub(crate) const META_CASE_DUE_RULES: &[u8] = b"mcase-due-rules";
/// Metadata: the secret that signs page tokens.
pub(crate) const META_PAGE_SECRET: &[u8] = b"mpage-secret";

pub(crate) fn record(id: &TeacherId) -> Vec<u8> {
    prefixed(RECORD, id.as_str().as_bytes())
}

pub(crate) fn identity(doc: &IdentityDocument) -> Vec<u8> {
    let mut key = vec![IDENTITY, doc.doc_type().code()];
    key.extend_from_slice(doc.number().as_bytes());
    key
}

/// The county index prefix for a county, or for one school of it.
pub(crate) fn county_prefix(county: &CountyCode, school: Option<&str>) -> Vec<u8> {
    let mut key = prefixed(COUNTY, county.as_str().as_bytes());
    if let Some(school) = school {
        key.extend_from_slice(school.as_bytes());
        key.push(0);
    }
    key
}

/// School names never contain control characters, so 0x00 ends them unambiguously.
pub(crate) fn county(county: &CountyCode, school: &str, id: &TeacherId) -> Vec<u8> {
    let mut key = county_prefix(county, Some(school));
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The name index key of a teacher: county, the name's search form, 0x00, registry number.
pub(crate) fn name(county: &CountyCode, name: &str, id: &TeacherId) -> Vec<u8> {
    let mut key = name_prefix(county, &name_search_form(name));
    key.push(0);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The first name index key of a county whose name's search form starts with `form`
/// (already in search form). With a 0x00 after it, the keys of exactly that name.
pub(crate) fn name_prefix(county: &CountyCode, form: &str) -> Vec<u8> {
    let mut key = prefixed(NAME, county.as_str().as_bytes());
    key.extend_from_slice(form.as_bytes());
    key
}

/// The county code of a name index key.
pub(crate) fn county_of_name_key(key: &[u8]) -> Option<CountyCode> {
    let code = key.strip_prefix(&[NAME])?.get(..COUNTY_CODE_LEN)?;
    CountyCode::parse(std::str::from_utf8(code).ok()?).ok()
}

/// The first key after every name index key of `county`: UTF-8 never holds 0xff, so no
/// name reaches it.
pub(crate) fn name_county_end(county: &CountyCode) -> Vec<u8> {
    let mut key = prefixed(NAME, county.as_str().as_bytes());
    key.push(0xff);
    key
}

/// The registration-expiry index key of a teacher.
pub(crate) fn registration_expiry(expires_on: NaiveDate, id: &TeacherId) -> Vec<u8> {
    let mut key = registration_expiry_bound(expires_on);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The first registration-expiry key of a date: every key below it expires earlier.
pub(crate) fn registration_expiry_bound(expires_on: NaiveDate) -> Vec<u8> {
    prefixed(
        REGISTRATION_EXPIRY,
        expires_on.format("%Y%m%d").to_string().as_bytes(),
    )
}

/// The teacher_id at the end of a county or registration-expiry index key.
pub(crate) fn teacher_id_at_end(key: &[u8]) -> Option<&str> {
    let len = crate::domain::TEACHER_ID_LEN;
    key.len()
        .checked_sub(len)
        .and_then(|start| std::str::from_utf8(&key[start..]).ok())
}

/// A counter: the teachers of `county` whose current title is `tier`.
pub(crate) fn tier_counter(county: &CountyCode, tier: Option<TitleTier>) -> Vec<u8> {
    let mut key = counter_prefix(Some(county));
    key.push(b't');
    key.push(tier.map_or(0, TitleTier::code));
    key
}

/// A counter: the teachers of `county` holding `legacy` and awaiting the transition.
pub(crate) fn legacy_counter(county: &CountyCode, legacy: LegacyTitle) -> Vec<u8> {
    let mut key = counter_prefix(Some(county));
    key.push(b'l');
    key.push(legacy.code());
    key
}

/// The prefix of every counter, or of one county's.
pub(crate) fn counter_prefix(county: Option<&CountyCode>) -> Vec<u8> {
    let mut key = vec![COUNTER];
    if let Some(county) = county {
        key.extend_from_slice(county.as_str().as_bytes());
    }
    key
}

/// What a counter key counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Counted {
    Tier(Option<TitleTier>),
    Legacy(LegacyTitle),
}

/// Splits a counter key into its county code and what it counts.
pub(crate) fn parse_counter(key: &[u8]) -> Option<(CountyCode, Counted)> {
    let [COUNTER, county @ .., kind, code] = key else {
        return None;
    };
    let county = CountyCode::parse(std::str::from_utf8(county).ok()?).ok()?;
    let counted = match (kind, *code) {
        (b't', 0) => Counted::Tier(None),
        (b't', n) => Counted::Tier(Some(TitleTier::ALL.into_iter().find(|t| t.code() == n)?)),
        (b'l', n) => Counted::Legacy(LegacyTitle::ALL.into_iter().find(|l| l.code() == n)?),
        _ => return None,
    };
    Some((county, counted))
}

pub(crate) fn case(id: &CaseId) -> Vec<u8> {
    prefixed(CASE, id.as_str().as_bytes())
}

/// The open-case prefix of one county, or of all.
pub(crate) fn open_case_prefix(county: Option<&CountyCode>) -> Vec<u8> {
    prefixed(
        OPEN_CASE,
        county.map_or(&b""[..], |c| c.as_str().as_bytes()),
    )
}

pub(crate) fn open_case(county: &CountyCode, id: &CaseId) -> Vec<u8> {
    let mut key = open_case_prefix(Some(county));
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The due-date prefix of one county, or of all.
pub(crate) fn open_case_due_prefix(county: Option<&CountyCode>) -> Vec<u8> {
    prefixed(
        OPEN_CASE_DUE,
        county.map_or(&b""[..], |c| c.as_str().as_bytes()),
    )
}

/// An open case's due-date entry (`None`: its clock stands still).
pub(crate) fn open_case_due(
    county: &CountyCode,
    due_on: Option<NaiveDate>,
    id: &CaseId,
) -> Vec<u8> {
    let mut key = open_case_due_prefix(Some(county));
    key.extend_from_slice(&due_day(due_on));
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// A due date as the index orders it.
pub(crate) fn due_day(due_on: Option<NaiveDate>) -> [u8; 8] {
    let text = due_on.map_or_else(
        || "00000000".to_string(),
        |d| d.format("%Y%m%d").to_string(),
    );
    text.as_bytes().try_into().unwrap_or(*b"00000000")
}

/// The received-date prefix of one county, or (with a date) of one day of it.
pub(crate) fn county_case_prefix(county: &CountyCode, received_on: Option<NaiveDate>) -> Vec<u8> {
    let mut key = prefixed(COUNTY_CASE, county.as_str().as_bytes());
    if let Some(date) = received_on {
        key.extend_from_slice(date.format("%Y%m%d").to_string().as_bytes());
    }
    key
}

pub(crate) fn county_case(county: &CountyCode, received_on: NaiveDate, id: &CaseId) -> Vec<u8> {
    let mut key = county_case_prefix(county, Some(received_on));
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// A cell of the report (see [`REPORT_CELL`]).
pub(crate) fn report_cell(cell: &crate::domain::case::report::Cell) -> Vec<u8> {
    let mut key = report_year_prefix(cell.year, Some(&cell.county));
    key.push(cell.month as u8);
    key.push(cell.kind.map_or(0, |k| k.number() as u8));
    key
}

/// The cells of one year, of one county or of all.
pub(crate) fn report_year_prefix(year: i32, county: Option<&CountyCode>) -> Vec<u8> {
    let mut key = vec![REPORT_CELL];
    key.extend_from_slice(&(year.clamp(0, i32::from(u16::MAX)) as u16).to_be_bytes());
    if let Some(county) = county {
        key.extend_from_slice(county.as_str().as_bytes());
    }
    key
}

/// A report cell's key back to its cell.
pub(crate) fn parse_report_cell(key: &[u8]) -> Option<crate::domain::case::report::Cell> {
    use crate::domain::case::CaseKind;
    let [REPORT_CELL, y0, y1, rest @ ..] = key else {
        return None;
    };
    let [county @ .., month, kind] = rest else {
        return None;
    };
    let county = CountyCode::parse(std::str::from_utf8(county).ok()?).ok()?;
    Some(crate::domain::case::report::Cell {
        year: i32::from(u16::from_be_bytes([*y0, *y1])),
        month: u32::from(*month),
        county,
        kind: match kind {
            0 => None,
            n => Some(CaseKind::from_number(i32::from(*n))?),
        },
    })
}

pub(crate) fn round(id: &CaseId) -> Vec<u8> {
    prefixed(ROUND, id.as_str().as_bytes())
}

pub(crate) fn application(id: &CaseId) -> Vec<u8> {
    prefixed(APPLICATION, id.as_str().as_bytes())
}

/// The prefix of a round's applications.
pub(crate) fn round_application_prefix(round: &CaseId) -> Vec<u8> {
    prefixed(ROUND_APPLICATION, round.as_str().as_bytes())
}

pub(crate) fn round_application(round: &CaseId, application: &CaseId) -> Vec<u8> {
    let mut key = round_application_prefix(round);
    key.extend_from_slice(application.as_str().as_bytes());
    key
}

pub(crate) fn round_applicant(round: &CaseId, teacher: &TeacherId) -> Vec<u8> {
    let mut key = prefixed(ROUND_APPLICANT, round.as_str().as_bytes());
    key.extend_from_slice(teacher.as_str().as_bytes());
    key
}

/// The prefix of a round's figures.
pub(crate) fn round_figures_prefix(round: &CaseId) -> Vec<u8> {
    prefixed(ROUND_FIGURES, round.as_str().as_bytes())
}

pub(crate) fn round_figures(round: &CaseId, county: &CountyCode, tier: TitleTier) -> Vec<u8> {
    let mut key = round_figures_prefix(round);
    key.extend_from_slice(county.as_str().as_bytes());
    key.push(tier.code());
    key
}

/// The county and tier of a round's figures key.
pub(crate) fn parse_round_figures(key: &[u8]) -> Option<(CountyCode, TitleTier)> {
    let rest = key.get(1 + crate::domain::case::CASE_ID_LEN..)?;
    let (county, tier) = rest.split_at_checked(6)?;
    let county = CountyCode::try_from(std::str::from_utf8(county).ok()?.to_string()).ok()?;
    let tier = TitleTier::ALL.into_iter().find(|t| [t.code()] == tier)?;
    Some((county, tier))
}

pub(crate) fn ethics_findings(teacher: &TeacherId) -> Vec<u8> {
    prefixed(ETHICS_FINDING, teacher.as_str().as_bytes())
}

/// A consultation's record.
pub(crate) fn consultation(on: NaiveDate, revision: u64) -> Vec<u8> {
    let mut key = prefixed(CONSULTATION, on.format("%Y%m%d").to_string().as_bytes());
    key.extend_from_slice(&revision.to_be_bytes());
    key
}

/// The case_id at the end of an open-case or county-case key.
pub(crate) fn case_id_at_end(key: &[u8]) -> Option<CaseId> {
    let start = key.len().checked_sub(crate::domain::case::CASE_ID_LEN)?;
    let text = std::str::from_utf8(&key[start..]).ok()?;
    CaseId::try_from(text.to_string()).ok()
}

/// A pending transfer's entry under one of its counties (see [`TRANSFER`]).
pub(crate) fn transfer(county: &CountyCode, id: &TeacherId) -> Vec<u8> {
    let mut key = transfer_prefix(county);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The prefix of a county's pending-transfer entries.
pub(crate) fn transfer_prefix(county: &CountyCode) -> Vec<u8> {
    prefixed(TRANSFER, county.as_str().as_bytes())
}

/// A teacher's revision entry (see [`HISTORY`]).
pub(crate) fn history(id: &TeacherId, revision: u64) -> Vec<u8> {
    let mut key = history_prefix(id);
    key.extend_from_slice(&(!revision).to_be_bytes());
    key
}

/// The prefix of a teacher's revision entries.
pub(crate) fn history_prefix(id: &TeacherId) -> Vec<u8> {
    prefixed(HISTORY, id.as_str().as_bytes())
}

/// The revision a history key stands for.
pub(crate) fn revision_of_history(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    Some(!u64::from_be_bytes(key[start..].try_into().ok()?))
}

pub(crate) fn certificate(number: &str) -> Vec<u8> {
    prefixed(CERTIFICATE, number.as_bytes())
}

/// `prefix` followed by `rest`.
pub(super) fn prefixed(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + rest.len());
    key.push(prefix);
    key.extend_from_slice(rest);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn counter_keys_parse_back() {
        let county = CountyCode::parse("350702").unwrap();
        let mut counted = vec![Counted::Tier(None)];
        counted.extend(TitleTier::ALL.map(|t| Counted::Tier(Some(t))));
        counted.extend(LegacyTitle::ALL.map(Counted::Legacy));
        for what in counted {
            let key = match &what {
                Counted::Tier(tier) => tier_counter(&county, *tier),
                Counted::Legacy(legacy) => legacy_counter(&county, *legacy),
            };
            assert!(key.starts_with(&counter_prefix(Some(&county))));
            assert_eq!(parse_counter(&key), Some((county.clone(), what)));
        }
        assert_eq!(parse_counter(b"n350702t9"), None);
        assert_eq!(parse_counter(b"n"), None);
    }

    #[test]
    fn name_keys_group_by_county_then_name_and_give_both_back() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = CountyCode::parse("350702").unwrap();
        let b = CountyCode::parse("350721").unwrap();
        let id = TeacherId::generate(&mut rng);
        let key = name(&a, "王 小明", &id);
        assert_eq!(county_of_name_key(&key), Some(a.clone()));
        assert_eq!(teacher_id_at_end(&key), Some(id.as_str()));
        assert!(key.starts_with(&name_prefix(&a, "王")));
        let mut exact = name_prefix(&a, "王小明");
        exact.push(0);
        assert!(key.starts_with(&exact));
        // 王小 is a prefix of the name but not the whole name.
        let mut shorter = name_prefix(&a, "王小");
        shorter.push(0);
        assert!(!key.starts_with(&shorter));
        assert!(!key.starts_with(&name_prefix(&b, "王")));
        assert!(key < name_county_end(&a) && name_county_end(&a) < name(&b, "", &id));
    }

    #[test]
    fn history_keys_put_a_teachers_newest_revision_first() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let id = TeacherId::generate(&mut rng);
        let (old, new) = (history(&id, 7), history(&id, 1 << 33));
        assert!(new < old);
        assert!(old.starts_with(&history_prefix(&id)));
        assert_eq!(revision_of_history(&old), Some(7));
        assert_eq!(revision_of_history(&new), Some(1 << 33));
    }

    proptest! {
        #[test]
        fn county_keys_sort_by_school_then_id_and_give_the_id_back(
            school_a in "[^\\x00-\\x1f]{0,20}",
            school_b in "[^\\x00-\\x1f]{0,20}",
            seed in any::<u64>(),
        ) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let county_code = CountyCode::parse("350702").unwrap();
            let id_a = TeacherId::generate(&mut rng);
            let id_b = TeacherId::generate(&mut rng);
            let a = county(&county_code, &school_a, &id_a);
            let b = county(&county_code, &school_b, &id_b);
            prop_assert_eq!(teacher_id_at_end(&a), Some(id_a.as_str()));
            prop_assert!(a.starts_with(&county_prefix(&county_code, Some(&school_a))));
            if school_a != school_b {
                prop_assert_eq!(a.cmp(&b), school_a.as_bytes().cmp(school_b.as_bytes()));
                // A school's prefix never matches another school's keys.
                prop_assert!(!b.starts_with(&county_prefix(&county_code, Some(&school_a))));
            }
        }
    }
}
