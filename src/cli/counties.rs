//! County names for reports, by their GB/T 2260 code: `stats` prints `350702 延平区`
//! where the registry itself stores only the code.
//!
//! The registry does not carry the national table (about 2,800 counties, renamed and
//! renumbered every year or two): it knows the counties of its own samples, tests and
//! generator, and an operator gives the rest, or newer names, in a CSV file of `code,name`
//! rows (`--county-names FILE`, or `TEACHER_REGISTRY_COUNTY_NAMES`), UTF-8 or GBK as
//! spreadsheet software saves it. A code without a name is printed alone.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};

/// The counties the project's samples use (Nanping's, those of the README and tests),
/// with their GB/T 2260 names.
const KNOWN: [(&str, &str); 14] = [
    ("110101", "东城区"),
    ("110105", "朝阳区"),
    ("350102", "鼓楼区"),
    ("350700", "南平市"),
    ("350702", "延平区"),
    ("350703", "建阳区"),
    ("350721", "顺昌县"),
    ("350722", "浦城县"),
    ("350723", "光泽县"),
    ("350724", "松溪县"),
    ("350725", "政和县"),
    ("350781", "邵武市"),
    ("350782", "武夷山市"),
    ("350783", "建瓯市"),
];

/// County names by code.
#[derive(Debug, Clone)]
pub struct CountyNames(BTreeMap<String, String>);

impl CountyNames {
    /// The names this release carries.
    pub fn known() -> CountyNames {
        let names = KNOWN.iter().map(|(c, n)| (c.to_string(), n.to_string()));
        CountyNames(names.collect())
    }

    /// The names this release carries, with those of the CSV file at `path` (`code,name`
    /// rows; a header row is allowed) added or replacing them. Fails on a file that cannot
    /// be read or a row whose code is not six digits.
    pub fn with_file(path: &Path) -> anyhow::Result<CountyNames> {
        let mut names = CountyNames::known();
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => encoding_rs::GBK.decode(e.as_bytes()).0.into_owned(),
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for (n, record) in reader.records().enumerate() {
            let line = n + 1;
            let record = record.with_context(|| format!("{} line {line}", path.display()))?;
            let code = record.get(0).unwrap_or_default().trim();
            let name = record.get(1).unwrap_or_default().trim();
            let six_digits = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
            match (six_digits, line) {
                (true, _) if !name.is_empty() => {
                    names.0.insert(code.to_string(), name.to_string());
                }
                (false, 1) => {} // a header
                _ if code.is_empty() && name.is_empty() => {}
                _ => bail!(
                    "{} line {line}: expected a six-digit county code and its name, got {:?}",
                    path.display(),
                    record.iter().collect::<Vec<_>>().join(",")
                ),
            }
        }
        Ok(names)
    }

    /// The name of the county with this code, if known.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.0.get(code).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_adds_and_replaces_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counties.csv");
        let gbk = encoding_rs::GBK
            .encode("代码,名称\r\n350102,鼓楼区(福州)\r\n350104,仓山区\r\n")
            .0;
        std::fs::write(&path, gbk).unwrap();
        let names = CountyNames::with_file(&path).unwrap();
        assert_eq!(names.name("350104"), Some("仓山区"));
        assert_eq!(names.name("350102"), Some("鼓楼区(福州)"));
        assert_eq!(names.name("350702"), Some("延平区"));
        assert_eq!(names.name("999999"), None);

        std::fs::write(&path, "350104,仓山区\n35010,x\n").unwrap();
        let error = CountyNames::with_file(&path).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
    }
}
