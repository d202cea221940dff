//! Disk faults: the data directory runs out of space while the server runs.
//!
//! The real binary runs with its data directory on a small tmpfs, which the test fills
//! with a filler file. Writes must then fail with RESOURCE_EXHAUSTED (reason DISK_FULL)
//! and a log line, reads must go on (the server frees its disk reserve to open the
//! database again), nothing acknowledged may be lost, and once the filler is gone the
//! very same requests (same request ids) must succeed without duplicates.
//! Mounting needs root, so these tests are ignored in the quick `cargo test`; the whole
//! suite runs them, and where even it cannot mount a tmpfs they print why and skip.
//!
//! A read-only remount cannot be made while the server holds its files open for writing
//! (the kernel refuses with EBUSY), so the read-only fault is covered by the classifier
//! in `store` and by `a_read_only_data_directory_is_refused_at_start` below.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

mod common;
use common::{create_request, error_info, teacher, Answered};

type Client = TeacherRegistryServiceClient<Channel>;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `megabytes` on `dir`; None (with the reason printed) when it cannot.
    fn mount(dir: &Path, megabytes: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}M"), "tmpfs"])
            .arg(dir)
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Tmpfs(dir.to_path_buf())),
            Ok(output) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A temporary directory with a tmpfs at its `disk/`, the data directory on it.
struct SmallDisk {
    // Unmounted before the directory is removed: fields drop in this order.
    _tmpfs: Tmpfs,
    temp: tempfile::TempDir,
    data: PathBuf,
}

impl SmallDisk {
    /// A tmpfs of `megabytes`; None (with the reason printed) when it cannot be mounted.
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let temp = tempfile::tempdir().unwrap();
        let tmpfs = Tmpfs::mount(&temp.path().join("disk"), megabytes)?;
        let data = temp.path().join("disk/data");
        Some(SmallDisk {
            _tmpfs: tmpfs,
            temp,
            data,
        })
    }

    /// `name` in the temporary directory (beside the tmpfs, or on it: "disk/...").
    fn path(&self, name: &str) -> PathBuf {
        self.temp.path().join(name)
    }

    /// The real server on the data directory, its log at `log`.
    async fn serve(&self, log: &str) -> Server {
        Server::start(&self.data, &self.path(log)).await
    }
}

/// The real server, its log going to a file the test reads.
struct Server {
    child: Child,
    client: Client,
    log: PathBuf,
}

