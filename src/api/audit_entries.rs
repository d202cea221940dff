//! ListAuditEntries: an admin reads the read audit back, a page at a time (the entries are
//! recorded by [`crate::api::audit::Auditor`]; kept apart so the recorder, which the gate holds,
//! names nothing of the service).

use prost_types::Timestamp;
use tonic::Status;

use crate::api::convert::timestamp;
use crate::api::pb;
use crate::api::service::{parse_page_size, RegistryService, Violations};
use crate::auth::Principal;
use crate::domain::audit::{AuditEntry, AuditKind};
use crate::domain::{FieldViolation, UnixMicros};
use crate::store::{AuditCursor, AuditQuery};

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

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
