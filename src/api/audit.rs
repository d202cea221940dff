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

use prost_types::Timestamp;
use tonic::Status;

use crate::api::convert::timestamp;
use crate::api::pb;
use crate::api::refusals::RefusalLimiter;
use crate::api::service::{parse_page_size, RegistryService, Violations};
use crate::auth::{Principal, Rpc};
use crate::domain::audit::{AuditEntry, AuditKind};
use crate::domain::{FieldViolation, UnixMicros};
use crate::store::{AuditCursor, AuditQuery, Store};

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

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

impl RegistryService {
    pub(super) async fn audit_entries(
        &self,
        _principal: &Principal,
        request: pb::ListAuditEntriesRequest,
    ) -> Result<pb::ListAuditEntriesResponse, Status> {
        let query = parse_query(request)?;
        let page = self
            .reads
            .read(move |store| store.list_audit(&query))
            .await?;
        Ok(pb::ListAuditEntriesResponse {
            entries: page.entries.into_iter().map(entry_message).collect(),
            next_page_token: page.next.map(|c| c.token()).unwrap_or_default(),
        })
    }
}

fn parse_query(request: pb::ListAuditEntriesRequest) -> Result<AuditQuery, Status> {
    let pb::ListAuditEntriesRequest {
        page_size,
        page_token,
        principal,
        kind,
        start_time,
        end_time,
    } = request;
    let mut violations = Violations::default();
    let page_size = violations.take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
    let after =
        match page_token.as_str() {
            "" => None,
            token => violations
                .take(AuditCursor::parse(token).map(Some).ok_or_else(|| {
                    FieldViolation::new("page_token", "not a page token of this RPC")
                }))
                .flatten(),
        };
    let kind = violations.take(parse_kind(kind)).flatten();
    let since = violations
        .take(parse_time("start_time", start_time))
        .flatten();
    let until = violations.take(parse_time("end_time", end_time)).flatten();
    violations.finish(|| Some(()))?;
    let principal = Some(principal.trim().to_string()).filter(|p| !p.is_empty());
    Ok(AuditQuery {
        principal,
        kind,
        since,
        until,
        page_size: page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        after,
    })
}

fn parse_kind(raw: i32) -> Result<Option<AuditKind>, FieldViolation> {
    if raw == 0 {
        return Ok(None);
    }
    let kind = pb::AuditKind::try_from(raw)
        .map_err(|_| FieldViolation::new("kind", format!("unknown value {raw}")))?;
    Ok(AuditKind::ALL
        .into_iter()
        .find(|k| kind_message(*k) == kind))
}

fn kind_message(kind: AuditKind) -> pb::AuditKind {
    match kind {
        AuditKind::IdentityLookup => pb::AuditKind::IdentityLookup,
        AuditKind::Listing => pb::AuditKind::Listing,
        AuditKind::Backup => pb::AuditKind::Backup,
        AuditKind::DuplicateRevealed => pb::AuditKind::DuplicateRevealed,
        AuditKind::RefusalLimit => pb::AuditKind::RefusalLimit,
        AuditKind::NoOpWrite => pb::AuditKind::NoOpWrite,
        AuditKind::CredentialIssued => pb::AuditKind::CredentialIssued,
    }
}

fn parse_time(field: &str, time: Option<Timestamp>) -> Result<Option<UnixMicros>, FieldViolation> {
    let Some(Timestamp { seconds, nanos }) = time else {
        return Ok(None);
    };
    seconds
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(i64::from(nanos / 1000)))
        .filter(|micros| (0..1_000_000_000).contains(&nanos) && *micros >= 0)
        .map(|micros| Some(UnixMicros(micros)))
        .ok_or_else(|| FieldViolation::new(field, "not a time since 1970"))
}

fn entry_message(entry: AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        time: Some(timestamp(entry.at)),
        principal: entry.principal,
        kind: kind_message(entry.kind) as i32,
        method: entry.method,
        subject: entry.subject,
    }
}
