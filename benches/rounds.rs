//! Title evaluation rounds benchmark: a county's round of `--applications` teachers from
//! application to confirmation, on the real server in this process (`127.0.0.1:0`, a fresh
//! temporary data directory), driven by tonic clients over real sockets.
//!
//! ```text
//! cargo bench --bench rounds [-- --applications 2000 --concurrency 32 --runs 3]
//! ```
//!
//! Each run opens a round of its own over teachers of its own (created, certified,
//! registered and titled beforehand, untimed), then times:
//! 1. ApplyForTitle for every teacher, `--concurrency` in flight (the eligibility checks
//!    and the write): applications per second;
//! 2. OpenPublicity for the whole round, one call;
//! 3. the committee's results: a CSV of one row per application written, read back with
//!    the CLI's reader (`read_committee_file`) and sent in one RecordCommitteeResults call;
//! 4. the result publicity for the whole round, one call;
//! 5. ConfirmApplications for the whole round, streamed to the end (a promotion per
//!    teacher, each its own atomic write);
//! 6. GetRoundStatistics, `--calls` times: p50 and p99.
//!
//! Every answer is checked (each outcome without an error, the figures equal to the
//! count); the medians over the runs are printed last. Server and client share the CPUs.

mod common;

use common::{today, Serving};

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use chrono::{Days, NaiveDate};
use futures::stream::{self, StreamExt, TryStreamExt};
use teacher_registry::api::pb;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::{Store, StoreOptions};
use tonic::transport::{Channel, Endpoint};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COUNTY: &str = "350702";

struct Args {
    applications: u64,
    concurrency: usize,
    runs: u64,
    calls: u64,
}

