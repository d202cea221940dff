//! What every [`Engine`] must do, as tests any engine runs: [`engine_conformance!`] with a
//! function that opens the engine in a directory writes them out as `#[test]`s (see the
//! sled engine's tests).
//!
//! Each check opens its engines in a fresh temporary directory; the durability check
//! drops its engine and opens another on the same directory.

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Engine, FirstReads, KeyRange};
use crate::store::StoreError;

/// Writes out one `#[test]` per check for the engine `open` (a `fn(&Path) -> E`) opens;
/// with `ignore = "why"`, each test is `#[ignore]`d with that reason (an engine that needs
/// more than cargo, such as PostgreSQL's server programs): the quick `cargo test` lists it
/// as ignored, saying why, instead of passing it unrun, and the whole suite runs it.
macro_rules! engine_conformance {
    ($open:expr) => {
        $crate::store::engine::conformance::engine_conformance!(@tests $open,);
    };
    ($open:expr, ignore = $why:literal) => {
        $crate::store::engine::conformance::engine_conformance!(@tests $open, ignore = $why);
    };
    (@tests $open:expr, $($ignore:meta)?) => {
        #[test]
        $(#[$ignore])?
        fn batches_are_never_seen_in_part() {
            $crate::store::engine::conformance::batches_are_never_seen_in_part($open);
        }

        #[test]
        $(#[$ignore])?
        fn scans_are_in_bytewise_order_within_their_bounds() {
            $crate::store::engine::conformance::scans_are_in_bytewise_order_within_their_bounds(
                $open,
            );
        }

        #[test]
        $(#[$ignore])?
        fn a_removed_key_is_gone() {
            $crate::store::engine::conformance::a_removed_key_is_gone($open);
        }

        #[test]
        $(#[$ignore])?
        fn the_last_write_of_a_key_in_a_batch_wins() {
            $crate::store::engine::conformance::the_last_write_of_a_key_in_a_batch_wins($open);
        }

        #[test]
        $(#[$ignore])?
        fn flushed_writes_survive_a_restart() {
            $crate::store::engine::conformance::flushed_writes_survive_a_restart($open);
        }

        #[test]
        $(#[$ignore])?
        fn key_ranges_list_as_scans_do() {
            $crate::store::engine::conformance::key_ranges_list_as_scans_do($open);
        }

        #[test]
        $(#[$ignore])?
        fn an_empty_value_is_not_a_missing_key() {
            $crate::store::engine::conformance::an_empty_value_is_not_a_missing_key($open);
        }

        #[test]
        $(#[$ignore])?
        fn a_group_reads_first_what_gets_and_ranges_read() {
            $crate::store::engine::conformance::a_group_reads_first_what_gets_and_ranges_read(
                $open,
            );
        }
    };
}
pub(crate) use engine_conformance;

/// A batch write: a value to set, or `None` to remove.
type Write = (Vec<u8>, Option<Vec<u8>>);

fn set(key: &[u8], value: &[u8]) -> Write {
    (key.to_vec(), Some(value.to_vec()))
}

fn remove(key: &[u8]) -> Write {
    (key.to_vec(), None)
}

/// Applies `writes` as one batch, and flushes it on a shared engine, which shows a batch
/// only once flushed (see the trait's doc).
fn applied<E: Engine>(engine: &E, writes: &[Write]) -> Result<(), StoreError> {
    engine.apply(writes)?;
    match engine.is_shared() {
        true => engine.flush(),
        false => Ok(()),
    }
}

fn get<E: Engine>(engine: &E, key: &[u8]) -> Option<Vec<u8>> {
    engine.get(key).unwrap().map(|value| value.to_vec())
}

fn collect<E: Engine>(scan: E::Scan) -> Vec<(Vec<u8>, Vec<u8>)> {
    scan.map(|pair| {
        let (key, value) = pair.unwrap();
        (key.to_vec(), value.to_vec())
    })
    .collect()
}

fn scan<E: Engine>(engine: &E, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
    collect::<E>(engine.range(from, to).unwrap())
}

/// Keys of the atomicity check: enough, with values large enough, to span many of an
/// engine's pages or nodes.
const ATOMIC_KEYS: u32 = 2_000;
const ATOMIC_BATCHES: u64 = 40;

fn atomic_key(n: u32) -> Vec<u8> {
    let mut key = b"a".to_vec();
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// Batch `number`'s value: the number, then padding.
fn atomic_value(number: u64) -> Vec<u8> {
    let mut value = number.to_be_bytes().to_vec();
    value.resize(64, 0xAB);
    value
}

fn atomic_number(value: &[u8]) -> u64 {
    u64::from_be_bytes(value[..8].try_into().expect("8 bytes"))
}

/// Batch after batch sets every key to its number while readers read. With no snapshot
/// reads, a reader's reads are of moments that only move forward, and a batch is atomic
/// when no read after one that saw it misses any of it: so the numbers read never go down,
/// whether a scan reads the keys in ascending order or point reads take them descending.
/// (A batch applied key by key, in either order, lets one of the two see a number go down.)
pub(crate) fn batches_are_never_seen_in_part<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let batch = |number| -> Vec<Write> {
        let value = atomic_value(number);
        (0..ATOMIC_KEYS)
            .map(|n| (atomic_key(n), Some(value.clone())))
            .collect()
    };
    applied(&engine, &batch(0)).unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|threads| {
        threads.spawn(|| {
            for number in 1..=ATOMIC_BATCHES {
                applied(&engine, &batch(number)).unwrap();
            }
            done.store(true, Ordering::Release);
        });
        threads.spawn(|| loop {
            let finished = done.load(Ordering::Acquire);
            let mut seen = 0;
            let mut keys = 0;
            for pair in engine.scan_prefix(b"a").unwrap() {
                let (_, value) = pair.unwrap();
                let number = atomic_number(&value);
                assert!(number >= seen, "a scan saw {number} after {seen}");
                seen = number;
                keys += 1;
            }
            assert_eq!(keys, ATOMIC_KEYS, "a scan missed keys");
            if finished {
                assert_eq!(seen, ATOMIC_BATCHES);
                break;
            }
        });
        threads.spawn(|| loop {
            let finished = done.load(Ordering::Acquire);
            let mut seen = 0;
            for n in (0..ATOMIC_KEYS).rev().step_by(7) {
                let number = atomic_number(&engine.get(&atomic_key(n)).unwrap().unwrap());
                assert!(number >= seen, "point reads saw {number} after {seen}");
                seen = number;
            }
            if finished {
                break;
            }
        });
    });
}

/// Every range, with every kind of bound, over keys that differ in their last byte, in
/// length, and by 0xFF bytes, against a sorted model; and prefix scans whose prefixes end
/// in 0xFF or are all 0xFF.
pub(crate) fn scans_are_in_bytewise_order_within_their_bounds<E: Engine>(
    open: impl Fn(&Path) -> E,
) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let keys: [&[u8]; 16] = [
        &[0x00],
        &[0x00, 0x00],
        &[0x01],
        &[0x01, 0x00],
        &[0x01, 0xFF],
        &[0x01, 0xFF, 0xFF],
        &[0x02],
        &[0x7F],
        &[0x80],
        b"a",
        b"ab",
        b"b",
        &[0xFF],
        &[0xFF, 0x00],
        &[0xFF, 0xFF],
        &[0xFF, 0xFF, 0xFF],
    ];
    // Written in an order that is not the sorted one.
    let writes: Vec<Write> = keys
        .iter()
        .rev()
        .enumerate()
        .map(|(n, key)| set(key, &[n as u8]))
        .collect();
    applied(&engine, &writes).unwrap();
    let model: BTreeMap<Vec<u8>, Vec<u8>> = writes
        .into_iter()
        .map(|(key, value)| (key, value.expect("set")))
        .collect();

    let all = scan(&engine, Unbounded, Unbounded);
    assert_eq!(all, model.clone().into_iter().collect::<Vec<_>>());

    // Bounds at every key and between keys, of each kind.
    let mut probes: Vec<&[u8]> = keys.to_vec();
    probes.extend([&[0x01, 0x80][..], b"aa", &[0xFE], &[0xFF, 0xFF, 0xFF, 0xFF]]);
    let bounds = |key| [Included(key), Excluded(key), Unbounded];
    for &low in &probes {
        for &high in &probes {
            for from in bounds(low) {
                for to in bounds(high) {
                    let expected: Vec<_> = model
                        .iter()
                        .filter(|(key, _)| {
                            RangeBounds::<[u8]>::contains(&(from, to), key.as_slice())
                        })
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect();
                    assert_eq!(scan(&engine, from, to), expected, "{from:?}..{to:?}");
                }
            }
        }
    }

    let prefixes: [&[u8]; 7] = [
        &[],
        &[0x00],
        &[0x01],
        &[0x01, 0xFF],
        b"a",
        &[0xFF],
        &[0xFF, 0xFF],
    ];
    for prefix in prefixes {
        let expected: Vec<_> = model
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let found = collect::<E>(engine.scan_prefix(prefix).unwrap());
        assert_eq!(found, expected, "prefix {prefix:?}");
    }
    let nothing = collect::<E>(engine.scan_prefix(b"c").unwrap());
    assert!(nothing.is_empty());
}

pub(crate) fn a_removed_key_is_gone<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    applied(
        &engine,
        &[set(b"k1", b"one"), set(b"k2", b"two"), set(b"k3", b"three")],
    )
    .unwrap();
    applied(&engine, &[remove(b"k2")]).unwrap();
    assert_eq!(get(&engine, b"k2"), None);
    assert_eq!(get(&engine, b"k1"), Some(b"one".to_vec()));
    let keys: Vec<_> = scan(&engine, Unbounded, Unbounded)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, [b"k1".to_vec(), b"k3".to_vec()]);
    // Removing what is not there is no error.
    applied(&engine, &[remove(b"k2"), remove(b"never")]).unwrap();
    assert_eq!(get(&engine, b"k2"), None);
    // And a removed key can be set again.
    applied(&engine, &[set(b"k2", b"again")]).unwrap();
    assert_eq!(get(&engine, b"k2"), Some(b"again".to_vec()));
}

/// Many ranges listed at once list what a scan of each lists: its keys in bytewise order,
/// within its bounds (the start included, the end not), cut at its limit, each range on its
/// own even when they overlap, an empty one empty.
pub(crate) fn key_ranges_list_as_scans_do<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let keys: [&[u8]; 7] = [b"a", b"b\x00", b"b\x01", b"b\xff", b"b\xff\x00", b"c", b"d"];
    let writes: Vec<Write> = keys.iter().map(|key| set(key, b"v")).collect();
    applied(&engine, &writes).unwrap();
    let range = |start: &[u8], end: &[u8], limit: usize| KeyRange {
        start: start.to_vec(),
        end: end.to_vec(),
        limit,
    };
    let ranges = [
        range(b"b", b"b\xff\xff", 64),
        range(b"b", b"c", 2),
        range(b"a", b"d", 64),
        range(b"x", b"z", 64),
        range(b"c", b"c", 64),
    ];
    let listed = engine.keys_in_ranges(&ranges).unwrap();
    let expected: Vec<Vec<Vec<u8>>> = ranges
        .iter()
        .map(|r| {
            scan(&engine, Included(&r.start[..]), Excluded(&r.end[..]))
                .into_iter()
                .take(r.limit)
                .map(|(key, _)| key)
                .collect()
        })
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(listed[0].len(), 4, "b\\x00, b\\x01, b\\xff and b\\xff\\x00");
    assert_eq!(listed[1], [b"b\x00".to_vec(), b"b\x01".to_vec()]);
    assert_eq!(listed[2].len(), 6);
    assert!(listed[3].is_empty() && listed[4].is_empty());
    assert!(engine.keys_in_ranges(&[]).unwrap().is_empty());
}

/// The committer's batches hold every write of their mutations in order, so a key can be
/// written more than once in one batch.
pub(crate) fn the_last_write_of_a_key_in_a_batch_wins<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    applied(&engine, &[set(b"gone", b"before")]).unwrap();
    applied(
        &engine,
        &[
            set(b"twice", b"first"),
            set(b"twice", b"second"),
            set(b"set then removed", b"x"),
            remove(b"set then removed"),
            remove(b"gone"),
            set(b"gone", b"back"),
        ],
    )
    .unwrap();
    assert_eq!(get(&engine, b"twice"), Some(b"second".to_vec()));
    assert_eq!(get(&engine, b"set then removed"), None);
    assert_eq!(get(&engine, b"gone"), Some(b"back".to_vec()));
    assert_eq!(scan(&engine, Unbounded, Unbounded).len(), 2);
}

pub(crate) fn flushed_writes_survive_a_restart<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let many: Vec<Write> = (0..1_000u32)
        .map(|n| {
            set(
                &[b"m".as_slice(), &n.to_be_bytes()].concat(),
                &n.to_le_bytes(),
            )
        })
        .collect();
    {
        let engine = open(dir.path());
        applied(&engine, &many).unwrap();
        applied(
            &engine,
            &[
                set(b"empty", b""),
                set(b"removed", b"x"),
                set(b"kept", b"v"),
            ],
        )
        .unwrap();
        applied(&engine, &[remove(b"removed")]).unwrap();
        engine.flush().unwrap();
    }
    let engine = open(dir.path());
    assert_eq!(get(&engine, b"kept"), Some(b"v".to_vec()));
    assert_eq!(get(&engine, b"empty"), Some(Vec::new()));
    assert_eq!(get(&engine, b"removed"), None);
    let found = collect::<E>(engine.scan_prefix(b"m").unwrap());
    let expected: Vec<_> = many
        .into_iter()
        .map(|(key, value)| (key, value.expect("set")))
        .collect();
    assert_eq!(found, expected);
}

pub(crate) fn an_empty_value_is_not_a_missing_key<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    applied(&engine, &[set(b"empty", b"")]).unwrap();
    assert_eq!(get(&engine, b"empty"), Some(Vec::new()));
    assert_eq!(get(&engine, b"missing"), None);
    assert_eq!(
        scan(&engine, Unbounded, Unbounded),
        [(b"empty".to_vec(), Vec::new())]
    );
    applied(&engine, &[remove(b"empty")]).unwrap();
    assert_eq!(get(&engine, b"empty"), None);
}

