//! `teacher-registry search NAME`: the teachers with a name (or, with `--prefix`, whose
//! name starts so: a surname), as a table, one page of the SearchTeachers RPC after
//! another. The server applies the caller's county scope and masking; this only prints.

use std::io::Write;

use super::{connect, refusal, short_name};
use crate::api::pb;

/// Teachers asked for per request.
const PAGE_SIZE: i32 = 200;

/// What to search for.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The name, or with --prefix its first characters (a surname: 王 finds 王小明).
    /// White space is ignored, letters in any case.
    pub name: String,
    /// Find names that start with NAME, not only NAME itself.
    #[arg(long)]
    pub prefix: bool,
    /// Only this county (six digits; without it, every county the token may see).
    #[arg(long)]
    pub county: Option<String>,
    /// The registry: host:port, http://host:port, or https://host:port for TLS.
    #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
    pub server: String,
}

/// Prints every teacher the search finds as a table, then how many; answers how many.
pub async fn run_search(args: &SearchArgs, out: &mut impl Write) -> anyhow::Result<u64> {
    let mut client = connect(&args.server).await?;
    let name_match = if args.prefix {
        pb::NameMatch::Prefix
    } else {
        pb::NameMatch::Exact
    };
    let mut table = Table::new([
        "registry number 教师编号",
        "name 姓名",
        "county 县区",
        "school 学校",
        "title 职称",
        "status 任职状态",
        "identity number 证件号码",
    ]);
    let mut page_token = String::new();
    loop {
        let page = client
            .search_teachers(pb::SearchTeachersRequest {
                name: args.name.clone(),
                name_match: name_match as i32,
                county_code: args.county.clone().unwrap_or_default(),
                page_size: PAGE_SIZE,
                page_token,
            })
            .await
            .map_err(|status| refusal(status, "the registry refused the search"))?
            .into_inner();
        for teacher in &page.teachers {
            table.row([
                teacher.teacher_id.clone(),
                teacher.name.clone(),
                teacher.county_code.clone(),
                teacher.school.clone(),
                tier_name(teacher.current_title()),
                short_name(
                    teacher.employment_status().as_str_name(),
                    "EMPLOYMENT_STATUS_",
                ),
                teacher.national_id.clone(),
            ]);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let found = table.rows.len() as u64;
    if found > 0 {
        table.print(out)?;
    }
    let how = if args.prefix {
        "starting with"
    } else {
        "named"
    };
    match found {
        0 => writeln!(out, "no teacher {how} {:?}", args.name)?,
        1 => writeln!(out, "1 teacher {how} {:?}", args.name)?,
        n => writeln!(out, "{n} teachers {how} {:?}", args.name)?,
    }
    Ok(found)
}

/// A tier's short English name, or `-` for no title.
fn tier_name(tier: pb::TitleTier) -> String {
    match tier {
        pb::TitleTier::Unspecified => "-".into(),
        tier => short_name(tier.as_str_name(), "TITLE_TIER_"),
    }
}

/// A text table with columns aligned for a terminal, where a Chinese character is two
/// columns wide. Lines carry no trailing spaces.
pub(super) struct Table<const N: usize> {
    header: [String; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    pub(super) fn new(header: [&str; N]) -> Self {
        Self {
            header: header.map(str::to_string),
            rows: Vec::new(),
        }
    }

    pub(super) fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }

    pub(super) fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut widths = [0; N];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(display_width(cell));
            }
        }
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[i] - display_width(cell)));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Terminal columns `text` takes: two for the wide characters of East Asian scripts
/// (CJK ideographs, kana, hangul, full-width forms), one for anything else. A close
/// approximation of Unicode's East Asian Width, enough for names and schools.
pub(super) fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_chinese_text_and_lines_end_without_spaces() {
        let mut table = Table::new(["a", "name", "z"]);
        table.row(["T1".into(), "王小明".into(), "".into()]);
        table.row(["T22".into(), "Li".into(), "x".into()]);
        let mut out = Vec::new();
        table.print(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["a    name    z", "T1   王小明", "T22  Li      x"]);
        assert_eq!(display_width("王小明"), 6);
        assert_eq!(display_width("Ａ1"), 3);
    }
}
