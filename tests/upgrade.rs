//! Upgrades: every registry written by an earlier release, kept as a fixture under
//! `tests/fixtures/upgrade/<release>/`, opens with this build and reads back exactly as that
//! release served it: teachers, indexes, the change log and county feeds, statistics, page
//! tokens, and the answers remembered under request ids. New writes continue its revisions,
//! the window's queues by due date answer on it (the index they read is built as it opens),
//! and the release's backup restores.
//!
//! With the suite on PostgreSQL (`TEACHER_REGISTRY_TEST_POSTGRES=1`) each release's sled
//! directory is first moved into a database with `migrate`, as a city that started on sled
//! moves when it grows, and every check runs against that database; its backup restores
//! into one.
//!
//! The fixtures are made by `tests/fixtures/upgrade/make_fixture.rs`, through the public
//! API only; see the README beside it for the command (the ignored test `fixture_writer_upgrade`).

#[path = "fixtures/upgrade/cases_due.rs"]
mod cases_due;
mod common;
#[path = "fixtures/upgrade/format.rs"]
mod format;
#[path = "fixtures/upgrade/make_fixture.rs"]
mod make_fixture;
#[path = "fixtures/upgrade/name_search.rs"]
mod name_search;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use futures::StreamExt;
use prost::Message;
use teacher_registry::api::pb;
use teacher_registry::auth::Authenticator;
use teacher_registry::server::ServerOptions;
use teacher_registry::store::Location;
use tonic::Code;

use common::{
    error_info, get_teacher, list_all, list_all_changes, lookup_teacher, registry_args, Answered,
    TestServer,
};
use format::*;
use make_fixture::{replay_request, revision};

