//! Load benchmark: the real server, in this process, on `127.0.0.1:0` over a fresh temporary
//! data directory, driven by tonic clients over real sockets spread round-robin over several
//! HTTP/2 connections, so that one connection is not what is measured.
//!
//! ```text
//! cargo bench --bench load -- create [--concurrency 64] [--count 50000] [--postgres]
//! cargo bench --bench load -- get    [--concurrency 64] [--count 100000] [--seconds 10]
//! cargo bench --bench load -- list   [--concurrency 64] [--count 100000] [--seconds 10]
//! cargo bench --bench load -- get    --server http://127.0.0.1:50051 [--server-pid PID]
//! cargo bench --bench load -- wait   --server http://127.0.0.1:50051 [--since-unix-ns NS]
//! cargo bench --bench load -- cluster [--servers 2] [--standby] [--count 20000]
//! ```
//!
//! - `create`: CreateTeacher with `concurrency` requests in flight until `count` teachers
//!   exist; latency, and how many mutations the writer groups into one flush.
//! - `get`: preloads `count` teachers, then GetTeacher on random ones for `seconds`, then
//!   gRPC health checks for as long, so the two rates come from the same run and machine.
//! - `list`: preloads `count` teachers, then pages through counties (page size 100).
//! - `cluster`: PostgreSQL only, several servers on one database, with `--standby` a
//!   synchronous standby and a server reading it (see [`cluster`]).
//! - `wait`: (with `--server` only) polls gRPC health Check until SERVING and prints how
//!   long that took, from `--since-unix-ns` (when the caller spawned the server) if given.
//!
//! With `--server URL` the scenarios drive an already running server (in its own process)
//! instead of starting one here. get and list then top the registry up to `--count`
//! teachers only if it holds fewer (without `--count`, they use what is there), get learns
//! the registry numbers by paging ListTeachers (1000 a page), and list pages through the
//! counties that GetStatistics reports. The writer's statistics are not available then.
//! `--server-pid PID` prints that process's VmRSS (sampled during each phase) and VmHWM,
//! and the CPU time it and this load generator used per request in each phase (from
//! /proc: figures that other work on the machine disturbs far less than rates).
//!
//! Every answer is checked; any error status or wrong answer is counted, printed, and
//! makes the run exit non-zero. The server and the load generator share the machine's
//! CPUs, so figures are only comparable with runs on the same machine: benches/README.md.

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod latency;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use common::roster::{self, COUNTIES};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::{pb, LEGACY_TITLES};
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::{
    Location, Store, StoreOptions, ThrowawayCluster, WriteStatsSnapshot,
};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// The binary's allocator, for the load generator and for the server it runs in process,
/// so that neither is measured on glibc's malloc while the real binary uses mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Drive the server already running at this URL (e.g. http://127.0.0.1:50051)
    /// instead of starting one in this process.
    #[arg(long)]
    server: Option<String>,
    /// With --server: the server's process id, to report its memory (VmRSS, VmHWM).
    #[arg(long)]
    server_pid: Option<u32>,
    /// wait: measure from this time (nanoseconds since the Unix epoch, e.g. `date +%s%N`
    /// just before spawning the server) instead of from this program's start.
    #[arg(long)]
    since_unix_ns: Option<u128>,
    /// wait: give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Run the in-process server on PostgreSQL: a fresh database on a throwaway cluster
    /// this program starts (initdb in a temporary directory, fsync on), instead of sled.
    #[arg(long, conflicts_with = "server")]
    postgres: bool,
    /// cluster: how many servers write to the one database.
    #[arg(long, default_value_t = 2)]
    servers: usize,
    /// cluster: run the database with a synchronous standby, and one more server that
    /// reads from it.
    #[arg(long)]
    standby: bool,
    /// cluster: hold every chunk between the servers and the database this many
    /// microseconds each way, as a network would (`latency.rs`); 0, none.
    #[arg(long, default_value_t = 0)]
    db_delay_us: u64,
    /// Added by `cargo bench` to every harness-less bench; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Create,
    Get,
    List,
    Wait,
    Cluster,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Create => "create",
            Scenario::Get => "get",
            Scenario::List => "list",
            Scenario::Wait => "wait",
            Scenario::Cluster => "cluster",
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
    anyhow::ensure!(
        args.server.is_some() || (args.server_pid.is_none() && args.scenario != Scenario::Wait),
        "wait and --server-pid need --server"
    );
    // Against a running server, get and list use the teachers it holds unless --count asks
    // for more.
    let count = args.count.unwrap_or(match (args.scenario, &args.server) {
        (Scenario::Create, _) => 50_000,
        (Scenario::Cluster, _) => 20_000,
        (_, Some(_)) => 0,
        (Scenario::Get | Scenario::List | Scenario::Wait, None) => 100_000,
    });
    anyhow::ensure!(
        args.scenario != Scenario::Cluster || args.server.is_none(),
        "cluster starts its own servers: drop --server"
    );
    if args.scenario == Scenario::Cluster {
        return cluster::run(args, count);
    }
    anyhow::ensure!(
        count <= Roster::CAPACITY,
        "--count is at most {}",
        Roster::CAPACITY
    );
    anyhow::ensure!(
        args.scenario == Scenario::Create || args.server.is_some() || count > 0,
        "get and list need --count of at least 1"
    );
    match &args.server {
        Some(url) => run_against(args, url, count),
        None => run_in_process(args, count),
    }
}

