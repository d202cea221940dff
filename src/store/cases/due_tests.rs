//! The due-date index (see `stage`): the lists and the report read through it answer as
//! every open case read whole does, `verify` finds a damaged entry, and it is built as a
//! registry opens (rules changed, or an earlier release's cases).

use chrono::{Days, NaiveDate};

use super::list::order_key;
use super::stage::{fill_due_index, stored_rules};
use crate::domain::case::{Case, CaseId, WindowRules};
use crate::domain::case::{CaseKind, CaseState, NewCase};
use crate::domain::CountyCode;
use crate::store::cases::{CaseCommand, CaseQuery, CaseStepRequest, ReportQuery};
use crate::store::engine::Engine;
use crate::store::{codec, keys};
use crate::store::{Store, StoreOptions, WriteContext};

fn county() -> CountyCode {
    CountyCode::parse("350702").unwrap()
}

/// Opens cases received over the last six weeks; accepts some, asks a supplement of
/// one (its clock stops), refuses one at intake (it closes).
async fn store_with_cases(dir: &std::path::Path, options: &StoreOptions) -> Store {
    let store = Store::open(dir, options).unwrap();
    let today = crate::clock::today();
    let context = || WriteContext::new("test", None);
    for n in 0..12u64 {
        let received_on = today - Days::new(n * 4);
        let new = NewCase {
            kind: if n % 2 == 0 {
                CaseKind::Reissue
            } else {
                CaseKind::Registration
            },
            county_code: if n % 3 == 0 {
                CountyCode::parse("350703").unwrap()
            } else {
                county()
            },
            teacher_id: None,
            applicant: None,
            applicant_name: format!("申请人{n}"),
            certificate_kind: None,
            certificate_number: None,
            materials: vec![],
            received_on,
        };
        let open = CaseCommand::Open {
            new,
            note: String::new(),
        };
        let case = store.case_command(open, context()).await.unwrap().case;
        let step = match n % 4 {
            0 => continue,
            1 => CaseStepRequest::Accept,
            2 => CaseStepRequest::RequestSupplement {
                missing: vec!["照片".into()],
            },
            _ => CaseStepRequest::Refuse {
                reason: "不属于本机关受理".into(),
            },
        };
        let command = CaseCommand::Step {
            case_id: case.id,
            expected_etag: None,
            on: Some(received_on),
            note: String::new(),
            step,
        };
        store.case_command(command, context()).await.unwrap();
    }
    store
}

/// Every open case, read whole from the open-case index.
fn open_cases<E: Engine>(engine: &E) -> Vec<Case> {
    engine
        .scan_prefix(&[keys::OPEN_CASE])
        .unwrap()
        .map(|entry| {
            let (key, value) = entry.unwrap();
            codec::decode(&key, &value).unwrap()
        })
        .collect()
}

/// `offset` days from `now`, either way.
fn day(now: NaiveDate, offset: i64) -> NaiveDate {
    if offset < 0 {
        now - Days::new(offset.unsigned_abs())
    } else {
        now + Days::new(offset as u64)
    }
}

/// The numbers of the cases of `open` that `query` selects on `today`, in a list's order:
/// what a list must answer, worked out from every open case.
fn sorted_matches(
    open: &[Case],
    query: &CaseQuery,
    rules: &WindowRules,
    today: NaiveDate,
    due_by: Option<NaiveDate>,
) -> Vec<CaseId> {
    let mut expected: Vec<_> = open
        .iter()
        .filter_map(|case| {
            let clock = case.clock(rules, today);
            query
                .matches(case, clock.as_ref(), due_by)
                .then(|| (order_key(case, clock.as_ref()), case.id.clone()))
        })
        .collect();
    expected.sort();
    expected.into_iter().map(|(_, id)| id).collect()
}