impl Server {
    async fn start(data: &Path, log: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--disk-reserve-mb", "8"])
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start the server");
        let deadline = Instant::now() + Duration::from_secs(20);
        // The server binds its port before it opens the store (so that a refusal to
        // start creates nothing): a connection alone does not mean the store is open and
        // its opening logged, a SERVING health check does.
        while Instant::now() < deadline {
            if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .unwrap()
                .connect()
                .await
            {
                let mut health = HealthClient::new(channel.clone());
                let check = health.check(HealthCheckRequest::default()).await;
                if check.is_ok_and(|r| r.into_inner().status == 1) {
                    return Server {
                        child,
                        client: Client::new(channel),
                        log: log.to_path_buf(),
                    };
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not come up: {}", read(log));
    }

    fn log(&self) -> String {
        read(&self.log)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A failed assertion must not leave the server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn verify(data: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .args(["verify", "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Fills the file system holding `path` with a file until it is full.
fn fill(path: &Path) {
    let output = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "count=1024"])
        .arg(format!("of={}", path.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("No space left"),
        "the filler did not fill the disk: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sends a create until the server takes writes again (RESOURCE_EXHAUSTED meanwhile, and no
/// later than `deadline`); its teacher_id. The server must have logged the recovery.
async fn create_once_space_returns(
    client: &mut Client,
    server: &Server,
    n: u32,
    request_id: &str,
    deadline: Instant,
) -> String {
    let request = create_request(teacher(n, "110101"), request_id);
    let created = until_space_returns(server, deadline, async || {
        client.create_teacher(request.clone()).await
    })
    .await;
    let log = server.log();
    assert!(log.contains("takes writes again"), "{log}");
    created.teacher.unwrap().teacher_id
}

/// Sends `write` until the server takes it (RESOURCE_EXHAUSTED meanwhile, and no later
/// than `deadline`); its answer.
async fn until_space_returns<T>(
    server: &Server,
    deadline: Instant,
    mut write: impl AsyncFnMut() -> Result<tonic::Response<T>, tonic::Status>,
) -> T {
    loop {
        match write().await {
            Ok(answer) => return answer.into_inner(),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(Instant::now() < deadline, "no recovery: {}", server.log());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The registry's teacher count, by a read that writes nothing: a listing with identity
/// numbers in full is an export, refused on a full disk because its read-audit entry
/// cannot be stored.
async fn count_teachers(client: &mut Client) -> usize {
    let statistics = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .expect("statistics")
        .into_inner();
    statistics.totals.map_or(0, |totals| totals.total as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs, which needs root: the whole suite runs it (README, Running it)"]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::mount(32) else {
        return;
    };
    let server = disk.serve("server.log").await;
    let mut client = server.client.clone();

    // teacher_id by request id, for every create the server acknowledged.
    let mut acknowledged: HashMap<String, String> = HashMap::new();
    for n in 0..100 {
        let request_id = format!("disk-{n}");
        let created = client
            .create_teacher(create_request(teacher(n, "110101"), &request_id))
            .await
            .expect("create before the disk is full")
            .into_inner();
        acknowledged.insert(request_id, created.teacher.unwrap().teacher_id);
    }

    fill(&disk.path("disk/filler"));

    // Writes fail, with the status and reason of a full disk, and keep failing.
    let mut refused = Vec::new();
    for n in 100..400 {
        let request_id = format!("disk-{n}");
        match client
            .create_teacher(create_request(teacher(n, "110101"), &request_id))
            .await
        {
            Ok(created) => {
                assert!(refused.is_empty(), "a write succeeded after one failed");
                acknowledged.insert(request_id, created.into_inner().teacher.unwrap().teacher_id);
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert_eq!(error_info(&status)["reason"], "DISK_FULL");
                assert!(status.message().contains("disk is full"), "{status:?}");
                refused.push((n, request_id));
                if refused.len() == 5 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused.len(), 5, "writes kept succeeding on a full disk");
    let log = server.log();
    assert!(
        log.contains("disk full"),
        "no log line names the fault: {log}"
    );
    assert!(log.contains("disk reserve is freed"), "{log}");

    // Reads go on, and see every acknowledged teacher.
    for teacher_id in acknowledged.values() {
        client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: teacher_id.clone(),
                revision: None,
            })
            .await
            .unwrap_or_else(|e| panic!("a read while the disk is full: {e:?}\n{}", server.log()));
    }
    assert!(count_teachers(&mut client).await >= acknowledged.len());

    // Space returns: the refused requests, sent again with their request ids, succeed.
    std::fs::remove_file(disk.path("disk/filler")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for (n, request_id) in &refused {
        let id = create_once_space_returns(&mut client, &server, *n, request_id, deadline).await;
        acknowledged.insert(request_id.clone(), id);
    }

    // One record per acknowledged request: none lost, none duplicated.
    assert_eq!(count_teachers(&mut client).await, acknowledged.len());
    let mut feed_revision = 0;
    let changes = client
        .list_changes(pb::ListChangesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("the change feed after recovery")
        .into_inner();
    for change in &changes.changes {
        assert_eq!(
            change.revision,
            feed_revision + 1,
            "a gap in the change feed"
        );
        feed_revision = change.revision;
    }
    // Besides the acknowledged changes, only the revisions of lost writes, voided.
    let voided = pb::ChangeKind::Voided as i32;
    let kept = changes.changes.iter().filter(|c| c.kind != voided).count();
    assert_eq!(kept, acknowledged.len());

    server.stop();
    verify(&disk.data);
}

/// An update of a teacher's school.
fn new_school(teacher_id: &str, school: &str) -> pb::UpdateTeacherRequest {
    pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: teacher_id.into(),
            school: school.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["school".into()],
        }),
        ..Default::default()
    }
}

/// A reader may see a write before its flush. When the flush fails, the revision that
/// write took (and the etag a reader may have seen) must never come to name another
/// change: it is voided, the feed stays gap-free, and writes go on after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs, which needs root: the whole suite runs it (README, Running it)"]
async fn a_revision_lost_to_a_failed_flush_is_never_reused() {
    let Some(disk) = SmallDisk::mount(32) else {
        return;
    };
    let server = disk.serve("server.log").await;
    let mut client = server.client.clone();
    let mut created = Vec::new();
    for n in 0..2 {
        let teacher = client
            .create_teacher(create_request(teacher(n, "110101"), &format!("seen-{n}")))
            .await
            .unwrap_teacher();
        created.push(teacher);
    }
    let (watched, other) = (created[0].teacher_id.clone(), created[1].teacher_id.clone());

    // A reader reads the watched teacher without pause, noting every revision it sees.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (mut client, id, stop) = (client.clone(), watched.clone(), stop.clone());
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let request = pb::GetTeacherRequest {
                    teacher_id: id.clone(),
                    revision: None,
                };
                if let Ok(teacher) = client.get_teacher(request).await {
                    seen.insert(teacher.into_inner().teacher.unwrap().revision);
                }
            }
            seen
        })
    };

    fill(&disk.path("disk/filler"));
    // Update the watched teacher until a write is refused; the last acknowledged revision
    // (the second create's, if the very first update is refused).
    let mut last_acknowledged = created[1].revision;
    for n in 0..300 {
        match client
            .update_teacher(new_school(&watched, &format!("第{n}中学")))
            .await
        {
            Ok(updated) => last_acknowledged = updated.into_inner().teacher.unwrap().revision,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                break;
            }
        }
        assert!(n < 299, "writes kept succeeding on a full disk");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.await.unwrap();

    // Space returns; another teacher's change is the next write.
    std::fs::remove_file(disk.path("disk/filler")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let update = new_school(&other, "恢复后中学");
    let updated = until_space_returns(&server, deadline, async || {
        client.update_teacher(update.clone()).await
    })
    .await;
    let next = updated.teacher.unwrap().revision;

    // The refused write took the revision after the last acknowledged one: it still names
    // the watched teacher (voided, or the write itself should it have reached the disk),
    // and the next write came after it.
    let changes = common::all_changes(&mut client).await;
    let by_revision: HashMap<u64, &pb::Change> = changes.iter().map(|c| (c.revision, c)).collect();
    for (at, change) in changes.iter().enumerate() {
        assert_eq!(change.revision, at as u64 + 1, "a gap in the change feed");
    }
    let lost = &by_revision[&(last_acknowledged + 1)];
    assert_eq!(
        lost.teacher_id, watched,
        "the lost revision was reused: {lost:?}"
    );
    assert!(
        next > last_acknowledged + 1,
        "{next} after {last_acknowledged}"
    );
    assert_eq!(by_revision[&next].teacher_id, other);
    // Every revision the reader saw names the watched teacher's change, never another.
    for revision in &seen {
        assert_eq!(
            by_revision[revision].teacher_id, watched,
            "revision {revision}"
        );
    }
    assert!(
        server.log().contains("voided, never reused"),
        "{}",
        server.log()
    );

    server.stop();
    verify(&disk.data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs, which needs root: the whole suite runs it (README, Running it)"]
async fn a_read_only_data_directory_is_refused_at_start() {
    let Some(disk) = SmallDisk::mount(8) else {
        return;
    };
    let server = disk.serve("first.log").await;
    server.stop();
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(disk.path("disk"))
        .status()
        .unwrap();
    assert!(remounted.success(), "remount read-only");
    let output = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&disk.data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

/// A server started on a full disk frees its reserve to open, serves reads, refuses writes
/// without touching the database (so reads go on), and takes writes once space returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs, which needs root: the whole suite runs it (README, Running it)"]
async fn a_server_started_on_a_full_disk_serves_reads_and_writes_when_space_returns() {
    let Some(disk) = SmallDisk::mount(32) else {
        return;
    };
    let server = disk.serve("first.log").await;
    let mut client = server.client.clone();
    let mut ids = Vec::new();
    for n in 0..20 {
        let created = client
            .create_teacher(create_request(teacher(n, "110101"), &format!("full-{n}")))
            .await
            .expect("create on an empty disk")
            .into_inner();
        ids.push(created.teacher.unwrap().teacher_id);
    }
    server.stop();

    fill(&disk.path("disk/filler"));
    let server = disk.serve("second.log").await;
    let mut client = server.client.clone();
    assert!(
        server.log().contains("disk reserve is freed"),
        "{}",
        server.log()
    );

    for attempt in 0..3 {
        let status = client
            .create_teacher(create_request(teacher(100, "110101"), "full-100"))
            .await
            .expect_err("a write on a full disk");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(error_info(&status)["reason"], "DISK_FULL");
        for id in &ids {
            client
                .get_teacher(pb::GetTeacherRequest {
                    teacher_id: id.clone(),
                    revision: None,
                })
                .await
                .unwrap_or_else(|e| {
                    panic!("read {attempt} on a full disk: {e:?}\n{}", server.log())
                });
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    std::fs::remove_file(disk.path("disk/filler")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    create_once_space_returns(&mut client, &server, 100, "full-100", deadline).await;
    assert_eq!(count_teachers(&mut client).await, ids.len() + 1);
    server.stop();
    verify(&disk.data);
}
