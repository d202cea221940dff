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
use crate::store::backup_records::RecordGroup;
use crate::store::codec::{push_decoded, scan_all, tagged};
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

impl RecordGroup for IdentityRecords {
    type Kind = IdentityKind;
    const KINDS: &'static [(IdentityKind, &'static str)] = &[
        (IdentityKind::Merge, "merge"),
        (IdentityKind::Correction, "correction"),
        (IdentityKind::Pair, "pair"),
    ];
    const RECORD: &'static str = "an identity record";

    fn encoded(&self) -> Vec<(IdentityKind, Vec<u8>)> {
        tagged(IdentityKind::Merge, &self.merges)
            .chain(tagged(IdentityKind::Correction, &self.corrections))
            .chain(tagged(IdentityKind::Pair, &self.pairs))
            .collect()
    }

    /// A correction carries its revision; merges and pairs carry none.
    fn push_encoded(
        &mut self,
        kind: IdentityKind,
        bytes: &[u8],
    ) -> Result<Option<u64>, StoreError> {
        Ok(match kind {
            IdentityKind::Merge => {
                push_decoded(&mut self.merges, b"backup merge", bytes)?;
                None
            }
            IdentityKind::Correction => {
                Some(push_decoded(&mut self.corrections, b"backup correction", bytes)?.revision)
            }
            IdentityKind::Pair => {
                push_decoded(&mut self.pairs, b"backup pair", bytes)?;
                None
            }
        })
    }

    fn len(&self) -> usize {
        self.merges.len() + self.corrections.len() + self.pairs.len()
    }
}

/// Every merge, identity correction and candidate pair of the registry.
pub(crate) fn identity_records<E: Engine>(engine: &E) -> Result<IdentityRecords, StoreError> {
    Ok(IdentityRecords {
        merges: scan_all(engine, keys::MERGE)?,
        corrections: scan_all(engine, keys::CORRECTION)?,
        pairs: scan_all(engine, keys::PAIR)?,
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
