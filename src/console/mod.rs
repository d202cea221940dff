//! The web console: pages for the service window and HR staff, and the public
//! certificate verification page, served by the same binary (`serve --console-listen`).
//!
//! Why in process: every page calls the very service methods the gRPC server dispatches
//! to ([`call`]), with the signed-in person's bearer token, so the console has exactly the
//! API's rules (roles, county scope, masking, validation, etags, request ids) and no copy
//! of them. Pages are rendered on the server (maud templates compiled into the binary);
//! the one stylesheet and the little JavaScript are embedded with `include_str!`, so
//! `cargo build` is the whole build and nothing is fetched at run time.
//!
//! - [`session`]: sign-in sessions, cookies and CSRF tokens;
//! - [`layout`]: the page shell, language switch and labelled form fields;
//! - [`pages`]: the pages themselves (public, teachers, cases, transition, statistics,
//!   evaluation rounds and their applications, import);
//! - `tls`: the console over TLS when the registry is served over TLS.

mod call;
mod labels;
mod layout;
mod pages;
pub mod session;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::Router;
use tokio::net::TcpListener;

use crate::api::{CaseService, EvaluationService, RegistryService, VerificationService};
use crate::cli::CountyNames;
use crate::server::TlsFiles;
use layout::{Lang, Viewer};
use session::{Session, Sessions, LANG_COOKIE, SESSION_COOKIE};

/// How the console is served.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    /// The address of the console's HTTP listener.
    pub listen: SocketAddr,
    /// Sessions end after this long without a request.
    pub session_idle: Duration,
    /// Sessions end this long after sign-in.
    pub session_max_age: Duration,
    /// County names shown beside their codes.
    pub county_names: CountyNames,
    /// The issuing office named on printed notices.
    pub bureau: String,
}

impl ConsoleOptions {
    /// The console on `listen` with the default session limits and names.
    pub fn new(listen: SocketAddr) -> ConsoleOptions {
        ConsoleOptions {
            listen,
            session_idle: session::DEFAULT_IDLE,
            session_max_age: session::DEFAULT_MAX_AGE,
            county_names: CountyNames::known(),
            bureau: "教育局".to_string(),
        }
    }
}

/// What every handler shares: the services it calls and the sessions.
#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) registry: RegistryService,
    pub(crate) cases: CaseService,
    pub(crate) evaluation: EvaluationService,
    pub(crate) verification: VerificationService,
    pub(crate) sessions: Arc<Sessions>,
    /// The rejected rows of recent imports, for their sessions to download.
    pub(crate) rejects: Arc<pages::import::RejectsFiles>,
    /// Served over TLS: cookies are marked Secure.
    pub(crate) secure: bool,
    pub(crate) counties: Arc<CountyNames>,
    pub(crate) bureau: Arc<str>,
}

/// The console on `listener` until `shutdown` completes, over TLS when `tls` is given.
/// The TLS files are read here, so a bad one stops the server before it starts.
pub fn serve(
    listener: TcpListener,
    registry: RegistryService,
    options: ConsoleOptions,
    tls: Option<&TlsFiles>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<impl Future<Output = anyhow::Result<()>> + Send + 'static> {
    let tls = tls.map(tls::config).transpose()?;
    let console = Console {
        cases: CaseService::new(registry.clone()),
        evaluation: EvaluationService::new(registry.clone()),
        verification: VerificationService::new(registry.clone()),
        registry,
        sessions: Arc::new(Sessions::new(options.session_idle, options.session_max_age)),
        rejects: Arc::default(),
        secure: tls.is_some(),
        counties: Arc::new(options.county_names),
        bureau: options.bureau.into(),
    };
    let app = router(console).into_make_service_with_connect_info::<Peer>();
    Ok(async move {
        match tls {
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
            Some(config) => {
                axum::serve(tls::TlsListener::new(listener, config), app)
                    .with_graceful_shutdown(shutdown)
                    .await?
            }
        }
        Ok(())
    })
}

/// The largest file the import page takes (a county's roll is a few MB).
const IMPORT_LIMIT: usize = 64 << 20;

