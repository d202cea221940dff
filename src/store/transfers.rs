//! Pending transfers between counties (see `domain::transfer`) in the store: who may answer
//! one (checked by the write path, [`crate::store::mutation`]), and the reads of the index
//! entries the write path keeps under both counties of a pending transfer
//! ([`crate::store::keys::TRANSFER`]).

use crate::domain::{DomainError, Teacher};
use crate::store::mutation::WriteContext;
use crate::store::StoreError;

mod pending;

pub use pending::CountyTransfers;

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