/// The overdue and due-soon lists, and the report's open cases past their limit, read
/// through the index give what every open case read whole gives, on each day from
/// six weeks back to six weeks on: the day a case falls due it is due, not overdue;
/// the day after, overdue.
#[tokio::test]
async fn lists_by_due_date_answer_as_the_open_cases_do_on_every_day() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions::default();
    let store = store_with_cases(dir.path(), &options).await;
    let engine = store.engine();
    let rules = store.window_rules().clone();
    let open = open_cases(engine);
    assert_eq!(open.len(), 9, "three of twelve refused at intake");
    let now = crate::clock::today();
    let mut crossed = false;
    for offset in -42i64..=42 {
        let today = day(now, offset);
        for (county, overdue, due_within) in [
            (None, true, None),
            (Some(county()), true, None),
            (None, false, Some(3)),
            (Some(county()), true, Some(5)),
        ] {
            let query = CaseQuery {
                county: county.clone(),
                overdue,
                due_within,
                ..CaseQuery::default()
            };
            let listed: Vec<_> =
                crate::store::cases::list(engine, b"secret", &rules, today, &query, 100, "")
                    .unwrap()
                    .cases
                    .into_iter()
                    .map(|view| view.case.id)
                    .collect();
            let due_by = due_within.map(|n| rules.calendar.add_working_days(today, n));
            let expected = sorted_matches(&open, &query, &rules, today, due_by);
            assert_eq!(listed, expected, "{query:?} on {today}");
        }
        let report = crate::store::cases::report(
            engine,
            &rules,
            today,
            &ReportQuery {
                year: today.format("%Y").to_string().parse().unwrap(),
                county: None,
                period: crate::domain::case::ReportPeriod::Year,
            },
        )
        .unwrap();
        let counted: u64 = report.rows.iter().map(|r| r.open_overdue).sum();
        let expected = open
            .iter()
            .filter(|c| c.received_on.format("%Y").to_string() == today.format("%Y").to_string())
            .filter(|c| c.clock(&rules, today).is_some_and(|clock| clock.overdue))
            .count() as u64;
        assert_eq!(counted, expected, "report on {today}");
        // Some case is due on one day and overdue on the next.
        crossed |= open.iter().any(|case| {
            let due = case.clock(&rules, today).and_then(|c| c.due_on);
            due == Some(today)
                && !case.clock(&rules, today).unwrap().overdue
                && case.clock(&rules, today + Days::new(1)).unwrap().overdue
        });
    }
    assert!(crossed, "the days tried cross some case's due date");
    assert!(open.iter().any(|c| c.state == CaseState::Received));
}

/// The window's queue (every open case, by due date) read through the index, page by
/// page, is every open case read whole and sorted, on each day from six weeks back to six
/// weeks on: the entries are read only as far as a page needs, and a case whose clock
/// stands still (filed under day 0) still sorts last.
#[tokio::test]
async fn the_queue_by_due_date_pages_as_the_open_cases_sort() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_cases(dir.path(), &StoreOptions::default()).await;
    let engine = store.engine();
    let rules = store.window_rules().clone();
    let open = open_cases(engine);
    let open_states = vec![
        CaseState::Received,
        CaseState::Accepted,
        CaseState::SupplementRequested,
        CaseState::Forwarded,
    ];
    let now = crate::clock::today();
    for offset in (-42i64..=42).step_by(3) {
        let today = day(now, offset);
        for (county, states, kind) in [
            (None, open_states.clone(), None),
            (Some(county()), open_states.clone(), None),
            (None, vec![CaseState::Accepted], None),
            (None, open_states.clone(), Some(CaseKind::Reissue)),
        ] {
            let query = CaseQuery {
                county: county.clone(),
                states,
                kind,
                ..CaseQuery::default()
            };
            let expected = sorted_matches(&open, &query, &rules, today, None);
            for page_size in [1, 2, 3, 100] {
                let mut listed = Vec::new();
                let mut token = String::new();
                loop {
                    let page = crate::store::cases::list(
                        engine, b"secret", &rules, today, &query, page_size, &token,
                    )
                    .unwrap();
                    assert!(page.cases.len() <= page_size);
                    listed.extend(page.cases.into_iter().map(|view| view.case.id));
                    if page.next_page_token.is_empty() {
                        break;
                    }
                    token = page.next_page_token;
                }
                assert_eq!(
                    listed, expected,
                    "{query:?} on {today}, pages of {page_size}"
                );
            }
        }
    }
    assert!(
        open.iter()
            .any(|c| c.state == CaseState::SupplementRequested),
        "a case whose clock stands still is among them"
    );
}

