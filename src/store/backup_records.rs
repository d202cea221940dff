//! The small groups of stored records a backup carries whole, as their stored values:
//! title evaluation (rounds, applications, ethics findings) and identity (merges,
//! corrections, candidate pairs). Each group is few records of a few kinds, read whole by
//! the writer at the snapshot and restored in one atomic step; a backup file holds a line
//! per record, tagged with its kind's name (see `cli::backup::records`).
//!
//! One trait, so the writing, the reading back and the restore of every such group are
//! one piece of code; each group says only which kinds it has and where each kind's
//! records are (with `codec::scan_all`, `codec::tagged` and `codec::push_decoded`), and
//! becomes its restore step (`From<_> for RestorePart`, in `store::backup`). The trait
//! names nothing of the store but its error, so it sits on no import cycle.

use crate::store::StoreError;

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
