//! Identity documents: the registry's natural key ("one person, one number").
//!
//! Resident identity card numbers (GB 11643-1999) are fully validated: 18 characters,
//! a real birth date that is not in the future, and the ISO 7064 MOD 11-2 check character.
//! Other document types are validated only as far as their format is certain; the rest is
//! recorded as given (upper-cased).
//!
//! Identity numbers are sensitive personal information. `IdentityDocument` therefore
//! prints masked in both `Display` and `Debug` (`110105********002X`), so a log line or an
//! error message cannot leak a full number by accident; `number()` is the only way to the
//! clear text.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::domain::Gender;

/// The kind of identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdDocumentType {
    ResidentIdCard,
    Passport,
    HkMacaoPermit,
    TaiwanPermit,
    Other,
}

impl IdDocumentType {
    pub const ALL: [IdDocumentType; 5] = [
        Self::ResidentIdCard,
        Self::Passport,
        Self::HkMacaoPermit,
        Self::TaiwanPermit,
        Self::Other,
    ];

    /// A stable one-byte code used in storage keys.
    pub fn code(self) -> u8 {
        match self {
            Self::ResidentIdCard => 1,
            Self::Passport => 2,
            Self::HkMacaoPermit => 3,
            Self::TaiwanPermit => 4,
            Self::Other => 5,
        }
    }
}

/// A validated identity document: type and normalised number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdentityDocument {
    doc_type: IdDocumentType,
    number: String,
}

const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK: [u8; 11] = *b"10X98765432";

impl IdentityDocument {
    /// Validates `raw` as a document of `doc_type`; `today` bounds birth dates.
    /// The error is a description fit for a field violation (it never repeats the number).
    pub fn parse(doc_type: IdDocumentType, raw: &str, today: NaiveDate) -> Result<Self, String> {
        let number = raw.trim().to_ascii_uppercase();
        if number.is_empty() {
            return Err("is required".into());
        }
        match doc_type {
            IdDocumentType::ResidentIdCard => validate_resident(&number, today)?,
            IdDocumentType::Passport => validate_alnum(&number, 5, 20)?,
            IdDocumentType::HkMacaoPermit => validate_hk_macao(&number)?,
            IdDocumentType::TaiwanPermit => validate_alnum(&number, 8, 10)?,
            IdDocumentType::Other => validate_other(&number)?,
        }
        Ok(Self { doc_type, number })
    }

    /// A document read back from storage, checked when it was first written. Not for
    /// input: that goes through [`IdentityDocument::parse`].
    pub fn from_stored(doc_type: IdDocumentType, number: String) -> Self {
        Self { doc_type, number }
    }

    pub fn doc_type(&self) -> IdDocumentType {
        self.doc_type
    }

    /// The full number in clear text. Never log it.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The number with its middle hidden, safe to show and log.
    pub fn masked(&self) -> String {
        mask(&self.number, self.doc_type)
    }

    /// The number as a reader sees it: too little of it to rebuild. See [`conceal`].
    pub fn concealed(&self) -> String {
        conceal(&self.number, self.doc_type)
    }

