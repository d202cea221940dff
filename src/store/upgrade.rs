//! Format upgrades of an existing registry, run once as it opens.
//!
//! They run before the writer starts, so nothing else writes meanwhile, and they change no
//! teacher and no revision: they only rewrite derived entries into the current format.
//! (Like the page secret, they are written straight to the engine; every change of a
//! teacher still goes through the writer.) Each upgrade leaves a metadata marker, so a
//! registry pays for the check once, not at every start.

use crate::domain::{Teacher, TeacherId, UnixMicros};
use crate::store::engine::Engine;
use crate::store::{codec, keys, StoreError};

/// County entries filled per batch, so an upgrade of a large registry holds bounded
/// memory.
const BATCH: usize = 10_000;

/// Registries written before county entries carried a copy of the record (commit 1f00699)
/// have empty county values. Fills each from its record; answers how many it filled.
/// A county entry whose record is missing is left for `verify` to report.
pub(crate) fn fill_county_copies<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    if engine.get(keys::META_COUNTY_COPIES)?.is_some() {
        return Ok(0);
    }
    let mut filled = 0;
    let mut batch = Vec::new();
    for entry in engine.scan_prefix(&[keys::COUNTY])? {
        let (key, value) = entry?;
        if !value.is_empty() {
            continue;
        }
        let Some(id) = keys::teacher_id_at_end(&key).and_then(|s| TeacherId::parse(s).ok()) else {
            continue;
        };
        if let Some(record) = engine.get(&keys::record(&id))? {
            batch.push((key, Some(record)));
            filled += 1;
        }
        if batch.len() == BATCH {
            engine.apply(&batch)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        engine.apply(&batch)?;
    }
    // After every entry it vouches for.
    engine.apply(&[(keys::META_COUNTY_COPIES, Some(codec::encode(&true)))])?;
    engine.flush()?;
    if filled > 0 {
        tracing::warn!(filled, "county entries upgraded to carry their records");
    }
    Ok(filled)
}

/// Registries written before request ids expired (format 1) hold request records without
/// expiry entries. Gives each one, as made `now`, so they expire one retention window
/// after the upgrade; answers how many it gave.
pub(crate) fn index_request_expiry<E: Engine>(
    engine: &E,
    now: UnixMicros,
) -> Result<u64, StoreError> {
    if engine.get(keys::META_REQUEST_EXPIRY)?.is_some() {
        return Ok(0);
    }
    let mut indexed = 0;
    let mut batch = Vec::new();
    for entry in engine.scan_prefix(&[keys::REQUEST])? {
        let (key, _) = entry?;
        batch.push((keys::request_expiry(now, &key), Some(Vec::new())));
        indexed += 1;
        if batch.len() == BATCH {
            engine.apply(&batch)?;
            batch.clear();
        }
    }
    batch.push((
        keys::META_REQUEST_EXPIRY.to_vec(),
        Some(codec::encode(&true)),
    ));
    engine.apply(&batch)?;
    engine.flush()?;
    if indexed > 0 {
        tracing::info!(indexed, "request ids of an earlier release given an expiry");
    }
    Ok(indexed)
}

/// Registries written before the name index (release 0.1 and this one until it came)
/// have no name entries. Gives every record its entry, from the record itself; answers
/// how many it gave.
pub(crate) fn fill_name_index<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    let filled = index_every_record(engine, keys::META_NAME_INDEX, |teacher| {
        crate::store::mutation::name_keys(teacher)
            .into_iter()
            .map(|name_key| (name_key, Vec::new()))
            .collect()
    })?;
    if filled > 0 {
        tracing::info!(
            filled,
            "name index built for the records of an earlier release"
        );
    }
    Ok(filled)
}

/// Registries written before duplicate candidates have no block entries. Gives every
/// record its entries, from the record; answers how many records it gave them to. (Pairs
/// are not found here: that is the full pass's work, `find-duplicates`.)
pub(crate) fn fill_block_index<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    let filled = index_every_record(
        engine,
        keys::META_BLOCK_INDEX,
        crate::store::identity::keys::block_entries,
    )?;
    if filled > 0 {
        tracing::info!(
            filled,
            "duplicate blocks indexed for the records of an earlier release"
        );
    }
    Ok(filled)
}