fn router(console: Console) -> Router {
    use pages::{
        applications, case_report, cases, import, public, registrations, round_forms, rounds,
        stats, teachers, transition,
    };
    Router::new()
        .route("/", get(root))
        .route("/signin", get(public::signin_form).post(public::signin))
        .route("/signout", post(public::signout))
        .route("/verify", get(public::verify_form).post(public::verify))
        .route("/verify/credential", post(pages::credential_check::check))
        .route("/lang/{lang}", get(public::set_lang))
        .route("/search", get(teachers::search))
        .route("/teachers/{id}", get(teachers::show))
        .route("/teachers/{id}/{action}", post(teachers::act))
        .route("/registrations", get(registrations::due))
        .route("/cases", get(cases::queue))
        .route("/cases/new", get(cases::open_form).post(cases::open))
        .route("/cases/report", get(case_report::report))
        .route("/cases/{id}", get(cases::show))
        .route("/cases/{id}/{action}", post(cases::step))
        .route("/cases/{id}/notice/{which}", get(cases::notice))
        .route("/rounds", get(rounds::find).post(round_forms::open))
        .route("/rounds/{id}", get(rounds::show))
        .route("/rounds/{id}/committee", post(rounds::committee))
        .route("/rounds/{id}/apply", post(round_forms::apply))
        .route("/rounds/{id}/{action}", post(rounds::act))
        .route("/applications/{id}", get(applications::show))
        .route("/applications/{id}/{action}", post(applications::act))
        .route(
            "/import",
            get(import::form)
                .post(import::upload)
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/import/{id}/rejects.csv", get(import::rejects))
        .route("/stats", get(stats::statistics))
        .route("/transition", get(transition::form).post(transition::run))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

async fn root(ctx: Ctx) -> Redirect {
    match ctx.session {
        Some(_) => Redirect::to("/search"),
        None => Redirect::to("/signin"),
    }
}

async fn not_found(ctx: Ctx) -> Response {
    let lang = ctx.lang;
    layout::message_page(
        &ctx.viewer(),
        StatusCode::NOT_FOUND,
        lang.t("未找到", "Not found"),
        lang.t("没有这个页面。", "There is no such page."),
    )
}

/// Headers on every answer: pages load nothing from elsewhere and run no inline script,
/// are not framed, and (holding personal data) are not cached.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The address a request came from, plain or over TLS (public verification is limited
/// by it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, tls::TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tls::TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// What every page knows of its request: language, session, path and peer.
pub(crate) struct Ctx {
    pub(crate) lang: Lang,
    /// The session id and session, when signed in.
    pub(crate) session: Option<(String, Session)>,
    pub(crate) path: String,
    pub(crate) peer: SocketAddr,
    /// The raw Cookie header, for the pre-sign-in form token.
    pub(crate) cookies: String,
    sessions: Arc<Sessions>,
}

impl FromRequestParts<Console> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Ctx, Self::Rejection> {
        let cookies = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        let lang = Lang::from_cookie(session::cookie(&cookies, LANG_COOKIE));
        let session = session::cookie(&cookies, SESSION_COOKIE).and_then(|id| {
            console
                .sessions
                .get(id)
                .map(|session| (id.to_string(), session))
        });
        let peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|info| info.0 .0)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx {
            lang,
            session,
            path,
            peer,
            cookies,
            sessions: console.sessions.clone(),
        })
    }
}

impl Ctx {
    pub(crate) fn viewer(&self) -> Viewer<'_> {
        Viewer {
            lang: self.lang,
            session: self.session.as_ref().map(|(_, s)| s),
            path: &self.path,
        }
    }

    /// The session, or the answer sending the browser to sign in first (boxed: a
    /// response is large, and the session is the common case).
    pub(crate) fn signed_in(&self) -> Result<&Session, Box<Response>> {
        match &self.session {
            Some((_, session)) => Ok(session),
            None => Err(Box::new(
                Redirect::to(&format!("/signin?next={}", percent(&self.path))).into_response(),
            )),
        }
    }

    /// The session whose form carries `csrf`, or the refusal: sign in first, or 403.
    pub(crate) fn form_session(&self, csrf: &str) -> Result<&Session, Box<Response>> {
        let session = self.signed_in()?;
        if !session.check_csrf(csrf) {
            return Err(Box::new(self.csrf_refused()));
        }
        Ok(session)
    }

    pub(crate) fn csrf_refused(&self) -> Response {
        let lang = self.lang;
        layout::message_page(
            &self.viewer(),
            StatusCode::FORBIDDEN,
            lang.t("请求被拒绝", "Request refused"),
            lang.t(
                "表单已失效或不是本站发出的（CSRF 校验失败），请重新打开页面再提交。",
                "The form has expired or did not come from this console (CSRF check failed); open the page again and resubmit.",
            ),
        )
    }

    /// A refusal by the service as a whole page; an unknown token ends the session.
    pub(crate) fn refused(&self, refusal: &call::Refusal) -> Response {
        if refusal.code == tonic::Code::Unauthenticated {
            // The token was revoked or replaced: this session can do nothing more.
            if let Some((id, _)) = &self.session {
                self.sessions.end(id);
            }
            return Redirect::to("/signin").into_response();
        }
        let lang = self.lang;
        let title = match refusal.code {
            tonic::Code::PermissionDenied => lang.t("无权访问", "Not permitted"),
            tonic::Code::NotFound => lang.t("未找到", "Not found"),
            _ => lang.t("请求未完成", "Request not done"),
        };
        layout::message_page(
            &self.viewer(),
            refusal.http_status(),
            title,
            &refusal.describe(),
        )
    }
}

/// Percent-encodes everything but unreserved characters and `/`, for a path in a query.
pub(crate) fn percent(raw: &str) -> String {
    let mut out = String::new();
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A path on this console to go back to, or `/` for anything else (no open redirect).
pub(crate) fn local_path(raw: &str) -> &str {
    if raw.starts_with('/') && !raw.starts_with("//") && !raw.contains('\\') {
        raw
    } else {
        "/"
    }
}
