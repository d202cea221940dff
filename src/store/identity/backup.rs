//! The identity records a backup carries: merges, identity corrections and duplicate
//! candidate pairs. None of them can be worked out from the records: a merge holds the
//! merged record and the survivor as they were (what an unmerge gives back), a correction
//! its review, a pair its dismissal. The block index ([`keys::BLOCK`]) is worked out from
//! the records, so a restore rebuilds it with them and it is not carried.
//!
//! They are few (a merge or a correction per person at most, a pair per likely
//! duplicate), so the writer reads them whole at the snapshot, between two groups, where
//! no merge can take a record away under the copy.

use crate::domain::duplicates::CandidatePair;
use crate::domain::merge::MergeRecord;
use crate::domain::IdentityCorrection;
use crate::store::engine::Engine;
use crate::store::identity::keys;
use crate::store::writer::Staged;
use crate::store::{codec, StoreError};

/// Merges, identity corrections and candidate pairs, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityRecords {
    pub merges: Vec<MergeRecord>,
    pub corrections: Vec<IdentityCorrection>,
    pub pairs: Vec<CandidatePair>,
}

/// A record of [`IdentityRecords`] in a backup file: its stored value, version byte first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Merge,
    Correction,
    Pair,
}

impl IdentityRecords {
    /// Records in the registry's stored format, by kind.
    pub fn encoded(&self) -> Vec<(IdentityKind, Vec<u8>)> {
        let merges = self
            .merges
            .iter()
            .map(|m| (IdentityKind::Merge, codec::encode(m)));
        let corrections = self
            .corrections
            .iter()
            .map(|c| (IdentityKind::Correction, codec::encode(c)));
        let pairs = self
            .pairs
            .iter()
            .map(|p| (IdentityKind::Pair, codec::encode(p)));
        merges.chain(corrections).chain(pairs).collect()
    }

    /// Adds a record read back from [`Self::encoded`]; answers its revision, for a
    /// correction (merges and pairs carry none).
    pub fn push_encoded(
        &mut self,
        kind: IdentityKind,
        bytes: &[u8],
    ) -> Result<Option<u64>, StoreError> {
        Ok(match kind {
            IdentityKind::Merge => {
                self.merges.push(codec::decode(b"backup merge", bytes)?);
                None
            }
            IdentityKind::Correction => {
                let correction: IdentityCorrection = codec::decode(b"backup correction", bytes)?;
                let revision = correction.revision;
                self.corrections.push(correction);
                Some(revision)
            }
            IdentityKind::Pair => {
                self.pairs.push(codec::decode(b"backup pair", bytes)?);
                None
            }
        })
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.merges.len() + self.corrections.len() + self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every merge, identity correction and candidate pair of the registry.
pub(crate) fn identity_records<E: Engine>(engine: &E) -> Result<IdentityRecords, StoreError> {
    fn all<E: Engine, T: codec::Stored>(engine: &E, prefix: u8) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        for entry in engine.scan_prefix(&[prefix])? {
            let (key, value) = entry?;
            found.push(codec::decode(&key, &value)?);
        }
        Ok(found)
    }
    Ok(IdentityRecords {
        merges: all(engine, keys::MERGE)?,
        corrections: all(engine, keys::CORRECTION)?,
        pairs: all(engine, keys::PAIR)?,
    })
}

/// Stages restored identity records under the keys the write path keeps them at; a key
/// restored twice is damage, refused.
pub(crate) fn stage_restored(
    staged: &mut Staged<'_>,
    restored: &IdentityRecords,
) -> Result<(), StoreError> {
    let merges = restored
        .merges
        .iter()
        .map(|m| (keys::merge(&m.merged.id), codec::encode(m), "a merge"));
    let corrections = restored.corrections.iter().map(|c| {
        (
            keys::correction(&c.id),
            codec::encode(c),
            "an identity correction",
        )
    });
    let pairs = restored.pairs.iter().map(|p| {
        (
            keys::pair(&p.first, &p.second),
            codec::encode(p),
            "a duplicate candidate pair",
        )
    });
    for (key, value, what) in merges.chain(corrections).chain(pairs) {
        if staged.contains(&key)? {
            return Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                detail: format!("{what} restored twice"),
            });
        }
        staged.insert(key, value);
    }
    Ok(())
}