/// `verify` checks each entry against the due date the stored rules give its case.
#[tokio::test]
async fn a_misplaced_or_lost_due_date_entry_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_cases(dir.path(), &StoreOptions::default()).await;
    assert!(store.verify().unwrap().is_consistent());
    let engine = store.engine();
    let (key, _) = engine
        .scan_prefix(&[keys::OPEN_CASE_DUE])
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let mut moved = key.to_vec();
    moved[7..15].copy_from_slice(b"20991231");
    engine
        .apply(&[(key.as_ref(), None), (moved.as_slice(), Some(&b""[..]))])
        .unwrap();
    let problems = store.verify().unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("20991231") && p.contains("belongs to no record")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("is missing")),
        "{problems:?}"
    );

    // Without the rules they were worked out under, no entry can be vouched for.
    engine
        .apply(&[(key.as_ref(), Some(&b""[..])), (moved.as_slice(), None)])
        .unwrap();
    assert!(store.verify().unwrap().is_consistent());
    engine
        .apply(&[(keys::META_CASE_DUE_RULES, None::<&[u8]>)])
        .unwrap();
    let problems = store.verify().unwrap().problems;
    assert!(
        problems.iter().any(|p| p.contains("belongs to no record")),
        "{problems:?}"
    );
}

/// A registry opened under corrected rules has its entries moved to
/// the new due dates as it opens, and says which rules they follow.
#[tokio::test]
async fn other_rules_move_the_entries_as_the_registry_opens() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_cases(dir.path(), &StoreOptions::default()).await;
    let before: Vec<_> = store
        .engine()
        .scan_prefix(&[keys::OPEN_CASE_DUE])
        .unwrap()
        .map(|e| e.unwrap().0.to_vec())
        .collect();
    crate::store::fixtures::close(store).await;

    // A committed limit for reissues one day shorter.
    let rules = WindowRules::parse("[limits.reissue]\ncommitted = 9\nlegal = 20\n").unwrap();
    let options = StoreOptions {
        window_rules: std::sync::Arc::new(rules.clone()),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), &options).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    let after: Vec<_> = store
        .engine()
        .scan_prefix(&[keys::OPEN_CASE_DUE])
        .unwrap()
        .map(|e| e.unwrap().0.to_vec())
        .collect();
    assert_eq!(after.len(), before.len());
    assert_ne!(after, before, "the reissue cases fall due a day earlier");
    assert_eq!(stored_rules(store.engine()).unwrap(), Some(rules.clone()));
    assert_eq!(
        fill_due_index(store.engine(), &rules).unwrap(),
        0,
        "built once"
    );
}

/// A registry whose cases were written by a release without the index (no entries,
/// no rules kept) gets it as it opens, and its overdue queue answers as before.
#[tokio::test]
async fn cases_of_an_earlier_release_are_indexed_as_the_registry_opens() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_cases(dir.path(), &StoreOptions::default()).await;
    let overdue = CaseQuery {
        overdue: true,
        ..CaseQuery::default()
    };
    let before = store.list_cases(&overdue, 100, "").unwrap().cases;
    assert!(!before.is_empty());
    crate::store::fixtures::close(store).await;
    {
        let engine = crate::store::Backend::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut writes: Vec<_> = engine
            .scan_prefix(&[keys::OPEN_CASE_DUE])
            .unwrap()
            .map(|entry| (entry.unwrap().0.to_vec(), None::<Vec<u8>>))
            .collect();
        assert_eq!(writes.len(), 9);
        writes.push((keys::META_CASE_DUE_RULES.to_vec(), None));
        engine.apply(&writes).unwrap();
        engine.flush().unwrap();
        assert!(crate::store::verify::verify(&engine)
            .unwrap()
            .is_consistent());
    }
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    assert!(store.verify().unwrap().is_consistent());
    assert_eq!(
        store
            .engine()
            .scan_prefix(&[keys::OPEN_CASE_DUE])
            .unwrap()
            .count(),
        9
    );
    assert_eq!(store.list_cases(&overdue, 100, "").unwrap().cases, before);
}
