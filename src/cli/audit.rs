//! `teacher-registry audit`: the read audit (admins only), as a table, oldest first: who
//! looked up an identity number (masked), listed numbers in full, took a backup, was told
//! of a duplicate, ran out of refusals, wrote without changing anything, or had a
//! credential signed. Times in China Standard Time, like every date the registry shows.

use std::io::Write;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::{connect, refusal};
use crate::api::pb;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct AuditArgs {
    pub principal: Option<String>,
    /// A kind as the table spells it, e.g. `identity-lookup`.
    pub kind: Option<String>,
    /// From this day (China Standard Time) on.
    pub since: Option<NaiveDate>,
    /// Up to and including this day.
    pub until: Option<NaiveDate>,
}

/// The kinds, as the table and `--kind` spell them.
const KINDS: [(pb::AuditKind, &str); 7] = [
    (pb::AuditKind::IdentityLookup, "identity-lookup"),
    (pb::AuditKind::Listing, "listing"),
    (pb::AuditKind::Backup, "backup"),
    (pb::AuditKind::DuplicateRevealed, "duplicate-revealed"),
    (pb::AuditKind::RefusalLimit, "refusal-limit"),
    (pb::AuditKind::NoOpWrite, "no-op-write"),
    (pb::AuditKind::CredentialIssued, "credential-issued"),
];

/// Prints every entry `args` asks for, page by page; answers how many.
pub async fn print_audit(
    server: &str,
    args: &AuditArgs,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let kind = match &args.kind {
        None => pb::AuditKind::Unspecified,
        Some(name) => KINDS
            .iter()
            .find(|(_, n)| n == name)
            .map(|(kind, _)| *kind)
            .ok_or_else(|| {
                let names: Vec<_> = KINDS.iter().map(|(_, n)| *n).collect();
                anyhow::anyhow!("--kind {name}: one of {}", names.join(", "))
            })?,
    };
    let mut client = connect(server).await?;
    let mut request = pb::ListAuditEntriesRequest {
        page_size: 1000,
        principal: args.principal.clone().unwrap_or_default(),
        kind: kind as i32,
        start_time: args.since.map(start_of),
        end_time: args.until.and_then(|day| day.succ_opt()).map(start_of),
        ..Default::default()
    };
    writeln!(
        out,
        "{:<19}  {:<12} {:<18} {:<20} subject",
        "time", "principal", "kind", "method"
    )?;
    let mut printed = 0;
    loop {
        let page = match client.list_audit_entries(request.clone()).await {
            Ok(page) => page.into_inner(),
            Err(status) => return Err(refusal(status, "the registry refused the audit")),
        };
        for entry in page.entries {
            writeln!(out, "{}", line(&entry))?;
            printed += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    writeln!(out, "{}", super::count(printed, "entry", "entries"))?;
    Ok(printed)
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The first moment of `day` in China Standard Time.
fn start_of(day: NaiveDate) -> prost_types::Timestamp {
    let start = day
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(cst())
        .single()
        .expect("a fixed offset has one midnight");
    prost_types::Timestamp {
        seconds: start.timestamp(),
        nanos: 0,
    }
}

fn line(entry: &pb::AuditEntry) -> String {
    let time = entry
        .time
        .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map(|t| {
            t.with_timezone(&cst())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let kind = KINDS
        .iter()
        .find(|(kind, _)| *kind as i32 == entry.kind)
        .map_or("?", |(_, name)| name);
    format!(
        "{time:<19}  {:<12} {kind:<18} {:<20} {}",
        entry.principal, entry.method, entry.subject
    )
    .trim_end()
    .to_string()
}
