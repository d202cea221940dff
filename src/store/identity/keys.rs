//! The key spaces of the identity operations, apart from `store::keys` but in the same
//! one ordered key space, under prefixes no other key space uses (upper-case letters:
//! the others are lower-case).

use crate::domain::case::CaseId;
use crate::domain::{TeacherId, TEACHER_ID_LEN};

/// `K` + correction_id → the identity correction.
pub(crate) const CORRECTION: u8 = b'K';

pub(crate) fn correction(id: &CaseId) -> Vec<u8> {
    let mut key = vec![CORRECTION];
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// `N` + block + 0x00 + teacher_id → nothing: the duplicate blocks a record falls in
/// (see [`crate::domain::duplicates::blocks`]). Blocks hold no 0x00 (names in search form
/// and dates do not), so 0x00 ends one.
pub(crate) const BLOCK: u8 = b'N';
/// `P` + teacher_id + teacher_id (lower first) → the candidate pair.
pub(crate) const PAIR: u8 = b'P';

/// The first key of a block's entries.
pub(crate) fn block_prefix(block: &[u8]) -> Vec<u8> {
    let mut key = vec![BLOCK];
    key.extend_from_slice(block);
    key.push(0);
    key
}

pub(crate) fn block_entry(block: &[u8], id: &TeacherId) -> Vec<u8> {
    let mut key = block_prefix(block);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// A block entry's block and registry number.
pub(crate) fn split_block_entry(key: &[u8]) -> Option<(&[u8], TeacherId)> {
    let rest = key.strip_prefix(&[BLOCK])?;
    let at = rest.len().checked_sub(TEACHER_ID_LEN + 1)?;
    let (block, end) = rest.split_at(at);
    let id = end.strip_prefix(&[0])?;
    Some((block, TeacherId::parse(std::str::from_utf8(id).ok()?).ok()?))
}

/// The registry number at the end of a block entry.
pub(crate) fn teacher_at_end(key: &[u8]) -> Option<TeacherId> {
    split_block_entry(key).map(|(_, id)| id)
}

pub(crate) fn pair(first: &TeacherId, second: &TeacherId) -> Vec<u8> {
    let mut key = vec![PAIR];
    key.extend_from_slice(first.as_str().as_bytes());
    key.extend_from_slice(second.as_str().as_bytes());
    key
}

/// `M` + teacher_id → the merge that retired this number (a [`MergeRecord`]), kept for
/// good: the number answers the survivor while the merge stands, and is never given to
/// another record (see `mutation::unused_teacher_id`).
///
/// [`MergeRecord`]: crate::domain::merge::MergeRecord
pub(crate) const MERGE: u8 = b'M';

pub(crate) fn merge(id: &TeacherId) -> Vec<u8> {
    let mut key = vec![MERGE];
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The block index entries of a record.
pub(crate) fn block_entries(teacher: &crate::domain::Teacher) -> Vec<(Vec<u8>, Vec<u8>)> {
    crate::domain::duplicates::blocks(teacher)
        .iter()
        .map(|block| (block_entry(block, &teacher.id), Vec::new()))
        .collect()
}
