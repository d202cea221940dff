//! The pending transfers of a county, read through [`Store`].
//!
//! Apart from the transfer check (`store::transfers`) because the write path
//! (`store::mutation`) names that check, while this read names the [`Store`], which names
//! the write path: here the read depends on both, and nothing in the store depends on it.

use crate::domain::{CountyCode, Teacher, TeacherId};
use crate::store::{keys, Store, StoreError};

/// The transfers pending out of and into a county.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountyTransfers {
    /// The county's teachers with a transfer to another county pending.
    pub outgoing: Vec<Teacher>,
    /// Other counties' teachers with a transfer to this county pending.
    pub incoming: Vec<Teacher>,
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
