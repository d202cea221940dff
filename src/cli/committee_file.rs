//! The committee's results as HR staff keep them: a CSV or XLSX sheet with a header row
//! and a row per application: `application` (申报编号), `for` (赞成), `against` (反对),
//! `abstain` (弃权) and, optionally, `present` (出席; default: the three added). The
//! command reads the file; the server gets the rows and answers each.

use std::path::Path;

use anyhow::{bail, Context};
use calamine::{Data, Reader, Xlsx};

use crate::api::pb;

/// The columns, each by its English and Chinese names.
const COLUMNS: [(&str, &str); 5] = [
    ("application", "申报编号"),
    ("for", "赞成"),
    ("against", "反对"),
    ("abstain", "弃权"),
    ("present", "出席"),
];

/// The rows of a committee file, in file order.
pub fn read_committee_file(path: &Path) -> anyhow::Result<Vec<pb::CommitteeResultRow>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_committee_bytes(&path.display().to_string(), &bytes)
}

/// The rows of a committee file named `name` (its extension says CSV or XLSX) whose
/// content is `bytes`: a file uploaded to the console is read exactly as the command
/// reads one from disk.
pub fn read_committee_bytes(
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<Vec<pb::CommitteeResultRow>> {
    let extension = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let table = match extension.as_str() {
        "csv" => read_csv(name, bytes)?,
        "xlsx" => read_sheet(name, bytes)?,
        _ => bail!("{name} is not a supported committee file: expected .csv or .xlsx"),
    };
    rows(table).with_context(|| format!("in {name}"))
}

/// A CSV file in UTF-8 (a byte-order mark dropped) or, as Excel writes it on a Chinese
/// system, GBK.
fn read_csv(name: &str, bytes: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut table = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot read {name}"))?;
        table.push(record.iter().map(|c| c.trim().to_string()).collect());
    }
    Ok(table)
}

fn read_sheet(name: &str, bytes: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).with_context(|| format!("cannot read {name}"))?;
    let Some(sheet) = book.worksheet_range_at(0) else {
        bail!("{name} has no sheet");
    };
    let sheet = sheet.with_context(|| format!("cannot read {name}"))?;
    Ok(sheet
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
                    other => other.to_string().trim().to_string(),
                })
                .collect()
        })
        .collect())
}

/// The rows under the header; every bad cell is reported with its line.
fn rows(table: Vec<Vec<String>>) -> anyhow::Result<Vec<pb::CommitteeResultRow>> {
    let mut lines = table.into_iter();
    let Some(header) = lines.next() else {
        bail!("the file is empty: it needs a header row (application, for, against, abstain)");
    };
    let position = |column: usize| {
        let (english, chinese) = COLUMNS[column];
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(english) || h.trim() == chinese)
    };
    let mut at = [None; 5];
    for (column, slot) in at.iter_mut().enumerate() {
        *slot = position(column);
        if slot.is_none() && column < 4 {
            let (english, chinese) = COLUMNS[column];
            bail!("the header has no {english} ({chinese}) column");
        }
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (n, cells) in lines.enumerate() {
        let line = n + 2;
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        let cell = |column: usize| {
            at[column]
                .and_then(|i| cells.get(i))
                .map_or("", |c| c.as_str())
        };
        let mut number = |column: usize| -> u32 {
            let raw = cell(column);
            if raw.is_empty() && column == 4 {
                return 0;
            }
            raw.parse().unwrap_or_else(|_| {
                problems.push(format!(
                    "line {line}: {} is {raw:?}, not a count",
                    COLUMNS[column].0
                ));
                0
            })
        };
        let row = pb::CommitteeResultRow {
            application_id: cell(0).to_string(),
            votes_for: number(1),
            against: number(2),
            abstain: number(3),
            present: number(4),
        };
        rows.push(row);
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    if rows.is_empty() {
        bail!("the file has a header but no results");
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(lines: &[&str]) -> Vec<Vec<String>> {
        lines
            .iter()
            .map(|l| l.split(',').map(|c| c.trim().to_string()).collect())
            .collect()
    }

    #[test]
    fn english_or_chinese_headers_in_any_order() {
        let read = rows(table(&["赞成,申报编号,反对,弃权", "6,CX,2,1", ",,,"])).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(
            (
                read[0].application_id.as_str(),
                read[0].votes_for,
                read[0].against,
                read[0].abstain,
                read[0].present
            ),
            ("CX", 6, 2, 1, 0)
        );
        let with_present = rows(table(&[
            "application,for,against,abstain,present",
            "CY,5,3,0,8",
        ]))
        .unwrap();
        assert_eq!(with_present[0].present, 8);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let missing = rows(table(&["application,for,against"])).unwrap_err();
        assert!(missing.to_string().contains("abstain"), "{missing}");
        let bad = rows(table(&[
            "application,for,against,abstain",
            "CX,six,2,1",
            "CY,1,x,1",
        ]))
        .unwrap_err();
        assert!(
            bad.to_string().contains("line 2") && bad.to_string().contains("line 3"),
            "{bad}"
        );
        assert!(rows(Vec::new()).is_err());
        assert!(rows(table(&["application,for,against,abstain"])).is_err());
    }

    #[test]
    fn gbk_and_bom_csv_and_xlsx_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let gbk = dir.path().join("gbk.csv");
        let (bytes, _, _) = encoding_rs::GBK.encode("申报编号,赞成,反对,弃权\nCX,6,2,1\n");
        std::fs::write(&gbk, bytes).unwrap();
        assert_eq!(read_committee_file(&gbk).unwrap()[0].votes_for, 6);
        let bom = dir.path().join("bom.csv");
        std::fs::write(&bom, "\u{feff}application,for,against,abstain\nCX,5,3,0\n").unwrap();
        assert_eq!(read_committee_file(&bom).unwrap()[0].against, 3);

        let sheet = dir.path().join("votes.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let page = book.add_worksheet();
        for (c, name) in ["申报编号", "赞成", "反对", "弃权", "出席"]
            .iter()
            .enumerate()
        {
            page.write_string(0, c as u16, *name).unwrap();
        }
        page.write_string(1, 0, "CY").unwrap();
        for (c, n) in [6.0, 2.0, 1.0, 9.0].iter().enumerate() {
            page.write_number(1, c as u16 + 1, *n).unwrap();
        }
        book.save(&sheet).unwrap();
        let read = read_committee_file(&sheet).unwrap();
        assert_eq!(
            (
                read[0].application_id.as_str(),
                read[0].votes_for,
                read[0].present
            ),
            ("CY", 6, 9)
        );
        assert!(read_committee_file(&dir.path().join("votes.txt")).is_err());
    }
}
