//! Load benchmark: the real server, in this process, on `127.0.0.1:0` over a fresh temporary
//! data directory, driven by tonic clients over real sockets spread round-robin over several
//! HTTP/2 connections, so that one connection is not what is measured.
//!
//! ```text
//! cargo bench --bench load -- create [--concurrency 64] [--count 50000]
//! cargo bench --bench load -- get    [--concurrency 64] [--count 100000] [--seconds 10]
//! cargo bench --bench load -- list   [--concurrency 64] [--count 100000] [--seconds 10]
//! ```
//!
//! - `create`: CreateTeacher with `concurrency` requests in flight until `count` teachers
//!   exist; latency, and how many mutations the writer groups into one flush.
//! - `get`: preloads `count` teachers, then GetTeacher on random ones for `seconds`, then
//!   gRPC health checks for as long, so the two rates come from the same run and machine.
//! - `list`: preloads `count` teachers, then pages through counties (page size 100).
//!
//! Every answer is checked; any error status or wrong answer is counted, printed, and
//! makes the run exit non-zero. The server and the load generator share the machine's
//! CPUs, so figures are only comparable with runs on the same machine: benches/README.md.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{Days, NaiveDate};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::domain::resident_check_character;
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::{Store, StoreOptions, WriteStatsSnapshot};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

type RegistryClient = TeacherRegistryServiceClient<Channel>;

/// Requests in flight while preloading: enough to keep the writer's groups full, and as
/// many as the server lets one principal have (with authentication off, every client is
/// the same anonymous principal; more would be refused RESOURCE_EXHAUSTED).
const PRELOAD_CONCURRENCY: usize = teacher_registry::api::DEFAULT_MAX_IN_FLIGHT;
/// The page size of the `list` scenario.
const LIST_PAGE_SIZE: i32 = 100;

#[derive(Parser, Debug)]
#[command(about = "Load benchmark of the teacher registry over gRPC")]
struct Args {
    /// What to measure.
    scenario: Scenario,
    /// Requests in flight during the measured phase. The server refuses more than 256
    /// per principal, and every client here is the same anonymous principal.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// create: teachers to create (default 50000); get, list: teachers to preload
    /// (default 100000).
    #[arg(long)]
    count: Option<u64>,
    /// get, list: how long each measured phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// HTTP/2 connections the workers are spread over, round-robin.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Added by `cargo bench` to every harness-less bench; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Create,
    Get,
    List,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Create => "create",
            Scenario::Get => "get",
            Scenario::List => "list",
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            println!("FAILED: some requests failed or were answered wrongly (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the scenario; answers whether every request succeeded.
fn run(args: &Args) -> anyhow::Result<bool> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    let count = args.count.unwrap_or(match args.scenario {
        Scenario::Create => 50_000,
        Scenario::Get | Scenario::List => 100_000,
    });
    anyhow::ensure!(
        count <= Roster::CAPACITY,
        "--count is at most {}",
        Roster::CAPACITY
    );
    anyhow::ensure!(
        args.scenario == Scenario::Create || count > 0,
        "get and list need --count of at least 1"
    );

    let data_dir = tempfile::tempdir().context("creating the data directory")?;
    print_machine(data_dir.path());
    println!(
        "run       {}, concurrency {}, count {count}, {}, {} HTTP/2 connections",
        args.scenario.name(),
        args.concurrency,
        match args.scenario {
            Scenario::Create => "until done".to_string(),
            Scenario::Get | Scenario::List => format!("{} s per phase", args.seconds),
        },
        args.connections,
    );

    let store =
        Store::open(data_dir.path(), &StoreOptions::default()).context("opening the store")?;
    // The server gets a runtime of its own, as it would in its own process; the load
    // generator's tasks then cannot delay the server's by sitting in the same queues.
    // Both still share the CPUs.
    let server_runtime = runtime("server")?;
    let listener = server_runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .context("binding 127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = server_runtime.spawn(server::run(
        listener,
        store.clone(),
        ServerOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));

    let clients = runtime("client")?;
    let outcome = clients.block_on(async {
        let channels = connect(address, args.connections).await?;
        let seconds = Duration::from_secs(args.seconds);
        match args.scenario {
            Scenario::Create => bench_create(&channels, &store, args.concurrency, count).await,
            Scenario::Get => bench_get(&channels, &store, args.concurrency, count, seconds).await,
            Scenario::List => bench_list(&channels, &store, args.concurrency, count, seconds).await,
        }
    });
    drop(clients);

