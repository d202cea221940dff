//! What the writer is asked to do, and the answers it owes until a group is on disk.
//!
//! Apart from the writer's loop (`store::writer`) so that the committer, which sends the
//! answers once a group is flushed, names the answers without naming the loop that hands
//! it the groups.

use tokio::sync::oneshot;

use crate::store::backup::{RestorePart, Snapshot};
use crate::store::cases::{self, CaseAnswer, CaseCommand};
use crate::store::mutation::{Mutation, Outcome, WriteContext};
use crate::store::StoreError;

/// What the writer is asked to do.
// Nearly every command is a Mutate: boxing it to shrink the rare TrimChanges would add an
// allocation to every write.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    /// Apply a mutation of a teacher record.
    Mutate {
        mutation: Mutation,
        context: WriteContext,
        reply: oneshot::Sender<Result<Outcome, StoreError>>,
    },
    /// Take a step of a case (or open one).
    Case {
        command: CaseCommand,
        context: WriteContext,
        reply: oneshot::Sender<Result<CaseAnswer, StoreError>>,
    },
    /// Take a step of title evaluation.
    Evaluate {
        command: crate::store::evaluation::EvaluationCommand,
        context: WriteContext,
        reply: oneshot::Sender<Result<crate::store::evaluation::EvaluationAnswer, StoreError>>,
    },
    /// Correct an identity document (see `store::identity`).
    Identity {
        command: crate::store::identity::IdentityCommand,
        context: WriteContext,
        reply: oneshot::Sender<Result<crate::store::identity::IdentityAnswer, StoreError>>,
    },
    /// Record a consultation.
    Consult {
        consultation: cases::NewConsultation,
        context: WriteContext,
        reply: oneshot::Sender<Result<crate::domain::case::Consultation, StoreError>>,
    },
    /// Drop change-log entries below `keep_from` (at most [`super::MAX_TRIM`]); answers the new
    /// oldest revision.
    TrimChanges {
        keep_from: u64,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Drop up to [`super::MAX_TRIM`] request records made before `before`; answers how many.
    TrimRequests {
        before: crate::domain::UnixMicros,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Store read-audit entries (see [`crate::store::audit`]): no revision, no change.
    Audit {
        entries: Vec<crate::domain::audit::AuditEntry>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Drop up to [`super::MAX_TRIM`] audit entries made before `before`; answers how many.
    TrimAudit {
        before: crate::domain::UnixMicros,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Read the teachers changed after `after`, between two groups (see
    /// [`crate::store::backup`]).
    Snapshot {
        after: u64,
        reply: oneshot::Sender<Result<Snapshot, StoreError>>,
    },
    /// Apply one step of a restore from backup.
    Restore {
        part: RestorePart,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// An answer owed to a caller once the group is on disk.
pub(super) enum Answer {
    /// Boxed, as the larger answers are: a teacher record is large, and every queued
    /// answer would otherwise take its size.
    Mutation(
        oneshot::Sender<Result<Outcome, StoreError>>,
        Box<Result<Outcome, StoreError>>,
    ),
    Case(
        oneshot::Sender<Result<CaseAnswer, StoreError>>,
        Box<Result<CaseAnswer, StoreError>>,
    ),
    Consultation(
        oneshot::Sender<Result<crate::domain::case::Consultation, StoreError>>,
        Result<crate::domain::case::Consultation, StoreError>,
    ),
    Evaluation(
        oneshot::Sender<Result<crate::store::evaluation::EvaluationAnswer, StoreError>>,
        Box<Result<crate::store::evaluation::EvaluationAnswer, StoreError>>,
    ),
    Identity(
        oneshot::Sender<Result<crate::store::identity::IdentityAnswer, StoreError>>,
        Box<Result<crate::store::identity::IdentityAnswer, StoreError>>,
    ),
    Trim(
        oneshot::Sender<Result<u64, StoreError>>,
        Result<u64, StoreError>,
    ),
    Done(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    /// Already answered.
    None,
}

impl Answer {
    /// The refusal owed to a command the writer does not attempt.
    pub(super) fn refused(command: Command, error: &StoreError) -> Answer {
        match command {
            Command::Mutate { reply, .. } => Answer::Mutation(reply, Box::new(Err(error.clone()))),
            Command::Case { reply, .. } => Answer::Case(reply, Box::new(Err(error.clone()))),
            Command::Consult { reply, .. } => Answer::Consultation(reply, Err(error.clone())),
            Command::Evaluate { reply, .. } => {
                Answer::Evaluation(reply, Box::new(Err(error.clone())))
            }
            Command::Identity { reply, .. } => {
                Answer::Identity(reply, Box::new(Err(error.clone())))
            }
            Command::TrimChanges { reply, .. }
            | Command::TrimRequests { reply, .. }
            | Command::TrimAudit { reply, .. } => Answer::Trim(reply, Err(error.clone())),
            Command::Restore { reply, .. } | Command::Audit { reply, .. } => {
                Answer::Done(reply, Err(error.clone()))
            }
            Command::Snapshot { reply, .. } => {
                let _ = reply.send(Err(error.clone()));
                Answer::None
            }
        }
    }

    pub(super) fn is_ok(&self) -> bool {
        matches!(
            self,
            Answer::Consultation(_, Ok(_)) | Answer::Trim(_, Ok(_)) | Answer::Done(_, Ok(_))
        ) || matches!(self, Answer::Mutation(_, result) if result.is_ok())
            || matches!(self, Answer::Case(_, result) if result.is_ok())
            || matches!(self, Answer::Evaluation(_, result) if result.is_ok())
            || matches!(self, Answer::Identity(_, result) if result.is_ok())
    }

    /// Makes the answer `error`, whatever it was.
    pub(super) fn fail(&mut self, error: &StoreError) {
        match self {
            Answer::Mutation(_, result) => **result = Err(error.clone()),
            Answer::Case(_, result) => **result = Err(error.clone()),
            Answer::Consultation(_, result) => *result = Err(error.clone()),
            Answer::Evaluation(_, result) => **result = Err(error.clone()),
            Answer::Identity(_, result) => **result = Err(error.clone()),
            Answer::Trim(_, result) => *result = Err(error.clone()),
            Answer::Done(_, result) => *result = Err(error.clone()),
            Answer::None => {}
        }
    }

    pub(super) fn send(self) {
        // A caller that went away no longer needs its answer; the write stands.
        match self {
            Answer::Mutation(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Case(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Consultation(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Evaluation(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Identity(reply, result) => {
                let _ = reply.send(*result);
            }
            Answer::Trim(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Done(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::None => {}
        }
    }
}
