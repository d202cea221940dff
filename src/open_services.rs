//! The services open to strangers, bounded: gRPC health and server reflection need no
//! token, so the gate, which counts each principal's requests, never sees their callers.
//! Reflection calls and health watches are streams a caller may hold open for ever: 200
//! connections of 250 reflection streams took a server from 112 MiB to over 1 GiB. So the
//! open streams of these services share one small pool of slots; a call that finds none
//! free is answered RESOURCE_EXHAUSTED at once, and a slot is held until the call's
//! response ends. A health *check* is unary and answered at once: it is never counted,
//! so a flood of streams cannot make a server look dead to its supervisor.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tonic::body::Body;
use tonic::codegen::{http, Service};
use tonic::server::NamedService;
use tonic::Status;

/// Streams open at once on the unauthenticated services, by default.
pub const DEFAULT_MAX_OPEN_STREAMS: usize = 64;

/// `inner`, with the calls `counted` picks (by request path) limited to the slots of
/// `pool`.
#[derive(Clone)]
pub struct Bounded<S> {
    inner: S,
    pool: Arc<Semaphore>,
    counted: fn(&str) -> bool,
}

impl<S> Bounded<S> {
    pub fn new(inner: S, pool: Arc<Semaphore>, counted: fn(&str) -> bool) -> Self {
        Bounded {
            inner,
            pool,
            counted,
        }
    }
}

/// Every call: reflection is nothing but streams.
pub fn every_call(_path: &str) -> bool {
    true
}

/// Health's Watch stream, not its unary Check.
pub fn health_watch(path: &str) -> bool {
    path.ends_with("/Watch")
}

impl<S: NamedService> NamedService for Bounded<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Bounded<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if !(self.counted)(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let Ok(slot) = self.pool.clone().try_acquire_owned() else {
            let refused = Status::resource_exhausted(
                "too many open reflection or health streams on this server; retry later",
            );
            return Box::pin(async move { Ok(refused.into_http()) });
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await?;
            // The slot goes with the response body, so it is held until the stream ends.
            Ok(response.map(move |body| {
                Body::new(body.map_frame(move |frame| {
                    let _held = &slot;
                    frame
                }))
            }))
        })
    }
}
