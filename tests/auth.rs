//! Authentication and authorization through a real server: every RPC against every role
//! as the literal role table (`auth_support/table.rs`) says, county scoping on every
//! mutating RPC, masking, bad tokens, TLS and mutual TLS, and the refusal to serve a
//! non-loopback address without authentication.

mod auth_support;
mod common;

use std::collections::BTreeMap;

use auth_support::table::{self, admits, COLUMNS, COUNTY, NO_TOKEN, ROLE_TABLE};
use auth_support::*;
use common::*;
use teacher_registry::api::pb;
use teacher_registry::auth::Rpc;
use teacher_registry::server::{ServerOptions, TlsFiles};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic::Code;

/// The RPC a row of the role table names.
fn rpc_named(name: &str) -> Rpc {
    Rpc::ALL
        .into_iter()
        .find(|rpc| format!("{rpc:?}") == name)
        .unwrap_or_else(|| panic!("the role table names {name}, which the server does not know"))
}

#[test]
fn the_role_table_has_one_row_per_rpc_of_the_proto() {
    let mut names: Vec<String> = ROLE_TABLE
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, table::proto_rpcs());
    for (name, _) in ROLE_TABLE {
        rpc_named(name);
    }
}

#[test]
fn the_readme_role_table_is_the_tested_one() {
    let (header, rows) = table::readme_table();
    assert_eq!(header, COLUMNS);
    let mut readme = BTreeMap::new();
    for (names, cells) in rows {
        for name in names {
            let before = readme.insert(name.clone(), cells.clone());
            assert!(
                before.is_none(),
                "the README's role table lists {name} twice"
            );
        }
    }
    let tested: BTreeMap<String, Vec<String>> = ROLE_TABLE
        .iter()
        .map(|(name, cells)| (name.to_string(), cells.map(str::to_string).to_vec()))
        .collect();
    assert_eq!(readme, tested);
}

/// Every cell of the role table, through a real server: each role's principal (county
/// staff and the importer of county A) calls every RPC with a request about county A;
/// a cell starting with `no` must be PERMISSION_DENIED, any other must not (nor
/// UNAUTHENTICATED). Without a token, `no` is UNAUTHENTICATED. Where the county column
/// says `own county`, county B's principal making the request county A's made
/// successfully is refused (NOT_FOUND or PERMISSION_DENIED); where it says `yes`, it is
/// not.
#[tokio::test]
async fn every_rpc_against_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let (a, _) = seed(&mut admin).await;
    let callers = [
        Some(&tokens.admin),
        Some(&tokens.hr),
        Some(&tokens.county_a),
        Some(&tokens.importer_a),
        Some(&tokens.reader),
        Some(&tokens.city),
        None,
    ];
    let mut county_results = BTreeMap::new();
    let mut n = 0;
    for (column, token) in callers.into_iter().enumerate() {
        let mut clients = Clients::new(&server, token.map(String::as_str)).await;
        for (name, cells) in ROLE_TABLE {
            n += 1;
            let (rpc, cell) = (rpc_named(name), cells[column]);
            let result = call_as(&mut clients, rpc, &a, n).await;
            let code = result.as_ref().err().map(tonic::Status::code);
            let refused = if column == NO_TOKEN {
                Code::Unauthenticated
            } else {
                Code::PermissionDenied
            };
            if admits(cell) {
                assert!(
                    !matches!(code, Some(Code::PermissionDenied | Code::Unauthenticated)),
                    "{} {name} ({cell}): {result:?}",
                    COLUMNS[column]
                );
            } else {
                assert_eq!(
                    code,
                    Some(refused),
                    "{} {name} ({cell}): {result:?}",
                    COLUMNS[column]
                );
            }
            if column == COUNTY {
                county_results.insert(*name, code);
            }
        }
    }
    let mut other_county = Clients::new(&server, Some(&tokens.county_b)).await;
    let mut scoped_and_seen = 0;
    for (name, cells) in ROLE_TABLE {
        n += 1;
        let cell = cells[COUNTY];
        let result = call_as(&mut other_county, rpc_named(name), &a, n).await;
        let code = result.as_ref().err().map(tonic::Status::code);
        let county_a = county_results[name];
        if cell.starts_with("own county") {
            if county_a.is_none() {
                scoped_and_seen += 1;
                assert!(
                    matches!(code, Some(Code::NotFound | Code::PermissionDenied)),
                    "county B {name} ({cell}): {result:?}"
                );
            }
        } else if admits(cell) {
            // Not scoped: county B is not refused where county A was not.
            assert!(
                county_a.is_some()
                    || !matches!(code, Some(Code::NotFound | Code::PermissionDenied)),
                "county B {name} ({cell}): {result:?}"
            );
        }
    }
    // The rows whose call succeeded for county A, so that county B's refusal says
    // something: reads and writes of A's teacher, lists and feeds naming county A.
    assert!(scoped_and_seen >= 20, "{scoped_and_seen} scoped rows seen");
}

