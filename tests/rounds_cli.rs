//! `teacher-registry round ...` as HR staff run it, against a real server: a round
//! opened, applications made, both publicity periods, the committee's results read from
//! a CSV file (two thirds exactly passes, 5 of 8 does not), confirmation, and `show`
//! printing the round's figures.

mod cli_support;
mod common;

use chrono::Duration;
use cli_support::{run, Run};
use common::{eligible_teacher, start_server, today_cst};

/// `round STEP --server ADDRESS ROUND_ID` and then `more`: one step of a round's work.
async fn round_step(step: &str, address: &str, round_id: &str, more: &[&str]) -> Run {
    run(&[&["round", step, "--server", address, round_id][..], more].concat()).await
}

#[tokio::test]
async fn a_round_run_from_the_command_line() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let address = server.address.to_string();
    let a = eligible_teacher(&mut registry, 41, "350702").await;
    let b = eligible_teacher(&mut registry, 42, "350702").await;
    let today = today_cst();
    let day = |n: i64| (today - Duration::days(n)).to_string();

    let opened = run(&[
        "round",
        "open",
        "--server",
        &address,
        "--name",
        "2026年度一级教师评审",
        "--county",
        "350702",
        "--tier",
        "一级",
        "--deadline",
        &today.to_string(),
        "--member",
        "甲",
        "--member",
        "乙",
        "--member",
        "丙",
        "--member",
        "丁",
        "--member",
        "戊",
        "--member",
        "己",
        "--member",
        "庚",
        "--member",
        "辛",
        "--member",
        "壬",
    ])
    .await
    .ok();
    let round_id = opened.stdout.trim().to_string();
    assert_eq!(round_id.len(), 12, "{opened:?}");

    let mut applications = Vec::new();
    for t in [&a, &b] {
        let applied = round_step(
            "apply",
            &address,
            &round_id,
            &[&t.teacher_id, "--on", &day(40)],
        )
        .await
        .ok();
        assert!(applied.stdout.contains("APPLIED"), "{applied:?}");
        applications.push(
            applied
                .stdout
                .split_whitespace()
                .next()
                .unwrap()
                .to_string(),
        );
    }
    let refused = round_step(
        "apply",
        &address,
        &round_id,
        &[&a.teacher_id, "--on", &day(40)],
    )
    .await;
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("ALREADY_APPLIED") || refused.stderr.contains("applied"),
        "{refused:?}"
    );

    let publicity = round_step("publicity", &address, &round_id, &["--on", &day(39)])
        .await
        .ok();
    assert!(
        publicity
            .stdout
            .contains("2 applications on publicity, 0 refused"),
        "{publicity:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("committee.csv");
    std::fs::write(
        &file,
        format!(
            "申报编号,赞成,反对,弃权,出席\n{},6,2,1,9\n{},5,3,0,8\n",
            applications[0], applications[1]
        ),
    )
    .unwrap();
    let votes = round_step(
        "votes",
        &address,
        &round_id,
        &[file.to_str().unwrap(), "--on", &day(25)],
    )
    .await
    .ok();
    assert!(votes.stdout.contains("vote 6/2/1 of 9 passed"), "{votes:?}");
    assert!(
        votes.stdout.contains("vote 5/3/0 of 8  COMMITTEE_REJECTED"),
        "{votes:?}"
    );

    round_step("publicity", &address, &round_id, &["--on", &day(24)])
        .await
        .ok();
    let confirmed = round_step(
        "confirm",
        &address,
        &round_id,
        &["--document", "南人社[2026]12号", "--on", &day(10)],
    )
    .await
    .ok();
    assert!(
        confirmed
            .stdout
            .contains("1 application confirmed, 0 refused"),
        "{confirmed:?}"
    );
    assert!(
        confirmed.stdout.contains(&format!("confirmed {}", day(10))),
        "{confirmed:?}"
    );

    let shown = run(&["round", "show", "--server", &address, &round_id])
        .await
        .ok();
    assert!(
        shown.stdout.contains("350702  FIRST_LEVEL  2  2  0  1  1"),
        "{shown:?}"
    );
    assert!(shown.stdout.contains("total  "), "{shown:?}");

    let bad = std::fs::write(&file, "application,for,against\nCX,1,2\n");
    bad.unwrap();
    let unreadable = round_step("votes", &address, &round_id, &[file.to_str().unwrap()]).await;
    assert_eq!(unreadable.code, Some(2), "{unreadable:?}");
    assert!(unreadable.stderr.contains("abstain"), "{unreadable:?}");
}
