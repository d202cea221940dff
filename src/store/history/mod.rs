//! Revisions (AIP-162): what every change did to a teacher's record, field by field.
//!
//! The one write step of a mutation ([`crate::store::mutation`]) stages, beside the record
//! and its change event, a revision entry: who, when, which kind of change, and the field
//! occurrences of the record's stored encoding that differ, old and new (see [`wire`]).
//! A creation keeps no fields: the record it made is what the later entries lead back to.
//! Entries are never trimmed (the change log is; a history is the record's own, and
//! nothing about a person is deleted), and they are keyed newest first (see
//! [`keys::HISTORY`]).
//!
//! A record as it was at a revision is the current record with the newer entries undone
//! one by one, newest first; undoing checks that each entry's new values are what the
//! record holds, so a history that does not fit its record is found (by `verify`, too).
//! Records written by releases before revisions were kept have no entries for their past:
//! their history starts at the first change this release made, and a reader is told the
//! earliest revision known rather than shown an invented past.

mod check;
mod entry;
mod reads;
#[cfg(test)]
mod tests;
mod wire;

use std::ops::Bound::{Included, Unbounded};

pub(crate) use check::verify;
pub(crate) use entry::RevisionEntry;
pub(crate) use wire::FieldChange;

use crate::domain::{ChangeKind, DomainError, Teacher, TeacherId, UnixMicros};
use crate::store::engine::Engine;
use crate::store::mutation::WriteContext;
use crate::store::page::{open_token, seal_token};
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// A change in a teacher's history, with the record before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeacherRevision {
    pub revision: u64,
    pub kind: ChangeKind,
    pub time: UnixMicros,
    pub principal: String,
    pub request_id: Option<String>,
    /// The record as the change left it.
    pub after: Teacher,
    /// The record before the change; `None` for its creation.
    pub before: Option<Teacher>,
}

/// One page of a teacher's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionPage {
    /// The record as it is now (whose county decides who may read its history).
    pub current: Teacher,
    pub revisions: Vec<TeacherRevision>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// The oldest revision whose state of the record is known: its creation when
    /// `complete`, else the revision it had when this release first changed it.
    pub earliest_revision: u64,
    /// Whether the history reaches back to the record's creation.
    pub complete: bool,
}

/// A teacher as it was at a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedTeacher {
    /// The record as it is now (whose county decides who may be told anything of it).
    pub current: Teacher,
    /// The record as it was at the revision asked for; or why it cannot be told: NOT_FOUND
    /// before its creation, FAILED_PRECONDITION (`HISTORY_NOT_KEPT`) before the earliest
    /// revision its history holds. Kept apart from `current` so a caller checks scope
    /// first: a refusal would otherwise tell another county the record exists.
    pub at: Result<Teacher, DomainError>,
}

/// Stages the revision entry of a change from `before` (`None`: a creation) to `after`.
pub(crate) fn stage_revision(
    staged: &mut Staged<'_>,
    before: Option<&Teacher>,
    after: &Teacher,
    kind: ChangeKind,
    context: &WriteContext,
) -> Result<(), StoreError> {
    let fields = match before {
        None => Vec::new(),
        Some(before) => {
            wire::diff(&body(before), &body(after)).map_err(|detail| corrupt(&after.id, detail))?
        }
    };
    let entry = RevisionEntry {
        teacher_id: after.id.clone(),
        revision: after.revision,
        previous: before.map_or(0, |b| b.revision),
        kind,
        time: after.update_time,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        fields,
    };
    stage_entry(staged, &entry);
    Ok(())
}

/// Stages a stored entry as it is (restores write entries they read from a backup).
pub(crate) fn stage_entry(staged: &mut Staged<'_>, entry: &RevisionEntry) {
    staged.insert(
        keys::history(&entry.teacher_id, entry.revision),
        codec::encode(entry),
    );
}

