//! The formats of stored values, apart from the domain types.
//!
//! Every value begins with one byte naming its format; [`crate::store::codec`] reads that
//! byte and hands the rest to the format's decoder. Every format ever written keeps its
//! decoder here, so a registry written by any earlier release opens in this one:
//!
//! | format | written by | what it is |
//! |---|---|---|
//! | 1 | release 0.1 (to commit b67bfce) | postcard of the domain structs of the time ([`v1`], frozen mirrors) |
//! | 2 | this release | protobuf messages kept for storage only ([`v2`]; a teacher's revisions, [`revision`]) |
//! | 2, with `former` | this release, from #22 | a teacher's former names and documents and the numbers merged into it ([`former`]), a field older values lack and decode as empty |
//!
//! A value is rewritten in the current format whenever its record changes; nothing is
//! migrated in bulk, so opening an old registry costs nothing.

pub(crate) mod audit;
pub(crate) mod case;
pub(crate) mod case_report;
pub(crate) mod codes;
pub(crate) mod evaluation;
mod evaluation_request;
mod fingerprint;
mod former;
pub(crate) mod identity;
mod merge;
pub(crate) mod request;
pub(crate) mod request_quota;
pub(crate) mod revision;
#[cfg(test)]
mod samples;
mod scalars;
pub(crate) mod v1;
pub(crate) mod v2;

use crate::store::cases::{CaseCommand, NewConsultation};
use crate::store::mutation::Mutation;

pub(crate) use request::{Fingerprint, Remembered, StoredRequest};

impl Fingerprint {
    /// The current fingerprint of `mutation`; `None` for mutations never replayed.
    pub(crate) fn of(mutation: &Mutation) -> Option<Fingerprint> {
        fingerprint::fingerprint(mutation).map(Fingerprint::V2)
    }

    /// The fingerprint of a consultation to record (always current).
    pub(crate) fn of_consultation(new: &NewConsultation) -> Fingerprint {
        Fingerprint::V2(fingerprint::consultation_fingerprint(new))
    }

    /// The fingerprint of a case command (cases came after format 1: always current).
    pub(crate) fn of_case(command: &CaseCommand) -> Fingerprint {
        Fingerprint::V2(fingerprint::case_fingerprint(command))
    }

    /// The fingerprint of an evaluation command (always current).
    pub(crate) fn of_evaluation(
        command: &crate::store::evaluation::EvaluationCommand,
    ) -> Fingerprint {
        Fingerprint::V2(evaluation_request::fingerprint(command))
    }

    /// The fingerprint of an identity command (always current).
    pub(crate) fn of_identity(command: &crate::store::identity::IdentityCommand) -> Fingerprint {
        Fingerprint::V2(identity::fingerprint(command))
    }

    /// Whether `mutation` is the request this fingerprint was taken of, computed the way
    /// the release that recorded it did.
    pub(crate) fn matches(&self, mutation: &Mutation) -> bool {
        match self {
            Fingerprint::V1(bytes) => v1::fingerprint(mutation).as_ref() == Some(bytes),
            Fingerprint::V2(bytes) => fingerprint::fingerprint(mutation).as_ref() == Some(bytes),
        }
    }
}