/// Writes the index entries `entries_of` derives from every record, then `marker`, unless
/// `marker` is set already; answers how many records it indexed. Writing an entry that
/// exists changes nothing, so an upgrade cut short is finished by the next open.
fn index_every_record<E: Engine>(
    engine: &E,
    marker: &[u8],
    entries_of: impl Fn(&Teacher) -> Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<u64, StoreError> {
    if engine.get(marker)?.is_some() {
        return Ok(0);
    }
    let mut indexed = 0;
    let mut batch = Vec::new();
    for entry in engine.scan_prefix(&[keys::RECORD])? {
        let (key, value) = entry?;
        // A record that does not decode is left for `verify` to report.
        let Ok(teacher) = codec::decode::<Teacher>(&key, &value) else {
            continue;
        };
        for (index_key, index_value) in entries_of(&teacher) {
            batch.push((index_key, Some(index_value)));
        }
        indexed += 1;
        if batch.len() >= BATCH {
            engine.apply(&batch)?;
            batch.clear();
        }
    }
    // After every entry it vouches for.
    batch.push((marker.to_vec(), Some(codec::encode(&true))));
    engine.apply(&batch)?;
    engine.flush()?;
    Ok(indexed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CountyCode;
    use crate::store::fixtures::{close, create_numbered_teachers};
    use crate::store::{Backend, ListQuery, Store, StoreOptions};

    async fn store_of_thirty_teachers(dir: &std::path::Path) -> Store {
        let store = Store::open(dir, &StoreOptions::default()).unwrap();
        create_numbered_teachers(&store, 30).await;
        store
    }

    #[tokio::test]
    async fn a_registry_without_county_copies_gets_them_once_as_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of_thirty_teachers(dir.path()).await;
        let query = ListQuery {
            county: Some(CountyCode::parse("350702").unwrap()),
            ..ListQuery::default()
        };
        let before = store.list_teachers(&query, 100, "").unwrap().teachers;
        close(store).await;

        // Make it look as a registry written before the copies: empty county values and
        // no marker.
        {
            let engine = Backend::open(dir.path(), &StoreOptions::default()).unwrap();
            let mut writes: Vec<_> = engine
                .scan_prefix(&[keys::COUNTY])
                .unwrap()
                .map(|entry| (entry.unwrap().0.to_vec(), Some(Vec::new())))
                .collect();
            assert!(writes.len() >= 30);
            writes.push((keys::META_COUNTY_COPIES.to_vec(), None));
            engine.apply(&writes).unwrap();
            engine.flush().unwrap();
        }

        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        assert_eq!(
            store.list_teachers(&query, 100, "").unwrap().teachers,
            before
        );
        let engine = store.engine();
        assert!(engine
            .scan_prefix(&[keys::COUNTY])
            .unwrap()
            .all(|entry| !entry.unwrap().1.is_empty()));
        assert_eq!(fill_county_copies(engine).unwrap(), 0, "the marker is set");
    }

    #[tokio::test]
    async fn a_registry_without_the_name_index_gets_it_once_as_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of_thirty_teachers(dir.path()).await;
        close(store).await;

        // As an earlier release left it: no name entries and no marker.
        {
            let engine = Backend::open(dir.path(), &StoreOptions::default()).unwrap();
            let mut writes: Vec<_> = engine
                .scan_prefix(&[keys::NAME])
                .unwrap()
                .map(|entry| (entry.unwrap().0.to_vec(), None::<Vec<u8>>))
                .collect();
            assert_eq!(writes.len(), 30);
            writes.push((keys::META_NAME_INDEX.to_vec(), None));
            engine.apply(&writes).unwrap();
            engine.flush().unwrap();
            assert!(!crate::store::verify::verify(&engine)
                .unwrap()
                .is_consistent());
        }

        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        assert_eq!(
            store.engine().scan_prefix(&[keys::NAME]).unwrap().count(),
            30
        );
        assert_eq!(
            fill_name_index(store.engine()).unwrap(),
            0,
            "the marker is set"
        );
    }
}
