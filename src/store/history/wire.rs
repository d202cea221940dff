//! Differences between two stored records, taken on their protobuf encoding.
//!
//! A record's value (format 2, see `store::format::v2`) is a protobuf message: a run of
//! fields, each a tag and a value. Two encodings are compared field by field, and a
//! repeated field occurrence by occurrence (the third certificate, the fifth title entry),
//! without knowing what the fields are. So a field added to the record later is kept in
//! the history from the next build on, with no code here; and a change to one certificate
//! keeps that certificate, old and new, not the whole record.
//!
//! Going back is the inverse: the fields of a newer encoding replaced by the old
//! occurrences a difference kept. Fields come out in tag order, as prost writes them, so
//! the result is the encoding the older record had.

use std::collections::BTreeMap;

/// One field occurrence that differs: its tag number, which occurrence of it (0 for a
/// field that is not repeated), and its bytes before and after (tag included; `None`:
/// absent on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldChange {
    pub(crate) number: u32,
    pub(crate) occurrence: u32,
    pub(crate) old: Option<Vec<u8>>,
    pub(crate) new: Option<Vec<u8>>,
}

/// The occurrences of each field of an encoded message, in order, as raw bytes (tag
/// included), by tag number.
type Fields<'a> = BTreeMap<u32, Vec<&'a [u8]>>;

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("a varint runs past the end")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a varint longer than ten bytes".into())
}

/// Splits an encoded message into its field occurrences. Groups (wire types 3 and 4) are
/// refused: no stored message has any.
fn split(bytes: &[u8]) -> Result<Fields<'_>, String> {
    let mut fields = Fields::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let key = varint(bytes, &mut at)?;
        let number = u32::try_from(key >> 3).map_err(|_| "a tag number out of range")?;
        if number == 0 {
            return Err("a field with tag number 0".into());
        }
        let length = match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
                0
            }
            1 => 8,
            2 => usize::try_from(varint(bytes, &mut at)?).map_err(|_| "a length out of range")?,
            5 => 4,
            other => return Err(format!("wire type {other} in a stored record")),
        };
        at = at
            .checked_add(length)
            .filter(|end| *end <= bytes.len())
            .ok_or("a field runs past the end")?;
        fields.entry(number).or_default().push(&bytes[start..at]);
    }
    Ok(fields)
}

/// The field occurrences that differ between `before` and `after` (encoded messages of
/// the same type), in tag order.
pub(crate) fn diff(before: &[u8], after: &[u8]) -> Result<Vec<FieldChange>, String> {
    let (old, new) = (split(before)?, split(after)?);
    let mut numbers: Vec<u32> = old.keys().chain(new.keys()).copied().collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut changes = Vec::new();
    for number in numbers {
        let old = old.get(&number).map(Vec::as_slice).unwrap_or_default();
        let new = new.get(&number).map(Vec::as_slice).unwrap_or_default();
        for occurrence in 0..old.len().max(new.len()) {
            let (was, is) = (old.get(occurrence), new.get(occurrence));
            if was != is {
                changes.push(FieldChange {
                    number,
                    occurrence: occurrence as u32,
                    old: was.map(|b| b.to_vec()),
                    new: is.map(|b| b.to_vec()),
                });
            }
        }
    }
    Ok(changes)
}

/// The message `after` was before `changes`: each changed occurrence put back as it was.
/// An error if `after` does not hold what `changes` say the change made (a history that
/// does not fit its record).
pub(crate) fn undo(after: &[u8], changes: &[FieldChange]) -> Result<Vec<u8>, String> {
    let mut fields: BTreeMap<u32, Vec<Option<&[u8]>>> = split(after)?
        .into_iter()
        .map(|(number, all)| (number, all.into_iter().map(Some).collect()))
        .collect();
    for change in changes {
        let all = fields.entry(change.number).or_default();
        let at = change.occurrence as usize;
        if all.len() <= at {
            all.resize(at + 1, None);
        }
        if all[at] != change.new.as_deref() {
            return Err(format!(
                "field {} (occurrence {at}) is not what the revision made it",
                change.number
            ));
        }
        all[at] = change.old.as_deref();
    }
    let mut before = Vec::with_capacity(after.len());
    for all in fields.values() {
        for bytes in all.iter().flatten() {
            before.extend_from_slice(bytes);
        }
    }
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[derive(Clone, PartialEq, Message)]
    struct Inner {
        #[prost(string, tag = "1")]
        text: String,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Sample {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(message, repeated, tag = "3")]
        items: Vec<Inner>,
        #[prost(uint64, tag = "5")]
        revision: u64,
        #[prost(fixed64, tag = "6")]
        fixed: u64,
        #[prost(sint32, repeated, tag = "7")]
        packed: Vec<i32>,
    }

    fn sample(name: &str, items: &[&str], revision: u64) -> Sample {
        Sample {
            name: name.into(),
            items: items
                .iter()
                .map(|t| Inner {
                    text: t.to_string(),
                })
                .collect(),
            revision,
            fixed: revision * 3,
            packed: vec![-1, revision as i32],
        }
    }

    #[test]
    fn a_change_keeps_only_the_occurrences_that_differ_and_undoes_exactly() {
        let before = sample("王小明", &["a", "b"], 4).encode_to_vec();
        let after = sample("王小明", &["a", "b2", "c"], 9).encode_to_vec();
        let changes = diff(&before, &after).unwrap();
        let changed: Vec<(u32, u32)> = changes.iter().map(|c| (c.number, c.occurrence)).collect();
        // Not the name, not the first item: the second and third item, the numbers.
        assert_eq!(changed, [(3, 1), (3, 2), (5, 0), (6, 0), (7, 0)]);
        assert_eq!(changes[1].old, None);
        assert_eq!(undo(&after, &changes).unwrap(), before);
        assert_eq!(diff(&after, &after).unwrap(), []);
    }

    #[test]
    fn a_field_emptied_comes_back_and_one_set_goes() {
        let before = sample("", &[], 0).encode_to_vec();
        let after = sample("李四", &["x"], 2).encode_to_vec();
        let changes = diff(&before, &after).unwrap();
        assert_eq!(undo(&after, &changes).unwrap(), before);
        let back = diff(&after, &before).unwrap();
        assert_eq!(undo(&before, &back).unwrap(), after);
    }

    #[test]
    fn a_history_that_does_not_fit_the_record_is_an_error() {
        let before = sample("a", &[], 1).encode_to_vec();
        let after = sample("b", &[], 2).encode_to_vec();
        let changes = diff(&before, &after).unwrap();
        let other = sample("c", &[], 2).encode_to_vec();
        assert!(undo(&other, &changes).is_err());
        assert!(split(&[0x0a, 0x05, b'a']).is_err());
        assert!(split(&[0x03]).is_err());
    }
}
