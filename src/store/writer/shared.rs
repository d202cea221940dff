//! The writer's work on a shared engine (several servers on one PostgreSQL database):
//! a group holds every other server's writers off from its begin to its commit, so what
//! can be done before the writers' lock is done there.
//!
//! Apart from the writer's loop (`store::writer`) because it is the one part of it that
//! only a shared engine runs: a reader of the single-server write path can skip it.

use std::time::Instant;

use tokio::sync::mpsc;

use super::command::{Answer, Command};
use super::prefetch::Prefetched;
use super::stats::add_micros;
use super::{dispatch, Staged, Writer, MAX_GROUP};
use crate::store::engine::{Engine, KeyRange};
use crate::store::{changes, keys, StoreError};

/// Where a shared engine's run of commands is read ahead (see [`Writer::take_shared`]).
enum Ahead {
    /// A run that starts a group, before the writers' lock is taken.
    BeforeTheLock,
    /// The same run, under the lock: what other servers committed meanwhile, read as the
    /// lock was taken.
    AgainUnderTheLock(ReadAgain),
    /// A later run of a group that holds the lock.
    InTheGroup,
}

/// What a run read ahead before the writers' lock holds once the lock is taken: its keys
/// and their values, its ranges and their keys.
#[derive(Default)]
pub(super) struct ReadAgain {
    keys: (Vec<Vec<u8>>, Vec<Option<Vec<u8>>>),
    ranges: (Vec<KeyRange>, Vec<Vec<Vec<u8>>>),
}

impl Writer {
    /// `first` and the commands queued behind it, as many as the group has room for.
    pub(super) fn queued_after(
        &self,
        first: Command,
        receiver: &mut mpsc::Receiver<Command>,
    ) -> Vec<Command> {
        let mut batch = vec![first];
        while self.staging.answers.len() + batch.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        batch
    }

    /// Takes commands on a shared engine: each run of them between snapshots is checked
    /// once ahead to read its keys in a few queries (see [`prefetch`]), then staged. A run
    /// that starts a group is read ahead before the writers' lock is taken, while this
    /// server's group before is committed or another server's holds the lock, and only
    /// read again under it, so the lock is held for as little as staging needs.
    pub(super) async fn take_shared(&mut self, batch: Vec<Command>, committer_free: &mut bool) {
        let mut batch = std::collections::VecDeque::from(batch);
        while let Some(command) = batch.pop_front() {
            if matches!(command, Command::Snapshot { .. }) {
                self.take(command, committer_free).await;
                continue;
            }
            let end = batch
                .iter()
                .position(|command| matches!(command, Command::Snapshot { .. }))
                .unwrap_or(batch.len());
            let mut run: Vec<Command> =
                std::iter::once(command).chain(batch.drain(..end)).collect();
            if self.staging.answers.is_empty() {
                self.prefetched.clear();
                self.read_ahead(&run, Ahead::BeforeTheLock);
                self.wait_for_committer(committer_free).await;
                let asked = self.prefetched.take_asked();
                match self.begin_shared_group_reading(asked) {
                    Ok(again) => self.read_ahead(&run, Ahead::AgainUnderTheLock(again)),
                    Err(error) => {
                        // The first is refused; the others try a group of their own.
                        let rest = run.split_off(1);
                        for command in rest.into_iter().rev() {
                            batch.push_front(command);
                        }
                        run.into_iter()
                            .for_each(|command| Answer::refused(command, &error).send());
                        continue;
                    }
                }
            } else {
                self.read_ahead(&run, Ahead::InTheGroup);
            }
            for command in run {
                self.stage(command);
            }
            // Every command refused (a fault not yet over): the group staged nothing, and
            // must not hold the other servers' writers off until the next command.
            if self.staging.answers.is_empty() {
                self.end_empty_group();
            }
        }
    }

    /// Reads the keys `commands` will read, by checking them against a copy that writes
    /// nowhere (see [`prefetch`]).
    fn read_ahead(&mut self, commands: &[Command], ahead: Ahead) {
        if self.fault.is_some() || self.committer_gone.is_some() {
            return;
        }
        let started = Instant::now();
        let mut prefetched = std::mem::take(&mut self.prefetched);
        // Before the lock, the group this server is committing may still be in flight:
        // its keys are read from the engine like any other, to be read again under the
        // lock with the rest, rather than taken from it and then missed there.
        let committing = match ahead {
            Ahead::BeforeTheLock => None,
            Ahead::AgainUnderTheLock(_) | Ahead::InTheGroup => self.committing.as_deref(),
        };
        let pass = |prefetched: &Prefetched| {
            for command in commands {
                let mut staged = Staged::new(
                    &self.engine,
                    &self.filter,
                    committing,
                    &self.staging.pending,
                    self.revision,
                )
                .reading_ahead(prefetched);
                dispatch::check(&mut staged, command, &self.request_ids, &self.window_rules);
            }
        };
        let counter = match ahead {
            Ahead::BeforeTheLock | Ahead::InTheGroup => {
                prefetched.discover(&self.engine, pass);
                &self.stats.read_ahead_micros
            }
            Ahead::AgainUnderTheLock(again) => {
                prefetched.read_again(&self.engine, again.keys, again.ranges, pass);
                &self.stats.read_again_micros
            }
        };
        self.prefetched = prefetched;
        add_micros(counter, started);
    }

    /// Waits until the committer has written the group it holds, if it holds one.
    pub(super) async fn wait_for_committer(&mut self, committer_free: &mut bool) {
        if !*committer_free {
            let started = Instant::now();
            let report = self.reports.recv().await;
            add_micros(&self.stats.wait_micros, started);
            *committer_free = true;
            self.hear(report);
        }
        self.committing = None;
    }

    /// A shared engine's group starts by holding the other servers' writers off (see
    /// [`Engine::begin_group`]) and taking the revision their groups reached.
    pub(super) fn begin_shared_group(&mut self) -> Result<(), StoreError> {
        self.begin_shared_group_reading(Default::default())
            .map(drop)
    }

    /// [`Writer::begin_shared_group`], reading again in the same step the keys and ranges
    /// `asked` (see [`Engine::begin_group_reading`]): on PostgreSQL, one round trip
    /// under the lock instead of four.
    fn begin_shared_group_reading(
        &mut self,
        (mut keys, ranges): (Vec<Vec<u8>>, Vec<KeyRange>),
    ) -> Result<ReadAgain, StoreError> {
        let started = Instant::now();
        keys.push(keys::META_REVISION.to_vec());
        let read = self.engine.begin_group_reading(&keys, &ranges)?;
        let mut values: Vec<Option<Vec<u8>>> = read
            .values
            .into_iter()
            .map(|value| value.map(|bytes| bytes.to_vec()))
            .collect();
        keys.pop();
        let revision = changes::revision_in(values.pop().flatten().as_deref())?;
        add_micros(&self.stats.begin_micros, started);
        if self.fault.is_none() && self.committer_gone.is_none() {
            self.publish(revision);
        }
        Ok(ReadAgain {
            keys: (keys, values),
            ranges: (ranges, read.ranges),
        })
    }

    /// Lets the other servers' writers in again after a group that staged nothing.
    pub(super) fn end_empty_group(&mut self) {
        if let Err(error) = self.engine.flush() {
            tracing::warn!(%error, "could not end an empty group");
            let _ = self.engine.recover(&error);
        }
    }
}
