//! Each command, handed to the part of the store that checks and stages it.
//!
//! Apart from the writer's loop (`store::writer`), which groups, hands over and answers
//! commands whatever they ask, so the loop names no part of the store that stages them:
//! this is the one place that knows which part stages which command.

use std::time::Duration;

use super::command::{Answer, Command};
use super::staged::Staged;
use crate::clock;
use crate::domain::case::WindowRules;
use crate::store::backup::stage_restore;
use crate::store::mutation::apply;
use crate::store::request_quota::RequestWindow;
use crate::store::{audit, cases, changes, requests, StoreError};

/// How long request ids are kept, and how many one principal may keep (see
/// [`crate::store::request_quota`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestIdLimits {
    pub(crate) retention: Duration,
    pub(crate) per_principal: u64,
}

impl RequestIdLimits {
    /// What a write checks its request id against, now.
    pub(super) fn window(&self) -> RequestWindow {
        RequestWindow::at(clock::now(), self.retention, self.per_principal)
    }
}

/// Runs the checks of `command` on `staged`, for the keys they read; the answer and
/// the writes are dropped.
pub(super) fn check(
    staged: &mut Staged<'_>,
    command: &Command,
    request_ids: &RequestIdLimits,
    window_rules: &WindowRules,
) {
    let window = request_ids.window();
    match command {
        Command::Mutate {
            mutation, context, ..
        } => {
            let _ = apply(staged, mutation.clone(), context, &window);
        }
        Command::Case {
            command, context, ..
        } => {
            let _ = cases::apply(staged, command.clone(), context, &window, window_rules);
        }
        Command::Evaluate {
            command, context, ..
        } => {
            let _ = crate::store::evaluation::apply(
                staged,
                command.clone(),
                context,
                &window,
                &window_rules.calendar,
            );
        }
        Command::Consult {
            consultation,
            context,
            ..
        } => {
            let _ = cases::record_consultation(staged, consultation.clone(), context, &window);
        }
        Command::Identity {
            command, context, ..
        } => {
            let _ = crate::store::identity::apply(staged, command.clone(), context, &window);
        }
        // Rare, or reading nothing, and read as they go.
        Command::TrimChanges { .. }
        | Command::TrimRequests { .. }
        | Command::TrimAudit { .. }
        | Command::Audit { .. }
        | Command::Restore { .. }
        | Command::Snapshot { .. } => {}
    }
}

/// Stages `command` on `staged`: the answer owed once the group is on disk; `None` for a
/// snapshot, which is never staged (the writer reads one between groups).
pub(super) fn stage(
    staged: &mut Staged<'_>,
    command: Command,
    request_ids: &RequestIdLimits,
    window_rules: &WindowRules,
    audit_sequence: &mut u32,
) -> Option<Answer> {
    let answer = match command {
        Command::Mutate {
            mutation,
            context,
            reply,
        } => {
            let window = request_ids.window();
            Answer::Mutation(reply, Box::new(apply(staged, mutation, &context, &window)))
        }
        Command::Case {
            command,
            context,
            reply,
        } => {
            let window = request_ids.window();
            let answer = cases::apply(staged, command, &context, &window, window_rules);
            Answer::Case(reply, Box::new(answer))
        }
        Command::Evaluate {
            command,
            context,
            reply,
        } => {
            let window = request_ids.window();
            let answer = crate::store::evaluation::apply(
                staged,
                command,
                &context,
                &window,
                &window_rules.calendar,
            );
            Answer::Evaluation(reply, Box::new(answer))
        }
        Command::Identity {
            command,
            context,
            reply,
        } => {
            let window = request_ids.window();
            let answer = crate::store::identity::apply(staged, command, &context, &window);
            Answer::Identity(reply, Box::new(answer))
        }
        Command::Consult {
            consultation,
            context,
            reply,
        } => {
            let window = request_ids.window();
            Answer::Consultation(
                reply,
                cases::record_consultation(staged, consultation, &context, &window),
            )
        }
        Command::TrimChanges { keep_from, reply } => {
            Answer::Trim(reply, changes::trim_changes(staged, keep_from))
        }
        Command::TrimRequests { before, reply } => {
            Answer::Trim(reply, requests::trim(staged, before))
        }
        Command::Restore { part, reply } => {
            Answer::Done(reply, stage_restore(staged, part, window_rules))
        }
        Command::Audit { entries, reply } => {
            audit::stage(staged, entries, clock::now(), audit_sequence);
            Answer::Done(reply, Ok(()))
        }
        Command::TrimAudit { before, reply } => Answer::Trim(reply, audit::trim(staged, before)),
        // Never staged: take() reads snapshots between groups.
        Command::Snapshot { reply, .. } => {
            let _ = reply.send(Err(StoreError::Closed));
            return None;
        }
    };
    Some(answer)
}
