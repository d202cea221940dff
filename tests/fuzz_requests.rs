//! Fuzzing the request path through the real server (issue #8, item 4): every RPC's request
//! message of every service (the registry, cases, credentials, public verification; seeds in
//! `fuzz_requests/seeds.rs`), as arbitrary bytes and as mutations of a valid encoded
//! request, sent raw over one HTTP/2 connection to an in-process server. Byte mutations (flips, truncations, insertions,
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
//!   transitioned; a case step adds its case's change, and a decision the changes of its
//!   effect on the record it answers; a consultation, its one change. Everything written to
//!   a record reads back at the end.
//!
//! `FUZZ_CASES=20000 cargo test --release --test fuzz_requests` runs longer.

mod common;
#[path = "fuzz_requests/mutate.rs"]
mod mutate;
#[path = "fuzz_requests/seeds.rs"]
mod seeds;
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
use teacher_registry::api::RateLimit;
use teacher_registry::credential::SigningKey;
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

/// The registry service's path name.
const REGISTRY: &str = "teacher_registry.v1.TeacherRegistryService";

/// An RPC, a valid request to mutate, and whether bytes decode as its request type.
struct Target {
    service: &'static str,
    method: &'static str,
    seed: Vec<u8>,
    decodes: fn(&[u8]) -> bool,
}

/// The target of a registry request type: `pb::GetTeacherRequest` is `GetTeacher`'s.
fn target<M: Message + Default>(seed: M) -> Target {
    target_in(REGISTRY, seed)
}

