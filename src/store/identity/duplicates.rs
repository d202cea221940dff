//! Duplicate candidates in the store (see [`crate::domain::duplicates`]).
//!
//! Every record has an entry in the block index ([`keys::BLOCK`]) for each block it falls
//! in, kept by the write path with its other index entries (so `verify` checks them). A
//! pair is found two ways:
//! - **as records are written**: a create, an update or an import row reads the committed
//!   entries of each block the record newly falls in and stages a candidate for each other
//!   record that [`CandidatePair::of`] accepts, in the same atomic write. Records written in
//!   the same group of the writer do not see each other's entries: the full pass finds
//!   those.
//! - **by the full pass** ([`full_pass`]): one scan of the block index in key order, a block
//!   at a time, so it holds one block and one batch of new pairs in memory, whatever the
//!   registry's size; the new pairs are written through the writer in batches.
//!
//! A pair is stored once ([`keys::PAIR`]), never removed: a reviewer's dismissal is kept
//! on it, and a dismissed pair is never staged or listed again.

use std::ops::Bound;

use crate::domain::duplicates::{self, CandidatePair, Dismissal};
use crate::domain::{DomainError, Teacher, TeacherId};
use crate::store::engine::Engine;
use crate::store::identity::keys;
use crate::store::mutation::{load_teacher, WriteContext};
use crate::store::writer::Staged;
use crate::store::{codec, StoreError};

/// Most records of one block compared: a block this full is a namesake cluster (or
/// damage), and comparing all of it would cost the square of its size.
pub(crate) const MAX_BLOCK: usize = 64;

/// Stages a candidate for `after` and each committed record sharing a block it newly
/// falls in (all its blocks for a new record).
pub(crate) fn find_for(
    staged: &mut Staged<'_>,
    before: Option<&Teacher>,
    after: &Teacher,
) -> Result<(), StoreError> {
    let old = before.map(duplicates::blocks).unwrap_or_default();
    for block in duplicates::blocks(after) {
        if old.contains(&block) {
            continue;
        }
        let start = keys::block_prefix(&block);
        let mut end = start.clone();
        end.push(0xff);
        for key in staged.committed_keys(&start, &end, MAX_BLOCK)? {
            let Some(other) = keys::teacher_at_end(&key) else {
                continue;
            };
            if other == after.id {
                continue;
            }
            // A record merged away or otherwise gone leaves nothing to pair with.
            let Ok(other) = load_teacher(staged, &other) else {
                continue;
            };
            if let Some(pair) = CandidatePair::of(after, &other) {
                stage_if_new(staged, &pair)?;
            }
        }
    }
    Ok(())
}

/// Stages `pair` unless it is stored already (found before, or dismissed).
pub(crate) fn stage_if_new(
    staged: &mut Staged<'_>,
    pair: &CandidatePair,
) -> Result<bool, StoreError> {
    let key = keys::pair(&pair.first, &pair.second);
    if staged.contains(&key)? {
        return Ok(false);
    }
    staged.insert(key, codec::encode(pair));
    Ok(true)
}

/// Marks a pair not the same person. NOT_FOUND for a pair never found, or with a
/// record the caller may not see; a pair dismissed before stays as it was.
pub(crate) fn dismiss(
    staged: &mut Staged<'_>,
    pair: (&TeacherId, &TeacherId),
    note: &str,
    context: &WriteContext,
) -> Result<(), StoreError> {
    // A retired number is answered as every write answers it (TEACHER_MERGED to those
    // who see the survivor); any other miss is the pair's, below.
    for id in [pair.0, pair.1] {
        if let Err(merged @ StoreError::Rejected(DomainError::TeacherMerged { .. })) =
            super::retired::addressed(staged, id, context)
        {
            return Err(merged);
        }
    }
    let (first, second) = duplicates::ordered(pair.0, pair.1);
    let key = keys::pair(&first, &second);
    let mut stored: CandidatePair = match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes)?,
        None => return Err(not_found()),
    };
    for id in [&first, &second] {
        if let Ok(teacher) = load_teacher(staged, id) {
            if !context.in_scope(&teacher.fields.county_code) {
                return Err(not_found());
            }
        }
    }
    if stored.dismissal.is_some() {
        return Ok(());
    }
    if note.trim().is_empty() {
        return Err(DomainError::invalid("note", "is required: why they are two people").into());
    }
    stored.dismissal = Some(Dismissal {
        by: context.principal.clone(),
        at: crate::clock::now(),
        note: note.trim().to_string(),
    });
    staged.insert(key, codec::encode(&stored));
    Ok(())
}

