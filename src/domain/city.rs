//! Prefecture-level divisions (cities), for principals who work above the county: the
//! city bureau that decides two-level certifications forwarded by its counties.

use std::fmt;

use crate::domain::CountyCode;

/// A six-digit GB/T 2260 prefecture-level code, such as `350700` (Nanping): a province
/// code, two digits for the prefecture, then `00`. Its counties are the county codes
/// with the same first four digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CityCode(String);

impl CityCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a 6-digit GB/T 2260 division code".into());
        }
        if !code.ends_with("00") || code.ends_with("0000") {
            return Err(
                "is not a prefecture-level code (digits 5-6 are 00, digits 3-4 not)".into(),
            );
        }
        // A county code of the city must exist for the province to be real.
        CountyCode::parse(&format!("{}01", &code[..4]))?;
        Ok(Self(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `county` is one of this city's counties.
    pub fn contains(&self, county: &CountyCode) -> bool {
        county.as_str().starts_with(&self.0[..4])
    }
}

impl fmt::Display for CityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_holds_its_counties_only() {
        let nanping = CityCode::parse("350700").unwrap();
        assert!(nanping.contains(&CountyCode::parse("350702").unwrap()));
        assert!(nanping.contains(&CountyCode::parse("350781").unwrap()));
        assert!(!nanping.contains(&CountyCode::parse("350102").unwrap()));
        assert!(CityCode::parse("350702").is_err(), "a county");
        assert!(CityCode::parse("350000").is_err(), "a province");
        assert!(CityCode::parse("990700").is_err(), "no such province");
    }
}
