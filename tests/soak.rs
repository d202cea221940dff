//! Soak (issue #8 item 5): the real server binary under a mixed workload for `SOAK_SECONDS`
//! (default 180, what CI runs; `SOAK_SECONDS=300 cargo test --release --test soak --
//! --nocapture` is the long form) at `SOAK_RATE` operations per second in all (default
//! 300, a fixed load, so that what a run writes does not depend on the machine; 0 runs
//! flat out). Every answer is classified: the expected ones (OK, and
//! the refusals the workload provokes on purpose or by racing itself) are counted by kind;
//! anything else is an unexpected error, and one fails the test.
//!
//! Six workers (a connection each) create the population, then mix: duplicate creates
//! (ALREADY_EXISTS naming the holder), retries with the same request_id (the same teacher),
//! a request_id reused for another body (REQUEST_ID_REUSED); gets and lookups by identity
//! and certificate; county listings page by page; updates with the etag just read, then
//! with that etag again (ABORTED); title changes; certificate issue, reissue (补发) and
//! replacement (换发), registration, revocation and the refusals after it; upsert imports of
//! 10 rows. Writes carry the etag they read, so a write that races another worker is
//! ABORTED (counted as `raced`) and every other answer is determined by what was read.
//! A WatchChanges and a ListChanges consumer check that the feed has no gap and catches up.
//! At the end the server shuts down on SIGTERM, must have logged no error, and `verify`
//! must pass. With `TEACHER_REGISTRY_TEST_POSTGRES=1` (`.ci/run`'s second pass) the server keeps
//! its registry in a database of the throwaway PostgreSQL cluster instead, under the same checks.
//!
//! **What counts as a leak.** The server's VmRSS is sampled every second. Memory that
//! follows the data (sled's cache and per-page bookkeeping) is not a leak, so the data set
//! is kept bounded and the cache small, and what still grows is small and known:
//! - a fixed population (600 created, 200 imported) made in the first seconds; later
//!   creates are duplicates and retries, which write nothing, and imports mostly UNCHANGED;
//! - request ids (whose answers the registry keeps for ever) only on those 600 creates;
//! - bounded records: at most 7 title entries and one certificate with 4 copies and 3
//!   registrations per teacher; past the budget, writes are refused or same-size updates;
//!   most requests are reads, as in the registry's real traffic;
//! - `--cache-mb 8`, `--retain-changes 2000`, `--trim-interval-secs 5`: the change log is
//!   trimmed back to 2,000 changes every 5 s, from the warm-up on, so every form covers
//!   trims (a few hundred changes each) and the log stays bounded. The first trims raise
//!   RSS (sled copies a node per removal; see benches/README.md, Soak) and fall in the
//!   warm-up; later ones must not. (With the default minute, the first trim fell at the
//!   end of the CI form and added 8 MiB, 10%, in one step.)
//!
//! The binary allocates with mimalloc and returns freed memory at once (see `main.rs`; with
//! `MIMALLOC_PURGE_DELAY=100`, the bulk-import setting, a CI-form run grew +0.8%).
//! Under glibc's default of up to 8 arenas per core, freed memory stayed spread over the
//! arenas of the threads that used it, and RSS crept while the live heap did not
//! (heaptrack: +0.45 MiB of live heap over a minute of this mix; RSS +7% in the CI form),
//! so this test needed `MALLOC_ARENA_MAX=2` to see leaks rather than the allocator.
//!
//! Under mimalloc RSS steps up once, by about 8 MiB, some 50–55 s after the start, at 150
//! and at 300 operations per second alike, and stays flat afterwards (a 180 s run: -0.4%
//! over its last two minutes); with purging off (`MIMALLOC_PURGE_DELAY=-1`) it climbs all
//! along instead. On a loaded machine the climb lasts longer: a CI run of the former 90 s
//! form climbed in steps until its end (+18% from 60 s to 90 s) while a 240 s run under
//! four concurrent builds climbed to 85 s and then stayed flat, 10 MiB lower, for 150 s.
//! RSS also saws by ~8 MiB every ten seconds or so, which a median of 5 samples can catch
//! at a peak.
//!
//! So the warm-up is the first half of the run (at least 90 s), the reference is the median
//! VmRSS of the 30 samples after it and the end figure the median of the last 30, which
//! spans several teeth of the saw; the end may exceed the reference by at most 10%. A leak
//! of 1 KB per operation (18 MiB a minute at 300 operations per second) exceeds that.
//! RssAnon is printed beside it: this VM reclaims page cache eagerly, so the file-backed
//! part of VmRSS (the binary) can drop in long runs.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{create_request, teacher, Client};
use pb::lookup_teacher_request::Key;
use pb::{ReissueReason as Reason, TitleChangeKind as Kind, TitleTier as Tier};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use teacher_registry::api::pb;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
use tonic_types::StatusExt;

