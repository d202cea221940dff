//! The connections the server accepts, bounded so no stranger can exhaust it.
//!
//! Without a token a caller can still open connections, and hold them: idle ones, ones that
//! send half an HTTP/2 preface, ones that never start their TLS handshake. Each costs a
//! descriptor and some memory, and when descriptors ran out the accept loop failed at once,
//! again and again, spinning a core while health checks timed out. So:
//!
//! - at most `max_connections` are open at once; one more is accepted and closed at once
//!   (the kernel's backlog does not fill with callers waiting for nothing), and the cap is
//!   lowered, at start, to fit the process's descriptor limit with room to spare for the
//!   store and the log;
//! - a connection that has not sent [`HANDSHAKE_BYTES`] within `handshake_timeout` (the
//!   HTTP/2 preface, or any TLS ClientHello, is longer) is closed;
//! - a connection on which nothing was read or written for `idle_timeout` is closed (an
//!   open watch is never idle: it hears progress every 10 s; clients reconnect when they
//!   next call);
//! - an accept that fails (out of descriptors) is retried after a pause that doubles up to
//!   a second, not at once.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes a caller must send before its handshake counts as begun: the HTTP/2 client
/// preface is 24 bytes, a TLS ClientHello more.
pub const HANDSHAKE_BYTES: u64 = 24;

/// Descriptors kept free of connections, for the store, logs, metrics and backups.
const RESERVED_DESCRIPTORS: usize = 64;

/// Limits on connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once (lowered to fit the descriptor limit).
    pub max_connections: usize,
    /// How long a new connection has to send its first [`HANDSHAKE_BYTES`].
    pub handshake_timeout: Duration,
    /// How long a connection may go without a byte read or written.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1_000,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// The connections accepted from `listener` under `limits`, for `serve_with_incoming`.
pub fn guarded(
    listener: TcpListener,
    limits: ConnectionLimits,
) -> impl Stream<Item = Result<Guarded, io::Error>> + Send + 'static {
    let max = fit_descriptor_limit(limits.max_connections, descriptor_limit());
    if max < limits.max_connections {
        tracing::warn!(
            asked = limits.max_connections,
            max,
            "fewer connections allowed than asked: the descriptor limit (ulimit -n) is low"
        );
    }
    let slots = Arc::new(Semaphore::new(max));
    let state = (listener, slots, limits, Duration::ZERO);
    futures::stream::unfold(state, |(listener, slots, limits, mut pause)| async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    pause = Duration::ZERO;
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        tracing::info!(%peer, "connection refused: too many open");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let guarded = Guarded::new(stream, slot, limits);
                    return Some((Ok(guarded), (listener, slots, limits, pause)));
                }
                Err(error) => {
                    pause = (pause * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                    tracing::warn!(%error, pause_ms = pause.as_millis() as u64, "accept failed; pausing");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    })
}

/// `asked`, lowered so that connections leave [`RESERVED_DESCRIPTORS`] of `limit` free.
fn fit_descriptor_limit(asked: usize, limit: Option<usize>) -> usize {
    match limit {
        Some(limit) => asked.min(limit.saturating_sub(RESERVED_DESCRIPTORS).max(8)),
        None => asked,
    }
    .max(1)
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None` elsewhere.
fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A connection that holds a slot while open and ends itself when its handshake or idle
/// deadline passes (the next read or write then fails with TimedOut).
pub struct Guarded {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    limits: ConnectionLimits,
    read: u64,
    deadline: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, limits: ConnectionLimits) -> Self {
        Guarded {
            stream,
            _slot: slot,
            limits,
            read: 0,
            deadline: Box::pin(tokio::time::sleep(limits.handshake_timeout)),
        }
    }

    /// Moves the deadline on after `bytes` went through: the idle timeout, once the
    /// handshake has begun.
    fn moved(&mut self, bytes: usize, read: bool) {
        if bytes == 0 {
            return;
        }
        if read {
            self.read += bytes as u64;
        }
        if self.read >= HANDSHAKE_BYTES {
            let next = Instant::now() + self.limits.idle_timeout;
            self.deadline.as_mut().reset(next);
        }
    }

    /// `Err` once the deadline has passed; otherwise the task is woken when it does.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                let what = match self.read >= HANDSHAKE_BYTES {
                    true => "idle",
                    false => "no handshake",
                };
                tracing::info!(
                    peer = ?self.stream.peer_addr().ok(),
                    reason = what,
                    "connection closed"
                );
                Err(io::Error::new(io::ErrorKind::TimedOut, what))
            }
            Poll::Pending => Ok(()),
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len() - before;
                self.moved(read, true);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, bytes) {
            Poll::Ready(Ok(written)) => {
                self.moved(written, false);
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_descriptor_limit() {
        assert_eq!(fit_descriptor_limit(1_000, None), 1_000);
        assert_eq!(fit_descriptor_limit(1_000, Some(1_024)), 960);
        assert_eq!(fit_descriptor_limit(1_000, Some(100_000)), 1_000);
        assert_eq!(fit_descriptor_limit(1_000, Some(40)), 8);
    }
}
