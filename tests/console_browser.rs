//! The console in a real browser: headless Chromium (the distribution's package) driven
//! through chromedriver by a WebDriver client. It signs in, searches, opens a teacher,
//! reissues a certificate with a field error then success, opens a case and accepts it,
//! runs a title transition dry, shows the statistics, opens an evaluation round and opens
//! its publicity, uploads the committee's results file, opens an application, imports a
//! CSV file, verifies a certificate publicly using the keyboard only and a credential by
//! its QR code's image, and is refused another
//! county's teacher as a county user. Every page visited is checked for form controls
//! without a label, and, when axe-core is available (`AXE_CORE_JS`, installed by .ci/run),
//! audited by it in the same browser.
//!
//! Screenshots of each step are kept in `<target dir>/console-screenshots/`. With
//! `README_SCREENSHOTS=<dir>` the main pages' screenshots are also written there under
//! their names (1280×1000, as Chromium takes them, 60 to 100 kB each): the README's
//! (`docs/screenshots/`) are made so, never by hand:
//!
//! ```sh
//! README_SCREENSHOTS=$PWD/docs/screenshots AXE_CORE_JS=... \
//!   cargo test --locked --test console_browser -- --include-ignored
//! ```
//!
//! It needs /usr/bin/chromium and /usr/bin/chromedriver (or `CHROMIUM` and `CHROMEDRIVER`),
//! so the quick `cargo test` lists it as ignored; the whole suite runs it, and fails saying
//! what to install without them (`.ci/run` installs them).

mod common;
mod console_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use console_support::*;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{json, Value};
use teacher_registry::api::pb;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;
use teacher_registry::credential::SigningKey;

const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";

/// The steps whose screenshots the README shows (see the module doc).
const README: &[&str] = &[
    "verify-public",
    "verify-credential",
    "search",
    "teacher",
    "teacher-history",
    "reissue-field-error",
    "window-queue",
    "case-accepted",
    "transition-dry-run",
    "statistics",
    "round",
    "round-committee-file",
    "import",
];

/// The README shows exactly the screenshots the walk writes for it, and they are there.
#[test]
fn the_readme_shows_the_screenshots_the_walk_makes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown: Vec<&str> = readme
        .split("](docs/screenshots/")
        .skip(1)
        .map(|rest| rest.split_once(".png)").expect("a PNG").0)
        .collect();
    assert_eq!(
        shown, README,
        "the README's screenshots, in the walk's order"
    );
    let mut total = 0;
    for name in README {
        let path = root.join(format!("docs/screenshots/{name}.png"));
        total += std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
    }
    assert!(total < 1_500_000, "{total} bytes of screenshots");
}

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn program(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("console-screenshots");
    // Only this run's screenshots: a step removed since would leave a stale one behind.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn browser(chromium: &Path, chromedriver: &Path, profile: &Path) -> (Driver, Client) {
    let port = free_address().port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=zh-CN",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&url)
        .await
        .expect("a WebDriver session");
    (driver, client)
}