fn describe_run(args: &Args, count: u64) {
    println!(
        "run       {}, concurrency {}, count {}, {}, {} HTTP/2 connections",
        args.scenario.name(),
        args.concurrency,
        match (count, &args.server) {
            (0, Some(_)) => "as the registry holds".to_string(),
            _ => count.to_string(),
        },
        match args.scenario {
            Scenario::Create | Scenario::Cluster => "until done".to_string(),
            Scenario::Get | Scenario::List => format!("{} s per phase", args.seconds),
            Scenario::Wait => format!("timeout {} s", args.timeout),
        },
        args.connections,
    );
}

/// Drives the server already running at `url`, in another process.
fn run_against(args: &Args, url: &str, count: u64) -> anyhow::Result<bool> {
    print_machine(None);
    println!(
        "server    {url}, in another process{}; server and load generator share the CPUs",
        args.server_pid
            .map_or_else(String::new, |pid| format!(" (pid {pid})")),
    );
    describe_run(args, count);
    let clients = runtime("client")?;
    clients.block_on(async {
        if args.scenario == Scenario::Wait {
            return wait_serving(url, args.since_unix_ns, Duration::from_secs(args.timeout)).await;
        }
        let channels = connect(url, args.connections).await?;
        let target = Target {
            channels: &channels,
            store: None,
            server_pid: args.server_pid,
        };
        print_server_memory(args.server_pid, "at start");
        let seconds = Duration::from_secs(args.seconds);
        match args.scenario {
            Scenario::Create => bench_create(&target, args.concurrency, count).await,
            Scenario::Get => bench_get(&target, args.concurrency, count, seconds).await,
            Scenario::List => bench_list(&target, args.concurrency, count, seconds).await,
            Scenario::Wait | Scenario::Cluster => unreachable!("handled above"),
        }
    })
}

/// Starts the server in this process, over a fresh temporary data directory, and drives it.
fn run_in_process(args: &Args, count: u64) -> anyhow::Result<bool> {
    let data_dir = tempfile::tempdir().context("creating the data directory")?;
    print_machine(Some(data_dir.path()));
    describe_run(args, count);

    let location = match args.postgres {
        true => {
            let cluster = ThrowawayCluster::get().map_err(anyhow::Error::msg)?;
            println!(
                "engine: PostgreSQL, a throwaway cluster in {}",
                cluster.data_dir().display()
            );
            Location::Postgres(cluster.fresh_database("load"))
        }
        false => {
            println!("engine: sled");
            Location::Directory(data_dir.path().to_path_buf())
        }
    };
    // The server gets a runtime of its own, as it would in its own process; the load
    // generator's tasks then cannot delay the server's by sitting in the same queues.
    // Both still share the CPUs.
    let server_runtime = runtime("server")?;
    let server = InProcess::start(&server_runtime, &location, &StoreOptions::default())?;

    let clients = runtime("client")?;
    let outcome = clients.block_on(async {
        let channels = connect(&server.url(), args.connections).await?;
        let target = Target {
            channels: &channels,
            store: Some(&server.store),
            server_pid: None,
        };
        let seconds = Duration::from_secs(args.seconds);
        match args.scenario {
            Scenario::Create => bench_create(&target, args.concurrency, count).await,
            Scenario::Get => bench_get(&target, args.concurrency, count, seconds).await,
            Scenario::List => bench_list(&target, args.concurrency, count, seconds).await,
            Scenario::Wait | Scenario::Cluster => unreachable!("checked in run"),
        }
    });
    drop(clients);
    server.stop(&server_runtime)?;
    outcome
}

