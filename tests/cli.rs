//! The HR commands, run as the real binary against a real server: what a person sees.

mod common;

use common::*;

async fn run_cli(args: Vec<String>) -> (bool, String, String) {
    let ran = run_binary(args, None).await;
    (ran.code == 0, ran.stdout, ran.stderr)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transition_and_stats_print_readable_tables() {
    let (_server, url, senior) = server_for_a_transition().await;

    let transition = |dry: bool| {
        let mut a = args(&transition_args(
            &url,
            "350702",
            "2016-09-01",
            "Nan Ren She [2016] No. 88",
        ));
        if dry {
            a.push("--dry-run".into());
        }
        a
    };
    let (ok, out, err) = run_cli(transition(true)).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("DRY RUN"), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with(&senior.teacher_id))
        .unwrap();
    assert!(
        row.contains("WOULD_TRANSITION")
            && row.contains("PRIMARY_SENIOR")
            && row.contains("FIRST_LEVEL"),
        "{row}"
    );
    assert!(out.contains("would transition: 1"), "{out}");
    assert!(out.contains("Nothing was changed"), "{out}");

    let (ok, out, err) = run_cli(transition(false)).await;
    assert!(ok, "{err}");
    assert!(out.contains("transitioned:     1"), "{out}");

    let (ok, out, err) = run_cli(transition(false)).await;
    assert!(ok, "{err}");
    assert!(out.contains("ALREADY_TRANSITIONED"), "{out}");
    assert!(out.contains("transitioned:     0"), "{out}");

    let (ok, out, err) = run_cli(args(&["stats", "--server", &url])).await;
    assert!(ok, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.contains("FIRST_LEVEL") && header.contains("NO_TITLE"),
        "{out}"
    );
    let county = out.lines().find(|l| l.starts_with("350702")).unwrap();
    let numbers: Vec<&str> = county.split_whitespace().collect();
    // county, name, total, THIRD, SECOND, FIRST, SENIOR, FULL_SENIOR, NO_TITLE, untransitioned
    assert_eq!(
        numbers,
        ["350702", "延平区", "2", "0", "0", "1", "0", "0", "1", "0"],
        "{out}"
    );

    let (ok, _, err) = run_cli(args(&transition_args(&url, "3507", "2016-09-01", "x"))).await;
    assert!(!ok);
    assert!(
        err.contains("county_code") || err.contains("INVALID_ARGUMENT"),
        "{err}"
    );
}
