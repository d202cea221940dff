//! Finding 9: one principal taking the server from the others.
//!
//! One reader with 256 concurrent 1,000-row pages raised another county's statistics call
//! from 0.5 ms to 45 ms median. Each principal now has a rate of requests and of rows a
//! second, by role; past it, RESOURCE_EXHAUSTED.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use teacher_registry::api::pb;
use teacher_registry::api::{default_rates, RoleRate};
use teacher_registry::auth::Role;
use teacher_registry::server::ServerOptions;
use tonic::Code;

use super::harness::{as_token, secured, A, B};
use crate::common::teacher;

/// What a flood did: the victim's median statistics latency before and during it, the
/// rows the flooding reader was sent and the pages it was refused.
struct Flood {
    quiet: Duration,
    flooded: Duration,
    rows: u64,
    refused: u64,
}

/// The delay a RESOURCE_EXHAUSTED answer's RetryInfo asks for.
fn retry_delay(status: &tonic::Status) -> Duration {
    use tonic_types::StatusExt;
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .unwrap_or(Duration::from_millis(10))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

async fn flood(
    rates: HashMap<Role, RoleRate>,
    teachers: u32,
    concurrency: usize,
    page_size: i32,
    wait_retry_info: bool,
) -> Flood {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        rates,
        ..Default::default()
    };
    let (server, tokens) = secured(dir.path(), options).await;
    let admin = as_token(&server, &tokens.admin).await;
    let mut creates = Vec::new();
    for n in 0..teachers {
        let mut client = admin.clone();
        creates.push(tokio::spawn(async move {
            client
                .create_teacher(pb::CreateTeacherRequest {
                    teacher: Some(teacher(n, if n % 2 == 0 { A } else { B })),
                    request_id: String::new(),
                })
                .await
                .unwrap();
        }));
        if creates.len() == 64 {
            for create in creates.drain(..) {
                create.await.unwrap();
            }
        }
    }
    for create in creates {
        create.await.unwrap();
    }
    let victim = as_token(&server, &tokens.county_b).await;
    let statistics = || {
        let mut victim = victim.clone();
        async move {
            let started = Instant::now();
            victim
                .get_statistics(pb::GetStatisticsRequest::default())
                .await
                .unwrap();
            started.elapsed()
        }
    };
    let mut quiet = Vec::new();
    for _ in 0..50 {
        quiet.push(statistics().await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let rows = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for _ in 0..concurrency.div_ceil(64) {
        let reader = as_token(&server, &tokens.reader).await;
        for _ in 0..64.min(concurrency) {
            let mut reader = reader.clone();
            let (stop, rows, refused) = (stop.clone(), rows.clone(), refused.clone());
            flooders.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let page = reader
                        .list_teachers(pb::ListTeachersRequest {
                            page_size,
                            ..Default::default()
                        })
                        .await;
                    match page {
                        Ok(page) => {
                            let n = page.into_inner().teachers.len() as u64;
                            rows.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(status) => {
                            assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                            refused.fetch_add(1, Ordering::Relaxed);
                            // A well-behaved client waits the RetryInfo; a flood may not.
                            match wait_retry_info {
                                true => tokio::time::sleep(retry_delay(&status)).await,
                                false => tokio::task::yield_now().await,
                            }
                        }
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut flooded = Vec::new();
    for _ in 0..50 {
        flooded.push(statistics().await);
    }
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.unwrap();
    }
    drop(victim);
    Flood {
        quiet: median(quiet),
        flooded: median(flooded),
        rows: rows.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_flooding_pages_is_held_to_its_rate_of_rows() {
    let mut rates = default_rates();
    rates.insert(
        Role::Reader,
        RoleRate {
            requests_per_second: 1_000,
            rows_per_second: 500,
        },
    );
    let started = Instant::now();
    let result = flood(rates, 200, 64, 100, false).await;
    let seconds = started.elapsed().as_secs_f64();
    // Two seconds of burst, the rate for the whole run, and one page of debt: a page is
    // reserved before it is read, so concurrent pages do not all start on one balance.
    let most = 1_000.0 + 500.0 * seconds + 100.0;
    assert!(
        (result.rows as f64) <= most,
        "{} rows in {seconds:.1} s",
        result.rows
    );
    assert!(result.refused > 0);
    println!(
        "victim statistics median {:?} quiet, {:?} under the flood; reader sent {} rows, refused {} pages",
        result.quiet, result.flooded, result.rows, result.refused
    );
}

/// The figure in benches/README.md: issue #21's flood (one reader, 256 concurrent
/// 1,000-row pages, over 2,000 teachers) against another county's GetStatistics, without
/// rates, with the default rates, and with the reader's rows a second set higher and
/// lower, from which the default was chosen.
/// `cargo test --release --test red_team figures_fairness -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it to update benches/README.md"]
async fn figures_fairness() {
    let unlimited: HashMap<Role, RoleRate> = HashMap::new();
    let reader_rows = |rows_per_second: u32| {
        let mut rates = default_rates();
        rates.insert(
            Role::Reader,
            RoleRate {
                requests_per_second: 100,
                rows_per_second,
            },
        );
        rates
    };
    for (what, rates, wait) in [
        ("no rates", unlimited, false),
        ("reader 40,000 rows/s", reader_rows(40_000), false),
        ("reader 20,000 rows/s", reader_rows(20_000), false),
        (
            "default rates, flood ignores RetryInfo",
            default_rates(),
            false,
        ),
        (
            "default rates, flood waits RetryInfo",
            default_rates(),
            true,
        ),
        ("reader 5,000 rows/s", reader_rows(5_000), false),
    ] {
        let result = flood(rates, 2_000, 256, 1_000, wait).await;
        println!(
            "{what}: victim median {:?} quiet, {:?} flooded; reader sent {} rows, refused {}",
            result.quiet, result.flooded, result.rows, result.refused
        );
    }
}
