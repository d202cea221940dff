//! Import files as HR staff have them, through the real binary: a template that does not
//! overwrite a filled-in sheet.

struct Outcome {
    code: Option<i32>,
    stderr: String,
}

async fn run(args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        Outcome {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_keeps_a_filled_in_sheet_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["teachers.csv", "teachers.xlsx"] {
        let path = dir.path().join(name);
        let file = path.to_str().unwrap();
        assert_eq!(run(&["template", file]).await.code, Some(0));
        std::fs::write(&path, "filled in by hand").unwrap();

        let refused = run(&["template", file]).await;
        assert_eq!(refused.code, Some(1), "{name}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("already exists") && refused.stderr.contains("--force"),
            "{}",
            refused.stderr
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "filled in by hand");

        let forced = run(&["template", file, "--force"]).await;
        assert_eq!(forced.code, Some(0), "{name}: {}", forced.stderr);
        assert_ne!(std::fs::read(&path).unwrap(), b"filled in by hand");
        assert_eq!(
            teacher_registry::cli::open_rows(&path).unwrap().count(),
            0,
            "{name}: an empty template again"
        );
    }
}
