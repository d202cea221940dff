//! Fuzzing the request path through the real server (issue #8, item 4): every RPC's request
//! message, as arbitrary bytes and as mutations of a valid encoded request, sent raw over one
//! HTTP/2 connection to an in-process server. Byte mutations (flips, truncations, insertions,
//! removals, duplicated runs) mostly test the decoder; wire-aware ones (a field at any depth
//! set to another value of its wire type, dropped, repeated, or a new one added) reach the
//! handlers.
//!
//! Why: tests/malformed.rs is a catalogue of hand-picked bad values; it cannot rule out a
//! body that prost decodes into an odd shape (a repeated field, an unknown enum number, a
//! cut string) that a handler's proto-to-domain conversion then mishandles: a panic, an
//! INTERNAL, a dropped connection, or a write that should have been refused. Invariants:
//!
//! - A body prost cannot decode as the request type reaches no handler: tonic-prost answers
//!   INTERNAL "failed to decode Protobuf message", as gRPC's status-code table prescribes
//!   for a request that does not parse. That INTERNAL is accepted (INVALID_ARGUMENT would
//!   be too); whether a body decodes is decided here with the same generated types.
//! - A body that decodes is answered OK or refused precisely (INVALID_ARGUMENT with field
//!   violations, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE), and
//!   so is each import row: never INTERNAL, UNKNOWN or another code. No message leaks an
//!   identity number, nothing panics (a panic hook counts panics in every thread), the
//!   connection survives every case, and GetTeacher and health answer afterwards.
//! - The registry changes exactly as each answer says, checked against the change feed after
//!   every case: a refusal changes nothing; an OK write adds at most its own change (none
//!   for a no-op or an AIP-155 retry), at the revision and to the teacher it answers with;
//!   an import or transition adds one change per teacher it reports created, updated or
//!   transitioned. Everything written reads back at the end.
//!
//! `FUZZ_CASES=20000 cargo test --release --test fuzz_requests` runs longer.

mod common;
#[path = "fuzz_requests/mutate.rs"]
mod mutate;
use mutate::{apply, case};

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use common::*;
use h2::client::SendRequest;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use prost::Message;
use teacher_registry::api::pb;
use teacher_registry::server::ServerOptions;
use tonic::{Code, Status};

const DEFAULT_CASES: u32 = 2000;
const COUNTY: &str = "350702";
const CERTIFICATE: &str = "20163500022000123";
const TO_REVOKE: &str = "20163500022000124";
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const REFUSALS: [(Code, &str); 6] = [
    (Code::InvalidArgument, "INVALID_ARGUMENT"),
    (Code::NotFound, "NOT_FOUND"),
    (Code::AlreadyExists, "ALREADY_EXISTS"),
    (Code::FailedPrecondition, "FAILED_PRECONDITION"),
    (Code::Aborted, "ABORTED"),
    (Code::OutOfRange, "OUT_OF_RANGE"),
];

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// An RPC, a valid request to mutate, and whether bytes decode as its request type.
struct Target {
    method: &'static str,
    seed: Vec<u8>,
    decodes: fn(&[u8]) -> bool,
}

/// The target of a request type: `pb::GetTeacherRequest` is `GetTeacher`'s.
fn target<M: Message + Default>(seed: M) -> Target {
    let name = std::any::type_name::<M>().rsplit("::").next().unwrap();
    Target {
        method: name.strip_suffix("Request").unwrap(),
        seed: seed.encode_to_vec(),
        decodes: |bytes| M::decode(bytes).is_ok(),
    }
}

/// A gRPC answer as it came off the wire.
struct Reply {
    status: Status,
    messages: Vec<Bytes>,
}

/// Sends `body` as the one request message of `method` and reads the answer (of a watch, up
/// to its first message).
async fn call(
    h2: &SendRequest<Bytes>,
    at: SocketAddr,
    method: &str,
    body: &[u8],
) -> Result<Reply, String> {
    let mut h2 = h2.clone().ready().await.map_err(|e| e.to_string())?;
    let uri = format!("http://{at}/teacher_registry.v1.TeacherRegistryService/{method}");
    let request = http::Request::post(uri)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut sending) = h2.send_request(request, false).map_err(|e| e.to_string())?;
    let mut frame = vec![0];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    sending
        .send_data(frame.into(), true)
        .map_err(|e| e.to_string())?;
    let response = response.await.map_err(|e| format!("no response: {e}"))?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("HTTP {}", response.status()));
    }
    if let Some(status) = Status::from_header_map(response.headers()) {
        return Ok(Reply {
            status,
            messages: Vec::new(),
        });
    }
    let mut body = response.into_body();
    let (mut buffer, mut messages) = (BytesMut::new(), Vec::new());
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| format!("stream broken: {e}"))?;
        let _ = body.flow_control().release_capacity(chunk.len());
        buffer.extend_from_slice(&chunk);
        while buffer.len() >= 5 {
            let len = u32::from_be_bytes(buffer[1..5].try_into().unwrap()) as usize;
            if buffer.len() < 5 + len {
                break;
            }
            buffer.advance(5);
            messages.push(buffer.split_to(len).freeze());
        }
        if method == "WatchChanges" && !messages.is_empty() {
            return Ok(Reply {
                status: Status::ok(""),
                messages,
            });
        }
    }
    let trailers = body
        .trailers()
        .await
        .map_err(|e| format!("trailers: {e}"))?;
    let status = trailers.as_ref().and_then(Status::from_header_map);
    Ok(Reply {
        status: status.ok_or("no grpc-status")?,
        messages,
    })
}