fn args() -> anyhow::Result<Args> {
    let [applications, concurrency, runs, calls] =
        common::number_flags(["--applications", "--concurrency", "--runs", "--calls"])?;
    Ok(Args {
        applications: applications.map_or(2000, |n: u64| n.max(1)),
        concurrency: concurrency.map_or(32, |n: u64| n.max(1) as usize),
        runs: runs.map_or(3, |n: u64| n.max(1)),
        calls: calls.map_or(100, |n: u64| n.max(1)),
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rounds benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = args()?;
    let data_dir = tempfile::tempdir()?;
    let store = Store::open(data_dir.path(), &StoreOptions::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let serving = Serving::start(&runtime, store.clone(), ServerOptions::default())?;
    let address = serving.address;
    println!(
        "rounds benchmark: {} applications per round, {} in flight, {} runs, {} CPUs",
        args.applications,
        args.concurrency,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let result = runtime.block_on(drive(&args, &format!("http://{address}")));
    serving.stop(&runtime);
    result
}

/// One run's timings.
#[derive(Default, Clone, Copy)]
struct Timings {
    apply: Duration,
    school_publicity: Duration,
    committee_file: Duration,
    result_publicity: Duration,
    confirm: Duration,
    statistics_p50: Duration,
    statistics_p99: Duration,
}

async fn drive(args: &Args, url: &str) -> anyhow::Result<()> {
    let channel = Endpoint::from_shared(url.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut all = Vec::new();
    for run in 0..args.runs {
        let teachers = prepare(&channel, args, run).await?;
        let timings = one_round(&channel, args, run, &teachers).await?;
        println!(
            "run {}: apply {:.0}/s, school publicity {} ms, committee file {} ms, result publicity {} ms, confirm {:.0}/s, statistics p50 {} µs p99 {} µs",
            run + 1,
            rate(args.applications, timings.apply),
            timings.school_publicity.as_millis(),
            timings.committee_file.as_millis(),
            timings.result_publicity.as_millis(),
            rate(args.applications, timings.confirm),
            timings.statistics_p50.as_micros(),
            timings.statistics_p99.as_micros(),
        );
        all.push(timings);
    }
    let median = |pick: fn(&Timings) -> Duration| {
        let mut values: Vec<Duration> = all.iter().map(pick).collect();
        values.sort();
        values[values.len() / 2]
    };
    println!(
        "median of {} runs of {} applications: apply {:.0}/s ({} ms), school publicity {} ms, committee file {} ms, result publicity {} ms, confirm {:.0}/s ({} ms), statistics p50 {} µs p99 {} µs",
        args.runs,
        args.applications,
        rate(args.applications, median(|t| t.apply)),
        median(|t| t.apply).as_millis(),
        median(|t| t.school_publicity).as_millis(),
        median(|t| t.committee_file).as_millis(),
        median(|t| t.result_publicity).as_millis(),
        rate(args.applications, median(|t| t.confirm)),
        median(|t| t.confirm).as_millis(),
        median(|t| t.statistics_p50).as_micros(),
        median(|t| t.statistics_p99).as_micros(),
    );
    Ok(())
}

fn rate(count: u64, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64().max(1e-9)
}

/// Teacher `n` of run `run`: born in 1980, registered a year ago, SECOND_LEVEL since 2015.
async fn eligible(channel: Channel, run: u64, n: u64) -> anyhow::Result<String> {
    let mut registry = TeacherRegistryServiceClient::new(channel);
    let serial = run * 100_000 + n;
    let teacher = common::applicant(serial, COUNTY, COUNTY);
    let number = format!("2016350002{serial:07}");
    common::create_eligible(&mut registry, teacher, number, today()).await
}

async fn prepare(channel: &Channel, args: &Args, run: u64) -> anyhow::Result<Vec<String>> {
    stream::iter(0..args.applications)
        .map(|n| eligible(channel.clone(), run, n))
        .buffer_unordered(args.concurrency)
        .try_collect()
        .await
}

fn outcomes_ok(outcomes: &[pb::ApplicationOutcome], count: u64, what: &str) -> anyhow::Result<()> {
    ensure!(
        outcomes.len() as u64 == count,
        "{what}: {} outcomes",
        outcomes.len()
    );
    if let Some(bad) = outcomes.iter().find(|o| !o.error_code.is_empty()) {
        anyhow::bail!("{what}: {bad:?}");
    }
    Ok(())
}

async fn one_round(
    channel: &Channel,
    args: &Args,
    run: u64,
    teachers: &[String],
) -> anyhow::Result<Timings> {
    let mut client = EvaluationServiceClient::new(channel.clone());
    let round = client
        .create_evaluation_round(common::first_level_round(
            format!("2026年度一级教师职称评审（第{}批）", run + 1),
            COUNTY,
            today(),
        ))
        .await?
        .into_inner()
        .round
        .context("a round")?;
    let round_id = round.round_id;
    let applied_on = today() - Days::new(60);
    let mut timings = Timings::default();

    let started = Instant::now();
    let ids: Vec<String> = stream::iter(teachers.iter().cloned())
        .map(|teacher_id| {
            let mut client = client.clone();
            let round_id = round_id.clone();
            async move {
                let request = pb::ApplyForTitleRequest {
                    round_id,
                    teacher_id,
                    applied_on: applied_on.to_string(),
                    ..Default::default()
                };
                common::apply(&mut client, request).await
            }
        })
        .buffer_unordered(args.concurrency)
        .try_collect()
        .await?;
    timings.apply = started.elapsed();

    let publicity = |on: NaiveDate| pb::OpenPublicityRequest {
        round_id: round_id.clone(),
        step_date: on.to_string(),
        ..Default::default()
    };
    let started = Instant::now();
    let opened = client
        .open_publicity(publicity(applied_on + Days::new(1)))
        .await?
        .into_inner()
        .outcomes;
    timings.school_publicity = started.elapsed();
    outcomes_ok(&opened, args.applications, "school publicity")?;
    let school_end: NaiveDate = opened[0].application.as_ref().context("opened")?.publicity[0]
        .ends_on
        .parse()?;

    let file = tempfile::Builder::new().suffix(".csv").tempfile()?;
    let mut csv = String::from("application,for,against,abstain,present\n");
    for id in &ids {
        csv.push_str(&format!("{id},7,1,1,9\n"));
    }
    std::fs::write(file.path(), csv)?;
    let voted_on = school_end + Days::new(1);
    let started = Instant::now();
    let rows = teacher_registry::cli::read_committee_file(file.path())?;
    let voted = client
        .record_committee_results(pb::RecordCommitteeResultsRequest {
            round_id: round_id.clone(),
            rows,
            step_date: voted_on.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .outcomes;
    timings.committee_file = started.elapsed();
    outcomes_ok(&voted, args.applications, "committee results")?;

    let started = Instant::now();
    let result = client
        .open_publicity(publicity(voted_on + Days::new(1)))
        .await?
        .into_inner()
        .outcomes;
    timings.result_publicity = started.elapsed();
    outcomes_ok(&result, args.applications, "result publicity")?;
    let result_end: NaiveDate = result[0].application.as_ref().context("opened")?.publicity[1]
        .ends_on
        .parse()?;
    let confirm_on = result_end + Days::new(1);
    ensure!(confirm_on <= today(), "the round's dates run past today");

    let started = Instant::now();
    let mut stream = client
        .confirm_applications(pb::ConfirmApplicationsRequest {
            round_id: round_id.clone(),
            approval_document: "南人社[2026]12号".into(),
            step_date: confirm_on.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut summary = None;
    while let Some(message) = stream.message().await? {
        if let Some(pb::confirm_applications_response::Result::Summary(s)) = message.result {
            summary = Some((s.confirmed, s.refused));
        }
    }
    timings.confirm = started.elapsed();
    ensure!(
        summary == Some((args.applications as u32, 0)),
        "confirmation: {summary:?}"
    );

    let mut latencies = Vec::new();
    for _ in 0..args.calls {
        let started = Instant::now();
        let figures = client
            .get_round_statistics(pb::GetRoundStatisticsRequest {
                round_id: round_id.clone(),
                county_code: String::new(),
            })
            .await?
            .into_inner();
        latencies.push(started.elapsed());
        let total = figures.total.context("a total")?;
        ensure!(
            (total.applied, total.confirmed) == (args.applications, args.applications),
            "figures {total:?}"
        );
    }
    latencies.sort();
    timings.statistics_p50 = latencies[latencies.len() / 2];
    timings.statistics_p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    Ok(timings)
}
