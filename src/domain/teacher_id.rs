//! Registry numbers (`teacher_id`): one per person, for life.
//!
//! # Format
//! `T` followed by ten random symbols of Crockford's base-32 alphabet
//! (`0-9 A-Z` without `I L O U`) and one check character, twelve characters in all, for
//! example `T7KQ2M9XD4AR`. The ten symbols are drawn from the operating system's random
//! source when the record is created (50 bits, about 10^15 numbers), so a number says
//! nothing about the person, the county or how many teachers the registry holds; a clash
//! with an existing number is detected by the write path and a new number drawn.
//!
//! The check character is a Damm check over the same 32 symbols: the quasigroup
//! `x∘y = 2x + y` in GF(32) (modulus `x^5 + x^2 + 1`), which is totally anti-symmetric.
//! It therefore catches every single mistyped character and every swap of two adjacent
//! characters, the check character included, so such a number is refused as malformed
//! instead of answered as unknown. (ISO 7064 MOD 37,36 was tried first and misses some
//! swaps with the check character.) Input is case-insensitive and stored upper-case.

use rand::Rng;

const PREFIX: char = 'T';
const BODY_LEN: usize = 10;
/// Total length: prefix, body and check character.
pub const TEACHER_ID_LEN: usize = 1 + BODY_LEN + 1;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A well-formed registry number. Decoding checks it too, so a damaged stored number is
/// an error, never a malformed id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeacherId(String);

impl From<TeacherId> for String {
    fn from(id: TeacherId) -> String {
        id.0
    }
}

/// Why a string is not a registry number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeacherIdError {
    #[error("must be {TEACHER_ID_LEN} characters, got {0}")]
    Length(usize),
    #[error("must start with 'T'")]
    Prefix,
    #[error("character {0:?} at position {1} is not in the registry number alphabet")]
    Alphabet(char, usize),
    #[error("check character does not match: the number is mistyped")]
    Check,
}

/// How a checked number (a prefix letter, ten symbols, a check character: registry and
/// case numbers alike) is malformed; each number type names it in its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    Length(usize),
    Prefix,
    Alphabet(char, usize),
    Check,
}

