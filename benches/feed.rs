//! Change-feed latency benchmark: W watchers follow WatchChanges while one client writes
//! at a fixed rate; for every change each watcher receives, the latency from the commit
//! (the change's server timestamp) to its arrival at the watcher.
//!
//! ```text
//! cargo bench --bench feed -- [WATCHERS=10] [WRITES_PER_SECOND=1000] [SECONDS=10]
//! ```
//!
//! Server and clients share this process and the machine's cores; see benches/README.md.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::pb::watch_changes_response::Event;
use teacher_registry::domain::resident_check_character;
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::{Store, StoreOptions};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn teacher(n: u64) -> pb::Teacher {
    let born =
        chrono::NaiveDate::from_ymd_opt(1965, 1, 1).unwrap() + chrono::Days::new(n / 1000 % 12_000);
    let first17 = format!("350702{}{:03}", born.format("%Y%m%d"), n % 1000);
    let check = resident_check_character(first17.as_bytes());
    pb::Teacher {
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: format!("{first17}{check}"),
        name: format!("教师{n}"),
        gender: if n % 2 == 1 {
            pb::Gender::Male
        } else {
            pb::Gender::Female
        } as i32,
        birth_date: born.format("%Y-%m-%d").to_string(),
        county_code: "350702".into(),
        school: "一中".into(),
        employment_status: pb::EmploymentStatus::Active as i32,
        ..Default::default()
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let watchers = arg(0, 10);
    let rate = arg(1, 1000);
    let seconds = arg(2, 10);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), &StoreOptions::default())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::run(
        listener,
        store,
        ServerOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let url = format!("http://{address}");
    let total = rate * seconds;

    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let mut client = TeacherRegistryServiceClient::connect(url.clone()).await?;
        let mut stream = client
            .watch_changes(pb::WatchChangesRequest::default())
            .await?
            .into_inner();
        tasks.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new(3).unwrap();
            let mut seen = 0;
            while seen < total {
                match stream.message().await {
                    Ok(Some(pb::WatchChangesResponse {
                        event: Some(Event::Change(change)),
                    })) => {
                        let time = change.change_time.unwrap();
                        let committed = time.seconds * 1_000_000 + i64::from(time.nanos) / 1000;
                        histogram
                            .record((now_micros() - committed).max(0) as u64)
                            .unwrap();
                        seen += 1;
                    }
                    Ok(Some(_)) => {}
                    other => panic!("watch ended: {other:?}"),
                }
            }
            histogram
        }));
    }

    // Writes start on a fixed schedule, each on its own task, so a slow flush does not
    // delay the next write (an open-loop load).
    let writer = TeacherRegistryServiceClient::connect(url).await?;
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut writes = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = started + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let mut writer = writer.clone();
        writes.push(tokio::spawn(async move {
            writer
                .create_teacher(pb::CreateTeacherRequest {
                    teacher: Some(teacher(n)),
                    request_id: String::new(),
                })
                .await
        }));
    }
    for write in writes {
        write.await??;
    }
    let achieved = total as f64 / started.elapsed().as_secs_f64();
    let mut all = Histogram::<u64>::new(3).unwrap();
    for task in tasks {
        all.add(task.await?)?;
    }
    let _ = stop.send(());
    server.await??;
    println!("machine: {} cores", std::thread::available_parallelism()?);
    println!(
        "{watchers} watchers, {total} writes at {achieved:.0}/s: commit-to-watcher latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} deliveries)",
        all.value_at_quantile(0.5) as f64 / 1000.0,
        all.value_at_quantile(0.99) as f64 / 1000.0,
        all.max() as f64 / 1000.0,
        all.len()
    );
    Ok(())
}