/// A server running in this process on a store of its own.
struct InProcess {
    store: Store,
    address: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Opens the store at `location` and serves it on a free port of 127.0.0.1, on
    /// `runtime`.
    fn start(
        runtime: &Runtime,
        location: &Location,
        options: &StoreOptions,
    ) -> anyhow::Result<InProcess> {
        let store = Store::open_at(location, options).context("opening the store")?;
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .context("binding 127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = runtime.spawn(server::run(
            listener,
            store.clone(),
            ServerOptions::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(InProcess {
            store,
            address,
            stop,
            serving,
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops serving; the writer stops, after its final flush, with the store.
    fn stop(self, runtime: &Runtime) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        runtime
            .block_on(self.serving)
            .context("the server task panicked")?
            .context("the server failed")
    }
}

fn runtime(name: &str) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("building the {name} runtime"))
}

async fn connect(url: &str, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("{url} is not a server address"))?
        .tcp_nodelay(true);
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        channels.push(
            endpoint
                .connect()
                .await
                .with_context(|| format!("connecting to {url}"))?,
        );
    }
    Ok(channels)
}

/// The server being driven: its connections, and its store when it runs in this process.
struct Target<'a> {
    channels: &'a [Channel],
    /// The in-process server's store, for the writer's statistics.
    store: Option<&'a Store>,
    /// The server's process, when it runs in another one, for its memory.
    server_pid: Option<u32>,
}

impl Target<'_> {
    fn write_stats(&self) -> Option<WriteStatsSnapshot> {
        self.store.map(Store::write_stats)
    }

    /// Runs one measured phase; when the server's process is known, samples its VmRSS
    /// meanwhile and prints the CPU time it and this load generator used, per request.
    async fn phase(&self, name: &str, work: impl Future<Output = Tally>) -> Tally {
        let Some(pid) = self.server_pid else {
            return work.await;
        };
        let (done, mut stopped) = oneshot::channel::<()>();
        let sampler = tokio::spawn(async move {
            let mut peak = 0u64;
            loop {
                peak = peak.max(memory_kib(pid).map_or(0, |m| m.rss));
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        });
        let (server_before, client_before) = (cpu_seconds(&pid.to_string()), cpu_seconds("self"));
        let tally = work.await;
        let (server_after, client_after) = (cpu_seconds(&pid.to_string()), cpu_seconds("self"));
        let _ = done.send(());
        let peak = sampler.await.unwrap_or(0);
        println!(
            "{name:<9} server VmRSS at most {:.0} MiB while it ran (sampled every 200 ms)",
            peak as f64 / 1024.0
        );
        if let (Some(sb), Some(sa), Some(cb), Some(ca)) =
            (server_before, server_after, client_before, client_after)
        {
            let requests = tally.ok.max(1) as f64;
            println!(
                "{name:<9} CPU: server {:.1} s, load generator {:.1} s in {:.1} s; per request: server {:.1} us, load generator {:.1} us",
                sa - sb,
                ca - cb,
                tally.elapsed.as_secs_f64(),
                (sa - sb) / requests * 1e6,
                (ca - cb) / requests * 1e6,
            );
        }
        tally
    }
}

