//! The key spaces of the identity operations, apart from `store::keys` but in the same
//! one ordered key space, under prefixes no other key space uses (upper-case letters:
//! the others are lower-case).

use crate::domain::case::CaseId;

/// `K` + correction_id → the identity correction.
pub(crate) const CORRECTION: u8 = b'K';

pub(crate) fn correction(id: &CaseId) -> Vec<u8> {
    let mut key = vec![CORRECTION];
    key.extend_from_slice(id.as_str().as_bytes());
    key
}
