//! Case numbers (`case_id`): `C`, ten random symbols and a check character, built and
//! checked exactly as registry numbers are (see [`crate::domain::TeacherId`]), so a
//! mistyped case number on a receipt is refused as malformed, never answered as unknown.
//! Random rather than sequential: a number read out at the window says nothing about how
//! many cases the bureau has.

use std::fmt;

use rand::Rng;

use crate::domain::teacher_id::{generate_number, parse_number, Malformed, TEACHER_ID_LEN};

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

impl From<Malformed> for CaseIdError {
    fn from(malformed: Malformed) -> Self {
        match malformed {
            Malformed::Length(n) => Self::Length(n),
            Malformed::Prefix => Self::Prefix,
            Malformed::Alphabet(c, at) => Self::Alphabet(c, at),
            Malformed::Check => Self::Check,
        }
    }
}

impl CaseId {
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self(generate_number(PREFIX, rng))
    }

    /// Parses user input: trims, upper-cases, checks alphabet and check character.
    pub fn parse(input: &str) -> Result<Self, CaseIdError> {
        Ok(Self(parse_number(PREFIX, input)?))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CaseId {
    type Error = String;

    /// Only the canonical form is accepted (stored numbers are canonical).
    fn try_from(raw: String) -> Result<Self, String> {
        match CaseId::parse(&raw) {
            Ok(id) if id.0 == raw => Ok(id),
            Ok(_) => Err(format!("case number {raw:?} is not in canonical form")),
            Err(e) => Err(format!("case number {raw:?}: {e}")),
        }
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseId({})", self.0)
    }
}

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
