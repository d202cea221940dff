//! The change feed, backups and restores, trims, read audit and checks of [`Store`].
//!
//! Apart from the handle (`store`) to keep it readable, and named by nothing in the store:
//! these methods call into the parts (`changes`, `backup`, `requests`, `audit`, `verify`)
//! and the writer, and no part calls them.

use tokio::sync::watch;

use crate::domain::case::CaseId;
use crate::domain::{CountyCode, Teacher, TeacherId};
use crate::store::engine::Engine;
use crate::store::writer::{self, Command};
use crate::store::{
    audit, backup, changes, requests, verify, AuditPage, AuditQuery, ChangePage, Changed,
    RestorePart, Retention, Snapshot, Store, StoreError, VerifyReport, WriteStatsSnapshot,
};

impl Store {
    /// Changes after revision `after`, oldest first, at most `limit`, all or one county's
    /// (a county sees the changes of teachers who are or were in it), optionally only those
    /// made by one principal. ResyncRequired when `after` is older than the retained log.
    pub fn list_changes(
        &self,
        after: u64,
        limit: usize,
        county: Option<&CountyCode>,
        principal: Option<&str>,
    ) -> Result<ChangePage, StoreError> {
        let current = *self.inner.committed.borrow();
        let mut page = changes::list(self.engine(), current, after, limit, county, principal)?;
        let today = crate::clock::today();
        for view in page.changes.iter_mut().filter_map(|c| c.case.as_mut()) {
            view.clock = view.case.clock(&self.inner.window_rules, today);
        }
        Ok(page)
    }

    /// Follows the revision of the last change on disk; changes whenever a group commits.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.committed.clone()
    }

    /// Trims the change log down to what `retention` keeps, through the writer, in steps
    /// that never hold writers up for long. Returns the oldest revision kept.
    pub async fn trim_change_log(&self, retention: &Retention) -> Result<u64, StoreError> {
        let keep_from = changes::retention_cutoff(self.engine(), retention)?;
        loop {
            let oldest = self
                .ask(|reply| Command::TrimChanges { keep_from, reply })
                .await?;
            if oldest >= keep_from || oldest >= self.revision()? {
                return Ok(oldest);
            }
        }
    }

    /// Forgets the request ids made longer ago than the retention window (see [`requests`]), through
    /// the writer, in steps that never hold writers up for long. Answers how many it forgot.
    pub async fn trim_request_ids(&self) -> Result<u64, StoreError> {
        let before = requests::kept_since(crate::clock::now(), self.inner.request_id_retention);
        let mut forgotten = 0;
        loop {
            let removed = self
                .ask(|reply| Command::TrimRequests { before, reply })
                .await?;
            forgotten += removed;
            if removed < writer::MAX_TRIM {
                return Ok(forgotten);
            }
        }
    }

    /// Stores read-audit entries (see [`audit`]); answers once they are on disk.
    pub async fn audit(
        &self,
        entries: Vec<crate::domain::audit::AuditEntry>,
    ) -> Result<(), StoreError> {
        self.ask(|reply| Command::Audit { entries, reply }).await
    }

    /// Forgets the audit entries older than the audit retention, through the writer, in
    /// bounded steps. Answers how many it forgot.
    pub async fn trim_audit(&self) -> Result<u64, StoreError> {
        let before = requests::kept_since(crate::clock::now(), self.inner.audit_retention);
        let mut forgotten = 0;
        loop {
            let removed = self
                .ask(|reply| Command::TrimAudit { before, reply })
                .await?;
            forgotten += removed;
            if removed < writer::MAX_TRIM {
                return Ok(forgotten);
            }
        }
    }

    /// A page of the read audit, oldest first.
    pub fn list_audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        audit::list(self.engine(), query)
    }

    /// The oldest revision still in the change log.
    pub fn oldest_revision(&self) -> Result<u64, StoreError> {
        changes::oldest_revision(self.engine())
    }

    /// The revision of the last committed change.
    pub fn revision(&self) -> Result<u64, StoreError> {
        changes::read_revision(self.engine())
    }

    /// The revision of the last change on disk, as the change feed reports it.
    pub fn committed_revision(&self) -> u64 {
        *self.inner.committed.borrow()
    }

    /// Up to `limit` teachers in registry-number order after `after`, for a backup scan;
    /// each is committed, but they may be of different moments (see [`Snapshot`]).
    pub fn teachers_after(
        &self,
        after: Option<&TeacherId>,
        limit: usize,
    ) -> Result<Vec<Teacher>, StoreError> {
        backup::teachers_after(self.engine(), after, limit)
    }

    /// Up to `limit` cases in case-number order, after `after` (for backups).
    pub fn cases_after(
        &self,
        after: Option<&CaseId>,
        limit: usize,
    ) -> Result<Vec<crate::domain::case::Case>, StoreError> {
        backup::cases_after(self.engine(), after, limit)
    }

    /// The current records of the teachers and cases changed in (`after`, `until`].
    pub fn changed_records(&self, after: u64, until: u64) -> Result<Changed, StoreError> {
        backup::changed_records(self.engine(), after, until)
    }

    /// The teachers changed after `after`, read by the writer between two groups, and the
    /// revision they are exactly as at.
    pub async fn snapshot(&self, after: u64) -> Result<Snapshot, StoreError> {
        self.ask(|reply| Command::Snapshot { after, reply }).await
    }

    /// Change-log events in (`after`, `until`], at most `limit`, oldest first.
    pub fn change_events(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::ChangeEvent>, StoreError> {
        backup::change_events(self.engine(), after, until, limit)
    }

    /// Applies one step of a restore from backup, atomically, through the writer.
    pub async fn restore(&self, part: RestorePart) -> Result<(), StoreError> {
        self.ask(|reply| Command::Restore { part, reply }).await
    }

    /// Checks every invariant of the stored data (see [`VerifyReport`]); reads only.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify::verify(self.engine())
    }

    /// Counters of the write path since the store was opened.
    pub fn write_stats(&self) -> WriteStatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// The database's size on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.engine().size_on_disk()
    }
}