/// A credential for CERT_A, as the admin issues it.
async fn issue_credential(fx: &Fixture) -> pb::IssueCredentialResponse {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", fx.server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut credentials =
        CredentialServiceClient::with_interceptor(channel, common::Token::bearer(&fx.tokens.admin));
    credentials
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: CERT_A.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// One browser session through the console, step by step.
struct Walk {
    client: Client,
    base: String,
    shots: PathBuf,
    step: u32,
    axe: Option<String>,
}

impl Walk {
    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Sets a date input (typing into one depends on the browser's locale).
    async fn set_date(&self, css: &str, date: &str) {
        self.find(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(date)],
            )
            .await
            .unwrap();
    }

    /// Clicks `css`, a button or link that loads another page, and waits until that page
    /// has replaced this one, so that what is found next is of the new page. (Otherwise an
    /// element both pages have, such as a case's state or a round's batch results, may be
    /// found on the old page just before it goes.)
    async fn follow(&self, css: &str) {
        let old = self
            .client
            .find(Locator::Css("html"))
            .await
            .unwrap_or_else(|e| panic!("the page before {css}: {e}"));
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            match old.tag_name().await {
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                {
                    return;
                }
                _ if std::time::Instant::now() > deadline => {
                    panic!("{css}: no new page within 15 s")
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Keeps a screenshot of the page, and checks it: every control labelled, and no
    /// serious accessibility violation when axe-core is at hand.
    async fn shot(&mut self, name: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.unwrap();
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, &png).unwrap();
        if let Some(dir) = std::env::var_os("README_SCREENSHOTS").filter(|_| README.contains(&name))
        {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), &png).unwrap();
        }
        let unlabelled = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))\
                 .filter(e => !(e.id && document.querySelector('label[for=\"' + e.id + '\"]')))\
                 .map(e => e.name);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(unlabelled, json!([]), "{name}: controls without a label");
        if let Some(axe) = &self.axe {
            self.client.execute(axe, vec![]).await.unwrap();
            let violations = self
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];\
                     axe.run(document, { resultTypes: ['violations'] }).then(r => done(\
                       r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                       .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(violations, json!([]), "{name}: axe-core violations");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver: the whole suite runs it (README, Running it)"]
async fn a_clerk_works_the_console_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) = (
        program("CHROMIUM", "/usr/bin/chromium"),
        program("CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        panic!(
            "chromium or chromedriver not found (/usr/bin/chromium, /usr/bin/chromedriver, \
             or CHROMIUM / CHROMEDRIVER): install them with \
             `apt-get install chromium chromium-driver` (.ci/run does)"
        );
    };
    let axe = std::env::var_os("AXE_CORE_JS").map(|path| {
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("AXE_CORE_JS {}: {e}", PathBuf::from(&path).display()))
    });
    if axe.is_none() {
        eprintln!("no AXE_CORE_JS: the pages are checked for labels only, not audited by axe-core");
    }
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |options| {
        options.credential_key = Some(std::sync::Arc::new(SigningKey::generate()));
    })
    .await;
    let profile = tempfile::tempdir().unwrap();
    let (_driver, client) = browser(&chromium, &chromedriver, profile.path()).await;
    let mut walk = Walk {
        client,
        base: format!("http://{}", fx.console),
        shots: screenshots_dir(),
        step: 0,
        axe,
    };
    // The browser is closed however the walk ends, so no Chromium outlives the test.
    let outcome = std::panic::AssertUnwindSafe(run(&mut walk, &fx))
        .catch_unwind()
        .await;
    let _ = walk.client.clone().close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn run(walk: &mut Walk, fx: &Fixture) {
    // The public page, by keyboard alone: Tab to the name field, type, Tab, type, Enter.
    walk.goto("/verify").await;
    walk.find("#name").await;
    let mut reached = false;
    for _ in 0..20 {
        let active = walk.client.active_element().await.unwrap();
        if active.attr("id").await.unwrap().as_deref() == Some("name") {
            reached = true;
            break;
        }
        active.send_keys(TAB).await.unwrap();
    }
    assert!(reached, "the name field is reachable with Tab");
    let active = walk.client.active_element().await.unwrap();
    active.send_keys("张三").await.unwrap();
    active.send_keys(TAB).await.unwrap();
    let number = walk.client.active_element().await.unwrap();
    assert_eq!(
        number.attr("id").await.unwrap().as_deref(),
        Some("certificate_number")
    );
    number.send_keys(CERT_A).await.unwrap();
    number.send_keys(ENTER).await.unwrap();
    assert_eq!(walk.text("#status").await, "有效");
    walk.shot("verify-public").await;

    // A scanned credential: its QR code's image uploaded, decoded by the server.
    let files = tempfile::tempdir().unwrap();
    let (registry, mut rounds) = clients(fx).await;
    let issued = issue_credential(fx).await;
    let qr = files.path().join("credential.png");
    std::fs::write(&qr, &issued.qr_png).unwrap();
    walk.find("#qr-image")
        .await
        .send_keys(qr.to_str().unwrap())
        .await
        .unwrap();
    walk.follow("#credential button").await;
    let verdict = walk.text("#verdict").await;
    assert!(verdict.starts_with("有效"), "{verdict}");
    walk.shot("verify-credential").await;

    // The teacher changes name (their page shows the former one).
    registry
        .clone()
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: fx.teacher_a.teacher_id.clone(),
                name: "张叁".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();

    // Sign in; search by name; open the teacher.
    walk.goto("/signin").await;
    walk.fill("#token", &fx.tokens.admin).await;
    walk.shot("sign-in").await;
    walk.follow("form.card button").await;
    // The results come as the clerk types, without submitting.
    walk.fill("#q", "张").await;
    let link = walk.find("#results a").await;
    walk.shot("search").await;
    link.click().await.unwrap();
    assert_eq!(walk.text("#teacher-id").await, fx.teacher_a.teacher_id);
    walk.shot("teacher").await;

    // Reissue a lost certificate without the self-declaration: the error by its field,
    // and the focus on it; then with it.
    walk.find("#reissue-reason")
        .await
        .select_by_value("1")
        .await
        .unwrap();
    walk.follow("#reissue button").await;
    let error = walk.text("#reissue-declaration_ref-error").await;
    assert!(error.contains("self-declaration"), "{error}");
    let focused = walk.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("reissue-declaration_ref")
    );
    walk.shot("reissue-field-error").await;
    focused.send_keys("声明-2026-007").await.unwrap();
    walk.follow("#reissue button").await;
    walk.find("#done").await;
    walk.shot("reissue-done").await;
    // The teacher's past: the former name, and the reissue among the revisions.
    assert!(walk.text("#former-names").await.contains("张三"));
    let newest = walk.text("#revisions tbody tr").await;
    assert!(newest.contains("补发证书"), "{newest}");
    walk.client
        .execute(
            "document.getElementById('revisions-h').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    walk.shot("teacher-history").await;
    let copies = fx.teacher(&fx.teacher_a.teacher_id).await.certificates[0]
        .copies
        .clone();
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[1].declaration_ref, "声明-2026-007");

    // The window: the queue, a case, accepted.
    walk.goto("/cases").await;
    let case = walk
        .find(&format!("#queue a[href='/cases/{}']", fx.case.case_id))
        .await;
    walk.shot("window-queue").await;
    case.click().await.unwrap();
    walk.fill("#accept-note", "材料齐全").await;
    walk.shot("case").await;
    walk.follow("#accept button").await;
    walk.find("#decide").await;
    assert_eq!(walk.text("#state").await, "已受理");
    walk.shot("case-accepted").await;

    // A dry-run title transition of the county, then the statistics.
    walk.goto("/transition").await;
    walk.fill("#county_code", A).await;
    walk.set_date("#effective_date", "2026-01-01").await;
    walk.fill("#approval_document", "闽人社〔2026〕1号").await;
    walk.follow("button[value=dry_run]").await;
    walk.find("#outcomes").await;
    assert_eq!(walk.text("#would").await, "1");
    walk.shot("transition-dry-run").await;
    assert_eq!(
        fx.teacher(&fx.teacher_a.teacher_id).await.current_title,
        0,
        "a dry run saves nothing"
    );
    walk.goto("/stats").await;
    walk.find("#by-county svg").await;
    walk.shot("statistics").await;

    // Title evaluation: a round found by its number, its school publicity opened for the
    // whole round, the committee's results uploaded as a file, an application's page.
    let mut registry = registry;
    let applicant = eligible(&mut registry, 61, "周评").await;
    let today = common::today_cst();
    let round = common::create_round(&mut rounds, common::new_round(today)).await;
    let applied_on = today - chrono::Duration::days(40);
    let application = common::apply_for_title(
        &mut rounds,
        common::application_request(&round, &applicant, applied_on),
    )
    .await;
    walk.goto("/rounds").await;
    walk.fill("#round_id", &round.round_id).await;
    walk.follow("#find-round button").await;
    walk.find("#applications").await;
    walk.shot("round").await;
    walk.set_date(
        "#publicity-step_date",
        &(applied_on + chrono::Duration::days(1)).to_string(),
    )
    .await;
    walk.follow("#publicity button").await;
    let summary = walk.text("#batch-summary").await;
    assert!(summary.contains("完成 1"), "{summary}");
    walk.shot("round-publicity").await;
    let opened = common::get_title_application(&mut rounds, &application.application_id).await;
    let school_end: chrono::NaiveDate = opened.publicity[0].ends_on.parse().unwrap();
    let votes = files.path().join("votes.csv");
    std::fs::write(
        &votes,
        format!(
            "申报编号,赞成,反对,弃权,出席\n{},7,1,1,9\n",
            application.application_id
        ),
    )
    .unwrap();
    walk.find("#committee-file")
        .await
        .send_keys(votes.to_str().unwrap())
        .await
        .unwrap();
    walk.set_date(
        "#committee-step_date",
        &(school_end + chrono::Duration::days(1)).to_string(),
    )
    .await;
    walk.follow("#committee button").await;
    let results = walk.text("#batch-results").await;
    assert!(results.contains("评审通过"), "{results}");
    walk.shot("round-committee-file").await;
    walk.goto(&format!("/applications/{}", application.application_id))
        .await;
    walk.find("#object").await;
    walk.shot("application").await;

    // Import: a CSV uploaded, its rows answered as they are written.
    let mut newcomer = common::teacher(62, A);
    newcomer.name = "吴导".into();
    let roll = files.path().join("teachers.csv");
    std::fs::write(
        &roll,
        format!(
            "姓名,身份证号,性别,出生日期,所在县区代码,学校,任职状态\n{},{},女,{},{A},{},在职\n",
            newcomer.name, newcomer.national_id, newcomer.birth_date, newcomer.school
        ),
    )
    .unwrap();
    walk.goto("/import").await;
    walk.find("#file")
        .await
        .send_keys(roll.to_str().unwrap())
        .await
        .unwrap();
    walk.follow("#import button").await;
    let summary = walk.text("#import-summary").await;
    assert!(summary.contains("新建 1"), "{summary}");
    walk.shot("import").await;
    walk.goto(&format!("/cases/{}", fx.case.case_id)).await;

    // The language switch.
    walk.follow("a[href^='/lang/en']").await;
    assert_eq!(walk.text("#state").await, "Accepted");
    walk.shot("case-in-english").await;
    walk.follow("a[href^='/lang/zh']").await;

    // Sign out; a county user may not see another county's teacher.
    walk.follow("form.signout button").await;
    walk.fill("#token", &fx.tokens.county_a).await;
    walk.follow("form.card button").await;
    walk.find("#q").await;
    walk.goto(&format!("/teachers/{}", fx.teacher_b.teacher_id))
        .await;
    let refusal = walk.text("p.alert").await;
    assert!(refusal.contains("NOT_FOUND"), "{refusal}");
    let page: Value = walk
        .client
        .execute("return document.body.innerText;", vec![])
        .await
        .unwrap();
    assert!(!page.as_str().unwrap().contains("李四"));
    walk.shot("county-refused").await;
}
