//! The `cluster` scenario, PostgreSQL only: what several servers on one database do
//! together, and what a synchronous standby costs and serves.
//!
//! ```text
//! cargo bench --bench load -- cluster [--servers 2] [--standby] [--count 20000] [--seconds 10]
//!     [--db-delay-us 250]
//! ```
//!
//! Starts a throwaway cluster (with `--standby`, a primary and a synchronous hot standby,
//! `store::ReplicatedCluster`) and `--servers` servers in this process, each with its own
//! store, writer and connections on the one database; with `--standby`, one more server
//! that reads from the standby (`--postgres-reads`). Then:
//!
//! 1. **create**: `--count` creates with `--concurrency` in flight, spread round-robin
//!    over the writing servers (never the standby's: its writes go to the primary too,
//!    but it is there to read). Every server's feed is watched meanwhile, and each
//!    create's revision is timed from its acknowledgement to its arrival on every other
//!    server's feed: the watch lag across servers.
//! 2. **get** and **list** (county pages of 100) for `--seconds` each, against the first
//!    server (reads on the primary), then against the standby's (reads on the standby).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::pb::watch_changes_response::Event;
use teacher_registry::store::{Location, ReplicatedCluster, StoreOptions, ThrowawayCluster};
use tonic::transport::Channel;

use super::{
    connect, describe_run, drive, latency, print_machine, print_writer, registry_clients, runtime,
    Acks, Args, CreateCall, GetCall, InProcess, ListCall, Stop, COUNTIES,
};

/// Runs the scenario; answers whether every request succeeded.
pub(super) fn run(args: &Args, count: u64) -> anyhow::Result<bool> {
    anyhow::ensure!(args.servers > 0, "--servers must be at least 1");
    print_machine(None);
    describe_run(args, count);
    // Kept until the end: dropping either stops its cluster.
    let mut replicated = None;
    let (primary, standby) = if args.standby {
        let cluster = ReplicatedCluster::start().map_err(anyhow::Error::msg)?;
        cluster.create_database("load");
        let urls = (
            cluster.primary_url("load"),
            Some(cluster.standby_url("load")),
        );
        println!("engine    PostgreSQL, a primary and its synchronous standby (remote_apply)");
        replicated = Some(cluster);
        urls
    } else {
        let cluster = ThrowawayCluster::get().map_err(anyhow::Error::msg)?;
        println!("engine    PostgreSQL, one throwaway cluster, no standby");
        (cluster.fresh_database("load"), None)
    };

    let delay = Duration::from_micros(args.db_delay_us);
    let (primary, standby) = match delay.is_zero() {
        true => (primary, standby),
        false => {
            println!("network   {delay:?} each way between the servers and the database");
            (
                latency::through(&primary, delay)?,
                standby
                    .map(|url| latency::through(&url, delay))
                    .transpose()?,
            )
        }
    };

    let server_runtime = runtime("server")?;
    let mut servers = Vec::new();
    for _ in 0..args.servers {
        servers.push(InProcess::start(
            &server_runtime,
            &Location::Postgres(primary.clone()),
            &StoreOptions::default(),
        )?);
    }
    let writers = servers.len();
    if let Some(standby) = &standby {
        let options = StoreOptions {
            standby_reads: Some(standby.clone()),
            ..StoreOptions::default()
        };
        servers.push(InProcess::start(
            &server_runtime,
            &Location::Postgres(primary.clone()),
            &options,
        )?);
    }
    println!(
        "servers   {writers} writing{}, in this process, each with its own store and connections",
        if standby.is_some() {
            ", and 1 reading the standby"
        } else {
            ""
        }
    );

    let clients = runtime("client")?;
    let clean = clients.block_on(measure(args, count, &servers, writers));
    for server in servers {
        server.stop(&server_runtime)?;
    }
    drop(replicated);
    clean
}

