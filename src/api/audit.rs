//! The read audit (#21, finding 12) as the handlers record it, and ListAuditEntries, by
//! which an admin reads it back (see [`crate::domain::audit`] for what is recorded, and
//! [`crate::store::audit`] for how it is stored and why not in the change log).
//!
//! Two ways to record: [`Auditor::record`] waits until the entry is on disk, for reads
//! (a lookup by identity number, a listing of full numbers, a backup), which are answered
//! only once recorded, and refused (UNAVAILABLE) when the entry cannot be stored;
//! [`Auditor::note`] stores without holding the answer up, for answers that are already
//! decided (a refusal, a duplicate revealed, a no-op write, a credential signed), and logs
//! when storing fails. Every entry is also a log line under the `audit` target. A noted
//! entry is still on its way to the store when the answer leaves; the server waits for
//! every one before it closes the store ([`Auditor::notes_stored`]), so a shutdown does
//! not drop them, and a store closed by `serve` is closed.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;
use tonic::Status;

use crate::api::refusals::RefusalLimiter;
use crate::auth::Rpc;
use crate::domain::audit::{AuditEntry, AuditKind};
use crate::domain::UnixMicros;
use crate::store::Store;

/// Records audit entries in the store.
///
/// Each entry is also taken from its principal's budget (`budget`, the gate's): an entry
/// is a few hundred bytes kept 180 days, and a principal's rate of requests alone (100 a
/// second) would let one county write 1.7 GB of them a day with no-op writes or lookups
/// (found after issue 21's list: `tests/red_team/next.rs`). The gate refuses a principal
/// other than an admin whose budget is spent (see [`crate::api::gate::Gate::admit`]).
#[derive(Clone)]
pub(crate) struct Auditor {
    store: Store,
    budget: Arc<RefusalLimiter>,
    /// How many noted entries are still being stored.
    notes_in_flight: Arc<watch::Sender<usize>>,
}

impl Auditor {
    pub(crate) fn new(store: Store, budget: Arc<RefusalLimiter>) -> Auditor {
        Auditor {
            store,
            budget,
            notes_in_flight: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Waits until every entry noted so far is stored (or its failure logged).
    pub(crate) async fn notes_stored(&self) {
        let mut in_flight = self.notes_in_flight.subscribe();
        let _ = in_flight.wait_for(|count| *count == 0).await;
    }

    /// Records that `principal` did `kind` through `rpc`, touching `subject` (never a
    /// full identity number), and waits until it is on disk.
    pub(crate) async fn record(
        &self,
        principal: &str,
        kind: AuditKind,
        rpc: Rpc,
        subject: String,
    ) -> Result<(), Status> {
        let entry = entry(principal, kind, rpc, subject);
        log(&entry);
        self.budget.record(principal, Instant::now());
        self.store.audit(vec![entry]).await.map_err(Status::from)
    }

    /// As [`Auditor::record`], without waiting: a failure to store it is logged.
    pub(crate) fn note(&self, principal: &str, kind: AuditKind, rpc: Rpc, subject: String) {
        let entry = entry(principal, kind, rpc, subject);
        log(&entry);
        self.budget.record(principal, Instant::now());
        let store = self.store.clone();
        let in_flight = self.notes_in_flight.clone();
        in_flight.send_modify(|count| *count += 1);
        tokio::spawn(async move {
            if let Err(error) = store.audit(vec![entry]).await {
                tracing::error!(%error, "an audit entry could not be stored");
            }
            in_flight.send_modify(|count| *count -= 1);
        });
    }
}

fn entry(principal: &str, kind: AuditKind, rpc: Rpc, subject: String) -> AuditEntry {
    AuditEntry {
        // Set by the writer as it stores the entry.
        at: UnixMicros(0),
        principal: principal.to_string(),
        kind,
        method: format!("{rpc:?}"),
        subject,
    }
}

fn log(entry: &AuditEntry) {
    tracing::info!(
        target: "audit",
        principal = %entry.principal,
        kind = entry.kind.name(),
        method = %entry.method,
        subject = %entry.subject,
        "audit"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::refusals::DEFAULT_AUDIT_BUDGET;
    use crate::store::{AuditQuery, StoreOptions};

    /// On this one-threaded runtime a noted entry's task cannot run before the test
    /// yields: only the wait lets it, so the entries are there only if the wait waited.
    #[tokio::test(flavor = "current_thread")]
    async fn the_wait_for_noted_entries_ends_once_every_one_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let auditor = Auditor::new(
            store.clone(),
            Arc::new(RefusalLimiter::new(DEFAULT_AUDIT_BUDGET)),
        );
        for n in 0..20 {
            auditor.note(
                "clerk",
                AuditKind::NoOpWrite,
                Rpc::UpdateTeacher,
                format!("{n}"),
            );
        }
        auditor.notes_stored().await;
        let query = AuditQuery {
            page_size: 100,
            ..AuditQuery::default()
        };
        assert_eq!(store.list_audit(&query).unwrap().entries.len(), 20);
    }
}
