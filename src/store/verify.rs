//! The integrity check behind `teacher-registry verify`: every invariant the write path
//! promises, checked against what is on disk.
//!
//! - every record decodes and sits under its own registry number;
//! - every index entry a record owns exists with the right value, and every index entry on
//!   disk belongs to a record that owns it (no orphans); an open case's due-date entry sits
//!   under the due date the stored window rules give it;
//! - the counters, and the case report's cells, equal counts recomputed from the records;
//! - the change log runs without a gap from the oldest retained revision to the current
//!   one, each event decodes, and the county change index matches it;
//! - every merge stands or is undone as the records say (see
//!   `store::identity::merges::verify`).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::domain::case::{Case, CaseFigures};
use crate::domain::{ChangeEvent, Teacher, TeacherId};
use crate::store::cases::{case_index_entries, expected_cells};
use crate::store::changes::{self, oldest_revision};
use crate::store::engine::Engine;
use crate::store::mutation::{counter_keys, index_entries};
use crate::store::{codec, keys, StoreError};

mod report;

pub use report::VerifyReport;

fn printable(key: &[u8]) -> String {
    // Identity keys hold identity numbers: show only the type and that it is one.
    if key.first() == Some(&keys::IDENTITY) {
        return format!(
            "identity index key (type {})",
            key.get(1).copied().unwrap_or(0)
        );
    }
    // Name keys: the county and the registry number say which teacher, the name bytes
    // would print as dots.
    if let (Some(county), Some(id)) = (
        keys::county_of_name_key(key).filter(|_| key.first() == Some(&keys::NAME)),
        keys::teacher_id_at_end(key),
    ) {
        return format!("name index key (county {}, teacher {id})", county.as_str());
    }
    key.iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

/// What an index entry must hold, as a digest. Identity and certificate entries are
/// compared by the registry number they name, not their bytes: an entry left unchanged
/// since an earlier release keeps that release's format.
fn index_digest(key: &[u8], value: &[u8]) -> [u8; 32] {
    match key.first() {
        Some(&keys::IDENTITY | &keys::CERTIFICATE) => {
            match codec::decode::<TeacherId>(key, value) {
                Ok(id) => digest(id.as_str().as_bytes()),
                Err(_) => digest(value),
            }
        }
        _ => digest(value),
    }
}

pub(crate) fn verify<E: Engine>(engine: &E) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport {
        revision: changes::read_revision(engine)?,
        oldest_revision: oldest_revision(engine)?,
        ..VerifyReport::default()
    };

    // Records, and what their indexes and counters must be.
    // Each expected index value as its digest: county entries carry whole records, and a
    // registry of a million teachers should not need their copies in memory twice.
    let mut expected_index: BTreeMap<Vec<u8>, [u8; 32]> = BTreeMap::new();
    let mut expected_counters: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    // Each retired number, with the record that lists it.
    let mut retired: BTreeMap<TeacherId, TeacherId> = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::RECORD])? {
        let (key, value) = entry?;
        report.records += 1;
        let teacher: Teacher = match codec::decode(&key, &value) {
            Ok(teacher) => teacher,
            Err(e) => {
                report.problem(format!("record {}: {e}", printable(&key)));
                continue;
            }
        };
        if keys::record(&teacher.id) != key.as_ref() {
            report.problem(format!(
                "record {} holds teacher {}",
                printable(&key),
                teacher.id
            ));
        }
        if teacher.revision > report.revision {
            report.problem(format!(
                "teacher {} has revision {} beyond the registry's {}",
                teacher.id, teacher.revision, report.revision
            ));
        }
        for (index_key, index_value) in index_entries(&teacher, &value) {
            let expected = index_digest(&index_key, &index_value);
            if let Some(previous) = expected_index.insert(index_key.clone(), expected) {
                let _ = previous;
                report.problem(format!(
                    "two records claim {} (teacher {})",
                    printable(&index_key),
                    teacher.id
                ));
            }
        }
        for counter in counter_keys(&teacher) {
            *expected_counters.entry(counter).or_default() += 1;
        }
        for id in &teacher.former.retired_ids {
            if let Some(other) = retired.insert(id.clone(), teacher.id.clone()) {
                report.problem(format!(
                    "retired number {id} is listed by both {other} and {}",
                    teacher.id
                ));
            }
        }
    }
    crate::store::identity::merges::verify(engine, &retired, &mut report)?;

    // Cases, and their index entries: the due-date entries under the rules they were
    // built under, which the registry keeps (none before it is first opened by a release
    // with the index: then there must be no entries either).
    let due_rules = crate::store::cases::stored_rules(engine).unwrap_or_else(|problem| {
        report.problem(problem);
        None
    });
    for entry in engine.scan_prefix(&[keys::CASE])? {
        let (key, value) = entry?;
        report.cases += 1;
        let case: Case = match codec::decode(&key, &value) {
            Ok(case) => case,
            Err(e) => {
                report.problem(format!("case {}: {e}", printable(&key)));
                continue;
            }
        };
        if keys::case(&case.id) != key.as_ref() {
            report.problem(format!("case {} holds case {}", printable(&key), case.id));
        }
        if case.revision > report.revision {
            report.problem(format!(
                "case {} has revision {} beyond the registry's {}",
                case.id, case.revision, report.revision
            ));
        }
        if let Some(id) = &case.teacher_id {
            if engine.get(&keys::record(id))?.is_none() {
                report.problem(format!(
                    "case {} names teacher {id}, who has no record",
                    case.id
                ));
            }
        }
        for (index_key, index_value) in case_index_entries(&case, &value, due_rules.as_ref()) {
            expected_index.insert(index_key, index_digest(&[], &index_value));
        }
    }

    // Index entries on disk against those expected.
    let mut seen = BTreeSet::new();
    for prefix in [
        keys::IDENTITY,
        keys::COUNTY,
        keys::CERTIFICATE,
        keys::REGISTRATION_EXPIRY,
        keys::NAME,
        crate::store::identity::keys::BLOCK,
        keys::TRANSFER,
        keys::OPEN_CASE,
        keys::OPEN_CASE_DUE,
        keys::COUNTY_CASE,
    ] {
        for entry in engine.scan_prefix(&[prefix])? {
            let (key, value) = entry?;
            report.index_entries += 1;
            match expected_index.get(key.as_ref()) {
                Some(expected) if *expected == index_digest(&key, &value) => {}
                Some(_) => report.problem(format!("{} disagrees with its record", printable(&key))),
                None => report.problem(format!("{} belongs to no record", printable(&key))),
            }
            seen.insert(key.to_vec());
        }
    }
    for key in expected_index.keys().filter(|k| !seen.contains(*k)) {
        report.problem(format!("{} is missing", printable(key)));
    }

    // Counters.
    let mut stored_counters = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::COUNTER])? {
        let (key, value) = entry?;
        report.counters += 1;
        match codec::decode::<u64>(&key, &value) {
            Ok(count) => {
                stored_counters.insert(key.to_vec(), count);
            }
            Err(e) => report.problem(format!("counter {}: {e}", printable(&key))),
        }
    }
    for key in stored_counters
        .keys()
        .chain(expected_counters.keys())
        .collect::<BTreeSet<_>>()
    {
        let stored = stored_counters.get(key).copied().unwrap_or(0);
        let expected = expected_counters.get(key).copied().unwrap_or(0);
        if stored != expected {
            report.problem(format!(
                "counter {} is {stored}, the records count {expected}",
                printable(key)
            ));
        }
    }

    // The report's cells, against the case and consultation records.
    let mut cell_problems = Vec::new();
    let (expected_cells, consultations) = expected_cells(engine, |p| cell_problems.push(p))?;
    report.consultations = consultations;
    for problem in cell_problems {
        report.problem(problem);
    }
    let mut stored_cells = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::REPORT_CELL])? {
        let (key, value) = entry?;
        report.counters += 1;
        if keys::parse_report_cell(&key).is_none() {
            report.problem(format!("{} is not a report cell key", printable(&key)));
        }
        match codec::decode::<CaseFigures>(&key, &value) {
            Ok(figures) => {
                stored_cells.insert(key.to_vec(), figures);
            }
            Err(e) => report.problem(format!("report cell {}: {e}", printable(&key))),
        }
    }
    let nothing = CaseFigures::default();
    for key in stored_cells
        .keys()
        .chain(expected_cells.keys())
        .collect::<BTreeSet<_>>()
    {
        let stored = stored_cells.get(key).unwrap_or(&nothing);
        let expected = expected_cells.get(key).unwrap_or(&nothing);
        if stored != expected {
            report.problem(format!(
                "report cell {} is {stored:?}, the records count {expected:?}",
                printable(key)
            ));
        }
    }

    // Title applications, their entries and the rounds' figures.
    crate::store::evaluation::verify_evaluation(engine, &mut report)?;

    // Each teacher's history, undone from the record back to its first entry.
    crate::store::history::verify(engine, &mut report)?;

    // The change log and the county change index.
    let mut next = report.oldest_revision;
    let mut county_changes = BTreeSet::new();
    for entry in engine.scan_prefix(&[keys::CHANGE])? {
        let (key, value) = entry?;
        report.changes += 1;
        let Some(revision) = keys::revision_of_change(&key) else {
            report.problem(format!("{} is not a change-log key", printable(&key)));
            continue;
        };
        if revision != next {
            report.problem(format!(
                "the change log jumps from {} to {revision}",
                next.saturating_sub(1)
            ));
        }
        next = revision + 1;
        match codec::decode::<ChangeEvent>(&key, &value) {
            Ok(event) => {
                if event.revision != revision {
                    report.problem(format!("change {revision} says it is {}", event.revision));
                }
                county_changes.insert(keys::county_change(&event.county_after, revision));
                if let Some(before) = &event.county_before {
                    county_changes.insert(keys::county_change(before, revision));
                }
            }
            Err(e) => report.problem(format!("change {revision}: {e}")),
        }
    }
    if report.revision > 0 && next != report.revision + 1 {
        report.problem(format!(
            "the change log ends at {} but the registry is at revision {}",
            next.saturating_sub(1),
            report.revision
        ));
    }
    for entry in engine.scan_prefix(&[keys::COUNTY_CHANGE])? {
        let (key, _) = entry?;
        if !county_changes.remove(key.as_ref()) {
            report.problem(format!("county change {} has no change", printable(&key)));
        }
    }
    for key in county_changes {
        report.problem(format!("county change {} is missing", printable(&key)));
    }
    report.request_ids = crate::store::requests::verify(engine, &mut report)?;
    Ok(report)
}

