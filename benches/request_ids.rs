//! What request ids cost on disk: N creates through the store, each with its own request id,
//! then the request records' expiry, trim and compaction.
//!
//! ```sh
//! cargo bench --bench request_ids -- [N] [IN_FLIGHT]      # default 1000000, 256
//! ```
//!
//! Uses the library directly (no gRPC): opens a [`Store`] in a fresh temporary directory with
//! a request-id retention of 5 s, creates N distinct valid teachers with
//! `WriteContext::new("bench", Some("req-{n}"))`, IN_FLIGHT at a time, and reports the
//! data directory's size, sled's `size_on_disk`, and the keys and bytes under each one-byte
//! key prefix (counted by opening the stopped directory with sled). Then it opens the store
//! again, waits until every request id is past the retention, trims them
//! (`Store::trim_request_ids`), reports again, compacts the stopped directory
//! (`store::compact`, as `teacher-registry compact` does), and reports a last time.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use teacher_registry::domain::{
    Choice, EmploymentStatus, Gender, IdDocumentType, LegacyTitle, TeacherInput,
};
use teacher_registry::store::{compact, Store, StoreOptions, WriteContext};

const RETENTION: Duration = Duration::from_secs(5);
fn main() -> anyhow::Result<()> {
    let (count, in_flight) = common::count_and_in_flight(1_000_000, "creates")?;
    let temp = tempfile::tempdir()?;
    let dir = temp.path().join("data");
    println!("{}", common::machine_at_start());
    println!(
        "run       {count} creates with request ids, {in_flight} in flight, retention {} s, in {}",
        RETENTION.as_secs(),
        dir.display()
    );
    let options = StoreOptions {
        request_id_retention: RETENTION,
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    let store = Store::open(&dir, &options)?;
    let started = Instant::now();
    runtime.block_on(create(&store, count, in_flight))?;
    let created = Instant::now();
    let elapsed = created - started;
    println!(
        "created   {count} in {:.1} s: {:.0} creates/s",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    let sled_size = store.size_on_disk()?;
    drop(store);
    report("after the creates", &dir, Some(sled_size))?;

    let store = Store::open(&dir, &options)?;
    let expired = created + RETENTION + Duration::from_secs(1);
    std::thread::sleep(expired.saturating_duration_since(Instant::now()));
    let trim_started = Instant::now();
    let forgotten = runtime.block_on(store.trim_request_ids())?;
    println!(
        "trimmed   {forgotten} request ids in {:.1} s",
        trim_started.elapsed().as_secs_f64()
    );
    let sled_size = store.size_on_disk()?;
    drop(store);
    report("after expiry and trim", &dir, Some(sled_size))?;

    let compact_started = Instant::now();
    let compacted = compact(&dir)?;
    println!(
        "compacted {} pairs in {:.1} s, {} -> {} bytes",
        compacted.pairs,
        compact_started.elapsed().as_secs_f64(),
        compacted.bytes_before,
        compacted.bytes_after
    );
    report("after compact", &dir, None)?;
    Ok(())
}

async fn create(store: &Store, count: u64, in_flight: usize) -> anyhow::Result<()> {
    let today = teacher_registry::clock::today();
    futures::stream::iter(0..count)
        .map(|n| {
            let store = store.clone();
            async move {
                let validated = teacher(n)
                    .validate(today)
                    .map_err(|v| anyhow::anyhow!("teacher {n} is invalid: {v:?}"))?;
                let context = WriteContext::new("bench", Some(format!("req-{n}")));
                store
                    .create_teacher(validated, context)
                    .await
                    .with_context(|| format!("create {n}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(in_flight)
        .try_collect()
        .await
}

/// The data directory's size, sled's own figure when the store was open, and the keys and
/// bytes (key + value) under each prefix of the stopped directory.
fn report(when: &str, dir: &Path, sled_size: Option<u64>) -> anyhow::Result<()> {
    let on_disk = teacher_registry::store::directory_size(dir)?;
    println!("{when}:");
    match sled_size {
        Some(sled) => println!(
            "  disk    data directory {} ({on_disk} bytes), sled size_on_disk {} ({sled} bytes)",
            mib(on_disk),
            mib(sled)
        ),
        None => println!(
            "  disk    data directory {} ({on_disk} bytes)",
            mib(on_disk)
        ),
    }
    let prefixes = common::keys_by_prefix(dir)?;
    let (keys, bytes) = prefixes
        .values()
        .fold((0, 0), |(k, b), (keys, bytes)| (k + keys, b + bytes));
    println!("  keys    {keys} in all, {} of keys and values", mib(bytes));
    for (prefix, (keys, bytes)) in prefixes {
        println!(
            "          {:<3} {keys:>9} keys {:>12}",
            char::from(prefix),
            mib(bytes)
        );
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Teacher `n` of the bench roster (the same as `benches/load`'s), as the store takes it.
fn teacher(n: u64) -> TeacherInput {
    let person = common::roster::person(n);
    TeacherInput {
        id_document_type: Choice::Known(IdDocumentType::ResidentIdCard),
        national_id: person.national_id,
        name: person.name,
        gender: Choice::Known(if person.male {
            Gender::Male
        } else {
            Gender::Female
        }),
        birth_date: person.birth_date,
        county_code: person.county_code,
        school: person.school,
        employment_status: Choice::Known(EmploymentStatus::Active),
        legacy_title: match person.legacy_title {
            Some(place) => Choice::Known(LegacyTitle::ALL[place]),
            None => Choice::Unset,
        },
        legacy_title_limited_scope: false,
    }
}
