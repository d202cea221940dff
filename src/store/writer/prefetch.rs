//! A shared engine's group reads its keys in a few queries instead of one per key.
//!
//! On PostgreSQL the writer checks a group while it holds every other server's writers
//! off, with the key filter off (other servers write keys it never sees), so each key a
//! check reads is a round trip to the database, one after another: a create reads about
//! five (its request id, identity, record, counters), and a group of 64 creates waited on
//! some 300 round trips. The same goes for the short key ranges checks list (a create's
//! duplicate-candidate blocks): each is a round trip too, and is read ahead with the rest. Which keys a check reads depends on what it finds (an identity
//! entry leads to a record), so no list of keys per mutation is kept by hand, to go stale
//! as rules change. Instead the writer finds them by running the group's checks against
//! what it has read so far, noting every key they asked for and did not find, reading all
//! of those in one query, and again, until a pass misses nothing or [`MOST_PASSES`] have
//! run. Then it stages the group for real, and every key found is served from here.
//!
//! A run that starts a group is read ahead twice. First before the writers' lock is
//! taken, while this server's group before is being committed or another server's group
//! holds the lock: that finds which keys the run reads, from values that may go stale.
//! Then the lock is taken and all of them are read again, in the same round trip
//! ([`crate::store::engine::Engine::begin_group_reading`]), and
//! [`Prefetched::read_again`] runs the passes once more for whatever the fresh values
//! lead to. So what is held here when staging starts is the engine as committed when the
//! group began: the writers' lock is held, this server's committer is idle (a shared
//! engine's groups do not overlap) and nothing else writes, so it stays true until the
//! group is handed over, and the group's own writes sit above it in [`super::Staged`].
//! It is emptied when the next group begins.
//!
//! The discovery passes see what checks see and write nothing anywhere: the store's
//! `apply` functions touch nothing but their [`super::Staged`], which is dropped. A check
//! that would write elsewhere (a log line, a counter) must not run in them.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::store::engine::{Engine, KeyRange};
use crate::store::Backend;

/// Passes after which keys still missed are read one by one as the checks ask for them:
/// three follow an identity entry to its record and that record's certificate entries.
pub(super) const MOST_PASSES: usize = 3;

/// Ranges listing more keys than this are read as the checks ask for them: a read ahead
/// is for the short ranges every create lists, not for scans.
pub(super) const MOST_RANGE_KEYS: usize = 256;

/// The values and ranges read for the group being staged, and while a pass runs, the
/// keys and ranges it missed.
#[derive(Default)]
pub(crate) struct Prefetched {
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    ranges: HashMap<KeyRange, Vec<Vec<u8>>>,
    /// Set during a discovery pass: a key not yet read is noted here and reads as absent.
    missed: Option<RefCell<BTreeSet<Vec<u8>>>>,
    /// Set during a discovery pass: a range not yet read is noted here and lists nothing.
    missed_ranges: Option<RefCell<BTreeSet<KeyRange>>>,
    /// The random draws of the checks (new registry and case numbers): the same, in the
    /// same order, in every pass and then in staging, so the keys a new number is
    /// checked under are the ones read ahead. Seeded afresh for each run of commands.
    seed: Cell<u64>,
    draws: RefCell<Option<StdRng>>,
}

/// What listing a range finds here.
pub(crate) enum FoundRange<'a> {
    /// Read already: its keys.
    Read(&'a [Vec<u8>]),
    /// Not read, in a discovery pass: noted, and to be taken as empty for now.
    Noted,
    /// Not read (or too long to read ahead): list it from the engine.
    Unknown,
}

/// What a read of `key` finds here.
pub(crate) enum Found<'a> {
    /// Read already: the value, or `None` for a key the engine does not hold.
    Read(&'a Option<Vec<u8>>),
    /// Not read, in a discovery pass: noted, and to be taken as absent for now.
    Noted,
    /// Not read: read it from the engine.
    Unknown,
}