#[tokio::test]
async fn a_county_works_only_in_its_own_county() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let (a, b) = seed(&mut admin).await;
    let mut county = as_token(&server, &tokens.county_a).await;
    let denied = |result: Result<(), tonic::Status>, what: &str| {
        let status = result.expect_err(what);
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
        assert!(!status.message().contains(&b.national_id), "{what}");
    };
    // A write to another county's teacher or certificate answers as if there were none.
    let hidden = |result: Result<(), tonic::Status>, what: &str| {
        let status = result.expect_err(what);
        assert_eq!(status.code(), Code::NotFound, "{what}: {status:?}");
    };

    denied(
        county
            .create_teacher(create_request(teacher(9, B), ""))
            .await
            .map(drop),
        "create in B",
    );
    let mut county_cases = cases_as(&server, &tokens.county_a).await;
    denied(
        county_cases
            .get_case_report(pb::GetCaseReportRequest {
                year: 2026,
                county_code: B.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "B's case report",
    );
    denied(
        county_cases
            .record_consultation(phone_consultation(B))
            .await
            .map(drop),
        "a consultation in B",
    );
    hidden(
        county
            .update_teacher(pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: b.teacher_id.clone(),
                    school: "x".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(drop),
        "update B's teacher",
    );
    hidden(
        county
            .issue_certificate(junior_issue_request(&b.teacher_id, "20163500032000777"))
            .await
            .map(drop),
        "issue to B's teacher",
    );
    let mut writes = Vec::new();
    for (rpc, result) in [
        (
            "reissue",
            county
                .reissue_certificate(pb::ReissueCertificateRequest {
                    certificate_number: "20163500022000456".into(),
                    reason: pb::ReissueReason::Damaged as i32,
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "register",
            county
                .register_certificate(pb::RegisterCertificateRequest {
                    certificate_number: "20163500022000456".into(),
                    registered_on: "2020-01-01".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "revoke",
            county
                .revoke_certificate(pb::RevokeCertificateRequest {
                    certificate_number: "20163500022000456".into(),
                    reason: "r".into(),
                    approval_document: "d".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "lose the qualification of B's teacher",
            county
                .lose_qualification(pb::LoseQualificationRequest {
                    certificate_number: "20163500022000456".into(),
                    ground: pb::QualificationLossGround::DeprivationOfPoliticalRights as i32,
                    approval_document: "d".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
    ] {
        writes.push(rpc);
        hidden(result, rpc);
    }
    assert_eq!(writes.len(), 4);
    for (rpc, result) in [
        (
            "list B",
            county
                .list_teachers(pb::ListTeachersRequest {
                    county_code: B.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "statistics of B",
            county
                .get_statistics(pb::GetStatisticsRequest {
                    county_code: B.into(),
                })
                .await
                .map(drop),
        ),
        (
            "changes of B",
            county
                .list_changes(pb::ListChangesRequest {
                    county_code: B.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "changes by principal",
            county
                .list_changes(pb::ListChangesRequest {
                    principal: "root".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
    ] {
        denied(result, rpc);
    }
    let mut import = county
        .import_teachers(tokio_stream::iter(vec![pb::ImportTeachersRequest {
            teacher: Some(teacher(3, B)),
            mode: pb::ImportMode::Upsert as i32,
        }]))
        .await
        .unwrap()
        .into_inner();
    let row = import.message().await.unwrap().unwrap();
    assert_eq!(row.outcome(), pb::ImportOutcome::Rejected);
    assert_eq!(common::row_code(&row), "PERMISSION_DENIED");

    // Reads of another county's teacher do not reveal that it exists.
    let status = county
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: b.teacher_id.clone(),
            revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = county
        .lookup_teacher(pb::LookupTeacherRequest {
            key: Some(pb::lookup_teacher_request::Key::NationalId(
                b.national_id.clone(),
            )),
            id_document_type: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // Its lists, statistics and feed are its own county's.
    let listed = county
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .teachers;
    let listed: Vec<&str> = listed.iter().map(|t| t.teacher_id.as_str()).collect();
    assert_eq!(listed, [a.teacher_id.as_str()]);
    let statistics = county
        .get_statistics(pb::GetStatisticsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statistics.counties.len(), 1);
    assert_eq!(statistics.counties[0].county_code, A);
    let changes = county
        .list_changes(pb::ListChangesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert!(changes.iter().all(|c| c.teacher_id == a.teacher_id));

    // Its own work is recorded under its name, and an admin can audit it.
    county
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: a.teacher_id.clone(),
                school: "新校".into(),
                ..Default::default()
            }),
            update_mask: None,
            request_id: "audit-me".into(),
        })
        .await
        .unwrap();
    let audit = admin
        .list_changes(pb::ListChangesRequest {
            principal: "yanping".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].principal.as_str(), audit[0].request_id.as_str()),
        ("yanping", "audit-me")
    );
    drop(tokens.county_b);
}

#[tokio::test]
async fn readers_see_identity_numbers_masked() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let (a, _) = seed(&mut admin).await;
    let mut reader = as_token(&server, &tokens.reader).await;
    let got = get_teacher(&mut reader, &a.teacher_id).await;
    let expected = format!(
        "{}**************{}",
        &a.national_id[..2],
        &a.national_id[16..]
    );
    assert_eq!(got.national_id, expected);
    assert_eq!(got.birth_date, a.birth_date[..4], "the birth year only");
    let listed = reader
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed
        .teachers
        .iter()
        .all(|t| t.national_id.contains("**************")));
    let changes = reader
        .list_changes(pb::ListChangesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(changes
        .changes
        .iter()
        .filter_map(|c| c.teacher.as_ref())
        .all(|t| t.national_id.contains("**************")));
    let full = get_teacher(&mut admin, &a.teacher_id).await;
    assert_eq!(full.national_id, a.national_id, "admins see it whole");
}

#[tokio::test]
async fn missing_wrong_and_garbled_tokens_are_unauthenticated_and_health_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let headers = [
        None,
        Some("Bearer trg_not-a-real-token".to_string()),
        Some(format!("Bearer {}x", tokens.admin)),
        Some(format!("Basic {}", tokens.admin)),
        Some("Bearer".to_string()),
        Some(tokens.admin.clone()),
    ];
    for header in headers {
        let mut client = with_header(channel(&server).await, header.as_deref());
        let status = client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{header:?}");
        assert!(!status.message().contains(&tokens.admin));
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&server).await);
    let response = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn without_an_auth_file_only_loopback_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = teacher_registry::store::Store::open(dir.path(), &Default::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let error = teacher_registry::server::run(listener, store, ServerOptions::default(), async {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("without authentication"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_principal_beyond_its_share_is_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let tokens = principals(&path);
    let server = start_server_with(ServerOptions {
        max_in_flight_per_principal: 1,
        ..auth_options(&path)
    })
    .await;
    let mut tasks = Vec::new();
    for n in 0..48 {
        let mut client = as_token(&server, &tokens.admin).await;
        tasks.push(tokio::spawn(async move {
            client
                .create_teacher(create_request(teacher(n, A), ""))
                .await
                .map(drop)
        }));
    }
    let mut exhausted = 0;
    for task in tasks {
        if let Err(status) = task.await.unwrap() {
            assert_eq!(status.code(), Code::ResourceExhausted);
            exhausted += 1;
        }
    }
    assert!(exhausted > 0, "48 concurrent writes never overlapped");
    // Another principal is not held back by the first one's load.
    let mut reader = as_token(&server, &tokens.reader).await;
    reader
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key, ca_params) = certificate_pair("registry test CA", None, true);
    let (server_cert, server_key, _) =
        certificate_pair("localhost", Some((&ca_params, &ca_key)), false);
    let (client_cert, client_key, _) =
        certificate_pair("bureau", Some((&ca_params, &ca_key)), false);
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let tls = TlsFiles {
        cert: write("server.pem", server_cert.pem()),
        key: write("server.key", server_key.serialize_pem()),
        client_ca: Some(write("ca.pem", ca.pem())),
    };
    let auth_path = dir.path().join("auth.toml");
    let tokens = principals(&auth_path);
    let server = start_server_with(ServerOptions {
        tls: Some(tls),
        ..auth_options(&auth_path)
    })
    .await;
    let url = format!("https://localhost:{}", server.address.port());
    let ca_cert = Certificate::from_pem(ca.pem());

    let with_identity = ClientTlsConfig::new()
        .ca_certificate(ca_cert.clone())
        .domain_name("localhost")
        .identity(Identity::from_pem(
            client_cert.pem(),
            client_key.serialize_pem(),
        ));
    let channel = Endpoint::from_shared(url.clone())
        .unwrap()
        .tls_config(with_identity)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = with_header(channel, Some(&format!("Bearer {}", tokens.admin)));
    client
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap();

    // Without a client certificate the handshake fails.
    let without_identity = ClientTlsConfig::new()
        .ca_certificate(ca_cert)
        .domain_name("localhost");
    let refused = async {
        let channel = Endpoint::from_shared(url)
            .unwrap()
            .tls_config(without_identity)
            .unwrap()
            .connect()
            .await?;
        let mut client = with_header(channel, Some(&format!("Bearer {}", tokens.admin)));
        client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .map_err(|s| Box::new(s) as Box<dyn std::error::Error + Send + Sync>)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;
    assert!(
        refused.is_err(),
        "mutual TLS lets no one in without a client certificate"
    );

    // Plaintext to a TLS port does not work either.
    let plain = Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        let mut client = with_header(channel, Some(&format!("Bearer {}", tokens.admin)));
        assert!(client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
            .is_err());
    }
}

/// Regression: request ids were one registry-wide key space, so another caller replaying
/// a request id got the first caller's answer (another county's full record) back.
#[tokio::test]
async fn request_ids_belong_to_their_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut a = as_token(&server, &tokens.county_a).await;
    let mut b = as_token(&server, &tokens.county_b).await;
    let first = a
        .create_teacher(create_request(teacher(1, A), "reg-0001"))
        .await
        .unwrap_teacher();
    let replayed = b
        .create_teacher(create_request(teacher(1, A), "reg-0001"))
        .await
        .unwrap_err();
    assert_eq!(
        replayed.code(),
        Code::PermissionDenied,
        "B may not create in A"
    );
    let own = b
        .create_teacher(create_request(teacher(2, B), "reg-0001"))
        .await
        .unwrap_teacher();
    assert_ne!(
        own.teacher_id, first.teacher_id,
        "B's id is B's own request"
    );
}

/// Regression: a stream's request slot was released when its handler returned, so one
/// principal could hold any number of open watches.
#[tokio::test]
async fn open_streams_count_against_the_principal_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let tokens = principals(&path);
    let server = start_server_with(ServerOptions {
        max_in_flight_per_principal: 2,
        ..auth_options(&path)
    })
    .await;
    let mut client = as_token(&server, &tokens.reader).await;
    let first = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap();
    let _second = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap();
    let status = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    drop(first);
    // The server notices the closed stream when it next tries to send; wait (bounded).
    let mut admitted = false;
    for _ in 0..100 {
        match client
            .list_teachers(pb::ListTeachersRequest::default())
            .await
        {
            Ok(_) => {
                admitted = true;
                break;
            }
            Err(s) if s.code() == Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    assert!(admitted, "closing a stream frees its slot");
}
