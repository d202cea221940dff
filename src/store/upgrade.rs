//! Format upgrades of an existing registry, run once as it opens.
//!
//! They run before the writer starts, so nothing else writes meanwhile, and they change no
//! teacher and no revision: they only rewrite derived entries into the current format.
//! (Like the page secret, they are written straight to the tree; every change of a
//! teacher still goes through the writer.) Each upgrade leaves a metadata marker, so a
//! registry pays for the check once, not at every start.

use crate::domain::{TeacherId, UnixMicros};
use crate::store::{codec, keys, StoreError};

/// County entries filled per `apply_batch`, so an upgrade of a large registry holds
/// bounded memory.
const BATCH: usize = 10_000;

/// Registries written before county entries carried a copy of the record (commit 1f00699)
/// have empty county values. Fills each from its record; answers how many it filled.
/// A county entry whose record is missing is left for `verify` to report.
pub(crate) fn fill_county_copies(tree: &sled::Tree) -> Result<u64, StoreError> {
    if tree.get(keys::META_COUNTY_COPIES)?.is_some() {
        return Ok(0);
    }
    let mut filled = 0;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for entry in tree.scan_prefix([keys::COUNTY]) {
        let (key, value) = entry?;
        if !value.is_empty() {
            continue;
        }
        let Some(id) = keys::teacher_id_at_end(&key).and_then(|s| TeacherId::parse(s).ok()) else {
            continue;
        };
        if let Some(record) = tree.get(keys::record(&id))? {
            batch.insert(key, record);
            in_batch += 1;
            filled += 1;
        }
        if in_batch == BATCH {
            tree.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    batch.insert(keys::META_COUNTY_COPIES, codec::encode(&true));
    tree.apply_batch(batch)?;
    tree.flush()?;
    if filled > 0 {
        tracing::warn!(filled, "county entries upgraded to carry their records");
    }
    Ok(filled)
}

/// Registries written before request ids expired (format 1) hold request records without
/// expiry entries. Gives each one, as made `now`, so they expire one retention window
/// after the upgrade; answers how many it gave.
pub(crate) fn index_request_expiry(tree: &sled::Tree, now: UnixMicros) -> Result<u64, StoreError> {
    if tree.get(keys::META_REQUEST_EXPIRY)?.is_some() {
        return Ok(0);
    }
    let mut indexed = 0;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    for key in tree.scan_prefix([keys::REQUEST]).keys() {
        batch.insert(keys::request_expiry(now, &key?), Vec::new());
        in_batch += 1;
        indexed += 1;
        if in_batch == BATCH {
            tree.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    batch.insert(keys::META_REQUEST_EXPIRY, codec::encode(&true));
    tree.apply_batch(batch)?;
    tree.flush()?;
    if indexed > 0 {
        tracing::info!(indexed, "request ids of an earlier release given an expiry");
    }
    Ok(indexed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::numbered_input;
    use crate::domain::CountyCode;
    use crate::store::{ListQuery, Store, StoreOptions, WriteContext};

    #[tokio::test]
    async fn a_registry_without_county_copies_gets_them_once_as_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        for n in 0..30 {
            let validated = numbered_input(n).validate(crate::clock::today()).unwrap();
            store
                .create_teacher(validated, WriteContext::new("test", None))
                .await
                .unwrap();
        }
        let query = ListQuery {
            county: Some(CountyCode::parse("350702").unwrap()),
            ..ListQuery::default()
        };
        let before = store.list_teachers(&query, 100, "").unwrap().teachers;
        tokio::task::spawn_blocking(move || drop(store))
            .await
            .unwrap();

        // Make it look as a registry written before the copies: empty county values and
        // no marker.
        {
            let db = sled::open(dir.path()).unwrap();
            let tree = db.open_tree(keys::REGISTRY_TREE).unwrap();
            let county_keys: Vec<_> = tree
                .scan_prefix([keys::COUNTY])
                .keys()
                .map(Result::unwrap)
                .collect();
            assert!(county_keys.len() >= 30);
            for key in county_keys {
                tree.insert(key, Vec::new()).unwrap();
            }
            tree.remove(keys::META_COUNTY_COPIES).unwrap();
            tree.flush().unwrap();
        }

        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);
        assert_eq!(
            store.list_teachers(&query, 100, "").unwrap().teachers,
            before
        );
        let tree = store.inner.database.tree().unwrap();
        assert!(tree
            .scan_prefix([keys::COUNTY])
            .values()
            .all(|v| !v.unwrap().is_empty()));
        assert_eq!(fill_county_copies(&tree).unwrap(), 0, "the marker is set");
    }
}
