//! What a group sends in one round trip: statements written out as text, for the simple
//! query protocol, the one that carries several statements in one message.
//!
//! A group holds every other server's writers off from its begin to its commit, so each
//! round trip in between is time no other server can write. The extended protocol, with
//! its bytes as parameters, takes a round trip a statement; here the group's begin, lock
//! and first reads go in one, and its writes with its `COMMIT` in another. The bytes are
//! written as `decode('…', 'hex')`, hex digits only whatever the connection's settings,
//! and come back in the text form of `bytea` (the write connection sets `bytea_output` to
//! hex).

use std::collections::HashMap;

use postgres::SimpleQueryMessage;

use super::connection::{error, Session};
use super::Pair;
use crate::store::engine::{FirstReads, KeyRange};
use crate::store::{StorageFault, StoreError};

/// The writes of the open transaction not yet sent, taken: the keys set with their
/// values, and the keys removed.
pub(super) fn take_unsent(session: &mut Session) -> (Vec<Pair>, Vec<Vec<u8>>) {
    session.unsent_bytes = 0;
    let mut sets = Vec::new();
    let mut removals = Vec::new();
    for (key, value) in std::mem::take(&mut session.unsent) {
        match value {
            Some(value) => sets.push((key, value)),
            None => removals.push(key),
        }
    }
    (sets, removals)
}

/// Sends the writes not yet sent, in the open transaction: one `INSERT ... ON CONFLICT`
/// for the keys set and one `DELETE` for those removed, with their bytes as parameters.
pub(super) fn send_unsent(session: &mut Session) -> Result<(), StoreError> {
    let (sets, removals) = take_unsent(session);
    if !sets.is_empty() {
        let (keys, values): (Vec<Vec<u8>>, Vec<Vec<u8>>) = sets.into_iter().unzip();
        session
            .client
            .execute(&session.upsert, &[&keys, &values])
            .map_err(error)?;
    }
    if !removals.is_empty() {
        session
            .client
            .execute(&session.delete, &[&removals])
            .map_err(error)?;
    }
    Ok(())
}

/// Bytes as SQL: `decode('…', 'hex')`, hex digits only, whatever the connection's
/// settings.
fn bytes_sql(bytes: &[u8]) -> String {
    format!("decode('{}','hex')", hex::encode(bytes))
}

/// A `bytea[]` of `items` as SQL.
fn bytes_array_sql<'a>(items: impl Iterator<Item = &'a [u8]>) -> String {
    let items: Vec<String> = items.map(bytes_sql).collect();
    format!("ARRAY[{}]::bytea[]", items.join(","))
}

/// One statement reading `keys` (rows `0, k, v`) and listing `ranges` (rows `i, k, NULL`
/// for the range at place `i`, from 1), or nothing when neither has any. Bytes are
/// written as [`bytes_sql`].
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

fn unreadable(what: &str) -> StoreError {
    StoreError::Storage {
        fault: StorageFault::Failed,
        detail: format!("PostgreSQL answered {what} this engine cannot read"),
    }
}

/// What the statement of [`first_reads_sql`] answered (behind the lock's row, of one
/// column), as [`Engine::begin_group_reading`](crate::store::engine::Engine::begin_group_reading) returns it for `keys` and as many ranges as
/// `ranges_asked`.
pub(super) fn first_reads(
    messages: Vec<SimpleQueryMessage>,
    keys: &[Vec<u8>],
    ranges_asked: usize,
) -> Result<FirstReads<Vec<u8>>, StoreError> {
    let mut found: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut listed = vec![Vec::new(); ranges_asked];
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
        let key = from_hex(row.get(1))?;
        match usize::try_from(place) {
            Ok(0) => {
                found.insert(key, from_hex(row.get(2))?);
            }
            Ok(place) => match listed.get_mut(place - 1) {
                Some(keys) => keys.push(key),
                None => return Err(unreadable("a range's place")),
            },
            Err(_) => return Err(unreadable("a range's place")),
        }
    }
    for keys in &mut listed {
        keys.sort_unstable();
    }
    Ok(FirstReads {
        values: keys.iter().map(|key| found.get(key).cloned()).collect(),
        ranges: listed,
    })
}

/// The writes not yet sent and the `COMMIT` behind them, as one string of statements.
pub(super) fn commit_sql(session: &mut Session) -> String {
    let (sets, removals) = take_unsent(session);
    let mut statements = Vec::new();
    if !sets.is_empty() {
        let rows: Vec<String> = sets
            .iter()
            .map(|(key, value)| format!("({},{})", bytes_sql(key), bytes_sql(value)))
            .collect();
        statements.push(format!(
            "INSERT INTO registry_pairs (k, v) VALUES {} \
             ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            rows.join(",")
        ));
    }
    if !removals.is_empty() {
        statements.push(format!(
            "DELETE FROM registry_pairs WHERE k = ANY({})",
            bytes_array_sql(removals.iter().map(Vec::as_slice))
        ));
    }
    statements.push("COMMIT".into());
    statements.join(";")
}
