//! Messages in the words of whoever reads them (issue 18, defect 7), through the real
//! binary and a real server: a person at the command line is told which variable to set,
//! not which header to send; a TLS port spoken to in plain text says so; `host:port` is
//! an address; reasons name values as the API and the files do (`JUNIOR_SECONDARY`), not
//! as Rust does (`JuniorSecondary`), and a teacher once; counts agree with their nouns;
//! `--help` shows no empty default.

mod cli_support;
mod common;

use cli_support::*;
use common::*;
use teacher_registry::api::pb;
use teacher_registry::auth::{add_principal, Role};
use teacher_registry::server::{ServerOptions, TlsFiles};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_token_tells_the_person_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.toml");
    let token = add_principal(&auth, "root", Role::Admin, None).unwrap();
    let reader = add_principal(&auth, "auditor", Role::Reader, None).unwrap();
    let server = start_server_with_auth(&auth).await;
    // Without a scheme: an address as people write it.
    let address = server.address.to_string();

    let missing = run(&["stats", "--server", &address]).await;
    assert_eq!(missing.code, Some(1), "{missing:#?}");
    assert!(
        missing.stderr.contains("set TEACHER_REGISTRY_TOKEN"),
        "{}",
        missing.stderr
    );
    assert!(
        !missing.stderr.contains("authorization: Bearer"),
        "{}",
        missing.stderr
    );
    assert!(
        missing
            .stderr
            .starts_with("teacher-registry: the registry refused the statistics\n"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("UNAUTHENTICATED"),
        "{}",
        missing.stderr
    );

    let wrong = run_with(
        &["stats", "--server", &address],
        &[("TEACHER_REGISTRY_TOKEN", "trg_not-a-token")],
    )
    .await;
    assert_eq!(wrong.code, Some(1), "{wrong:#?}");
    assert!(
        wrong
            .stderr
            .contains("did not accept the token in TEACHER_REGISTRY_TOKEN"),
        "{}",
        wrong.stderr
    );

    let right = run_with(
        &["stats", "--server", &address],
        &[("TEACHER_REGISTRY_TOKEN", &token)],
    )
    .await
    .ok();
    assert!(
        right.stdout.contains("as of revision 0"),
        "{}",
        right.stdout
    );

    // A role is named as the auth file spells it, not as Rust does ("Reader").
    let denied = run_with(
        &[
            "transition",
            "--server",
            &address,
            "--county",
            "350702",
            "--effective-date",
            "2016-09-01",
            "--approval-document",
            "x",
        ],
        &[("TEACHER_REGISTRY_TOKEN", &reader)],
    )
    .await;
    assert_eq!(denied.code, Some(1), "{denied:#?}");
    assert!(
        denied
            .stderr
            .contains("PERMISSION_DENIED: the reader role may not call TransitionTitles"),
        "{}",
        denied.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_tls_port_says_to_use_https() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let cert = params.self_signed(&key).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let server = start_server_with(ServerOptions {
        tls: Some(TlsFiles {
            cert: write("server.pem", cert.pem()),
            key: write("server.key", key.serialize_pem()),
            client_ca: None,
        }),
        ..ServerOptions::default()
    })
    .await;
    let plain = format!("http://{}", server.address);
    let refused = run(&["stats", "--server", &plain]).await;
    assert_eq!(refused.code, Some(2), "{refused:#?}");
    let https = format!("serves TLS: give the address as https://{}", server.address);
    assert!(refused.stderr.contains(&https), "{}", refused.stderr);
    assert!(
        !refused.stderr.contains("h2 protocol"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_name_values_as_the_files_do_and_a_teacher_once() {
    let mut server = start_server().await;
    let url = format!("http://{}", server.address);
    let existing = create(&mut server.client, teacher(1, "350702")).await;
    let again = teacher(1, "350702");
    let fresh = teacher(2, "350702");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("teachers.csv");
    let header = "姓名,身份证号,性别,出生日期,所在县区代码,学校,任职状态,\
                  教师资格证书号码,资格种类,任教学科,认定机构,认定日期";
    let row = |t: &pb::Teacher, certificate: &str| {
        format!(
            "{},{},女,{},350702,{},在职,{certificate}",
            t.name, t.national_id, t.birth_date, t.school
        )
    };
    // Digit 10 of the number is 2 (primary school), the kind says junior secondary.
    let mismatched = "20163500022000123,初级中学,语文,南平市延平区教育局,2016-07-01";
    std::fs::write(
        &file,
        format!(
            "{header}\n{}\n{}\n",
            row(&again, ",,,,"),
            row(&fresh, mismatched)
        ),
    )
    .unwrap();
    let rejects = dir.path().join("rejects.csv");
    let import = run(&[
        "import",
        file.to_str().unwrap(),
        "--server",
        &url,
        "--rejects",
        rejects.to_str().unwrap(),
    ])
    .await;
    assert_eq!(import.code, Some(1), "{import:#?}");
    assert!(
        import.stderr.contains("2 rows were rejected"),
        "{}",
        import.stderr
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    let duplicate = rejected
        .lines()
        .find(|l| l.contains("ALREADY_EXISTS"))
        .unwrap();
    assert_eq!(
        duplicate.matches(&existing.teacher_id).count(),
        1,
        "{duplicate}"
    );
    let kind = rejected.lines().find(|l| l.contains("digit 10")).unwrap();
    assert!(kind.contains("JUNIOR_SECONDARY (初级中学)"), "{kind}");
    assert!(!kind.contains("JuniorSecondary"), "{kind}");

    // Title rules name tiers as the API does.
    let change = |kind: pb::TitleChangeKind, tier: pb::TitleTier| pb::ChangeTitleRequest {
        teacher_id: existing.teacher_id.clone(),
        change: Some(pb::TitleEntry {
            kind: kind as i32,
            tier: tier as i32,
            effective_date: "2018-09-01".into(),
            approval_document: "Nan Jiao Ren [2018] No. 1".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let initial = change(pb::TitleChangeKind::Initial, pb::TitleTier::ThirdLevel);
    server.client.change_title(initial).await.unwrap();
    let skip = change(pb::TitleChangeKind::Promotion, pb::TitleTier::Senior);
    let status = server.client.change_title(skip).await.unwrap_err();
    assert!(
        status
            .message()
            .contains("a promotion from THIRD_LEVEL goes to SECOND_LEVEL"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_agree_with_their_nouns_and_help_shows_no_empty_default() {
    let mut server = start_server().await;
    let url = format!("http://{}", server.address);
    create(&mut server.client, teacher(1, "350702")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    let export = run(&["export", file.to_str().unwrap(), "--server", &url])
        .await
        .ok();
    assert!(
        export.stdout.starts_with("1 teacher written to"),
        "{}",
        export.stdout
    );
    let mirror = dir.path().join("mirror.jsonl");
    let sync = run(&[
        "sync",
        "--server",
        &url,
        "--county",
        "350702",
        "--mirror",
        mirror.to_str().unwrap(),
    ])
    .await
    .ok();
    assert!(
        sync.stdout.contains("listed 1 teacher of 350702"),
        "{}",
        sync.stdout
    );

    for command in ["export", "stats"] {
        let help = run(&[command, "--help"]).await.ok();
        assert!(!help.stdout.contains("[default: \"\"]"), "{}", help.stdout);
        assert!(help.stdout.contains("--county <COUNTY>"), "{}", help.stdout);
    }
}