/// User plus system CPU time of a process (`self` or a pid), from /proc/PID/stat, in
/// seconds (clock ticks of 1/100 s, Linux's fixed USER_HZ).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// One registry client per worker, worker `i` on connection `i % connections`.
fn registry_clients(channels: &[Channel], workers: usize) -> Vec<RegistryClient> {
    (0..workers)
        .map(|i| TeacherRegistryServiceClient::new(channels[i % channels.len()].clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Scenarios

async fn bench_create(target: &Target<'_>, concurrency: usize, count: u64) -> anyhow::Result<bool> {
    // Against a running server, the new teachers follow those it already holds.
    let first = match target.store {
        Some(_) => 0,
        None => registry_size(target.channels).await?.0,
    };
    anyhow::ensure!(
        first + count <= Roster::CAPACITY,
        "the registry holds {first} teachers; --count is at most {}",
        Roster::CAPACITY - first
    );
    let calls = registry_clients(target.channels, concurrency)
        .into_iter()
        .map(|client| CreateCall {
            client,
            first,
            ids: None,
            acks: None,
        })
        .collect();
    let before = target.write_stats();
    let tally = target
        .phase("create", drive(calls, Stop::After(count)))
        .await;
    let after = target.write_stats();
    tally.print("create", "creates/s");
    print_writer(before.zip(after), tally.elapsed);
    print_disk(target, count)?;
    print_server_memory(target.server_pid, "after");
    Ok(tally.is_clean())
}

/// The data directory's size after `count` creates, and per create, when the server runs
/// in this process (its store is at hand).
fn print_disk(target: &Target<'_>, count: u64) -> anyhow::Result<()> {
    if let Some(store) = target.store {
        let bytes = store.size_on_disk()?;
        println!(
            "disk      {bytes} bytes after the phase, {:.0} bytes per create",
            bytes as f64 / count.max(1) as f64
        );
    }
    Ok(())
}

async fn bench_get(
    target: &Target<'_>,
    concurrency: usize,
    count: u64,
    seconds: Duration,
) -> anyhow::Result<bool> {
    let channels = target.channels;
    let (ids, preloaded) = match target.store {
        Some(_) => preload(target, 0, count).await?,
        None => {
            let topped_up = top_up(target, count).await?;
            (learn_ids(channels).await?, topped_up)
        }
    };
    print_server_memory(target.server_pid, "before");
    let ids = Arc::new(ids);

    let calls = GetCall::workers(channels, concurrency, &ids);
    let get = target
        .phase("get", drive(calls, Stop::At(Instant::now() + seconds)))
        .await;
    get.print("get", "gets/s");

    let calls = (0..concurrency)
        .map(|i| HealthCall {
            client: HealthClient::new(channels[i % channels.len()].clone()),
        })
        .collect();
    let health = target
        .phase("health", drive(calls, Stop::At(Instant::now() + seconds)))
        .await;
    health.print("health", "checks/s");

    println!(
        "ratio     get/health {:.2} (throughput), p50 {:.2}x, p99 {:.2}x (latency)",
        get.rate() / health.rate(),
        get.quantile_ms(0.5) / health.quantile_ms(0.5),
        get.quantile_ms(0.99) / health.quantile_ms(0.99),
    );
    print_server_memory(target.server_pid, "after");
    Ok(preloaded && get.is_clean() && health.is_clean())
}

async fn bench_list(
    target: &Target<'_>,
    concurrency: usize,
    count: u64,
    seconds: Duration,
) -> anyhow::Result<bool> {
    let (counties, preloaded): (Vec<String>, bool) = match target.store {
        Some(_) => {
            let (_, preloaded) = preload(target, 0, count).await?;
            (
                COUNTIES.iter().map(|(code, _)| code.to_string()).collect(),
                preloaded,
            )
        }
        None => {
            let topped_up = top_up(target, count).await?;
            let (_, counties) = registry_size(target.channels).await?;
            println!(
                "counties  {} (from GetStatistics): {}",
                counties.len(),
                counties
                    .iter()
                    .map(|(code, total)| format!("{code} {total}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (
                counties.into_iter().map(|(code, _)| code).collect(),
                topped_up,
            )
        }
    };
    anyhow::ensure!(!counties.is_empty(), "the registry has no county to list");
    print_server_memory(target.server_pid, "before");
    let calls = registry_clients(target.channels, concurrency)
        .into_iter()
        .enumerate()
        .map(|(i, client)| ListCall {
            client,
            county: counties[i % counties.len()].clone(),
            page_token: String::new(),
        })
        .collect();
    let list = target
        .phase("list", drive(calls, Stop::At(Instant::now() + seconds)))
        .await;
    list.print("list", "pages/s");
    println!(
        "          {:.0} teachers/s listed, {:.1} teachers per page",
        list.items as f64 / list.elapsed.as_secs_f64(),
        list.items as f64 / list.ok.max(1) as f64,
    );
    print_server_memory(target.server_pid, "after");
    Ok(preloaded && list.is_clean())
}

/// Creates `count` teachers at high concurrency, the roster's from number `first` on;
/// answers their registry numbers and whether every create succeeded.
async fn preload(
    target: &Target<'_>,
    first: u64,
    count: u64,
) -> anyhow::Result<(Vec<String>, bool)> {
    anyhow::ensure!(
        first + count <= Roster::CAPACITY,
        "cannot preload beyond {} teachers",
        Roster::CAPACITY
    );
    let ids = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let calls = registry_clients(target.channels, PRELOAD_CONCURRENCY)
        .into_iter()
        .map(|client| CreateCall {
            client,
            first,
            ids: Some(ids.clone()),
            acks: None,
        })
        .collect();
    let before = target.write_stats();
    let tally = drive(calls, Stop::After(count)).await;
    let after = target.write_stats();
    println!(
        "preload   {} teachers at concurrency {PRELOAD_CONCURRENCY}: {:.0} creates/s, {}",
        tally.ok,
        tally.rate(),
        match before.zip(after) {
            Some((before, after)) => format!("{:.1} mutations per flush", per_group(before, after)),
            None => WRITER_UNAVAILABLE.to_string(),
        },
    );
    tally.print_failures("preload");
    let ids = std::mem::take(&mut *ids.lock().expect("no worker panicked"));
    anyhow::ensure!(!ids.is_empty(), "the preload created no teacher");
    Ok((ids, tally.is_clean()))
}

const WRITER_UNAVAILABLE: &str =
    "writer statistics unavailable (the server runs in another process)";

/// How many teachers the registry holds, and by county (counties holding none left out),
/// from GetStatistics.
async fn registry_size(channels: &[Channel]) -> anyhow::Result<(u64, Vec<(String, u64)>)> {
    let mut client = TeacherRegistryServiceClient::new(channels[0].clone());
    let statistics = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .map_err(|status| anyhow::anyhow!("GetStatistics failed: {status}"))?
        .into_inner();
    let total = statistics.totals.map_or(0, |totals| totals.total);
    let counties = statistics
        .counties
        .into_iter()
        .filter(|county| county.total > 0)
        .map(|county| (county.county_code, county.total))
        .collect();
    Ok((total, counties))
}

/// Against a running server: creates teachers only if it holds fewer than `count`;
/// answers whether every create succeeded.
async fn top_up(target: &Target<'_>, count: u64) -> anyhow::Result<bool> {
    let (total, _) = registry_size(target.channels).await?;
    if total >= count {
        println!("preload   skipped: the registry already holds {total} teachers");
        anyhow::ensure!(total > 0, "the registry holds no teacher; pass --count");
        return Ok(true);
    }
    println!(
        "preload   the registry holds {total} teachers; creating {} more",
        count - total
    );
    Ok(preload(target, total, count - total).await?.1)
}

/// Every registry number the server holds, by paging ListTeachers (1000 a page).
async fn learn_ids(channels: &[Channel]) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let mut client = TeacherRegistryServiceClient::new(channels[0].clone());
    let (mut ids, mut page_token, mut pages) = (Vec::new(), String::new(), 0u64);
    loop {
        let request = pb::ListTeachersRequest {
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = client
            .list_teachers(request)
            .await
            .map_err(|status| anyhow::anyhow!("ListTeachers failed: {status}"))?
            .into_inner();
        pages += 1;
        anyhow::ensure!(page.teachers.len() <= 1000, "a page larger than asked for");
        for teacher in page.teachers {
            anyhow::ensure!(
                !teacher.teacher_id.is_empty(),
                "ListTeachers answered a teacher without a registry number"
            );
            ids.push(teacher.teacher_id);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    println!(
        "ids       {} registry numbers learned by paging ListTeachers ({pages} pages of up to 1000) in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(!ids.is_empty(), "the registry holds no teacher");
    Ok(ids)
}

/// Polls gRPC health Check at `url` until it answers SERVING; prints how long that took,
/// measured from `since` (nanoseconds since the Unix epoch) or else from now.
async fn wait_serving(url: &str, since: Option<u128>, timeout: Duration) -> anyhow::Result<bool> {
    let started = Instant::now();
    let origin = match since {
        Some(ns) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos();
            anyhow::ensure!(ns <= now, "--since-unix-ns is in the future");
            let ago = Duration::from_nanos(u64::try_from(now - ns)?);
            started.checked_sub(ago).unwrap_or(started)
        }
        None => started,
    };
    let endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("{url} is not a server address"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(1));
    let (mut attempts, mut connected, mut last) = (0u64, None, String::from("no answer"));
    while started.elapsed() < timeout {
        attempts += 1;
        let channel = match endpoint.connect().await {
            Ok(channel) => channel,
            Err(e) => {
                last = format!("connecting: {e}");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        connected.get_or_insert_with(|| origin.elapsed());
        let mut client = HealthClient::new(channel);
        let check = client.check(HealthCheckRequest {
            service: String::new(),
        });
        match tokio::time::timeout(Duration::from_secs(1), check).await {
            Ok(Ok(response)) if response.get_ref().status == ServingStatus::Serving as i32 => {
                let elapsed = origin.elapsed();
                println!(
                    "wait      SERVING after {:.3} s{} ({attempts} attempts; first connection accepted after {:.3} s)",
                    elapsed.as_secs_f64(),
                    if since.is_some() { " since --since-unix-ns" } else { "" },
                    connected.unwrap_or(elapsed).as_secs_f64(),
                );
                return Ok(true);
            }
            Ok(Ok(response)) => last = format!("health status {}", response.get_ref().status),
            Ok(Err(status)) => last = format!("health Check: {status}"),
            Err(_) => last = "health Check: no answer within 1 s".to_string(),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "wait      FAILED: not SERVING after {:.1} s ({attempts} attempts; last: {last})",
        origin.elapsed().as_secs_f64()
    );
    Ok(false)
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
    /// The roster number of the first teacher to create.
    first: u64,
    /// Where to keep the new registry numbers, when they are needed later.
    ids: Option<Arc<Mutex<Vec<String>>>>,
    /// Where to note each create's revision and when it was acknowledged, with the
    /// number of the server that took it, when the watch lag is measured.
    acks: Option<(usize, Acks)>,
}

/// Creates acknowledged: revision, when, and by which server.
type Acks = Arc<Mutex<Vec<(u64, Instant, usize)>>>;

impl Call for CreateCall {
    async fn call(&mut self, n: u64) -> Result<u64, Failure> {
        let teacher = Roster::teacher(self.first + n);
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
        if let Some((server, acks)) = &self.acks {
            acks.lock().expect("no worker panicked").push((
                created.revision,
                Instant::now(),
                *server,
            ));
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

impl GetCall {
    /// `workers` calls spread over `channels`, each drawing from `ids` with its own
    /// generator, seeded by its place so that runs repeat.
    fn workers(channels: &[Channel], workers: usize, ids: &Arc<Vec<String>>) -> Vec<GetCall> {
        registry_clients(channels, workers)
            .into_iter()
            .enumerate()
            .map(|(i, client)| GetCall {
                client,
                ids: ids.clone(),
                rng: StdRng::seed_from_u64(i as u64),
            })
            .collect()
    }
}

impl Call for GetCall {
    async fn call(&mut self, _: u64) -> Result<u64, Failure> {
        let id = &self.ids[self.rng.gen_range(0..self.ids.len())];
        let request = pb::GetTeacherRequest {
            teacher_id: id.clone(),
            revision: None,
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
    county: String,
    page_token: String,
}

impl Call for ListCall {
    async fn call(&mut self, _: u64) -> Result<u64, Failure> {
        let request = pb::ListTeachersRequest {
            page_size: LIST_PAGE_SIZE,
            page_token: std::mem::take(&mut self.page_token),
            county_code: self.county.clone(),
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
fn print_writer(stats: Option<(WriteStatsSnapshot, WriteStatsSnapshot)>, elapsed: Duration) {
    let Some((before, after)) = stats else {
        println!("writer    {WRITER_UNAVAILABLE}");
        return;
    };
    let groups = after.groups - before.groups;
    let flush_micros = after.flush_micros - before.flush_micros;
    println!(
        "writer    {groups} groups, {:.1} mutations per flush, mean apply+flush {:.2} ms, busy {:.0}% of the phase",
        per_group(before, after),
        flush_micros as f64 / groups.max(1) as f64 / 1000.0,
        flush_micros as f64 / elapsed.as_micros().max(1) as f64 * 100.0,
    );
    // Where a group's time goes besides its flush: on a shared engine the writer reads a
    // group's keys ahead, waits for the one before to be written, starts the group (takes
    // the writers' lock), reads the keys again under it and stages.
    let per_group_ms = |micros: u64| micros as f64 / groups.max(1) as f64 / 1000.0;
    println!(
        "writer    per group: begin {:.2} ms, read ahead {:.2} ms, read again {:.2} ms, stage {:.2} ms, wait for the flush before {:.2} ms",
        per_group_ms(after.begin_micros - before.begin_micros),
        per_group_ms(after.read_ahead_micros - before.read_ahead_micros),
        per_group_ms(after.read_again_micros - before.read_again_micros),
        per_group_ms(after.stage_micros - before.stage_micros),
        per_group_ms(after.wait_micros - before.wait_micros),
    );
}

// ---------------------------------------------------------------------------------------
// Teachers

/// The n-th teacher of a run (see [`common::roster`]), as a gRPC message.
struct Roster;

impl Roster {
    const CAPACITY: u64 = roster::CAPACITY;

    fn teacher(n: u64) -> pb::Teacher {
        let person = roster::person(n);
        let gender = if person.male {
            pb::Gender::Male
        } else {
            pb::Gender::Female
        };
        let legacy_title = person
            .legacy_title
            .map_or(pb::LegacyTitle::Unspecified, |place| LEGACY_TITLES[place]);
        pb::Teacher {
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
            national_id: person.national_id,
            name: person.name,
            gender: gender as i32,
            birth_date: person.birth_date,
            county_code: person.county_code,
            school: person.school,
            employment_status: pb::EmploymentStatus::Active as i32,
            legacy_title: legacy_title as i32,
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// The machine

/// Prints what the figures depend on: CPUs, memory, kernel, and where the data lives (when
/// the server runs in this process).
fn print_machine(data_dir: Option<&Path>) {
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
    if let Some(data_dir) = data_dir {
        println!(
            "data      {} on {}; server and load generator share the CPUs",
            data_dir.display(),
            filesystem_of(data_dir),
        );
    }
}

/// A process's memory, in KiB, from /proc/PID/status.
struct Memory {
    rss: u64,
    hwm: u64,
}

fn memory_kib(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
    })
}

/// Prints the server's VmRSS and VmHWM (peak) when its process is known.
fn print_server_memory(pid: Option<u32>, when: &str) {
    let Some(pid) = pid else { return };
    let load = read("/proc/loadavg");
    let load = load.split_whitespace().next().unwrap_or("unknown");
    match memory_kib(pid) {
        Some(memory) => println!(
            "memory    server {when}: VmRSS {:.0} MiB, VmHWM {:.0} MiB (load average {load})",
            memory.rss as f64 / 1024.0,
            memory.hwm as f64 / 1024.0,
        ),
        None => println!("memory    server {when}: /proc/{pid}/status unreadable"),
    }
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
