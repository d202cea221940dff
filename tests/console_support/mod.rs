//! What the console's tests share: a secured server with the console on, principals of
//! two counties, a teacher with a certificate in each county and a reissue case at the
//! window; and a small HTTP/1.1 client with a cookie jar, over a real socket.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::RateLimit;
use teacher_registry::auth::{add_principal, Authenticator, Role};
use teacher_registry::console::ConsoleOptions;
use teacher_registry::server::ServerOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::common::{
    certificate, create, get_teacher, make_eligible, open_case, start_server_with, teacher,
    Answered, TestServer, Token,
};

pub const A: &str = "350702";
pub const B: &str = "350721";
pub const CERT_A: &str = "20163500022000123";
pub const CERT_B: &str = "20163500022000125";

/// Tokens of the principals in the auth file.
pub struct Tokens {
    pub admin: String,
    pub county_a: String,
    pub reader: String,
}

/// A server with the console, and what it was given.
pub struct Fixture {
    pub server: TestServer,
    /// The server's authenticator (reloading it is what SIGHUP does).
    pub authenticator: Authenticator,
    pub auth_file: std::path::PathBuf,
    pub console: SocketAddr,
    pub tokens: Tokens,
    /// The teacher of county A (张三, certificate CERT_A) and of county B (李四, CERT_B).
    pub teacher_a: pb::Teacher,
    pub teacher_b: pb::Teacher,
    /// A reissue case for CERT_A, received and not yet accepted.
    pub case: pb::Case,
}

/// A free port on the loopback interface.
pub fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Waits until `address` accepts connections (the server binds the console's port as it
/// starts, after the test has its gRPC client).
pub async fn wait_listening(address: SocketAddr) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing listens on {address}");
}

/// Starts the fixture; `tune` may change the console's options (session limits).
pub async fn start(dir: &Path, tune: impl FnOnce(&mut ServerOptions)) -> Fixture {
    let auth = dir.join("auth.toml");
    let tokens = Tokens {
        admin: add_principal(&auth, "root", Role::Admin, None).unwrap(),
        county_a: add_principal(&auth, "yanping", Role::County, Some(A)).unwrap(),
        reader: add_principal(&auth, "auditor", Role::Reader, None).unwrap(),
    };
    let console = free_address();
    let authenticator = Authenticator::load(&auth).unwrap();
    let mut options = ServerOptions {
        authenticator: Some(authenticator.clone()),
        console: Some(ConsoleOptions::new(console)),
        public_rate_limit: RateLimit {
            per_minute: 1,
            burst: 6,
        },
        ..ServerOptions::default()
    };
    tune(&mut options);
    let server = start_server_with(options).await;
    wait_listening(console).await;
    let channel = server.channel().await;
    let with_token = Token::bearer(&tokens.admin);
    let mut registry =
        TeacherRegistryServiceClient::with_interceptor(channel.clone(), with_token.clone());
    let mut create = async |n: u32, name: &str, county: &str, number: &str| {
        let mut t = teacher(n, county);
        t.name = name.into();
        // Appointed under the old titles, so the title transition has work.
        t.legacy_title = pb::LegacyTitle::PrimarySenior as i32;
        let created = create(&mut registry, t).await;
        registry
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: created.teacher_id,
                certificate: Some(certificate(number)),
                first_registration_on: "2016-09-01".into(),
                ..Default::default()
            })
            .await
            .unwrap_teacher()
    };
    let teacher_a = create(1, "张三", A, CERT_A).await;
    let teacher_b = create(2, "李四", B, CERT_B).await;
    let mut cases = CaseServiceClient::with_interceptor(channel, with_token);
    let case = open_case(
        &mut cases,
        pb::Case {
            kind: pb::CaseKind::Reissue as i32,
            county_code: A.into(),
            certificate_number: CERT_A.into(),
            materials: vec!["申请表".into(), "遗失声明".into()],
            ..Default::default()
        },
    )
    .await;
    Fixture {
        server,
        authenticator,
        auth_file: auth,
        console,
        tokens,
        teacher_a,
        teacher_b,
        case,
    }
}

impl Fixture {
    /// A browser-like client of the console, signed in with `token`.
    pub async fn signed_in(&self, token: &str) -> Http {
        let mut http = Http::new(self.console);
        http.sign_in(token).await;
        http
    }

    /// The admin signed in, for the forms of teacher A's page: the client, A's registry
    /// number and the page's path.
    pub async fn admin_at_teacher_a(&self) -> (Http, String, String) {
        let http = self.signed_in(&self.tokens.admin).await;
        let id = self.teacher_a.teacher_id.clone();
        let path = format!("/teachers/{id}");
        (http, id, path)
    }

    /// The teacher as the registry now has it (over gRPC, as the admin).
    pub async fn teacher(&self, id: &str) -> pb::Teacher {
        let channel = self.server.channel().await;
        let mut client = TeacherRegistryServiceClient::with_interceptor(
            channel,
            Token::bearer(&self.tokens.admin),
        );
        get_teacher(&mut client, id).await
    }
}

/// gRPC clients as the admin, for setting up what the pages then show.
pub type Rounds = EvaluationServiceClient<InterceptedService<Channel, Token>>;
pub type Registry = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;

