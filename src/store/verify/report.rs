//! What `verify` found: counts, and the problems described.
//!
//! Apart from the check itself (`store::verify`) because each part of the store checks its
//! own records into the report (`history`, `requests`, the identity merges, evaluation)
//! while the check calls those parts: here the report names nothing of the store.

/// Problems listed in full; beyond this only their number is kept.
const MAX_LISTED: usize = 100;

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    /// Cases (see `store::cases`).
    pub cases: u64,
    /// Consultations recorded (see `store::cases::report`).
    pub consultations: u64,
    /// Title applications (see `store::evaluation`).
    pub applications: u64,
    pub index_entries: u64,
    pub counters: u64,
    pub changes: u64,
    /// Request ids remembered (see `store::requests`).
    pub request_ids: u64,
    /// Revision entries of teachers' histories (see `store::history`).
    pub revision_entries: u64,
    /// Teachers whose history reaches back to their creation.
    pub complete_histories: u64,
    pub oldest_revision: u64,
    pub revision: u64,
    /// The first problems found, described.
    pub problems: Vec<String>,
    /// How many problems in all.
    pub problem_count: u64,
}

impl VerifyReport {
    pub(crate) fn problem(&mut self, description: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(description);
        }
    }

    pub fn is_consistent(&self) -> bool {
        self.problem_count == 0
    }
}
