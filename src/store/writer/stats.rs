//! Counters of the write path.
//!
//! Apart from the writer's loop (`store::writer`) because the committer and the key
//! filter count in them too, and they are its children: here they name no part of it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Counters of the write path, for benchmarks and metrics.
#[derive(Debug, Default)]
pub(crate) struct WriteStats {
    pub(super) groups: AtomicU64,
    pub(super) mutations: AtomicU64,
    pub(super) flush_micros: AtomicU64,
    pub(super) begin_micros: AtomicU64,
    pub(super) read_ahead_micros: AtomicU64,
    pub(super) read_again_micros: AtomicU64,
    pub(super) stage_micros: AtomicU64,
    pub(super) wait_micros: AtomicU64,
    pub(super) faulted: AtomicBool,
    pub(super) key_filter_ready: AtomicBool,
}

/// A point-in-time copy of [`WriteStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStatsSnapshot {
    /// Batches applied and flushed.
    pub groups: u64,
    /// Commands answered (mutations accepted or refused, log trims) in those groups.
    pub mutations: u64,
    /// Time spent applying and flushing batches.
    pub flush_micros: u64,
    /// On a shared engine: time spent starting groups (the writers' lock, the revision).
    pub begin_micros: u64,
    /// On a shared engine: time spent reading groups' keys ahead (see `writer::prefetch`).
    pub read_ahead_micros: u64,
    /// On a shared engine: time spent reading a group's keys again once the writers' lock
    /// is taken, with what other servers committed meanwhile.
    pub read_again_micros: u64,
    /// Time spent staging commands (checks and writes, against memory and the engine).
    pub stage_micros: u64,
    /// On a shared engine: time the writer waited for the group before to be written.
    pub wait_micros: u64,
    /// Whether writes are refused because the disk refuses them.
    pub faulted: bool,
    /// Whether the key filter holds every key in storage, so writes skip reads of keys
    /// that cannot be there (see `store::writer::filter`).
    pub key_filter_ready: bool,
}

impl WriteStats {
    pub(crate) fn snapshot(&self) -> WriteStatsSnapshot {
        WriteStatsSnapshot {
            groups: self.groups.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
            flush_micros: self.flush_micros.load(Ordering::Relaxed),
            begin_micros: self.begin_micros.load(Ordering::Relaxed),
            read_ahead_micros: self.read_ahead_micros.load(Ordering::Relaxed),
            read_again_micros: self.read_again_micros.load(Ordering::Relaxed),
            stage_micros: self.stage_micros.load(Ordering::Relaxed),
            wait_micros: self.wait_micros.load(Ordering::Relaxed),
            faulted: self.faulted.load(Ordering::Relaxed),
            key_filter_ready: self.key_filter_ready.load(Ordering::Relaxed),
        }
    }
}

/// Adds the time since `started` to a counter of [`WriteStats`].
pub(super) fn add_micros(counter: &AtomicU64, started: Instant) {
    counter.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
}
