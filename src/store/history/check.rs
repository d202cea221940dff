//! The history's part of `verify`: each teacher's entries against the record.
//!
//! Apart from the history's reads and writes (`store::history`) because the check asks
//! the identity merges whether a number without a record was retired, while the merges
//! write history entries: here the check depends on both, and neither on it.

use super::{chain, RevisionEntry};
use crate::domain::TeacherId;
use crate::store::engine::Engine;
use crate::store::{codec, keys, StoreError, VerifyReport};

/// Checks every teacher's history against its record: each entry undoes onto the record
/// as the newer entries left it, and every entry leads back from a record.
pub(crate) fn verify<E: Engine>(engine: &E, report: &mut VerifyReport) -> Result<(), StoreError> {
    let mut teacher: Option<TeacherId> = None;
    for item in engine.scan_prefix(&[keys::HISTORY])? {
        let (key, value) = item?;
        report.revision_entries += 1;
        let entry: RevisionEntry = match codec::decode(&key, &value) {
            Ok(entry) => entry,
            Err(e) => {
                report.problem(format!("revision entry: {e}"));
                continue;
            }
        };
        if key.as_ref() != keys::history(&entry.teacher_id, entry.revision).as_slice() {
            report.problem(format!(
                "revision {} of teacher {} is stored under another key",
                entry.revision, entry.teacher_id
            ));
        }
        if teacher.as_ref() == Some(&entry.teacher_id) {
            continue;
        }
        teacher = Some(entry.teacher_id.clone());
        match chain(engine, &entry.teacher_id) {
            // A number retired by a merge keeps its history, for an unmerge to go on from.
            Ok(None)
                if crate::store::identity::merges::standing(engine, &entry.teacher_id)?
                    .is_some() => {}
            Ok(None) => report.problem(format!(
                "revisions of teacher {}, who has no record",
                entry.teacher_id
            )),
            Ok(Some(chain)) => {
                let kept = engine
                    .scan_prefix(&keys::history_prefix(&entry.teacher_id))?
                    .count();
                if kept != chain.links.len() {
                    report.problem(format!(
                        "teacher {}: {kept} revision entries, {} of them lead back from the record",
                        entry.teacher_id,
                        chain.links.len()
                    ));
                }
                report.complete_histories += u64::from(chain.complete);
            }
            Err(e) => report.problem(format!("teacher {}: {e}", entry.teacher_id)),
        }
    }
    Ok(())
}
