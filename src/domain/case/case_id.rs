//! Case numbers (`case_id`): `C`, ten random symbols and a check character, built and
//! checked exactly as registry numbers are (see [`crate::domain::TeacherId`]), so a
//! mistyped case number on a receipt is refused as malformed, never answered as unknown.
//! Random rather than sequential: a number read out at the window says nothing about how
//! many cases the bureau has.

use crate::domain::teacher_id::{checked_number, TEACHER_ID_LEN};

const PREFIX: char = 'C';
/// As long as a registry number: the two share their form.
pub const CASE_ID_LEN: usize = TEACHER_ID_LEN;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseId(String);

/// Why a string is not a case number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseIdError {
    #[error("must be {CASE_ID_LEN} characters, got {0}")]
    Length(usize),
    #[error("must start with 'C'")]
    Prefix,
    #[error("character {0:?} at position {1} is not in the case number alphabet")]
    Alphabet(char, usize),
    #[error("check character does not match: the number is mistyped")]
    Check,
}

checked_number!(CaseId, CaseIdError, prefix: PREFIX, named: "case number");

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_numbers_parse_back_and_typos_are_caught() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let id = CaseId::generate(&mut rng);
            assert_eq!(CaseId::parse(&id.as_str().to_lowercase()), Ok(id.clone()));
            let mut swapped = id.as_str().as_bytes().to_vec();
            if swapped[4] != swapped[5] {
                swapped.swap(4, 5);
                let swapped = String::from_utf8(swapped).unwrap();
                assert_eq!(CaseId::parse(&swapped), Err(CaseIdError::Check));
            }
        }
        assert_eq!(CaseId::parse("T7KQ2M9XD4AR"), Err(CaseIdError::Prefix));
        assert_eq!(CaseId::parse("C123"), Err(CaseIdError::Length(4)));
    }
}
