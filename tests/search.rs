//! Name search (issue 18: HR staff could not find a teacher by name), through a real
//! server: exact and prefix matches on the whole name string, the caller's county scope,
//! masking for readers, paging across counties, a rename keeping the former name and a
//! move taking the index entries with it, and the `search` and `show` commands as a person runs them.

mod common;

use std::path::Path;

use common::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::auth::{add_principal, Role};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::Code;

const A: &str = "350702";
const B: &str = "350721";
const C: &str = "350722";

/// A teacher numbered `n` (see `common::teacher`) with this name.
fn named(n: u32, county: &str, name: &str) -> pb::Teacher {
    pb::Teacher {
        name: name.into(),
        ..teacher(n, county)
    }
}

fn in_county(request: pb::SearchTeachersRequest, county: &str) -> pb::SearchTeachersRequest {
    pb::SearchTeachersRequest {
        county_code: county.into(),
        ..request
    }
}

fn names(teachers: &[pb::Teacher]) -> Vec<(&str, &str)> {
    teachers
        .iter()
        .map(|t| (t.county_code.as_str(), t.name.as_str()))
        .collect()
}

#[tokio::test]
async fn exact_finds_the_whole_name_and_prefix_finds_names_that_start_so() {
    let mut server = start_server().await;
    let client = &mut server.client;
    for (n, county, name) in [
        (1, A, "王小明"),
        (2, A, "王小红"),
        (3, A, "王小"),
        (4, A, "李王"),
        (5, B, "王小明"),
        (6, A, "John Smith"),
        (7, A, "买买提·艾力"),
    ] {
        create(client, named(n, county, name)).await;
    }

    let (found, _) = search_all(client, exact("王小明")).await;
    assert_eq!(
        names(&found),
        [(A, "王小明"), (B, "王小明")],
        "every county, by county"
    );
    let (found, _) = search_all(client, in_county(exact("王小明"), B)).await;
    assert_eq!(names(&found), [(B, "王小明")]);
    let (found, _) = search_all(client, exact("王小")).await;
    assert_eq!(names(&found), [(A, "王小")], "exact is not prefix");
    let (found, _) = search_all(client, exact(" 王 小明 ")).await;
    assert_eq!(found.len(), 2, "white space is ignored");

    // A surname finds every name that starts with it, within the county asked for; a
    // character inside a name is not a prefix.
    let (found, _) = search_all(client, in_county(prefix("王"), A)).await;
    assert_eq!(names(&found), [(A, "王小"), (A, "王小明"), (A, "王小红")]);
    let (found, _) = search_all(client, prefix("王小")).await;
    assert_eq!(found.len(), 4);
    let (found, _) = search_all(client, prefix("小明")).await;
    assert!(found.is_empty(), "{found:?}");
    let (found, _) = search_all(client, prefix("李")).await;
    assert_eq!(names(&found), [(A, "李王")]);

    // Latin names: any case, spaces and full-width letters as typed by an input method.
    let (found, _) = search_all(client, exact("JOHN SMITH")).await;
    assert_eq!(names(&found), [(A, "John Smith")]);
    let (found, _) = search_all(client, prefix("ｊｏｈｎ")).await;
    assert_eq!(names(&found), [(A, "John Smith")]);
    let (found, _) = search_all(client, exact("买买提・艾力")).await;
    assert_eq!(
        names(&found),
        [(A, "买买提·艾力")],
        "one middle dot for another"
    );

    // The default match is exact.
    let (found, _) = search_all(
        client,
        pb::SearchTeachersRequest {
            name: "王小".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(found.len(), 1);

    for (request, field) in [
        (exact(" "), "name"),
        (in_county(exact("王小明"), "12345"), "county_code"),
        (
            pb::SearchTeachersRequest {
                name_match: 9,
                ..exact("王小明")
            },
            "name_match",
        ),
        (
            pb::SearchTeachersRequest {
                page_size: -1,
                ..exact("王小明")
            },
            "page_size",
        ),
    ] {
        let status = client.search_teachers(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert_eq!(violated_fields(&status), [field]);
    }
}

#[tokio::test]
async fn pages_cover_every_match_once_across_counties() {
    let mut server = start_server().await;
    let client = &mut server.client;
    // 张伟 in A and C with other names around them, none in B: a search of every county
    // skips what does not match and moves from county to county.
    let mut n = 0;
    let mut want = Vec::new();
    for county in [A, B, C] {
        for i in 0..9 {
            n += 1;
            let name = match (county, i % 3) {
                (B, _) => "李娜",
                (_, 0) => "张三",
                (_, 1) => "张伟",
                _ => "赵伟",
            };
            let created = create(client, named(n, county, name)).await;
            if name == "张伟" {
                want.push(created);
            }
        }
    }
    want.sort_by(|a, b| (&a.county_code, &a.teacher_id).cmp(&(&b.county_code, &b.teacher_id)));
    let ids = |teachers: &[pb::Teacher]| {
        teachers
            .iter()
            .map(|t| t.teacher_id.clone())
            .collect::<Vec<_>>()
    };

    for page_size in [1, 2, 4, 6, 100] {
        let (found, pages) = search_all(
            client,
            pb::SearchTeachersRequest {
                page_size,
                ..exact("张伟")
            },
        )
        .await;
        assert_eq!(ids(&found), ids(&want), "pages of {page_size}");
        assert_eq!(
            pages,
            want.len().div_ceil(page_size as usize),
            "no empty last page"
        );
    }
    let (found, _) = search_all(
        client,
        pb::SearchTeachersRequest {
            page_size: 2,
            ..prefix("张")
        },
    )
    .await;
    assert_eq!(found.len(), 12);
    assert!(found.iter().all(|t| t.name.starts_with('张')));

    // A token belongs to its search: another name, match or county is refused.
    let first = client
        .search_teachers(pb::SearchTeachersRequest {
            page_size: 1,
            ..exact("张伟")
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    for other in [exact("赵伟"), prefix("张伟"), in_county(exact("张伟"), A)] {
        assert_invalid(
            client
                .search_teachers(pb::SearchTeachersRequest {
                    page_token: first.next_page_token.clone(),
                    ..other
                })
                .await,
            &["page_token"],
        );
    }
}

#[tokio::test]
async fn a_rename_or_a_move_takes_the_index_entry_with_it() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let teacher = create(client, named(1, A, "王小明")).await;
    let update = |field: &str, value: pb::Teacher| pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: teacher.teacher_id.clone(),
            ..value
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![field.into()],
        }),
        request_id: String::new(),
    };
    client
        .update_teacher(update(
            "name",
            pb::Teacher {
                name: "林小明".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    // The name it replaced is kept as a former name (曾用名, issue 22): it still finds the
    // teacher, shown under the new name.
    let (found, _) = search_all(client, exact("王小明")).await;
    assert_eq!(names(&found), [(A, "林小明")]);
    assert_eq!(found[0].former_names[0].name, "王小明");
    let (found, _) = search_all(client, prefix("王")).await;
    assert_eq!(names(&found), [(A, "林小明")]);
    let (found, _) = search_all(client, exact("林小明")).await;
    assert_eq!(names(&found), [(A, "林小明")]);

    client
        .update_teacher(update(
            "county_code",
            pb::Teacher {
                county_code: B.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert!(search_all(client, in_county(exact("林小明"), A))
        .await
        .0
        .is_empty());
    let (found, _) = search_all(client, in_county(exact("林小明"), B)).await;
    assert_eq!(found[0].teacher_id, teacher.teacher_id);
    assert_eq!(found.len(), 1);

    // And the index still agrees with every record.
    let dir = server.data_dir.clone();
    let _temp = server.stop().await;
    let store = teacher_registry::store::Store::open_at(
        &location_for(&dir),
        &teacher_registry::store::StoreOptions::default(),
    )
    .unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
}

type AuthClient = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;

async fn as_token(server: &TestServer, token: &str) -> AuthClient {
    TeacherRegistryServiceClient::new(server.channel_as(token).await)
}

struct Tokens {
    admin: String,
    county_a: String,
    reader: String,
}

async fn secured_server(dir: &Path) -> (TestServer, Tokens) {
    let path = dir.join("auth.toml");
    let tokens = Tokens {
        admin: add_principal(&path, "root", Role::Admin, None).unwrap(),
        county_a: add_principal(&path, "yanping", Role::County, Some(A)).unwrap(),
        reader: add_principal(&path, "auditor", Role::Reader, None).unwrap(),
    };
    let server = start_server_with_auth(&path).await;
    (server, tokens)
}

#[tokio::test]
async fn a_county_finds_only_its_own_teachers_and_a_reader_sees_masked_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured_server(dir.path()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let mut in_a = Vec::new();
    for (n, county) in [(1, A), (2, B), (3, A), (4, C)] {
        let created = create(&mut admin, named(n, county, "王小明")).await;
        if county == A {
            in_a.push(created.teacher_id);
        }
    }
    in_a.sort();

    let mut county = as_token(&server, &tokens.county_a).await;
    for request in [
        exact("王小明"),
        prefix("王"),
        in_county(exact("王小明"), A),
        pb::SearchTeachersRequest {
            page_size: 1,
            ..prefix("王小")
        },
    ] {
        let (found, _) = search_all(&mut county, request.clone()).await;
        let mut ids: Vec<String> = found.iter().map(|t| t.teacher_id.clone()).collect();
        ids.sort();
        assert_eq!(ids, in_a, "{request:?}");
        assert!(found.iter().all(|t| t.county_code == A));
        // County principals see identity numbers whole, as in every other read.
        assert!(found.iter().all(|t| !t.national_id.contains('*')));
    }
    for other in [B, C] {
        let status = county
            .search_teachers(in_county(exact("王小明"), other))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{other}");
    }

    let (everyone, _) = search_all(&mut admin, exact("王小明")).await;
    assert_eq!(everyone.len(), 4);
    let mut reader = as_token(&server, &tokens.reader).await;
    let (masked, _) = search_all(&mut reader, exact("王小明")).await;
    assert_eq!(masked.len(), 4);
    for (seen, whole) in masked.iter().zip(&everyone) {
        assert_eq!(seen.teacher_id, whole.teacher_id);
        let id = &whole.national_id;
        assert_eq!(
            seen.national_id,
            format!("{}**************{}", &id[..2], &id[16..])
        );
    }
}

async fn run_cli(args: Vec<String>) -> (i32, String, String) {
    let ran = run_binary(args, None).await;
    (ran.code, ran.stdout, ran.stderr)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_prints_a_table_and_show_prints_the_whole_record() {
    let mut server = start_server().await;
    let url = format!("http://{}", server.address);
    let client = &mut server.client;
    let wang = create(client, named(1, A, "王小明")).await;
    create(client, named(2, B, "王小红")).await;
    create(client, named(3, A, "李四")).await;
    const CERT: &str = "20163500022000123";
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: wang.teacher_id.clone(),
            certificate: Some(certificate(CERT)),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .reissue_certificate(pb::ReissueCertificateRequest {
            certificate_number: CERT.into(),
            reason: pb::ReissueReason::Lost as i32,
            declaration_ref: "SD-2024-0042".into(),
            issued_on: "2024-03-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .change_title(pb::ChangeTitleRequest {
            teacher_id: wang.teacher_id.clone(),
            change: Some(pb::TitleEntry {
                kind: pb::TitleChangeKind::Initial as i32,
                tier: pb::TitleTier::SecondLevel as i32,
                effective_date: "2018-09-01".into(),
                approval_document: "Nan Jiao Ren [2018] No. 5".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();

    let (code, out, err) = run_cli(args(&["search", "王", "--prefix", "--server", &url])).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("registry number 教师编号"), "{out}");
    assert!(
        lines[1].starts_with(&wang.teacher_id) && lines[1].contains("王小明"),
        "{out}"
    );
    assert!(
        lines[1].contains("SECOND_LEVEL") && lines[1].contains(&wang.national_id),
        "{out}"
    );
    assert!(lines[2].contains("王小红") && lines[2].contains(B), "{out}");
    assert_eq!(lines[3], "2 teachers starting with \"王\"");
    assert!(
        lines.iter().all(|l| !l.ends_with(' ')),
        "no trailing spaces: {out:?}"
    );
    let (code, out, _) = run_cli(args(&[
        "search", "王", "--prefix", "--county", B, "--server", &url,
    ]))
    .await;
    assert_eq!(code, 0);
    assert!(out.contains("王小红") && !out.contains("王小明"), "{out}");
    let (code, out, _) = run_cli(args(&["search", "王", "--server", &url])).await;
    assert_eq!((code, out.as_str()), (0, "no teacher named \"王\"\n"));

    // The same page whichever number staff hold.
    let mut pages = Vec::new();
    for key in [&wang.teacher_id, CERT, &wang.national_id] {
        let (code, out, err) = run_cli(args(&["show", key, "--server", &url])).await;
        assert_eq!(code, 0, "{key}: {err}");
        pages.push(out);
    }
    assert!(pages.iter().all(|p| *p == pages[0]), "{pages:#?}");
    let page = &pages[0];
    for expected in [
        format!("王小明  {}", wang.teacher_id),
        "姓名 name".into(),
        "居民身份证 RESIDENT_ID_CARD".into(),
        wang.national_id.clone(),
        "在职 ACTIVE".into(),
        "二级教师 SECOND_LEVEL".into(),
        "教师资格证书 certificates (1)".into(),
        format!("  {CERT}  有效 VALID"),
        "小学 PRIMARY_SCHOOL".into(),
        "作废 VOID".into(),
        "现行 CURRENT  补发 reissued, lost  声明 declaration SD-2024-0042".into(),
        "2016-09-01, valid until 2021-09-01".into(),
        "职称记录 title history (1)".into(),
        "2018-09-01  首次 INITIAL  二级教师 SECOND_LEVEL".into(),
        "Nan Jiao Ren [2018] No. 5".into(),
    ] {
        assert!(page.contains(&expected), "{expected:?} in\n{page}");
    }

    // A registry number with one character wrong is mistyped (a usage error), not looked
    // up as something else; an unknown number is a refusal.
    let mut typo = wang.teacher_id.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '0' { '1' } else { '0' });
    let (code, _, err) = run_cli(args(&["show", &typo, "--server", &url])).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mistyped"), "{err}");
    let (code, _, err) = run_cli(args(&["show", "20163500022000999", "--server", &url])).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("NOT_FOUND"), "{err}");
}
