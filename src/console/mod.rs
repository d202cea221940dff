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
//! - `context`: what every page handler is given (the shared state, the request's context,
//!   a posted form with its CSRF token checked) and the answers it gives in place of a page;
//! - `rejects`: the rejected rows of recent imports, for download;
//! - `url`: paths in query values, and "back to" paths that stay within the console;
//! - `tls`: the console over TLS when the registry is served over TLS.

mod call;
mod context;
mod labels;
mod layout;
mod pages;
mod rejects;
pub mod session;
mod tls;
mod url;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::api::{CaseService, EvaluationService, RegistryService, VerificationService};
use crate::cli::CountyNames;
use crate::tls_files::TlsFiles;
pub(crate) use context::{Console, Ctx, Peer, Posted, Rejection};
use session::Sessions;
pub(crate) use url::{local_path, percent};

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
        applications, case_report, cases, import, public, registrations, round_posts, rounds,
        stats, teachers, transition,
    };
    Router::new()
        .route("/", get(root))
        .route("/signin", get(public::signin_form).post(public::signin))
        .route("/signout", post(public::signout))
        .route("/verify", get(public::verify_form).post(public::verify))
        .route("/verify/credential", post(pages::public::check_credential))
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
        .route("/rounds", get(rounds::find).post(round_posts::open))
        .route("/rounds/{id}", get(rounds::show))
        .route("/rounds/{id}/committee", post(round_posts::committee))
        .route("/rounds/{id}/apply", post(round_posts::apply))
        .route("/rounds/{id}/{action}", post(round_posts::act))
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
