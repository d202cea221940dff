//! The read audit (#21, finding 12) as the handlers record it, and ListAuditEntries, by
//! which an admin reads it back (see [`crate::domain::audit`] for what is recorded, and
//! [`crate::store::audit`] for how it is stored and why not in the change log).
//!
//! Two ways to record: [`Auditor::record`] waits until the entry is on disk, for reads
//! (a lookup by identity number, a listing of full numbers, a backup), which are answered
//! only once recorded, and refused (UNAVAILABLE) when the entry cannot be stored;
//! [`Auditor::note`] stores without holding the answer up, for answers that are already
//! decided (a refusal, a duplicate revealed, a no-op write, a credential signed), and logs
//! when storing fails. Every entry is also a log line under the `audit` target.

use std::sync::Arc;
use std::time::Instant;

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
}

impl Auditor {
    pub(crate) fn new(store: Store, budget: Arc<RefusalLimiter>) -> Auditor {
        Auditor { store, budget }
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
        tokio::spawn(async move {
            if let Err(error) = store.audit(vec![entry]).await {
                tracing::error!(%error, "an audit entry could not be stored");
            }
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