/// A record's value in the current format, without the format byte.
fn body(teacher: &Teacher) -> Vec<u8> {
    let mut value = codec::encode(teacher);
    value.remove(0);
    value
}

fn decode_body(id: &TeacherId, body: &[u8]) -> Result<Teacher, StoreError> {
    let mut value = Vec::with_capacity(body.len() + 1);
    value.push(codec::FORMAT_VERSION);
    value.extend_from_slice(body);
    codec::decode(&keys::record(id), &value)
}

fn corrupt(id: &TeacherId, detail: String) -> StoreError {
    StoreError::Corrupt {
        key: format!("H{id}"),
        detail,
    }
}

/// A step back through a history: an entry, and the record's encoding after and before it.
struct Link {
    entry: RevisionEntry,
    after: Vec<u8>,
    /// `None` for the creation.
    before: Option<Vec<u8>>,
}

/// A teacher's history as far as it is kept, newest first.
struct Chain {
    current: Teacher,
    links: Vec<Link>,
    complete: bool,
}

impl Chain {
    fn earliest_revision(&self) -> u64 {
        match self.links.last() {
            Some(link) if self.complete => link.entry.revision,
            Some(link) => link.entry.previous,
            None => self.current.revision,
        }
    }
}

/// Reads the record, then its entries, undoing them one by one. Entries newer than the
/// record read (a change committed in between) are passed over: every entry up to the
/// record's revision was written with it or before it.
fn chain<E: Engine>(engine: &E, id: &TeacherId) -> Result<Option<Chain>, StoreError> {
    let record_key = keys::record(id);
    let Some(value) = engine.get(&record_key)? else {
        return Ok(None);
    };
    let current: Teacher = codec::decode(&record_key, &value)?;
    let mut state = body(&current);
    let mut at = current.revision;
    let mut links = Vec::new();
    let mut complete = false;
    for item in engine.scan_prefix(&keys::history_prefix(id))? {
        let (key, value) = item?;
        let entry: RevisionEntry = codec::decode(&key, &value)?;
        if entry.revision > current.revision {
            continue;
        }
        if entry.revision != at {
            break;
        }
        if entry.previous == 0 {
            links.push(Link {
                entry,
                after: state,
                before: None,
            });
            complete = true;
            break;
        }
        let before = wire::undo(&state, &entry.fields)
            .map_err(|detail| corrupt(id, format!("revision {}: {detail}", entry.revision)))?;
        at = entry.previous;
        links.push(Link {
            entry,
            after: std::mem::replace(&mut state, before.clone()),
            before: Some(before),
        });
    }
    Ok(Some(Chain {
        current,
        links,
        complete,
    }))
}

/// The digest a history's page tokens are bound to: the teacher's.
fn token_query(id: &TeacherId) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("history\0{id}").as_bytes());
    digest[..16]
        .try_into()
        .expect("a SHA-256 digest has 32 bytes")
}

pub(crate) fn list<E: Engine>(
    engine: &E,
    secret: &[u8],
    id: &TeacherId,
    page_size: usize,
    page_token: &str,
) -> Result<Option<RevisionPage>, StoreError> {
    let before_revision = match page_token {
        "" => None,
        token => {
            let after = open_token(secret, token_query(id), token)?;
            let bytes: [u8; 8] = after
                .try_into()
                .map_err(|_| DomainError::invalid("page_token", "is not a history token"))?;
            Some(u64::from_be_bytes(bytes))
        }
    };
    let Some(chain) = chain(engine, id)? else {
        return Ok(None);
    };
    let earliest_revision = chain.earliest_revision();
    let complete = chain.complete;
    let mut links = chain
        .links
        .into_iter()
        .filter(|link| before_revision.is_none_or(|r| link.entry.revision < r))
        .peekable();
    let mut revisions = Vec::new();
    while revisions.len() < page_size {
        let Some(link) = links.next() else { break };
        revisions.push(TeacherRevision {
            revision: link.entry.revision,
            kind: link.entry.kind,
            time: link.entry.time,
            after: decode_body(id, &link.after)?,
            before: link
                .before
                .as_deref()
                .map(|b| decode_body(id, b))
                .transpose()?,
            principal: link.entry.principal,
            request_id: link.entry.request_id,
        });
    }
    let next_page_token = match (links.peek(), revisions.last()) {
        (Some(_), Some(last)) => seal_token(
            secret,
            token_query(id),
            last.revision.to_be_bytes().to_vec(),
        ),
        _ => String::new(),
    };
    Ok(Some(RevisionPage {
        current: chain.current,
        revisions,
        next_page_token,
        earliest_revision,
        complete,
    }))
}

