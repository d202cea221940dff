//! What keeping every change costs (issue 22, item 1): N creates, then N updates that
//! each move one teacher to another school, through the store's one write path.
//!
//! ```sh
//! cargo bench --bench history -- [N] [IN_FLIGHT]      # default 100000, 256
//! ```
//!
//! Uses the library directly (no gRPC, no request ids), so the rates are the write path's
//! own, where a revision entry is staged, and not the network's. After each phase it
//! reports the data directory's size and the keys and bytes (key + value) under each
//! one-byte key prefix of the stopped directory (`H` is the history; `R` the records).
//! It uses only the store API that was there before revisions, so the same file runs on
//! the commit before them for the figures "against before" in `benches/README.md`.

mod common;

use common::{load_average, Prefixes};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use teacher_registry::domain::{
    resident_check_character, Choice, EmploymentStatus, Gender, IdDocumentType, TeacherField,
    TeacherInput,
};
use teacher_registry::store::{Store, StoreOptions, Target, TeacherChange, WriteContext};

fn main() -> anyhow::Result<()> {
    let (count, in_flight) = common::count_and_in_flight(100_000, "teachers")?;
    let temp = tempfile::tempdir()?;
    let dir = temp.path().join("data");
    println!("{}", common::machine_at_start());
    println!("run       {count} creates, then {count} school moves, {in_flight} in flight");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let options = StoreOptions::default();

    let store = Store::open(&dir, &options)?;
    let started = Instant::now();
    let ids = runtime.block_on(create(&store, count, in_flight))?;
    rate("created", count, started);
    drop(store);
    let after_creates = report("after the creates", &dir)?;

    let store = Store::open(&dir, &options)?;
    let started = Instant::now();
    runtime.block_on(move_schools(&store, ids, in_flight))?;
    rate("moved", count, started);
    drop(store);
    let after_moves = report("after the school moves", &dir)?;

    let per = |bytes: u64| bytes as f64 / count as f64;
    let history = |prefixes: &Prefixes| prefixes.get(&b'H').map_or(0, |(_, bytes)| *bytes);
    let all = |prefixes: &Prefixes| prefixes.values().map(|(_, bytes)| bytes).sum::<u64>();
    println!(
        "per create  {:.0} bytes of keys and values, {:.0} of them history",
        per(all(&after_creates)),
        per(history(&after_creates))
    );
    println!(
        "per move    {:.0} bytes of keys and values, {:.0} of them history",
        per(all(&after_moves) - all(&after_creates)),
        per(history(&after_moves) - history(&after_creates))
    );
    Ok(())
}

fn rate(what: &str, count: u64, started: Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{what:<9} {count} in {elapsed:.1} s: {:.0}/s (load average {} after)",
        count as f64 / elapsed,
        load_average()
    );
}

async fn create(store: &Store, count: u64, in_flight: usize) -> anyhow::Result<Vec<Target>> {
    let today = teacher_registry::clock::today();
    let mut results = futures::stream::iter(0..count)
        .map(|n| {
            let store = store.clone();
            async move {
                let validated = teacher(n, "第一中学")
                    .validate(today)
                    .map_err(|v| anyhow::anyhow!("teacher {n} is invalid: {v:?}"))?;
                let outcome = store
                    .create_teacher(validated, WriteContext::new("bench", None))
                    .await
                    .with_context(|| format!("create {n}"))?;
                anyhow::Ok((n, outcome.teacher.id))
            }
        })
        .buffer_unordered(in_flight);
    let mut ids = Vec::with_capacity(count as usize);
    while let Some(result) = results.next().await {
        ids.push(result?);
    }
    ids.sort_by_key(|(n, _)| *n);
    Ok(ids.into_iter().map(|(_, id)| Target::Teacher(id)).collect())
}

/// Moves every teacher to 第二中学: an update of one field, the most common change.
async fn move_schools(store: &Store, ids: Vec<Target>, in_flight: usize) -> anyhow::Result<()> {
    futures::stream::iter(ids.into_iter().enumerate())
        .map(|(n, target)| {
            let store = store.clone();
            async move {
                let change = TeacherChange::Update {
                    patch: teacher(n as u64, "第二中学"),
                    mask: vec![TeacherField::School],
                };
                store
                    .change_teacher(target, None, change, WriteContext::new("bench", None))
                    .await
                    .with_context(|| format!("move {n}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(in_flight)
        .try_collect()
        .await
}

/// The data directory's size, and the keys and bytes under each prefix of the stopped
/// directory.
fn report(when: &str, dir: &Path) -> anyhow::Result<Prefixes> {
    println!("{when}:");
    println!(
        "  disk    data directory {} bytes",
        teacher_registry::store::directory_size(dir)?
    );
    let prefixes = common::keys_by_prefix(dir)?;
    for (prefix, (keys, bytes)) in &prefixes {
        println!(
            "          {:<3} {keys:>9} keys {bytes:>12} bytes",
            char::from(*prefix)
        );
    }
    Ok(prefixes)
}

/// Teacher `n` (distinct below 1,000,000), in county 350702, at `school`.
fn teacher(n: u64, school: &str) -> TeacherInput {
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date")
        + chrono::Days::new(n / 1000 * 7 % 14_000);
    let first17 = format!("350702{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let check = resident_check_character(first17.as_bytes());
    TeacherInput {
        id_document_type: Choice::Known(IdDocumentType::ResidentIdCard),
        national_id: format!("{first17}{check}"),
        name: format!("教师{n}"),
        gender: Choice::Known(if n % 1000 % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }),
        birth_date: birth.format("%Y-%m-%d").to_string(),
        county_code: "350702".into(),
        school: school.into(),
        employment_status: Choice::Known(EmploymentStatus::Active),
        legacy_title: Choice::Unset,
        legacy_title_limited_scope: false,
    }
}
