//! The read audit's entries (see [`crate::domain::audit`]): stored, trimmed and listed.
//!
//! **Not in the change log.** An audit entry is not a change to a person: it has no
//! revision, no change event, and never appears in a feed (a county's feed would otherwise
//! tell it who else looked at its teachers, which is the admins' to know). So entries live
//! in a key space of their own (`keys::AUDIT`: time, then a sequence number), append-only.
//!
//! **Through the writer all the same.** Entries are staged by the one writer thread, in its
//! groups, and an entry's caller is answered once its group is on disk: the read it records
//! is answered only after that (an audit that can lose the reads it was told of is not
//! one), and a burst of lookups shares one fsync with the writes around it, instead of a
//! second log with a flush of its own per entry. A separate file would also need its own
//! crash recovery, backup and PostgreSQL story; the key space has the engine's.
//!
//! **Kept** `StoreOptions::audit_retention` (180 days unless told otherwise: the six
//! months China's Cybersecurity Law, art. 21, asks network logs to be kept), then trimmed
//! by the background trim a bounded step at a time, like the change log.
//!
//! **Not in backups.** A backup carries the registry's records, and a restore makes a new
//! registry from them; the audit stays with the server that witnessed the reads (a
//! restored registry starts its own). The backup itself is an audit entry.

use std::ops::Bound;

use crate::domain::audit::{AuditEntry, AuditKind};
use crate::domain::UnixMicros;
use crate::store::engine::Engine;
use crate::store::writer::{Staged, MAX_TRIM};
use crate::store::{codec, keys, StoreError};

/// The most entries one page reads past (those its filters skip included), so a page
/// costs a bounded scan; a page may then hold fewer entries than asked, with a token to
/// go on.
const MAX_SCANNED: usize = 10_000;

/// Stages `entries`, each at `now` and the next sequence number.
pub(crate) fn stage(
    staged: &mut Staged<'_>,
    entries: Vec<AuditEntry>,
    now: UnixMicros,
    sequence: &mut u32,
) {
    for mut entry in entries {
        entry.at = now;
        staged.insert(keys::audit(now, *sequence), codec::encode(&entry));
        *sequence = sequence.wrapping_add(1);
    }
}

/// Stages the removal of up to [`MAX_TRIM`] entries made before `before`; answers how many.
pub(crate) fn trim(staged: &mut Staged<'_>, before: UnixMicros) -> Result<u64, StoreError> {
    let old = staged.committed_keys(
        &[keys::AUDIT],
        &keys::audit_bound(before),
        MAX_TRIM as usize,
    )?;
    let removed = old.len() as u64;
    for key in old {
        staged.remove(key);
    }
    Ok(removed)
}

/// Where a page of the audit ends: the next page starts after this entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    at: i64,
    sequence: u32,
}

impl AuditCursor {
    /// The cursor as a page token: 24 hexadecimal digits.
    pub fn token(&self) -> String {
        format!("{:016x}{:08x}", self.at, self.sequence)
    }

    /// A page token back into a cursor; `None` if it is not one.
    pub fn parse(token: &str) -> Option<AuditCursor> {
        if token.len() != 24 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let at = u64::from_str_radix(&token[..16], 16).ok()?;
        Some(AuditCursor {
            at: i64::try_from(at).ok()?,
            sequence: u32::from_str_radix(&token[16..], 16).ok()?,
        })
    }

    fn key(&self) -> Vec<u8> {
        keys::audit(UnixMicros(self.at), self.sequence)
    }
}

/// Which entries to list, oldest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub principal: Option<String>,
    pub kind: Option<AuditKind>,
    /// At or after this moment.
    pub since: Option<UnixMicros>,
    /// Before this moment.
    pub until: Option<UnixMicros>,
    pub page_size: usize,
    /// After the entry a previous page ended at.
    pub after: Option<AuditCursor>,
}

/// A page of audit entries.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where to go on from, if there may be more.
    pub next: Option<AuditCursor>,
}

/// The entries `query` asks for, oldest first.
pub(crate) fn list<E: Engine>(engine: &E, query: &AuditQuery) -> Result<AuditPage, StoreError> {
    let since = query
        .since
        .map_or_else(|| vec![keys::AUDIT], keys::audit_bound);
    let start = match query.after.map(|cursor| cursor.key()) {
        Some(after) if after >= since => Bound::Excluded(after),
        _ => Bound::Included(since),
    };
    let end = match query.until {
        Some(until) => keys::audit_bound(until),
        None => vec![keys::AUDIT + 1],
    };
    let mut page = AuditPage::default();
    let mut scanned = 0;
    for item in engine.range(start.as_ref().map(Vec::as_slice), Bound::Excluded(&end))? {
        let (key, value) = item?;
        let Some(cursor) = cursor_of(&key) else {
            continue;
        };
        scanned += 1;
        let entry: AuditEntry = codec::decode(&key, &value)?;
        let wanted = query
            .principal
            .as_ref()
            .is_none_or(|p| *p == entry.principal)
            && query.kind.is_none_or(|k| k == entry.kind);
        if wanted {
            page.entries.push(entry);
        }
        if page.entries.len() >= query.page_size || scanned >= MAX_SCANNED {
            page.next = Some(cursor);
            break;
        }
    }
    Ok(page)
}

fn cursor_of(key: &[u8]) -> Option<AuditCursor> {
    let at = keys::audit_time(key)?;
    let sequence = key.last_chunk::<4>()?;
    Some(AuditCursor {
        at: at.0,
        sequence: u32::from_be_bytes(*sequence),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_token_and_nothing_else_parses() {
        let cursor = AuditCursor {
            at: 1_765_000_000_000_000,
            sequence: 7,
        };
        assert_eq!(AuditCursor::parse(&cursor.token()), Some(cursor));
        for bad in [
            "",
            "zz",
            &"f".repeat(24),
            &"0".repeat(23),
            "0000000000000001000000g1",
        ] {
            assert_eq!(AuditCursor::parse(bad), None, "{bad}");
        }
        assert_eq!(cursor_of(&cursor.key()), Some(cursor));
    }
}