    let _ = stop.send(());
    server_runtime
        .block_on(serving)
        .context("the server task panicked")?
        .context("the server failed")?;
    // The last handle stops the writer, after its final flush.
    drop(store);
    outcome
}

fn runtime(name: &str) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("building the {name} runtime"))
}

async fn connect(address: SocketAddr, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))?.tcp_nodelay(true);
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        channels.push(endpoint.connect().await.context("connecting")?);
    }
    Ok(channels)
}

/// One registry client per worker, worker `i` on connection `i % connections`.
fn registry_clients(channels: &[Channel], workers: usize) -> Vec<RegistryClient> {
    (0..workers)
        .map(|i| TeacherRegistryServiceClient::new(channels[i % channels.len()].clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Scenarios

async fn bench_create(
    channels: &[Channel],
    store: &Store,
    concurrency: usize,
    count: u64,
) -> anyhow::Result<bool> {
    let calls = registry_clients(channels, concurrency)
        .into_iter()
        .map(|client| CreateCall { client, ids: None })
        .collect();
    let before = store.write_stats();
    let tally = drive(calls, Stop::After(count)).await;
    let after = store.write_stats();
    tally.print("create", "creates/s");
    print_writer(before, after, tally.elapsed);
    Ok(tally.is_clean())
}

async fn bench_get(
    channels: &[Channel],
    store: &Store,
    concurrency: usize,
    count: u64,
    seconds: Duration,
) -> anyhow::Result<bool> {
    let (ids, preloaded) = preload(channels, store, count).await?;
    let ids = Arc::new(ids);

    let calls = registry_clients(channels, concurrency)
        .into_iter()
        .enumerate()
        .map(|(i, client)| GetCall {
            client,
            ids: ids.clone(),
            rng: StdRng::seed_from_u64(i as u64),
        })
        .collect();
    let get = drive(calls, Stop::At(Instant::now() + seconds)).await;
    get.print("get", "gets/s");

    let calls = (0..concurrency)
        .map(|i| HealthCall {
            client: HealthClient::new(channels[i % channels.len()].clone()),
        })
        .collect();
    let health = drive(calls, Stop::At(Instant::now() + seconds)).await;
    health.print("health", "checks/s");

    println!(
        "ratio     get/health {:.2} (throughput), p50 {:.2}x, p99 {:.2}x (latency)",
        get.rate() / health.rate(),
        get.quantile_ms(0.5) / health.quantile_ms(0.5),
        get.quantile_ms(0.99) / health.quantile_ms(0.99),
    );
    Ok(preloaded && get.is_clean() && health.is_clean())
}

async fn bench_list(
    channels: &[Channel],
    store: &Store,
    concurrency: usize,
    count: u64,
    seconds: Duration,
) -> anyhow::Result<bool> {
    let (_, preloaded) = preload(channels, store, count).await?;
    let calls = registry_clients(channels, concurrency)
        .into_iter()
        .enumerate()
        .map(|(i, client)| ListCall {
            client,
            county: COUNTIES[i % COUNTIES.len()].0,
            page_token: String::new(),
        })
        .collect();
    let list = drive(calls, Stop::At(Instant::now() + seconds)).await;
    list.print("list", "pages/s");
    println!(
        "          {:.0} teachers/s listed, {:.1} teachers per page",
        list.items as f64 / list.elapsed.as_secs_f64(),
        list.items as f64 / list.ok.max(1) as f64,
    );
    Ok(preloaded && list.is_clean())
}

/// Creates `count` teachers at high concurrency; answers their registry numbers and
/// whether every create succeeded.
async fn preload(
    channels: &[Channel],
    store: &Store,
    count: u64,
) -> anyhow::Result<(Vec<String>, bool)> {
    let ids = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let calls = registry_clients(channels, PRELOAD_CONCURRENCY)
        .into_iter()
        .map(|client| CreateCall {
            client,
            ids: Some(ids.clone()),
        })
        .collect();
    let before = store.write_stats();
    let tally = drive(calls, Stop::After(count)).await;
    let after = store.write_stats();
    println!(
        "preload   {} teachers at concurrency {PRELOAD_CONCURRENCY}: {:.0} creates/s, {:.1} mutations per flush",
        tally.ok,
        tally.rate(),
        per_group(before, after),
    );
    tally.print_failures("preload");
    let ids = std::mem::take(&mut *ids.lock().expect("no worker panicked"));
    anyhow::ensure!(!ids.is_empty(), "the preload created no teacher");
    Ok((ids, tally.is_clean()))
}

// ---------------------------------------------------------------------------------------
// Requests

/// One kind of request, made over and over by one worker.
trait Call: Send + 'static {
    /// Makes request number `n` and checks the answer; answers how many items came back.
    fn call(&mut self, n: u64) -> impl Future<Output = Result<u64, Failure>> + Send;
}

struct CreateCall {
    client: RegistryClient,
    /// Where to keep the new registry numbers, when they are needed later.
    ids: Option<Arc<Mutex<Vec<String>>>>,
}

impl Call for CreateCall {
    async fn call(&mut self, n: u64) -> Result<u64, Failure> {
        let teacher = Roster::teacher(n);
        let county = teacher.county_code.clone();
        let request = pb::CreateTeacherRequest {
            teacher: Some(teacher),
            request_id: String::new(),
        };
        let response = self.client.create_teacher(request).await?.into_inner();
        let created = response
            .teacher
            .ok_or_else(|| Failure::wrong("no teacher in the response"))?;
        if created.teacher_id.is_empty() || created.county_code != county {
            return Err(Failure::wrong("the created teacher is not the one sent"));
        }
        if let Some(warning) = response.warnings.first() {
            return Err(Failure::wrong(format!("unexpected warning: {warning}")));
        }
        if let Some(ids) = &self.ids {
            ids.lock()
                .expect("no worker panicked")
                .push(created.teacher_id);
        }
        Ok(1)
    }
}

struct GetCall {
    client: RegistryClient,
    ids: Arc<Vec<String>>,
    rng: StdRng,
}

impl Call for GetCall {
    async fn call(&mut self, _: u64) -> Result<u64, Failure> {
        let id = &self.ids[self.rng.gen_range(0..self.ids.len())];
        let request = pb::GetTeacherRequest {
            teacher_id: id.clone(),
        };
        let response = self.client.get_teacher(request).await?.into_inner();
        match response.teacher {
            Some(teacher) if teacher.teacher_id == *id => Ok(1),
            _ => Err(Failure::wrong("GetTeacher answered another teacher")),
        }
    }
}

struct HealthCall {
    client: HealthClient<Channel>,
}

impl Call for HealthCall {
    async fn call(&mut self, _: u64) -> Result<u64, Failure> {
        let request = HealthCheckRequest {
            service: String::new(),
        };
        let response = self.client.check(request).await?.into_inner();
        if response.status != ServingStatus::Serving as i32 {
            return Err(Failure::wrong(format!(
                "health status {} instead of SERVING",
                response.status
            )));
        }
        Ok(1)
    }
}

/// Pages through one county, and starts over at its first page after its last.
struct ListCall {
    client: RegistryClient,
    county: &'static str,
    page_token: String,
}

impl Call for ListCall {
    async fn call(&mut self, _: u64) -> Result<u64, Failure> {
        let request = pb::ListTeachersRequest {
            page_size: LIST_PAGE_SIZE,
            page_token: std::mem::take(&mut self.page_token),
            county_code: self.county.to_string(),
            ..Default::default()
        };
        let page = self.client.list_teachers(request).await?.into_inner();
        if page.teachers.len() > LIST_PAGE_SIZE as usize {
            return Err(Failure::wrong("a page larger than asked for"));
        }
        if page.teachers.iter().any(|t| t.county_code != self.county) {
            return Err(Failure::wrong("a teacher of another county"));
        }
        self.page_token = page.next_page_token;
        Ok(page.teachers.len() as u64)
    }
}

/// Why a request did not succeed: its status code, or a wrong answer.
struct Failure {
    kind: String,
    detail: String,
}

impl Failure {
    fn wrong(detail: impl Into<String>) -> Self {
        Self {
            kind: "WRONG_ANSWER".into(),
            detail: detail.into(),
        }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Self {
            kind: format!("{:?}", status.code()),
            detail: status.message().to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Driving the load

#[derive(Debug, Clone, Copy)]
enum Stop {
    /// After this many requests in all.
    After(u64),
    /// At this time; requests in flight then still finish and count.
    At(Instant),
}

/// Runs one worker per call, each with one request in flight at a time, until `stop`.
async fn drive<C: Call>(calls: Vec<C>, stop: Stop) -> Tally {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = calls
        .into_iter()
        .map(|mut call| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut tally = Tally::new();
                loop {
                    let n = match stop {
                        Stop::After(total) => match next.fetch_add(1, Ordering::Relaxed) {
                            n if n >= total => break,
                            n => n,
                        },
                        Stop::At(deadline) if Instant::now() >= deadline => break,
                        Stop::At(_) => next.fetch_add(1, Ordering::Relaxed),
                    };
                    let sent = Instant::now();
                    let result = call.call(n).await;
                    tally.record(sent.elapsed(), result);
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::new();
    for worker in workers {
        total.merge(worker.await.expect("a load worker panicked"));
    }
    total.elapsed = started.elapsed();
    total
}

/// What one phase did.
struct Tally {
    ok: u64,
    /// Items answered by the successful requests (teachers on list pages).
    items: u64,
    /// By status code: how many, and the first message.
    failures: BTreeMap<String, (u64, String)>,
    /// Latency of every request, successful or not, in microseconds.
    latency: Histogram<u64>,
    elapsed: Duration,
}

impl Tally {
    fn new() -> Self {
        Self {
            ok: 0,
            items: 0,
            failures: BTreeMap::new(),
            latency: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"),
            elapsed: Duration::ZERO,
        }
    }

    fn record(&mut self, latency: Duration, result: Result<u64, Failure>) {
        self.latency.saturating_record(latency.as_micros() as u64);
        match result {
            Ok(items) => {
                self.ok += 1;
                self.items += items;
            }
            Err(Failure { kind, detail }) => {
                self.failures.entry(kind).or_insert((0, detail)).0 += 1;
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.items += other.items;
        for (kind, (count, detail)) in other.failures {
            self.failures.entry(kind).or_insert((0, detail)).0 += count;
        }
        self.latency
            .add(&other.latency)
            .expect("histograms of the same bounds");
    }

    fn failed(&self) -> u64 {
        self.failures.values().map(|(count, _)| count).sum()
    }

    fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }

    /// Successful requests per second.
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn quantile_ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    fn print(&self, phase: &str, unit: &str) {
        println!(
            "{phase:<9} {} ok, {} failed in {:.2} s: {:.0} {unit}",
            self.ok,
            self.failed(),
            self.elapsed.as_secs_f64(),
            self.rate(),
        );
        println!(
            "          latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.quantile_ms(0.5),
            self.quantile_ms(0.9),
            self.quantile_ms(0.99),
            self.latency.max() as f64 / 1000.0,
        );
        self.print_failures(phase);
    }

    fn print_failures(&self, phase: &str) {
        for (kind, (count, detail)) in &self.failures {
            println!("{phase:<9} FAILED {count} x {kind}, first: {detail}");
        }
    }
}

fn per_group(before: WriteStatsSnapshot, after: WriteStatsSnapshot) -> f64 {
    (after.mutations - before.mutations) as f64 / (after.groups - before.groups).max(1) as f64
}

/// The writer's work during a phase: how many mutations shared a flush, and how much of
/// the phase it spent applying and flushing (near 100% means the writer is the limit).
fn print_writer(before: WriteStatsSnapshot, after: WriteStatsSnapshot, elapsed: Duration) {
    let groups = after.groups - before.groups;
    let flush_micros = after.flush_micros - before.flush_micros;
    println!(
        "writer    {groups} groups, {:.1} mutations per flush, mean apply+flush {:.2} ms, busy {:.0}% of the phase",
        per_group(before, after),
        flush_micros as f64 / groups.max(1) as f64 / 1000.0,
        flush_micros as f64 / elapsed.as_micros().max(1) as f64 * 100.0,
    );
}

// ---------------------------------------------------------------------------------------
// Teachers

/// County codes of Nanping, Fujian, and the county names used in school names.
const COUNTIES: [(&str, &str); 10] = [
    ("350702", "延平区"),
    ("350721", "顺昌县"),
    ("350722", "浦城县"),
    ("350723", "光泽县"),
    ("350724", "松溪县"),
    ("350725", "政和县"),
    ("350781", "邵武市"),
    ("350782", "武夷山市"),
    ("350783", "建瓯市"),
    ("350784", "建阳市"),
];
const SCHOOLS: [&str; 6] = [
    "第一中学",
    "第二中学",
    "第三中学",
    "实验小学",
    "第一小学",
    "第二小学",
];
const SURNAMES: [&str; 12] = [
    "陈", "林", "黄", "张", "李", "王", "吴", "刘", "蔡", "杨", "郑", "许",
];
const GIVEN_NAMES: [&str; 14] = [
    "志明", "秀英", "建华", "丽萍", "伟", "芳", "海燕", "国强", "晓东", "雪梅", "文斌", "玉兰",
    "振宇", "婷",
];
const LEGACY_TITLES: [pb::LegacyTitle; 8] = [
    pb::LegacyTitle::SecondarySenior,
    pb::LegacyTitle::SecondaryFirst,
    pb::LegacyTitle::PrimarySenior,
    pb::LegacyTitle::SecondarySecond,
    pb::LegacyTitle::PrimaryFirst,
    pb::LegacyTitle::SecondaryThird,
    pb::LegacyTitle::PrimarySecond,
    pb::LegacyTitle::PrimaryThird,
];

/// The n-th teacher of a run: distinct, valid, and consistent with its identity card.
struct Roster;

impl Roster {
    /// Birth dates from 1960-01-01 to 2000-12-31.
    const FIRST_BIRTH: NaiveDate = NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date");
    const BIRTH_DAYS: u64 = 14_976;
    /// Every (county, birth date, sequence) triple once.
    const CAPACITY: u64 = COUNTIES.len() as u64 * Self::BIRTH_DAYS * 1000;

    /// Teacher `n`: county `n % 10`; the rest of `n` picks a sequence number and a birth
    /// date, the date shifted by the sequence so that small runs still spread over the
    /// years. For one sequence number, distinct `n` give distinct dates, so identity card
    /// numbers never repeat below [`Roster::CAPACITY`].
    fn teacher(n: u64) -> pb::Teacher {
        let (county, county_name) = COUNTIES[(n % COUNTIES.len() as u64) as usize];
        let rest = n / COUNTIES.len() as u64;
        let sequence = rest % 1000;
        let day = (rest / 1000 + sequence * 37) % Self::BIRTH_DAYS;
        let birth = Self::FIRST_BIRTH + Days::new(day);
        let first17 = format!("{county}{}{sequence:03}", birth.format("%Y%m%d"));
        let check = resident_check_character(first17.as_bytes());
        let gender = match sequence % 2 {
            1 => pb::Gender::Male,
            _ => pb::Gender::Female,
        };
        let legacy_title = match n % 3 {
            0 => LEGACY_TITLES[(n / 3 % 8) as usize] as i32,
            _ => pb::LegacyTitle::Unspecified as i32,
        };
        pb::Teacher {
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
            national_id: format!("{first17}{check}"),
            name: format!(
                "{}{}",
                SURNAMES[(n % 12) as usize],
                GIVEN_NAMES[(n / 12 % 14) as usize]
            ),
            gender: gender as i32,
            birth_date: birth.format("%Y-%m-%d").to_string(),
            county_code: county.to_string(),
            school: format!("{county_name}{}", SCHOOLS[(rest % 6) as usize]),
            employment_status: pb::EmploymentStatus::Active as i32,
            legacy_title,
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// The machine

/// Prints what the figures depend on: CPUs, memory, kernel, and where the data lives.
fn print_machine(data_dir: &Path) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split(':').nth(1))
        .map_or_else(|| "unknown CPU".to_string(), |m| m.trim().to_string());
    let memory_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let kernel = read("/proc/sys/kernel/osrelease");
    // Other work on the machine shows up here before it shows up in the figures.
    let load = read("/proc/loadavg");
    let load = load.split_whitespace().next().unwrap_or("unknown");
    println!(
        "machine   nproc {cpus} ({model}), {:.1} GiB RAM, Linux {}, load average {load} at start",
        memory_kib as f64 / (1024.0 * 1024.0),
        kernel.trim(),
    );
    println!(
        "data      {} on {}; server and load generator share the CPUs",
        data_dir.display(),
        filesystem_of(data_dir),
    );
}

/// The type of the filesystem mounted deepest above `path`, from /proc/mounts.
fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    read("/proc/mounts")
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            // Spaces in mount points are written as \040.
            let mount = fields.next()?.replace("\\040", " ");
            let fs = fields.next()?;
            path.starts_with(&mount)
                .then(|| (mount.len(), fs.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "an unknown filesystem".to_string(), |(_, fs)| fs)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
