//! Store reads never hold a runtime worker (issue #17).
//!
//! The server runs on a runtime of its own with ONE worker. The test then takes sled's
//! process-wide lock, the one every `apply_batch` takes, through a transaction on a
//! database of its own that waits until the test lets go: from then on every sled read in
//! this process waits, as reads wait behind a long batch, but for as long as the test
//! says, so nothing here depends on timing. With 200 GetTeachers waiting for that lock, the
//! one worker must still answer a health check, refuse a malformed request and open the
//! county scans' streams (a title transition by county, a backup); and the reads must hold
//! no more blocking threads than the read bound. Reads made on the worker itself would
//! leave it waiting with them, and the health check would never answer.
//!
//! This file holds a single test: the lock stops every other test's reads in this process.
#![cfg(target_os = "linux")]

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{create, teacher, Client};
use teacher_registry::api::{pb, MAX_CONCURRENT_READS};
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::{Store, StoreOptions};
use tokio::sync::oneshot;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const COUNTY: &str = "350702";
/// The server runtime's threads (its worker and its blocking pool) carry this name.
const SERVER_THREADS: &str = "registry-server";
/// GetTeachers left waiting for sled's lock: more than the read bound, fewer than one
/// principal's in-flight limit (256).
const WAITING_READS: usize = 200;
/// Legacy-titled teachers the county's transition selects.
const LEGACY_TEACHERS: u32 = 3;
/// Generous: an answer that needs only the worker comes in milliseconds.
const PROMPTLY: Duration = Duration::from_secs(10);

#[test]
fn one_worker_keeps_answering_while_reads_wait_for_sled() {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .unwrap();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let (address, stop, server) = {
        let _in_server_runtime = server_runtime.enter();
        let store = Store::open(data.path(), &StoreOptions::default()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = server_runtime.spawn(server::run(
            listener,
            store,
            ServerOptions::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        (address, stop, server)
    };
    let url = format!("http://{address}");

    let (mut client, teacher_id) = client_runtime.block_on(async {
        let mut client = Client::connect(url.clone()).await.unwrap();
        let mut first = None;
        for n in 0..LEGACY_TEACHERS {
            let mut t = teacher(n, COUNTY);
            t.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
            first.get_or_insert(create(&mut client, t).await.teacher_id);
        }
        (client, first.unwrap())
    });
    let threads_before = threads_named(SERVER_THREADS);

    let sled_lock = SledLock::hold();
    let (gets, transition, backup) = client_runtime.block_on(async {
        let gets: Vec<_> = (0..WAITING_READS)
            .map(|_| {
                let (mut client, teacher_id) = (client.clone(), teacher_id.clone());
                tokio::spawn(async move {
                    client
                        .get_teacher(pb::GetTeacherRequest {
                            teacher_id,
                            revision: None,
                        })
                        .await
                })
            })
            .collect();
        // Count-based: the reads are in flight once the worker has the bound's worth of
        // blocking threads beside it, waiting in sled. Reads made on the worker never get there; the health check below
        // then says what went wrong.
        let reads_waiting = wait_until(Duration::from_secs(30), || {
            threads_named(SERVER_THREADS) > MAX_CONCURRENT_READS
        })
        .await;

        let channel = tonic::transport::Endpoint::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        let answered = tokio::time::timeout(PROMPTLY, health.check(HealthCheckRequest::default()))
            .await
            .expect("a health check answers while reads wait for sled");
        assert!(answered.is_ok(), "{answered:?}");
        assert!(
            reads_waiting,
            "{} server threads, {threads_before} before the reads",
            threads_named(SERVER_THREADS)
        );

        let mut probe = Client::connect(url.clone()).await.unwrap();
        let refused = tokio::time::timeout(
            PROMPTLY,
            probe.get_teacher(pb::GetTeacherRequest {
                teacher_id: "not a registry number".into(),
                revision: None,
            }),
        )
        .await
        .expect("a malformed GetTeacher is refused while reads wait for sled");
        assert_eq!(refused.unwrap_err().code(), Code::InvalidArgument);

        let transition = tokio::time::timeout(
            PROMPTLY,
            probe.transition_titles(pb::TransitionTitlesRequest {
                county_code: COUNTY.into(),
                effective_date: "2016-09-01".into(),
                approval_document: "Nan Ren She [2016] No. 88".into(),
                dry_run: true,
                ..Default::default()
            }),
        )
        .await
        .expect("a county's transition opens its stream before it scans the county")
        .unwrap()
        .into_inner();
        let backup = tokio::time::timeout(
            PROMPTLY,
            probe.backup_registry(pb::BackupRegistryRequest::default()),
        )
        .await
        .expect("a backup opens its stream before it scans")
        .unwrap()
        .into_inner();

        let threads = threads_named(SERVER_THREADS);
        assert!(
            threads <= threads_before + MAX_CONCURRENT_READS + 2,
            "{threads} server threads for {WAITING_READS} waiting reads, \
             {threads_before} before them; the bound is {MAX_CONCURRENT_READS}"
        );
        // The lock really held the reads (were it no longer sled's, this test would prove
        // nothing).
        let done = gets.iter().filter(|get| get.is_finished()).count();
        assert_eq!(done, 0, "GetTeachers answered while sled's lock was held");
        (gets, transition, backup)
    });
    drop(sled_lock);

    client_runtime.block_on(async {
        for get in gets {
            let teacher = get.await.unwrap().unwrap().into_inner().teacher.unwrap();
            assert_eq!(teacher.teacher_id, teacher_id);
        }
        let mut transition = transition;
        let mut selected = None;
        while let Some(message) = transition.message().await.unwrap() {
            if let Some(pb::transition_titles_response::Result::Summary(summary)) = message.result {
                selected = Some(summary.selected);
            }
        }
        assert_eq!(selected, Some(u64::from(LEGACY_TEACHERS)));
        let mut backup = backup;
        let mut snapshot = None;
        while let Some(message) = backup.message().await.unwrap() {
            if let Some(pb::backup_registry_response::Entry::Snapshot(s)) = message.entry {
                snapshot = Some(s.revision);
            }
        }
        assert_eq!(snapshot, Some(u64::from(LEGACY_TEACHERS)));
        // The server still serves reads normally.
        let teacher = client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: teacher_id.clone(),
                revision: None,
            })
            .await
            .unwrap();
        assert!(teacher.into_inner().teacher.is_some());
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}

/// Holds sled's process-wide lock (the one `apply_batch` takes) until dropped.
struct SledLock {
    release: Option<mpsc::Sender<()>>,
    holder: Option<thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl SledLock {
    /// Returns once the lock is held.
    fn hold() -> SledLock {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let (held, is_held) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let holder = thread::spawn(move || {
            // A transaction runs its closure holding the lock for writing.
            let outcome: sled::transaction::TransactionResult<(), ()> = db.transaction(|_| {
                let _ = held.send(());
                let _ = released.recv();
                Ok(())
            });
            outcome.unwrap();
        });
        is_held
            .recv_timeout(Duration::from_secs(30))
            .expect("sled's lock taken");
        SledLock {
            release: Some(release),
            holder: Some(holder),
            _dir: dir,
        }
    }
}

impl Drop for SledLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}

/// The threads of this process with this name.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// Whether `condition` became true within `limit`.
async fn wait_until(limit: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}
