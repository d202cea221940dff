//! Pending transfers between counties (see `domain::transfer`) in the store: who may answer
//! one (checked by the write path, [`crate::store::mutation`]), and the reads of the index
//! entries the write path keeps under both counties of a pending transfer
//! ([`keys::TRANSFER`]).

use crate::domain::{CountyCode, DomainError, Teacher, TeacherId};
use crate::store::mutation::WriteContext;
use crate::store::{keys, Store, StoreError};

/// The transfers pending out of and into a county.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountyTransfers {
    /// The county's teachers with a transfer to another county pending.
    pub outgoing: Vec<Teacher>,
    /// Other counties' teachers with a transfer to this county pending.
    pub incoming: Vec<Teacher>,
}

/// Who may answer a transfer: the receiving county (or an admin). The releasing county is
/// told so; any other county finds no such teacher.
pub(crate) fn check_receiving_county(
    context: &WriteContext,
    current: &Teacher,
) -> Result<(), StoreError> {
    let Some(scope) = &context.scope else {
        return Ok(());
    };
    match &current.pending_transfer {
        Some(pending) if pending.to_county == *scope => Ok(()),
        _ if current.fields.county_code == *scope => Err(DomainError::PermissionDenied {
            message: "only the receiving county accepts or declines a transfer; the \
                      teacher's own county proposes it"
                .into(),
        }
        .into()),
        _ => Err(DomainError::NotFound { what: "teacher" }.into()),
    }
}

impl Store {
    /// The transfers pending out of and into `county`, in registry-number order. A county
    /// has a few at a time, so they are answered whole.
    pub fn pending_transfers(&self, county: &CountyCode) -> Result<CountyTransfers, StoreError> {
        let prefix = keys::transfer_prefix(county);
        let mut transfers = CountyTransfers::default();
        for entry in self.engine_scan(&prefix)? {
            let key = entry?;
            let Some(id) = keys::teacher_id_at_end(&key)
                .and_then(|id| TeacherId::try_from(id.to_string()).ok())
            else {
                continue;
            };
            // The index and the record are written together; a record read after a later
            // change may have left the county's transfers, and is passed over.
            let Some(teacher) = self.get_teacher(&id)? else {
                continue;
            };
            match &teacher.pending_transfer {
                Some(_) if teacher.fields.county_code == *county => {
                    transfers.outgoing.push(teacher)
                }
                Some(pending) if pending.to_county == *county => transfers.incoming.push(teacher),
                _ => {}
            }
        }
        Ok(transfers)
    }

    fn engine_scan(
        &self,
        prefix: &[u8],
    ) -> Result<impl Iterator<Item = Result<Vec<u8>, StoreError>>, StoreError> {
        use crate::store::engine::Engine;
        Ok(self
            .engine()
            .scan_prefix(prefix)?
            .map(|entry| entry.map(|(key, _)| key.as_ref().to_vec())))
    }
}