fn digest(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{assert_problem, create_numbered_teachers};
    use crate::store::{Store, StoreOptions, WriteContext};

    async fn store_with_teachers(dir: &std::path::Path) -> Store {
        let store = Store::open(dir, &StoreOptions::default()).unwrap();
        create_numbered_teachers(&store, 20).await;
        store
    }

    #[tokio::test]
    async fn a_registry_written_by_the_write_path_is_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_teachers(dir.path()).await;
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        assert_eq!(
            (report.records, report.changes, report.revision),
            (20, 20, 20)
        );
        // Four a teacher: identity, county, name, and its duplicate-candidate block.
        assert_eq!(report.index_entries, 80);
    }

    /// Opens a reissue case at the window of 350702, received today.
    async fn open_reissue_case(store: &Store, applicant_name: &str) {
        use crate::domain::case::{CaseKind, NewCase};
        use crate::store::CaseCommand;
        let new = NewCase {
            kind: CaseKind::Reissue,
            county_code: crate::domain::CountyCode::parse("350702").unwrap(),
            teacher_id: None,
            applicant: None,
            applicant_name: applicant_name.to_string(),
            certificate_kind: None,
            certificate_number: None,
            materials: vec![],
            received_on: crate::clock::today(),
        };
        let command = CaseCommand::Open {
            new,
            note: String::new(),
        };
        store
            .case_command(command, WriteContext::new("test", None))
            .await
            .unwrap();
    }

    /// A case's record and entries are checked like a teacher's: a lost open-case copy,
    /// or one that no longer matches its record, is found.
    #[tokio::test]
    async fn a_damaged_case_index_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_teachers(dir.path()).await;
        for n in 0..2 {
            open_reissue_case(&store, &format!("申请人{n}")).await;
        }
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        // Two a case: its day of receipt and its open-case copy, and its due date.
        assert_eq!((report.cases, report.index_entries), (2, 86));
        let engine = store.engine();
        let mut open = engine.scan_prefix(&[keys::OPEN_CASE]).unwrap();
        let (first, _) = open.next().unwrap().unwrap();
        let (_, second) = open.next().unwrap().unwrap();
        engine
            .apply(&[(first.as_ref(), Some(second.as_ref()))])
            .unwrap();
        assert_problem(&store, |p| p.contains("disagrees"));
        engine.apply(&[(first.as_ref(), None::<&[u8]>)]).unwrap();
        assert_problem(&store, |p| p.contains("is missing"));
    }

    /// A round's figures are counters too: a cell that counts applications that are not
    /// there is found.
    #[tokio::test]
    async fn a_round_figure_without_its_applications_is_found() {
        use crate::domain::case::evaluation::RoundFigures;
        use crate::domain::case::CaseId;
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_teachers(dir.path()).await;
        let round = CaseId::generate(&mut rand::thread_rng());
        let county = crate::domain::CountyCode::parse("350702").unwrap();
        let key = keys::round_figures(&round, &county, crate::domain::TitleTier::FirstLevel);
        let figures = RoundFigures {
            applied: 1,
            ..RoundFigures::default()
        };
        store
            .engine()
            .apply(&[(key.as_slice(), Some(codec::encode(&figures)))])
            .unwrap();
        assert_problem(&store, |p| p.contains("round figures"));
    }

    /// The report's cells are counters like the teachers': a cell that no longer counts
    /// what the case records say is found, and so is one for no case at all.
    #[tokio::test]
    async fn a_damaged_report_cell_is_found() {
        use crate::domain::case::CaseFigures;
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_teachers(dir.path()).await;
        open_reissue_case(&store, "申请人").await;
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        let engine = store.engine();
        let (key, value) = engine
            .scan_prefix(&[keys::REPORT_CELL])
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let mut figures: CaseFigures = codec::decode(&key, &value).unwrap();
        assert_eq!(figures.received, 1);
        figures.received = 2;
        engine
            .apply(&[(key.as_ref(), Some(codec::encode(&figures).as_slice()))])
            .unwrap();
        assert_problem(&store, |p| {
            p.starts_with("report cell") && p.contains("the records count")
        });
        engine.apply(&[(key.as_ref(), None::<&[u8]>)]).unwrap();
        let mut stray = key.to_vec();
        stray[3] = b'1';
        engine
            .apply(&[(stray.as_slice(), Some(codec::encode(&figures).as_slice()))])
            .unwrap();
        let report = store.verify().unwrap();
        assert_eq!(report.problem_count, 2, "{:?}", report.problems);
    }

    #[tokio::test]
    async fn each_kind_of_damage_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_teachers(dir.path()).await;
        let engine = store.engine();
        let first = |prefix| {
            engine
                .scan_prefix(&[prefix])
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
        };
        let set = |key: &[u8], value: &[u8]| engine.apply(&[(key, Some(value))]).unwrap();
        let remove = |key: &[u8]| engine.apply(&[(key, None::<&[u8]>)]).unwrap();
        type Damage<'a> = Box<dyn Fn() + 'a>;
        let damages: [(&str, Damage<'_>); 7] = [
            (
                "disagrees with its record",
                Box::new(|| {
                    let mut county = engine.scan_prefix(&[keys::COUNTY]).unwrap();
                    let (key, _) = county.next().unwrap().unwrap();
                    let (_, other_teacher) = county.next().unwrap().unwrap();
                    set(&key, &other_teacher);
                }),
            ),
            ("missing", Box::new(|| remove(&first(keys::COUNTY).0))),
            (
                "name index key (county 350702, teacher T",
                Box::new(|| remove(&first(keys::NAME).0)),
            ),
            (
                "belongs to no record",
                Box::new(|| set(b"k20163500022000123", b"\x02\x0a\x01T")),
            ),
            (
                "the records count",
                Box::new(|| set(&first(keys::COUNTER).0, &codec::encode(&7u64))),
            ),
            ("jumps", Box::new(|| remove(&keys::change(5)))),
            (
                "undecodable",
                Box::new(|| set(&first(keys::RECORD).0, &[1, 0xff, 0xff])),
            ),
        ];
        for (expected, damage) in damages {
            damage();
            let report = store.verify().unwrap();
            assert!(!report.is_consistent());
            assert!(
                report.problems.iter().any(|p| p.contains(expected)),
                "{expected}: {:?}",
                report.problems
            );
        }
    }
}
