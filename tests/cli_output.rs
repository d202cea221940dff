//! What the commands print, read as a person or a log file reads it (issue 18, defect 8,
//! and the transition date of defect 13), through the real binary and a real server:
//! no colour codes or internal INFO lines from the one-shot commands when their output is
//! not a terminal; `sync --follow` silent while nothing changes; tables without trailing
//! spaces; `stats` naming counties and listing legacy titles in the reform table's order;
//! `transition` reading dates as an import does.

mod cli_support;
mod common;

use std::time::Duration;

use cli_support::*;
use common::*;
use teacher_registry::api::pb;
use teacher_registry::server::ServerOptions;

/// Nothing on stderr but what a person needs: no log lines, no escape codes.
fn assert_quiet(what: &str, run: &Run) {
    assert!(
        !has_escape_codes(&run.stdout) && !has_escape_codes(&run.stderr),
        "{what}: escape codes in {run:#?}"
    );
    assert!(
        !run.stderr.contains("INFO"),
        "{what}: internal INFO lines on stderr: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_commands_print_their_report_only() {
    let mut server = start_server().await;
    let url = format!("http://{}", server.address);
    create(&mut server.client, teacher(1, "350702")).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup");
    let backed_up = run(&["backup", backup.to_str().unwrap(), "--server", &url])
        .await
        .ok();
    assert_quiet("backup", &backed_up);
    assert!(
        backed_up.stdout.starts_with("backed up 1 teacher as at"),
        "{}",
        backed_up.stdout
    );
    drop(server.stop().await);

    let restored_dir = dir.path().join("restored");
    let restored = run(&[
        "restore",
        backup.to_str().unwrap(),
        "--data-dir",
        restored_dir.to_str().unwrap(),
    ])
    .await
    .ok();
    assert_quiet("restore", &restored);
    assert!(
        restored.stdout.contains("1 record, "),
        "{}",
        restored.stdout
    );
    let data_dir = restored_dir.to_str().unwrap();
    let verified = run(&["verify", "--data-dir", data_dir]).await.ok();
    assert_quiet("verify", &verified);
    assert!(
        verified.stdout.ends_with("consistent\n"),
        "{}",
        verified.stdout
    );
    let compacted = run(&["compact", "--data-dir", data_dir]).await.ok();
    assert_quiet("compact", &compacted);
    assert!(
        compacted.stdout.starts_with("compacted "),
        "{}",
        compacted.stdout
    );

    let missing = dir.path().join("missing");
    let missing = run(&["verify", "--data-dir", missing.to_str().unwrap()]).await;
    assert_eq!(missing.code, Some(3), "{missing:#?}");
    assert!(
        missing
            .stderr
            .contains("does not exist\n  caused by: No such file"),
        "{}",
        missing.stderr
    );

    // RUST_LOG still opens the store's own log, in plain text.
    let logged = run_with(
        &["verify", "--data-dir", data_dir],
        &[("RUST_LOG", "debug")],
    )
    .await
    .ok();
    assert!(!has_escape_codes(&logged.stderr), "{}", logged.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_sync_is_silent_while_nothing_changes() {
    let mut server = start_server_with(ServerOptions {
        watch_progress_interval: Duration::from_millis(50),
        ..ServerOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror.jsonl");
    let (mut child, received) = follow_sync(server.address, &mirror);
    let next = |what: &str| {
        received
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line {what}"))
    };
    assert!(next("listed").starts_with("listed 0 teachers of 350702"));
    assert!(next("up to date").contains("up to date at revision 0: 0 teachers"));

    create(&mut server.client, teacher(1, "350702")).await;
    assert_eq!(next("for the change"), "revision 1: 1 teacher");
    // Twenty progress intervals, nothing new: nothing printed.
    std::thread::sleep(Duration::from_secs(1));
    let idle: Vec<String> = received.try_iter().collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(idle.is_empty(), "printed while idle: {idle:#?}");
    // The mirror kept following the revision quietly.
    let saved = std::fs::read_to_string(dir.path().join("mirror.jsonl.revision")).unwrap();
    assert_eq!(saved.trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_names_counties_and_orders_legacy_titles() {
    let mut server = start_server().await;
    let url = format!("http://{}", server.address);
    // Created lowest title first: the listing must not follow creation order.
    for (n, county, legacy) in [
        (1, "350702", pb::LegacyTitle::PrimaryThird),
        (2, "350104", pb::LegacyTitle::PrimarySenior),
        (3, "350702", pb::LegacyTitle::SecondarySenior),
    ] {
        let mut t = teacher(n, county);
        t.legacy_title = legacy as i32;
        create(&mut server.client, t).await;
    }
    let plain = run(&["stats", "--server", &url]).await.ok();
    assert_quiet("stats", &plain);
    assert!(
        trailing_space_lines(&plain.stdout).is_empty(),
        "{}",
        plain.stdout
    );
    let line = |out: &str, start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start} in {out}"))
            .to_string()
    };
    assert!(
        line(&plain.stdout, "350702").contains("延平区"),
        "{}",
        plain.stdout
    );
    let legacy: Vec<&str> = plain
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("legacy titles"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        legacy,
        ["SECONDARY_SENIOR", "PRIMARY_SENIOR", "PRIMARY_THIRD"],
        "{}",
        plain.stdout
    );
    // Columns line up under the header, Chinese names and all: the total (2) ends in
    // the display column where "total" does.
    let header = line(&plain.stdout, "county");
    let row = line(&plain.stdout, "350702");
    let total_end = row.find(" 2 ").unwrap() + 2;
    assert_eq!(
        display_width(&row[..total_end]),
        header.find("total").unwrap() + "total".len(),
        "{header}\n{row}"
    );

    // An operator's names for counties the release does not name.
    let names = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(names.path(), "code,name\n350104,仓山区\n").unwrap();
    assert!(!line(&plain.stdout, "350104").contains("仓山区"));
    let named = run(&[
        "stats",
        "--server",
        &url,
        "--county-names",
        names.path().to_str().unwrap(),
    ])
    .await
    .ok();
    assert!(
        line(&named.stdout, "350104").contains("仓山区"),
        "{}",
        named.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transition_reads_dates_as_an_import_does_and_prints_a_clean_table() {
    let (_server, url, _) = server_for_a_transition().await;
    for date in ["2016/09/01", "2016年9月1日"] {
        let transition = transition_args(&url, "350702", date, "Nan Ren She [2016] No. 88");
        let preview = run(&[&transition[..], &["--dry-run"]].concat()).await.ok();
        assert_quiet("transition", &preview);
        assert!(
            preview.stdout.contains("effective 2016-09-01"),
            "{}",
            preview.stdout
        );
        assert!(
            preview.stdout.contains("would transition: 1"),
            "{}",
            preview.stdout
        );
        assert!(
            trailing_space_lines(&preview.stdout).is_empty(),
            "trailing spaces: {:#?}",
            trailing_space_lines(&preview.stdout)
        );
    }
}

/// Columns a terminal gives `text`: two for a Chinese character.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c >= '\u{2E80}' { 2 } else { 1 })
        .sum()
}