    /// The birth date encoded in a resident identity card number.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        match self.doc_type {
            IdDocumentType::ResidentIdCard => parse_yyyymmdd(&self.number[6..14]),
            _ => None,
        }
    }

    /// The sex encoded in a resident identity card number (odd sequence = male).
    pub fn gender(&self) -> Option<Gender> {
        match self.doc_type {
            IdDocumentType::ResidentIdCard => {
                let digit = self.number.as_bytes()[16] - b'0';
                Some(if digit % 2 == 1 {
                    Gender::Male
                } else {
                    Gender::Female
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for IdentityDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdentityDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IdentityDocument({:?}, {})",
            self.doc_type,
            self.masked()
        )
    }
}

/// Masks an identity number: a resident card keeps its 6-digit address code and last 4
/// characters (`110105********002X`); other documents keep the first and last 2.
pub fn mask(number: &str, doc_type: IdDocumentType) -> String {
    let chars: Vec<char> = number.chars().collect();
    let (head, tail) = match doc_type {
        IdDocumentType::ResidentIdCard if chars.len() == 18 => (6, 4),
        _ if chars.len() >= 6 => (2, 2),
        _ => (0, 0),
    };
    star_between(&chars, head, tail)
}

/// What a reader sees of an identity number: a resident card keeps only its province
/// (first 2 digits) and last 2 characters (`11**************2X`); other documents only
/// their last 2 (`*******78`).
///
/// [`mask`] keeps the address code and the sequence digits and hides exactly the 8 birth
/// digits; a view that also shows the birth date in clear gives the whole number back.
/// Here the hidden part is the county of birth, the birth date (readers see its year
/// only), and the first sequence digits: with the check digit, some 10^5 numbers fit one
/// concealed form, and a reader may not look numbers up to tell which is right.
pub fn conceal(number: &str, doc_type: IdDocumentType) -> String {
    let chars: Vec<char> = number.chars().collect();
    let (head, tail) = match doc_type {
        IdDocumentType::ResidentIdCard if chars.len() == 18 => (2, 2),
        _ if chars.len() >= 6 => (0, 2),
        _ => (0, 0),
    };
    star_between(&chars, head, tail)
}

/// `chars` with all but the first `head` and the last `tail` starred.
fn star_between(chars: &[char], head: usize, tail: usize) -> String {
    let hidden = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', hidden));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// The GB 11643-1999 check character of the first 17 digits.
pub fn resident_check_character(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(RESIDENT_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    RESIDENT_CHECK[(sum % 11) as usize] as char
}

fn validate_resident(number: &str, today: NaiveDate) -> Result<(), String> {
    let bytes = number.as_bytes();
    if number.chars().count() != 18 {
        return Err(format!(
            "a resident identity card number has 18 characters, got {}",
            number.chars().count()
        ));
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err("the first 17 characters must be digits".into());
    }
    let last = bytes[17];
    if !(last.is_ascii_digit() || last == b'X') {
        return Err("the last character must be a digit or X".into());
    }
    let birth = parse_yyyymmdd(&number[6..14])
        .ok_or_else(|| "characters 7-14 are not a real birth date (YYYYMMDD)".to_string())?;
    if birth > today {
        return Err("the birth date in the number is in the future".into());
    }
    if birth.year() < 1900 {
        return Err("the birth date in the number is before 1900".into());
    }
    if resident_check_character(&bytes[..17]) != last as char {
        return Err(
            "check character does not match (GB 11643-1999): the number is mistyped".into(),
        );
    }
    Ok(())
}

fn validate_alnum(number: &str, min: usize, max: usize) -> Result<(), String> {
    let len = number.chars().count();
    if !(min..=max).contains(&len) {
        return Err(format!("must be {min}-{max} characters, got {len}"));
    }
    if !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("may contain only letters and digits".into());
    }
    Ok(())
}

/// Mainland travel permits for Hong Kong and Macao residents: `H` or `M`, then 8 or 10 digits.
fn validate_hk_macao(number: &str) -> Result<(), String> {
    let bytes = number.as_bytes();
    let digits = &bytes[1..];
    if !matches!(bytes[0], b'H' | b'M')
        || !(digits.len() == 8 || digits.len() == 10)
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return Err("must be H or M followed by 8 or 10 digits".into());
    }
    Ok(())
}

fn validate_other(number: &str) -> Result<(), String> {
    let len = number.chars().count();
    if !(2..=32).contains(&len) {
        return Err(format!("must be 2-32 characters, got {len}"));
    }
    if !number
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
    {
        return Err("may contain only letters, digits, '-' and '/'".into());
    }
    Ok(())
}

fn parse_yyyymmdd(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn resident(number: &str) -> Result<IdentityDocument, String> {
        IdentityDocument::parse(IdDocumentType::ResidentIdCard, number, today())
    }

    #[test]
    fn worked_example_is_valid() {
        let doc = resident("11010519491231002X").unwrap();
        assert_eq!(doc.number(), "11010519491231002X");
        assert_eq!(doc.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(doc.gender(), Some(Gender::Female));
    }

    #[test]
    fn lower_case_x_is_accepted_and_stored_upper_case() {
        assert_eq!(
            resident("11010519491231002x").unwrap().number(),
            "11010519491231002X"
        );
    }

    #[test]
    fn every_wrong_check_character_is_refused() {
        for c in "0123456789".chars() {
            let err = resident(&format!("11010519491231002{c}")).unwrap_err();
            assert!(err.contains("check character"), "{c}: {err}");
        }
    }

    #[test]
    fn malformed_resident_numbers_say_why() {
        assert!(resident("1101051949123100")
            .unwrap_err()
            .contains("18 characters"));
        assert!(resident("1101051949123100AX")
            .unwrap_err()
            .contains("digits"));
        assert!(resident("11010519490231002X")
            .unwrap_err()
            .contains("real birth date"));
        assert!(resident("110105203001010011")
            .unwrap_err()
            .contains("future"));
        assert!(resident("").unwrap_err().contains("required"));
    }

    #[test]
    fn masking_hides_the_middle() {
        let doc = resident("11010519491231002X").unwrap();
        assert_eq!(doc.masked(), "110105********002X");
        assert_eq!(doc.to_string(), "110105********002X");
        assert!(!format!("{doc:?}").contains("19491231"));
        assert_eq!(mask("E12345678", IdDocumentType::Passport), "E1*****78");
        assert_eq!(mask("AB1", IdDocumentType::Other), "***");
    }

    #[test]
    fn concealing_hides_the_birth_date_and_the_county_of_birth() {
        let doc = resident("11010519491231002X").unwrap();
        assert_eq!(doc.concealed(), "11**************2X");
        assert_eq!(conceal("E12345678", IdDocumentType::Passport), "*******78");
        assert_eq!(conceal("AB1", IdDocumentType::Other), "***");
    }

    #[test]
    fn other_document_types() {
        let p = |t, n: &str| IdentityDocument::parse(t, n, today());
        assert!(p(IdDocumentType::Passport, "e12345678").is_ok());
        assert!(p(IdDocumentType::Passport, "E1234").is_ok());
        assert!(p(IdDocumentType::Passport, "E12-45678").is_err());
        assert!(p(IdDocumentType::HkMacaoPermit, "H12345678").is_ok());
        assert!(p(IdDocumentType::HkMacaoPermit, "M1234567890").is_ok());
        assert!(p(IdDocumentType::HkMacaoPermit, "X12345678").is_err());
        assert!(p(IdDocumentType::HkMacaoPermit, "H1234567").is_err());
        assert!(p(IdDocumentType::TaiwanPermit, "12345678").is_ok());
        assert!(p(IdDocumentType::TaiwanPermit, "1234567").is_err());
        assert!(p(IdDocumentType::Other, "AB-12/3").is_ok());
        assert!(p(IdDocumentType::Other, "A B").is_err());
    }

    fn valid_resident_number() -> impl Strategy<Value = String> {
        (
            110000u32..660000,
            (1940i32..2005, 1u32..13, 1u32..29),
            0u32..1000,
        )
            .prop_map(|(area, (y, m, d), seq)| {
                let first17 = format!("{area:06}{y:04}{m:02}{d:02}{seq:03}");
                let check = resident_check_character(first17.as_bytes());
                format!("{first17}{check}")
            })
    }

    proptest! {
        #[test]
        fn generated_valid_numbers_pass(number in valid_resident_number()) {
            prop_assert!(resident(&number).is_ok());
        }

        #[test]
        fn any_single_digit_change_is_refused(number in valid_resident_number(), pos in 0usize..17, delta in 1u8..10) {
            let mut bytes = number.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert!(resident(&String::from_utf8(bytes).unwrap()).is_err());
        }

        #[test]
        fn parse_never_panics(kind in 0usize..5, s in "\\PC{0,40}") {
            let _ = IdentityDocument::parse(IdDocumentType::ALL[kind], &s, today());
        }
    }
}