const COUNTIES: [&str; 4] = ["350702", "350721", "350722", "350723"];
const CREATED: u32 = 600;
const IMPORTED: u32 = 200;
const BATCH: u32 = 10;
const TITLE_BUDGET: usize = 7;
const COPY_BUDGET: usize = 4;
const REGISTRATIONS: [&str; 3] = ["2016-09-01", "2019-08-25", "2024-08-25"];
const BIN: &str = env!("CARGO_BIN_EXE_teacher-registry");

type Op = Result<(), String>;

/// What the workers learnt and saw.
#[derive(Default)]
struct Shared {
    next_create: AtomicU32,
    next_import: AtomicU32,
    /// Registry number by person (index into the population), once acknowledged.
    ids: Mutex<(HashMap<u32, String>, Vec<u32>)>,
    certified: Mutex<HashSet<u32>>,
    counts: Mutex<BTreeMap<String, u64>>,
    unexpected: Mutex<Vec<String>>,
    stop_workers: AtomicBool,
    stop_feeds: AtomicBool,
    watched: AtomicU64,
    polled: AtomicU64,
    ops: AtomicU64,
}

impl Shared {
    fn ok(&self, label: &str) {
        *self.counts.lock().unwrap().entry(label.into()).or_default() += 1;
    }

    fn fail(&self, error: String) {
        self.unexpected.lock().unwrap().push(error);
    }

    /// Remembers that person `n` has registry number `id`: one person, one number.
    fn learn(&self, n: u32, id: &str) -> Op {
        let mut ids = self.ids.lock().unwrap();
        match ids.0.insert(n, id.to_string()) {
            Some(known) if known != id => return Err(format!("{n} is {known} and {id}")),
            Some(_) => {}
            None => ids.1.push(n),
        }
        Ok(())
    }

    fn pick(&self, rng: &mut StdRng) -> Result<(u32, String), String> {
        let ids = self.ids.lock().unwrap();
        let n = ids.1[rng.gen_range(0..ids.1.len())];
        Ok((n, ids.0[&n].clone()))
    }

    /// Counts an answer if it is the one expected: OK for `expect` "", else a refusal that
    /// reads `expect` (see [`refusal`]); with an etag sent, also ABORTED (another worker
    /// wrote since the read). Anything else is an unexpected error.
    fn judge<T>(
        &self,
        label: &str,
        result: Result<tonic::Response<T>, Status>,
        expect: &str,
        etag: bool,
    ) -> Result<Option<T>, String> {
        match result {
            Ok(r) if expect.is_empty() => {
                self.ok(label);
                return Ok(Some(r.into_inner()));
            }
            Err(e) if !expect.is_empty() && refusal(&e) == expect => {
                self.ok(&format!("{label} {}", expect.split(' ').next().unwrap()));
            }
            Err(e) if etag && refusal(&e) == "ETAG_MISMATCH" => self.ok(&format!("{label} raced")),
            Ok(_) => return Err(format!("{label}: OK where {expect} was expected")),
            Err(e) => return Err(describe(label, &e)),
        }
        Ok(None)
    }
}

/// A refusal as `REASON [teacher_id]` from its ErrorInfo, if its code is the reason's.
fn refusal(e: &Status) -> String {
    let Some(info) = e.get_details_error_info() else {
        return format!("{:?}", e.code());
    };
    let code = match info.reason.as_str() {
        "ALREADY_EXISTS" => Code::AlreadyExists,
        "ETAG_MISMATCH" => Code::Aborted,
        _ => Code::FailedPrecondition,
    };
    match info.metadata.get("teacher_id") {
        _ if e.code() != code => format!("{:?} {}", e.code(), info.reason),
        Some(id) => format!("{} {id}", info.reason),
        None => info.reason,
    }
}

fn describe(what: &str, e: &Status) -> String {
    format!("{what}: {:?} {:?} [{}]", e.code(), e.message(), refusal(e))
}