impl Prefetched {
    pub(crate) fn find(&self, key: &[u8]) -> Found<'_> {
        if let Some(value) = self.values.get(key) {
            return Found::Read(value);
        }
        match &self.missed {
            Some(missed) => {
                missed.borrow_mut().insert(key.to_vec());
                Found::Noted
            }
            None => Found::Unknown,
        }
    }

    pub(crate) fn find_range(&self, range: &KeyRange) -> FoundRange<'_> {
        if range.limit > MOST_RANGE_KEYS {
            return FoundRange::Unknown;
        }
        if let Some(keys) = self.ranges.get(range) {
            return FoundRange::Read(keys);
        }
        match &self.missed_ranges {
            Some(missed) => {
                missed.borrow_mut().insert(range.clone());
                FoundRange::Noted
            }
            None => FoundRange::Unknown,
        }
    }

    /// Runs `draw` with the run's random numbers (see [`Prefetched::draws`]).
    pub(crate) fn draw<T>(&self, draw: impl FnOnce(&mut StdRng) -> T) -> T {
        let mut draws = self.draws.borrow_mut();
        draw(draws.get_or_insert_with(|| StdRng::seed_from_u64(self.seed.get())))
    }

    /// Starts the draws over, from the run's seed.
    fn rewind_draws(&self) {
        *self.draws.borrow_mut() = None;
    }

    /// Forgets every value and range: the next group reads afresh.
    pub(super) fn clear(&mut self) {
        self.values.clear();
        self.ranges.clear();
        self.missed = None;
        self.missed_ranges = None;
        self.seed.set(rand::random());
        self.rewind_draws();
    }

    /// Runs `pass` (the group's checks, against a [`super::Staged`] that reads from here)
    /// until it misses no key or range, reading what each pass missed in one query for
    /// the keys and one for the ranges. A failed read leaves the rest to the checks
    /// themselves, which meet the same fault and answer it.
    pub(super) fn discover(&mut self, engine: &Backend, mut pass: impl FnMut(&Prefetched)) {
        self.seed.set(rand::random());
        self.discover_passes(engine, &mut pass);
        // Staging draws what the passes drew.
        self.rewind_draws();
    }

    /// Every key and range read so far, forgotten here: what a run read ahead before the
    /// writers' lock, to be read again under it (see [`Prefetched::read_again`]).
    pub(super) fn take_asked(&mut self) -> (Vec<Vec<u8>>, Vec<KeyRange>) {
        let keys = self.values.drain().map(|(key, _)| key).collect();
        let ranges = self.ranges.drain().map(|(range, _)| range).collect();
        (keys, ranges)
    }

    /// Takes what was read again under the writers' lock (`values` of `keys`, `listed`
    /// keys of `ranges`, as [`Prefetched::take_asked`] gave them), then runs `pass` as
    /// [`Prefetched::discover`] does for whatever the fresher values lead to, with the
    /// run's draws unchanged. Under the lock, this replaces what other servers have
    /// committed since the run was read ahead.
    pub(super) fn read_again(
        &mut self,
        engine: &Backend,
        (keys, values): (Vec<Vec<u8>>, Vec<Option<Vec<u8>>>),
        (ranges, listed): (Vec<KeyRange>, Vec<Vec<Vec<u8>>>),
        mut pass: impl FnMut(&Prefetched),
    ) {
        self.values.extend(keys.into_iter().zip(values));
        self.ranges.extend(ranges.into_iter().zip(listed));
        self.discover_passes(engine, &mut pass);
        self.rewind_draws();
    }

    fn discover_passes(&mut self, engine: &Backend, pass: &mut impl FnMut(&Prefetched)) {
        for _ in 0..MOST_PASSES {
            self.rewind_draws();
            self.missed = Some(RefCell::new(BTreeSet::new()));
            self.missed_ranges = Some(RefCell::new(BTreeSet::new()));
            pass(self);
            let keys: Vec<Vec<u8>> = self
                .missed
                .take()
                .map(RefCell::into_inner)
                .into_iter()
                .flatten()
                .collect();
            let ranges: Vec<KeyRange> = self
                .missed_ranges
                .take()
                .map(RefCell::into_inner)
                .into_iter()
                .flatten()
                .collect();
            if keys.is_empty() && ranges.is_empty() {
                return;
            }
            if let Err(error) = self.read(engine, keys, ranges) {
                tracing::debug!(%error, "could not read a group's keys ahead");
                return;
            }
        }
    }

    fn read(
        &mut self,
        engine: &Backend,
        keys: Vec<Vec<u8>>,
        ranges: Vec<KeyRange>,
    ) -> Result<(), crate::store::StoreError> {
        let read = engine.read_many(&keys, &ranges)?;
        for (key, value) in keys.into_iter().zip(read.values) {
            self.values.insert(key, value.map(|v| v.to_vec()));
        }
        self.ranges.extend(ranges.into_iter().zip(read.ranges));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use rand::Rng;

    /// A pass like a check: reads `start`, then the key its value names, and so on.
    fn follow(prefetched: &Prefetched, start: &[u8], asked: &mut Vec<Vec<u8>>) {
        let mut key = start.to_vec();
        loop {
            asked.push(key.clone());
            match prefetched.find(&key) {
                Found::Read(Some(next)) => key = next.clone(),
                Found::Read(None) | Found::Noted => return,
                Found::Unknown => panic!("a pass reads nothing from the engine"),
            }
        }
    }

    #[test]
    fn staging_draws_the_numbers_the_passes_drew() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Backend::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut prefetched = Prefetched::default();
        let mut passes: Vec<Vec<u64>> = Vec::new();
        prefetched.discover(&engine, |prefetched| {
            let drawn: Vec<u64> = (0..3).map(|_| prefetched.draw(|rng| rng.gen())).collect();
            // A pass reads a key drawn, so the next pass runs.
            let _ = prefetched.find(&drawn[0].to_be_bytes());
            passes.push(drawn);
        });
        assert!(passes.len() > 1);
        assert!(passes.windows(2).all(|two| two[0] == two[1]));
        let staged: Vec<u64> = (0..3).map(|_| prefetched.draw(|rng| rng.gen())).collect();
        assert_eq!(staged, passes[0], "staging replays the passes' draws");
        // The next run draws others.
        prefetched.discover(&engine, |_| {});
        let next: Vec<u64> = (0..3).map(|_| prefetched.draw(|rng| rng.gen())).collect();
        assert_ne!(next, staged);
    }

    #[test]
    fn passes_follow_what_they_find_and_stop_once_nothing_is_missed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Backend::open(dir.path(), &StoreOptions::default()).unwrap();
        engine
            .apply(&[
                (b"a".to_vec(), Some(b"b".to_vec())),
                (b"b".to_vec(), Some(b"c".to_vec())),
            ])
            .unwrap();
        let mut prefetched = Prefetched::default();
        let mut passes = Vec::new();
        prefetched.discover(&engine, |prefetched| {
            let mut asked = Vec::new();
            follow(prefetched, b"a", &mut asked);
            passes.push(asked);
        });
        // Each pass goes one key further down the chain (a; a, b; a, b, c), and what the
        // last pass missed is read too: c, which the engine does not hold.
        assert_eq!(passes.len(), MOST_PASSES);
        assert_eq!(passes[0], [b"a".to_vec()]);
        assert_eq!(passes[1], [b"a".to_vec(), b"b".to_vec()]);
        for (key, value) in [
            (&b"a"[..], Some(&b"b"[..])),
            (b"b", Some(b"c")),
            (b"c", None),
        ] {
            match prefetched.find(key) {
                Found::Read(read) => assert_eq!(read.as_deref(), value),
                _ => panic!("{key:?} was not read ahead"),
            }
        }
        // Outside a pass, a key never read is left to the engine.
        assert!(matches!(prefetched.find(b"z"), Found::Unknown));
        prefetched.clear();
        assert!(matches!(prefetched.find(b"a"), Found::Unknown));
    }
}
