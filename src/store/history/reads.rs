//! The history reads of [`Store`].
//!
//! Apart from the history itself (`store::history`) because these methods name the
//! [`Store`], whose write path stages history entries through `store::history`: here the
//! reads depend on both, and nothing in the store depends on them.

use super::{at_revision, entries_after, list, EntryBatch, PinnedTeacher, RevisionPage};
use crate::domain::TeacherId;
use crate::store::{Store, StoreError};

impl Store {
    /// One page of a teacher's history, newest first, after `page_token` (empty for the
    /// first); `None` when there is no such teacher.
    pub fn teacher_revisions(
        &self,
        id: &TeacherId,
        page_size: usize,
        page_token: &str,
    ) -> Result<Option<RevisionPage>, StoreError> {
        list(
            self.engine(),
            &self.inner.page_secret,
            id,
            page_size,
            page_token,
        )
    }

    /// Up to `limit` stored revision entries after the key `after` (see
    /// [`entries_after`]), those of revisions up to `until`, and the last key read
    /// (`None`: none left).
    pub fn history_entries_after(
        &self,
        after: Option<&[u8]>,
        until: u64,
        limit: usize,
    ) -> Result<EntryBatch, StoreError> {
        entries_after(self.engine(), after, until, limit)
    }

    /// The teacher as it was at registry revision `revision` (see [`at_revision`]).
    pub fn teacher_at_revision(
        &self,
        id: &TeacherId,
        revision: u64,
    ) -> Result<Option<PinnedTeacher>, StoreError> {
        at_revision(self.engine(), id, revision)
    }
}
