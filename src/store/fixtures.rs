//! What the store's unit tests set up again and again: teachers created through the write
//! path, a store closed off the runtime's threads, and a verification expected to find a
//! problem. Kept in one place so that each test
//! module states only what it checks.

use crate::domain::fixtures::numbered_input;
use crate::domain::TeacherId;
use crate::store::{Store, WriteContext};

/// Creates the numbered teachers `0..count` (see `domain::fixtures::numbered_input`)
/// through the write path; answers their registry numbers in that order.
pub(crate) async fn create_numbered_teachers(store: &Store, count: u32) -> Vec<TeacherId> {
    let mut ids = Vec::new();
    for n in 0..count {
        let validated = numbered_input(n).validate(crate::clock::today()).unwrap();
        let outcome = store
            .create_teacher(validated, WriteContext::new("test", None))
            .await
            .unwrap();
        ids.push(outcome.teacher.id);
    }
    ids
}

/// Drops `store` on a blocking thread: closing waits for the writer's final flush, which
/// must not hold a runtime thread.
pub(crate) async fn close(store: Store) {
    tokio::task::spawn_blocking(move || drop(store))
        .await
        .unwrap();
}

/// Checks `store` and asserts that a problem found satisfies `found`, naming every problem
/// found when none does.
#[track_caller]
pub(crate) fn assert_problem(store: &Store, found: impl Fn(&str) -> bool) {
    let problems = store.verify().unwrap().problems;
    assert!(problems.iter().any(|p| found(p)), "{problems:?}");
}
