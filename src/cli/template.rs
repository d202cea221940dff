//! Empty import templates: the header row of [`column_names`](super::column_names) in
//! Chinese, as CSV or XLSX, for HR staff to fill in.
//!
//! A template is written only where no file is, unless `--force`: the name a person
//! gives is often that of the sheet they filled in last time, and replacing it with an
//! empty one would lose their work without a word.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rust_xlsxwriter::{Format, Workbook};

use super::{column_names, CommandError};

/// Writes an empty template with the Chinese header row to `path`, by its extension:
/// `.csv` is UTF-8 with a byte-order mark, without which Excel would read it in the
/// local code page; `.xlsx` has a bold, frozen header and its code and date columns
/// formatted as text, so Excel keeps 18-digit numbers and leading zeros as typed.
/// Fails for other extensions, when the file exists and `replace` is not set, and when
/// the file cannot be written.
pub fn write_template(path: &Path, replace: bool) -> anyhow::Result<()> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let write = match extension.as_str() {
        "csv" => write_csv,
        "xlsx" => write_xlsx,
        _ => {
            let usage = format!(
                "{} is not a template format: expected .csv or .xlsx",
                path.display()
            );
            return Err(CommandError::Usage(usage).into());
        }
    };
    let file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(!replace)
        .create(true)
        .truncate(true)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let refused = format!(
                "{} already exists and may hold filled-in rows: choose another name, \
                 or add --force to replace it with an empty template",
                path.display()
            );
            return Err(CommandError::Refused(refused).into());
        }
        opened => opened,
    };
    file.map_err(anyhow::Error::from)
        .and_then(write)
        .with_context(|| format!("cannot write the template {}", path.display()))
}

fn write_csv(file: File) -> anyhow::Result<()> {
    start_csv(file)?.flush()?;
    Ok(())
}

fn write_xlsx(mut file: File) -> anyhow::Result<()> {
    file.write_all(&start_workbook()?.save_to_buffer()?)?;
    Ok(())
}

/// A CSV writer that has written the template's start: a byte-order mark and the Chinese
/// header row, with CRLF line endings, as Excel reads and saves CSV. `export` writes its
/// sheets the same way.
pub(super) fn start_csv<W: Write>(mut out: W) -> anyhow::Result<csv::Writer<W>> {
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(column_names().map(|(_, chinese)| chinese))?;
    Ok(writer)
}

/// A workbook whose first sheet, 教师, has the template's header row: bold, frozen, the
/// columns sized, and the code and date columns formatted as text. `export` fills the
/// rows below it.
pub(super) fn start_workbook() -> anyhow::Result<Workbook> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("教师")?;
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    for (col, (english, chinese)) in (0u16..).zip(column_names()) {
        sheet.write_string_with_format(0, col, chinese, &bold)?;
        sheet.set_column_width(col, column_width(english, chinese))?;
        if is_typed_as_text(english) {
            sheet.set_column_format(col, &text)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(book)
}

/// Wide enough for the header (a Chinese character takes two widths) and for typical
/// values of the column.
fn column_width(english: &str, chinese: &str) -> f64 {
    let header: usize = chinese
        .chars()
        .map(|c| if c.is_ascii() { 1 } else { 2 })
        .sum();
    let values = match english {
        "national_id" | "certificate_number" => 20,
        "school" | "certificate_issuing_authority" => 24,
        "birth_date" | "certified_on" | "registered_on" => 12,
        _ => 8,
    };
    (header.max(values) + 2) as f64
}

/// Columns whose values are digits that must stay exactly as typed (IDs, codes) or
/// dates that should read back as typed rather than as a locale's date format.
fn is_typed_as_text(english: &str) -> bool {
    matches!(
        english,
        "national_id"
            | "county_code"
            | "certificate_number"
            | "birth_date"
            | "certified_on"
            | "registered_on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::open_rows;

    #[test]
    fn templates_read_back_as_no_rows() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["template.csv", "template.XLSX"] {
            let path = dir.path().join(name);
            write_template(&path, false).unwrap();
            let rows: Vec<_> = open_rows(&path).unwrap().collect();
            assert!(rows.is_empty(), "{name}: {rows:?}");
        }
    }

    #[test]
    fn csv_template_has_a_bom_and_the_chinese_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("template.csv");
        write_template(&path, false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap()).unwrap();
        let header: Vec<&str> = column_names().map(|(_, chinese)| chinese).collect();
        assert_eq!(text, format!("{}\r\n", header.join(",")));
    }

    #[test]
    fn other_formats_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_template(&dir.path().join("template.xls"), false).unwrap_err();
        assert!(format!("{error:#}").contains(".csv or .xlsx"), "{error:#}");
    }
}