fn person(n: u32) -> pb::Teacher {
    teacher(n, COUNTIES[n as usize % COUNTIES.len()])
}

fn school(k: usize) -> String {
    format!("第{}中学", k % 6 + 1)
}

/// The effective date of every title change.
const PROMOTED_ON: &str = "2020-09-01";

/// Whether a valid certificate of `t` has a registration in force on `date` (ISO dates
/// compare as strings): a promotion needs one.
fn registered_on(t: &pb::Teacher, date: &str) -> bool {
    t.certificates
        .iter()
        .filter(|c| c.status == pb::CertificateStatus::Valid as i32)
        .flat_map(|c| &c.registrations)
        .any(|r| r.registered_on.as_str() <= date && date < r.expires_on.as_str())
}

/// Primary-school certificates (digit 10 is 2); `second` is a later application's number.
fn certificate_number(n: u32, second: bool) -> String {
    format!("20163500021{:06}", n + if second { 500_000 } else { 0 })
}

/// One worker: its own connection and random choices.
struct Worker {
    c: Client,
    s: Arc<Shared>,
    rng: StdRng,
    /// Time between two operations (zero: as fast as answers come).
    pace: Duration,
}

impl Worker {
    async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.pace.max(Duration::from_nanos(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.s.stop_workers.load(Relaxed) {
            if !self.pace.is_zero() {
                ticks.tick().await;
            }
            self.s.ops.fetch_add(1, Relaxed);
            let result = if self.s.next_create.load(Relaxed) < CREATED {
                self.create().await
            } else {
                match self.rng.gen_range(0..100) {
                    0..=9 => self.create().await,
                    10..=49 => self.read().await,
                    50..=57 => self.list().await,
                    58..=65 => self.update().await,
                    66..=77 => self.title().await,
                    78..=94 => self.certificate().await,
                    _ => self.import().await,
                }
            };
            if let Err(e) = result {
                self.s.fail(e);
            }
        }
    }

    async fn fetch(&mut self, id: &str) -> Result<pb::Teacher, String> {
        let id = id.to_string();
        let got = self.c.get_teacher(pb::GetTeacherRequest {
            teacher_id: id.clone(),
            revision: None,
        });
        match self
            .s
            .judge("get", got.await, "", false)?
            .and_then(|t| t.teacher)
        {
            Some(t) if t.teacher_id == id => Ok(t),
            other => Err(format!("get {id} answered {other:?}")),
        }
    }

    /// A new person while the population is being made; later a duplicate, a retry with
    /// the same request_id, or that request_id with another body.
    async fn create(&mut self) -> Op {
        let fresh = self.s.next_create.fetch_add(1, Relaxed);
        let (n, id) = if fresh < CREATED {
            (fresh, String::new())
        } else {
            self.s.pick(&mut self.rng)?
        };
        let mut body = person(n);
        let (request_id, expect) = match self.rng.gen_range(0..3) {
            _ if fresh < CREATED => (format!("c{n}"), String::new()),
            0 if n < CREATED => (format!("c{n}"), String::new()),
            1 if n < CREATED => {
                body.name = "另一人".into();
                (format!("c{n}"), "REQUEST_ID_REUSED".into())
            }
            _ => (String::new(), format!("ALREADY_EXISTS {id}")),
        };
        let label = if id.is_empty() {
            "create"
        } else {
            "create again"
        };
        let created = self
            .c
            .create_teacher(create_request(body, &request_id))
            .await;
        match self
            .s
            .judge(label, created, &expect, false)?
            .and_then(|r| r.teacher)
        {
            Some(t) if id.is_empty() => self.s.learn(n, &t.teacher_id),
            Some(t) if t.teacher_id != id => Err(format!("retry of c{n}: {t:?}, not {id}")),
            _ => Ok(()),
        }
    }

    async fn read(&mut self) -> Op {
        let (n, id) = self.s.pick(&mut self.rng)?;
        let certified = self.s.certified.lock().unwrap().contains(&n);
        let (label, key) = match self.rng.gen_range(0..3) {
            0 => ("lookup identity", Key::NationalId(person(n).national_id)),
            1 if certified => (
                "lookup certificate",
                Key::CertificateNumber(certificate_number(n, false)),
            ),
            _ => return self.fetch(&id).await.map(drop),
        };
        let request = pb::LookupTeacherRequest {
            key: Some(key),
            id_document_type: 0,
        };
        let found = self.c.lookup_teacher(request).await;
        match self
            .s
            .judge(label, found, "", false)?
            .and_then(|t| t.teacher)
        {
            Some(t) if t.teacher_id == id => Ok(()),
            other => Err(format!("{label} of {id} found {other:?}")),
        }
    }

    /// Pages through one county: only its teachers, and an end.
    async fn list(&mut self) -> Op {
        let county = COUNTIES[self.rng.gen_range(0..COUNTIES.len())];
        let (mut page_token, mut seen) = (String::new(), 0);
        loop {
            let request = pb::ListTeachersRequest {
                county_code: county.into(),
                page_size: 100,
                page_token,
                ..Default::default()
            };
            let page = self.c.list_teachers(request).await;
            let page = self.s.judge("list page", page, "", false)?.unwrap();
            seen += page.teachers.len();
            let foreign = page.teachers.iter().any(|t| t.county_code != county);
            if foreign || seen > (CREATED + IMPORTED) as usize {
                return Err(format!("listing {county}: {page:?}"));
            }
            if page.next_page_token.is_empty() {
                return Ok(());
            }
            page_token = page.next_page_token;
        }
    }

    /// Changes the school with the etag just read, then sends that etag again: ABORTED.
    async fn update(&mut self) -> Op {
        let (_, id) = self.s.pick(&mut self.rng)?;
        let read = self.fetch(&id).await?;
        let request = |school: String| pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: id.clone(),
                etag: read.etag.clone(),
                school,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["school".into()],
            }),
            request_id: String::new(),
        };
        let wanted = school(self.rng.gen());
        let updated = self.c.update_teacher(request(wanted.clone())).await;
        let Some(t) = self
            .s
            .judge("update", updated, "", true)?
            .and_then(|r| r.teacher)
        else {
            return Ok(()); // raced
        };
        // An update that changes nothing writes nothing: the etag stays.
        if t.school != wanted || (t.etag == read.etag) != (wanted == read.school) {
            return Err(format!("update of {id}: {read:?} then {t:?}"));
        }
        if t.etag != read.etag {
            let stale = self.c.update_teacher(request(school(0))).await;
            self.s
                .judge("update stale", stale, "ETAG_MISMATCH", false)?;
        }
        Ok(())
    }

    /// Promotes through the tiers, revokes once and promotes again; then only refusals.
    async fn title(&mut self) -> Op {
        let (_, id) = self.s.pick(&mut self.rng)?;
        let t = self.fetch(&id).await?;
        let (third, top) = (Tier::ThirdLevel as i32, Tier::FullSenior as i32);
        let (kind, tier, expect) = match t.title_history.len() {
            0 => (Kind::Initial, third, ""),
            TITLE_BUDGET.. if self.rng.gen() => (Kind::Initial, third, "HAS_TITLE"),
            TITLE_BUDGET.. => (Kind::Promotion, top, "HIGHEST_TIER"),
            _ if t.current_title == top => (Kind::Revocation, 0, ""),
            _ if !registered_on(&t, PROMOTED_ON) => {
                (Kind::Promotion, t.current_title + 1, "NOT_REGISTERED")
            }
            _ => (Kind::Promotion, t.current_title + 1, ""),
        };
        let change = pb::TitleEntry {
            tier,
            kind: kind as i32,
            effective_date: PROMOTED_ON.into(),
            approval_document: "Nan Jiao Ren [2020] No. 9".into(),
            ..Default::default()
        };
        let (teacher_id, etag) = (id.clone(), t.etag.clone());
        let request = pb::ChangeTitleRequest {
            teacher_id,
            change: Some(change),
            etag,
            request_id: String::new(),
        };
        let changed = self.c.change_title(request).await;
        match self
            .s
            .judge("title", changed, expect, true)?
            .and_then(|r| r.teacher)
        {
            Some(after) if after.title_history.len() != t.title_history.len() + 1 => {
                Err(format!("title change on {id} appended nothing: {after:?}"))
            }
            _ => Ok(()),
        }
    }

    /// Takes a teacher's certificate one step through its life, by the state just read.
    async fn certificate(&mut self) -> Op {
        let (n, id) = self.s.pick(&mut self.rng)?;
        let t = self.fetch(&id).await?;
        let number = certificate_number(n, false);
        let Some(held) = t
            .certificates
            .iter()
            .find(|c| c.certificate_number == number)
        else {
            return self.issue(n, &t, &number, "").await;
        };
        let reissue = |reason: Reason, new_name: &str| pb::ReissueCertificateRequest {
            certificate_number: number.clone(),
            reason: reason as i32,
            declaration_ref: if reason == Reason::Lost { "SD-1" } else { "" }.into(),
            new_name: new_name.into(),
            etag: t.etag.clone(),
            ..Default::default()
        };
        let (copies, registrations) = (held.copies.len(), held.registrations.len());
        let (c, s) = (&mut self.c, &*self.s);
        if held.status == pb::CertificateStatus::Revoked as i32 {
            if self.rng.gen() {
                let second = certificate_number(n, true);
                return self.issue(n, &t, &second, "REAPPLICATION_BARRED").await;
            }
            let result = c.reissue_certificate(reissue(Reason::Lost, "")).await;
            s.judge("reissue", result, "CERTIFICATE_REVOKED", true)?;
        } else if copies < COPY_BUDGET && self.rng.gen() {
            let reason = [Reason::DetailsChanged, Reason::Lost, Reason::Damaged][copies % 3];
            let name = if copies % 3 == 0 { "林小芳" } else { "" };
            let result = c.reissue_certificate(reissue(reason, name)).await;
            s.judge(&format!("reissue {reason:?}"), result, "", true)?;
        } else if let Some(date) = REGISTRATIONS.get(registrations) {
            let request = pb::RegisterCertificateRequest {
                certificate_number: number.clone(),
                registered_on: date.to_string(),
                etag: t.etag.clone(),
                request_id: String::new(),
            };
            s.judge("register", c.register_certificate(request).await, "", true)?;
        } else if n % 8 == 0 {
            let request = pb::RevokeCertificateRequest {
                certificate_number: number.clone(),
                reason: "以欺骗手段取得".into(),
                approval_document: "Nan Jiao Ren [2026] No. 12".into(),
                etag: t.etag.clone(),
                ..Default::default()
            };
            s.judge("revoke", c.revoke_certificate(request).await, "", true)?;
        } else {
            let taken = format!("ALREADY_EXISTS {id}");
            return self.issue(n, &t, &number, &taken).await;
        }
        Ok(())
    }

    async fn issue(&mut self, n: u32, holder: &pb::Teacher, number: &str, expect: &str) -> Op {
        let certificate = common::certificate(number);
        let request = pb::IssueCertificateRequest {
            teacher_id: holder.teacher_id.clone(),
            certificate: Some(certificate),
            first_registration_on: REGISTRATIONS[0].into(),
            etag: holder.etag.clone(),
            request_id: String::new(),
        };
        let issued = self.c.issue_certificate(request).await;
        if self.s.judge("issue", issued, expect, true)?.is_some() {
            self.s.certified.lock().unwrap().insert(n);
        }
        Ok(())
    }

    /// Upserts the next 10 rows of the imported population (UPDATED where an update
    /// moved the teacher to another school, UNCHANGED otherwise).
    async fn import(&mut self) -> Op {
        let start = self.s.next_import.fetch_add(BATCH, Relaxed);
        let rows: Vec<u32> = (start..start + BATCH)
            .map(|i| CREATED + i % IMPORTED)
            .collect();
        let row = |&n: &u32| pb::ImportTeachersRequest {
            teacher: Some(pb::Teacher {
                school: school(0),
                ..person(n)
            }),
            mode: pb::ImportMode::Upsert as i32,
        };
        let requests: Vec<_> = rows.iter().map(row).collect();
        let response = self.c.import_teachers(tokio_stream::iter(requests)).await;
        let mut stream = response.map_err(|e| describe("import", &e))?.into_inner();
        let mut answered = 0;
        while let Some(result) = stream.message().await.map_err(|e| describe("import", &e))? {
            match (rows.get(answered), result.outcome()) {
                (Some(&n), outcome) if outcome != pb::ImportOutcome::Rejected => {
                    self.s.learn(n, &result.teacher_id)?;
                    self.s.ok(&format!("import {outcome:?}"));
                }
                _ => return Err(format!("import row answered {result:?}")),
            }
            answered += 1;
            if result.row != answered as u64 {
                return Err(format!(
                    "import answered row {} as row {answered}",
                    result.row
                ));
            }
        }
        match answered == BATCH as usize {
            true => Ok(()),
            false => Err(format!("import: {answered} of {BATCH} rows answered")),
        }
    }
}