/// The changes an answer accounts for.
#[derive(Debug)]
enum Expect {
    Nothing,
    /// A unary write: its change at this revision, or none if the record was left as it was
    /// (a no-op, or an AIP-155 retry).
    Teacher(String, u64),
    /// One change per imported or transitioned teacher, in order.
    Teachers(Vec<String>),
}

/// Checks one answer against the invariants in the module doc; says what it changed.
fn check(
    target: &Target,
    bytes: &[u8],
    reply: Reply,
    secret: &str,
    codes: &mut BTreeMap<String, usize>,
) -> Result<Expect, String> {
    let status = &reply.status;
    let decodes = (target.decodes)(bytes);
    let undecodable = if decodes { "" } else { " (undecodable)" };
    let key = format!("{} {:?}{undecodable}", target.method, status.code());
    *codes.entry(key).or_default() += 1;
    if status.message().contains(secret) {
        return Err("the message leaks an identity number".into());
    }
    let precise = |code| REFUSALS.iter().any(|(c, _)| *c == code);
    match status.code() {
        Code::Internal if !decodes && status.message().starts_with("failed to decode Protobuf") => {
            return Ok(Expect::Nothing)
        }
        Code::InvalidArgument if !decodes => return Ok(Expect::Nothing),
        _ if !decodes => return Err(format!("undecodable body answered {status:?}")),
        Code::InvalidArgument if violated_fields(status).is_empty() => {
            return Err(format!(
                "INVALID_ARGUMENT without field violations: {status:?}"
            ));
        }
        Code::Ok => {}
        code if precise(code) => return Ok(Expect::Nothing),
        _ => return Err(format!("well-formed request answered {status:?}")),
    }
    let mut teachers = Vec::new();
    for message in reply.messages {
        let garbled = |e: prost::DecodeError| e.to_string();
        match target.method {
            "TransitionTitles" => {
                use pb::transition_titles_response::Result::Teacher;
                let answer = pb::TransitionTitlesResponse::decode(message).map_err(garbled)?;
                if let Some(Teacher(t)) = answer.result {
                    if t.outcome == pb::TransitionOutcome::Transitioned as i32 {
                        teachers.push(t.teacher_id);
                    }
                }
            }
            "ImportTeachers" => {
                use pb::ImportOutcome::{Created, Rejected, Updated};
                let row = pb::ImportTeachersResponse::decode(message).map_err(garbled)?;
                match (pb::ImportOutcome::try_from(row.outcome), row.error) {
                    (Ok(Created | Updated), _) => teachers.push(row.teacher_id),
                    (Ok(Rejected), Some(e))
                        if REFUSALS.iter().any(|(_, name)| *name == e.code)
                            && (e.code != "INVALID_ARGUMENT" || !e.field_violations.is_empty()) => {
                    }
                    (Ok(Rejected), error) => {
                        return Err(format!("row rejected imprecisely: {error:?}"))
                    }
                    _ => {}
                }
            }
            method if is_write(method) => {
                let answer = pb::GetTeacherResponse::decode(message).map_err(garbled)?;
                let teacher = answer.teacher.ok_or("OK without the teacher")?;
                return Ok(Expect::Teacher(teacher.teacher_id, teacher.revision));
            }
            _ => {}
        }
    }
    Ok(if teachers.is_empty() {
        Expect::Nothing
    } else {
        Expect::Teachers(teachers)
    })
}

/// The unary writes, which all answer with the changed teacher in field 1.
fn is_write(method: &str) -> bool {
    matches!(
        method,
        "CreateTeacher" | "UpdateTeacher" | "ChangeTitle" | "LoseQualification"
    ) || method.ends_with("Certificate")
}

