//! `verify` against damaged histories and transfer entries: each kind of damage a history
//! can suffer (an entry lost, one whose values no longer fit the record, one for nobody)
//! and a lost or stray pending-transfer entry is reported, so the check cannot pass a
//! registry whose past no longer leads back from its records.

use super::*;
use crate::domain::fixtures::numbered_input;
use crate::domain::{CountyCode, TeacherField, TeacherInput, TransferProposal};
use crate::store::fixtures::create_numbered_teachers;
use crate::store::mutation::{Target, TeacherChange};
use crate::store::{Store, StoreOptions, WriteContext};

/// A store with two teachers, the first moved to another school twice (three entries)
/// and proposed for transfer to 350721 (a fourth), the second only created.
async fn store_with_history(dir: &std::path::Path) -> (Store, TeacherId) {
    let store = Store::open(dir, &StoreOptions::default()).unwrap();
    let mut ids = create_numbered_teachers(&store, 2).await;
    let id = ids.swap_remove(0);
    for school in ["第九中学", "第十中学"] {
        let patch = TeacherInput {
            school: school.into(),
            ..numbered_input(0)
        };
        let change = TeacherChange::Update {
            patch,
            mask: vec![TeacherField::School],
        };
        store
            .change_teacher(Target::Teacher(id.clone()), None, change, context())
            .await
            .unwrap();
    }
    let proposal = TransferProposal::parse("350721", "工作调动").unwrap();
    store
        .change_teacher(
            Target::Teacher(id.clone()),
            None,
            TeacherChange::ProposeTransfer(proposal),
            context(),
        )
        .await
        .unwrap();
    (store, id)
}

fn context() -> WriteContext {
    WriteContext::new("test", None)
}

fn problems(store: &Store) -> Vec<String> {
    store.verify().unwrap().problems
}

fn assert_found(store: &Store, expected: &str) {
    let problems = problems(store);
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "{expected}: {problems:?}"
    );
}

#[tokio::test]
async fn a_registry_with_histories_and_a_pending_transfer_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_history(dir.path()).await;
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!((report.revision_entries, report.complete_histories), (5, 2));
    let county = CountyCode::parse("350721").unwrap();
    let incoming = store.pending_transfers(&county).unwrap().incoming;
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].id, id);
}

#[tokio::test]
async fn each_kind_of_damage_to_a_history_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_history(dir.path()).await;
    let engine = store.engine();
    let entries: Vec<(Vec<u8>, Vec<u8>)> = engine
        .scan_prefix(&keys::history_prefix(&id))
        .unwrap()
        .map(|e| e.map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec())))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(entries.len(), 4);
    let set = |key: &[u8], value: &[u8]| engine.apply(&[(key, Some(value))]).unwrap();
    let remove = |key: &[u8]| engine.apply(&[(key, None::<&[u8]>)]).unwrap();

    // The last school move lost: the entries before it no longer lead back from the record.
    let (key, value) = &entries[1];
    remove(key);
    assert_found(&store, "3 revision entries, 1 of them lead back");
    set(key, value);
    assert!(problems(&store).is_empty());

    // The last school move's new value altered: undoing it no longer fits the record.
    let (key, value) = &entries[1];
    let mut entry: RevisionEntry = codec::decode(key, value).unwrap();
    let field = entry.fields.iter_mut().find(|f| f.new.is_some()).unwrap();
    let bytes = field.new.as_mut().unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    set(key, &codec::encode(&entry));
    assert_found(&store, &format!("teacher {id}"));
    set(key, value);

    // An entry stored under another teacher's key, and one for a teacher with no record.
    let other = TeacherId::generate(&mut rand::thread_rng());
    let mut stray: RevisionEntry = codec::decode(key, value).unwrap();
    stray.teacher_id = other.clone();
    set(&keys::history(&id, 1 << 40), &codec::encode(&stray));
    assert_found(&store, "is stored under another key");
    remove(&keys::history(&id, 1 << 40));
    set(
        &keys::history(&other, stray.revision),
        &codec::encode(&stray),
    );
    assert_found(&store, "who has no record");
    remove(&keys::history(&other, stray.revision));
    assert!(problems(&store).is_empty());
}

#[tokio::test]
async fn a_lost_or_stray_transfer_entry_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_history(dir.path()).await;
    let engine = store.engine();
    let receiving = CountyCode::parse("350721").unwrap();
    let entry = keys::transfer(&receiving, &id);
    engine.apply(&[(entry.as_slice(), None::<&[u8]>)]).unwrap();
    assert_found(&store, "is missing");
    assert!(store
        .pending_transfers(&receiving)
        .unwrap()
        .incoming
        .is_empty());
    engine.apply(&[(entry.as_slice(), Some(&b""[..]))]).unwrap();
    assert!(problems(&store).is_empty());

    let elsewhere = keys::transfer(&CountyCode::parse("350722").unwrap(), &id);
    engine
        .apply(&[(elsewhere.as_slice(), Some(&b""[..]))])
        .unwrap();
    assert_found(&store, "belongs to no record");
}