fn not_found() -> StoreError {
    DomainError::NotFound {
        what: "duplicate candidate",
    }
    .into()
}

/// A listed candidate: the pair with both records as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pair: CandidatePair,
    pub first: Teacher,
    pub second: Teacher,
}

/// One page of candidates not dismissed whose records both exist, with a record in
/// `county` if given, after the pair key `after`; and the key to continue after, if
/// there may be more.
pub(crate) fn list<E: Engine>(
    engine: &E,
    county: Option<&crate::domain::CountyCode>,
    page_size: usize,
    after: Option<Vec<u8>>,
) -> Result<(Vec<Candidate>, Option<Vec<u8>>), StoreError> {
    let from = match after {
        Some(key) => Bound::Excluded(key),
        None => Bound::Included(vec![keys::PAIR]),
    };
    let end = Bound::Excluded(vec![keys::PAIR + 1]);
    let mut found = Vec::new();
    let mut previous: Option<Vec<u8>> = None;
    for (scanned, entry) in engine
        .range(
            from.as_ref().map(Vec::as_slice),
            end.as_ref().map(Vec::as_slice),
        )?
        .enumerate()
    {
        let (key, value) = entry?;
        if let Some(previous) = previous
            .as_ref()
            .filter(|_| found.len() >= page_size || scanned == crate::store::page::MAX_SCANNED)
        {
            return Ok((found, Some(previous.clone())));
        }
        previous = Some(key.to_vec());
        let pair: CandidatePair = codec::decode(&key, &value)?;
        if pair.dismissal.is_some() {
            continue;
        }
        let (Some(first), Some(second)) = (read(engine, &pair.first)?, read(engine, &pair.second)?)
        else {
            continue;
        };
        let touches = county
            .is_none_or(|c| first.fields.county_code == *c || second.fields.county_code == *c);
        if touches {
            found.push(Candidate {
                pair,
                first,
                second,
            });
        }
    }
    Ok((found, None))
}

fn read<E: Engine>(engine: &E, id: &TeacherId) -> Result<Option<Teacher>, StoreError> {
    let key = crate::store::keys::record(id);
    match engine.get(&key)? {
        Some(bytes) => Ok(Some(codec::decode(&key, &bytes)?)),
        None => Ok(None),
    }
}

/// The full pass: every pair of records sharing a block that is not stored yet, a block
/// at a time, handed to `write` in batches of at most `batch` pairs. Answers how many
/// blocks it read and how many pairs it found.
pub(crate) fn full_pass<E: Engine>(
    engine: &E,
    batch: usize,
    mut write: impl FnMut(Vec<CandidatePair>) -> Result<(), StoreError>,
) -> Result<PassFigures, StoreError> {
    let mut figures = PassFigures::default();
    let mut pending = Vec::new();
    let mut block: Option<Vec<u8>> = None;
    let mut members: Vec<TeacherId> = Vec::new();
    let flush_block = |members: &mut Vec<TeacherId>,
                       pending: &mut Vec<CandidatePair>,
                       figures: &mut PassFigures|
     -> Result<(), StoreError> {
        figures.blocks += 1;
        if members.len() > 1 {
            let records: Vec<Teacher> = members
                .iter()
                .filter_map(|id| read(engine, id).transpose())
                .collect::<Result<_, _>>()?;
            for (i, a) in records.iter().enumerate() {
                for b in &records[i + 1..] {
                    let Some(pair) = CandidatePair::of(a, b) else {
                        continue;
                    };
                    if engine
                        .get(&keys::pair(&pair.first, &pair.second))?
                        .is_none()
                        && !pending.iter().any(|p: &CandidatePair| {
                            p.first == pair.first && p.second == pair.second
                        })
                    {
                        figures.found += 1;
                        pending.push(pair);
                    }
                }
            }
        }
        members.clear();
        Ok(())
    };
    for entry in engine.scan_prefix(&[keys::BLOCK])? {
        let (key, _) = entry?;
        figures.entries += 1;
        let Some((this_block, id)) = keys::split_block_entry(&key) else {
            continue;
        };
        if block.as_deref() != Some(this_block) {
            flush_block(&mut members, &mut pending, &mut figures)?;
            block = Some(this_block.to_vec());
        }
        if members.len() < MAX_BLOCK {
            members.push(id);
        }
        if pending.len() >= batch {
            write(std::mem::take(&mut pending))?;
        }
    }
    flush_block(&mut members, &mut pending, &mut figures)?;
    if !pending.is_empty() {
        write(pending)?;
    }
    Ok(figures)
}

/// What a full pass read and found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassFigures {
    pub entries: u64,
    pub blocks: u64,
    pub found: u64,
}