/// A fresh random number with `prefix`.
pub(crate) fn generate_number<R: Rng + ?Sized>(prefix: char, rng: &mut R) -> String {
    let body: String = (0..BODY_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let check = check_character(body.as_bytes());
    format!("{prefix}{body}{check}")
}

/// User input as a number with `prefix`: trimmed, upper-cased, alphabet and check
/// character checked.
pub(crate) fn parse_number(prefix: char, input: &str) -> Result<String, Malformed> {
    let id = input.trim().to_ascii_uppercase();
    let count = id.chars().count();
    if count != TEACHER_ID_LEN {
        return Err(Malformed::Length(count));
    }
    if !id.starts_with(prefix) {
        return Err(Malformed::Prefix);
    }
    let symbols = &id.as_bytes()[1..];
    for (i, &b) in symbols.iter().enumerate() {
        if !ALPHABET.contains(&b) {
            return Err(Malformed::Alphabet(b as char, i + 2));
        }
    }
    if damm(symbols) != 0 {
        return Err(Malformed::Check);
    }
    Ok(id)
}

/// What every checked number type has alike, given the newtype over its canonical
/// `String` (`$number`), its error enum of the four [`Malformed`] cases (`$error`), its
/// prefix letter and its name in messages: drawing and parsing a number, `as_str`,
/// `TryFrom<String>` accepting only the canonical form (stored numbers are canonical),
/// `Display` as the number and `Debug` as `$number(…)`. A macro because the two types
/// (registry and case numbers) differ only in these four names.
macro_rules! checked_number {
    ($number:ident, $error:ident, prefix: $prefix:expr, named: $named:literal) => {
        impl From<$crate::domain::teacher_id::Malformed> for $error {
            fn from(malformed: $crate::domain::teacher_id::Malformed) -> Self {
                use $crate::domain::teacher_id::Malformed;
                match malformed {
                    Malformed::Length(n) => Self::Length(n),
                    Malformed::Prefix => Self::Prefix,
                    Malformed::Alphabet(c, at) => Self::Alphabet(c, at),
                    Malformed::Check => Self::Check,
                }
            }
        }

        impl $number {
            /// Draws a fresh random number.
            pub fn generate<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
                Self($crate::domain::teacher_id::generate_number($prefix, rng))
            }

            /// Parses user input: trims, upper-cases, checks alphabet and check character.
            pub fn parse(input: &str) -> Result<Self, $error> {
                Ok(Self($crate::domain::teacher_id::parse_number(
                    $prefix, input,
                )?))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $number {
            type Error = String;

            /// Only the canonical form (as `parse` returns it) is accepted.
            fn try_from(raw: String) -> Result<Self, String> {
                match $number::parse(&raw) {
                    Ok(id) if id.0 == raw => Ok(id),
                    Ok(_) => Err(format!("{} {raw:?} is not in canonical form", $named)),
                    Err(e) => Err(format!("{} {raw:?}: {e}", $named)),
                }
            }
        }

        impl std::fmt::Display for $number {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $number {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($number), self.0)
            }
        }
    };
}

pub(crate) use checked_number;

checked_number!(TeacherId, TeacherIdError, prefix: PREFIX, named: "registry number");

/// The Damm interim value of `symbols`: zero exactly when a number ends in its check.
fn damm(symbols: &[u8]) -> u8 {
    symbols
        .iter()
        .fold(0, |interim, &b| combine(interim, symbol_value(b)))
}

/// The quasigroup operation `x∘y = 2x + y` over GF(32).
fn combine(x: u8, y: u8) -> u8 {
    times_two(x) ^ y
}

/// Multiplication by 2 in GF(32) with the primitive modulus `x^5 + x^2 + 1`.
fn times_two(x: u8) -> u8 {
    let shifted = x << 1;
    if shifted & 0x20 != 0 {
        shifted ^ 0x25
    } else {
        shifted
    }
}

fn symbol_value(b: u8) -> u8 {
    ALPHABET
        .iter()
        .position(|&c| c == b)
        .expect("symbols are checked against the alphabet first") as u8
}

/// The check character that brings the Damm interim value of `body` to zero.
fn check_character(body: &[u8]) -> char {
    // interim∘c = 2·interim + c = 0  ⇔  c = 2·interim (addition is XOR).
    ALPHABET[times_two(damm(body)) as usize] as char
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn sample() -> TeacherId {
        TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(7))
    }

    #[test]
    fn generated_numbers_parse_back() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let id = TeacherId::generate(&mut rng);
            assert_eq!(TeacherId::parse(id.as_str()), Ok(id.clone()));
            assert_eq!(TeacherId::parse(&id.as_str().to_lowercase()), Ok(id));
        }
    }

    #[test]
    fn the_quasigroup_is_totally_anti_symmetric() {
        for c in 0..32 {
            for x in 0..32 {
                for y in 0..32 {
                    if x != y {
                        assert_ne!(combine(combine(c, x), y), combine(combine(c, y), x));
                        assert_ne!(combine(c, x), combine(c, y));
                    }
                }
            }
        }
    }

    #[test]
    fn every_single_substitution_is_caught() {
        let id = sample();
        let bytes = id.as_str().as_bytes().to_vec();
        for pos in 1..TEACHER_ID_LEN {
            for &c in ALPHABET {
                if c == bytes[pos] {
                    continue;
                }
                let mut typo = bytes.clone();
                typo[pos] = c;
                let typo = String::from_utf8(typo).unwrap();
                assert!(TeacherId::parse(&typo).is_err(), "{typo} accepted");
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let id = TeacherId::generate(&mut rng);
            let bytes = id.as_str().as_bytes().to_vec();
            for pos in 1..TEACHER_ID_LEN - 1 {
                if bytes[pos] == bytes[pos + 1] {
                    continue;
                }
                let mut swapped = bytes.clone();
                swapped.swap(pos, pos + 1);
                let swapped = String::from_utf8(swapped).unwrap();
                assert!(TeacherId::parse(&swapped).is_err(), "{swapped} accepted");
            }
        }
    }

    #[test]
    fn malformed_numbers_say_why() {
        assert_eq!(TeacherId::parse(""), Err(TeacherIdError::Length(0)));
        assert_eq!(
            TeacherId::parse("X7KQ2M9XD4AR"),
            Err(TeacherIdError::Prefix)
        );
        assert_eq!(
            TeacherId::parse("T7KQ2M9XD4IR"),
            Err(TeacherIdError::Alphabet('I', 11))
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = TeacherId::parse(&s);
        }
    }
}