/// Two teachers with certificates, and a valid request for every RPC about them.
async fn setup(client: &mut Client) -> (pb::Teacher, Vec<Target>) {
    let mut holder = teacher(100, COUNTY);
    holder.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
    let holder = create(client, holder).await;
    let other = create(client, teacher(101, COUNTY)).await;
    for (teacher, number) in [(&holder, CERTIFICATE), (&other, TO_REVOKE)] {
        let request = pb::IssueCertificateRequest {
            teacher_id: teacher.teacher_id.clone(),
            certificate: Some(certificate(number)),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        };
        client.issue_certificate(request).await.expect("issue");
    }
    let id = holder.teacher_id.clone();
    let national_id = pb::lookup_teacher_request::Key::NationalId(holder.national_id.clone());
    // GetTeacher first: the test calls it again at the end.
    let targets = vec![
        target(pb::GetTeacherRequest {
            teacher_id: id.clone(),
        }),
        target(create_request(teacher(1, COUNTY), "")),
        target(pb::LookupTeacherRequest {
            key: Some(national_id),
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        }),
        target(pb::ListTeachersRequest {
            page_size: 10,
            county_code: COUNTY.into(),
            school: holder.school.clone(),
            registration_expires_before: "2030-01-01".into(),
            ..Default::default()
        }),
        target(pb::SearchTeachersRequest {
            name: holder.name.clone(),
            name_match: pb::NameMatch::Prefix as i32,
            county_code: COUNTY.into(),
            page_size: 10,
            ..Default::default()
        }),
        target(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: id.clone(),
                school: "第九中学".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["school".into()],
            }),
            request_id: String::new(),
        }),
        target(pb::IssueCertificateRequest {
            teacher_id: id.clone(),
            certificate: Some(certificate("20173500022000125")),
            first_registration_on: "2017-09-01".into(),
            ..Default::default()
        }),
        target(pb::ReissueCertificateRequest {
            certificate_number: CERTIFICATE.into(),
            reason: pb::ReissueReason::Lost as i32,
            declaration_ref: "声明2024-1".into(),
            issued_on: "2024-03-01".into(),
            request_id: "reissue-1".into(),
            ..Default::default()
        }),
        target(pb::RegisterCertificateRequest {
            certificate_number: CERTIFICATE.into(),
            registered_on: "2021-09-01".into(),
            ..Default::default()
        }),
        target(pb::RevokeCertificateRequest {
            certificate_number: TO_REVOKE.into(),
            reason: "fraud".into(),
            approval_document: "Nan Jiao [2024] No. 1".into(),
            revoked_on: "2024-05-01".into(),
            ..Default::default()
        }),
        target(pb::LoseQualificationRequest {
            certificate_number: TO_REVOKE.into(),
            ground: pb::QualificationLossGround::IntentionalCrimeSentence as i32,
            approval_document: "Nan Jiao [2024] No. 2".into(),
            lost_on: "2024-06-01".into(),
            note: "判决书".into(),
            ..Default::default()
        }),
        target(pb::ChangeTitleRequest {
            teacher_id: other.teacher_id.clone(),
            change: Some(pb::TitleEntry {
                tier: pb::TitleTier::SecondLevel as i32,
                kind: pb::TitleChangeKind::Initial as i32,
                effective_date: "2018-09-01".into(),
                approval_document: "Nan Ren She [2018] No. 7".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        target(pb::TransitionTitlesRequest {
            teacher_ids: vec![id.clone()],
            effective_date: "2016-09-01".into(),
            approval_document: "Nan Ren She [2016] No. 88".into(),
            dry_run: true,
            ..Default::default()
        }),
        target(pb::GetStatisticsRequest {
            county_code: COUNTY.into(),
        }),
        target(pb::ListChangesRequest {
            after_revision: 1,
            page_size: 10,
            county_code: COUNTY.into(),
            principal: String::new(),
        }),
        target(pb::WatchChangesRequest {
            after_revision: 0,
            county_code: COUNTY.into(),
        }),
        target(pb::BackupRegistryRequest {}),
        target(pb::ImportTeachersRequest {
            teacher: Some(teacher(2, COUNTY)),
            mode: pb::ImportMode::Upsert as i32,
        }),
    ];
    (holder, targets)
}

/// Every change after `after`.
async fn changes_after(client: &mut Client, mut after: u64) -> Vec<pb::Change> {
    let mut all = Vec::new();
    loop {
        let request = pb::ListChangesRequest {
            after_revision: after,
            page_size: 1000,
            ..Default::default()
        };
        let page = client
            .list_changes(request)
            .await
            .expect("changes")
            .into_inner();
        if page.changes.is_empty() {
            return all;
        }
        after = page.next_revision;
        all.extend(page.changes);
    }
}

#[test]
fn garbled_requests_are_refused_precisely_and_change_nothing_else() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let watch_progress_interval = Duration::from_millis(100);
    let options = ServerOptions {
        watch_progress_interval,
        ..ServerOptions::default()
    };
    let server = runtime.block_on(start_server_with(options));
    let address = server.address;
    let mut client = server.client.clone();
    let (holder, targets) = runtime.block_on(setup(&mut client));
    let (h2, connection) = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
        (h2, tokio::spawn(connection))
    });
    let send = |target: &Target, body: &[u8]| {
        let call = call(&h2, address, target.method, body);
        let answer = runtime.block_on(async { tokio::time::timeout(CALL_TIMEOUT, call).await });
        answer.unwrap_or_else(|_| Err(format!("no answer within {CALL_TIMEOUT:?}")))
    };

    // Every RPC of the service is fuzzed: a new one fails here until it has a seed.
    let files = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let mut services = files.file.iter().flat_map(|f| &f.service);
    let service = services.find(|s| s.name() == "TeacherRegistryService");
    let service = service.unwrap();
    let mut methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    let mut fuzzed: Vec<&str> = targets.iter().map(|t| t.method).collect();
    methods.sort_unstable();
    fuzzed.sort_unstable();
    assert_eq!(fuzzed, methods, "a seed for every RPC");

    // The raw harness works: every read's seed is answered OK (so no run passes vacuously).
    for t in targets.iter().filter(|t| !is_write(t.method)) {
        let status = send(t, &t.seed).map(|reply| reply.status);
        assert_eq!(
            status.as_ref().map(Status::code),
            Ok(Code::Ok),
            "{}: {status:?}",
            t.method
        );
    }
    let before = runtime
        .block_on(changes_after(&mut client, 0))
        .last()
        .unwrap()
        .revision;

    let cases =
        std::env::var("FUZZ_CASES").map_or(DEFAULT_CASES, |n| n.parse().expect("FUZZ_CASES"));
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let (codes, last) = (RefCell::new(BTreeMap::new()), Cell::new(before));
    let started = Instant::now();
    let result = TestRunner::new(config).run(&case(targets.len()), |(index, body)| {
        let target = &targets[index];
        let bytes = body.unwrap_or_else(|edits| apply(&target.seed, &edits));
        let fail =
            |why| TestCaseError::fail(format!("{} with body {bytes:02x?}: {why}", target.method));
        let answer = send(target, &bytes).and_then(|reply| {
            check(
                target,
                &bytes,
                reply,
                &holder.national_id,
                &mut codes.borrow_mut(),
            )
        });
        // The registry changed exactly as the answer says (judged case by case, so a failing
        // case's changes are not blamed on the next one while shrinking).
        let previous = last.get();
        let new = runtime.block_on(changes_after(&mut client.clone(), previous));
        last.set(new.last().map_or(previous, |c| c.revision));
        let expect = answer.map_err(fail)?;
        let ids: Vec<&str> = new.iter().map(|c| c.teacher_id.as_str()).collect();
        let explained = match &expect {
            Expect::Teacher(_, revision) if new.is_empty() => *revision <= previous,
            Expect::Teacher(id, revision) => ids == [id] && new[0].revision == *revision,
            Expect::Teachers(teachers) => ids == *teachers,
            Expect::Nothing => new.is_empty(),
        };
        if !explained {
            return Err(fail(format!(
                "answered {expect:?}, the registry changed by {new:?}"
            )));
        }
        if connection.is_finished() {
            return Err(fail("the server dropped the connection".into()));
        }
        if PANICS.load(Ordering::SeqCst) > 0 {
            return Err(fail("a panic (see above)".into()));
        }
        Ok(())
    });
    eprintln!(
        "{cases} cases in {:?}: {:?}",
        started.elapsed(),
        codes.borrow()
    );
    if let Err(e) = result {
        panic!("{e}");
    }

    // The same connection, and a new one, still answer.
    let reply = send(&targets[0], &targets[0].seed).expect("GetTeacher after the fuzz run");
    assert_eq!(reply.status.code(), Code::Ok, "{:?}", reply.status);
    runtime.block_on(async {
        let endpoint =
            tonic::transport::Endpoint::from_shared(format!("http://{address}")).unwrap();
        let mut health =
            tonic_health::pb::health_client::HealthClient::new(endpoint.connect().await.unwrap());
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await;
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving;
        assert_eq!(answer.expect("health").into_inner().status, serving as i32);

        // Whatever the fuzz run wrote reads back.
        for change in changes_after(&mut client, before).await {
            let request = pb::GetTeacherRequest {
                teacher_id: change.teacher_id,
            };
            client
                .get_teacher(request)
                .await
                .expect("a changed teacher reads back");
        }
        list_all(&mut client, pb::ListTeachersRequest::default()).await;
    });
    assert!(!connection.is_finished(), "the connection survived");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "no panic anywhere");
}