async fn measure(
    args: &Args,
    count: u64,
    servers: &[InProcess],
    writers: usize,
) -> anyhow::Result<bool> {
    let mut channels = Vec::new();
    for server in servers {
        channels.push(connect(&server.url(), args.connections).await?);
    }

    // Watchers on every server, from the start.
    let arrivals: Vec<Arrivals> = (0..servers.len()).map(|_| Arrivals::default()).collect();
    let watchers: Vec<_> = channels
        .iter()
        .zip(&arrivals)
        .map(|(channels, arrived)| tokio::spawn(watch(channels[0].clone(), arrived.clone())))
        .collect();

    // Creates, spread over the writing servers.
    let acks: Acks = Arc::default();
    let ids = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let calls = (0..args.concurrency)
        .map(|i| {
            let server = i % writers;
            let channels = &channels[server];
            CreateCall {
                client: TeacherRegistryServiceClient::new(
                    channels[i / writers % channels.len()].clone(),
                ),
                first: 0,
                ids: Some(ids.clone()),
                acks: Some((server, acks.clone())),
            }
        })
        .collect();
    let before: Vec<_> = servers.iter().map(|s| s.store.write_stats()).collect();
    let create = drive(calls, Stop::After(count)).await;
    create.print("create", "creates/s");
    for (n, server) in servers[..writers].iter().enumerate() {
        print!("server {}: ", n + 1);
        print_writer(
            Some((before[n], server.store.write_stats())),
            create.elapsed,
        );
    }
    let mut clean = create.is_clean();

    // The watch lag: each create, from its acknowledgement to each other server's feed.
    let last = acks
        .lock()
        .expect("no worker panicked")
        .iter()
        .map(|a| a.0)
        .max();
    if let Some(last) = last {
        let deadline = Instant::now() + Duration::from_secs(60);
        for arrived in &arrivals {
            while !arrived
                .lock()
                .expect("no watcher panicked")
                .contains_key(&last)
            {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "a feed did not reach revision {last}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    for watcher in watchers {
        watcher.abort();
    }
    let acks = std::mem::take(&mut *acks.lock().expect("no worker panicked"));
    for (n, arrived) in arrivals.iter().enumerate() {
        let arrived = arrived.lock().expect("no watcher panicked");
        let mut lag = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        for (revision, acknowledged, server) in &acks {
            if *server == n {
                continue;
            }
            let Some(at) = arrived.get(revision) else {
                println!(
                    "watch     FAILED: revision {revision} never reached server {}",
                    n + 1
                );
                clean = false;
                continue;
            };
            let micros = at.saturating_duration_since(*acknowledged).as_micros() as u64;
            lag.saturating_record(micros.max(1));
        }
        if !lag.is_empty() {
            println!(
                "watch     on {}: {} changes written elsewhere, lag from acknowledgement p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                server_name(n, writers),
                lag.len(),
                lag.value_at_quantile(0.5) as f64 / 1000.0,
                lag.value_at_quantile(0.99) as f64 / 1000.0,
                lag.max() as f64 / 1000.0,
            );
        }
    }

    // Reads: on the primary (the first server), then on the standby.
    let ids = Arc::new(std::mem::take(
        &mut *ids.lock().expect("no worker panicked"),
    ));
    anyhow::ensure!(!ids.is_empty(), "no teacher was created");
    let seconds = Duration::from_secs(args.seconds);
    let readers = if servers.len() > writers {
        vec![0, writers]
    } else {
        vec![0]
    };
    for n in readers {
        let name = server_name(n, writers);
        let calls = GetCall::workers(&channels[n], args.concurrency, &ids);
        let get = drive(calls, Stop::At(Instant::now() + seconds)).await;
        get.print(&format!("get {name}"), "gets/s");
        let calls = registry_clients(&channels[n], args.concurrency)
            .into_iter()
            .enumerate()
            .map(|(i, client)| ListCall {
                client,
                county: COUNTIES[i % COUNTIES.len()].0.to_string(),
                page_token: String::new(),
            })
            .collect();
        let list = drive(calls, Stop::At(Instant::now() + seconds)).await;
        list.print(&format!("list {name}"), "pages/s");
        clean &= get.is_clean() && list.is_clean();
    }
    Ok(clean)
}

fn server_name(n: usize, writers: usize) -> String {
    match n >= writers {
        true => "the standby".into(),
        false => format!("server {}", n + 1),
    }
}

/// When each revision reached one server's feed.
type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

/// Follows a server's feed from the start, noting when each revision arrives.
async fn watch(channel: Channel, arrived: Arrivals) {
    let mut client = TeacherRegistryServiceClient::new(channel);
    let request = pb::WatchChangesRequest {
        after_revision: 0,
        county_code: String::new(),
    };
    let Ok(stream) = client.watch_changes(request).await else {
        println!("watch     FAILED: WatchChanges refused");
        return;
    };
    let mut stream = stream.into_inner();
    while let Ok(Some(message)) = stream.message().await {
        if let Some(Event::Change(change)) = message.event {
            arrived
                .lock()
                .expect("no watcher panicked")
                .insert(change.revision, Instant::now());
        }
    }
}