const BIN: &str = env!("CARGO_BIN_EXE_teacher-registry");

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// Every release directory under `tests/fixtures/upgrade/`, oldest name first.
fn releases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Writes a new fixture into the directory `UPGRADE_FIXTURE_OUT` names (see the README).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a fixture: UPGRADE_FIXTURE_OUT=tests/fixtures/upgrade/<release>"]
async fn fixture_writer_upgrade() {
    let out = std::env::var_os("UPGRADE_FIXTURE_OUT")
        .expect("set UPGRADE_FIXTURE_OUT to the new fixture's directory");
    make_fixture::generate(Path::new(&out)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_of_earlier_releases_open_and_read_back_exactly() {
    let releases = releases();
    assert!(
        !releases.is_empty(),
        "no fixture under {}",
        fixtures_root().display()
    );
    for release in releases {
        let started = std::time::Instant::now();
        check_release(&release).await;
        eprintln!(
            "{}: checked in {:.1?}",
            release.display(),
            started.elapsed()
        );
    }
}

struct Expected {
    manifest: Manifest,
    teachers: Vec<pb::Teacher>,
    /// The change log as ListChanges serves it (states restored from `teachers`).
    changes: Vec<pb::Change>,
    /// Each county's feed, likewise.
    feeds: Vec<(String, Vec<pb::Change>)>,
    statistics: pb::GetStatisticsResponse,
    replays: Vec<Replay>,
    pages: Vec<PageCheck>,
}

fn load(dir: &Path) -> Expected {
    let manifest: Manifest =
        toml::from_str(&std::fs::read_to_string(dir.join(MANIFEST)).unwrap()).unwrap();
    let teachers: Vec<pb::Teacher> = read_delimited(&dir.join(TEACHERS));
    let latest: HashMap<String, pb::Teacher> = teachers
        .iter()
        .map(|t| (t.teacher_id.clone(), t.clone()))
        .collect();
    let served = |changes: Vec<ExpectedChange>| -> Vec<pb::Change> {
        changes.iter().map(|c| c.served(&latest)).collect()
    };
    let feeds: Vec<CountyFeed> = read_delimited(&dir.join(COUNTY_FEEDS));
    let expected = Expected {
        changes: served(read_delimited(&dir.join(CHANGES))),
        feeds: feeds
            .into_iter()
            .map(|f| (f.county_code, served(f.changes)))
            .collect(),
        teachers,
        statistics: read_delimited(&dir.join(STATISTICS)).pop().unwrap(),
        replays: read_delimited(&dir.join(REPLAYS)),
        pages: read_delimited(&dir.join(PAGES)),
        manifest,
    };
    // The fixture agrees with itself.
    let m = &expected.manifest;
    assert_eq!(expected.teachers.len() as u64, m.teachers);
    assert_eq!(expected.changes.len() as u64, m.changes);
    assert_eq!(expected.replays.len() as u64, m.replays);
    let mut counties = BTreeMap::new();
    for t in &expected.teachers {
        *counties.entry(t.county_code.clone()).or_insert(0u64) += 1;
    }
    assert_eq!(counties, m.counties);
    expected
}

fn cli(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(BIN).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "teacher-registry {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn verify(data: &Path) {
    cli(&["verify".as_ref(), "--data-dir".as_ref(), data.as_os_str()]);
}

/// `teacher-registry COMMAND ARGS...`, which must succeed.
fn cli_with(command: &str, args: Vec<String>) -> String {
    let args: Vec<&std::ffi::OsStr> = std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .map(std::ffi::OsStr::new)
        .collect();
    cli(&args)
}

/// Compares teacher by teacher, saying which one differs.
fn assert_same_teachers(got: &[pb::Teacher], want: &[pb::Teacher], what: &str) {
    let got_ids: Vec<&str> = got.iter().map(|t| t.teacher_id.as_str()).collect();
    let want_ids: Vec<&str> = want.iter().map(|t| t.teacher_id.as_str()).collect();
    assert_eq!(
        got_ids, want_ids,
        "{what}: the same teachers in the same order"
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{what}: teacher {}", w.teacher_id);
    }
}

fn assert_same_changes(got: &[pb::Change], want: &[pb::Change], what: &str) {
    let revisions = |c: &[pb::Change]| c.iter().map(|c| c.revision).collect::<Vec<_>>();
    assert_eq!(
        revisions(got),
        revisions(want),
        "{what}: the same revisions"
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{what}: change {}", w.revision);
    }
}

/// Counts by county: (total, tier → count, legacy title → count), recomputed from teachers.
type Counts = BTreeMap<String, (u64, BTreeMap<i32, u64>, BTreeMap<i32, u64>)>;

fn recount(teachers: &[pb::Teacher]) -> Counts {
    let mut counts = Counts::new();
    for t in teachers {
        let entry = counts.entry(t.county_code.clone()).or_default();
        entry.0 += 1;
        *entry.1.entry(t.current_title).or_default() += 1;
        let transitioned = t
            .title_history
            .iter()
            .any(|e| e.kind == pb::TitleChangeKind::ReformTransition as i32);
        if t.legacy_title != 0 && t.current_title == 0 && !transitioned {
            *entry.2.entry(t.legacy_title).or_default() += 1;
        }
    }
    counts
}

fn counts_of(statistics: &pb::GetStatisticsResponse) -> Counts {
    statistics
        .counties
        .iter()
        .map(|c| {
            (
                c.county_code.clone(),
                (
                    c.total,
                    c.by_tier
                        .iter()
                        .filter(|t| t.count > 0)
                        .map(|t| (t.tier, t.count))
                        .collect(),
                    c.untransitioned
                        .iter()
                        .filter(|t| t.count > 0)
                        .map(|t| (t.legacy_title, t.count))
                        .collect(),
                ),
            )
        })
        .collect()
}

/// The earliest expiry of the latest registrations of a teacher's valid certificates.
fn registration_expiry(t: &pb::Teacher) -> Option<String> {
    t.certificates
        .iter()
        .filter(|c| c.status == pb::CertificateStatus::Valid as i32)
        .filter_map(|c| c.registrations.last())
        .map(|r| r.expires_on.clone())
        .min()
}

async fn check_release(release: &Path) {
    let expected = load(release);
    let manifest = &expected.manifest;
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    materialize(release, DATA, &data);

    // This build opens the registry and finds it consistent.
    verify(&data);
    let server = serve_release(
        &data,
        ServerOptions {
            authenticator: Some(Authenticator::load(&release.join(AUTH)).unwrap()),
            // The release's requests are replayed as fast as they go, and some are refused
            // on purpose: the per-principal rates and refusal budget have tests of their own.
            rates: HashMap::new(),
            refusal_limit: teacher_registry::api::RateLimit {
                per_minute: u32::MAX,
                burst: u32::MAX,
            },
            ..ServerOptions::default()
        },
    )
    .await;
    let mut clients = HashMap::new();
    for p in &manifest.principals {
        clients.insert(p.name.clone(), client_as(server.address, &p.token).await);
    }
    let admin_name = manifest.with_role("admin").name.clone();
    let mut admin = clients[&admin_name].clone();
    assert_eq!(revision(&mut admin).await, manifest.revision);

    check_reads(&mut admin, &expected).await;
    name_search::check_name_search(&mut admin, &expected).await;
    check_feeds(&mut admin, &expected).await;
    check_replays(&clients, &expected).await;
    let old = check_new_writes(&mut admin, &expected).await;
    check_old_history_scope(&clients, manifest, &old).await;
    cases_due::check_due_queue(server.address, &expected).await;

    drop(clients);
    drop(admin);
    server.stop().await;
    cli_with("verify", registry_args(&data));

    check_restore(release, temp.path(), &expected).await;
}

/// A server on a release's registry, the sled directory `data`: on sled, the directory as
/// it is; with the suite on PostgreSQL, its database, into which `migrate` first copies
/// the directory and checks the copy.
async fn serve_release(data: &Path, options: ServerOptions) -> TestServer {
    if let Location::Postgres(url) = common::location_for(data) {
        let from = data.display().to_string();
        cli_with(
            "migrate",
            ["--from".into(), from, "--to".into(), url].into(),
        );
    }
    common::start_server_in_with(data, options).await
}

/// Every teacher, through every way of reading one.
async fn check_reads(admin: &mut AuthClient, expected: &Expected) {
    let teachers = &expected.teachers;
    // The record space, in registry-number order.
    for page_size in [1000, 7] {
        let request = pb::ListTeachersRequest {
            page_size,
            ..Default::default()
        };
        let listed = list_all(admin, request).await;
        let what = format!("ListTeachers in pages of {page_size}");
        assert_same_teachers(&listed, teachers, &what);
    }

    // By registry number, by identity document and by every certificate number.
    let gets = futures::stream::iter(teachers.iter().cloned().map(|want| {
        let mut client = admin.clone();
        async move {
            let got = get_teacher(&mut client, &want.teacher_id).await;
            assert_eq!(got, want, "GetTeacher {}", want.teacher_id);
            let by_identity = client
                .lookup_teacher(pb::LookupTeacherRequest {
                    key: Some(pb::lookup_teacher_request::Key::NationalId(
                        want.national_id.clone(),
                    )),
                    id_document_type: want.id_document_type,
                })
                .await
                .unwrap_teacher();
            assert_eq!(by_identity, want, "LookupTeacher by identity document");
            for c in &want.certificates {
                let holder = lookup_teacher(
                    &mut client,
                    pb::lookup_teacher_request::Key::CertificateNumber(
                        c.certificate_number.clone(),
                    ),
                )
                .await;
                assert_eq!(holder, want, "LookupTeacher by certificate number");
            }
        }
    }))
    .buffer_unordered(8)
    .collect::<Vec<()>>();
    gets.await;

    // The county index (each entry a copy of the record), by county and by school.
    for county in manifest_counties(expected) {
        let mut want: Vec<pb::Teacher> = teachers
            .iter()
            .filter(|t| t.county_code == county)
            .cloned()
            .collect();
        want.sort_by(|a, b| (&a.school, &a.teacher_id).cmp(&(&b.school, &b.teacher_id)));
        let got = list_all(
            admin,
            pb::ListTeachersRequest {
                page_size: 100,
                county_code: county.clone(),
                ..Default::default()
            },
        )
        .await;
        assert_same_teachers(&got, &want, &format!("county {county}"));
        let school = want[want.len() / 2].school.clone();
        let got = list_all(
            admin,
            pb::ListTeachersRequest {
                page_size: 100,
                county_code: county.clone(),
                school: school.clone(),
                ..Default::default()
            },
        )
        .await;
        let of_school: Vec<pb::Teacher> = want
            .iter()
            .filter(|t| t.school == school)
            .cloned()
            .collect();
        assert_same_teachers(&got, &of_school, &format!("school {school}"));
    }

    // The registration-expiry index and the tier filter.
    for before in ["2021-01-01", "2026-01-01", "2031-01-01"] {
        let got = list_all(
            admin,
            pb::ListTeachersRequest {
                page_size: 1000,
                registration_expires_before: before.into(),
                ..Default::default()
            },
        )
        .await;
        let mut got: Vec<&str> = got.iter().map(|t| t.teacher_id.as_str()).collect();
        got.sort();
        let want: Vec<&str> = teachers
            .iter()
            .filter(|t| registration_expiry(t).is_some_and(|e| e.as_str() < before))
            .map(|t| t.teacher_id.as_str())
            .collect();
        assert!(!want.is_empty() || before == "2021-01-01");
        assert_eq!(got, want, "registrations expiring before {before}");
    }
    let got = list_all(
        admin,
        pb::ListTeachersRequest {
            page_size: 1000,
            title_tier: pb::TitleTier::FirstLevel as i32,
            ..Default::default()
        },
    )
    .await;
    let want: Vec<pb::Teacher> = teachers
        .iter()
        .filter(|t| t.current_title == pb::TitleTier::FirstLevel as i32)
        .cloned()
        .collect();
    assert_same_teachers(&got, &want, "FIRST_LEVEL teachers");

    // Page tokens handed out by the old release still lead to the same pages.
    for check in &expected.pages {
        let request = check.request.clone().unwrap();
        let want = check.response.clone().unwrap();
        let got = admin
            .list_teachers(request.clone())
            .await
            .unwrap_or_else(|s| panic!("an old page token ({request:?}): {s:?}"))
            .into_inner();
        assert_same_teachers(&got.teachers, &want.teachers, "a page of an old token");
        assert_eq!(
            got.next_page_token.is_empty(),
            want.next_page_token.is_empty()
        );
        assert_eq!(got.revision, want.revision);
    }

    // Statistics: as the old release counted, and as the teachers say.
    let statistics = admin
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statistics, expected.statistics);
    assert_eq!(counts_of(&statistics), recount(teachers));
    for county in manifest_counties(expected) {
        let one = admin
            .get_statistics(pb::GetStatisticsRequest {
                county_code: county.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            counts_of(&one),
            recount(teachers)
                .into_iter()
                .filter(|(c, _)| *c == county)
                .collect::<Counts>()
        );
    }
}

fn manifest_counties(expected: &Expected) -> Vec<String> {
    expected.manifest.counties.keys().cloned().collect()
}

/// The change log, gap-free from 1, each county's feed, and each principal's audit trail.
async fn check_feeds(admin: &mut AuthClient, expected: &Expected) {
    let log = list_all_changes(admin, pb::ListChangesRequest::default()).await;
    assert_same_changes(&log, &expected.changes, "ListChanges from 0");
    let revisions: Vec<u64> = log.iter().map(|c| c.revision).collect();
    assert_eq!(
        revisions,
        (1..=expected.manifest.revision).collect::<Vec<_>>(),
        "gap-free"
    );
    let middle = expected.manifest.revision / 2;
    let tail = list_all_changes(
        admin,
        pb::ListChangesRequest {
            after_revision: middle,
            ..Default::default()
        },
    )
    .await;
    assert_same_changes(
        &tail,
        &expected.changes[middle as usize..],
        "from the middle",
    );
    for (county, feed) in &expected.feeds {
        let got = list_all_changes(
            admin,
            pb::ListChangesRequest {
                county_code: county.clone(),
                ..Default::default()
            },
        )
        .await;
        assert_same_changes(&got, feed, &format!("county {county}"));
    }
    for p in &expected.manifest.principals {
        let got = list_all_changes(
            admin,
            pb::ListChangesRequest {
                principal: p.name.clone(),
                ..Default::default()
            },
        )
        .await;
        let want: Vec<pb::Change> = expected
            .changes
            .iter()
            .filter(|c| c.principal == p.name)
            .cloned()
            .collect();
        assert_same_changes(&got, &want, &format!("principal {}", p.name));
    }
}

/// Every request sent with a request id gets its first answer again, and changes nothing;
/// the same id with another request is still refused.
async fn check_replays(clients: &HashMap<String, AuthClient>, expected: &Expected) {
    let admin_name = &expected.manifest.with_role("admin").name;
    let mut admin = clients[admin_name].clone();
    let before = revision(&mut admin).await;
    let mut by_method: BTreeMap<&str, usize> = BTreeMap::new();
    let results = futures::stream::iter(expected.replays.iter().map(|replay| {
        let mut client = clients[&replay.principal].clone();
        async move { (replay, replay_request(&mut client, replay).await) }
    }))
    .buffer_unordered(8)
    .collect::<Vec<_>>()
    .await;
    for (replay, answer) in results {
        let answer = answer.unwrap_or_else(|s| {
            panic!(
                "{} as {} with an old request id: {s:?}",
                replay.method, replay.principal
            )
        });
        assert_same_answer(&replay.method, &answer, &replay.response);
        *by_method.entry(replay.method.as_str()).or_default() += 1;
    }
    eprintln!("replayed {by_method:?}");
    assert_eq!(revision(&mut admin).await, before, "retries write nothing");

    // An old id with another body: REQUEST_ID_REUSED, as before the upgrade.
    for method in [
        "CreateTeacher",
        "UpdateTeacher",
        "IssueCertificate",
        "ChangeTitle",
    ] {
        let Some(replay) = expected.replays.iter().find(|r| r.method == method) else {
            continue;
        };
        let altered = altered(replay);
        let mut client = clients[&replay.principal].clone();
        let status = replay_request(&mut client, &altered)
            .await
            .expect_err("another request under an old id");
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{method}: {status:?}"
        );
        assert_eq!(error_info(&status)["reason"], "REQUEST_ID_REUSED");
    }
    assert_eq!(revision(&mut admin).await, before);
}

/// A replay whose request differs from the remembered one in one small detail.
fn altered(replay: &Replay) -> Replay {
    let bytes = replay.request.as_slice();
    let request = match replay.method.as_str() {
        "CreateTeacher" => {
            let mut r = pb::CreateTeacherRequest::decode(bytes).unwrap();
            r.teacher.as_mut().unwrap().school.push_str("分校");
            r.encode_to_vec()
        }
        "UpdateTeacher" => {
            let mut r = pb::UpdateTeacherRequest::decode(bytes).unwrap();
            let t = r.teacher.as_mut().unwrap();
            t.school = format!("{}分校", t.school);
            t.name = format!("{}一", t.name);
            r.update_mask = Some(prost_types::FieldMask {
                paths: vec!["school".into(), "name".into()],
            });
            r.encode_to_vec()
        }
        "IssueCertificate" => {
            let mut r = pb::IssueCertificateRequest::decode(bytes).unwrap();
            r.certificate.as_mut().unwrap().subject.push_str("（二）");
            r.encode_to_vec()
        }
        "ChangeTitle" => {
            let mut r = pb::ChangeTitleRequest::decode(bytes).unwrap();
            r.change.as_mut().unwrap().note.push_str("（另）");
            r.encode_to_vec()
        }
        other => panic!("no altered {other}"),
    };
    Replay {
        request,
        ..replay.clone()
    }
}

fn assert_same_answer(method: &str, got: &[u8], want: &[u8]) {
    macro_rules! compare {
        ($ty:ty) => {{
            let (g, w) = (<$ty>::decode(got).unwrap(), <$ty>::decode(want).unwrap());
            assert_eq!(g, w, "{method}: the first answer");
        }};
    }
    match method {
        "CreateTeacher" => compare!(pb::CreateTeacherResponse),
        "UpdateTeacher" => compare!(pb::UpdateTeacherResponse),
        "IssueCertificate" => compare!(pb::IssueCertificateResponse),
        "ReissueCertificate" => compare!(pb::ReissueCertificateResponse),
        "RegisterCertificate" => compare!(pb::RegisterCertificateResponse),
        "RevokeCertificate" => compare!(pb::RevokeCertificateResponse),
        "ChangeTitle" => compare!(pb::ChangeTitleResponse),
        other => panic!("no answer type for {other}"),
    }
}

/// New writes on the old registry: revisions go on from the old one, old etags still work.
/// Updates an old teacher and creates new ones; answers the old teacher as the old release
/// left it.
async fn check_new_writes(admin: &mut AuthClient, expected: &Expected) -> pb::Teacher {
    let old = expected.manifest.revision;
    let county = manifest_counties(expected)[0].clone();
    let create = pb::CreateTeacherRequest {
        teacher: Some(pb::Teacher {
            id_document_type: pb::IdDocumentType::Passport as i32,
            national_id: "UPGRADE0001".into(),
            name: "升级测试".into(),
            gender: pb::Gender::Female as i32,
            birth_date: "1990-05-04".into(),
            county_code: county,
            school: "升级测试学校".into(),
            employment_status: pb::EmploymentStatus::Active as i32,
            ..Default::default()
        }),
        request_id: "upgrade-check-create".into(),
    };
    let created = admin.create_teacher(create.clone()).await.unwrap_teacher();
    assert_eq!(created.revision, old + 1, "the next revision");
    assert!(
        expected
            .teachers
            .iter()
            .all(|t| t.teacher_id != created.teacher_id),
        "a new registry number"
    );

    // An old teacher, updated with the etag it had in the old registry.
    let target = expected
        .teachers
        .iter()
        .find(|t| {
            t.employment_status == pb::EmploymentStatus::Active as i32 && !t.school.is_empty()
        })
        .unwrap();
    let updated = admin
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: target.teacher_id.clone(),
                etag: target.etag.clone(),
                school: format!("{}（新校区）", target.school),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["school".into()],
            }),
            request_id: "upgrade-check-update".into(),
        })
        .await
        .unwrap_teacher();
    assert_eq!(updated.revision, old + 2);
    assert_eq!(updated.create_time, target.create_time);
    assert_eq!(updated.certificates, target.certificates);
    assert_eq!(updated.title_history, target.title_history);
    // Its old etag is stale now.
    let stale = admin
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: target.teacher_id.clone(),
                etag: target.etag.clone(),
                name: "不应写入".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // The old record's history starts at the first change this build made: the earliest
    // revision known is the one the old release left, with nothing invented before it.
    let history_of = |teacher: &pb::Teacher| pb::ListTeacherRevisionsRequest {
        teacher_id: teacher.teacher_id.clone(),
        page_size: 0,
        page_token: String::new(),
    };
    let history = admin
        .list_teacher_revisions(history_of(target))
        .await
        .unwrap()
        .into_inner();
    assert!(!history.history_complete);
    assert_eq!(history.earliest_revision, target.revision);
    assert_eq!(history.revisions.len(), 1);
    let school = &history.revisions[0].differences;
    assert_eq!(school.len(), 1, "{school:?}");
    assert_eq!(school[0].field, "school");
    let at = |revision| pb::GetTeacherRequest {
        teacher_id: target.teacher_id.clone(),
        revision: Some(revision),
    };
    let as_it_was = admin.get_teacher(at(target.revision)).await.unwrap();
    assert_eq!(as_it_was.into_inner().teacher.as_ref(), Some(target));
    let unknown = admin
        .get_teacher(at(target.revision - 1))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::FailedPrecondition, "{unknown:?}");
    // A created record's history is complete from its creation.
    let fresh = admin
        .list_teacher_revisions(history_of(&created))
        .await
        .unwrap()
        .into_inner();
    assert!(fresh.history_complete);
    assert_eq!(fresh.earliest_revision, created.revision);

    // A certificate for an old teacher with none, never revoked.
    let holder = expected
        .teachers
        .iter()
        .find(|t| t.certificates.is_empty() && t.teacher_id != target.teacher_id)
        .unwrap();
    let issued = admin
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: holder.teacher_id.clone(),
            certificate: Some(pb::Certificate {
                certificate_number: "20243500022999991".into(),
                kind: pb::CertificateKind::PrimarySchool as i32,
                subject: "语文".into(),
                issuing_authority: "南平市延平区教育局".into(),
                certified_on: "2024-07-01".into(),
                ..Default::default()
            }),
            first_registration_on: "2024-09-01".into(),
            etag: holder.etag.clone(),
            request_id: "upgrade-check-issue".into(),
        })
        .await
        .unwrap_teacher();
    assert_eq!(issued.revision, old + 3);
    let found = lookup_teacher(
        admin,
        pb::lookup_teacher_request::Key::CertificateNumber("20243500022999991".into()),
    )
    .await;
    assert_eq!(found, issued);

    // The log goes on from the old revision, without reusing one.
    let new = list_all_changes(
        admin,
        pb::ListChangesRequest {
            after_revision: old,
            ..Default::default()
        },
    )
    .await;
    let got: Vec<(u64, &str)> = new
        .iter()
        .map(|c| (c.revision, c.teacher_id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (old + 1, created.teacher_id.as_str()),
            (old + 2, target.teacher_id.as_str()),
            (old + 3, holder.teacher_id.as_str()),
        ]
    );
    let all = list_all_changes(admin, pb::ListChangesRequest::default()).await;
    assert_eq!(all.len() as u64, old + 3);
    // A retry of a new write gets its first answer too.
    let again = admin.create_teacher(create).await.unwrap_teacher();
    assert_eq!(again, created);
    assert_eq!(revision(admin).await, old + 3);
    target.clone()
}