/// The registry's and the EvaluationService's clients, as the admin.
pub async fn clients(fx: &Fixture) -> (Registry, Rounds) {
    let channel = fx.server.channel().await;
    let token = Token::bearer(&fx.tokens.admin);
    (
        TeacherRegistryServiceClient::with_interceptor(channel.clone(), token.clone()),
        EvaluationServiceClient::with_interceptor(channel, token),
    )
}

/// A teacher of county A registered a year ago, SECOND_LEVEL since 2015.
pub async fn eligible(registry: &mut Registry, n: u32, name: &str) -> pb::Teacher {
    let mut t = teacher(7_305_000 + n, A);
    t.name = name.into();
    make_eligible(registry, t, &format!("2016350002210{n:04}")).await
}

/// The form's `fields` with the field `name` left out.
pub fn without_field<'a>(fields: &[(&'a str, &'a str)], name: &str) -> Vec<(&'a str, &'a str)> {
    assert!(fields.iter().any(|(k, _)| *k == name), "no field {name}");
    fields.iter().filter(|(k, _)| *k != name).copied().collect()
}

/// The form's `fields` with the field `name` set to `value`.
pub fn with_field<'a>(
    fields: &[(&'a str, &'a str)],
    name: &str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    assert!(fields.iter().any(|(k, _)| *k == name), "no field {name}");
    let set = |(k, v): &(&'a str, &'a str)| (*k, if *k == name { value } else { *v });
    fields.iter().map(set).collect()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Checks the page refused a form (422) with the error drawn beside the field whose
    /// element id is `field` ("register-registered_on": form `register`, its field
    /// `registered_on`; or a page's own field, "effective_date").
    #[track_caller]
    pub fn assert_field_error(&self, field: &str) {
        assert_eq!(self.status, 422, "{}", self.body);
        assert!(
            self.body.contains(&format!("id=\"{field}-error\"")),
            "no error beside {field}: {}",
            self.body
        );
    }

    /// The value of the hidden or other input named `name` in the body (the first).
    pub fn input(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\""))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let value = tag.split("value=\"").nth(1)?;
        Some(unescape(&value[..value.find('"')?]))
    }
}

/// A browser-like client: a cookie jar, one connection per request.
pub struct Http {
    pub address: SocketAddr,
    pub cookies: BTreeMap<String, String>,
}

impl Http {
    pub fn new(address: SocketAddr) -> Http {
        Http {
            address,
            cookies: BTreeMap::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    /// POSTs `fields` as a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let kind = "application/x-www-form-urlencoded";
        self.send("POST", path, Some((kind.to_string(), body.into_bytes())))
            .await
    }

    /// Sends the form `action` of the teacher's page at `path` as a browser does: with
    /// the `csrf` and `etag` the page draws now, `request_id` (or the page's own, when
    /// `None`), and `fields`. The form must be drawn.
    pub async fn post_form(
        &mut self,
        path: &str,
        action: &str,
        request_id: Option<String>,
        fields: &[(&str, &str)],
    ) -> Answer {
        let page = self.get(path).await;
        assert!(page.body.contains(&format!("id=\"{action}\"")), "{action}");
        let hidden = [
            ("csrf", page.input("csrf").unwrap()),
            ("etag", page.input("etag").unwrap()),
            (
                "request_id",
                request_id.unwrap_or_else(|| page.input("request_id").unwrap()),
            ),
        ];
        let mut all: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(fields);
        self.post(&format!("{path}/{action}"), &all).await
    }

    /// POSTs `fields` and one file (field name, file name, content) as a multipart form,
    /// as a browser sends a form with a file input.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Answer {
        let boundary = "----console-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, file_name, content) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let kind = format!("multipart/form-data; boundary={boundary}");
        self.send("POST", path, Some((kind, body))).await
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<(String, Vec<u8>)>) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(self.address).await.unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.address
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        if let Some((kind, body)) = &body {
            request.push_str(&format!(
                "Content-Type: {kind}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        if let Some((_, body)) = &body {
            bytes.extend_from_slice(body);
        }
        stream.write_all(&bytes).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
            .await
            .expect("answer within 30 s")
            .unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head and body");
        let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        let body = String::from_utf8(body).expect("UTF-8 answer");
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let answer = Answer {
            status,
            headers,
            body: body.to_string(),
        };
        for cookie in answer.set_cookies() {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        answer
    }

    /// Signs in with `token` through the sign-in form; answers the final answer.
    pub async fn sign_in(&mut self, token: &str) -> Answer {
        let form = self.get("/signin").await;
        let form_token = form.input("form_token").expect("form token");
        self.post(
            "/signin",
            &[("form_token", &form_token), ("token", token), ("next", "")],
        )
        .await
    }
}

/// A chunked body's content (a streamed page comes so).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&raw[..end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// An attribute's text as the browser reads it.
pub fn unescape(raw: &str) -> String {
    raw.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Form-encodes a value.
pub fn encode(raw: &str) -> String {
    let mut out = String::new();
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The text of the element with `id` (up to the end of its table or paragraph).
pub fn element<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[at..];
    &rest[..rest
        .find("</table>")
        .or(rest.find("</p>"))
        .unwrap_or(rest.len())]
}
