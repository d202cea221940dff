//! Cases benchmark: a large city's year at the service window, on the real server in this
//! process (`127.0.0.1:0`, a fresh temporary data directory, default rules), driven by
//! tonic clients over real sockets.
//!
//! ```text
//! cargo bench --bench cases [-- --cases 50000 --concurrency 64 --calls 300]
//! ```
//!
//! 1. Builds the year: `--cases` cases over ten counties, received from January to
//!    November 2026 (back-dated), each with its full history: opened, accepted, one in three
//!    with a supplement notice and the materials, then decided (certification and reissue
//!    denied, registration deferred: decisions without an effect on a record, so the
//!    figure is the case path's own) or, for 3%, left open, some of them long past their
//!    limit. The case steps run at `--concurrency` in flight; their rate is timed.
//! 2. CreateTeacher at the same concurrency for as many requests as cases: the durable
//!    rate of the other mutations, in the same run, for the ratio.
//! 3. `--calls` times each: ListCases overdue in one county, ListCases due within 3 working
//!    days in that county, GetCaseReport for the year (all counties, by month) and for one
//!    county by quarter; p50/p99 of each.
//!
//! Every answer is checked; a failed call stops the run. Server and client share the
//! machine's CPUs, so compare figures only with runs on the same machine.

mod common;

use common::Serving;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{Days, NaiveDate};
use hdrhistogram::Histogram;
use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::domain::resident_check_character;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::{Store, StoreOptions};
use tonic::transport::{Channel, Endpoint};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COUNTIES: [&str; 10] = [
    "350702", "350721", "350722", "350723", "350724", "350725", "350781", "350782", "350783",
    "350784",
];

struct Args {
    cases: u64,
    concurrency: u64,
    calls: u64,
}