/// Scope comes before a history's answers: at a revision before the old record's history,
/// its own county is told HISTORY_NOT_KEPT, and another county NOT_FOUND, as for any
/// record it may not see (HISTORY_NOT_KEPT would tell it the record exists).
async fn check_old_history_scope(
    clients: &HashMap<String, AuthClient>,
    manifest: &Manifest,
    old: &pb::Teacher,
) {
    let mut codes = Vec::new();
    for county in manifest.principals.iter().filter(|p| p.role == "county") {
        let refused = clients[&county.name]
            .clone()
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: old.teacher_id.clone(),
                revision: Some(old.revision - 1),
            })
            .await
            .unwrap_err();
        let expected = match county.county.as_deref() == Some(old.county_code.as_str()) {
            true => Code::FailedPrecondition,
            false => Code::NotFound,
        };
        assert_eq!(refused.code(), expected, "{}: {refused:?}", county.name);
        codes.push(expected);
    }
    assert!(codes.contains(&Code::FailedPrecondition) && codes.contains(&Code::NotFound));
}

/// The old release's backup restores with this build into a registry serving the same
/// teachers and change log.
async fn check_restore(release: &Path, temp: &Path, expected: &Expected) {
    let backup = temp.join(BACKUP);
    materialize(release, BACKUP, &backup);
    let restored = temp.join("restored");
    let into = registry_args(&restored);
    cli_with(
        "restore",
        [vec![backup.display().to_string()], into].concat(),
    );
    let server = common::start_server_in(&restored).await;
    let mut client = server.client.clone();
    let teachers = common::list_all(
        &mut client,
        pb::ListTeachersRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_same_teachers(&teachers, &expected.teachers, "restored");
    let log = common::all_changes(&mut client).await;
    assert_same_changes(&log, &expected.changes, "restored change log");
    drop(client);
    server.stop().await;
}
