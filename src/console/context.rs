//! What every page handler is given: the console's shared state (the services it calls in
//! process, the sessions) and its request's context (language, session, path, peer), with
//! the answers every page gives alike (sign in first, CSRF refused, a service's refusal).
//!
//! Those answers are a [`Rejection`], so a handler returns `Result<Response, Rejection>`
//! and its opening reads as a `?` line (`let session = ctx.signed_in()?;`); a handler of a
//! posted form starts from [`Posted`], the form once its CSRF token is checked.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::serve::IncomingStream;
use axum::Form;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::api::{CaseService, EvaluationService, RegistryService, VerificationService};
use crate::cli::CountyNames;
use crate::console::call;
use crate::console::layout::{self, Lang, Viewer};
use crate::console::rejects::RejectsFiles;
use crate::console::session::{self, Session, Sessions, LANG_COOKIE, SESSION_COOKIE};
use crate::console::tls;
use crate::console::url::percent;

/// What every handler shares: the services it calls and the sessions.
#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) registry: RegistryService,
    pub(crate) cases: CaseService,
    pub(crate) evaluation: EvaluationService,
    pub(crate) verification: VerificationService,
    pub(crate) sessions: Arc<Sessions>,
    /// The rejected rows of recent imports, for their sessions to download.
    pub(crate) rejects: Arc<RejectsFiles>,
    /// Served over TLS: cookies are marked Secure.
    pub(crate) secure: bool,
    pub(crate) counties: Arc<CountyNames>,
    pub(crate) bureau: Arc<str>,
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

/// A page's answer in place of the page: sign in first, the CSRF check failed, no such
/// action, the service refused. It is rendered when made, by the [`Ctx`] method that makes
/// it, since the message pages need the request's language, session and path; boxed, as
/// a response is large and the page is the common case.
pub(crate) struct Rejection(Box<Response>);

impl Rejection {
    pub(crate) fn new(response: impl IntoResponse) -> Rejection {
        Rejection(Box::new(response.into_response()))
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        *self.0
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

/// A form a signed-in person posted, its CSRF token checked: what the handler of every
/// form that changes something starts from. Refused as [`Ctx::form_session`] refuses
/// (sign in first, or 403); a body that is not such a form gets axum's answer, as from
/// `Form`. The session is the request's own copy.
pub(crate) struct Posted<T> {
    pub(crate) ctx: Ctx,
    pub(crate) session: Session,
    pub(crate) form: T,
}

/// A form's own fields and, beside them, the CSRF token every form carries
/// ([`layout::form_tokens`]). A form's fields stay `String`s: behind `flatten`, serde
/// hands every value on as text, so a number or a `bool` field would refuse every post.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Console> for Posted<T> {
    type Rejection = Rejection;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Rejection> {
        let (mut parts, body) = request.into_parts();
        let Ok(ctx) = Ctx::from_request_parts(&mut parts, console).await;
        let Form(WithCsrf { csrf, form }) =
            Form::<WithCsrf<T>>::from_request(Request::from_parts(parts, body), console)
                .await
                .map_err(Rejection::new)?;
        let session = ctx.form_session(&csrf)?.clone();
        Ok(Posted { ctx, session, form })
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

    /// The session, or the answer sending the browser to sign in first.
    pub(crate) fn signed_in(&self) -> Result<&Session, Rejection> {
        match &self.session {
            Some((_, session)) => Ok(session),
            None => Err(Rejection::new(Redirect::to(&format!(
                "/signin?next={}",
                percent(&self.path)
            )))),
        }
    }

    /// The session whose form carries `csrf`, or the refusal: sign in first, or 403.
    pub(crate) fn form_session(&self, csrf: &str) -> Result<&Session, Rejection> {
        let session = self.signed_in()?;
        if !session.check_csrf(csrf) {
            return Err(self.csrf_refused());
        }
        Ok(session)
    }

    pub(crate) fn csrf_refused(&self) -> Rejection {
        let lang = self.lang;
        Rejection::new(layout::message_page(
            &self.viewer(),
            StatusCode::FORBIDDEN,
            lang.t("请求被拒绝", "Request refused"),
            lang.t(
                "表单已失效或不是本站发出的（CSRF 校验失败），请重新打开页面再提交。",
                "The form has expired or did not come from this console (CSRF check failed); open the page again and resubmit.",
            ),
        ))
    }

    /// NOT_FOUND for a form posted to an action the page does not have (a step, a batch
    /// form, a teacher action).
    pub(crate) fn unknown_action(&self, action: &str) -> Rejection {
        let lang = self.lang;
        Rejection::new(layout::message_page(
            &self.viewer(),
            StatusCode::NOT_FOUND,
            lang.t("未找到", "Not found"),
            action,
        ))
    }

    /// The refusal of a form's request, for its page to show beside the fields; an unknown
    /// token is the whole-page answer of [`Ctx::refused`] instead.
    pub(crate) fn form_refusal(
        &self,
        refusal: impl Into<call::Refusal>,
    ) -> Result<call::Refusal, Rejection> {
        let refusal = refusal.into();
        match refusal.code {
            tonic::Code::Unauthenticated => Err(self.refused(&refusal)),
            _ => Ok(refusal),
        }
    }

    /// A refusal by the service as a whole page; an unknown token ends the session.
    pub(crate) fn refused(&self, refusal: &call::Refusal) -> Rejection {
        if refusal.code == tonic::Code::Unauthenticated {
            // The token was revoked or replaced: this session can do nothing more.
            if let Some((id, _)) = &self.session {
                self.sessions.end(id);
            }
            return Rejection::new(Redirect::to("/signin"));
        }
        let lang = self.lang;
        let title = match refusal.code {
            tonic::Code::PermissionDenied => lang.t("无权访问", "Not permitted"),
            tonic::Code::NotFound => lang.t("未找到", "Not found"),
            _ => lang.t("请求未完成", "Request not done"),
        };
        Rejection::new(layout::message_page(
            &self.viewer(),
            refusal.http_status(),
            title,
            &refusal.describe(),
        ))
    }
}
