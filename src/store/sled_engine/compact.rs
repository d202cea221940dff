//! Offline compaction: the same keys and values, rewritten in key order into a new
//! directory that then takes the old one's place.
//!
//! sled's log-structured files grow to several times the live data under writes in random
//! key order (a bulk import: registry numbers and identity numbers are random), and its
//! segment cleaning gives little of it back. Written in key order, the same data takes
//! about what it is worth (measured in benches/SCALE.md: 2.9× the JSON Lines size after a
//! 1M import, 1.1× after a key-ordered copy). This copies bytes, it changes no record: the
//! registry's state, revision and change log are the same before and after, which the
//! copy is checked for (pair count, and `verify`) before it replaces the original.

use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError, StoreOptions};

/// Pairs copied per batch.
const BATCH: usize = 10_000;

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    pub pairs: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Compacts the registry in `dir`, which no server may have open.
pub fn compact(dir: &Path) -> Result<Compacted, StoreError> {
    let copy = sibling(dir, "compacting")?;
    let aside = sibling(dir, "before-compact")?;
    if aside.exists() {
        return Err(failed(format!(
            "{} exists: a previous compaction stopped half-way; check it and remove it",
            aside.display()
        )));
    }
    if copy.exists() {
        std::fs::remove_dir_all(&copy)?;
    }
    let bytes_before = directory_size(dir)?;
    // The copy holds identity numbers like the registry: its owner's alone from the start.
    crate::private_files::create_private_dir(&copy)?;
    let pairs = copy_in_key_order(dir, &copy)?;

    let report = Store::open(&copy, &StoreOptions::default())?.verify()?;
    if !report.is_consistent() {
        return Err(failed(format!(
            "the compacted copy in {} is not consistent: {:?}",
            copy.display(),
            report.problems
        )));
    }
    std::fs::rename(dir, &aside)?;
    std::fs::rename(&copy, dir)?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)?.sync_all()?;
    }
    std::fs::remove_dir_all(&aside)?;
    Ok(Compacted {
        pairs,
        bytes_before,
        bytes_after: directory_size(dir)?,
    })
}

/// Copies every tree of the database in `from` into a new one in `to`; the pairs copied.
fn copy_in_key_order(from: &Path, to: &Path) -> Result<u64, StoreError> {
    let source = super::open_db(sled::Config::new().path(from))?;
    let target = super::open_db(sled::Config::new().path(to))?;
    let mut pairs = 0u64;
    for name in source.tree_names() {
        let (from_tree, to_tree) = (source.open_tree(&name)?, target.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for pair in from_tree.iter() {
            let (key, value) = pair?;
            batch.insert(key, value);
            in_batch += 1;
            if in_batch == BATCH {
                to_tree.apply_batch(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        to_tree.apply_batch(batch)?;
        let copied = to_tree.len() as u64;
        if copied != from_tree.len() as u64 {
            return Err(failed(format!(
                "tree {:?}: {copied} pairs copied of {}",
                String::from_utf8_lossy(&name),
                from_tree.len()
            )));
        }
        pairs += copied;
    }
    target.flush()?;
    Ok(pairs)
}

/// `dir` with a suffix, next to it.
fn sibling(dir: &Path, suffix: &str) -> Result<PathBuf, StoreError> {
    let name = dir
        .file_name()
        .ok_or_else(|| failed(format!("{} names no directory", dir.display())))?;
    let mut name = name.to_os_string();
    name.push(format!(".{suffix}"));
    Ok(dir.with_file_name(name))
}

/// Bytes in the files under `dir`, at any depth: what a registry takes on disk (the
/// compaction's before and after, and the benches' figures).
pub fn directory_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            directory_size(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

fn failed(detail: String) -> StoreError {
    StoreError::Storage {
        fault: crate::store::StorageFault::Failed,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::numbered_input;
    use crate::store::WriteContext;

    /// Tree name, key and value.
    type Pair = (Vec<u8>, Vec<u8>, Vec<u8>);

    fn pairs(dir: &Path) -> Vec<Pair> {
        let db = sled::open(dir).unwrap();
        let mut all = Vec::new();
        for name in db.tree_names() {
            for pair in db.open_tree(&name).unwrap().iter() {
                let (k, v) = pair.unwrap();
                all.push((name.to_vec(), k.to_vec(), v.to_vec()));
            }
        }
        all
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn compaction_keeps_every_pair_and_the_registry_consistent() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let store = Store::open(&dir, &StoreOptions::default()).unwrap();
        let writes = (0..3000).map(|n| {
            let store = store.clone();
            async move {
                let validated = numbered_input(n).validate(crate::clock::today()).unwrap();
                store
                    .create_teacher(validated, WriteContext::new("test", None))
                    .await
                    .unwrap();
            }
        });
        futures::future::join_all(writes).await;
        crate::store::fixtures::close(store).await;
        let before = pairs(&dir);

        let compacted = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || compact(&dir)
        })
        .await
        .unwrap()
        .unwrap();

        assert_eq!(pairs(&dir), before);
        assert_eq!(compacted.pairs as usize, before.len());
        // The size: benches/README.md (small registries do not shrink; sled's files have a
        // fixed floor).
        let names: Vec<_> = std::fs::read_dir(temp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["data"], "leftovers next to the registry");
        let store = Store::open(&dir, &StoreOptions::default()).unwrap();
        assert!(store.verify().unwrap().is_consistent());
        assert_eq!(store.revision().unwrap(), 3000);
    }

    #[test]
    fn a_registry_in_use_is_not_compacted() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let _open = Store::open(&dir, &StoreOptions::default()).unwrap();
        assert!(compact(&dir).is_err());
        assert!(dir.join("db").exists() || dir.join("conf").exists());
    }
}