/// The target of a request type of `service`.
fn target_in<M: Message + Default>(service: &'static str, seed: M) -> Target {
    let name = std::any::type_name::<M>().rsplit("::").next().unwrap();
    Target {
        service,
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
    target: &Target,
    body: &[u8],
) -> Result<Reply, String> {
    let mut h2 = h2.clone().ready().await.map_err(|e| e.to_string())?;
    let (service, method) = (target.service, target.method);
    let uri = format!("http://{at}/{service}/{method}");
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
    /// A case step: its CASE_CHANGED, and for a decision the changes its effect made to the
    /// applicant's record (this teacher); nothing for an AIP-155 retry.
    Case(String, Option<String>),
    /// A consultation recorded: its one change, or none for a retry.
    Consultation,
    /// Title evaluation: at most one change of each record named (a round's or an
    /// application's by its number, a finding's by its teacher), and the TITLE_CHANGED of
    /// each teacher a confirmation promoted.
    Evaluation {
        records: Vec<String>,
        promoted: Vec<String>,
    },
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
    let (mut records, mut promoted) = (Vec::new(), Vec::new());
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
                let code = common::row_code(&row);
                let fields = common::row_violated_fields(&row);
                match (pb::ImportOutcome::try_from(row.outcome), row.status) {
                    (Ok(Created | Updated), _) => teachers.push(row.teacher_id),
                    (Ok(Rejected), Some(_))
                        if REFUSALS.iter().any(|(_, name)| *name == code)
                            && (code != "INVALID_ARGUMENT" || !fields.is_empty()) => {}
                    (Ok(Rejected), error) => {
                        return Err(format!("row rejected imprecisely: {error:?}"))
                    }
                    _ => {}
                }
            }
            "RecordConsultation" => return Ok(Expect::Consultation),
            "CreateEvaluationRound" => {
                let answer = pb::CreateEvaluationRoundResponse::decode(message).map_err(garbled)?;
                records.push(answer.round.ok_or("OK without the round")?.round_id);
            }
            "RecordEthicsFinding" => {
                let answer = pb::RecordEthicsFindingResponse::decode(message).map_err(garbled)?;
                records.push(answer.finding.ok_or("OK without the finding")?.teacher_id);
            }
            "ApplyForTitle" | "RecordObjection" | "HandleObjection" | "CloseTitleApplication" => {
                // Each answers the application in field 1.
                let answer = pb::ApplyForTitleResponse::decode(message).map_err(garbled)?;
                let application = answer.application.ok_or("OK without the application")?;
                records.push(application.application_id);
            }
            "OpenPublicity" | "RecordCommitteeResults" => {
                // Each answers its outcomes in field 1.
                let answer = pb::OpenPublicityResponse::decode(message).map_err(garbled)?;
                for outcome in answer.outcomes {
                    if outcome.application.is_some() {
                        records.push(outcome.application_id);
                    } else if !REFUSALS.iter().any(|(_, name)| *name == outcome.error_code) {
                        return Err(format!("an outcome refused imprecisely: {outcome:?}"));
                    }
                }
            }
            "ConfirmApplications" => {
                use pb::confirm_applications_response::Result::Outcome;
                let answer = pb::ConfirmApplicationsResponse::decode(message).map_err(garbled)?;
                if let Some(Outcome(outcome)) = answer.result {
                    if outcome.application.is_some() {
                        records.push(outcome.application_id);
                        promoted.push(outcome.teacher_id);
                    }
                }
            }
            "DismissDuplicateCandidate" => return Ok(Expect::Nothing),
            // The survivor's change, then the retired number's MERGED.
            "MergeTeachers" => {
                let answer = pb::MergeTeachersResponse::decode(message).map_err(garbled)?;
                let survivor = answer.survivor.ok_or("OK without the survivor")?;
                let retired = survivor.retired_teacher_ids.last().cloned();
                let retired = retired.ok_or("a survivor without the retired number")?;
                return Ok(Expect::Teachers(vec![survivor.teacher_id, retired]));
            }
            // The survivor's change, then the restored record's UNMERGED.
            "UnmergeTeachers" => {
                let answer = pb::UnmergeTeachersResponse::decode(message).map_err(garbled)?;
                let survivor = answer.survivor.ok_or("OK without the survivor")?;
                let restored = answer.restored.ok_or("OK without the restored record")?;
                return Ok(Expect::Teachers(vec![
                    survivor.teacher_id,
                    restored.teacher_id,
                ]));
            }
            method if target.service == seeds::IDENTITY && is_identity_write(method) => {
                // Every correction step answers the correction in field 1, and changes the
                // log by one event naming it (an approval's names the record too).
                let answer =
                    pb::ProposeIdentityCorrectionResponse::decode(message).map_err(garbled)?;
                let correction = answer.correction.ok_or("OK without the correction")?;
                return Ok(Expect::Case(correction.correction_id, None));
            }
            method if target.service == seeds::CASES && is_write(method) => {
                // Every case step answers the case in field 1; a decision adds the record.
                let answer = pb::DecideCaseResponse::decode(message).map_err(garbled)?;
                let case = answer.case.ok_or("OK without the case")?;
                let teacher = answer.teacher.map(|t| t.teacher_id);
                return Ok(Expect::Case(case.case_id, teacher));
            }
            method if is_write(method) => {
                let answer = pb::GetTeacherResponse::decode(message).map_err(garbled)?;
                let teacher = answer.teacher.ok_or("OK without the teacher")?;
                return Ok(Expect::Teacher(teacher.teacher_id, teacher.revision));
            }
            _ => {}
        }
    }
    if is_evaluation_write(target.method) {
        return Ok(Expect::Evaluation { records, promoted });
    }
    Ok(if teachers.is_empty() {
        Expect::Nothing
    } else {
        Expect::Teachers(teachers)
    })
}

/// The IdentityService's writes.
fn is_identity_write(method: &str) -> bool {
    matches!(
        method,
        "ProposeIdentityCorrection"
            | "ApproveIdentityCorrection"
            | "RejectIdentityCorrection"
            | "DismissDuplicateCandidate"
            | "MergeTeachers"
            | "UnmergeTeachers"
    )
}

/// The EvaluationService's writes, unary and batch (see `Expect::Evaluation`).
fn is_evaluation_write(method: &str) -> bool {
    matches!(
        method,
        "CreateEvaluationRound"
            | "RecordEthicsFinding"
            | "ApplyForTitle"
            | "RecordObjection"
            | "HandleObjection"
            | "CloseTitleApplication"
            | "OpenPublicity"
            | "RecordCommitteeResults"
            | "ConfirmApplications"
    )
}