fn args() -> anyhow::Result<Args> {
    let [cases, concurrency, calls] =
        common::number_flags(["--cases", "--concurrency", "--calls"])?;
    Ok(Args {
        cases: cases.unwrap_or(50_000),
        concurrency: concurrency.map_or(64, |n: u64| n.max(1)),
        calls: calls.map_or(300, |n: u64| n.max(1)),
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cases benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(name)
        .build()
        .context("starting a runtime")
}

fn run() -> anyhow::Result<()> {
    let args = args()?;
    let data_dir = tempfile::tempdir()?;
    let store = Store::open(data_dir.path(), &StoreOptions::default())?;
    let server_runtime = runtime("server")?;
    let serving = Serving::start(&server_runtime, store.clone(), ServerOptions::default())?;
    let address = serving.address;
    println!(
        "cases benchmark: {} cases, {} in flight, {} calls per query, {} CPUs",
        args.cases,
        args.concurrency,
        args.calls,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let clients = runtime("client")?;
    let result = clients.block_on(drive(&args, &format!("http://{address}")));
    serving.stop(&server_runtime);
    if let Ok(size) = store.size_on_disk() {
        println!("data directory: {} MB", size / 1_000_000);
    }
    result
}

async fn channels(url: &str, n: usize) -> anyhow::Result<Vec<Channel>> {
    let endpoint = Endpoint::from_shared(url.to_string())?.tcp_nodelay(true);
    let mut channels = Vec::new();
    for _ in 0..n {
        channels.push(endpoint.connect().await?);
    }
    Ok(channels)
}

fn teacher(n: u64) -> pb::Teacher {
    let county = COUNTIES[(n % 10) as usize];
    let rest = n / 10;
    let sequence = rest % 1000;
    let birth = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Days::new(rest / 1000 % 10_000);
    let first17 = format!("{county}{}{sequence:03}", birth.format("%Y%m%d"));
    pb::Teacher {
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: format!("{first17}{}", resident_check_character(first17.as_bytes())),
        name: format!("申请人{n}"),
        gender: if sequence % 2 == 1 {
            pb::Gender::Male
        } else {
            pb::Gender::Female
        } as i32,
        birth_date: birth.format("%Y-%m-%d").to_string(),
        county_code: county.to_string(),
        school: "第一中学".into(),
        employment_status: pb::EmploymentStatus::Active as i32,
        ..Default::default()
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// Runs `total` jobs, `concurrency` at a time over the channels; answers the elapsed time.
async fn in_flight<F, Fut>(
    channels: &[Channel],
    total: u64,
    concurrency: u64,
    job: F,
) -> anyhow::Result<Duration>
where
    F: Fn(Channel, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<u64>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let job = Arc::new(job);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let channel = channels[w as usize % channels.len()].clone();
        let (next, job) = (next.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            let mut steps = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(steps);
                }
                steps += job(channel.clone(), n).await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed())
}

/// One case's whole history; answers how many steps it took.
async fn one_case(channel: Channel, n: u64, holders: Arc<Vec<String>>) -> anyhow::Result<u64> {
    let mut client = CaseServiceClient::new(channel);
    let county = COUNTIES[(n % 10) as usize];
    // County from n % 10; kind, openness and dates from the rest, so every county has
    // every kind and its share of open cases.
    let rest = n / 10;
    let kind = match rest % 5 {
        0..=2 => pb::CaseKind::Certification,
        3 => pb::CaseKind::Reissue,
        _ => pb::CaseKind::Registration,
    };
    let open_case = rest % 100 < 3;
    // Received between 2026-01-02 and 2026-10-30; open cases partly in the last fortnight.
    let received = if open_case && rest.is_multiple_of(2) {
        day("2026-11-20") + Days::new(n % 12)
    } else {
        day("2026-01-02") + Days::new(n * 7919 % 300)
    };
    let mut case = pb::Case {
        kind: kind as i32,
        county_code: county.into(),
        received_on: received.to_string(),
        materials: vec!["申请表".into()],
        ..Default::default()
    };
    match kind {
        pb::CaseKind::Certification => {
            case.applicant = Some(teacher(n));
            case.certificate_kind = pb::CertificateKind::PrimarySchool as i32;
        }
        _ => case.certificate_number = holders[(n % 10) as usize].clone(),
    }
    let case = client
        .open_case(pb::OpenCaseRequest {
            case: Some(case),
            ..Default::default()
        })
        .await?
        .into_inner()
        .case
        .context("no case")?;
    let id = case.case_id;
    let on = |d: NaiveDate| d.to_string();
    client
        .accept_case(pb::AcceptCaseRequest {
            case_id: id.clone(),
            step_date: on(received),
            ..Default::default()
        })
        .await?;
    let mut steps = 2;
    let mut last = received;
    if n.is_multiple_of(3) {
        client
            .request_supplement(pb::RequestSupplementRequest {
                case_id: id.clone(),
                missing: vec!["体检表".into()],
                step_date: on(received + Days::new(1)),
                ..Default::default()
            })
            .await?;
        last = received + Days::new(1 + n % 6);
        client
            .receive_supplement(pb::ReceiveSupplementRequest {
                case_id: id.clone(),
                materials: vec!["体检表".into()],
                step_date: on(last),
                ..Default::default()
            })
            .await?;
        steps += 2;
    }
    if open_case {
        return Ok(steps);
    }
    let decided = last + Days::new(3 + n % 40);
    let mut decision = pb::DecideCaseRequest {
        case_id: id,
        step_date: on(decided),
        ..Default::default()
    };
    if kind == pb::CaseKind::Registration {
        decision.outcome = pb::CaseOutcome::Deferred as i32;
        decision.registration_reasons = vec![pb::RegistrationReason::TrainingHoursShort as i32];
    } else {
        decision.outcome = pb::CaseOutcome::Denied as i32;
        decision.reasons = vec!["材料不符合要求".into()];
    }
    client.decide_case(decision).await?;
    Ok(steps + 1)
}

async fn timed<F, Fut>(calls: u64, mut call: F) -> anyhow::Result<Histogram<u64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut histogram = Histogram::<u64>::new(3)?;
    for _ in 0..calls {
        let started = Instant::now();
        call().await?;
        histogram.record(started.elapsed().as_micros() as u64)?;
    }
    Ok(histogram)
}

fn print_latency(what: &str, h: &Histogram<u64>) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{what:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        ms(0.5),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
}

async fn drive(args: &Args, url: &str) -> anyhow::Result<()> {
    let channels = channels(url, 4).await?;
    let mut registry = TeacherRegistryServiceClient::new(channels[0].clone());
    // One certificate holder per county, for reissue and registration cases.
    let mut holders = Vec::new();
    for (n, _) in COUNTIES.iter().enumerate() {
        let created = registry
            .create_teacher(pb::CreateTeacherRequest {
                teacher: Some(teacher(9_000_000 + n as u64)),
                ..Default::default()
            })
            .await?
            .into_inner();
        let number = format!("2016350002200010{n}");
        registry
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: created.teacher.context("no teacher")?.teacher_id,
                certificate: Some(pb::Certificate {
                    certificate_number: number.clone(),
                    kind: pb::CertificateKind::PrimarySchool as i32,
                    subject: "语文".into(),
                    issuing_authority: "南平市教育局".into(),
                    certified_on: "2016-07-01".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?;
        holders.push(number);
    }
    let holders = Arc::new(holders);

    let steps = Arc::new(AtomicU64::new(0));
    let counted = steps.clone();
    let elapsed = in_flight(
        &channels,
        args.cases,
        args.concurrency,
        move |channel, n| {
            let holders = holders.clone();
            let counted = counted.clone();
            async move {
                let taken = one_case(channel, n, holders).await?;
                counted.fetch_add(taken, Ordering::Relaxed);
                Ok(taken)
            }
        },
    )
    .await?;
    let steps = steps.load(Ordering::Relaxed);
    let step_rate = steps as f64 / elapsed.as_secs_f64();
    println!(
        "built the year: {} cases, {steps} steps in {:.1} s: {step_rate:.0} case steps/s",
        args.cases,
        elapsed.as_secs_f64()
    );

    let elapsed = in_flight(
        &channels,
        args.cases,
        args.concurrency,
        |channel, n| async move {
            TeacherRegistryServiceClient::new(channel)
                .create_teacher(pb::CreateTeacherRequest {
                    teacher: Some(teacher(5_000_000 + n)),
                    ..Default::default()
                })
                .await?;
            Ok(1)
        },
    )
    .await?;
    let create_rate = args.cases as f64 / elapsed.as_secs_f64();
    println!(
        "CreateTeacher: {} in {:.1} s: {create_rate:.0}/s; case steps/CreateTeacher = {:.2}",
        args.cases,
        elapsed.as_secs_f64(),
        step_rate / create_rate
    );

    let mut cases = CaseServiceClient::new(channels[0].clone());
    let county = COUNTIES[3];
    let lister = cases.clone();
    let list = |overdue: bool, due_within: u32| {
        let cases = lister.clone();
        move || {
            let mut cases = cases.clone();
            async move {
                let page = cases
                    .list_cases(pb::ListCasesRequest {
                        county_code: county.into(),
                        overdue,
                        due_within_working_days: due_within,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                anyhow::ensure!(
                    page.cases.iter().all(|c| c.county_code == county),
                    "a case of another county"
                );
                Ok(())
            }
        }
    };
    let overdue = cases
        .list_cases(pb::ListCasesRequest {
            county_code: county.into(),
            overdue: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .cases
        .len();
    let due = cases
        .list_cases(pb::ListCasesRequest {
            county_code: county.into(),
            due_within_working_days: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .cases
        .len();
    println!("county {county}: {overdue} open cases overdue, {due} due within 3 working days");
    let h = timed(args.calls, list(true, 0)).await?;
    print_latency("ListCases overdue, one county", &h);
    let h = timed(args.calls, list(false, 3)).await?;
    print_latency("ListCases due within 3 working days", &h);

    let reporter = cases.clone();
    let report = |county: &'static str, period: pb::ReportPeriod| {
        let cases = reporter.clone();
        move || {
            let mut cases = cases.clone();
            async move {
                let report = cases
                    .get_case_report(pb::GetCaseReportRequest {
                        year: 2026,
                        county_code: county.into(),
                        period: period as i32,
                    })
                    .await?
                    .into_inner();
                anyhow::ensure!(!report.rows.is_empty(), "an empty report");
                Ok(())
            }
        }
    };
    let full = cases
        .get_case_report(pb::GetCaseReportRequest {
            year: 2026,
            ..Default::default()
        })
        .await?
        .into_inner();
    let received: u64 = full.rows.iter().map(|r| r.received).sum();
    anyhow::ensure!(
        received == args.cases,
        "the report counts {received} cases received, not {}",
        args.cases
    );
    println!(
        "GetCaseReport 2026: {} rows, {received} received",
        full.rows.len()
    );
    let h = timed(args.calls, report("", pb::ReportPeriod::Month)).await?;
    print_latency("GetCaseReport year, all counties, by month", &h);
    let h = timed(args.calls, report(county, pb::ReportPeriod::Quarter)).await?;
    print_latency("GetCaseReport year, one county, by quarter", &h);
    Ok(())
}
