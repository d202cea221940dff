//! Identity operations through the write path: corrections of a record's identity
//! document (proposed, then approved or rejected by another principal), duplicate
//! candidates (found, stored, dismissed; see `duplicates`), and merges of two records of
//! one person, and their undoing (see `merges`).
//!
//! Each is one writer command: checked against the records as stored, then the
//! correction, the record it changes (with its indexes and counters, through
//! `mutation::stage_record`) and a change event staged together, under the request id's
//! replay rules (`store::requests`).

pub(crate) mod backup;
mod corrections;
pub(crate) mod duplicates;
pub(crate) mod keys;
pub(crate) mod merges;
pub(crate) mod retired;
mod types;

use crate::domain::case::CaseId;
use crate::domain::IdentityCorrection;
use crate::store::engine::Engine;
use crate::store::format::Fingerprint;
use crate::store::mutation::WriteContext;
use crate::store::requests;
use crate::store::writer::Staged;
use crate::store::{codec, StoreError};
pub use types::{IdentityAnswer, IdentityCommand};

/// Applies `command` to `staged`, replaying a remembered answer for a request id seen
/// before (the rules of `mutation::apply`).
pub(crate) fn apply(
    staged: &mut Staged<'_>,
    command: IdentityCommand,
    context: &WriteContext,
    window: &crate::store::request_quota::RequestWindow,
) -> Result<IdentityAnswer, StoreError> {
    requests::answer_once(
        staged,
        context,
        window,
        Fingerprint::of_identity(&command),
        |staged| run(staged, command, context),
    )
}

requests::replayable!(IdentityAnswer, Identity, NewIdentityRequest);

/// What `command` does, once its request id is found new.
fn run(
    staged: &mut Staged<'_>,
    command: IdentityCommand,
    context: &WriteContext,
) -> Result<IdentityAnswer, StoreError> {
    let answer = match command {
        IdentityCommand::Propose(new) => corrections::propose(staged, new, context)?,
        IdentityCommand::Review {
            correction_id,
            approve,
            expected_etag,
            note,
        } => corrections::review(
            staged,
            &correction_id,
            approve,
            expected_etag,
            &note,
            context,
        )?,
        IdentityCommand::Dismiss { pair, note } => {
            duplicates::dismiss(staged, (&pair.0, &pair.1), &note, context)?;
            IdentityAnswer::Dismissed
        }
        IdentityCommand::RecordCandidates(pairs) => {
            let mut recorded = 0;
            for pair in &pairs {
                recorded += u64::from(duplicates::stage_if_new(staged, pair)?);
            }
            IdentityAnswer::Recorded(recorded)
        }
        IdentityCommand::Merge {
            survivor,
            merged,
            reason,
        } => merges::merge(staged, &survivor, &merged, &reason, context)?,
        IdentityCommand::Unmerge { merged, reason } => {
            merges::unmerge(staged, &merged, &reason, context)?
        }
    };
    Ok(answer)
}

/// The correction with this number.
pub(crate) fn get_correction<E: Engine>(
    engine: &E,
    id: &CaseId,
) -> Result<Option<IdentityCorrection>, StoreError> {
    let key = keys::correction(id);
    match engine.get(&key)? {
        Some(bytes) => Ok(Some(codec::decode(&key, &bytes)?)),
        None => Ok(None),
    }
}