/// The unary writes: the registry's answer with the changed teacher in field 1, the case
/// steps with the case.
fn is_write(method: &str) -> bool {
    matches!(
        method,
        "CreateTeacher"
            | "UpdateTeacher"
            | "ChangeTitle"
            | "LoseQualification"
            | "IssueCertificate"
            | "ReissueCertificate"
            | "RegisterCertificate"
            | "RevokeCertificate"
            | "OpenCase"
            | "AcceptCase"
            | "RefuseCase"
            | "RequestSupplement"
            | "ReceiveSupplement"
            | "ForwardCase"
            | "AssignCase"
            | "WithdrawCase"
            | "DecideCase"
            | "RecordConsultation"
            | "ProposeTransfer"
            | "AcceptTransfer"
            | "DeclineTransfer"
    )
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
        credential_key: Some(std::sync::Arc::new(SigningKey::generate())),
        // The public RPCs' per-address limit would answer most of the run from one
        // address; it has tests of its own.
        public_rate_limit: RateLimit {
            per_minute: u32::MAX,
            burst: u32::MAX,
        },
        ..ServerOptions::default()
    };
    let server = runtime.block_on(start_server_with(options));
    let address = server.address;
    let mut client = server.client.clone();
    let (holder, targets) = runtime.block_on(seeds::seeds(&server));
    let (h2, connection) = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
        (h2, tokio::spawn(connection))
    });
    let send = |target: &Target, body: &[u8]| {
        let call = call(&h2, address, target, body);
        let answer = runtime.block_on(async { tokio::time::timeout(CALL_TIMEOUT, call).await });
        answer.unwrap_or_else(|_| Err(format!("no answer within {CALL_TIMEOUT:?}")))
    };

    // Every RPC of every service is fuzzed: a new one fails here until it has a seed.
    let files = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods: Vec<String> = files
        .file
        .iter()
        .flat_map(|f| f.service.iter().map(move |s| (f.package(), s)))
        .flat_map(|(package, s)| {
            s.method
                .iter()
                .map(move |m| format!("{package}.{}/{}", s.name(), m.name()))
        })
        .collect();
    let mut fuzzed: Vec<String> = targets
        .iter()
        .map(|t| format!("{}/{}", t.service, t.method))
        .collect();
    methods.sort_unstable();
    fuzzed.sort_unstable();
    assert_eq!(fuzzed, methods, "a seed for every RPC");

    // The raw harness works: every read's seed is answered OK (so no run passes vacuously).
    for t in targets.iter().filter(|t| {
        !is_write(t.method) && !is_evaluation_write(t.method) && !is_identity_write(t.method)
    }) {
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
            Expect::Case(case, teacher) => {
                let steps = new.iter().filter(|c| c.case_id == *case).count();
                let effects = new.iter().filter(|c| c.case_id.is_empty());
                let effects: Vec<&str> = effects.map(|c| c.teacher_id.as_str()).collect();
                let effect_ok = match teacher {
                    // A certification of an applicant without a record creates it, then
                    // issues the certificate: two changes to one teacher.
                    Some(id) => effects.iter().all(|e| e == id) && effects.len() <= 2,
                    None => effects.is_empty(),
                };
                steps <= 1 && steps + effects.len() == new.len() && effect_ok
            }
            Expect::Consultation => {
                let recorded = pb::ChangeKind::ConsultationRecorded as i32;
                new.len() <= 1 && new.iter().all(|c| c.kind == recorded)
            }
            Expect::Evaluation { records, promoted } => {
                let title_changed = pb::ChangeKind::TitleChanged as i32;
                let finding = pb::ChangeKind::EthicsFindingRecorded as i32;
                let once = |list: &[String], key: &str| {
                    list.iter().any(|r| r == key)
                        && new
                            .iter()
                            .filter(|c| {
                                ((c.kind == title_changed || c.kind == finding)
                                    && c.teacher_id == key)
                                    || c.case_id == key
                            })
                            .count()
                            <= 1
                };
                new.iter().all(|c| {
                    if c.kind == title_changed {
                        once(promoted, &c.teacher_id)
                    } else if c.kind == finding {
                        once(records, &c.teacher_id)
                    } else {
                        once(records, &c.case_id)
                    }
                })
            }
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

        // Whatever the fuzz run wrote to a record reads back.
        let changes = changes_after(&mut client, before).await;
        for change in changes.into_iter().filter(|c| !c.teacher_id.is_empty()) {
            let request = pb::GetTeacherRequest {
                teacher_id: change.teacher_id,
                revision: None,
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
