//! Revisions are never reused.
//!
//! A reader may see a group's writes before the group's flush: the engine makes a batch
//! visible as it applies it. When that flush fails (a full disk, an I/O error) the group is
//! lost, and so is whatever was staged on top of it; carrying on from the revision on disk
//! would hand the lost revisions to new changes, so an etag or revision a reader saw would
//! come to name a different change. Instead the writer remembers the change events it
//! lost, and once the engine takes writes again it fills each lost revision above the one
//! on disk with a `Voided` event for the same teacher and counties, written like any change
//! (so the feed stays gap-free and tells mirrors to take that teacher's state again), and
//! goes on after the last of them.

use std::collections::BTreeMap;

use super::staged::{Pending, Staged};
use crate::domain::{ChangeEvent, ChangeKind, UnixMicros};
use crate::store::mutation::stage_change;
use crate::store::{codec, keys, StoreError};

/// Who a voided event is recorded as made by: the registry itself.
pub(crate) const REGISTRY_PRINCIPAL: &str = "registry";

/// The change events of lost groups, by revision.
#[derive(Default)]
pub(super) struct Lost(BTreeMap<u64, ChangeEvent>);

impl Lost {
    /// Notes the change events of a group that will not reach the disk.
    pub(super) fn note(&mut self, group: &Pending) {
        for (key, value) in group.changes() {
            match codec::decode::<ChangeEvent>(key, value) {
                Ok(event) => {
                    self.0.insert(event.revision, event);
                }
                Err(e) => tracing::error!(error = %e, "a lost change event does not decode"),
            }
        }
    }

    /// Stages a `Voided` event for every lost revision after `on_disk`, the last revision
    /// the engine holds, up to the first revision not known (there is none in practice:
    /// lost groups hold consecutive revisions). Answers the last revision staged.
    pub(super) fn stage_voids(
        &mut self,
        staged: &mut Staged<'_>,
        on_disk: u64,
        now: UnixMicros,
    ) -> Result<u64, StoreError> {
        let lost = std::mem::take(&mut self.0);
        let mut last = on_disk;
        for (revision, event) in lost.range(on_disk + 1..) {
            if *revision != last + 1 {
                tracing::error!(revision, last, "a lost revision is not known: not voided");
                break;
            }
            let void = ChangeEvent {
                revision: *revision,
                teacher_id: event.teacher_id.clone(),
                case_id: event.case_id.clone(),
                kind: ChangeKind::Voided,
                time: now,
                principal: REGISTRY_PRINCIPAL.into(),
                request_id: None,
                county_before: event.county_before.clone(),
                county_after: event.county_after.clone(),
            };
            stage_change(staged, &void);
            last = *revision;
        }
        if last > on_disk {
            staged.set_revision(last);
            staged.insert(keys::META_REVISION.to_vec(), codec::encode(&last));
            tracing::warn!(
                from = on_disk + 1,
                to = last,
                "revisions lost to the fault are voided, never reused"
            );
        }
        Ok(last)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
