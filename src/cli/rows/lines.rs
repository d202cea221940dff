//! CSV line numbers as a person sees them in an editor, whatever the line endings.
//!
//! The csv crate numbers a record by counting `\n` bytes up to where reading the record
//! began. A CRLF record (Excel writes them, GBK files included, and so does `template`)
//! ends at its `\r`, so the next record begins on that line's `\n` and is numbered one line
//! too low; the same happens after blank lines, which are skipped as part of the next
//! record. So lines are counted here instead, on the text on its way to the parser: where
//! each line with something on it starts. A record's line is the first such line starting
//! at or after the byte where the parser began the record. `\r\n`, `\n` and a lone `\r`
//! each end a line, as they end a record.

use std::collections::VecDeque;
use std::io::{self, Read};

/// A reader that notes where each line with content starts in the text it passes on.
pub(super) struct LineCounter<R> {
    inner: R,
    /// (byte offset, line number) of each line with content not yet asked about.
    starts: VecDeque<(u64, u64)>,
    /// Bytes passed on so far.
    offset: u64,
    /// The number of the line the next byte is on.
    line: u64,
    /// Whether that line's start is noted already.
    noted: bool,
    /// Whether the last byte was a `\r`, whose `\n` would end the same line.
    after_cr: bool,
}

impl<R: Read> LineCounter<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            starts: VecDeque::new(),
            offset: 0,
            line: 1,
            noted: false,
            after_cr: false,
        }
    }

    /// The line of the first line with content starting at or after `byte`, which the
    /// parser has read past. Lines before it are forgotten: ask in increasing order.
    pub(super) fn line_at(&mut self, byte: u64) -> u64 {
        while self.starts.front().is_some_and(|&(start, _)| start < byte) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |&(_, line)| line)
    }

    fn note(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => {}
                b'\n' | b'\r' => {
                    self.line += 1;
                    self.noted = false;
                }
                _ if !self.noted => {
                    self.starts.push_back((self.offset, self.line));
                    self.noted = true;
                }
                _ => {}
            }
            self.after_cr = byte == b'\r';
            self.offset += 1;
        }
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of the records a csv reader finds in `text`.
    fn record_lines(text: &str) -> Vec<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineCounter::new(text.as_bytes()));
        let mut record = csv::StringRecord::new();
        let mut lines = Vec::new();
        while reader.read_record(&mut record).unwrap() {
            let byte = record.position().unwrap().byte();
            lines.push(reader.get_mut().line_at(byte));
        }
        lines
    }

    #[test]
    fn every_line_ending_numbers_records_as_an_editor_does() {
        assert_eq!(record_lines("h\na\nb\n"), [1, 2, 3]);
        assert_eq!(record_lines("h\r\na\r\nb\r\n"), [1, 2, 3]);
        assert_eq!(record_lines("h\ra\rb"), [1, 2, 3]);
        assert_eq!(record_lines("h\r\n\r\n\r\na\r\n\nb"), [1, 4, 6]);
        assert_eq!(
            record_lines("\n\nh\na,\"two\r\nlines\"\r\nb\r\n"),
            [3, 4, 6]
        );
    }
}
