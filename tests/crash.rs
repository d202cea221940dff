//! Crash safety: the server process is killed with SIGKILL at random moments while
//! several clients write (creates, updates, certificates, title changes, imports). After
//! every restart, each write whose OK a client received is there, nothing is half-applied
//! (`verify` passes), and the change feed has no gap.
//!
//! CI runs 10 kill cycles; `CRASH_CYCLES=100 cargo test --test crash` runs the long form.
//! The server keeps its registry where the suite says (`registry_args`): with
//! `TEACHER_REGISTRY_TEST_POSTGRES=1`, a database, where a killed server's open group is
//! rolled back with its connection and the next server takes the revision as committed.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rand::Rng;
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;

const WRITERS: u32 = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the real binary and waits (bounded) until it answers.
async fn spawn_server(dir: &Path, port: u16) -> (Child, Client) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(registry_args(dir))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    for _ in 0..400 {
        if let Ok(mut client) =
            TeacherRegistryServiceClient::connect(format!("http://127.0.0.1:{port}")).await
        {
            if client
                .list_teachers(pb::ListTeachersRequest::default())
                .await
                .is_ok()
            {
                return (child, client);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not come up");
}

/// What the clients were told was done, and what they tried after it.
#[derive(Clone, Default)]
struct Acknowledged {
    /// teacher_id → (last acknowledged school, schools tried since without an answer).
    schools: HashMap<String, (String, Vec<String>)>,
    /// Certificate numbers acknowledged, by teacher.
    certificates: HashMap<String, Vec<String>>,
    /// Teachers whose INITIAL title was acknowledged.
    titled: Vec<String>,
    /// National ids whose import was acknowledged as created or unchanged.
    imported: Vec<String>,
}

async fn write_until_failure(
    mut client: Client,
    writer: u32,
    cycle: u32,
    acked: Arc<Mutex<Acknowledged>>,
) {
    let mut mine: Vec<String> = Vec::new();
    for step in 0u32.. {
        let n = 100_000 + cycle * 4_000 + writer * 1_000 + step;
        let result = match step % 5 {
            0 | 1 => {
                let t = teacher(n, "350702");
                match client.create_teacher(create_request(t, "")).await {
                    Ok(r) => {
                        let t = r.into_inner().teacher.unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .schools
                            .insert(t.teacher_id.clone(), (t.school, Vec::new()));
                        mine.push(t.teacher_id);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            2 if !mine.is_empty() => {
                let id = mine[step as usize % mine.len()].clone();
                let school = format!("校{n}");
                acked
                    .lock()
                    .unwrap()
                    .schools
                    .get_mut(&id)
                    .unwrap()
                    .1
                    .push(school.clone());
                let request = pb::UpdateTeacherRequest {
                    teacher: Some(pb::Teacher {
                        teacher_id: id.clone(),
                        school: school.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                client.update_teacher(request).await.map(|_| {
                    let mut acked = acked.lock().unwrap();
                    let entry = acked.schools.get_mut(&id).unwrap();
                    *entry = (school, Vec::new());
                })
            }
            3 if !mine.is_empty() => {
                let id = mine.pop().unwrap();
                // Digit 10 is 3, the kind's digit; digit 11 the sex code; then a sequence.
                let number = format!("20163500033{:06}", n % 1_000_000);
                let request = junior_issue_request(&id, &number);
                let issued = client.issue_certificate(request).await;
                let issued = issued.map(|_| {
                    acked
                        .lock()
                        .unwrap()
                        .certificates
                        .entry(id.clone())
                        .or_default()
                        .push(number);
                });
                if issued.is_ok() {
                    let title = pb::ChangeTitleRequest {
                        teacher_id: id.clone(),
                        change: Some(pb::TitleEntry {
                            tier: pb::TitleTier::ThirdLevel as i32,
                            kind: pb::TitleChangeKind::Initial as i32,
                            effective_date: "2016-09-01".into(),
                            approval_document: "doc".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    };
                    client
                        .change_title(title)
                        .await
                        .map(|_| acked.lock().unwrap().titled.push(id.clone()))
                } else {
                    issued
                }
            }
            _ => {
                let rows: Vec<pb::Teacher> =
                    (0..20).map(|i| teacher(n * 20 + i, "350721")).collect();
                let requests: Vec<pb::ImportTeachersRequest> = rows
                    .iter()
                    .map(|t| pb::ImportTeachersRequest {
                        teacher: Some(t.clone()),
                        mode: pb::ImportMode::Upsert as i32,
                    })
                    .collect();
                match client.import_teachers(tokio_stream::iter(requests)).await {
                    Ok(response) => {
                        let mut stream = response.into_inner();
                        let mut failed = None;
                        loop {
                            match stream.message().await {
                                Ok(Some(result)) => {
                                    let row = &rows[result.row as usize - 1];
                                    assert_ne!(
                                        result.outcome(),
                                        pb::ImportOutcome::Rejected,
                                        "{result:?}"
                                    );
                                    acked.lock().unwrap().imported.push(row.national_id.clone());
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        failed.map_or(Ok(()), Err)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        if result.is_err() {
            return; // the server is gone
        }
    }
}

async fn check(client: &mut Client, acked: &Acknowledged) {
    for (id, (school, tried)) in &acked.schools {
        let t = client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: id.clone(),
                revision: None,
            })
            .await
            .unwrap_or_else(|e| panic!("acknowledged teacher {id} lost: {e}"))
            .into_inner()
            .teacher
            .unwrap();
        assert!(
            t.school == *school || tried.contains(&t.school),
            "{id}: school {} is neither the acknowledged {school} nor a later attempt",
            t.school
        );
        if let Some(numbers) = acked.certificates.get(id) {
            for number in numbers {
                assert!(
                    t.certificates
                        .iter()
                        .any(|c| &c.certificate_number == number),
                    "{id} lost {number}"
                );
            }
        }
    }
    for id in &acked.titled {
        let t = get_teacher(client, id).await;
        assert_eq!(
            t.current_title,
            pb::TitleTier::ThirdLevel as i32,
            "{id} lost its title"
        );
    }
    for national_id in &acked.imported {
        client
            .lookup_teacher(pb::LookupTeacherRequest {
                key: Some(pb::lookup_teacher_request::Key::NationalId(
                    national_id.clone(),
                )),
                id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
            })
            .await
            .unwrap_or_else(|e| panic!("an acknowledged import row was lost: {e}"));
    }
    // The change feed runs from 1 to the current revision without a gap.
    for (change, revision) in all_changes(client).await.iter().zip(1..) {
        assert_eq!(change.revision, revision, "the change feed has a gap");
    }
}

fn verify(dir: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .arg("verify")
        .args(registry_args(dir))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "verify after a crash: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let cycles: u32 = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut rng = rand::thread_rng();
    for cycle in 0..cycles {
        let port = free_port();
        let (mut child, mut client) = spawn_server(dir.path(), port).await;
        let snapshot = acked.lock().unwrap().clone();
        check(&mut client, &snapshot).await;
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let client = TeacherRegistryServiceClient::connect(format!("http://127.0.0.1:{port}"))
                .await
                .unwrap();
            writers.push(tokio::spawn(write_until_failure(
                client,
                writer,
                cycle,
                acked.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..600))).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || verify(&path))
            .await
            .unwrap();
    }
    let (mut child, mut client) = spawn_server(dir.path(), free_port()).await;
    let acked = acked.lock().unwrap().clone();
    check(&mut client, &acked).await;
    eprintln!(
        "{cycles} kill cycles: {} teachers, {} certificates, {} titles, {} import rows acknowledged and found",
        acked.schools.len(),
        acked.certificates.values().map(Vec::len).sum::<usize>(),
        acked.titled.len(),
        acked.imported.len()
    );
    assert!(acked.schools.len() > 10, "the writers got work done");
    child.kill().unwrap();
    child.wait().unwrap();
}