/// The record as it was at registry revision `revision`: after the last change made to it
/// at or before that revision (see [`PinnedTeacher::at`] for when it cannot be told).
pub(crate) fn at_revision<E: Engine>(
    engine: &E,
    id: &TeacherId,
    revision: u64,
) -> Result<Option<PinnedTeacher>, StoreError> {
    let Some(chain) = chain(engine, id)? else {
        return Ok(None);
    };
    if revision >= chain.current.revision {
        let at = Ok(chain.current.clone());
        return Ok(Some(PinnedTeacher {
            current: chain.current,
            at,
        }));
    }
    let earliest = chain.earliest_revision();
    let state = chain.links.iter().find_map(|link| {
        if link.entry.revision <= revision {
            Some(Some(&link.after))
        } else if link.entry.previous <= revision {
            // Between the previous change and this one: the state before this one.
            Some(link.before.as_ref())
        } else {
            None
        }
    });
    let at = match state {
        Some(Some(bytes)) => Ok(decode_body(id, bytes)?),
        // Before the creation, or before the earliest revision kept.
        _ if chain.complete => Err(DomainError::NotFound {
            what: "teacher at that revision (it was created later)",
        }),
        _ => Err(DomainError::FailedPrecondition {
            reason: "HISTORY_NOT_KEPT",
            message: format!(
                "this record's history is kept from revision {earliest}: it was written by \
                 an earlier release, which kept no revisions, before that"
            ),
        }),
    };
    Ok(Some(PinnedTeacher {
        current: chain.current,
        at,
    }))
}

/// Stored revision entries read for a backup, and the last key read (`None`: none left).
pub(crate) type EntryBatch = (Vec<Vec<u8>>, Option<Vec<u8>>);

/// Every history entry up to registry revision `until`, after the key `after` (`None`:
/// from the first), at most `limit`, in key order; for backups. Entries never change once
/// written, so the entries up to a snapshot's revision are its history whenever they
/// are read.
pub(crate) fn entries_after<E: Engine>(
    engine: &E,
    after: Option<&[u8]>,
    until: u64,
    limit: usize,
) -> Result<EntryBatch, StoreError> {
    let start = match after {
        Some(key) => {
            let mut key = key.to_vec();
            key.push(0);
            key
        }
        None => vec![keys::HISTORY],
    };
    let mut values = Vec::new();
    let mut last = None;
    for (scanned, item) in engine.range(Included(&start), Unbounded)?.enumerate() {
        let (key, value) = item?;
        if key.first() != Some(&keys::HISTORY) || scanned == limit {
            break;
        }
        if keys::revision_of_history(&key).is_some_and(|r| r <= until) {
            values.push(value.as_ref().to_vec());
        }
        last = Some(key.as_ref().to_vec());
    }
    Ok((values, last))
}

/// Decodes a stored entry read from a backup, for a restore.
pub(crate) fn decode_entry(value: &[u8]) -> Result<RevisionEntry, StoreError> {
    codec::decode(b"backup revision", value)
}

/// The revision of a stored revision entry (as a backup carries it); an error if the
/// bytes are not one.
pub fn revision_of_entry(value: &[u8]) -> Result<u64, StoreError> {
    decode_entry(value).map(|entry| entry.revision)
}