/// Follows WatchChanges from the start: every revision once, in order.
async fn watch(mut client: Client, s: Arc<Shared>) -> Op {
    use pb::watch_changes_response::Event;
    let response = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await;
    let mut stream = response.map_err(|e| describe("watch", &e))?.into_inner();
    let mut last = 0;
    while !s.stop_feeds.load(Relaxed) {
        let wait = Duration::from_millis(500);
        let Ok(message) = tokio::time::timeout(wait, stream.message()).await else {
            continue;
        };
        match message
            .map_err(|e| describe("watch", &e))?
            .and_then(|m| m.event)
        {
            Some(Event::Change(c)) if c.revision == last + 1 && c.teacher.is_some() => {
                last = c.revision;
                s.ok("feed watch change");
            }
            Some(Event::Progress(p)) if p.revision == last => s.ok("feed watch progress"),
            other => return Err(format!("watch after revision {last}: {other:?}")),
        }
        s.watched.store(last, Relaxed);
    }
    Ok(())
}

/// Polls ListChanges: each page continues exactly where the last one ended.
async fn poll(mut client: Client, s: Arc<Shared>) -> Op {
    let mut after = 0;
    while !s.stop_feeds.load(Relaxed) {
        let request = pb::ListChangesRequest {
            after_revision: after,
            page_size: 500,
            ..Default::default()
        };
        let page = client.list_changes(request).await;
        let page = page.map_err(|e| describe("list changes", &e))?.into_inner();
        let revisions: Vec<u64> = page.changes.iter().map(|c| c.revision).collect();
        let end = after + revisions.len() as u64;
        if !revisions.iter().copied().eq(after + 1..=end) || page.next_revision != end {
            let next = page.next_revision;
            return Err(format!("changes after {after}: {revisions:?}, next {next}"));
        }
        after = end;
        s.ok("feed list page");
        s.polled.store(after, Relaxed);
        if revisions.len() < 500 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// A field of /proc/PID/status in KiB (VmRSS, RssAnon...).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field));
    let kib = line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or(0)
}

/// The median of `values` as MiB.
fn median_mib(values: &[u64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_unstable();
    values[values.len() / 2] as f64 / 1024.0
}

/// Starts the binary with a small cache and a capped change log; waits until it is SERVING.
async fn spawn_server(dir: &Path, log: &Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr();
    let listen = format!("127.0.0.1:{}", port.unwrap().port());
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--cache-mb", "8"])
        .args(["--retain-changes", "2000", "--trim-interval-secs", "5"])
        .args(common::registry_args(dir))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the server");
    let url = format!("http://{listen}");
    for _ in 0..400 {
        if let Ok(channel) = Channel::from_shared(url.clone()).unwrap().connect().await {
            let mut health = HealthClient::new(channel);
            let check = health.check(HealthCheckRequest::default()).await;
            if check.is_ok_and(|r| r.into_inner().status == 1) {
                return (child, url);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no server: {}", std::fs::read_to_string(log).unwrap());
}

/// SIGTERM, a clean exit within 20 s, then `verify` on the registry.
fn shut_down(mut child: Child, dir: &Path) -> Vec<String> {
    if let Ok(Some(status)) = child.try_wait() {
        return vec![format!("the server died during the soak: {status}")];
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut problems = Vec::new();
    match child.try_wait().unwrap() {
        Some(status) if status.success() => {}
        other => problems.push(format!("no clean exit on SIGTERM: {other:?}")),
    }
    let _ = child.kill();
    let _ = child.wait();
    let verify = Command::new(BIN)
        .arg("verify")
        .args(common::registry_args(dir))
        .output();
    let verify = verify.unwrap();
    if !verify.status.success() {
        let report = String::from_utf8_lossy(&verify.stdout);
        problems.push(format!("verify: {report}"));
    }
    problems
}

/// Stops the workers, then waits (at most 20 s) until both feeds reach the last revision.
async fn drain(s: &Shared, url: &str, workers: Vec<tokio::task::JoinHandle<()>>) -> u64 {
    s.stop_workers.store(true, Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let mut client = Client::connect(url.to_string()).await.unwrap();
    let statistics = client.get_statistics(pb::GetStatisticsRequest::default());
    let revision = statistics
        .await
        .map_or(u64::MAX, |r| r.into_inner().revision);
    let behind = || s.watched.load(Relaxed).min(s.polled.load(Relaxed)) < revision;
    let started = Instant::now();
    while behind() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if behind() {
        s.fail(format!("the feeds did not reach revision {revision}"));
    }
    s.stop_feeds.store(true, Relaxed);
    revision
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for three minutes: the whole suite runs it (README, Running it)"]
async fn mixed_workload_without_errors_or_memory_growth() {
    let env =
        |name: &str, default: u64| std::env::var(name).map_or(default, |v| v.parse().unwrap());
    let (seconds, rate) = (env("SOAK_SECONDS", 180), env("SOAK_RATE", 300));
    let pace = Duration::from_secs_f64(if rate == 0 { 0.0 } else { 6.0 / rate as f64 });
    let warm_up = (seconds / 2).max(90);
    assert!(seconds >= warm_up + 60, "SOAK_SECONDS must be at least 150");
    let temp = tempfile::tempdir().unwrap();
    let (dir, log) = (temp.path().join("data"), temp.path().join("server.log"));
    let (child, url) = spawn_server(&dir, &log).await;
    let pid = child.id();
    let s = Arc::new(Shared::default());
    let mut workers = Vec::new();
    for seed in 0..6 {
        let (c, rng) = (
            Client::connect(url.clone()).await.unwrap(),
            StdRng::seed_from_u64(seed),
        );
        let s = s.clone();
        workers.push(tokio::spawn(Worker { c, s, rng, pace }.run()));
    }
    let (c1, c2) = (
        Client::connect(url.clone()).await,
        Client::connect(url.clone()).await,
    );
    let feeds = [
        tokio::spawn(watch(c1.unwrap(), s.clone())),
        tokio::spawn(poll(c2.unwrap(), s.clone())),
    ];

    let started = Instant::now();
    let (mut rss, mut anon, mut threads) = (Vec::new(), Vec::new(), Vec::new());
    for second in 1..=seconds {
        tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
        rss.push(status_kib(pid, "VmRSS:"));
        anon.push(status_kib(pid, "RssAnon:"));
        threads.push(status_kib(pid, "Threads:").to_string());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let revision = drain(&s, &url, workers).await;
    for feed in feeds {
        feed.await.unwrap().unwrap_or_else(|e| s.fail(e));
    }
    shut_down(child, &dir).into_iter().for_each(|p| s.fail(p));
    for line in std::fs::read_to_string(&log).unwrap().lines().take(5) {
        s.fail(format!("server log: {line}"));
    }

    let counts = s.counts.lock().unwrap();
    for (kind, n) in counts.iter() {
        eprintln!("  {kind:<32} {n:>9}");
    }
    let total: u64 = counts.values().sum();
    let mib: Vec<String> = rss.iter().map(|k| (k / 1024).to_string()).collect();
    eprintln!("  RSS MiB by second: {}", mib.join(" "));
    let mib: Vec<String> = anon.iter().map(|k| (k / 1024).to_string()).collect();
    eprintln!("  RssAnon MiB by second: {}", mib.join(" "));
    eprintln!("  threads by second: {}", threads.join(" "));
    let w = warm_up as usize;
    let growth = |kib: &[u64]| {
        let (warm, end) = (
            median_mib(&kib[w..w + 30]),
            median_mib(&kib[kib.len() - 30..]),
        );
        (warm, end, (end / warm - 1.0) * 100.0)
    };
    let ((warm, end, growth), anon_growth) = (growth(&rss), growth(&anon).2);
    let peak = *rss.iter().max().unwrap() as f64 / 1024.0;
    let ops = s.ops.load(Relaxed);
    let (ops_rate, answer_rate) = (ops as f64 / elapsed, total as f64 / elapsed);
    eprintln!(
        "soak {seconds} s at SOAK_RATE {rate}: {ops} operations ({ops_rate:.0}/s), {total} \
         answers ({answer_rate:.0}/s), revision {revision}; RSS MiB warm-up {warm:.1}, \
         end {end:.1}, peak {peak:.1}, growth {growth:+.1}% (RssAnon {anon_growth:+.1}%)"
    );
    let unexpected = s.unexpected.lock().unwrap();
    for e in unexpected.iter().take(10) {
        eprintln!("UNEXPECTED {e}");
    }
    assert!(unexpected.is_empty(), "{} unexpected", unexpected.len());
    assert!(growth <= 10.0, "RSS grew {growth:.1}% after the warm-up");
}