/// What [`Engine::read_many`] reads, and a group as it begins, is what
/// [`Engine::get_many`] and [`Engine::keys_in_ranges`] read: values in the keys' order (a
/// key asked twice answered twice, a missing one `None`, an empty value empty, any byte
/// kept), and each range's keys. The group then writes and flushes as any other.
pub(crate) fn a_group_reads_first_what_gets_and_ranges_read<E: Engine>(open: impl Fn(&Path) -> E) {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let pairs: [(&[u8], &[u8]); 5] = [
        (b"a", b"1"),
        (b"b\x00", b""),
        (b"b\x01", b"\x00\xff'\\"),
        (b"b\xff", b"3"),
        (b"c", b"4"),
    ];
    let writes: Vec<Write> = pairs.iter().map(|(key, value)| set(key, value)).collect();
    applied(&engine, &writes).unwrap();
    let keys: Vec<Vec<u8>> = [&b"b\x01"[..], b"missing", b"a", b"b\x00", b"a", b"'"]
        .iter()
        .map(|key| key.to_vec())
        .collect();
    let ranges = [
        KeyRange {
            start: b"b".to_vec(),
            end: b"c".to_vec(),
            limit: 2,
        },
        KeyRange {
            start: b"x".to_vec(),
            end: b"z".to_vec(),
            limit: 8,
        },
        KeyRange {
            start: Vec::new(),
            end: b"\xff".to_vec(),
            limit: 64,
        },
    ];
    let values: Vec<Option<Vec<u8>>> = engine
        .get_many(&keys)
        .unwrap()
        .into_iter()
        .map(|value| value.map(|bytes| bytes.to_vec()))
        .collect();
    let listed = engine.keys_in_ranges(&ranges).unwrap();
    assert_eq!(values[1], None);
    assert_eq!(values[3], Some(Vec::new()));
    assert_eq!(listed[0], [b"b\x00".to_vec(), b"b\x01".to_vec()]);
    let owned = |read: FirstReads<E::Bytes>| {
        let values: Vec<Option<Vec<u8>>> = read
            .values
            .into_iter()
            .map(|value| value.map(|bytes| bytes.to_vec()))
            .collect();
        (values, read.ranges)
    };
    for (keys, ranges) in [(&keys[..], &ranges[..]), (&keys, &[]), (&[], &ranges)] {
        let (read_values, read_ranges) = owned(engine.read_many(keys, ranges).unwrap());
        assert_eq!(read_values, values[..keys.len()]);
        assert_eq!(read_ranges, listed[..ranges.len()]);
    }

    let read = owned(engine.begin_group_reading(&keys, &ranges).unwrap());
    assert_eq!(read, (values, listed));
    engine
        .apply(&[(b"d".as_slice(), Some(b"5".as_slice()))])
        .unwrap();
    engine.flush().unwrap();
    assert_eq!(get(&engine, b"d"), Some(b"5".to_vec()));

    let nothing = engine.begin_group_reading(&[], &[]).unwrap();
    assert!(nothing.values.is_empty() && nothing.ranges.is_empty());
    engine.flush().unwrap();
}
