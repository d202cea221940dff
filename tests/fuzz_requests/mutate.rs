//! The fuzzer's mutations of a request body: byte edits, and wire-aware edits that parse the
//! protobuf wire format (without a schema) and change, drop, repeat or add a field at any
//! depth, so that far more mutated bodies still decode and reach the handlers.

use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Clone, Debug)]
pub(crate) enum Edit {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    /// Copies a run of bytes elsewhere.
    Duplicate(Index, usize, Index),
    /// The nth field at any depth: a varint gets the number, a string or bytes the text.
    Set(Index, u64, String),
    Drop(Index),
    Repeat(Index),
    /// A field before the nth: this number, a varint (the number) or a string (the text).
    Add(Index, u64, bool, u64, String),
}

/// A target and a body: arbitrary bytes, byte edits or field edits of the target's seed.
pub(crate) fn case(targets: usize) -> impl Strategy<Value = (usize, Result<Vec<u8>, Vec<Edit>>)> {
    let i = any::<Index>;
    let byte_edit = prop_oneof![
        (i(), 1..=255u8).prop_map(|(at, mask)| Edit::Flip(at, mask)),
        i().prop_map(Edit::Truncate),
        (i(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, b)| Edit::Insert(at, b)),
        (i(), 1..8usize).prop_map(|(at, n)| Edit::Remove(at, n)),
        (i(), 1..32usize, i()).prop_map(|(from, n, to)| Edit::Duplicate(from, n, to)),
    ];
    let number = prop_oneof![any::<u64>(), 0..12u64, Just(u64::MAX), Just(1 << 31)];
    let text = prop_oneof![
        any::<String>(),
        "[0-9]{15,19}",
        "[0-9X]{4}-[0-9]{2}-[0-9]{2}",
        Just("x".repeat(300)),
        Just(String::new()),
    ];
    let field_edit = prop_oneof![
        4 => (i(), number.clone(), text.clone()).prop_map(|(at, n, s)| Edit::Set(at, n, s)),
        1 => i().prop_map(Edit::Drop),
        1 => i().prop_map(Edit::Repeat),
        2 => (i(), 1..20u64, any::<bool>(), number, text)
            .prop_map(|(at, field, varint, n, s)| Edit::Add(at, field, varint, n, s)),
    ];
    let body = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Ok),
        1 => prop::collection::vec(byte_edit, 1..4).prop_map(Err),
        2 => prop::collection::vec(field_edit, 1..4).prop_map(Err),
    ];
    (0..targets, body)
}

pub(crate) fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for edit in edits {
        let len = b.len();
        match edit {
            Edit::Flip(at, mask) if len > 0 => b[at.index(len)] ^= mask,
            Edit::Truncate(at) => b.truncate(at.index(len + 1)),
            Edit::Insert(at, bytes) => {
                let at = at.index(len + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Edit::Remove(at, n) if len > 0 => {
                drop(b.drain(at.index(len)..(at.index(len) + n).min(len)))
            }
            Edit::Duplicate(from, n, to) if len > 0 => {
                let run = b[from.index(len)..(from.index(len) + n).min(len)].to_vec();
                b.splice(to.index(len + 1)..to.index(len + 1), run);
            }
            Edit::Set(at, ..) | Edit::Drop(at) | Edit::Repeat(at) | Edit::Add(at, ..) => {
                let Some(mut fields) = parse(&b) else {
                    continue;
                };
                let mut n = at.index(count(&fields).max(1));
                visit(&mut fields, &mut n, &mut |f, i| match edit {
                    Edit::Drop(_) => drop(f.remove(i)),
                    Edit::Repeat(_) => f.insert(i + 1, f[i].clone()),
                    Edit::Add(_, field, true, n, _) => f.insert(i, (field << 3, Value::Varint(*n))),
                    Edit::Add(_, field, false, _, text) => {
                        f.insert(i, (field << 3 | 2, Value::Bytes(text.clone().into())))
                    }
                    Edit::Set(_, number, text) => match (f[i].0 & 7, &mut f[i].1) {
                        (0, Value::Varint(v)) => *v = *number,
                        (2, Value::Bytes(v)) => *v = text.clone().into_bytes(),
                        _ => {}
                    },
                    _ => {}
                });
                b.clear();
                encode(&fields, &mut b);
            }
            _ => {}
        }
    }
    b
}

/// A field's value: a length-delimited one is a message if it parses as one; a fixed-width
/// one is `Bytes` too (the key's wire type tells them apart).
#[derive(Clone, Debug)]
enum Value {
    Varint(u64),
    Bytes(Vec<u8>),
    Message(Fields),
}

type Fields = Vec<(u64, Value)>;

fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn parse(mut b: &[u8]) -> Option<Fields> {
    let mut fields = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let len = match key & 7 {
            0 => {
                fields.push((key, Value::Varint(varint(&mut b)?)));
                continue;
            }
            1 => 8,
            5 => 4,
            2 => usize::try_from(varint(&mut b)?).ok()?,
            _ => return None,
        };
        let value = b.get(..len)?;
        b = &b[len..];
        let message = parse(value).filter(|f| key & 7 == 2 && !f.is_empty());
        fields.push((
            key,
            message.map_or_else(|| Value::Bytes(value.to_vec()), Value::Message),
        ));
    }
    Some(fields)
}

fn encode(fields: &[(u64, Value)], out: &mut Vec<u8>) {
    for (key, value) in fields {
        put_varint(*key, out);
        let mut inner = Vec::new();
        let bytes = match value {
            Value::Varint(v) => {
                put_varint(*v, out);
                continue;
            }
            Value::Bytes(v) => v,
            Value::Message(m) => {
                encode(m, &mut inner);
                &inner
            }
        };
        if key & 7 == 2 {
            put_varint(bytes.len() as u64, out);
        }
        out.extend_from_slice(bytes);
    }
}

fn count(fields: &[(u64, Value)]) -> usize {
    let nested = |v: &Value| {
        if let Value::Message(m) = v {
            count(m)
        } else {
            0
        }
    };
    fields.iter().map(|(_, v)| 1 + nested(v)).sum()
}

/// Calls `f` with the list holding the `n`th field (depth first) and its position there.
fn visit(fields: &mut Fields, n: &mut usize, f: &mut dyn FnMut(&mut Fields, usize)) -> bool {
    for i in 0..fields.len() {
        if *n == 0 {
            f(fields, i);
            return true;
        }
        *n -= 1;
        if let Value::Message(inner) = &mut fields[i].1 {
            if visit(inner, n, f) {
                return true;
            }
        }
    }
    false
}
