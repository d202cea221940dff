//! The identity commands and answers as plain data.
//!
//! Apart from what a command does (`store::identity`) because the stored formats
//! (`store::format`) and the writer's queue name these types, while the commands' checks
//! call into the stored formats: here the types name nothing of the store.

use crate::domain::case::CaseId;
use crate::domain::duplicates::CandidatePair;
use crate::domain::{IdentityCorrection, NewCorrection, Teacher, TeacherId};

/// A record to merge, with the etag its caller read, if any.
pub(crate) type Side = (TeacherId, Option<String>);

/// An identity operation, as queued for the writer.
#[derive(Debug, Clone)]
pub enum IdentityCommand {
    /// Proposes a correction (validated by the caller).
    Propose(NewCorrection),
    /// Approves or rejects a pending correction.
    Review {
        correction_id: CaseId,
        approve: bool,
        expected_etag: Option<String>,
        note: String,
    },
    /// Marks a candidate pair as not the same person.
    Dismiss {
        pair: (TeacherId, TeacherId),
        note: String,
    },
    /// Stores the pairs a full pass found (those not stored meanwhile).
    RecordCandidates(Vec<CandidatePair>),
    /// Merges `merged` into `survivor` (each with the etag its caller read, if any).
    Merge {
        survivor: Side,
        merged: Side,
        reason: String,
    },
    /// Undoes the merge that retired `merged`.
    Unmerge { merged: TeacherId, reason: String },
}

/// The answer to an accepted identity command.
// One value at a time, while a request is answered: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityAnswer {
    /// A correction after its step, with the teacher as an approval left it.
    Correction {
        correction: IdentityCorrection,
        teacher: Option<Teacher>,
    },
    /// A pair dismissed (or dismissed before).
    Dismissed,
    /// How many of a full pass's pairs were new.
    Recorded(u64),
    /// The survivor of a merge, and what disagreed between the two records.
    Merged {
        survivor: Teacher,
        conflicts: Vec<String>,
    },
    /// The survivor and the restored record of an unmerge.
    Unmerged {
        survivor: Teacher,
        restored: Teacher,
    },
}
