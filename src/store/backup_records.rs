//! The small groups of stored records a backup carries whole, as their stored values:
//! title evaluation (rounds, applications, ethics findings) and identity (merges,
//! corrections, candidate pairs). Each group is few records of a few kinds, read whole by
//! the writer at the snapshot and restored in one atomic step; a backup file holds a line
//! per record, tagged with its kind's name (see `cli::backup::records`).
//!
//! One trait, so the writing, the reading back and the restore of every such group are
//! one piece of code; each group says only which kinds it has and where each kind's
//! records are.

use crate::store::engine::Engine;
use crate::store::{codec, RestorePart, StoreError};

/// A group of stored records of a few kinds that a backup carries whole.
pub trait RecordGroup: Default {
    /// Which kind a record is.
    type Kind: Copy + Eq + 'static;
    /// Each kind, with the name a backup file's line gives it.
    const KINDS: &'static [(Self::Kind, &'static str)];
    /// What one record is called in messages ("an identity record").
    const RECORD: &'static str;

    /// The records in the registry's stored format (version byte first, which every
    /// later release reads), by kind.
    fn encoded(&self) -> Vec<(Self::Kind, Vec<u8>)>;

    /// Adds a record read back from [`Self::encoded`]; answers the revision it carries,
    /// for the kinds that carry one.
    fn push_encoded(&mut self, kind: Self::Kind, bytes: &[u8]) -> Result<Option<u64>, StoreError>;

    /// How many records.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The restore step that stages them.
    fn into_restore(self) -> RestorePart;

    /// The name a backup file's line gives `kind`.
    fn kind_name(kind: Self::Kind) -> &'static str {
        Self::KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, name)| *name)
            .expect("every kind is named")
    }

    /// The kind a backup file's line names, if it is one.
    fn kind_named(name: &str) -> Option<Self::Kind> {
        Self::KINDS
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(kind, _)| *kind)
    }
}

/// Every stored value under `prefix`, decoded.
pub(crate) fn scan_all<E: Engine, T: codec::Stored>(
    engine: &E,
    prefix: u8,
) -> Result<Vec<T>, StoreError> {
    let mut found = Vec::new();
    for entry in engine.scan_prefix(&[prefix])? {
        let (key, value) = entry?;
        found.push(codec::decode(&key, &value)?);
    }
    Ok(found)
}

/// Each of `records` encoded, tagged `kind`.
pub(crate) fn tagged<'a, K: Copy + 'a, T: codec::Encoded>(
    kind: K,
    records: &'a [T],
) -> impl Iterator<Item = (K, Vec<u8>)> + 'a {
    records.iter().map(move |r| (kind, codec::encode(r)))
}

/// Decodes `bytes` as a `T` (`what` names it in an error), adds it to `list`, and answers
/// it.
pub(crate) fn push_decoded<'a, T: codec::Stored>(
    list: &'a mut Vec<T>,
    what: &[u8],
    bytes: &[u8],
) -> Result<&'a T, StoreError> {
    list.push(codec::decode(what, bytes)?);
    Ok(list.last().expect("just pushed"))
}
