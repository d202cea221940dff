//! The web console's sessions over a real socket: sign-in and its cookies' flags, CSRF
//! refusal (nothing changes), expiry, sign-out, a token revoked in the auth file, and the
//! console over TLS with Secure cookies. The pages themselves: tests/console_pages.rs.

mod common;
mod console_support;

use std::time::Duration;

use console_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_http_only_session_cookie_and_sign_out_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);

    // Signed-out pages send the browser to sign in.
    let search = http.get("/search").await;
    assert_eq!(search.status, 303);
    assert_eq!(search.header("location"), Some("/signin?next=/search"));

    let form = http.get("/signin").await;
    assert_eq!(form.status, 200);
    let form_cookie = form.set_cookies()[0].to_string();
    assert!(form_cookie.starts_with("tr_form="), "{form_cookie}");
    assert!(
        form_cookie.contains("; HttpOnly; SameSite=Strict"),
        "{form_cookie}"
    );
    assert!(
        !form_cookie.contains("Secure"),
        "no TLS, no Secure: {form_cookie}"
    );
    assert!(form.body.contains("<label for=\"token\">"), "{}", form.body);
    assert_eq!(
        form.header("content-security-policy")
            .map(|c| c.contains("default-src 'self'")),
        Some(true)
    );

    // A wrong token: the error beside the token field, and no session.
    let token = form.input("form_token").unwrap();
    let wrong = http
        .post(
            "/signin",
            &[("form_token", &token), ("token", "not-a-token")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("id=\"token-error\""), "{}", wrong.body);
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    assert!(!http.cookies.contains_key("tr_session"));

    let signed = http.sign_in(&fx.tokens.admin).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.header("location"), Some("/search"));
    let session_cookie = signed.set_cookies()[0].to_string();
    assert!(
        session_cookie.starts_with("tr_session="),
        "{session_cookie}"
    );
    assert!(
        session_cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict"),
        "{session_cookie}"
    );
    let session = http.cookies["tr_session"].clone();
    assert!(session.len() >= 43, "256 random bits");
    assert!(
        !session_cookie.contains(&fx.tokens.admin),
        "the token never goes to the browser"
    );

    let page = http.get("/search").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("root (admin)"), "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Sign-out needs the session's CSRF token too.
    let csrf = page.input("csrf").unwrap();
    let refused = http.post("/signout", &[("csrf", "forged")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(http.get("/search").await.status, 200, "still signed in");
    let out = http.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.set_cookies()[0].contains("Max-Age=0"));
    assert!(!http.cookies.contains_key("tr_session"));

    // The old session id is dead even if a browser kept it.
    http.cookies.insert("tr_session".into(), session);
    assert_eq!(http.get("/search").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_after_idling() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |options| {
        options.console.as_mut().unwrap().session_idle = Duration::from_millis(600);
    })
    .await;
    let mut http = Http::new(fx.console);
    assert_eq!(http.sign_in(&fx.tokens.admin).await.status, 303);
    assert_eq!(http.get("/search").await.status, 200);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let expired = http.get("/search").await;
    assert_eq!(expired.status, 303);
    assert!(expired.header("location").unwrap().starts_with("/signin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_their_csrf_token_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = Http::new(fx.console);

    // Sign-in without the form's token (as another site would post it).
    let refused = http.post("/signin", &[("token", &fx.tokens.admin)]).await;
    assert_eq!(refused.status, 403);
    assert!(!http.cookies.contains_key("tr_session"));

    assert_eq!(http.sign_in(&fx.tokens.admin).await.status, 303);
    let id = &fx.teacher_a.teacher_id;
    for csrf in ["", "forged"] {
        let answer = http
            .post(
                &format!("/teachers/{id}/reissue"),
                &[
                    ("csrf", csrf),
                    ("certificate_number", CERT_A),
                    ("reason", "2"),
                    ("request_id", "csrf-test"),
                ],
            )
            .await;
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
    let case = http
        .post(
            &format!("/cases/{}/accept", fx.case.case_id),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(case.status, 403);
    let teacher = fx.teacher(id).await;
    assert_eq!(teacher.revision, fx.teacher_a.revision, "nothing changed");
    assert_eq!(teacher.certificates[0].copies.len(), 1);
}

/// GET `path` over TLS, trusting `ca`; the answer's head.
async fn get_over_tls(
    address: std::net::SocketAddr,
    ca: &rcgen::Certificate,
    path: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tls_the_console_is_served_over_tls_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key, ca_params) = common::certificate_pair("console test CA", None, true);
    let (cert, key, _) = common::certificate_pair("localhost", Some((&ca_params, &ca_key)), false);
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let tls = teacher_registry::server::TlsFiles {
        cert: write("server.pem", cert.pem()),
        key: write("server.key", key.serialize_pem()),
        client_ca: None,
    };
    let console = free_address();
    let server = common::start_server_with(teacher_registry::server::ServerOptions {
        tls: Some(tls),
        console: Some(teacher_registry::console::ConsoleOptions::new(console)),
        ..Default::default()
    })
    .await;
    wait_listening(console).await;
    let head = get_over_tls(console, &ca, "/signin").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a form cookie");
    assert!(
        cookie.contains("; HttpOnly; SameSite=Strict; Secure"),
        "{cookie}"
    );

    // Plain HTTP to the TLS console gets no page.
    let mut plain = Http::new(console);
    let refused = tokio::time::timeout(Duration::from_secs(15), async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(plain.address).await.unwrap();
        stream
            .write_all(b"GET /signin HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        raw
    })
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&refused).contains("HTTP/1.1 200"));
    plain.cookies.clear();
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_in_the_auth_file_ends_its_console_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    assert_eq!(http.get("/cases").await.status, 200);
    teacher_registry::auth::revoke_principal(&fx.auth_file, "yanping").unwrap();
    fx.authenticator.reload().unwrap();
    let page = http.get("/cases").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/signin"));
    let again = http.get("/cases").await;
    assert_eq!(
        again.header("location"),
        Some("/signin?next=/cases"),
        "the session is gone"
    );
    let form = http.get("/signin").await;
    let token = form.input("form_token").unwrap();
    let refused = http
        .post(
            "/signin",
            &[("form_token", &token), ("token", &fx.tokens.county_a)],
        )
        .await;
    assert_eq!(refused.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_remembers_english_and_comes_back_to_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let page = http.get(&format!("/search?q={}&x=1", encode("张"))).await;
    assert!(page.body.contains("<html lang=\"zh-CN\">"), "Chinese first");
    let link = "/lang/en?back=/search%3Fq%3D%25E5%25BC%25A0%26x%3D1";
    assert!(
        page.body
            .contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
        "{}",
        page.body
    );
    let switched = http.get(link).await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.header("location"), Some("/search?q=%E5%BC%A0&x=1"));
    assert!(switched.set_cookies()[0].starts_with("tr_lang=en; Path=/; HttpOnly; SameSite=Strict"));
    let english = http.get("/search?q=%E5%BC%A0").await;
    assert!(
        english.body.contains("<html lang=\"en\">") && english.body.contains("Search teachers")
    );
    // Nowhere else to go back to but this console.
    let away = http.get("/lang/zh?back=//evil.example/").await;
    assert_eq!(away.header("location"), Some("/"));
}

/// `serve --county-names FILE` is the option (and variable) `stats` takes: the console
/// shows the file's names beside the codes. `--console-county-names`, its earlier name,
/// is still accepted, and not shown in the help.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_the_county_names_option_of_stats_and_its_earlier_name() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.csv");
    std::fs::write(&names, "code,name\n350702,测试新区\n").unwrap();
    let data = dir.path().join("data");
    let server = common::start_server_in(&data).await;
    let mut client = server.new_client().await;
    common::create(&mut client, common::teacher(1, A)).await;
    drop(client);
    server.stop().await;
    let binary = env!("CARGO_BIN_EXE_teacher-registry");
    for flag in ["--county-names", "--console-county-names"] {
        let (grpc, console) = (free_address(), free_address());
        let mut child = std::process::Command::new(binary)
            .arg("serve")
            .args(common::registry_args(&data))
            .args(["--listen", &grpc.to_string()])
            .args(["--console-listen", &console.to_string()])
            .arg(flag)
            .arg(&names)
            .env_remove("TEACHER_REGISTRY_COUNTY_NAMES")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_listening(console).await;
        let mut http = Http::new(console);
        http.sign_in("any-token-on-loopback").await;
        let stats = http.get("/stats").await;
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(stats.status, 200, "{flag}: {}", stats.body);
        assert!(stats.body.contains("测试新区"), "{flag}: {}", stats.body);
        assert!(
            !stats.body.contains("延平区"),
            "{flag}: the file replaces the name"
        );
    }
    let help = std::process::Command::new(binary)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--county-names"), "{help}");
    assert!(!help.contains("--console-county-names"), "{help}");
}
