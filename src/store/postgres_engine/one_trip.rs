//! A group's begin, lock and first reads in one round trip: statements written out as
//! text, for the simple query protocol, the one that carries several statements in one
//! message.
//!
//! A group holds every other server's writers off from its begin to its commit, so each
//! round trip in between is time no other server can write. The extended protocol, with
//! its bytes as parameters, takes a round trip a statement: the begin and lock, the
//! revision, the keys, the ranges. Here they go in one; the keys are written as array
//! literals of hex digits, and the values come back in the text form of `bytea` (the
//! write connection sets `bytea_output` to hex). A group's writes are not sent so: as text, twice their size in
//! hex and parsed value by value, they cost the database more than the round trip they
//! would save (benches/README.md).

use postgres::SimpleQueryMessage;

use super::gathered::{unreadable, Gathered};
use crate::store::engine::{FirstReads, KeyRange};
use crate::store::StoreError;

/// A `bytea[]` of `items` as one SQL literal, `E'{"\\\\x…",…}'::bytea[]`: parsed by the
/// array's and `bytea`'s own input functions, not as a function call per item, and hex
/// digits only inside, whatever the connection's settings.
fn bytes_array_sql<'a>(items: impl Iterator<Item = &'a [u8]>) -> String {
    let items: Vec<String> = items
        .map(|bytes| format!("\"\\\\\\\\x{}\"", hex::encode(bytes)))
        .collect();
    format!("E'{{{}}}'::bytea[]", items.join(","))
}

/// One statement reading `keys` (rows `0, k, v`) and listing `ranges` (rows `i, k, NULL`
/// for the range at place `i`, from 1), or nothing when neither has any. Bytes are
/// written as [`bytes_array_sql`].
pub(super) fn first_reads_sql(keys: &[Vec<u8>], ranges: &[KeyRange]) -> String {
    let mut reads = Vec::new();
    if !keys.is_empty() {
        reads.push(format!(
            "SELECT 0::int8, k, v FROM registry_pairs WHERE k = ANY({})",
            bytes_array_sql(keys.iter().map(Vec::as_slice))
        ));
    }
    if !ranges.is_empty() {
        let limits: Vec<String> = ranges
            .iter()
            .map(|r| i64::try_from(r.limit).unwrap_or(i64::MAX).to_string())
            .collect();
        reads.push(format!(
            "SELECT r.i, p.k, NULL::bytea FROM unnest({}, {}, ARRAY[{}]::int8[]) \
             WITH ORDINALITY AS r(lo, hi, n, i) \
             CROSS JOIN LATERAL (SELECT k FROM registry_pairs \
             WHERE k >= r.lo AND k < r.hi ORDER BY k LIMIT r.n) AS p",
            bytes_array_sql(ranges.iter().map(|r| r.start.as_slice())),
            bytes_array_sql(ranges.iter().map(|r| r.end.as_slice())),
            limits.join(",")
        ));
    }
    reads.join(" UNION ALL ")
}

/// Bytes from a `bytea` in the text form of the simple query protocol (`\x` and hex).
fn from_hex(text: Option<&str>) -> Result<Vec<u8>, StoreError> {
    text.and_then(|text| text.strip_prefix("\\x"))
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or_else(|| unreadable("bytes"))
}

/// What the statement of [`first_reads_sql`] answered (behind the lock's row, of one
/// column), as [`Engine::begin_group_reading`](crate::store::engine::Engine::begin_group_reading) returns it for `keys` and as many ranges as
/// `ranges_asked`.
pub(super) fn first_reads(
    messages: Vec<SimpleQueryMessage>,
    keys: &[Vec<u8>],
    ranges_asked: usize,
) -> Result<FirstReads<Vec<u8>>, StoreError> {
    let mut gathered = Gathered::new(ranges_asked);
    for message in messages {
        let SimpleQueryMessage::Row(row) = message else {
            continue;
        };
        // The lock's row has one column; the reads' have three.
        if row.len() != 3 {
            continue;
        }
        let place: i64 = row
            .get(0)
            .and_then(|place| place.parse().ok())
            .ok_or_else(|| unreadable("a place"))?;
        gathered.add(place, from_hex(row.get(1))?, || from_hex(row.get(2)))?;
    }
    Ok(gathered.into_reads(keys))
}
